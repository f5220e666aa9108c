"""The dispatcher's own cost: small ``solve`` calls with and without plugins registered.

    python -m benchmarks.bench_dispatch [--quick]

For n = 4, 16 and 64 (float64, one right-hand side) it times ``hybridsolve.solve``

* with only the built-in roads registered,
* with a run-time plugin that declares ``formats = ("sparse",)`` (it can never claim a
  dense call, so the small road's short-circuit stays open),
* with a plugin that declares nothing and no fixed cost (it could claim every call, so
  every call is inspected and priced: the price of *not* declaring),

and ``scipy.linalg.solve`` for scale.  The three registry states are timed in
alternating blocks (state 1, 2, 3, 1, 2, 3, ...: registering a plugin between single calls
would time the registration), each block a loop of calls; medians of the blocks and
their range are printed.

Target: with the sparse-only plugin, ``solve`` at n = 4 costs at most 1.5x what it
costs with no plugin.
"""
from __future__ import annotations

import argparse
import time

import numpy as np
import scipy.linalg as sl

import hybridsolve
from benchmarks._timing import machine_line
from hybridsolve import Solver


class SparseOnly(Solver):
    name = "bench-sparse-only"
    formats = ("sparse",)

    def cost(self, structure):
        return 1.0

    def factorize(self, a, structure):  # pragma: no cover - never reached
        raise AssertionError


class ClaimsAll(Solver):
    """Prices itself out (1e30) but, declaring nothing, must be asked every time."""

    name = "bench-claims-all"
    call_overhead = 0.0

    def cost(self, structure):
        return 1e30

    def factorize(self, a, structure):  # pragma: no cover - never chosen
        raise AssertionError


def _block(f, calls):
    t0 = time.perf_counter()
    for _ in range(calls):
        f()
    return (time.perf_counter() - t0) / calls


def main(quick=False):
    print(f"machine: {machine_line()}")
    rng = np.random.default_rng(0)
    blocks = 5 if quick else 15
    calls = 2000 if quick else 5000
    states = {
        "no plugin": [],
        "sparse-only plugin": [SparseOnly()],
        "claims-all plugin": [ClaimsAll()],
    }
    rows = []
    verdicts = []
    for n in (4, 16, 64):
        a = rng.standard_normal((n, n))
        b = rng.standard_normal(n)
        samples = {k: [] for k in list(states) + ["scipy.linalg.solve"]}
        for _ in range(blocks):
            for state, plugins in states.items():
                for p in plugins:
                    hybridsolve.register(p)
                try:
                    hybridsolve.solve(a, b)          # warm: tables rebuilt after register
                    samples[state].append(_block(lambda: hybridsolve.solve(a, b), calls))
                finally:
                    for p in plugins:
                        hybridsolve.unregister(p.name)
            samples["scipy.linalg.solve"].append(
                _block(lambda: sl.solve(a, b), max(1, calls // 10)))
        med = {k: float(np.median(v)) for k, v in samples.items()}
        base = med["no plugin"]
        for k, v in samples.items():
            rows.append((n, k, f"{med[k] * 1e6:8.2f}", f"{min(v) * 1e6:.2f}-{max(v) * 1e6:.2f}",
                         f"{med[k] / base:5.2f}x"))
        if n == 4:
            ratio = med["sparse-only plugin"] / base
            verdicts.append(("solve at n = 4 with a sparse-only plugin <= 1.5x no plugin",
                             f"{ratio:.2f}x", ratio <= 1.5))
    w = max(len(r[1]) for r in rows)
    print(f"{'n':>3}  {'registry state / contender':<{w}}  {'median us':>9}  "
          f"{'range us':>13}  {'vs no plugin':>12}")
    for n, k, m, r, x in rows:
        print(f"{n:>3}  {k:<{w}}  {m:>9}  {r:>13}  {x:>12}")
    print(f"({blocks} alternating blocks of {calls} calls each; scipy blocks of "
          f"{max(1, calls // 10)})")
    print("Targets:")
    for what, got, ok in verdicts:
        print(f"  {'PASS' if ok else 'FAIL'}  {what}: {got}")


if __name__ == "__main__":
    ap = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    ap.add_argument("--quick", action="store_true", help="fewer, shorter blocks")
    main(**vars(ap.parse_args()))
