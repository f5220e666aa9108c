"""sparse_cholesky: symmetric (Hermitian) with a real positive diagonal, by the best
backend importable here (CHOLMOD, PARDISO, SuperLU's symmetric mode), falling back to
SuperLU with COLAMD and partial pivoting when the matrix is not positive definite."""
from __future__ import annotations

from numpy.linalg import LinAlgError

from hybridsolve.plugin import NotApplicable
from hybridsolve.roads.sparse import cholmod, pardiso
from hybridsolve.roads.sparse._common import (SparseRoad, importable, lu_flops, norm1_of,
                                              set_rcond, sparse_cost, spd_candidate)
from hybridsolve.roads.sparse.superlu import superlu_factor

__all__ = ["SparseCholeskySolver", "cholesky_backend"]


def cholesky_backend():
    """The best sparse Cholesky backend importable here: 'cholmod', 'pardiso' or
    'superlu' (always available)."""
    for backend, module in (("cholmod", "sksparse.cholmod"), ("pardiso", "pypardiso")):
        if importable(module):
            return backend
    return "superlu"


class SparseCholeskySolver(SparseRoad):
    """Symmetric (Hermitian) with a real positive diagonal; the backend is chosen at
    factorize time (``backend`` forces one: 'cholmod', 'pardiso' or 'superlu')."""

    name = "sparse_cholesky"

    def __init__(self, backend=None):
        self.backend = backend

    def sparse_cost(self, s):
        if not spd_candidate(s):
            return None, "not symmetric/Hermitian with a real positive diagonal"
        return sparse_cost(0.5 * lu_flops(s))

    def factorize(self, a, s):
        self._check(a)
        backend = self.backend or cholesky_backend()
        notes = []
        norm1 = norm1_of(a, s)
        factor = {"cholmod": cholmod.cholmod_factor,
                  "pardiso": pardiso.pardiso_factor if a.dtype.kind == "f" else None
                  }.get(backend)
        if factor is not None:
            try:
                return set_rcond(factor(a), norm1)
            except NotApplicable as exc:
                notes.append(f"{exc}; fell back to SuperLU")
        try:
            f = superlu_factor(a, symmetric_mode=True, notes=notes)
            if f.symmetric_pivots():
                return set_rcond(f, norm1)
            notes.append("SuperLU SymmetricMode pivoted off the diagonal (not positive "
                         "definite): refactored with COLAMD and partial pivoting")
        except LinAlgError as exc:
            notes.append(f"SuperLU SymmetricMode failed ({exc}): refactored with COLAMD "
                         "and partial pivoting")
        return set_rcond(superlu_factor(a, symmetric_mode=False, notes=notes), norm1)
