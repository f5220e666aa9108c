cimport numpy as cnp

from hybridsolve._kernels._lapack cimport lapack_t

# In-place LU with partial pivoting of the column-major m x n matrix a (getrf semantics):
# ipiv is 1-based as LAPACK's; returns info (0, or j > 0 when U[j-1, j-1] is exactly zero).
cdef int lu_factor(int m, int n, lapack_t *a, int lda, int *ipiv) noexcept nogil

# Solve op(A) X = B with the factors of lu_factor; trans 0: A, 1: A^T, 2: A^H.
# b is column-major n x nrhs, overwritten with X.  Returns 0.
cdef int lu_solve(int trans, int n, int nrhs, lapack_t *lu, int lda, int *ipiv,
                  lapack_t *b, int ldb) noexcept nogil

# The array entry points' argument check (raw numpy arrays, no memoryview acquisition):
# ``a`` is a square F-contiguous, aligned, writeable, native 2-D array of order n;
# returns its numpy type number.
cdef int check_square_f(cnp.ndarray a, int n) except -1
# ``b`` an F-contiguous, aligned, writeable, native (n, k) array of numpy type number t.
cdef int check_rhs_f(cnp.ndarray b, int n, int t) except -1
# ``ipiv`` a C-contiguous C-int array of length n (and writeable when ``writeable``).
cdef int check_ipiv(cnp.ndarray ipiv, int n, bint writeable) except -1
