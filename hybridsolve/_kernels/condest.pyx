# cython: language_level=3
"""One condition estimator for every road: LAPACK's xLACN2 (Hager's method with Higham's
refinements) driven by reverse communication.

``hager_rcond`` (cimport it from ``condest.pxd``) is xGECON / xPOCON / xTRCON step for
step -- the same xLACN2 calls on the same vectors -- with every triangular solve a plain
BLAS trsv instead of xLATRS.  xLATRS guards each solve against overflow with a
column-norm pass and, when its growth bound is pessimistic (often, for random factors),
a scalar loop: at n = 4000 gecon measured ~90 ms where these trsv calls need ~3 ms per
triangle.  A solve that overflows (the sum of |x| is not finite) returns 1: the caller
runs LAPACK's routine, whose scaling handles it.

``norm1_estimate`` is the Python face of the same xLACN2 loop, for a map given only by
callbacks (sparse factors, operators): the estimate LAPACK would compute for B given
B x and B^H x.  The small-n kernel (``small.pyx``) drives the same xLACN2 with its own
register-resident solves.
"""
cimport numpy as cnp
from libc.math cimport isfinite
from libc.stdlib cimport free, malloc

import numpy as np

from hybridsolve._kernels._lapack cimport lapack_t, absval, lacn2, trsv

cnp.import_array()


cdef inline void _apply_inv(int kind, int n, lapack_t *f, int ldf, lapack_t *x,
                            bint adjoint, int j) noexcept nogil:
    """x := B^-1 x (``adjoint``: B^-H x, B^-T x for real) where B is the matrix the factors
    in ``f`` stand for, without pivots (they do not change a 1-norm): kind 0/1: B = L U
    (``getrf``'s unit-lower L and U), kind 2: B = L L^H (``potrf`` lower), kind 3:
    B = U^H U (``potrf`` upper; B is Hermitian, so ``adjoint`` changes nothing for 2/3),
    kind 4: B = the upper triangle of f, kind 5: its lower triangle (non-unit).
    ``j`` >= 0: x is e_j, so the first triangular sweep skips the rows where the result
    stays zero (a lower sweep starts at row j, an upper one stops there); j < 0: dense x."""
    cdef char *t = "C" if (lapack_t is floatcomplex or lapack_t is doublecomplex) else "T"
    cdef int s = j if j > 0 else 0                 # lower sweep: rows s..n-1
    cdef int e = j + 1 if j >= 0 else n            # upper sweep: rows 0..e-1
    cdef size_t off = <size_t>s * ldf + s
    if kind == 2:
        trsv("L", "N", "N", n - s, f + off, ldf, x + s, 1)
        trsv("L", t, "N", n, f, ldf, x, 1)
    elif kind == 3:
        trsv("U", t, "N", n - s, f + off, ldf, x + s, 1)
        trsv("U", "N", "N", n, f, ldf, x, 1)
    elif kind == 4:
        if not adjoint:
            trsv("U", "N", "N", e, f, ldf, x, 1)
        else:
            trsv("U", t, "N", n - s, f + off, ldf, x + s, 1)
    elif kind == 5:
        if not adjoint:
            trsv("L", "N", "N", n - s, f + off, ldf, x + s, 1)
        else:
            trsv("L", t, "N", e, f, ldf, x, 1)
    elif not adjoint:
        trsv("L", "N", "U", n - s, f + off, ldf, x + s, 1)
        trsv("U", "N", "N", n, f, ldf, x, 1)
    else:
        trsv("U", t, "N", n - s, f + off, ldf, x + s, 1)
        trsv("L", t, "U", n, f, ldf, x, 1)



cdef inline bint _finite_sum(int n, lapack_t *x) noexcept nogil:
    cdef int i
    cdef double s = 0.0
    for i in range(n):
        s += absval(x[i])
    return isfinite(s)


cdef int hager_rcond(int kind, int n, lapack_t *f, int ldf, double anorm,
                     double *rcond) noexcept nogil:
    """See condest.pxd.  Kind 1: the factors are those of M = A^T, and A's 1-norm
    estimate is M's infinity-norm one: xLACN2's B x and B^H x swap roles, exactly as
    gecon's NORM = 'I' (KASE1 = 2).  A Cholesky factor's matrix is Hermitian: both roles
    are A^-1, as in xPOCON."""
    cdef lapack_t *x = <lapack_t *>malloc(2 * <size_t>n * sizeof(lapack_t))
    cdef int *isgn = <int *>malloc(<size_t>n * sizeof(int))
    cdef int isave[3]
    cdef int kase = 0
    cdef double est = 0.0
    cdef bint op_adj = kind == 1 or kind >= 6
    if kind >= 6:
        kind -= 2
    if x == NULL or isgn == NULL:
        free(x)
        free(isgn)
        return -100
    if anorm == 0:
        rcond[0] = 0.0
        free(x)
        free(isgn)
        return 0
    while True:
        lacn2(n, x + n, x, isgn, &est, &kase, isave)
        if kase == 0:
            break
        _apply_inv(kind, n, f, ldf, x, op_adj != (kase == 2),
                   isave[1] - 1 if kase == 1 and isave[0] == 3 else -1)
        if not _finite_sum(n, x):
            free(x)
            free(isgn)
            return 1
    free(x)
    free(isgn)
    rcond[0] = (1.0 / est) / anorm if est != 0 else 0.0
    return 0


# ------------------------------------------------------------------ the Python face

def _drive(lapack_t[::1] x, lapack_t[::1] v, int[::1] isgn, apply, xarr):
    cdef int isave[3]
    cdef int kase = 0
    cdef int n = x.shape[0]
    cdef double est = 0.0
    while True:
        lacn2(n, &v[0], &x[0], &isgn[0], &est, &kase, isave)
        if kase == 0:
            return est
        y = apply(xarr.copy(), kase == 2)
        xarr[...] = y
        if not _finite_sum(n, &x[0]):
            return float("inf")


_LAPACK_TYPES = frozenset("fdFD")


def norm1_estimate(apply, n, dtype):
    """Estimate ``||B||_1`` of an n x n linear map from ``apply(x, adjoint)``.

    Parameters
    ----------
    apply : callable
        ``apply(x, adjoint)`` returns ``B @ x`` (``adjoint`` False) or ``B^H @ x``
        (``adjoint`` True) for a 1-D array ``x`` of length ``n`` and dtype ``dtype``
        (a fresh array the callback may overwrite and return).  For ``||A^-1||_1`` pass
        solves with A and A^H.
    n : int
        The order of B.
    dtype : dtype
        float32, float64, complex64 or complex128 (the arithmetic of the estimate).

    Returns
    -------
    float
        LAPACK xLACN2's estimate (a lower bound of ``||B||_1``, almost always within a
        factor 3): at most 5 iterations of Hager's method plus Higham's alternating-sign
        vector, 4 to 11 calls of ``apply``.  ``inf`` when a result is not finite.
    """
    n = int(n)
    dtype = np.dtype(dtype)
    if dtype.char not in _LAPACK_TYPES:
        raise TypeError(f"norm1_estimate: dtype must be float32, float64, complex64 or "
                        f"complex128, got {dtype}")
    if n <= 0:
        return 0.0
    x = np.zeros(n, dtype=dtype)
    return _drive(x, np.zeros(n, dtype=dtype), np.zeros(n, dtype=np.intc), apply, x)
