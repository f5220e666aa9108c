"""The triangular road: A with lower_bandwidth == 0 (upper triangular) or
upper_bandwidth == 0 (lower triangular) needs no factorization at all, only a
substitution per right-hand side (n^2 flops).

The factorization keeps the work buffer as it is.  A C-ordered buffer is A^T in Fortran
order: an upper triangular A is a lower triangular buffer M = A^T, and
``A x = b`` is ``M^T x = b``, ``A^T x = b`` is ``M x = b``, ``A^H x = b`` is
``conj(M) x = b``, i.e. ``M conj(x) = conj(b)``.
"""
from __future__ import annotations

import numpy as np

from hybridsolve._kernels import triangular as _k
from hybridsolve._protocol import Factorization, Solver, Structure, singular_error
from hybridsolve.roads._dense import conjugated_call, square_lapack_view

__all__ = ["TriangularSolver", "TriangularFactorization"]

# Pre-selected specialisations of the fused kernel: skips the per-call type dispatch.
_TRTRS = {np.dtype(np.float32): _k.trtrs["float"],
          np.dtype(np.float64): _k.trtrs["double"],
          np.dtype(np.complex64): _k.trtrs["float complex"],
          np.dtype(np.complex128): _k.trtrs["double complex"]}


class TriangularFactorization(Factorization):
    """A triangular matrix kept as is; ``rcond`` (LAPACK ``?trcon`` in A's 1-norm) is
    computed on first access."""

    kind = "triangular"

    def __init__(self, t, lower, transposed):
        super().__init__(t.shape, t.dtype)
        self.t = t                       # F-contiguous buffer: A, or A^T when transposed
        self.lower = bool(lower)         # triangle of ``t`` that holds the matrix
        self.transposed = bool(transposed)
        self._rcond = None

    @property
    def rcond(self):
        if self._rcond is None:
            # ||A||_1 is the infinity norm of the buffer when it holds A^T.
            rc, info = _k.trcon(self.t, self.lower, False, "I" if self.transposed else "1")
            self._rcond = float(rc) if info == 0 else float("nan")
        return self._rcond

    def _solve_inplace(self, b, trans):
        flip = False
        if self.transposed:
            if trans == 0:
                trans = 1
            elif trans == 1:
                trans = 0
            else:                         # conj(M) x = b
                trans = 0
                flip = self.dtype.kind == "c"
        info = conjugated_call(flip, b, _TRTRS[self.dtype], self.t, b, self.lower, trans,
                               False)
        if info > 0:  # the diagonal was checked at factorize(); keep the contract anyway
            raise singular_error(f"diagonal entry {info - 1} of the triangular matrix "
                                 "is zero")


class TriangularSolver(Solver):
    """Forward/back substitution for triangular A; see the module docstring."""
    formats = ("dense",)

    name = "triangular"
    # a hint whose band (or measured band) is triangular: n = 1 under "gen" too
    hints = (None, "gen", "diagonal", "banded", "upper triangular", "lower triangular")

    def cost(self, structure: Structure):
        if structure.lower_bandwidth != 0 and structure.upper_bandwidth != 0:
            return None, "not triangular"
        n = float(structure.n)
        return 4.0 * n * n if structure.is_complex else n * n

    def factorize(self, a, structure: Structure) -> TriangularFactorization:
        buf, transposed = square_lapack_view(a, "triangular")
        if structure.lower_bandwidth == 0:
            lower_a = False                # upper triangular A
        elif structure.upper_bandwidth == 0:
            lower_a = True
        else:
            raise ValueError("TriangularSolver: the structure is not triangular")
        zero = np.flatnonzero(buf.diagonal() == 0)
        if zero.size:
            raise singular_error(f"diagonal entry {int(zero[0])} of the triangular matrix "
                                 "is zero")
        return TriangularFactorization(buf, lower_a != transposed, transposed)
