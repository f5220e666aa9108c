"""Diagonal-plus-low-rank matrices: the structured operator and its detection in dense A.

``DiagonalPlusLowRank(d, U, V)`` is ``A = diag(d) + U @ V`` held by its factors; the
front door hands it to the Woodbury road, which never forms the n x n matrix.

``detect_lowrank(a)`` recognises ``A = D + U V`` with ``k <= n/10`` from the entries of a
plain dense ``A`` alone:

1. *Rank test, early exit.*  Every submatrix of the off-diagonal block ``A[P, Q]``
   (``P``, ``Q`` disjoint index sets) has rank <= k.  The pivots of a partial-pivoting
   LU (our BLAS-free kernel ``woodbury.pivot_rank``) of a small random ``m x m`` sample
   of it (m = 24) show the rank; if the sample is numerically full rank, a second sample
   of size ``kmax + 1`` decides: full rank there means k > kmax and detection gives up.
   A general dense matrix costs two small gathers and two small LUs (well under 1 % of
   LU at n >= 1000).
2. *Range.*  A randomized sketch ``A[B1, B2 u B3] Omega`` (width r + 10, doubled while
   the sketch stays full rank, up to kmax + 1) gives an orthonormal ``U1`` (from the
   small Gram matrix in double precision, then one Cholesky-QR pass).
3. *Factors from disjoint off-diagonal blocks* (indices split in thirds B1, B2, B3; the
   gauge is fixed by ``U1``): ``V[:, B2 u B3] = U1^H A[B1, B2 u B3]``,
   ``U2 = A[B2, B3] V3^+``, ``U3 = A[B3, B2] V2^+``, ``V1 = [U2; U3]^+ A[B2 u B3, B1]``,
   then ``d_i = a_ii - (U V)_ii``.
4. *Verification* with a random probe: ``||A p - (D p + U V p)|| <= tol ||A||_F ||p||``
   with tol = 100 sqrt(n) eps, before the structure is trusted.  (A Gaussian probe
   misses a nonzero error only with probability zero; the solves then refine with the
   true residual of A, so the result is backward stable with respect to A itself.)
"""
from __future__ import annotations

import numpy as np

from hybridsolve._protocol import Structure, lapack_dtype

__all__ = ["DiagonalPlusLowRank", "detect_lowrank", "LowRankNotFound"]


class DiagonalPlusLowRank:
    """``A = diag(d) + U @ V`` with ``U`` (n, k) and ``V`` (k, n).

    Parameters
    ----------
    d : (n,) array_like
        The diagonal.
    U : (n, k) array_like
    V : (k, n) array_like, optional
        ``None`` means ``V = U^H`` (the symmetric / Hermitian case).

    The arrays are converted once to the common LAPACK dtype and stored F-contiguous
    (``d``, ``U``, ``V`` attributes; read-only views of private copies).  ``A @ x`` costs
    O(n k); ``toarray()`` forms the dense matrix (for tests and small n only).

    Raises
    ------
    ValueError
        Shapes that do not match, non-finite entries.
    TypeError
        Non-numeric dtypes.
    """

    # numpy operators defer to ours (x @ A -> A.__rmatmul__), and there is deliberately
    # no __array__: np.asarray(A) must never form an n x n matrix behind the caller's
    # back (n = 200000 would need 320 GB).  Use toarray() explicitly.
    __array_ufunc__ = None

    def __init__(self, d, U, V=None):
        d = np.asarray(d)
        U = np.asarray(U)
        hermitian_form = V is None
        Vin = None if V is None else np.asarray(V)
        if d.ndim != 1:
            raise ValueError(f"d must be 1-D, got shape {d.shape}")
        n = d.shape[0]
        if U.ndim == 1:
            U = U[:, None]
        if U.ndim != 2 or U.shape[0] != n:
            raise ValueError(f"U must have shape (n, k) = ({n}, k), got {U.shape}")
        k = U.shape[1]
        if Vin is not None:
            if Vin.ndim == 1:
                Vin = Vin[None, :]
            if Vin.ndim != 2 or Vin.shape != (k, n):
                raise ValueError(
                    f"V must have shape (k, n) = ({k}, {n}) to match U {U.shape}, "
                    f"got {Vin.shape}")
        dtype = lapack_dtype(d.dtype, U.dtype, *(() if Vin is None else (Vin.dtype,)))
        d = np.array(d, dtype=dtype, copy=True)
        U = np.array(U, dtype=dtype, order="F", copy=True)
        if Vin is None:
            Vin = np.asfortranarray(U.conj().T)
        else:
            Vin = np.array(Vin, dtype=dtype, order="F", copy=True)
        for name, arr in (("d", d), ("U", U), ("V", Vin)):
            if arr.size and not np.isfinite(arr).all():
                raise ValueError(f"{name} must not contain infs or NaNs")
        for arr in (d, U, Vin):
            arr.flags.writeable = False
        self.d, self.U, self.V = d, U, Vin
        self.shape = (n, n)
        self.dtype = dtype
        self.k = k
        self.hermitian_form = hermitian_form
        self.ndim = 2

    # ---------------------------------------------------------------- properties
    @property
    def hermitian(self) -> bool:
        """A == A^H is known from the construction (V = U^H and real d)."""
        return self.hermitian_form and (self.dtype.kind != "c"
                                        or not np.any(self.d.imag))

    @property
    def positive_definite(self) -> bool:
        """Hermitian with d > 0 (then A = D + U U^H is positive definite)."""
        return self.hermitian and bool(np.all(self.d.real > 0))

    def _hybridsolve_structure(self) -> Structure:
        n = self.shape[0]
        herm = self.hermitian
        sym = herm if self.dtype.kind != "c" else None
        if herm:
            # diag(A)_i = d_i + |U_i|^2 is real; > 0 when d > 0
            drp = bool(np.all(self.d.real + (np.abs(self.U) ** 2).sum(1) > 0))
        else:
            drp = None  # diag(A) = d + rowsum(U * V^T) is not inspected
        return Structure(n, self.dtype, "operator", finite=True, symmetric=sym,
                         hermitian=herm, diag_real_positive=drp,
                         extra={"lowrank_k": self.k})

    # ---------------------------------------------------------------- operations
    def matvec(self, x):
        """``A @ x`` for x of shape (n,) or (n, m): O(n k m)."""
        x = np.asarray(x)
        if x.ndim not in (1, 2) or x.shape[0] != self.shape[1]:
            raise ValueError(f"matmul: A is {self.shape}, x is {x.shape}")
        dd = self.d if x.ndim == 1 else self.d[:, None]
        return dd * x + self.U @ (self.V @ x)

    def rmatvec(self, x):
        """``A^H @ x``."""
        x = np.asarray(x)
        if x.ndim not in (1, 2) or x.shape[0] != self.shape[0]:
            raise ValueError(f"matmul: A^H is {self.shape}, x is {x.shape}")
        dd = self.d.conj() if x.ndim == 1 else self.d.conj()[:, None]
        return dd * x + self.V.conj().T @ (self.U.conj().T @ x)

    def __matmul__(self, x):
        return self.matvec(x)

    def __rmatmul__(self, y):
        # y @ A = (A^T y^T)^T
        y = np.asarray(y)
        return self.rmatvec(y.conj().T).conj().T

    def toarray(self) -> np.ndarray:
        """The dense n x n matrix (O(n^2 k); for tests and small n)."""
        a = self.U @ self.V
        a[np.diag_indices(self.shape[0])] += self.d
        return a

    def __repr__(self):
        return (f"DiagonalPlusLowRank(n={self.shape[0]}, k={self.k}, dtype={self.dtype}"
                f"{', hermitian' if self.hermitian else ''})")


# ====================================================================== detection

class LowRankNotFound(Exception):
    """Detection found no diagonal-plus-low-rank structure; str() says why."""


#: Below this n detection is not attempted (it cannot pay against dense LU).
DETECT_MIN_N = 1000


def max_rank(n: int) -> int:
    """The largest k for which Woodbury still pays clearly (k <= n / 10)."""
    return max(1, n // 10)


def _wide(dtype):
    """float64 / complex128: the small k x k algebra is done in double precision."""
    return np.dtype(np.complex128) if np.dtype(dtype).kind == "c" else np.dtype(np.float64)


def _pivot_rank(blk, eps):
    """Number of non-negligible pivots of a partial-pivoting LU of the small square
    ``blk`` (our BLAS-free detection kernel, in double precision).  A matrix of rank r
    has a Schur complement of rounding size after r steps, so at most about r pivots
    are large; all large means full rank."""
    from hybridsolve._kernels.woodbury import pivot_rank
    m = blk.shape[0]
    work = np.array(blk, dtype=_wide(blk.dtype), order="F")
    scale = float(np.abs(work).max()) if work.size else 0.0
    if scale == 0.0:
        return 0
    return int(pivot_rank(work, scale * m * eps * 1e3))


def _gram_range(y, eps):
    """Orthonormal basis (double precision) of the numerical range of the tall ``y`` and
    its rank, from the small Gram matrix (no tall-skinny LAPACK calls: they crawl when a
    threaded BLAS shares a loaded machine).  Singular values below ~3e-3 sqrt(eps) of the
    largest are treated as zero (the Gram matrix squares them)."""
    yw = np.asarray(y, dtype=_wide(y.dtype))
    g = yw.conj().T @ yw
    lam, w = np.linalg.eigh(g)
    lam = lam[::-1]
    w = w[:, ::-1]
    if lam.size == 0 or lam[0] <= 0:
        return yw[:, :0], 0
    tol = lam[0] * max(1e5 * eps * eps, 1e4 * np.finfo(np.float64).eps)
    r = int(np.count_nonzero(lam > tol))
    q = yw @ (w[:, :r] / np.sqrt(lam[:r]))
    # one more Cholesky-QR pass makes q orthonormal to working accuracy
    c = np.linalg.cholesky(q.conj().T @ q)
    q = q @ np.linalg.inv(c.conj().T)
    return q, r


def _right_pinv(M, B):
    """``B @ M^+`` for M (r, m) of full row rank: (B M^H)(M M^H)^-1, small solve in
    double precision."""
    Mw = np.asarray(M, dtype=_wide(M.dtype))
    z = np.asarray(B @ M.conj().T, dtype=Mw.dtype)          # (rows, r)
    return np.linalg.solve(Mw @ Mw.conj().T, z.conj().T).conj().T


def detect_lowrank(a, *, kmax=None, normF=None, seed=0, probes=1):
    """Find ``A = diag(d) + U @ V`` in the dense square array ``a`` (not modified).

    Returns ``(d, U, V, info)`` with F-contiguous U (n, r), V (r, n) of a's dtype and a
    dict ``info`` (rank, relative probe error, ||A||_F).  Raises
    :class:`LowRankNotFound` (whose message says why) when there is no such structure
    with r <= kmax (default n/10).
    """
    n = a.shape[0]
    dtype = a.dtype
    eps = float(np.finfo(dtype).eps)
    if kmax is None:
        kmax = max_rank(n)
    rng = np.random.default_rng(seed)
    h = n // 3
    if h < 2:
        raise LowRankNotFound("matrix too small for detection")
    b1 = slice(0, h)
    b2 = slice(h, 2 * h)
    b3 = slice(2 * h, n)
    # 1. rank of small random samples of the off-diagonal block A[B1, B2 u B3]
    m0 = min(24, kmax + 1, h)
    rows = np.sort(rng.choice(h, m0, replace=False))
    cols = np.sort(rng.choice(n - h, m0, replace=False)) + h
    r = _pivot_rank(a[np.ix_(rows, cols)], eps)
    if r >= m0:
        m1 = min(kmax + 1, h)
        if m1 > m0:
            rows = np.sort(rng.choice(h, m1, replace=False))
            cols = np.sort(rng.choice(n - h, m1, replace=False)) + h
            r = _pivot_rank(a[np.ix_(rows, cols)], eps)
        if r >= m1:
            raise LowRankNotFound(
                f"a {m1} x {m1} sample of an off-diagonal block has full numerical "
                f"rank (k > {kmax} = n/10)")
    # 2. range of A[B1, B2 u B3]: randomized sketch, doubled while it stays full rank
    a1 = a[b1, h:]
    width = min(r + 10, n - h, kmax + 1)
    while True:
        omega = rng.standard_normal((n - h, width)).astype(dtype, copy=False)
        u1, r = _gram_range(a1 @ omega, eps)
        if r < width or width >= min(kmax + 1, n - h):
            break
        width = min(2 * width, kmax + 1, n - h)
    if r > kmax:
        raise LowRankNotFound(f"off-diagonal sketch has rank > {kmax} = n/10")
    if r == 0:
        U = np.zeros((n, 1), dtype=dtype, order="F")
        V = np.zeros((1, n), dtype=dtype, order="F")
        d = np.array(np.diagonal(a), dtype=dtype)
    else:
        # 3. factors in one gauge from disjoint off-diagonal blocks
        u1 = u1.astype(dtype, copy=False)
        v23 = u1.conj().T @ a1                      # r x (n - h) = U1^H A[B1, B2 u B3]
        u2 = _right_pinv(v23[:, h: ], a[b2, b3])    # A[B2, B3] V3^+
        u3 = _right_pinv(v23[:, :h], a[b3, b2])     # A[B3, B2] V2^+
        u23 = np.concatenate([u2, u3], axis=0)      # double precision, (n - h) x r
        v1 = np.linalg.solve(u23.conj().T @ u23,
                             u23.astype(dtype).conj().T @ a[h:, b1])
        U = np.empty((n, r), dtype=dtype, order="F")
        U[b1] = u1
        U[h:] = u23
        V = np.empty((r, n), dtype=dtype, order="F")
        V[:, b1] = v1
        V[:, h:] = v23
        d = np.array(np.diagonal(a) - np.einsum("ij,ji->i", U, V), dtype=dtype)
    # 4. verification with random probes (one matrix-vector product each: a gemm with
    #    a few columns is slower than that many gemv calls in OpenBLAS)
    p = rng.standard_normal((n, probes)).astype(dtype, copy=False)
    res = np.stack([a @ p[:, i] for i in range(probes)], axis=1)
    res -= d[:, None] * p + U @ (V @ p)
    if normF is None:
        normF = float(np.linalg.norm(a.ravel(order="K")))
    err = float(np.linalg.norm(res)) / max(normF * float(np.linalg.norm(p)), 1e-300)
    tol = 100.0 * np.sqrt(n) * eps
    if not np.isfinite(err) or err > tol:
        raise LowRankNotFound(
            f"rank-{r} candidate failed verification: probe error {err:.2e} > {tol:.1e}")
    return d, U, V, {"rank": r, "probe_error": err, "normF": normF}
