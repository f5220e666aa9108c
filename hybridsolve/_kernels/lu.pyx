# PLACEHOLDER (to be replaced by the recursive kernel): delegates to LAPACK getrf/getrs.
from hybridsolve._kernels._lapack cimport lapack_t, getrf_lapack, laswp, trsm


cdef int lu_factor(int m, int n, lapack_t *a, int lda, int *ipiv) noexcept nogil:
    return getrf_lapack(m, n, a, lda, ipiv)


cdef int lu_solve(int trans, int n, int nrhs, lapack_t *lu, int lda, int *ipiv,
                  lapack_t *b, int ldb) noexcept nogil:
    cdef lapack_t one = 1
    if n == 0 or nrhs == 0:
        return 0
    if trans == 0:
        laswp(nrhs, b, ldb, 1, n, ipiv, 1)
        trsm("L", "L", "N", "U", n, nrhs, one, lu, lda, b, ldb)
        trsm("L", "U", "N", "N", n, nrhs, one, lu, lda, b, ldb)
    else:
        trsm("L", "U", "T" if trans == 1 else "C", "N", n, nrhs, one, lu, lda, b, ldb)
        trsm("L", "L", "T" if trans == 1 else "C", "U", n, nrhs, one, lu, lda, b, ldb)
        laswp(nrhs, b, ldb, 1, n, ipiv, -1)
    return 0


def getrf(lapack_t[::1, :] a, int[::1] ipiv):
    """In-place pivoted LU of the F-contiguous ``a``; returns LAPACK's info."""
    cdef int info
    with nogil:
        info = lu_factor(a.shape[0], a.shape[1], &a[0, 0], a.shape[0], &ipiv[0])
    return info


def getrs(lapack_t[::1, :] lu, const int[::1] ipiv, lapack_t[::1, :] b, int trans=0):
    """Solve with the factors of ``getrf``; ``b`` (F-contiguous n x nrhs) is overwritten."""
    cdef int info
    with nogil:
        info = lu_solve(trans, lu.shape[0], b.shape[1], &lu[0, 0], lu.shape[0],
                        <int *>&ipiv[0], &b[0, 0], b.shape[0])
    return info
