# cython: language_level=3
"""Sparse kernels: the O(nnz) inspection pass over compressed (CSR/CSC) arrays, the
dense -> compressed conversion, and sparse triangular substitution.

All three work on *compressed* arrays ``(indptr, indices, data)`` of an n x n matrix M:
``indptr[i]:indptr[i+1]`` are the stored entries of line i of M (a row for CSR; for CSC
the arrays are the CSR arrays of A^T, and the caller swaps the meaning of the results).
Indices must be sorted within each line, without duplicates (scipy's canonical format).

Kernels are ``noexcept nogil`` and fused over ``lapack_t`` x ``index_t``; each has a small
``def`` wrapper so tests can call every specialisation.
"""
from libc.math cimport isfinite
from libc.stdint cimport int32_t, int64_t
from libc.stdlib cimport calloc, free

import numpy as np

from hybridsolve._kernels._lapack cimport lapack_t, absval, conj, realpart

ctypedef fused index_t:
    int32_t
    int64_t


cdef inline bint _finite(lapack_t x) noexcept nogil:
    if lapack_t is float or lapack_t is double:
        return isfinite(x)
    else:
        return isfinite(x.real) and isfinite(x.imag)


cdef inline bint _is_real(lapack_t x) noexcept nogil:
    if lapack_t is float or lapack_t is double:
        return True
    else:
        return x.imag == 0


# ------------------------------------------------------------------ inspection

cdef int inspect_compressed(Py_ssize_t n, const index_t *indptr, const index_t *indices,
                            const lapack_t *data, int64_t *nxt, double *colsum,
                            int64_t *out_i, double *out_d) noexcept nogil:
    """One pass over the stored entries of M (compressed by lines).

    ``nxt`` (n int64, scratch) and ``colsum`` (n doubles, zeroed) are work arrays.
    Results: out_i = [finite, diag_real_positive, lower_bw (max i-j), upper_bw (max j-i),
    nnz (nonzero values), symmetric, hermitian, diag_nonzero, pattern_symmetric,
    offdiag_nonpositive (every stored off-diagonal value real and <= 0)];
    out_d = [max line sum of |m_ij| (inf-norm of M), max column sum (1-norm of M)].  Returns 0, or -1 if the
    indices are out of range / not sorted (caller canonicalises first).
    """
    cdef Py_ssize_t i, j, p, q, end
    cdef int64_t nnz = 0, lbw = 0, ubw = 0
    cdef bint finite = True, diag_pos = True, diag_nz = True
    cdef bint pattern = True, sym = True, herm = True, offneg = True
    cdef bint has_diag
    cdef lapack_t v, w
    cdef double a, linesum, maxline = 0.0, maxcol = 0.0
    cdef Py_ssize_t prev
    for i in range(n):
        nxt[i] = indptr[i]
    for i in range(n):
        linesum = 0.0
        has_diag = False
        prev = -1
        end = indptr[i + 1]
        for p in range(indptr[i], end):
            j = indices[p]
            if j <= prev or j >= n or j < 0:
                return -1
            prev = j
            v = data[p]
            if finite and not _finite(v):
                finite = False
            if v != 0:
                nnz += 1
                a = absval(v)
                linesum += a
                colsum[j] += a
                if i - j > lbw:
                    lbw = i - j
                if j - i > ubw:
                    ubw = j - i
            if j == i:
                has_diag = v != 0
                if not (_is_real(v) and realpart(v) > 0):
                    diag_pos = False
            elif offneg and not (_is_real(v) and realpart(v) <= 0):
                offneg = False
            # symmetry: entry (i, j) consumes (j, i), which must sit at nxt[j]
            if pattern:
                q = nxt[j]
                if q < indptr[j + 1] and indices[q] == i:
                    nxt[j] = q + 1
                    w = data[q]
                    if sym and v != w:
                        sym = False
                    if herm and v != conj(w):
                        herm = False
                else:
                    pattern = False
                    sym = False
                    herm = False
        if not has_diag:
            diag_nz = False
            diag_pos = False
        if linesum > maxline:
            maxline = linesum
    for j in range(n):
        if colsum[j] > maxcol:
            maxcol = colsum[j]
    out_i[0] = finite
    out_i[1] = diag_pos
    out_i[2] = lbw
    out_i[3] = ubw
    out_i[4] = nnz
    out_i[5] = sym
    out_i[6] = herm
    out_i[7] = diag_nz
    out_i[8] = pattern
    out_i[9] = offneg
    out_d[0] = maxline
    out_d[1] = maxcol
    return 0


def inspect(const index_t[::1] indptr, const index_t[::1] indices,
            const lapack_t[::1] data):
    """Inspect compressed arrays of an n x n matrix M (n = len(indptr) - 1), rows as lines.

    Returns a dict: finite, diag_real_positive, diag_nonzero, lower_bandwidth,
    upper_bandwidth (of M), nnz, symmetric, hermitian, pattern_symmetric (stored
    pattern, explicit zeros count as stored), offdiag_nonpositive (every stored
    off-diagonal value real and <= 0: a Z-matrix), norm_lines (max line |sum|),
    norm_cols (max column |sum|).  Raises ValueError on unsorted/out-of-range indices.
    """
    cdef Py_ssize_t n = indptr.shape[0] - 1
    cdef int64_t out_i[10]
    cdef double out_d[2]
    cdef int rc
    if n < 0:
        raise ValueError("indptr must not be empty")
    if indptr[n] > indices.shape[0] or indptr[n] > data.shape[0]:
        raise ValueError("indptr does not match indices/data")
    nxt = np.empty(max(n, 1), dtype=np.int64)
    colsum = np.zeros(max(n, 1), dtype=np.float64)
    cdef int64_t[::1] nxt_v = nxt
    cdef double[::1] col_v = colsum
    cdef const index_t *ip = &indptr[0]
    cdef const index_t *ix = &indices[0] if indices.shape[0] else NULL
    cdef const lapack_t *dp = &data[0] if data.shape[0] else NULL
    with nogil:
        rc = inspect_compressed(n, ip, ix, dp, &nxt_v[0], &col_v[0], out_i, out_d)
    if rc != 0:
        raise ValueError("compressed indices must be sorted, unique and in range")
    return {
        "finite": bool(out_i[0]), "diag_real_positive": bool(out_i[1]) and n > 0,
        "lower_bandwidth": int(out_i[2]), "upper_bandwidth": int(out_i[3]),
        "nnz": int(out_i[4]), "symmetric": bool(out_i[5]), "hermitian": bool(out_i[6]),
        "diag_nonzero": bool(out_i[7]), "norm_lines": float(out_d[0]),
        "norm_cols": float(out_d[1]), "pattern_symmetric": bool(out_i[8]),
        "offdiag_nonpositive": bool(out_i[9]),
    }


# ------------------------------------------------------------------ dense -> compressed

cdef inline bint _block_any(const lapack_t *v, Py_ssize_t k) noexcept nogil:
    """Any nonzero among v[0:k]: a branch-free OR over the block (vectorises)."""
    cdef Py_ssize_t t
    cdef int acc = 0
    for t in range(k):
        acc |= v[t] != 0
    return acc != 0


cdef enum:
    _BLOCK = 32


cdef int64_t dense_to_compressed_fill(Py_ssize_t n, Py_ssize_t m, const lapack_t *a,
                                      Py_ssize_t lda, int64_t cap, index_t *indptr,
                                      index_t *indices, lapack_t *data) noexcept nogil:
    """One pass over the F-ordered m x n buffer ``a``: write its nonzeros compressed by
    columns.  Returns nnz, or -1 as soon as more than ``cap`` nonzeros are found.
    All-zero blocks of _BLOCK entries are skipped with one branch."""
    cdef Py_ssize_t i, i0, i1, j
    cdef int64_t k = 0
    cdef const lapack_t *col
    cdef lapack_t v
    indptr[0] = 0
    for j in range(n):
        col = a + j * lda
        i0 = 0
        while i0 < m:
            i1 = i0 + _BLOCK if i0 + _BLOCK < m else m
            if _block_any(col + i0, i1 - i0):
                for i in range(i0, i1):
                    v = col[i]
                    if v != 0:
                        if k >= cap:
                            return -1
                        indices[k] = <index_t>i
                        data[k] = v
                        k += 1
            i0 = i1
        indptr[j + 1] = <index_t>k
    return k


cdef int64_t dense_count_nonzero(Py_ssize_t n, Py_ssize_t m, const lapack_t *a,
                                 Py_ssize_t lda) noexcept nogil:
    cdef Py_ssize_t i, j
    cdef int64_t k = 0
    cdef const lapack_t *col
    for j in range(n):
        col = a + j * lda
        for i in range(m):
            k += col[i] != 0
    return k


def _fill(const lapack_t[::1, :] a, index_t[::1] indptr, index_t[::1] indices,
          lapack_t[::1] data):
    cdef int64_t k
    cdef Py_ssize_t m = a.shape[0], n = a.shape[1]
    cdef const lapack_t *ap = &a[0, 0] if (m and n) else NULL
    cdef index_t *ix = &indices[0] if indices.shape[0] else NULL
    cdef lapack_t *dp = &data[0] if data.shape[0] else NULL
    with nogil:
        k = dense_to_compressed_fill(n, m, ap, m, indices.shape[0], &indptr[0], ix, dp)
    return k


def _count(const lapack_t[::1, :] a):
    cdef int64_t k
    cdef Py_ssize_t m = a.shape[0], n = a.shape[1]
    if m == 0 or n == 0:
        return 0
    with nogil:
        k = dense_count_nonzero(n, m, &a[0, 0], m)
    return k


def dense_to_compressed(a, nnz_hint=None):
    """Convert an F-contiguous 2-D array (float32/64, complex64/128) to compressed-by-
    columns arrays ``(data, indices, indptr)`` (i.e. CSC of ``a``; CSR of ``a.T``).

    With ``nnz_hint`` (an upper bound, e.g. from the dense inspection) this is one pass;
    without it, or if the hint was too small, a counting pass comes first.
    Index arrays are int32 when nnz and n fit, else int64.
    """
    a = np.asarray(a)
    if a.ndim != 2 or not a.flags.f_contiguous:
        raise ValueError("dense_to_compressed needs an F-contiguous 2-D array")
    m, n = a.shape
    if nnz_hint is None:
        cap = _count(a)
    else:
        cap = min(int(nnz_hint), m * n)
    for attempt in range(2):
        big = max(cap, m, n) >= 2**31 - 1
        idx = np.int64 if big else np.int32
        indptr = np.empty(n + 1, dtype=idx)
        indices = np.empty(cap, dtype=idx)
        data = np.empty(cap, dtype=a.dtype)
        k = _fill(a, indptr, indices, data)
        if k >= 0:
            if k < cap:
                indices = indices[:k].copy()
                data = data[:k].copy()
            return data, indices, indptr
        cap = _count(a)
    raise AssertionError("unreachable")


# ------------------------------------------------------------------ triangular solve

cdef int tri_compressed(bint by_rows, Py_ssize_t n, const index_t *indptr,
                        const index_t *indices, const lapack_t *data, bint lower,
                        bint conjugate, lapack_t *b, Py_ssize_t nrhs,
                        Py_ssize_t ldb) noexcept nogil:
    """Solve T x = b in place, T triangular (``lower``; ``conjugate``: conj(T)) given
    compressed by ROWS (``by_rows``, dot-product form) or by COLUMNS (axpy form); line k
    is row k or column k.  Entries on the wrong side of the diagonal are ignored.
    Returns 0, or k+1 when the diagonal entry of line k is missing or zero."""
    cdef Py_ssize_t i, kk, k, p, r
    cdef lapack_t s, d, v, xk
    cdef lapack_t *x
    for r in range(nrhs):
        x = b + r * ldb
        for kk in range(n):
            k = kk if lower else n - 1 - kk
            s = x[k]
            d = 0
            for p in range(indptr[k], indptr[k + 1]):
                i = indices[p]
                if i == k:
                    d = data[p]
                    if not by_rows:
                        break
                elif by_rows and (i < k) == lower:
                    v = data[p]
                    if conjugate:
                        v = conj(v)
                    s = s - v * x[i]
            if conjugate:
                d = conj(d)
            if d == 0:
                return <int>(k + 1)
            xk = s / d
            x[k] = xk
            if by_rows or xk == 0:
                continue
            for p in range(indptr[k], indptr[k + 1]):  # by columns: x -= T[:, k] x_k
                i = indices[p]
                if (i > k) == lower and i != k:
                    v = data[p]
                    if conjugate:
                        v = conj(v)
                    x[i] = x[i] - v * xk
    return 0


def tri_solve_compressed(const index_t[::1] indptr, const index_t[::1] indices,
                         const lapack_t[::1] data, lapack_t[::1, :] b, bint lower,
                         bint by_rows, bint conjugate=False):
    """Solve T X = B in place in ``b`` (F-ordered n x k); T is triangular (``lower``)
    and given by compressed arrays, by rows (CSR) if ``by_rows`` else by columns (CSC);
    ``conjugate`` uses conj(T).  Returns LAPACK-style info (i+1: zero/missing pivot)."""
    cdef Py_ssize_t n = indptr.shape[0] - 1
    cdef int info
    if b.shape[0] != n:
        raise ValueError("b has the wrong number of rows")
    if n == 0 or b.shape[1] == 0:
        return 0
    cdef const index_t *ix = &indices[0] if indices.shape[0] else NULL
    cdef const lapack_t *dp = &data[0] if data.shape[0] else NULL
    with nogil:
        info = tri_compressed(by_rows, n, &indptr[0], ix, dp, lower, conjugate, &b[0, 0],
                              b.shape[1], b.shape[0])
    return info
