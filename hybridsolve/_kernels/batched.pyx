# cython: language_level=3
"""Compact (lane-interleaved) batch kernels: W slices of a stack solved together, one
SIMD lane per slice (the "compact" batched layout of MKL and of the batched-BLAS papers,
here without changing the caller's layout).

``solve_compact(a, b, transposed, rcond_tol, nthreads)`` takes a real stack a[m, n, n],
b[m, n, k] (n <= COMPACT_N, k <= COMPACT_K, any strides, broadcast zero strides
included) and solves W slices at a time (W = LANES_F64 = 8 for float64, LANES_F32 = 16
for float32: one AVX-512 vector, two AVX2 or four SSE2 vectors) in [row][column][lane]
blocks on the stack:

1. load W slices of op(A) (A^T when ``transposed``) and of B, each entry read once (the
   tail group's unused lanes hold the identity);
2. per lane ||A||_1, a finiteness test, and whether the slice is exactly symmetric with
   a positive diagonal (the Cholesky candidates, as the per-slice kernel's test);
3. a group whose lanes are all candidates is factored L D L^T without pivoting; when a
   lane meets a non-positive pivot the group's A is reloaded and the whole group redone
   by LU.  Other groups: Gaussian elimination with partial pivoting on [op(A) | B] -- the
   pivot row per lane by compares and 0/1 steps; for n <= 8 gathered by its one-hot
   weights, the row swap fused into the elimination's update, above that the two rows
   swapped lane by lane before it; one reciprocal per pivot;
4. back substitution, x written C-contiguous;
5. per lane a rigorous upper bound on ||A^{-1}||_1 from the comparison matrices of the
   factors (as ``small.pyx``'s bound): rcond >= lo = 1 / (||A||_1 bound).  A slice with
   lo >= 4 rcond_tol cannot be one the per-slice kernel warns about.

The C is written once for both dtypes (the ``HS_DEFINE`` macro).  For n <= 8 the order
is a compile-time constant and the row and column loops are fully unrolled; b's first
column is eliminated along with A and its other columns, if any, are solved afterwards
with the group's factors (the pivots kept per step).  Orders 9..COMPACT_N run one kernel
with run-time bounds, every column of b eliminated along with A; there every sum over
rows is written column by column (each finished row added into the rows it reaches),
so that no running sum goes through one memory slot.  A full group of
C-contiguous slices is read and written at constant offsets from one pointer per group.
Every loop over the lanes is fixed-width arithmetic and selects, vectorised by the C
compiler at -O3, with no select that may store a slot's own value back (GCC turns those
into masked stores behind a branch per vector); on x86-64 Linux with GCC or Clang each
entry point is built three times (``target_clones``: AVX-512F, AVX2, baseline SSE2) and
the loader picks one for the CPU, so no -march flag is needed.

A slice is *not settled* (``done[s] = 0``) when its A or x is not finite, a pivot is
exactly zero, or the bound cannot prove rcond >= 4 rcond_tol (singular, ill-conditioned
or non-finite slices): the caller solves those slices again with
``small.solve_batched``, so that info codes, rcond estimates and the ill-conditioning
verdicts are exactly that kernel's.
"""
cimport numpy as cnp
from cython.parallel cimport prange

cnp.import_array()

cdef extern from *:
    """
#include <stddef.h>
#include <math.h>

/* Function multi-versioning: each entry point is compiled for AVX-512F, AVX2 and the
   baseline (SSE2 on x86-64); the dynamic loader picks one for the CPU at run time.
   Elsewhere: one plain build. */
#if defined(__GNUC__) && defined(__x86_64__) && defined(__linux__)
#define HS_CLONES __attribute__((target_clones("avx512f", "avx2", "default")))
#else
#define HS_CLONES
#endif
#if defined(__GNUC__)
#define HS_INLINE static inline __attribute__((always_inline))
#else
#define HS_INLINE static inline
#endif

/* "vectorise the loop over the lanes" (if-conversion of its selects included), where
   the compiler runs with OpenMP; ignored otherwise (then the vectoriser decides). */
#if defined(_OPENMP)
#define HS_LANES _Pragma("omp simd")
#else
#define HS_LANES
#endif

/* HS_U(1): "unroll this loop over rows / columns fully", for the group kernels whose
   order is a constant (n <= 8 in hs_compact_*'s switch): the lane blocks then have
   constant indices, which lets the compiler keep them in vector registers rather than
   stack slots (measured: solve_compact 100000x3x3 3.86 -> 2.02 ms, one thread).
   HS_U(0): nothing, for the kernel whose order is a run-time value (there the
   pragmas only added code: the C of hs_compact_d built with that kernel alone,
   4000x16x16, b (m, n, 1), one thread, took 4.04-4.08 ms per call with them and
   3.97-4.00 ms without, and 9.1 s of gcc -O3 against 7.3 s).  Loops over the
   right-hand sides never carry it: KK is 1 (a constant) in the unrolled kernels. */
#if defined(__GNUC__) && !defined(__clang__)
#define HS_UNROLL_1 _Pragma("GCC unroll 8")
#else
#define HS_UNROLL_1
#endif
#define HS_UNROLL_0
#define HS_U(X) HS_UNROLL_##X

#define HS_NMAX 32
#define HS_DIM_1 8
#define HS_DIM_0 HS_NMAX
#define HS_DIM(X) HS_DIM_##X
#define HS_KMAX 16
#define HS_LANES_D 8
#define HS_LANES_F 16
#define HS_MARGIN 4.0

/* The pivot row of the lane block M (its columns 0..NC-1) into P[c][w]: the sum over
   rows i >= j of oh[i][w] M[i][c][w], oh the lane's one-hot pivot choice (inside
   hs_group_*: its i, j, c, w, oh, NN; X its unroll switch, XC the one for the loop
   over c).  Exact for finite rows but for the sign of a zero; an inf / NaN anywhere
   in the column makes it NaN (such a slice is not settled). */
#define HS_GATHER_ROW(X, XC, W, M, NC, P)                                               \
    HS_U(XC) for (c = 0; c < (NC); c++) {                                               \
        HS_LANES for (w = 0; w < W; w++) P[c][w] = oh[j][w] * M[j][c][w];               \
        HS_U(X) for (i = j + 1; i < NN; i++)                                            \
            HS_LANES for (w = 0; w < W; w++) P[c][w] += oh[i][w] * M[i][c][w];          \
    }

/* The two triangular sweeps of the rigorous rcond bound (inside hs_group_*: its i, j,
   w, y, bnd, NN; X its unroll switch; W its lane count): y := M^-1 e forward with
   M's entries |E| (E an expression in i, j, w: the entry coupling y_i into y_j) below
   the diagonal, each y_j then scaled by POST; backward, y_j scaled by PRE before and
   POST after the sum of |E| y_i over i > j, bnd the largest y_j.  (A scale of 1 is
   exact.)  Both sweeps, like the substitutions below, are written column by column: a
   finished y_i is added into every y_j it reaches, so that no sum runs through one
   slot (a chain of dependent loads and stores when the order is a run-time value). */
#define HS_BOUND_FORWARD(X, W, E, POST)                                                 \
    HS_U(X) for (j = 0; j < NN; j++)                                                    \
        HS_LANES for (w = 0; w < W; w++) y[j][w] = 1;                                   \
    HS_U(X) for (i = 0; i < NN; i++) {                                                  \
        j = i;                                                                          \
        HS_LANES for (w = 0; w < W; w++) y[i][w] *= (POST);                             \
        HS_U(X) for (j = i + 1; j < NN; j++)                                            \
            HS_LANES for (w = 0; w < W; w++) y[j][w] += (E) * y[i][w];                  \
    }
#define HS_BOUND_BACKWARD(X, T, W, E, PRE, POST)                                        \
    HS_LANES for (w = 0; w < W; w++) bnd[w] = 0;                                        \
    HS_U(X) for (j = 0; j < NN; j++)                                                    \
        HS_LANES for (w = 0; w < W; w++) y[j][w] *= (PRE);                              \
    HS_U(X) for (i = NN - 1; i >= 0; i--) {                                             \
        j = i;                                                                          \
        HS_LANES for (w = 0; w < W; w++) {                                              \
            y[i][w] *= (POST);                                                          \
            T v = y[i][w], u = bnd[w];                                                  \
            bnd[w] = v > u ? v : u;                                                     \
        }                                                                               \
        HS_U(X) for (j = 0; j < i; j++)                                                 \
            HS_LANES for (w = 0; w < W; w++) y[j][w] += (E) * y[i][w];                  \
    }

/* The substitutions with the group's factors on one column of right-hand sides,
   V(r) naming row r's lane block (inside hs_group_*: its i, j, w, A, NN; X its
   unroll switch): the unit lower triangle (L D L^T's L or P op(A) = L U's L), then
   D^-1 L^T (reciprocal D on A's diagonal) or U (reciprocal pivots there). */
#define HS_UNIT_L_FORWARD(X, W, V)                                                      \
    HS_U(X) for (j = 0; j < NN; j++)                                                    \
        HS_U(X) for (i = j + 1; i < NN; i++)                                            \
            HS_LANES for (w = 0; w < W; w++) V(i)[w] -= A[i][j][w] * V(j)[w];
#define HS_LDLT_BACKWARD(X, W, V)                                                       \
    HS_U(X) for (j = 0; j < NN; j++)                                                    \
        HS_LANES for (w = 0; w < W; w++) V(j)[w] *= A[j][j][w];                         \
    HS_U(X) for (i = NN - 1; i > 0; i--)                                                \
        HS_U(X) for (j = 0; j < i; j++)                                                 \
            HS_LANES for (w = 0; w < W; w++) V(j)[w] -= A[i][j][w] * V(i)[w];
#define HS_LU_BACKWARD(X, W, V)                                                         \
    HS_U(X) for (i = NN - 1; i >= 0; i--) {                                             \
        HS_LANES for (w = 0; w < W; w++) V(i)[w] *= A[i][i][w];                         \
        HS_U(X) for (j = 0; j < i; j++)                                                 \
            HS_LANES for (w = 0; w < W; w++) V(j)[w] -= A[j][i][w] * V(i)[w];           \
    }
/* The lane blocks of column c of B, and of the replayed column bb. */
#define HS_COL_B(r) B[r][c]
#define HS_COL_BB(r) bb[r]

/* Load the group's op(A) into A[i][j][w] (inside hs_group_*).  A full group of
   C-contiguous slices (op(A) = A or A^T) is read at constant offsets from one pointer,
   so that the compiler can keep the loads in registers; any other group slice by slice
   through the strides, its unused lanes the identity. */
#define HS_LOAD_A(X, T, W)                                                              \
    if (lanes == W && as == (ptrdiff_t)(NN * NN * sizeof(T))                            \
            && r1 == (ptrdiff_t)sizeof(T) && r0 == (ptrdiff_t)(NN * sizeof(T))) {       \
        const T *p = (const T *)a0;                                                     \
        HS_U(X) for (i = 0; i < NN; i++)                                                \
            HS_U(X) for (j = 0; j < NN; j++)                                            \
                HS_LANES for (w = 0; w < W; w++) A[i][j][w] = p[(w * NN + i) * NN + j]; \
    } else if (lanes == W && as == (ptrdiff_t)(NN * NN * sizeof(T))                     \
            && r0 == (ptrdiff_t)sizeof(T) && r1 == (ptrdiff_t)(NN * sizeof(T))) {       \
        const T *p = (const T *)a0;                                                     \
        HS_U(X) for (i = 0; i < NN; i++)                                                \
            HS_U(X) for (j = 0; j < NN; j++)                                            \
                HS_LANES for (w = 0; w < W; w++) A[i][j][w] = p[(w * NN + j) * NN + i]; \
    } else {                                                                            \
        for (w = 0; w < lanes; w++) {                                                   \
            const char *p = a0 + w * as;                                                \
            HS_U(X) for (i = 0; i < NN; i++)                                            \
                HS_U(X) for (j = 0; j < NN; j++)                                        \
                    A[i][j][w] = *(const T *)(p + i * r0 + j * r1);                     \
        }                                                                               \
        for (w = lanes; w < W; w++)                                                     \
            HS_U(X) for (i = 0; i < NN; i++)                                            \
                HS_U(X) for (j = 0; j < NN; j++)                                        \
                    A[i][j][w] = (T)(i == j);                                           \
    }

/* hs_group_<SUF><X>: one group of up to W slices, one lane each, in [row][column][lane]
   scratch blocks on the stack; NN (the order) and KK (the right-hand sides eliminated
   along with A, the first KK of b's k) are compile-time constants where the caller
   passes them, X its unroll switch (HS_U).  Columns KK..k-1 of b, if any, are solved
   afterwards with the group's factors, one at a time (the pivots kept per step).
   Every loop over w is a fixed-width loop of arithmetic and selects (no branch on a
   lane), which the compiler vectorises; branches depend on the group only. */
#define HS_DEFINE_GROUP(SUF, T, W, ABS, X)                                              \
HS_INLINE void hs_group_##SUF##X(const int NN, const int KK, const int k, const int lanes, \
        const int trans, const char *a0, ptrdiff_t as, ptrdiff_t r0, ptrdiff_t r1,      \
        const char *b0, ptrdiff_t bs, ptrdiff_t q0, ptrdiff_t q1, T *x, double tol,     \
        char *done, double *rcond)                                                      \
{                                                                                       \
    T A[HS_DIM(X)][HS_DIM(X)][W], B[HS_DIM(X)][HS_KMAX][W], y[HS_DIM(X)][W];            \
    T l[HS_DIM(X)][W], pa[HS_DIM(X)][W], pb[HS_KMAX][W], oh[HS_DIM(X)][W];              \
    T pv[HS_DIM(X)][W], bb[HS_DIM(X)][W], cs[HS_DIM(X)][W], ns[HS_DIM(X)][W];           \
    T anorm[W], bad[W], spd[W], mx[W], piv[W], s[W], t0[W], rr[W], bnd[W];              \
    double lo[W];                                                                       \
    char ok[W];                                                                         \
    int i, j, c, w, chol, tried;                                                        \
    HS_LOAD_A(X, T, W)                                                                  \
    if (KK == k && lanes == W && bs == (ptrdiff_t)(NN * KK * sizeof(T))                 \
            && q1 == (ptrdiff_t)sizeof(T) && q0 == (ptrdiff_t)(KK * sizeof(T))) {       \
        const T *p = (const T *)b0;                                                     \
        HS_U(X) for (i = 0; i < NN; i++)                                                \
            for (c = 0; c < KK; c++)                                                    \
                HS_LANES for (w = 0; w < W; w++) B[i][c][w] = p[(w * NN + i) * KK + c]; \
    } else {                                                                            \
        for (w = 0; w < lanes; w++) {                                                   \
            const char *p = b0 + w * bs;                                                \
            HS_U(X) for (i = 0; i < NN; i++)                                            \
                for (c = 0; c < KK; c++)                                                \
                    B[i][c][w] = *(const T *)(p + i * q0 + c * q1);                     \
        }                                                                               \
        for (w = lanes; w < W; w++)                                                     \
            HS_U(X) for (i = 0; i < NN; i++)                                            \
                for (c = 0; c < KK; c++)                                                \
                    B[i][c][w] = 0;                                                     \
    }                                                                                   \
    /* ||A||_1 (row sums of the loaded A^T when trans): the column sums cs[j] added up  \
       row after row, so that no sum runs through one slot; finiteness: a sum of        \
       |entries| times 0 is NaN exactly when the sum is not finite (an inf / NaN entry, \
       or a finite slice whose sum overflows: left to the per-slice kernel); symmetric  \
       with a positive diagonal: ns counts each column's mismatches */                  \
    HS_U(X) for (j = 0; j < NN; j++)                                                    \
        HS_LANES for (w = 0; w < W; w++) { cs[j][w] = 0; ns[j][w] = 0; }                \
    HS_U(X) for (i = 0; i < NN; i++)                                                    \
        HS_U(X) for (j = 0; j < NN; j++)                                                \
            HS_LANES for (w = 0; w < W; w++) {                                          \
                T v = A[i][j][w], u = A[j][i][w];                                       \
                cs[j][w] += ABS(trans ? u : v);                                         \
                ns[j][w] += v == u ? 0 : 1;                                             \
            }                                                                           \
    HS_LANES for (w = 0; w < W; w++) { anorm[w] = 0; bad[w] = 0; spd[w] = 1; }          \
    HS_U(X) for (j = 0; j < NN; j++)                                                    \
        HS_LANES for (w = 0; w < W; w++) {                                              \
            T v = cs[j][w], u = anorm[w];                                               \
            anorm[w] = v > u ? v : u;                                                   \
            bad[w] += v * 0;                                                            \
            spd[w] *= A[j][j][w] > 0 && ns[j][w] == 0 ? 1 : 0;                          \
        }                                                                               \
    chol = 1;                                                                           \
    HS_LANES for (w = 0; w < W; w++) chol &= spd[w] != 0;                               \
    tried = chol;                                                                       \
    if (chol) {                                                                         \
        /* L D L^T, no pivoting: reciprocal D on the diagonal, unit L below it */       \
        HS_LANES for (w = 0; w < W; w++) spd[w] = 0;                                    \
        HS_U(X) for (j = 0; j < NN; j++) {                                              \
            HS_LANES for (w = 0; w < W; w++) {                                          \
                T d = A[j][j][w];                                                       \
                spd[w] += d > 0 ? 0 : 1;                                                \
                rr[w] = 1 / (d > 0 ? d : 1);                                            \
                A[j][j][w] = rr[w];                                                     \
            }                                                                           \
            HS_U(X) for (i = j + 1; i < NN; i++)                                        \
                HS_LANES for (w = 0; w < W; w++) l[i][w] = A[i][j][w] * rr[w];          \
            HS_U(X) for (i = j + 1; i < NN; i++)                                        \
                HS_U(X) for (c = j + 1; c <= i; c++)                                    \
                    HS_LANES for (w = 0; w < W; w++)                                    \
                        A[i][c][w] -= l[i][w] * A[c][j][w];                             \
            HS_U(X) for (i = j + 1; i < NN; i++)                                        \
                HS_LANES for (w = 0; w < W; w++) A[i][j][w] = l[i][w];                  \
        }                                                                               \
        for (w = 0; w < lanes; w++) chol &= spd[w] == 0;                                \
    }                                                                                   \
    if (chol) {                                                                         \
        for (c = 0; c < KK; c++) {                                                      \
            HS_UNIT_L_FORWARD(X, W, HS_COL_B)                                           \
            HS_LDLT_BACKWARD(X, W, HS_COL_B)                                            \
        }                                                                               \
        /* ||A^-1||_1 <= max of e^T M(L)^-T |D^-1| M(L)^-1 (M: comparison matrix) */    \
        HS_BOUND_FORWARD(X, W, ABS(A[j][i][w]), 1)                                      \
        HS_BOUND_BACKWARD(X, T, W, ABS(A[i][j][w]), ABS(A[j][j][w]), 1)                 \
    } else {                                                                            \
        if (tried) {  /* a lane is not positive definite: LU for the whole group */     \
            HS_LOAD_A(X, T, W)                                                          \
        }                                                                               \
        /* partial pivoting per lane, all arithmetic and selects on values (a select    \
           that may store a slot's own value back becomes a masked store and a branch   \
           per vector; these stay branch-free): the pivot index by 0/1 steps (exact     \
           for small integers), the largest |entry| so far likewise (within rounding:   \
           the pivot is the column's largest up to a factor 1 + eps).  Unrolled: the    \
           pivot row gathered as a sum weighted by the one-hot choice (HS_GATHER_ROW),  \
           the swap fused into the elimination (row i reads row j where the lane's      \
           pivot is row i), row j written last; run-time order: rows swapped lane by    \
           lane, then the elimination */                                                \
        HS_U(X) for (j = 0; j < NN; j++) {                                              \
            const T dj = (T)j;                                                          \
            HS_LANES for (w = 0; w < W; w++) { mx[w] = ABS(A[j][j][w]); piv[w] = dj; }  \
            HS_U(X) for (i = j + 1; i < NN; i++) {                                      \
                const T di = (T)i;                                                      \
                HS_LANES for (w = 0; w < W; w++) {                                      \
                    T v = ABS(A[i][j][w]), m = mx[w], q = piv[w];                       \
                    T g = v > m ? 1 : 0;                                                \
                    piv[w] = q + g * (di - q);                                          \
                    mx[w] = m + g * (v - m);                                            \
                }                                                                       \
            }                                                                           \
            HS_LANES for (w = 0; w < W; w++) pv[j][w] = piv[w];                         \
            if (X) {  /* unrolled: gathered pivot row, swap fused into the update */    \
                HS_U(X) for (i = j; i < NN; i++) {                                      \
                    const T di = (T)i;                                                  \
                    HS_LANES for (w = 0; w < W; w++) oh[i][w] = piv[w] == di ? 1 : 0;   \
                }                                                                       \
                HS_GATHER_ROW(X, X, W, A, NN, pa)                                       \
                HS_GATHER_ROW(X, 0, W, B, KK, pb)                                       \
                HS_LANES for (w = 0; w < W; w++) {                                      \
                    T p = pa[j][w];                                                     \
                    bad[w] += p == 0 ? 1 : 0;                                           \
                    rr[w] = 1 / (p == 0 ? 1 : p);                                       \
                }                                                                       \
                HS_U(X) for (i = j + 1; i < NN; i++) {                                  \
                    const T di = (T)i;                                                  \
                    HS_U(X) for (c = 0; c < j; c++)                                     \
                        HS_LANES for (w = 0; w < W; w++) {                              \
                            T ai = A[i][c][w], aj = A[j][c][w];                         \
                            A[i][c][w] = piv[w] == di ? aj : ai;                        \
                        }                                                               \
                    HS_LANES for (w = 0; w < W; w++) {                                  \
                        T ai = A[i][j][w], aj = A[j][j][w];                             \
                        t0[w] = (piv[w] == di ? aj : ai) * rr[w];                       \
                        A[i][j][w] = t0[w];                                             \
                    }                                                                   \
                    HS_U(X) for (c = j + 1; c < NN; c++)                                \
                        HS_LANES for (w = 0; w < W; w++) {                              \
                            T ai = A[i][c][w], aj = A[j][c][w];                         \
                            A[i][c][w] = (piv[w] == di ? aj : ai) - t0[w] * pa[c][w];   \
                        }                                                               \
                    for (c = 0; c < KK; c++)                                            \
                        HS_LANES for (w = 0; w < W; w++) {                              \
                            T bi = B[i][c][w], bj = B[j][c][w];                         \
                            B[i][c][w] = (piv[w] == di ? bj : bi) - t0[w] * pb[c][w];   \
                        }                                                               \
                }                                                                       \
                HS_U(X) for (c = 0; c < NN; c++)                                        \
                    HS_LANES for (w = 0; w < W; w++) A[j][c][w] = pa[c][w];             \
                HS_LANES for (w = 0; w < W; w++) A[j][j][w] = rr[w];                    \
                for (c = 0; c < KK; c++)                                                \
                    HS_LANES for (w = 0; w < W; w++) B[j][c][w] = pb[c][w];             \
            } else {  /* run-time order: rows j and piv swapped lane by lane (a         \
                         swap of a row with itself where piv = j), then the update */   \
                for (w = 0; w < W; w++) {                                               \
                    const int p = (int)piv[w];                                          \
                    for (c = 0; c < NN; c++) {                                          \
                        T t = A[j][c][w]; A[j][c][w] = A[p][c][w]; A[p][c][w] = t;      \
                    }                                                                   \
                    for (c = 0; c < KK; c++) {                                          \
                        T t = B[j][c][w]; B[j][c][w] = B[p][c][w]; B[p][c][w] = t;      \
                    }                                                                   \
                }                                                                       \
                HS_LANES for (w = 0; w < W; w++) {                                      \
                    T p = A[j][j][w];                                                   \
                    bad[w] += p == 0 ? 1 : 0;                                           \
                    rr[w] = 1 / (p == 0 ? 1 : p);                                       \
                }                                                                       \
                for (i = j + 1; i < NN; i++) {                                          \
                    HS_LANES for (w = 0; w < W; w++) {                                  \
                        t0[w] = A[i][j][w] * rr[w];                                     \
                        A[i][j][w] = t0[w];                                             \
                    }                                                                   \
                    for (c = j + 1; c < NN; c++)                                        \
                        HS_LANES for (w = 0; w < W; w++) A[i][c][w] -= t0[w] * A[j][c][w]; \
                    for (c = 0; c < KK; c++)                                            \
                        HS_LANES for (w = 0; w < W; w++) B[i][c][w] -= t0[w] * B[j][c][w]; \
                }                                                                       \
                HS_LANES for (w = 0; w < W; w++) A[j][j][w] = rr[w];                    \
            }                                                                           \
        }                                                                               \
        for (c = 0; c < KK; c++)                                                        \
            HS_LU_BACKWARD(X, W, HS_COL_B)                                              \
        /* P op(A) = L U.  ||A^-1||_1 <= max of e^T M(U)^-1 M(L)^-1 (not trans), of     \
           M(U)^-1 M(L)^-1 e (trans: ||op(A)^-1||_inf) */                               \
        if (!trans) {                                                                   \
            HS_BOUND_FORWARD(X, W, ABS(A[i][j][w]), ABS(A[j][j][w]))                    \
            HS_BOUND_BACKWARD(X, T, W, ABS(A[i][j][w]), 1, 1)                           \
        } else {                                                                        \
            HS_BOUND_FORWARD(X, W, ABS(A[j][i][w]), 1)                                  \
            HS_BOUND_BACKWARD(X, T, W, ABS(A[j][i][w]), 1, ABS(A[j][j][w]))             \
        }                                                                               \
    }                                                                                   \
    HS_U(X) for (i = 0; i < NN; i++)                                                    \
        for (c = 0; c < KK; c++)                                                        \
            HS_LANES for (w = 0; w < W; w++) bad[w] += B[i][c][w] * 0;                  \
    for (c = KK; c < k; c++) {  /* the other columns of b, with the group's factors */  \
        for (w = 0; w < lanes; w++) {                                                   \
            const char *p = b0 + w * bs + c * q1;                                       \
            HS_U(X) for (i = 0; i < NN; i++) bb[i][w] = *(const T *)(p + i * q0);       \
        }                                                                               \
        for (w = lanes; w < W; w++)                                                     \
            HS_U(X) for (i = 0; i < NN; i++) bb[i][w] = 0;                              \
        if (!chol)  /* the row interchanges of P, in order (one-hot selects) */         \
            HS_U(X) for (j = 0; j < NN; j++) {                                          \
                HS_LANES for (w = 0; w < W; w++) s[w] = bb[j][w];                       \
                HS_U(X) for (i = j + 1; i < NN; i++) {                                  \
                    const T di = (T)i;                                                  \
                    HS_LANES for (w = 0; w < W; w++) {                                  \
                        T bi = bb[i][w], bj = bb[j][w], g = s[w];                       \
                        s[w] = pv[j][w] == di ? bi : g;                                 \
                        bb[i][w] = pv[j][w] == di ? bj : bi;                            \
                    }                                                                   \
                }                                                                       \
                HS_LANES for (w = 0; w < W; w++) bb[j][w] = s[w];                       \
            }                                                                           \
        HS_UNIT_L_FORWARD(X, W, HS_COL_BB)                                              \
        if (chol) {                                                                     \
            HS_LDLT_BACKWARD(X, W, HS_COL_BB)                                           \
        } else {                                                                        \
            HS_LU_BACKWARD(X, W, HS_COL_BB)                                             \
        }                                                                               \
        HS_U(X) for (i = 0; i < NN; i++)                                                \
            HS_LANES for (w = 0; w < W; w++) bad[w] += bb[i][w] * 0;                    \
        for (w = 0; w < lanes; w++)                                                     \
            HS_U(X) for (i = 0; i < NN; i++) x[(w * NN + i) * k + c] = bb[i][w];        \
    }                                                                                   \
    /* rcond >= lo = 1 / (||A||_1 bnd); settled: finite and lo >= HS_MARGIN tol */      \
    HS_LANES for (w = 0; w < W; w++) {                                                  \
        double an = (double)anorm[w], bd = (double)bnd[w];                              \
        int good = bad[w] == 0 && an > 0 && bd > 0;                                     \
        double v = (1.0 / (good ? an : 1.0)) / (good ? bd : 1.0);                       \
        lo[w] = good ? v : 0.0;                                                         \
        ok[w] = good && lo[w] >= HS_MARGIN * tol;                                       \
    }                                                                                   \
    for (w = 0; w < lanes; w++) { rcond[w] = lo[w]; done[w] = ok[w]; }                  \
    if (lanes == W && KK == k) {                                                        \
        HS_U(X) for (i = 0; i < NN; i++)                                                \
            for (c = 0; c < KK; c++)                                                    \
                HS_LANES for (w = 0; w < W; w++) x[(w * NN + i) * KK + c] = B[i][c][w]; \
    } else {                                                                            \
        for (w = 0; w < lanes; w++)                                                     \
            HS_U(X) for (i = 0; i < NN; i++)                                            \
                for (c = 0; c < KK; c++) x[(w * NN + i) * k + c] = B[i][c][w];          \
    }                                                                                   \
}

/* One case of the order switch in hs_compact_*: the unrolled group kernel with NN a
   constant, the first column of b eliminated along with A (KK = 1). */
#define HS_CASE(SUF, N)                                                                 \
    case N:                                                                             \
        hs_group_##SUF##1(N, 1, k, lanes, trans, ap, as, r0, r1, bp, bs, bs0, bs1, xp,  \
                          tol, done + s, rcond + s);                                    \
        break;

#define HS_DEFINE(SUF, T, W, ABS)                                                       \
HS_DEFINE_GROUP(SUF, T, W, ABS, 1)                                                      \
HS_DEFINE_GROUP(SUF, T, W, ABS, 0)                                                      \
HS_CLONES void hs_compact_##SUF(int n, int k, ptrdiff_t s0, ptrdiff_t s1, int trans,    \
        const char *a, ptrdiff_t as, ptrdiff_t as0, ptrdiff_t as1, const char *b,       \
        ptrdiff_t bs, ptrdiff_t bs0, ptrdiff_t bs1, T *x, double tol, char *done,       \
        double *rcond)                                                                  \
{                                                                                       \
    ptrdiff_t s, r0 = trans ? as1 : as0, r1 = trans ? as0 : as1;                        \
    for (s = s0; s < s1; s += W) {                                                      \
        int lanes = s1 - s < W ? (int)(s1 - s) : W;                                     \
        const char *ap = a + s * as, *bp = b + s * bs;                                  \
        T *xp = x + s * n * k;                                                          \
        switch (n) {                                                                    \
        HS_CASES(SUF)                                                                   \
        default: hs_group_##SUF##0(n, k, k, lanes, trans, ap, as, r0, r1, bp, bs, bs0,  \
                                   bs1, xp, tol, done + s, rcond + s);                  \
        }                                                                               \
    }                                                                                   \
}

#define HS_CASES(SUF) HS_CASE(SUF, 1) HS_CASE(SUF, 2) HS_CASE(SUF, 3) HS_CASE(SUF, 4)   \
                      HS_CASE(SUF, 5) HS_CASE(SUF, 6) HS_CASE(SUF, 7) HS_CASE(SUF, 8)

HS_DEFINE(d, double, HS_LANES_D, fabs)
HS_DEFINE(f, float, HS_LANES_F, fabsf)
    """
    int HS_NMAX
    int HS_KMAX
    int HS_LANES_D
    int HS_LANES_F
    void hs_compact_d(int n, int k, Py_ssize_t s0, Py_ssize_t s1, int trans,
                      const char *a, Py_ssize_t as_, Py_ssize_t as0, Py_ssize_t as1,
                      const char *b, Py_ssize_t bs, Py_ssize_t bs0, Py_ssize_t bs1,
                      double *x, double tol, char *done, double *rcond) noexcept nogil
    void hs_compact_f(int n, int k, Py_ssize_t s0, Py_ssize_t s1, int trans,
                      const char *a, Py_ssize_t as_, Py_ssize_t as0, Py_ssize_t as1,
                      const char *b, Py_ssize_t bs, Py_ssize_t bs0, Py_ssize_t bs1,
                      float *x, double tol, char *done, double *rcond) noexcept nogil

#: Largest order and number of right-hand sides the compact kernels take.
COMPACT_N = HS_NMAX
COMPACT_K = HS_KMAX
#: Slices per group (one SIMD lane each) for float64 / float32.
LANES_F64 = HS_LANES_D
LANES_F32 = HS_LANES_F
LANE_COUNT = HS_LANES_D

# Slices per task of the parallel loop: whole groups, at least this many flops of the
# per-slice count (tuning batch_par_grain: a thread is started per that much work).
from hybridsolve._tuning import value as _tuned
cdef double PAR_GRAIN = _tuned("batch_par_grain")


def solve_compact(cnp.ndarray a, cnp.ndarray b, bint transposed, double rcond_tol,
                  int nthreads=1, cnp.ndarray x=None, cnp.ndarray rcond=None):
    """solve_compact(a, b, transposed, rcond_tol, nthreads=1, x=None, rcond=None) -> (x, done, rcond)

    Solve ``a[s] @ x[s] = b[s]`` (``a[s].T`` when ``transposed``) W slices at a time.

    Parameters
    ----------
    a : ndarray (m, n, n), float32 or float64, 1 <= n <= COMPACT_N, any strides
        (broadcast zero strides included).  Never modified.
    b : ndarray (m, n, k), same dtype, k <= COMPACT_K, any strides.  Never modified.
    transposed : bool
    rcond_tol : float > 0
        The caller's ill-conditioning threshold (the front door's eps).
    nthreads : int
        At most this many OpenMP threads (the caller's thread policy); fewer when the
        batch is too small to pay for them (tuning ``batch_par_grain``).
    x, rcond : optional outputs, C-contiguous (m, n, k) of a's dtype / (m,) float64
        (e.g. views of a larger result); new arrays when None.

    Returns
    -------
    x : ndarray (m, n, k), C-contiguous.
    done : ndarray (m,) uint8: 1 where the slice is settled -- x solved, finite, and
        rcond[s] a rigorous lower bound >= 4 rcond_tol of its reciprocal 1-norm condition
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
    cdef int n, k, w, nt
    cdef Py_ssize_t m, per, ntask, t, s0, s1
    cdef cnp.ndarray done
    cdef char *ap
    cdef char *bp
    cdef char *xp
    cdef char *dp
    cdef double *rp
    if cnp.PyArray_NDIM(a) != 3 or cnp.PyArray_NDIM(b) != 3:
        raise ValueError("solve_compact: a must be (m, n, n) and b (m, n, k)")
    ad = cnp.PyArray_DIMS(a)
    bd = cnp.PyArray_DIMS(b)
    if ad[1] != ad[2] or bd[0] != ad[0] or bd[1] != ad[1]:
        raise ValueError("solve_compact: a must be (m, n, n) and b (m, n, k)")
    if ad[1] < 1 or ad[1] > HS_NMAX or bd[2] > HS_KMAX:
        raise ValueError("solve_compact: needs 1 <= n <= COMPACT_N and k <= COMPACT_K")
    if cnp.PyArray_TYPE(b) != typ or not (typ == cnp.NPY_FLOAT or typ == cnp.NPY_DOUBLE):
        raise TypeError("solve_compact: a and b must both be float32 or both float64")
    if not rcond_tol > 0:
        raise ValueError("solve_compact: rcond_tol must be > 0")
    m = ad[0]
    n = <int>ad[1]
    k = <int>bd[2]
    if x is None:
        x = cnp.PyArray_EMPTY(3, bd, typ, 0)
    elif (cnp.PyArray_TYPE(x) != typ or cnp.PyArray_NDIM(x) != 3
          or not cnp.PyArray_IS_C_CONTIGUOUS(x) or cnp.PyArray_DIMS(x)[0] != m
          or cnp.PyArray_DIMS(x)[1] != n or cnp.PyArray_DIMS(x)[2] != k):
        raise ValueError("solve_compact: x must be C-contiguous, b's shape, a's dtype")
    dims[0] = m
    if rcond is None:
        rcond = cnp.PyArray_EMPTY(1, dims, cnp.NPY_DOUBLE, 0)
    elif (cnp.PyArray_TYPE(rcond) != cnp.NPY_DOUBLE or cnp.PyArray_NDIM(rcond) != 1
          or cnp.PyArray_DIMS(rcond)[0] != m or not cnp.PyArray_IS_C_CONTIGUOUS(rcond)):
        raise ValueError("solve_compact: rcond must be C-contiguous float64 (m,)")
    done = cnp.PyArray_ZEROS(1, dims, cnp.NPY_UINT8, 0)
    if m == 0 or k == 0:
        done[...] = 1
        rcond[...] = 1.0
        return x, done, rcond
    w = HS_LANES_F if typ == cnp.NPY_FLOAT else HS_LANES_D
    # tasks of whole groups, each about PAR_GRAIN flops (solve_batched's per-slice count)
    per = <Py_ssize_t>(PAR_GRAIN / (n * n * n / 3.0 + 2.0 * n * n * (k + 4)))
    per = max(w, (per + w - 1) // w * w)
    ntask = (m + per - 1) // per
    nt = <int>max(1, min(<Py_ssize_t>nthreads, ntask))
    ast = cnp.PyArray_STRIDES(a)
    bst = cnp.PyArray_STRIDES(b)
    ap = cnp.PyArray_BYTES(a)
    bp = cnp.PyArray_BYTES(b)
    xp = cnp.PyArray_BYTES(x)
    dp = <char *>cnp.PyArray_DATA(done)
    rp = <double *>cnp.PyArray_DATA(rcond)
    with nogil:
        if nt == 1:
            if typ == cnp.NPY_FLOAT:
                hs_compact_f(n, k, 0, m, transposed, ap, ast[0], ast[1], ast[2], bp, bst[0],
                             bst[1], bst[2], <float *>xp, rcond_tol, dp, rp)
            else:
                hs_compact_d(n, k, 0, m, transposed, ap, ast[0], ast[1], ast[2], bp, bst[0],
                             bst[1], bst[2], <double *>xp, rcond_tol, dp, rp)
        else:
            for t in prange(ntask, num_threads=nt, schedule="dynamic"):
                s0 = t * per
                s1 = min(s0 + per, m)
                if typ == cnp.NPY_FLOAT:
                    hs_compact_f(n, k, s0, s1, transposed, ap, ast[0], ast[1], ast[2], bp,
                                 bst[0], bst[1], bst[2], <float *>xp, rcond_tol, dp, rp)
                else:
                    hs_compact_d(n, k, s0, s1, transposed, ap, ast[0], ast[1], ast[2], bp,
                                 bst[0], bst[1], bst[2], <double *>xp, rcond_tol, dp, rp)
    return x, done, rcond
