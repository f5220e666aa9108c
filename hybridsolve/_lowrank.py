"""Diagonal-plus-low-rank matrices: the structured operator and its detection in dense A.

``DiagonalPlusLowRank(d, U, V)`` is ``A = diag(d) + U @ V`` held by its factors; the
front door hands it to the Woodbury road, which never forms the n x n matrix.

``detect_lowrank(a)`` recognises ``A = D + U V`` with ``k <= n/10`` from the entries of a
plain dense ``A`` alone, reading O(n k) of them (the solves then check every result
against all of A):

1. *Rank test, early exit.*  Every submatrix ``A[R, C]`` with disjoint random index
   sets R, C (no diagonal entry) has rank <= k.  Samples of size 24, 64 and finally
   ``kmax + 1 + 8`` are tried; the small ones by rank-revealing LU with rook pivoting
   (our BLAS-free kernel ``woodbury.complete_rank``, double precision), the last one first
   by a cheap single-precision blocked partial-pivoting LU (``woodbury.pivot_count``,
   its updates as single-thread gemm pieces): more
   than kmax pivots above the rounding level means k > n/10 and detection gives up.
   A general dense matrix costs a few small gathers and small LUs (< 1 % of LU).
2. *Exact, not approximate.*  An exact D + U V shows a cliff in the pivots (entries'
   size, then rounding); pivots decaying gradually into the rounding level (a smooth
   kernel such as a Gaussian-process covariance: numerically, not exactly, low rank)
   are declined at once: the last retained pivot must exceed sqrt(tol * max|s|).
3. *Skeleton.*  The r pivot rows R' and columns C' of the sample give
   ``U = A[:, C']``, ``V = A[R', C']^-1 A[R', :]`` (exact off the diagonal), with rows
   C' of U and columns R' of V (which hold diagonal entries) by least squares over the
   other indices, ``d_i = a_ii - (U V)_ii``, then U made orthonormal (V <- R V).
   Reads 2r rows and 2r columns of A.
4. *Verification* on a few random whole rows and columns outside the skeleton
   (1-norm error <= 1e3 eps ||A||_1).  This catches a wrong structure early; the
   Woodbury road's solves then check each result with one true residual of A and
   switch to dense LU if the structure does not reproduce A (never silently wrong).

Every product is thin (n x k) or small (k x k): it runs on the calling thread, limited
by ``blas_threads(1)`` where the BLAS has a thread-local limit (MKL), else as BLAS calls
cut below the size from which OpenBLAS starts threads (``woodbury.matmul_st``); a
process-wide limit would leak into other threads' calls (see ``hybridsolve._threads``).
"""
from __future__ import annotations

import numpy as np

from hybridsolve._protocol import Structure, result_dtype
from hybridsolve._threads import blas_limit, blas_threads
from hybridsolve._tuning import value as _tuned

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
        dtype = result_dtype(d.dtype, U.dtype, *(() if Vin is None else (Vin.dtype,)))
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
DETECT_MIN_N = _tuned("lowrank_detect_min_n")   # hybridsolve._tuning


def max_rank(n: int) -> int:
    """The largest k for which Woodbury still pays clearly (k <= n / 10)."""
    return max(1, n // 10)


def _wide(dtype):
    """float64 / complex128: the small k x k algebra is done in double precision."""
    return np.dtype(np.complex128) if np.dtype(dtype).kind == "c" else np.dtype(np.float64)


def _fortran_op(x, t, dtype):
    """``(y, t')`` with y F-contiguous of ``dtype`` and op_t'(y) = op_t(x), copying only
    when needed (a C-contiguous x is used as its transpose)."""
    x = np.asarray(x, dtype=dtype)
    if x.flags.f_contiguous:
        return x, t
    if x.flags.c_contiguous and t != 2:
        return x.T, 1 - t
    return np.asfortranarray(x), t


def _mm(a, b, ta=0, tb=0):
    """``op(a) @ op(b)`` (op 0: none, 1: transpose, 2: conjugate transpose) as gemm
    calls that stay on the calling thread (one call inside ``blas_threads(1)`` where
    that limit is effective, else split below OpenBLAS's threading size: a thin product
    gains nothing from threads and pays their start-up); F-contiguous result in a's
    dtype."""
    from hybridsolve._kernels.woodbury import matmul_st
    dtype = np.asarray(a).dtype
    m = a.shape[0] if ta == 0 else a.shape[1]
    n = b.shape[1] if tb == 0 else b.shape[0]
    a, ta = _fortran_op(a, ta, dtype)
    b, tb = _fortran_op(b, tb, dtype)
    c = np.empty((m, n), dtype=dtype, order="F")
    matmul_st(ta, tb, a, b, c, split=blas_limit() != 1)
    return c


def dense_matvec_sub(a, x, r, trans=0):
    """``r -= op(a) @ x`` (trans 0: a, 1: a^T, 2: a^H) for the C- or F-contiguous square
    ``a`` and F-contiguous (n, nrhs) ``x``, ``r`` of a's dtype: one pass over ``a`` on
    the calling thread (our own loop, not BLAS gemv: no threads for an O(n^2) pass)."""
    from hybridsolve._kernels.woodbury import dense_residual
    if a.flags.f_contiguous:
        dense_residual(trans, a, x, r)
    elif a.flags.c_contiguous:
        # a.T is the F-contiguous M = A^T: A -> M^T, A^T -> M, A^H -> conj(M)
        dense_residual((1, 0, 3)[trans], a.T, x, r)
    else:
        r -= (a, a.T, a.conj().T)[trans] @ x


def _sample_rank(s, eps):
    """Numerical rank of the small sample ``s`` by rank-revealing LU with rook
    pivoting (our kernel ``complete_rank``, double precision): ``(rank, row order, column order, pivots, tol)``.
    Pivots at or below ``10 m eps max|s|`` (the rounding level of the entries) do not
    count."""
    from hybridsolve._kernels.woodbury import complete_rank
    m, nc = s.shape
    work = np.array(s, dtype=_wide(s.dtype), order="F")
    mag = np.abs(work.real) + np.abs(work.imag) if work.dtype.kind == "c" \
        else np.abs(work)
    scale = float(mag.max(initial=0.0))        # |re| + |im|, as the kernel measures
    prow = np.empty(m, dtype=np.intc)
    pcol = np.empty(nc, dtype=np.intc)
    piv = np.zeros(max(min(m, nc), 1))
    tol = 10.0 * max(m, nc) * eps * scale
    if scale == 0.0:
        return 0, prow, pcol, piv, tol, scale
    r = int(complete_rank(work, tol, prow, pcol, piv))
    return r, prow, pcol, piv, tol, scale


def _sample_full_rank(s, eps, kmax):
    """Cheap test for the last (largest) sample: blocked partial-pivoting LU (our
    kernel, trailing updates as single-thread gemm pieces) in single precision; True
    when more than ``kmax`` pivots exceed ``100 m eps32 max|s|`` (far above the
    rounding of a rank-<=kmax sample)."""
    from hybridsolve._kernels.woodbury import pivot_count
    m = s.shape[0]
    single = np.complex64 if s.dtype.kind == "c" else np.float32
    work = np.array(s, dtype=single, order="F")
    scale = float(np.abs(work).max(initial=0.0))
    if scale == 0.0:
        return False
    e = max(eps, float(np.finfo(np.float32).eps))
    return int(pivot_count(work, 100.0 * m * e * scale)) > kmax


#: Sample sizes tried before the last one (kmax + 1 + _SLACK, capped at n/2).
_STAGES = (24, 64)
_SLACK = 8


def detect_lowrank(a, *, kmax=None, norm1=None, seed=0):
    """Find ``A = diag(d) + U @ V`` in the dense square array ``a`` (not modified).

    Returns ``(d, U, V, info)`` with F-contiguous U (n, r), V (r, n) of a's dtype and a
    dict ``info`` (``rank``, ``probe_error``, ``norm1``).  Raises
    :class:`LowRankNotFound` (whose message says why) when there is no such structure
    with r <= kmax (default n/10).  ``norm1`` (||A||_1, e.g. from the inspection pass)
    scales the probe test; it is computed (one pass) when not given.
    """
    with blas_threads(1):
        return _detect(a, kmax, norm1, seed)


def _detect(a, kmax, norm1, seed):
    n = a.shape[0]
    dtype = a.dtype
    wide = _wide(dtype)
    eps = float(np.finfo(dtype).eps)
    if kmax is None:
        kmax = max_rank(n)
    if n < 8:
        raise LowRankNotFound("matrix too small for detection")
    rng = np.random.default_rng(seed)
    last = min(kmax + 1 + _SLACK, n // 2)
    sizes = [m for m in _STAGES if m < last] + [last]
    # 1. rank of random off-diagonal samples A[R, C] (R, C disjoint): <= k for D + U V
    for m in sizes:
        idx = rng.choice(n, 2 * m, replace=False)
        rows = np.sort(idx[:m])
        cols = np.sort(idx[m:])
        s = a[np.ix_(rows, cols)]
        if m == last and m > _STAGES[-1] and _sample_full_rank(s, eps, kmax):
            raise LowRankNotFound(
                f"a {m} x {m} sample of the off-diagonal entries has numerical rank "
                f"> {kmax} = n/10")
        r, prow, pcol, piv, tol, scale = _sample_rank(s, eps)
        if r < m:
            break
    else:
        raise LowRankNotFound(
            f"a {last} x {last} sample of the off-diagonal entries has full numerical "
            f"rank (k > {kmax} = n/10)")
    if r > kmax:
        raise LowRankNotFound(f"off-diagonal sample has rank {r} > {kmax} = n/10")
    # An exact D + U V (rounded entries) shows a cliff: pivots of the size of the
    # entries, then rounding.  Pivots decaying gradually into the rounding level (a
    # smooth kernel, e.g. a Gaussian-process covariance) mean an approximately, not
    # exactly, low-rank matrix: decline before any further work.
    if r and piv[r - 1] < np.sqrt(tol * scale):
        raise LowRankNotFound(
            f"off-diagonal sample is only approximately low rank (pivots decay "
            f"gradually: pivot {r} is {piv[r - 1] / scale:.1e} of the largest)")
    if norm1 is None:
        norm1 = _dense_norm1(a)
    if r == 0:
        U = np.zeros((n, 1), dtype=wide, order="F")
        V = np.zeros((1, n), dtype=wide, order="F")
        d = np.array(np.diagonal(a), dtype=wide)
        skel = np.zeros(0, dtype=np.intp)
    else:
        # 2. skeleton: the r pivot rows R' and columns C' of the sample
        rsel = rows[prow[:r]]
        csel = cols[pcol[:r]]
        U, V, d = _skeleton(a, rsel, csel, wide)
        skel = np.concatenate([rsel, csel])
    # 3. verification: a few whole columns and rows outside the skeleton
    err = _probe(a, d, U, V, skel, norm1, rng, wide)
    tol = 1e3 * eps
    if not np.isfinite(err) or err > tol:
        raise LowRankNotFound(
            f"rank-{r} candidate failed verification: probe error {err:.2e} > "
            f"{tol:.1e}")
    U = np.asfortranarray(U, dtype=dtype)
    V = np.asfortranarray(V, dtype=dtype)
    d = np.ascontiguousarray(d, dtype=dtype)
    return d, U, V, {"rank": r, "probe_error": err, "norm1": float(norm1)}


def _skeleton(a, rsel, csel, wide):
    """U (n, r), V (r, n), d (n,) in double precision from r rows ``rsel`` and r
    columns ``csel`` (disjoint) of A whose crossing G = A[rsel, csel] is nonsingular:

    * U = A[:, C'] except on rows C' (their diagonal entry is in there);
      V = G^-1 A[R', :] except on columns R'.  Then U V = A off the diagonal.
    * rows C' of U and columns R' of V by least squares over the indices J outside
      R' u C' (rows A[C', J] = U[C'] V[:, J], columns A[J, R'] = U[J] V[:, R']);
    * d = diag(A) - diag(U V).

    Reads 2r whole rows and 2r whole columns of A (one gather each).
    """
    n = a.shape[0]
    r = rsel.size
    both = np.concatenate([rsel, csel])
    rows = np.asarray(a[both, :], dtype=wide)            # (2r, n): R' rows, C' rows
    cols = np.asarray(a[:, both], dtype=wide)            # (n, 2r): R' cols, C' cols
    if n - 2 * r < r:
        raise LowRankNotFound("too few indices outside the skeleton")
    G = rows[:r, csel]
    V = _mm(np.linalg.inv(G), rows[:r])                  # G^-1 A[R', :]   (r, n)
    U = np.array(cols[:, r:], order="F")                 # A[:, C']        (n, r)
    # least squares over J (outside R' u C'): zeroing the skeleton's columns of V
    # (rows of U) drops their terms from every product below
    VJ = V.copy(order="F")
    VJ[:, both] = 0
    M = _mm(VJ, VJ, 0, 2)                                # V_J V_J^H
    Z = _mm(rows[r:], VJ, 0, 2)                          # A[C', J] V_J^H
    U[csel] = np.linalg.solve(M.T, Z.T).T                # Z M^-1
    UJ = U.copy(order="F")
    UJ[both] = 0
    N = _mm(UJ, UJ, 2, 0)                                # U_J^H U_J
    Z2 = _mm(UJ, cols[:, :r], 2, 0)                      # U_J^H A[J, R']
    V[:, rsel] = np.linalg.solve(N, Z2)
    d = np.asarray(np.diagonal(a), dtype=wide) - np.einsum("ij,ji->i", U, V)
    # balance the gauge: U orthonormal (Cholesky QR, U = Q R; V <- R V), which keeps
    # the capacitance I + V D^-1 U as well conditioned as the problem allows
    try:
        low = np.linalg.cholesky(_mm(U, U, 2, 0))
    except np.linalg.LinAlgError:
        raise LowRankNotFound("skeleton columns are numerically dependent") from None
    rinv = np.linalg.inv(low.conj().T)
    U = _mm(U, rinv)
    V = _mm(low.conj().T, V)
    return U, V, d


def _probe(a, d, U, V, skel, norm1, rng, wide, q=4):
    """Largest 1-norm error, relative to ||A||_1, of U V + diag(d) against A on q
    random whole columns and q random whole rows outside the skeleton (O(n (q + r))
    reads).  The solves then check every result against A itself (a true residual),
    so this only has to catch a wrong structure early and cheaply."""
    n = a.shape[0]
    cand = rng.choice(n, min(n, 2 * q + skel.size), replace=False)
    cand = cand[~np.isin(cand, skel)]               # random order kept
    jc = cand[:q]
    ir = cand[q:2 * q]
    scale = max(float(norm1), 1e-300)
    err = 0.0
    if jc.size:
        colsA = np.asarray(a[:, jc], dtype=wide)
        diff = colsA - _mm(U, V[:, jc])
        diff[jc, np.arange(jc.size)] -= d[jc]
        err = float(np.abs(diff).sum(0).max())
    if ir.size:
        rowsA = np.asarray(a[ir, :], dtype=wide)
        diff = rowsA - _mm(U[ir], V)
        diff[np.arange(ir.size), ir] -= d[ir]
        rs = np.maximum(np.abs(rowsA).sum(1), scale)
        err = max(err, float((np.abs(diff).sum(1) / rs).max()) * scale)
    return err / scale


def _dense_norm1(a, block=128):
    """||A||_1 (max column sum of |a_ij|) in contiguous blocks: one pass over A, no
    n x n temporary."""
    n = a.shape[0]
    if a.flags.f_contiguous and not a.flags.c_contiguous:
        return max((float(np.abs(a[:, j:j + block]).sum(0).max(initial=0.0))
                    for j in range(0, a.shape[1], block)), default=0.0)
    colsum = np.zeros(a.shape[1], dtype=np.float64)
    for i in range(0, n, block):
        colsum += np.abs(a[i:i + block]).sum(0)
    return float(colsum.max(initial=0.0))
