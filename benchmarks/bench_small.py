"""Small and batched systems: per-call and batched timings, side by side.

    python -m benchmarks.bench_small [--quick] [--threads-only]

Per call (float64, one b vector): ``small_solve`` called directly as the front door's
fast path calls it (rcond_tol = eps: the condition estimator runs only where its cheap
rigorous bound cannot rule out a warning), ``hybridsolve.solve`` when the package has it,
against ``scipy.linalg.solve`` and ``numpy.linalg.solve``.  Batched (b of shape (m, n, 1)):
``solve_batched`` directly (rcond_tol = eps, as the front door), ``hybridsolve.solve`` when
present, against numpy and scipy.
All contenders run interleaved in one process (numpy's with numpy's own BLAS at one
thread: see benchmarks/_timing.py); medians; ratios > 1 mean we are faster.

Threads: the batched 100000 x 3 x 3 solve with the thread policy's default
count against one thread (``hybridsolve.threads(1)``, the number HYBRIDSOLVE_NUM_THREADS=1
puts in force), run last -- right after the other benchmarks -- interleaved, alternating
which goes first; medians, run-to-run range, and the machine / BLAS / threads / load.
Target: default >= 1.6x one thread on an otherwise idle 2-core machine.
"""
from __future__ import annotations

import time

import numpy as np
import scipy.linalg as sl

from benchmarks._timing import (interleaved, machine, machine_line, numpy_contender,
                                numpy_isolation, parse_args, table)
from hybridsolve import _threads
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
    with _threads.threads(1):
        return solve_batched(a, b, False, True, eps)


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
          f"{machine_line()}")
    print(table(rows, head))
    return rows


def thread_scaling(quick=False, m=100000, n=3):
    """Batched m x n x n (float64, b (m, n, 1)), the default thread count against one
    thread: rounds of both (order alternating), medians and ranges, ratio per round."""
    rng = np.random.default_rng(2)
    a = rng.standard_normal((m, n, n))
    b = rng.standard_normal((m, n, 1))
    eps = float(np.finfo(np.float64).eps)
    nt = _threads.num_threads()
    load_before = machine()["load_average_1min"]

    def default():
        return solve_batched(a, b, False, True, eps)

    one = lambda: one_thread(a, b, eps)  # noqa: E731
    default(), one()                     # warm-up (thread pool, caches)
    np.testing.assert_array_equal(default()[0], one()[0])   # same bits either way
    rounds = 7 if quick else 21
    t_def, t_one, ratio = [], [], []
    for r in range(rounds):
        pair = (default, one) if r % 2 == 0 else (one, default)
        times = {}
        for f in pair:
            t0 = time.perf_counter()
            f()
            times[f] = time.perf_counter() - t0
        t_def.append(times[default])
        t_one.append(times[one])
        ratio.append(times[one] / times[default])
    med = lambda v: float(np.median(v))  # noqa: E731
    rows = [[f"default ({nt})", f"{1e3 * med(t_def):.2f}",
             f"{1e3 * min(t_def):.2f} - {1e3 * max(t_def):.2f}"],
            ["1 (HYBRIDSOLVE_NUM_THREADS=1)", f"{1e3 * med(t_one):.2f}",
             f"{1e3 * min(t_one):.2f} - {1e3 * max(t_one):.2f}"]]
    print(f"\nthreads, batched {m}x{n}x{n} float64, {rounds} interleaved rounds; "
          f"target: default >= 1.6x one thread on an idle 2-core machine")
    print(machine_line() + (f" (before: {load_before:.2f})" if load_before is not None
                            else ""))
    print(table(rows, ["threads", "median ms", "range ms"]))
    print(f"one thread / default: median {med(ratio):.2f}x, range {min(ratio):.2f}x - "
          f"{max(ratio):.2f}x")
    return [["threads", med(ratio), min(ratio), max(ratio)]]


def main(quick=False, threads_only=False):
    print(f"({numpy_isolation()})")
    rows = [] if threads_only else per_call(quick) + batched(quick)
    return rows + thread_scaling(quick)


if __name__ == "__main__":
    args = parse_args(__doc__, flags=[
        ("--threads-only", "only the thread-scaling rows (default threads vs one)")])
    main(quick=args.quick, threads_only=args.threads_only)
