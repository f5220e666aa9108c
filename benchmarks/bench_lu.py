"""Dense LU, float64: ``factorize(a).solve(b)`` against ``scipy.linalg.lu_factor`` +
``lu_solve``, side by side in one process (interleaved, medians).

    python -m benchmarks.bench_lu [--quick] [--crossover | --solve]

Sizes: n = 16, 128, 500, 1000, 2000, 3000 (--quick: 16, 128, 500, 2000).

Columns: median seconds of each, ratio scipy/ours (> 1: we are faster), GFLOP/s of the
factorization count (2/3 n^3 / t) and that rate as a fraction of the measured dgemm rate.
"Ours" is ``hybridsolve.factorize(a).solve(b)`` when the front door exists, else
``LUSolver().factorize(a.copy(order='F'), Structure(...)).solve(b)`` (which skips the
finite check, so scipy is then timed with ``check_finite=False`` too).

``--crossover`` times the kernel alone (own recursion vs LAPACK getrf through the same
shim, both on a fresh F-ordered copy) to place ``_lapack_n`` in ``_kernels/lu.pyx``;
``--solve`` times the solve with given factors (trsv per column vs trsm vs getrs) to place
``_solve_trsv_nrhs``.
"""
from __future__ import annotations


import numpy as np
import scipy.linalg as sl

from benchmarks._timing import dgemm_rate, interleaved, parse_args, table

SIZES = (16, 128, 500, 1000, 2000, 3000)
QUICK_SIZES = (16, 128, 500, 2000)


def _ours(a, b):
    import hybridsolve

    if hasattr(hybridsolve, "factorize"):
        return (lambda: hybridsolve.factorize(a).solve(b)), True
    from hybridsolve._protocol import Structure
    from hybridsolve.roads.lu import LUSolver

    solver = LUSolver()
    st = Structure(a.shape[0], a.dtype, norm1=float(np.abs(a).sum(axis=0).max()))
    return (lambda: solver.factorize(a.copy(order="F"), st).solve(b)), False


def _repeat(n, quick):
    if n <= 128:
        return 5 if quick else 15
    if n <= 1000:
        return 3 if quick else 9
    return 3 if quick else 5


def main(quick=False):
    rng = np.random.default_rng(0)
    times = []
    for n in QUICK_SIZES if quick else SIZES:
        a = rng.standard_normal((n, n))
        b = rng.standard_normal(n)
        ours, front_door = _ours(a, b)
        check = front_door
        x = ours()
        assert np.linalg.norm(a @ x - b) <= 1e-8 * np.linalg.norm(a) * np.linalg.norm(x) * n

        def scipy_lu():
            return sl.lu_solve(sl.lu_factor(a, check_finite=check), b, check_finite=check)

        t = interleaved({"ours": ours, "scipy": scipy_lu}, repeat=_repeat(n, quick),
                        min_time=0.02 if n <= 500 else 0.0)
        times.append((n, t))
    # measured after the timings: numpy's matmul leaves its OpenBLAS threads spinning,
    # and they would compete with the small solves timed right after it
    rate = dgemm_rate(1000 if quick else 2000, repeat=3 if quick else 5)
    print(f"dgemm rate: {rate:.1f} GFLOP/s (float64, numpy matmul)")
    rows = []
    for n, t in times:
        flops = 2.0 / 3.0 * n**3
        g_ours = flops / t["ours"] / 1e9
        g_sp = flops / t["scipy"] / 1e9
        rows.append([n, f"{t['ours'] * 1e3:.4g}", f"{t['scipy'] * 1e3:.4g}",
                     f"{t['scipy'] / t['ours']:.2f}", f"{g_ours:.2f}", f"{g_sp:.2f}",
                     f"{g_ours / rate:.2f}", f"{g_sp / rate:.2f}"])
    print("ours =", "hybridsolve.factorize(a).solve(b)" if rows and check
          else "LUSolver().factorize(...).solve(b) (no finite check; scipy check_finite=False)")
    print(table(rows, ["n", "ours ms", "scipy ms", "scipy/ours", "GF/s ours", "GF/s scipy",
                       "ours/dgemm", "scipy/dgemm"]))
    return rows


def crossover(quick=False):
    """Kernel only: our recursion vs LAPACK getrf, same copy, same shim."""
    from hybridsolve._kernels import lu as K

    rng = np.random.default_rng(1)
    old = K._tuning()
    rows = []
    try:
        for n in (64, 128, 256, 500, 1000, 2000) if not quick else (128, 500, 2000):
            a = np.asfortranarray(rng.standard_normal((n, n)))
            ipiv = np.empty(n, dtype=np.intc)

            def own():
                K._tuning(lapack_n=1 << 30)
                K.getrf(a.copy(order="F"), ipiv)

            def lapack():
                K._tuning(lapack_n=0)
                K.getrf(a.copy(order="F"), ipiv)

            t = interleaved({"own": own, "lapack": lapack}, repeat=_repeat(n, quick),
                            min_time=0.02 if n <= 500 else 0.0)
            rows.append([n, f"{t['own'] * 1e3:.4g}", f"{t['lapack'] * 1e3:.4g}",
                         f"{t['lapack'] / t['own']:.2f}"])
    finally:
        K._tuning(**old)
    print(table(rows, ["n", "own recursion ms", "LAPACK getrf ms", "lapack/own"]))
    return rows


def solve_paths(quick=False):
    """The solve with the factors: column-by-column trsv against two trsm calls (the
    threshold ``_solve_trsv_nrhs`` in ``_kernels/lu.pyx``), and LAPACK getrs."""
    from scipy.linalg import lapack

    from hybridsolve._kernels import lu as K

    rng = np.random.default_rng(2)
    old = K._tuning()
    rows = []
    try:
        for n in (1000, 4000) if not quick else (1000,):
            a = np.asfortranarray(rng.standard_normal((n, n)))
            lu, piv, _ = lapack.dgetrf(a)
            ipiv = (piv + 1).astype(np.intc)
            for k in (1, 2, 4, 8, 16):
                b = np.asfortranarray(rng.standard_normal((n, k)))

                def trsv():
                    K._tuning(solve_trsv_nrhs=1 << 30)
                    K.solve_array(lu, ipiv, b.copy(order="F"), 0, False)

                def trsm():
                    K._tuning(solve_trsv_nrhs=0)
                    K.solve_array(lu, ipiv, b.copy(order="F"), 0, False)

                def getrs():
                    lapack.dgetrs(lu, piv, b)

                t = interleaved({"trsv": trsv, "trsm": trsm, "getrs": getrs},
                                repeat=5 if quick else 9, min_time=0.01)
                rows.append([n, k] + [f"{t[c] * 1e3:.3g}" for c in ("trsv", "trsm", "getrs")])
    finally:
        K._tuning(**old)
    print(table(rows, ["n", "nrhs", "k x trsv ms", "2 trsm ms", "LAPACK getrs ms"]))
    return rows


if __name__ == "__main__":
    args = parse_args(__doc__, flags=[
        ("--crossover", "time the kernel alone: own recursion vs LAPACK getrf"),
        ("--solve", "time the solve paths with given factors (trsv, trsm, getrs)")])
    if args.crossover:
        crossover(args.quick)
    elif args.solve:
        solve_paths(args.quick)
    else:
        main(args.quick)
