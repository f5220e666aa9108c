"""Batched small systems (issue 12): one-thread and all-threads times against numpy and
scipy, and the fraction of the memory-bandwidth limit reached.

    python -m benchmarks.bench_batched [--quick]

Per case (b of shape (m, n, 1)) the contenders run interleaved in one process (medians
of the repeats, run-to-run range in brackets):

* ``batched 1t`` / ``batched all``: the batched road's kernel ``small.solve_batched``
  (rcond_tol = eps, as the road calls it) on one thread / on every core it may use;
* ``compact 1t`` / ``compact all``: ``batched.solve_compact`` (8 slices per group, one
  SIMD lane each) plus ``solve_batched`` on the slices it leaves unsettled;
* ``numpy``: ``numpy.linalg.solve`` (LAPACK gesv per slice), ``scipy``:
  ``scipy.linalg.solve`` (smaller cases only: its batch loop is slow);
* ``copy``: a plain copy of the same bytes (read A and b, write x) -- the memory limit.

numpy and scipy carry their own OpenBLAS copies whose idle threads spin after a call and
slow whatever runs next: every case is timed inside one
``threadpoolctl.threadpool_limits(1)`` (both libraries' pools at one thread, entered
once, outside the timed calls), so no BLAS thread spins while another contender runs
(our kernels call no BLAS at these orders).  Ratios > 1: we are faster.
"""
from __future__ import annotations

import os
import platform
import sys
import time

import numpy as np
import scipy.linalg as sl
from threadpoolctl import threadpool_info, threadpool_limits

from benchmarks._timing import table
from hybridsolve._kernels.batched import solve_compact
from hybridsolve._kernels.small import solve_batched
from hybridsolve._threads import num_threads

CASES = [  # (m, n, dtype, with scipy)
    (100000, 3, np.float64, False),
    (10000, 8, np.float64, True),
    (1000, 32, np.float64, True),
    (100000, 3, np.float32, False),
    (10000, 8, np.float32, False),
    (10000, 3, np.complex128, False),
    (1000, 8, np.complex128, False),
]


def batched_threads(a, b, eps, nthreads):
    return solve_batched(a, b, False, True, eps, nthreads)


def compact(a, b, eps, nthreads):
    """solve_compact, then solve_batched on the slices it did not settle."""
    x, done, rcond = solve_compact(a, b, False, eps, nthreads)
    redo = np.flatnonzero(done == 0)
    if redo.size:
        xr, _, rr = batched_threads(a[redo], b[redo], eps, nthreads)
        x[redo] = xr
        rcond[redo] = rr
    return x


def timed(contenders, repeat):
    """name -> (median, min, max) seconds, contenders interleaved."""
    names = list(contenders)
    for f in contenders.values():
        f()  # warm up
    samples = {k: [] for k in names}
    for _ in range(repeat):
        for k in names:
            t0 = time.perf_counter()
            contenders[k]()
            samples[k].append(time.perf_counter() - t0)
    return {k: (float(np.median(v)), min(v), max(v)) for k, v in samples.items()}


def main(quick=False):
    rng = np.random.default_rng(0)
    ncpu = num_threads()  # the thread policy: HYBRIDSOLVE_NUM_THREADS or the cores
    blas = ", ".join(sorted({f"{i['internal_api']} {i['version']} ({i['num_threads']}t)"
                             for i in threadpool_info() if i["user_api"] == "blas"}))
    print(f"machine: {platform.machine()} {platform.processor() or ''}, {ncpu} threads "
          f"(policy), load average {os.getloadavg()[0]:.1f} at start; numpy "
          f"{np.__version__}, scipy {__import__('scipy').__version__}; "
          f"BLAS: {blas}; timed under threadpool_limits(1)")
    rows, verdicts = [], []
    repeat = 3 if quick else 9
    for m, n, dtype, with_scipy in CASES:
        if quick:
            m = max(1000, m // 10)
        dtype = np.dtype(dtype)
        a = rng.standard_normal((m, n, n))
        b = rng.standard_normal((m, n, 1))
        if dtype.kind == "c":
            a = a + 1j * rng.standard_normal((m, n, n))
            b = b + 1j * rng.standard_normal((m, n, 1))
        a, b = a.astype(dtype), b.astype(dtype)
        eps = float(np.finfo(dtype).eps)
        xa, xb, xx = np.empty_like(a), np.empty_like(b), np.empty_like(b)

        def numpy_one():
            np.linalg.solve(a, b)

        def scipy_one():
            sl.solve(a, b)

        def copy():
            np.copyto(xa, a)
            np.copyto(xb, b)
            np.copyto(xx, b)

        c = {"batched 1t": lambda: batched_threads(a, b, eps, 1),
             "batched all": lambda: batched_threads(a, b, eps, ncpu)}
        if dtype.kind == "f":
            c["compact 1t"] = lambda: compact(a, b, eps, 1)
            c["compact all"] = lambda: compact(a, b, eps, ncpu)
        c["numpy"] = numpy_one
        if with_scipy:
            c["scipy"] = scipy_one
        c["copy"] = copy
        with threadpool_limits(1):
            t = timed(c, repeat)
        ours = "compact 1t" if "compact 1t" in t else "batched 1t"
        best1 = min(t["batched 1t"][0], t.get("compact 1t", (np.inf,))[0])
        ref = np.linalg.solve(a.astype(np.complex128 if dtype.kind == "c" else np.float64),
                              b)
        x = compact(a, b, eps, 1) if dtype.kind == "f" else batched_threads(a, b, eps, 1)[0]
        err = float(np.max(np.abs(x - ref)) / np.max(np.abs(ref)))
        fmt = lambda k: (f"{t[k][0] * 1e3:.2f} [{t[k][1] * 1e3:.2f}-{t[k][2] * 1e3:.2f}]"
                         if k in t else "-")
        rows.append([f"{m}x{n}x{n} {dtype.name}", fmt("batched 1t"), fmt("compact 1t"),
                     fmt("batched all"), fmt("compact all"), fmt("numpy"), fmt("scipy"),
                     fmt("copy"), f"{t['numpy'][0] / best1:.2f}x",
                     f"{t['scipy'][0] / best1:.1f}x" if "scipy" in t else "-",
                     f"{t['copy'][0] / best1:.2f}", f"{err:.1e}"])
        if dtype == np.float64 and not quick:
            need = 2.0 if n >= 16 else 3.0
            verdicts.append((f"{m}x{n}x{n} one thread >= {need:g}x numpy",
                             t["numpy"][0] / best1 >= need,
                             f"{t['numpy'][0] / best1:.2f}x ({ours})"))
            if n == 3:
                verdicts.append(("100000x3x3 one thread within 2x of the memory limit",
                                 best1 <= 2 * t["copy"][0],
                                 f"{best1 / t['copy'][0]:.1f}x the copy"))
                all_ = min(t["batched all"][0], t.get("compact all", (np.inf,))[0])
                verdicts.append((f"100000x3x3 all threads >= 1.7x one thread ({ncpu} "
                                 "cores, not idle: see the load)", best1 / all_ >= 1.7,
                                 f"{best1 / all_:.2f}x"))
    head = ["case", "batched 1t ms", "compact 1t ms", "batched all ms", "compact all ms",
            "numpy ms", "scipy ms", "copy ms", "numpy/best1t", "scipy/best1t",
            "memlimit frac", "max rel diff"]
    print(table(rows, head))
    print(f"load average {os.getloadavg()[0]:.1f} at end")
    if verdicts:
        print("Targets:")
        for what, ok, got in verdicts:
            print(f"  {'PASS' if ok else 'FAIL'}  {what}: {got}")
    return rows


if __name__ == "__main__":
    main(quick="--quick" in sys.argv[1:])
