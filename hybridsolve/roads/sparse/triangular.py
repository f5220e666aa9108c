"""sparse_triangular: substitution straight over the canonical CSR/CSC arrays, O(nnz)."""
from __future__ import annotations

import numpy as np

from hybridsolve._kernels import sparse_inspect as _k
from hybridsolve.plugin import Factorization, singular_error
from hybridsolve.roads.sparse._common import (SPARSE_WEIGHT, SparseRoad, norm1_of,
                                              set_rcond)

__all__ = ["SparseTriangularSolver", "SparseTriangularFactorization"]


class SparseTriangularFactorization(Factorization):
    """Substitution straight over the canonical CSR/CSC arrays (no factorization)."""

    kind = "sparse_triangular"

    def __init__(self, work, lower):
        super().__init__(work.shape, work.dtype)
        self.work = work
        self.lower = lower        # A is lower triangular

    def _solve_inplace(self, b, trans):
        w = self.work
        by_rows = (w.format == "csr") != (trans != 0)
        lower = self.lower != (trans != 0)
        info = _k.tri_solve_compressed(w.indptr, w.indices, w.data, b, lower, by_rows,
                                       trans == 2)
        if info > 0:
            raise singular_error(f"diagonal entry {info - 1} is zero")


class SparseTriangularSolver(SparseRoad):
    name = "sparse_triangular"

    def sparse_cost(self, s):
        if s.lower_bandwidth != 0 and s.upper_bandwidth != 0:
            return None, "not triangular"
        # substitution + rcond estimate (a few solves): memory-bound, weight like sparse
        return SPARSE_WEIGHT * 10.0 * (s.nnz or 1) + 1e4

    def factorize(self, a, s):
        self._check(a)
        d = a.diagonal()
        if d.size and not np.all(d != 0):
            raise singular_error(f"diagonal entry {int(np.argmin(d != 0))} is zero")
        f = SparseTriangularFactorization(a, s.upper_bandwidth == 0)
        return set_rcond(f, norm1_of(a, s))
