"""Issue 3: the drop-in solve() with no hint against scipy.linalg.solve, side by side.

* The seed's case A = X X^T (X = rand(n, n)): general / 'sym' / 'pos' / hand Cholesky
  (cho_factor + cho_solve) / hybridsolve.solve with no hint.
* A general dense matrix: scipy.linalg.solve, lu_factor + lu_solve, hybridsolve.solve.
* Per call at n = 4.

Run:  python -m benchmarks.bench_solve [--quick]
"""
from __future__ import annotations

import sys

import numpy as np
import scipy.linalg as sl

import hybridsolve
from benchmarks._timing import interleaved, table


def seed_table(n, repeat):
    rng = np.random.default_rng(0)
    X = rng.random((n, n))
    A = X @ X.T
    b = rng.random(n)
    t = interleaved({
        "scipy solve (gen)": lambda: sl.solve(A, b, assume_a="gen"),
        "scipy solve (None)": lambda: sl.solve(A, b),
        "scipy solve (sym)": lambda: sl.solve(A, b, assume_a="sym"),
        "scipy solve (pos)": lambda: sl.solve(A, b, assume_a="pos"),
        "hand cho_factor+cho_solve": lambda: sl.cho_solve(sl.cho_factor(A), b),
        "hybridsolve.solve (no hint)": lambda: hybridsolve.solve(A, b),
    }, repeat=repeat)
    x = hybridsolve.solve(A, b)
    road = hybridsolve.factorize(A).kind
    base = t["scipy solve (None)"]
    rows = [[name, f"{sec:.4f}", f"{base / sec:.2f}x"] for name, sec in t.items()]
    res = np.linalg.norm(A @ x - b) / (np.linalg.norm(A, 1) * np.linalg.norm(x))
    print(f"\nSeed case: A = X X^T, n = {n}  (road taken: {road}; backward error "
          f"{res:.1e})")
    print(table(rows, ["contender", "seconds (median)", "speed vs scipy.solve"]))
    return t


def general_table(n, repeat):
    rng = np.random.default_rng(1)
    A = rng.standard_normal((n, n))
    b = rng.standard_normal(n)
    t = interleaved({
        "scipy solve": lambda: sl.solve(A, b),
        "lu_factor+lu_solve": lambda: sl.lu_solve(sl.lu_factor(A), b),
        "numpy.linalg.solve": lambda: np.linalg.solve(A, b),
        "hybridsolve.solve": lambda: hybridsolve.solve(A, b),
    }, repeat=repeat)
    base = t["scipy solve"]
    rows = [[name, f"{sec:.4f}", f"{base / sec:.2f}x"] for name, sec in t.items()]
    print(f"\nGeneral dense, n = {n}  (road taken: {hybridsolve.factorize(A).kind})")
    print(table(rows, ["contender", "seconds (median)", "speed vs scipy.solve"]))
    return t


def small_table(n=4, repeat=9):
    rng = np.random.default_rng(2)
    A = rng.standard_normal((n, n)) + n * np.eye(n)
    b = rng.standard_normal(n)
    t = interleaved({
        "scipy solve": lambda: sl.solve(A, b),
        "numpy.linalg.solve": lambda: np.linalg.solve(A, b),
        "hybridsolve.solve": lambda: hybridsolve.solve(A, b),
    }, repeat=repeat, min_time=0.05)
    base = t["scipy solve"]
    rows = [[name, f"{sec * 1e6:.2f}", f"{base / sec:.2f}x"] for name, sec in t.items()]
    print(f"\nPer call, n = {n}")
    print(table(rows, ["contender", "microseconds (median)", "speed vs scipy.solve"]))
    return t


def main(quick=False):
    n = 1500 if quick else 4000
    repeat = 3 if quick else 5
    out = {"seed": seed_table(n, repeat), "general": general_table(n, repeat),
           "small": small_table()}
    s, g, m = out["seed"], out["general"], out["small"]
    print("\nTargets (issue 3):")
    print(f"  SPD n={n}: scipy.solve / ours = "
          f"{s['scipy solve (None)'] / s['hybridsolve.solve (no hint)']:.2f} (>= 1.7); "
          f"hand Cholesky / ours = "
          f"{s['hand cho_factor+cho_solve'] / s['hybridsolve.solve (no hint)']:.2f} (>= 1)")
    print(f"  general n={n}: scipy.solve / ours = "
          f"{g['scipy solve'] / g['hybridsolve.solve']:.2f} (>= 1.15); "
          f"lu_factor+lu_solve / ours = "
          f"{g['lu_factor+lu_solve'] / g['hybridsolve.solve']:.2f} (>= 1)")
    print(f"  n=4 per call: ours / scipy.solve = "
          f"{m['hybridsolve.solve'] / m['scipy solve']:.3f} (<= 0.2)")
    return out


if __name__ == "__main__":
    main(quick="--quick" in sys.argv)
