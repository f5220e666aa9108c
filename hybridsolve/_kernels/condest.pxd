from hybridsolve._kernels._lapack cimport lapack_t

# The condition estimate of every dense factorization: LAPACK's xGECON / xPOCON / xTRCON
# (their xLACN2 Hager-Higham loop) with BLAS trsv solves instead of xLATRS:
# kind 0: getrf factors of A, 1: getrf factors of A^T (A's 1-norm = their inf-norm),
# 2: potrf lower, 3: potrf upper, 4: upper triangular A, 5: lower triangular A (non-unit),
# 6/7: upper/lower triangular with xTRCON's NORM = 'I' (then anorm = ||A||_inf).
# anorm = ||A||_1.  Returns 0 (rcond set), 1 (a solve overflowed: run LAPACK's
# xGECON/xPOCON/xTRCON, which scale) or -100 (no memory).
cdef int hager_rcond(int kind, int n, lapack_t *f, int ldf, double anorm,
                     double *rcond) noexcept nogil
