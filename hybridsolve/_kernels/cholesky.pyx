"""Recursive Cholesky factorization and solve (potrf / potrs semantics), fused over the
four LAPACK types.

Factor
------
``cholesky_factor`` splits ``n1 = n/2`` and works on the 2 x 2 block form:

    lower:  L11 = chol(A11);  L21 = A21 L11^-H (trsm);  A22 -= L21 L21^H (herk);  recurse
    upper:  U11 = chol(A11);  U12 = U11^-H A12 (trsm);  A22 -= U12^H U12 (herk);  recurse

Leaves (``n <= CHOL_LEAF``) are our own left-looking loops.  Only the named triangle is
read or written, the imaginary part of the diagonal is ignored (it is never read; the
factor's diagonal is written real), and the first failing leading minor j stops
everything at once with info = j: the later columns are never touched, so failure is
cheap and the dispatcher can use it as its definiteness test.

Solve
-----
``cholesky_solve`` is two triangular solves through ``tri_solve`` (our loops for small
systems, BLAS trsm for large ones).
"""
from libc.math cimport sqrt

from hybridsolve._kernels._lapack cimport (lapack_t, trsm, herk, potrf_lapack,
                                           pocon_lapack, conj, realpart)
from hybridsolve._kernels.triangular cimport tri_solve

cdef extern from *:
    """
    /* Leaf size of the recursion (our loops below it) and the size from which LAPACK's
       potrf takes over (0: never).  Measured by benchmarks/bench_cholesky.py --kernels. */
    #define HS_CHOL_LEAF 32
    #define HS_CHOL_LAPACK_FROM 0
    """
    int HS_CHOL_LEAF
    int HS_CHOL_LAPACK_FROM


cdef int _leaf_lower(int n, lapack_t *a, Py_ssize_t lda) noexcept nogil:
    """Left-looking unblocked Cholesky of the lower triangle: column j gets the updates
    of columns 0..j-1 (axpy form, contiguous), then is scaled by 1/sqrt(pivot)."""
    cdef Py_ssize_t i, j, k
    cdef lapack_t *cj
    cdef lapack_t *ck
    cdef lapack_t t
    cdef double d, r
    for j in range(n):
        cj = a + j * lda
        d = realpart(cj[j])
        for k in range(j):
            ck = a + k * lda
            t = conj(ck[j])
            d -= realpart(ck[j] * t)
            for i in range(j + 1, n):
                cj[i] = cj[i] - ck[i] * t
        if not (d > 0):          # also catches NaN
            return <int>j + 1
        d = sqrt(d)
        cj[j] = d
        r = 1.0 / d
        for i in range(j + 1, n):
            cj[i] = cj[i] * r
    return 0


cdef int _leaf_upper(int n, lapack_t *a, Py_ssize_t lda) noexcept nogil:
    """Unblocked Cholesky of the upper triangle, A = U^H U, column by column: U[0:j, j]
    by forward substitution with U11^H (dot form, contiguous), then the pivot."""
    cdef Py_ssize_t i, j, k
    cdef lapack_t *cj
    cdef lapack_t *ci
    cdef lapack_t s
    cdef double d
    for j in range(n):
        cj = a + j * lda
        for i in range(j):
            ci = a + i * lda
            s = cj[i]
            for k in range(i):
                s = s - conj(ci[k]) * cj[k]
            cj[i] = s / realpart(ci[i])
        d = realpart(cj[j])
        for k in range(j):
            d -= realpart(conj(cj[k]) * cj[k])
        if not (d > 0):
            return <int>j + 1
        cj[j] = sqrt(d)
    return 0


cdef int _recursive(bint lower, int n, lapack_t *a, Py_ssize_t lda) noexcept nogil:
    cdef lapack_t one = 1
    cdef int n1, n2, info
    cdef lapack_t *a22
    if n <= HS_CHOL_LEAF:
        if lower:
            return _leaf_lower(n, a, lda)
        return _leaf_upper(n, a, lda)
    n1 = n // 2
    if n1 > 64:                  # keep the big blocks' edges on cache-line multiples
        n1 = (n1 + 7) & ~7
    n2 = n - n1
    info = _recursive(lower, n1, a, lda)
    if info != 0:
        return info
    a22 = a + n1 + n1 * lda
    if lower:
        trsm("R", "L", "C", "N", n2, n1, one, a, <int>lda, a + n1, <int>lda)
        herk("L", "N", n2, n1, -1.0, a + n1, <int>lda, 1.0, a22, <int>lda)
    else:
        trsm("L", "U", "C", "N", n1, n2, one, a, <int>lda, a + n1 * lda, <int>lda)
        herk("U", "C", n2, n1, -1.0, a + n1 * lda, <int>lda, 1.0, a22, <int>lda)
    info = _recursive(lower, n2, a22, lda)
    if info != 0:
        return info + n1
    return 0


cdef int cholesky_factor(bint lower, int n, lapack_t *a, int lda) noexcept nogil:
    if n <= 0:
        return 0
    if HS_CHOL_LAPACK_FROM > 0 and n >= HS_CHOL_LAPACK_FROM:
        return potrf_lapack("L" if lower else "U", n, a, lda)
    return _recursive(lower, n, a, lda)


cdef int cholesky_solve(bint lower, int n, int nrhs, lapack_t *c, int ldc,
                        lapack_t *b, int ldb) noexcept nogil:
    if n == 0 or nrhs == 0:
        return 0
    if lower:       # L L^H x = b
        tri_solve(True, 0, False, n, nrhs, c, ldc, b, ldb)
        tri_solve(True, 2, False, n, nrhs, c, ldc, b, ldb)
    else:           # U^H U x = b
        tri_solve(False, 2, False, n, nrhs, c, ldc, b, ldb)
        tri_solve(False, 0, False, n, nrhs, c, ldc, b, ldb)
    return 0


# ---------------------------------------------------------------- def wrappers

def _check_square(a, name):
    if a.shape[0] != a.shape[1]:
        raise ValueError(f"{name}: a must be square, got shape {tuple(a.shape)[:2]}")


def potrf(lapack_t[::1, :] a, bint lower=False):
    """In-place Cholesky of the F-contiguous ``a``; returns LAPACK's info."""
    cdef int info
    _check_square(a, "potrf")
    if a.shape[0] == 0:
        return 0
    with nogil:
        info = cholesky_factor(lower, a.shape[0], &a[0, 0], a.shape[0])
    return info


def potrf_recursive(lapack_t[::1, :] a, bint lower=False):
    """The recursive kernel alone (no LAPACK hand-over), for tests and benchmarks."""
    cdef int info
    _check_square(a, "potrf_recursive")
    if a.shape[0] == 0:
        return 0
    with nogil:
        info = _recursive(lower, a.shape[0], &a[0, 0], a.shape[0])
    return info


def potrs(lapack_t[::1, :] c, lapack_t[::1, :] b, bint lower=False):
    """Solve with the factor of ``potrf``; ``b`` (F-contiguous n x nrhs) is overwritten."""
    cdef int info
    _check_square(c, "potrs")
    if b.shape[0] != c.shape[0]:
        raise ValueError("potrs: b must have c.shape[0] rows")
    if c.shape[0] == 0 or b.shape[1] == 0:
        return 0
    with nogil:
        info = cholesky_solve(lower, c.shape[0], b.shape[1], &c[0, 0], c.shape[0],
                              &b[0, 0], b.shape[0])
    return info


def pocon(lapack_t[::1, :] c, double anorm, bint lower=False):
    """LAPACK ?pocon on the factor of ``potrf``: ``(rcond, info)`` for the 1-norm
    ``anorm`` of the original Hermitian matrix."""
    cdef double rcond = 0
    cdef int info
    _check_square(c, "pocon")
    if c.shape[0] == 0:
        return 1.0, 0
    with nogil:
        info = pocon_lapack("L" if lower else "U", c.shape[0], &c[0, 0], c.shape[0], anorm,
                            &rcond)
    return rcond, info


def hermitian_norm1(lapack_t[::1, :] a, bint lower=False):
    """1-norm (= inf-norm) of the Hermitian matrix one triangle of ``a`` defines (as
    LAPACK's lanhe('1')); the other triangle is not read, the diagonal's imaginary part
    is ignored."""
    cdef Py_ssize_t n = a.shape[0], i, j
    cdef double s, v
    cdef double *colsum
    import numpy as np
    _check_square(a, "hermitian_norm1")
    if n == 0:
        return 0.0
    sums = np.zeros(n)
    cdef double[::1] cs = sums
    colsum = &cs[0]
    with nogil:
        for j in range(n):
            if lower:
                v = realpart(a[j, j])
                s = v if v >= 0 else -v
                for i in range(j + 1, n):
                    v = _abs(a[i, j])
                    s += v
                    colsum[i] += v
                colsum[j] += s
            else:
                s = 0
                for i in range(j):
                    v = _abs(a[i, j])
                    s += v
                    colsum[i] += v
                v = realpart(a[j, j])
                s += v if v >= 0 else -v
                colsum[j] += s
    return float(sums.max())


cdef inline double _abs(lapack_t x) noexcept nogil:
    if lapack_t is float or lapack_t is double:
        return x if x >= 0 else -x
    else:
        return sqrt(x.real * x.real + x.imag * x.imag)


def restore_hermitian(lapack_t[::1, :] a, diag, bint lower=False):
    """Undo a failed ``potrf(a, lower)`` on a matrix that was fully Hermitian: put the
    saved ``diag`` back and mirror the untouched triangle (conjugated) into the one the
    factorization wrote, so ``a`` holds A's values again."""
    cdef Py_ssize_t n = a.shape[0], i, j
    cdef lapack_t[::1] d = diag
    _check_square(a, "restore_hermitian")
    if d.shape[0] != n:
        raise ValueError("restore_hermitian: diag must have length a.shape[0]")
    with nogil:
        for j in range(n):
            a[j, j] = d[j]
            if lower:       # column j below the diagonal from row j right of it
                for i in range(j + 1, n):
                    a[i, j] = conj(a[j, i])
            else:           # column j above the diagonal from row j left of it
                for i in range(j):
                    a[i, j] = conj(a[j, i])
