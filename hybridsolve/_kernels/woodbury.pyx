# cython: language_level=3
"""Woodbury kernel for A = diag(d) + U V (U n x k, V k x n, k << n).

    (D + U V)^-1 = D^-1 - D^-1 U (I + V D^-1 U)^-1 V D^-1

``woodbury_factor`` scales W = D^-1 U, forms the k x k capacitance C = I + V W with one
gemm and factors it with our own kernels (Cholesky when the system is Hermitian positive
definite, else pivoted LU).  ``woodbury_apply`` solves op(A) X = B in O(n k nrhs) with
two gemms and a k x k solve; ``woodbury_residual`` forms R = B - op(A) X in O(n k nrhs)
for iterative refinement (Woodbury is not backward stable by itself).

All arrays are column-major; every kernel is ``noexcept nogil`` and returns an info code.
The transposed systems reuse the same capacitance:
    A^T = D + V^T U^T  and  I + U^T D^-1 V^T = C^T,
    A^H = D^H + V^H U^H and  I + U^H D^-H V^H = C^H.
"""
from hybridsolve._kernels._lapack cimport lapack_t, gemm, conj, abs1
from hybridsolve._kernels.lu cimport lu_factor, lu_solve
from hybridsolve._kernels.cholesky cimport cholesky_factor, cholesky_solve


cdef int woodbury_factor(bint hpd, int n, int k, lapack_t *d, lapack_t *u, int ldu,
                         lapack_t *v, int ldv, lapack_t *w, int ldw, lapack_t *c,
                         int ldc, int *ipiv) noexcept nogil:
    """W = D^-1 U; C = I + V W; factor C (Cholesky, lower, when hpd, else LU).

    Returns -1 when some d_i is exactly zero, else the factor's info (0 or j > 0).
    """
    cdef int i, j
    cdef lapack_t one = 1, zero = 0
    for i in range(n):
        if d[i] == zero:
            return -1
    for j in range(k):
        for i in range(n):
            w[i + <size_t>j * ldw] = u[i + <size_t>j * ldu] / d[i]
    for j in range(k):
        for i in range(k):
            c[i + j * ldc] = zero
        c[j + j * ldc] = one
    if k == 0:
        return 0
    gemm("N", "N", k, k, n, one, v, ldv, w, ldw, one, c, ldc)
    if hpd:
        return cholesky_factor(True, k, c, ldc)
    return lu_factor(k, k, c, ldc, ipiv)


cdef inline void _conj_inplace(int n, int nrhs, lapack_t *b, int ldb) noexcept nogil:
    cdef int i, j
    if lapack_t is float or lapack_t is double:
        return
    else:
        for j in range(nrhs):
            for i in range(n):
                b[i + <size_t>j * ldb] = conj(b[i + <size_t>j * ldb])


cdef inline void _scale_inv(bint conjugate, int n, int nrhs, lapack_t *d,
                            lapack_t *b, int ldb) noexcept nogil:
    cdef int i, j
    for j in range(nrhs):
        for i in range(n):
            if conjugate:
                b[i + <size_t>j * ldb] = b[i + <size_t>j * ldb] / conj(d[i])
            else:
                b[i + <size_t>j * ldb] = b[i + <size_t>j * ldb] / d[i]


cdef int woodbury_apply(int trans, bint hpd, int n, int k, int nrhs, lapack_t *d,
                        lapack_t *u, int ldu, lapack_t *v, int ldv, lapack_t *w, int ldw,
                        lapack_t *c, int ldc, int *ipiv, lapack_t *b, int ldb,
                        lapack_t *t, int ldt) noexcept nogil:
    """Overwrite B (n x nrhs) with op(A)^-1 B; t is k x nrhs workspace.  Returns 0."""
    cdef lapack_t one = 1, mone = -1, zero = 0
    cdef char *tr
    if n == 0 or nrhs == 0:
        return 0
    if hpd:
        # A is Hermitian: A^H = A, and A^T x = b  <=>  A conj(x) = conj(b).
        if trans == 1 and (lapack_t is floatcomplex or lapack_t is doublecomplex):
            _conj_inplace(n, nrhs, b, ldb)
            woodbury_apply(0, hpd, n, k, nrhs, d, u, ldu, v, ldv, w, ldw, c, ldc,
                           ipiv, b, ldb, t, ldt)
            _conj_inplace(n, nrhs, b, ldb)
            return 0
        trans = 0
    if trans == 0:
        # x = D^-1 b - W C^-1 V D^-1 b
        _scale_inv(False, n, nrhs, d, b, ldb)
        if k == 0:
            return 0
        gemm("N", "N", k, nrhs, n, one, v, ldv, b, ldb, zero, t, ldt)
        if hpd:
            cholesky_solve(True, k, nrhs, c, ldc, t, ldt)
        else:
            lu_solve(0, k, nrhs, c, ldc, ipiv, t, ldt)
        gemm("N", "N", n, nrhs, k, mone, w, ldw, t, ldt, one, b, ldb)
    else:
        # x = D^-T (b - V^T C^-T W^T b)   (conjugate-transposed analogously)
        tr = "T" if trans == 1 else "C"
        if k > 0:
            gemm(tr, "N", k, nrhs, n, one, w, ldw, b, ldb, zero, t, ldt)
            lu_solve(trans, k, nrhs, c, ldc, ipiv, t, ldt)
            gemm(tr, "N", n, nrhs, k, mone, v, ldv, t, ldt, one, b, ldb)
        _scale_inv(trans == 2, n, nrhs, d, b, ldb)
    return 0


cdef int woodbury_residual(int trans, int n, int k, int nrhs, lapack_t *d,
                           lapack_t *u, int ldu, lapack_t *v, int ldv,
                           lapack_t *x, int ldx, lapack_t *r, int ldr,
                           lapack_t *t, int ldt) noexcept nogil:
    """R := R - op(D + U V) X  (R holds B on entry); t is k x nrhs workspace."""
    cdef int i, j
    cdef lapack_t one = 1, mone = -1, zero = 0
    cdef char *tr
    if n == 0 or nrhs == 0:
        return 0
    for j in range(nrhs):
        for i in range(n):
            if trans == 2:
                r[i + <size_t>j * ldr] -= conj(d[i]) * x[i + <size_t>j * ldx]
            else:
                r[i + <size_t>j * ldr] -= d[i] * x[i + <size_t>j * ldx]
    if k == 0:
        return 0
    if trans == 0:
        gemm("N", "N", k, nrhs, n, one, v, ldv, x, ldx, zero, t, ldt)
        gemm("N", "N", n, nrhs, k, mone, u, ldu, t, ldt, one, r, ldr)
    else:
        tr = "T" if trans == 1 else "C"
        gemm(tr, "N", k, nrhs, n, one, u, ldu, x, ldx, zero, t, ldt)
        gemm(tr, "N", n, nrhs, k, mone, v, ldv, t, ldt, one, r, ldr)
    return 0


cdef int lu_pivot_rank(int m, lapack_t *a, int lda, double tol) noexcept nogil:
    """Detection kernel: unblocked partial-pivoting LU of the small m x m column-major
    ``a`` (overwritten), no BLAS (a threaded BLAS crawls on tiny problems when the
    machine is oversubscribed).  Returns the number of pivots with |re|+|im| > tol; a
    matrix of rank r has a rounding-size Schur complement after r steps, so at most
    about r pivots are large.  A column whose candidates are all below tol is skipped."""
    cdef int i, j, l, p, count = 0
    cdef double best, v
    cdef lapack_t piv, f, tmp
    for j in range(m):
        p = j
        best = -1.0
        for i in range(j, m):
            v = abs1(a[i + <size_t>j * lda])
            if v > best:
                best = v
                p = i
        if best <= tol:
            continue            # a negligible column: no pivot, nothing to eliminate
        count += 1
        if p != j:
            for l in range(m):
                tmp = a[j + <size_t>l * lda]
                a[j + <size_t>l * lda] = a[p + <size_t>l * lda]
                a[p + <size_t>l * lda] = tmp
        piv = a[j + <size_t>j * lda]
        for i in range(j + 1, m):
            a[i + <size_t>j * lda] = a[i + <size_t>j * lda] / piv
        for l in range(j + 1, m):
            f = a[j + <size_t>l * lda]
            if f != 0:
                for i in range(j + 1, m):
                    a[i + <size_t>l * lda] -= a[i + <size_t>j * lda] * f
    return count


# ------------------------------------------------------------------ Python wrappers

def factor(bint hpd, const lapack_t[::1] d, const lapack_t[::1, :] u,
           const lapack_t[::1, :] v,
           lapack_t[::1, :] w, lapack_t[::1, :] c, int[::1] ipiv):
    """Fill W = D^-1 U and the factored capacitance C (k x k); returns the info code
    (-1: a zero d_i; j > 0: the factor broke down at step j)."""
    cdef int n = d.shape[0], k = u.shape[1], info
    if (u.shape[0] != n or v.shape[0] != k or v.shape[1] != n or w.shape[0] != n
            or w.shape[1] != k or c.shape[0] != k or c.shape[1] != k
            or ipiv.shape[0] < k):
        raise ValueError("woodbury.factor: inconsistent shapes")
    with nogil:
        info = woodbury_factor(hpd, n, k, <lapack_t *>&d[0], <lapack_t *>&u[0, 0], max(n, 1), <lapack_t *>&v[0, 0],
                               max(k, 1), &w[0, 0], max(n, 1), &c[0, 0], max(k, 1),
                               &ipiv[0])
    return info


def apply(int trans, bint hpd, const lapack_t[::1] d, const lapack_t[::1, :] u,
           const lapack_t[::1, :] v,
          lapack_t[::1, :] w, lapack_t[::1, :] c, int[::1] ipiv, lapack_t[::1, :] b,
          lapack_t[::1, :] t):
    """Overwrite the F-contiguous b (n x nrhs) with op(A)^-1 b; t: k x nrhs workspace."""
    cdef int n = d.shape[0], k = u.shape[1], nrhs = b.shape[1]
    if b.shape[0] != n or t.shape[0] != k or t.shape[1] != nrhs or trans not in (0, 1, 2):
        raise ValueError("woodbury.apply: inconsistent shapes")
    if n == 0 or nrhs == 0:
        return 0
    with nogil:
        woodbury_apply(trans, hpd, n, k, nrhs, <lapack_t *>&d[0], <lapack_t *>&u[0, 0], max(n, 1), <lapack_t *>&v[0, 0],
                       max(k, 1), &w[0, 0], max(n, 1), &c[0, 0], max(k, 1), &ipiv[0],
                       &b[0, 0], n, &t[0, 0], max(k, 1))
    return 0


def residual(int trans, const lapack_t[::1] d, const lapack_t[::1, :] u,
           const lapack_t[::1, :] v,
             lapack_t[::1, :] x, lapack_t[::1, :] r, lapack_t[::1, :] t):
    """r := r - op(diag(d) + U V) x for F-contiguous n x nrhs x and r."""
    cdef int n = d.shape[0], k = u.shape[1], nrhs = x.shape[1]
    if (x.shape[0] != n or r.shape[0] != n or r.shape[1] != nrhs or t.shape[0] != k
            or t.shape[1] != nrhs or trans not in (0, 1, 2)):
        raise ValueError("woodbury.residual: inconsistent shapes")
    if n == 0 or nrhs == 0:
        return 0
    with nogil:
        woodbury_residual(trans, n, k, nrhs, <lapack_t *>&d[0], <lapack_t *>&u[0, 0], max(n, 1), <lapack_t *>&v[0, 0],
                          max(k, 1), &x[0, 0], n, &r[0, 0], n, &t[0, 0], max(k, 1))
    return 0


def pivot_rank(lapack_t[::1, :] a, double tol):
    """Number of partial-pivoting LU pivots of the square F-contiguous ``a`` (which is
    overwritten) with |re|+|im| > tol."""
    cdef int m = a.shape[0], r
    if a.shape[1] != m:
        raise ValueError("pivot_rank: a must be square")
    if m == 0:
        return 0
    with nogil:
        r = lu_pivot_rank(m, &a[0, 0], m, tol)
    return r
