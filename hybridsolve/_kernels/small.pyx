# cython: language_level=3
"""Small dense systems and batches of them: one per-matrix kernel family, two entry points.

``small_solve``   one system A x = b with n <= SMALL_N, the front door's fast path.
``solve_batched`` a stack a[m, n, n], b[m, n, k]: one nogil loop (``prange`` when OpenMP
                  is available, dynamic schedule in chunks, as many threads as the
                  thread policy ``hybridsolve._threads.num_threads()`` allows and the
                  work pays for), per-thread scratch, no Python per slice.

Per matrix (``solve_one``) the work is always the same straight line:

1. copy A (or A^T when ``transposed``) from any strides into a column-major scratch buffer
   (8 x 8 tiles when transposing C-ordered rows);
2. classify it with early exits: Hermitian with real positive diagonal -> Cholesky
   (falls back to LU on a non-positive pivot, re-reading A), upper/lower triangular
   (diagonal included) -> substitution, anything else -> partial-pivoting LU;
3. ||A||_1 (the infinity norm of the loaded A^T when transposed); when asked, the
   finiteness scan (info -1) -- only if that norm is not finite;
4. factor, solve every right-hand side column (gathered from b's strides, scattered
   into x);
5. rcond, LAPACK gecon/pocon/trcon-like: Higham's (LAPACK xLACN2) estimate of
   ||A^{-1}||_1 (exact for n <= 4).  With ``rcond_tol`` > 0 (the front door passes eps)
   a rigorous O(n^2) upper bound on ||A^{-1}||_1 from the comparison matrices of the
   factors comes first: when it proves rcond >= 4 rcond_tol no warning can be due, the
   estimator is skipped and rcond is that lower bound.  ``rcond < rcond_tol`` is the
   estimator's verdict either way.

General and Hermitian-positive-diagonal matrices of order 2..8 take ``tiny_lu`` (and
``tiny_chol_finish``): the same steps written out in functions fused over the order (n a
compile-time constant, loops unrolled); triangular ones go the general way.  Otherwise
the factorizations are our own column-major loops (two-column LU steps) up to OWN_LU_MAX
/ OWN_CHOL_MAX (tuning ``small_own_lu_max`` / ``small_own_chol_max``); above (up to SMALL_N in small_solve, any n in solve_batched)
the shared blocked kernels ``lu_factor`` / ``cholesky_factor`` factor, and their result
is converted to our format: 0-based ipiv and RECIPROCAL pivots on the diagonal, so that
every solve, the estimator and the bound run our own loops.
"""
cimport numpy as cnp
from cython.parallel cimport parallel, prange
from libc.float cimport DBL_MAX
from libc.math cimport sqrt, isfinite, fabs, INFINITY
from libc.stdlib cimport malloc, free
from libc.string cimport memset

import numpy as np

from hybridsolve._threads import num_threads as _num_threads
from hybridsolve._tuning import value as _tuned

from hybridsolve._kernels._lapack cimport lapack_t, conj, lacn2, realpart
from hybridsolve._kernels._lapack cimport absval as safe_absval
from hybridsolve._kernels.lu cimport lu_factor
from hybridsolve._kernels.cholesky cimport cholesky_factor

cnp.import_array()

# Capacity of the small kernels' stack buffers (small_solve accepts n <= SMALL_MAX).
cdef enum:
    SMALL_MAX = 64

# Crossovers, from hybridsolve._tuning (defaults and reasons there), read at import:
# largest n the front door's fast path hands to small_solve, and largest n factorized
# by our own loops (above: the shared blocked kernels lu_factor / cholesky_factor).
SMALL_N = min(int(_tuned("small_n")), SMALL_MAX)
cdef int OWN_LU_MAX = min(int(_tuned("small_own_lu_max")), 0x7fffffff)
cdef int OWN_CHOL_MAX = min(int(_tuned("small_own_chol_max")), 0x7fffffff)

# Largest n whose ||A^{-1}||_1 is computed exactly (n solves) instead of estimated.
cdef enum:
    EXACT_MAX = 4

# Kinds of factorization held in the scratch buffer.
cdef enum:
    K_LU = 0          # own LU, 0-based ipiv
    K_CHOL = 1        # own Cholesky, lower triangle
    K_UPPER = 2       # upper triangular (diagonal matrices land here)
    K_LOWER = 3       # lower triangular

# solve_batched: work (flops) per thread below which it does not start another thread,
# and work per chunk of its dynamic schedule (tuning batch_par_grain / batch_chunk_work).
cdef double PAR_GRAIN = _tuned("batch_par_grain")
cdef double CHUNK_WORK = max(1.0, _tuned("batch_chunk_work"))


# ---------------------------------------------------------------- element helpers

cdef inline double imagpart(lapack_t x) noexcept nogil:
    if lapack_t is float or lapack_t is double:
        return 0.0
    else:
        return x.imag


cdef inline double absval(lapack_t x) noexcept nogil:
    """|x| without branches (the shim's absval branches on the sign, which mispredicts
    on random data); complex: sqrt(re^2 + im^2), the safe form only on overflow."""
    cdef double r
    if lapack_t is float or lapack_t is double:
        return fabs(x)
    else:
        r = sqrt(x.real * x.real + x.imag * x.imag)
        if (r > 1e300 or (r < 1e-300 and r != 0)) and isfinite(x.real) \
                and isfinite(x.imag):
            return safe_absval(x)  # over/underflow of the squares
        return r


cdef inline double abs1(lapack_t x) noexcept nogil:
    """|re| + |im| (branch-free), LAPACK's pivot measure."""
    if lapack_t is float or lapack_t is double:
        return fabs(x)
    else:
        return fabs(x.real) + fabs(x.imag)


cdef inline double eps_of(lapack_t x) noexcept nogil:
    """Machine epsilon of x's real type."""
    if lapack_t is float or lapack_t is floatcomplex:
        return 1.1920928955078125e-07
    else:
        return 2.220446049250313e-16


cdef inline bint finite(lapack_t x) noexcept nogil:
    if lapack_t is float or lapack_t is double:
        return isfinite(x)
    else:
        return isfinite(x.real) and isfinite(x.imag)


# ---------------------------------------------------------------- load / classify

cdef inline int nonfinite(int len, lapack_t *v) noexcept nogil:
    """-1 when v holds an inf or NaN, else 0: x * 0 is NaN exactly for those, so one
    branch-free (vectorizable) sum replaces a test per entry."""
    cdef int i
    cdef lapack_t acc0 = 0, acc1 = 0, acc2 = 0, acc3 = 0
    for i in range(0, len - 3, 4):  # four independent chains: not latency-bound
        acc0 = acc0 + v[i] * 0
        acc1 = acc1 + v[i + 1] * 0
        acc2 = acc2 + v[i + 2] * 0
        acc3 = acc3 + v[i + 3] * 0
    for i in range(len - len % 4, len):
        acc0 = acc0 + v[i] * 0
    return 0 if finite(acc0 + acc1 + acc2 + acc3) else -1


cdef inline int load_a(int n, char *src, Py_ssize_t s0, Py_ssize_t s1, lapack_t *a,
                       bint check) noexcept nogil:
    """a[i + j n] = A[i, j] (s0, s1: byte strides of the rows/columns to read, swapped by
    the caller for A^T).  Returns -1 when ``check`` and a non-finite entry is found."""
    cdef int i, j, i0, i1, j0, j1
    cdef char *col
    cdef lapack_t *dst
    if s0 == sizeof(lapack_t):  # F-ordered columns: contiguous copies
        for j in range(n):
            col = src + j * s1
            dst = a + j * n
            for i in range(n):
                dst[i] = (<lapack_t *>col)[i]
    elif s1 == sizeof(lapack_t):  # C-ordered rows: contiguous reads, strided writes
        if n <= 8:
            for i in range(n):
                col = src + i * s0
                for j in range(n):
                    a[i + j * n] = (<lapack_t *>col)[j]
        else:  # 8 x 8 tiles: the writes of one tile hit 8 columns, not n (at n = 32,
            # 64 a row-by-row transpose makes every write a cache-set conflict)
            for i0 in range(0, n, 8):
                i1 = i0 + 8 if i0 + 8 < n else n
                for j0 in range(0, n, 8):
                    j1 = j0 + 8 if j0 + 8 < n else n
                    for i in range(i0, i1):
                        col = src + i * s0
                        for j in range(j0, j1):
                            a[i + j * n] = (<lapack_t *>col)[j]
    else:
        for j in range(n):
            col = src + j * s1
            dst = a + j * n
            for i in range(n):
                dst[i] = (<lapack_t *>(col + i * s0))[0]
    if check:
        return nonfinite(n * n, a)
    return 0


cdef inline int classify(int n, lapack_t *a) noexcept nogil:
    """Cheapest applicable kind for the column-major n x n matrix a; every test exits at
    the first entry that rules it out.  Order: upper triangular (diagonal included),
    lower triangular, Hermitian with real positive diagonal, general."""
    cdef int i, j
    cdef bint ok = True
    cdef lapack_t d
    for j in range(n):  # upper: strictly lower part zero
        for i in range(j + 1, n):
            if a[i + j * n] != 0:
                ok = False
                break
        if not ok:
            break
    if ok:
        return K_UPPER
    ok = True  # lower: strictly upper part zero
    for j in range(1, n):
        for i in range(j):
            if a[i + j * n] != 0:
                ok = False
                break
        if not ok:
            break
    if ok:
        return K_LOWER
    for j in range(n):
        d = a[j + j * n]
        if not (realpart(d) > 0 and imagpart(d) == 0):
            return K_LU
    for j in range(n):
        for i in range(j + 1, n):
            if a[i + j * n] != conj(a[j + i * n]):
                return K_LU
    return K_CHOL


cdef inline double max_nan(double a, double b) noexcept nogil:
    """max(a, b), NaN when either is NaN."""
    if a != a or b != b:
        return a + b
    return a if a > b else b


cdef inline void axpy_sub(Py_ssize_t len, lapack_t *y, lapack_t *v,
                          lapack_t t) noexcept nogil:
    """y := y - v t on len contiguous entries: one flat loop on pointers, which the C
    compiler vectorizes (the same loop written with i + j * n indexing stayed scalar)."""
    cdef Py_ssize_t i
    for i in range(len):
        y[i] = y[i] - v[i] * t


cdef inline void axpy2_sub(Py_ssize_t len, lapack_t *y, lapack_t *v0, lapack_t t0,
                           lapack_t *v1, lapack_t t1) noexcept nogil:
    """y := y - v0 t0 - v1 t1 (in that order) on len contiguous entries."""
    cdef Py_ssize_t i
    for i in range(len):
        y[i] = y[i] - v0[i] * t0 - v1[i] * t1


cdef inline lapack_t dot_conj(int len, lapack_t *v, lapack_t *x) noexcept nogil:
    """sum_i conj(v_i) x_i in four interleaved sums (see abs_dot)."""
    cdef int i
    cdef lapack_t s0 = 0, s1 = 0, s2 = 0, s3 = 0
    for i in range(0, len - 3, 4):
        s0 = s0 + conj(v[i]) * x[i]
        s1 = s1 + conj(v[i + 1]) * x[i + 1]
        s2 = s2 + conj(v[i + 2]) * x[i + 2]
        s3 = s3 + conj(v[i + 3]) * x[i + 3]
    for i in range(len - len % 4, len):
        s0 = s0 + conj(v[i]) * x[i]
    return (s0 + s1) + (s2 + s3)


cdef inline double abs_dot(int len, lapack_t *v, double *w) noexcept nogil:
    """sum_i |v_i| w_i (w = NULL: sum_i |v_i|) in four interleaved sums: a single sum is
    bound by the latency of the additions, not by their number."""
    cdef int i
    cdef double s0 = 0.0, s1 = 0.0, s2 = 0.0, s3 = 0.0
    if w == NULL:
        for i in range(0, len - 3, 4):
            s0 += absval(v[i])
            s1 += absval(v[i + 1])
            s2 += absval(v[i + 2])
            s3 += absval(v[i + 3])
        for i in range(len - len % 4, len):
            s0 += absval(v[i])
    else:
        for i in range(0, len - 3, 4):
            s0 += absval(v[i]) * w[i]
            s1 += absval(v[i + 1]) * w[i + 1]
            s2 += absval(v[i + 2]) * w[i + 2]
            s3 += absval(v[i + 3]) * w[i + 3]
        for i in range(len - len % 4, len):
            s0 += absval(v[i]) * w[i]
    return (s0 + s1) + (s2 + s3)


cdef inline double norm1(int n, lapack_t *a, bint inf) noexcept nogil:
    """1-norm (max column sum) of a, or the infinity norm (max row sum) when ``inf``."""
    cdef int i, j
    cdef double s, s0, s1, s2, s3, best = 0.0
    if not inf:
        for j in range(n):
            s = abs_dot(n, a + <size_t>j * n, NULL)
            if s > best or s != s:
                best = s
    else:  # four rows at a time: four independent sums
        for i in range(0, n - 3, 4):
            s0 = s1 = s2 = s3 = 0.0
            for j in range(n):
                s0 += absval(a[i + j * n])
                s1 += absval(a[i + 1 + j * n])
                s2 += absval(a[i + 2 + j * n])
                s3 += absval(a[i + 3 + j * n])
            best = max_nan(max_nan(best, s0), max_nan(s1, max_nan(s2, s3)))
        for i in range(n - n % 4, n):
            s = 0.0
            for j in range(n):
                s += absval(a[i + j * n])
            if s > best or s != s:
                best = s
    return best


# ---------------------------------------------------------------- small factorizations

cdef inline int lu_pivot_column(int n, int j, lapack_t *a, int *ipiv) noexcept nogil:
    """Step j of small_lu on column j alone (already updated by the earlier steps):
    pivot search by |re|+|im|, swap of the whole rows j and p, scaling below the diagonal,
    reciprocal pivot on the diagonal.  Returns j + 1 when the column is zero (no change)."""
    cdef int i, c, p = j
    cdef double mx, v
    cdef lapack_t t, r
    cdef lapack_t *colj = a + <size_t>j * n
    mx = abs1(colj[j])
    for i in range(j + 1, n):  # selects, not branches: random data mispredicts
        v = abs1(colj[i])
        p = i if v > mx else p
        mx = v if v > mx else mx
    ipiv[j] = p
    if mx == 0:
        return j + 1
    if p != j:
        for c in range(n):
            t = a[j + c * n]
            a[j + c * n] = a[p + c * n]
            a[p + c * n] = t
    r = 1 / colj[j]
    for i in range(j + 1, n):
        colj[i] = colj[i] * r
    colj[j] = r  # reciprocal pivot (tri_vec multiplies); not read by later steps
    return 0


cdef inline int small_lu(int n, lapack_t *a, int *ipiv) noexcept nogil:
    """Right-looking partial-pivoting LU (getf2 semantics, pivot by |re|+|im|, 0-based
    ipiv).  Returns 0 or the 1-based index of the first exactly zero pivot (stops there).

    Two steps at a time: factor columns j and j + 1 (the second updated by the first),
    then one rank-2 update of the columns to the right -- each of them is read and
    written once per two steps instead of once per step.  Deferring step j's update of
    those columns past step j + 1's row swap is exact: the swap exchanges rows below j
    in all columns, L's column j included, and step j's update of a row uses only that
    row's multiplier and row j.  Same operations in the same order per entry as the
    one-step loop."""
    cdef int i, j, c, info
    cdef lapack_t t0, t1, l1
    cdef lapack_t *colj
    cdef lapack_t *colk
    cdef lapack_t *colc
    j = 0
    while j + 1 < n:
        info = lu_pivot_column(n, j, a, ipiv)
        if info != 0:
            return info
        colj = a + <size_t>j * n
        colk = colj + n
        axpy_sub(n - j - 1, colk + j + 1, colj + j + 1, colk[j])
        info = lu_pivot_column(n, j + 1, a, ipiv)
        if info != 0:
            return info
        l1 = colj[j + 1]
        for c in range(j + 2, n):
            colc = a + <size_t>c * n
            t0 = colc[j]
            t1 = colc[j + 1] - l1 * t0
            colc[j + 1] = t1
            axpy2_sub(n - j - 2, colc + j + 2, colj + j + 2, t0, colk + j + 2, t1)
        j += 2
    if j < n:
        return lu_pivot_column(n, j, a, ipiv)
    return 0


cdef inline int small_chol(int n, lapack_t *a) noexcept nogil:
    """Right-looking Cholesky A = L L^H in the lower triangle (the strict upper triangle is
    left untouched).  Returns 0 or the 1-based order of the first non-positive minor."""
    cdef int i, j, c
    cdef double d
    cdef lapack_t t, r
    cdef lapack_t *colj
    cdef lapack_t *colc
    for j in range(n):
        colj = a + j * n
        d = realpart(colj[j])
        if not d > 0:
            return j + 1
        d = sqrt(d)
        r = 1.0 / d
        colj[j] = r  # reciprocal (tri_vec multiplies); not read by later steps
        for i in range(j + 1, n):
            colj[i] = colj[i] * r
        for c in range(j + 1, n):
            colc = a + c * n
            t = conj(colj[c])
            colc[c] = realpart(colc[c]) - realpart(colj[c] * t)
            axpy_sub(n - c - 1, colc + c + 1, colj + c + 1, t)
    return 0


cdef inline int invert_diag(int n, lapack_t *a) noexcept nogil:
    """Triangular input: 1-based index of the first zero diagonal entry, or 0 after
    replacing the diagonal by its reciprocals (tri_vec's convention)."""
    cdef int j
    for j in range(n):
        if a[j + j * n] == 0:
            return j + 1
    for j in range(n):
        a[j + j * n] = 1 / a[j + j * n]
    return 0


# ---------------------------------------------------------------- solves on one vector

cdef inline void tri_vec(bint upper, bint ctrans, int n, lapack_t *a,
                         lapack_t *x) noexcept nogil:
    """x := op(T)^{-1} x for the triangle of a (non-unit); ctrans: op = ^H.
    The diagonal of a holds the RECIPROCALS of T's diagonal (set by the factorizations /
    invert_diag): a multiply instead of a 20-cycle division on the critical path."""
    cdef int i, j
    cdef lapack_t s, t
    if not ctrans:
        if upper:  # column-oriented back substitution
            for j in range(n - 1, -1, -1):
                t = x[j] * a[j + j * n]
                x[j] = t
                axpy_sub(j, x, a + <size_t>j * n, t)
        else:
            for j in range(n):
                t = x[j] * a[j + j * n]
                x[j] = t
                axpy_sub(n - j - 1, x + j + 1, a + <size_t>j * n + j + 1, t)
    else:
        if upper:  # U^H is lower: forward, dot products down the columns of U
            for j in range(n):
                s = x[j] - dot_conj(j, a + <size_t>j * n, x)
                x[j] = s * conj(a[j + j * n])
        else:     # L^H is upper: backward
            for j in range(n - 1, -1, -1):
                s = x[j] - dot_conj(n - j - 1, a + <size_t>j * n + j + 1, x + j + 1)
                x[j] = s * conj(a[j + j * n])


cdef inline void lu_vec(bint ctrans, int n, lapack_t *a, int *ipiv,
                        lapack_t *x) noexcept nogil:
    """x := A^{-1} x (or A^{-H} x) with the factors of small_lu."""
    cdef int i, j
    cdef lapack_t s, t
    if not ctrans:
        for j in range(n):
            i = ipiv[j]
            if i != j:
                t = x[j]
                x[j] = x[i]
                x[i] = t
        for j in range(n):  # unit lower
            axpy_sub(n - j - 1, x + j + 1, a + <size_t>j * n + j + 1, x[j])
        tri_vec(True, False, n, a, x)
    else:
        tri_vec(True, True, n, a, x)
        for j in range(n - 1, -1, -1):  # unit lower ^H: backward
            s = x[j] - dot_conj(n - j - 1, a + <size_t>j * n + j + 1, x + j + 1)
            x[j] = s
        for j in range(n - 1, -1, -1):
            i = ipiv[j]
            if i != j:
                t = x[j]
                x[j] = x[i]
                x[i] = t


cdef inline int factor(int kind, int n, lapack_t *a, int *ipiv) noexcept nogil:
    """Factor the loaded matrix a of the given kind in place, in our format (0-based
    ipiv, reciprocal diagonal of U / L, so that lu_vec / tri_vec do every solve): our own
    loops up to OWN_LU_MAX / OWN_CHOL_MAX, the shared blocked kernels above, their result
    converted.  Returns 0 or the 1-based index of the first zero pivot / non-positive
    minor (Cholesky: the caller falls back to LU)."""
    cdef int i, info
    if kind == K_UPPER or kind == K_LOWER:
        return invert_diag(n, a)
    if kind == K_CHOL:
        if n <= OWN_CHOL_MAX:
            return small_chol(n, a)
        info = cholesky_factor(True, n, a, n)
        if info == 0:
            for i in range(n):
                a[i + i * n] = 1 / a[i + i * n]
        return info
    if n <= OWN_LU_MAX:
        return small_lu(n, a, ipiv)
    info = lu_factor(n, n, a, n, ipiv)
    if info == 0:
        for i in range(n):
            ipiv[i] -= 1
            a[i + i * n] = 1 / a[i + i * n]
    return info


cdef inline void apply_inv(int kind, bint ctrans, int n, lapack_t *a, int *ipiv,
                           lapack_t *x) noexcept nogil:
    """x := op(A)^{-1} x with op = identity or ^H, for any kind of factorization."""
    if kind == K_LU:
        lu_vec(ctrans, n, a, ipiv, x)
    elif kind == K_CHOL:
        tri_vec(False, False, n, a, x)
        tri_vec(False, True, n, a, x)
    elif kind == K_UPPER:
        tri_vec(True, ctrans, n, a, x)
    else:
        tri_vec(False, ctrans, n, a, x)


# ---------------------------------------------------------------- rcond (xLACN2)

cdef inline double sum_abs(int n, lapack_t *x) noexcept nogil:
    cdef int i
    cdef double s = 0.0
    for i in range(n):
        s += absval(x[i])
    return s


cdef double inv_norm_exact(int kind, bint swap, int n, lapack_t *a, int *ipiv,
                           lapack_t *x) noexcept nogil:
    """||op(A)^{-1}||_1 exactly, one column at a time (cheaper than the estimate for
    n <= EXACT_MAX: n solves against the estimator's 4-11)."""
    cdef int i, j
    cdef double s, best = 0.0
    for j in range(n):
        memset(x, 0, n * sizeof(lapack_t))
        x[j] = 1
        apply_inv(kind, swap, n, a, ipiv, x)
        s = sum_abs(n, x)
        if s > best or s != s:
            best = s
    return best


cdef double inv_norm_est(int kind, bint swap, int n, lapack_t *a, int *ipiv,
                         lapack_t *x, lapack_t *v, int *isgn) noexcept nogil:
    """Estimate of ||op(A)^{-1}||_1 with op = identity (swap False) or ^H (swap True):
    LAPACK's xLACN2 (as gecon/pocon/trcon and ``condest.hager_rcond``) driven by our own
    solves.  x, v: scratch vectors of n; isgn: n ints."""
    cdef int isave[3]
    cdef int kase = 0
    cdef double est = 0.0
    while True:
        lacn2(n, v, x, isgn, &est, &kase, isave)
        if kase == 0:
            return est
        apply_inv(kind, swap != (kase == 2), n, a, ipiv, x)


# ---------------------------------------------------------------- rcond lower bound

cdef double tri_inv_bound(bint upper, bint unit, bint inf, int n, lapack_t *a,
                          double *y, double limit) noexcept nogil:
    """Rigorous upper bound on ||T^{-1}||_1 (or ||T^{-1}||_inf when ``inf``) for the
    triangle T of the column-major a: |T^{-1}| <= M(T)^{-1} entrywise, M(T) the comparison
    matrix (|t_ii| on the diagonal, -|t_ij| off it; Higham, Accuracy and Stability, 8.3),
    and M(T)^{-1} >= 0, so ||T^{-1}||_1 <= ||M(T)^{-T} e||_inf and
    ||T^{-1}||_inf <= ||M(T)^{-1} e||_inf: one substitution on |entries|, O(n^2 / 2).
    ``unit``: unit diagonal (not stored); otherwise the diagonal holds 1 / t_jj.
    Returns inf as soon as an entry of y (each a lower bound of the result) exceeds
    ``limit``, and inf or NaN when the substitution overflows (the caller then
    estimates)."""
    cdef int i, j, jj
    cdef double d, t, best = 0.0
    cdef lapack_t *col
    if not inf:  # M(T)^T y = e, y_j = (1 + sum_{i on the other side} |t_ij| y_i) / |t_jj|
        for jj in range(n):
            j = jj if upper else n - 1 - jj
            col = a + <size_t>j * n
            if upper:
                t = 1.0 + abs_dot(j, col, y)
            else:
                t = 1.0 + abs_dot(n - j - 1, col + j + 1, y + j + 1)
            if not unit:
                d = absval(col[j])
                t = t * d
            if t > limit:
                return INFINITY
            y[j] = t
    else:  # M(T) y = e, column-oriented: y_j /= |t_jj|, then y_i += |t_ij| y_j
        for i in range(n):
            y[i] = 1.0
        for jj in range(n):
            j = n - 1 - jj if upper else jj
            col = a + <size_t>j * n
            t = y[j]
            if not unit:
                d = absval(col[j])
                t = t * d
                y[j] = t
            if t > limit:  # y[j] is final here
                return INFINITY
            if upper:
                for i in range(j):
                    y[i] += absval(col[i]) * t
            else:
                for i in range(j + 1, n):
                    y[i] += absval(col[i]) * t
    for i in range(n):
        if y[i] > best or y[i] != y[i]:
            best = y[i]
    return best


cdef double inv_norm_bound(int kind, bint inf, int n, lapack_t *a, double *y,
                           double limit) noexcept nogil:
    """Rigorous upper bound on ||B^{-1}||_1 (``inf``: ||B^{-1}||_inf) for the matrix B
    whose factors the scratch a holds: B = P^T L U -> ||U^{-1}|| ||L^{-1}|| (the
    permutation changes no column or row sum); B = L L^H -> ||L^{-H}|| ||L^{-1}|| with
    ||L^{-H}||_1 = ||L^{-1}||_inf; triangular B -> its own bound.  Gives up (inf) once
    the bound must exceed ``limit`` (the unit triangle's bound is >= 1)."""
    cdef double b1
    if kind == K_LU:
        b1 = tri_inv_bound(True, False, inf, n, a, y, limit)
        if not b1 <= limit:
            return INFINITY
        return b1 * tri_inv_bound(False, True, inf, n, a, y, limit / b1)
    if kind == K_CHOL:
        b1 = tri_inv_bound(False, False, False, n, a, y, INFINITY)
        if not b1 > 0:
            return INFINITY
        return b1 * tri_inv_bound(False, False, True, n, a, y, limit / b1)
    return tri_inv_bound(kind == K_UPPER, False, inf, n, a, y, limit)


# Safety factor between the bound's rcond and rcond_tol: covers the rounding of the
# bound, of ||A||_1 and of the estimator's own solves (the computed substitutions solve
# triangles perturbed by at most n u |T| entrywise, so their results are bounded by the
# same comparison matrices up to a factor (1 + n u)^{2n}: used only while n^2 eps <= 0.05).
cdef double BOUND_MARGIN = 4.0


# ---------------------------------------------------------------- one system

cdef int solve_one(int n, int k, char *asrc, Py_ssize_t as0, Py_ssize_t as1,
                   char *bsrc, Py_ssize_t bs0, Py_ssize_t bs1,
                   lapack_t *x, Py_ssize_t xs0, Py_ssize_t xs1,
                   bint transposed, bint check, lapack_t *a, int *ipiv, lapack_t *vec,
                   double *dwork, double *rcond, double rcond_tol) noexcept nogil:
    """One system: general and Hermitian-positive-diagonal matrices of order 2..TINY_MAX
    take the fully unrolled tiny_lu; everything else (triangular ones at tiny orders
    included) solve_impl."""
    cdef int info = TINY_OTHER_KIND
    if n == 2:
        info = tiny_lu(<order2 *>NULL, k, asrc, as0, as1, bsrc, bs0, bs1, x, xs0, xs1,
                       transposed, check, a, ipiv, vec, dwork, rcond, rcond_tol)
    elif n == 3:
        info = tiny_lu(<order3 *>NULL, k, asrc, as0, as1, bsrc, bs0, bs1, x, xs0, xs1,
                       transposed, check, a, ipiv, vec, dwork, rcond, rcond_tol)
    elif n == 4:
        info = tiny_lu(<order4 *>NULL, k, asrc, as0, as1, bsrc, bs0, bs1, x, xs0, xs1,
                       transposed, check, a, ipiv, vec, dwork, rcond, rcond_tol)
    elif n == 5:
        info = tiny_lu(<order5 *>NULL, k, asrc, as0, as1, bsrc, bs0, bs1, x, xs0, xs1,
                       transposed, check, a, ipiv, vec, dwork, rcond, rcond_tol)
    elif n == 6:
        info = tiny_lu(<order6 *>NULL, k, asrc, as0, as1, bsrc, bs0, bs1, x, xs0, xs1,
                       transposed, check, a, ipiv, vec, dwork, rcond, rcond_tol)
    elif n == 7:
        info = tiny_lu(<order7 *>NULL, k, asrc, as0, as1, bsrc, bs0, bs1, x, xs0, xs1,
                       transposed, check, a, ipiv, vec, dwork, rcond, rcond_tol)
    elif n == 8:
        info = tiny_lu(<order8 *>NULL, k, asrc, as0, as1, bsrc, bs0, bs1, x, xs0, xs1,
                       transposed, check, a, ipiv, vec, dwork, rcond, rcond_tol)
    if info != TINY_OTHER_KIND:
        return info
    return solve_impl(n, k, asrc, as0, as1, bsrc, bs0, bs1, x, xs0, xs1, transposed,
                      check, a, ipiv, vec, dwork, rcond, rcond_tol)


# Tiny orders as types: a function fused over ``order_t`` is compiled once per order with
# n = sizeof(order_t) a compile-time constant, so the C compiler unrolls every loop
# completely -- with a run-time n these 2..4-trip loops cost more in branches (and the
# calls between the helpers) than in arithmetic.
ctypedef struct order2:
    char c[2]

ctypedef struct order3:
    char c[3]

ctypedef struct order4:
    char c[4]

ctypedef struct order5:
    char c[5]

ctypedef struct order6:
    char c[6]

ctypedef struct order7:
    char c[7]

ctypedef struct order8:
    char c[8]

ctypedef fused order_t:
    order2
    order3
    order4
    order5
    order6
    order7
    order8

cdef enum:
    TINY_MAX = 8
    TINY_OTHER_KIND = -3   # tiny_lu: a triangular matrix, use solve_impl


cdef int tiny_chol_finish(order_t *order, int k, char *bsrc, Py_ssize_t bs0,
                          Py_ssize_t bs1, lapack_t *x, Py_ssize_t xs0, Py_ssize_t xs1,
                          bint check, lapack_t *a, lapack_t *vec, double *dwork,
                          double anorm,
                          double *rcond, double rcond_tol) noexcept nogil:
    """tiny_lu's second half for a Cholesky factor (lower, reciprocal diagonal) of order
    n = sizeof(order_t): tri_vec twice per right-hand side, then rcond (the bound
    ||L^{-1}||_1 ||L^{-1}||_inf first, as inv_norm_bound for K_CHOL)."""
    cdef int n = sizeof(order_t)
    cdef int i, j, c
    cdef double ainv, lo, sm, b1, b2
    cdef lapack_t t, s
    cdef lapack_t *tv = vec + 2 * n
    cdef lapack_t *xc
    cdef char *bc
    cdef double *y = dwork
    for c in range(k):
        bc = bsrc + c * bs1
        for i in range(n):
            tv[i] = (<lapack_t *>(bc + i * bs0))[0]
        if check and nonfinite(n, tv) != 0:
            return -1
        for j in range(n):  # L y = b
            t = tv[j] * a[j + j * n]
            tv[j] = t
            for i in range(j + 1, n):
                tv[i] = tv[i] - a[i + j * n] * t
        for j in range(n - 1, -1, -1):  # L^H x = y
            s = tv[j]
            for i in range(j + 1, n):
                s = s - conj(a[i + j * n]) * tv[i]
            tv[j] = s * conj(a[j + j * n])
        xc = x + c * xs1
        for i in range(n):
            xc[i * xs0] = tv[i]
    if anorm != anorm:
        rcond[0] = anorm
        return 0
    if rcond_tol > 0:
        b1 = 0.0  # ||L^-1||_1 <= max of M(L)^T y = e (backward)
        for j in range(n - 1, -1, -1):
            sm = 1.0
            for i in range(j + 1, n):
                sm += absval(a[i + j * n]) * y[i]
            sm *= absval(a[j + j * n])
            y[j] = sm
            if sm > b1 or sm != sm:
                b1 = sm
        b2 = 0.0  # ||L^-1||_inf <= max of M(L) y = e (forward, column-oriented)
        for i in range(n):
            y[i] = 1.0
        for j in range(n):
            sm = y[j] * absval(a[j + j * n])
            y[j] = sm
            for i in range(j + 1, n):
                y[i] += absval(a[i + j * n]) * sm
        for i in range(n):
            if y[i] > b2 or y[i] != y[i]:
                b2 = y[i]
        ainv = b1 * b2
        if ainv >= 1e-300:
            lo = (1.0 / anorm) / ainv
            if lo >= BOUND_MARGIN * rcond_tol:  # False for inf / NaN bounds
                rcond[0] = lo
                return 0
    if n <= EXACT_MAX:
        ainv = inv_norm_exact(K_CHOL, False, n, a, NULL, vec)
    else:
        ainv = inv_norm_est(K_CHOL, False, n, a, NULL, vec, vec + n, <int *>dwork)
    if ainv != 0:
        rcond[0] = (1.0 / anorm) / ainv
    return 0


cdef int tiny_lu(order_t *order, int k, char *asrc, Py_ssize_t as0, Py_ssize_t as1,
                 char *bsrc, Py_ssize_t bs0, Py_ssize_t bs1,
                 lapack_t *x, Py_ssize_t xs0, Py_ssize_t xs1,
                 bint transposed, bint check, lapack_t *a, int *ipiv, lapack_t *vec,
                 double *dwork, double *rcond, double rcond_tol) noexcept nogil:
    """solve_impl for a general or Hermitian-positive-diagonal matrix of order
    n = sizeof(order_t), every step written out here (load, small_chol / small_lu,
    tri_vec / lu_vec, inv_norm_bound) so that n is a constant in all of them.  Same
    arguments, results and rcond rules as solve_impl (a Cholesky meeting a non-positive
    pivot falls back to LU on a fresh copy); returns TINY_OTHER_KIND (having written
    nothing) for triangular matrices."""
    cdef int n = sizeof(order_t)
    cdef int i, j, c, p, kind
    cdef double mx, v, anorm, ainv, lo, sm, bu, bl, d
    cdef lapack_t t, r
    cdef lapack_t *tv = vec + 2 * n
    cdef lapack_t *xc
    cdef char *bc
    cdef double *y = dwork
    rcond[0] = 0.0
    if transposed:
        as0, as1 = as1, as0
    for j in range(n):
        for i in range(n):
            a[i + j * n] = (<lapack_t *>(asrc + i * as0 + j * as1))[0]
    kind = classify(n, a)
    if kind != K_LU and kind != K_CHOL:
        return TINY_OTHER_KIND
    # ||A||_1: column sums of the loaded op(A) = A, row sums when it holds A^T
    # (Hermitian: the same sums, taken over columns as solve_impl does)
    anorm = 0.0
    for j in range(n):
        sm = 0.0
        for i in range(n):
            sm += absval(a[j + i * n] if transposed and kind == K_LU else a[i + j * n])
        if sm > anorm or sm != sm:
            anorm = sm
    if check and not anorm <= DBL_MAX and nonfinite(n * n, a) != 0:
        return -1  # (a finite norm proves every entry finite: no scan needed)
    if kind == K_CHOL:
        # small_chol: A = L L^H in the lower triangle, reciprocal diagonal
        for j in range(n):
            d = realpart(a[j + j * n])
            if not d > 0:  # not positive definite after all: LU on a fresh copy
                kind = K_LU
                break
            r = 1.0 / sqrt(d)
            a[j + j * n] = r
            for i in range(j + 1, n):
                a[i + j * n] = a[i + j * n] * r
            for c in range(j + 1, n):
                t = conj(a[c + j * n])
                a[c + c * n] = realpart(a[c + c * n]) - realpart(a[c + j * n] * t)
                for i in range(c + 1, n):
                    a[i + c * n] = a[i + c * n] - a[i + j * n] * t
        if kind == K_LU:  # (anorm stays: Hermitian, so row and column sums agree)
            for j in range(n):
                for i in range(n):
                    a[i + j * n] = (<lapack_t *>(asrc + i * as0 + j * as1))[0]
    if kind == K_CHOL:
        return tiny_chol_finish(order, k, bsrc, bs0, bs1, x, xs0, xs1, check, a, vec,
                                dwork, anorm, rcond, rcond_tol)
    # small_lu: partial pivoting by |re| + |im|, reciprocal pivots on the diagonal
    for j in range(n):
        p = j
        mx = abs1(a[j + j * n])
        for i in range(j + 1, n):  # selects, not branches: random data mispredicts
            v = abs1(a[i + j * n])
            p = i if v > mx else p
            mx = v if v > mx else mx
        ipiv[j] = p
        if mx == 0:
            return j + 1
        if p != j:
            for c in range(n):
                t = a[j + c * n]
                a[j + c * n] = a[p + c * n]
                a[p + c * n] = t
        r = 1 / a[j + j * n]
        for i in range(j + 1, n):
            a[i + j * n] = a[i + j * n] * r
        a[j + j * n] = r
        for c in range(j + 1, n):
            t = a[j + c * n]
            for i in range(j + 1, n):
                a[i + c * n] = a[i + c * n] - a[i + j * n] * t
    # lu_vec on every right-hand side
    for c in range(k):
        bc = bsrc + c * bs1
        for i in range(n):
            tv[i] = (<lapack_t *>(bc + i * bs0))[0]
        if check and nonfinite(n, tv) != 0:
            return -1
        for j in range(n):
            i = ipiv[j]
            if i != j:
                t = tv[j]
                tv[j] = tv[i]
                tv[i] = t
        for j in range(n):
            t = tv[j]
            for i in range(j + 1, n):
                tv[i] = tv[i] - a[i + j * n] * t
        for j in range(n - 1, -1, -1):
            t = tv[j] * a[j + j * n]
            tv[j] = t
            for i in range(j):
                tv[i] = tv[i] - a[i + j * n] * t
        xc = x + c * xs1
        for i in range(n):
            xc[i * xs0] = tv[i]
    if anorm != anorm:
        rcond[0] = anorm
        return 0
    if rcond_tol > 0:
        # inv_norm_bound for K_LU: ||U^-1|| ||L^-1|| through the comparison matrices,
        # 1-norms (M^T y = e), or infinity norms (M y = e) when A^T is loaded
        bu = 0.0
        bl = 0.0
        if not transposed:
            for j in range(n):
                sm = 1.0
                for i in range(j):
                    sm += absval(a[i + j * n]) * y[i]
                sm *= absval(a[j + j * n])
                y[j] = sm
                if sm > bu or sm != sm:
                    bu = sm
            for j in range(n - 1, -1, -1):
                sm = 1.0
                for i in range(j + 1, n):
                    sm += absval(a[i + j * n]) * y[i]
                y[j] = sm
                if sm > bl or sm != sm:
                    bl = sm
        else:
            for i in range(n):
                y[i] = 1.0
            for j in range(n - 1, -1, -1):
                sm = y[j] * absval(a[j + j * n])
                y[j] = sm
                for i in range(j):
                    y[i] += absval(a[i + j * n]) * sm
            for i in range(n):
                if y[i] > bu or y[i] != y[i]:
                    bu = y[i]
                y[i] = 1.0
            for j in range(n):
                sm = y[j]
                for i in range(j + 1, n):
                    y[i] += absval(a[i + j * n]) * sm
            for i in range(n):
                if y[i] > bl or y[i] != y[i]:
                    bl = y[i]
        ainv = bu * bl
        if ainv >= 1e-300:
            lo = (1.0 / anorm) / ainv
            if lo >= BOUND_MARGIN * rcond_tol:  # False for inf / NaN bounds
                rcond[0] = lo
                return 0
    if n <= EXACT_MAX:
        ainv = inv_norm_exact(K_LU, transposed, n, a, ipiv, vec)
    else:
        ainv = inv_norm_est(K_LU, transposed, n, a, ipiv, vec, vec + n, <int *>dwork)
    if ainv != 0:
        rcond[0] = (1.0 / anorm) / ainv
    return 0


cdef inline int solve_impl(int n, int k, char *asrc, Py_ssize_t as0, Py_ssize_t as1,
                           char *bsrc, Py_ssize_t bs0, Py_ssize_t bs1,
                           lapack_t *x, Py_ssize_t xs0, Py_ssize_t xs1,
                           bint transposed, bint check, lapack_t *a, int *ipiv,
                           lapack_t *vec, double *dwork, double *rcond,
                           double rcond_tol) noexcept nogil:
    """Solve op(A) X = B for one n x n system (op = A^T when ``transposed``).

    asrc/bsrc with byte strides (as0, as1) / (bs0, bs1) are read only; X is written to x
    with element strides (xs0, xs1).  Scratch: a (n*n), ipiv (n), vec (3n), dwork (n).
    Returns 0, -1 (non-finite input, when ``check``) or j > 0 (exactly singular, rcond 0).

    rcond: the estimate (LAPACK gecon-like) -- except when rcond_tol > 0 and the cheap
    rigorous bound (inv_norm_bound) already proves rcond >= BOUND_MARGIN * rcond_tol: then
    the estimator (4-11 solves) is skipped and rcond is that lower bound.  Either way
    ``rcond < rcond_tol`` holds exactly when the estimate is below rcond_tol.
    """
    cdef int kind, info, i, c
    cdef double anorm, ainv, lo
    cdef bint swap
    cdef lapack_t *t = vec + 2 * n
    cdef lapack_t *xc
    cdef char *bc
    rcond[0] = 0.0
    if transposed:
        as0, as1 = as1, as0
    load_a(n, asrc, as0, as1, a, False)
    kind = classify(n, a)  # (only compares: harmless on inf / NaN)
    anorm = norm1(n, a, transposed and kind != K_CHOL)
    # an inf or NaN entry makes the norm inf or NaN; a finite norm proves every entry
    # finite, so the scan runs only when the norm is not finite (or overflowed)
    if check and not anorm <= DBL_MAX and nonfinite(n * n, a) != 0:
        return -1
    info = factor(kind, n, a, ipiv)
    if kind == K_CHOL and info != 0:  # not positive definite after all: LU, fresh copy
        load_a(n, asrc, as0, as1, a, False)
        kind = K_LU
        info = factor(kind, n, a, ipiv)
    if info != 0:
        return info
    for c in range(k):
        bc = bsrc + c * bs1
        for i in range(n):
            t[i] = (<lapack_t *>(bc + i * bs0))[0]
        if check and nonfinite(n, t) != 0:
            return -1
        apply_inv(kind, False, n, a, ipiv, t)
        xc = x + c * xs1
        for i in range(n):
            xc[i * xs0] = t[i]
    if anorm == 0:
        rcond[0] = 0.0
    elif anorm != anorm:
        rcond[0] = anorm
    else:
        swap = transposed and kind != K_CHOL
        if rcond_tol > 0 and <double>n * n * eps_of(a[0]) <= 0.05:
            ainv = inv_norm_bound(kind, swap, n, a, dwork,
                                  1.0 / (anorm * BOUND_MARGIN * rcond_tol))
            if ainv >= 1e-300:
                lo = (1.0 / anorm) / ainv
                if lo >= BOUND_MARGIN * rcond_tol:  # False for inf / NaN bounds
                    rcond[0] = lo
                    return 0
        if n <= EXACT_MAX:
            ainv = inv_norm_exact(kind, swap, n, a, ipiv, vec)
        else:
            ainv = inv_norm_est(kind, swap, n, a, ipiv, vec, vec + n, <int *>dwork)
        if ainv != 0:
            rcond[0] = (1.0 / anorm) / ainv
    return 0


# ---------------------------------------------------------------- small_solve

cdef inline bint _small_dtype(int t) noexcept:
    return t == cnp.NPY_DOUBLE or t == cnp.NPY_CDOUBLE


def small_solve(cnp.ndarray a, cnp.ndarray b, bint transposed, bint check_finite,
                double rcond_tol=0.0):
    """small_solve(a, b, transposed, check_finite, rcond_tol=0.0) -> (x, info, rcond)

    Solve ``a @ x = b`` (``a.T @ x = b`` when ``transposed``) for one small system.

    Parameters
    ----------
    a : ndarray, shape (n, n), 0 <= n <= SMALL_N, float64 or complex128, any strides
        (C, F, non-contiguous, negative, read-only).  Never modified.
    b : ndarray, shape (n,) or (n, k), same dtype as ``a``, any strides.  Never modified.
    transposed : bool
        Solve A^T x = b.
    check_finite : bool
        Scan a and b for inf/NaN (info -1 when found).
    rcond_tol : float, optional
        The caller only needs to know whether rcond < rcond_tol (the front door passes
        eps).  When > 0 and a rigorous O(n^2) bound already proves the condition estimate
        is at least 4 * rcond_tol, the estimator is skipped and the returned rcond is
        that lower bound instead of the estimate.  0 (default): always the estimate.

    Returns
    -------
    x : ndarray shaped like ``b`` (new, C-contiguous)
    info : int
        0 ok; j > 0: exactly singular (first zero pivot, 1-based; rcond is then 0);
        -1: non-finite input found (only when ``check_finite``).
    rcond : float
        Reciprocal 1-norm condition estimate of ``a`` (LAPACK gecon-like; the 1-norm of A
        even when ``transposed``), or a lower bound >= 4 * rcond_tol (see rcond_tol):
        ``rcond < rcond_tol`` exactly when the estimate is below rcond_tol.

    Raises ValueError / TypeError only for wrong shapes or dtypes (the front door is
    expected to have normalised them).
    """
    cdef int nd_b = cnp.PyArray_NDIM(b)
    cdef int typ = cnp.PyArray_TYPE(a)
    cdef cnp.npy_intp *ad
    cdef cnp.npy_intp *bd
    cdef cnp.npy_intp *ast
    cdef cnp.npy_intp *bst
    cdef int n, k, info
    cdef Py_ssize_t bs1
    cdef double rcond = 1.0
    cdef double complex abuf[SMALL_MAX * SMALL_MAX]
    cdef double complex vbuf[3 * SMALL_MAX]
    cdef int ipiv[SMALL_MAX]
    cdef double dwork[SMALL_MAX]
    cdef cnp.ndarray x
    cdef char *ap
    cdef char *bp
    cdef char *xp
    if cnp.PyArray_NDIM(a) != 2 or (nd_b != 1 and nd_b != 2):
        raise ValueError("small_solve: a must be 2-D and b 1-D or 2-D")
    ad = cnp.PyArray_DIMS(a)
    bd = cnp.PyArray_DIMS(b)
    if ad[0] != ad[1] or bd[0] != ad[0] or ad[0] > SMALL_MAX:
        raise ValueError("small_solve: a must be square (n <= SMALL_N) and b must have n rows")
    if not _small_dtype(typ) or cnp.PyArray_TYPE(b) != typ:
        raise TypeError("small_solve: a and b must both be float64 or both complex128")
    n = <int>ad[0]
    k = 1 if nd_b == 1 else <int>bd[1]
    x = cnp.PyArray_EMPTY(nd_b, bd, typ, 0)
    if n == 0 or k == 0:
        return x, 0, rcond
    ast = cnp.PyArray_STRIDES(a)
    bst = cnp.PyArray_STRIDES(b)
    bs1 = 0 if nd_b == 1 else bst[1]
    ap = cnp.PyArray_BYTES(a)
    bp = cnp.PyArray_BYTES(b)
    xp = cnp.PyArray_BYTES(x)
    with nogil:
        if typ == cnp.NPY_DOUBLE:
            info = solve_one(n, k, ap, ast[0], ast[1], bp, bst[0], bs1,
                                     <double *>xp, k, 1, transposed, check_finite,
                                     <double *>abuf, ipiv, <double *>vbuf, dwork, &rcond,
                                     rcond_tol)
        else:
            info = solve_one(n, k, ap, ast[0], ast[1], bp, bst[0], bs1,
                                               <double complex *>xp, k, 1, transposed,
                                               check_finite, abuf, ipiv, vbuf, dwork,
                                               &rcond, rcond_tol)
    return x, info, rcond


# ---------------------------------------------------------------- solve_batched

cdef int _batch_threads(double work, int m, int cap):
    """Threads for a batch of m slices and ``work`` flops: at most ``cap`` (the thread
    policy's number), one per PAR_GRAIN of work, at most one per slice."""
    cdef int nt = max(1, min(cap, 1024))
    if work < PAR_GRAIN * nt:
        nt = max(1, <int>(work / PAR_GRAIN)) if PAR_GRAIN > 0 else nt
    return max(1, min(nt, m))


cdef void batched_loop(int m, int n, int k, char *ap, Py_ssize_t as_, Py_ssize_t as0,
                       Py_ssize_t as1, char *bp, Py_ssize_t bs_, Py_ssize_t bs0,
                       Py_ssize_t bs1, lapack_t *xp, bint transposed, bint check,
                       int *info, double *rcond, double rcond_tol,
                       int nthreads, int chunk) noexcept nogil:
    cdef Py_ssize_t s
    cdef size_t nbytes = <size_t>n * sizeof(double) \
        + (<size_t>n * n + 3 * <size_t>n) * sizeof(lapack_t) + <size_t>n * sizeof(int) + 64
    cdef char *scratch = NULL
    cdef lapack_t *a = NULL
    cdef lapack_t *vec = NULL
    cdef double *dwork = NULL
    cdef int *ipiv = NULL
    cdef Py_ssize_t nk = <Py_ssize_t>n * k
    with parallel(num_threads=nthreads):
        scratch = <char *>malloc(nbytes)
        dwork = <double *>scratch
        a = <lapack_t *>(dwork + n)
        vec = a + <size_t>n * n
        ipiv = <int *>(vec + 3 * <size_t>n)
        for s in prange(m, schedule="dynamic", chunksize=chunk):
            if scratch == NULL:
                info[s] = -2
            else:
                info[s] = solve_one(n, k, ap + s * as_, as0, as1,
                                              bp + s * bs_, bs0, bs1, xp + s * nk, k, 1,
                                              transposed, check, a, ipiv, vec, dwork,
                                              &rcond[s], rcond_tol)
        free(scratch)


def solve_batched(cnp.ndarray a, cnp.ndarray b, bint transposed, bint check_finite,
                  double rcond_tol=0.0, int nthreads=0):
    """solve_batched(a, b, transposed, check_finite, rcond_tol=0.0, nthreads=0) -> (x, info, rcond)

    Solve ``a[s] @ x[s] = b[s]`` (``a[s].T`` when ``transposed``) for every s.

    Parameters
    ----------
    a : ndarray, shape (m, n, n); float32, float64, complex64 or complex128; any strides,
        including zero strides of broadcast views (no copy is needed).  Never modified.
    b : ndarray, shape (m, n, k), same dtype, any strides.  Never modified.
    transposed, check_finite, rcond_tol
        As in ``small_solve``.
    nthreads : int
        At most this many threads (0: ``hybridsolve._threads.num_threads()``, the thread
        policy in force for the calling thread); fewer when the batch is too small to
        pay for them (tuning ``batch_par_grain``).

    Returns
    -------
    x : ndarray (m, n, k), new and C-contiguous.
    info : ndarray (m,) int32: 0 ok, j > 0 slice exactly singular (1-based pivot),
        -1 non-finite input in that slice (only when ``check_finite``).  Slices with
        info != 0 have unspecified x.
    rcond : ndarray (m,) float64: reciprocal 1-norm condition estimate of each a[s]
        (0 for singular slices), or a lower bound >= 4 * rcond_tol where the bound
        settles it (see ``small_solve``).

    Each slice is inspected on its own (Hermitian positive diagonal -> Cholesky with LU
    fallback, triangular -> substitution, else pivoted LU).  n <= SMALL_N uses the small
    kernels, larger n the shared LU/Cholesky kernels.  The loop runs without the GIL, over
    the available cores when built with OpenMP and the batch is large enough.
    Raises MemoryError when per-thread scratch cannot be allocated.
    """
    cdef int typ = cnp.PyArray_TYPE(a)
    cdef cnp.npy_intp *ad
    cdef cnp.npy_intp *bd
    cdef cnp.npy_intp *ast
    cdef cnp.npy_intp *bst
    cdef cnp.npy_intp dims[1]
    cdef int m, n, k, chunk
    cdef double work
    cdef cnp.ndarray x, info, rcond
    cdef char *ap
    cdef char *bp
    cdef void *xp
    cdef int *ip
    cdef double *rp
    cdef Py_ssize_t s
    if cnp.PyArray_NDIM(a) != 3 or cnp.PyArray_NDIM(b) != 3:
        raise ValueError("solve_batched: a must be (m, n, n) and b (m, n, k)")
    ad = cnp.PyArray_DIMS(a)
    bd = cnp.PyArray_DIMS(b)
    if ad[1] != ad[2] or bd[0] != ad[0] or bd[1] != ad[1]:
        raise ValueError("solve_batched: a must be (m, n, n) and b (m, n, k)")
    if ad[0] > 0x7fffffff or ad[1] > 0x7fffffff or bd[2] > 0x7fffffff:
        raise ValueError("solve_batched: dimensions too large")
    if cnp.PyArray_TYPE(b) != typ or not (typ == cnp.NPY_FLOAT or typ == cnp.NPY_DOUBLE
                                          or typ == cnp.NPY_CFLOAT
                                          or typ == cnp.NPY_CDOUBLE):
        raise TypeError("solve_batched: a and b must have the same dtype, one of "
                        "float32, float64, complex64, complex128")
    m = <int>ad[0]
    n = <int>ad[1]
    k = <int>bd[2]
    x = cnp.PyArray_EMPTY(3, bd, typ, 0)
    dims[0] = m
    info = cnp.PyArray_ZEROS(1, dims, cnp.NPY_INT32, 0)
    rcond = cnp.PyArray_EMPTY(1, dims, cnp.NPY_DOUBLE, 0)
    rp = <double *>cnp.PyArray_DATA(rcond)
    if m == 0:
        return x, info, rcond
    if n == 0 or k == 0:
        for s in range(m):
            rp[s] = 1.0
        return x, info, rcond
    work = <double>m * (<double>n * n * n / 3.0 + 2.0 * n * n * (k + 4))
    nthreads = _batch_threads(work, m, nthreads if nthreads > 0 else _num_threads())
    chunk = max(1, min(<int>(CHUNK_WORK * m / work), m // (4 * nthreads) + 1))
    ast = cnp.PyArray_STRIDES(a)
    bst = cnp.PyArray_STRIDES(b)
    ap = cnp.PyArray_BYTES(a)
    bp = cnp.PyArray_BYTES(b)
    xp = cnp.PyArray_DATA(x)
    ip = <int *>cnp.PyArray_DATA(info)
    with nogil:
        if typ == cnp.NPY_FLOAT:
            batched_loop(m, n, k, ap, ast[0], ast[1], ast[2], bp, bst[0], bst[1], bst[2],
                         <float *>xp, transposed, check_finite, ip, rp, rcond_tol,
                         nthreads, chunk)
        elif typ == cnp.NPY_DOUBLE:
            batched_loop(m, n, k, ap, ast[0], ast[1], ast[2], bp, bst[0], bst[1], bst[2],
                         <double *>xp, transposed, check_finite, ip, rp, rcond_tol,
                         nthreads, chunk)
        elif typ == cnp.NPY_CFLOAT:
            batched_loop(m, n, k, ap, ast[0], ast[1], ast[2], bp, bst[0], bst[1], bst[2],
                         <float complex *>xp, transposed, check_finite, ip, rp,
                         rcond_tol, nthreads, chunk)
        else:
            batched_loop(m, n, k, ap, ast[0], ast[1], ast[2], bp, bst[0], bst[1], bst[2],
                         <double complex *>xp, transposed, check_finite, ip, rp,
                         rcond_tol, nthreads, chunk)
    for s in range(m):
        if ip[s] == -2:
            raise MemoryError("solve_batched: cannot allocate per-thread scratch")
    return x, info, rcond


# ---------------------------------------------------------------- test hooks

def _classify(lapack_t[::1, :] a):
    """Kind the inspection picks for the F-contiguous square ``a`` (test hook):
    0 LU, 1 Cholesky, 2 upper triangular, 3 lower triangular."""
    return classify(a.shape[0], &a[0, 0])


def _set_batch_work(double par_grain, double chunk_work):
    """Set solve_batched's PAR_GRAIN / CHUNK_WORK (the tune command and tests); returns
    the old pair."""
    global PAR_GRAIN, CHUNK_WORK
    old = (PAR_GRAIN, CHUNK_WORK)
    PAR_GRAIN = par_grain
    CHUNK_WORK = max(1.0, chunk_work)
    return old


def _set_own_max(int lu_max, int chol_max):
    """Largest n our own unblocked LU / Cholesky handle (tuning and test hook); returns
    the old pair."""
    global OWN_LU_MAX, OWN_CHOL_MAX
    old = (OWN_LU_MAX, OWN_CHOL_MAX)
    OWN_LU_MAX = lu_max
    OWN_CHOL_MAX = chol_max
    return old


def _inv_norm_bound(lapack_t[::1, :] a, bint inf, bint big):
    """Test hook: factor a copy of the F-contiguous square ``a`` as solve_one does
    (``big``: through the shared kernels, as above OWN_*_MAX) and return inv_norm_bound,
    the rigorous upper bound on ||A^{-1}||_1 (``inf``: ||A^{-1}||_inf)."""
    cdef int n = a.shape[0]
    cdef lapack_t[::1, :] f = a.copy_fortran()
    cdef int[::1] ipiv = np.zeros(max(n, 1), np.intc)
    cdef double[::1] y = np.zeros(max(n, 1))
    cdef int kind = classify(n, &f[0, 0])
    cdef int info
    old = _set_own_max(0, 0) if big else None
    try:
        info = factor(kind, n, &f[0, 0], &ipiv[0])
    finally:
        if old is not None:
            _set_own_max(*old)
    if info != 0:
        raise ValueError("_inv_norm_bound: factorization failed")
    return inv_norm_bound(kind, inf, n, &f[0, 0], &y[0], INFINITY)


# ---------------------------------------------------------------- factor once, solve many
# The small road's Factorization: the same classification and factors as solve_one's
# general path (solve_impl), kept in an F-contiguous array so that solve() can reuse them.

cdef int factor_into(int n, char *src, Py_ssize_t s0, Py_ssize_t s1, lapack_t *a,
                     int *ipiv, bint check, int *kind, double *anorm) noexcept nogil:
    """Load A from ``src`` (byte strides s0, s1) into ``a``, classify and factor it as
    solve_impl does (Cholesky falls back to LU on a fresh load).  Returns 0, -1
    (non-finite entry, when ``check``) or j > 0 (exactly singular)."""
    cdef int info
    load_a(n, src, s0, s1, a, False)
    kind[0] = classify(n, a)
    anorm[0] = norm1(n, a, False)
    if check and not anorm[0] <= DBL_MAX and nonfinite(n * n, a) != 0:
        return -1
    info = factor(kind[0], n, a, ipiv)
    if kind[0] == K_CHOL and info != 0:
        load_a(n, src, s0, s1, a, False)
        kind[0] = K_LU
        info = factor(K_LU, n, a, ipiv)
    return info


cdef void apply_cols(int kind, int trans, int n, int k, lapack_t *a, int *ipiv,
                     lapack_t *b) noexcept nogil:
    """b := op(A)^{-1} b column by column (b F-contiguous n x k); trans 0: A, 1: A^T,
    2: A^H.  A^T x = b is solved as A^H conj(x) = conj(b) for complex types."""
    cdef int c, i
    cdef lapack_t *x
    cdef bint flip = False
    if lapack_t is not float and lapack_t is not double:
        flip = trans == 1
    for c in range(k):
        x = b + <size_t>c * n
        if flip:
            for i in range(n):
                x[i] = conj(x[i])
        apply_inv(kind, trans != 0, n, a, ipiv, x)
        if flip:
            for i in range(n):
                x[i] = conj(x[i])


def small_factor(cnp.ndarray a, bint check_finite):
    """small_factor(a, check_finite) -> (fac, ipiv, kind, info, anorm)

    Factor one small matrix for reuse: ``a`` (n, n) with n <= SMALL_N, float32, float64,
    complex64 or complex128, any strides; never modified.  ``fac`` is a new F-contiguous
    array holding the factors in the small kernels' format, ``ipiv`` 0-based pivots,
    ``kind`` 0 LU / 1 Cholesky / 2 upper / 3 lower triangular, ``info`` as solve_one
    (0, -1 non-finite, j > 0 singular), ``anorm`` ||A||_1.
    """
    cdef int typ = cnp.PyArray_TYPE(a)
    cdef cnp.npy_intp *ad
    cdef cnp.npy_intp *ast
    cdef int n, kind = K_LU, info = 0
    cdef double anorm = 0.0
    cdef cnp.ndarray fac, ipiv
    cdef char *ap
    cdef void *fp
    cdef int *pp
    if cnp.PyArray_NDIM(a) != 2:
        raise ValueError("small_factor: a must be 2-D")
    ad = cnp.PyArray_DIMS(a)
    if ad[0] != ad[1] or ad[0] > SMALL_MAX:
        raise ValueError("small_factor: a must be square with n <= SMALL_N")
    if not (typ == cnp.NPY_FLOAT or typ == cnp.NPY_DOUBLE or typ == cnp.NPY_CFLOAT
            or typ == cnp.NPY_CDOUBLE):
        raise TypeError("small_factor: a must be float32, float64, complex64 or "
                        "complex128")
    n = <int>ad[0]
    fac = cnp.PyArray_EMPTY(2, ad, typ, 1)
    ipiv = cnp.PyArray_ZEROS(1, ad, cnp.NPY_INT, 0)
    if n == 0:
        return fac, ipiv, kind, 0, 0.0
    ast = cnp.PyArray_STRIDES(a)
    ap = cnp.PyArray_BYTES(a)
    fp = cnp.PyArray_DATA(fac)
    pp = <int *>cnp.PyArray_DATA(ipiv)
    with nogil:
        if typ == cnp.NPY_FLOAT:
            info = factor_into(n, ap, ast[0], ast[1], <float *>fp, pp, check_finite,
                               &kind, &anorm)
        elif typ == cnp.NPY_DOUBLE:
            info = factor_into(n, ap, ast[0], ast[1], <double *>fp, pp, check_finite,
                               &kind, &anorm)
        elif typ == cnp.NPY_CFLOAT:
            info = factor_into(n, ap, ast[0], ast[1], <float complex *>fp, pp,
                               check_finite, &kind, &anorm)
        else:
            info = factor_into(n, ap, ast[0], ast[1], <double complex *>fp, pp,
                               check_finite, &kind, &anorm)
    return fac, ipiv, kind, info, anorm


def small_apply(lapack_t[::1, :] fac, int[::1] ipiv, int kind, lapack_t[::1, :] b,
                int trans):
    """small_apply(fac, ipiv, kind, b, trans): b := op(A)^{-1} b in place for the factors
    ``small_factor`` returned (b F-contiguous (n, k) of fac's dtype; trans 0 A, 1 A^T,
    2 A^H)."""
    cdef int n = <int>fac.shape[0]
    cdef int k = <int>b.shape[1]
    if b.shape[0] != n or ipiv.shape[0] != n:
        raise ValueError("small_apply: b must have n rows")
    if n == 0 or k == 0:
        return
    with nogil:
        apply_cols(kind, trans, n, k, &fac[0, 0], &ipiv[0], &b[0, 0])


def small_rcond(lapack_t[::1, :] fac, int[::1] ipiv, int kind, double anorm):
    """small_rcond(fac, ipiv, kind, anorm) -> rcond: the reciprocal 1-norm condition
    estimate of A from the factors ``small_factor`` returned (solve_impl's estimate:
    exact ||A^{-1}||_1 for n <= 4, else LAPACK xLACN2's)."""
    cdef int n = <int>fac.shape[0]
    cdef double ainv
    cdef lapack_t[::1] vec
    cdef int[::1] isgn
    if n == 0:
        return 1.0
    if anorm == 0:
        return 0.0
    if anorm != anorm:
        return anorm
    isgn = np.empty(n, dtype=np.intc)
    if lapack_t is float:
        vec = np.empty(2 * n, dtype=np.float32)
    elif lapack_t is double:
        vec = np.empty(2 * n, dtype=np.float64)
    elif sizeof(lapack_t) == 8:
        vec = np.empty(2 * n, dtype=np.complex64)
    else:
        vec = np.empty(2 * n, dtype=np.complex128)
    with nogil:
        if n <= EXACT_MAX:
            ainv = inv_norm_exact(kind, False, n, &fac[0, 0], &ipiv[0], &vec[0])
        else:
            ainv = inv_norm_est(kind, False, n, &fac[0, 0], &ipiv[0], &vec[0],
                                &vec[n], &isgn[0])
    if ainv == 0:
        return 0.0
    return (1.0 / anorm) / ainv
