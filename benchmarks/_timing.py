"""Side-by-side timing on a shared, noisy machine: run the contenders interleaved (A B C,
A B C, ...), take medians, and report ratios measured in the same process."""
from __future__ import annotations

import time

import numpy as np


def interleaved(contenders: dict, repeat: int = 7, setup=None, min_time: float = 0.0):
    """Median seconds per call for each ``name -> callable``, measured interleaved.

    ``setup`` (optional) is called before every single timed call (outside the timing),
    e.g. to make fresh copies for in-place contenders.  For fast calls, each sample
    loops the call until ``min_time`` seconds have passed and divides.
    """
    names = list(contenders)
    loops = {}
    for name in names:  # warm up (first calls load plugins, fill caches), then calibrate
        if setup is not None:
            setup()
        contenders[name]()
        if setup is not None:
            setup()
        t0 = time.perf_counter()
        contenders[name]()
        dt = time.perf_counter() - t0
        loops[name] = max(1, int(min_time / dt)) if (min_time and dt > 0) else 1
    samples = {name: [] for name in names}
    for _ in range(repeat):
        for name in names:
            f, k = contenders[name], loops[name]
            if setup is not None and k == 1:
                setup()
                t0 = time.perf_counter()
                f()
                samples[name].append(time.perf_counter() - t0)
            else:
                t0 = time.perf_counter()
                for _ in range(k):
                    f()
                samples[name].append((time.perf_counter() - t0) / k)
    return {name: float(np.median(samples[name])) for name in names}


def dgemm_rate(n: int = 2000, repeat: int = 5) -> float:
    """The machine's measured float64 matrix-multiply rate in GFLOP/s (the physical
    limit a factorization can approach), through the same BLAS numpy uses."""
    rng = np.random.default_rng(0)
    a = rng.random((n, n))
    b = rng.random((n, n))
    c = np.empty((n, n))
    t = interleaved({"gemm": lambda: np.matmul(a, b, out=c)}, repeat=repeat)["gemm"]
    return 2.0 * n**3 / t / 1e9


def table(rows, headers):
    """Format rows (lists) as an aligned text table."""
    cells = [[str(h) for h in headers]] + [[str(c) for c in r] for r in rows]
    widths = [max(len(r[i]) for r in cells) for i in range(len(headers))]
    lines = ["  ".join(c.rjust(w) for c, w in zip(r, widths)) for r in cells]
    lines.insert(1, "  ".join("-" * w for w in widths))
    return "\n".join(lines)
