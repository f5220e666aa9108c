"""Cholesky kernel (potrf/potrs/pocon) and CholeskySolver against scipy/LAPACK."""
import numpy as np
import pytest
import scipy.linalg as sl
import scipy.linalg.lapack as lapack
from numpy.linalg import LinAlgError

from hybridsolve import _registry
from hybridsolve._kernels import cholesky as K
from hybridsolve._protocol import NotApplicable, Structure
from hybridsolve.roads.cholesky import CholeskyFactorization, CholeskySolver
from _helpers import backward_error, eps, hermitian_part

DTYPES = [np.float32, np.float64, np.complex64, np.complex128]
# crossing the leaf size (32) and several recursion levels
SIZES = [1, 2, 7, 16, 31, 32, 33, 64, 65, 100, 300]


def fcopy(a):
    return np.array(a, order="F", copy=True)


def is_cplx(dt):
    return np.dtype(dt).kind == "c"


def spd(n, dt, rng, shift=None):
    x = rng.standard_normal((n, n))
    if is_cplx(dt):
        x = x + 1j * rng.standard_normal((n, n))
    a = x @ x.conj().T + (n if shift is None else shift) * np.eye(n)
    a = a.astype(dt)
    return (a + a.conj().T) / 2        # exactly Hermitian, bit for bit


def rhs(n, k, dt, rng):
    b = rng.standard_normal((n, k))
    if is_cplx(dt):
        b = b + 1j * rng.standard_normal((n, k))
    return b.astype(dt)


def potrf_ref(dt):
    return lapack.get_lapack_funcs("potrf", dtype=dt)


# ------------------------------------------------------------------ kernel: factor

@pytest.mark.parametrize("dt", DTYPES)
@pytest.mark.parametrize("lower", [False, True])
@pytest.mark.parametrize("n", SIZES)
def test_potrf_matches_lapack_and_touches_one_triangle(dt, lower, n):
    rng = np.random.default_rng(n)
    a = spd(n, dt, rng)
    work = fcopy(a)
    # poison the other triangle: it must be neither read nor written
    other = np.triu_indices(n, 1) if lower else np.tril_indices(n, -1)
    work[other] = np.nan
    poisoned = work.copy()
    info = K.potrf(work, lower)
    c_ref, info_ref = potrf_ref(dt)(a, lower=lower, clean=True)
    assert info == info_ref == 0
    tri = np.tril(work) if lower else np.triu(work)
    err = np.abs(tri - c_ref).max() / np.abs(c_ref).max()
    assert err < 50 * n * eps(dt)
    np.testing.assert_array_equal(work[other], poisoned[other])


@pytest.mark.parametrize("dt", [np.complex64, np.complex128])
@pytest.mark.parametrize("n", [5, 40, 130])
def test_potrf_ignores_imaginary_part_of_diagonal(dt, n):
    rng = np.random.default_rng(1)
    a = spd(n, dt, rng)
    a[np.diag_indices(n)] += 1j * rng.standard_normal(n).astype(dt)  # garbage
    for lower in (False, True):
        work = fcopy(a)
        info = K.potrf(work, lower)
        c_ref, info_ref = potrf_ref(dt)(a, lower=lower, clean=True)
        assert info == info_ref == 0
        tri = np.tril(work) if lower else np.triu(work)
        assert np.abs(tri - c_ref).max() / np.abs(c_ref).max() < 50 * n * eps(dt)
        assert np.all(work.diagonal().imag == 0)


@pytest.mark.parametrize("dt", DTYPES)
@pytest.mark.parametrize("lower", [False, True])
@pytest.mark.parametrize("n,bad", [(1, 0), (5, 3), (40, 0), (40, 17), (40, 39),
                                   (200, 1), (200, 120), (200, 199)])
def test_potrf_info_equals_lapack_on_non_pd(dt, lower, n, bad):
    rng = np.random.default_rng(bad)
    a = spd(n, dt, rng, shift=1.0)
    a[bad, bad] = -1.0          # leading minor bad+1 is the first non-PD one
    work = fcopy(a)
    info = K.potrf(work, lower)
    _, info_ref = potrf_ref(dt)(a, lower=lower)
    assert info == info_ref == bad + 1


@pytest.mark.parametrize("lower", [False, True])
def test_potrf_nan_and_zero_pivot(lower):
    a = np.eye(4)
    a[2, 2] = np.nan
    # reference LAPACK (dpotrf2's DISNAN) reports a NaN pivot; OpenBLAS's own dpotrf
    # does not, so the oracle here is the reference semantics, not scipy's BLAS.
    assert K.potrf(fcopy(a), lower) == 3
    a[2, 2] = 0.0
    assert K.potrf(fcopy(a), lower) == lapack.dpotrf(a, lower=lower)[1] == 3


@pytest.mark.parametrize("lower", [False, True])
def test_potrf_fails_early(lower):
    """A failure in the first leaf stops everything: the trailing columns (which the
    recursion would only reach later) are never written."""
    n = 256
    a = spd(n, np.float64, np.random.default_rng(3))
    a[5, 5] = -1.0
    work = fcopy(a)
    assert K.potrf(work, lower) == 6
    np.testing.assert_array_equal(work[:, 64:], a[:, 64:])
    np.testing.assert_array_equal(work[64:, :], a[64:, :])


def test_potrf_rejects_bad_shapes_and_dtypes():
    with pytest.raises(ValueError):
        K.potrf(np.zeros((3, 4), order="F"))
    with pytest.raises((TypeError, ValueError)):
        K.potrf(np.zeros((3, 3), dtype=np.int64, order="F"))
    with pytest.raises(ValueError):   # C-ordered buffer is not accepted by the kernel
        K.potrf(np.zeros((3, 3)))
    assert K.potrf(np.zeros((0, 0), order="F")) == 0


# ------------------------------------------------------------------ kernel: solve, pocon

@pytest.mark.parametrize("dt", DTYPES)
@pytest.mark.parametrize("lower", [False, True])
@pytest.mark.parametrize("n,k", [(1, 1), (16, 1), (33, 3), (100, 7), (200, 2), (70, 120)])
def test_potrs_backward_error_vs_scipy(dt, lower, n, k):
    rng = np.random.default_rng(n + k)
    a = spd(n, dt, rng)
    b = rhs(n, k, dt, rng)
    c = fcopy(a)
    assert K.potrf(c, lower) == 0
    x = fcopy(b)
    K.solve_array(c, x, lower)
    xs = sl.cho_solve(sl.cho_factor(a, lower=lower), b)
    assert backward_error(a, x, b) <= 4 * backward_error(a, xs, b) + 4 * n * eps(dt)


@pytest.mark.parametrize("dt", DTYPES)
@pytest.mark.parametrize("lower", [False, True])
@pytest.mark.parametrize("n", [1, 2, 60, 301])
def test_pocon_matches_lapack(dt, lower, n):
    """Our pocon runs ?pocon's Hager-Higham loop with plain trsv solves: the same
    estimate as LAPACK's to rounding."""
    rng = np.random.default_rng(5)
    a = spd(n, dt, rng, shift=1e-3)
    anorm = np.linalg.norm(a.astype(np.complex128), 1)
    c = fcopy(a)
    K.potrf(c, lower)
    rc, info = K.pocon(c, anorm, lower)
    pocon = lapack.get_lapack_funcs("pocon", dtype=dt)
    rc_ref, info_ref = pocon(c, anorm, uplo="L" if lower else "U")
    assert info == info_ref == 0
    assert rc == pytest.approx(rc_ref, rel=1e-3)
    true = 1 / (anorm * np.linalg.norm(np.linalg.inv(a.astype(np.complex128)), 1))
    assert true / 10 <= rc <= true * 10


@pytest.mark.parametrize("lower", [False, True])
def test_pocon_overflowing_solves_fall_back_to_lapack(lower):
    """A factor whose plain trsv solves overflow: the estimate is LAPACK's (scaled
    solves), finite, never inf/NaN."""
    u = np.array([[1e-200, 2.0, 0.0], [0.0, 1e-200, 2.0], [0.0, 0.0, 1.0]])
    c = fcopy(u.T if lower else u)
    with np.errstate(all="ignore"):
        assert not np.all(np.isfinite(sl.blas.dtrsv(u, np.ones(3))))
    rc, info = K.pocon(c, 5.0, lower)
    rc_ref, info_ref = lapack.dpocon(c, 5.0, uplo="L" if lower else "U")
    assert info == info_ref == 0
    assert np.isfinite(rc) and rc == pytest.approx(rc_ref, rel=1e-6, abs=1e-300)


@pytest.mark.parametrize("lower", [False, True])
def test_hermitian_norm1_reads_one_triangle(lower):
    rng = np.random.default_rng(6)
    a = spd(30, np.complex128, rng)
    w = fcopy(a)
    w[np.triu_indices(30, 1) if lower else np.tril_indices(30, -1)] = 1e6
    info, anorm = K.factor_array(w, lower, -1.0)
    assert info == 0 and anorm == pytest.approx(np.linalg.norm(a, 1), rel=1e-12)


# ------------------------------------------------------------------ the Solver

def structure_detected(a):
    n = a.shape[0]
    return Structure(n, a.dtype, hermitian=True, symmetric=not is_cplx(a.dtype),
                     diag_real_positive=True, norm1=float(np.linalg.norm(a, 1)))


def test_cost():
    s = CholeskySolver()
    assert s.name == "cholesky"
    n = 300
    st = Structure(n, np.float64, hermitian=True, diag_real_positive=True)
    assert s.cost(st) == pytest.approx(n ** 3 / 3 + 2 * n * n)
    stc = Structure(n, np.complex128, hermitian=True, diag_real_positive=True)
    assert s.cost(stc) == pytest.approx(4 * s.cost(st))
    assert s.cost(Structure(n, np.float64, assume_a="pos")) == pytest.approx(s.cost(st))
    for bad in (Structure(n, np.float64, hermitian=False, diag_real_positive=True),
                Structure(n, np.float64, hermitian=True, diag_real_positive=False),
                Structure(n, np.float64, assume_a="sym")):
        res = s.cost(bad)
        assert isinstance(res, tuple) and res[0] is None and isinstance(res[1], str)
    # a sparse A never reaches cost(): the registry filters by the declared formats
    sparse = Structure(n, np.float64, hermitian=True, diag_real_positive=True,
                       format="sparse")
    candidates, rejected = _registry.price(sparse, method="cholesky")
    assert candidates == [] and [r.name for r, _ in rejected] == ["cholesky"]


@pytest.mark.parametrize("dt", DTYPES)
@pytest.mark.parametrize("order", ["C", "F"])
@pytest.mark.parametrize("n", [1, 16, 33, 100])
def test_solver_detected_all_trans(dt, order, n):
    rng = np.random.default_rng(n)
    a = spd(n, dt, rng)
    st = structure_detected(a)
    f = CholeskySolver().factorize(np.array(a, order=order), st)
    assert isinstance(f, CholeskyFactorization)
    assert f.kind == "cholesky" and f.shape == (n, n) and f.dtype == np.dtype(dt)
    for trans, op in ((0, a), (1, a.T), (2, a.conj().T)):
        for b in (rhs(n, 1, dt, rng)[:, 0], rhs(n, 4, dt, rng)):
            b0 = b.copy()
            x = f.solve(b, trans)
            np.testing.assert_array_equal(b, b0)          # b not modified
            assert x.shape == b.shape and x.dtype == np.dtype(dt)
            xs = sl.solve(op, b)
            assert (backward_error(op, x.reshape(n, -1), b.reshape(n, -1))
                    <= 4 * backward_error(op, xs.reshape(n, -1), b.reshape(n, -1))
                    + 4 * n * eps(dt))


@pytest.mark.parametrize("dt", DTYPES)
@pytest.mark.parametrize("order", ["C", "F"])
@pytest.mark.parametrize("lower", [False, True])
def test_solver_pos_hint_reads_one_triangle(dt, order, lower):
    rng = np.random.default_rng(7)
    n = 90
    a = spd(n, dt, rng)
    given = a.copy()
    given[np.triu_indices(n, 1) if lower else np.tril_indices(n, -1)] = 7.5  # junk
    st = Structure(n, np.dtype(dt), assume_a="pos", lower=lower)
    f = CholeskySolver().factorize(np.array(given, order=order), st)
    b = rhs(n, 3, dt, rng)
    ref = sl.solve(given, b, assume_a="pos", lower=lower)
    for trans, op in ((0, a), (1, a.T), (2, a.conj().T)):
        x = f.solve(b, trans)
        xs = sl.solve(op, b)
        assert (backward_error(op, x, b)
                <= 4 * backward_error(op, xs, b) + 4 * n * eps(dt))
    x = f.solve(b)
    assert np.abs(x - ref).max() <= 1e3 * n * eps(dt) * np.abs(ref).max()
    rtrue = 1 / (np.linalg.norm(a, 1) * np.linalg.norm(np.linalg.inv(a), 1))
    assert rtrue / 10 <= f.rcond <= rtrue * 10


@pytest.mark.parametrize("order", ["C", "F"])
@pytest.mark.parametrize("lower", [False, True])
def test_complex_symmetric_non_hermitian_pos_like_zpotrf(order, lower):
    """assume_a='pos' on a complex *symmetric* (not Hermitian) A: only the named triangle
    counts, as zpotrf; we succeed exactly when zpotrf does, and solve with the Hermitian
    matrix that triangle defines (as scipy.linalg.solve(assume_a='pos'))."""
    rng = np.random.default_rng(8)
    n = 50
    h = spd(n, np.complex128, rng)
    tri = np.tril(h) if lower else np.triu(h)
    a = tri + tri.T - np.diag(h.diagonal())          # complex symmetric, not Hermitian
    assert not np.allclose(a, a.conj().T)
    c_ref, info_ref = lapack.zpotrf(a, lower=lower, clean=True)
    assert info_ref == 0
    st = Structure(n, np.complex128, assume_a="pos", lower=lower)
    work = np.array(a, order=order)
    f = CholeskySolver().factorize(work, st)
    # the factor itself: as zpotrf's (conjugated when the buffer is A^T)
    fac = f.factor
    mine = np.tril(fac) if f.lower else np.triu(fac)
    if order == "C":    # the buffer is A^T: its factor of conj(H) is the transpose
        mine = mine.T
    np.testing.assert_allclose(mine, c_ref, rtol=0, atol=1e-12 * np.abs(c_ref).max())
    b = rhs(n, 2, np.complex128, rng)
    x = f.solve(b)
    np.testing.assert_allclose(x, sl.solve(a, b, assume_a="pos", lower=lower),
                               rtol=1e-9, atol=1e-12)
    # and a non-PD triangle fails as zpotrf does
    bad = a.copy()
    bad[3, 3] = -5
    _, info_bad = lapack.zpotrf(bad, lower=lower)
    with pytest.raises(LinAlgError, match="not positive definite"):
        CholeskySolver().factorize(np.array(bad, order=order), st)
    assert info_bad == 4


@pytest.mark.parametrize("dt", DTYPES)
@pytest.mark.parametrize("order", ["C", "F"])
@pytest.mark.parametrize("n,bad", [(3, 1), (40, 35), (200, 150)])
def test_failure_restores_buffer_exactly(dt, order, n, bad):
    rng = np.random.default_rng(9)
    a = spd(n, dt, rng, shift=1.0)
    a[bad, bad] = 1e-3                  # Hermitian, positive diagonal, but indefinite
    a[bad, bad - 1] = a[bad - 1, bad] = 50.0
    work = np.array(a, order=order)
    with pytest.raises(NotApplicable, match="not positive definite"):
        CholeskySolver().factorize(work, structure_detected(a))
    np.testing.assert_array_equal(work, a)   # bit for bit: LU can take over this buffer


def test_pos_hint_failure_raises_linalgerror():
    a = np.array([[1.0, 2.0], [2.0, 1.0]])
    with pytest.raises(LinAlgError, match="singular or not positive definite.*order 2"):
        CholeskySolver().factorize(a.copy(), Structure(2, np.float64, assume_a="pos"))


def test_strided_inputs_and_real_factor_complex_rhs():
    rng = np.random.default_rng(10)
    n = 40
    big = spd(2 * n, np.float64, rng)
    a = big[::2, ::2]                    # neither C- nor F-contiguous
    assert not a.flags.c_contiguous and not a.flags.f_contiguous
    a0 = a.copy()
    f = CholeskySolver().factorize(a, structure_detected(a0))
    b = rhs(2 * n, 3, np.complex128, rng)[::2]
    x = f.solve(b)
    assert x.dtype == np.complex128
    np.testing.assert_allclose(a0 @ x, b, rtol=1e-9, atol=1e-9)


def test_solve_rejects_bad_b():
    a = spd(5, np.float64, np.random.default_rng(11))
    f = CholeskySolver().factorize(a.copy(), structure_detected(a))
    with pytest.raises(ValueError):
        f.solve(np.ones(4))
    with pytest.raises(ValueError):
        f.solve(np.ones((5, 2, 2)))
    with pytest.raises(ValueError):
        f.solve(np.array([1, 2, np.nan, 4, 5.0]))
    with pytest.raises(ValueError):
        f.solve(np.ones(5), trans="X")


def test_factorize_rejects_non_square():
    with pytest.raises(ValueError):
        CholeskySolver().factorize(np.ones((3, 4)), Structure(3, np.float64,
                                                              assume_a="pos"))


@pytest.mark.parametrize("dt", DTYPES)
@pytest.mark.parametrize("lower", [False, True])
def test_split_schur_update_matches_lapack(dt, lower):
    """The herk + gemm + herk split of large Schur complements (normally from order
    1024), driven here at a small order."""
    n = 230
    a = spd(n, dt, np.random.default_rng(12))
    old = K._set_herk_split(40)
    try:
        work = fcopy(a)
        info = K.potrf(work, lower)
        bad = a.copy()
        bad[200, 200] = -1
        info_bad = K.potrf(fcopy(bad), lower)
    finally:
        K._set_herk_split(old)
    c_ref, _ = potrf_ref(dt)(a, lower=lower, clean=True)
    assert info == 0 and info_bad == 201
    tri = np.tril(work) if lower else np.triu(work)
    assert np.abs(tri - c_ref).max() / np.abs(c_ref).max() < 50 * n * eps(dt)


def test_empty_matrix():
    a = np.zeros((0, 0))
    f = CholeskySolver().factorize(a, Structure(0, np.float64, assume_a="pos"))
    assert f.solve(np.zeros(0)).shape == (0,)
    assert f.rcond == 1.0            # as LAPACK ?pocon for n = 0


@pytest.mark.parametrize("dt", DTYPES)
@pytest.mark.parametrize("lower", [False, True])
@pytest.mark.parametrize("leaf", [1, 5, 64])
def test_other_leaf_sizes_match_lapack(dt, lower, leaf):
    """The leaf size is a tuning knob (default 32): every setting gives LAPACK's factor
    and info (64 fills the upper leaf's whole stack buffer)."""
    n = 64 + 37
    a = spd(n, dt, np.random.default_rng(13))
    bad = a.copy()
    bad[63, 63] = -1
    old = K._set_leaf(leaf)
    try:
        work = fcopy(a)
        info = K.potrf(work, lower)
        info_bad = K.potrf(fcopy(bad), lower)
    finally:
        K._set_leaf(old)
    c_ref, _ = potrf_ref(dt)(a, lower=lower, clean=True)
    assert info == 0 and info_bad == 64
    tri = np.tril(work) if lower else np.triu(work)
    assert np.abs(tri - c_ref).max() / np.abs(c_ref).max() < 50 * n * eps(dt)


@pytest.mark.parametrize("dtype", [np.float32, np.float64, np.complex64, np.complex128])
@pytest.mark.parametrize("lower", [False, True])
def test_array_entry_points_match_potrf(dtype, lower):
    # factor_array / solve_array are the road's fast path: the same factor as potrf, the
    # 1-norm of A, a solution as good as scipy's
    rng = np.random.default_rng(21)
    n = 37
    g = rng.standard_normal((n, n)) + (1j * rng.standard_normal((n, n))
                                       if np.dtype(dtype).kind == "c" else 0)
    a = np.asfortranarray(
        hermitian_part(g @ g.conj().T + n * np.eye(n)).astype(dtype))
    b = np.asfortranarray(rng.standard_normal((n, 3)).astype(dtype))
    ref = a.copy(order="F")
    assert K.potrf(ref, lower) == 0
    fa = a.copy(order="F")
    info, anorm = K.factor_array(fa, lower, -1.0)
    assert info == 0
    assert anorm == pytest.approx(np.linalg.norm(a.astype(np.complex128), 1),
                                  rel=float(10 * n * eps(dtype)))
    np.testing.assert_array_equal(fa, ref)
    x = b.copy(order="F")
    K.solve_array(fa, x, lower)
    xs = sl.cho_solve(sl.cho_factor(a, lower=lower), b)
    assert backward_error(a, x, b) <= 4 * backward_error(a, xs, b) + 4 * n * eps(dtype)
    with pytest.raises(ValueError):
        K.factor_array(np.ascontiguousarray(a[:, :-1]), lower, -1.0)
    with pytest.raises(ValueError):
        K.solve_array(fa, np.ascontiguousarray(b), lower)
