"""Sparse roads: every one a Solver priced by the O(nnz) inspection of
``hybridsolve._sparse.prepare_sparse``, one module per backend.

=====================  ===========  =======================================================
name                   module       road
=====================  ===========  =======================================================
sparse_diagonal        diagonal     A diagonal: x = b / d, O(n)
sparse_triangular      triangular   A triangular: Cython substitution over the CSR/CSC
                                    arrays, O(nnz)
sparse_banded          banded       narrow band (band storage small): LAPACK ?gbtrf/?gbtrs
sparse_cholesky        cholesky     symmetric/Hermitian with real positive diagonal:
                                    CHOLMOD (``cholmod``, scikit-sparse) if importable, else
                                    PARDISO (``pardiso``, pypardiso, real only) if
                                    importable, else SuperLU with MMD on A^T+A in
                                    SymmetricMode; falls back to SuperLU with COLAMD and
                                    partial pivoting when that fails
sparse (sparse_lu)     superlu      general: SuperLU (scipy.sparse.linalg.splu)
sparse_dense           dense        a DENSE ndarray that is mostly zeros: its nonzeros as
                                    CSC/CSR, then the cheapest registered sparse road
sparse_mixed           mixed        float64/complex128, opt-in (precision='mixed'):
                                    single-precision SuperLU factors refined in double
                                    (the dense ``mixed`` road's refinement and criterion),
                                    falling back to the double road
=====================  ===========  =======================================================

Prices are in "dense flop equivalents" so that they compare with the dense roads'
flop counts (see ``_common``).  ``rcond`` of every sparse factorization is
1 / (||A||_1 est(||A^-1||_1)) with the one estimator of every road (LAPACK's xLACN2,
``hybridsolve.plugin.norm1_estimate``) driven by the factorization's solves; the banded
road uses LAPACK's ?gbcon.
"""
from hybridsolve.roads.sparse.banded import SparseBandedSolver
from hybridsolve.roads.sparse.cholesky import SparseCholeskySolver, cholesky_backend
from hybridsolve.roads.sparse.dense import SparseStoredDenseSolver
from hybridsolve.roads.sparse.diagonal import SparseDiagonalSolver
from hybridsolve.roads.sparse.mixed import SparseMixedSolver
from hybridsolve.roads.sparse.superlu import SparseLUSolver
from hybridsolve.roads.sparse.triangular import SparseTriangularSolver

__all__ = [
    "SparseDiagonalSolver", "SparseTriangularSolver", "SparseBandedSolver",
    "SparseCholeskySolver", "SparseLUSolver", "SparseStoredDenseSolver",
    "SparseMixedSolver", "SparseSolvers", "cholesky_backend",
]

#: every sparse road, for code that wants them all (the entry points list each one)
SparseSolvers = (SparseDiagonalSolver, SparseTriangularSolver, SparseBandedSolver,
                 SparseCholeskySolver, SparseLUSolver, SparseStoredDenseSolver,
                 SparseMixedSolver)
