"""Pivoted LU: the kernel (getrf/getrs/gecon wrappers) and the LU road (LUSolver).

scipy / LAPACK is the oracle; tolerances scale with n * eps of the dtype.
"""
import numpy as np
import pytest
import scipy.linalg as sl
from numpy.linalg import LinAlgError

from hybridsolve._kernels import lu as K
from hybridsolve._protocol import Structure
from hybridsolve.roads.lu import LUFactorization, LUSolver
from _helpers import backward_error, eps, rand

DTYPES = [np.float32, np.float64, np.complex64, np.complex128]
# Crosses the unblocked (32), leaf (16) and recursion thresholds of the kernel.
SIZES = [1, 2, 3, 15, 16, 17, 31, 32, 33, 47, 64, 65, 100, 129, 300]


def op(a, trans):
    return {0: a, 1: a.T, 2: a.conj().T}[trans]


def scipy_solve(a, b, trans):
    return sl.lu_solve(sl.lu_factor(a), b, trans=trans)


@pytest.fixture
def rng():
    return np.random.default_rng(1234)


# Kernel paths: the shipped thresholds (tiny: own unblocked; mid: recursion; n >= 128:
# LAPACK handover), the recursion forced at every size, and the recursion with BLAS trsm
# everywhere and small leaves.
PATHS = {
    "default": {},
    "recursion": dict(lapack_n=1 << 30),
    "recursion-blas-trsm": dict(lapack_n=1 << 30, blas_trsm_n=0, leaf_nb=4, unblocked_n=0),
}


@pytest.fixture(params=list(PATHS))
def path(request):
    old = K._tuning()
    K._tuning(**PATHS[request.param])
    yield request.param
    K._tuning(**old)


def solver_factor(a, norm1=True):
    """Factor a copy of ``a`` through LUSolver (keeps ``a``'s memory order)."""
    n = a.shape[0]
    st = Structure(n, a.dtype, norm1=float(np.abs(a).sum(axis=0).max()) if norm1 else None)
    return LUSolver().factorize(a.copy(order="K"), st)


# ----------------------------------------------------------------- kernel: getrf

@pytest.mark.parametrize("dt", DTYPES)
@pytest.mark.parametrize("n", SIZES)
def test_getrf_matches_lapack(dt, n, rng, path):
    """Same pivots as LAPACK on random matrices (no ties), same factors up to rounding."""
    a = rand(rng, (n, n), dt)
    lu_ref, piv_ref, info_ref = sl.get_lapack_funcs("getrf", (a,))(a)
    f = np.asfortranarray(a.copy())
    ipiv = np.empty(n, dtype=np.intc)
    info = K.getrf(f, ipiv)
    assert info == info_ref == 0
    np.testing.assert_array_equal(ipiv, piv_ref + 1)     # ours is 1-based, as LAPACK
    scale = np.abs(lu_ref).max()
    assert np.abs(f - lu_ref).max() <= 50 * n * eps(dt) * scale


@pytest.mark.parametrize("dt", DTYPES)
@pytest.mark.parametrize("shape", [(40, 25), (25, 40), (300, 70), (70, 300), (5, 1), (1, 5)])
def test_getrf_rectangular(dt, shape, rng, path):
    m, n = shape
    a = rand(rng, shape, dt)
    lu_ref, piv_ref, info_ref = sl.get_lapack_funcs("getrf", (a,))(a)
    f = np.asfortranarray(a.copy())
    ipiv = np.empty(min(m, n), dtype=np.intc)
    assert K.getrf(f, ipiv) == info_ref
    np.testing.assert_array_equal(ipiv, piv_ref + 1)
    assert np.abs(f - lu_ref).max() <= 50 * max(m, n) * eps(dt) * np.abs(lu_ref).max()


def zero_pivot_cases():
    z = np.zeros((6, 6))
    a2 = np.eye(6)
    a2[3, 3] = 0.0                                         # U[3,3] == 0, continues after
    a3 = np.triu(np.ones((6, 6)))
    a3[:, 2] = 0.0                                         # zero column: pivot 3 is zero
    a4 = np.ones((40, 40))                                 # rank one, crosses blocking
    a5 = np.zeros((70, 70))
    a5[:, :35] = np.random.default_rng(5).standard_normal((70, 35))
    a5[:, 35:] = 0.0                                       # first zero pivot at col 36
    a6 = np.diag(np.r_[np.ones(50), 0.0, np.ones(49)])     # zero pivot deep in a leaf
    return {"zeros": z, "eye-hole": a2, "zero-col": a3, "ones40": a4,
            "half-zero70": a5, "diag100": a6}


@pytest.mark.parametrize("name", list(zero_pivot_cases()))
@pytest.mark.parametrize("dt", DTYPES)
def test_getrf_info_matches_lapack(name, dt, path):
    a = zero_pivot_cases()[name].astype(dt)
    _, piv_ref, info_ref = sl.get_lapack_funcs("getrf", (a,))(a)
    f = np.asfortranarray(a.copy())
    ipiv = np.empty(a.shape[0], dtype=np.intc)
    info = K.getrf(f, ipiv)
    assert info == info_ref and info > 0
    np.testing.assert_array_equal(ipiv, piv_ref + 1)   # rounding-free: same interchanges


def test_getrf_info_positive_means_singular_u():
    a = np.eye(5)
    a[2, 2] = 0.0
    f = np.asfortranarray(a.copy())
    ipiv = np.empty(5, dtype=np.intc)
    info = K.getrf(f, ipiv)
    assert info == 3 and f[2, 2] == 0.0
    # the factorization continued past the zero pivot: the later part is factored
    assert f[4, 4] == 1.0 and f[3, 3] == 1.0


# ----------------------------------------------------------------- kernel: getrs, gecon

@pytest.mark.parametrize("dt", DTYPES)
@pytest.mark.parametrize("n", [1, 5, 33, 128, 129, 200])
@pytest.mark.parametrize("nrhs", [1, 3, 5, 20])
@pytest.mark.parametrize("trans", [0, 1, 2])
@pytest.mark.parametrize("solve_path", ["default", "trsm"])
def test_getrs_vs_lapack(dt, n, nrhs, trans, rng, solve_path):
    """Both solve paths above the own loops: trsv column by column (the default for
    these sizes) and two trsm calls (forced)."""
    old = K._tuning()
    if solve_path == "trsm":
        K._tuning(solve_trsv_nrhs=0, solve_trsv_work=0)
    try:
        _check_getrs(dt, n, nrhs, trans, rng)
    finally:
        K._tuning(**old)


def _check_getrs(dt, n, nrhs, trans, rng):
    """Own substitution loops (small n, few rhs), trsv per column and the trsm path
    agree with getrs."""
    a = rand(rng, (n, n), dt) + 2 * np.eye(n, dtype=dt)
    b = np.asfortranarray(rand(rng, (n, nrhs), dt))
    f = np.asfortranarray(a.copy())
    ipiv = np.empty(n, dtype=np.intc)
    assert K.getrf(f, ipiv) == 0
    x = b.copy(order="F")
    K.solve_array(f, ipiv, x, trans, False)
    x_ref = scipy_solve(a, b, trans)
    assert backward_error(op(a, trans), x, b) <= 10 * n * eps(dt)
    be_ref = backward_error(op(a, trans), x_ref, b)
    assert backward_error(op(a, trans), x, b) <= 10 * be_ref + 4 * eps(dt)


@pytest.mark.parametrize("dt", DTYPES)
@pytest.mark.parametrize("norm", ["1", "I"])
def test_gecon_matches_lapack(dt, norm, rng):
    n = 30
    a = rand(rng, (n, n), dt)
    lu_ref, piv_ref, _ = sl.get_lapack_funcs("getrf", (a,))(a)
    anorm = np.linalg.norm(a, 1 if norm == "1" else np.inf)
    gecon = sl.get_lapack_funcs("gecon", (a,))
    rc_ref, _ = gecon(lu_ref, anorm, norm=norm)
    f = np.asfortranarray(a.copy())
    ipiv = np.empty(n, dtype=np.intc)
    K.getrf(f, ipiv)
    rc = K.rcond_array(f, anorm, norm == "I")   # transposed: the buffer's inf-norm
    assert rc == pytest.approx(rc_ref, rel=1e-3)


# ----------------------------------------------------------------- the solver

@pytest.mark.parametrize("dt", DTYPES)
@pytest.mark.parametrize("n", [1, 2, 16, 17, 33, 65, 127, 129, 300])
@pytest.mark.parametrize("order", ["F", "C"])
def test_solver_random(dt, n, order, rng):
    a = np.array(rand(rng, (n, n), dt), order=order)
    b = rand(rng, n, dt)
    b2 = rand(rng, (n, 4), dt)
    a0, b0 = a.copy(), b.copy()
    fac = solver_factor(a)
    assert isinstance(fac, LUFactorization) and fac.kind == "lu"
    assert fac.shape == (n, n) and fac.dtype == np.dtype(dt)
    assert fac.transposed == (order == "C" and n > 1)
    for trans in (0, 1, 2):
        for rhs in (b, b2):
            x = fac.solve(rhs, trans)
            assert x.shape == rhs.shape and x.dtype == np.dtype(dt)
            be = backward_error(op(a, trans), x, rhs)
            be_ref = backward_error(op(a, trans), scipy_solve(a, rhs, trans), rhs)
            assert be <= 10 * be_ref + 4 * n * eps(dt), (trans, be, be_ref)
    np.testing.assert_array_equal(a, a0)                 # solver got a copy
    np.testing.assert_array_equal(b, b0)
    # rcond: LAPACK's 1-norm estimate of A (as scipy.linalg.solve computes it)
    lu_ref, piv_ref, _ = sl.get_lapack_funcs("getrf", (a,))(a)
    rc_ref, _ = sl.get_lapack_funcs("gecon", (a,))(lu_ref, np.linalg.norm(a, 1), norm="1")
    assert 0 < fac.rcond <= 1 + 4 * eps(dt)
    assert fac.rcond == pytest.approx(rc_ref, rel=0.5)


@pytest.mark.parametrize("order", ["F", "C"])
def test_solver_norm_computed_when_unknown(order, rng):
    a = np.array(rng.standard_normal((50, 50)), order=order)
    with_norm = solver_factor(a, norm1=True).rcond
    without = solver_factor(a, norm1=False).rcond
    assert without == pytest.approx(with_norm, rel=1e-12)
    assert LUSolver().factorize(a.copy(order="K")).rcond == pytest.approx(with_norm)


def hilbert_like(n, dt):
    return sl.hilbert(n).astype(dt)


_SVD_CACHE = {}


def prescribed_singular_values(n, cond, dt):
    """Q1 diag(logspace(0, -log10(cond))) Q2, built once per (n, cond, dtype)."""
    key = (n, cond, np.dtype(dt).char)
    if key not in _SVD_CACHE:
        r = np.random.default_rng(n)
        q1, _ = np.linalg.qr(rand(r, (n, n), dt))
        q2, _ = np.linalg.qr(rand(r, (n, n), dt))
        s = np.logspace(0, -np.log10(cond), n)
        _SVD_CACHE[key] = ((q1 * s) @ q2).astype(dt)
    return _SVD_CACHE[key].copy()


def wilkinson_growth(n, dt):
    """Partial pivoting's worst case: growth 2^(n-1) in U's last column."""
    a = np.tril(-np.ones((n, n)), -1) + np.eye(n)
    a[:, -1] = 1.0
    return a.astype(dt)


@pytest.mark.parametrize("dt", DTYPES)
@pytest.mark.parametrize("kind", ["hilbert", "svd", "wilkinson"])
@pytest.mark.parametrize("n", [12, 40, 140])
@pytest.mark.parametrize("order", ["F", "C"])
def test_solver_hard_matrices(dt, kind, n, order, rng, path):
    single = np.dtype(dt).char in "fF"
    if kind == "hilbert":
        a = hilbert_like(n, dt)
    elif kind == "svd":
        a = prescribed_singular_values(n, 1e5 if single else 1e12, dt)
    else:
        if single and n > 40:
            pytest.skip("2^(n-1) growth overflows float32 range of meaning")
        a = wilkinson_growth(n, dt)
    a = np.array(a, order=order)
    b = rand(rng, (n, 2), dt)
    try:
        fac = solver_factor(a)
    except LinAlgError:
        # float32 Hilbert may round to exactly singular: LAPACK must agree
        assert sl.get_lapack_funcs("getrf", (a,))(a)[2] > 0
        return
    for trans in (0, 1, 2):
        x = fac.solve(b, trans)
        be = backward_error(op(a, trans), x, b)
        be_ref = backward_error(op(a, trans), scipy_solve(a, b, trans), b)
        assert be <= 10 * be_ref + 4 * n * eps(dt), (trans, be, be_ref)
    if kind == "wilkinson" and not single and order == "F":
        # the growth really happened: U[-1, -1] = 2^(n-1) (ours and LAPACK's).  (A
        # C-ordered A is factored as A^T, which has no growth at all.)
        u_last = fac.lu[-1, -1]
        assert abs(u_last) == pytest.approx(2.0 ** (n - 1))


@pytest.mark.parametrize("dt", DTYPES)
def test_strided_views(dt, rng):
    big = rand(rng, (130, 150), dt)
    a = big[::2, 1::2][:60, :60]                    # neither C- nor F-contiguous
    assert not a.flags.c_contiguous and not a.flags.f_contiguous
    a0 = a.copy()
    b = rand(rng, (120, 3), dt)[::2]
    fac = LUSolver().factorize(a, Structure(60, dt))  # handed a view: solver copies it
    np.testing.assert_array_equal(a, a0)
    for trans in (0, 1, 2):
        x = fac.solve(b, trans)
        be_ref = backward_error(op(a0, trans), scipy_solve(a0, b, trans), b)
        assert backward_error(op(a0, trans), x, b) <= 10 * be_ref + 200 * eps(dt)
    # a transposed view of an F array is C-contiguous: factored as the transpose, no copy
    f = np.asfortranarray(rand(rng, (40, 40), dt))
    c = f.T
    assert c.flags.c_contiguous
    ct = c.copy()
    fac = LUSolver().factorize(c, Structure(40, dt))
    assert fac.transposed and np.shares_memory(fac.lu, f)
    x = fac.solve(b[:40, 0])
    be_ref = backward_error(ct, scipy_solve(ct, b[:40, 0], 0), b[:40, 0])
    assert backward_error(ct, x, b[:40, 0]) <= 10 * be_ref + 100 * eps(dt)


def test_factorization_reused_for_several_b(rng):
    n = 70
    a = rng.standard_normal((n, n))
    fac = solver_factor(a)
    lu0 = fac.lu.copy()
    for k in range(5):
        b = rng.standard_normal((n, k + 1))
        x = fac.solve(b)
        np.testing.assert_allclose(x, np.linalg.solve(a, b), rtol=1e-9, atol=1e-12)
    np.testing.assert_array_equal(fac.lu, lu0)          # solving never touches the factors


def test_complex_b_with_real_factors(rng):
    n = 20
    a = rng.standard_normal((n, n))
    b = rand(rng, (n, 2), np.complex128)
    x = solver_factor(a).solve(b, 2)
    np.testing.assert_allclose(a.T @ x, b, atol=1e-12)


# ----------------------------------------------------------------- the seed case

EPS20 = 1e-20


def test_seed_tiny_pivot_solved_to_full_accuracy():
    a = np.array([[EPS20, 1.0], [1.0, 1.0]])
    b = np.array([1.0, 2.0])
    # exact solution: x1 = 1 / (1 - eps) ~ 1 + eps, x2 = (1 - 2 eps) / (1 - eps) ~ 1 - eps
    x_exact = np.array([1.0 / (1.0 - EPS20), (1.0 - 2 * EPS20) / (1.0 - EPS20)])
    for order in "FC":
        fac = solver_factor(np.array(a, order=order))
        x = fac.solve(b)
        np.testing.assert_allclose(x, x_exact, rtol=4 * eps(np.float64), atol=0)
        assert 0.1 < fac.rcond <= 1          # well conditioned: pivoting makes it easy


def test_seed_unpivoted_elimination_loses_a22():
    """Without pivoting, l21 = 1/eps and a22 - l21 * a12 = 1 - 1e20 rounds to -1e20: the
    1 in a22 is lost, and x1 comes out 0 instead of 1.  Ours pivots and gets x1 = 1."""
    a = np.array([[EPS20, 1.0], [1.0, 1.0]])
    b = np.array([1.0, 2.0])
    # Gaussian elimination with no row interchange, in numpy
    l21 = a[1, 0] / a[0, 0]
    u22 = a[1, 1] - l21 * a[0, 1]
    assert u22 == -1e20                      # a22 = 1 has vanished from U
    y2 = b[1] - l21 * b[0]
    x2 = y2 / u22
    x1 = (b[0] - a[0, 1] * x2) / a[0, 0]
    naive = np.array([x1, x2])
    assert abs(naive[0] - 1.0) > 0.5         # badly wrong: x1 = 0
    assert backward_error(a, naive, b) > 0.1
    x = solver_factor(a).solve(b)
    assert abs(x[0] - 1.0) < 4 * eps(np.float64) and abs(x[1] - 1.0) < 4 * eps(np.float64)
    # and the kernel did interchange the rows
    f = np.asfortranarray(a.copy())
    ipiv = np.empty(2, dtype=np.intc)
    K.getrf(f, ipiv)
    assert ipiv[0] == 2


# ----------------------------------------------------------------- errors and protocol

@pytest.mark.parametrize("dt", DTYPES)
@pytest.mark.parametrize("order", ["F", "C"])
def test_exactly_singular_raises(dt, order):
    for a in (np.zeros((3, 3)), np.ones((50, 50)), zero_pivot_cases()["half-zero70"]):
        a = np.array(a, dtype=dt, order=order)
        with pytest.raises(LinAlgError, match="singular"):
            solver_factor(a)


def test_cost():
    s = LUSolver()
    assert s.name == "lu"
    flops = 2 / 3 * 30**3 + 2 * 30**2          # factor + one solve
    assert s.cost(Structure(30, np.float64)) == pytest.approx(flops)
    assert s.cost(Structure(30, np.complex64)) == pytest.approx(4 * flops)
    assert s.cost(Structure(30, np.float64, assume_a="pos"))[0] is None
    # other formats are refused by the registry from the declared ``formats``
    from hybridsolve import _registry
    cands, rejected = _registry.price(Structure(30, np.float64, format="sparse"),
                                      method="lu")
    assert not cands and [r.name for r, _ in rejected] == ["lu"]


def test_solver_bad_input(rng):
    s = LUSolver()
    with pytest.raises(ValueError):
        s.factorize(np.zeros((3, 4)), Structure(3, np.float64))
    with pytest.raises(ValueError):
        s.factorize(np.zeros(3), Structure(3, np.float64))
    with pytest.raises(TypeError):
        s.factorize(np.array([["a", "b"], ["c", "d"]]), Structure(2, np.float64))
    fac = solver_factor(rng.standard_normal((4, 4)))
    with pytest.raises(ValueError):
        fac.solve(np.ones(5))
    with pytest.raises(ValueError):
        fac.solve(np.ones((4, 2)), trans=3)


def test_solver_upcasts_and_readonly(rng):
    a = np.array([[4, 1], [2, 3]])                       # integer: float64, as scipy
    fac = LUSolver().factorize(a, Structure(2, np.float64))
    assert fac.dtype == np.float64
    np.testing.assert_allclose(fac.solve([1, 2]), np.linalg.solve(a, [1, 2]))
    r = rng.standard_normal((5, 5))
    r.setflags(write=False)                              # read-only: copied, not written
    fac = LUSolver().factorize(r, Structure(5, np.float64))
    np.testing.assert_allclose(r @ fac.solve(np.ones(5)), np.ones(5), atol=1e-12)


def test_kernel_entry_points_reject_bad_arrays():
    ipiv = np.empty(3, dtype=np.intc)
    with pytest.raises(ValueError):
        K.factor_array(np.zeros((3, 3)), ipiv, -1.0, False)     # C-ordered: not accepted
    with pytest.raises(TypeError):
        K.factor_array(np.zeros((3, 3), dtype=np.int64, order="F"), ipiv, -1.0, False)
    with pytest.raises(ValueError):
        K.factor_array(np.zeros((3, 3), order="F"), np.empty(2, np.intc), -1.0, False)
    with pytest.raises(ValueError):
        K.solve_array(np.eye(3, order="F"), ipiv, np.zeros((3, 1), np.float32, order="F"),
                      0, False)
    with pytest.raises(ValueError):
        K.solve_array(np.eye(3, order="F"), ipiv, np.zeros((4, 1), order="F"), 0, False)


def test_tuning_thresholds_do_not_change_results(rng):
    """Unblocked, recursive and LAPACK-handover paths give the same pivots."""
    a = rng.standard_normal((90, 90))
    old = K._tuning()
    try:
        results = []
        for t in (dict(unblocked_n=1000, lapack_n=1 << 30),
                  dict(unblocked_n=0, leaf_nb=4, lapack_n=1 << 30),
                  dict(unblocked_n=0, leaf_nb=16, lapack_n=1 << 30),
                  dict(lapack_n=0)):
            K._tuning(**t)
            f = np.asfortranarray(a.copy())
            ipiv = np.empty(90, dtype=np.intc)
            assert K.getrf(f, ipiv) == 0
            results.append((f, ipiv))
    finally:
        K._tuning(**old)
    for f, ipiv in results[1:]:
        np.testing.assert_array_equal(ipiv, results[0][1])
        np.testing.assert_allclose(f, results[0][0], rtol=0, atol=1e-11)


@pytest.mark.parametrize("order", ["F", "C"])
def test_rcond_lazy_equals_eager(order, rng):
    a = np.array(rng.standard_normal((40, 40)), order=order)
    lazy = solver_factor(a)
    assert lazy._rcond is None                           # not computed yet
    s = LUSolver()
    s.eager_rcond = True
    eager = s.factorize(a.copy(order="K"), Structure(40, a.dtype))
    assert eager._rcond is not None
    assert lazy.rcond == eager.rcond
    ref = 1.0 / (np.linalg.norm(a, 1) * np.linalg.norm(np.linalg.inv(a), 1))
    assert ref / 10 <= lazy.rcond <= 10 * ref            # an estimate of the true value


# ------------------------------------------- rcond: our trsv Hager-Higham loop vs gecon

def _lapack_rcond(a, transposed):
    """LAPACK's own getrf + gecon on the stored matrix M (A, or A^T when transposed)."""
    m = np.asfortranarray(a.T if transposed else a)
    lu_ref, _, info = sl.get_lapack_funcs("getrf", (m,))(m)
    assert info == 0
    anorm = np.linalg.norm(a, 1)
    gecon = sl.get_lapack_funcs("gecon", (m,))
    return lu_ref, anorm, gecon(lu_ref, anorm, norm="I" if transposed else "1")[0]


@pytest.mark.parametrize("dt", DTYPES)
@pytest.mark.parametrize("kind", ["random", "hilbert", "kappa"])
@pytest.mark.parametrize("n", [1, 2, 7, 64, 200])
@pytest.mark.parametrize("transposed", [False, True])
def test_rcond_array_is_gecons_estimate(dt, kind, n, transposed, rng):
    """rcond_array runs xGECON's algorithm with plain trsv solves: the same estimate as
    LAPACK's gecon (to rounding), for every dtype and both storage orders."""
    if kind == "random":
        a = rand(rng, (n, n), dt)
    elif kind == "hilbert":
        a = hilbert_like(n, dt)
    else:
        a = prescribed_singular_values(n, 1e5 if dt in (np.float32, np.complex64) else 1e12,
                                       dt)
    lu_ref, anorm, rc_ref = _lapack_rcond(a, transposed)
    rc = K.rcond_array(np.asfortranarray(lu_ref), anorm, transposed)
    # the two differ only by the rounding of the triangular solves, which an
    # ill-conditioned U amplifies by up to kappa(A)
    e = float(eps(dt))
    kappa = min(1.0 / max(float(rc_ref), 1e-300), 1.0 / e)
    assert rc == pytest.approx(float(rc_ref), rel=max(1e-4, 10 * n * e * kappa))


def test_rcond_array_falls_back_to_gecon_on_overflow():
    """Factors whose solves overflow in plain trsv: the estimate is gecon's (which
    scales), never inf/NaN."""
    lu = np.asfortranarray(np.array([[1e-200, 1.0, 0.0],
                                     [0.5, 1e-200, 2.0],
                                     [0.25, 0.5, 1.0]]))
    with np.errstate(all="ignore"):
        direct = sl.blas.dtrsv(lu, np.ones(3))
    assert not np.all(np.isfinite(direct))          # trsv alone does overflow here
    rc_ref = sl.lapack.dgecon(lu, 3.0)[0]
    rc = K.rcond_array(lu.copy(order="F"), 3.0, False)
    assert np.isfinite(rc) and rc == pytest.approx(rc_ref, rel=1e-6)
    rc_ref_t = sl.lapack.dgecon(lu, 3.0, norm="I")[0]
    assert K.rcond_array(lu.copy(order="F"), 3.0, True) == pytest.approx(rc_ref_t,
                                                                           rel=1e-6)
