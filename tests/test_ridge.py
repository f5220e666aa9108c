"""ridge(X, y, lam): primal and dual forms against the formed normal equations."""
import numpy as np
import pytest
import scipy.linalg as sla

from hybridsolve._ridge import ridge

DTYPES = [np.float32, np.float64, np.complex64, np.complex128]


def _rand(rng, shape, dtype):
    x = rng.standard_normal(shape)
    if np.dtype(dtype).kind == "c":
        x = x + 1j * rng.standard_normal(shape)
    return x.astype(dtype)


def _oracle(X, y, lam):
    X = X.astype(np.complex128)
    g = X.conj().T @ X + lam * np.eye(X.shape[1])
    return sla.solve(g, X.conj().T @ y.astype(np.complex128))


@pytest.mark.parametrize("dtype", DTYPES)
@pytest.mark.parametrize("shape", [(60, 8), (8, 60)])   # primal, dual
@pytest.mark.parametrize("ycols", [None, 3])
def test_ridge_matches_normal_equations(dtype, shape, ycols):
    rng = np.random.default_rng(0)
    X = _rand(rng, shape, dtype)
    y = _rand(rng, shape[0] if ycols is None else (shape[0], ycols), dtype)
    X_in, y_in = X.copy(), y.copy()
    beta = ridge(X, y, 0.5)
    np.testing.assert_array_equal(X, X_in)
    np.testing.assert_array_equal(y, y_in)
    assert beta.dtype == dtype
    assert beta.shape == ((shape[1],) if ycols is None else (shape[1], ycols))
    ref = _oracle(X, y, 0.5)
    eps = np.finfo(dtype).eps
    assert np.linalg.norm(beta - ref) <= 100 * max(shape) * eps * np.linalg.norm(ref)


def test_ridge_primal_and_dual_agree_and_c_f_order():
    rng = np.random.default_rng(1)
    X = rng.standard_normal((30, 30))
    y = rng.standard_normal(30)
    b1 = ridge(X, y, 2.0)                       # p <= n: primal
    b2 = ridge(np.asfortranarray(X), y, 2.0)
    b3 = ridge(X[:, ::-1], y, 2.0)[::-1]        # non-contiguous view
    np.testing.assert_allclose(b1, b2, rtol=1e-12)
    np.testing.assert_allclose(b1, b3, rtol=1e-10)
    # wide: dual, compare to primal computed the long way
    Xw = rng.standard_normal((10, 200))
    yw = rng.standard_normal(10)
    np.testing.assert_allclose(ridge(Xw, yw, 0.1), _oracle(Xw, yw, 0.1).real, rtol=1e-9,
                               atol=1e-12)


def test_ridge_integer_inputs_promote_to_float64():
    X = np.arange(12).reshape(6, 2)
    y = np.arange(6)
    beta = ridge(X, y, 1)
    assert beta.dtype == np.float64
    np.testing.assert_allclose(beta, _oracle(X, y, 1.0).real, rtol=1e-12)


@pytest.mark.parametrize("lam", [0, -1.0, np.nan, np.inf, [1.0, 2.0], 1j])
def test_ridge_rejects_bad_lambda(lam):
    with pytest.raises(ValueError, match="lam"):
        ridge(np.ones((3, 2)), np.ones(3), lam)


def test_ridge_rejects_bad_shapes_and_values():
    with pytest.raises(ValueError):
        ridge(np.ones(3), np.ones(3), 1.0)
    with pytest.raises(ValueError):
        ridge(np.ones((3, 2)), np.ones(4), 1.0)
    with pytest.raises(ValueError):
        ridge(np.ones((3, 2)), np.ones((3, 2, 1)), 1.0)
    with pytest.raises(ValueError):
        ridge(np.array([[1.0, np.nan], [0, 1]]), np.ones(2), 1.0)
    with pytest.raises(TypeError):
        ridge(np.array([["a"]]), np.ones(1), 1.0)
