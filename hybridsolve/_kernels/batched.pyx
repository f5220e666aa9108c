# cython: language_level=3
"""Compact (lane-interleaved) batch kernels: W slices of a stack solved together, one
SIMD lane per slice.

``solve_compact(a, b, transposed, rcond_tol, nthreads)`` takes a real stack a[m, n, n],
b[m, n, k] (any strides, broadcast zero strides included) and solves W = LANES slices
at a time in a scratch block laid out ``[row][column][lane]``:

1. load W slices of op(A) (A^T when ``transposed``) and of B into the block (the tail
   group's unused lanes hold the identity);
2. per lane: ||A||_1 and a finiteness test; whether the slice is symmetric with a
   positive diagonal (the Cholesky candidates);
3. a group whose lanes are all candidates is factored by Cholesky (L L^T, lower
   triangle); when a lane's Cholesky meets a non-positive pivot the group is reloaded
   and every lane redone by LU; other groups: partial-pivoting Gaussian elimination on [A | B]
   (pivot by |a_ij| per lane; the row swap is a select under the mask "this lane picked
   row i", rows no lane picked are skipped: a test on the group, not on a lane);
4. back substitution, x written to the C-contiguous result;
5. per lane the rigorous bound of ``small.pyx`` (comparison matrices of the factors:
   an upper bound on ||A^{-1}||_1) gives rcond >= lo; when lo >= BOUND_MARGIN * rcond_tol
   no warning can be due and lo is the slice's rcond.

Every loop over the W lanes is a fixed-width loop of selects and arithmetic with no
branch, which the C compiler vectorises (SSE2 at the default -O3, AVX2 with
HYBRIDSOLVE_NATIVE=1).  Branches depend on the group only (which rows to swap, the
Cholesky / LU choice).

A slice is *not settled* here (``done[s] = 0``) when its A or x is not finite, a pivot
is exactly zero, or the bound cannot prove rcond >= BOUND_MARGIN * rcond_tol (singular,
ill-conditioned or NaN slices): the caller solves those slices again with
``small.solve_batched``, so that info codes (exactly singular, non-finite), rcond
estimates and the ill-conditioning verdicts are exactly that kernel's.  Settled slices
cannot be ones that kernel would warn about: its estimate of rcond is >= the true
rcond >= lo >= 4 rcond_tol (see ``small.pyx``: BOUND_MARGIN covers the rounding).
"""
cimport numpy as cnp
from cython.parallel cimport parallel, prange
from libc.math cimport sqrt, fabs
from libc.stdlib cimport malloc, free

from hybridsolve._kernels._lapack cimport real_t

cnp.import_array()

# Slices per group: 8 lanes are 2 AVX2 / 4 SSE2 vectors of float64 and 1 / 2 of float32 --
# more than one vector per operation keeps independent instructions in flight.
cdef enum:
    LANES = 8

# Largest order taken by the compact kernels (the scratch block is n (n + k) LANES).
cdef enum:
    COMPACT_MAX = 64

COMPACT_N = COMPACT_MAX
LANE_COUNT = LANES

# Same safety factor as small.pyx's bound (rcond >= BOUND_MARGIN * rcond_tol settles).
cdef double BOUND_MARGIN = 4.0

# Orders as types (as in small.pyx): a function fused over order_t is compiled once per
# order with n a compile-time constant (every loop unrolled); order_any reads n at run
# time.
ctypedef struct order_any:
    char c[1]

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
    order_any
    order2
    order3
    order4
    order5
    order6
    order7
    order8


# Selects as C conditional expressions (Cython writes ``x if c else y`` as an if/else
# statement, which keeps the C compiler from vectorising the lane loops): a blend once
# vectorised.
cdef extern from *:
    """
    #define HS_SEL_GT(a, b, x, y) ((a) > (b) ? (x) : (y))
    #define HS_SEL_EQ(a, b, x, y) ((a) == (b) ? (x) : (y))
    """
    float sel_gt_f "HS_SEL_GT"(float a, float b, float x, float y) noexcept nogil
    double sel_gt_d "HS_SEL_GT"(double a, double b, double x, double y) noexcept nogil
    float sel_eq_f "HS_SEL_EQ"(float a, float b, float x, float y) noexcept nogil
    double sel_eq_d "HS_SEL_EQ"(double a, double b, double x, double y) noexcept nogil


cdef inline real_t sel_gt(real_t a, real_t b, real_t x, real_t y) noexcept nogil:
    """x where a > b, else y."""
    if real_t is float:
        return sel_gt_f(a, b, x, y)
    else:
        return sel_gt_d(a, b, x, y)


cdef inline real_t sel_eq(real_t a, real_t b, real_t x, real_t y) noexcept nogil:
    """x where a == b, else y."""
    if real_t is float:
        return sel_eq_f(a, b, x, y)
    else:
        return sel_eq_d(a, b, x, y)


cdef void group_solve(order_t *order, int nrt, int k, int lanes,
                      char *a0, Py_ssize_t as_, Py_ssize_t r0, Py_ssize_t r1,
                      char *b0, Py_ssize_t bs_, Py_ssize_t bs0, Py_ssize_t bs1,
                      bint transposed, real_t *A, real_t *B, real_t *x, double rcond_tol,
                      char *done, double *rcond) noexcept nogil:
    """Solve the ``lanes`` (<= LANES) slices w whose A / b start at a0 + w as_ /
    b0 + w bs_ (byte strides r0, r1 of op(A)'s rows / columns, bs0, bs1 of b's) into
    x + w n k ((n, k) C-contiguous each); done[w], rcond[w] as solve_compact's.
    Scratch: A n * n * LANES, B n * k * LANES."""
    # (indices are Py_ssize_t: with Cython's -fwrapv an int index may wrap, which keeps
    # the C compiler from proving lane accesses consecutive -- and from vectorising)
    cdef Py_ssize_t n = sizeof(order_t) if sizeof(order_t) > 1 else nrt
    cdef Py_ssize_t i, j, c, w
    cdef Py_ssize_t kk = k
    cdef Py_ssize_t nk = n * kk
    cdef Py_ssize_t ti = n if transposed else 1
    cdef Py_ssize_t tj = 1 if transposed else n
    cdef real_t t, u, v, q, rj
    cdef real_t anorm[LANES]
    cdef real_t bad[LANES]
    cdef real_t spd[LANES]
    cdef real_t mx[LANES]
    cdef real_t piv[LANES]
    cdef real_t msk[LANES]
    cdef real_t y[LANES * COMPACT_MAX]
    cdef real_t bu[LANES]
    cdef real_t bl[LANES]
    cdef real_t s[LANES]
    cdef bint chol
    cdef char *p
    cdef real_t eps = 1.1920928955078125e-07 if real_t is float else 2.220446049250313e-16

    # ---- 1. load
    for w in range(lanes):
        p = a0 + w * as_
        for i in range(n):
            for j in range(n):
                A[(i * n + j) * LANES + w] = (<real_t *>(p + i * r0 + j * r1))[0]
        p = b0 + w * bs_
        for i in range(n):
            for c in range(kk):
                B[(i * kk + c) * LANES + w] = (<real_t *>(p + i * bs0 + c * bs1))[0]
    for w in range(lanes, LANES):
        for i in range(n):
            for j in range(n):
                A[(i * n + j) * LANES + w] = 1 if i == j else 0
            for c in range(kk):
                B[(i * kk + c) * LANES + w] = 1

    # ---- 2. ||A||_1 (of A: columns of the loaded A, rows of the loaded A^T), finiteness
    # (x * 0 is NaN exactly for inf / NaN), symmetric with positive diagonal
    for w in range(LANES):
        anorm[w] = 0
        bad[w] = 0
        spd[w] = 1
    for j in range(n):
        for w in range(LANES):
            s[w] = 0
        for i in range(n):
            for w in range(LANES):
                t = A[(i * tj + j * ti) * LANES + w]
                s[w] = s[w] + fabs(t)
                bad[w] = bad[w] + t * 0
        for w in range(LANES):
            anorm[w] = sel_gt(s[w], anorm[w], s[w], anorm[w])
            spd[w] = sel_gt(A[(j * n + j) * LANES + w], <real_t>0, spd[w], <real_t>0)
        for i in range(j + 1, n):
            for w in range(LANES):
                spd[w] = sel_eq(A[(i * n + j) * LANES + w], A[(j * n + i) * LANES + w],
                                    spd[w], <real_t>0)
    chol = True
    for w in range(LANES):
        chol = chol and spd[w] != 0

    # ---- 3a. Cholesky: op(A) = L L^T in the lower triangle, reciprocal diagonal
    if chol:
        for j in range(n):
            for w in range(LANES):
                t = A[(j * n + j) * LANES + w]
                bad[w] = sel_gt(t, <real_t>0, bad[w], bad[w] + 1)
                t = sel_gt(t, <real_t>0, <real_t>sqrt(t), <real_t>1)
                rj = 1 / t
                A[(j * n + j) * LANES + w] = rj
                mx[w] = rj
            for i in range(j + 1, n):
                for w in range(LANES):
                    A[(i * n + j) * LANES + w] = A[(i * n + j) * LANES + w] * mx[w]
            for c in range(j + 1, n):
                for i in range(c, n):
                    for w in range(LANES):
                        A[(i * n + c) * LANES + w] = A[(i * n + c) * LANES + w] \
                            - A[(i * n + j) * LANES + w] * A[(c * n + j) * LANES + w]
        # forward and backward substitution on B
        for j in range(n):
            for c in range(kk):
                for w in range(LANES):
                    B[(j * kk + c) * LANES + w] = B[(j * kk + c) * LANES + w] \
                        * A[(j * n + j) * LANES + w]
                for i in range(j + 1, n):
                    for w in range(LANES):
                        B[(i * kk + c) * LANES + w] = B[(i * kk + c) * LANES + w] \
                            - A[(i * n + j) * LANES + w] * B[(j * kk + c) * LANES + w]
        for j in range(n - 1, -1, -1):
            for c in range(kk):
                for w in range(LANES):
                    s[w] = B[(j * kk + c) * LANES + w]
                for i in range(j + 1, n):
                    for w in range(LANES):
                        s[w] = s[w] - A[(i * n + j) * LANES + w] * B[(i * kk + c) * LANES + w]
                for w in range(LANES):
                    B[(j * kk + c) * LANES + w] = s[w] * A[(j * n + j) * LANES + w]
        if rcond_tol > 0:
            # ||L^-1||_1 <= max of M(L)^T y = e (backward); ||L^-1||_inf <= max of
            # M(L) y = e (forward); ||A^-1||_1 <= ||L^-T||_1 ||L^-1||_1
            for w in range(LANES):
                bu[w] = 0
                bl[w] = 0
            for j in range(n - 1, -1, -1):
                for w in range(LANES):
                    s[w] = 1
                for i in range(j + 1, n):
                    for w in range(LANES):
                        s[w] = s[w] + fabs(A[(i * n + j) * LANES + w]) * y[i * LANES + w]
                for w in range(LANES):
                    t = s[w] * fabs(A[(j * n + j) * LANES + w])
                    y[j * LANES + w] = t
                    bu[w] = sel_gt(t, bu[w], t, bu[w])
                    bad[w] = bad[w] + t * 0
            for j in range(n):
                for w in range(LANES):
                    s[w] = 1
                for i in range(j):
                    for w in range(LANES):
                        s[w] = s[w] + fabs(A[(j * n + i) * LANES + w]) * y[i * LANES + w]
                for w in range(LANES):
                    t = s[w] * fabs(A[(j * n + j) * LANES + w])
                    y[j * LANES + w] = t
                    bl[w] = sel_gt(t, bl[w], t, bl[w])
                    bad[w] = bad[w] + t * 0
        for w in range(lanes):
            if bad[w] != 0:  # not positive definite (or not finite): LU for the group
                chol = False
        if not chol:  # reload; LU below for every lane (a scalar test per group)
            for w in range(lanes):
                p = a0 + w * as_
                for i in range(n):
                    for j in range(n):
                        A[(i * n + j) * LANES + w] = (<real_t *>(p + i * r0 + j * r1))[0]
                p = b0 + w * bs_
                for i in range(n):
                    for c in range(kk):
                        B[(i * kk + c) * LANES + w] = \
                            (<real_t *>(p + i * bs0 + c * bs1))[0]
            for w in range(LANES):
                bad[w] = 0
                t = 0
                for i in range(n):
                    for j in range(n):
                        t = t + A[(i * n + j) * LANES + w] * 0
                bad[w] = t

    # ---- 3b. Gaussian elimination with partial pivoting on [op(A) | B]
    if not chol:
        for j in range(n):
            for w in range(LANES):
                mx[w] = fabs(A[(j * n + j) * LANES + w])
                piv[w] = j
            for i in range(j + 1, n):
                for w in range(LANES):
                    v = fabs(A[(i * n + j) * LANES + w])
                    piv[w] = sel_gt(v, mx[w], <real_t>i, piv[w])
                    mx[w] = sel_gt(v, mx[w], v, mx[w])
            for w in range(LANES):
                bad[w] = sel_eq(mx[w], <real_t>0, bad[w] + 1, bad[w])
            for i in range(j + 1, n):
                t = 0
                for w in range(LANES):
                    msk[w] = sel_eq(piv[w], <real_t>i, <real_t>1, <real_t>0)
                    t = t + msk[w]
                if t == 0:  # no lane picked row i (a test on the group)
                    continue
                for c in range(n):
                    for w in range(LANES):
                        t = A[(j * n + c) * LANES + w]
                        u = A[(i * n + c) * LANES + w]
                        A[(j * n + c) * LANES + w] = sel_eq(msk[w], <real_t>1, u, t)
                        A[(i * n + c) * LANES + w] = sel_eq(msk[w], <real_t>1, t, u)
                for c in range(kk):
                    for w in range(LANES):
                        t = B[(j * kk + c) * LANES + w]
                        u = B[(i * kk + c) * LANES + w]
                        B[(j * kk + c) * LANES + w] = sel_eq(msk[w], <real_t>1, u, t)
                        B[(i * kk + c) * LANES + w] = sel_eq(msk[w], <real_t>1, t, u)
            for w in range(LANES):
                t = A[(j * n + j) * LANES + w]
                rj = 1 / sel_eq(t, <real_t>0, <real_t>1, t)
                A[(j * n + j) * LANES + w] = rj
                mx[w] = rj
            for i in range(j + 1, n):
                for w in range(LANES):
                    q = A[(i * n + j) * LANES + w] * mx[w]
                    A[(i * n + j) * LANES + w] = q
                    s[w] = q
                for c in range(j + 1, n):
                    for w in range(LANES):
                        A[(i * n + c) * LANES + w] = A[(i * n + c) * LANES + w] \
                            - s[w] * A[(j * n + c) * LANES + w]
                for c in range(kk):
                    for w in range(LANES):
                        B[(i * kk + c) * LANES + w] = B[(i * kk + c) * LANES + w] \
                            - s[w] * B[(j * kk + c) * LANES + w]
        # back substitution (U has reciprocal diagonal)
        for j in range(n - 1, -1, -1):
            for c in range(kk):
                for w in range(LANES):
                    s[w] = B[(j * kk + c) * LANES + w]
                for i in range(j + 1, n):
                    for w in range(LANES):
                        s[w] = s[w] - A[(j * n + i) * LANES + w] * B[(i * kk + c) * LANES + w]
                for w in range(LANES):
                    B[(j * kk + c) * LANES + w] = s[w] * A[(j * n + j) * LANES + w]
        if rcond_tol > 0:
            for w in range(LANES):
                bu[w] = 0
                bl[w] = 0
            if not transposed:
                # ||U^-1||_1 <= max of M(U)^T y = e (forward over columns of U)
                for j in range(n):
                    for w in range(LANES):
                        s[w] = 1
                    for i in range(j):
                        for w in range(LANES):
                            s[w] = s[w] + fabs(A[(i * n + j) * LANES + w]) \
                                * y[i * LANES + w]
                    for w in range(LANES):
                        t = s[w] * fabs(A[(j * n + j) * LANES + w])
                        y[j * LANES + w] = t
                        bu[w] = sel_gt(t, bu[w], t, bu[w])
                        bad[w] = bad[w] + t * 0
                # ||L^-1||_1 <= max of M(L)^T y = e (backward, unit diagonal)
                for j in range(n - 1, -1, -1):
                    for w in range(LANES):
                        s[w] = 1
                    for i in range(j + 1, n):
                        for w in range(LANES):
                            s[w] = s[w] + fabs(A[(i * n + j) * LANES + w]) \
                                * y[i * LANES + w]
                    for w in range(LANES):
                        y[j * LANES + w] = s[w]
                        bl[w] = sel_gt(s[w], bl[w], s[w], bl[w])
                        bad[w] = bad[w] + s[w] * 0
            else:
                # infinity norms (op(A) = A^T is loaded): M(U) y = e backward by rows,
                # M(L) y = e forward by rows
                for j in range(n - 1, -1, -1):
                    for w in range(LANES):
                        s[w] = 1
                    for i in range(j + 1, n):
                        for w in range(LANES):
                            s[w] = s[w] + fabs(A[(j * n + i) * LANES + w]) \
                                * y[i * LANES + w]
                    for w in range(LANES):
                        t = s[w] * fabs(A[(j * n + j) * LANES + w])
                        y[j * LANES + w] = t
                        bu[w] = sel_gt(t, bu[w], t, bu[w])
                        bad[w] = bad[w] + t * 0
                for j in range(n):
                    for w in range(LANES):
                        s[w] = 1
                    for i in range(j):
                        for w in range(LANES):
                            s[w] = s[w] + fabs(A[(j * n + i) * LANES + w]) \
                                * y[i * LANES + w]
                    for w in range(LANES):
                        y[j * LANES + w] = s[w]
                        bl[w] = sel_gt(s[w], bl[w], s[w], bl[w])
                        bad[w] = bad[w] + s[w] * 0

    # ---- 5. verdict per lane, 4. write x
    for i in range(n):
        for c in range(kk):
            for w in range(LANES):
                bad[w] = bad[w] + B[(i * kk + c) * LANES + w] * 0
    for w in range(lanes):
        v = bu[w] * bl[w]
        if rcond_tol > 0 and bad[w] == 0 and anorm[w] > 0 and v >= 1e-300:
            rcond[w] = (1.0 / <double>anorm[w]) / <double>v
            done[w] = rcond[w] >= BOUND_MARGIN * rcond_tol
        else:
            rcond[w] = 0
            done[w] = 0
        for i in range(n):
            for c in range(kk):
                x[w * nk + i * k + c] = B[(i * kk + c) * LANES + w]


cdef void compact_loop(order_t *order, int m, int n, int k,
                       char *ap, Py_ssize_t as_, Py_ssize_t as0, Py_ssize_t as1,
                       char *bp, Py_ssize_t bs_, Py_ssize_t bs0, Py_ssize_t bs1,
                       real_t *xp, bint transposed, double rcond_tol, char *done,
                       double *rcond, int nthreads) noexcept nogil:
    cdef Py_ssize_t g, s0, ngroups = (m + LANES - 1) // LANES
    cdef Py_ssize_t r0 = as1 if transposed else as0
    cdef Py_ssize_t r1 = as0 if transposed else as1
    cdef Py_ssize_t nk = <Py_ssize_t>n * k
    cdef int lanes
    cdef real_t *A = NULL
    cdef real_t *B = NULL
    with parallel(num_threads=nthreads):
        A = <real_t *>malloc(<size_t>(n * n + n * k) * LANES * sizeof(real_t))
        B = A + <size_t>n * n * LANES
        for g in prange(ngroups, schedule="static"):
            s0 = g * LANES
            lanes = LANES if m - s0 >= LANES else <int>(m - s0)
            if A != NULL:  # else every done[s] stays 0: the caller redoes the slices
                group_solve(order, n, k, lanes, ap + s0 * as_, as_, r0, r1,
                            bp + s0 * bs_, bs_, bs0, bs1, transposed, A, B,
                            xp + s0 * nk, rcond_tol, done + s0, rcond + s0)
        free(A)


cdef void dispatch(int m, int n, int k, char *ap, Py_ssize_t as_, Py_ssize_t as0,
                   Py_ssize_t as1, char *bp, Py_ssize_t bs_, Py_ssize_t bs0,
                   Py_ssize_t bs1, real_t *xp, bint transposed, double rcond_tol,
                   char *done, double *rcond, int nthreads) noexcept nogil:
    if n == 2:
        compact_loop(<order2 *>NULL, m, n, k, ap, as_, as0, as1, bp, bs_, bs0, bs1, xp,
                     transposed, rcond_tol, done, rcond, nthreads)
    elif n == 3:
        compact_loop(<order3 *>NULL, m, n, k, ap, as_, as0, as1, bp, bs_, bs0, bs1, xp,
                     transposed, rcond_tol, done, rcond, nthreads)
    elif n == 4:
        compact_loop(<order4 *>NULL, m, n, k, ap, as_, as0, as1, bp, bs_, bs0, bs1, xp,
                     transposed, rcond_tol, done, rcond, nthreads)
    elif n == 5:
        compact_loop(<order5 *>NULL, m, n, k, ap, as_, as0, as1, bp, bs_, bs0, bs1, xp,
                     transposed, rcond_tol, done, rcond, nthreads)
    elif n == 6:
        compact_loop(<order6 *>NULL, m, n, k, ap, as_, as0, as1, bp, bs_, bs0, bs1, xp,
                     transposed, rcond_tol, done, rcond, nthreads)
    elif n == 7:
        compact_loop(<order7 *>NULL, m, n, k, ap, as_, as0, as1, bp, bs_, bs0, bs1, xp,
                     transposed, rcond_tol, done, rcond, nthreads)
    elif n == 8:
        compact_loop(<order8 *>NULL, m, n, k, ap, as_, as0, as1, bp, bs_, bs0, bs1, xp,
                     transposed, rcond_tol, done, rcond, nthreads)
    else:
        compact_loop(<order_any *>NULL, m, n, k, ap, as_, as0, as1, bp, bs_, bs0, bs1,
                     xp, transposed, rcond_tol, done, rcond, nthreads)


def solve_compact(cnp.ndarray a, cnp.ndarray b, bint transposed, double rcond_tol,
                  int nthreads=1):
    """solve_compact(a, b, transposed, rcond_tol, nthreads=1) -> (x, done, rcond)

    Solve ``a[s] @ x[s] = b[s]`` (``a[s].T`` when ``transposed``) LANES slices at a time.

    Parameters
    ----------
    a : ndarray (m, n, n), float32 or float64, 1 <= n <= COMPACT_N, any strides
        (broadcast zero strides included).  Never modified.
    b : ndarray (m, n, k), same dtype, any strides.  Never modified.
    transposed : bool
    rcond_tol : float > 0
        The caller's ill-conditioning threshold (the front door's eps).
    nthreads : int
        OpenMP threads over the groups of slices (the caller's thread policy).

    Returns
    -------
    x : ndarray (m, n, k), new, C-contiguous.
    done : ndarray (m,) uint8: 1 where the slice is settled -- x solved, finite, and
        rcond[s] a rigorous lower bound >= 4 rcond_tol of its reciprocal condition
        number (no warning due).  0: not finite, a zero pivot, or the bound did not
        settle it: solve that slice again with ``small.solve_batched`` (x[s] and
        rcond[s] unspecified).
    rcond : ndarray (m,) float64.
    """
    cdef int typ = cnp.PyArray_TYPE(a)
    cdef cnp.npy_intp *ad
    cdef cnp.npy_intp *bd
    cdef cnp.npy_intp *ast
    cdef cnp.npy_intp *bst
    cdef cnp.npy_intp dims[1]
    cdef int m, n, k
    cdef cnp.ndarray x, done, rcond
    cdef char *ap
    cdef char *bp
    cdef void *xp
    cdef char *dp
    cdef double *rp
    if cnp.PyArray_NDIM(a) != 3 or cnp.PyArray_NDIM(b) != 3:
        raise ValueError("solve_compact: a must be (m, n, n) and b (m, n, k)")
    ad = cnp.PyArray_DIMS(a)
    bd = cnp.PyArray_DIMS(b)
    if ad[1] != ad[2] or bd[0] != ad[0] or bd[1] != ad[1]:
        raise ValueError("solve_compact: a must be (m, n, n) and b (m, n, k)")
    if ad[1] < 1 or ad[1] > COMPACT_MAX or ad[0] > 0x7fffffff or bd[2] > 0x7fffff:
        raise ValueError("solve_compact: needs 1 <= n <= COMPACT_N")
    if cnp.PyArray_TYPE(b) != typ or not (typ == cnp.NPY_FLOAT or typ == cnp.NPY_DOUBLE):
        raise TypeError("solve_compact: a and b must both be float32 or both float64")
    if not rcond_tol > 0:
        raise ValueError("solve_compact: rcond_tol must be > 0")
    m = <int>ad[0]
    n = <int>ad[1]
    k = <int>bd[2]
    x = cnp.PyArray_EMPTY(3, bd, typ, 0)
    dims[0] = m
    done = cnp.PyArray_ZEROS(1, dims, cnp.NPY_UINT8, 0)
    rcond = cnp.PyArray_ZEROS(1, dims, cnp.NPY_DOUBLE, 0)
    if m == 0 or k == 0:
        done[...] = 1
        rcond[...] = 1.0
        return x, done, rcond
    ast = cnp.PyArray_STRIDES(a)
    bst = cnp.PyArray_STRIDES(b)
    ap = cnp.PyArray_BYTES(a)
    bp = cnp.PyArray_BYTES(b)
    xp = cnp.PyArray_DATA(x)
    dp = <char *>cnp.PyArray_DATA(done)
    rp = <double *>cnp.PyArray_DATA(rcond)
    nthreads = max(1, nthreads)
    with nogil:
        if typ == cnp.NPY_FLOAT:
            dispatch(m, n, k, ap, ast[0], ast[1], ast[2], bp, bst[0], bst[1], bst[2],
                     <float *>xp, transposed, rcond_tol, dp, rp, nthreads)
        else:
            dispatch(m, n, k, ap, ast[0], ast[1], ast[2], bp, bst[0], bst[1], bst[2],
                     <double *>xp, transposed, rcond_tol, dp, rp, nthreads)
    return x, done, rcond
