"""sparse_diagonal: A diagonal, x = b / d in O(n)."""
from __future__ import annotations

import numpy as np

from hybridsolve.plugin import Factorization, singular_error
from hybridsolve.roads.sparse._common import SparseRoad

__all__ = ["SparseDiagonalSolver", "SparseDiagonalFactorization"]


class SparseDiagonalFactorization(Factorization):
    kind = "sparse_diagonal"

    def __init__(self, d):
        super().__init__((d.size, d.size), d.dtype)
        self.d = d
        ad = np.abs(d)
        self.rcond = float(ad.min() / ad.max()) if d.size else 1.0

    def _solve_inplace(self, b, trans):
        d = np.conj(self.d) if trans == 2 else self.d
        b /= d[:, None]


class SparseDiagonalSolver(SparseRoad):
    name = "sparse_diagonal"

    def sparse_cost(self, s):
        if s.lower_bandwidth != 0 or s.upper_bandwidth != 0:
            return None, "not diagonal"
        return float(s.n)

    def factorize(self, a, s):
        self._check(a)
        d = np.asarray(a.diagonal()).copy()
        if d.size and not np.all(d != 0):
            raise singular_error(f"diagonal entry {int(np.argmin(np.abs(d) != 0))} is zero")
        return SparseDiagonalFactorization(d)
