"""Dask road: a batch ``(..., n, n)`` chunked along its batch axes.

One task per chunk runs the in-process batched road's stack factorization
(``hybridsolve.roads.batched.BatchedStackFactorization``: one nogil kernel call, every
slice inspected, SPD -> Cholesky, else LU, no Python per slice), with ``b``'s chunks
aligned to ``a``'s.  A chunk with a singular slice or NaN/inf raises in its task, naming
flat indices into the whole batch (as scipy).  The task returns ``(x, ill)``, ``ill`` the
slices whose rcond < eps (a few numbers).  The last chunk's output task gathers every
other chunk's ``ill`` and issues one LinAlgWarning (no separate check task, and no wait
on another worker's result before the last chunk is out); the other chunks' outputs take
``x`` from their own task's result on the worker that holds it.  So the graph has
``3 * chunks - 1`` tasks and no chunk waits for another otherwise: ``da.store`` streams a
batch larger than memory chunk by chunk.
"""
from __future__ import annotations

import operator

import numpy as np

from hybridsolve._protocol import Solver, Structure
from hybridsolve.roads.dask import (TASK_COST, DaskFactorization, Graph, parallelism,
                                    reissue, task, tile_bounds)

__all__ = ["DaskBatchSolver", "DaskBatchFactorization"]


@task
def solve_chunk(a, b, offset, batch, trans, check_finite, dtype):
    """Solve one chunk (its first slice at ``offset`` in the whole ``batch``) with the
    in-process batched road's stack factorization; returns ``(x, ill)``, ``ill`` the
    [(flat index in the batch, rcond)] of the slices whose rcond < eps.  NaN/inf or
    singular slices raise (naming flat indices into the whole batch, as scipy)."""
    from hybridsolve.roads.batched import BatchedStackFactorization
    shape = a.shape[:-2]
    n, k = b.shape[-2:]

    def flat_index(local):
        idx = np.unravel_index(np.asarray(local), shape)
        return np.ravel_multi_index(tuple(i + o for i, o in zip(idx, offset)), batch)

    stack = BatchedStackFactorization(a.reshape((-1, n, n)).astype(dtype, copy=False),
                                      shape, check_finite, flat_index)
    x = stack.solve(b.reshape((-1, n, k)).astype(dtype, copy=False), trans)
    eps = np.finfo(dtype).eps
    rcond = stack.rcond
    ill = []
    if rcond.size and rcond.min() < eps:   # one pass, no m-sized temporary if none is
        bad = np.flatnonzero(rcond < eps)
        ill = list(zip(flat_index(bad).tolist(), rcond[bad].tolist()))
    return x.reshape(shape + (n, k)), ill


def finish(raw, dtype, *ills):
    """The last chunk's ``x`` once every chunk has run: one LinAlgWarning for every
    ill-conditioned slice of every chunk (``raw`` is the last chunk's ``(x, ill)``,
    ``ills`` the other chunks' ``ill``)."""
    from hybridsolve._solve import _warn_ill_conditioned
    items = [(idx, rc, dtype) for ill in ills + (raw[1],) for idx, rc in ill]
    if items:
        items.sort()
        reissue(_warn_ill_conditioned, items, 0)
    return raw[0]


def task_count(nchunks):
    """Tasks of the batch graph for ``nchunks`` chunks: one solve per chunk, for every
    chunk but the last an output and an ``ill`` task, and the last chunk's ``finish``."""
    return 3 * nchunks - 1


class DaskBatchFactorization(DaskFactorization):
    """The batch ``a`` kept lazily; ``solve`` builds the per-chunk graph."""

    kind = "dask-batch"

    def __init__(self, a, dtype, check_finite):
        super().__init__(a.shape, dtype, check_finite)
        self.a = a
        nchunks = int(np.prod(a.numblocks[:-2]))
        self.notes = (f"dask: batched kernel per chunk; {nchunks} chunks of up to "
                      f"{a.chunksize[:-2]} slices of {a.shape[-1]} x {a.shape[-1]}, "
                      f"{task_count(nchunks)} tasks, no bytes moved between chunks "
                      f"(b is rechunked to a's chunks)",)

    def _solve(self, b, trans, check_finite):
        import dask.array as da
        from dask.base import tokenize
        from dask.highlevelgraph import HighLevelGraph
        a = self.a
        n = a.shape[-1]
        b = b if isinstance(b, da.Array) else da.from_array(b, chunks=b.shape)
        if b.ndim == 1:
            b = b[:, None]
        batch = np.broadcast_shapes(a.shape[:-2], b.shape[:-2])
        k = b.shape[-1]
        a = da.broadcast_to(a, batch + (n, n))
        b = da.broadcast_to(b, batch + (n, k))
        a = a.rechunk(a.chunks[:-2] + ((n,), (n,)))
        b = b.rechunk(a.chunks[:-2] + ((n,), (k,)))
        dtype = np.result_type(self.dtype, b.dtype)
        name = "hybridsolve-batch-" + tokenize(a, b, trans, check_finite)
        g = Graph()
        starts = [tile_bounds(c) for c in a.chunks[:-2]]
        blocks = list(np.ndindex(*a.numblocks[:-2]))
        raws = []
        for idx in blocks:
            offset = tuple(s[i] for s, i in zip(starts, idx))
            raws.append(g.add((name + "-raw",) + idx,
                              (solve_chunk, (a.name,) + idx + (0, 0),
                               (b.name,) + idx + (0, 0), offset, batch, trans,
                               check_finite, dtype)))
        ills = []
        for idx, raw in zip(blocks[:-1], raws):
            g.add((name,) + idx + (0, 0), (operator.getitem, raw, 0))
            ills.append(g.add((name + "-ill",) + idx, (operator.getitem, raw, 1)))
        g.add((name,) + blocks[-1] + (0, 0), (finish, raws[-1], dtype) + tuple(ills))
        graph = HighLevelGraph.from_collections(name, g.layer, dependencies=[a, b])
        return da.Array(graph, name, chunks=b.chunks, dtype=dtype)


class DaskBatchSolver(Solver):
    """A batch of small systems on Dask: the batched kernel on each chunk."""

    name = "dask_batch"
    formats = ("dask",)

    def cost(self, structure: Structure):
        batch = structure.extra.get("batch", ())
        if not batch:
            return None, "not a batch (a is 2-D)"
        if structure.assume_a is not None:
            return None, (f"assume_a={structure.assume_a!r}: the batched kernel detects "
                          f"the structure of each slice itself")
        n = float(structure.n)
        m = float(np.prod(batch))
        k = float(structure.extra.get("nrhs") or 1)
        flops = m * (n ** 3 / 3.0 + 2.0 * n * n * k)
        if structure.is_complex:
            flops *= 4.0
        chunks = structure.extra.get("chunks")
        tasks = task_count(int(np.prod([len(c) for c in chunks[:-2]])) if chunks else 1)
        return flops / parallelism() + tasks * TASK_COST

    def factorize(self, a, structure: Structure) -> DaskBatchFactorization:
        import dask.array as da
        if not isinstance(a, da.Array):
            a = da.from_array(np.asarray(a), chunks=("auto",) * (a.ndim - 2) + (-1, -1))
        return DaskBatchFactorization(a, structure.dtype,
                                      structure.extra.get("check_finite", True))
