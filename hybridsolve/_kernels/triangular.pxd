from hybridsolve._kernels._lapack cimport lapack_t

# Solve op(T) X = B for the triangular column-major T (trtrs semantics); trans 0: T,
# 1: T^T, 2: T^H; unit: the diagonal is taken as ones.  Returns info (j > 0 when
# T[j-1, j-1] is exactly zero, and then B is left untouched).
cdef int tri_solve(bint lower, int trans, bint unit, int n, int nrhs, lapack_t *a, int lda,
                   lapack_t *b, int ldb) noexcept nogil


# Shared inner loop of the dot-form substitutions (added; the signature above is fixed):
# sum_k op(x[k]) * y[k] with op = conj when conjx, over four independent partial sums so
# the compiler can overlap the additions (a single running sum is latency bound).
cdef inline lapack_t dot4(bint conjx, Py_ssize_t m, lapack_t *x,
                          lapack_t *y) noexcept nogil:
    cdef lapack_t s0 = 0, s1 = 0, s2 = 0, s3 = 0
    cdef Py_ssize_t k = 0
    if conjx and (lapack_t is floatcomplex or lapack_t is doublecomplex):
        while k + 4 <= m:
            s0 = s0 + x[k].conjugate() * y[k]
            s1 = s1 + x[k + 1].conjugate() * y[k + 1]
            s2 = s2 + x[k + 2].conjugate() * y[k + 2]
            s3 = s3 + x[k + 3].conjugate() * y[k + 3]
            k += 4
        while k < m:
            s0 = s0 + x[k].conjugate() * y[k]
            k += 1
    else:
        while k + 4 <= m:
            s0 = s0 + x[k] * y[k]
            s1 = s1 + x[k + 1] * y[k + 1]
            s2 = s2 + x[k + 2] * y[k + 2]
            s3 = s3 + x[k + 3] * y[k + 3]
            k += 4
        while k < m:
            s0 = s0 + x[k] * y[k]
            k += 1
    return (s0 + s1) + (s2 + s3)
