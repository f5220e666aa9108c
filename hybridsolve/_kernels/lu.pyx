"""Pivoted LU (getrf/getrs semantics): a recursive, Toledo-style column split whose leaves
are our own loops and whose updates are level-3 BLAS calls through the shim.

Factor (``lu_factor``), column-major m x n, partial pivoting, 1-based ``ipiv``:

* tiny matrices (n <= ``_unblocked_n``) and the recursion's leaves (panels at most
  ``_leaf_nb`` columns wide) run ``_getf2``: our own right-looking loops (pivot search by
  |re|+|im| like i?amax, row swaps, scaling by the reciprocal pivot as LAPACK does,
  rank-1 updates).  No BLAS call, so no call overhead at n = 16.
* otherwise ``_rgetrf`` splits the columns in two halves [A11 A12; A21 A22]: factor the
  left half recursively, apply its swaps to the right half, A12 := L11^-1 A12,
  A22 -= A21 A12 (gemm), factor A22 recursively, shift its pivots and apply them to the
  left half.  Almost all flops land in the gemm of the top levels.
* row interchanges and the small triangular solves of the recursion are our own loops
  (laswp semantics; OpenBLAS starts threads for every laswp and even small trsm calls,
  whose start-up costs more than the work there); A12 := L11^-1 A12 halves L11 around a
  gemm (``_trsm_rec``) down to 32-wide blocks solved by our own 4-column loop, and goes
  to one BLAS trsm only for L11 wider than ``_blas_trsm_n`` (256).
* from ``_lapack_n`` (tuning ``lu_lapack_n``) on we hand over to LAPACK's getrf: measured
  faster there (see hybridsolve._tuning; ``python -m benchmarks.bench_lu --crossover``).

``info`` is LAPACK's: 0, or j > 0 when U[j-1, j-1] is exactly zero (the factorization
continues, as LAPACK's does).  The pivot growth, ipiv and info agree with LAPACK's getrf on
inputs without ties in the pivot search.

Solve (``lu_solve``), trans 0: A X = B, 1: A^T X = B, 2: A^H X = B: our own substitution
loops for n <= 128 and at most 4 right-hand sides; our row swaps + two BLAS trsm
otherwise.
"""
cimport numpy as cnp
from libc.float cimport DBL_MIN, FLT_MIN
from libc.stdlib cimport free, malloc

from hybridsolve._kernels._lapack cimport (
    lapack_t, abs1, absval, conj, gemm, gecon_lapack, getrf_lapack, trsm, trsv,
)
from hybridsolve._kernels.condest cimport hager_rcond

cnp.import_array()

# ------------------------------------------------------------------ tuning
# Crossovers from hybridsolve._tuning (defaults and the measurements behind them there),
# read at import; ``_tuning()`` below changes them at run time (tune command, tests).
from hybridsolve._tuning import value as _tuned

# Whole matrix in our own unblocked loops up to this order.
cdef int _unblocked_n = _tuned("lu_unblocked_n")
# Recursion leaves: panels at most this many columns wide are factored by _getf2.
cdef int _leaf_nb = _tuned("lu_leaf_nb")
# A12 := L11^-1 A12 by our own loop when L11 is at most this wide, by BLAS trsm above.
cdef int _own_trsm_n = _tuned("lu_own_trsm_n")
# ... by halving L11 around a gemm up to this width, by one BLAS trsm call above.
cdef int _blas_trsm_n = _tuned("lu_blas_trsm_n")
# Hand the whole factorization to LAPACK getrf from this order on.
cdef int _lapack_n = _tuned("lu_lapack_n")
# Own substitution loops in lu_solve when n <= _solve_own_n and nrhs <= _solve_own_nrhs.
cdef int _solve_own_n = _tuned("lu_solve_own_n")
cdef int _solve_own_nrhs = _tuned("lu_solve_own_nrhs")
# Above that order the solve goes column by column to BLAS trsv when nrhs is at most
# _solve_trsv_nrhs or n * n * nrhs at most _solve_trsv_work; to two trsm calls otherwise
# (the same rule as the triangular kernel's: tuning trsv_max_nrhs / trsv_max_work).
cdef int _solve_trsv_nrhs = _tuned("trsv_max_nrhs")
cdef double _solve_trsv_work = _tuned("trsv_max_work")


def _tuning(unblocked_n=None, leaf_nb=None, lapack_n=None, solve_own_n=None,
            solve_own_nrhs=None, own_trsm_n=None, blas_trsm_n=None,
            solve_trsv_nrhs=None, solve_trsv_work=None):
    """Read (and, for benchmarks/tests only, set) the kernel thresholds.  Returns the
    previous values as a dict so a caller can restore them."""
    global _unblocked_n, _leaf_nb, _lapack_n, _solve_own_n, _solve_own_nrhs, _own_trsm_n
    global _blas_trsm_n, _solve_trsv_nrhs, _solve_trsv_work
    old = dict(unblocked_n=_unblocked_n, leaf_nb=_leaf_nb, lapack_n=_lapack_n,
               solve_own_n=_solve_own_n, solve_own_nrhs=_solve_own_nrhs,
               own_trsm_n=_own_trsm_n, blas_trsm_n=_blas_trsm_n,
               solve_trsv_nrhs=_solve_trsv_nrhs,
               solve_trsv_work=_solve_trsv_work)
    if solve_trsv_nrhs is not None:
        _solve_trsv_nrhs = solve_trsv_nrhs
    if solve_trsv_work is not None:
        _solve_trsv_work = solve_trsv_work
    if blas_trsm_n is not None:
        _blas_trsm_n = max(0, int(blas_trsm_n))
    if own_trsm_n is not None:
        _own_trsm_n = max(0, int(own_trsm_n))
    if unblocked_n is not None:
        _unblocked_n = max(0, int(unblocked_n))
    if leaf_nb is not None:
        _leaf_nb = max(1, int(leaf_nb))
    if lapack_n is not None:
        _lapack_n = max(0, int(lapack_n))
    if solve_own_n is not None:
        _solve_own_n = max(0, int(solve_own_n))
    if solve_own_nrhs is not None:
        _solve_own_nrhs = max(0, int(solve_own_nrhs))
    return old


# ------------------------------------------------------------------ factorization

cdef int _getf2(int m, int n, lapack_t *a, int lda, int *ipiv) noexcept nogil:
    """Unblocked right-looking LU of the m x n panel (LAPACK getf2 semantics)."""
    cdef int info = 0
    cdef int kmax = m if m < n else n
    cdef int i, j, k, p
    cdef double amax, t, sfmin
    cdef lapack_t piv, r, f, tmp
    cdef lapack_t *cj
    cdef lapack_t *ck
    if lapack_t is float or lapack_t is floatcomplex:
        sfmin = FLT_MIN
    else:
        sfmin = DBL_MIN
    for j in range(kmax):
        cj = a + <size_t>j * lda
        # pivot: first row of largest |re| + |im| (as i?amax)
        p = j
        amax = abs1(cj[j])
        for i in range(j + 1, m):
            t = abs1(cj[i])
            if t > amax:
                amax = t
                p = i
        ipiv[j] = p + 1
        if cj[p] != 0:
            if p != j:
                for k in range(n):
                    ck = a + <size_t>k * lda
                    tmp = ck[j]
                    ck[j] = ck[p]
                    ck[p] = tmp
            piv = cj[j]
            if absval(piv) >= sfmin:
                r = 1 / piv
                for i in range(j + 1, m):
                    cj[i] = cj[i] * r
            else:
                for i in range(j + 1, m):
                    cj[i] = cj[i] / piv
        elif info == 0:
            info = j + 1
        # rank-1 update of the trailing panel, one contiguous column at a time
        for k in range(j + 1, n):
            ck = a + <size_t>k * lda
            f = ck[j]
            if f != 0:
                for i in range(j + 1, m):
                    ck[i] = ck[i] - cj[i] * f
    return info


cdef void _swap_rows(int ncols, lapack_t *a, int lda, int k1, int k2, int *ipiv,
                     bint forward) noexcept nogil:
    """Row interchanges i <-> ipiv[i]-1 for i in k1..k2-1 (0-based; ipiv 1-based) on
    ncols columns; forward or in reverse order.  LAPACK laswp semantics, but our own
    loop: OpenBLAS starts threads for every laswp call whatever its size, and a tiny
    threaded call waits for its second thread (measured with the other core busy: a
    16 x 16 laswp took 16 ms instead of 1 us)."""
    cdef int c, i, p
    cdef lapack_t tmp
    cdef lapack_t *col
    for c in range(ncols):
        col = a + <size_t>c * lda
        if forward:
            for i in range(k1, k2):
                p = ipiv[i] - 1
                if p != i:
                    tmp = col[i]
                    col[i] = col[p]
                    col[p] = tmp
        else:
            for i in range(k2 - 1, k1 - 1, -1):
                p = ipiv[i] - 1
                if p != i:
                    tmp = col[i]
                    col[i] = col[p]
                    col[p] = tmp


cdef void _trsm_llnu(int m, int n, lapack_t *l, int lda, lapack_t *b, int ldb) noexcept nogil:
    """B := L^-1 B for the unit lower triangular m x m L: our own loop for narrow L.
    Four columns of B at a time, so each entry of L is loaded once per four updates."""
    cdef int c, i, j
    cdef lapack_t s0, s1, s2, s3, lij
    cdef lapack_t *x0
    cdef lapack_t *x1
    cdef lapack_t *x2
    cdef lapack_t *x3
    cdef lapack_t *col
    c = 0
    while c + 4 <= n:
        x0 = b + <size_t>c * ldb
        x1 = x0 + ldb
        x2 = x1 + ldb
        x3 = x2 + ldb
        for j in range(m):
            s0 = x0[j]
            s1 = x1[j]
            s2 = x2[j]
            s3 = x3[j]
            col = l + <size_t>j * lda
            for i in range(j + 1, m):
                lij = col[i]
                x0[i] = x0[i] - s0 * lij
                x1[i] = x1[i] - s1 * lij
                x2[i] = x2[i] - s2 * lij
                x3[i] = x3[i] - s3 * lij
        c += 4
    while c < n:
        x0 = b + <size_t>c * ldb
        for j in range(m):
            s0 = x0[j]
            if s0 != 0:
                col = l + <size_t>j * lda
                for i in range(j + 1, m):
                    x0[i] = x0[i] - s0 * col[i]
        c += 1


cdef void _trsm_rec(int m, int n, lapack_t *l, int lda, lapack_t *b,
                    int ldb) noexcept nogil:
    """B := L^-1 B (L unit lower m x m) by halving L: two recursive solves around one
    gemm, leaves by _trsm_llnu.  Used below _blas_trsm_n instead of BLAS trsm, which
    OpenBLAS threads from about 64 x 64 on; such a mid-size threaded call was measured
    at 15-27 ms instead of ~20 us with the other core busy (gemm only threads above 64^3
    flops, where it pays)."""
    cdef int m1
    cdef lapack_t one = 1
    cdef lapack_t mone = -1
    if m <= _own_trsm_n:
        _trsm_llnu(m, n, l, lda, b, ldb)
        return
    m1 = m // 2
    _trsm_rec(m1, n, l, lda, b, ldb)
    gemm("N", "N", m - m1, n, m1, mone, l + m1, lda, b, ldb, one, b + m1, ldb)
    _trsm_rec(m - m1, n, l + m1 + <size_t>m1 * lda, lda, b + m1, ldb)


cdef int _rgetrf(int m, int n, lapack_t *a, int lda, int *ipiv) noexcept nogil:
    """Recursive column-split LU (Toledo 1997 / LAPACK getrf2), leaves by _getf2."""
    cdef int mn = m if m < n else n
    cdef int n1, n2, info, iinfo, i
    cdef lapack_t one = 1
    cdef lapack_t mone = -1
    cdef lapack_t *a12
    if mn == 0:
        return 0
    if n <= _leaf_nb or mn <= _leaf_nb:
        return _getf2(m, n, a, lda, ipiv)
    n1 = mn // 2
    if n1 > _leaf_nb:
        n1 -= n1 % _leaf_nb          # keep leaves full width
    n2 = n - n1
    a12 = a + <size_t>n1 * lda
    info = _rgetrf(m, n1, a, lda, ipiv)
    _swap_rows(n2, a12, lda, 0, n1, ipiv, True)
    if n1 <= _blas_trsm_n:
        _trsm_rec(n1, n2, a, lda, a12, lda)
    else:
        trsm("L", "L", "N", "U", n1, n2, one, a, lda, a12, lda)
    if m > n1:
        gemm("N", "N", m - n1, n2, n1, mone, a + n1, lda, a12, lda, one, a12 + n1, lda)
        iinfo = _rgetrf(m - n1, n2, a12 + n1, lda, ipiv + n1)
        if info == 0 and iinfo > 0:
            info = iinfo + n1
        for i in range(n1, mn):
            ipiv[i] += n1
        _swap_rows(n1, a, lda, n1, mn, ipiv, True)
    return info


cdef int lu_factor(int m, int n, lapack_t *a, int lda, int *ipiv) noexcept nogil:
    cdef int mn = m if m < n else n
    if mn <= 0:
        return 0
    if mn >= _lapack_n:
        return getrf_lapack(m, n, a, lda, ipiv)
    if n <= _unblocked_n:
        return _getf2(m, n, a, lda, ipiv)
    return _rgetrf(m, n, a, lda, ipiv)


# ------------------------------------------------------------------ solve

cdef void _solve_own(int trans, int n, lapack_t *lu, int lda, int *ipiv,
                     lapack_t *x) noexcept nogil:
    """One right-hand side by substitution (column-oriented where it can be)."""
    cdef int i, j, p
    cdef lapack_t s, tmp
    cdef lapack_t *col
    if trans == 0:
        for i in range(n):
            p = ipiv[i] - 1
            if p != i:
                tmp = x[i]
                x[i] = x[p]
                x[p] = tmp
        for j in range(n):                       # L y = P^T b, unit diagonal
            s = x[j]
            if s != 0:
                col = lu + <size_t>j * lda
                for i in range(j + 1, n):
                    x[i] = x[i] - s * col[i]
        for j in range(n - 1, -1, -1):           # U x = y
            col = lu + <size_t>j * lda
            s = x[j] / col[j]
            x[j] = s
            if s != 0:
                for i in range(j):
                    x[i] = x[i] - s * col[i]
    else:
        for j in range(n):                       # U^T y = b  (U^H for trans 2)
            col = lu + <size_t>j * lda
            s = x[j]
            if trans == 1:
                for i in range(j):
                    s = s - col[i] * x[i]
                x[j] = s / col[j]
            else:
                for i in range(j):
                    s = s - conj(col[i]) * x[i]
                x[j] = s / conj(col[j])
        for j in range(n - 1, -1, -1):           # L^T z = y  (L^H), unit diagonal
            col = lu + <size_t>j * lda
            s = x[j]
            if trans == 1:
                for i in range(j + 1, n):
                    s = s - col[i] * x[i]
            else:
                for i in range(j + 1, n):
                    s = s - conj(col[i]) * x[i]
            x[j] = s
        for i in range(n - 1, -1, -1):           # x = P z
            p = ipiv[i] - 1
            if p != i:
                tmp = x[i]
                x[i] = x[p]
                x[p] = tmp


cdef int lu_solve(int trans, int n, int nrhs, lapack_t *lu, int lda, int *ipiv,
                  lapack_t *b, int ldb) noexcept nogil:
    cdef lapack_t one = 1
    cdef int c
    if n <= 0 or nrhs <= 0:
        return 0
    if n <= _solve_own_n and nrhs <= _solve_own_nrhs:
        for c in range(nrhs):
            _solve_own(trans, n, lu, lda, ipiv, b + <size_t>c * ldb)
        return 0
    cdef char *t = "N" if trans == 0 else ("T" if trans == 1 else "C")
    cdef lapack_t *x
    if trans == 0:
        _swap_rows(nrhs, b, ldb, 0, n, ipiv, True)
    if nrhs <= _solve_trsv_nrhs or <double>n * n * nrhs <= _solve_trsv_work:
        for c in range(nrhs):
            x = b + <size_t>c * ldb
            if trans == 0:
                trsv("L", "N", "U", n, lu, lda, x, 1)
                trsv("U", "N", "N", n, lu, lda, x, 1)
            else:
                trsv("U", t, "N", n, lu, lda, x, 1)
                trsv("L", t, "U", n, lu, lda, x, 1)
    elif trans == 0:
        trsm("L", "L", "N", "U", n, nrhs, one, lu, lda, b, ldb)
        trsm("L", "U", "N", "N", n, nrhs, one, lu, lda, b, ldb)
    else:
        trsm("L", "U", t, "N", n, nrhs, one, lu, lda, b, ldb)
        trsm("L", "L", t, "U", n, nrhs, one, lu, lda, b, ldb)
    if trans != 0:
        _swap_rows(nrhs, b, ldb, 0, n, ipiv, False)
    return 0


# ------------------------------------------------------------------ norms, rcond

cdef double _norm(bint inf_norm, int n, lapack_t *a, int lda) noexcept nogil:
    """1-norm (max column sum of |a_ij|) or, with inf_norm, the infinity norm (max row
    sum) of the column-major n x n matrix.  NaN propagates."""
    cdef int i, j
    cdef double s, best = 0.0
    cdef lapack_t *col
    cdef double *rows
    if not inf_norm:
        for j in range(n):
            col = a + <size_t>j * lda
            s = 0.0
            for i in range(n):
                s += absval(col[i])
            if s > best or s != s:
                best = s
        return best
    # row sums: accumulate column by column (contiguous reads) in a small buffer
    rows = <double *>malloc(n * sizeof(double)) if n > 0 else NULL
    if rows == NULL:
        return -1.0
    for i in range(n):
        rows[i] = 0.0
    for j in range(n):
        col = a + <size_t>j * lda
        for i in range(n):
            rows[i] += absval(col[i])
    for i in range(n):
        if rows[i] > best or rows[i] != rows[i]:
            best = rows[i]
    free(rows)
    return best



cdef int _factor_rcond(int n, lapack_t *a, int *ipiv, double *anorm, bint transposed,
                       bint want_rcond, double *rcond) noexcept nogil:
    """Norm (if anorm[0] < 0; written back), factor, and (if want_rcond and nonsingular)
    gecon.  ``transposed``: the buffer holds A^T, so A's 1-norm is the buffer's infinity
    norm.  Returns lu_factor's info (> 0 singular, rcond 0), or -100 when a workspace
    cannot be allocated."""
    cdef int info
    if anorm[0] < 0:
        anorm[0] = _norm(transposed, n, a, n)
        if anorm[0] < 0:
            return -100
    info = lu_factor(n, n, a, n, ipiv)
    if info != 0:
        rcond[0] = 0.0
        return info
    if want_rcond:
        return _rcond(n, a, anorm[0], transposed, rcond)
    return 0


cdef int _rcond(int n, lapack_t *lu, double anorm, bint transposed,
                double *rcond) noexcept nogil:
    """gecon's estimate: our BLAS-2 Hager-Higham loop, or LAPACK's gecon when that loop
    meets an overflow (gecon scales its solves; trsv does not)."""
    cdef int info
    if n == 0:
        rcond[0] = 1.0
        return 0
    if anorm != anorm:
        rcond[0] = anorm                     # NaN in A: rcond is NaN
        return 0
    info = hager_rcond(1 if transposed else 0, n, lu, n, anorm, rcond)
    if info != 1:
        return info
    if gecon_lapack("I" if transposed else "1", n, lu, n, anorm, rcond) == -100:
        return -100
    return 0

# ------------------------------------------------------------------ Python entry points

cdef int check_square_f(cnp.ndarray a, int n) except -1:
    if cnp.PyArray_NDIM(a) != 2 or a.shape[0] != n or a.shape[1] != n:
        raise ValueError("expected a square 2-D array")
    if not (cnp.PyArray_IS_F_CONTIGUOUS(a) and cnp.PyArray_ISBEHAVED(a)):
        raise ValueError("expected an F-contiguous, aligned, writeable, native array")
    return cnp.PyArray_TYPE(a)


def factor_array(cnp.ndarray a not None, cnp.ndarray ipiv not None, double anorm,
                 bint transposed, bint want_rcond=True):
    """Factor the F-contiguous square ``a`` in place (the LU solver's fast path).

    ``ipiv``: int32 (C int) array of length n, filled with LAPACK's 1-based pivots.
    ``anorm``: the 1-norm of A when known, else negative (computed here, before the
    factorization overwrites ``a``).  ``transposed``: ``a`` holds A^T (rcond is still
    the 1-norm estimate of A: gecon is asked for the buffer's infinity norm).
    ``want_rcond``: run gecon now (else rcond is NaN; ``rcond_array`` computes it later).

    Returns ``(info, anorm, rcond)``; info > 0 means U[info-1, info-1] == 0 (rcond 0).
    """
    cdef int n = <int>a.shape[0] if cnp.PyArray_NDIM(a) == 2 else -1
    cdef int t = check_square_f(a, n)
    cdef int info = 0
    cdef double rcond = float("nan")
    cdef void *pa = cnp.PyArray_DATA(a)
    cdef int *pp
    if (cnp.PyArray_TYPE(ipiv) != cnp.NPY_INT or cnp.PyArray_NDIM(ipiv) != 1
            or ipiv.shape[0] != n or not cnp.PyArray_ISCARRAY(ipiv)):
        raise ValueError("ipiv must be a writeable C-int array of length n")
    pp = <int *>cnp.PyArray_DATA(ipiv)
    if t == cnp.NPY_DOUBLE:
        with nogil:
            info = _factor_rcond(n, <double *>pa, pp, &anorm, transposed, want_rcond, &rcond)
    elif t == cnp.NPY_FLOAT:
        with nogil:
            info = _factor_rcond(n, <float *>pa, pp, &anorm, transposed, want_rcond, &rcond)
    elif t == cnp.NPY_CDOUBLE:
        with nogil:
            info = _factor_rcond(n, <double complex *>pa, pp, &anorm, transposed,
                                 want_rcond, &rcond)
    elif t == cnp.NPY_CFLOAT:
        with nogil:
            info = _factor_rcond(n, <float complex *>pa, pp, &anorm, transposed,
                                 want_rcond, &rcond)
    else:
        raise TypeError(f"unsupported dtype {a.dtype}: expected float32, float64, "
                        "complex64 or complex128")
    if info == -100:
        raise MemoryError("LU: could not allocate a workspace")
    return info, anorm, rcond


def rcond_array(cnp.ndarray lu not None, double anorm, bint transposed):
    """gecon on ``factor_array``'s output: the reciprocal 1-norm condition estimate of A
    (``anorm`` = ||A||_1 as returned by ``factor_array``)."""
    cdef int n = <int>lu.shape[0] if cnp.PyArray_NDIM(lu) == 2 else -1
    cdef int t = check_square_f(lu, n)
    cdef int info = 0
    cdef double rcond = 0.0
    cdef void *pl = cnp.PyArray_DATA(lu)
    if t == cnp.NPY_DOUBLE:
        with nogil:
            info = _rcond(n, <double *>pl, anorm, transposed, &rcond)
    elif t == cnp.NPY_FLOAT:
        with nogil:
            info = _rcond(n, <float *>pl, anorm, transposed, &rcond)
    elif t == cnp.NPY_CDOUBLE:
        with nogil:
            info = _rcond(n, <double complex *>pl, anorm, transposed, &rcond)
    elif t == cnp.NPY_CFLOAT:
        with nogil:
            info = _rcond(n, <float complex *>pl, anorm, transposed, &rcond)
    else:
        raise TypeError(f"unsupported dtype {lu.dtype}")
    if info == -100:
        raise MemoryError("gecon: could not allocate a workspace")
    return rcond


cdef void _conj_inplace(int n, int k, lapack_t *b, int ldb) noexcept nogil:
    cdef int i, j
    cdef lapack_t *col
    if lapack_t is float or lapack_t is double:
        return
    else:
        for j in range(k):
            col = b + <size_t>j * ldb
            for i in range(n):
                col[i] = col[i].conjugate()


cdef void _solve_stored(int trans, bint transposed, int n, int k, lapack_t *lu,
                        int *ipiv, lapack_t *b, int ldb) noexcept nogil:
    """Solve op(A) X = B when the factored buffer M is A (transposed False) or A^T."""
    if not transposed:
        lu_solve(trans, n, k, lu, n, ipiv, b, ldb)
    elif trans == 0:                     # A x = b  <=>  M^T x = b
        lu_solve(1, n, k, lu, n, ipiv, b, ldb)
    elif trans == 1:                     # A^T x = b  <=>  M x = b
        lu_solve(0, n, k, lu, n, ipiv, b, ldb)
    else:                                # A^H x = b  <=>  conj(M) x = b  <=>  M conj(x) = conj(b)
        _conj_inplace(n, k, b, ldb)
        lu_solve(0, n, k, lu, n, ipiv, b, ldb)
        _conj_inplace(n, k, b, ldb)


def solve_array(cnp.ndarray lu not None, cnp.ndarray ipiv not None, cnp.ndarray b not None,
                int trans, bint transposed):
    """Overwrite the F-contiguous (n, k) ``b`` (same dtype as ``lu``) with the solution of
    op(A) X = B from ``factor_array``'s output; ``transposed`` as given there."""
    cdef int n = <int>lu.shape[0] if cnp.PyArray_NDIM(lu) == 2 else -1
    cdef int t = check_square_f(lu, n)
    cdef int k, ldb
    cdef void *pl = cnp.PyArray_DATA(lu)
    cdef void *pb
    cdef int *pp
    if trans < 0 or trans > 2:
        raise ValueError("trans must be 0, 1 or 2")
    if (cnp.PyArray_NDIM(b) != 2 or b.shape[0] != n or cnp.PyArray_TYPE(b) != t
            or not (cnp.PyArray_IS_F_CONTIGUOUS(b) and cnp.PyArray_ISBEHAVED(b))):
        raise ValueError("b must be an F-contiguous writeable (n, k) array of lu's dtype")
    if (cnp.PyArray_TYPE(ipiv) != cnp.NPY_INT or cnp.PyArray_NDIM(ipiv) != 1
            or ipiv.shape[0] != n or not cnp.PyArray_ISCARRAY_RO(ipiv)):
        raise ValueError("ipiv must be a C-int array of length n")
    k = <int>b.shape[1]
    if n == 0 or k == 0:
        return
    ldb = n
    pb = cnp.PyArray_DATA(b)
    pp = <int *>cnp.PyArray_DATA(ipiv)
    if t == cnp.NPY_DOUBLE:
        with nogil:
            _solve_stored(trans, transposed, n, k, <double *>pl, pp, <double *>pb, ldb)
    elif t == cnp.NPY_FLOAT:
        with nogil:
            _solve_stored(trans, transposed, n, k, <float *>pl, pp, <float *>pb, ldb)
    elif t == cnp.NPY_CDOUBLE:
        with nogil:
            _solve_stored(trans, transposed, n, k, <double complex *>pl, pp,
                          <double complex *>pb, ldb)
    elif t == cnp.NPY_CFLOAT:
        with nogil:
            _solve_stored(trans, transposed, n, k, <float complex *>pl, pp,
                          <float complex *>pb, ldb)
    else:
        raise TypeError(f"unsupported dtype {lu.dtype}")


# ------------------------------------------------------------------ test wrappers

def getrf(lapack_t[::1, :] a, int[::1] ipiv):
    """In-place pivoted LU of the F-contiguous ``a``; returns LAPACK's info."""
    cdef int info
    cdef int m = a.shape[0], n = a.shape[1]
    if ipiv.shape[0] < (m if m < n else n):
        raise ValueError("ipiv is too short")
    if m == 0 or n == 0:
        return 0
    with nogil:
        info = lu_factor(m, n, &a[0, 0], m, &ipiv[0])
    return info


def getrs(lapack_t[::1, :] lu, const int[::1] ipiv, lapack_t[::1, :] b, int trans=0):
    """Solve with the factors of ``getrf``; ``b`` (F-contiguous n x nrhs) is overwritten."""
    cdef int info
    cdef int n = lu.shape[0]
    if lu.shape[1] != n or b.shape[0] != n or ipiv.shape[0] < n:
        raise ValueError("getrs: incompatible shapes")
    if trans < 0 or trans > 2:
        raise ValueError("trans must be 0, 1 or 2")
    if n == 0 or b.shape[1] == 0:
        return 0
    with nogil:
        info = lu_solve(trans, n, b.shape[1], &lu[0, 0], n, <int *>&ipiv[0], &b[0, 0], n)
    return info


def gecon(lapack_t[::1, :] lu, double anorm, norm="1"):
    """LAPACK ?gecon on the factors of ``getrf``: the reciprocal condition estimate in the
    1-norm (``norm='1'``) or the infinity norm (``norm='I'``), ``anorm`` being that norm of
    the original matrix."""
    cdef int n = lu.shape[0]
    cdef int info
    cdef double rcond = 0.0
    cdef bytes nb = norm.encode() if isinstance(norm, str) else bytes(norm)
    cdef char *nc
    if nb not in (b"1", b"O", b"o", b"I", b"i"):
        raise ValueError("norm must be '1' or 'I'")
    if lu.shape[1] != n:
        raise ValueError("gecon: lu must be square")
    if n == 0:
        return 1.0
    nc = nb
    with nogil:
        info = gecon_lapack(nc, n, &lu[0, 0], n, anorm, &rcond)
    if info == -100:
        raise MemoryError("gecon: could not allocate a workspace")
    if info < 0:
        raise ValueError(f"gecon: illegal value in argument {-info}")
    return rcond
