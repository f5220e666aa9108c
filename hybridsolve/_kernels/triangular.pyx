# PLACEHOLDER (to be replaced by our own kernel): a diagonal check and BLAS trsm.
from hybridsolve._kernels._lapack cimport lapack_t, trsm


cdef int tri_solve(bint lower, int trans, bint unit, int n, int nrhs, lapack_t *a, int lda,
                   lapack_t *b, int ldb) noexcept nogil:
    cdef lapack_t one = 1
    cdef int j
    if not unit:
        for j in range(n):
            if a[j + <Py_ssize_t>j * lda] == 0:
                return j + 1
    if n == 0 or nrhs == 0:
        return 0
    trsm("L", "L" if lower else "U", "N" if trans == 0 else ("T" if trans == 1 else "C"),
         "U" if unit else "N", n, nrhs, one, a, lda, b, ldb)
    return 0


def trtrs(lapack_t[::1, :] a, lapack_t[::1, :] b, bint lower=False, int trans=0,
          bint unit_diagonal=False):
    """Solve op(T) X = B in place in ``b``; returns LAPACK's info."""
    cdef int info
    with nogil:
        info = tri_solve(lower, trans, unit_diagonal, a.shape[0], b.shape[1], &a[0, 0],
                         a.shape[0], &b[0, 0], b.shape[0])
    return info
