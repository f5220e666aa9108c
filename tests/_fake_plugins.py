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
