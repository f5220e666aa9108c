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
from hybridsolve.roads.dask import Graph, describe, tile_bounds
from hybridsolve.roads.dask import _tiled as T

__all__ = ["DaskCholeskySolver", "DaskCholeskyFactorization"]


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
    w[np.triu_indices(w.shape[0], 1)] = 0
    return w


def tile_sums(tile, diagonal):
    """Column and row sums of |lower tile| (a diagonal tile: of its lower triangle, the
    rows without the diagonal): the two places the tile sits in the Hermitian A."""
    m = np.abs(tile)
    if diagonal:
        m = np.tril(m)
        return m.sum(axis=0), m.sum(axis=1) - np.diagonal(m)
    return m.sum(axis=0), m.sum(axis=1)


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
        A = {}
        for i in range(p):
            for j in range(i + 1):
                # the lower tile (i, j): from the upper triangle of A when it names it
                src = (a2.name, j, i) if upper else (a2.name, i, j)
                A[i, j] = g.add((name + "-in", i, j),
                                (T.prep, src, dtype, check_finite, upper),
                                sizes[i] * sizes[j] * itemsize, [src])
        A0 = dict(A)
        L = {}
        for k in range(p):
            t = sizes[k]
            L[k, k] = g.add((name + "-L", k, k), (potrf, A[k, k], starts[k], detected),
                            t * t * itemsize, [A[k, k]], t ** 3 / 3.0)
            for i in range(k + 1, p):
                L[i, k] = g.add((name + "-L", i, k),
                                (T.trsm, L[k, k], A[i, k], False, True, 2, False),
                                sizes[i] * t * itemsize, [A[i, k], L[k, k]],
                                sizes[i] * t * t)
            for j in range(k + 1, p):
                for i in range(j, p):
                    key = (f"{name}-A{k}", i, j)
                    if i == j:
                        task = (T.herk, A[j, j], L[j, k])
                    else:
                        task = (T.gemm, A[i, j], L[i, k], L[j, k], 0, 2)
                    A[i, j] = g.add(key, task, sizes[i] * sizes[j] * itemsize,
                                    [A[i, j], L[i, k], L[j, k]],
                                    2.0 * sizes[i] * sizes[j] * t)
        self.name = name
        self.L = L
        # ||A||_1 of the Hermitian matrix the named triangle defines, from the prepared
        # lower tiles (a few numbers per tile, no extra pass over A)
        sums = []
        for i in range(p):
            for j in range(i + 1):
                sums.append(g.add((name + "-sums", i, j), (tile_sums, A0[i, j], i == j),
                                  8 * (sizes[i] + sizes[j]), [A0[i, j]]))
        nname = name + "-norm"
        layer = dict(g.layer)
        layer[(nname,)] = (norm_from_sums, p) + tuple(sums)
        from dask.highlevelgraph import HighLevelGraph
        anorm = da.Array(HighLevelGraph.from_collections(nname, layer, dependencies=[a2]),
                         nname, chunks=(), dtype=float)
        super().__init__(a2, g, dtype, check_finite, anorm)
        self.notes = (describe(g, max(sizes), p, "tiled right-looking Cholesky "
                               "(potrf/trsm/herk/gemm tiles)"),)

    def _solve_raw(self, b, trans):
        """L L^H x = b per column chunk (trans 1 of a complex A: conj(A) x = b)."""
        import dask.array as da
        from dask.base import tokenize
        from dask.highlevelgraph import HighLevelGraph
        if trans == 1 and self.dtype.kind == "c":
            return self._solve_raw(b.conj(), 0).conj()
        b = self._rhs(b)
        p, L = self.p, self.L
        name = "hybridsolve-cholsolve-" + tokenize(self.name, b)
        layer = dict(self.graph.layer)
        for c in range(b.numblocks[1]):
            Y = {i: (b.name, i, c) for i in range(p)}
            for k in range(p):
                yk = (f"{name}-y", k, c)
                layer[yk] = (T.trsm, L[k, k], Y[k], True, True, 0, False)
                for i in range(k + 1, p):
                    layer[(f"{name}-yu{k}", i, c)] = (T.gemm, Y[i], L[i, k], yk, 0, 0)
                    Y[i] = (f"{name}-yu{k}", i, c)
                Y[k] = yk
            for k in reversed(range(p)):
                xk = (name, k, c)
                layer[xk] = (T.trsm, L[k, k], Y[k], True, True, 2, False)
                for i in range(k):
                    layer[(f"{name}-xu{k}", i, c)] = (T.gemm, Y[i], L[k, i], xk, 2, 0)
                    Y[i] = (f"{name}-xu{k}", i, c)
        graph = HighLevelGraph.from_collections(name, layer, dependencies=[b, self.a2])
        return da.Array(graph, name, chunks=b.chunks, dtype=b.dtype)


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
