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
* ``abs_sums(s, ..)``   row and column sums of |s| in one pass (any strides, read
                        only): the tiled Cholesky's ||A||_1 and finiteness check

trans codes: 0 N, 1 T, 2 C (conjugate transpose), as ``scipy.linalg.lu_solve``.
The Python layer makes the copies (a Dask task never modifies its inputs).
"""
from libc.math cimport fabs, hypot

import numpy as np

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


cdef inline double _mag(lapack_t x) noexcept nogil:
    if lapack_t is float or lapack_t is double:
        return fabs(x)
    else:
        return hypot(x.real, x.imag)


def abs_sums(const lapack_t[:, :] s, bint triangle, bint upper):
    """Row and column sums of |s| for a tile ``s`` as stored (any strides), in one pass
    in its memory order: ``(rows, cols, rest)``.  With ``triangle`` (a diagonal tile)
    only the lower triangle with the diagonal (the upper one when ``upper``) is
    summed, and ``rest`` is the sum of |.| over the other entries (for the finiteness
    check of the whole tile); else ``rest`` is 0."""
    if s.strides[0] > s.strides[1]:     # rows contiguous: the columns of its transpose
        cols_t, rows_t, rest_t = abs_sums(s.T, triangle, not upper)
        return rows_t, cols_t, rest_t
    cdef Py_ssize_t r = s.shape[0], c = s.shape[1], i, j, lo, hi
    rows = np.zeros(r)
    cols = np.zeros(c)
    cdef double[::1] ar = rows
    cdef double[::1] ac = cols
    cdef double rest = 0.0, acc, v
    with nogil:
        for j in range(c):                # a column at a time, down the column
            lo, hi = 0, r
            if triangle:
                if upper:
                    hi = min(j + 1, r)
                else:
                    lo = min(j, r)
            acc = 0.0
            for i in range(lo, hi):
                v = _mag(s[i, j])
                acc = acc + v
                ar[i] += v
            ac[j] = acc
            for i in range(lo):
                rest += _mag(s[i, j])
            for i in range(hi, r):
                rest += _mag(s[i, j])
    return rows, cols, rest
