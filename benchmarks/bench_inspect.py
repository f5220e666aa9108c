"""Inspection overhead and the tridiagonal / banded roads, side by side in one process.

1. General dense float64 (nothing to find), n = 1000, 2000, 4000: ``inspect_dense``
   (full) vs a plain ``np.copy`` of the same layout vs ``scipy.linalg.lu_factor``;
   the figure that matters is (inspect - copy) / LU  (target <= 3 %).  A symmetric
   input (the symmetry test then reads the whole matrix) is shown for reference.
   "exact nnz" is the same sweep with ``count_all=True`` (it counts every nonzero: the
   sweep as it was before the count stopped at the density limit), for comparison;
   "front door" is ``capture=True``, what solve() runs with no hint (it first tries to
   read A without copying, gives up after 16 columns of a dense A and resumes).
2. Tridiagonal and banded (kl = ku = 5), n = 2000, from a dense A: our whole road
   (inspection + factor + solve) vs ``scipy.linalg.solve(assume_a=...)`` vs
   ``scipy.linalg.solve_banded`` (handed ready-made band storage: its packing is not
   timed, so it is a lower bound for anyone starting from a dense A); and the front
   door ``solve(a, b)`` with no hint (it captures such a sparse-looking A without
   copying it and may take the sparse_dense road), with the road it took.

Run: python -m benchmarks.bench_inspect [--quick]   (--quick: n = 1000, 2000 in part 1)
"""
from __future__ import annotations


import numpy as np
import scipy.linalg as sl

from benchmarks._timing import interleaved, parse_args, table
from hybridsolve._inspect import inspect_dense
from hybridsolve.roads.banded import BandedSolver, TridiagonalSolver


def _overhead_rows(sizes, repeat):
    rng = np.random.default_rng(0)
    rows = []
    for n in sizes:
        a = rng.standard_normal((n, n))
        sym = a + a.T
        cases = [("general C", a), ("general F", np.asfortranarray(a)),
                 ("symmetric C", sym)]
        lu = None
        for label, x in cases:
            contenders = {
                "inspect": lambda x=x: inspect_dense(x),
                "copy": lambda x=x: np.copy(x, order="K"),
                "exact": lambda x=x: inspect_dense(x, count_all=True),
                "front": lambda x=x: inspect_dense(x, capture=True),
            }
            if lu is None:
                contenders["lu_factor"] = lambda x=x: sl.lu_factor(x)
            t = interleaved(contenders, repeat=repeat)
            if lu is None:
                lu = t["lu_factor"]
            over = t["inspect"] - t["copy"]
            rows.append([n, label, f"{t['inspect'] * 1e3:.2f}", f"{t['copy'] * 1e3:.2f}",
                         f"{lu * 1e3:.1f}", f"{2 * n**3 / 3 / lu / 1e9:.1f}",
                         f"{100 * over / lu:+.2f}%", f"{t['inspect'] / t['copy']:.2f}",
                         f"{t['exact'] * 1e3:.2f}",
                         f"{100 * (t['exact'] - t['copy']) / lu:+.2f}%",
                         f"{t['front'] * 1e3:.2f}",
                         f"{100 * (t['front'] - t['copy']) / lu:+.2f}%"])
    return rows


def _band_rows(n, repeat):
    rng = np.random.default_rng(1)
    rows = []
    for label, kl, ku, solver, hint in [
            ("tridiagonal", 1, 1, TridiagonalSolver(), "tridiagonal"),
            ("banded 5/5", 5, 5, BandedSolver(), "banded")]:
        a = np.triu(np.tril(rng.standard_normal((n, n)), ku), -kl)
        a[np.diag_indices(n)] += 4
        b = rng.standard_normal(n)
        ab = np.zeros((kl + ku + 1, n))
        for k in range(-kl, ku + 1):
            d = np.diagonal(a, k)
            ab[ku - k, max(k, 0): max(k, 0) + d.size] = d

        def ours(a=a, b=b, solver=solver):
            st, work = inspect_dense(a)
            return solver.factorize(work, st).solve(b)

        st0, work0 = inspect_dense(a)

        def road_only(solver=solver, st=st0, work=work0, b=b):
            return solver.factorize(work, st).solve(b)

        x = ours()
        assert np.allclose(a @ x, b)
        from hybridsolve import solve
        from hybridsolve._solve import plan
        chosen = plan(a).chosen.name
        t = interleaved({
            "front door": lambda a=a, b=b: solve(a, b),
            "ours": ours,
            "road only": road_only,
            "scipy.solve": lambda a=a, b=b, h=hint: sl.solve(a, b, assume_a=h),
            "solve_banded": lambda ab=ab, b=b, kl=kl, ku=ku: sl.solve_banded((kl, ku), ab, b),
        }, repeat=repeat, min_time=0.02)
        rows.append([n, label, f"{t['front door'] * 1e3:.3f} ({chosen})",
                     f"{t['ours'] * 1e3:.3f}", f"{t['road only'] * 1e3:.3f}",
                     f"{t['scipy.solve'] * 1e3:.3f}", f"{t['solve_banded'] * 1e3:.3f}",
                     f"{t['scipy.solve'] / t['ours']:.2f}x",
                     f"{t['scipy.solve'] / t['front door']:.2f}x"])
    return rows


def main(quick=False):
    sizes = (1000, 2000) if quick else (1000, 2000, 4000)
    repeat = 3 if quick else 7
    rows1 = _overhead_rows(sizes, repeat)
    print("Inspection overhead, float64 (ms, interleaved medians)")
    print(table(rows1, ["n", "A", "inspect", "copy", "lu_factor", "LU GFLOP/s",
                        "(insp-copy)/LU", "insp/copy", "exact nnz",
                        "(exact-copy)/LU", "front door", "(front-copy)/LU"]))
    print("(a low LU GFLOP/s means a loaded machine: the % column is then flattered)")
    rows2 = _band_rows(2000, 5 if quick else 15)
    print()
    print("Tridiagonal / banded roads from a dense A, n=2000, float64, one rhs (ms)")
    print(table(rows2, ["n", "A", "solve() no hint (road)", "ours (inspect+road)",
                        "road only",
                        "scipy.solve(assume_a)", "solve_banded (ab given)",
                        "scipy.solve/ours", "scipy.solve/solve()"]))
    return rows1 + rows2


if __name__ == "__main__":
    main(quick=parse_args(__doc__).quick)
