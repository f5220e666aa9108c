# PLACEHOLDER (to be replaced by the recursive kernel): delegates to LAPACK potrf.
from hybridsolve._kernels._lapack cimport lapack_t, potrf_lapack, trsm


cdef int cholesky_factor(bint lower, int n, lapack_t *a, int lda) noexcept nogil:
    return potrf_lapack("L" if lower else "U", n, a, lda)


cdef int cholesky_solve(bint lower, int n, int nrhs, lapack_t *c, int ldc,
                        lapack_t *b, int ldb) noexcept nogil:
    cdef lapack_t one = 1
    if n == 0 or nrhs == 0:
        return 0
    if lower:
        trsm("L", "L", "N", "N", n, nrhs, one, c, ldc, b, ldb)
        trsm("L", "L", "C", "N", n, nrhs, one, c, ldc, b, ldb)
    else:
        trsm("L", "U", "C", "N", n, nrhs, one, c, ldc, b, ldb)
        trsm("L", "U", "N", "N", n, nrhs, one, c, ldc, b, ldb)
    return 0


def potrf(lapack_t[::1, :] a, bint lower=False):
    """In-place Cholesky of the F-contiguous ``a``; returns LAPACK's info."""
    cdef int info
    with nogil:
        info = cholesky_factor(lower, a.shape[0], &a[0, 0], a.shape[0])
    return info


def potrs(lapack_t[::1, :] c, lapack_t[::1, :] b, bint lower=False):
    """Solve with the factor of ``potrf``; ``b`` (F-contiguous n x nrhs) is overwritten."""
    cdef int info
    with nogil:
        info = cholesky_solve(lower, c.shape[0], b.shape[1], &c[0, 0], c.shape[0],
                              &b[0, 0], b.shape[0])
    return info
