"""``hybridsolve bench``: every road against scipy / numpy, side by side in one process.

For each area (one road family) and each size n, the contenders run interleaved (A B C,
A B C, ...) and the median of the samples is kept, with the run-to-run range.  The
timing harness here is the one the scripts in ``benchmarks/`` use too.

numpy and scipy wheels each carry their own OpenBLAS.  Right after a BLAS call, a
library's worker threads keep spinning for a while; on a machine with few cores the
*other* library's next call then fights them for the cores (measured on 2 cores: a
general n = 200 ``hybridsolve.solve`` took ~150 ms right after ``numpy.linalg.solve``
and 0.35 ms after another ``hybridsolve.solve``; a sleep of 0.2 s in between was not
enough).  So a numpy contender runs with numpy's own OpenBLAS held at one thread, only
for the duration of its call (threadpoolctl, selecting that library by its file path):
its threads then never spin, and nothing else is limited.  Where numpy and scipy share
one BLAS (a distribution build), there is nothing to isolate and numpy runs as it is.
The cost of this fairness: at large n numpy is timed on one thread.
"""
from __future__ import annotations

import os
import sys
import time
from contextlib import nullcontext

import numpy as np

#: The areas, in the order they run: one road family each.
AREAS = ("lu", "cholesky", "triangular", "tridiagonal", "woodbury", "sparse", "small",
         "batched")

#: How each area's cost grows, for the plots' guide lines: (exponent of n, label).
GUIDES = {"lu": (3, "O(n^3)"), "cholesky": (3, "O(n^3)"), "triangular": (2, "O(n^2)"),
          "tridiagonal": (2, "O(n^2) (reading A)"), "woodbury": (2, "O(n^2) (reading A)"),
          "sparse": (1, "O(nnz)"), "small": (None, None), "batched": (1, "O(m)")}

#: Sizes (n; for 'sparse' the grid side m, n = m^2; for 'batched' the batch count m).
SIZES = {
    "lu": ((100, 200, 400, 800), (100, 250, 500, 1000, 2000, 4000)),
    "cholesky": ((100, 200, 400, 800), (100, 250, 500, 1000, 2000, 4000)),
    "triangular": ((100, 200, 400, 800), (100, 250, 500, 1000, 2000, 4000)),
    "tridiagonal": ((200, 400, 800, 1600), (250, 500, 1000, 2000, 4000)),
    "woodbury": ((1000, 1500, 2000), (1000, 2000, 3000, 4000)),
    "sparse": ((40, 80, 160), (50, 100, 200, 400)),
    "small": ((2, 4, 8, 16, 64), (2, 4, 8, 16, 32, 64)),
    "batched": ((1000, 10000, 100000), (1000, 10000, 100000)),
}

_REFERENCE = {"sparse": "scipy.sparse.linalg.spsolve"}
OURS = "hybridsolve.solve"


# ------------------------------------------------------------------------ timing


def interleaved_samples(contenders: dict, repeat: int = 7, setup=None,
                        min_time: float = 0.0) -> dict:
    """Seconds per call of each ``name -> callable``, ``repeat`` samples each, measured
    interleaved (A B C, A B C, ...) after one warm-up call each.

    ``setup`` (optional) is called before every single timed call (outside the timing),
    e.g. to make fresh copies for in-place contenders.  For fast calls, each sample
    loops the call until ``min_time`` seconds have passed and divides.
    """
    names = list(contenders)
    funcs, limits = {}, {}
    for name in names:        # a numpy_contender: its BLAS limit outside the timing
        c = contenders[name]
        ctl = getattr(c, "blas_limit", None)
        funcs[name] = c.f if isinstance(c, numpy_contender) else c
        limits[name] = (lambda ctl=ctl: ctl.limit(limits=1)) if ctl is not None \
            else nullcontext
    loops = {}
    for name in names:  # warm up (first calls load plugins, fill caches), then calibrate
        with limits[name]():
            if setup is not None:
                setup()
            funcs[name]()
            if setup is not None:
                setup()
            t0 = time.perf_counter()
            funcs[name]()
            dt = time.perf_counter() - t0
        loops[name] = max(1, int(min_time / dt)) if (min_time and dt > 0) else 1
    samples = {name: [] for name in names}
    for _ in range(repeat):
        for name in names:
            f, k = funcs[name], loops[name]
            with limits[name]():
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
    return samples


def interleaved(contenders: dict, repeat: int = 7, setup=None, min_time: float = 0.0):
    """Median seconds per call for each ``name -> callable``, measured interleaved (see
    `interleaved_samples`)."""
    samples = interleaved_samples(contenders, repeat, setup, min_time)
    return {name: float(np.median(s)) for name, s in samples.items()}


_NUMPY_BLAS = []


def _numpy_blas():
    """threadpoolctl's controller for numpy's own BLAS, if it is a separate library from
    scipy's (wheels); None when they share one, or without threadpoolctl."""
    if not _NUMPY_BLAS:
        ctl = None
        try:
            import scipy.linalg  # noqa: F401  (load scipy's BLAS so both are listed)
            from threadpoolctl import ThreadpoolController
            c = ThreadpoolController()
            numpy_dir = os.path.dirname(os.path.dirname(np.__file__))
            mine = [lib.filepath for lib in c.lib_controllers
                    if lib.user_api == "blas"
                    and os.path.basename(os.path.dirname(lib.filepath)) == "numpy.libs"
                    and lib.filepath.startswith(numpy_dir)]
            others = [lib for lib in c.lib_controllers
                      if lib.user_api == "blas" and lib.filepath not in mine]
            if mine and others:
                ctl = c.select(filepath=mine)
        except ImportError:
            pass
        _NUMPY_BLAS.append(ctl)
    return _NUMPY_BLAS[0]


def numpy_isolation() -> str:
    """One sentence: how numpy contenders are kept from disturbing the others."""
    if _numpy_blas() is not None:
        return ("numpy contenders ran with numpy's own OpenBLAS held at 1 thread during "
                "their calls only (threadpoolctl), so its spinning threads never slow "
                "the next contender down")
    try:
        import threadpoolctl  # noqa: F401
    except ImportError:
        return ("threadpoolctl is not installed: numpy contenders were not isolated "
                "(pip install threadpoolctl)")
    return "numpy and scipy share one BLAS: numpy contenders ran as they are"


class numpy_contender:
    """``f`` marked as a numpy contender: `interleaved_samples` holds numpy's own BLAS
    at one thread around its samples (outside the timed part; see the module
    docstring).  Called directly, it runs ``f`` under the same limit."""

    def __init__(self, f):
        self.f = f
        self.blas_limit = _numpy_blas()

    def __call__(self, *args, **kwargs):
        if self.blas_limit is None:
            return self.f(*args, **kwargs)
        with self.blas_limit.limit(limits=1):
            return self.f(*args, **kwargs)


def dgemm_rate(n: int = 2000, repeat: int = 5) -> float:
    """The machine's measured float64 matrix-multiply rate in GFLOP/s (the physical
    limit a factorization can approach), through scipy's BLAS (the one our kernels
    and scipy's solvers use)."""
    from scipy.linalg import blas

    rng = np.random.default_rng(0)
    a = np.asfortranarray(rng.random((n, n)))
    b = np.asfortranarray(rng.random((n, n)))
    t = interleaved({"gemm": lambda: blas.dgemm(1.0, a, b)}, repeat=repeat)["gemm"]
    return 2.0 * n**3 / t / 1e9


def table(rows, headers):
    """Format rows (lists) as an aligned text table."""
    cells = [[str(h) for h in headers]] + [[str(c) for c in r] for r in rows]
    widths = [max(len(r[i]) for r in cells) for i in range(len(headers))]
    lines = ["  ".join(c.rjust(w) for c, w in zip(r, widths)) for r in cells]
    lines.insert(1, "  ".join("-" * w for w in widths))
    return "\n".join(lines)


# ------------------------------------------------------------------------ cases


def poisson2d(m):
    """The 2-D Poisson matrix on an m x m grid (5-point stencil), CSR (also what
    ``hybridsolve tune`` measures the sparse crossovers on)."""
    import scipy.sparse as sp
    t = sp.diags_array([-1.0, 2.0, -1.0], offsets=[-1, 0, 1], shape=(m, m))
    i = sp.eye_array(m)
    return (sp.kron(i, t) + sp.kron(t, i)).tocsr()


def poisson3d(m):
    """The 3-D Poisson matrix on an m x m x m grid (7-point stencil), CSR."""
    import scipy.sparse as sp
    t = sp.diags_array([-1.0, 2.0, -1.0], offsets=[-1, 0, 1], shape=(m, m))
    i = sp.eye_array(m)
    return (sp.kron(sp.kron(i, i), t) + sp.kron(sp.kron(i, t), i)
            + sp.kron(sp.kron(t, i), i)).tocsr()


def case(area, n, seed=0):
    """``(A, b, contenders)`` for one area and size: the matrix, a right-hand side and
    ``name -> callable`` (ours first)."""
    import scipy.linalg as sl

    import hybridsolve

    rng = np.random.default_rng(seed)
    if area == "sparse":
        from scipy.sparse.linalg import spsolve
        a = poisson2d(n)
        b = rng.standard_normal(a.shape[0])
        return a, b, {OURS: lambda: hybridsolve.solve(a, b),
                      "scipy.sparse.linalg.spsolve": lambda: spsolve(a, b)}
    if area == "batched":
        k = 4
        a = rng.standard_normal((n, k, k)) + k * np.eye(k)
        b = rng.standard_normal((n, k, 1))
        return a, b, {OURS: lambda: hybridsolve.solve(a, b),
                      "scipy.linalg.solve": lambda: sl.solve(a, b),
                      "numpy.linalg.solve": numpy_contender(lambda: np.linalg.solve(a, b))}
    if area in ("lu", "small"):
        a = rng.standard_normal((n, n)) + (n * np.eye(n) if area == "small" else 0)
    elif area == "cholesky":
        x = rng.standard_normal((n, n))
        a = x @ x.T + n * np.eye(n)
        a = (a + a.T) / 2                      # exactly symmetric
    elif area == "triangular":
        a = np.triu(rng.standard_normal((n, n))) + 2 * np.sqrt(n) * np.eye(n)
    elif area == "tridiagonal":
        a = (np.diag(rng.standard_normal(n) + 4.0) + np.diag(rng.standard_normal(n - 1), 1)
             + np.diag(rng.standard_normal(n - 1), -1))
    elif area == "woodbury":
        k = 10
        a = np.diag(rng.random(n) + 1.0) + rng.standard_normal((n, k)) @ \
            rng.standard_normal((k, n))
    else:
        raise ValueError(f"unknown benchmark area {area!r}; expected one of {AREAS}")
    b = rng.standard_normal(n)
    return a, b, {OURS: lambda: hybridsolve.solve(a, b),
                  "scipy.linalg.solve": lambda: sl.solve(a, b),
                  "numpy.linalg.solve": numpy_contender(lambda: np.linalg.solve(a, b))}


def _repeat(area, n, quick):
    if area in ("small",):
        return 5 if quick else 9
    if area == "batched" or area == "sparse":
        return 3 if quick else 5
    if n <= 500:
        return 5 if quick else 9
    return 3 if quick else 5


def _road(a):
    import hybridsolve

    if a.ndim == 3:
        return "batched"
    try:
        return hybridsolve.factorize(a).kind
    except Exception as e:  # pragma: no cover (a road that fails is still timed)
        return f"({type(e).__name__})"


# ------------------------------------------------------------------------ running


def _progress(total, enabled):
    if enabled:
        try:
            from tqdm import tqdm
            return tqdm(total=total, file=sys.stderr, unit="case", disable=None,
                        leave=False)
        except ImportError:
            pass
    return _PlainProgress(enabled)


class _PlainProgress:
    """Without tqdm: one line per finished case on standard error (if enabled)."""

    def __init__(self, enabled):
        self.enabled, self.done = enabled and sys.stderr.isatty(), 0

    def set_description(self, text):
        self.text = text

    def update(self, k=1):
        self.done += k
        if self.enabled:
            print(f"  [{self.done}] {self.text}", file=sys.stderr)

    def close(self):
        pass


def machine() -> dict:
    """What the figures were measured on: ``hybridsolve tune``'s description of the
    machine (platform, BLAS libraries and threads, load, date) plus scipy's version and
    the usable cores."""
    import scipy

    from hybridsolve._threads import usable_cores
    from hybridsolve._tune import _machine

    info = _machine()
    info["scipy"] = scipy.__version__
    info["usable cores"] = usable_cores()
    return info


def run(quick=False, only=None, progress=True) -> dict:
    """Run the areas (all, or those in ``only``) and return the results: ``meta``
    (machine, date, command) and ``records``, one per contender per case, with the
    median seconds and the run-to-run range."""
    import warnings

    from scipy.linalg import LinAlgWarning

    areas = [a for a in AREAS if not only or a in only]
    plan = [(area, n) for area in areas for n in SIZES[area][0 if quick else 1]]
    meta = {"date": time.strftime("%Y-%m-%d %H:%M UTC", time.gmtime()),
            "command": "hybridsolve bench" + (" --quick" if quick else "")
                       + "".join(f" --only {a}" for a in (only or ())),
            "quick": bool(quick), "machine": machine(),
            "numpy isolation": numpy_isolation()}
    records = []
    bar = _progress(len(plan), progress)
    t_start = time.perf_counter()
    try:
        for area, n in plan:
            bar.set_description(f"{area} n={n}")
            a, b, contenders = case(area, n)
            with warnings.catch_warnings():
                warnings.simplefilter("ignore", LinAlgWarning)
                samples = interleaved_samples(
                    contenders, repeat=_repeat(area, n, quick),
                    min_time=0.02 if area == "small" else 0.0)
            road = _road(a)
            size = a.shape[-1]
            nnz = int(a.nnz) if hasattr(a, "nnz") else None
            for name, s in samples.items():
                records.append({"area": area, "n": int(size), "nnz": nnz,
                                "batch": int(n) if area == "batched" else None,
                                "contender": name, "road": road if name == OURS else None,
                                "seconds": float(np.median(s)), "min": float(min(s)),
                                "max": float(max(s)), "samples": len(s)})
            bar.update(1)
    finally:
        bar.close()
    meta["elapsed seconds"] = round(time.perf_counter() - t_start, 1)
    return {"meta": meta, "records": records}


# ------------------------------------------------------------------------ reporting


def _fmt_time(t):
    if t < 1e-3:
        return f"{t * 1e6:.3g} us"
    if t < 1:
        return f"{t * 1e3:.3g} ms"
    return f"{t:.3g} s"


def _kind(name):
    return "numpy" if name.startswith("numpy") else "scipy"


def rows(results):
    """One row per case: ``area``, ``size`` (a label), ``road`` taken, ``ours`` (median
    seconds), ``range`` (min, max) and ``refs``: reference name -> (seconds, speed-up)."""
    by_case = {}
    for r in results["records"]:
        by_case.setdefault((r["area"], r["n"], r["batch"]), {})[r["contender"]] = r
    out = []
    for (area, n, batch), cs in by_case.items():
        ours = cs[OURS]
        size = f"{batch} x {n}x{n}" if batch is not None else (
            f"{n} (nnz {ours['nnz']})" if ours["nnz"] is not None else f"{n}")
        out.append({"area": area, "size": size, "road": ours["road"],
                    "ours": ours["seconds"], "range": (ours["min"], ours["max"]),
                    "refs": {name: (r["seconds"], r["seconds"] / ours["seconds"])
                             for name, r in cs.items() if name != OURS}})
    return out


def _ref_cells(row):
    cells = []
    for kind in ("scipy", "numpy"):
        hit = [v for name, v in row["refs"].items() if _kind(name) == kind]
        cells += ([_fmt_time(hit[0][0]), f"{hit[0][1]:.2f}x"] if hit else ["", ""])
    return cells


_HEAD = ["area", "n", "road taken", "hybridsolve", "range", "scipy", "speed-up",
         "numpy", "speed-up"]
_NOTE = ("scipy = scipy.linalg.solve with no hint (scipy.sparse.linalg.spsolve for "
         "sparse); numpy = numpy.linalg.solve; speed-up = their time / hybridsolve's "
         "(> 1: hybridsolve is faster); medians of interleaved runs, range = "
         "hybridsolve's fastest-slowest sample.")


def _load(m):
    load = m.get("load_average_1min")
    return "?" if load is None else f"{load:.2f}"


def report(results) -> str:
    """The one table printed at the end of ``hybridsolve bench``, with the machine and
    how numpy was isolated."""
    meta = results["meta"]
    body = table([[r["area"], r["size"], r["road"], _fmt_time(r["ours"]),
                   f"{_fmt_time(r['range'][0])}-{_fmt_time(r['range'][1])}"]
                  + _ref_cells(r) for r in rows(results)], _HEAD)
    m = meta["machine"]
    lines = [f"{meta['command']}  ({meta['date']}, {meta['elapsed seconds']} s)",
             f"python {m['python']}, numpy {m['numpy']}, scipy {m['scipy']}, "
             f"{m['usable cores']} usable cores, hybridsolve threads {m['threads']}, "
             f"load average {_load(m)}"]
    lines += [f"BLAS: {b}" for b in m.get("blas", [])]
    lines += [meta["numpy isolation"] + ".", _NOTE, "", body]
    return "\n".join(lines)


def markdown(results) -> str:
    """README's benchmark table (Markdown) with the command and date above it."""
    meta = results["meta"]
    m = meta["machine"]
    out = [f"Measured with `{meta['command']} --json FILE` on {meta['date']} "
           f"({m['usable cores']} cores, load average {_load(m)}; BLAS: "
           f"{'; '.join(m.get('blas') or ['?'])}). "
           f"{_NOTE} {meta['numpy isolation'][0].upper()}{meta['numpy isolation'][1:]}.",
           "", "| " + " | ".join(h for h in _HEAD if h != "range") + " |",
           "|" + "---|" * (len(_HEAD) - 1)]
    for r in rows(results):
        cells = [r["area"], r["size"], r["road"], _fmt_time(r["ours"])] + _ref_cells(r)
        out.append("| " + " | ".join(cells) + " |")
    return "\n".join(out)


if __name__ == "__main__":   # python -m hybridsolve._bench RESULTS.json: README's table
    import json

    if len(sys.argv) != 2 or sys.argv[1].startswith("-"):
        sys.exit("usage: python -m hybridsolve._bench RESULTS.json  (from hybridsolve "
                 "bench --json RESULTS.json): print README's benchmark table")
    with open(sys.argv[1]) as f:
        print(markdown(json.load(f)))
