"""CHOLMOD (scikit-sparse, the ``cholmod`` extra): supernodal sparse Cholesky."""
from __future__ import annotations

import numpy as np

from hybridsolve.plugin import Factorization, NotApplicable
from hybridsolve.roads.sparse._common import as_csc_of, check_finite_result

__all__ = ["CholmodFactorization", "cholmod_factor"]


class CholmodFactorization(Factorization):
    kind = "sparse_cholesky(cholmod)"

    def __init__(self, factor, csc, shape, dtype, transposed):
        super().__init__(shape, dtype)
        self.factor = factor
        self.csc = csc                 # what was factored (kept for pickling)
        self.transposed = transposed   # the factor is of A^T (= conj(A) for Hermitian A)

    def _solve_inplace(self, b, trans):
        # A Hermitian: A^H = A; A^T = conj(A); the factor is of A or of conj(A)
        conj_needed = (self.dtype.kind == "c") and ((trans == 1) != self.transposed)
        if conj_needed:
            x = np.conj(self.factor(np.conj(b)))
        else:
            x = self.factor(b)
        check_finite_result(x)
        b[...] = x

    def __getstate__(self):
        # CHOLMOD's factor is an extension object: keep the matrix, factor it on load
        state = dict(self.__dict__)
        del state["factor"]
        return state

    def __setstate__(self, state):
        from sksparse.cholmod import cholesky
        super().__setstate__(state)
        self.factor = cholesky(self.csc, mode="supernodal")


def cholmod_factor(work):
    """CHOLMOD's LL^T of A; NotApplicable on a non-positive pivot."""
    from sksparse.cholmod import cholesky, CholmodError
    csc, transposed = as_csc_of(work)
    try:
        # supernodal = LL^T: fails on a non-positive pivot (the "auto" simplicial mode
        # would compute an LDL^T of an indefinite matrix without pivoting)
        f = cholesky(csc, mode="supernodal")
    except CholmodError as exc:
        raise NotApplicable(f"CHOLMOD: {exc}") from None
    return CholmodFactorization(f, csc, work.shape, work.dtype, transposed)
