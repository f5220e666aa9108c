"""Run every benchmark area, side by side in one process each (interleaved, medians).

    python -m benchmarks.run [--quick] [area ...]

Areas: lu, cholesky, rcond, solve, inspect, woodbury, sparse, small.
"""
import importlib
import sys

AREAS = ["lu", "cholesky", "rcond", "solve", "inspect", "woodbury", "sparse", "small"]


def main(argv):
    quick = "--quick" in argv
    chosen = [a for a in argv if not a.startswith("-")] or AREAS
    for area in chosen:
        print(f"\n==================== benchmarks.bench_{area} ====================")
        mod = importlib.import_module(f"benchmarks.bench_{area}")
        mod.main(quick=quick)


if __name__ == "__main__":
    main(sys.argv[1:])
