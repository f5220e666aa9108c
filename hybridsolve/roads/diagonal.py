"""The diagonal road: O(n) division by the diagonal of A."""
from __future__ import annotations

import numpy as np

from hybridsolve._protocol import Factorization, singular_error
from hybridsolve.roads._dense import BandStorageRoad

__all__ = ["DiagonalSolver", "DiagonalFactorization"]


class DiagonalFactorization(Factorization):
    """Keeps the diagonal of A (the same for either memory layout of the work array)."""

    kind = "diagonal"

    def __init__(self, d):
        n = d.shape[0]
        super().__init__((n, n), d.dtype)
        self.d = d
        if n:
            mag = np.abs(d)
            lo = mag.min()
            if lo == 0:
                i = int(np.argmin(mag))
                raise singular_error(f"zero diagonal entry at index {i}")
            hi = mag.max()
            # exact reciprocal 1-norm condition number of a diagonal matrix
            self.rcond = float(lo / hi)
        else:
            self.rcond = 1.0
        self._dconj = None

    def _solve_inplace(self, b, trans):
        if trans == 2 and self.dtype.kind == "c":
            if self._dconj is None:
                self._dconj = np.conj(self.d)
            d = self._dconj
        else:
            d = self.d
        np.divide(b, d[:, None], out=b)


class DiagonalSolver(BandStorageRoad):
    """A has nothing off the diagonal (or ``assume_a='diagonal'``: only the diagonal
    is read)."""
    name = "diagonal"
    hints = (None, "gen", "diagonal")

    def cost(self, structure):
        lb, ub = structure.lower_bandwidth, structure.upper_bandwidth
        if structure.assume_a is None and lb is not None and (lb or ub):
            # the common rejection first: this is priced on every dense solve
            return None, f"not diagonal (bandwidths {lb}, {ub})"
        n = structure.n
        scale = 4 if structure.is_complex else 1
        if structure.assume_a == "diagonal":
            return float(scale * n)
        if structure.assume_a is not None and structure.assume_a not in ("gen", "general"):
            return None, f"assume_a={structure.assume_a!r}"
        lb, ub = structure.lower_bandwidth, structure.upper_bandwidth
        if lb is None or ub is None:
            return None, "bandwidth unknown"
        if lb == 0 and ub == 0:
            return float(scale * n)
        return None, f"not diagonal (bandwidths {lb}, {ub})"

    def factorize(self, a, structure):
        d = np.array(np.diagonal(a), copy=True)
        return DiagonalFactorization(d)
