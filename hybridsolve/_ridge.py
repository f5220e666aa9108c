"""Ridge regression: beta = (X^H X + lam I)^-1 X^H y, in the cheaper of two forms.

* primal (p <= n_samples): the p x p Gram matrix G = X^H X + lam I, Cholesky.
* dual / Woodbury (p > n_samples): (X^H X + lam I)^-1 X^H = X^H (X X^H + lam I)^-1, so
  beta = X^H (K^-1 y) with the n x n kernel matrix K = X X^H + lam I, Cholesky.

Both Gram matrices are Hermitian positive definite for lam > 0; the factorization is the
Cholesky road (the LU road if rounding makes Cholesky break down).

**Mixed precision (primal form, float64 / complex128).**  The Gram matrix is the cost
(n p^2 flops against p^3 / 3 for its Cholesky), so it is formed in single precision:
X_s = fl32(X), G_s = X_s^H X_s + lam I (syrk / herk on blocks of rows of X rounded
into one reused buffer, tuning ``ridge_gram_block_bytes``), single Cholesky, then
iterative refinement of G beta = X^H y with the true residual in double computed
without forming G in double:

    r = X^H (y - X beta) - lam beta

(one read of X per step: the two products run on row blocks of X that stay in cache,
tuning ``ridge_residual_block_bytes``), the correction through the single factors;
the stopping rule and acceptance criterion are the mixed road's
(`hybridsolve.roads.mixed.refine_solve`, with ||G||_inf = ||G_s||_1).

It is tried only when lam proves the convergence: G's eigenvalues lie in
[lam, ||G||_1] (G - lam I = X^H X is positive semidefinite; Gershgorin), so
kappa_2(G) <= ||G||_1 / lam -- the issue's (||X||_2^2 + lam) / lam with ||X||_2^2
bounded by ||X^H X||_1 -- and it must satisfy kappa * u_single <= the mixed road's
``mixed_convergence_limit``; the single factors' condition estimate (spocon) is a
second test.  The rounding of the single-precision Gram itself (about sqrt(n) u_single
relative to |X|^H |X| in practice, n u_single at worst) is not covered by that bound:
the refinement verifies every column in double, and a column that does not meet the
criterion sends the whole call to the double form (nothing is returned that was not
verified).  It is also tried only where the mixed road's own price model (tuning
``mixed_single_factor_weight`` and ``mixed_pass_weight``) says the single Gram pays
for the extra passes over X.

Memory: one block of X_s (``ridge_gram_block_bytes``) and the single Gram (p^2 4
bytes for float64 X) instead of the double Gram (p^2 8 bytes); see `mixed_memory`.
"""
from __future__ import annotations

import numpy as np

from hybridsolve._protocol import NotApplicable, Structure, result_dtype

__all__ = ["ridge", "mixed_memory"]

#: Passes over X (double-entry equivalents) the mixed primal form adds: the rounding
#: into the cached block (one read; X_s^H y works on the block in cache), about three
#: fused residuals (one read each).
_MIXED_PASSES = 1.0 + 3.0


def _hpd_solve(g, rhs):
    """Solve G Z = rhs for Hermitian positive definite G (both overwritten/consumed):
    the Cholesky road, or the LU road if rounding makes Cholesky break down."""
    from hybridsolve.roads.cholesky import CholeskySolver
    from hybridsolve.roads.lu import LUSolver
    g = np.asfortranarray(g)
    s = Structure(g.shape[0], g.dtype, symmetric=g.dtype.kind != "c", hermitian=True,
                  diag_real_positive=True)
    try:
        f = CholeskySolver().factorize(g, s)
    except NotApplicable:               # g holds the Gram matrix again
        f = LUSolver().factorize(g, s)
    return f.solve(rhs, overwrite_b=True, check_finite=False)


def mixed_memory(n, p, dtype=np.float64):
    """Bytes the mixed-precision primal form holds beyond the double form's: one block
    of the single-precision X and the single Gram, minus the double Gram it does not
    form."""
    item = np.dtype(dtype).itemsize
    half = item // 2
    return _gram_rows(n, p, half) * p * half + p * p * half - p * p * item


def _gram_rows(n, p, itemsize):
    """Rows of X per block of the single-precision Gram (``ridge_gram_block_bytes``)."""
    from hybridsolve import _tuning

    return max(1, min(n, _tuning.value("ridge_gram_block_bytes") // (p * itemsize)))


def _mixed_pays(n, p, complex_):
    """The mixed road's price model applied to the primal form: single Gram +
    Cholesky + the extra passes over X against the double Gram + Cholesky."""
    from hybridsolve.roads import mixed
    flops = (n * float(p) * p + p ** 3 / 3.0) * (4.0 if complex_ else 1.0)
    passes = mixed.PASS_WEIGHT * _MIXED_PASSES * n * p * (2.0 if complex_ else 1.0)
    return mixed.SINGLE_FACTOR_WEIGHT * flops + passes < flops


def _single_gram(X, y2, single):
    """``(G_s, c)``: the lower triangle of G_s = X_s^H X_s (F-ordered, ``single``) and
    c = X_s^H y_s (X's dtype), X_s = fl(X) in single precision, or ``(None, None)`` when
    a rounded entry is not finite.  X is rounded block by block of rows (tuning
    ``ridge_gram_block_bytes``) into one reused buffer holding conj(X_b) (so that
    syrk/herk of its transpose accumulates X_b^H X_b), never into a whole single copy."""
    from scipy.linalg import blas

    n, p = X.shape
    # every product through scipy's BLAS (the library the Cholesky below uses): another
    # library's threads, still spinning after its call, would compete with each block's
    rank_k, gemm = blas.get_blas_funcs(("herk" if single.kind == "c" else "syrk", "gemm"),
                                       dtype=single)
    rows = _gram_rows(n, p, single.itemsize)
    buf = np.empty((rows, p), dtype=single)
    gs = c = None
    with np.errstate(over="ignore", invalid="ignore"):
        for i in range(0, n, rows):
            xb = buf[:min(rows, n - i)]
            if single.kind == "c":
                np.conjugate(X[i:i + rows], out=xb, casting="same_kind")
            else:
                np.copyto(xb, X[i:i + rows], casting="same_kind")
            if not np.isfinite(xb).all():
                return None, None
            yb = gemm(1.0, xb.T, y2[i:i + rows].astype(single)).astype(X.dtype)
            if gs is None:       # xb.T is F-ordered: rank-k of it is X_b^H X_b
                gs, c = rank_k(1.0, xb.T, lower=1), yb
            else:
                gs = rank_k(1.0, xb.T, beta=1.0, c=gs, lower=1, overwrite_c=1)
                c += yb
    if not np.isfinite(c).all():
        return None, None
    return gs, np.asfortranarray(c)


def _mixed_primal(X, y2, lam):
    """beta for p <= n_samples through the single-precision Gram refined in double (see
    the module docstring), or None: not proven to converge, not cheaper, or not
    verified -- the caller then takes the double form."""
    from hybridsolve._kernels import cholesky as _chol
    from hybridsolve.roads import mixed

    single = mixed._SINGLE.get(X.dtype)
    n, p = X.shape
    if single is None or not _mixed_pays(n, p, X.dtype.kind == "c"):
        return None
    gs, c = _single_gram(X, y2, single)
    if gs is None:
        return None  # NaN / inf, or beyond single's range: the double form decides
    gs[np.diag_indices(p)] += lam
    # ||G_s||_1 from the lower triangle (the matrix the Cholesky below factors)
    gnorm = float(_chol.hermitian_norm1(gs, True))
    if not (np.isfinite(gnorm) and gnorm / lam * mixed.U_SINGLE
            <= mixed.CONVERGENCE_LIMIT):
        return None
    info, _ = mixed.single_cholesky(gs, True, gnorm)
    if info != 0:
        return None
    rc, info = _chol.pocon(gs, gnorm, True)
    if info != 0 or not (rc > 0 and mixed.U_SINGLE / rc <= mixed.CONVERGENCE_LIMIT):
        return None
    from hybridsolve import _tuning
    rows = max(1, _tuning.value("ridge_residual_block_bytes") // (p * X.itemsize))

    def residual(_c, beta, trans, cols):
        # X^H (y - X beta) - lam beta, X read once: both products per row block
        yc = y2 if cols.size == y2.shape[1] else y2[:, cols]
        r = beta * -lam
        for i in range(0, n, rows):
            xb = X[i:i + rows]
            e = yc[i:i + rows] - xb @ beta
            r += xb.conj().T @ e
        return r

    def correct(r, trans):
        return mixed.single_solve(gs, r, 0, lower=True)

    beta, failed = mixed.refine_solve(residual, correct, c, 0, gnorm)
    return None if failed.size else beta


def ridge(X, y, lam):
    """Ridge regression coefficients ``beta = (X^H X + lam I)^-1 X^H y``.

    Parameters
    ----------
    X : (n_samples, p) array_like
    y : (n_samples,) or (n_samples, m) array_like
    lam : float
        Regularisation, finite and > 0.

    Returns
    -------
    beta : (p,) or (p, m) ndarray of the common LAPACK dtype of X and y.

    Raises
    ------
    ValueError
        lam <= 0 or not finite, shapes that do not match, infs/NaNs in X or y.

    Notes
    -----
    The primal form (a p x p Cholesky) is used when p <= n_samples, else the dual form
    ``beta = X^H (X X^H + lam I)^-1 y`` (an n_samples x n_samples Cholesky): the cost is
    O(n p min(n, p)) either way, never O(p^3) for wide X.  Complex X uses X^H.
    """
    X = np.asarray(X)
    y = np.asarray(y)
    lam_arr = np.asarray(lam)
    if lam_arr.ndim != 0 or lam_arr.dtype.kind not in "biuf":
        raise ValueError(f"lam must be a real scalar, got {lam!r}")
    lam = float(lam_arr)
    if not np.isfinite(lam) or lam <= 0:
        raise ValueError(f"lam must be finite and > 0, got {lam!r}")
    if X.ndim != 2:
        raise ValueError(f"X must be 2-D (n_samples, p), got shape {X.shape}")
    if y.ndim not in (1, 2) or y.shape[0] != X.shape[0]:
        raise ValueError(f"y must have shape ({X.shape[0]},) or ({X.shape[0]}, m), "
                         f"got {y.shape}")
    dtype = result_dtype(X.dtype, y.dtype)
    X = np.asarray(X, dtype=dtype)
    y2 = np.asarray(y if y.ndim == 2 else y[:, None], dtype=dtype)
    if not np.isfinite(y2).all():
        raise ValueError("X and y must not contain infs or NaNs")
    n, p = X.shape
    if p == 0:
        return np.zeros((0,) + y.shape[1:], dtype=dtype)
    if p <= n:
        beta = _mixed_primal(X, y2, lam)
        if beta is not None:
            return beta if y.ndim == 2 else beta[:, 0]
    if not np.isfinite(X).all():
        raise ValueError("X and y must not contain infs or NaNs")
    Xh = X.conj().T
    if p <= n:
        g = np.asfortranarray(Xh @ X)
        g[np.diag_indices(p)] += lam
        beta = _hpd_solve(g, Xh @ y2)
    else:
        k = np.asfortranarray(X @ Xh)
        k[np.diag_indices(n)] += lam
        alpha = _hpd_solve(k, np.array(y2, order="F", copy=True))
        beta = Xh @ alpha
    return beta if y.ndim == 2 else beta[:, 0]
