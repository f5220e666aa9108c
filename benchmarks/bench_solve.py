"""The drop-in solve() with no hint against scipy.linalg.solve, side by side.

* The seed's case A = X X^T (X = rand(n, n)): general / 'sym' / 'pos' / hand Cholesky
  (cho_factor + cho_solve) / hybridsolve.solve with no hint.
* A general dense matrix: scipy.linalg.solve, lu_factor + lu_solve, hybridsolve.solve.
* Symmetric indefinite: LDL^T (sysv) against LU -- the measurement behind the road.
* Per call at n = 4.

Run:  python -m benchmarks.bench_solve [--quick]

Sizes: n = 4000 (--quick: 1500) and n = 4 per call.  The targets at the end are
marked PASS or FAIL.  numpy contenders run with numpy's own BLAS at one thread (see
benchmarks/_timing.py).
"""
from __future__ import annotations

import numpy as np
import scipy.linalg as sl

import hybridsolve
from benchmarks._timing import (interleaved, numpy_contender, numpy_isolation, parse_args,
                                table, target)


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
        "numpy.linalg.solve": numpy_contender(lambda: np.linalg.solve(A, b)),
        "hybridsolve.solve": lambda: hybridsolve.solve(A, b),
    }, repeat=repeat)
    base = t["scipy solve"]
    rows = [[name, f"{sec:.4f}", f"{base / sec:.2f}x"] for name, sec in t.items()]
    print(f"\nGeneral dense, n = {n}  (road taken: {hybridsolve.factorize(A).kind})")
    print(table(rows, ["contender", "seconds (median)", "speed vs scipy.solve"]))
    return t


def symmetric_indefinite_table(n, repeat):
    """Which road for symmetric indefinite A: LDL^T (Bunch-Kaufman, LAPACK sysv, what
    scipy's assume_a='sym' calls) or pivoted LU?  The dispatcher takes LU; this table is
    the measurement behind that choice."""
    rng = np.random.default_rng(3)
    G = rng.standard_normal((n, n))
    A = G + G.T
    b = rng.standard_normal(n)
    t = interleaved({
        "LDL^T: scipy solve(sym) = sysv": lambda: sl.solve(A, b, assume_a="sym"),
        "LU: lu_factor+lu_solve": lambda: sl.lu_solve(sl.lu_factor(A), b),
        "hybridsolve.solve": lambda: hybridsolve.solve(A, b),
    }, repeat=repeat)
    base = t["LDL^T: scipy solve(sym) = sysv"]
    rows = [[name, f"{sec:.4f}", f"{base / sec:.2f}x"] for name, sec in t.items()]
    print(f"\nSymmetric indefinite, n = {n}  (road taken: "
          f"{hybridsolve.factorize(A).kind})")
    print(table(rows, ["contender", "seconds (median)", "speed vs sysv"]))
    return t


def small_table(n=4, repeat=9):
    rng = np.random.default_rng(2)
    A = rng.standard_normal((n, n)) + n * np.eye(n)
    b = rng.standard_normal(n)
    t = interleaved({
        "scipy solve": lambda: sl.solve(A, b),
        "numpy.linalg.solve": numpy_contender(lambda: np.linalg.solve(A, b)),
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
    print(f"({numpy_isolation()})")
    out = {"seed": seed_table(n, repeat), "general": general_table(n, repeat),
           "symmetric": symmetric_indefinite_table(n, repeat), "small": small_table()}
    s, g, m = out["seed"], out["general"], out["small"]
    ours_s = s["hybridsolve.solve (no hint)"]
    ours_g = g["hybridsolve.solve"]
    print("\nTargets:")
    for line in (
            target(f"SPD n={n}: scipy.solve / ours", s["scipy solve (None)"] / ours_s,
                   ">=", 1.7),
            target(f"SPD n={n}: hand cho_factor+cho_solve / ours",
                   s["hand cho_factor+cho_solve"] / ours_s, ">=", 1.0),
            target(f"general n={n}: scipy.solve / ours", g["scipy solve"] / ours_g,
                   ">=", 1.15),
            target(f"general n={n}: lu_factor+lu_solve / ours",
                   g["lu_factor+lu_solve"] / ours_g, ">=", 1.0),
            target("n=4 per call: ours / scipy.solve",
                   m["hybridsolve.solve"] / m["scipy solve"], "<=", 0.2)):
        print(line)
    return out


if __name__ == "__main__":
    main(quick=parse_args(__doc__).quick)
