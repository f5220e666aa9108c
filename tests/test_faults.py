"""Faults: a workspace that cannot be allocated, an interrupt in a long batch, a plugin
that returns the wrong shape.  Each surfaces as what it is (MemoryError,
KeyboardInterrupt, a ValueError naming the plugin), never as a wrong answer, a warning
or a swallowed error; the caller's arrays stay intact and nothing is left behind."""
import gc
import tracemalloc
import warnings

import numpy as np
import pytest
import scipy.linalg

from _helpers import assert_interrupt_stops

import hybridsolve
from hybridsolve import Factorization, Solver, solve
from hybridsolve.roads import cholesky as cholesky_road
from hybridsolve.roads import lu as lu_road


def _spd(rng, n):
    x = rng.standard_normal((n, n))
    s = x @ x.T + n * np.eye(n)
    return (s + s.T) / 2


def test_workspace_too_big_is_memoryerror():
    # a broadcast view of one row: 2**21 x 2**21 doubles (32 TiB) cost no memory to
    # pass, but the working copy cannot be allocated
    row = np.arange(1.0, 2**21 + 1)
    a = np.broadcast_to(row, (2**21, 2**21))
    b = np.ones(2**21)
    with pytest.raises(MemoryError):
        solve(a, b)
    np.testing.assert_array_equal(row, np.arange(1.0, 2**21 + 1))
    assert (b == 1).all()


@pytest.mark.parametrize("target, kernel, make", [
    (lu_road, "_factor_array", lambda rng, n: rng.standard_normal((n, n))),
    (cholesky_road._k, "factor_array", _spd),
])
def test_kernel_memoryerror_surfaces_intact_and_freed(monkeypatch, target, kernel, make):
    """A kernel's own allocation failure (the MemoryError its Python face raises when
    malloc returns NULL), simulated on the road's kernel: the MemoryError reaches the
    caller (no fallback road, no warning), a and b are unchanged, and the working copy
    made for the kernel is freed (traced memory back to where it was)."""
    rng = np.random.default_rng(0)
    n = 300
    a = make(rng, n)
    b = rng.standard_normal((n, 2))
    a0, b0 = a.copy(), b.copy()

    assert hasattr(target, kernel)      # the road's kernel face this test replaces

    def no_memory(*args, **kw):
        raise MemoryError(f"{kernel}: could not allocate a workspace (simulated)")

    solve(a, b)                                 # warm (caches, lazy imports), then trace
    monkeypatch.setattr(target, kernel, no_memory)
    gc.collect()
    tracemalloc.start()
    try:
        base = tracemalloc.get_traced_memory()[0]
        for _ in range(3):
            with pytest.raises(MemoryError, match="simulated"):
                with warnings.catch_warnings():
                    warnings.simplefilter("error")       # no warning instead of the error
                    solve(a, b)
        gc.collect()
        left = tracemalloc.get_traced_memory()[0] - base
    finally:
        tracemalloc.stop()
    assert left < a.nbytes // 10, f"{left} bytes still held after the MemoryError"
    np.testing.assert_array_equal(a, a0)
    np.testing.assert_array_equal(b, b0)
    monkeypatch.undo()
    np.testing.assert_allclose(solve(a, b), scipy.linalg.solve(a, b), rtol=1e-8)


def test_keyboardinterrupt_between_slices_is_not_swallowed(monkeypatch):
    """An interrupt raised while the per-slice loop of a hinted batch runs: the
    KeyboardInterrupt propagates as is (not turned into a LinAlgError or a warning),
    the inputs are intact and the next call works."""
    rng = np.random.default_rng(1)
    a = rng.standard_normal((6, 5, 5)) + 5 * np.eye(5)
    b = rng.standard_normal((6, 5, 1))
    a0, b0 = a.copy(), b.copy()
    calls = {"n": 0}
    real = lu_road.LUSolver.factorize

    def interrupted(self, m, structure=None):
        calls["n"] += 1
        if calls["n"] == 3:
            raise KeyboardInterrupt
        return real(self, m, structure)

    monkeypatch.setattr(lu_road.LUSolver, "factorize", interrupted)
    with pytest.raises(KeyboardInterrupt):
        solve(a, b, assume_a="gen")
    assert calls["n"] == 3                     # stopped at the slice that was interrupted
    np.testing.assert_array_equal(a, a0)
    np.testing.assert_array_equal(b, b0)
    monkeypatch.undo()
    np.testing.assert_allclose(solve(a, b, assume_a="gen"),
                               scipy.linalg.solve(a, b, assume_a="gen"), rtol=1e-10)


def test_real_interrupt_stops_a_long_batch_between_slices():
    """A real SIGINT-style interrupt (``_thread.interrupt_main``) from another thread
    while the main thread runs a long hinted batch: KeyboardInterrupt is raised between
    slices, long before the batch would have finished."""
    rng = np.random.default_rng(2)
    n, count = 24, 4000
    a = rng.standard_normal((count, n, n)) + n * np.eye(n)
    b = rng.standard_normal((n,))
    assert_interrupt_stops(lambda: solve(a, b, assume_a="gen"),
                           lambda: solve(a[:200], b, assume_a="gen"), 200 / count, 0.05)


class _WrongShape(Factorization):
    kind = "wrong-shape"

    def __init__(self, a):
        super().__init__(a.shape, a.dtype)
        self.rcond = 1.0

    def solve(self, b, trans=False, **kw):
        return np.zeros(np.shape(b)[0] + 1)


class _WrongShapeSolver(Solver):
    name = "faults_wrong_shape"
    formats = ("dense",)
    call_overhead = 0.0        # declared as cheap as the small road: it wins every call

    def cost(self, structure):
        return 0.0

    def factorize(self, a, structure):
        return _WrongShape(a)


def test_plugin_returning_wrong_shape_is_a_valueerror_naming_it():
    hybridsolve.register(_WrongShapeSolver())
    try:
        cases = [(np.eye(3), np.ones(3)), (np.eye(40) * 2, np.ones((40, 2))),
                 (np.eye(40) * 2, np.ones((3, 40, 2))),              # one A, batched b
                 (np.stack([np.eye(4)] * 3), np.ones((3, 4, 1)))]    # slice by slice
        for a, b in cases:
            with pytest.raises(ValueError, match="faults_wrong_shape"):
                solve(a, b, method=_WrongShapeSolver.name)
    finally:
        hybridsolve.unregister(_WrongShapeSolver.name)
    np.testing.assert_allclose(solve(np.eye(3) * 2, np.ones(3)), 0.5)
