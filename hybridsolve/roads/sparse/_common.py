"""What the sparse roads share: pricing weights, the rcond of a factorization, and the
CSC view of the canonical work array."""
from __future__ import annotations

import importlib
import math

import numpy as np
import scipy.sparse as sp

from hybridsolve._tuning import value as _tuned
from hybridsolve.plugin import Solver, norm1_estimate, singular_error

# Pricing constants: hybridsolve._tuning (defaults and reasons there).
#: dense-flop equivalents per estimated sparse flop (sparse kernels are memory-bound)
SPARSE_WEIGHT = _tuned("sparse_flop_weight")
#: fixed Python/library overhead of a sparse factorization, in dense-flop equivalents
SPARSE_OVERHEAD = _tuned("sparse_overhead")


def importable(module):
    """Whether an optional backend imports (a broken install counts as absent)."""
    try:
        importlib.import_module(module)
        return True
    except Exception:
        return False


def lu_flops(s):
    """A rough operation count for sparse LU with a fill-reducing ordering: nnz
    times sqrt(n) (2-D nested-dissection-like growth), never more than the band LU
    (both are upper-bound flavoured guesses; only their ordering matters)."""
    n, nnz = s.n, max(s.nnz or 0, 1)
    est = 4.0 * nnz * math.sqrt(max(n, 1))
    if s.lower_bandwidth is not None and s.upper_bandwidth is not None:
        band = 2.0 * n * (s.lower_bandwidth + 1) * (s.lower_bandwidth + s.upper_bandwidth + 1)
        est = min(est, band)
    return est + 2.0 * nnz


def sparse_cost(flops):
    return SPARSE_WEIGHT * flops + SPARSE_OVERHEAD


def spd_candidate(s):
    sym = s.hermitian if s.dtype.kind == "c" else s.symmetric
    return bool(sym) and bool(s.diag_real_positive)


def check_finite_result(x):
    if not np.isfinite(x).all():
        raise singular_error("the sparse factorization produced a non-finite solution")


def set_rcond(fact, norm1, m_matrix=False):
    """``fact.rcond`` := 1 / (||A||_1 est(||A^-1||_1)), the estimate driven by
    ``fact._solve_inplace``; returns ``fact``.

    ``m_matrix``: the caller knows A is symmetric positive definite (a Cholesky
    factorization succeeded) with no positive off-diagonal entry (the inspection's
    ``offdiag_nonpositive``).  Such a matrix is a nonsingular M-matrix, so A^-1 >= 0
    entrywise and ||A^-1||_1 = ||A^-1||_inf = ||A^-1 e||_inf exactly: one solve instead
    of the estimator's 4 to 11 (discretised diffusion operators, graph Laplacians plus a
    positive diagonal)."""
    n = fact.shape[0]
    if n == 0:
        fact.rcond = 1.0
        return fact
    if not norm1:
        fact.rcond = 0.0
        return fact

    def solve(x, adjoint):
        x = x.reshape(n, 1, order="F")
        fact._solve_inplace(x, 2 if adjoint else 0)
        return x[:, 0]

    if m_matrix:
        inv = float(np.abs(solve(np.ones(n, fact.dtype), False)).max())
    else:
        inv = norm1_estimate(solve, n, fact.dtype)
    fact.rcond = 0.0 if not np.isfinite(inv) or inv == 0 else float(1.0 / (norm1 * inv))
    return fact


def norm1_of(work, s):
    if s.norm1 is not None:
        return s.norm1
    return float(abs(work).sum(axis=0).max()) if work.nnz else 0.0


def as_csc_of(work):
    """``(csc, transposed)``: a CSC array holding A (transposed False) or A^T (True),
    sharing ``work``'s buffers."""
    if work.format == "csc":
        return work, False
    m = sp.csc_array((work.data, work.indices, work.indptr), shape=work.shape[::-1],
                     copy=False)
    return m, True


class SparseRoad(Solver):
    """Base of the sparse roads: takes ``format == 'sparse'`` structures only."""

    formats = ("sparse",)

    def cost(self, s):
        if s.format != "sparse":
            return None, "not a sparse matrix"
        return self.sparse_cost(s)

    def sparse_cost(self, s):
        """The price of a sparse structure (or None / (None, why))."""
        raise NotImplementedError

    def _check(self, a):
        if not sp.issparse(a):
            raise TypeError(f"{self.name}: expected the sparse work array of "
                            f"prepare_sparse, got {type(a).__name__}")
