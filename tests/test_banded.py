"""Diagonal, tridiagonal and banded roads vs scipy / numpy."""
import numpy as np
import pytest
import scipy.linalg as sl
from numpy.linalg import LinAlgError

from hybridsolve._inspect import inspect_dense
from hybridsolve._kernels import banded as _k
from hybridsolve._protocol import Structure
from hybridsolve.roads.banded import BandedSolver, TridiagonalSolver
from hybridsolve.roads.diagonal import DiagonalSolver
from _helpers import rand

DTYPES = [np.float32, np.float64, np.complex64, np.complex128]


def band(rng, n, kl, ku, dtype):
    a = np.triu(np.tril(rand(rng, (n, n), dtype), ku), -kl)
    a[np.diag_indices(n)] += 3          # keep it comfortably nonsingular
    return a


def op(a, trans):
    return {0: a, 1: a.T, 2: a.conj().T}[trans]


def backward_ok(a, x, b, factor=30):
    eps = np.finfo(a.dtype).eps
    a64 = a.astype(np.complex128)
    r = np.linalg.norm(a64 @ x - b)
    scale = np.linalg.norm(a64, 1) * np.linalg.norm(x) + np.linalg.norm(b)
    return r <= factor * a.shape[0] * eps * scale


ROADS = [
    (DiagonalSolver(), 0, 0),
    (TridiagonalSolver(), 1, 1),
    (BandedSolver(), 2, 3),
    (BandedSolver(), 4, 0),
]


@pytest.mark.parametrize("dtype", DTYPES)
@pytest.mark.parametrize("order", ["C", "F"])
@pytest.mark.parametrize("road", ROADS, ids=lambda r: f"{r[0].name}-{r[1]}-{r[2]}")
def test_roads_solve_like_numpy(dtype, order, road):
    solver, kl, ku = road
    rng = np.random.default_rng(11)
    n = 40
    a = np.array(band(rng, n, kl, ku, dtype), order=order)
    st, work = inspect_dense(a)
    assert (st.lower_bandwidth, st.upper_bandwidth) == (kl, ku)
    c = solver.cost(st)
    assert isinstance(c, float) and c > 0
    keep = a.copy()
    f = solver.factorize(work, st)
    assert f.kind == solver.name and f.shape == (n, n) and f.dtype == a.dtype
    for trans in (0, 1, 2):
        for b in (rand(rng, n, dtype), rand(rng, (n, 3), dtype)):
            bk = b.copy()
            x = f.solve(b, trans)
            assert x.shape == b.shape and x.dtype == a.dtype
            assert np.array_equal(b, bk)
            ref = np.linalg.solve(op(a, trans).astype(np.complex128), b)
            assert backward_ok(op(a, trans), x, b)
            tol = 1e3 * np.finfo(dtype).eps * n / f.rcond
            assert np.linalg.norm(x - ref) <= tol * np.linalg.norm(ref)
    assert np.array_equal(a, keep)


@pytest.mark.parametrize("dtype", DTYPES)
def test_banded_vs_solve_banded(dtype):
    rng = np.random.default_rng(12)
    n, kl, ku = 60, 3, 5
    a = band(rng, n, kl, ku, dtype)
    ab = np.zeros((kl + ku + 1, n), dtype)
    for j in range(n):
        for i in range(max(0, j - ku), min(n, j + kl + 1)):
            ab[ku + i - j, j] = a[i, j]
    b = rand(rng, (n, 2), dtype)
    ref = sl.solve_banded((kl, ku), ab, b)
    for layout in (a, np.asfortranarray(a)):
        st, work = inspect_dense(layout)
        x = BandedSolver().factorize(work, st).solve(b)
        eps = np.finfo(dtype).eps
        assert np.allclose(x, ref, rtol=200 * n * eps, atol=200 * n * eps)


@pytest.mark.parametrize("dtype", DTYPES)
def test_tridiagonal_hint_ignores_other_entries_like_scipy(dtype):
    rng = np.random.default_rng(13)
    n = 30
    a = rand(rng, (n, n), dtype)
    a[np.diag_indices(n)] += 6
    b = rand(rng, n, dtype)
    ref = sl.solve(a, b, assume_a="tridiagonal")
    for layout in (a, np.asfortranarray(a)):
        st, work = inspect_dense(layout, full=False)
        st.assume_a = "tridiagonal"
        s = TridiagonalSolver()
        assert s.cost(st) > 0
        x = s.factorize(work, st).solve(b)
        eps = np.finfo(dtype).eps
        assert np.allclose(x, ref, rtol=200 * n * eps, atol=200 * n * eps)


@pytest.mark.parametrize("dtype", DTYPES)
def test_banded_hint_measures_bandwidth(dtype):
    rng = np.random.default_rng(14)
    n = 50
    a = band(rng, n, 2, 7, dtype)
    b = rand(rng, n, dtype)
    st, work = inspect_dense(a, full=False)
    st.assume_a = "banded"
    s = BandedSolver()
    assert s.cost(st) > 0
    f = s.factorize(work, st)
    assert (f.kl, f.ku) == (2, 7)
    assert backward_ok(a, f.solve(b), b)


@pytest.mark.parametrize("dtype", DTYPES)
def test_diagonal_hint_reads_only_diagonal(dtype):
    rng = np.random.default_rng(15)
    a = rand(rng, (12, 12), dtype)
    b = rand(rng, 12, dtype)
    ref = sl.solve(a, b, assume_a="diagonal")
    st, work = inspect_dense(a, full=False)
    st.assume_a = "diagonal"
    x = DiagonalSolver().factorize(work, st).solve(b)
    assert np.allclose(x, ref, rtol=1e-4)


@pytest.mark.parametrize("dtype", DTYPES)
@pytest.mark.parametrize("road", ROADS, ids=lambda r: f"{r[0].name}-{r[1]}-{r[2]}")
def test_singular_raises(dtype, road):
    solver, kl, ku = road
    rng = np.random.default_rng(16)
    n = 20
    a = band(rng, n, kl, ku, dtype)
    a[:, 7] = 0             # a zero column: exactly singular whatever the pivoting
    st, work = inspect_dense(a)
    with pytest.raises(LinAlgError, match="singular"):
        solver.factorize(work, st)


@pytest.mark.parametrize("dtype", [np.float64, np.complex128])
@pytest.mark.parametrize("road", ROADS, ids=lambda r: f"{r[0].name}-{r[1]}-{r[2]}")
def test_rcond_close_to_numpy(dtype, road):
    solver, kl, ku = road
    rng = np.random.default_rng(17)
    n = 50
    for scale in (1.0, 1e-3, 1e-6):
        a = band(rng, n, kl, ku, dtype)
        a[3, 3] = scale                   # push the conditioning around
        if kl:
            a[4, 3] = scale
        st, work = inspect_dense(a)
        f = solver.factorize(work, st)
        true = 1.0 / np.linalg.cond(a, 1)
        # LAPACK's 1-norm estimator is a lower bound on ||A^-1||_1, usually within 3x
        assert true / 1.01 <= f.rcond <= 10 * true


def test_cost_rules():
    def st(lb, ub, n=100, dtype=np.float64, assume_a=None):
        return Structure(n, dtype, lower_bandwidth=lb, upper_bandwidth=ub, assume_a=assume_a)

    d, t, b = DiagonalSolver(), TridiagonalSolver(), BandedSolver()
    assert d.cost(st(0, 0)) == 100
    assert d.cost(st(0, 0, dtype=np.complex128)) == 400
    assert d.cost(st(1, 0))[0] is None
    assert d.cost(st(None, None))[0] is None
    assert d.cost(st(None, None, assume_a="diagonal")) == 100
    assert d.cost(st(None, None, assume_a="pos"))[0] is None
    assert t.cost(st(1, 1)) == 1000
    assert t.cost(st(1, 0)) == 1000
    assert t.cost(st(0, 0))[0] is None
    assert t.cost(st(2, 1))[0] is None
    assert t.cost(st(1, 1, n=2))[0] is None
    assert t.cost(st(None, None, assume_a="tridiagonal")) == 1000
    assert isinstance(b.cost(st(5, 5)), float)
    assert b.cost(st(5, 5)) < b.cost(st(10, 10))
    assert b.cost(st(20, 20))[0] is None              # kl+ku > n/3: dense LU wins
    assert b.cost(st(None, None))[0] is None
    assert isinstance(b.cost(st(None, None, assume_a="banded")), float)
    assert b.cost(st(1, 1, assume_a="sym"))[0] is None
    # the cheapest road for each shape
    assert d.cost(st(0, 0)) < t.cost(st(1, 1)) < b.cost(st(1, 1))


@pytest.mark.parametrize("dtype", DTYPES)
@pytest.mark.parametrize("order", ["C", "F"])
def test_pack_and_extract_kernels(dtype, order):
    rng = np.random.default_rng(18)
    n, kl, ku = 9, 2, 3
    a = np.array(rand(rng, (n, n), dtype), order=order)
    dl, d, du = _k.extract_tridiagonal(a)
    assert np.array_equal(d, np.diagonal(a))
    assert np.array_equal(dl, np.diagonal(a, -1))
    assert np.array_equal(du, np.diagonal(a, 1))
    ab = _k.pack_band(a, kl, ku)
    assert ab.shape == (2 * kl + ku + 1, n) and ab.flags.f_contiguous
    for k in range(-kl, ku + 1):
        # diagonal k of A sits in row kl + ku - k, columns max(k, 0) ..
        diag = np.diagonal(a, k)
        row = ab[kl + ku - k]
        assert np.array_equal(row[max(k, 0): max(k, 0) + diag.size], diag)
    assert not ab[:kl].any()
    with pytest.raises(ValueError):
        _k.pack_band(a[::2, ::2], 1, 1)
    with pytest.raises(ValueError):
        _k.pack_band(a, -1, 1)


def test_small_and_complex_rhs():
    # n = 1, 2 through the band roads; complex b against real factors
    for n in (1, 2):
        a = np.diag(np.arange(1.0, n + 1)) + np.eye(n, k=1)
        st, work = inspect_dense(a)
        for s in (BandedSolver(), TridiagonalSolver()):
            f = s.factorize(work.copy(), st)
            b = np.arange(n) + 1j
            assert np.allclose(a @ f.solve(b), b)
    st, work = inspect_dense(np.zeros((0, 0)))
    f = DiagonalSolver().factorize(work, st)
    assert f.solve(np.zeros(0)).shape == (0,)


def test_kernel_wrappers_reject_bad_shapes():
    n = 6
    d = np.ones(n)
    short = np.ones(2)
    ipiv = np.zeros(n, dtype=np.intc)
    with pytest.raises(ValueError):
        _k.gttrf(short, d, np.ones(n - 1), np.zeros(n - 2), ipiv)
    with pytest.raises(ValueError):
        _k.gttrs(np.ones(n - 1), d, np.ones(n - 1), np.zeros(n - 2), ipiv[:2],
                 np.ones((n, 1), order="F"))
    with pytest.raises(ValueError):
        _k.gttrs(np.ones(n - 1), d, np.ones(n - 1), np.zeros(n - 2), ipiv,
                 np.ones((n + 1, 1), order="F"))
    ab = np.zeros((2 * 1 + 1 + 1, n), order="F")
    with pytest.raises(ValueError):
        _k.gbtrf(ab, 2, 1, ipiv)          # wrong ldab for kl=2
    with pytest.raises(ValueError):
        _k.gbtrs(ab, 1, 1, ipiv[:3], np.ones((n, 1), order="F"))
    with pytest.raises(ValueError):
        _k.gbcon(ab, 1, 1, ipiv[:3], 1.0)
    with pytest.raises(ValueError):
        _k.gttrs(np.ones(n - 1), d, np.ones(n - 1), np.zeros(n - 2), ipiv,
                 np.ones((n, 1), order="F"), trans=3)
