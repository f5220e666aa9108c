"""scipy.sparse input: canonical work copy + the O(nnz) Cython inspection.

``prepare_sparse(a)`` is what the front door calls for any scipy.sparse array/matrix.  It
returns the :class:`~hybridsolve._protocol.Structure` the sparse roads price, and a work
copy of ``A`` in canonical CSR or CSC (sorted indices, duplicates summed, explicit zeros
dropped, LAPACK dtype, always a private copy: the caller's matrix is never touched).
"""
from __future__ import annotations

import numpy as np
import scipy.sparse as sp

from hybridsolve._protocol import Structure, result_dtype
from hybridsolve._kernels import sparse_inspect as _k

__all__ = ["prepare_sparse", "inspect_compressed", "canonical_copy", "dense_rhs",
           "compressed_from_dense"]


def canonical_copy(a, dtype=None):
    """A private canonical CSR (from csr/coo/lil/dok/dia/bsr) or CSC (from csc) copy of
    ``a`` as a sparse *array*, in ``dtype`` (default: the LAPACK dtype of ``a``)."""
    if dtype is None:
        dtype = result_dtype(a.dtype)
    fmt = "csc" if a.format == "csc" else "csr"
    if a.format in ("csr", "csc"):
        # index arrays are copied too: sum_duplicates/sort_indices work in place
        work = (sp.csc_array if fmt == "csc" else sp.csr_array)(
            (np.array(a.data, dtype=dtype), np.array(a.indices), np.array(a.indptr)),
            shape=a.shape, copy=False)
    else:
        # tocsr(copy=True) never shares the caller's buffers
        work = sp.csr_array(a.tocsr(copy=True))
        if work.dtype != dtype:
            work = work.astype(dtype, copy=False)
    work.sum_duplicates()          # also sorts indices
    work.eliminate_zeros()
    if not work.has_sorted_indices:
        work.sort_indices()
    return work


def inspect_compressed(work):
    """Run the Cython inspection on a canonical CSR/CSC ``work`` array; returns the raw
    dict with bandwidths and norms expressed for ``A`` (not for the stored lines)."""
    info = _k.inspect(work.indptr, work.indices, work.data)
    if work.format == "csc":      # the lines are columns: the arrays hold A^T by rows
        info["lower_bandwidth"], info["upper_bandwidth"] = (
            info["upper_bandwidth"], info["lower_bandwidth"])
        info["norm1"] = info["norm_lines"]
    else:
        info["norm1"] = info["norm_cols"]
    return info


def structure_from_info(n, dtype, info, format="sparse"):
    s = Structure(
        n, dtype, format,
        finite=info["finite"],
        symmetric=info["symmetric"],
        hermitian=info["hermitian"],
        diag_real_positive=info["diag_real_positive"],
        lower_bandwidth=info["lower_bandwidth"],
        upper_bandwidth=info["upper_bandwidth"],
        nnz=info["nnz"],
        norm1=info["norm1"],
    )
    s.extra["diag_nonzero"] = info["diag_nonzero"]
    s.extra["pattern_symmetric"] = info["pattern_symmetric"]
    s.extra["offdiag_nonpositive"] = info["offdiag_nonpositive"]
    return s


def prepare_sparse(a, *, check_finite=True):
    """Inspect a scipy.sparse ``a`` (any format, array or matrix).

    Returns ``(structure, work)``: a ``Structure(n, dtype, "sparse", ...)`` with finite,
    symmetric, hermitian, diag_real_positive, lower/upper bandwidth, nnz (stored
    nonzeros) and norm1 filled (``extra['diag_nonzero']``,
    ``extra['pattern_symmetric']`` and ``extra['offdiag_nonpositive']`` too), and ``work``, a private
    canonical CSR (or CSC when ``a`` is CSC) sparse array in the LAPACK dtype.

    Raises ValueError for a non-square or non-2-D ``a``, or (``check_finite``) when
    its data holds NaN/inf; TypeError for unsupported dtypes or non-sparse input.
    """
    if not sp.issparse(a):
        raise TypeError(f"expected a scipy.sparse array or matrix, got {type(a).__name__}")
    if len(a.shape) != 2 or a.shape[0] != a.shape[1]:
        raise ValueError(f"expected a square matrix, got shape {a.shape}")
    n = a.shape[0]
    dtype = result_dtype(a.dtype)
    work = canonical_copy(a, dtype)
    info = inspect_compressed(work)
    if check_finite and not info["finite"]:
        raise ValueError("array must not contain infs or NaNs")
    return structure_from_info(n, dtype, info), work


def compressed_from_dense(a, nnz_hint=None):
    """Convert a C- or F-contiguous square ndarray (LAPACK dtype) to a canonical sparse
    array in one Cython pass, without transposing copies: an F-ordered ``a`` gives CSC,
    a C-ordered one gives CSR (its buffer is A^T in Fortran order)."""
    if a.flags.f_contiguous:
        buf, fmt = a, "csc"
    elif a.flags.c_contiguous:
        buf, fmt = a.T, "csr"
    else:
        buf, fmt = np.asfortranarray(a), "csc"
    data, indices, indptr = _k.dense_to_compressed(buf, nnz_hint)
    cls = sp.csc_array if fmt == "csc" else sp.csr_array
    work = cls((data, indices, indptr), shape=a.shape, copy=False)
    work.has_sorted_indices = True
    work.has_canonical_format = True
    return work


def dense_rhs(b, n=None):
    """``b`` as a dense ndarray (sparse b densified); shape kept (1-D or 2-D)."""
    if sp.issparse(b):
        b = b.toarray()
        # a sparse "vector" is 2-D (n, 1): keep it 2-D as scipy's spsolve returns (n,)
        # only for 1-D input
    b = np.asarray(b)
    if n is not None and (b.ndim not in (1, 2) or b.shape[0] != n):
        raise ValueError(f"incompatible dimensions: A is ({n}, {n}), b is {b.shape}")
    return b
