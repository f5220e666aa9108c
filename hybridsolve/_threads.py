"""The thread policy: how many threads a call of hybridsolve may use, and BLAS limits
scoped to the calling thread.

The number in force (``num_threads()``), first match wins:

1. ``hybridsolve.threads(n)`` -- a context manager, per calling thread (a
   ``contextvars.ContextVar``: each thread, and each asyncio task, has its own value);
   nestable, restores the enclosing value on exit;
2. the environment variable ``HYBRIDSOLVE_NUM_THREADS`` (read once, at import);
3. the number of cores this process may run on: ``os.sched_getaffinity(0)`` where it
   exists (it honours ``taskset``, cgroup cpusets and the like), else ``os.cpu_count()``.

That number governs the OpenMP loop of the batched kernel (``small.solve_batched``
passes it to its ``prange``) and the BLAS limits the roads scope (``blas_threads``).
It never depends on what other threads of the process are doing, nor on the load of
the machine.

BLAS libraries are found with threadpoolctl (OpenBLAS, MKL, BLIS, FlexiBLAS on every
OS).  ``blas_threads(n)`` limits them for the calling thread only, through the vendor's
thread-local setter -- where the vendor has a truly thread-local one:

* MKL: ``MKL_Set_Num_Threads_Local`` (documented as thread-local by Intel);
* OpenBLAS: ``openblas_set_num_threads_local`` exists (0.3.27+) but changes the whole
  process: in OpenBLAS <= 0.3.32 it calls the global setter
  (``driver/others/openblas_set_num_threads.c``), and measured here with scipy-openblas
  0.3.30 / 0.3.31 (pthreads): a helper thread calling it with 1 made the main thread's
  ``openblas_get_num_threads()`` return 1 (``tests/test_threads.py::
  test_thread_local_classification`` repeats that check on whatever BLAS is loaded).
  Using it would let one call's limit leak into concurrent calls of other threads, so
  for OpenBLAS ``blas_threads`` is a no-op (``scoped()`` says so) and the callers that
  need a single-threaded product keep each BLAS call below the size OpenBLAS threads
  (the Woodbury kernels' split products);
* BLIS, FlexiBLAS, anything else: no thread-local setter, no-op.
"""
from __future__ import annotations

import contextvars
import operator
import os
import threading
import warnings

__all__ = ["threads", "num_threads", "usable_cores", "blas_threads", "blas_info"]

_ENV = "HYBRIDSOLVE_NUM_THREADS"


def usable_cores() -> int:
    """Cores this process may run on (``os.sched_getaffinity`` where it exists, else
    ``os.cpu_count()``), at least 1."""
    try:
        return max(1, len(os.sched_getaffinity(0)))
    except (AttributeError, OSError):  # pragma: no cover - no affinity API (macOS, Windows)
        return max(1, os.cpu_count() or 1)


def _from_env():
    """``(n, source)`` of the process-wide default: HYBRIDSOLVE_NUM_THREADS if it is a
    positive integer (else a RuntimeWarning and the cores), else the usable cores."""
    raw = os.environ.get(_ENV)
    if raw is not None and raw.strip():
        try:
            n = int(raw)
        except ValueError:
            n = 0
        if n >= 1:
            return n, f"env {_ENV}"
        warnings.warn(f"{_ENV}={raw!r} is not a positive integer; using the "
                      f"{usable_cores()} usable cores", RuntimeWarning, stacklevel=3)
    return usable_cores(), "usable cores"


_DEFAULT, _DEFAULT_SOURCE = _from_env()
_LOCAL: contextvars.ContextVar = contextvars.ContextVar("hybridsolve_threads", default=None)


def num_threads() -> int:
    """The number of threads a hybridsolve call made now, from this thread, may use:
    the innermost ``threads(n)`` of the calling thread, else ``HYBRIDSOLVE_NUM_THREADS``,
    else the usable cores."""
    n = _LOCAL.get()
    return _DEFAULT if n is None else n


def threads_source() -> str:
    """Where ``num_threads()`` comes from now: 'threads(n)', 'env
    HYBRIDSOLVE_NUM_THREADS' or 'usable cores'."""
    return _DEFAULT_SOURCE if _LOCAL.get() is None else "threads(n)"


class threads:
    """Context manager: hybridsolve calls made by the calling thread inside the block use
    at most ``n`` threads (the OpenMP batch loop, and BLAS where the BLAS can be limited
    per thread, see ``hybridsolve._threads``).

    Parameters
    ----------
    n : int or None
        A positive number of threads; None restores the process default
        (``HYBRIDSOLVE_NUM_THREADS``, else the usable cores) inside the block.

    Per calling thread (and per asyncio task): other threads are not affected.  Nestable;
    on exit the enclosing value is restored.

    Examples
    --------
    >>> import numpy as np, hybridsolve
    >>> a = np.tile(np.eye(3), (1000, 1, 1)); b = np.ones((1000, 3, 1))
    >>> with hybridsolve.threads(1):
    ...     x = hybridsolve.solve(a, b)
    """

    __slots__ = ("n", "_token")

    def __init__(self, n: int | None):
        if n is not None:
            if isinstance(n, bool):
                raise TypeError(f"threads(n): n must be an int or None, got {n!r}")
            n = operator.index(n)
            if n < 1:
                raise ValueError(f"threads(n): n must be >= 1, got {n}")
        self.n = n
        self._token = None

    def __enter__(self):
        if self._token is not None:
            raise RuntimeError("threads(n) context entered twice")
        self._token = _LOCAL.set(self.n)
        return self

    def __exit__(self, *exc):
        _LOCAL.reset(self._token)
        self._token = None
        return False

    def __repr__(self):
        return f"threads({self.n!r})"


# ---------------------------------------------------------------- BLAS, per thread

_lock = threading.Lock()
_SETTERS = None          # tuple of (name, filepath, ctypes setter), found once
_INFO = None             # threadpoolctl's info() of the BLAS libraries, with our verdict


def _find_setters():
    """The thread-local BLAS thread setters of the libraries threadpoolctl finds loaded
    now (see the module doc for which vendors have one), found once per process."""
    global _SETTERS, _INFO
    if _SETTERS is not None:
        return _SETTERS
    with _lock:
        if _SETTERS is not None:
            return _SETTERS
        found, info = [], []
        try:
            from threadpoolctl import ThreadpoolController
            controllers = ThreadpoolController().lib_controllers
        except Exception as exc:  # pragma: no cover - threadpoolctl missing or broken
            controllers = []
            info.append({"error": f"threadpoolctl: {exc}"})
        for lc in controllers:
            if getattr(lc, "user_api", None) != "blas":
                continue
            fn = _local_setter(lc)
            entry = dict(lc.info())
            entry["thread_local_setter"] = getattr(fn, "__name__", None)
            info.append(entry)
            if fn is not None:
                found.append((lc.internal_api, lc.filepath, fn))
        _INFO = info
        _SETTERS = tuple(found)
    return _SETTERS


def _local_setter(lc):
    """The ctypes function that sets the BLAS threads of the calling thread only, from
    threadpoolctl's controller ``lc`` (its ``dynlib`` handle), or None."""
    import ctypes
    if lc.internal_api != "mkl":
        return None    # OpenBLAS's *_local setter is process-wide (module doc); BLIS: none
    for name in ("MKL_Set_Num_Threads_Local", "mkl_set_num_threads_local"):
        fn = getattr(lc.dynlib, name, None)
        if fn is not None:
            fn.restype = ctypes.c_int
            fn.argtypes = [ctypes.c_int]
            return fn
    return None


def blas_info():
    """threadpoolctl's description of every BLAS library loaded, each with
    ``thread_local_setter``: the name of the setter ``blas_threads`` uses, or None."""
    _find_setters()
    return [dict(e) for e in _INFO]


def scoped() -> bool:
    """True when ``blas_threads`` really limits some BLAS for the calling thread."""
    return bool(_find_setters())


_GUARD = threading.local()   # .limits: the limits set by this thread's blas_threads blocks


class blas_threads:
    """Context manager: the BLAS libraries with a thread-local setter (MKL) use at most
    ``n`` threads (default: ``num_threads()``) for calls from the calling thread inside
    the block; the previous per-thread setting is restored on exit.  A no-op for the
    others (OpenBLAS, BLIS: see the module doc), never a process-wide change."""

    __slots__ = ("_n", "_prev")

    def __init__(self, n: int | None = None):
        self._n = n
        self._prev = None

    def __enter__(self):
        setters = _find_setters()
        if setters:
            n = num_threads() if self._n is None else max(1, int(self._n))
            # MKL_Set_Num_Threads_Local returns the previous per-thread value (0: none)
            self._prev = [fn(n) for _, _, fn in setters]
            limits = getattr(_GUARD, "limits", None)
            if limits is None:
                limits = _GUARD.limits = []
            limits.append(n)
        return self

    def __exit__(self, *exc):
        if self._prev is not None:
            _GUARD.limits.pop()
            for (_, _, fn), prev in zip(_find_setters(), self._prev):
                fn(prev)
            self._prev = None
        return False


def blas_limit() -> int | None:
    """The BLAS thread limit the innermost ``blas_threads`` block of the calling thread
    set, or None (no block, or no BLAS with a thread-local setter)."""
    limits = getattr(_GUARD, "limits", None)
    return limits[-1] if limits else None
