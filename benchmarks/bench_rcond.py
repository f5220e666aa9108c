"""Condition estimates, float64: our xGECON / xPOCON / xTRCON (the same Hager-Higham
loop with plain BLAS trsv solves) against LAPACK's own routines through scipy, on the
same factors, side by side in one process (interleaved, medians).

    python -m benchmarks.bench_rcond [--quick]

Sizes: n = 500, 1000, 2000, 4000 (--quick: 500, 2000).

Columns: median milliseconds of each, ratio LAPACK/ours (> 1: we are faster), and the
relative difference of the two estimates.  `solve()` owes scipy's LinAlgWarning, so it
runs one of these on every call; LAPACK's versions guard each triangular solve with
xLATRS (a column-norm pass, then often a scalar loop), which costs several trsv's.
"""
from __future__ import annotations


import numpy as np
from scipy.linalg import lapack

from benchmarks._timing import interleaved, parse_args, table

SIZES = (500, 1000, 2000, 4000)
QUICK_SIZES = (500, 2000)


def main(quick=False):
    from hybridsolve._kernels import cholesky as C
    from hybridsolve._kernels import lu as L
    from hybridsolve._kernels import triangular as T

    rng = np.random.default_rng(0)
    rows = []
    for n in QUICK_SIZES if quick else SIZES:
        a = np.asfortranarray(rng.standard_normal((n, n)))
        an = float(np.abs(a).sum(axis=0).max())
        lu, _, info = lapack.dgetrf(a)
        assert info == 0
        spd = a @ a.T + n * np.eye(n)
        c, info = lapack.dpotrf(spd)
        assert info == 0
        c = np.asfortranarray(c)
        sn = float(np.abs(spd).sum(axis=0).max())
        t = np.asfortranarray(np.triu(a) + 2 * np.sqrt(n) * np.eye(n))
        cases = [
            ("gecon", lambda: lapack.dgecon(lu, an)[0],
             lambda: L.rcond_array(lu, an, False)),
            ("pocon", lambda: lapack.dpocon(c, sn)[0], lambda: C.pocon(c, sn, False)[0]),
            ("trcon", lambda: lapack.dtrcon(t)[0], lambda: T.trcon(t, False, False, "1")[0]),
        ]
        for name, ref, ours in cases:
            r_ref, r_ours = ref(), ours()
            tm = interleaved({"lapack": ref, "ours": ours}, repeat=5 if quick else 9)
            rows.append([name, n, f"{tm['lapack'] * 1e3:.2f}", f"{tm['ours'] * 1e3:.2f}",
                         f"{tm['lapack'] / tm['ours']:.2f}",
                         f"{abs(r_ours - r_ref) / r_ref:.1e}"])
    print(table(rows, ["routine", "n", "LAPACK ms", "ours ms", "LAPACK/ours",
                       "rel. diff of estimate"]))
    return rows


if __name__ == "__main__":
    main(quick=parse_args(__doc__).quick)
