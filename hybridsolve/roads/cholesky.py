"""The Cholesky road: Hermitian (real symmetric) positive definite A = L L^H.

Half the flops of LU and no pivoting.  When the structure was *detected* (Hermitian
with a real positive diagonal) definiteness is only a guess: the kernel's early failure
is the test, and on failure the work array is restored to A's values and
``NotApplicable`` lets the dispatcher fall back (to LU) on the same buffer.  With the
``assume_a="pos"`` hint a failure is the user's error: ``LinAlgError`` as scipy.

A C-ordered work array is A^T in Fortran order.  The triangle of that buffer M which
holds A's ``lower`` triangle is the other one, and the Hermitian matrix it defines is
conj(H) = H^T (H: the Hermitian matrix the hint names).  We factor it as it lies and
solve ``H x = b`` as ``conj(H) conj(x) = conj(b)`` (nothing to do for real types),
instead of a transposing copy.
"""
from __future__ import annotations

from numpy.linalg import LinAlgError

from hybridsolve._kernels import cholesky as _k
from hybridsolve._protocol import Factorization, NotApplicable, Solver, Structure
from hybridsolve._threads import blas_threads
from hybridsolve.roads._dense import conjugated_call, square_lapack_view

__all__ = ["CholeskySolver", "CholeskyFactorization"]

class CholeskyFactorization(Factorization):
    """``G = C C^H`` (lower) or ``G = C^H C`` (upper) of the Hermitian matrix G held in
    one triangle of ``factor``; G is H itself or, for a transposed buffer, conj(H).

    ``rcond`` (LAPACK ``?pocon``, 1-norm) is computed on first access: a factor reused
    for many solves pays for it once, a caller that never asks never pays.
    """

    kind = "cholesky"

    def __init__(self, factor, lower, conjugated, anorm):
        super().__init__(factor.shape, factor.dtype)
        self.factor = factor            # F-contiguous, the factor in one triangle
        self.lower = bool(lower)        # which triangle of ``factor`` holds it
        self.conjugated = bool(conjugated)  # True: factor is of conj(H), not H
        self.anorm = float(anorm)
        self._rcond = None

    @property
    def rcond(self):
        if self._rcond is None:
            if self.anorm == 0.0 and self.shape[0] > 0:   # as ?pocon: A = 0
                self._rcond = 0.0
            else:
                rc, info = _k.pocon(self.factor, self.anorm, self.lower)
                self._rcond = float(rc) if info == 0 else float("nan")
        return self._rcond

    def _solve_inplace(self, b, trans):
        # op(H) is H for trans 0 and 2 (H^H = H), conj(H) for trans 1 (H^T = conj(H)).
        # We hold G = conj(H) when conjugated: solve with conj when exactly one holds.
        flip = self.dtype.kind == "c" and (self.conjugated != (trans == 1))
        conjugated_call(flip, b, _k.solve_array, self.factor, b, self.lower)


class CholeskySolver(Solver):
    """Recursive Cholesky; see the module docstring."""
    formats = ("dense",)

    name = "cholesky"
    hints = (None, "pos")

    def cost(self, structure: Structure):
        if structure.assume_a != "pos":
            if structure.assume_a is not None:
                return None, f"assume_a={structure.assume_a!r} is not 'pos'"
            if not structure.hermitian:
                return None, ("not Hermitian" if structure.is_complex else "not symmetric")
            if not structure.diag_real_positive:
                return None, "diagonal not real and positive: cannot be positive definite"
        n = float(structure.n)
        flops = n ** 3 / 3.0 + 2.0 * n * n
        return 4.0 * flops if structure.is_complex else flops

    def factorize(self, a, structure: Structure) -> CholeskyFactorization:
        buf, transposed = square_lapack_view(a, "Cholesky")
        pos = structure.assume_a == "pos"
        # Triangle of A that is meaningful.  A detected Hermitian A: either one, and we
        # take the one that is the buffer's lower triangle (the faster kernel leaves).
        lower_a = bool(structure.lower) if pos else not transposed
        # A's lower triangle is the upper one of the transposed buffer.
        lower = lower_a != transposed
        n = buf.shape[0]
        known = structure.norm1 if not pos and structure.norm1 is not None else -1.0
        diag = None if pos else buf.diagonal().copy()
        with blas_threads():     # the thread policy's count, where BLAS allows per thread
            info, anorm = _k.factor_array(buf, lower, known)
        if info > 0:
            if pos:
                # "singular" as scipy says for a failed 'pos' solve (its tests match it)
                raise LinAlgError(f"A singular or not positive definite matrix detected: "
                                  f"the leading minor of order {info} is not positive "
                                  f"definite")
            _k.restore_hermitian(buf, diag, lower)
            raise NotApplicable(f"not positive definite: leading minor {info} of {n} "
                                "is not positive")
        if info < 0:  # cannot happen with valid arguments: a bug, not the user's error
            raise RuntimeError(f"Cholesky kernel: illegal argument {-info}")
        return CholeskyFactorization(buf, lower, transposed, anorm)
