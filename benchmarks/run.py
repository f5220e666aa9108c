"""Run every benchmark area, side by side in one process each (interleaved, medians).

    python -m benchmarks.run [--quick] [area ...]

Areas: lu, cholesky, rcond, solve, inspect, woodbury, sparse, small, dispatch.
(``hybridsolve bench`` is the summary across the roads, with one table, JSON and plots.)
"""
import argparse
import importlib

AREAS = ["lu", "cholesky", "rcond", "solve", "inspect", "woodbury", "sparse", "small",
         "dispatch"]


def main(argv=None):
    p = argparse.ArgumentParser(description=__doc__,
                                formatter_class=argparse.RawDescriptionHelpFormatter)
    p.add_argument("--quick", action="store_true", help="smaller sizes, fewer repeats")
    p.add_argument("areas", nargs="*", metavar="area",
                   help="the areas to run (default: all): " + ", ".join(AREAS))
    args = p.parse_args(argv)
    unknown = [a for a in args.areas if a not in AREAS]
    if unknown:
        p.error(f"unknown area {unknown[0]!r} (choose from {', '.join(AREAS)})")
    for area in args.areas or AREAS:
        print(f"\n==================== benchmarks.bench_{area} ====================")
        mod = importlib.import_module(f"benchmarks.bench_{area}")
        mod.main(quick=args.quick)


if __name__ == "__main__":
    main()
