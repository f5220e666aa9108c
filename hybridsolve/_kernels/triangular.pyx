"""Triangular solves op(T) X = B (trtrs semantics), fused over the four LAPACK types.

Small systems run through our own substitution loops (a BLAS call's set-up costs more
than the arithmetic there); beyond ``HS_TRI_LOOPS_N1`` / ``HS_TRI_LOOPS_WORK``, BLAS
``trsm`` takes over, which is blocked and level-3 for many right-hand sides.  The
crossover comes from ``benchmarks/bench_cholesky.py --kernels`` (the triangular table).

Every loop runs down a column (column-major ``a`` and ``b``): the axpy form for the
no-transpose solves and the dot-product form for the (conjugate) transposed ones, so the
inner loop always walks contiguous memory.
"""
from hybridsolve._kernels._lapack cimport (lapack_t, trsm, trsv, trcon_lapack, conj,
                                           absval)
from hybridsolve._kernels.condest cimport hager_rcond
from libc.stdlib cimport free, malloc

from hybridsolve._tuning import value as _tuned

# Crossovers from hybridsolve._tuning (defaults and the measurements there), read at
# import: our loops for one right-hand side up to HS_TRI_LOOPS_N1 and for any tiny system
# (n*n*nrhs up to HS_TRI_LOOPS_WORK); above, BLAS trsv column by column up to
# HS_TRI_TRSV_NRHS right-hand sides or while n*n*nrhs <= HS_TRI_TRSV_WORK (the same rule
# as lu.pyx's solve), one trsm otherwise.
cdef int HS_TRI_LOOPS_N1 = _tuned("tri_loops_n1")
cdef int HS_TRI_LOOPS_WORK = min(_tuned("tri_loops_work"), 0x7fffffff)
cdef int HS_TRI_TRSV_NRHS = min(_tuned("trsv_max_nrhs"), 0x7fffffff)
cdef double HS_TRI_TRSV_WORK = _tuned("trsv_max_work")


def _tuning(loops_n1=None, loops_work=None, trsv_nrhs=None, trsv_work=None):
    """Set the triangular kernel's crossovers (tune command, tests); returns the old
    values as a dict."""
    global HS_TRI_LOOPS_N1, HS_TRI_LOOPS_WORK, HS_TRI_TRSV_NRHS, HS_TRI_TRSV_WORK
    old = dict(loops_n1=HS_TRI_LOOPS_N1, loops_work=HS_TRI_LOOPS_WORK,
               trsv_nrhs=HS_TRI_TRSV_NRHS, trsv_work=HS_TRI_TRSV_WORK)
    if loops_n1 is not None:
        HS_TRI_LOOPS_N1 = loops_n1
    if loops_work is not None:
        HS_TRI_LOOPS_WORK = loops_work
    if trsv_nrhs is not None:
        HS_TRI_TRSV_NRHS = trsv_nrhs
    if trsv_work is not None:
        HS_TRI_TRSV_WORK = trsv_work
    return old


cdef inline lapack_t _op(lapack_t x, int trans) noexcept nogil:
    if trans == 2:
        return conj(x)
    return x


cdef void tri_solve_loops(bint lower, int trans, bint unit, int n, int nrhs, lapack_t *a,
                          int lda, lapack_t *b, int ldb) noexcept nogil:
    """Substitution with our own loops; no singularity check (the caller did it)."""
    cdef Py_ssize_t i, j, k, c
    cdef lapack_t *x
    cdef lapack_t *col
    cdef lapack_t s, xj
    for c in range(nrhs):
        x = b + c * <Py_ssize_t>ldb
        if trans == 0 and lower:            # forward, axpy form
            for j in range(n):
                col = a + j * <Py_ssize_t>lda
                xj = x[j]
                if not unit:
                    xj = xj / col[j]
                    x[j] = xj
                if xj != 0:
                    for i in range(j + 1, n):
                        x[i] = x[i] - col[i] * xj
        elif trans == 0:                    # upper: backward, axpy form
            for j in range(n - 1, -1, -1):
                col = a + j * <Py_ssize_t>lda
                xj = x[j]
                if not unit:
                    xj = xj / col[j]
                    x[j] = xj
                if xj != 0:
                    for i in range(j):
                        x[i] = x[i] - col[i] * xj
        elif lower:                         # L^T / L^H: backward, dot form
            for i in range(n - 1, -1, -1):
                col = a + i * <Py_ssize_t>lda
                s = x[i] - dot4(trans == 2, n - i - 1, col + i + 1, x + i + 1)
                if not unit:
                    s = s / _op(col[i], trans)
                x[i] = s
        else:                               # U^T / U^H: forward, dot form
            for i in range(n):
                col = a + i * <Py_ssize_t>lda
                s = x[i] - dot4(trans == 2, i, col, x)
                if not unit:
                    s = s / _op(col[i], trans)
                x[i] = s


cdef int tri_solve(bint lower, int trans, bint unit, int n, int nrhs, lapack_t *a, int lda,
                   lapack_t *b, int ldb) noexcept nogil:
    cdef lapack_t one = 1
    cdef int j
    if not unit:
        for j in range(n):
            if a[j + <Py_ssize_t>j * lda] == 0:
                return j + 1
    if n == 0 or nrhs == 0:
        return 0
    if (nrhs == 1 and n <= HS_TRI_LOOPS_N1) or <double>n * n * nrhs <= HS_TRI_LOOPS_WORK:
        tri_solve_loops(lower, trans, unit, n, nrhs, a, lda, b, ldb)
    elif nrhs <= HS_TRI_TRSV_NRHS or <double>n * n * nrhs <= HS_TRI_TRSV_WORK:
        for j in range(nrhs):
            trsv("L" if lower else "U", "N" if trans == 0 else ("T" if trans == 1 else "C"),
                 "U" if unit else "N", n, a, lda, b + <Py_ssize_t>j * ldb, 1)
    else:
        trsm("L", "L" if lower else "U",
             "N" if trans == 0 else ("T" if trans == 1 else "C"),
             "U" if unit else "N", n, nrhs, one, a, lda, b, ldb)
    return 0


def trtrs(lapack_t[::1, :] a, lapack_t[::1, :] b, bint lower=False, int trans=0,
          bint unit_diagonal=False):
    """Solve op(T) X = B in place in ``b``; returns LAPACK's info."""
    cdef int info
    if a.shape[0] != a.shape[1] or b.shape[0] != a.shape[0]:
        raise ValueError("trtrs: a must be square and b must have a.shape[0] rows")
    if trans not in (0, 1, 2):
        raise ValueError("trtrs: trans must be 0, 1 or 2")
    if a.shape[0] == 0:
        return 0
    with nogil:
        info = tri_solve(lower, trans, unit_diagonal, a.shape[0], b.shape[1], &a[0, 0],
                         a.shape[0], &b[0, 0], b.shape[0])
    return info


def trtrs_loops(lapack_t[::1, :] a, lapack_t[::1, :] b, bint lower=False, int trans=0,
                bint unit_diagonal=False):
    """Our substitution loops alone, at any size (tests and the crossover benchmark)."""
    if a.shape[0] != a.shape[1] or b.shape[0] != a.shape[0]:
        raise ValueError("trtrs_loops: a must be square and b must have a.shape[0] rows")
    if a.shape[0] == 0:
        return 0
    with nogil:
        tri_solve_loops(lower, trans, unit_diagonal, a.shape[0], b.shape[1], &a[0, 0],
                        a.shape[0], &b[0, 0], b.shape[0])
    return 0


def trcon(lapack_t[::1, :] a, bint lower=False, bint unit_diagonal=False, norm="1"):
    """?trcon's reciprocal condition estimate of the triangle of ``a`` in the 1-norm
    (``norm='1'``) or infinity norm (``norm='I'``).  Returns ``(rcond, info)``.  A non-unit
    triangle runs ?trcon's Hager-Higham loop with plain trsv solves (``lu.hager_rcond``;
    xLATRS's guarded solves cost several times more at large n); LAPACK's ?trcon itself
    for a unit diagonal, a NaN norm, or when a plain solve overflows."""
    cdef double rcond = 0, anorm
    cdef int info = 1
    cdef int n = a.shape[0]
    cdef bint inf_norm = False
    cdef char *nrm = "1"
    if norm in ("I", "i"):
        nrm = "I"
        inf_norm = True
    elif norm not in ("1", "O", "o"):
        raise ValueError("trcon: norm must be '1' or 'I'")
    if a.shape[0] != a.shape[1]:
        raise ValueError("trcon: a must be square")
    if n == 0:
        return 1.0, 0
    with nogil:
        if not unit_diagonal:
            anorm = _tri_norm(lower, inf_norm, n, &a[0, 0], n)
            if anorm == -100:
                info = -100
            elif anorm == anorm:
                info = hager_rcond((5 if lower else 4) + (2 if inf_norm else 0), n,
                                   &a[0, 0], n, anorm, &rcond)
        if info == 1:
            info = trcon_lapack(nrm, "L" if lower else "U", "U" if unit_diagonal else "N",
                                n, &a[0, 0], n, &rcond)
    if info == -100:
        raise MemoryError("trcon: could not allocate a workspace")
    return rcond, info


cdef double _tri_norm(bint lower, bint inf_norm, int n, lapack_t *a,
                      int lda) noexcept nogil:
    """xLANTR('1' or 'I', uplo, 'N'): the norm of the triangle (NaN propagates); -100
    when the row-sum workspace cannot be allocated."""
    cdef int i, j, i0, i1
    cdef double s, best = 0.0
    cdef double *rows = NULL
    if inf_norm:
        rows = <double *>malloc(<size_t>n * sizeof(double))
        if rows == NULL:
            return -100
        for i in range(n):
            rows[i] = 0.0
    for j in range(n):
        i0 = j if lower else 0
        i1 = n if lower else j + 1
        if inf_norm:
            for i in range(i0, i1):
                rows[i] += absval(a[i + <size_t>j * lda])
        else:
            s = 0.0
            for i in range(i0, i1):
                s += absval(a[i + <size_t>j * lda])
            if s > best or s != s:
                best = s
    if inf_norm:
        for i in range(n):
            if rows[i] > best or rows[i] != rows[i]:
                best = rows[i]
        free(rows)
    return best
