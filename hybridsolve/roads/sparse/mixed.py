"""sparse_mixed: single-precision SuperLU factors of a float64 / complex128 sparse A,
refined in double -- the dense ``mixed`` road's scheme (`hybridsolve.roads.mixed`) on
scipy.sparse storage.

``A_s = fl32(A)`` (float32 / complex64 values, A's own index arrays) is factored by
``scipy.sparse.linalg.splu`` with the double road's orderings (`superlu_factor`: MMD on
A^T + A in SymmetricMode with threshold 0.1 for a structurally symmetric A, else
COLAMD).  Every solve then runs `~hybridsolve.roads.mixed.refine_solve`, the dense
road's refinement and its criterion (normwise backward error ||r||_inf /
(||A||_inf ||x||_inf + ||b||_inf) down to eps, or to sqrt(n) eps where it stops
halving): the residual b - op(A) x in double with scipy.sparse's product on the double
work array, the correction through the single factors (each column scaled to unit max
modulus before rounding, `~hybridsolve.roads.mixed.round_scaled`).  Columns that do not
meet the criterion are solved by the double road instead (the registry's cheapest with
``precision='double'``: ``sparse`` or ``sparse_cholesky``), factored once on first need;
``explain`` and the factorization's notes report the time lost.

**Opt-in only** (``precision='mixed'``, or ``method='sparse_mixed'``; without the
keyword the road is priced with the double road's work added, the work it may lose, so
it is never chosen automatically).  The sparse inspection measures no diagonal
dominance margin, and there is no other cheap convergence proof for a general sparse A;
nor is the single factorization reliably faster: SuperLU's fill-in is the same in
either precision and its supernodal kernels are largely memory- and index-bound, so the
gain is at most the halved value bytes (``python -m benchmarks.bench_mixed`` measures it
side by side).  Asked for, the road is priced at ``mixed_single_factor_weight`` times
the cheaper of the double general roads (sparse LU, and sparse Cholesky for a Hermitian
A with a real positive diagonal), so it wins over them; the structured sparse roads
(diagonal, triangular, banded) keep winning where they are cheaper.

**Declining.**  A singular single factorization, or single factors whose condition
estimate says refinement would not converge (u_single / rcond_s > 0.1, as the dense
road), raise `NotApplicable`: the dispatcher takes the double road on the untouched work
array, and that road raises scipy's errors (an exactly singular A: ``LinAlgError``) and
reports its own rcond (an ill-conditioned A, rcond < eps_d, has rcond_s near u_single at
best and is always declined, so the warning comes from the double road's estimate).

**rcond** is the one estimator (`set_rcond`, xLACN2) driven by the single factors'
solves, with ||A||_1 of the double A: valid in double terms for the reason given in the
dense road's docstring (kappa(A_s) u_s <= 0.1 makes the two condition numbers agree
within a few tens of percent).

**Memory.** The road keeps the double work array (for the residuals) and the single
SuperLU factors: ``lu.nnz`` entries of 4 (8 complex) bytes plus their indices -- the
values take half the bytes of the double road's factors.  The single copy of A's values
made for splu is freed after factoring.

A factorization pickles as the double road's does (the single `SuperLUFactorization`
keeps its factors and permutations; the work array and any fallback factorization
pickle as they are).
"""
from __future__ import annotations

import time

import numpy as np
import scipy.sparse as sp
from numpy.linalg import LinAlgError

from hybridsolve.plugin import NotApplicable
from hybridsolve.roads.mixed import (_SINGLE, HUGE, TINY, MixedFactorization,
                                     MixedSolver, SINGLE_FACTOR_WEIGHT,
                                     decline_unless_convergent, op_residual,
                                     round_scaled)
from hybridsolve.roads.sparse._common import (SparseRoad, lu_flops, norm1_of, set_rcond,
                                              sparse_cost, spd_candidate)
from hybridsolve.roads.sparse.superlu import _LU_SYM_PIVOT_THRESH, superlu_factor

__all__ = ["SparseMixedSolver", "SparseMixedFactorization"]

def _single_copy(work):
    """``work`` (canonical CSR/CSC, double) with its values rounded to single precision;
    the index arrays are shared (splu copies what it needs)."""
    cls = sp.csc_array if work.format == "csc" else sp.csr_array
    single = cls((work.data.astype(_SINGLE[work.dtype]), work.indices, work.indptr),
                 shape=work.shape, copy=False)
    single.has_sorted_indices = True
    return single


class SparseMixedSolver(SparseRoad):
    """Single-precision SuperLU factors, double refinement; opt-in with
    ``precision='mixed'`` (see the module docstring)."""

    name = "sparse_mixed"

    def sparse_cost(self, s):
        if s.dtype not in _SINGLE:
            return None, "float64 / complex128 only (single precision is already single)"
        pref = s.extra.get("precision", "auto")
        if pref == "double":
            return None, "precision='double'"
        norm1 = s.norm1
        if norm1 is not None and not (TINY <= norm1 <= HUGE):
            return None, (f"||A||_1 = {norm1:.3g} is outside single precision's safe "
                          f"range [{TINY:g}, {HUGE:g}]")
        double = lu_flops(s)
        if spd_candidate(s):
            double = min(double, 0.5 * lu_flops(s))      # sparse_cholesky's price
        single = SINGLE_FACTOR_WEIGHT * sparse_cost(double)
        if pref != "mixed":
            # unproven (the sparse inspection measures no dominance margin): priced
            # with the double road's work it may lose, so never chosen automatically;
            # method='sparse_mixed' may still take it
            return single + sparse_cost(double)
        MixedSolver._note(s, "precision='mixed': single-precision SuperLU factors + "
                          "double refinement (no convergence proof; falls back to the "
                          "double sparse road if it does not converge); memory: the "
                          "single factors (half the value bytes of the double road's) "
                          "kept with A")
        return single

    def factorize(self, a, s):
        self._check(a)
        if a.dtype not in _SINGLE:
            raise NotApplicable("sparse_mixed: needs a float64 / complex128 matrix")
        t0 = time.perf_counter()
        norm1 = norm1_of(a, s)
        single = _single_copy(a)
        notes = []
        symmetric = bool(s.extra.get("pattern_symmetric"))
        try:
            lu = superlu_factor(single, symmetric_mode=symmetric, notes=notes,
                                pivot_thresh=_LU_SYM_PIVOT_THRESH)
        except LinAlgError as exc:
            if not symmetric:
                raise NotApplicable(self._lost(f"single-precision SuperLU: {exc}", t0))
            try:
                lu = superlu_factor(single, symmetric_mode=False, notes=notes)
            except LinAlgError as exc2:
                raise NotApplicable(self._lost(f"single-precision SuperLU: {exc2}", t0))
        del single
        try:
            rcond = set_rcond(lu, norm1).rcond
        except LinAlgError:          # a single solve overflowed: far from converging
            rcond = 0.0
        decline_unless_convergent(rcond, 1.0, t0)
        fac = SparseMixedFactorization(a, lu, norm1, s)
        fac.rcond = rcond
        fac.single_seconds = time.perf_counter() - t0
        mib = lu.lu.nnz * (lu.dtype.itemsize + np.dtype(np.intc).itemsize) / 2 ** 20
        fac.notes = [f"single-precision {lu.kind} factors refined in double (rcond from "
                     f"the single factors: {rcond:.3g}); memory: {mib:.3g} MiB of single "
                     f"factors ({lu.lu.nnz} entries) kept with A"] + notes
        return fac

    @staticmethod
    def _lost(why, t0):
        return (f"{why}; falling back to double (time lost: "
                f"{(time.perf_counter() - t0) * 1e3:.3g} ms)")


class SparseMixedFactorization(MixedFactorization):
    """The double sparse work array and the single `SuperLUFactorization`; solves as
    `~hybridsolve.roads.mixed.MixedFactorization` (refinement, fallback, notes)."""

    road = "sparse_mixed"

    def __init__(self, work, single, norm1, structure):
        super().__init__(work, False, single, "lu")
        self.kind = "sparse_mixed(" + single.kind + ")"
        self.anorm1 = float(norm1)
        self.anorm_inf = float(abs(work).sum(axis=1).max()) if work.nnz else 0.0
        self.structure = structure

    def _residual(self, b, x, trans, cols=None):
        return op_residual(self.a, b, x, trans)

    def _correct(self, r, trans):
        rs, scale = round_scaled(r, self.single.dtype)
        try:
            self.single._solve_inplace(rs, trans)
        except LinAlgError:          # non-finite: the criterion fails the column
            rs[...] = np.nan
        return rs.astype(self.dtype) * scale

    def _anorm(self, trans):
        return self.anorm_inf if trans == 0 else self.anorm1

    def _double_matrix(self):
        return self.a                # the private work array: no road writes to it
