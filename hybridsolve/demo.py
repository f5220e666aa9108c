"""The main job: solve real systems, show which road was taken and how much faster than
scipy.linalg.solve it was (side by side in this process, interleaved, medians).

Run:  hybridsolve demo   (or hybridsolve-demo, python -m hybridsolve demo; add --quick for
smaller sizes)
"""
from __future__ import annotations

import sys
import time
import warnings

import numpy as np
import scipy.linalg
import scipy.sparse as sp

import hybridsolve


def _median_pair(f, g, repeat):
    """Interleaved medians of two callables (f, g, f, g, ...)."""
    tf, tg = [], []
    f(), g()  # warm up
    for _ in range(repeat):
        t0 = time.perf_counter(); f(); tf.append(time.perf_counter() - t0)
        t0 = time.perf_counter(); g(); tg.append(time.perf_counter() - t0)
    return float(np.median(tf)), float(np.median(tg))


def systems(quick):
    rng = np.random.default_rng(2026)
    n = 1000 if quick else 3000
    # 1. Gaussian-process / least-squares normal equations: a covariance matrix (SPD).
    x = np.sort(rng.random(n))
    K = np.exp(-((x[:, None] - x[None, :]) ** 2) / 0.1) + 1e-2 * np.eye(n)
    yield "GP covariance kernel (SPD)", K, rng.standard_normal(n)
    # 2. A general dense system.
    yield "general dense (random)", rng.standard_normal((n, n)), rng.standard_normal(n)
    # 3. Implicit heat equation, 1-D, stored dense: tridiagonal.
    h = 1.0 / (n + 1)
    T = (np.diag(np.full(n, 2.0 + h * h)) - np.diag(np.ones(n - 1), 1)
         - np.diag(np.ones(n - 1), -1))
    yield "1-D heat equation step (tridiagonal)", T, rng.standard_normal(n)
    # 4. A finite-difference beam (bending) operator: banded, 2 sub-/super-diagonals.
    stencil = [1.0, -4.0, 6.5, -4.0, 1.0]
    B = sum(np.diag(np.full(n - abs(k), c), k) for k, c in zip(range(-2, 3), stencil))
    yield "beam bending operator (banded, kl=ku=2)", B, rng.standard_normal(n)
    # 5. Kalman-style update: diagonal noise plus a low-rank term (k = 30).
    U = rng.standard_normal((n, 30))
    W = np.diag(rng.random(n) + 1.0) + U @ U.T
    yield "diagonal + rank-30 update (covariance)", W, rng.standard_normal(n)
    # 6. 2-D Poisson on a 64 x 64 grid stored as a dense array (n = 4096): sparse inside.
    m = 40 if quick else 64
    I = sp.identity(m)
    L1 = sp.diags([-1.0, 2.0, -1.0], [-1, 0, 1], shape=(m, m))
    P = (sp.kron(I, L1) + sp.kron(L1, I)).toarray()
    yield f"2-D Poisson {m}x{m} stored dense", P, rng.standard_normal(m * m)
    # 7. A triangular system (a Cholesky factor someone already has).
    R = np.triu(rng.standard_normal((n, n))) + n ** 0.5 * np.eye(n)
    yield "upper triangular factor", R, rng.standard_normal(n)


def main(quick=False):
    repeat = 3 if quick else 5
    print("hybridsolve demo: each system solved by scipy.linalg.solve and by "
          "hybridsolve.solve (no hint),\ninterleaved, median of "
          f"{repeat} runs each.\n")
    header = f"{'system':<42}{'n':>6}  {'road taken':<12}{'scipy s':>9}{'ours s':>9}" \
             f"{'speed-up':>10}  {'rel. diff':>9}"
    print(header)
    print("-" * len(header))
    for name, A, b in systems(quick):
        with warnings.catch_warnings():
            warnings.simplefilter("ignore", scipy.linalg.LinAlgWarning)
            road = hybridsolve.explain(A).chosen.name
            t_sp, t_us = _median_pair(lambda: scipy.linalg.solve(A, b),
                                      lambda: hybridsolve.solve(A, b), repeat)
            x_sp = scipy.linalg.solve(A, b)
            x_us = hybridsolve.solve(A, b)
        diff = np.linalg.norm(x_us - x_sp) / np.linalg.norm(x_sp)
        print(f"{name:<42}{A.shape[0]:>6}  {road:<12}{t_sp:>9.4f}{t_us:>9.4f}"
              f"{t_sp / t_us:>9.1f}x  {diff:>9.1e}")
    print("\nWhy a road was taken, for the covariance kernel above:\n")
    A = next(iter(systems(True)))[1]
    print(hybridsolve.explain(A))


if __name__ == "__main__":
    main(quick="--quick" in sys.argv)
