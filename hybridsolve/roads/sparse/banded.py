"""sparse_banded: a narrow band (band storage small) by LAPACK ?gbtrf / ?gbtrs / ?gbcon."""
from __future__ import annotations

import numpy as np
from scipy.linalg import get_lapack_funcs

from hybridsolve._tuning import value as _tuned
from hybridsolve.plugin import Factorization, singular_error
from hybridsolve.roads.sparse._common import SparseRoad, norm1_of

__all__ = ["SparseBandedSolver", "SparseBandedFactorization"]

#: band storage may be at most this many times nnz (plus 4 n) for the banded road
_BAND_STORAGE_FACTOR = _tuned("sparse_band_storage_factor")


class SparseBandedFactorization(Factorization):
    kind = "sparse_banded"

    def __init__(self, lu, ipiv, kl, ku, n, dtype, gbtrs):
        super().__init__((n, n), dtype)
        self.lu, self.ipiv, self.kl, self.ku, self._gbtrs = lu, ipiv, kl, ku, gbtrs

    def _solve_inplace(self, b, trans):
        x, info = self._gbtrs(self.lu, self.kl, self.ku, b, self.ipiv, trans=trans,
                              overwrite_b=1)
        if info != 0:
            raise ValueError(f"?gbtrs: illegal argument {-info}")
        if x is not b:
            b[...] = x

    def __getstate__(self):
        state = dict(self.__dict__)     # the f2py routine cannot be pickled
        del state["_gbtrs"]
        return state

    def __setstate__(self, state):
        super().__setstate__(state)
        (self._gbtrs,) = get_lapack_funcs(("gbtrs",), (self.lu,))


def _band_storage(work, kl, ku):
    n = work.shape[0]
    ab = np.zeros((2 * kl + ku + 1, n), dtype=work.dtype, order="F")
    counts = np.diff(work.indptr)
    lines = np.repeat(np.arange(n), counts)
    if work.format == "csr":
        rows, cols = lines, work.indices
    else:
        rows, cols = work.indices, lines
    ab[kl + ku + rows - cols, cols] = work.data
    return ab


class SparseBandedSolver(SparseRoad):
    name = "sparse_banded"

    def sparse_cost(self, s):
        kl, ku, n = s.lower_bandwidth, s.upper_bandwidth, s.n
        storage = (2 * kl + ku + 1) * n
        if storage > _BAND_STORAGE_FACTOR * (s.nnz or 0) + 4 * n:
            return None, f"band storage {storage} too large for nnz={s.nnz}"
        # LAPACK band kernels: level-2 speed, a few times slower than GEMM
        return 4.0 * 2.0 * n * (kl + 1) * (kl + ku + 1) + 2e4

    def factorize(self, a, s):
        self._check(a)
        kl, ku, n = s.lower_bandwidth, s.upper_bandwidth, s.n
        ab = _band_storage(a, kl, ku)
        gbtrf, gbtrs, gbcon = get_lapack_funcs(("gbtrf", "gbtrs", "gbcon"), (ab,))
        lu, ipiv, info = gbtrf(ab, kl, ku, overwrite_ab=1)
        if info > 0:
            raise singular_error(f"?gbtrf: U({info},{info}) is exactly zero")
        if info < 0:
            raise ValueError(f"?gbtrf: illegal argument {-info}")
        f = SparseBandedFactorization(lu, ipiv, kl, ku, n, a.dtype, gbtrs)
        rc, info = gbcon(kl, ku, lu, ipiv, norm1_of(a, s))
        f.rcond = float(rc)
        return f
