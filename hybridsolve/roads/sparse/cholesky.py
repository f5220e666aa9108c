"""sparse_cholesky: symmetric (Hermitian) with a real positive diagonal, by the best
backend importable here (CHOLMOD, PARDISO, SuperLU's symmetric mode), falling back to
SuperLU with COLAMD and partial pivoting when the matrix is not positive definite."""
from __future__ import annotations

import numpy as np
from numpy.linalg import LinAlgError

from hybridsolve._tuning import value as _tuned
from hybridsolve.plugin import NotApplicable
from hybridsolve.roads.sparse import cholmod, pardiso
from hybridsolve.roads.sparse._common import (SparseRoad, importable, lu_flops, norm1_of,
                                              set_rcond, sparse_cost, spd_candidate)
from hybridsolve.roads.sparse.superlu import superlu_factor

__all__ = ["SparseCholeskySolver", "cholesky_backend"]


#: (backend, module, tuning constant: the fewest stored nonzeros it is taken from)
_BACKENDS = (("cholmod", "sksparse.cholmod", "sparse_cholmod_min_nnz"),
             ("pardiso", "pypardiso", "sparse_pardiso_min_nnz"))
#: PARDISO before CHOLMOD: (tuning constant of the fewest stored nonzeros per row, of
#: the largest bandwidth / sqrt(n) of narrower rows, of the fewest stored nonzeros)
_PARDISO_FIRST = ("sparse_pardiso_first_row_nnz", "sparse_pardiso_first_band_ratio",
                  "sparse_pardiso_first_min_nnz")


def _pardiso_first(nnz, n, bandwidth):
    row_nnz, band_ratio, min_nnz = (_tuned(k) for k in _PARDISO_FIRST)
    if not n or nnz < min_nnz:
        return False
    return (nnz >= row_nnz * n
            or (bandwidth is not None and bandwidth <= band_ratio * np.sqrt(n)))


def cholesky_backend(nnz=None, n=None, dtype=None, bandwidth=None):
    """The sparse Cholesky backend for an ``n`` x ``n`` matrix with ``nnz`` stored
    nonzeros and ``bandwidth`` (its largest ``|i - j|``, None: unknown): the first of
    'cholmod', 'pardiso' importable here whose size threshold (``hybridsolve._tuning``
    ``sparse_cholmod_min_nnz`` / ``sparse_pardiso_min_nnz``, measured by ``hybridsolve
    tune``) ``nnz`` reaches, else 'superlu' (always available).  PARDISO comes first,
    from ``sparse_pardiso_first_min_nnz`` stored nonzeros and for a real ``dtype``
    (PARDISO's mtype 2: pypardiso takes float64 only), where it pays: rows of at least
    ``sparse_pardiso_first_row_nnz`` stored nonzeros on average (3-D stencils and
    meshes, whose factors have large dense supernodes: nested dissection), and
    narrower rows within a bandwidth of ``sparse_pardiso_first_band_ratio`` sqrt(n)
    (locally numbered 2-D-like graphs: minimum degree).  ``nnz`` None: the first
    importable, whatever the size."""
    real = dtype is None or np.dtype(dtype).kind == "f"
    if (nnz is not None and real and _pardiso_first(nnz, n, bandwidth)
            and importable("pypardiso")):
        return "pardiso"
    for backend, module, threshold in _BACKENDS:
        if (nnz is None or nnz >= _tuned(threshold)) and importable(module):
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
        bandwidth = s.lower_bandwidth
        backend = self.backend or cholesky_backend(a.nnz, a.shape[0], a.dtype,
                                                   bandwidth)
        notes = []
        if self.backend is None and backend != cholesky_backend():
            if backend == "pardiso":
                notes.append(f"PARDISO before {cholesky_backend()}: {a.nnz} stored "
                             f"nonzeros, {a.nnz / a.shape[0]:.3g} a row, bandwidth "
                             f"{bandwidth} (sparse_pardiso_first_*, hybridsolve._tuning)")
            else:
                notes.append(f"{cholesky_backend()} is installed but takes {a.nnz} "
                             f"stored nonzeros only from its tuned size on (hybridsolve "
                             f"tune): {backend} used")
        norm1 = norm1_of(a, s)
        factor = {"cholmod": cholmod.cholmod_factor,
                  "pardiso": pardiso.pardiso_factor if a.dtype.kind == "f" else None
                  }.get(backend)
        if factor is not None:
            try:
                f = factor(a)
                f.notes = tuple(notes) + tuple(f.notes)
                # a Cholesky factor proves A positive definite
                return set_rcond(f, norm1,
                                 m_matrix=s.extra.get("offdiag_nonpositive", False))
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
