"""Woodbury road: kernel, DiagonalPlusLowRank operator, dense detection, solver.

numpy / scipy are the oracles; tolerances scale with n * eps of the dtype.
"""

import numpy as np
import pytest
import scipy.linalg as sla
from numpy.linalg import LinAlgError

from hybridsolve._kernels import woodbury as wbk
from hybridsolve._lowrank import DiagonalPlusLowRank, LowRankNotFound, detect_lowrank
from hybridsolve._protocol import NotApplicable, Structure
from hybridsolve.roads.woodbury import (DenseLUFallback, WoodburyFactorization,
                                          WoodburySolver)

DTYPES = [np.float32, np.float64, np.complex64, np.complex128]


def _rand(rng, shape, dtype):
    x = rng.standard_normal(shape)
    if np.dtype(dtype).kind == "c":
        x = x + 1j * rng.standard_normal(shape)
    return x.astype(dtype)


def _problem(rng, n, k, dtype, hermitian=False):
    d = (rng.random(n) + 2.0).astype(dtype)
    U = _rand(rng, (n, k), dtype) / float(np.sqrt(k))
    V = None if hermitian else _rand(rng, (k, n), dtype) / float(np.sqrt(k))
    return d, U, V


def _op(a, trans):
    return {0: a, 1: a.T, 2: a.conj().T}[trans]


def _berr(a, x, b):
    r = a @ x - b
    norm2 = np.sqrt(np.linalg.norm(a, 1) * np.linalg.norm(a, np.inf))   # >= ||a||_2
    return np.linalg.norm(r) / (norm2 * np.linalg.norm(x) + np.linalg.norm(b))


def _eps(dtype):
    return np.finfo(dtype).eps


# ------------------------------------------------------------------ kernel

@pytest.mark.parametrize("dtype", DTYPES)
@pytest.mark.parametrize("trans", [0, 1, 2])
def test_kernel_apply_and_residual(dtype, trans):
    rng = np.random.default_rng(1)
    n, k = 60, 5
    d, U, V = _problem(rng, n, k, dtype)
    U, V = np.asfortranarray(U), np.asfortranarray(V)
    a = np.diag(d) + U @ V
    W = np.empty((n, k), dtype, order="F")
    C = np.empty((k, k), dtype, order="F")
    ipiv = np.zeros(k, np.intc)
    assert wbk.factor(False, d, U, V, W, C, ipiv) == 0
    np.testing.assert_allclose(W, U / d[:, None], rtol=10 * _eps(dtype))
    b = np.asfortranarray(_rand(rng, (n, 3), dtype))
    x = b.copy(order="F")
    t = np.empty((k, 3), dtype, order="F")
    wbk.apply(trans, False, d, U, V, W, C, ipiv, x, t)
    ref = np.linalg.solve(_op(a.astype(np.complex128), trans), b)
    assert np.linalg.norm(x - ref) <= 1e3 * n * _eps(dtype) * np.linalg.norm(ref)
    r = b.copy(order="F")
    wbk.residual(trans, d, U, V, x, r, t)
    rref = b - _op(a, trans) @ x
    assert np.linalg.norm(r - rref) <= 50 * n * _eps(dtype) * (
        np.linalg.norm(a) * np.linalg.norm(x) + np.linalg.norm(b))


@pytest.mark.parametrize("dtype", DTYPES)
def test_kernel_hpd_cholesky_path(dtype):
    rng = np.random.default_rng(2)
    n, k = 50, 4
    d, U, _ = _problem(rng, n, k, dtype, hermitian=True)
    U = np.asfortranarray(U)
    V = np.asfortranarray(U.conj().T)
    a = np.diag(d) + U @ V
    W = np.empty((n, k), dtype, order="F")
    C = np.empty((k, k), dtype, order="F")
    ipiv = np.zeros(k, np.intc)
    assert wbk.factor(True, d, U, V, W, C, ipiv) == 0
    for trans in (0, 1, 2):
        b = np.asfortranarray(_rand(rng, (n, 2), dtype))
        x = b.copy(order="F")
        wbk.apply(trans, True, d, U, V, W, C, ipiv, x, np.empty((k, 2), dtype, order="F"))
        assert _berr(_op(a, trans), x, b) < 100 * _eps(dtype)


def test_kernel_zero_diagonal_code_and_bad_shapes():
    n, k = 10, 2
    d = np.ones(n)
    d[3] = 0
    U = np.ones((n, k), order="F")
    V = np.ones((k, n), order="F")
    W = np.empty((n, k), order="F")
    C = np.empty((k, k), order="F")
    assert wbk.factor(False, d, U, V, W, C, np.zeros(k, np.intc)) == -1
    with pytest.raises(ValueError):
        wbk.factor(False, d, U, np.ones((k + 1, n), order="F"), W, C, np.zeros(k, np.intc))


# ------------------------------------------------------------------ operator

def test_operator_basics_and_validation():
    rng = np.random.default_rng(3)
    d, U, V = _problem(rng, 30, 3, np.float64)
    op = DiagonalPlusLowRank(d, U, V)
    a = np.diag(d) + U @ V
    assert op.shape == (30, 30) and op.dtype == np.float64
    np.testing.assert_allclose(op.toarray(), a, rtol=1e-14, atol=1e-14)
    x = rng.standard_normal(30)
    np.testing.assert_allclose(op @ x, a @ x, rtol=1e-12)
    X = rng.standard_normal((30, 4))
    np.testing.assert_allclose(op @ X, a @ X, rtol=1e-12)
    np.testing.assert_allclose(x @ op, x @ a, rtol=1e-12)
    s = op._hybridsolve_structure()
    assert s.format == "operator" and s.n == 30 and not s.hermitian
    # V=None: Hermitian form
    h = DiagonalPlusLowRank(d, U)
    assert h._hybridsolve_structure().hermitian and h.positive_definite
    np.testing.assert_allclose(h.toarray(), np.diag(d) + U @ U.T, rtol=1e-14)
    # inputs are copied
    d0 = d.copy()
    d[0] = 99
    np.testing.assert_array_equal(op.d, d0)
    with pytest.raises(ValueError, match="V must have shape"):
        DiagonalPlusLowRank(d, U, V[:, :-1])
    with pytest.raises(ValueError, match="U must have shape"):
        DiagonalPlusLowRank(d, U[:-1])
    with pytest.raises(ValueError, match="d must be 1-D"):
        DiagonalPlusLowRank(np.ones((3, 3)), U)
    bad = d.copy()
    bad[1] = np.nan
    with pytest.raises(ValueError, match="inf"):
        DiagonalPlusLowRank(bad, U, V)
    with pytest.raises(TypeError):
        DiagonalPlusLowRank(np.array(["a"] * 30), U, V)


@pytest.mark.parametrize("dtype", DTYPES)
@pytest.mark.parametrize("hermitian", [False, True])
def test_operator_solve_all_trans(dtype, hermitian):
    rng = np.random.default_rng(4)
    n, k = 120, 6
    d, U, V = _problem(rng, n, k, dtype, hermitian=hermitian)
    op = DiagonalPlusLowRank(d, U, V)
    a = op.toarray()
    s = WoodburySolver()
    st = op._hybridsolve_structure()
    assert s.cost(st) < n ** 3 / 10
    f = s.factorize(op, st)
    assert isinstance(f, WoodburyFactorization) and f.kind == "woodbury"
    assert f.hpd == hermitian
    for trans in (0, 1, 2):
        for b in (_rand(rng, n, dtype), _rand(rng, (n, 3), dtype)):
            b_in = b.copy()
            x = f.solve(b, trans)
            np.testing.assert_array_equal(b, b_in)
            assert x.shape == b.shape and x.dtype == dtype
            assert _berr(_op(a, trans), x, b) < 20 * _eps(dtype)
            ref = np.linalg.solve(_op(a.astype(np.complex128), trans), b)
            assert np.linalg.norm(x - ref) <= 1e3 * n * _eps(dtype) * np.linalg.norm(ref)


@pytest.mark.parametrize("dtype", [np.float64, np.complex128])
def test_rcond_estimate_is_honest(dtype):
    rng = np.random.default_rng(5)
    n, k = 80, 4
    d, U, V = _problem(rng, n, k, dtype)
    d[:3] = [0.05, 0.2, 0.3]
    op = DiagonalPlusLowRank(d, U, V)
    f = WoodburySolver().factorize(op, op._hybridsolve_structure())
    a = op.toarray()
    true = 1.0 / (np.linalg.norm(a, 1) * np.linalg.norm(np.linalg.inv(a), 1))
    # estimator: lower bound on the norms -> rcond >= true, within a small factor
    assert true * 0.999 <= f.rcond <= 10 * true


def test_noncontiguous_inputs_and_2d_b_views():
    rng = np.random.default_rng(7)
    n, k = 50, 3
    big = rng.standard_normal((2 * n, 2 * k))
    U = big[::2, ::2]                      # non-contiguous view
    V = rng.standard_normal((n, k)).T      # C-ordered transpose view
    d = (rng.random(2 * n) + 2)[::2]
    op = DiagonalPlusLowRank(d, U, V)
    a = np.diag(d) + U @ V
    f = WoodburySolver().factorize(op, op._hybridsolve_structure())
    B = rng.standard_normal((n, 6))[:, ::2]
    x = f.solve(B)
    assert _berr(a, x, B) < 20 * _eps(np.float64)


def test_zero_diagonal_falls_back_to_dense_lu_with_note():
    rng = np.random.default_rng(8)
    n, k = 40, 3
    d, U, V = _problem(rng, n, k, np.float64)
    d[5] = 0.0
    op = DiagonalPlusLowRank(d, U, V)
    f = WoodburySolver().factorize(op, op._hybridsolve_structure())
    assert isinstance(f, DenseLUFallback)
    assert any("zero" in s for s in f.notes)
    a = op.toarray()
    b = rng.standard_normal(n)
    x = f.solve(b)
    assert np.isfinite(x).all()
    assert _berr(a, x, b) < 100 * _eps(np.float64)
    for trans in (1, 2):
        assert _berr(_op(a, trans), f.solve(b, trans), b) < 100 * _eps(np.float64)


def test_tiny_diagonal_and_ill_conditioned_capacitance_fall_back():
    rng = np.random.default_rng(9)
    n = 40
    d = np.ones(n)
    d[0] = 1e-20
    U = rng.standard_normal((n, 2))
    V = rng.standard_normal((2, n))
    f = WoodburySolver().factorize(DiagonalPlusLowRank(d, U, V), None)
    assert isinstance(f, DenseLUFallback) and any("tiny" in s for s in f.notes)
    # A nearly singular through the low-rank part: I - u u^T/(u^T u) (1 - 1e-13)
    u = rng.standard_normal((n, 1))
    op = DiagonalPlusLowRank(np.ones(n), u, -(1 - 1e-13) * u.T / (u.T @ u))
    f = WoodburySolver().factorize(op, op._hybridsolve_structure())
    assert isinstance(f, DenseLUFallback)
    assert any("capacitance" in s for s in f.notes)


def test_exactly_singular_operator_raises_singular():
    n = 16
    u = np.ones((n, 1))
    op = DiagonalPlusLowRank(np.ones(n), u, -u.T / n)   # I - 11^T/n: singular, exact in
                                                         # binary (C = 1 - 16/16 = 0)
    with pytest.raises(LinAlgError, match="singular"):
        f = WoodburySolver().factorize(op, op._hybridsolve_structure())
        f.solve(np.ones(n))


def test_large_operator_that_cannot_be_formed_raises(monkeypatch):
    import hybridsolve.roads.woodbury as mod
    monkeypatch.setattr(mod, "FORM_MAX", 10)
    n = 30
    d = np.ones(n)
    d[2] = 0
    op = DiagonalPlusLowRank(d, np.ones((n, 1)), np.ones((1, n)))
    with pytest.raises(LinAlgError, match="too large to form"):
        WoodburySolver().factorize(op, op._hybridsolve_structure())


def test_complex_b_with_real_operator():
    rng = np.random.default_rng(10)
    d, U, V = _problem(rng, 30, 2, np.float64)
    op = DiagonalPlusLowRank(d, U, V)
    f = WoodburySolver().factorize(op, op._hybridsolve_structure())
    b = _rand(rng, 30, np.complex128)
    x = f.solve(b)
    assert x.dtype == np.complex128
    assert _berr(op.toarray(), x, b) < 20 * _eps(np.float64)


# ------------------------------------------------------------------ detection

def _dense_structure(a):
    n = a.shape[0]
    return Structure(n, a.dtype, "dense", finite=True, lower_bandwidth=n - 1,
                     upper_bandwidth=n - 1, norm1=float(np.abs(a).sum(0).max()))


@pytest.mark.parametrize("dtype,order", [(np.float32, "C"), (np.float64, "F"),
                                         (np.complex64, "F"), (np.complex128, "C")])
def test_detection_recovers_structure_and_solves(dtype, order):
    rng = np.random.default_rng(11)
    n, k = 1000, 12
    d, U, V = _problem(rng, n, k, dtype)
    a = np.array(np.diag(d) + U @ V, order=order)
    a_in = a.copy()
    s = WoodburySolver()
    st = _dense_structure(a)
    assert s.cost(st) < 2 / 3 * n ** 3 / 10
    f = s.factorize(a, st)
    np.testing.assert_array_equal(a, a_in)        # detection never writes into a
    assert isinstance(f, WoodburyFactorization) and f.rank == k
    assert any("detected" in note for note in f.notes)
    np.testing.assert_allclose(f.d, d, rtol=0, atol=1e3 * _eps(dtype) * np.abs(d).max())
    lu = sla.lu_factor(a)
    gecon = sla.lapack.get_lapack_funcs("gecon", (lu[0],))
    lu_rc = gecon(lu[0], np.linalg.norm(a, 1), norm="1")[0]   # LAPACK's own estimate
    assert lu_rc / 10 <= f.rcond <= 10 * lu_rc
    for trans in (0, 1, 2):
        b = _rand(rng, (n, 2), dtype)
        x = f.solve(b, trans)
        xl = sla.lu_solve(lu, b, trans)
        berr_lu = _berr(_op(a, trans), xl, b)
        assert _berr(_op(a, trans), x, b) <= max(100 * berr_lu, 2 * _eps(dtype))


@pytest.mark.parametrize("dtype", [np.float64, np.complex64])
def test_detection_rejects_general_dense_and_leaves_a(dtype):
    rng = np.random.default_rng(12)
    n = 1000
    a = _rand(rng, (n, n), dtype)
    a_in = a.copy()
    with pytest.raises(NotApplicable, match="no diagonal-plus-low-rank"):
        WoodburySolver().factorize(a, _dense_structure(a))
    np.testing.assert_array_equal(a, a_in)


def test_detection_rejects_rank_above_n_over_10_and_noisy_structure():
    rng = np.random.default_rng(13)
    n = 1000
    d, U, V = _problem(rng, n, 150, np.float64)      # k > n/10 = 100
    with pytest.raises(LowRankNotFound):
        detect_lowrank(np.diag(d) + U @ V)
    d, U, V = _problem(rng, n, 10, np.float64)
    noisy = np.diag(d) + U @ V + 1e-9 * rng.standard_normal((n, n))
    with pytest.raises(LowRankNotFound):
        detect_lowrank(noisy)
    # only the diagonal is "missing": identity plus rank 0 is found as rank 0
    d0, U0, V0, info = detect_lowrank(np.diag(d))
    assert info["rank"] == 0
    np.testing.assert_array_equal(d0, d)


def test_detected_structure_with_zero_diagonal_is_not_applicable():
    rng = np.random.default_rng(14)
    n = 1000
    _, U, V = _problem(rng, n, 5, np.float64)
    d = np.ones(n)
    d[7] = 0.0
    a = np.diag(d) + U @ V
    with pytest.raises(NotApplicable, match="cannot be trusted"):
        WoodburySolver().factorize(a, _dense_structure(a))


def test_cost_declines_where_it_cannot_pay():
    s = WoodburySolver()
    assert s.cost(Structure(500, np.float64, "dense", lower_bandwidth=499,
                            upper_bandwidth=499))[0] is None
    assert s.cost(Structure(2000, np.float64, "dense", lower_bandwidth=3,
                            upper_bandwidth=1999))[0] is None
    assert s.cost(Structure(2000, np.float64, "dense", assume_a="pos"))[0] is None
    assert s.cost(Structure(2000, np.float64, "sparse"))[0] is None
    assert s.cost(Structure(2000, np.float64, "operator"))[0] is None
    c = s.cost(Structure(2000, np.float64, "dense", lower_bandwidth=1999,
                         upper_bandwidth=1999))
    assert 0 < c < 2 / 3 * 2000 ** 3


def test_factorize_rejects_wrong_input():
    with pytest.raises(NotApplicable):
        WoodburySolver().factorize(np.ones((3, 4)), None)
    f = WoodburySolver().factorize(DiagonalPlusLowRank(np.ones(5) * 2, np.ones((5, 1))), None)
    with pytest.raises(ValueError):
        f.solve(np.ones(4))
    with pytest.raises(ValueError):
        f.solve(np.array([1.0, np.nan, 0, 0, 0]))


@pytest.mark.parametrize("dtype", [np.float64, np.complex64])
@pytest.mark.parametrize("hermitian", [False, True])
def test_capacitance_norm_rebuilt_from_factors(dtype, hermitian):
    rng = np.random.default_rng(15)
    n, k = 100, 5
    d, U, V = _problem(rng, n, k, dtype, hermitian=hermitian)
    if hermitian:
        V = U.conj().T
    f = WoodburyFactorization(d, U, V, hpd=hermitian)
    c = np.eye(k) + V @ (U / d[:, None])
    np.testing.assert_allclose(f._capacitance_norm1(), np.abs(c).sum(0).max(),
                               rtol=100 * _eps(dtype))


def test_dense_norm1_both_layouts():
    from hybridsolve.roads.woodbury import _dense_norm1
    rng = np.random.default_rng(16)
    a = rng.standard_normal((300, 300))
    for m in (a, np.asfortranarray(a), a[::2, ::2]):
        assert _dense_norm1(m) == pytest.approx(np.linalg.norm(m, 1), rel=1e-12)


@pytest.mark.parametrize("dtype", DTYPES)
def test_pivot_count_kernel_counts_rank(dtype):
    rng = np.random.default_rng(17)
    m = 40
    for r in (0, 1, 7, 40):
        blk = (_rand(rng, (m, r), dtype) @ _rand(rng, (r, m), dtype)).astype(dtype)
        work = np.asfortranarray(blk)
        tol = float(np.abs(blk).max(initial=0)) * m * np.finfo(dtype).eps * 1e3
        for nb in (1, 7, 32, 64):                 # blocked variant, any block size
            assert wbk.pivot_count(np.asfortranarray(blk), tol, nb) == r
    with pytest.raises(ValueError):
        wbk.pivot_count(np.zeros((3, 4), dtype=dtype, order="F"), 1.0)


def test_operator_is_never_densified_implicitly():
    op = DiagonalPlusLowRank(np.ones(4), np.ones((4, 1)))
    assert not hasattr(op, "__array__")
    x = np.arange(4.0)
    np.testing.assert_allclose(x @ op, x @ op.toarray())
    np.testing.assert_allclose(op @ x, op.toarray() @ x)


@pytest.mark.parametrize("n,k", [(5, 0), (1, 0), (1, 1), (3, 5)])
def test_degenerate_sizes(n, k):
    op = DiagonalPlusLowRank(np.arange(1, n + 1.0), np.ones((n, k)), 0.1 * np.ones((k, n)))
    f = WoodburySolver().factorize(op, op._hybridsolve_structure())
    b = np.ones(n)
    np.testing.assert_allclose(op.toarray() @ f.solve(b), b, rtol=1e-13, atol=1e-13)


@pytest.mark.parametrize("trans", [0, 1, 2])
def test_refinement_with_true_residual_repairs_inexact_factors(trans):
    """Factors of a slightly wrong D (relative 1e-8) plus the true dense A: refinement
    must bring the backward error w.r.t. the true A down to LU's level."""
    rng = np.random.default_rng(18)
    n, k = 300, 4
    d, U, V = _problem(rng, n, k, np.complex128)
    a = np.diag(d) + U @ V
    f = WoodburyFactorization(d * (1 + 1e-8), U, V, dense=a)
    b = _rand(rng, (n, 2), np.complex128)
    x = f.solve(b, trans)
    assert f.last_refinement_steps >= 1
    lu = sla.lu_solve(sla.lu_factor(a), b, trans)
    assert _berr(_op(a, trans), x, b) <= max(10 * _berr(_op(a, trans), lu, b),
                                             2 * _eps(np.float64))
    # without refinement the error would be visible: the raw solve is 1e-8 off
    x0 = f._raw_solve(trans, b)
    assert _berr(_op(a, trans), x0, b) > 1e3 * _eps(np.float64)


# ------------------------------------------------------------------ detection kernels

@pytest.mark.parametrize("dtype", DTYPES)
@pytest.mark.parametrize("order", ["C", "F"])
def test_dense_residual_kernel_all_modes_and_layouts(dtype, order):
    from hybridsolve._lowrank import dense_matvec_sub
    rng = np.random.default_rng(30)
    n = 37
    a = np.array(_rand(rng, (n, n), dtype), order=order)
    a_in = a.copy()
    for nrhs in (1, 3):
        x = np.asfortranarray(_rand(rng, (n, nrhs), dtype))
        for trans in (0, 1, 2):
            r0 = _rand(rng, (n, nrhs), dtype)
            r = np.array(r0, order="F")
            dense_matvec_sub(a, x, r, trans)
            ref = r0 - _op(a.astype(np.complex128), trans) @ x
            tol = 10 * n * _eps(dtype) * np.abs(ref).max()
            np.testing.assert_allclose(r, ref, rtol=0, atol=tol)
    np.testing.assert_array_equal(a, a_in)
    # a non-contiguous view takes the numpy path, same result
    big = _rand(rng, (2 * n, 2 * n), dtype)
    view = big[::2, ::2]
    x = np.asfortranarray(_rand(rng, (n, 1), dtype))
    r = np.zeros((n, 1), dtype=dtype, order="F")
    dense_matvec_sub(view, x, r, 1)
    np.testing.assert_allclose(r, -(view.T @ x), rtol=100 * _eps(dtype))
    with pytest.raises(ValueError):
        wbk.dense_residual(4, np.asfortranarray(a), x, r)


@pytest.mark.parametrize("dtype", DTYPES)
def test_matmul_st_splits_large_products_exactly(dtype):
    """Products far above the single-thread size are split; results equal numpy's."""
    from hybridsolve._lowrank import _mm
    rng = np.random.default_rng(31)
    shapes = [(7, 900, 60), (600, 40, 30), (40, 600, 35), (3, 4, 0)]
    _check_products(rng, shapes, dtype, _mm)


def _check_products(rng, shapes, dtype, _mm):
    for m, k, n in shapes:
        for ta in (0, 1, 2):
            for tb in (0, 1, 2):
                a = _rand(rng, (m, k) if ta == 0 else (k, m), dtype)
                b = _rand(rng, (k, n) if tb == 0 else (n, k), dtype)
                opa = {0: a, 1: a.T, 2: a.conj().T}[ta]
                opb = {0: b, 1: b.T, 2: b.conj().T}[tb]
                ref = opa.astype(np.complex128) @ opb
                tol = 10 * max(k, 1) * _eps(dtype) * (np.abs(ref).max(initial=0) + 1)
                for aa, bb in ((a, b), (np.asfortranarray(a), np.asfortranarray(b))):
                    c = _mm(aa, bb, ta, tb)
                    assert c.shape == (m, n) and c.flags.f_contiguous
                    np.testing.assert_allclose(c, ref, rtol=0, atol=tol)
                for split in (True, False):               # the kernel, both ways
                    c = np.full((m, n), np.nan, dtype=dtype, order="F")
                    wbk.matmul_st(ta, tb, np.asfortranarray(a), np.asfortranarray(b), c,
                                  split=split)
                    np.testing.assert_allclose(c, ref, rtol=0, atol=tol)


@pytest.mark.parametrize("dtype", [np.float64, np.complex128])
def test_rank_revealing_kernel_reveals_rank_and_pivots(dtype):
    rng = np.random.default_rng(32)
    m = 30
    for r in (0, 1, 9, 30):
        s = (_rand(rng, (m, r), dtype) @ _rand(rng, (r, m + 5), dtype)).astype(dtype)
        work = np.asfortranarray(s)
        prow = np.empty(m, np.intc)
        pcol = np.empty(m + 5, np.intc)
        piv = np.zeros(m)
        tol = 1e-10 * max(np.abs(s).max(initial=0), 1)
        got = wbk.complete_rank(work, tol, prow, pcol, piv)
        assert got == r
        assert sorted(prow) == list(range(m)) and sorted(pcol) == list(range(m + 5))
        if r:
            # the first r pivot rows/columns form a nonsingular block
            blk = s[np.ix_(prow[:r], pcol[:r])]
            assert np.linalg.cond(blk) < 1e8
            # rook pivoting: the first pivot is the largest |re| + |im| of both its
            # row and its column
            mag = np.abs(s.real) + np.abs(s.imag)
            assert piv[0] == pytest.approx(mag[prow[0]].max())
            assert piv[0] == pytest.approx(mag[:, pcol[0]].max())
            assert np.all(piv[:r] > tol)


# ------------------------------------------------------------------ detection, new paths

def test_detection_declines_smooth_kernel_at_once():
    """A Gaussian-process covariance is only numerically low rank off the diagonal:
    detection declines from the first samples (pivots decay gradually)."""
    rng = np.random.default_rng(33)
    n = 1000
    x = np.sort(rng.random(n))
    K = np.exp(-((x[:, None] - x[None, :]) ** 2) / 0.1) + 1e-2 * np.eye(n)
    with pytest.raises(LowRankNotFound, match="approximately low rank"):
        detect_lowrank(K)
    with pytest.raises(NotApplicable, match="approximately low rank"):
        WoodburySolver().factorize(K, _dense_structure(K))
    import hybridsolve
    assert hybridsolve.factorize(K).kind == "cholesky"


@pytest.mark.parametrize("order", ["C", "F"])
def test_detection_through_the_front_door(order):
    import hybridsolve
    rng = np.random.default_rng(34)
    n, k = 1200, 15
    d, U, V = _problem(rng, n, k, np.float64)
    a = np.array(np.diag(d) + U @ V, order=order)
    a_in = a.copy()
    b = rng.standard_normal((n, 2))
    p = hybridsolve._solve.plan(a)
    assert p.chosen.name == "woodbury" and p.factorization.rank == k
    x = hybridsolve.solve(a, b)
    np.testing.assert_array_equal(a, a_in)
    xl = sla.solve(a, b)
    assert _berr(a, x, b) <= max(100 * _berr(a, xl, b), 2 * _eps(np.float64))
    xt = hybridsolve.solve(a, b, transposed=True)
    assert _berr(a.T, xt, b) <= max(100 * _berr(a.T, sla.solve(a.T, b), b),
                                    2 * _eps(np.float64))


def test_structure_wrong_outside_the_samples_switches_to_dense_lu():
    """One off-diagonal entry breaks the structure where detection did not look: the
    solve's true residual catches it and dense LU takes over (never silently wrong)."""
    rng = np.random.default_rng(35)
    n, k = 1000, 8
    d, U, V = _problem(rng, n, k, np.float64)
    a0 = np.diag(d) + U @ V
    for i, j in ((5, 700), (123, 456), (900, 17), (333, 666)):
        a = a0.copy()
        a[i, j] += 1.0
        try:
            _, _, _, info = detect_lowrank(a)     # detection alone does not see it
            break
        except LowRankNotFound:                   # (unless it sampled row i / col j)
            continue
    else:
        pytest.fail("every perturbed entry was sampled by detection")
    assert info["rank"] == k
    f = WoodburySolver().factorize(a, _dense_structure(a))
    assert isinstance(f, WoodburyFactorization)
    b = rng.standard_normal(n)
    x = f.solve(b)
    assert any("switched to dense LU" in note for note in f.notes)
    assert f.last_backward_error is None
    xl = sla.solve(a, b)
    assert _berr(a, x, b) <= max(100 * _berr(a, xl, b), 2 * _eps(np.float64))
    # the raw Woodbury answer was wrong: the takeover was needed
    assert _berr(a, f._raw_solve(0, b[:, None])[:, 0], b) > 1e-8
    x2 = f.solve(b, 1)                              # later solves use the LU
    assert _berr(a.T, x2, b) <= max(100 * _berr(a.T, sla.solve(a.T, b), b),
                                    2 * _eps(np.float64))
    assert f.rcond == pytest.approx(1 / (np.linalg.norm(a, 1)
                                         * np.linalg.norm(np.linalg.inv(a), 1)), rel=0.9)


def test_rank_found_by_the_last_sample():
    """k between the small samples (64) and n/10 is found through the last sample."""
    rng = np.random.default_rng(36)
    n, k = 1000, 80
    d, U, V = _problem(rng, n, k, np.float64)
    a = np.diag(d) + U @ V
    f = WoodburySolver().factorize(a, _dense_structure(a))
    assert isinstance(f, WoodburyFactorization) and f.rank == k
    b = rng.standard_normal(n)
    x = f.solve(b)
    assert _berr(a, x, b) <= max(100 * _berr(a, sla.solve(a, b), b), 2 * _eps(np.float64))
