# cython: language_level=3
# distutils: extra_compile_args = -fno-math-errno
# (the moduli of complex entries need sqrt; with errno semantics gcc keeps every sqrt
# scalar behind a branch and a libm call.  Nothing here reads errno.  A
# `#pragma GCC optimize` does not work for this flag, the command-line option does.
# Measured against the fused loop below, a memcpy-then-rescan variant was ~1.5x
# slower on this (memory-bound, shared) machine, so the copy stays fused.)
"""The inspection pass: ONE sweep over A, fused with the copy the in-place kernels need.

Everything here works on ``M``, the column-major view of the data: ``M = A`` for an
F-ordered (or strided) A and ``M = A^T`` for a C-ordered A, so the sweep always runs in
memory order.  Symmetry, Hermitian-ness, the positive diagonal and ``nnz`` do not care
about the transpose; the bandwidths swap and ``||A||_1`` (max column sum of A) is the max
*row* sum of ``M`` when ``M = A^T`` -- the Python layer (hybridsolve._inspect) maps back.

Per column of ``M`` the sweep copies, sums moduli (column sums, or row sums into a
vector when transposed -- that form vectorises), counts nonzeros, and scans for the
bandwidth only outside the band found so far (O(1) per column for a dense matrix).  The
symmetry test runs first and stops after the first column holding a mismatch, which for
a general matrix is the first one.

Finiteness costs nothing extra: a NaN or inf makes its column/row modulus sum non-finite;
only then (or when the sum merely overflowed) is an exact per-element test run.
"""
from libc.math cimport sqrt, fabs, isfinite
from libc.stdlib cimport calloc, free
from libc.string cimport memcpy
from libc.stdint cimport uint32_t, uint64_t

cimport numpy as cnp
import numpy as np
from hybridsolve._kernels._lapack cimport lapack_t

cnp.import_array()

from hybridsolve._tuning import value as _tuned

cdef enum:
    BLOCK = 32   # tile edge of the blockwise transposed passes

# symmetry test: panel order above this n (hybridsolve._tuning inspect_panels_from_n)
cdef Py_ssize_t _PANELS_FROM_N = min(_tuned("inspect_panels_from_n"), 2 ** 62)


cdef struct Found:
    int symmetric
    int hermitian
    int diagpos
    int lower          # lower bandwidth of M
    int upper          # upper bandwidth of M
    Py_ssize_t nnz
    int nnz_exact      # 0: counting stopped once nnz passed the caller's limit
    double norm1       # ||A||_1 (already mapped through the transpose)


cdef inline double _mag(lapack_t x) noexcept nogil:
    """|x|; for complex the plain sqrt(re^2 + im^2) (callers re-check over/underflow)."""
    cdef double re, im
    if lapack_t is float or lapack_t is double:
        return fabs(x)
    else:
        re = x.real
        im = x.imag
        return sqrt(re * re + im * im)


cdef inline bint _nonzero(lapack_t x) noexcept nogil:
    if lapack_t is float or lapack_t is double:
        return x != 0
    else:
        return (x.real != 0) | (x.imag != 0)


cdef void _symmetry(const lapack_t *m, Py_ssize_t rs, Py_ssize_t cs, Py_ssize_t n,
                    int *sym, int *her) noexcept nogil:
    """M == M^T? M == M^H?  Column j's strict lower part (contiguous) against row j
    (one strided stream), stopping (in chunks of 16) at the first mismatch.

    Measured (n = 1000..3000, float64, 2 cores, min of 15-25 runs): this
    two-stream order (scipy.linalg.issymmetric's) cost ~1-2 copies of A, the 32x32 /
    64x64 tiled order ~2-3 copies -- the tiles keep 32+ strided streams in flight,
    while here the row walk is one constant-stride stream whose cache lines the next
    column reuses from L2.  For a general matrix the first column already differs, so
    the test costs O(n)."""
    cdef Py_ssize_t i, j, i0, i1
    cdef int s = 1, h = 1
    cdef lapack_t x, y
    cdef const lapack_t *lower
    cdef const lapack_t *upper
    if lapack_t is floatcomplex or lapack_t is doublecomplex:
        for i in range(n):
            if m[i * rs + i * cs].imag != 0:
                h = 0
                break
    for j in range(n):
        lower = m + j * cs          # M[i, j] = lower[i * rs]
        upper = m + j * rs          # M[j, i] = upper[i * cs]
        if lapack_t is float or lapack_t is double:
            # in chunks of 16, so a general matrix stops after ~16 strided reads
            i0 = j + 1
            while i0 < n and s:
                i1 = i0 + 16 if i0 + 16 < n else n
                if rs == 1:
                    for i in range(i0, i1):
                        s &= lower[i] == upper[i * cs]
                else:
                    for i in range(i0, i1):
                        s &= lower[i * rs] == upper[i * cs]
                i0 = i1
            if not s:
                break
        else:
            i0 = j + 1
            while i0 < n and (s or h):
                i1 = i0 + 16 if i0 + 16 < n else n
                for i in range(i0, i1):
                    x = lower[i * rs]
                    y = upper[i * cs]
                    s &= (x.real == y.real) & (x.imag == y.imag)
                    h &= (x.real == y.real) & (x.imag == -y.imag)
                i0 = i1
            if not s and not h:
                break
    sym[0] = s
    if lapack_t is float or lapack_t is double:
        her[0] = s
    else:
        her[0] = h


cdef void _symmetry_panels(const lapack_t *m, Py_ssize_t cs, Py_ssize_t n,
                           int *sym, int *her, Py_ssize_t PB=0) noexcept nogil:
    """M == M^T? M == M^H?  For M with contiguous columns: panels of PB columns; for
    each row i below the panel's top, the panel's entries M[i, jb:je] (PB sequential
    column streams) against M[jb:je, i] (contiguous: whole cache lines of column i),
    stopping after the row holding the first mismatch.  Every cache line is used whole
    when read, so no reuse through L2 is needed (the column-by-row-walk order of
    ``_symmetry`` thrashes the caches when the column stride is a power of two)."""
    cdef Py_ssize_t jb, je, i, j, jm
    if PB <= 0:
        PB = 256 // sizeof(lapack_t)
    cdef int s = 1, h = 1
    cdef lapack_t x, y
    cdef const lapack_t *strip
    if lapack_t is floatcomplex or lapack_t is doublecomplex:
        for i in range(n):
            if m[i + i * cs].imag != 0:
                h = 0
                break
    else:
        h = 0           # real: only ``s`` is tracked (the loops stop when it fails)
    jb = 0
    while jb < n and (s or h):
        je = jb + PB if jb + PB < n else n
        i = jb + 1
        while i < n and (s or h):
            jm = je if je < i else i          # strictly lower: j < i
            strip = m + i * cs                # M[j, i] = strip[j]
            if lapack_t is float or lapack_t is double:
                for j in range(jb, jm):
                    s &= m[i + j * cs] == strip[j]
            else:
                for j in range(jb, jm):
                    x = m[i + j * cs]
                    y = strip[j]
                    s &= (x.real == y.real) & (x.imag == y.imag)
                    h &= (x.real == y.real) & (x.imag == -y.imag)
            i += 1
        jb = je
    sym[0] = s
    if lapack_t is float or lapack_t is double:
        her[0] = s
    else:
        her[0] = h


cdef inline void _bands(const lapack_t *col, Py_ssize_t j, Py_ssize_t n,
                        int *lo, int *up) noexcept nogil:
    """Widen the bandwidths of M with contiguous column ``j``, scanning only outside
    the band found so far, from the far end inwards."""
    cdef Py_ssize_t i
    i = n - 1
    while i > j + lo[0]:
        if _nonzero(col[i]):
            lo[0] = <int>(i - j)
            break
        i -= 1
    i = 0
    while i < j - up[0]:
        if _nonzero(col[i]):
            up[0] = <int>(j - i)
            break
        i += 1


cdef inline bint _block_nonzero(const lapack_t *s, Py_ssize_t cnt) noexcept nogil:
    """Any nonzero among the contiguous s[0:cnt]?  On the bit patterns: an entry is
    zero iff its bits shifted left by one (dropping the sign: -0.0 is zero) are all 0,
    so the test is an integer OR reduction, which vectorises at any SIMD level.  NaN
    and inf count as nonzero (as ``x != 0`` says)."""
    cdef Py_ssize_t t, m
    cdef uint64_t acc64 = 0
    cdef uint32_t acc32 = 0
    cdef const uint64_t *p64
    cdef const uint32_t *p32
    if lapack_t is double or lapack_t is doublecomplex:
        p64 = <const uint64_t *>s
        m = cnt if lapack_t is double else 2 * cnt
        for t in range(m):
            acc64 |= p64[t] << 1
        return acc64 != 0
    else:
        p32 = <const uint32_t *>s
        m = cnt if lapack_t is float else 2 * cnt
        for t in range(m):
            acc32 |= p32[t] << 1
        return acc32 != 0


cdef Py_ssize_t capture_kernel(const lapack_t *src, Py_ssize_t rs, Py_ssize_t cs,
                               Py_ssize_t n, Py_ssize_t cap, lapack_t *cdata, int *cidx,
                               int *cptr, Py_ssize_t *ncols) noexcept nogil:
    """Read M column by column WITHOUT copying it and capture its nonzeros compressed by
    columns (``cptr``/``cidx``/``cdata``: CSC of M, indices ascending).

    Stops before the first column whose nonzeros would not fit in ``cap``, or after
    column j >= 15 when the density so far exceeds twice cap / n^2 (a dense matrix is
    recognised after 16 columns).  ``ncols``: the number of columns captured (n: all
    of M); returns the number of entries captured, ``cptr[ncols]``.  Blocks of 32
    entries are first tested with a branch-free OR (vectorises), so a mostly-zero
    column costs little more than reading it."""
    cdef Py_ssize_t i, i0, i1, j, k = 0
    cdef const lapack_t *s
    cdef lapack_t x
    cdef int hit
    cptr[0] = 0
    for j in range(n):
        s = src + j * cs
        i0 = 0
        while i0 < n:
            i1 = i0 + BLOCK if i0 + BLOCK < n else n
            hit = 0
            if rs == 1:
                hit = _block_nonzero(s + i0, i1 - i0)
            else:
                for i in range(i0, i1):
                    hit |= _nonzero(s[i * rs])
            if hit:
                for i in range(i0, i1):
                    x = s[i * rs]
                    if _nonzero(x):
                        if k >= cap:
                            ncols[0] = j
                            return cptr[j]
                        cidx[k] = <int>i
                        cdata[k] = x
                        k += 1
            i0 = i1
        cptr[j + 1] = <int>k
        if j >= 15 and k * n > 2 * cap * (j + 1):
            ncols[0] = j + 1
            return k
    ncols[0] = n
    return k


cdef double _lean_column(const lapack_t *s, Py_ssize_t rs, lapack_t *d,
                         Py_ssize_t n) noexcept nogil:
    """Copy column ``s`` (stride ``rs``) to ``d`` and return its modulus sum: the lean
    loop (a function of its own: gcc vectorises it better than inlined in the sweep)."""
    cdef Py_ssize_t i = 0
    cdef double a0 = 0.0, a1 = 0.0, a2 = 0.0, a3 = 0.0
    cdef lapack_t x
    if rs == 1:
        while i + 4 <= n:
            d[i] = s[i]
            d[i + 1] = s[i + 1]
            d[i + 2] = s[i + 2]
            d[i + 3] = s[i + 3]
            a0 += _mag(s[i])
            a1 += _mag(s[i + 1])
            a2 += _mag(s[i + 2])
            a3 += _mag(s[i + 3])
            i += 4
    while i < n:
        x = s[i * rs]
        d[i] = x
        a0 += _mag(x)
        i += 1
    return (a0 + a1) + (a2 + a3)


cdef void _lean_rows4(const lapack_t *s, Py_ssize_t cs, lapack_t *d, Py_ssize_t n,
                      double *rowsum) noexcept nogil:
    """The transposed lean loop over four contiguous columns of M (``s``, ``s + cs``,
    ...): copy them to ``d`` .. ``d + 3n`` and add their moduli to the row sums --
    one load/store of ``rowsum`` per four entries instead of per entry."""
    cdef Py_ssize_t i
    cdef const lapack_t *s1 = s + cs
    cdef const lapack_t *s2 = s + 2 * cs
    cdef const lapack_t *s3 = s + 3 * cs
    cdef lapack_t *d1 = d + n
    cdef lapack_t *d2 = d + 2 * n
    cdef lapack_t *d3 = d + 3 * n
    cdef lapack_t x0, x1, x2, x3
    for i in range(n):
        x0 = s[i]
        x1 = s1[i]
        x2 = s2[i]
        x3 = s3[i]
        d[i] = x0
        d1[i] = x1
        d2[i] = x2
        d3[i] = x3
        rowsum[i] += (_mag(x0) + _mag(x1)) + (_mag(x2) + _mag(x3))


cdef int inspect_kernel(const lapack_t *src, Py_ssize_t rs, Py_ssize_t cs, lapack_t *dst,
                        Py_ssize_t n, bint transposed, bint full,
                        Py_ssize_t j0, const lapack_t *cdata, const int *cidx,
                        const int *cptr, Py_ssize_t nnz_stop,
                        Found *out) noexcept nogil:
    """The sweep.  ``src``: M[i, j] = src[i*rs + j*cs]; ``dst``: NULL (scan only; then
    rs must be 1) or an n*n column-major buffer receiving M.  ``transposed``: M = A^T
    (so ||A||_1 is the max row sum of M).  Returns 0, or -1 when scratch allocation
    failed.  Non-finite entries make ``out.norm1`` non-finite (caller checks).

    ``j0`` > 0 (only with ``dst``): columns 0..j0-1 were already read by
    ``capture_kernel``, whose nonzeros ``cptr``/``cidx``/``cdata`` hold: their
    statistics come from those entries, they are copied plainly, and the sweep
    proper starts at column j0.

    ``nnz_stop`` >= 0 (copying sweep only): once more than ``nnz_stop`` nonzeros are
    counted, stop counting (``out.nnz_exact`` = 0, ``out.nnz`` the count then): the
    rest of the sweep is the lean loop -- copy, moduli sums (finiteness rides on them)
    and the O(1) band check -- which is what a general dense matrix costs beyond a
    plain copy.  (Checked after every column; every 16 columns when transposed.)"""
    cdef Py_ssize_t i, j, p, nz = 0
    cdef bint counting = 1
    cdef const lapack_t *s
    cdef lapack_t *d
    cdef lapack_t x
    cdef double a0, a1, a2, a3, best = 0.0, t, poison = 0.0
    cdef double *rowsum = NULL
    cdef double *rowcnt = NULL
    cdef double cnt
    cdef int lo = 0, up = 0, sym = 0, her = 0, dpos = 1
    cdef bint bands = full

    if transposed:
        # per-row moduli sums and nonzero counts (doubles: exact below 2^53).  Kept as
        # vectors, not scalar reductions, so gcc vectorises the loop: with baseline
        # SSE2 an integer `nz += (x != 0)` blocks vectorisation (no 64-bit compare).
        rowsum = <double *>calloc(2 * n + 2, sizeof(double))
        if rowsum == NULL:
            return -1
        rowcnt = rowsum + n + 1
    if full:
        if rs == 1 and n > _PANELS_FROM_N:
            # the row walk needs ~n cache lines to stay in L2: too many from here on
            # (figures in hybridsolve._tuning; n = 4096: 52 vs 24 ms with 128-byte
            # panels -- a power-of-two stride aliases wider ones)
            _symmetry_panels(src, cs, n, &sym, &her,
                             (128 if (cs * <Py_ssize_t>sizeof(lapack_t)) % 4096 == 0
                              else 256) // <Py_ssize_t>sizeof(lapack_t))
        else:
            _symmetry(src, rs, cs, n, &sym, &her)
        for i in range(n):
            x = src[i * rs + i * cs]
            if lapack_t is float or lapack_t is double:
                if not (x > 0):
                    dpos = 0
                    break
            else:
                if not (x.real > 0) or x.imag != 0:
                    dpos = 0
                    break

    if j0 > 0:
        for j in range(j0):
            s = src + j * cs
            d = dst + j * n
            if rs == 1:
                memcpy(d, s, n * sizeof(lapack_t))
            else:
                for i in range(n):
                    d[i] = s[i * rs]
            t = 0.0
            for p in range(cptr[j], cptr[j + 1]):
                i = cidx[p]
                if transposed:
                    rowsum[i] += _mag(cdata[p])
                else:
                    t += _mag(cdata[p])
                if i - j > lo:
                    lo = <int>(i - j)
                if j - i > up:
                    up = <int>(j - i)
            if not transposed:
                poison += t * 0.0
                if t > best:
                    best = t
        nz = cptr[j0]

    j = j0
    while j < n:
        s = src + j * cs
        if dst != NULL and transposed and not counting and rs == 1 and j + 4 <= n:
            # the lean loop, transposed: four columns of M per sweep of ``rowsum``
            _lean_rows4(s, cs, dst + j * n, n, rowsum)
            if bands:
                for p in range(j, j + 4):
                    if lo < n - 1 or up < n - 1:
                        _bands(dst + p * n, p, n, &lo, &up)
            j += 4
            continue
        if dst != NULL:
            d = dst + j * n
            if transposed:
                if not counting:            # the lean loop
                    if rs == 1:
                        for i in range(n):
                            x = s[i]
                            d[i] = x
                            rowsum[i] += _mag(x)
                    else:
                        for i in range(n):
                            x = s[i * rs]
                            d[i] = x
                            rowsum[i] += _mag(x)
                elif rs == 1:
                    for i in range(n):
                        x = s[i]
                        d[i] = x
                        rowsum[i] += _mag(x)
                        rowcnt[i] += 1.0 if _nonzero(x) else 0.0
                else:
                    for i in range(n):
                        x = s[i * rs]
                        d[i] = x
                        rowsum[i] += _mag(x)
                        rowcnt[i] += 1.0 if _nonzero(x) else 0.0
                if counting and nnz_stop >= 0 and (j - j0) % 16 == 15:
                    cnt = 0.0
                    for i in range(n):
                        cnt += rowcnt[i]
                    if nz + cnt > nnz_stop:
                        counting = 0
            elif not counting:              # the lean loop
                t = _lean_column(s, rs, d, n)
                poison += t * 0.0
                if t > best:
                    best = t
            else:
                a0 = a1 = a2 = a3 = 0.0
                i = 0
                if rs == 1:
                    while i + 4 <= n:
                        d[i] = s[i]
                        d[i + 1] = s[i + 1]
                        d[i + 2] = s[i + 2]
                        d[i + 3] = s[i + 3]
                        a0 += _mag(s[i])
                        a1 += _mag(s[i + 1])
                        a2 += _mag(s[i + 2])
                        a3 += _mag(s[i + 3])
                        nz += (_nonzero(s[i]) + _nonzero(s[i + 1])
                               + _nonzero(s[i + 2]) + _nonzero(s[i + 3]))
                        i += 4
                while i < n:
                    x = s[i * rs]
                    d[i] = x
                    a0 += _mag(x)
                    nz += _nonzero(x)
                    i += 1
                t = (a0 + a1) + (a2 + a3)
                poison += t * 0.0        # NaN (sticky) iff t is NaN or inf
                if t > best:
                    best = t
                if nnz_stop >= 0 and nz > nnz_stop:
                    counting = 0
            if bands and (lo < n - 1 or up < n - 1):
                _bands(d, j, n, &lo, &up)
        else:
            # scan only (contiguous M, rs == 1)
            if transposed:
                for i in range(n):
                    x = s[i]
                    rowsum[i] += _mag(x)
                    rowcnt[i] += 1.0 if _nonzero(x) else 0.0
            else:
                a0 = a1 = a2 = a3 = 0.0
                i = 0
                while i + 4 <= n:
                    a0 += _mag(s[i])
                    a1 += _mag(s[i + 1])
                    a2 += _mag(s[i + 2])
                    a3 += _mag(s[i + 3])
                    nz += (_nonzero(s[i]) + _nonzero(s[i + 1])
                           + _nonzero(s[i + 2]) + _nonzero(s[i + 3]))
                    i += 4
                while i < n:
                    x = s[i]
                    a0 += _mag(x)
                    nz += _nonzero(x)
                    i += 1
                t = (a0 + a1) + (a2 + a3)
                poison += t * 0.0        # NaN (sticky) iff t is NaN or inf
                if t > best:
                    best = t
            if bands and (lo < n - 1 or up < n - 1):
                _bands(s, j, n, &lo, &up)

        j += 1

    if transposed:
        cnt = 0.0
        for i in range(n):
            poison += rowsum[i] * 0.0
            if rowsum[i] > best:
                best = rowsum[i]
            cnt += rowcnt[i]
        nz += <Py_ssize_t>cnt
        free(rowsum)
    out.symmetric = sym
    out.hermitian = her
    out.diagpos = dpos if n > 0 else 1
    out.lower = lo
    out.upper = up
    out.nnz = nz
    out.nnz_exact = counting
    out.norm1 = best + poison
    return 0


cdef int all_finite(const lapack_t *src, Py_ssize_t rs, Py_ssize_t cs,
                    Py_ssize_t n) noexcept nogil:
    """Exact test (the slow path, only run when a modulus sum was not finite)."""
    cdef Py_ssize_t i, j
    cdef lapack_t x
    for j in range(n):
        for i in range(n):
            x = src[i * rs + j * cs]
            if lapack_t is float or lapack_t is double:
                if not isfinite(x):
                    return 0
            else:
                if not (isfinite(x.real) and isfinite(x.imag)):
                    return 0
    return 1


cdef double symmetrize_kernel(lapack_t *m, Py_ssize_t n, bint from_lower,
                              bint herm) noexcept nogil:
    """Fill the other triangle of the column-major n x n ``m`` from its lower
    (``from_lower``) or upper triangle, conjugating when ``herm`` (diagonal made real);
    return the max column sum of moduli of the result."""
    cdef Py_ssize_t ib, jb, i, j, iend, jend
    cdef lapack_t x
    cdef double best = 0.0, t, poison = 0.0
    jb = 0
    while jb < n:
        jend = jb + BLOCK if jb + BLOCK < n else n
        ib = jb
        while ib < n:
            iend = ib + BLOCK if ib + BLOCK < n else n
            for j in range(jb, jend):
                i = ib if ib > j else j + 1
                while i < iend:
                    # (i, j) strictly lower, (j, i) strictly upper
                    if from_lower:
                        x = m[i + j * n]
                        if lapack_t is floatcomplex or lapack_t is doublecomplex:
                            if herm:
                                x = x.conjugate()
                        m[j + i * n] = x
                    else:
                        x = m[j + i * n]
                        if lapack_t is floatcomplex or lapack_t is doublecomplex:
                            if herm:
                                x = x.conjugate()
                        m[i + j * n] = x
                    i += 1
            ib += BLOCK
        jb += BLOCK
    if lapack_t is floatcomplex or lapack_t is doublecomplex:
        if herm:
            for i in range(n):
                m[i + i * n] = m[i + i * n].real
    for j in range(n):
        t = 0.0
        for i in range(n):
            t += _mag(m[i + j * n])
        poison += t * 0.0   # NaN iff some column sum is NaN/inf
        if t > best:
            best = t
    return best + poison


# ---------------------------------------------------------------- Python-facing wrappers

def inspect_pass(cnp.ndarray a, cnp.ndarray work, bint transposed, bint full,
                 prefix=None, Py_ssize_t nnz_stop=-1):
    """Run the sweep over the square ``a`` (element-aligned strides, any sign), copying
    into ``work`` (contiguous, column-major view M; None: scan only, ``a`` contiguous).

    ``transposed``: M = A^T (``a``/``work`` C-ordered).  Returns the tuple
    ``(symmetric, hermitian, diag_real_positive, lower_M, upper_M, nnz, norm1)`` about
    M; norm1 is ||A||_1 and is non-finite when A has a NaN/inf (or the sum overflowed).

    ``prefix``: ``(data, indices, indptr, ncols)`` from a `capture_pass` over the same
    ``a`` that stopped early: its ``ncols`` columns are not scanned again (needs
    ``work``).  ``nnz_stop`` >= 0 (with ``work``): stop counting nonzeros once more
    than that many are found; the returned nnz is then negative: -(the count reached).
    """
    cdef Py_ssize_t n = a.shape[0]
    cdef Py_ssize_t isz = a.itemsize
    if a.ndim != 2 or a.strides[0] % isz or a.strides[1] % isz:
        raise ValueError("a must be 2-D with strides that are multiples of the itemsize")
    cdef Py_ssize_t s0 = a.strides[0] // isz, s1 = a.strides[1] // isz
    cdef Py_ssize_t rs = s1 if transposed else s0
    cdef Py_ssize_t cs = s0 if transposed else s1
    cdef int t = cnp.PyArray_TYPE(a)
    cdef void *src = cnp.PyArray_DATA(a)
    cdef void *dst = NULL
    cdef Found f
    cdef int info = 0
    cdef Py_ssize_t j0 = 0
    cdef void *cdata = NULL
    cdef const int *cidx = NULL
    cdef const int *cptr = NULL
    cdef cnp.ndarray pd, pi, pp
    if a.ndim != 2 or a.shape[1] != n:
        raise ValueError("a must be square")
    if work is None:
        nnz_stop = -1
    if prefix is not None and prefix[3] > 0:
        pd, pi, pp, j0 = prefix
        if work is None:
            raise ValueError("a prefix needs work")
        if not (0 < j0 <= n and pp.shape[0] == n + 1 and cnp.PyArray_TYPE(pd) == t
                and pp.dtype == np.int32 and pi.dtype == np.int32
                and pd.flags.c_contiguous and pi.flags.c_contiguous
                and pp.flags.c_contiguous
                and pi.shape[0] >= pp[j0] and pd.shape[0] >= pp[j0]):
            raise ValueError("prefix does not match a")
        cdata = cnp.PyArray_DATA(pd)
        cidx = <const int *>cnp.PyArray_DATA(pi)
        cptr = <const int *>cnp.PyArray_DATA(pp)
    if work is not None:
        if cnp.PyArray_TYPE(work) != t:
            raise TypeError("work must have the dtype of a")
        if work.ndim != 2 or work.shape[0] != n or work.shape[1] != n:
            raise ValueError("work must have the shape of a")
        if not (work.flags.c_contiguous if transposed else work.flags.f_contiguous):
            raise ValueError("work must be C-contiguous when transposed, else F-contiguous")
        if not work.flags.writeable:
            raise ValueError("work must be writeable")
        dst = cnp.PyArray_DATA(work)
    elif n > 1 and not (a.flags.c_contiguous if transposed else a.flags.f_contiguous):
        raise ValueError("scan-only mode needs a C- (transposed) or F-contiguous array")
    with nogil:
        if t == cnp.NPY_DOUBLE:
            info = inspect_kernel(<const double *>src, rs, cs, <double *>dst, n,
                                  transposed, full, j0, <const double *>cdata, cidx,
                                  cptr, nnz_stop, &f)
        elif t == cnp.NPY_FLOAT:
            info = inspect_kernel(<const float *>src, rs, cs, <float *>dst, n,
                                  transposed, full, j0, <const float *>cdata, cidx,
                                  cptr, nnz_stop, &f)
        elif t == cnp.NPY_CDOUBLE:
            info = inspect_kernel(<const double complex *>src, rs, cs,
                                  <double complex *>dst, n, transposed, full, j0,
                                  <const double complex *>cdata, cidx, cptr, nnz_stop,
                                  &f)
        elif t == cnp.NPY_CFLOAT:
            info = inspect_kernel(<const float complex *>src, rs, cs,
                                  <float complex *>dst, n, transposed, full, j0,
                                  <const float complex *>cdata, cidx, cptr, nnz_stop,
                                  &f)
        else:
            info = -2
    if info == -1:
        raise MemoryError()
    if info == -2:
        raise TypeError(f"unsupported dtype {a.dtype}")
    return (bool(f.symmetric), bool(f.hermitian), bool(f.diagpos), f.lower, f.upper,
            f.nnz if f.nnz_exact else -f.nnz, f.norm1)


def capture_pass(cnp.ndarray a, bint transposed, Py_ssize_t cap):
    """Read the square ``a`` (element-aligned strides) without copying it and capture
    the nonzeros of M (M = A^T when ``transposed``) compressed by columns, up to ``cap``
    of them (see ``capture_kernel`` for when it stops early).

    Returns ``(data, indices, indptr, ncols)``: int32 indices; the first ``ncols``
    columns of M are captured (``ncols == n``: all of M -- CSC of A, or CSR of A when
    ``transposed``); ``data``/``indices`` have length ``cap`` (``indptr[ncols]`` used).
    """
    cdef Py_ssize_t n = a.shape[0]
    cdef Py_ssize_t isz = a.itemsize
    if a.ndim != 2 or a.shape[1] != n:
        raise ValueError("a must be square")
    if a.strides[0] % isz or a.strides[1] % isz:
        raise ValueError("a must have strides that are multiples of the itemsize")
    if cap < 0 or cap >= 2**31 - 1 or n >= 2**31 - 1:
        raise ValueError("cap must be in [0, 2**31 - 1)")
    cdef Py_ssize_t s0 = a.strides[0] // isz, s1 = a.strides[1] // isz
    cdef Py_ssize_t rs = s1 if transposed else s0
    cdef Py_ssize_t cs = s0 if transposed else s1
    cdef int t = cnp.PyArray_TYPE(a)
    cdef const void *src = cnp.PyArray_DATA(a)
    cdef cnp.ndarray data = np.empty(max(cap, 1), dtype=a.dtype)
    cdef cnp.ndarray indices = np.empty(max(cap, 1), dtype=np.int32)
    cdef cnp.ndarray indptr = np.zeros(n + 1, dtype=np.int32)
    cdef void *dp = cnp.PyArray_DATA(data)
    cdef int *ip = <int *>cnp.PyArray_DATA(indices)
    cdef int *pp = <int *>cnp.PyArray_DATA(indptr)
    cdef Py_ssize_t ncols = -1
    with nogil:
        if t == cnp.NPY_DOUBLE:
            capture_kernel(<const double *>src, rs, cs, n, cap, <double *>dp, ip, pp,
                           &ncols)
        elif t == cnp.NPY_FLOAT:
            capture_kernel(<const float *>src, rs, cs, n, cap, <float *>dp, ip, pp,
                           &ncols)
        elif t == cnp.NPY_CDOUBLE:
            capture_kernel(<const double complex *>src, rs, cs, n, cap,
                           <double complex *>dp, ip, pp, &ncols)
        elif t == cnp.NPY_CFLOAT:
            capture_kernel(<const float complex *>src, rs, cs, n, cap,
                           <float complex *>dp, ip, pp, &ncols)
    if ncols < 0:
        raise TypeError(f"unsupported dtype {a.dtype}")
    return data, indices, indptr, ncols


def symmetry_pass(cnp.ndarray a, bint panels=True, Py_ssize_t width=0):
    """``(symmetric, hermitian)`` of the square contiguous ``a`` by the sweep's test:
    the panel order (``panels``) or the column-by-row-walk order (both exact; exposed
    for tests and benchmarks)."""
    cdef Py_ssize_t n = a.shape[0]
    cdef Py_ssize_t isz = a.itemsize
    if a.ndim != 2 or a.shape[1] != n:
        raise ValueError("a must be square")
    if not (a.flags.f_contiguous or a.flags.c_contiguous):
        raise ValueError("a must be contiguous")
    # M = A (F order) or A^T (C order): symmetry does not care which
    cdef int t = cnp.PyArray_TYPE(a)
    cdef const void *m = cnp.PyArray_DATA(a)
    cdef int s = -1, h = -1
    with nogil:
        if t == cnp.NPY_DOUBLE:
            if panels:
                _symmetry_panels(<const double *>m, n, n, &s, &h, width)
            else:
                _symmetry(<const double *>m, 1, n, n, &s, &h)
        elif t == cnp.NPY_FLOAT:
            if panels:
                _symmetry_panels(<const float *>m, n, n, &s, &h, width)
            else:
                _symmetry(<const float *>m, 1, n, n, &s, &h)
        elif t == cnp.NPY_CDOUBLE:
            if panels:
                _symmetry_panels(<const double complex *>m, n, n, &s, &h, width)
            else:
                _symmetry(<const double complex *>m, 1, n, n, &s, &h)
        elif t == cnp.NPY_CFLOAT:
            if panels:
                _symmetry_panels(<const float complex *>m, n, n, &s, &h, width)
            else:
                _symmetry(<const float complex *>m, 1, n, n, &s, &h)
    if s < 0:
        raise TypeError(f"unsupported dtype {a.dtype}")
    return bool(s), bool(h)


def is_finite(cnp.ndarray a):
    """Exact: every entry of the square ``a`` (element-aligned strides) finite?"""
    cdef Py_ssize_t n = a.shape[0]
    cdef Py_ssize_t isz = a.itemsize
    if a.ndim != 2 or a.shape[1] != n:
        raise ValueError("a must be square")
    if a.strides[0] % isz or a.strides[1] % isz:
        raise ValueError("strides must be multiples of the itemsize")
    cdef Py_ssize_t s0 = a.strides[0] // isz, s1 = a.strides[1] // isz
    cdef int t = cnp.PyArray_TYPE(a)
    cdef void *src = cnp.PyArray_DATA(a)
    cdef int r = -2
    with nogil:
        if t == cnp.NPY_DOUBLE:
            r = all_finite(<const double *>src, s0, s1, n)
        elif t == cnp.NPY_FLOAT:
            r = all_finite(<const float *>src, s0, s1, n)
        elif t == cnp.NPY_CDOUBLE:
            r = all_finite(<const double complex *>src, s0, s1, n)
        elif t == cnp.NPY_CFLOAT:
            r = all_finite(<const float complex *>src, s0, s1, n)
    if r == -2:
        raise TypeError(f"unsupported dtype {a.dtype}")
    return bool(r)


def symmetrize_pass(cnp.ndarray m, bint from_lower, bint herm):
    """In place on the contiguous square ``m`` seen as column-major (pass the
    F-contiguous buffer); returns the max column modulus sum of the result."""
    cdef Py_ssize_t n = m.shape[0]
    if m.ndim != 2 or m.shape[1] != n or not m.flags.f_contiguous or not m.flags.writeable:
        raise ValueError("m must be square, F-contiguous and writeable")
    cdef int t = cnp.PyArray_TYPE(m)
    cdef void *p = cnp.PyArray_DATA(m)
    cdef double r = -1.0
    with nogil:
        if t == cnp.NPY_DOUBLE:
            r = symmetrize_kernel(<double *>p, n, from_lower, herm)
        elif t == cnp.NPY_FLOAT:
            r = symmetrize_kernel(<float *>p, n, from_lower, herm)
        elif t == cnp.NPY_CDOUBLE:
            r = symmetrize_kernel(<double complex *>p, n, from_lower, herm)
        elif t == cnp.NPY_CFLOAT:
            r = symmetrize_kernel(<float complex *>p, n, from_lower, herm)
    if r < 0:
        raise TypeError(f"unsupported dtype {m.dtype}")
    return r
