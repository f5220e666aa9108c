from hybridsolve._kernels._lapack cimport lapack_t

# In-place Cholesky of the Hermitian matrix stored in one triangle of column-major a
# (potrf semantics: only that triangle is read or written, the imaginary part of the
# diagonal is ignored); returns info (0, or j > 0 when the leading minor of order j is
# not positive definite).
cdef int cholesky_factor(bint lower, int n, lapack_t *a, int lda) noexcept nogil

# Solve A X = B with the factor of cholesky_factor; b column-major n x nrhs, overwritten.
cdef int cholesky_solve(bint lower, int n, int nrhs, lapack_t *c, int ldc,
                        lapack_t *b, int ldb) noexcept nogil
