# cython: language_level=3
"""Tile kernels of the tiled Dask roads (``hybridsolve.roads.dask``).

(The panel LUs of the tournament use ``hybridsolve._kernels.lu.getrf``.)  Each function
works in place on F-contiguous tiles, fused over the four LAPACK types,
and runs without the GIL (so a threaded Dask worker runs several tiles at once):

* ``potrf(a)``          the lower Cholesky factor of a diagonal tile (our recursive
                        kernel, ``cholesky_factor``); returns info
* ``trsm(t, b, ...)``   b := op(T)^-1 b (left) or b op(T)^-1 (right)
* ``gemm(c, a, b, ..)`` c := c - op(a) op(b)       (the trailing update of a tile)
* ``herk(c, a)``        lower(c) := lower(c - a a^H)  (the update of a diagonal tile)

trans codes: 0 N, 1 T, 2 C (conjugate transpose), as ``scipy.linalg.lu_solve``.
The Python layer makes the copies (a Dask task never modifies its inputs).
"""
from hybridsolve._kernels._lapack cimport lapack_t, trsm as _trsm, gemm as _gemm, \
    herk as _herk
from hybridsolve._kernels.cholesky cimport cholesky_factor

cdef char *_TRANS[3]
_TRANS[0] = "N"
_TRANS[1] = "T"
_TRANS[2] = "C"


def _code(int trans):
    if trans < 0 or trans > 2:
        raise ValueError("trans must be 0, 1 or 2")
    return trans


def potrf(lapack_t[::1, :] a):
    """Lower Cholesky factor of the Hermitian tile ``a`` in place (potrf semantics: only
    the lower triangle is read and written).  Returns info (j > 0: the leading minor of
    order j is not positive definite)."""
    cdef int n = a.shape[0]
    cdef int info
    if a.shape[1] != n:
        raise ValueError("potrf: the tile must be square")
    if n == 0:
        return 0
    with nogil:
        info = cholesky_factor(True, n, &a[0, 0], n)
    return info


def trsm(lapack_t[::1, :] t, lapack_t[::1, :] b, bint left, bint lower, int trans,
         bint unit):
    """``b := op(t)^-1 b`` (``left``) or ``b := b op(t)^-1``, in place; ``t`` triangular
    (its ``lower`` or upper triangle; ``unit``: ones on the diagonal)."""
    cdef int m = b.shape[0], n = b.shape[1]
    cdef int k = t.shape[0]
    cdef lapack_t one = 1
    _code(trans)
    if t.shape[1] != k or k != (m if left else n):
        raise ValueError("trsm: incompatible tile shapes")
    if m == 0 or n == 0:
        return
    with nogil:
        _trsm("L" if left else "R", "L" if lower else "U", _TRANS[trans],
              "U" if unit else "N", m, n, one, &t[0, 0], k, &b[0, 0], m)


def gemm(lapack_t[::1, :] c, lapack_t[::1, :] a, lapack_t[::1, :] b, int transa,
         int transb):
    """``c := c - op(a) op(b)`` in place."""
    cdef int m = c.shape[0], n = c.shape[1]
    cdef int k = a.shape[0] if transa else a.shape[1]
    cdef lapack_t one = 1, minus = -1
    _code(transa)
    _code(transb)
    if (a.shape[1] if transa else a.shape[0]) != m or \
            (b.shape[0] if transb else b.shape[1]) != n or \
            (b.shape[1] if transb else b.shape[0]) != k:
        raise ValueError("gemm: incompatible tile shapes")
    if m == 0 or n == 0 or k == 0:
        return
    with nogil:
        _gemm(_TRANS[transa], _TRANS[transb], m, n, k, minus, &a[0, 0], a.shape[0],
              &b[0, 0], b.shape[0], one, &c[0, 0], m)


def herk(lapack_t[::1, :] c, lapack_t[::1, :] a):
    """``lower(c) := lower(c - a a^H)`` in place (syrk for real types); the strict upper
    triangle of ``c`` is not touched."""
    cdef int n = c.shape[0], k = a.shape[1]
    if c.shape[1] != n or a.shape[0] != n:
        raise ValueError("herk: incompatible tile shapes")
    if n == 0 or k == 0:
        return
    with nogil:
        _herk("L", "N", n, k, -1.0, &a[0, 0], n, 1.0, &c[0, 0], n)
