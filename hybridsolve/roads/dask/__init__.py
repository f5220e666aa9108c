"""The Dask roads: registered Solvers with ``formats = ("dask",)``, one module per road.

* ``batch``     a batch (..., n, n) chunked along its batch axes: the batched kernel per
                chunk (``dask_batch``);
* ``many_rhs``  one matrix small enough for one worker, many right-hand sides: factor
                once in-process, ship the factorization once, solve column chunks in
                parallel (``dask_many_rhs``);
* ``cholesky``  one large dense Hermitian positive definite A chunked in 2-D: tiled
                right-looking Cholesky (``dask_cholesky``);
* ``lu``        one large dense A: tiled LU with tournament pivoting (CALU) and one step
                of iterative refinement (``dask_lu``).

The front door's branch for dask input is ``hybridsolve._dask``; it builds a
``Structure(format="dask")`` and the registry prices these roads as any other.  Nothing
here imports dask at module level: the registry imports every road at discovery, and dask
is an optional extra, imported only once a dask array is seen.

This module holds what the roads share: the price constants, the parallelism estimate,
the thread policy of a task (``task``: the kernels a task runs on a distributed worker
use one thread),
the graph builder (one key per tile, with the bytes each key holds, so ``explain`` can
count tasks and bytes moved), the lazy Factorization base, and compute-time reporting
(errors raise in the task; warnings reach the client through ``distributed.warn`` when
the task runs on a distributed worker).
"""
from __future__ import annotations

import functools
import sys
import warnings

import numpy as np

from hybridsolve._tuning import value as _tuned

# --------------------------------------------------------------------------- prices
# Prices are in the registry's unit (flop-equivalents of the in-process roads).

# Values, and the reasons for them, in hybridsolve._tuning (dask_* names).
#: One task's scheduling overhead, in flop-equivalents.
TASK_COST = _tuned("dask_task_cost")
#: One byte moved between workers, in flop-equivalents.
BYTE_COST = _tuned("dask_byte_cost")
#: The largest A (bytes) the one-matrix road gathers onto a single worker to factor
#: in-process.
IN_PROCESS_MAX_BYTES = _tuned("dask_in_process_max_bytes")
#: Default tile size when A's chunks are not square (rechunked to square tiles).
DEFAULT_TILE = _tuned("dask_default_tile")


def active_client():
    """The active distributed client (if ``distributed`` is imported and a client
    exists), else None."""
    if "distributed" not in sys.modules:
        return None
    try:
        from distributed import default_client
        return default_client()
    except ValueError:       # no client
        return None


def parallelism() -> int:
    """Worker threads that run tasks at once: those of the active distributed client,
    else 1 (the local schedulers share one process with the in-process roads)."""
    client = active_client()
    if client is None:
        return 1
    try:
        info = client.scheduler_info()
        return max(1, sum(int(w.get("nthreads", 1)) for w in info["workers"].values()))
    except Exception:        # closed cluster, ...
        return 1


# --------------------------------------------------------------------------- threads


def task_threads():
    """The thread count of the kernels a task runs, or None to keep the thread policy's.

    On a distributed worker the policy's default -- the usable cores -- counts every core
    of the machine for every worker process, and the worker runs up to ``nthreads``
    tasks at once: its kernels (the batched kernel's OpenMP loop, BLAS where it can be
    limited per thread) would take ``processes x nthreads x cores`` threads.  The cores
    a worker was given are its ``nthreads``, shared by its ``nthreads`` task slots: one
    thread per task (the rule distributed's nanny applies to BLAS and OpenMP with
    ``OMP_NUM_THREADS=1``, ``OPENBLAS_NUM_THREADS=1``; a worker that should thread its
    kernels is one with one task slot and ``HYBRIDSOLVE_NUM_THREADS`` set).  An explicit
    ``HYBRIDSOLVE_NUM_THREADS`` or an enclosing ``threads(n)`` wins; off a distributed
    worker (the synchronous and threaded schedulers) the policy is unchanged.
    """
    from hybridsolve._threads import threads_source
    if "distributed" not in sys.modules or threads_source() != "usable cores":
        return None
    try:
        from distributed import get_worker
        get_worker()
    except (ImportError, ValueError):
        return None
    return 1


def task(func):
    """Decorator for the functions the Dask roads' tasks run: ``func`` runs under
    ``threads(task_threads())`` (and ``blas_threads`` of the same count) when
    ``task_threads()`` says so, else as it is.  The result pickles by name as ``func``
    would."""
    @functools.wraps(func)
    def run(*args):
        n = task_threads()
        if n is None:
            return func(*args)
        from hybridsolve._threads import blas_threads, threads
        with threads(n), blas_threads(n):
            return func(*args)
    return run


# --------------------------------------------------------------------------- graphs


class Graph:
    """A dict graph under construction: ``add(key, task, nbytes)`` records each key
    with the bytes its value holds and the keys it reads, so that the road can report
    tasks and bytes moved (every dependency edge counted as one transfer: an upper
    bound, a worker holding both ends moves nothing)."""

    def __init__(self):
        self.layer = {}
        self.nbytes = {}
        self.moved = 0
        self.flops = 0.0

    def add(self, key, task, nbytes=0, deps=(), flops=0.0):
        self.layer[key] = task
        self.nbytes[key] = int(nbytes)
        self.flops += flops
        for d in deps:
            self.moved += self.nbytes.get(d, 0)
        return key

    def __len__(self):
        return len(self.layer)


def tile_bounds(chunks):
    """Start offsets of the blocks of one axis (``chunks`` a tuple of sizes)."""
    return tuple(int(x) for x in np.concatenate([[0], np.cumsum(chunks)[:-1]]))


def report_warning(message, category):
    """Warn at compute time: on a distributed worker through ``distributed.warn``
    (which re-raises the warning on the client), else with ``warnings.warn``."""
    if "distributed" in sys.modules:
        try:
            from distributed import get_worker, warn
            get_worker()
        except (ImportError, ValueError):
            pass
        else:
            warn(message, category)
            return
    warnings.warn(message, category, stacklevel=3)


def reissue(func, *args):
    """Run ``func(*args)`` (a function that may warn, e.g. the front door's
    ``_warn_ill_conditioned``) and re-issue its warnings through ``report_warning``."""
    with warnings.catch_warnings(record=True) as caught:
        warnings.simplefilter("always")
        func(*args)
    for w in caught:
        report_warning(str(w.message), w.category)


def after(value, *_):
    """``value``, once the tasks named by the other arguments have run (a barrier)."""
    return value


class DaskFactorization:
    """A lazy factorization of a dask array: ``solve(b, trans)`` returns a dask array.

    Subclasses implement ``_solve(b, trans)`` for a 2-D (or batch) dask ``b`` of the
    factorization's dtype and set ``kind``, ``shape``, ``dtype``, ``notes`` (tile size,
    tasks, estimated bytes moved: shown by ``explain``).  ``rcond`` is NaN (unknown
    without computing): the solve's graph estimates it and warns at compute time.
    """

    kind = "dask"
    rcond = float("nan")
    notes = ()
    lazy = True

    def __init__(self, shape, dtype, check_finite=True):
        self.shape = tuple(shape)
        self.dtype = np.dtype(dtype)
        self.check_finite = check_finite

    def solve(self, b, trans=False, *, overwrite_b=False, check_finite=None):
        """Solve ``op(A) x = b`` lazily; ``b`` numpy or dask, 1-D or 2-D (or a batch
        for the batch road).  Returns a dask array shaped like ``b``."""
        from hybridsolve._protocol import trans_code
        from hybridsolve._solve import result_dtype
        import dask.array as da
        code = trans_code(trans)
        if not isinstance(b, da.Array):
            b = np.asarray(b)
        dtype = result_dtype(self.dtype, b.dtype)
        if dtype.kind == "c" and self.dtype.kind != "c":
            raise NotImplementedError("complex b with real dask factors: solve the real "
                                      "and imaginary parts")
        one = b.ndim == 1 and len(self.shape) == 2
        x = self._solve(b[:, None] if one else b, code,
                        check_finite if check_finite is not None else self.check_finite)
        return x[:, 0] if one else x

    def _solve(self, b, trans, check_finite):
        raise NotImplementedError

    def __repr__(self):
        return (f"<{type(self).__name__} kind={self.kind!r} shape={self.shape} "
                f"dtype={self.dtype} (lazy)>")


def describe(graph, tile, tiles, what, solve_tasks=None):
    """The note ``explain`` prints for a graph (``solve_tasks``: of one solve per column
    chunk of b, default one per tile)."""
    return (f"dask: {what}; tile {tile} x {tile}, {tiles} x {tiles} tiles; factor graph: "
            f"{len(graph)} tasks, ~{graph.flops / 1e9:.3g} Gflop, "
            f"~{graph.moved / 1e6:.3g} MB moved between tasks (upper bound: every edge "
            f"counted); each solve adds "
            f"~{tiles * tiles if solve_tasks is None else solve_tasks} tasks per column "
            f"chunk of b")
