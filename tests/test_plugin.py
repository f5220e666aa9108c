"""hybridsolve.plugin: the helpers plugin authors get are the ones the built-ins use."""
import importlib

import numpy as np
import pytest
import scipy.linalg as sl
from numpy.linalg import LinAlgError

import hybridsolve
from hybridsolve import plugin
from _helpers import rand

DTYPES = [np.float32, np.float64, np.complex64, np.complex128]


def test_exports_are_the_builtins_own():
    from hybridsolve import _protocol
    from hybridsolve._kernels import condest
    for name in plugin.__all__:
        assert hasattr(plugin, name)
    assert plugin.Solver is hybridsolve.Solver is _protocol.Solver
    assert plugin.Factorization is hybridsolve.Factorization
    assert plugin.norm1_estimate is condest.norm1_estimate
    # the built-in roads use the same objects
    lu = importlib.import_module("hybridsolve.roads.lu")
    assert lu.fortran_view is plugin.fortran_view and lu.result_dtype is plugin.result_dtype
    sparse = importlib.import_module("hybridsolve.roads.sparse._common")
    assert sparse.norm1_estimate is plugin.norm1_estimate


@pytest.mark.parametrize("da", [np.int8, np.int64, np.bool_, np.float16, np.float32,
                                np.float64, np.longdouble, np.complex64, np.complex128])
@pytest.mark.parametrize("db", [np.int32, np.float16, np.float32, np.float64,
                                np.complex64])
def test_result_dtype_is_scipys(da, db):
    a = np.eye(2, dtype=da)
    b = np.ones(2, dtype=db)
    assert plugin.result_dtype(a.dtype, b.dtype) == sl.solve(a, b).dtype


def test_result_dtype_rejects_non_numbers():
    with pytest.raises(ValueError):
        plugin.result_dtype(np.dtype(object))
    with pytest.raises(TypeError):
        plugin.result_dtype(np.dtype("U3"), np.dtype(np.float64))


def test_fortran_view_and_singular_error():
    a = np.arange(6.0).reshape(2, 3)
    buf, t = plugin.fortran_view(a)
    assert t and buf.flags.f_contiguous and np.shares_memory(buf, a)
    np.testing.assert_array_equal(buf, a.T)
    f = np.asfortranarray(a)
    assert plugin.fortran_view(f) == (f, False) or plugin.fortran_view(f)[0] is f
    buf, t = plugin.fortran_view(a[:, ::2])
    assert not t and buf.flags.f_contiguous and not np.shares_memory(buf, a)
    np.testing.assert_array_equal(buf, a[:, ::2])
    err = plugin.singular_error("U[1, 1] is zero")
    assert isinstance(err, LinAlgError) and str(err).startswith("A singular matrix")


@pytest.mark.parametrize("dtype", DTYPES)
def test_norm1_estimate_is_lapacks_gecon(dtype):
    """Driven by LU solves, the Python face gives gecon's estimate (to rounding)."""
    rng = np.random.default_rng(5)
    n = 30
    a = rand(rng, (n, n), dtype)
    lu, piv = sl.lu_factor(a)
    anorm = float(np.abs(a).sum(axis=0).max())
    gecon = sl.get_lapack_funcs("gecon", (lu,))
    rc, info = gecon(lu, anorm, norm="1")
    est = plugin.norm1_estimate(
        lambda x, adj: sl.lu_solve((lu, piv), x, trans=2 if adj else 0), n, dtype)
    tol = 100 * n * np.finfo(dtype).eps
    assert abs((1.0 / (anorm * est)) / rc - 1.0) <= tol


@pytest.mark.parametrize("dtype", [np.float64, np.complex128])
def test_norm1_estimate_bounds_the_norm(dtype):
    rng = np.random.default_rng(6)
    m = rand(rng, (40, 40), dtype)
    est = plugin.norm1_estimate(lambda x, adj: (m.conj().T if adj else m) @ x, 40, dtype)
    true = np.linalg.norm(m, 1)
    assert true / 3 <= est <= true * (1 + 1e-12)
    assert plugin.norm1_estimate(lambda x, adj: x, 0, dtype) == 0.0
    with pytest.raises(TypeError):
        plugin.norm1_estimate(lambda x, adj: x, 3, np.int64)


def test_a_plugin_built_from_the_helpers_is_taken():
    class ScaledIdentity(plugin.Factorization):
        kind = "scaled_identity"

        def __init__(self, c, n, dtype):
            super().__init__((n, n), dtype)
            self.c = c
            self.rcond = 1.0

        def _solve_inplace(self, b, trans):
            b /= self.c

    class ScaledIdentitySolver(plugin.Solver):
        name = "test_scaled_identity"
        formats = ("dense",)

        def cost(self, s):
            if s.lower_bandwidth != 0 or s.upper_bandwidth != 0:
                return None, "not diagonal"
            return 0.0

        def factorize(self, a, s):
            d = np.diagonal(a)
            if not np.all(d == d[0]):
                raise plugin.NotApplicable("diagonal not constant")
            return ScaledIdentity(d[0], a.shape[0], a.dtype)

    hybridsolve.register(ScaledIdentitySolver())
    try:
        name = "test_scaled_identity"
        a = 4.0 * np.eye(5)
        assert hybridsolve.factorize(a, method=name).kind == "scaled_identity"
        np.testing.assert_allclose(hybridsolve.solve(a, np.ones(5), method=name),
                                   np.full(5, 0.25))
        with pytest.raises(LinAlgError, match="declined"):
            hybridsolve.factorize(np.diag(np.arange(1.0, 6.0)), method=name)
        with pytest.raises(ValueError, match="not diagonal"):
            hybridsolve.factorize(np.ones((5, 5)), method=name)
    finally:
        hybridsolve.unregister("test_scaled_identity")
