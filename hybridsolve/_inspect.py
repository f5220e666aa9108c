"""The inspection pass (Python side): what the front door calls before dispatching.

``inspect_dense(a)`` makes the working copy of ``A`` the in-place kernels need and, in the
same Cython sweep (hybridsolve._kernels.inspect), finds finiteness, symmetry / Hermitian-
ness, a real positive diagonal, the lower and upper bandwidths, the nonzero count,
``||A||_1`` and, for a strictly row diagonally dominant A, its dominance margin
(``extra['dominance_margin']``: the bound the mixed-precision road prices on).  ``symmetrize`` completes a triangle for the sym/her/pos hints.

With ``capture=True`` (the front door, no hint) a large matrix is first read WITHOUT
copying it while it still looks sparse, its nonzeros captured compressed (CSC of A, or
CSR of A for a C-ordered A: no transposing); the structure is then found in O(nnz) on
those arrays and no dense copy is made at all (``work`` is None: the front door copies
lazily, only for a road that needs a dense working copy).  As soon as the matrix stops
looking sparse the sweep switches to the fused copy, resuming where the capture stopped.
"""
from __future__ import annotations

import math

import numpy as np

from hybridsolve._kernels import inspect as _k
from hybridsolve._protocol import Structure
from hybridsolve._tuning import value as _tuned

__all__ = ["inspect_dense", "symmetrize", "bandwidth", "dense_copy", "CAPTURE_MIN_N",
           "CAPTURE_MAX_DENSITY", "capture_min_n"]

#: ``inspect_dense(capture=True)`` reads a matrix of at least this order without copying
#: it while at most this fraction of its entries is nonzero (the sparse_dense road's
#: limits; hybridsolve._tuning capture_min_n / capture_max_density)
CAPTURE_MIN_N = _tuned("capture_min_n")
CAPTURE_MAX_DENSITY = _tuned("capture_max_density")
_CAPTURE_FROM = {}


def capture_min_n(dtype) -> int:
    """The order from which ``inspect_dense(capture=True)`` captures an A of ``dtype``:
    CAPTURE_MIN_N, or more where the capture cannot pay.  It serves only the
    sparse_dense road, whose fixed price (tuning ``sparse_dense_overhead``) alone
    exceeds a dense LU's whole price, 2/3 n^3 + 2 n^2 flops (4x for complex), below
    the order where the two meet -- n = 165 for a real A with the default 3e6 (for a
    complex one 104, under the floor) -- so there the capture would only read A
    twice."""
    dt = np.dtype(dtype)
    n0 = _CAPTURE_FROM.get(dt.char)
    if n0 is None:
        floor = _tuned("sparse_dense_overhead") / (4.0 if dt.kind == "c" else 1.0)
        n0 = int(CAPTURE_MIN_N)
        while n0 < 2**20 and (2.0 / 3.0) * n0 ** 3 + 2.0 * n0 * n0 < floor:
            n0 += 1
        _CAPTURE_FROM[dt.char] = n0
    return n0

_LAPACK_CHARS = frozenset("fdFD")
_FINITE_MSG = "array must not contain infs or NaNs"


def _check(a):
    if not isinstance(a, np.ndarray):
        raise TypeError(f"expected a numpy.ndarray, got {type(a).__name__}")
    if a.ndim != 2 or a.shape[0] != a.shape[1]:
        raise ValueError(f"expected a square 2-D array, got shape {a.shape}")
    if a.dtype.char not in _LAPACK_CHARS:
        raise TypeError(f"expected float32/float64/complex64/complex128, got {a.dtype}")
    if not a.dtype.isnative:
        raise TypeError("expected an array in native byte order")


def _exact_norm1(a) -> float:
    # slow path: complex modulus sums that over/underflowed in the fast sweep
    if not a.shape[0]:
        return 0.0
    with np.errstate(over="ignore"):
        return float(np.abs(a).sum(axis=0).max())


def dense_copy(a):
    """The private working copy ``inspect_dense`` would make: C-ordered when ``a`` is
    C-contiguous (and not F-contiguous), else F-ordered."""
    order = "C" if (a.flags.c_contiguous and not a.flags.f_contiguous) else "F"
    return np.array(a, order=order, copy=True)


def _captured(a, n, transposed, data, indices, indptr, check_finite):
    """Structure of A from the nonzeros ``capture_pass`` found (all of them), in
    O(nnz) by the sparse inspection kernel."""
    from hybridsolve._kernels import sparse_inspect

    k = int(indptr[n])
    data, indices = data[:k].copy(), indices[:k].copy()
    info = sparse_inspect.inspect(indptr, indices, data)
    lo, up = info["lower_bandwidth"], info["upper_bandwidth"]
    if transposed:      # compressed by rows of A (CSR): the lines are A's rows
        norm1 = info["norm_cols"]
        fmt = "csr"
    else:               # compressed by columns of A (CSC): the arrays hold A^T by rows
        lo, up = up, lo
        norm1 = info["norm_lines"]
        fmt = "csc"
    finite = info["finite"]
    if check_finite and not finite:
        raise ValueError(_FINITE_MSG)
    st = Structure(n, a.dtype, "dense", finite=finite, symmetric=info["symmetric"],
                   hermitian=info["hermitian"],
                   diag_real_positive=info["diag_real_positive"],
                   lower_bandwidth=lo, upper_bandwidth=up, nnz=info["nnz"],
                   norm1=norm1 if finite else float("nan"))
    st.extra["captured"] = (fmt, data, indices, indptr)
    st.extra["diag_nonzero"] = info["diag_nonzero"]
    st.extra["pattern_symmetric"] = info["pattern_symmetric"]
    st.extra["offdiag_nonpositive"] = info["offdiag_nonpositive"]
    st.notes.append(f"read without copying (it looks sparse): its {k} nonzeros were "
                    f"captured as {fmt.upper()}; a dense working copy is made only for "
                    f"a road that needs one (its price includes the copy)")
    return st


def inspect_dense(a, *, copy=True, check_finite=True, full=True, capture=False,
                  count_all=False, borrow=False):
    """One pass over the square ``a``: returns ``(Structure, work)``.

    Parameters
    ----------
    a : ndarray, (n, n), float32/float64/complex64/complex128, native byte order
        Any strides (negative, non-contiguous), possibly read-only.
    copy : bool
        True: ``work`` is a new array holding A's values, C-ordered when ``a`` is
        C-contiguous (the kernels then factor it as A^T in Fortran order), F-ordered
        otherwise.  False: ``a`` must be contiguous and writeable; ``work is a``.
    check_finite : bool
        Raise ``ValueError("array must not contain infs or NaNs")`` on NaN/inf.
    full : bool
        True: every Structure field.  False (a structure hint was given): only the copy,
        ``finite`` and ``norm1``; the other fields stay None.
    capture : bool
        With ``copy`` and ``full``, for n >= `capture_min_n`: read ``a`` without copying
        while at most CAPTURE_MAX_DENSITY of it is nonzero, capturing the nonzeros.  If
        the whole matrix qualifies, ``work`` is None and ``structure.extra['captured']``
        is ``(format, data, indices, indptr)``: A's nonzeros as canonical 'csc' (or
        'csr' for a C-contiguous ``a``) arrays, int32 indices, a private copy;
        otherwise the sweep goes on as without ``capture``.
    borrow : bool
        True: copy nothing (``a`` C- or F-contiguous, only read; ``copy`` is ignored):
        ``work`` is None, as after a complete capture -- a road that needs a working
        copy gets one made for it (see ``hybridsolve._solve._factorize_with``).
    count_all : bool
        False (default): for n >= CAPTURE_MIN_N the copying sweep stops counting
        nonzeros once more than CAPTURE_MAX_DENSITY of the entries are nonzero (no
        road's choice depends on the exact count beyond that) and runs its lean loop
        for the rest; ``nnz`` is then None and ``extra['nnz_at_least']`` holds the
        count reached.  True: exact.  (With ``full=False`` nothing is counted.)

    Returns
    -------
    structure : Structure (format 'dense'; fields are about A itself, whatever the layout)
    work : ndarray, or None (``capture``: no dense copy was made; see `dense_copy`)
    """
    _check(a)
    n = a.shape[0]
    isz = a.itemsize
    flags = a.flags
    if borrow:
        if not (flags.c_contiguous or flags.f_contiguous):
            raise ValueError("borrow=True needs a C- or F-contiguous array")
        work = None
        transposed = not flags.f_contiguous
        src, dst = a, None
    elif copy:
        if flags.f_contiguous:
            order, transposed = "F", False
        elif flags.c_contiguous:
            order, transposed = "C", True
        else:
            order, transposed = "F", False
        if a.strides[0] % isz or a.strides[1] % isz:
            # misaligned view (e.g. a field of a structured array): let numpy copy,
            # then scan the copy in place
            work = np.array(a, order="F", copy=True)
            src, dst, transposed = work, None, False
        else:
            work = np.empty((n, n), dtype=a.dtype, order=order)
            src, dst = a, work
    else:
        if not (flags.c_contiguous or flags.f_contiguous):
            raise ValueError("copy=False needs a C- or F-contiguous array")
        if not flags.writeable:
            raise ValueError("copy=False needs a writeable array")
        work = a
        transposed = not flags.f_contiguous
        src, dst = a, None

    if n == 0:
        st = Structure(0, a.dtype, "dense", finite=True, norm1=0.0)
        if full:
            st.symmetric = st.hermitian = st.diag_real_positive = True
            st.lower_bandwidth = st.upper_bandwidth = st.nnz = 0
        return st, work

    prefix = None
    if (capture and full and (dst is not None or borrow)
            and n >= capture_min_n(a.dtype)):
        cap = int(CAPTURE_MAX_DENSITY * n * n)
        if cap < 2**31 - 1:
            data, indices, indptr, ncols = _k.capture_pass(src, transposed, cap)
            if ncols == n:
                return _captured(a, n, transposed, data, indices, indptr,
                                 check_finite), None
            if not borrow:          # (a prefix is resumed into the copy only)
                prefix = (data, indices, indptr, ncols)
    if count_all or dst is None or (full and n < CAPTURE_MIN_N):
        nnz_stop = -1                   # (small A: the exact count costs nothing)
    elif full:
        nnz_stop = int(CAPTURE_MAX_DENSITY * n * n)
    else:
        nnz_stop = 0                    # nnz is not reported with a hint
    sym, her, dpos, lo, up, nnz, norm1, margin = _k.inspect_pass(
        src, dst, transposed, full, prefix, nnz_stop)
    finite = True
    held = a if work is None else work
    if not math.isfinite(norm1):
        finite = _k.is_finite(held)
        if finite:
            # the moduli merely overflowed their sum (complex sqrt(re^2+im^2) may
            # overflow early): recompute exactly
            norm1 = _exact_norm1(held)
        else:
            norm1 = float("nan")
    elif a.dtype.kind == "c" and norm1 < 1e-130:
        norm1 = _exact_norm1(held)     # re^2 + im^2 may have underflowed
    if check_finite and not finite:
        raise ValueError(_FINITE_MSG)

    if full:
        if transposed:          # the sweep saw M = A^T: bandwidths swap
            lo, up = up, lo
        st = Structure(n, a.dtype, "dense", finite=finite, symmetric=sym, hermitian=her,
                       diag_real_positive=dpos, lower_bandwidth=lo, upper_bandwidth=up,
                       nnz=nnz if nnz >= 0 else None, norm1=norm1)
        # the kernel's margin less its rounding error (a sum of n moduli, each row's
        # below 2 |a_ii| <= 2 ||A||_1): a proven lower bound
        margin -= 2.0 * n * float(np.finfo(a.dtype).eps) * norm1
        if finite and margin > 0:
            # A is strictly diagonally dominant by rows: min_i (|a_ii| - sum_{j!=i}
            # |a_ij|) >= margin, so ||A^-1||_inf <= 1 / margin (Varah), and for a
            # Hermitian A with a positive diagonal lambda_min(A) >= margin (Gershgorin)
            st.extra["dominance_margin"] = margin
        if nnz < 0:
            st.extra["nnz_at_least"] = -nnz
            st.notes.append(f"nonzeros: at least {-nnz} "
                            f"({100.0 * -nnz / (n * n):.3g}% of the entries); counting "
                            f"stopped there: no road's choice depends on more")
    else:
        st = Structure(n, a.dtype, "dense", finite=finite, norm1=norm1)
    return st, work


def symmetrize(work, lower, hermitian):
    """Complete the square contiguous ``work`` in place from the triangle holding A's
    data (``lower``: A's lower triangle), conjugating for ``hermitian`` (whose diagonal
    is made real).  A C-ordered ``work`` is A^T in memory; handled.  Returns
    ``||result||_1``."""
    _check(work)
    if not work.flags.writeable:
        raise ValueError("work must be writeable")
    if work.flags.f_contiguous:
        m, from_lower = work, bool(lower)
    elif work.flags.c_contiguous:
        # M = A^T: A's lower triangle is M's upper one
        m, from_lower = work.T, not lower
    else:
        raise ValueError("work must be C- or F-contiguous")
    herm = bool(hermitian) and work.dtype.kind == "c"
    return float(_k.symmetrize_pass(m, from_lower, herm))


def bandwidth(a):
    """``(lower, upper)`` bandwidth of the square contiguous ``a`` (no copy)."""
    _check(a)
    if a.shape[0] == 0:
        return 0, 0
    if not (a.flags.c_contiguous or a.flags.f_contiguous):
        a = np.asfortranarray(a)
    transposed = not a.flags.f_contiguous
    _, _, _, lo, up, _, _, _ = _k.inspect_pass(a, None, transposed, True)
    return (up, lo) if transposed else (lo, up)
