"""Small and batched systems: per-call and batched timings, side by side.

    python -m benchmarks.bench_small [--quick]

Per call (float64, one b vector): ``small_solve`` called directly as the front door's
fast path calls it (rcond_tol = eps: the condition estimator runs only where its cheap
rigorous bound cannot rule out a warning), ``hybridsolve.solve`` when the package has it,
against ``scipy.linalg.solve`` and ``numpy.linalg.solve``.  Batched (b of shape (m, n, 1)):
``solve_batched`` directly (rcond_tol = eps, as the front door), ``hybridsolve.solve`` when
present, against numpy and scipy.
All contenders run interleaved in one process (numpy's with numpy's own BLAS at one
thread: see benchmarks/_timing.py); medians; ratios > 1 mean we are faster.
"""
from __future__ import annotations

import os

import numpy as np
import scipy.linalg as sl

from benchmarks._timing import (interleaved, numpy_contender, numpy_isolation, parse_args,
                                table)
from hybridsolve._kernels import small as _small
from hybridsolve._kernels.small import small_solve, solve_batched

try:
    from hybridsolve import solve as hs_solve
except ImportError:  # front door not merged yet
    hs_solve = None



def per_call(quick=False):
    rng = np.random.default_rng(0)
    rows = []
    eps = float(np.finfo(np.float64).eps)
    for n in (2, 4, 8, 16, 32, 64):
        a = rng.standard_normal((n, n))
        b = rng.standard_normal(n)
        c = {"small_solve": lambda: small_solve(a, b, False, True, eps)}
        if hs_solve is not None:
            c["hybridsolve.solve"] = lambda: hs_solve(a, b)
        c["scipy"] = lambda: sl.solve(a, b)
        c["numpy"] = numpy_contender(lambda a=a, b=b: np.linalg.solve(a, b))
        t = interleaved(c, repeat=3 if quick else 9, min_time=0.01 if quick else 0.05)
        ours = t.get("hybridsolve.solve", t["small_solve"])
        row = [n, f"{t['small_solve'] * 1e6:.2f}"]
        if hs_solve is not None:
            row.append(f"{t['hybridsolve.solve'] * 1e6:.2f}")
        row += [f"{t['scipy'] * 1e6:.2f}", f"{t['numpy'] * 1e6:.2f}",
                f"{t['scipy'] / t['small_solve']:.1f}x", f"{t['numpy'] / t['small_solve']:.2f}x"]
        if hs_solve is not None:
            row += [f"{t['scipy'] / ours:.1f}x", f"{t['numpy'] / ours:.2f}x"]
        rows.append(row)
    head = ["n", "small_solve us"] + (["hs.solve us"] if hs_solve is not None else [])
    head += ["scipy us", "numpy us", "scipy/small", "numpy/small"]
    if hs_solve is not None:
        head += ["scipy/hs", "numpy/hs"]
    print("per call, float64, b (n,), target: n<=16 >=5x scipy and >=1x numpy; n=64 >=2x scipy")
    print(table(rows, head))
    return rows


def one_thread(a, b, eps):
    old = _small._set_max_threads(1)
    try:
        return solve_batched(a, b, False, True, eps)
    finally:
        _small._set_max_threads(old)


def batched(quick=False):
    rng = np.random.default_rng(1)
    rows = []
    eps = float(np.finfo(np.float64).eps)
    for m, n in ((100000, 3), (10000, 8), (1000, 32)):
        a = rng.standard_normal((m, n, n))
        b = rng.standard_normal((m, n, 1))
        c = {"solve_batched": lambda: solve_batched(a, b, False, True, eps),
             "1 thread": lambda: one_thread(a, b, eps)}
        if hs_solve is not None:
            c["hybridsolve.solve"] = lambda: hs_solve(a, b)
        c["numpy"] = numpy_contender(lambda a=a, b=b: np.linalg.solve(a, b))
        c["scipy"] = lambda: sl.solve(a, b)
        t = interleaved(c, repeat=1 if quick else 5)
        ref = np.linalg.solve(a, b)
        x = solve_batched(a, b, False, True)[0]
        err = float(np.max(np.abs(x - ref)) / np.max(np.abs(ref)))
        row = [f"{m}x{n}x{n}", f"{t['solve_batched'] * 1e3:.2f}", f"{t['1 thread'] * 1e3:.2f}"]
        if hs_solve is not None:
            row.append(f"{t['hybridsolve.solve'] * 1e3:.2f}")
        row += [f"{t['numpy'] * 1e3:.2f}", f"{t['scipy'] * 1e3:.1f}",
                f"{t['numpy'] / t['solve_batched']:.2f}x",
                f"{t['scipy'] / t['solve_batched']:.1f}x", f"{err:.1e}"]
        rows.append(row)
    head = ["batch", "solve_batched ms", "1 thread ms"]
    head += ["hs.solve ms"] if hs_solve is not None else []
    head += ["numpy ms", "scipy ms", "numpy/ours", "scipy/ours", "max rel diff"]
    print("batched, float64, b (m, n, 1), target: >=2x numpy (ours also checks rcond); "
          f"load average {os.getloadavg()[0]:.1f} on {os.cpu_count()} cpus (solve_batched "
          "uses at most ncpu + 1 - load threads)")
    print(table(rows, head))
    return rows


def main(quick=False):
    print(f"({numpy_isolation()})")
    return per_call(quick) + batched(quick)


if __name__ == "__main__":
    main(quick=parse_args(__doc__).quick)
