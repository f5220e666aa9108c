"""Fake third-party solver plugins for tests/test_registry.py."""
import numpy as np

from hybridsolve import Factorization, NotApplicable, Solver

LOADS = {"count": 0}


class _NumpyInverseFreeLU(Factorization):
    kind = "fake-dense"

    def __init__(self, a):
        super().__init__(a.shape, a.dtype)
        self._a = np.array(a)
        self.rcond = 1.0 / np.linalg.cond(self._a, 1)

    def _solve_inplace(self, b, trans):
        a = self._a if trans == 0 else (self._a.T if trans == 1 else self._a.conj().T)
        b[...] = np.linalg.solve(a, b)


class CheapSolver(Solver):
    """Prices every dense matrix at 1 flop: it wins every dispatch while registered."""

    name = "fake-cheap"

    def __init__(self):
        LOADS["count"] += 1
        self.calls = 0

    def cost(self, structure):
        return 1.0 if structure.format == "dense" else None

    def factorize(self, a, structure):
        self.calls += 1
        return _NumpyInverseFreeLU(a)


class PoliteDecliningSolver(Solver):
    name = "fake-polite"

    def cost(self, structure):
        return 0.25

    def factorize(self, a, structure):
        raise NotApplicable("this road never applies")


class RaisesWhilePricing(Solver):
    name = "fake-raises"

    def cost(self, structure):
        raise RuntimeError("pricing exploded")

    def factorize(self, a, structure):  # pragma: no cover
        raise AssertionError("never called")


class NotASolver:
    pass


def broken_at_load():
    raise ImportError("this plugin cannot load")


class CheapKernelSolver(CheapSolver):
    """CheapSolver whose fixed cost per call is declared as nothing (a kernel as cheap
    as the small road's): it then beats every built-in at any order."""

    name = "fake-cheap-kernel"
    call_overhead = 0.0


class SparseOnlySolver(Solver):
    """Declares that it takes sparse input only: dense calls never price it."""

    name = "fake-sparse-only"
    formats = ("sparse",)

    def __init__(self):
        self.priced = 0

    def cost(self, structure):
        self.priced += 1
        return 1.0

    def factorize(self, a, structure):  # pragma: no cover
        raise AssertionError("never called for dense input")


class RangedSolver(CheapKernelSolver):
    """Claims dense matrices of order 10..20 only."""

    name = "fake-ranged"
    formats = ("dense",)
    min_n = 10
    max_n = 20


class BrokenFactorize(Solver):
    """Wins the pricing, then scribbles over its work array and raises."""

    name = "fake-broken-factorize"
    call_overhead = 0.0

    def cost(self, structure):
        return 1.0 if structure.format == "dense" else None

    def factorize(self, a, structure):
        if isinstance(a, np.ndarray) and a.flags.writeable:
            a[...] = 7.0
        raise RuntimeError("factorize exploded")


class _BareFactorization:
    """The protocol's minimum: solve(b, trans=False), nothing else (no rcond, kind,
    dtype or shape)."""

    def __init__(self, a):
        self._a = np.array(a)

    def solve(self, b, trans=False):
        a = self._a.T if trans else self._a
        return np.linalg.solve(a, b)


class DuckSolver:
    """Not a Solver subclass: name, cost and factorize only."""

    name = "fake-duck"
    call_overhead = 0.0

    def cost(self, structure):
        return 1.0 if structure.format == "dense" else None

    def factorize(self, a, structure):
        return _BareFactorization(a)


class _WrongShape(_BareFactorization):
    def solve(self, b, trans=False):
        return np.zeros(len(b) + 1)


class WrongShapeSolver(DuckSolver):
    name = "fake-wrong-shape"

    def factorize(self, a, structure):
        return _WrongShape(a)


class _LoopBatch:
    def __init__(self, a):
        self._a = np.array(a)
        self.rcond = None

    def solve(self, b, trans=False):
        return np.linalg.solve(self._a, b)


class BatchSolver(Solver):
    """Takes stacks (format 'batch') and prices them below the built-in batched road."""

    name = "fake-batch"
    formats = ("batch",)
    call_overhead = 0.0

    def __init__(self):
        self.calls = 0

    def cost(self, structure):
        return 1.0

    def factorize(self, a, structure):
        self.calls += 1
        return _LoopBatch(a)


class BorrowingSolver(Solver):
    """Borrows every dense A in its preview (recording what it was handed), wins the
    pricing, then declines in factorize: the next road must get a copy of its own."""

    name = "fake-borrowing"
    formats = ("dense",)
    call_overhead = 0.0

    def __init__(self):
        self.previewed = []
        self.handed = []

    def preview(self, a, request):
        self.previewed.append(a)
        self.request = request
        return {"borrow": True}

    def cost(self, structure):
        self.priced_with = structure.extra.get("previews", {}).get(self.name)
        return 1.0

    def factorize(self, a, structure):
        self.handed.append(a)
        raise NotApplicable("fake-borrowing declines after borrowing")


class RaisingPreview(BorrowingSolver):
    name = "fake-raising-preview"

    def preview(self, a, request):
        raise RuntimeError("preview exploded")

    def cost(self, structure):
        return None
