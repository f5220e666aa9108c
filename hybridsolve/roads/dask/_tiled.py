"""What the tiled roads (``cholesky``, ``lu``) share: square tiles of A, the tile tasks
(pure functions around the nogil kernels of ``hybridsolve._kernels.tiles``: each copies
its input, so a task never modifies a value another task may read), the right-hand side
tiling, and the condition estimate evaluated inside the graph.
"""
from __future__ import annotations

import numpy as np
from numpy.linalg import LinAlgError

from hybridsolve.roads.dask import (BYTE_COST, DEFAULT_TILE, TASK_COST, DaskFactorization,
                                    parallelism, task)


def price(structure, flops, tile_counts):
    """The price of a tiled road for one 2-D dask ``a`` (or why it cannot take it):
    ``flops`` shared by the workers, plus each task's overhead and each tile moved
    along a graph edge (``tile_counts(p)`` -> (tasks, tile transfers))."""
    if structure.extra.get("batch"):
        return None, "a batch of matrices (see dask_batch)"
    if structure.extra.get("a_kind") != "dask":
        return None, "a is not a dask array"
    n = float(structure.n)
    t = float(max(structure.extra["chunks"][0]))
    tasks, moved = tile_counts(int(np.ceil(n / t)))
    if structure.is_complex:
        flops *= 4.0
    return (flops / parallelism() + tasks * TASK_COST
            + moved * t * t * structure.dtype.itemsize * BYTE_COST)

# --------------------------------------------------------------------------- tiles


def square_tiles(a):
    """``a`` with equal row and column block sizes (rechunked to square tiles of its
    largest chunk size, at least ``DEFAULT_TILE`` when it was not square)."""
    if a.chunks[0] == a.chunks[1]:
        return a
    n = a.shape[0]
    t = min(n, max(max(a.chunksize), min(DEFAULT_TILE, n)))
    return a.rechunk((t, t))


def fcopy(x, dtype=None):
    return np.array(x, dtype=dtype if dtype is not None else x.dtype, order="F",
                    copy=True)


def zero_strict_upper(m):
    """Zero the strict upper triangle of the square ``m`` in place, one contiguous
    column (F order) or row (C order) at a time: no index arrays of n^2 / 2 entries, as
    ``m[np.triu_indices(n, 1)] = 0`` builds, and no second tile, as ``np.tril``."""
    n = m.shape[0]
    if m.flags.f_contiguous:
        for j in range(1, n):
            m[:j, j] = 0
    else:
        for i in range(n - 1):
            m[i, i + 1:] = 0
    return m


def triangle(a, lower, k=0):
    """The lower (entries i - j >= -k... as numpy.tril(a, k)) or upper (numpy.triu(a, k))
    triangle of the square dask ``a`` (dask's own tril/triu warn on complex input)."""
    import dask.array as da
    n = a.shape[0]
    if lower:
        mask = da.tri(n, n, k, chunks=a.chunks, dtype=bool)
    else:
        mask = ~da.tri(n, n, k - 1, chunks=a.chunks, dtype=bool)
    return da.where(mask, a, a.dtype.type(0))


def prep(tile, dtype, check_finite, conj_transpose=False):
    """A private F-ordered copy of one tile of A in the computation dtype (of its
    conjugate transpose when ``conj_transpose``); NaN/inf raises with check_finite."""
    if check_finite and tile.dtype.kind in "fc" and not np.isfinite(tile).all():
        raise ValueError("array must not contain infs or NaNs")
    if conj_transpose:
        tile = tile.conj().T
    return fcopy(tile, dtype)


@task
def trsm(t, b, left, lower, trans, unit):
    from hybridsolve._kernels import tiles
    w = fcopy(b)
    tiles.trsm(np.asfortranarray(t), w, left, lower, trans, unit)
    return w


@task
def gemm(c, a, b, transa, transb):
    """c - op(a) op(b)."""
    from hybridsolve._kernels import tiles
    w = fcopy(c)
    tiles.gemm(w, np.asfortranarray(a), np.asfortranarray(b), transa, transb)
    return w


@task
def herk(c, a):
    """lower(c - a a^H)."""
    from hybridsolve._kernels import tiles
    w = fcopy(c)
    tiles.herk(w, np.asfortranarray(a))
    return w


def rhs_tiles(b, rows, dtype):
    """``b`` (dask, 2-D) rechunked to the row blocks ``rows`` of A's tiles (columns as
    the caller chunked them), in ``dtype``."""
    return b.astype(dtype).rechunk({0: rows})


# --------------------------------------------------------------------------- rcond


def _check_rcond(rc, dtype):
    """Warn (at compute time) when the estimated rcond is below eps."""
    from hybridsolve._solve import _warn_ill_conditioned
    from hybridsolve.roads.dask import reissue
    reissue(_warn_ill_conditioned, [(0, float(rc), np.dtype(dtype))], 0)
    return rc


def _hager_sign(va):
    """xi = sign(v) (complex: v / |v|, 1 where v is 0) of the first column ``v`` of
    ``va`` (A^-1 [e/n, alt]), as an n x 1 block: the right-hand side of the second
    step."""
    v = va[:, :1]
    if v.dtype.kind == "c":
        av = np.abs(v)
        return np.where(av == 0, 1, v / np.where(av == 0, 1, av)).astype(v.dtype)
    return np.where(v >= 0, 1.0, -1.0).astype(v.dtype)


def _hager_unit(z):
    """e_j, j = argmax |z| (the first one, as LAPACK's IDAMAX), as an n x 1 block."""
    e = np.zeros_like(z[:, :1])
    e[int(np.argmax(np.abs(z[:, 0]))), 0] = 1
    return e


def _hager_rcond(w, va, anorm, dtype):
    """The estimate from the three solves' results (``va`` = A^-1 [e/n, alt], ``w`` =
    A^-1 e_j): ||A^-1||_1 >= max(||v||_1, ||w||_1, 2 ||A^-1 alt||_1 / (3n)); rcond =
    1 / (||A||_1 ||A^-1||_1) (0 for a zero A), warned about if < eps."""
    n = va.shape[0]
    est = max(float(np.abs(va[:, 0]).sum()), float(np.abs(w).sum()),
              2.0 * float(np.abs(va[:, 1]).sum()) / (3.0 * n))
    anorm = float(anorm)
    rc = 0.0 if (anorm == 0 or est == 0) else 1.0 / (anorm * est)
    return np.array(_check_rcond(rc, dtype))


def rcond_estimate(solve_raw, n, anorm, dtype):
    """Hager-Higham's estimate of 1 / (||A||_1 ||A^-1||_1), as LAPACK's xLACN2 with its
    iteration unrolled into the graph (two steps and the alternating-sign test vector:
    the number of steps LAPACK needs on almost every matrix); ``solve_raw(b, trans)``
    solves with the tiled factors.  The first step and the test vector are solved
    together (one two-column solve), so the estimate adds three solves in sequence,
    joined by one task each (the sign vector, the unit vector e_j, the estimate): the
    glue between solves is on the critical path of a factor-and-solve graph, and as
    dask.array operations it was a dozen tasks in sequence.  A lazy 0-d dask array
    that warns when computed if rcond < eps."""
    import dask.array as da
    from dask.base import tokenize
    from dask.highlevelgraph import HighLevelGraph
    dtype = np.dtype(dtype)
    i = np.arange(n)
    alt = ((-1.0) ** i * (1.0 + i / max(n - 1, 1))).astype(dtype)
    first = np.stack([np.full(n, 1.0 / n, dtype=dtype), alt], axis=1)
    va = solve_raw(da.from_array(first, chunks=(n, 2)), 0).rechunk({0: -1})
    xi = va.map_blocks(_hager_sign, chunks=((n,), (1,)), dtype=va.dtype)
    z = solve_raw(xi, 2 if dtype.kind == "c" else 1).rechunk({0: -1})
    ej = z.map_blocks(_hager_unit, dtype=z.dtype)
    w = solve_raw(ej, 0).rechunk({0: -1})
    name = "hybridsolve-rcond-" + tokenize(w, va, anorm)
    layer = {(name,): (_hager_rcond, (w.name, 0, 0), (va.name, 0, 0), (anorm.name,),
                       dtype)}
    graph = HighLevelGraph.from_collections(name, layer, dependencies=[w, va, anorm])
    return da.Array(graph, name, chunks=(), dtype=float)


def _gate(x, rc):
    return x


class TiledFactorization(DaskFactorization):
    """Factors held as tile keys of one graph; ``_solve_raw(b, trans)`` solves with
    them (a dask array in, a dask array out); ``_solve`` adds the condition check."""

    def __init__(self, a2, graph, dtype, check_finite, anorm):
        super().__init__(a2.shape, dtype, check_finite)
        self.a2 = a2                    # A in square tiles, computation dtype
        self.graph = graph              # the factor Graph (layer, counts)
        self.p = len(a2.chunks[0])
        self.rows = a2.chunks[0]
        self.anorm = anorm              # lazy 0-d ||A||_1

    def _rhs(self, b):
        import dask.array as da
        if not isinstance(b, da.Array):
            b = da.from_array(b, chunks=(self.rows, b.shape[1]))
        return rhs_tiles(b, self.rows, np.result_type(self.dtype, b.dtype))

    def _refine(self, b, x, trans):
        return x

    def _solve(self, b, trans, check_finite):
        import dask.array as da
        b = self._rhs(b)
        if check_finite:
            b = b.map_blocks(_finite, dtype=b.dtype)
        x = self._refine(b, self._solve_raw(b, trans), trans)
        rc = rcond_estimate(self._solve_raw, self.shape[0], self.anorm, self.dtype)
        return da.map_blocks(_gate, x, rc, dtype=x.dtype)


def _finite(b):
    if not np.isfinite(b).all():
        raise ValueError("array must not contain infs or NaNs")
    return b


def singular(detail):
    return LinAlgError(f"A singular matrix detected: {detail}")


__all__ = ["price", "square_tiles", "zero_strict_upper", "triangle", "prep", "trsm", "gemm", "herk",
           "rcond_estimate", "TiledFactorization"]
