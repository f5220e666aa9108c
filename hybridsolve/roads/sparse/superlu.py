"""SuperLU (``scipy.sparse.linalg.splu``): the general sparse road ``sparse`` and the
symmetric-mode fallback of ``sparse_cholesky``."""
from __future__ import annotations

import warnings

import numpy as np
import scipy.sparse as sp
from numpy.linalg import LinAlgError
from scipy.sparse.linalg import splu

from hybridsolve.plugin import Factorization, singular_error
from hybridsolve.roads.sparse._common import (SparseRoad, as_csc_of, check_finite_result,
                                              lu_flops, norm1_of, set_rcond, sparse_cost)

__all__ = ["SparseLUSolver", "SuperLUFactorization", "superlu_factor"]

#: diagonal pivot threshold of SuperLU's SymmetricMode on the general (LU) road
_LU_SYM_PIVOT_THRESH = 0.1


class SuperLUFactorization(Factorization):
    """Keeps scipy's SuperLU object (L, U, permutations) for any number of b."""

    def __init__(self, lu, transposed, shape, dtype, kind, notes=()):
        super().__init__(shape, dtype)
        self.lu = lu
        self.transposed = transposed   # lu factors A^T (A came as CSR)
        self.kind = kind
        self.notes = tuple(notes)

    def _solve_inplace(self, b, trans):
        lu = self.lu
        if not self.transposed:
            x = lu.solve(b, "NTH"[trans])
        elif trans == 0:
            x = lu.solve(b, "T")
        elif trans == 1:
            x = lu.solve(b, "N")
        elif self.dtype.kind == "c":      # A^H = conj(A^T)
            x = np.conj(lu.solve(np.conj(b), "N"))
        else:
            x = lu.solve(b, "N")
        check_finite_result(x)
        b[...] = x

    def __getstate__(self):
        # scipy's SuperLU object cannot be pickled: keep its factors and permutations
        state = dict(self.__dict__)
        lu = state.pop("lu")
        state["_factors"] = (lu.L.tocsr(), lu.U.tocsr(), lu.perm_r, lu.perm_c)
        return state

    def __setstate__(self, state):
        factors = state.pop("_factors")
        super().__setstate__(state)
        self.lu = _SuperLUFactors(*factors)

    def symmetric_pivots(self):
        """SymmetricMode with threshold 0 pivots off the diagonal only at an exactly
        zero diagonal: then perm_r differs from perm_c (not positive definite)."""
        return np.array_equal(self.lu.perm_r, self.lu.perm_c)


class _SuperLUFactors:
    """SuperLU's ``solve`` from its factors (Pr A Pc = L U), for an unpickled
    SuperLUFactorization: triangular solves through scipy.sparse.linalg."""

    def __init__(self, L, U, perm_r, perm_c):
        self.L, self.U, self.perm_r, self.perm_c = L, U, perm_r, perm_c

    def solve(self, b, trans="N"):
        from scipy.sparse.linalg import spsolve_triangular as tri
        L, U = self.L, self.U
        y = np.empty_like(b)
        if trans == "N":                 # x = Pc U^-1 L^-1 Pr b
            y[self.perm_r] = b
            w = tri(U, tri(L, y, lower=True, unit_diagonal=True), lower=False)
            return w[self.perm_c]
        op = (lambda m: m.T.tocsr()) if trans == "T" else (lambda m: m.conj().T.tocsr())
        y[self.perm_c] = b               # x = Pr^T op(L)^-1 op(U)^-1 Pc^T b
        w = tri(op(L), tri(op(U), y, lower=True), lower=False, unit_diagonal=True)
        return w[self.perm_r]


def superlu_factor(work, *, symmetric_mode, notes, pivot_thresh=0.0):
    """splu of A (work CSR or CSC). Raises singular_error when SuperLU reports an
    exactly singular factor.  ``symmetric_mode``: MMD on A^T+A, SymmetricMode, the
    given diagonal pivot threshold; else COLAMD with partial pivoting."""
    csc, transposed = as_csc_of(work)
    if symmetric_mode:
        kw = dict(permc_spec="MMD_AT_PLUS_A", diag_pivot_thresh=pivot_thresh,
                  options=dict(SymmetricMode=True))
        kind = ("sparse_cholesky(superlu)" if pivot_thresh == 0.0
                else "sparse_lu(superlu, symmetric pattern)")
    else:
        kw = dict(permc_spec="COLAMD")
        kind = "sparse_lu(superlu)"
    try:
        with warnings.catch_warnings():
            warnings.simplefilter("ignore", sp.SparseEfficiencyWarning)
            lu = splu(csc, **kw)
    except RuntimeError as exc:
        if "singular" in str(exc).lower():
            raise singular_error(f"SuperLU: {exc}") from None
        raise LinAlgError(f"SuperLU failed: {exc}") from None
    return SuperLUFactorization(lu, transposed, work.shape, work.dtype, kind, notes)


class SparseLUSolver(SparseRoad):
    """SuperLU.  A structurally symmetric A gets the symmetric-pattern ordering (MMD on
    A^T+A, SymmetricMode) with threshold partial pivoting (0.1): much less fill than
    COLAMD on PDE-like matrices; otherwise (or if that fails) COLAMD."""

    name = "sparse"

    def sparse_cost(self, s):
        return sparse_cost(lu_flops(s))

    def factorize(self, a, s):
        self._check(a)
        notes = []
        if s.extra.get("pattern_symmetric"):
            try:
                return set_rcond(superlu_factor(a, symmetric_mode=True, notes=notes,
                                                pivot_thresh=_LU_SYM_PIVOT_THRESH),
                                 norm1_of(a, s))
            except LinAlgError as exc:
                notes.append(f"SuperLU SymmetricMode failed ({exc}): refactored with "
                             "COLAMD")
        return set_rcond(superlu_factor(a, symmetric_mode=False, notes=notes),
                         norm1_of(a, s))
