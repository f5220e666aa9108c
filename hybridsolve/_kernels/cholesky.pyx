"""Recursive Cholesky factorization and solve (potrf / potrs semantics), fused over the
four LAPACK types.

Factor
------
``cholesky_factor`` splits ``n1 = n/2`` and works on the 2 x 2 block form:

    lower:  L11 = chol(A11);  L21 = A21 L11^-H (trsm);  A22 -= L21 L21^H (herk);  recurse
    upper:  U11 = chol(A11);  U12 = U11^-H A12 (trsm);  A22 -= U12^H U12 (herk);  recurse

A large Schur-complement update is itself split: herk on the two diagonal halves and
one gemm for the off-diagonal block (``HS_HERK_SPLIT``).

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
from libc.stdlib cimport calloc, free

from hybridsolve._kernels._lapack cimport (lapack_t, trsm, herk, gemm, potrf_lapack,
                                           pocon_lapack, conj, realpart)
from hybridsolve._kernels.triangular cimport tri_solve, dot4
from hybridsolve._kernels.condest cimport hager_rcond
from hybridsolve._kernels.lu cimport check_square_f

cimport numpy as cnp

cnp.import_array()

from hybridsolve._tuning import value as _tuned

cdef extern from *:
    """
    #define HS_CHOL_LEAF_MAX 64
    """
    int HS_CHOL_LEAF_MAX

# Crossovers from hybridsolve._tuning (defaults and measurements there), read at import:
# the order from which LAPACK's potrf takes over (0: never), and the leaf size of the
# recursion (our loops at and below it; at most HS_CHOL_LEAF_MAX, the leaf buffer).
cdef int HS_CHOL_LAPACK_FROM = min(_tuned("chol_lapack_from"), 0x7fffffff)
cdef int HS_CHOL_LEAF = max(1, min(_tuned("chol_leaf"), HS_CHOL_LEAF_MAX))


def _set_leaf(int value):
    """Set the recursion's leaf size (tests, tuning); returns the previous value."""
    global HS_CHOL_LEAF
    old = HS_CHOL_LEAF
    HS_CHOL_LEAF = max(1, min(value, HS_CHOL_LEAF_MAX))
    return old

# Schur complements of order >= this are updated as herk on the two diagonal halves + one
# gemm for the off-diagonal block (tuning chol_herk_split; 0 disables).  A variable, so
# the tests can drive the split at small n (``_set_herk_split``).
cdef int HS_HERK_SPLIT = min(_tuned("chol_herk_split"), 0x7fffffff)


def _set_lapack_from(int value):
    """Set the order from which potrf takes over (tune command, tests; 0: never);
    returns the previous value."""
    global HS_CHOL_LAPACK_FROM
    old = HS_CHOL_LAPACK_FROM
    HS_CHOL_LAPACK_FROM = max(0, value)
    return old


def _set_herk_split(int value):
    """Set the herk/gemm split order (tests, tuning); returns the previous value."""
    global HS_HERK_SPLIT
    old = HS_HERK_SPLIT
    HS_HERK_SPLIT = value
    return old


cdef int _leaf_lower(int n, lapack_t *a, Py_ssize_t lda) noexcept nogil:
    """Left-looking unblocked Cholesky of the lower triangle: column j gets the updates
    of columns 0..j-1 (axpy form down contiguous columns, four columns per pass so the
    column j is loaded and stored a quarter as often), then 1/sqrt(pivot) scaling."""
    cdef Py_ssize_t i, j, k
    cdef lapack_t *cj
    cdef lapack_t *c0
    cdef lapack_t *c1
    cdef lapack_t *c2
    cdef lapack_t *c3
    cdef lapack_t t0, t1, t2, t3
    cdef double d, r
    for j in range(n):
        cj = a + j * lda
        # pivot: a_jj - sum_k |l_jk|^2 (the row j of L is strided: a plain loop)
        d = realpart(cj[j])
        for k in range(j):
            t0 = a[j + k * lda]
            d -= realpart(conj(t0) * t0)
        k = 0
        while k + 4 <= j:
            c0 = a + k * lda
            c1 = c0 + lda
            c2 = c1 + lda
            c3 = c2 + lda
            t0 = conj(c0[j])
            t1 = conj(c1[j])
            t2 = conj(c2[j])
            t3 = conj(c3[j])
            for i in range(j + 1, n):
                cj[i] = cj[i] - ((c0[i] * t0 + c1[i] * t1) + (c2[i] * t2 + c3[i] * t3))
            k += 4
        while k < j:
            c0 = a + k * lda
            t0 = conj(c0[j])
            for i in range(j + 1, n):
                cj[i] = cj[i] - c0[i] * t0
            k += 1
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
    by forward substitution with U11^H (dot form down contiguous columns), then the
    pivot a_jj - ||U[0:j, j]||^2."""
    cdef Py_ssize_t i, j
    cdef lapack_t *cj
    cdef lapack_t *ci
    cdef double d
    for j in range(n):
        cj = a + j * lda
        for i in range(j):
            ci = a + i * lda
            cj[i] = (cj[i] - dot4(True, i, ci, cj)) / realpart(ci[i])
        d = realpart(cj[j]) - realpart(dot4(True, j, cj, cj))
        if not (d > 0):          # also catches NaN
            return <int>j + 1
        cj[j] = sqrt(d)
    return 0


cdef int _leaf_upper_via_lower(int n, lapack_t *a, Py_ssize_t lda) noexcept nogil:
    """Upper leaf through the faster lower loops: U = L^H, so copy conj(U-triangle)^T
    into a small lower buffer on the stack, factor it there, copy the factor back.
    The two O(n^2) copies cost less than the dot-form upper loops lose (measured:
    ~2x at n = 32 against ~0.1x of copying)."""
    cdef lapack_t tmp[64 * 64]
    cdef Py_ssize_t i, j
    cdef int info
    if n > 64:
        return _leaf_upper(n, a, lda)
    for j in range(n):
        for i in range(j, n):
            tmp[i + j * n] = conj(a[j + i * lda])
    info = _leaf_lower(n, tmp, n)
    for j in range(n):
        for i in range(j, n):
            a[j + i * lda] = conj(tmp[i + j * n])
    return info


cdef void _herk_minus(bint lower, int n, int k, lapack_t *a, Py_ssize_t lda, lapack_t *c,
                      Py_ssize_t ldc) noexcept nogil:
    """C -= A A^H (lower: A is n x k) or C -= A^H A (upper: A is k x n) on C's one
    triangle; large C split into herk + gemm + herk (recursively)."""
    cdef lapack_t mone = -1, one = 1
    cdef int n1, n2
    if HS_HERK_SPLIT <= 0 or n < HS_HERK_SPLIT:
        if lower:
            herk("L", "N", n, k, -1.0, a, <int>lda, 1.0, c, <int>ldc)
        else:
            herk("U", "C", n, k, -1.0, a, <int>lda, 1.0, c, <int>ldc)
        return
    n1 = ((n // 2) + 7) & ~7
    n2 = n - n1
    if lower:
        _herk_minus(True, n1, k, a, lda, c, ldc)
        gemm("N", "C", n2, n1, k, mone, a + n1, <int>lda, a, <int>lda, one,
             c + n1, <int>ldc)
        _herk_minus(True, n2, k, a + n1, lda, c + n1 + n1 * ldc, ldc)
    else:
        _herk_minus(False, n1, k, a, lda, c, ldc)
        gemm("C", "N", n1, n2, k, mone, a, <int>lda, a + n1 * lda, <int>lda, one,
             c + n1 * ldc, <int>ldc)
        _herk_minus(False, n2, k, a + n1 * lda, lda, c + n1 + n1 * ldc, ldc)


cdef int _recursive(bint lower, int n, lapack_t *a, Py_ssize_t lda) noexcept nogil:
    cdef lapack_t one = 1
    cdef int n1, n2, info
    cdef lapack_t *a22
    if n <= HS_CHOL_LEAF:
        if lower:
            return _leaf_lower(n, a, lda)
        return _leaf_upper_via_lower(n, a, lda)
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
        _herk_minus(True, n2, n1, a + n1, lda, a22, lda)
    else:
        trsm("L", "U", "C", "N", n1, n2, one, a, <int>lda, a + n1 * lda, <int>lda)
        _herk_minus(False, n2, n1, a + n1 * lda, lda, a22, lda)
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
    """?pocon's estimate on the factor of ``potrf``: ``(rcond, info)`` for the 1-norm
    ``anorm`` of the original Hermitian matrix.  The Hager-Higham loop runs with plain
    trsv solves (``lu.hager_rcond``: several times faster than LAPACK's xLATRS-guarded
    ones at large n); LAPACK's ?pocon itself when a solve overflows or ``anorm`` is NaN."""
    cdef double rcond = 0
    cdef int info = 1
    cdef int n = c.shape[0]
    _check_square(c, "pocon")
    if n == 0:
        return 1.0, 0
    with nogil:
        if anorm == anorm:
            info = hager_rcond(2 if lower else 3, n, &c[0, 0], n, anorm, &rcond)
        if info == 1:
            info = pocon_lapack("L" if lower else "U", n, &c[0, 0], n, anorm, &rcond)
    if info == -100:
        raise MemoryError("pocon: could not allocate a workspace")
    return rcond, info


def hermitian_norm1(lapack_t[::1, :] a, bint lower=False):
    """1-norm (= inf-norm) of the Hermitian matrix one triangle of ``a`` defines (as
    LAPACK's lanhe('1')); the other triangle is not read, the diagonal's imaginary part
    is ignored."""
    cdef Py_ssize_t n = a.shape[0]
    cdef double r
    _check_square(a, "hermitian_norm1")
    if n == 0:
        return 0.0
    with nogil:
        r = _hermitian_norm1(lower, n, &a[0, 0], n)
    if r < 0:
        raise MemoryError()
    return r


cdef double _hermitian_norm1(bint lower, Py_ssize_t n, lapack_t *a,
                             Py_ssize_t lda) noexcept nogil:
    """Column sums of |h_ij| read from one triangle (each off-diagonal entry counts for
    its column and, mirrored, for its row's column); -1 when out of memory."""
    cdef Py_ssize_t i, j
    cdef double s, v, best = 0
    cdef lapack_t *col
    cdef double *colsum = <double *>calloc(n, sizeof(double))
    if colsum == NULL:
        return -1.0
    for j in range(n):
        col = a + j * lda
        v = realpart(col[j])
        s = v if v >= 0 else -v
        if lower:
            for i in range(j + 1, n):
                v = _abs(col[i])
                s += v
                colsum[i] += v
        else:
            for i in range(j):
                v = _abs(col[i])
                s += v
                colsum[i] += v
        colsum[j] += s
    for j in range(n):
        if colsum[j] > best or colsum[j] != colsum[j]:
            best = colsum[j]
            if best != best:
                break
    free(colsum)
    return best


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


# ---------------------------------------------------------------- array entry points
# The road's fast path: raw numpy arrays, one type switch, no memoryview acquisition
# (about a microsecond per call at small n, where that is a large share of the work).


cdef int _factor_norm(bint lower, int n, lapack_t *a, double *anorm) noexcept nogil:
    if anorm[0] < 0:                # measure ||A||_1 before the factor overwrites it
        anorm[0] = _hermitian_norm1(lower, n, a, n) if n else 0.0
        if anorm[0] < 0:
            return -100
    return cholesky_factor(lower, n, a, n)


def factor_array(cnp.ndarray a not None, bint lower, double anorm):
    """Cholesky of the F-contiguous square ``a`` in place (one triangle, potrf
    semantics).  ``anorm``: ||A||_1 when known, else negative (then measured here from the
    triangle, before it is overwritten).  Returns ``(info, anorm)``."""
    cdef int n = <int>a.shape[0] if cnp.PyArray_NDIM(a) == 2 else -1
    cdef int t = check_square_f(a, n)
    cdef int info = 0
    cdef void *pa = cnp.PyArray_DATA(a)
    if t == cnp.NPY_DOUBLE:
        with nogil:
            info = _factor_norm(lower, n, <double *>pa, &anorm)
    elif t == cnp.NPY_FLOAT:
        with nogil:
            info = _factor_norm(lower, n, <float *>pa, &anorm)
    elif t == cnp.NPY_CDOUBLE:
        with nogil:
            info = _factor_norm(lower, n, <double complex *>pa, &anorm)
    elif t == cnp.NPY_CFLOAT:
        with nogil:
            info = _factor_norm(lower, n, <float complex *>pa, &anorm)
    else:
        raise TypeError(f"unsupported dtype {a.dtype}")
    if info == -100:
        raise MemoryError("Cholesky: could not allocate a workspace")
    return info, anorm


def solve_array(cnp.ndarray c not None, cnp.ndarray b not None, bint lower):
    """Overwrite the F-contiguous (n, k) ``b`` (``c``'s dtype) with the solution of
    A X = B from ``factor_array``'s output."""
    cdef int n = <int>c.shape[0] if cnp.PyArray_NDIM(c) == 2 else -1
    cdef int t = check_square_f(c, n)
    cdef int k
    cdef void *pc = cnp.PyArray_DATA(c)
    cdef void *pb
    if (cnp.PyArray_NDIM(b) != 2 or b.shape[0] != n or cnp.PyArray_TYPE(b) != t
            or not (cnp.PyArray_IS_F_CONTIGUOUS(b) and cnp.PyArray_ISBEHAVED(b))):
        raise ValueError("b must be an F-contiguous writeable (n, k) array of c's dtype")
    k = <int>b.shape[1]
    pb = cnp.PyArray_DATA(b)
    if t == cnp.NPY_DOUBLE:
        with nogil:
            cholesky_solve(lower, n, k, <double *>pc, n, <double *>pb, n)
    elif t == cnp.NPY_FLOAT:
        with nogil:
            cholesky_solve(lower, n, k, <float *>pc, n, <float *>pb, n)
    elif t == cnp.NPY_CDOUBLE:
        with nogil:
            cholesky_solve(lower, n, k, <double complex *>pc, n, <double complex *>pb, n)
    elif t == cnp.NPY_CFLOAT:
        with nogil:
            cholesky_solve(lower, n, k, <float complex *>pc, n, <float complex *>pb, n)
    else:
        raise TypeError(f"unsupported dtype {c.dtype}")
