# cython: language_level=3
"""The one BLAS/LAPACK shim of hybridsolve.

Every kernel cimports its element type ``lapack_t`` and the level-1/2/3 BLAS and the few
LAPACK routines it needs from here.  Each wrapper takes scalars by value and branches at
compile time on the fused type (``if lapack_t is float:``), so a kernel written once over
``lapack_t`` calls the right ``s/d/c/z`` routine of the BLAS that SciPy links.  We never
link a BLAS of our own: the pointers come from ``scipy.linalg.cython_blas`` /
``cython_lapack`` at import time.

All wrappers are ``noexcept nogil``; LAPACK-style routines return ``info``.
Matrices are column-major (Fortran order) with a leading dimension ``ld``.
"""
from scipy.linalg cimport cython_blas as _b
from scipy.linalg cimport cython_lapack as _l
from libc.stdlib cimport malloc, free
from libc.math cimport sqrt

ctypedef fused lapack_t:
    float
    double
    (float complex)
    (double complex)

ctypedef fused real_t:
    float
    double


cdef inline bint is_complex(lapack_t x) noexcept nogil:
    return lapack_t is floatcomplex or lapack_t is doublecomplex


cdef inline double absval(lapack_t x) noexcept nogil:
    """|x| (for complex: the modulus)."""
    cdef double re, im, ar, ai, t
    if lapack_t is float or lapack_t is double:
        return x if x >= 0 else -x
    else:
        re = x.real
        im = x.imag
        ar = re if re >= 0 else -re
        ai = im if im >= 0 else -im
        if ar < ai:
            ar, ai = ai, ar
        if ar == 0:
            return 0.0
        t = ai / ar
        return ar * sqrt(1.0 + t * t)   # NaN-safe: never a Python error in nogil


cdef inline double abs1(lapack_t x) noexcept nogil:
    """|re| + |im|: LAPACK's cheap pivot measure (icamax uses it)."""
    if lapack_t is float or lapack_t is double:
        return x if x >= 0 else -x
    else:
        return (x.real if x.real >= 0 else -x.real) + (x.imag if x.imag >= 0 else -x.imag)


cdef inline lapack_t conj(lapack_t x) noexcept nogil:
    if lapack_t is float or lapack_t is double:
        return x
    else:
        return x.conjugate()


cdef inline double realpart(lapack_t x) noexcept nogil:
    if lapack_t is float or lapack_t is double:
        return x
    else:
        return x.real


# ---------------------------------------------------------------- level 1 / 2 BLAS

cdef inline int iamax(int n, lapack_t *x, int incx) noexcept nogil:
    """0-based index of the entry of largest |re|+|im| (BLAS i?amax semantics)."""
    if lapack_t is float:
        return _b.isamax(&n, x, &incx) - 1
    elif lapack_t is double:
        return _b.idamax(&n, x, &incx) - 1
    elif lapack_t is floatcomplex:
        return _b.icamax(&n, x, &incx) - 1
    else:
        return _b.izamax(&n, x, &incx) - 1


cdef inline void swap(int n, lapack_t *x, int incx, lapack_t *y, int incy) noexcept nogil:
    if lapack_t is float:
        _b.sswap(&n, x, &incx, y, &incy)
    elif lapack_t is double:
        _b.dswap(&n, x, &incx, y, &incy)
    elif lapack_t is floatcomplex:
        _b.cswap(&n, x, &incx, y, &incy)
    else:
        _b.zswap(&n, x, &incx, y, &incy)


cdef inline void scal(int n, lapack_t alpha, lapack_t *x, int incx) noexcept nogil:
    if lapack_t is float:
        _b.sscal(&n, &alpha, x, &incx)
    elif lapack_t is double:
        _b.dscal(&n, &alpha, x, &incx)
    elif lapack_t is floatcomplex:
        _b.cscal(&n, &alpha, x, &incx)
    else:
        _b.zscal(&n, &alpha, x, &incx)


cdef inline void axpy(int n, lapack_t alpha, lapack_t *x, int incx,
                      lapack_t *y, int incy) noexcept nogil:
    if lapack_t is float:
        _b.saxpy(&n, &alpha, x, &incx, y, &incy)
    elif lapack_t is double:
        _b.daxpy(&n, &alpha, x, &incx, y, &incy)
    elif lapack_t is floatcomplex:
        _b.caxpy(&n, &alpha, x, &incx, y, &incy)
    else:
        _b.zaxpy(&n, &alpha, x, &incx, y, &incy)


cdef inline void copy(int n, lapack_t *x, int incx, lapack_t *y, int incy) noexcept nogil:
    if lapack_t is float:
        _b.scopy(&n, x, &incx, y, &incy)
    elif lapack_t is double:
        _b.dcopy(&n, x, &incx, y, &incy)
    elif lapack_t is floatcomplex:
        _b.ccopy(&n, x, &incx, y, &incy)
    else:
        _b.zcopy(&n, x, &incx, y, &incy)


cdef inline void gemv(char *trans, int m, int n, lapack_t alpha, lapack_t *a, int lda,
                      lapack_t *x, int incx, lapack_t beta, lapack_t *y,
                      int incy) noexcept nogil:
    if lapack_t is float:
        _b.sgemv(trans, &m, &n, &alpha, a, &lda, x, &incx, &beta, y, &incy)
    elif lapack_t is double:
        _b.dgemv(trans, &m, &n, &alpha, a, &lda, x, &incx, &beta, y, &incy)
    elif lapack_t is floatcomplex:
        _b.cgemv(trans, &m, &n, &alpha, a, &lda, x, &incx, &beta, y, &incy)
    else:
        _b.zgemv(trans, &m, &n, &alpha, a, &lda, x, &incx, &beta, y, &incy)


cdef inline void trsv(char *uplo, char *trans, char *diag, int n, lapack_t *a, int lda,
                      lapack_t *x, int incx) noexcept nogil:
    if lapack_t is float:
        _b.strsv(uplo, trans, diag, &n, a, &lda, x, &incx)
    elif lapack_t is double:
        _b.dtrsv(uplo, trans, diag, &n, a, &lda, x, &incx)
    elif lapack_t is floatcomplex:
        _b.ctrsv(uplo, trans, diag, &n, a, &lda, x, &incx)
    else:
        _b.ztrsv(uplo, trans, diag, &n, a, &lda, x, &incx)



# ---------------------------------------------------------------- LAPACK's 1-norm estimator

cdef inline void lacn2(int n, lapack_t *v, lapack_t *x, int *isgn, double *est, int *kase,
                       int *isave) noexcept nogil:
    """One reverse-communication step of LAPACK's xLACN2 (Hager-Higham estimate of
    ||B||_1): on return with ``kase`` 1 overwrite x with B x, with 2 with B^H x, and call
    again; ``kase`` 0: ``est`` holds the estimate.  ``kase`` starts at 0; ``est``,
    ``v``, ``isgn`` (n ints, unused for complex) and ``isave`` (3 ints) carry the state.
    While ``kase`` is 1 and ``isave[0] == 3``, x is the unit vector e_j, j = isave[1] - 1."""
    cdef float fest = <float>est[0]
    if lapack_t is float:
        _l.slacn2(&n, v, x, isgn, &fest, kase, isave)
        est[0] = fest
    elif lapack_t is double:
        _l.dlacn2(&n, v, x, isgn, est, kase, isave)
    elif lapack_t is floatcomplex:
        _l.clacn2(&n, v, x, &fest, kase, isave)
        est[0] = fest
    else:
        _l.zlacn2(&n, v, x, est, kase, isave)

# ---------------------------------------------------------------- level 3 BLAS

cdef inline void gemm(char *transa, char *transb, int m, int n, int k, lapack_t alpha,
                      lapack_t *a, int lda, lapack_t *b, int ldb, lapack_t beta,
                      lapack_t *c, int ldc) noexcept nogil:
    if lapack_t is float:
        _b.sgemm(transa, transb, &m, &n, &k, &alpha, a, &lda, b, &ldb, &beta, c, &ldc)
    elif lapack_t is double:
        _b.dgemm(transa, transb, &m, &n, &k, &alpha, a, &lda, b, &ldb, &beta, c, &ldc)
    elif lapack_t is floatcomplex:
        _b.cgemm(transa, transb, &m, &n, &k, &alpha, a, &lda, b, &ldb, &beta, c, &ldc)
    else:
        _b.zgemm(transa, transb, &m, &n, &k, &alpha, a, &lda, b, &ldb, &beta, c, &ldc)


cdef inline void trsm(char *side, char *uplo, char *transa, char *diag, int m, int n,
                      lapack_t alpha, lapack_t *a, int lda, lapack_t *b,
                      int ldb) noexcept nogil:
    if lapack_t is float:
        _b.strsm(side, uplo, transa, diag, &m, &n, &alpha, a, &lda, b, &ldb)
    elif lapack_t is double:
        _b.dtrsm(side, uplo, transa, diag, &m, &n, &alpha, a, &lda, b, &ldb)
    elif lapack_t is floatcomplex:
        _b.ctrsm(side, uplo, transa, diag, &m, &n, &alpha, a, &lda, b, &ldb)
    else:
        _b.ztrsm(side, uplo, transa, diag, &m, &n, &alpha, a, &lda, b, &ldb)


cdef inline void herk(char *uplo, char *trans, int n, int k, double alpha, lapack_t *a,
                      int lda, double beta, lapack_t *c, int ldc) noexcept nogil:
    """C := alpha op(A) op(A)^H + beta C on one triangle (syrk for real types)."""
    cdef float fa = <float>alpha, fb = <float>beta
    if lapack_t is float:
        _b.ssyrk(uplo, trans, &n, &k, &fa, a, &lda, &fb, c, &ldc)
    elif lapack_t is double:
        _b.dsyrk(uplo, trans, &n, &k, &alpha, a, &lda, &beta, c, &ldc)
    elif lapack_t is floatcomplex:
        _b.cherk(uplo, trans, &n, &k, &fa, a, &lda, &fb, c, &ldc)
    else:
        _b.zherk(uplo, trans, &n, &k, &alpha, a, &lda, &beta, c, &ldc)


# ---------------------------------------------------------------- LAPACK

cdef inline void laswp(int n, lapack_t *a, int lda, int k1, int k2, int *ipiv,
                       int incx) noexcept nogil:
    """Row interchanges k1..k2 (1-based, as LAPACK) on n columns."""
    if lapack_t is float:
        _l.slaswp(&n, a, &lda, &k1, &k2, ipiv, &incx)
    elif lapack_t is double:
        _l.dlaswp(&n, a, &lda, &k1, &k2, ipiv, &incx)
    elif lapack_t is floatcomplex:
        _l.claswp(&n, a, &lda, &k1, &k2, ipiv, &incx)
    else:
        _l.zlaswp(&n, a, &lda, &k1, &k2, ipiv, &incx)


cdef inline int getrf_lapack(int m, int n, lapack_t *a, int lda, int *ipiv) noexcept nogil:
    cdef int info = 0
    if lapack_t is float:
        _l.sgetrf(&m, &n, a, &lda, ipiv, &info)
    elif lapack_t is double:
        _l.dgetrf(&m, &n, a, &lda, ipiv, &info)
    elif lapack_t is floatcomplex:
        _l.cgetrf(&m, &n, a, &lda, ipiv, &info)
    else:
        _l.zgetrf(&m, &n, a, &lda, ipiv, &info)
    return info


cdef inline int potrf_lapack(char *uplo, int n, lapack_t *a, int lda) noexcept nogil:
    cdef int info = 0
    if lapack_t is float:
        _l.spotrf(uplo, &n, a, &lda, &info)
    elif lapack_t is double:
        _l.dpotrf(uplo, &n, a, &lda, &info)
    elif lapack_t is floatcomplex:
        _l.cpotrf(uplo, &n, a, &lda, &info)
    else:
        _l.zpotrf(uplo, &n, a, &lda, &info)
    return info


cdef inline int gecon_lapack(char *norm, int n, lapack_t *a, int lda, double anorm,
                             double *rcond) noexcept nogil:
    """Reciprocal condition estimate from getrf factors (LAPACK ?gecon); ``norm`` is
    '1' or 'I' and ``anorm`` that norm of the original matrix.  Allocates its own
    workspace; returns LAPACK's info, or -100 when the workspace cannot be allocated."""
    cdef int info = 0
    cdef int nw = n if n > 1 else 1
    cdef float fanorm = <float>anorm, frcond = 0
    cdef void *work
    cdef void *iwork
    rcond[0] = 0.0
    if lapack_t is float or lapack_t is double:
        work = malloc(4 * nw * sizeof(lapack_t))
        iwork = malloc(nw * sizeof(int))
    else:
        work = malloc(2 * nw * sizeof(lapack_t))
        iwork = malloc(nw * sizeof(lapack_t))   # rwork: 2n reals (a complex is two)
    if work == NULL or iwork == NULL:
        free(work)
        free(iwork)
        return -100
    if lapack_t is float:
        _l.sgecon(norm, &n, a, &lda, &fanorm, &frcond, <float *>work, <int *>iwork, &info)
        rcond[0] = frcond
    elif lapack_t is double:
        _l.dgecon(norm, &n, a, &lda, &anorm, rcond, <double *>work, <int *>iwork, &info)
    elif lapack_t is floatcomplex:
        _l.cgecon(norm, &n, a, &lda, &fanorm, &frcond, <float complex *>work,
                  <float *>iwork, &info)
        rcond[0] = frcond
    else:
        _l.zgecon(norm, &n, a, &lda, &anorm, rcond, <double complex *>work,
                  <double *>iwork, &info)
    free(work)
    free(iwork)
# ---------------------------------------------------------------- condition estimates
# (added by the cholesky helper; work arrays are allocated here, so callers only pass the
# matrix.  info -1000: out of memory.)

from libc.stdlib cimport malloc, free


cdef inline int pocon_lapack(char *uplo, int n, lapack_t *a, int lda, double anorm,
                             double *rcond) noexcept nogil:
    """Reciprocal 1-norm condition estimate from a Cholesky factor (?pocon)."""
    cdef int info = 0
    cdef float fanorm = <float>anorm, frcond = 0
    cdef void *work
    cdef void *work2
    if n == 0:
        rcond[0] = 1.0
        return 0
    if lapack_t is float or lapack_t is double:
        work = malloc(3 * <size_t>n * sizeof(lapack_t))
        work2 = malloc(<size_t>n * sizeof(int))
    else:
        work = malloc(2 * <size_t>n * sizeof(lapack_t))
        work2 = malloc(<size_t>n * sizeof(double))
    if work == NULL or work2 == NULL:
        free(work)
        free(work2)
        return -1000
    if lapack_t is float:
        _l.spocon(uplo, &n, a, &lda, &fanorm, &frcond, <float *>work, <int *>work2, &info)
        rcond[0] = frcond
    elif lapack_t is double:
        _l.dpocon(uplo, &n, a, &lda, &anorm, rcond, <double *>work, <int *>work2, &info)
    elif lapack_t is floatcomplex:
        _l.cpocon(uplo, &n, a, &lda, &fanorm, &frcond, <float complex *>work,
                  <float *>work2, &info)
        rcond[0] = frcond
    else:
        _l.zpocon(uplo, &n, a, &lda, &anorm, rcond, <double complex *>work,
                  <double *>work2, &info)
    free(work)
    free(work2)
    return info


cdef inline int trcon_lapack(char *norm, char *uplo, char *diag, int n, lapack_t *a,
                             int lda, double *rcond) noexcept nogil:
    """Reciprocal condition estimate of a triangular matrix (?trcon); norm '1' or 'I'."""
    cdef int info = 0
    cdef float frcond = 0
    cdef void *work
    cdef void *work2
    if n == 0:
        rcond[0] = 1.0
        return 0
    if lapack_t is float or lapack_t is double:
        work = malloc(3 * <size_t>n * sizeof(lapack_t))
        work2 = malloc(<size_t>n * sizeof(int))
    else:
        work = malloc(2 * <size_t>n * sizeof(lapack_t))
        work2 = malloc(<size_t>n * sizeof(double))
    if work == NULL or work2 == NULL:
        free(work)
        free(work2)
        return -1000
    if lapack_t is float:
        _l.strcon(norm, uplo, diag, &n, a, &lda, &frcond, <float *>work, <int *>work2, &info)
        rcond[0] = frcond
    elif lapack_t is double:
        _l.dtrcon(norm, uplo, diag, &n, a, &lda, rcond, <double *>work, <int *>work2, &info)
    elif lapack_t is floatcomplex:
        _l.ctrcon(norm, uplo, diag, &n, a, &lda, &frcond, <float complex *>work,
                  <float *>work2, &info)
        rcond[0] = frcond
    else:
        _l.ztrcon(norm, uplo, diag, &n, a, &lda, rcond, <double complex *>work,
                  <double *>work2, &info)
    free(work)
    free(work2)
# ---------------------------------------------------------------- LAPACK: tridiagonal and band
# (added by the inspect helper for the tridiagonal / banded roads)
from libc.stdlib cimport malloc as _malloc, free as _free


cdef inline int gttrf_lapack(int n, lapack_t *dl, lapack_t *d, lapack_t *du, lapack_t *du2,
                             int *ipiv) noexcept nogil:
    cdef int info = 0
    if lapack_t is float:
        _l.sgttrf(&n, dl, d, du, du2, ipiv, &info)
    elif lapack_t is double:
        _l.dgttrf(&n, dl, d, du, du2, ipiv, &info)
    elif lapack_t is floatcomplex:
        _l.cgttrf(&n, dl, d, du, du2, ipiv, &info)
    else:
        _l.zgttrf(&n, dl, d, du, du2, ipiv, &info)
    return info


cdef inline int gttrs_lapack(char *trans, int n, int nrhs, lapack_t *dl, lapack_t *d,
                             lapack_t *du, lapack_t *du2, int *ipiv, lapack_t *b,
                             int ldb) noexcept nogil:
    cdef int info = 0
    if lapack_t is float:
        _l.sgttrs(trans, &n, &nrhs, dl, d, du, du2, ipiv, b, &ldb, &info)
    elif lapack_t is double:
        _l.dgttrs(trans, &n, &nrhs, dl, d, du, du2, ipiv, b, &ldb, &info)
    elif lapack_t is floatcomplex:
        _l.cgttrs(trans, &n, &nrhs, dl, d, du, du2, ipiv, b, &ldb, &info)
    else:
        _l.zgttrs(trans, &n, &nrhs, dl, d, du, du2, ipiv, b, &ldb, &info)
    return info


cdef inline int gtcon_lapack(char *norm, int n, lapack_t *dl, lapack_t *d, lapack_t *du,
                             lapack_t *du2, int *ipiv, double anorm,
                             double *rcond) noexcept nogil:
    """Reciprocal condition estimate from gttrf factors; allocates its own scratch
    (returns -1000 if that fails)."""
    cdef int info = 0
    cdef float fa = <float>anorm, fr = 0
    cdef lapack_t *work = <lapack_t *>_malloc(2 * (n + 1) * sizeof(lapack_t))
    cdef int *iwork = <int *>_malloc((n + 1) * sizeof(int))
    if work == NULL or iwork == NULL:
        _free(work)
        _free(iwork)
        return -1000
    if lapack_t is float:
        _l.sgtcon(norm, &n, dl, d, du, du2, ipiv, &fa, &fr, work, iwork, &info)
        rcond[0] = fr
    elif lapack_t is double:
        _l.dgtcon(norm, &n, dl, d, du, du2, ipiv, &anorm, rcond, work, iwork, &info)
    elif lapack_t is floatcomplex:
        _l.cgtcon(norm, &n, dl, d, du, du2, ipiv, &fa, &fr, work, &info)
        rcond[0] = fr
    else:
        _l.zgtcon(norm, &n, dl, d, du, du2, ipiv, &anorm, rcond, work, &info)
    _free(work)
    _free(iwork)
    return info


cdef inline int gbtrf_lapack(int m, int n, int kl, int ku, lapack_t *ab, int ldab,
                             int *ipiv) noexcept nogil:
    cdef int info = 0
    if lapack_t is float:
        _l.sgbtrf(&m, &n, &kl, &ku, ab, &ldab, ipiv, &info)
    elif lapack_t is double:
        _l.dgbtrf(&m, &n, &kl, &ku, ab, &ldab, ipiv, &info)
    elif lapack_t is floatcomplex:
        _l.cgbtrf(&m, &n, &kl, &ku, ab, &ldab, ipiv, &info)
    else:
        _l.zgbtrf(&m, &n, &kl, &ku, ab, &ldab, ipiv, &info)
    return info


cdef inline int gbtrs_lapack(char *trans, int n, int kl, int ku, int nrhs, lapack_t *ab,
                             int ldab, int *ipiv, lapack_t *b, int ldb) noexcept nogil:
    cdef int info = 0
    if lapack_t is float:
        _l.sgbtrs(trans, &n, &kl, &ku, &nrhs, ab, &ldab, ipiv, b, &ldb, &info)
    elif lapack_t is double:
        _l.dgbtrs(trans, &n, &kl, &ku, &nrhs, ab, &ldab, ipiv, b, &ldb, &info)
    elif lapack_t is floatcomplex:
        _l.cgbtrs(trans, &n, &kl, &ku, &nrhs, ab, &ldab, ipiv, b, &ldb, &info)
    else:
        _l.zgbtrs(trans, &n, &kl, &ku, &nrhs, ab, &ldab, ipiv, b, &ldb, &info)
    return info


cdef inline int gbcon_lapack(char *norm, int n, int kl, int ku, lapack_t *ab, int ldab,
                             int *ipiv, double anorm, double *rcond) noexcept nogil:
    """Reciprocal condition estimate from gbtrf factors; allocates its own scratch
    (returns -1000 if that fails)."""
    cdef int info = 0
    cdef float fa = <float>anorm, fr = 0
    cdef lapack_t *work = <lapack_t *>_malloc(3 * (n + 1) * sizeof(lapack_t))
    cdef int *iwork = <int *>_malloc((n + 1) * sizeof(int))
    cdef double *rwork = <double *>_malloc((n + 1) * sizeof(double))
    if work == NULL or iwork == NULL or rwork == NULL:
        _free(work)
        _free(iwork)
        _free(rwork)
        return -1000
    if lapack_t is float:
        _l.sgbcon(norm, &n, &kl, &ku, ab, &ldab, ipiv, &fa, &fr, work, iwork, &info)
        rcond[0] = fr
    elif lapack_t is double:
        _l.dgbcon(norm, &n, &kl, &ku, ab, &ldab, ipiv, &anorm, rcond, work, iwork, &info)
    elif lapack_t is floatcomplex:
        _l.cgbcon(norm, &n, &kl, &ku, ab, &ldab, ipiv, &fa, &fr, work,
                  <float *>rwork, &info)
        rcond[0] = fr
    else:
        _l.zgbcon(norm, &n, &kl, &ku, ab, &ldab, ipiv, &anorm, rcond, work, rwork, &info)
    _free(work)
    _free(iwork)
    _free(rwork)
    return info
