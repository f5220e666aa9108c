"""Dask road: tiled LU with tournament pivoting (CALU) for one large dense A.

Grigori, Demmel and Xiang, "CALU: a communication optimal LU factorization algorithm",
SIAM J. Matrix Anal. Appl. 32 (2011).  For each panel (block column k):

1. tournament: every tile of the panel runs a partial-pivoting LU (``getrf``) and offers
   the rows it chose as candidates; pairs of candidate sets are merged by another getrf
   on their stacked rows, up a binary tree, until one set of b rows is left: the panel's
   pivot rows, chosen from the whole column (pivoting is global, not per block as in
   ``dask.array.linalg``).  The root's getrf orders them and gives L[k,k] \\ U[k,k].
2. the pivot rows move to block row k and the rows they displace move to the vacated
   places (a few rows per tile: each tile sends only the rows that leave it);
3. L[i,k] = A[i,k] U[k,k]^-1, U[k,j] = L[k,k]^-1 A[k,j], A[i,j] -= L[i,k] U[k,j].

The row exchanges of step k are not applied to the earlier L columns; the triangular
solve applies them to the right-hand side between the elimination steps (as getrf's
would have been).  The solution gets one step of iterative refinement with a residual
check (the refined x is kept for each column whose residual it does not increase).
"""
from __future__ import annotations

import operator

import numpy as np

from hybridsolve._protocol import Solver, Structure
from hybridsolve.roads.dask import Graph, describe, tile_bounds
from hybridsolve.roads.dask import _tiled as T

__all__ = ["DaskLUSolver", "DaskLUFactorization"]


# --------------------------------------------------------------------------- tournament


def _select(rows, ids, b):
    """Partial-pivoting LU of ``rows``: the (at most b) rows it pivots on, in order."""
    from hybridsolve._kernels.lu import getrf
    m = rows.shape[0]
    w = T.fcopy(rows)
    ipiv = np.empty(min(m, b), dtype=np.intc)
    getrf(w, ipiv)
    order = np.arange(m)
    for t, pv in enumerate(ipiv):
        order[[t, pv - 1]] = order[[pv - 1, t]]
    chosen = order[:len(ipiv)]
    return rows[chosen], ids[chosen]


def leaf(tile, r0, b):
    """Candidate pivot rows of one panel tile (values and global row indices)."""
    return _select(tile, np.arange(r0, r0 + tile.shape[0]), b)


def merge(b, *cands):
    rows = np.concatenate([c[0] for c in cands])
    ids = np.concatenate([c[1] for c in cands])
    return _select(rows, ids, b)


def root(cand, r0, b):
    """The panel's pivots: ``(piv, lu)``; piv = (ids: the b global rows, in pivot order,
    D: rows of block k they displace, V: where those go), lu = L[k,k] \\ U[k,k]."""
    from hybridsolve._kernels.lu import getrf
    rows, ids = cand
    w = T.fcopy(rows)
    ipiv = np.empty(b, dtype=np.intc)
    info = getrf(w, ipiv)
    order = np.arange(b)
    for t, pv in enumerate(ipiv):
        order[[t, pv - 1]] = order[[pv - 1, t]]
    if info:
        raise T.singular(f"U[{r0 + info - 1}, {r0 + info - 1}] is exactly zero")
    ids = ids[order]
    block = np.arange(r0, r0 + b)
    D = np.setdiff1d(block, ids)            # block-k rows not chosen: they move out
    V = np.setdiff1d(ids, block)            # chosen rows from below: their slots
    return (ids, D, V), w


def extract(piv, tile, r0):
    """The rows of ``tile`` (global rows r0...) that are pivots: (positions, rows)."""
    ids = piv[0]
    pos = np.flatnonzero((ids >= r0) & (ids < r0 + tile.shape[0]))
    return pos, tile[ids[pos] - r0]


def gather(piv, ncols, dtype, *parts):
    """Block row k after the exchange: the pivot rows in pivot order."""
    out = np.empty((len(piv[0]), ncols), dtype=dtype, order="F")
    for pos, rows in parts:
        out[pos] = rows
    return out


def displaced(piv, tile_k, r0):
    """The rows of block k that leave it (in the order of their new slots V)."""
    return tile_k[piv[1] - r0]


def swap_in(piv, tile, r0, disp):
    """``tile`` (block row i > k) with the vacated pivot slots filled by ``disp``."""
    V = piv[2]
    pos = np.flatnonzero((V >= r0) & (V < r0 + tile.shape[0]))
    w = T.fcopy(tile)
    if pos.size:
        w[V[pos] - r0] = disp[pos]
    return w


def lower_tile(piv, tile, r0, disp, lu):
    """L[i,k] = (swapped A[i,k]) U[k,k]^-1."""
    from hybridsolve._kernels import tiles
    w = swap_in(piv, tile, r0, disp)
    tiles.trsm(lu, w, False, False, 0, False)
    return w


def upper_tile(lu, piv, ncols, dtype, *parts):
    """U[k,j] = L[k,k]^-1 (gathered block row k)."""
    from hybridsolve._kernels import tiles
    w = gather(piv, ncols, dtype, *parts)
    tiles.trsm(lu, w, True, True, 0, True)
    return w


def update(piv, tile, r0, disp, l_ik, u_kj):
    """A[i,j] after the exchange, minus L[i,k] U[k,j]."""
    from hybridsolve._kernels import tiles
    w = swap_in(piv, tile, r0, disp)
    tiles.gemm(w, np.asfortranarray(l_ik), np.asfortranarray(u_kj), 0, 0)
    return w


# transposed solve: undo a step's exchange (P_k^T)

def vacated_rows(piv, tile, r0):
    """The rows of ``tile`` at vacated slots V: (positions in V, rows)."""
    V = piv[2]
    pos = np.flatnonzero((V >= r0) & (V < r0 + tile.shape[0]))
    return pos, tile[V[pos] - r0]


def unpermute_k(piv, wk, r0, *parts):
    """Block k of P_k^T w: pivot row ids[t] gets wk[t] if it lies in block k; the
    displaced rows D get back the rows now at their slots V."""
    ids, D, _ = piv
    out = T.fcopy(wk)
    inside = (ids >= r0) & (ids < r0 + wk.shape[0])
    out[ids[inside] - r0] = wk[inside]
    for pos, rows in parts:
        out[D[pos] - r0] = rows
    return out


def unpermute_i(piv, wi, r0, wk):
    """Block i > k of P_k^T w: rows that were pivots return from block k."""
    ids = piv[0]
    inside = np.flatnonzero((ids >= r0) & (ids < r0 + wi.shape[0]))
    out = T.fcopy(wi)
    out[ids[inside] - r0] = wk[inside]
    return out


# --------------------------------------------------------------------------- graph


def tile_counts(p):
    """(tasks, tile transfers) of the factor graph for p x p tiles, roughly."""
    tasks = moved = 0
    for k in range(p):
        r = p - k                      # tiles in the panel
        tasks += 2 * r + 1 + (r - 1) * (r + 2) + (r - 1) ** 2
        moved += r + 2 * (r - 1) + 3 * (r - 1) ** 2
    return tasks, moved


class DaskLUFactorization(T.TiledFactorization):
    kind = "dask-lu (CALU)"

    def __init__(self, a2, dtype, check_finite):
        import dask.array as da
        from dask.base import tokenize
        p = len(a2.chunks[0])
        sizes = a2.chunks[0]
        starts = tile_bounds(sizes)
        dtype = np.dtype(dtype)
        name = "hybridsolve-calu-" + tokenize(a2, dtype, check_finite)
        isz = dtype.itemsize
        g = Graph()
        for key in np.ndindex(p, p):
            g.nbytes[(a2.name,) + key] = sizes[key[0]] * sizes[key[1]] * isz
        A = {}
        for i, j in np.ndindex(p, p):
            src = (a2.name, i, j)
            A[i, j] = g.add((name + "-in", i, j), (T.prep, src, dtype, check_finite),
                            sizes[i] * sizes[j] * isz, [src])
        L, U, LU, PIV = {}, {}, {}, {}
        for k in range(p):
            b = sizes[k]
            # 1. tournament over the panel's tiles (a binary tree)
            level = []
            for i in range(k, p):
                level.append(g.add((f"{name}-leaf{k}", i),
                                   (leaf, A[i, k], starts[i], b),
                                   min(sizes[i], b) * b * isz, [A[i, k]],
                                   sizes[i] * b * b))
            depth = 0
            while len(level) > 1:
                nxt = []
                for q in range(0, len(level) - 1, 2):
                    nxt.append(g.add((f"{name}-merge{k}-{depth}", q // 2),
                                     (merge, b, level[q], level[q + 1]), b * b * isz,
                                     [level[q], level[q + 1]], 2.0 * b ** 3))
                if len(level) % 2:
                    nxt.append(level[-1])
                level = nxt
                depth += 1
            rt = g.add((f"{name}-root", k), (root, level[0], starts[k], b),
                       b * b * isz, [level[0]], 2.0 * b ** 3 / 3.0)
            PIV[k] = g.add((f"{name}-piv", k), (operator.getitem, rt, 0), 16 * b, [rt])
            LU[k] = g.add((f"{name}-lu", k), (operator.getitem, rt, 1), b * b * isz,
                          [rt])
            # 2. row exchange, 3. the L column, the U row and the trailing update
            disp, parts = {}, {}
            for j in range(k, p):
                disp[j] = g.add((f"{name}-disp{k}", j),
                                (displaced, PIV[k], A[k, j], starts[k]),
                                b * sizes[j] * isz, [PIV[k], A[k, j]])
            for i in range(k + 1, p):
                L[i, k] = g.add((f"{name}-L", i, k),
                                (lower_tile, PIV[k], A[i, k], starts[i], disp[k], LU[k]),
                                sizes[i] * b * isz, [PIV[k], A[i, k], disp[k], LU[k]],
                                sizes[i] * b * b)
            for j in range(k + 1, p):
                parts[j] = []
                for i in range(k, p):
                    parts[j].append(g.add((f"{name}-ext{k}-{j}", i),
                                          (extract, PIV[k], A[i, j], starts[i]),
                                          b * sizes[j] * isz / max(p - k, 1),
                                          [PIV[k], A[i, j]]))
                U[k, j] = g.add((f"{name}-U", k, j),
                                (upper_tile, LU[k], PIV[k], sizes[j], dtype)
                                + tuple(parts[j]), b * sizes[j] * isz,
                                [LU[k], PIV[k]] + parts[j], b * b * sizes[j])
            for i in range(k + 1, p):
                for j in range(k + 1, p):
                    A[i, j] = g.add((f"{name}-A{k}", i, j),
                                    (update, PIV[k], A[i, j], starts[i], disp[j],
                                     L[i, k], U[k, j]),
                                    sizes[i] * sizes[j] * isz,
                                    [PIV[k], A[i, j], disp[j], L[i, k], U[k, j]],
                                    2.0 * sizes[i] * sizes[j] * b)
        self.name = name
        self.L, self.U, self.LU, self.PIV = L, U, LU, PIV
        self.starts = starts
        super().__init__(a2, g, dtype, check_finite, da.abs(a2).sum(axis=0).max())
        self.notes = (describe(g, max(sizes), p, "tiled LU with tournament pivoting "
                               "(CALU) + one refinement step"),)

    # ------------------------------------------------------------------ solves

    def _solve_raw(self, b, trans):
        import dask.array as da
        from dask.base import tokenize
        from dask.highlevelgraph import HighLevelGraph
        b = self._rhs(b)
        name = "hybridsolve-calusolve-" + tokenize(self.name, b, trans)
        layer = dict(self.graph.layer)
        for c in range(b.numblocks[1]):
            B = {i: (b.name, i, c) for i in range(self.p)}
            if trans == 0:
                self._forward(layer, name, c, B)
            else:
                self._transposed(layer, name, c, B, trans)
        graph = HighLevelGraph.from_collections(name, layer, dependencies=[b, self.a2])
        return da.Array(graph, name, chunks=b.chunks, dtype=b.dtype)

    def _forward(self, layer, name, c, B):
        """x = U^-1 (E_{p-1} P_{p-1} ... E_0 P_0) b into keys (name, i, c)."""
        p, s, dt = self.p, self.starts, self.dtype
        for k in range(p):
            piv = self.PIV[k]
            parts = []
            for i in range(k, p):
                layer[(f"{name}-ext{k}", i, c)] = (extract, piv, B[i], s[i])
                parts.append((f"{name}-ext{k}", i, c))
            disp = (f"{name}-disp{k}", c)
            layer[disp] = (displaced, piv, B[k], s[k])
            yk = (f"{name}-y", k, c)
            layer[yk] = (_forward_block, self.LU[k], piv, dt) + tuple(parts)
            for i in range(k + 1, p):
                key = (f"{name}-yu{k}", i, c)
                layer[key] = (update, piv, B[i], s[i], disp, self.L[i, k], yk)
                B[i] = key
            B[k] = yk
        for k in reversed(range(p)):
            xk = (name, k, c)
            layer[xk] = (T.trsm, self.LU[k], B[k], True, False, 0, False)
            for i in range(k):
                key = (f"{name}-xu{k}", i, c)
                layer[key] = (T.gemm, B[i], self.U[i, k], xk, 0, 0)
                B[i] = key

    def _transposed(self, layer, name, c, B, trans):
        """x = (E_0 P_0)^T ... (E_{p-1} P_{p-1})^T U^-T b (trans 2: ^H)."""
        p, s = self.p, self.starts
        # z = op(U)^-1 b: forward substitution with op(U) (lower triangular)
        for k in range(p):
            zk = (f"{name}-z", k, c)
            layer[zk] = (T.trsm, self.LU[k], B[k], True, False, trans, False)
            for i in range(k + 1, p):
                key = (f"{name}-zu{k}", i, c)
                layer[key] = (T.gemm, B[i], self.U[k, i], zk, trans, 0)
                B[i] = key
            B[k] = zk
        for k in reversed(range(p)):
            # E_k^T: w_k = op(L_kk)^-1 (v_k - sum_{i>k} op(L_ik) v_i)
            wk = B[k]
            for i in range(k + 1, p):
                key = (f"{name}-wu{k}", i, c)
                layer[key] = (T.gemm, wk, self.L[i, k], B[i], trans, 0)
                wk = key
            key = (f"{name}-w", k, c)
            layer[key] = (T.trsm, self.LU[k], wk, True, True, trans, True)
            wk = key
            # P_k^T
            piv = self.PIV[k]
            parts = []
            for i in range(k + 1, p):
                layer[(f"{name}-vac{k}", i, c)] = (vacated_rows, piv, B[i], s[i])
                parts.append((f"{name}-vac{k}", i, c))
            last = k == 0
            for i in range(k + 1, p):
                key = (name, i, c) if last else (f"{name}-un{k}", i, c)
                layer[key] = (unpermute_i, piv, B[i], s[i], wk)
            key = (name, k, c) if last else (f"{name}-un{k}", k, c)
            layer[key] = (unpermute_k, piv, wk, s[k]) + tuple(parts)
            for i in range(k, p):
                B[i] = (name, i, c) if last else (f"{name}-un{k}", i, c)

    def _refine(self, b, x0, trans):
        """One refinement step, kept per column only if it does not raise the residual."""
        a = self.a2
        op = a if trans == 0 else (a.T if trans == 1 else a.conj().T)
        r0 = b - op @ x0
        x1 = x0 + self._solve_raw(r0, trans)
        r1 = b - op @ x1
        return _pick(x0, x1, r0, r1)


def _forward_block(lu, piv, dtype, *parts):
    from hybridsolve._kernels import tiles
    w = gather(piv, parts[0][1].shape[1], dtype, *parts)
    tiles.trsm(lu, w, True, True, 0, True)
    return w


def _colnorm(r):
    import dask.array as da
    return da.abs(r).sum(axis=0, keepdims=True)


def _keep(x0, x1, n0, n1):
    return np.where(n1 > n0, x0, x1)


def _pick(x0, x1, r0, r1):
    import dask.array as da
    return da.map_blocks(_keep, x0, x1, _colnorm(r0), _colnorm(r1), dtype=x0.dtype)


class DaskLUSolver(Solver):
    """Tiled CALU on Dask for a large dense dask array; see the module docstring."""

    name = "dask_lu"
    formats = ("dask",)

    def cost(self, structure: Structure):
        if structure.assume_a == "pos":
            return None, "assume_a='pos' asks for Cholesky (no fallback, as scipy)"
        if structure.assume_a not in (None, "gen", "sym", "her"):
            return None, f"assume_a={structure.assume_a!r}: no tiled road for it"
        return T.price(structure, 2.0 * structure.n ** 3 / 3.0, tile_counts)

    def factorize(self, a, structure: Structure):
        a2 = T.square_tiles(a.astype(structure.dtype))
        if structure.assume_a in ("sym", "her"):
            a2 = _mirror(a2, structure.lower, structure.assume_a == "her")
        return DaskLUFactorization(a2, structure.dtype,
                                   structure.extra.get("check_finite", True))


def _mirror(a, lower, hermitian):
    """The full matrix the named triangle of a 'sym'/'her' A defines (as scipy reads)."""
    import dask.array as da
    tri = T.triangle(a, lower)
    strict = T.triangle(a, lower, -1 if lower else 1)
    out = tri + (strict.conj().T if hermitian else strict.T)
    if hermitian and a.dtype.kind == "c":        # the diagonal's imaginary part: ignored
        eye = da.eye(a.shape[0], chunks=a.chunks[0], dtype=bool)
        out = da.where(eye, out.real.astype(a.dtype), out)
    return out.rechunk(a.chunks)
