"""Dense LU with partial pivoting: the road every square, nonsingular A can take.

The kernel is ``hybridsolve._kernels.lu`` (recursive Toledo-style getrf, own leaves,
level-3 updates through scipy's BLAS).  A C-ordered work array is factored as A^T in
place (no transposing copy) and solved with the transposed ``trans``.
"""
from __future__ import annotations

import numpy as np

from hybridsolve._kernels import lu as _lu
from hybridsolve._protocol import (
    HINTS, Factorization, Solver, Structure, fortran_view, result_dtype, singular_error,
)
from hybridsolve._threads import blas_threads

__all__ = ["LUSolver", "LUFactorization"]

_factor_array = _lu.factor_array
_solve_array = _lu.solve_array
_rcond_array = _lu.rcond_array
_LAPACK_CHARS = frozenset("fdFD")
_INTC = np.dtype(np.intc)


class LUFactorization(Factorization):
    """P L U factors of A (or of A^T when ``transposed``: then the stored buffer is the
    LU of A^T, and solves flip N <-> T; A^H x = b is solved as M conj(x) = conj(b)).

    Attributes
    ----------
    lu : ndarray, F-contiguous (n, n)
        L (unit lower, below the diagonal) and U of the stored matrix M (A or A^T).
    piv : ndarray of C int
        LAPACK's 1-based row interchanges of M.
    transposed : bool
        Whether M is A^T.
    rcond : float
        LAPACK gecon reciprocal condition estimate of A in the 1-norm.  Computed on
        first access (gecon costs about 10-15% of the factorization at n = 128..2000,
        so a caller that never looks does not pay for it), then cached.
    anorm : float
        ||A||_1 (given by the Structure, or computed before factoring).
    """

    kind = "lu"

    def __init__(self, lu, piv, transposed, anorm, rcond=None):
        n = lu.shape[0]
        self.shape = (n, n)
        self.dtype = lu.dtype
        self.lu = lu
        self.piv = piv
        self.transposed = transposed
        self.anorm = anorm
        self._rcond = rcond

    @property
    def rcond(self):
        rc = self._rcond
        if rc is None:
            rc = self._rcond = _rcond_array(self.lu, self.anorm, self.transposed)
        return rc

    def _solve_inplace(self, b, trans):
        _solve_array(self.lu, self.piv, b, trans, self.transposed)


class LUSolver(Solver):
    """Pivoted LU for any dense square A: (2/3) n^3 flops (x4 for complex, in real ops)."""
    formats = ("dense",)

    name = "lu"
    hints = tuple(h for h in HINTS if h != "pos")   # 'pos' asks for Cholesky, as scipy
    #: Run gecon inside factorize (True) or on first access of ``.rcond`` (False).
    eager_rcond = False

    def cost(self, structure: Structure):
        if structure.assume_a == "pos":
            return None, "assume_a='pos' asks for Cholesky (no fallback, as scipy)"
        n = float(structure.n)
        flops = (2.0 / 3.0) * n * n * n + 2.0 * n * n   # factor + one solve
        return 4.0 * flops if structure.dtype.kind == "c" else flops

    def factorize(self, a, structure: Structure | None = None) -> LUFactorization:
        """Factor ``a`` in place (it may be overwritten; C- or F-contiguous, or any array,
        which is then copied).  Raises LinAlgError ("singular") on an exactly zero pivot."""
        if not isinstance(a, np.ndarray) or a.dtype.char not in _LAPACK_CHARS:
            a = np.asarray(a)
            a = np.array(a, dtype=result_dtype(a.dtype), order="F", copy=True)
        if a.ndim != 2 or a.shape[0] != a.shape[1]:
            raise ValueError(f"expected a square matrix, got shape {a.shape}")
        if not (a.flags.writeable and a.flags.aligned and a.dtype.isnative):
            a = np.array(a, order="F", dtype=a.dtype.newbyteorder("="))
        buf, transposed = fortran_view(a)
        ipiv = np.empty(buf.shape[0], dtype=_INTC)
        anorm = None if structure is None else structure.norm1
        eager = self.eager_rcond
        with blas_threads():     # the thread policy's count, where BLAS allows per thread
            info, anorm, rcond = _factor_array(buf, ipiv, -1.0 if anorm is None else anorm,
                                               transposed, eager)
        if info > 0:
            raise singular_error(f"U[{info - 1}, {info - 1}] is exactly zero")
        return LUFactorization(buf, ipiv, transposed, anorm, rcond if eager else None)
