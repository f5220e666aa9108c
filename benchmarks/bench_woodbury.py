"""Woodbury road, side by side (interleaved medians, one process).

Rows:
1. dense A = diag(d) + U V, n = 3000, k = 30, as a plain ndarray: ``hybridsolve.solve``
   (the whole front door: inspection, pricing, detection, factor, solve, refinement)
   vs ``scipy.linalg.solve``; backward errors of both.
2. general dense n = 2000 and 4000 (2000 only with --quick): the Woodbury road's
   detection that finds nothing (its whole ``factorize`` until NotApplicable) vs
   ``scipy.linalg.lu_factor``.
3. Gaussian-process kernel exp(-(x_i - x_j)^2 / 0.1) + 1e-2 I (the demo's), n = 3000
   (1000 with --quick): detection declining vs ``scipy.linalg.cho_factor``, and the
   road ``hybridsolve.solve`` takes.
4. operator n = 200000, k = 50: factorize + solve (the dense matrix would need 320 GB).
5. ridge, X 200 x 20000 (200 x 4000 with --quick): ``ridge`` vs forming X^T X + lam I
   and ``scipy.linalg.solve``.

Run: ``python -m benchmarks.bench_woodbury [--quick] [--skip-ridge]`` (the full ridge
reference forms and LU-solves a 20000 x 20000 matrix: 3.2 GB and minutes).  On a loaded
machine a threaded OpenBLAS can slow small/skinny BLAS calls by orders of magnitude
(the Woodbury road keeps its BLAS work on the calling thread); compare with
``OPENBLAS_NUM_THREADS=1`` as well.
"""
from __future__ import annotations


import numpy as np
import scipy.linalg as sla

import hybridsolve
from benchmarks._timing import interleaved, parse_args, table
from hybridsolve._lowrank import DiagonalPlusLowRank
from hybridsolve._protocol import NotApplicable, Structure
from hybridsolve._ridge import ridge
from hybridsolve.roads.woodbury import WoodburySolver


def _berr(a, x, b):
    r = a @ x - b
    return float(np.linalg.norm(r) / (np.linalg.norm(a, 1) * np.linalg.norm(x)
                                      + np.linalg.norm(b)))


def _dense_structure(a):
    n = a.shape[0]
    return Structure(n, a.dtype, "dense", finite=True, lower_bandwidth=n - 1,
                     upper_bandwidth=n - 1, norm1=float(np.abs(a).sum(0).max()))


def _declines(solver, a, st):
    def run():
        try:
            solver.factorize(a, st)
        except NotApplicable:
            return True
        return False
    return run


def main(quick=False, ridge_row=True):
    rng = np.random.default_rng(0)
    repeat = 3 if quick else 7
    solver = WoodburySolver()
    rows = []

    # 1. detected dense diagonal-plus-low-rank, through the front door
    n, k = 3000, 30
    d = rng.random(n) + 1.0
    U = rng.standard_normal((n, k))
    V = rng.standard_normal((k, n))
    a = np.diag(d) + U @ V
    b = rng.standard_normal(n)
    ours = lambda: hybridsolve.solve(a, b)            # noqa: E731  (a is not modified)
    ref = lambda: sla.solve(a, b)                     # noqa: E731
    t = interleaved({"hybridsolve": ours, "scipy": ref}, repeat=repeat)
    road = hybridsolve.factorize(a).kind
    rows.append([f"dense D+UV n=3000 k=30 ({road})", f"{t['hybridsolve']*1e3:.1f} ms",
                 f"{t['scipy']*1e3:.1f} ms", f"{t['scipy']/t['hybridsolve']:.1f}x",
                 f"berr {_berr(a, ours(), b):.1e} vs LU {_berr(a, ref(), b):.1e}"])

    # 2. general dense: detection that finds nothing vs LU
    for n in ((2000,) if quick else (2000, 4000)):
        g = rng.standard_normal((n, n))
        det = _declines(solver, g, _dense_structure(g))
        t = interleaved({"detect": det, "lu": lambda: sla.lu_factor(g)},
                        repeat=repeat)
        rows.append([f"general dense n={n}", f"{t['detect']*1e3:.2f} ms",
                     f"{t['lu']*1e3:.1f} ms (LU)",
                     f"{100*t['detect']/t['lu']:.2f}% of LU",
                     "not found (right)" if det() else "FOUND (wrong)"])

    # 3. Gaussian-process kernel: numerically, not exactly, low rank: must decline
    n = 1000 if quick else 3000
    x = np.sort(rng.random(n))
    K = np.exp(-((x[:, None] - x[None, :]) ** 2) / 0.1) + 1e-2 * np.eye(n)
    det = _declines(solver, K, _dense_structure(K))
    t = interleaved({"detect": det, "chol": lambda: sla.cho_factor(K)}, repeat=repeat)
    rows.append([f"GP kernel n={n}", f"{t['detect']*1e3:.2f} ms",
                 f"{t['chol']*1e3:.1f} ms (Cholesky)",
                 f"{100*t['detect']/t['chol']:.2f}% of Chol",
                 f"{'declined' if det() else 'FOUND'}; solve() takes "
                 f"{hybridsolve.factorize(K).kind}"])

    # 4. operator n = 200000, k = 50
    n, k = 200000, 50
    op = DiagonalPlusLowRank(rng.random(n) + 1.0, rng.standard_normal((n, k)),
                             rng.standard_normal((k, n)))
    bo = rng.standard_normal(n)
    sto = op._hybridsolve_structure()
    t = interleaved({"op": lambda: solver.factorize(op, sto).solve(bo)},
                    repeat=max(1, repeat // 2))
    fo = solver.factorize(op, sto)
    x = fo.solve(bo)
    # normwise backward error using max|d| + ||U||_F ||V||_F >= ||A||_2 (so a lower
    # estimate of the true one; the dense matrix cannot be formed to get ||A||_2)
    bound = np.abs(op.d).max() + np.linalg.norm(op.U) * np.linalg.norm(op.V)
    be = float(np.linalg.norm(op @ x - bo) / (bound * np.linalg.norm(x)
                                               + np.linalg.norm(bo)))
    rows.append(["operator n=200000 k=50", f"{t['op']*1e3:.1f} ms", "dense: 320 GB", "",
                 f"berr {be:.1e} (||A|| upper bound; {fo.last_refinement_steps} refinements)"])

    if not ridge_row:
        print(table(rows, ["case", "ours", "reference", "ratio", "accuracy"]))
        return rows

    # 5. ridge, X 200 x 20000
    # the formed reference at p = 20000 is a 3.2 GB, ~5 TFLOP solve: --quick uses p = 4000
    ns, p = 200, (4000 if quick else 20000)
    X = rng.standard_normal((ns, p))
    y = rng.standard_normal(ns)
    lam = 0.5

    def formed():
        gm = X.T @ X
        gm[np.diag_indices(p)] += lam
        return sla.solve(gm, X.T @ y)
    rep = 1 if quick else 3
    t = interleaved({"ridge": lambda: ridge(X, y, lam), "formed": formed}, repeat=rep)
    b1, b2 = ridge(X, y, lam), formed()
    rows.append([f"ridge X {ns}x{p}", f"{t['ridge']*1e3:.1f} ms",
                 f"{t['formed']*1e3:.1f} ms", f"{t['formed']/t['ridge']:.0f}x",
                 f"rel diff {np.linalg.norm(b1-b2)/np.linalg.norm(b2):.1e}"])

    print(table(rows, ["case", "ours", "reference", "ratio", "accuracy"]))
    return rows


if __name__ == "__main__":
    args = parse_args(__doc__, flags=[("--skip-ridge", "leave out the ridge row")])
    main(quick=args.quick, ridge_row=not args.skip_ridge)
