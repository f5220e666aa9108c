"""Dask road: one matrix small enough for one worker, many right-hand sides.

Factor once with the in-process dispatch (``hybridsolve.factorize``: every in-process
road is a candidate), hold the factorization in ONE key of the graph -- computed by one
task when ``a`` is a dask array, or factored at once when it is a numpy / scipy.sparse
array -- and solve the column chunks of ``b`` in parallel, each task reading that key (a
distributed cluster ships the pickled factorization to each worker once).
"""
from __future__ import annotations

import uuid

import numpy as np

from hybridsolve._protocol import Solver, Structure
from hybridsolve.roads.dask import (BYTE_COST, IN_PROCESS_MAX_BYTES, TASK_COST,
                                    DaskFactorization, parallelism, reissue)

__all__ = ["DaskManyRHSSolver", "DaskManyRHSFactorization"]


def factor(a, hint, lower, check_finite):
    """The in-process factorization of ``a`` (a task when ``a`` is lazy): singular A
    raises LinAlgError, rcond < eps warns (on the client, through the worker)."""
    from hybridsolve._solve import _warn_ill_conditioned, factorize
    fac = factorize(a, assume_a=hint, lower=lower, check_finite=check_finite)
    reissue(_warn_ill_conditioned, [(0, fac.rcond, fac.dtype)], 0)
    return fac


def solve_block(fac, b, trans, check_finite):
    """``fac.solve`` on one column block of b."""
    return fac.solve(b, trans, check_finite=check_finite)


class DaskManyRHSFactorization(DaskFactorization):
    """An in-process factorization held in one graph key (``key``, in ``layer``)."""

    kind = "dask-many-rhs"

    def __init__(self, layer, key, deps, shape, dtype, check_finite, inner=None):
        super().__init__(shape, dtype, check_finite)
        self.layer = layer
        self.key = key
        self.deps = deps
        self.inner = inner                 # the factorization itself, when eager
        self.lazy = inner is None
        if inner is not None:
            self.rcond = inner.rcond
            self.kind = f"dask-many-rhs ({inner.kind})"
        n = shape[0]
        self.notes = (f"dask: factor once in-process "
                      f"({'now' if inner is not None else 'in one task'}), ship the "
                      f"factorization (~{n * n * self.dtype.itemsize / 1e6:.3g} MB) once "
                      f"per worker, one task per column chunk of b",)

    def _solve(self, b, trans, check_finite):
        import dask.array as da
        from dask.base import tokenize
        from dask.highlevelgraph import HighLevelGraph
        n = self.shape[0]
        if not isinstance(b, da.Array):
            b = da.from_array(b, chunks=b.shape)
        b = b.rechunk({b.ndim - 2: (n,)})
        dtype = np.result_type(self.dtype, b.dtype)
        name = "hybridsolve-rhs-" + tokenize(self.key, b, trans, check_finite)
        layer = dict(self.layer)
        for idx in np.ndindex(*b.numblocks):
            layer[(name,) + idx] = (solve_block, self.key, (b.name,) + idx, trans,
                                    check_finite)
        graph = HighLevelGraph.from_collections(name, layer,
                                                dependencies=[b] + list(self.deps))
        return da.Array(graph, name, chunks=b.chunks, dtype=dtype)


class DaskManyRHSSolver(Solver):
    """One matrix, many right-hand sides on Dask; see the module docstring."""

    name = "dask_many_rhs"
    formats = ("dask",)

    def cost(self, structure: Structure):
        if structure.extra.get("batch"):
            return None, "a batch of matrices (see dask_batch)"
        n = float(structure.n)
        nbytes = n * n * structure.dtype.itemsize
        kind = structure.extra.get("a_kind")
        if kind == "dask" and nbytes > IN_PROCESS_MAX_BYTES:
            return None, (f"A ({nbytes / 2 ** 30:.3g} GiB) is larger than one worker "
                          f"should factor ({IN_PROCESS_MAX_BYTES / 2 ** 30:.3g} GiB)")
        k = float(structure.extra.get("nrhs") or 1)
        workers = parallelism()
        if kind == "sparse":
            factor_flops = 0.0            # priced by the in-process sparse roads
        elif structure.assume_a == "pos":
            factor_flops = n ** 3 / 3.0
        else:
            factor_flops = 2.0 * n ** 3 / 3.0
        flops = factor_flops + 2.0 * n * n * k / workers
        if structure.is_complex:
            flops *= 4.0
        moved = nbytes * (workers + (1 if kind == "dask" else 0))
        return flops + moved * BYTE_COST + (workers + 1) * TASK_COST

    def factorize(self, a, structure: Structure) -> DaskManyRHSFactorization:
        import dask.array as da
        from dask.base import tokenize
        hint, lower = structure.assume_a, structure.lower
        check_finite = structure.extra.get("check_finite", True)
        n = structure.n
        if isinstance(a, da.Array):
            a1 = a.rechunk((n, n))
            key = "hybridsolve-factor-" + tokenize(a1, hint, lower, check_finite)
            layer = {key: (factor, (a1.name, 0, 0), hint, lower, check_finite)}
            return DaskManyRHSFactorization(layer, key, [a1], (n, n), structure.dtype,
                                            check_finite)
        from hybridsolve._solve import factorize
        fac = factorize(a, assume_a=hint, lower=lower, check_finite=check_finite)
        key = "hybridsolve-factor-" + uuid.uuid4().hex
        return DaskManyRHSFactorization({key: fac}, key, [], (n, n), fac.dtype,
                                        check_finite, inner=fac)
