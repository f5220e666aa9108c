"""Sparse roads vs scipy.sparse.linalg.spsolve (factor + one solve), side by side in one
process, interleaved, medians; and a sparse matrix stored as a dense ndarray vs
scipy.linalg.solve.

    python -m benchmarks.bench_sparse [--quick] [--dense-only]

Cases: 2-D Poisson 400^2, 2-D convection-diffusion 400^2, 3-D Poisson 30^3 and 40^3
(--quick: without 40^3); 2-D Poisson 64^2 stored dense.

``--dense-only``: only the sparse-stored-dense row (2-D Poisson 64^2 as an ndarray),
with its split: the front door's inspection alone (it captures the nonzeros without
copying A), the fused copying inspection and a plain copy for scale, and the dense
banded road (bandwidth 64) forced for comparison.

"ours" runs prepare_sparse (copy + Cython inspection) + the road the sparse pricing picks
(the sparse roads through the registry) + one solve, i.e. everything the front door does for sparse input.
With ``hybridsolve.solve`` available (the lead's front door), it is used instead.
Rows with a forced Cholesky backend show each installed backend.
"""
from __future__ import annotations

import warnings

import numpy as np
import scipy.linalg
import scipy.sparse as sp
from scipy.sparse.linalg import spsolve

from benchmarks._timing import interleaved, parse_args, table
from hybridsolve._bench import poisson2d, poisson3d
from hybridsolve._sparse import prepare_sparse
from hybridsolve.roads import sparse as roads


def convection_diffusion2d(m, c=20.0):
    """Upwind convection-diffusion on an m x m grid: unsymmetric, diagonally dominant."""
    h = 1.0 / (m + 1)
    t = sp.diags_array([-1.0 - c * h, 2.0 + c * h, -1.0], offsets=[-1, 0, 1], shape=(m, m))
    d = sp.diags_array([-1.0, 2.0, -1.0], offsets=[-1, 0, 1], shape=(m, m))
    i = sp.eye_array(m)
    return (sp.kron(i, t) + sp.kron(d, i)).tocsr()


def _ours_sparse(a, b):
    from hybridsolve import solve
    return solve(a, b)


def _ours_forced(a, b, backend):
    s, work = prepare_sparse(a)
    return roads.SparseCholeskySolver(backend).factorize(work, s).solve(b)


def _ours_dense(a, b):
    try:
        from hybridsolve import solve
    except ImportError:
        solve = None
    if solve is not None:
        return solve(a, b)
    # what the front door would do: the dense inspection counts nnz; here np.count_nonzero
    from hybridsolve._protocol import Structure
    s = Structure(a.shape[0], a.dtype, "dense", nnz=int(np.count_nonzero(a)))
    return roads.SparseStoredDenseSolver().factorize(a, s).solve(b)


def _relres(a, x, b):
    return float(np.linalg.norm(a @ x - b) / np.linalg.norm(b))


def main(quick=False, dense_only=False):
    repeat = 1 if quick else 3
    rng = np.random.default_rng(0)
    if dense_only:
        rows = _dense_rows(rng, 5 if quick else 11)
        print(table(rows, ["problem", "contender", "seconds", "speed-up",
                           "rel. residual"]))
        return rows
    cases = [("2-D Poisson 400^2", poisson2d(400)),
             ("2-D conv-diff 400^2 (unsym)", convection_diffusion2d(400)),
             ("3-D Poisson 30^3", poisson3d(30))]
    if not quick:
        cases.append(("3-D Poisson 40^3", poisson3d(40)))
    backends = ["superlu"] + [bk for bk in ("pardiso", "cholmod")
                              if _available(bk)]
    rows = []
    for label, a in cases:
        b = rng.standard_normal(a.shape[0])
        contenders = {"spsolve": lambda: spsolve(a, b),
                      "ours": lambda: _ours_sparse(a, b)}
        s, _ = prepare_sparse(a)
        if s.symmetric and s.diag_real_positive:
            for bk in backends:
                contenders[f"chol:{bk}"] = (lambda bk=bk: _ours_forced(a, b, bk))
        with warnings.catch_warnings():
            warnings.simplefilter("ignore")
            t = interleaved(contenders, repeat=repeat)
            res = {k: _relres(a, f(), b) for k, f in contenders.items()}
        for k in contenders:
            rows.append([label, k, f"{t[k]:.3f}", f"{t['spsolve'] / t[k]:.2f}x",
                         f"{res[k]:.1e}"])
    rows += _dense_rows(rng, max(repeat, 3))
    print(table(rows, ["problem", "contender", "seconds", "speed-up", "rel. residual"]))
    return rows


def _dense_rows(rng, repeat):
    """2-D Poisson 64^2 (n = 4096) stored as a dense ndarray, C and F order."""
    from hybridsolve._inspect import inspect_dense
    p = poisson2d(64).toarray()
    b = rng.standard_normal(p.shape[0])
    rows = []
    for order in ("C", "F"):
        a = np.asarray(p, order=order)
        contenders = {"scipy.linalg.solve": lambda a=a: scipy.linalg.solve(a, b),
                      "ours (solve)": lambda a=a: _ours_dense(a, b),
                      "  inspection (front door)": lambda a=a: inspect_dense(a,
                                                                             capture=True),
                      "  inspection (fused copy)": lambda a=a: inspect_dense(a),
                      "  np.copy": lambda a=a: np.copy(a, order="K")}
        try:
            from hybridsolve import solve
            contenders["  ours, method='banded'"] = (
                lambda a=a: solve(a, b, method="banded"))
        except (ImportError, ValueError):
            pass
        t = interleaved(contenders, repeat=repeat)
        for k, f in contenders.items():
            r = f()
            res = _relres(a, r, b) if isinstance(r, np.ndarray) else float("nan")
            rows.append([f"2-D Poisson 64^2 dense {order}", k, f"{t[k]:.4f}",
                         f"{t['scipy.linalg.solve'] / t[k]:.2f}x", f"{res:.1e}"])
    return rows


def _available(backend):
    try:
        if backend == "pardiso":
            import pypardiso  # noqa: F401
        else:
            from sksparse.cholmod import cholesky  # noqa: F401
        return True
    except Exception:
        return False


if __name__ == "__main__":
    args = parse_args(__doc__, flags=[
        ("--dense-only", "only the sparse-stored-dense rows (2-D Poisson 64^2)")])
    main(quick=args.quick, dense_only=args.dense_only)
