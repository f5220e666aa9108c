"""Side-by-side timing on a shared, noisy machine: run the contenders interleaved (A B C,
A B C, ...), take medians, and report ratios measured in the same process.

The harness is ``hybridsolve._bench``'s (the one ``hybridsolve bench`` uses), re-exported
here for the scripts in this directory, with their common command line.  A numpy
contender is wrapped in ``numpy_contender``: numpy's own OpenBLAS (a separate copy from
scipy's in the wheels) is then held at one thread around its samples, so its spinning
worker threads do not slow the next contender down (see ``hybridsolve._bench``).
"""
from __future__ import annotations

import argparse

from hybridsolve._bench import (dgemm_rate, interleaved, machine,  # noqa: F401
                                numpy_contender, numpy_isolation, table)


def machine_line(info=None):
    """``machine()`` (``hybridsolve tune``'s description) as one line: CPU, usable
    cores, BLAS libraries and their threads, hybridsolve's thread count and where it
    comes from, the 1-minute load average."""
    m = machine() if info is None else info
    load = m.get("load_average_1min")
    return (f"{m['cpu']}, {m['usable cores']} usable cores; BLAS: "
            f"{'; '.join(m['blas']) or 'none found'}; hybridsolve threads {m['threads']} "
            f"({m['threads_from']}); load average "
            f"{'n/a' if load is None else f'{load:.2f}'}")


def parse_args(doc, argv=None, flags=()):
    """The scripts' command line: ``--quick`` plus ``flags`` (``(name, help)`` pairs
    of store-true options); ``--help`` prints the module docstring and exits; an
    unknown flag is an error (exit code 2)."""
    p = argparse.ArgumentParser(description=doc,
                                formatter_class=argparse.RawDescriptionHelpFormatter)
    p.add_argument("--quick", action="store_true", help="smaller sizes, fewer repeats")
    for name, text in flags:
        p.add_argument(name, action="store_true", help=text)
    return p.parse_args(argv)


def target(label, value, op, bound):
    """One line of a targets list: ``PASS``/``FAIL``, what was measured, the bound."""
    ok = value >= bound if op == ">=" else value <= bound
    return f"  {'PASS' if ok else 'FAIL'}  {label} = {value:.3g} (target {op} {bound})"
