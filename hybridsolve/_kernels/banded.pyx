# cython: language_level=3
"""Tridiagonal and band roads: pack the diagonals / LAPACK band storage of A straight from
the dense work array (either layout) in one pass, then LAPACK gttrf/gttrs/gtcon and
gbtrf/gbtrs/gbcon through the shim.

The work array is seen as its column-major buffer ``M``: ``M = A`` (F-ordered work) or
``M = A^T`` (C-ordered work, ``transposed``).  Packing always walks ``M`` column by
column (contiguous reads) and scatters into the small band buffer, so no transposing copy
is made and the factors are always those of A itself.
"""
cimport numpy as cnp
import numpy as np

from hybridsolve._kernels._lapack cimport (
    lapack_t, gttrf_lapack, gttrs_lapack, gtcon_lapack,
    gbtrf_lapack, gbtrs_lapack, gbcon_lapack,
)

cnp.import_array()


cdef void tridiag_extract(const lapack_t *m, Py_ssize_t n, bint transposed, lapack_t *dl,
                          lapack_t *d, lapack_t *du) noexcept nogil:
    """dl[i] = A[i+1, i], d[i] = A[i, i], du[i] = A[i, i+1] from column-major M."""
    cdef Py_ssize_t i
    for i in range(n):
        d[i] = m[i + i * n]
    if transposed:
        for i in range(n - 1):
            dl[i] = m[i + (i + 1) * n]
            du[i] = m[(i + 1) + i * n]
    else:
        for i in range(n - 1):
            dl[i] = m[(i + 1) + i * n]
            du[i] = m[i + (i + 1) * n]


cdef void band_pack(const lapack_t *m, Py_ssize_t n, bint transposed, int kl, int ku,
                    lapack_t *ab, Py_ssize_t ldab) noexcept nogil:
    """LAPACK gbtrf band storage: ab[kl+ku+i-j, j] = A[i, j] for max(0, j-ku) <= i <=
    min(n-1, j+kl); rows 0..kl-1 of ab are gbtrf's workspace (not set)."""
    cdef Py_ssize_t c, i, j, lo, hi
    cdef const lapack_t *col
    for c in range(n):
        col = m + c * n
        if transposed:
            # column c of M is row c of A: A[c, j] for c-kl <= j <= c+ku
            lo = c - kl if c - kl > 0 else 0
            hi = c + ku if c + ku < n - 1 else n - 1
            for j in range(lo, hi + 1):
                ab[(kl + ku + c - j) + j * ldab] = col[j]
        else:
            lo = c - ku if c - ku > 0 else 0
            hi = c + kl if c + kl < n - 1 else n - 1
            for i in range(lo, hi + 1):
                ab[(kl + ku + i - c) + c * ldab] = col[i]


def _mbuf(cnp.ndarray work):
    """(pointer-holder, transposed) sanity check for a square contiguous work array."""
    if work.ndim != 2 or work.shape[0] != work.shape[1]:
        raise ValueError("work must be square")
    if work.flags.f_contiguous:
        return False
    if work.flags.c_contiguous:
        return True
    raise ValueError("work must be C- or F-contiguous")


def extract_tridiagonal(cnp.ndarray work):
    """(dl, d, du) of A, new arrays, from the square contiguous ``work`` (holding A)."""
    cdef bint tr = _mbuf(work)
    cdef Py_ssize_t n = work.shape[0]
    cdef int t = cnp.PyArray_TYPE(work)
    dl = np.zeros(max(n - 1, 0), dtype=work.dtype)
    d = np.empty(n, dtype=work.dtype)
    du = np.zeros(max(n - 1, 0), dtype=work.dtype)
    cdef void *m = cnp.PyArray_DATA(work)
    cdef void *pl = cnp.PyArray_DATA(dl)
    cdef void *pd = cnp.PyArray_DATA(d)
    cdef void *pu = cnp.PyArray_DATA(du)
    if n == 0:
        return dl, d, du
    with nogil:
        if t == cnp.NPY_DOUBLE:
            tridiag_extract(<const double *>m, n, tr, <double *>pl, <double *>pd,
                            <double *>pu)
        elif t == cnp.NPY_FLOAT:
            tridiag_extract(<const float *>m, n, tr, <float *>pl, <float *>pd,
                            <float *>pu)
        elif t == cnp.NPY_CDOUBLE:
            tridiag_extract(<const double complex *>m, n, tr, <double complex *>pl,
                            <double complex *>pd, <double complex *>pu)
        elif t == cnp.NPY_CFLOAT:
            tridiag_extract(<const float complex *>m, n, tr, <float complex *>pl,
                            <float complex *>pd, <float complex *>pu)
        else:
            t = -1
    if t == -1:
        raise TypeError(f"unsupported dtype {work.dtype}")
    return dl, d, du


def pack_band(cnp.ndarray work, int kl, int ku):
    """LAPACK gbtrf band storage, shape (2*kl+ku+1, n), F-ordered, of the A held by the
    square contiguous ``work``; entries of A outside the band are ignored."""
    cdef bint tr = _mbuf(work)
    cdef Py_ssize_t n = work.shape[0]
    cdef int t = cnp.PyArray_TYPE(work)
    if kl < 0 or ku < 0:
        raise ValueError("kl and ku must be >= 0")
    ab = np.zeros((2 * kl + ku + 1, n), dtype=work.dtype, order="F")
    cdef Py_ssize_t ldab = 2 * kl + ku + 1
    cdef void *m = cnp.PyArray_DATA(work)
    cdef void *p = cnp.PyArray_DATA(ab)
    if n == 0:
        return ab
    with nogil:
        if t == cnp.NPY_DOUBLE:
            band_pack(<const double *>m, n, tr, kl, ku, <double *>p, ldab)
        elif t == cnp.NPY_FLOAT:
            band_pack(<const float *>m, n, tr, kl, ku, <float *>p, ldab)
        elif t == cnp.NPY_CDOUBLE:
            band_pack(<const double complex *>m, n, tr, kl, ku, <double complex *>p, ldab)
        elif t == cnp.NPY_CFLOAT:
            band_pack(<const float complex *>m, n, tr, kl, ku, <float complex *>p, ldab)
        else:
            t = -1
    if t == -1:
        raise TypeError(f"unsupported dtype {work.dtype}")
    return ab


cdef char *_TRANS[3]
_TRANS[0] = b"N"
_TRANS[1] = b"T"
_TRANS[2] = b"C"


cdef bint _nothing_to_solve(int n, int nrhs, int trans) except -1:
    """The solves' check of ``trans`` (0, 1, 2: _TRANS's index); True when n or nrhs is 0."""
    if trans < 0 or trans > 2:
        raise ValueError("trans must be 0, 1 or 2")
    return n == 0 or nrhs == 0


# ---------------------------------------------------------------- tridiagonal LAPACK

def gttrf(lapack_t[::1] dl, lapack_t[::1] d, lapack_t[::1] du, lapack_t[::1] du2,
          int[::1] ipiv):
    """In-place LU of the tridiagonal (dl, d, du) (du2: n-2 fill, ipiv: n); LAPACK info."""
    cdef int n = d.shape[0], info
    if dl.shape[0] < n - 1 or du.shape[0] < n - 1 or du2.shape[0] < n - 2 \
            or ipiv.shape[0] < n:
        raise ValueError("gttrf: array too short")
    if n == 0:
        return 0
    with nogil:
        info = gttrf_lapack(n, &dl[0] if n > 1 else NULL, &d[0],
                            &du[0] if n > 1 else NULL, &du2[0] if n > 2 else NULL,
                            &ipiv[0])
    return info


def gttrs(lapack_t[::1] dl, lapack_t[::1] d, lapack_t[::1] du, lapack_t[::1] du2,
          int[::1] ipiv, lapack_t[::1, :] b, int trans=0):
    """Solve with gttrf factors; ``b`` (F-contiguous n x nrhs) overwritten.  trans 0/1/2."""
    cdef int n = d.shape[0], nrhs = b.shape[1], info
    if b.shape[0] != n:
        raise ValueError("gttrs: b has the wrong number of rows")
    if dl.shape[0] < n - 1 or du.shape[0] < n - 1 or du2.shape[0] < n - 2 \
            or ipiv.shape[0] < n:
        raise ValueError("gttrs: array too short")
    if _nothing_to_solve(n, nrhs, trans):
        return 0
    with nogil:
        info = gttrs_lapack(_TRANS[trans], n, nrhs, &dl[0] if n > 1 else NULL, &d[0],
                            &du[0] if n > 1 else NULL, &du2[0] if n > 2 else NULL,
                            &ipiv[0], &b[0, 0], n)
    return info


def gtcon(lapack_t[::1] dl, lapack_t[::1] d, lapack_t[::1] du, lapack_t[::1] du2,
          int[::1] ipiv, double anorm):
    """(rcond, info): reciprocal 1-norm condition estimate from gttrf factors."""
    cdef int n = d.shape[0], info
    cdef double rcond = 0.0
    if n == 0:
        return 1.0, 0
    if dl.shape[0] < n - 1 or du.shape[0] < n - 1 or du2.shape[0] < n - 2 \
            or ipiv.shape[0] < n:
        raise ValueError("gtcon: array too short")
    with nogil:
        info = gtcon_lapack(b"1", n, &dl[0] if n > 1 else NULL, &d[0],
                            &du[0] if n > 1 else NULL, &du2[0] if n > 2 else NULL,
                            &ipiv[0], anorm, &rcond)
    if info == -100:
        raise MemoryError()
    return rcond, info


# ---------------------------------------------------------------- band LAPACK

def gbtrf(lapack_t[::1, :] ab, int kl, int ku, int[::1] ipiv):
    """In-place LU of the band storage ``ab`` (2*kl+ku+1, n); LAPACK info."""
    cdef int n = ab.shape[1], info
    if ab.shape[0] != 2 * kl + ku + 1 or ipiv.shape[0] < n or kl < 0 or ku < 0:
        raise ValueError("gbtrf: bad ab / ipiv shape")
    if n == 0:
        return 0
    with nogil:
        info = gbtrf_lapack(n, n, kl, ku, &ab[0, 0], 2 * kl + ku + 1, &ipiv[0])
    return info


def gbtrs(lapack_t[::1, :] ab, int kl, int ku, int[::1] ipiv, lapack_t[::1, :] b,
          int trans=0):
    """Solve with gbtrf factors; ``b`` (F-contiguous n x nrhs) overwritten.  trans 0/1/2."""
    cdef int n = ab.shape[1], nrhs = b.shape[1], info
    if b.shape[0] != n or ab.shape[0] != 2 * kl + ku + 1 or ipiv.shape[0] < n \
            or kl < 0 or ku < 0:
        raise ValueError("gbtrs: bad shapes")
    if _nothing_to_solve(n, nrhs, trans):
        return 0
    with nogil:
        info = gbtrs_lapack(_TRANS[trans], n, kl, ku, nrhs, &ab[0, 0], 2 * kl + ku + 1,
                            &ipiv[0], &b[0, 0], n)
    return info


def gbcon(lapack_t[::1, :] ab, int kl, int ku, int[::1] ipiv, double anorm):
    """(rcond, info): reciprocal 1-norm condition estimate from gbtrf factors."""
    cdef int n = ab.shape[1], info
    cdef double rcond = 0.0
    if n == 0:
        return 1.0, 0
    if ab.shape[0] != 2 * kl + ku + 1 or ipiv.shape[0] < n or kl < 0 or ku < 0:
        raise ValueError("gbcon: bad shapes")
    with nogil:
        info = gbcon_lapack(b"1", n, kl, ku, &ab[0, 0], 2 * kl + ku + 1, &ipiv[0],
                            anorm, &rcond)
    if info == -100:
        raise MemoryError()
    return rcond, info
