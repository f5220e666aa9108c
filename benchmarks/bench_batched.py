"""Batched small systems (issue 12): the batched road through ``hybridsolve.solve`` on
one thread and on all threads, against numpy and scipy, and the fraction of the
memory-bandwidth limit reached.

    python -m benchmarks.bench_batched [--quick]

Per case (a of shape (m, n, n), b of shape (m, n, 1); random entries, so every slice is
a general system -- the compact kernel's LU) the contenders run interleaved in one
process (medians, run-to-run range in brackets):

* ``ours 1t`` / ``ours all``: ``hybridsolve.solve(a, b)`` inside
  ``hybridsolve.threads(1)`` / with the thread policy's count (the road picks the
  compact lane-interleaved kernel for real n <= tuning ``batch_compact_n``, the
  per-slice kernel otherwise);
* ``numpy``: ``numpy.linalg.solve`` (LAPACK gesv per slice); ``scipy``:
  ``scipy.linalg.solve`` (smaller cases only: its batch loop is slow); both under
  ``threadpoolctl.threadpool_limits(1)`` entered once outside the timing (their idle
  BLAS threads would otherwise spin beside the next contender; at these orders they
  gain nothing from threads);
* ``copy``: a plain copy of the same bytes (read A and b, write x): the memory limit.

Ratios > 1: we are faster.  Targets (float64): one thread 100000x3x3 and 10000x8x8
>= 3x numpy, 1000x32x32 >= 2x; 100000x3x3 within 2x of the copy; all threads >= 1.7x
one thread for 100000x3x3 (on idle cores).  Every result is checked against numpy
(backward error within n eps of the dtype).
"""
from __future__ import annotations

import sys

import numpy as np
import scipy.linalg as sl
from threadpoolctl import threadpool_limits

import hybridsolve
from benchmarks._timing import interleaved_samples, machine_line, table
from hybridsolve._threads import num_threads

CASES = [  # (m, n, dtype, with scipy)
    (100000, 3, np.float64, False),
    (10000, 8, np.float64, True),
    (1000, 32, np.float64, True),
    (100000, 3, np.float32, False),
    (10000, 8, np.float32, False),
    (100000, 3, np.complex128, False),
    (1000, 8, np.complex128, False),
]


def backward_error(a, x, b):
    r = np.abs(b - a @ x).max(axis=(-2, -1))
    an = np.abs(a).sum(axis=-1).max(axis=-1)
    return float((r / (an * np.abs(x).max(axis=(-2, -1)) + np.abs(b).max(axis=(-2, -1))))
                 .max())


def main(quick=False):
    rng = np.random.default_rng(0)
    nt = num_threads()
    print(machine_line())
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
        xa, xb, xx = np.empty_like(a), np.empty_like(b), np.empty_like(b)

        def one():
            with hybridsolve.threads(1):
                return hybridsolve.solve(a, b)

        def copy():
            np.copyto(xa, a)
            np.copyto(xb, b)
            np.copyto(xx, b)

        c = {"ours 1t": one, "ours all": lambda: hybridsolve.solve(a, b),
             "numpy": lambda: np.linalg.solve(a, b)}
        if with_scipy:
            c["scipy"] = lambda: sl.solve(a, b)
        c["copy"] = copy
        with threadpool_limits(1):
            s = interleaved_samples(c, repeat=repeat)
        t = {k: (float(np.median(v)), min(v), max(v)) for k, v in s.items()}
        x = one()
        berr = backward_error(a, x, b)
        tol = n * float(np.finfo(dtype).eps)
        fmt = lambda k: (f"{t[k][0] * 1e3:.2f} [{t[k][1] * 1e3:.2f}, {t[k][2] * 1e3:.2f}]"
                         if k in t else "-")
        one_t, all_t = t["ours 1t"][0], t["ours all"][0]
        rows.append([f"{m}x{n}x{n} {dtype.name}", fmt("ours 1t"), fmt("ours all"),
                     fmt("numpy"), fmt("scipy"), fmt("copy"),
                     f"{t['numpy'][0] / one_t:.2f}x",
                     f"{t['scipy'][0] / one_t:.1f}x" if "scipy" in t else "-",
                     f"{one_t / all_t:.2f}x", f"{t['copy'][0] / one_t:.2f}",
                     f"{berr:.1e} {'ok' if berr <= tol else 'HIGH'}"])
        if dtype == np.float64 and not quick:
            need = 2.0 if n >= 16 else 3.0
            verdicts.append((f"{m}x{n}x{n} one thread >= {need:g}x numpy",
                             t["numpy"][0] / one_t >= need,
                             f"{t['numpy'][0] / one_t:.2f}x"))
            if n == 3:
                verdicts.append(("100000x3x3 one thread within 2x of the memory limit",
                                 one_t <= 2 * t["copy"][0],
                                 f"{one_t / t['copy'][0]:.2f}x the copy"))
                verdicts.append((f"100000x3x3 all threads ({nt}) >= 1.7x one thread",
                                 one_t / all_t >= 1.7, f"{one_t / all_t:.2f}x"))
        if berr > tol:
            verdicts.append((f"{m}x{n}x{n} {dtype.name} backward error <= n eps", False,
                             f"{berr:.1e}"))
    print(f"times in ms, medians of {repeat} interleaved runs [min, max]")
    print(table(rows, ["case", "ours 1t", "ours all", "numpy", "scipy", "copy",
                       "numpy/ours1t", "scipy/ours1t", "1t/all", "copy/ours1t",
                       "backward error"]))
    print(machine_line())
    if verdicts:
        print("Targets:")
        for what, ok, got in verdicts:
            print(f"  {'PASS' if ok else 'FAIL'}  {what}: {got}")
    return rows


if __name__ == "__main__":
    main(quick="--quick" in sys.argv[1:])
