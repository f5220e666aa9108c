"""Ridge regression: beta = (X^H X + lam I)^-1 X^H y, in the cheaper of two forms.

* primal (p <= n_samples): the p x p Gram matrix G = X^H X + lam I, Cholesky.
* dual / Woodbury (p > n_samples): (X^H X + lam I)^-1 X^H = X^H (X X^H + lam I)^-1, so
  beta = X^H (K^-1 y) with the n x n kernel matrix K = X X^H + lam I, Cholesky.

Both Gram matrices are Hermitian positive definite for lam > 0; the factorization is the
Cholesky road (the LU road if rounding makes Cholesky break down).
"""
from __future__ import annotations

import numpy as np

from hybridsolve._protocol import NotApplicable, Structure, result_dtype

__all__ = ["ridge"]


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
    if not (np.isfinite(X).all() and np.isfinite(y2).all()):
        raise ValueError("X and y must not contain infs or NaNs")
    n, p = X.shape
    if p == 0:
        return np.zeros((0,) + y.shape[1:], dtype=dtype)
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
