"""The ``hybridsolve`` command: solve or explain a system stored in files, run the
benchmarks, the demo, and the tuning measurement.

    hybridsolve solve A B [-o X] [--assume-a HINT] [--method NAME] [--explain]
    hybridsolve explain A [--assume-a HINT] [--method NAME]
    hybridsolve bench [--quick] [--only AREA] [--plot FILE] [--json FILE]
    hybridsolve demo [--quick]
    hybridsolve tune ...

Files are read by their suffix: Matrix Market (``.mtx``, ``.mtx.gz``), NumPy (``.npy``,
memory-mapped), SciPy sparse (``.npz``, as written by `scipy.sparse.save_npz`) or text
(``.txt`` whitespace-separated, ``.csv`` comma-separated).  Every failure is one line on
standard error and one of the exit codes below, never a traceback (``--traceback`` shows
it).
"""
from __future__ import annotations

import argparse
import os
import sys
import tempfile
import time
import warnings

#: Exit codes.  2 is argparse's own code for a bad command line.
EXIT_OK = 0
EXIT_USAGE = 2       # bad command line (unknown flag, bad value, unknown output suffix)
EXIT_FILE = 3        # a file that cannot be read or written, or is not in its format
EXIT_DATA = 4        # the data cannot be solved as given: non-square A, shapes, NaN/inf
EXIT_SINGULAR = 5    # A is singular (or not positive definite under --assume-a pos)
EXIT_INTERNAL = 1    # anything else (a bug: run with --traceback and report it)

_EXIT_CODES = f"""\
exit codes:
  {EXIT_OK}  success
  {EXIT_USAGE}  bad command line (unknown flag or value, unknown output suffix)
  {EXIT_FILE}  a file cannot be read or written, or is not in the format its suffix says
  {EXIT_DATA}  the data cannot be solved as given (A not square, shapes differ, NaN/inf)
  {EXIT_SINGULAR}  A is singular (or not positive definite with --assume-a pos)
  {EXIT_INTERNAL}  an unexpected error (rerun with --traceback)
"""

INPUT_FORMATS = (".mtx", ".mtx.gz", ".npy", ".npz", ".txt", ".csv")
OUTPUT_FORMATS = (".npy", ".mtx", ".txt", ".csv")
HINTS = ("gen", "sym", "her", "pos", "diagonal", "tridiagonal", "banded",
         "upper triangular", "lower triangular")


class CLIError(Exception):
    """A failure reported as one line and an exit code."""

    def __init__(self, message, code):
        super().__init__(message)
        self.code = code


# ------------------------------------------------------------------------ reading files


def _suffix(path, known):
    low = path.lower()
    for s in sorted(known, key=len, reverse=True):   # '.mtx.gz' before '.gz'
        if low.endswith(s):
            return s
    return None


def read_matrix(path, *, dense=False):
    """The array (or scipy.sparse array) stored in ``path``, read by its suffix.

    ``dense``: return an ndarray (a sparse file is expanded) -- for right-hand sides.
    ``.npy`` files are memory-mapped (read-only) rather than read into memory.
    """
    import numpy as np
    import scipy.sparse as sp

    fmt = _suffix(path, INPUT_FORMATS)
    if fmt is None:
        raise CLIError(f"{path}: unknown format (expected one of "
                       f"{', '.join(INPUT_FORMATS)})", EXIT_FILE)
    if not os.path.exists(path):
        raise CLIError(f"{path}: no such file", EXIT_FILE)
    if os.path.isdir(path):
        raise CLIError(f"{path}: is a directory", EXIT_FILE)
    names = {".mtx": "Matrix Market", ".mtx.gz": "Matrix Market", ".npy": "NumPy .npy",
             ".npz": "scipy.sparse .npz (scipy.sparse.save_npz)",
             ".txt": "whitespace-separated text", ".csv": "comma-separated text"}
    try:
        if fmt in (".mtx", ".mtx.gz"):
            import scipy.io
            a = scipy.io.mmread(path)
            if sp.issparse(a):
                a = sp.csr_array(a)
        elif fmt == ".npy":
            a = np.load(path, mmap_mode="r", allow_pickle=False)
        elif fmt == ".npz":
            a = sp.load_npz(path)
        else:
            a = _read_text(path, "," if fmt == ".csv" else None)
    except PermissionError:
        raise CLIError(f"{path}: permission denied", EXIT_FILE) from None
    except OSError as e:
        if isinstance(e, (FileNotFoundError, IsADirectoryError)):
            raise CLIError(f"{path}: cannot open ({e.strerror})", EXIT_FILE) from None
        raise CLIError(f"{path}: not readable as {names[fmt]} ({_reason(e)})",
                       EXIT_FILE) from None
    except Exception as e:                   # parsers raise ValueError, TypeError, ...
        raise CLIError(f"{path}: not readable as {names[fmt]} ({_reason(e)})",
                       EXIT_FILE) from None
    if dense and sp.issparse(a):
        a = a.toarray()
    return a


def _read_text(path, delimiter):
    import numpy as np

    try:
        return np.loadtxt(path, delimiter=delimiter, ndmin=1)
    except ValueError:
        return np.loadtxt(path, delimiter=delimiter, ndmin=1, dtype=complex)


def _reason(e):
    text = str(e).strip().splitlines()
    return text[0] if text else type(e).__name__


# ------------------------------------------------------------------------ writing files


def _check_output(path):
    """Fail early (before the solve) on an output path that cannot be written."""
    fmt = _suffix(path, OUTPUT_FORMATS)
    if fmt is None:
        raise CLIError(f"{path}: unknown output format (expected one of "
                       f"{', '.join(OUTPUT_FORMATS)})", EXIT_USAGE)
    directory = os.path.dirname(os.path.abspath(path))
    if not os.path.isdir(directory):
        raise CLIError(f"{path}: cannot write (no directory {directory})", EXIT_FILE)
    if os.path.isdir(path):
        raise CLIError(f"{path}: cannot write (is a directory)", EXIT_FILE)
    if not os.access(directory, os.W_OK) or (os.path.exists(path)
                                             and not os.access(path, os.W_OK)):
        raise CLIError(f"{path}: cannot write (permission denied)", EXIT_FILE)
    return fmt


def write_array(path, x):
    """Write ``x`` to ``path`` in the format its suffix names (see `atomic_write`)."""
    import numpy as np

    fmt = _check_output(path)

    def writer(f):
        if fmt == ".npy":
            np.save(f, x, allow_pickle=False)
        elif fmt == ".mtx":
            import scipy.io
            scipy.io.mmwrite(f, x[:, None] if x.ndim == 1 else x)
        else:
            np.savetxt(f, x, delimiter="," if fmt == ".csv" else " ")
    atomic_write(path, writer)


def atomic_write(path, writer):
    """Call ``writer(f)`` on a binary file created beside ``path``, renamed over
    ``path`` only once complete: on any failure nothing half-written is left behind."""
    directory = os.path.dirname(os.path.abspath(path))
    base = os.path.basename(path)
    try:
        fd, tmp = tempfile.mkstemp(dir=directory, prefix=f".{base}.", suffix=".part")
    except OSError as e:
        raise CLIError(f"{path}: cannot write ({e.strerror})", EXIT_FILE) from None
    try:
        with os.fdopen(fd, "wb") as f:
            writer(f)
        os.replace(tmp, path)
    except OSError as e:
        _remove(tmp)
        raise CLIError(f"{path}: cannot write ({e.strerror or _reason(e)})",
                       EXIT_FILE) from None
    except BaseException:
        _remove(tmp)
        raise


def _remove(path):
    try:
        os.unlink(path)
    except OSError:
        pass


# ------------------------------------------------------------------------ subcommands


def _square(a, path):
    if a.ndim != 2 or a.shape[0] != a.shape[1]:
        shape = " x ".join(map(str, a.shape))
        raise CLIError(f"{path}: A must be a square matrix, got shape {shape}", EXIT_DATA)


def _factorize(a, path, assume_a, method):
    import numpy as np

    import hybridsolve

    try:
        return hybridsolve.factorize(a, assume_a=assume_a, method=method)
    except np.linalg.LinAlgError as e:
        raise CLIError(f"{path}: {e}", EXIT_SINGULAR) from None
    except (ValueError, TypeError) as e:
        raise CLIError(f"{path}: {e}", EXIT_DATA) from None


def backward_error(a, x, b):
    """Normwise backward error max_j ||A x_j - b_j|| / (||A|| ||x_j|| + ||b_j||), in the
    infinity norm (0 for an exact solution; a stable solve gives a small multiple of
    the dtype's eps)."""
    import numpy as np
    import scipy.sparse as sp

    x2 = x.reshape(x.shape[0], -1)
    b2 = np.asarray(b).reshape(x2.shape[0], -1)
    if sp.issparse(a):
        import scipy.sparse.linalg as spl
        anorm = float(spl.norm(a, np.inf))
    else:
        anorm = float(np.linalg.norm(a, np.inf))
    r = a @ x2 - b2
    num = np.abs(r).max(axis=0)
    den = anorm * np.abs(x2).max(axis=0) + np.abs(b2).max(axis=0)
    with np.errstate(invalid="ignore", divide="ignore"):
        ratio = np.where(den > 0, num / np.where(den > 0, den, 1), 0.0)
    return float(ratio.max()) if ratio.size else 0.0


def cmd_solve(args):
    import numpy as np

    import hybridsolve

    if args.output is not None:
        _check_output(args.output)
    a = read_matrix(args.A)
    b = read_matrix(args.B, dense=True)
    _square(a, args.A)
    if b.ndim not in (1, 2) or b.shape[0] != a.shape[0]:
        shape = " x ".join(map(str, b.shape))
        raise CLIError(f"{args.B}: B has shape {shape}, but A is {a.shape[0]} x "
                       f"{a.shape[1]} (B needs {a.shape[0]} rows)", EXIT_DATA)
    if args.explain:
        with warnings.catch_warnings():
            warnings.simplefilter("ignore")
            try:
                print(hybridsolve.explain(a, assume_a=args.assume_a, method=args.method),
                      file=sys.stderr if args.output is None else sys.stdout)
            except np.linalg.LinAlgError as e:
                raise CLIError(f"{args.A}: {e}", EXIT_SINGULAR) from None
            except (ValueError, TypeError) as e:
                raise CLIError(f"{args.A}: {e}", EXIT_DATA) from None
    hybridsolve.solvers()            # discover the roads first: not part of the time
    t0 = time.perf_counter()
    fac = _factorize(a, args.A, args.assume_a, args.method)
    try:
        x = fac.solve(b)
    except (ValueError, TypeError) as e:
        raise CLIError(f"{args.B}: {e}", EXIT_DATA) from None
    seconds = time.perf_counter() - t0
    berr = backward_error(a, x, b)
    rcond = float(fac.rcond)
    report = sys.stderr if args.output is None else sys.stdout
    if args.output is None:
        np.savetxt(sys.stdout, x)
    else:
        write_array(args.output, x)
    eps = float(np.finfo(x.dtype).eps)
    n = a.shape[0]
    print(f"road: {fac.kind}   n = {n}   time: {_seconds(seconds)}   "
          f"backward error: {berr:.1e}   rcond: {rcond:.2e}", file=report)
    if rcond == rcond and rcond < eps:
        print(f"warning: ill-conditioned matrix (rcond {rcond:.2e} < eps {eps:.1e}): "
              "the result may not be accurate", file=sys.stderr)
    if args.output is not None:
        print(f"x written to {args.output}", file=report)
    return EXIT_OK


def _seconds(t):
    return f"{t * 1e3:.3g} ms" if t < 1 else f"{t:.3g} s"


def cmd_explain(args):
    import numpy as np

    import hybridsolve

    a = read_matrix(args.A)
    _square(a, args.A)
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        try:
            print(hybridsolve.explain(a, assume_a=args.assume_a, method=args.method))
        except np.linalg.LinAlgError as e:
            raise CLIError(f"{args.A}: {e}", EXIT_SINGULAR) from None
        except (ValueError, TypeError) as e:
            raise CLIError(f"{args.A}: {e}", EXIT_DATA) from None
    return EXIT_OK


def cmd_bench(args):
    from hybridsolve import _bench

    for path in (args.plot, args.json):
        if path is not None:
            directory = os.path.dirname(os.path.abspath(path))
            if not os.path.isdir(directory) or not os.access(directory, os.W_OK):
                raise CLIError(f"{path}: cannot write (no writable directory "
                               f"{directory})", EXIT_FILE)
    if args.plot is not None and _suffix(args.plot, (".png", ".svg", ".pdf")) is None:
        raise CLIError(f"{args.plot}: unknown plot format (expected .png, .svg or .pdf)",
                       EXIT_USAGE)
    if args.plot is not None:
        try:
            import matplotlib  # noqa: F401
        except ImportError:
            raise CLIError("--plot needs matplotlib: pip install 'hybridsolve[bench]'",
                           EXIT_USAGE) from None
    results = _bench.run(quick=args.quick, only=args.only,
                         progress=not args.no_progress)
    print(_bench.report(results))
    if args.json is not None:
        import json
        atomic_write(args.json, lambda f: f.write(
            json.dumps(results, indent=1).encode() + b"\n"))
        print(f"results written to {args.json}")
    if args.plot is not None:
        from hybridsolve import _benchplot
        fmt = _suffix(args.plot, (".png", ".svg", ".pdf"))[1:]
        atomic_write(args.plot, lambda f: _benchplot.plot(results, f, fmt))
        print(f"plot written to {args.plot}")
    return EXIT_OK


def cmd_demo(args):
    from hybridsolve.demo import main

    main(quick=args.quick)
    return EXIT_OK


def _tune_module():
    try:
        from hybridsolve import _tune
    except ImportError:
        return None
    return _tune


def cmd_tune(args):
    tune = _tune_module()
    if tune is None:
        raise CLIError("hybridsolve tune is not available in this version", EXIT_USAGE)
    return int(tune.run(args) or 0)


# ------------------------------------------------------------------------ the parser


def _bench_areas():
    from hybridsolve._bench import AREAS
    return AREAS


def build_parser(argv=()):
    """The argument parser.  ``argv`` says which subcommand is wanted, so that the
    ``tune`` module is imported only when ``tune`` is asked for."""
    parser = argparse.ArgumentParser(
        prog="hybridsolve",
        description="Solve A x = b taking the cheapest correct road; explain the choice; "
                    "benchmark the roads against scipy and numpy.",
        epilog=_EXIT_CODES, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--traceback", action="store_true",
                        help="show the Python traceback of a failure (for bug reports)")
    sub = parser.add_subparsers(dest="command", metavar="COMMAND")

    p = sub.add_parser("solve", help="solve A x = B for matrices stored in files",
                       description="Solve A x = B for A and B read from files; print the "
                                   "road taken, the time, the backward error and the "
                                   "rcond estimate.",
                       epilog="formats (by suffix): " + ", ".join(INPUT_FORMATS)
                              + "\n\n" + _EXIT_CODES,
                       formatter_class=argparse.RawDescriptionHelpFormatter)
    p.add_argument("A", help="the square matrix")
    p.add_argument("B", help="the right-hand side(s): n values, or n rows of k")
    p.add_argument("-o", "--output", metavar="X",
                   help="write x here (.npy, .mtx, .txt or .csv); default: print x on "
                        "standard output and the report on standard error")
    _common(p)
    p.add_argument("--explain", action="store_true",
                   help="also print the explain() report (the structure found, every "
                        "road's price)")
    p.set_defaults(func=cmd_solve)

    p = sub.add_parser("explain", help="why a road is taken for a matrix in a file",
                       description="Print hybridsolve.explain(A) for A read from a file.",
                       epilog=_EXIT_CODES,
                       formatter_class=argparse.RawDescriptionHelpFormatter)
    p.add_argument("A", help="the square matrix (" + ", ".join(INPUT_FORMATS) + ")")
    _common(p)
    p.set_defaults(func=cmd_explain)

    p = sub.add_parser("bench", help="side-by-side benchmarks against scipy and numpy",
                       description="Time every road against scipy/numpy, side by side in "
                                   "this process (interleaved, medians); one table at "
                                   "the end; optionally plots and JSON.")
    p.add_argument("--quick", action="store_true", help="smaller sizes (a few minutes)")
    p.add_argument("--only", metavar="AREA", action="append",
                   choices=_bench_areas(),
                   help="run only this area (repeatable): " + ", ".join(_bench_areas()))
    p.add_argument("--plot", metavar="FILE",
                   help="write the plots (time against n per road; speed-up bars) to "
                        "FILE.png or FILE.svg (needs matplotlib)")
    p.add_argument("--json", metavar="FILE", help="write every measurement as JSON")
    p.add_argument("--no-progress", action="store_true",
                   help="no progress bar (it goes to standard error, only on a terminal)")
    p.set_defaults(func=cmd_bench)

    p = sub.add_parser("demo", help="solve real systems and compare with scipy",
                       description="Solve a few real systems, show the road taken and "
                                   "the speed-up over scipy.linalg.solve.")
    p.add_argument("--quick", action="store_true", help="smaller sizes")
    p.set_defaults(func=cmd_demo)

    p = sub.add_parser("tune", help="measure this machine's crossovers and save them",
                       description="Measure the crossovers and constants of the tuning "
                                   "module on this machine and save them.")
    if _wants(argv, "tune"):
        tune = _tune_module()
        if tune is not None:
            tune.add_arguments(p)
    p.set_defaults(func=cmd_tune)
    return parser


def _wants(argv, command):
    for arg in argv:
        if not arg.startswith("-"):
            return arg == command
    return False


def _common(p):
    p.add_argument("--assume-a", metavar="HINT", choices=HINTS,
                   help="a structure hint as scipy.linalg.solve's assume_a: "
                        + ", ".join(repr(h) for h in HINTS) + " (default: detect)")
    p.add_argument("--method", metavar="NAME",
                   help="force a registered road by name (see hybridsolve.solvers())")


def main(argv=None):
    """Run the command line ``argv`` (default ``sys.argv[1:]``); return the exit code."""
    argv = list(sys.argv[1:] if argv is None else argv)
    parser = build_parser(argv)
    args = parser.parse_args(argv)          # exits with 2 on a bad command line
    if args.command is None:
        parser.print_help(sys.stderr)
        return EXIT_USAGE
    try:
        return args.func(args)
    except CLIError as e:
        if args.traceback:
            raise
        print(f"hybridsolve {args.command}: error: {e}", file=sys.stderr)
        return e.code
    except KeyboardInterrupt:
        print(f"hybridsolve {args.command}: interrupted", file=sys.stderr)
        return 130
    except BrokenPipeError:            # the reader went away (| head): stop quietly
        sys.stdout = open(os.devnull, "w")
        return 141
    except Exception as e:
        if args.traceback:
            raise
        print(f"hybridsolve {args.command}: unexpected error: {type(e).__name__}: "
              f"{_reason(e)} (rerun with --traceback and report it)", file=sys.stderr)
        return EXIT_INTERNAL


def cli():
    """Console entry point ``hybridsolve``."""
    sys.exit(main())


def demo_cli():
    """Console entry point ``hybridsolve-demo``: ``hybridsolve demo``."""
    sys.exit(main(["demo"] + sys.argv[1:]))


if __name__ == "__main__":
    cli()
