"""The Woodbury road: A = diag(d) + U V with k << n, solved in O(n k^2 + k^3).

Two entrances:

* ``format == "operator"``: a :class:`~hybridsolve._lowrank.DiagonalPlusLowRank`; the
  n x n matrix is never formed.
* ``format == "dense"`` (a plain ndarray, no ``assume_a`` hint, n >= 1000): detection
  (:func:`~hybridsolve._lowrank.detect_lowrank`) recovers D, U, V from the entries of A;
  when it finds nothing, ``factorize`` raises ``NotApplicable`` and leaves ``a``
  untouched so the dispatcher falls back to LU / Cholesky.

Threads.  Detection, factorization and solves run inside ``blas_threads(1)`` (the
thread policy's per-thread BLAS limit, where the BLAS has one) and with products split
below OpenBLAS's threading size otherwise: the work is thin (n x k) or small (k x k),
where BLAS threads cost their start-up and gain nothing.

Accuracy.  The Woodbury formula is not backward stable by itself, so every solve is
followed by fixed-precision iterative refinement (at most a few steps, stopped when the
normwise backward error ||r|| / (||A|| ||x|| + ||b||) reaches eps of the dtype or stops
improving) with the O(n k) structured residual.  For a detected dense A the result is
then checked against A itself: one true residual ``b - A x`` (one pass over A, on the
calling thread), in 1-norms with the exact ||A||_1 of the inspection; if needed a
further step or two with that residual, and if the backward error still exceeds
``DENSE_BERR_MAX`` eps (the recovered structure does not reproduce A: detection only
verified sampled rows and columns) the factorization switches to dense LU of A for
this and every later solve (``notes`` says so).  So the result is backward stable with
respect to the A the caller gave, never silently wrong.

``rcond`` is an estimate of 1 / (||A||_1 ||A^-1||_1) with the Hager / Higham 1-norm
estimator (LAPACK's xLACN2 algorithm), driven by the O(n k) matvec and the structured
solve; ||A||_1 is exact for a dense A (from the inspection pass when it gives it).

Fallbacks (recorded in ``factorization.notes``): a zero or tiny d_i, or a singular or
ill-conditioned capacitance matrix I + V D^-1 U.  For a dense A the road then raises
``NotApplicable`` (the dispatcher's LU takes over); for an operator with n <=
``FORM_MAX`` the matrix is formed and factored by dense LU; beyond that a
``LinAlgError`` says why.  (A detected dense A whose solve fails the true-residual
check is taken over by dense LU at solve time, see Accuracy.)
"""
from __future__ import annotations

import warnings

import numpy as np
from numpy.linalg import LinAlgError
from scipy.linalg import LinAlgWarning, get_lapack_funcs

from hybridsolve._kernels import woodbury as _wb
from hybridsolve._kernels.condest import norm1_estimate
from hybridsolve._lowrank import (DETECT_MIN_N, DiagonalPlusLowRank, LowRankNotFound,
                                  _dense_norm1, _mm, dense_matvec_sub,
                                  detect_lowrank, max_rank, probe_lowrank)
from hybridsolve._protocol import (Factorization, NotApplicable, Solver, Structure,
                                   singular_error)
from hybridsolve._threads import blas_threads
from hybridsolve._tuning import value as _tuned

__all__ = ["WoodburySolver", "WoodburyFactorization", "DenseLUFallback",
           "woodbury_factorize"]

#: An operator with n above this is never formed as a dense matrix (hybridsolve._tuning).
FORM_MAX = _tuned("woodbury_form_max")
#: Refinement steps at most per solve (structured residual).
MAX_REFINE = 4
#: Refinement steps at most with the true dense residual (detected dense A); each costs
#: one pass over A, and normally none is needed: one residual checks the result.
MAX_DENSE_REFINE = 2
#: A detected dense A whose true backward error stays above this many eps after
#: refinement is solved by dense LU instead (the structure did not reproduce A, or
#: Woodbury is too inaccurate for it).
DENSE_BERR_MAX = 100.0


def _fro(x):
    """Frobenius norm without BLAS (np.linalg.norm of a whole array calls a dot product
    that numpy's BLAS may thread, outside any per-thread limit of ours)."""
    return float(np.linalg.norm(np.linalg.norm(x, axis=0))) if x.size else 0.0


class _Fallback(Exception):
    """Woodbury cannot be trusted for this A (reason in str())."""


# ------------------------------------------------------------------ factorizations

class WoodburyFactorization(Factorization):
    """Factors of A = diag(d) + U V: W = D^-1 U and the factored capacitance
    C = I + V W (Cholesky when A is Hermitian positive definite, else pivoted LU).

    ``dense`` (optional) is the dense A itself (detected road): refinement then uses the
    true residual.  Attributes for ``explain()``: ``notes``, ``rank``,
    ``last_backward_error``, ``last_refinement_steps``.
    """

    kind = "woodbury"

    def __init__(self, d, U, V, *, hpd=False, dense=None, norm1=None, normF=None,
                 notes=()):
        n, k = U.shape
        super().__init__((n, n), d.dtype)
        dtype = self.dtype
        if k == 0:                      # plain diagonal: one zero column keeps BLAS happy
            U = np.zeros((n, 1), dtype=dtype)
            V = np.zeros((1, n), dtype=dtype)
            k = 1
        self.d = np.ascontiguousarray(d, dtype=dtype)
        self.U = np.asfortranarray(U, dtype=dtype)
        self.V = np.asfortranarray(V, dtype=dtype)
        self.rank = k
        self.dense = dense
        self._lu = None                 # dense LU taken over after a failed check
        self._eps = float(np.finfo(dtype).eps)
        notes = list(notes)
        self._normV = _fro(self.V)
        # --- ||A|| for the backward errors: the exact ||A||_1 of a dense A (1-norms
        # throughout), else an upper bound on ||A||_2 (2-norms)
        if dense is not None:
            self._ord = 1
            self._normA = float(norm1) if norm1 is not None else _dense_norm1(dense)
        else:
            self._ord = None
            self._normA = float(normF) if normF is not None else self._norm2_bound()
        # --- a zero or tiny d_i makes D^-1 U blow up: not trusted
        absd = np.abs(self.d)
        if n and absd.min() <= n * self._eps * self._normA:
            which = "zero" if absd.min() == 0 else "tiny"
            raise _Fallback(f"diagonal D has {which} entries (min |d_i| = "
                            f"{absd.min():.2e}, ||A|| ~ {self._normA:.2e})")
        # --- factor: W = D^-1 U, C = I + V W, Cholesky (HPD) or LU
        self.W = np.empty((n, k), dtype=dtype, order="F")
        self.C = np.empty((k, k), dtype=dtype, order="F")
        self.ipiv = np.zeros(max(k, 1), dtype=np.intc)
        self.hpd = bool(hpd)
        info = _wb.factor(self.hpd, self.d, self.U, self.V, self.W, self.C, self.ipiv)
        if info > 0 and self.hpd:
            notes.append("capacitance Cholesky failed (not numerically positive "
                         "definite); used pivoted LU")
            self.hpd = False
            info = _wb.factor(False, self.d, self.U, self.V, self.W, self.C, self.ipiv)
        if info == -1:
            raise _Fallback("diagonal D has zero entries")
        if info > 0:
            # det A = det D det C with D nonsingular: A is singular too
            raise singular_error(f"the capacitance matrix I + V D^-1 U ({k} x {k}) of "
                                 f"A = D + U V is exactly singular")
        # --- capacitance condition (k x k: exact ||C^-1||_1, estimated ||C||_1)
        cinv = np.eye(k, dtype=dtype, order="F")
        self._capacitance_solve(cinv)
        # ||C||_1 exactly, rebuilt from its k x k factors; taken no smaller than
        # 1 + ||V|| ||W||: forming C = I + V W loses that much relative to C when its
        # terms cancel (a tiny C from O(1) terms)
        cnorm = max(self._capacitance_norm1(),
                    1.0 + self._normV * _fro(self.W))
        self.capacitance_rcond = 1.0 / max(cnorm * np.abs(cinv).sum(0).max(), 1e-300)
        if not np.isfinite(self.capacitance_rcond) or \
                self.capacitance_rcond < np.sqrt(self._eps):
            raise _Fallback(f"capacitance matrix is ill-conditioned (rcond "
                            f"{self.capacitance_rcond:.1e} < sqrt(eps))")
        notes.append(f"Woodbury rank {k}: capacitance {k} x {k} factored by "
                     f"{'Cholesky' if self.hpd else 'pivoted LU'} (rcond "
                     f"{self.capacitance_rcond:.1e})")
        # --- 1-norm condition estimate of A
        if dense is not None:
            anorm = self._normA
        else:
            anorm = norm1_estimate(
                lambda x, adj: self._matvec(2 if adj else 0, x[:, None])[:, 0], n, dtype)
        ainv = norm1_estimate(
            lambda x, adj: self._raw_solve(2 if adj else 0, x[:, None])[:, 0], n, dtype)
        self.norm1 = float(anorm)
        self.rcond = (1.0 / (anorm * ainv)) if anorm > 0 and ainv > 0 else 0.0
        self.notes = tuple(notes)
        self.last_backward_error = None
        self.last_refinement_steps = None

    # ------------------------------------------------------------------ helpers
    def _norm2_bound(self):
        """Upper bound on ||A||_2 = ||D + U V||_2."""
        return float(np.abs(self.d).max(initial=0.0)
                     + _fro(self.U) * self._normV)

    def _capacitance_norm1(self):
        k = self.rank
        if self.hpd:
            low = np.tril(self.C)
            c = low @ low.conj().T
        else:
            low = np.tril(self.C, -1) + np.eye(k, dtype=self.dtype)
            c = low @ np.triu(self.C)
            for i in range(k - 1, -1, -1):          # undo the row interchanges
                p = self.ipiv[i] - 1
                if p != i:
                    c[[i, p]] = c[[p, i]]
        return float(np.abs(c).sum(0).max(initial=0.0))

    def _capacitance_solve(self, t):
        """t := C^-1 t with the k x k factors of the capacitance matrix (LAPACK)."""
        if self.hpd:
            potrs, = get_lapack_funcs(("potrs",), (self.C,))
            x, info = potrs(self.C, t, lower=1)
        else:
            getrs, = get_lapack_funcs(("getrs",), (self.C,))
            x, info = getrs(self.C, self.ipiv - 1, t)
        t[...] = x

    def _matvec(self, trans, x):
        """op(A) x for x of shape (n, m)."""
        d = self.d[:, None]
        if trans == 0:
            return d * x + _mm(self.U, _mm(self.V, x))
        if trans == 1:
            return d * x + _mm(self.V, _mm(self.U, x, 1), 1)
        return d.conj() * x + _mm(self.V, _mm(self.U, x, 2), 2)

    def _raw_apply(self, trans, b):
        t = np.empty((self.rank, b.shape[1]), dtype=self.dtype, order="F")
        _wb.apply(trans, self.hpd, self.d, self.U, self.V, self.W, self.C, self.ipiv, b, t)

    def _raw_solve(self, trans, x):
        b = np.array(x, dtype=self.dtype, order="F")
        self._raw_apply(trans, b)
        return b

    def _residual(self, trans, x, r):
        """r := r - op(A) x."""
        t = np.empty((self.rank, x.shape[1]), dtype=self.dtype, order="F")
        _wb.residual(trans, self.d, self.U, self.V, x, r, t)

    def _dense_residual(self, trans, x, r):
        """r := r - op(A) x with the dense A itself (one pass over A)."""
        dense_matvec_sub(self.dense, x, r, trans)

    # ------------------------------------------------------------------ solve
    def _refine(self, trans, x, b0, residual, maxsteps):
        """Iterative refinement of x (in place) with ``residual(trans, x, r)``; returns
        (backward error of the final x, steps taken)."""
        ordv = self._ord
        normA = self._normA
        bnorm = np.linalg.norm(b0, ord=ordv, axis=0)
        target = self._eps
        prev = np.inf
        berr = np.inf
        steps = 0
        for step in range(maxsteps + 1):
            r = b0.copy(order="F")
            residual(trans, x, r)
            denom = normA * np.linalg.norm(x, ord=ordv, axis=0) + bnorm
            denom[denom == 0] = 1.0
            berr = float((np.linalg.norm(r, ord=ordv, axis=0) / denom).max(initial=0.0))
            if not np.isfinite(berr) or berr <= target or berr > 0.5 * prev \
                    or step == maxsteps:
                break
            prev = berr
            self._raw_apply(trans, r)
            x += r
            steps += 1
        return berr, steps

    def _solve_inplace(self, b, trans):
        if self._lu is not None:
            self._lu._solve_inplace(b, trans)
            return
        b0 = b.copy(order="F")
        x = b
        with blas_threads(1):
            self._raw_apply(trans, x)
            berr, steps = self._refine(trans, x, b0, self._residual, MAX_REFINE)
            if self.dense is not None:
                # the guard: the true residual of A itself (one pass), refined if needed
                berr, more = self._refine(trans, x, b0, self._dense_residual,
                                          MAX_DENSE_REFINE)
                steps += more
        if self.dense is not None and not berr <= DENSE_BERR_MAX * self._eps:
            self._take_over_by_lu(f"true backward error {berr:.1e} after {steps} "
                                  f"refinement steps")
            x[...] = b0
            self._lu._solve_inplace(x, trans)
            berr = None
        self.last_backward_error = berr
        self.last_refinement_steps = steps
        if berr is not None and (not np.isfinite(berr)
                                 or berr > 1e3 * np.sqrt(self.shape[0]) * self._eps):
            warnings.warn(f"Woodbury solve: backward error {berr:.1e} after {steps} "
                          f"refinement steps (ill-conditioned A?)", LinAlgWarning,
                          stacklevel=3)

    def _take_over_by_lu(self, why):
        """Dense LU of A for this and every later solve (detected dense A only)."""
        lu = DenseLUFallback(np.array(self.dense, order="F", copy=True))
        self._lu = lu
        old = self.rcond
        self.rcond = lu.rcond
        self.notes = self.notes + (f"the detected structure did not reproduce A "
                                   f"({why}): switched to dense LU",)
        if lu.rcond < self._eps <= old:
            # the front door warned from the Woodbury estimate: warn as scipy would
            warnings.warn(f"Ill-conditioned matrix (rcond={lu.rcond:.6g}): result may "
                          f"not be accurate.", LinAlgWarning, stacklevel=4)


class DenseLUFallback(Factorization):
    """Dense pivoted LU (the LU road) of a formed diagonal-plus-low-rank matrix, used
    when Woodbury cannot be trusted; ``notes`` says why."""

    kind = "woodbury"

    def __init__(self, a, notes=()):
        from hybridsolve.roads.lu import LUSolver
        n = a.shape[0]
        super().__init__((n, n), a.dtype)
        try:
            self.lu = LUSolver().factorize(a)
        except LinAlgError as exc:
            raise singular_error(f"{exc} (dense LU fallback of a diagonal-plus-low-rank "
                                 f"A)") from None
        self.rcond = float(self.lu.rcond)
        self.notes = tuple(notes) + ("fell back to dense LU of the formed matrix",)

    def _solve_inplace(self, b, trans):
        self.lu._solve_inplace(b, trans)


def woodbury_factorize(op: DiagonalPlusLowRank) -> Factorization:
    """Factor a :class:`DiagonalPlusLowRank` (with the dense fallback when needed)."""
    n = op.shape[0]
    try:
        with blas_threads(1):
            return WoodburyFactorization(op.d, op.U, op.V, hpd=op.positive_definite)
    except _Fallback as exc:
        why = str(exc)
    if n > FORM_MAX:
        raise LinAlgError(f"Woodbury cannot solve this diagonal-plus-low-rank system "
                          f"({why}) and n = {n} is too large to form densely "
                          f"(> {FORM_MAX})")
    return DenseLUFallback(op.toarray(), notes=(f"Woodbury not used: {why}",))


# ------------------------------------------------------------------ the road

class WoodburySolver(Solver):
    """Diagonal plus low rank: a :class:`DiagonalPlusLowRank` operator, or detected in a
    plain dense A (n >= 1000, no hint)."""
    formats = ("dense", "operator")

    name = "woodbury"
    hints = (None,)          # a hint is obeyed, as scipy: no detection

    def cost(self, structure: Structure):
        n = structure.n
        if structure.format == "operator":
            k = structure.extra.get("lowrank_k")
            if k is None:
                return None, "operator is not a DiagonalPlusLowRank"
            return float(4 * n * k * k + k ** 3 + 20 * n * k)
        if structure.format != "dense":
            return None, f"{structure.format} input"
        if structure.assume_a is not None:   # a hint is obeyed, as scipy: no detection
            return None, f"assume_a={structure.assume_a!r} given: no detection"
        if n < DETECT_MIN_N:
            return None, f"n = {n} < {DETECT_MIN_N}: detection cannot pay"
        lb, ub = structure.lower_bandwidth, structure.upper_bandwidth
        if (lb is not None and lb < n - 1) or (ub is not None and ub < n - 1):
            return None, "A has zero corners (banded or triangular): not D + low rank"
        if structure.finite is False:
            return None, "A has infs or NaNs"
        seen = structure.extra.get("previews", {}).get(self.name)
        if seen is not None and "declined" in seen:
            return None, f"no diagonal-plus-low-rank structure: {seen['declined']}"
        k = max_rank(n)
        # detection reads O(n k) entries; each solve checks with one pass over A (plus
        # the n^2 inspection the front door already paid); priced at a few passes
        return float(8 * n * n + 4 * n * k * k)

    def preview(self, a, request):
        """The rank test of the detection (O((n/10)^2) entries read, a few small LUs)
        before the front door copies A: a matrix that fails it is declined without
        detection; one that passes is borrowed -- read in place, so a solve by
        Woodbury needs no n x n copy (the factorization keeps a reference to A for its
        residual checks, and a one-shot call ends before the caller can change A)."""
        if a.shape[0] < DETECT_MIN_N:
            return None
        try:
            test = probe_lowrank(a)
        except LowRankNotFound as exc:
            return {"declined": str(exc)}
        return {"borrow": True, "rank_test": test}

    def factorize(self, a, structure: Structure):
        if isinstance(a, DiagonalPlusLowRank):
            return woodbury_factorize(a)
        if not isinstance(a, np.ndarray) or a.ndim != 2 or a.shape[0] != a.shape[1]:
            raise NotApplicable("woodbury: expects a square ndarray or DiagonalPlusLowRank")
        n = a.shape[0]
        with blas_threads(1):
            try:
                seen = {} if structure is None else \
                    structure.extra.get("previews", {}).get(self.name) or {}
                d, U, V, info = detect_lowrank(
                    a, norm1=None if structure is None else structure.norm1,
                    probe=seen.get("rank_test"))
            except LowRankNotFound as exc:
                raise NotApplicable(
                    f"no diagonal-plus-low-rank structure: {exc}") from None
            if info["rank"] > max_rank(n):
                raise NotApplicable("no diagonal-plus-low-rank structure: rank too high")
            try:
                f = WoodburyFactorization(
                    d, U, V, dense=a, norm1=info["norm1"],
                    notes=(f"detected A = D + U V of rank {info['rank']} in dense A "
                           f"(probe error {info['probe_error']:.1e})",))
            except _Fallback as exc:
                raise NotApplicable(f"diagonal-plus-low-rank structure found but "
                                    f"Woodbury cannot be trusted: {exc}") from None
        return f
