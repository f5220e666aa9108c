"""Cholesky: ours (factor + solve) against scipy.linalg.cho_factor + cho_solve, float64
SPD A = X X^T + n I, side by side in one process (interleaved runs, medians).

    python -m benchmarks.bench_cholesky [--quick] [--kernels]

Sizes: n = 16, 128, 500, 1000, 2000, 4000 (--quick: 16, 128, 500, 2000).

Main table: time per factor+solve (one right-hand side) of
``factorize(a, assume_a='pos').solve(b)``, ratio scipy/ours (> 1: we are faster), the
same ratio for ``factorize(a).solve(b)`` (the structure detected: scipy/detected), GFLOP/s counted as n^3/3 / t, and that rate as a fraction of the machine's
measured dgemm rate (the physical limit).

``--kernels`` adds the tables the kernel thresholds come from:

* our recursive potrf against LAPACK's dpotrf (through scipy), in place, no Python
  front door: where LAPACK were faster, ``HS_CHOL_LAPACK_FROM`` in
  hybridsolve/_kernels/cholesky.pyx would hand over to it;
* our substitution loops against BLAS trsm for triangular solves: the crossover is
  ``HS_TRI_LOOPS_N1`` / ``HS_TRI_LOOPS_WORK`` in hybridsolve/_kernels/triangular.pyx.

What the kernel tables showed when the thresholds were set (OPENBLAS_NUM_THREADS=1, a
shared 2-core machine at load ~9, so +-10%): recursive potrf vs OpenBLAS dpotrf
0.9-1.0x from n = 16 to 2000 (leaf 32 best or tied among 16/32/48/64) -> no hand-over;
loops vs trsm: loops 1.1-1.5x faster for one right-hand side up to n = 200, trsm
1.5-2x faster from ~4 right-hand sides at n >= 32.  Re-run on a quiet machine.
"""
from __future__ import annotations


import numpy as np
import scipy.linalg as sl
import scipy.linalg.lapack as lapack

from benchmarks._timing import dgemm_rate, interleaved, parse_args, table


def _ours_callable(a, b, hint="pos"):
    import hybridsolve

    return lambda: hybridsolve.factorize(a, assume_a=hint).solve(b)


def _spd(n, rng):
    x = rng.standard_normal((n, n))
    a = x @ x.T + n * np.eye(n)
    return (a + a.T) / 2


def _repeat(n, quick):
    if n <= 128:
        return 7 if quick else 21
    if n <= 1000:
        return 5 if quick else 11
    return 3 if quick else 7


def main(quick=False, kernels=False):
    rng = np.random.default_rng(0)
    sizes = [16, 128, 500, 2000] if quick else [16, 128, 500, 1000, 2000, 4000]
    times = []
    for n in sizes:
        a = _spd(n, rng)
        b = rng.standard_normal(n)
        ours = _ours_callable(a, b)
        x = ours()
        assert np.linalg.norm(a @ x - b) <= 1e-8 * np.linalg.norm(a, 1) * np.linalg.norm(x)
        t = interleaved(
            {"ours": ours, "detected": _ours_callable(a, b, None),
             "scipy": lambda: sl.cho_solve(sl.cho_factor(a), b)},
            repeat=_repeat(n, quick), min_time=0.02 if n <= 500 else 0.0)
        times.append((n, t))
    # measured after the timings, as in bench_lu: numpy's matmul leaves its OpenBLAS
    # threads spinning beside whatever is timed right after it
    gemm = dgemm_rate(repeat=3 if quick else 5)
    rows = []
    for n, t in times:
        gf = n ** 3 / 3 / t["ours"] / 1e9
        gfs = n ** 3 / 3 / t["scipy"] / 1e9
        rows.append([n, f"{t['ours'] * 1e3:.4g}", f"{t['scipy'] * 1e3:.4g}",
                     f"{t['scipy'] / t['ours']:.2f}",
                     f"{t['scipy'] / t['detected']:.2f}", f"{gf:.1f}", f"{gfs:.1f}",
                     f"{gf / gemm:.2f}", f"{gfs / gemm:.2f}"])
    print(f"Cholesky factor+solve, float64, 1 rhs; dgemm rate {gemm:.1f} GFLOP/s"
          + (" (quick: noisy)" if quick else ""))
    print(table(rows, ["n", "ours ms", "scipy ms", "scipy/ours", "scipy/detected",
                       "ours GF/s",
                       "scipy GF/s", "ours/dgemm", "scipy/dgemm"]))
    if kernels:
        rows += _kernel_tables(quick, rng)
    return rows


def _kernel_tables(quick, rng):
    from hybridsolve._kernels import cholesky as kc
    from hybridsolve._kernels import triangular as kt

    out = []
    rows = []
    sizes = [16, 32, 64, 128, 256, 512, 1000, 2000] + ([] if quick else [4000])
    for n in sizes:
        a = np.asfortranarray(_spd(n, rng))
        w = np.empty_like(a, order="F")
        t = interleaved(
            {"ours": lambda: kc.potrf(w, True),
             "lapack": lambda: lapack.dpotrf(w, lower=1, overwrite_a=1, clean=0)},
            repeat=_repeat(n, quick), setup=lambda: np.copyto(w, a))
        rows.append([n, f"{t['ours'] * 1e6:.1f}", f"{t['lapack'] * 1e6:.1f}",
                     f"{t['lapack'] / t['ours']:.2f}",
                     f"{n ** 3 / 3 / t['ours'] / 1e9:.1f}"])
    print("\npotrf kernel in place (lower), float64: ours recursive vs LAPACK dpotrf")
    print(table(rows, ["n", "ours us", "lapack us", "lapack/ours", "ours GF/s"]))
    out += rows
    rows = []
    for n, k in [(16, 1), (32, 1), (64, 1), (96, 1), (128, 1), (200, 1), (32, 8),
                 (64, 4), (64, 16), (128, 8)]:
        tm = np.asfortranarray(np.tril(rng.standard_normal((n, n))) + n * np.eye(n))
        b = np.asfortranarray(rng.standard_normal((n, k)))
        w = np.empty_like(b, order="F")
        trsm = sl.get_blas_funcs("trsm", dtype=np.float64)
        t = interleaved(
            {"loops": lambda: (np.copyto(w, b), kt.trtrs_loops(tm, w, True, 0, False)),
             "trsm": lambda: (np.copyto(w, b), trsm(1.0, tm, w, lower=1, overwrite_b=1))},
            repeat=9, min_time=0.01)
        rows.append([n, k, f"{t['loops'] * 1e6:.2f}", f"{t['trsm'] * 1e6:.2f}",
                     f"{t['trsm'] / t['loops']:.2f}"])
    print("\ntriangular solve L x = b, float64: our loops vs BLAS trsm (incl. call cost)")
    print(table(rows, ["n", "nrhs", "loops us", "trsm us", "trsm/loops"]))
    return out + rows


if __name__ == "__main__":
    args = parse_args(__doc__, flags=[("--kernels", "add the kernel-threshold tables")])
    main(quick=args.quick, kernels=args.kernels)
