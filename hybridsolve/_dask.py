"""The front door's branch for Dask input (either argument a dask array).

Normalise as the in-process front door does -- shape errors at once, the same messages --
then build a ``Structure(format="dask")`` and let the registry price the Dask roads
(``hybridsolve.roads.dask``) like any other.  The result is a lazy dask array; singular
slices, NaN/inf and ill-conditioning are reported when it is computed.

``dask`` is imported only here, and this module only once a dask array has been seen.
"""
from __future__ import annotations

import numpy as np

from hybridsolve._protocol import Structure
from hybridsolve._solve import (_as_array, _factorize_with, _is_sparse, canonical_hint,
                                result_dtype)

__all__ = ["is_dask", "plan_dask", "solve_dask"]


def is_dask(x) -> bool:
    """True for a dask array (dask is imported only if ``x``'s type comes from it)."""
    if not type(x).__module__.startswith("dask"):
        return False
    import dask.array as da
    return isinstance(x, da.Array)


def _known_shape(x, name):
    if any(s != s for s in x.shape):       # NaN: unknown chunk sizes
        raise ValueError(f"{name} has unknown chunk sizes (shape {x.shape}); call "
                         f"{name}.compute_chunk_sizes() first")


def _operand(x, name):
    """A dask array, a scipy.sparse matrix (only for ``a``) or an ndarray."""
    if is_dask(x):
        _known_shape(x, name)
        return x
    if _is_sparse(x) and name == "a":
        return x
    if _is_sparse(x):
        return x.toarray()
    return _as_array(x, name)


def structure_for(a, dtype, hint, lower, check_finite, batch=(), nrhs=None):
    """The Structure the Dask roads price: format 'dask', the hint, and in ``extra``
    what the roads need (the kind of ``a``, its chunks, the batch shape, nrhs)."""
    n = int(a.shape[-1])
    kind = "dask" if is_dask(a) else ("sparse" if _is_sparse(a) else "ndarray")
    extra = {
        "a_kind": kind,
        "batch": tuple(int(s) for s in batch),
        "chunks": a.chunks if kind == "dask" else None,
        "nrhs": nrhs,
        "check_finite": bool(check_finite),
    }
    s = Structure(n, dtype, "dask", assume_a=hint, lower=bool(lower), extra=extra)
    if kind == "dask":
        s.notes.append(f"dask array, chunks {tuple(len(c) for c in a.chunks)} blocks of "
                       f"up to {a.chunksize}")
    return s


def plan_dask(a, *, assume_a=None, lower=False, check_finite=True, method=None,
              batch=None, nrhs=None):
    """``plan`` for a dask ``a`` (2-D, or a batch): price the Dask roads, factorize
    lazily with the cheapest."""
    hint = canonical_hint(assume_a)
    a = _operand(a, "a")
    if a.ndim < 2:
        raise ValueError(f"Expected at least ndim=2, got a.ndim={a.ndim}")
    if a.shape[-1] != a.shape[-2]:
        raise ValueError(f"Expected square matrix, got a.shape={a.shape}")
    dtype = result_dtype(a.dtype)
    if batch is None:
        batch = a.shape[:-2]
    structure = structure_for(a, dtype, hint, lower, check_finite, batch, nrhs)
    return _factorize_with(a, structure, method)


def solve_dask(a, b, hint, lower, transposed, check_finite, method):
    """``solve`` when ``a`` or ``b`` is a dask array: a lazy dask array shaped like b."""
    import dask.array as da
    a = _operand(a, "a")
    b = _operand(b, "b")
    if a.ndim < 2:
        raise ValueError(f"Expected at least ndim=2, got a.ndim={a.ndim}")
    if a.shape[-1] != a.shape[-2]:
        raise ValueError(f"Expected square matrix, got a.shape={a.shape}")
    if b.ndim == 0:
        raise ValueError("b must be at least 1-D")
    dtype = result_dtype(a.dtype, b.dtype)
    if dtype.kind == "c" and transposed:
        raise NotImplementedError("scipy.linalg.solve can currently not solve a^T x = b "
                                  "or a^H x = b for complex matrices.")
    b_is_1d = b.ndim == 1
    b2 = b[:, None] if b_is_1d else b
    n = a.shape[-1]
    if b2.shape[-2] != n:
        raise ValueError(f"incompatible shapes: a1.shape={a.shape} and "
                         f"b1.shape={b2.shape}")
    if hint not in (None, "gen") and _is_sparse(a):
        raise ValueError(f"assume_a={hint!r} is not supported for sparse or structured "
                         f"input; leave it None (the structure is detected)")
    try:
        batch = np.broadcast_shapes(a.shape[:-2], b2.shape[:-2])
    except ValueError:
        raise ValueError(f"incompatible shapes: a1.shape={a.shape} and "
                         f"b1.shape={b2.shape}") from None
    if 0 in a.shape or 0 in b2.shape:        # (a sparse a's size is its nnz)
        x = da.zeros(batch + (n, b2.shape[-1]), dtype=dtype)
        return x[..., 0] if b_is_1d else x
    rhs_batch = a.ndim == 2 and b2.ndim > 2
    if rhs_batch:
        # one matrix, a batch of right-hand sides: solve them as the columns of one b
        if not is_dask(b2):
            b2 = da.from_array(b2)
        cols = da.moveaxis(b2, -2, 0).reshape(n, -1)
    else:
        cols = b2
    p = plan_dask(a, assume_a=hint, lower=lower, check_finite=check_finite,
                  method=method, batch=a.shape[:-2], nrhs=int(cols.shape[-1]))
    fac = p.factorization
    if not getattr(fac, "lazy", False):
        # an in-process factorization (numpy/sparse a): warn now, as in-process
        from hybridsolve._solve import _warn_ill_conditioned
        _warn_ill_conditioned([(0, fac.rcond, fac.dtype)], stacklevel=3)
    x = fac.solve(cols, 1 if transposed else 0, check_finite=check_finite)
    if rhs_batch:
        x = da.moveaxis(x.reshape((n,) + b2.shape[:-2] + b2.shape[-1:]), 0, -2)
    return x[..., 0] if b_is_1d else x
