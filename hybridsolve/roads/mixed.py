"""Mixed precision with a guarantee: factor a single-precision copy of A, refine in double.

For a float64 / complex128 dense A the road factors ``A_s = fl32(A)`` (LU with partial
pivoting, or Cholesky for a Hermitian A with a positive diagonal or the 'pos' hint) with
our LU / Cholesky kernels over float32 / complex64 (LAPACK's sgetrf / spotrf above their
small sizes), then refines every solve (Wilson/Moler iterative refinement, LAPACK's
dsgesv / dsposv scheme):

    x_0 = A_s^-1 b;   r_i = b - op(A) x_i  (double, BLAS gemv/gemm or symv/hemm);
    x_{i+1} = x_i + A_s^-1 r_i             (the correction through the single factors)

**Criterion.**  Column by column, with eta_i = ||r_i||_inf / (||A||_inf ||x_i||_inf +
||b||_inf) the normwise backward error of x_i:

* success as soon as eta_i <= eps_d (the double unit of rounding, 2^-52): no double
  backward-stable road can promise more;
* success when eta_i <= sqrt(n) eps_d and the last step did not halve eta (the
  refinement has reached the limiting accuracy of a double residual: LAPACK dgerfs's
  stopping rule; sqrt(n) eps_d is dsgesv's acceptance test with BWDMAX = 1, here with
  ||b|| in the denominator as the backward error defines it);
* failure when eta stops halving above sqrt(n) eps_d, or after ITMAX = 30 steps
  (dsgesv's ITERMAX): then the column is solved by the double road instead.

So an accepted answer's backward error is never above dsgesv's bound, and because the
iteration goes on while it still halves eta it ends at the floor the double residual
allows -- in practice at or below the double LU / Cholesky road's own eta.

**When it converges.**  Refinement contracts the error by about
kappa(A) * u_s * g per step (u_s = 2^-24, g the growth / backward-error factor of the
single factorization), so it converges when that product is below 1 (Higham, *Accuracy
and Stability of Numerical Algorithms*, 2nd ed., Thm 12.4; Moler 1967).  The road is
taken automatically only when a bound the inspection measured cheaply proves
kappa * u_s * g <= CONVERGENCE_LIMIT (0.1: ten-fold contraction per step, so double
accuracy is reached in 2-3 steps):

* A strictly diagonally dominant by rows (the inspection's ``dominance_margin``
  m = min_i |a_ii| - sum_{j!=i} |a_ij| > 0): Varah's ||A^-1||_inf <= 1/m and
  ||A||_inf < 2 max_i |a_ii| <= 2 ||A||_1 give kappa_inf <= 2 ||A||_1 / m; elimination on
  a diagonally dominant matrix has growth <= 2 (Wilkinson; Higham Thm 9.9): g = 2.
* A Hermitian with a positive diagonal and m > 0: Gershgorin puts every eigenvalue in
  [m, ||A||_1], so A is positive definite and kappa_2 <= ||A||_1 / m; Cholesky has no
  growth: g = 1.
* A bound given by the caller in ``structure.extra['kappa_bound']`` (``ridge``'s
  (||X||^2 + lam) / lam, a structured operator's).

Without such a bound the road still prices itself, but with the double road's price
added (the work lost if it falls back), so it is never chosen automatically;
``precision="mixed"`` (``structure.extra['precision']``) waives the proof (the road is
then priced at its single factorization alone: below the double LU / Cholesky roads at
every n) and ``precision="double"`` forbids the road.  After factoring, the single factors' own
condition estimate is a second test: 1/rcond_s * u_s > CONVERGENCE_LIMIT declines the
road (``NotApplicable``: the dispatcher takes the next, double, road on the untouched
double work array, and ``explain`` shows the time lost).

**rcond** is LAPACK's gecon / pocon estimate from the *single* factors, with ||A||_1 of
the double A.  It is valid in double terms because the road keeps a factorization only
when kappa(A_s) u_s <= 0.1: A = A_s - E with ||E|| <~ u_s g ||A||, so
||A^-1|| <= ||A_s^-1|| / (1 - ||A_s^-1|| ||E||) -- the two condition numbers agree
within a few tens of percent, and both are then far above eps_d, where scipy's
ill-conditioning warning starts (a matrix scipy would warn about has rcond_s near u_s
at best and is declined, so the double road's own estimate decides the warning).

**Memory.** The road keeps A (the double work array, for the residuals) and the single
factors: half of A's bytes more than the double road.
"""
from __future__ import annotations

import math
import time

import numpy as np
from scipy.linalg import blas as _blas
from scipy.linalg import lapack as _lapack

from hybridsolve._kernels import cholesky as _chol
from hybridsolve._kernels import lu as _lu
from hybridsolve._protocol import (Factorization, NotApplicable, Solver, Structure,
                                   fortran_view)
from hybridsolve._tuning import value as _tuned

__all__ = ["MixedSolver", "MixedFactorization", "refine_solve", "single_cholesky",
           "single_solve", "round_scaled", "decline_unless_convergent", "op_residual"]

# ---------------------------------------------------------------- constants
# (the tunable ones live in hybridsolve._tuning, with their reasons)

#: Unit roundoff of float32 (complex64): the accuracy of the factors.
U_SINGLE = 2.0 ** -24
#: Largest kappa * u_s * g for which the road is taken automatically: refinement then
#: contracts the error ten-fold per step (converges in 2-3 steps to double accuracy).
CONVERGENCE_LIMIT = _tuned("mixed_convergence_limit")
#: Growth factor assumed for the convergence proof: elimination on a diagonally
#: dominant matrix grows entries at most two-fold (Higham Thm 9.9); Cholesky none.
GROWTH = {"lu": 2.0, "cholesky": 1.0}
#: Refinement steps before the road gives up on a column (dsgesv's ITERMAX).
ITMAX = _tuned("mixed_itmax")
#: Order from which the single Cholesky is LAPACK's potrf (see `single_cholesky`).
POTRF_FROM = _tuned("mixed_single_potrf_from")
#: Price of the single factorization relative to the double one's flops.
SINGLE_FACTOR_WEIGHT = _tuned("mixed_single_factor_weight")
#: Price per entry of A of one pass over it at memory speed.
PASS_WEIGHT = _tuned("mixed_pass_weight")
#: Expected passes over A (double-entry equivalents) per refined solve: about three
#: steps, each one residual (a double read of A) and one single-precision solve (half
#: the bytes), plus the single copy (one read, one half-size write) and the single
#: rcond estimate (a few single solves).
EXPECTED_PASSES = 3 * (1.0 + 0.5) + 1.5 + 2.0
#: Entries of A outside [TINY, HUGE] in modulus lose accuracy or overflow in single
#: precision (its normal range is about 1.2e-38 .. 3.4e38): the road declines a matrix
#: whose 1-norm is outside this range (it would need a scaling pass first).
HUGE = 1e30
TINY = 1e-30

#: From this order the road's price (single factors + EXPECTED_PASSES over A) is
#: below the double LU's, 2/3 n^3 (so below it, ``preview`` need not borrow A):
#: w 2/3 n^3 + p E n^2 < 2/3 n^3  <=>  n > 1.5 p E / (1 - w).
_PREVIEW_MIN_N = int(1.5 * PASS_WEIGHT * EXPECTED_PASSES / max(1e-9, 1.0 - SINGLE_FACTOR_WEIGHT))

_SINGLE = {np.dtype(np.float64): np.dtype(np.float32),
           np.dtype(np.complex128): np.dtype(np.complex64)}
_DOUBLE = {v: k for k, v in _SINGLE.items()}
_EPS_D = float(np.finfo(np.float64).eps) / 2.0      # unit roundoff of double: 2^-53
_INTC = np.dtype(np.intc)


def _kind(structure) -> str:
    if structure.assume_a == "pos":
        return "cholesky"
    if structure.assume_a is None and structure.hermitian and structure.diag_real_positive:
        return "cholesky"
    return "lu"


def kappa_bound(structure):
    """``(bound, why)``: a proven upper bound on A's condition number from what the
    inspection measured (or a caller put in ``extra['kappa_bound']``), or
    ``(None, why not)``."""
    extra = structure.extra
    kb = extra.get("kappa_bound")
    if kb is not None:
        return float(kb), extra.get("kappa_bound_reason", "given bound")
    margin = extra.get("dominance_margin")
    norm1 = structure.norm1
    if margin is None or not norm1 or not margin > 0:
        return None, "no cheap bound on kappa(A) (not diagonally dominant)"
    if structure.hermitian and structure.diag_real_positive:
        return norm1 / margin, ("Hermitian, diagonal dominance margin %.3g: Gershgorin "
                                "lambda_min >= margin, kappa_2 <= ||A||_1 / margin"
                                % margin)
    return 2.0 * norm1 / margin, ("strictly diagonally dominant, margin %.3g: Varah "
                                  "||A^-1||_inf <= 1 / margin, kappa_inf <= "
                                  "2 ||A||_1 / margin" % margin)


def _double_flops(structure, kind):
    n = float(structure.n)
    flops = (n ** 3 / 3.0 if kind == "cholesky" else 2.0 * n ** 3 / 3.0) + 2.0 * n * n
    return 4.0 * flops if structure.is_complex else flops


class MixedSolver(Solver):
    """Single-precision factors, double-precision refinement; see the module docstring."""

    name = "mixed"
    hints = (None, "gen", "sym", "her", "pos")
    formats = ("dense",)

    def cost(self, structure: Structure):
        if structure.dtype not in _SINGLE:
            return None, "float64 / complex128 only (single precision is already single)"
        pref = structure.extra.get("precision", "auto")
        if pref == "double":
            return None, "precision='double'"
        a = structure.assume_a
        if a not in (None, "gen", "sym", "her", "pos"):
            return None, f"assume_a={a!r}: a structured road is cheaper"
        norm1 = structure.norm1
        if norm1 is not None and not (TINY <= norm1 <= HUGE):
            return None, (f"||A||_1 = {norm1:.3g} is outside single precision's safe "
                          f"range [{TINY:g}, {HUGE:g}]")
        n = structure.n
        kind = _kind(structure)
        double = _double_flops(structure, kind)
        passes = PASS_WEIGHT * EXPECTED_PASSES * n * n * (2.0 if structure.is_complex
                                                          else 1.0)
        price = SINGLE_FACTOR_WEIGHT * double + passes
        if pref == "mixed":
            # the caller asked for it: priced at the single factorization alone, so it
            # is below the double LU / Cholesky road's price at every n (the roads for
            # banded, triangular, diagonal... matrices, cheaper still, keep winning)
            self._note(structure, "precision='mixed': single-precision factors + double "
                       "refinement (no convergence proof; falls back to double if it "
                       "does not converge)" + self._memory(structure))
            return SINGLE_FACTOR_WEIGHT * double
        bound, why = kappa_bound(structure)
        if bound is not None and bound * U_SINGLE * GROWTH[kind] <= CONVERGENCE_LIMIT:
            self._note(structure, f"mixed precision proven to converge: {why}; "
                       f"kappa <= {bound:.3g}, kappa * u_single * growth = "
                       f"{bound * U_SINGLE * GROWTH[kind]:.2g} <= {CONVERGENCE_LIMIT}"
                       + self._memory(structure))
            return price
        # unproven: priced with the double road's work it may lose (never chosen
        # automatically; method='mixed' or precision='mixed' may still take it)
        return price + double

    @staticmethod
    def _memory(structure):
        mb = structure.n * structure.n * structure.dtype.itemsize / 2 / 2 ** 20
        return f"; memory: a single-precision copy of A, {mb:.3g} MiB (half of A)"

    @staticmethod
    def _note(structure, text):
        if text not in structure.notes:
            structure.notes.append(text)

    def preview(self, a, request):
        """Before the front door copies A.  The road only reads A (to round it to
        single precision, and for the residuals), so where it is likely to be taken it
        borrows A and the solve makes no double-precision n x n copy: always with
        ``precision='mixed'``; with 'auto' where a few rows (8, spread over A; O(8 n)
        reads) are strictly diagonally dominant -- the inspection's margin may then
        prove convergence (Varah / Gershgorin).  Otherwise nothing to say."""
        n = a.shape[0]
        precision = request.get("precision", "auto")
        if a.dtype not in _SINGLE or n < _PREVIEW_MIN_N or precision == "double":
            return None
        if precision == "mixed":
            return {"borrow": True, "source": a}
        rows = (np.arange(8) * 2 + 1) * n // 16
        block = np.abs(a[rows])                      # (8, n) gathered rows
        diag = block[np.arange(8), rows]
        if not (2.0 * diag > block.sum(axis=1)).all():
            return None
        return {"borrow": True, "source": a}

    def factorize(self, a, structure: Structure) -> "MixedFactorization":
        t0 = time.perf_counter()
        seen = (structure.extra.get("previews") or {}).get(self.name) or {}
        borrowed = seen.get("source") is a           # the caller's own A: only read it
        buf, transposed = fortran_view(a)
        if buf.dtype not in _SINGLE or buf.ndim != 2 or buf.shape[0] != buf.shape[1]:
            raise NotApplicable("mixed: needs a square float64 / complex128 array")
        if not buf.flags.f_contiguous:
            buf = np.asfortranarray(buf)
        n = buf.shape[0]
        kind = _kind(structure)
        pos = structure.assume_a == "pos"
        single = buf.astype(_SINGLE[buf.dtype], order="F")
        fac = MixedFactorization(buf, transposed, single, kind)
        fac.borrowed = borrowed
        if kind == "cholesky":
            # the triangle of the buffer that holds A's data (see roads/cholesky.py)
            lower_a = bool(structure.lower) if pos else not transposed
            fac.lower = lower_a != transposed
            fac.conjugated = transposed
            # ||A||_1 from the inspection when it measured A's (no hint: every entry);
            # under 'pos' it read one triangle only, so the kernel measures it
            known = structure.norm1 if structure.assume_a is None else None
            info, anorm = single_cholesky(single, fac.lower,
                                          -1.0 if known is None else float(known))
            fac.anorm1 = fac.anorm_inf = float(anorm)
            if info > 0:
                lost = time.perf_counter() - t0
                raise NotApplicable(
                    f"single-precision Cholesky failed at leading minor {info}; "
                    f"falling back to double (time lost: {lost * 1e3:.3g} ms)")
            rc, info = _chol.pocon(single, fac.anorm1, fac.lower)
            rcond = float(rc) if info == 0 else float("nan")
        else:
            ipiv = np.empty(n, dtype=_INTC)
            norm1 = structure.norm1
            # ||A||_inf for the stopping test (||A||_1 when op(A) = A^T), from the
            # single copy before it is overwritten: buffer M = A^T has ||M||_1 = ||A||_inf
            lange = _lapack.get_lapack_funcs("lange", (single,))
            norm_inf = float(lange("1" if transposed else "I", single))
            if norm1 is None:
                norm1 = float(lange("I" if transposed else "1", single))
            info, anorm, rcond = _lu.factor_array(single, ipiv, norm1, transposed, True)
            fac.piv = ipiv
            fac.anorm1, fac.anorm_inf = float(anorm), norm_inf
            if info > 0:
                lost = time.perf_counter() - t0
                raise NotApplicable(f"single-precision LU: U[{info - 1}, {info - 1}] is "
                                    f"zero; falling back to double (time lost: "
                                    f"{lost * 1e3:.3g} ms)")
        fac.rcond = rcond
        g = GROWTH[kind] if structure.extra.get("precision") != "mixed" else 1.0
        decline_unless_convergent(rcond, g, t0)
        fac.structure = structure
        fac.single_seconds = time.perf_counter() - t0
        fac.notes = [f"single-precision {kind} factors refined in double "
                     f"(rcond from the single factors: {rcond:.3g}); memory: "
                     f"{single.nbytes / 2 ** 20:.3g} MiB of single factors kept with A"]
        return fac


def decline_unless_convergent(rcond, growth, t0):
    """Raise `NotApplicable` (with the time lost since ``t0``, a ``perf_counter``
    reading) unless the single factors' ``rcond`` (in double terms: ||A||_1 of the
    double A) keeps ``u_single * growth / rcond`` within CONVERGENCE_LIMIT: refinement
    would not converge, the dispatcher takes the next (double) road."""
    if not (rcond == rcond and rcond > 0
            and U_SINGLE * growth / rcond <= CONVERGENCE_LIMIT):
        lost = time.perf_counter() - t0
        raise NotApplicable(
            f"single-precision factors estimate rcond = {rcond:.3g}: kappa * u_single"
            f" > {CONVERGENCE_LIMIT}, refinement would not converge; falling back to "
            f"double (time lost: {lost * 1e3:.3g} ms)")


class MixedFactorization(Factorization):
    """Single-precision factors of A plus A itself (the double work array): every
    ``solve`` refines to the module's criterion or falls back to the double road
    (factored once, on first need, through the registry).

    A subclass for another storage of A (``roads/sparse/mixed.py``) overrides the two
    products (`_residual`, `_correct`), `_anorm` and `_double_matrix`; the refinement,
    the fallback and its notes are this class's."""

    #: the road that made it (skipped when the fallback asks the registry for a road)
    road = "mixed"

    def __init__(self, buf, transposed, single, kind):
        super().__init__(buf.shape, buf.dtype)
        self.kind = "mixed-" + kind
        self.a = buf                 # F-contiguous: A, or A^T when transposed
        self.transposed = transposed
        self.single = single         # the single-precision factors
        self.base = kind
        self.piv = None
        self.lower = False
        self.conjugated = False
        self.anorm1 = self.anorm_inf = float("nan")
        self.rcond = float("nan")
        self.double = None           # the double road's factorization after a fallback
        self.borrowed = False        # self.a is the caller's A (a one-shot solve)
        self.structure = None
        self.single_seconds = 0.0
        self.steps = []              # refinement steps of every solved column
        self.notes = []

    # -- the two products the refinement needs --------------------------------------
    def _residual(self, b, x, trans, cols=None):
        """b - op(A) x in double (BLAS through numpy / scipy.linalg.blas); ``cols``
        (which of the caller's columns b and x are) is not needed here."""
        a = self.a
        if self.base == "cholesky":
            # G = the Hermitian matrix of the buffer's ``lower`` triangle (conj
            # handled by the caller): symv / hemm read only that triangle
            cplx = a.dtype.kind == "c"
            if x.shape[1] == 1:
                f = _blas.zhemv if cplx else _blas.dsymv
                return b - f(1.0, a, x[:, 0], lower=self.lower)[:, None]
            f = _blas.zhemm if cplx else _blas.dsymm
            return b - f(1.0, a, x, lower=self.lower)
        return op_residual(a.T if self.transposed else a, b, x, trans)   # a.T is A

    def _correct(self, r, trans):
        return single_solve(self.single, r, trans, lower=self.lower, piv=self.piv,
                            transposed=self.transposed)

    # -- the refinement ----------------------------------------------------------------
    def _solve_inplace(self, b, trans):
        if self.double is not None:
            self.double._solve_inplace(b, trans)
            return
        flip = False
        if self.base == "cholesky":
            # as roads/cholesky.py: G = conj(H) when the buffer is transposed
            flip = self.dtype.kind == "c" and (self.conjugated != (trans == 1))
            if flip:
                np.conjugate(b, out=b)
        anorm = self._anorm(trans)
        x, failed = refine_solve(self._residual, self._correct, b, trans, anorm,
                                 self.steps)
        if failed.size:
            t0 = time.perf_counter()
            rest = np.asfortranarray(b[:, failed])
            if flip:
                np.conjugate(rest, out=rest)
            self._fall_back(len(failed))
            self.double._solve_inplace(rest, trans)
            if flip:
                np.conjugate(rest, out=rest)
            x[:, failed] = rest
            self.notes.append(f"double solve of the {len(failed)} column(s): "
                              f"{(time.perf_counter() - t0) * 1e3:.3g} ms")
        if flip:
            np.conjugate(x, out=x)
        b[...] = x

    def _anorm(self, trans):
        """||op(A)||_inf: ||A^T||_inf = ||A^H||_inf = ||A||_1 (equal for Hermitian A)."""
        return self.anorm_inf if trans == 0 or self.base == "cholesky" else self.anorm1

    def _double_matrix(self):
        """A in double for the fallback road (a private copy if it is the caller's)."""
        a = self.a.T if self.transposed else self.a
        return a.copy(order="K") if self.borrowed else a

    def _fall_back(self, ncols):
        """Factor A in double through the registry (the cheapest road that is not this
        one); from now on every solve goes there."""
        from hybridsolve import _registry

        st = self.structure
        extra = dict(st.extra)
        extra["precision"] = "double"
        s2 = Structure(st.n, st.dtype, st.format, finite=st.finite,
                       symmetric=st.symmetric, hermitian=st.hermitian,
                       diag_real_positive=st.diag_real_positive,
                       lower_bandwidth=st.lower_bandwidth,
                       upper_bandwidth=st.upper_bandwidth, nnz=st.nnz, norm1=st.norm1,
                       assume_a=st.assume_a, lower=st.lower, extra=extra)
        a = self._double_matrix()
        t0 = time.perf_counter()
        candidates, _ = _registry.price(s2)
        why = []
        for _, solver in candidates:
            if solver.name == self.road:
                continue
            try:
                self.double = solver.factorize(a, s2)
            except NotApplicable as exc:
                why.append(f"{solver.name}: {exc}")
                continue
            break
        else:
            raise RuntimeError("mixed: no double road accepted the fallback: "
                               + "; ".join(why))
        spent = sum(self.steps) if self.steps else 0
        self.notes.append(
            f"refinement did not meet the criterion for {ncols} column(s): fell back to "
            f"the double road {solver.name!r} ({(time.perf_counter() - t0) * 1e3:.3g} "
            f"ms to factor); time lost: {self.single_seconds * 1e3:.3g} ms of "
            f"single-precision work plus {spent} refinement step(s)")
        self.a = self.single = None          # the double road owns the work array now


def op_residual(a, b, x, trans):
    """``b - op(A) x`` in the precision of ``a`` (A itself, dense or scipy.sparse):
    op = A, A^T, A^H for ``trans`` 0, 1, 2."""
    if trans == 0:
        return b - a @ x
    if trans == 1:
        return b - a.T @ x
    return b - np.conjugate(a.T @ np.conjugate(x))


def single_cholesky(single, lower, anorm=-1.0):
    """Cholesky of the F-contiguous single-precision ``single`` in place (the triangle
    ``lower`` names; potrf semantics): our kernel below tuning ``mixed_single_potrf_from``,
    LAPACK's spotrf / cpotrf from there on.  ``anorm`` ||A||_1 when known, else negative
    (measured from the triangle first).  Returns ``(info, anorm)``."""
    n = single.shape[0]
    if not (POTRF_FROM and n >= POTRF_FROM):
        return _chol.factor_array(single, lower, anorm)
    if anorm < 0:
        anorm = _chol.hermitian_norm1(single, lower)
    potrf = _lapack.get_lapack_funcs("potrf", (single,))
    c, info = potrf(single, lower=lower, overwrite_a=1, clean=0)
    if c is not single and not np.shares_memory(c, single):    # (f2py copied)
        single[...] = c
    return (info if info > 0 else 0), float(anorm)


def single_solve(single, r, trans=0, *, lower=False, piv=None, transposed=False):
    """op(A_s)^-1 r (double ``r`` (n, k), result double) through the single-precision
    factors ``single``: LU (``piv`` given; ``transposed`` as ``_lu.factor_array``'s) or
    Cholesky (``piv`` None; ``lower`` the triangle holding the factor).  Each column is
    scaled to unit max modulus before it is rounded to single precision (no underflow
    of small residuals)."""
    rs, scale = round_scaled(r, single.dtype)
    if piv is None:
        _chol.solve_array(single, rs, lower)
    else:
        _lu.solve_array(single, piv, rs, trans, transposed)
    return rs.astype(_DOUBLE[single.dtype]) * scale


def round_scaled(r, dtype):
    """``(rs, scale)``: the double ``r`` (n, k) with each column divided by its max
    modulus, rounded to the single ``dtype`` (F-contiguous, one pass), and the column
    scales (1 for a zero column).  A solve through single factors works on ``rs``; its
    result times ``scale`` (in double) is the correction -- no underflow of small
    residuals."""
    scale = np.abs(r).max(axis=0)
    scale[scale == 0] = 1.0
    rs = np.empty(r.shape, dtype=dtype, order="F")
    np.divide(r, scale, out=rs, casting="same_kind")      # scale and round: one pass
    return rs, scale


def refine_solve(residual, correct, b, trans, anorm, steps=None):
    """Iterative refinement of every column of ``b`` (F-contiguous (n, k), double):
    ``residual(b, x, trans, cols)`` = b - op(A) x in double (``cols``: the indices of
    the columns of the original ``b`` that ``b`` and ``x`` hold), ``correct(r, trans)`` =
    op(A_s)^-1 r through the single factors; ``anorm`` = ||op(A)||_inf.

    Returns ``(x, failed)``: x (n, k); ``failed`` the indices of the columns that did
    not meet the criterion of the module docstring (their x is not to be used)."""
    n, k = b.shape
    target = math.sqrt(max(n, 1)) * 2.0 * _EPS_D        # sqrt(n) * eps (dsgesv)
    floor = 2.0 * _EPS_D                                # eps: nothing to gain below
    bnorm = np.abs(b).max(axis=0)
    x = correct(b, trans)
    active = np.arange(k)
    prev = np.full(k, np.inf)
    failed = []
    it = 0
    while active.size:
        xa = x[:, active] if active.size < k else x
        ba = b[:, active] if active.size < k else b
        r = residual(ba, xa, trans, active)
        xn = np.abs(xa).max(axis=0)
        eta = np.abs(r).max(axis=0) / (anorm * xn + bnorm[active])
        eta[~np.isfinite(eta)] = np.inf
        halved = eta <= 0.5 * prev[active]
        done = (eta <= floor) | ((eta <= target) & ~halved)
        bad = ~done & (~halved | (it >= ITMAX))
        failed.extend(active[bad].tolist())
        if steps is not None:
            steps.extend([it] * int(done.sum() + bad.sum()))
        prev[active] = eta
        keep = ~(done | bad)
        if not keep.any():
            break
        d = correct(np.asfortranarray(r[:, keep]), trans)
        cols = active[keep]
        x[:, cols] += d
        active = cols
        it += 1
    return x, np.asarray(sorted(failed), dtype=np.intp)
