from hybridsolve._kernels._lapack cimport lapack_t

# Solve op(T) X = B for the triangular column-major T (trtrs semantics); trans 0: T,
# 1: T^T, 2: T^H; unit: the diagonal is taken as ones.  Returns info (j > 0 when
# T[j-1, j-1] is exactly zero, and then B is left untouched).
cdef int tri_solve(bint lower, int trans, bint unit, int n, int nrhs, lapack_t *a, int lda,
                   lapack_t *b, int ldb) noexcept nogil
