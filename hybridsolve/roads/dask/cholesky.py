"""Dask road: tiled right-looking Cholesky of one large Hermitian positive definite A.

A in square tiles (rechunked if its chunks are not), only the lower tiles used::

    for k:   L[k,k] = potrf(A[k,k])
             L[i,k] = A[i,k] L[k,k]^-H                    (trsm, i > k)
             A[i,j] -= L[i,k] L[j,k]^H                     (gemm, or herk when i == j)

one task per tile operation (``hybridsolve._kernels.tiles``, nogil), then the blocked
triangular solves L y = b, L^H x = y per column chunk of b.  With ``assume_a='pos'`` only
the named triangle is read (as scipy); with no hint the road is tried when A looks
Hermitian with a positive diagonal, which it checks with one pass over the tiles
(computed at once; give ``assume_a`` to keep everything lazy).  A failing pivot raises
LinAlgError at compute time: a tiled graph cannot fall back to LU mid-way.
"""
from __future__ import annotations

import numpy as np
from numpy.linalg import LinAlgError

from hybridsolve._protocol import NotApplicable, Solver, Structure
from hybridsolve.roads.dask import Graph, after, describe, task, tile_bounds
from hybridsolve.roads.dask import _tiled as T

__all__ = ["DaskCholeskySolver", "DaskCholeskyFactorization"]


@task
def potrf(a, offset, detected):
    from hybridsolve._kernels import tiles
    w = T.fcopy(a)
    info = tiles.potrf(w)
    if info:
        minor = offset + info
        if detected:
            raise LinAlgError(
                f"A looked Hermitian positive definite (Hermitian, positive diagonal) "
                f"but is not: the leading minor of order {minor} is not positive "
                f"definite; solve it with assume_a='gen'")
        raise LinAlgError(f"A singular or not positive definite matrix detected: the "
                          f"leading minor of order {minor} is not positive definite")
    T.zero_strict_upper(w)
    return w


@task
def forward_column(y, lkk, *lik):
    """One column step of ``L y = b``: ``y`` is the whole column block of the
    right-hand side with its tile rows before ``k`` solved; this step solves tile row
    ``k`` with ``lkk`` (the diagonal tile) and updates the rows below it with ``lik``
    (the tiles of L's column ``k`` under the diagonal).  One task per tile column
    instead of one per tile; only the column block of b moves between steps.  Returns
    a new array."""
    from hybridsolve._kernels import tiles
    w = T.fcopy(y)
    s = w.shape[0] - lkk.shape[0] - sum(t.shape[0] for t in lik)
    e = s + lkk.shape[0]
    yk = T.fcopy(w[s:e])
    tiles.trsm(np.asfortranarray(lkk), yk, True, True, 0, False)
    w[s:e] = yk
    for t in lik:
        r = T.fcopy(w[e:e + t.shape[0]])
        tiles.gemm(r, np.asfortranarray(t), yk, 0, 0)
        w[e:e + t.shape[0]] = r
        e += t.shape[0]
    return w


@task
def backward_column(x, lkk, *lik):
    """One column step of ``L^H x = y``: ``x``'s tile rows after ``k`` solved, row ``k``
    becomes ``L[k,k]^-H (y_k - sum_i L[i,k]^H x_i)`` over the tiles ``lik`` of L's column
    ``k`` under the diagonal (as ``forward_column``)."""
    from hybridsolve._kernels import tiles
    w = T.fcopy(x)
    s = w.shape[0] - lkk.shape[0] - sum(t.shape[0] for t in lik)
    e = s + lkk.shape[0]
    xk = T.fcopy(w[s:e])
    for t in lik:
        tiles.gemm(xk, np.asfortranarray(t), T.fcopy(w[e:e + t.shape[0]]), 2, 0)
        e += t.shape[0]
    tiles.trsm(np.asfortranarray(lkk), xk, True, True, 2, False)
    w[s:s + lkk.shape[0]] = xk
    return w


def tile_sums(tile, diagonal, upper, check_finite):
    """Column and row sums of |lower tile| (a diagonal tile: of its lower triangle, the
    rows without the diagonal): the two places the tile sits in the Hermitian A.
    ``tile`` is A's tile as stored: the lower tile is its conjugate transpose when
    ``upper``.  One pass over the tile in its memory order (``tiles.abs_sums``), which
    also checks it is finite (with ``check_finite``; the factor tasks that read it wait
    for this task)."""
    from hybridsolve._kernels import tiles
    rows, cols, rest = tiles.abs_sums(tile, diagonal, upper)   # (tiles in a LAPACK dtype)
    if (check_finite and not np.isfinite(float(rows.sum()) + rest)
            and not np.isfinite(tile).all()):
        raise ValueError("array must not contain infs or NaNs")
    if upper:                   # the lower tile is the stored one transposed
        rows, cols = cols, rows
    if diagonal:                # the rows of the lower tile without the diagonal
        rows = rows - np.abs(np.diagonal(tile))
    return cols, rows


def lower_view(tile, sums, upper):
    """The lower tile as stored in A (its conjugate transpose when ``upper``), once its
    ``sums`` (``tile_sums``: the finiteness check) are in; a view when it can be (the
    tasks that read it copy before writing)."""
    return tile.conj().T if upper else tile


def finite(tile):
    """None; ValueError when ``tile`` holds NaN/inf (scipy's check_finite reads all of
    A, also the triangle the factorization does not)."""
    if not np.isfinite(tile).all():
        raise ValueError("array must not contain infs or NaNs")


def norm_from_sums(p, *sums):
    """||A||_1 from ``tile_sums`` of the lower tiles (i, j), i >= j, in row order."""
    cols = {}
    it = iter(sums)
    for i in range(p):
        for j in range(i + 1):
            col, row = next(it)
            cols[j] = cols.get(j, 0) + col     # the tile itself, in column block j
            cols[i] = cols.get(i, 0) + row     # its conjugate transpose, in block i
    return np.array(max(float(np.max(c)) if np.size(c) else 0.0 for c in cols.values()))


def tile_counts(p):
    """(tasks, tile transfers) of the factor graph for p x p tiles."""
    tasks = moved = 0
    for k in range(p):
        r = p - k - 1
        tasks += 1 + r + r * (r + 1) // 2
        moved += 2 * r + 3 * (r * (r + 1) // 2)
    return tasks, moved


class DaskCholeskyFactorization(T.TiledFactorization):
    kind = "dask-cholesky"

    def __init__(self, a2, dtype, hint_lower, detected, check_finite):
        import dask.array as da
        from dask.base import tokenize
        p = len(a2.chunks[0])
        sizes = a2.chunks[0]
        starts = tile_bounds(sizes)
        name = "hybridsolve-chol-" + tokenize(a2, dtype, hint_lower, detected,
                                              check_finite)
        itemsize = np.dtype(dtype).itemsize
        g = Graph()
        for key in np.ndindex(p, p):              # A's tiles: the graph's inputs
            g.nbytes[(a2.name,) + key] = sizes[key[0]] * sizes[key[1]] * itemsize
        upper = not hint_lower
        # A's lower tile (i, j) -- of the upper triangle when the hint names it -- is
        # read by its first factor task directly (``lower_view`` inlined in that task,
        # no copy task); ``tile_sums`` reads it once for ||A||_1 and the finiteness
        # check, and that first task waits for it
        A, deps, sums = {}, {}, []      # the term reading tile (i, j) now, its keys
        for i in range(p):
            for j in range(i + 1):
                src = (a2.name, j, i) if upper else (a2.name, i, j)
                sk = g.add((name + "-sums", i, j),
                           (tile_sums, src, i == j, upper, check_finite),
                           8 * (sizes[i] + sizes[j]), [src])
                sums.append(sk)
                A[i, j], deps[i, j] = (lower_view, src, sk, upper), [src, sk]
        L = {}
        for k in range(p):
            t = sizes[k]
            L[k, k] = g.add((name + "-L", k, k), (potrf, A[k, k], starts[k], detected),
                            t * t * itemsize, deps[k, k], t ** 3 / 3.0)
            for i in range(k + 1, p):
                L[i, k] = g.add((name + "-L", i, k),
                                (T.trsm, L[k, k], A[i, k], False, True, 2, False),
                                sizes[i] * t * itemsize, deps[i, k] + [L[k, k]],
                                sizes[i] * t * t)
            for j in range(k + 1, p):
                for i in range(j, p):
                    key = (f"{name}-A{k}", i, j)
                    if i == j:
                        task = (T.herk, A[j, j], L[j, k])
                    else:
                        task = (T.gemm, A[i, j], L[i, k], L[j, k], 0, 2)
                    A[i, j] = g.add(key, task, sizes[i] * sizes[j] * itemsize,
                                    deps[i, j] + [L[i, k], L[j, k]],
                                    2.0 * sizes[i] * sizes[j] * t)
                    deps[i, j] = [key]
        self.name = name
        self.L = L
        # ||A||_1 of the Hermitian matrix the named triangle defines, from the tile sums
        # (a few numbers per tile)
        nname = name + "-norm"
        layer = dict(g.layer)
        layer[(nname,)] = (norm_from_sums, p) + tuple(sums)
        if check_finite:        # the tiles of the triangle not read: checked, for scipy's
            checks = []         # errors (the norm, which every solve reads, waits)
            for i in range(p):
                for j in range(i):
                    src = (a2.name, i, j) if upper else (a2.name, j, i)
                    layer[(name + "-finite", i, j)] = (finite, src)
                    checks.append((name + "-finite", i, j))
            if checks:
                layer[(nname,)] = (after, layer[(nname,)]) + tuple(checks)
        from dask.highlevelgraph import HighLevelGraph
        anorm = da.Array(HighLevelGraph.from_collections(nname, layer, dependencies=[a2]),
                         nname, chunks=(), dtype=float)
        super().__init__(a2, g, dtype, check_finite, anorm)
        self.notes = (describe(g, max(sizes), p, "tiled right-looking Cholesky "
                               "(potrf/trsm/herk/gemm tiles)", solve_tasks(p)),)

    def _solve_raw(self, b, trans):
        """L L^H x = b per column chunk of b (trans 1 of a complex A: conj(A) x = b):
        ``2p`` column steps (``forward_column`` then ``backward_column``), each reading
        only its tile column of L (where the scheduler put it) and passing the chunk's
        whole column block along (x is one row block)."""
        import dask.array as da
        from dask.base import tokenize
        from dask.highlevelgraph import HighLevelGraph
        if trans == 1 and self.dtype.kind == "c":
            return self._solve_raw(b.conj(), 0).conj()
        if not isinstance(b, da.Array):
            b = da.from_array(b, chunks=b.shape)
        # one row block as it is: not split into A's tile rows and merged again (two
        # task layers in sequence, on the critical path of the condition estimate)
        b = b.astype(np.result_type(self.dtype, b.dtype)).rechunk({0: -1})
        p, L = self.p, self.L
        name = "hybridsolve-cholsolve-" + tokenize(self.name, b)
        layer = dict(self.graph.layer)
        for c in range(b.numblocks[1]):
            y = (b.name, 0, c)
            for k in range(p):
                layer[(f"{name}-f", k, c)] = (forward_column, y, L[k, k]) + tuple(
                    L[i, k] for i in range(k + 1, p))
                y = (f"{name}-f", k, c)
            for k in reversed(range(p)):
                key = (name, 0, c) if k == 0 else (f"{name}-b", k, c)
                layer[key] = (backward_column, y, L[k, k]) + tuple(
                    L[i, k] for i in range(k + 1, p))
                y = key
        graph = HighLevelGraph.from_collections(name, layer, dependencies=[b, self.a2])
        return da.Array(graph, name, chunks=b.chunks, dtype=b.dtype)


def solve_tasks(p):
    """Tasks of one Cholesky solve per column chunk of b: a forward and a backward step
    per tile column."""
    return 2 * p


class DaskCholeskySolver(Solver):
    """Tiled Cholesky on Dask for a large Hermitian positive definite dask array."""

    name = "dask_cholesky"
    formats = ("dask",)

    def cost(self, structure: Structure):
        hint = structure.assume_a
        if hint not in (None, "pos"):
            return None, f"assume_a={hint!r} is not 'pos'"
        return T.price(structure, structure.n ** 3 / 3.0, tile_counts)

    def factorize(self, a, structure: Structure):
        import dask
        a2 = T.square_tiles(a.astype(structure.dtype))
        check_finite = structure.extra.get("check_finite", True)
        detected = structure.assume_a is None
        if detected:
            import dask.array as da
            d = da.diagonal(a2)
            herm = (a2 == a2.conj().T).all()
            posdiag = (d.real > 0).all() & (d.imag == 0).all()
            herm, posdiag = dask.compute(herm, posdiag)
            if not herm:
                raise NotApplicable("not Hermitian" if structure.is_complex
                                    else "not symmetric")
            if not posdiag:
                raise NotApplicable("diagonal not real and positive: cannot be "
                                    "positive definite")
        lower = structure.lower if not detected else True
        return DaskCholeskyFactorization(a2, structure.dtype, lower, detected,
                                         check_finite)
