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


cdef enum:
    # OpenBLAS runs a gemm single-threaded when m * n * k <= 65536 * 4
    # (GEMM_MULTITHREAD_THRESHOLD, a property of OpenBLAS, not a tuning choice).  The
    # products here are thin, and where no per-thread BLAS limit exists (OpenBLAS: see
    # hybridsolve._threads) each is cut into pieces below that so it stays on the
    # calling thread whatever the process-wide OpenBLAS setting.
    ST_MNK = 250000


cdef void gemm_st(char *ta, char *tb, int m, int n, int k, lapack_t alpha, lapack_t *a,
                  int lda, lapack_t *b, int ldb, lapack_t beta, lapack_t *c,
                  int ldc) noexcept nogil:
    """``gemm`` split (recursively, halving the largest dimension) into calls with
    m * n * k <= ST_MNK, which OpenBLAS always runs on the calling thread."""
    cdef int h
    cdef lapack_t one = 1
    cdef bint an = ta[0] == b'N', bn = tb[0] == b'N'
    if m <= 0 or n <= 0:
        return
    if <double>m * <double>n * <double>k <= ST_MNK:
        gemm(ta, tb, m, n, k, alpha, a, lda, b, ldb, beta, c, ldc)
        return
    if k >= m and k >= n:
        h = k // 2
        gemm_st(ta, tb, m, n, h, alpha, a, lda, b, ldb, beta, c, ldc)
        gemm_st(ta, tb, m, n, k - h, alpha,
                a + (<size_t>h * lda if an else <size_t>h), lda,
                b + (<size_t>h if bn else <size_t>h * ldb), ldb, one, c, ldc)
    elif m >= n:
        h = m // 2
        gemm_st(ta, tb, h, n, k, alpha, a, lda, b, ldb, beta, c, ldc)
        gemm_st(ta, tb, m - h, n, k, alpha,
                a + (<size_t>h if an else <size_t>h * lda), lda, b, ldb, beta,
                c + h, ldc)
    else:
        h = n // 2
        gemm_st(ta, tb, m, h, k, alpha, a, lda, b, ldb, beta, c, ldc)
        gemm_st(ta, tb, m, n - h, k, alpha, a, lda,
                b + (<size_t>h * ldb if bn else <size_t>h), ldb, beta,
                c + <size_t>h * ldc, ldc)


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
    gemm_st("N", "N", k, k, n, one, v, ldv, w, ldw, one, c, ldc)
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
        gemm_st("N", "N", k, nrhs, n, one, v, ldv, b, ldb, zero, t, ldt)
        if hpd:
            cholesky_solve(True, k, nrhs, c, ldc, t, ldt)
        else:
            lu_solve(0, k, nrhs, c, ldc, ipiv, t, ldt)
        gemm_st("N", "N", n, nrhs, k, mone, w, ldw, t, ldt, one, b, ldb)
    else:
        # x = D^-T (b - V^T C^-T W^T b)   (conjugate-transposed analogously)
        tr = "T" if trans == 1 else "C"
        if k > 0:
            gemm_st(tr, "N", k, nrhs, n, one, w, ldw, b, ldb, zero, t, ldt)
            lu_solve(trans, k, nrhs, c, ldc, ipiv, t, ldt)
            gemm_st(tr, "N", n, nrhs, k, mone, v, ldv, t, ldt, one, b, ldb)
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
        gemm_st("N", "N", k, nrhs, n, one, v, ldv, x, ldx, zero, t, ldt)
        gemm_st("N", "N", n, nrhs, k, mone, u, ldu, t, ldt, one, r, ldr)
    else:
        tr = "T" if trans == 1 else "C"
        gemm_st(tr, "N", k, nrhs, n, one, u, ldu, x, ldx, zero, t, ldt)
        gemm_st(tr, "N", n, nrhs, k, mone, v, ldv, t, ldt, one, r, ldr)
    return 0


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


# ------------------------------------------------------------------ detection kernels

cdef void dense_sub(int mode, int n, int nrhs, const lapack_t *m, size_t ldm,
                    const lapack_t *x, int ldx, lapack_t *r, int ldr) noexcept nogil:
    """R := R - op(M) X for the column-major n x n M; one pass over M (each column is
    read once for all right-hand sides), on the calling thread (our loop, not BLAS
    gemv, so it never starts BLAS threads whatever the process-wide BLAS setting).  mode 0: M, 1: M^T, 2: M^H, 3: conj(M)."""
    cdef size_t i, j, c
    cdef const lapack_t *col
    cdef lapack_t xj, s0, s1, s2, s3
    cdef lapack_t *rc
    cdef const lapack_t *xc
    for j in range(<size_t>n):
        col = m + j * ldm
        if mode == 0 or mode == 3:
            for c in range(<size_t>nrhs):
                xj = x[j + c * ldx]
                if xj == 0:
                    continue
                rc = r + c * ldr
                if mode == 0:
                    for i in range(<size_t>n):
                        rc[i] -= col[i] * xj
                else:
                    for i in range(<size_t>n):
                        rc[i] -= conj(col[i]) * xj
        else:
            for c in range(<size_t>nrhs):
                xc = x + c * ldx
                s0 = 0
                s1 = 0
                s2 = 0
                s3 = 0
                i = 0
                if mode == 1:
                    while i + 4 <= <size_t>n:
                        s0 = s0 + col[i] * xc[i]
                        s1 = s1 + col[i + 1] * xc[i + 1]
                        s2 = s2 + col[i + 2] * xc[i + 2]
                        s3 = s3 + col[i + 3] * xc[i + 3]
                        i += 4
                    while i < <size_t>n:
                        s0 = s0 + col[i] * xc[i]
                        i += 1
                else:
                    while i + 4 <= <size_t>n:
                        s0 = s0 + conj(col[i]) * xc[i]
                        s1 = s1 + conj(col[i + 1]) * xc[i + 1]
                        s2 = s2 + conj(col[i + 2]) * xc[i + 2]
                        s3 = s3 + conj(col[i + 3]) * xc[i + 3]
                        i += 4
                    while i < <size_t>n:
                        s0 = s0 + conj(col[i]) * xc[i]
                        i += 1
                r[j + c * ldr] -= (s0 + s1) + (s2 + s3)


cdef inline double _col_max(int m, int j, lapack_t *col, int *p) noexcept nogil:
    cdef int i
    cdef double best = -1.0, v
    for i in range(j, m):
        v = abs1(col[i])
        if v > best:
            best = v
            p[0] = i
    return best


cdef inline double _row_max(int nc, int j, lapack_t *row, int lda, int *q) noexcept nogil:
    cdef int l
    cdef double best = -1.0, v
    for l in range(j, nc):
        v = abs1(row[<size_t>l * lda])
        if v > best:
            best = v
            q[0] = l
    return best


cdef int lu_complete_rank(int m, int nc, lapack_t *a, int lda, double tol, int *prow,
                          int *pcol, double *piv) noexcept nogil:
    """Detection kernel: rank-revealing LU of the small column-major m x nc ``a``
    (overwritten) with rook pivoting (the pivot is the largest entry of both its row
    and its column, found by alternating column / row searches: O(m) per step instead
    of complete pivoting's O(m^2), and about as rank revealing).  When the rook pivot
    is at or below tol, one full search confirms that every remaining entry is
    (|re|+|im| <= tol), else elimination goes on from the largest entry.
    prow / pcol (length m / nc, identity on entry) receive the row / column
    permutations, piv[j] the magnitude of the j-th pivot.  Returns the number of
    pivots (the numerical rank)."""
    cdef int i, j, l, p = 0, q = 0, t, kmin = m if m < nc else nc
    cdef int p2 = 0, q2 = 0
    cdef double best, rowbest, colbest, v
    cdef lapack_t pv, f, tmp
    q = 0
    for j in range(kmin):
        # rook search, starting from the column of the previous step's choice
        if q < j:
            q = j
        colbest = _col_max(m, j, a + <size_t>q * lda, &p)
        while True:
            rowbest = _row_max(nc, j, a + p, lda, &q2)
            if rowbest <= colbest:
                break
            q = q2
            colbest = _col_max(m, j, a + <size_t>q * lda, &p2)
            if colbest <= rowbest:
                colbest = rowbest
                break
            p = p2
        best = colbest
        if best <= tol:
            # confirm with a full search of the trailing block
            best = -1.0
            for l in range(j, nc):
                for i in range(j, m):
                    v = abs1(a[i + <size_t>l * lda])
                    if v > best:
                        best = v
                        p = i
                        q = l
            if best <= tol:
                return j
        piv[j] = best
        if p != j:
            for l in range(nc):
                tmp = a[j + <size_t>l * lda]
                a[j + <size_t>l * lda] = a[p + <size_t>l * lda]
                a[p + <size_t>l * lda] = tmp
            t = prow[j]
            prow[j] = prow[p]
            prow[p] = t
        if q != j:
            for i in range(m):
                tmp = a[i + <size_t>j * lda]
                a[i + <size_t>j * lda] = a[i + <size_t>q * lda]
                a[i + <size_t>q * lda] = tmp
            t = pcol[j]
            pcol[j] = pcol[q]
            pcol[q] = t
        pv = a[j + <size_t>j * lda]
        for i in range(j + 1, m):
            a[i + <size_t>j * lda] = a[i + <size_t>j * lda] / pv
        for l in range(j + 1, nc):
            f = a[j + <size_t>l * lda]
            if f != 0:
                for i in range(j + 1, m):
                    a[i + <size_t>l * lda] -= a[i + <size_t>j * lda] * f
        q = j + 1
    return kmin


def dense_residual(int mode, const lapack_t[::1, :] m, const lapack_t[::1, :] x,
                   lapack_t[::1, :] r):
    """r := r - op(m) x (mode 0: m, 1: m^T, 2: m^H, 3: conj(m)) for the F-contiguous
    square m and F-contiguous n x nrhs x, r; one pass over m on the calling thread."""
    cdef int n = m.shape[0], nrhs = x.shape[1]
    if (m.shape[1] != n or x.shape[0] != n or r.shape[0] != n or r.shape[1] != nrhs
            or mode < 0 or mode > 3):
        raise ValueError("woodbury.dense_residual: inconsistent shapes or mode")
    if n == 0 or nrhs == 0:
        return 0
    with nogil:
        dense_sub(mode, n, nrhs, &m[0, 0], <size_t>n, &x[0, 0], n, &r[0, 0], n)
    return 0


def complete_rank(lapack_t[::1, :] a, double tol, int[::1] prow, int[::1] pcol,
                  double[::1] piv):
    """Numerical rank of the F-contiguous ``a`` (overwritten) by rank-revealing LU
    with rook pivoting (``lu_complete_rank``; pivots with |re|+|im| > tol); fills
    the permutations prow / pcol (set to the identity here) and the pivot magnitudes
    piv[:rank]."""
    cdef int m = a.shape[0], nc = a.shape[1], i, r
    if prow.shape[0] < m or pcol.shape[0] < nc or piv.shape[0] < min(m, nc):
        raise ValueError("complete_rank: workspace too small")
    for i in range(m):
        prow[i] = i
    for i in range(nc):
        pcol[i] = i
    if m == 0 or nc == 0:
        return 0
    with nogil:
        r = lu_complete_rank(m, nc, &a[0, 0], m, tol, &prow[0], &pcol[0], &piv[0])
    return r


def matmul_st(int ta, int tb, const lapack_t[::1, :] a, const lapack_t[::1, :] b,
              lapack_t[::1, :] c, double alpha=1.0, double beta=0.0, bint split=True):
    """c := alpha op(a) op(b) + beta c (op 0: none, 1: transpose, 2: conjugate
    transpose) for F-contiguous arrays, as gemm calls small enough to run on the
    calling thread (``split=False``: one gemm call, for callers inside
    ``blas_threads(1)`` where that per-thread limit is effective)."""
    cdef int m = c.shape[0], n = c.shape[1], k, i, j
    cdef int am = a.shape[0] if ta == 0 else a.shape[1]
    cdef int bn = b.shape[1] if tb == 0 else b.shape[0]
    cdef lapack_t al = alpha, be = beta
    cdef char *sa = "N" if ta == 0 else ("T" if ta == 1 else "C")
    cdef char *sb = "N" if tb == 0 else ("T" if tb == 1 else "C")
    k = a.shape[1] if ta == 0 else a.shape[0]
    if am != m or bn != n or (b.shape[0] if tb == 0 else b.shape[1]) != k:
        raise ValueError("matmul_st: inconsistent shapes")
    if m == 0 or n == 0:
        return 0
    if k == 0:
        for j in range(n):
            for i in range(m):
                c[i, j] = be * c[i, j] if beta != 0 else 0
        return 0
    with nogil:
        if split:
            gemm_st(sa, sb, m, n, k, al, <lapack_t *>&a[0, 0], a.shape[0],
                    <lapack_t *>&b[0, 0], b.shape[0], be, &c[0, 0], m)
        else:
            gemm(sa, sb, m, n, k, al, <lapack_t *>&a[0, 0], a.shape[0],
                 <lapack_t *>&b[0, 0], b.shape[0], be, &c[0, 0], m)
    return 0


cdef int lu_count_blocked(int m, lapack_t *a, int lda, double tol,
                          int nb) noexcept nogil:
    """Detection kernel for the largest sample: blocked right-looking LU with partial
    pivoting of the square column-major ``a`` (overwritten); returns the number of
    pivots with |re|+|im| > tol.  Partial pivoting keeps every multiplier <= 1, so
    after the r real pivots of a rank-r matrix the rest stay at the rounding level
    (an exactly zero column is passed over).  The trailing updates are ``gemm_st``
    calls (on the calling thread): several times faster than the unblocked loop."""
    cdef int j0, jb, j, i, l, p, count = 0
    cdef double best, v
    cdef lapack_t pv, f, tmp, mone = -1, one = 1
    j0 = 0
    while j0 < m:
        jb = nb if m - j0 > nb else m - j0
        for j in range(j0, j0 + jb):
            p = j
            best = -1.0
            for i in range(j, m):
                v = abs1(a[i + <size_t>j * lda])
                if v > best:
                    best = v
                    p = i
            if best > tol:
                count += 1
            if best == 0.0:
                continue
            if p != j:
                for l in range(m):
                    tmp = a[j + <size_t>l * lda]
                    a[j + <size_t>l * lda] = a[p + <size_t>l * lda]
                    a[p + <size_t>l * lda] = tmp
            pv = a[j + <size_t>j * lda]
            for i in range(j + 1, m):
                a[i + <size_t>j * lda] = a[i + <size_t>j * lda] / pv
            for l in range(j + 1, j0 + jb):
                f = a[j + <size_t>l * lda]
                if f != 0:
                    for i in range(j + 1, m):
                        a[i + <size_t>l * lda] -= a[i + <size_t>j * lda] * f
        if j0 + jb < m:
            # U12 := L11^-1 A12 (unit lower triangular, jb x jb)
            for l in range(j0 + jb, m):
                for j in range(j0, j0 + jb):
                    f = a[j + <size_t>l * lda]
                    if f != 0:
                        for i in range(j + 1, j0 + jb):
                            a[i + <size_t>l * lda] -= a[i + <size_t>j * lda] * f
            # A22 -= L21 U12
            gemm_st("N", "N", m - j0 - jb, m - j0 - jb, jb, mone,
                    &a[j0 + jb + <size_t>j0 * lda], lda,
                    &a[j0 + <size_t>(j0 + jb) * lda], lda, one,
                    &a[j0 + jb + <size_t>(j0 + jb) * lda], lda)
        j0 += jb
    return count


def pivot_count(lapack_t[::1, :] a, double tol, int nb=32):
    """Number of partial-pivoting LU pivots of the square F-contiguous ``a`` (which is
    overwritten) with |re|+|im| > tol; blocked (``lu_count_blocked``)."""
    cdef int m = a.shape[0], r
    if a.shape[1] != m:
        raise ValueError("pivot_count: a must be square")
    if nb < 1:
        raise ValueError("pivot_count: nb must be positive")
    if m == 0:
        return 0
    with nogil:
        r = lu_count_blocked(m, &a[0, 0], m, tol, nb)
    return r
