"""Triangular kernel (trtrs/trcon) and TriangularSolver against scipy/LAPACK."""
import numpy as np
import pytest
import scipy.linalg as sl
import scipy.linalg.lapack as lapack
from numpy.linalg import LinAlgError

from hybridsolve import _registry
from hybridsolve._kernels import triangular as K
from hybridsolve._protocol import Structure
from hybridsolve.roads.triangular import TriangularFactorization, TriangularSolver
from _helpers import backward_error, eps

DTYPES = [np.float32, np.float64, np.complex64, np.complex128]


def is_cplx(dt):
    return np.dtype(dt).kind == "c"


def rand(shape, dt, rng):
    x = rng.standard_normal(shape)
    if is_cplx(dt):
        x = x + 1j * rng.standard_normal(shape)
    return x.astype(dt)


def tri(n, dt, lower, rng):
    """A well-conditioned triangular matrix (dominant diagonal) with junk in the other
    triangle, which no solve may read."""
    a = rand((n, n), dt, rng)
    a[np.diag_indices(n)] += np.asarray(n * 1.0 + 2.0, dtype=dt)
    return a


def fcopy(a):
    return np.array(a, order="F", copy=True)


@pytest.mark.parametrize("dt", DTYPES)
@pytest.mark.parametrize("lower", [False, True])
@pytest.mark.parametrize("trans", [0, 1, 2])
@pytest.mark.parametrize("unit", [False, True])
@pytest.mark.parametrize("n,k", [(1, 1), (7, 2), (16, 16), (17, 16), (40, 1), (128, 1),
                                 (129, 1), (60, 30), (150, 3), (600, 50)])
def test_trtrs_vs_scipy(dt, lower, trans, unit, n, k):
    """Sizes cross the loop / trsv / trsm thresholds (loops: nrhs 1 up to n = 128, or
    n*n*nrhs up to 4096; trsv per column: nrhs <= 2 or n*n*nrhs up to 2^24; trsm
    beyond, e.g. 600 x 50)."""
    rng = np.random.default_rng(n * 7 + k)
    a = tri(n, dt, lower, rng)
    if unit and n > 200:    # a unit diagonal with O(1) entries grows like 2^n: scale them
        a = (a / n).astype(dt)
    b = rand((n, k), dt, rng)
    t = fcopy(a)
    x = fcopy(b)
    assert K.trtrs(t, x, lower, trans, unit) == 0
    np.testing.assert_array_equal(t, a)                  # the matrix is read only
    ref = sl.solve_triangular(a, b, lower=lower, trans=trans, unit_diagonal=unit)
    tol = 50 * n * eps(dt)
    assert np.abs(x - ref).max() <= tol * max(1.0, np.abs(ref).max())
    x2 = fcopy(b)
    K.trtrs_loops(t, x2, lower, trans, unit)               # the loops at every size
    assert np.abs(x2 - ref).max() <= tol * max(1.0, np.abs(ref).max())


@pytest.mark.parametrize("dt", DTYPES)
@pytest.mark.parametrize("lower", [False, True])
def test_trtrs_zero_diagonal_info_and_b_untouched(dt, lower):
    rng = np.random.default_rng(1)
    for n, z in ((1, 0), (5, 2), (120, 119), (120, 40)):
        a = tri(n, dt, lower, rng)
        a[z, z] = 0
        b = rand((n, 2), dt, rng)
        x = fcopy(b)
        info = K.trtrs(fcopy(a), x, lower, 0, False)
        trtrs = lapack.get_lapack_funcs("trtrs", dtype=dt)
        _, info_ref = trtrs(a, b, lower=lower)
        assert info == info_ref == z + 1
        np.testing.assert_array_equal(x, b)
        assert K.trtrs(fcopy(a), fcopy(b), lower, 0, True) == 0  # unit: diag not read


@pytest.mark.parametrize("dt", DTYPES)
@pytest.mark.parametrize("lower", [False, True])
@pytest.mark.parametrize("norm", ["1", "I"])
@pytest.mark.parametrize("n", [1, 2, 50, 257])
@pytest.mark.parametrize("unit", [False, True])
def test_trcon_matches_lapack(dt, lower, norm, n, unit):
    """Our trcon runs ?trcon's Hager-Higham loop with plain trsv solves (LAPACK's own
    for a unit diagonal): the same estimate as LAPACK's to rounding."""
    rng = np.random.default_rng(2)
    a = tri(n, dt, lower, rng)
    rc, info = K.trcon(fcopy(a), lower, unit, norm)
    trcon = lapack.get_lapack_funcs("trcon", dtype=dt)
    rc_ref, info_ref = trcon(a, norm=norm, uplo="L" if lower else "U",
                             diag="U" if unit else "N")
    assert info == info_ref == 0
    assert rc == pytest.approx(rc_ref, rel=1e-4)


@pytest.mark.parametrize("lower", [False, True])
@pytest.mark.parametrize("norm", ["1", "I"])
def test_trcon_overflowing_solves_fall_back_to_lapack(lower, norm):
    u = np.array([[1e-200, 2.0, 0.0], [0.0, 1e-200, 2.0], [0.0, 0.0, 1.0]])
    a = fcopy(u.T if lower else u)
    with np.errstate(all="ignore"):
        assert not np.all(np.isfinite(sl.blas.dtrsv(u, np.ones(3))))
    rc, info = K.trcon(a, lower, False, norm)
    rc_ref, info_ref = lapack.dtrcon(a, norm=norm, uplo="L" if lower else "U")
    assert info == info_ref == 0
    assert np.isfinite(rc) and rc == pytest.approx(rc_ref, rel=1e-6, abs=1e-300)


def test_kernel_bad_arguments():
    with pytest.raises(ValueError):
        K.trtrs(np.zeros((3, 4), order="F"), np.zeros((3, 1), order="F"))
    with pytest.raises(ValueError):
        K.trtrs(np.eye(3, order="F"), np.zeros((4, 1), order="F"))
    with pytest.raises(ValueError):
        K.trtrs(np.eye(3, order="F"), np.zeros((3, 1), order="F"), trans=3)
    with pytest.raises(ValueError):
        K.trcon(np.eye(3, order="F"), norm="F")
    with pytest.raises((TypeError, ValueError)):
        K.trtrs(np.eye(3, order="F"), np.zeros((3, 1), dtype=np.float32, order="F"))


# ------------------------------------------------------------------ the Solver

def structure_for(a, lower):
    n = a.shape[0]
    return Structure(n, a.dtype, lower_bandwidth=0 if not lower else n - 1,
                     upper_bandwidth=0 if lower else n - 1)


def test_cost():
    s = TriangularSolver()
    assert s.name == "triangular"
    assert s.cost(Structure(100, np.float64, lower_bandwidth=0, upper_bandwidth=5)) == 1e4
    assert s.cost(Structure(100, np.complex64, lower_bandwidth=3,
                            upper_bandwidth=0)) == 4e4
    for bad in (Structure(100, np.float64, lower_bandwidth=1, upper_bandwidth=1),
                Structure(100, np.float64)):
        res = s.cost(bad)
        assert isinstance(res, tuple) and res[0] is None and isinstance(res[1], str)
    # a sparse A never reaches cost(): the registry filters by the declared formats
    sparse = Structure(100, np.float64, format="sparse", lower_bandwidth=0)
    candidates, rejected = _registry.price(sparse, method="triangular")
    assert candidates == [] and [r.name for r, _ in rejected] == ["triangular"]


@pytest.mark.parametrize("dt", DTYPES)
@pytest.mark.parametrize("order", ["C", "F"])
@pytest.mark.parametrize("lower", [False, True])
@pytest.mark.parametrize("n", [1, 20, 130])
def test_solver_all_trans(dt, order, lower, n):
    rng = np.random.default_rng(n)
    a = tri(n, dt, lower, rng)
    a = np.tril(a) if lower else np.triu(a)             # a true triangular A
    f = TriangularSolver().factorize(np.array(a, order=order), structure_for(a, lower))
    assert isinstance(f, TriangularFactorization)
    assert f.kind == "triangular" and f.shape == (n, n) and f.dtype == np.dtype(dt)
    for trans, op in ((0, a), (1, a.T), ("C", a.conj().T)):
        for b in (rand(n, dt, rng), rand((n, 3), dt, rng)):
            b0 = b.copy()
            x = f.solve(b, trans)
            np.testing.assert_array_equal(b, b0)
            xs = sl.solve_triangular(a, b, lower=lower,
                                     trans={0: 0, 1: 1, "C": 2}[trans])
            assert x.shape == b.shape
            tol = 50 * n * eps(dt)
            assert np.abs(x - xs).max() <= tol * max(1.0, np.abs(xs).max())
            be = backward_error(op, x.reshape(n, -1), b.reshape(n, -1))
            assert be <= 10 * n * eps(dt)
    rtrue = 1 / (np.linalg.norm(a, 1) * np.linalg.norm(np.linalg.inv(a), 1))
    assert rtrue / 10 <= f.rcond <= rtrue * 10


@pytest.mark.parametrize("order", ["C", "F"])
def test_solver_reads_only_its_triangle(order):
    """An assume_a='lower triangular' hint arrives as upper_bandwidth=0; whatever sits
    above the diagonal is ignored (as scipy.linalg.solve_triangular)."""
    rng = np.random.default_rng(3)
    n = 60
    a = tri(n, np.float64, True, rng)
    f = TriangularSolver().factorize(np.array(a, order=order), structure_for(a, True))
    b = rand(n, np.float64, rng)
    np.testing.assert_allclose(f.solve(b), sl.solve_triangular(a, b, lower=True),
                               rtol=1e-10)


@pytest.mark.parametrize("order", ["C", "F"])
def test_solver_singular_raises(order):
    a = np.triu(np.ones((4, 4)))
    a[2, 2] = 0
    with pytest.raises(LinAlgError, match="singular"):
        TriangularSolver().factorize(np.array(a, order=order), structure_for(a, False))


def test_solver_strided_and_complex_rhs_with_real_matrix():
    rng = np.random.default_rng(4)
    n = 30
    big = np.triu(tri(2 * n, np.float64, False, rng))
    a = big[::2, ::2]
    a0 = a.copy()
    f = TriangularSolver().factorize(a, structure_for(a0, False))
    b = rand((2 * n, 2), np.complex128, rng)[::2]
    x = f.solve(b)
    np.testing.assert_allclose(a0 @ x, b, rtol=1e-10, atol=1e-10)


def test_factorize_rejects_non_triangular_structure():
    a = np.eye(3)
    with pytest.raises(ValueError):
        TriangularSolver().factorize(a, Structure(3, np.float64, lower_bandwidth=1,
                                                  upper_bandwidth=1))


def test_empty_matrix():
    a = np.zeros((0, 0))
    f = TriangularSolver().factorize(a, Structure(0, np.float64, lower_bandwidth=0,
                                                  upper_bandwidth=0))
    assert f.solve(np.zeros((0, 2))).shape == (0, 2)
    assert f.rcond == 1.0            # as LAPACK ?trcon for n = 0
