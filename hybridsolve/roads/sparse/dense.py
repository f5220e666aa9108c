"""sparse_dense: a DENSE ndarray that is mostly zeros, solved on its nonzeros by the
cheapest registered sparse road (built-in or a plugin: the registry prices them)."""
from __future__ import annotations

import numpy as np
import scipy.sparse as sp

from hybridsolve._inspect import CAPTURE_MAX_DENSITY as _DENSE_MAX_DENSITY
from hybridsolve._inspect import CAPTURE_MIN_N as _DENSE_MIN_N
from hybridsolve._tuning import value as _tuned
from hybridsolve.plugin import NotApplicable, Solver, Structure
from hybridsolve.roads.sparse._common import lu_flops, sparse_cost, spd_candidate

__all__ = ["SparseStoredDenseSolver"]

# (the road needs at least n = CAPTURE_MIN_N and at most CAPTURE_MAX_DENSITY: the limits
# under which the front door's inspection captures the nonzeros without copying A)

# Pricing constants: hybridsolve._tuning (defaults and reasons there).
#: dense-flop equivalents per entry read by the dense -> compressed pass (not charged
#: when the inspection already captured the nonzeros)
_DENSE_SCAN_WEIGHT = _tuned("sparse_dense_scan_weight")
#: fixed cost of the sparse path on compressed arrays (wrapping, pricing, scipy.sparse)
_DENSE_CAPTURED_OVERHEAD = _tuned("sparse_dense_overhead")
#: ... plus, when the sparse road is a factorization (not a diagonal, triangular or
#: banded one), that library's fixed cost: where the dense banded road overtakes
#: sparse_dense
_DENSE_FACTOR_OVERHEAD = _tuned("sparse_dense_factor_overhead")
#: the sparse roads without a factorization library's fixed cost
_LIGHT_ROADS = frozenset(("sparse_diagonal", "sparse_triangular", "sparse_banded"))


def _sparse_candidates(sub):
    """The registered roads that take ``sub`` (a sparse structure), cheapest first, each
    priced without the registry's per-call overhead (this road's own fixed costs below
    cover the call into the sub-road, and the registry charges this road's call)."""
    from hybridsolve import _registry
    return [(c - _registry._overhead(road), road) for c, road in _registry.price(sub)[0]]


class SparseStoredDenseSolver(Solver):
    """A dense ndarray that is mostly zeros: take the cheapest sparse road on its
    nonzeros -- those the front door's inspection captured (``extra['captured']``:
    no pass over A at all here), else converted to CSC/CSR in one Cython pass (no
    transposing copy).  Only reads the dense array: no working copy needed."""

    formats = ("dense",)
    name = "sparse_dense"
    hints = (None, "gen")    # another hint: the hinted road is kept
    needs_copy = False

    def cost(self, s):
        if s.format != "dense":
            return None, "not a dense ndarray"
        if s.assume_a not in (None, "gen"):
            return None, f"assume_a={s.assume_a!r} given: the hinted road is kept"
        if s.nnz is None:
            at_least = s.extra.get("nnz_at_least") if s.extra else None
            if at_least is not None and s.n:
                return None, (f"density >= {at_least / (s.n * s.n):.3g} > "
                              f"{_DENSE_MAX_DENSITY}")
            return None, "nonzero count unknown"
        n = s.n
        if n < _DENSE_MIN_N:
            return None, f"n={n} < {_DENSE_MIN_N}: too small to pay"
        if s.nnz > _DENSE_MAX_DENSITY * n * n:
            return None, f"density {s.nnz / (n * n):.3g} > {_DENSE_MAX_DENSITY}"
        sub = _sub_structure(s)
        candidates = _sparse_candidates(sub)
        if candidates:
            best, road = candidates[0]
        else:
            best = sparse_cost(lu_flops(sub) * (0.5 if spd_candidate(sub) else 1.0))
            road = None
        if road is None or road.name not in _LIGHT_ROADS:
            best += _DENSE_FACTOR_OVERHEAD
        best += _DENSE_CAPTURED_OVERHEAD
        if s.extra.get("captured") is not None:
            return best
        # the conversion pass reads n^2 entries at memory speed (~1-2 ns each, i.e.
        # tens of dense flops each)
        return best + _DENSE_SCAN_WEIGHT * n * n

    def factorize(self, a, s):
        from hybridsolve._sparse import compressed_from_dense, inspect_compressed, \
            structure_from_info
        work = _captured(s)
        if work is not None:
            sub = _sub_structure(s)
            sub.extra["diag_nonzero"] = s.extra.get("diag_nonzero")
            sub.extra["pattern_symmetric"] = s.extra.get("pattern_symmetric")
            how = "nonzeros captured by the inspection as"
        else:
            a = np.asarray(a)
            if a.ndim != 2 or a.shape[0] != a.shape[1]:
                raise ValueError(f"expected a square matrix, got shape {a.shape}")
            work = compressed_from_dense(a, s.nnz)
            info = inspect_compressed(work)
            sub = structure_from_info(a.shape[0], work.dtype, info)
            how = "dense ndarray converted to"
        declined = []
        for _, road in _sparse_candidates(sub):
            try:
                f = road.factorize(work, sub)
            except NotApplicable as exc:
                declined.append(f"{road.name}: {exc}")
                continue
            f.notes = tuple(getattr(f, "notes", ())) + (
                f"{how} {work.format.upper()} (nnz={work.nnz}), solved by {road.name}",)
            return f
        raise NotApplicable("no sparse road took the nonzeros"
                            + (f" ({'; '.join(declined)})" if declined else ""))


def _captured(s):
    """A as a canonical sparse array built on the nonzeros the front door's inspection
    captured (``extra['captured']``), or None."""
    c = s.extra.get("captured") if s.extra else None
    if c is None:
        return None
    fmt, data, indices, indptr = c
    if data.dtype != s.dtype or indptr.shape != (s.n + 1,):
        return None
    cls = sp.csc_array if fmt == "csc" else sp.csr_array
    w = cls((data, indices, indptr), shape=(s.n, s.n), copy=False)
    w.has_sorted_indices = True
    w.has_canonical_format = True
    return w


def _sub_structure(s):
    return Structure(s.n, s.dtype, "sparse", finite=s.finite, symmetric=s.symmetric,
                     hermitian=s.hermitian, diag_real_positive=s.diag_real_positive,
                     lower_bandwidth=s.lower_bandwidth, upper_bandwidth=s.upper_bandwidth,
                     nnz=s.nnz, norm1=s.norm1)
