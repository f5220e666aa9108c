"""The mixed-precision road: single-precision factors, double refinement, its criterion,
its automatic choice (row-dominance margin from the inspection) and its fallbacks."""
import pickle
import warnings

import numpy as np
import pytest
import scipy.linalg as sl
from numpy.linalg import LinAlgError
from scipy.linalg import LinAlgWarning

import hybridsolve as hs
from hybridsolve._explain import explain
from hybridsolve._inspect import inspect_dense
from hybridsolve.roads import mixed as mx

from _helpers import eps, hermitian_part, rand


def bwd_inf(a, x, b):
    """The road's own measure: max over columns of ||b - A x||_inf / (||A||_inf ||x||_inf
    + ||b||_inf), in complex128."""
    a = np.asarray(a, dtype=np.complex128)
    x = np.asarray(x, dtype=np.complex128).reshape(a.shape[0], -1)
    b = np.asarray(b, dtype=np.complex128).reshape(a.shape[0], -1)
    r = np.abs(b - a @ x).max(axis=0)
    an = np.abs(a).sum(axis=1).max()
    return float((r / (an * np.abs(x).max(axis=0) + np.abs(b).max(axis=0))).max())


def sdd(rng, n, dtype, plus=1.0):
    """Strictly diagonally dominant by rows: each |a_ii| is its row's off-diagonal
    modulus sum plus ``plus`` (so the margin is exactly ``plus``, up to rounding)."""
    a = rand(rng, (n, n), dtype)
    off = np.abs(a).sum(axis=1) - np.abs(np.diag(a))
    a[np.diag_indices(n)] = off + plus
    return a


def true_margin(a):
    d = np.abs(np.diag(a))
    return float((d - (np.abs(a).sum(axis=1) - d)).min())


# ------------------------------------------------------------------ the inspection


@pytest.mark.parametrize("dtype", [np.float32, np.float64, np.complex128])
@pytest.mark.parametrize("n", [1, 7, 40, 150])
@pytest.mark.parametrize("layout", ["C", "F", "strided"])
def test_dominance_margin_is_a_lower_bound(dtype, n, layout):
    rng = np.random.default_rng(n)
    a = sdd(rng, n, dtype, plus=0.5)
    if layout == "F":
        a = np.asfortranarray(a)
    elif layout == "strided":
        big = np.zeros((2 * n, 2 * n), dtype=dtype)
        big[::2, ::2] = a
        a = big[::2, ::2]
    ref = true_margin(a)
    tol = 4 * n * eps(dtype) * np.abs(a).sum(axis=0).max()
    for capture in (False, True):
        st, _ = inspect_dense(a, capture=capture)
        m = st.extra["dominance_margin"]
        assert ref - tol <= m <= ref + tol


@pytest.mark.parametrize("layout", ["C", "F"])
def test_dominance_margin_absent_when_one_row_fails(layout):
    rng = np.random.default_rng(3)
    n = 150
    a = sdd(rng, n, np.float64)
    a[n - 1, 0] += 10.0 * n * n           # the last row alone is no longer dominant
    a = np.asfortranarray(a) if layout == "F" else a
    st, _ = inspect_dense(a)
    assert "dominance_margin" not in st.extra
    st, _ = inspect_dense(rand(rng, (n, n), np.float64))
    assert "dominance_margin" not in st.extra
    w = np.array(a, order="F" if layout == "F" else "C")
    st, _ = inspect_dense(w, copy=False)               # the scan-only sweep
    assert "dominance_margin" not in st.extra


def test_dominance_margin_in_place_sweep():
    a = sdd(np.random.default_rng(4), 60, np.float64)
    for w in (np.array(a, order="C"), np.array(a, order="F")):
        st, _ = inspect_dense(w, copy=False)
        assert st.extra["dominance_margin"] == pytest.approx(true_margin(a), rel=1e-9)


# ------------------------------------------------------------------ the criterion


@pytest.mark.parametrize("dtype", [np.float64, np.complex128])
@pytest.mark.parametrize("k", [None, 1, 4])
@pytest.mark.parametrize("kind", ["sdd", "general", "spd"])
def test_criterion_met_against_scipy(dtype, k, kind):
    rng = np.random.default_rng(11)
    n = 120
    if kind == "sdd":
        a = sdd(rng, n, dtype)
    elif kind == "general":
        a = rand(rng, (n, n), dtype) + 4 * np.sqrt(n) * np.eye(n)
    else:
        x = rand(rng, (n, n), dtype)
        a = hermitian_part(x @ x.conj().T / n + np.eye(n))
    b = rand(rng, (n,) if k is None else (n, k), dtype)
    f = hs.factorize(a, method="mixed")
    assert f.kind == ("mixed-cholesky" if kind == "spd" else "mixed-lu")
    for trans in (0, 1, 2) if np.dtype(dtype).kind == "c" else (0, 1):
        op = {0: a, 1: a.T, 2: a.conj().T}[trans]
        x = f.solve(b, trans)
        assert x.dtype == dtype and x.shape == b.shape
        mine, ref = bwd_inf(op, x, b), bwd_inf(op, sl.solve(op, b), b)
        assert mine <= np.sqrt(n) * eps(dtype)          # the guarantee (dsgesv's test)
        assert mine <= 10 * ref + 4 * eps(dtype)         # as small as the double road's
        assert np.allclose(x, sl.solve(op, b), rtol=1e3 * n * eps(dtype), atol=0)
    assert f.single.dtype == (np.float32 if dtype == np.float64 else np.complex64)
    assert f.single.nbytes * 2 == a.nbytes


def test_solve_front_door_transposed_and_multiple_rhs():
    rng = np.random.default_rng(5)
    n = 100
    a = sdd(rng, n, np.float64)
    b = rng.standard_normal((n, 3))
    for transposed in (False, True):
        x = hs.solve(a, b, transposed=transposed, precision="mixed")
        assert np.allclose(x, sl.solve(a, b, transposed=transposed), rtol=1e-12)
    with pytest.raises(NotImplementedError):
        hs.solve(a.astype(complex), b, transposed=True, precision="mixed")


def test_pos_hint_reads_one_triangle():
    rng = np.random.default_rng(6)
    n = 90
    x = rng.standard_normal((n, n))
    a = hermitian_part(x @ x.T / n + np.eye(n))
    for lower in (False, True):
        g = a.copy()
        unused = np.tril_indices(n, -1) if not lower else np.triu_indices(n, 1)
        g[unused] = 1e3 * rng.standard_normal(len(unused[0]))   # garbage, never read
        b = rng.standard_normal(n)
        got = hs.solve(g, b, assume_a="pos", lower=lower, precision="mixed")
        p = hs.explain(g, assume_a="pos", lower=lower, precision="mixed")
        assert p.chosen.name == "mixed"
        assert np.allclose(got, sl.solve(a, b), rtol=1e-12)
        assert bwd_inf(a, got, b) <= np.sqrt(n) * eps(np.float64)


# ------------------------------------------------------------------ automatic choice


def test_taken_automatically_on_sdd():
    rng = np.random.default_rng(7)
    n = 800                      # above the price crossover with the double LU
    a = sdd(rng, n, np.float64)
    b = rng.standard_normal(n)
    e = explain(a)
    assert e.chosen.name == "mixed"
    assert any("proven to converge" in note for note in e.structure.notes)
    x = hs.solve(a, b)
    assert bwd_inf(a, x, b) <= 10 * bwd_inf(a, sl.solve(a, b), b) + 4 * eps(np.float64)
    assert explain(a, precision="double").chosen.name == "lu"


def test_taken_automatically_on_gershgorin_spd():
    rng = np.random.default_rng(8)
    n = 1400                     # above the price crossover with the double Cholesky
    s = hermitian_part(rng.uniform(-1, 1, (n, n)))
    s[np.diag_indices(n)] = np.abs(s).sum(axis=1) + 1.0     # Gershgorin: SPD
    e = explain(s)
    assert e.chosen.name == "mixed" and e.factorization.kind == "mixed-cholesky"
    b = rng.standard_normal(n)
    x = hs.solve(s, b)
    assert bwd_inf(s, x, b) <= 10 * bwd_inf(s, sl.solve(s, b), b) + 4 * eps(np.float64)


def test_not_taken_on_ill_conditioned_gram():
    rng = np.random.default_rng(9)
    n = 800
    x = rng.uniform(size=(n, n))
    a = hermitian_part(x @ x.T)            # kappa ~ 1e11 and no dominance
    e = explain(a)
    assert e.chosen.name != "mixed"
    assert "dominance_margin" not in e.structure.extra


def test_not_taken_without_proof_even_when_cheaper_would_be():
    # well conditioned but not dominant: no cheap proof, so the double road
    rng = np.random.default_rng(10)
    n = 800
    a = rng.standard_normal((n, n)) + 3 * np.sqrt(n) * np.eye(n)
    assert explain(a).chosen.name == "lu"
    assert explain(a, precision="mixed").chosen.name == "mixed"


# ------------------------------------------------------------------ fallbacks, warnings


def _conditioned(rng, n, kappa):
    u, _ = np.linalg.qr(rng.standard_normal((n, n)))
    v, _ = np.linalg.qr(rng.standard_normal((n, n)))
    return (u * np.logspace(0, -np.log10(kappa), n)) @ v.T


def test_forced_mixed_on_kappa_1e9_falls_back():
    rng = np.random.default_rng(12)
    n = 120
    a = _conditioned(rng, n, 1e9)
    b = rng.standard_normal(n)
    e = explain(a, precision="mixed")
    assert e.chosen.name == "lu"
    why = dict((s.name, r) for s, r in e.declined)["mixed"]
    assert "time lost" in why
    x = hs.solve(a, b, precision="mixed")
    assert bwd_inf(a, x, b) <= 10 * bwd_inf(a, sl.solve(a, b), b) + 4 * eps(np.float64)


def test_fallback_during_solve(monkeypatch):
    # let an ill-conditioned A pass the a-posteriori test: refinement stalls and the
    # column falls back to the double road, factored through the registry
    monkeypatch.setattr(mx, "CONVERGENCE_LIMIT", 1e12)
    rng = np.random.default_rng(13)
    n = 100
    a = _conditioned(rng, n, 1e10)
    b = rng.standard_normal((n, 2))
    f = hs.factorize(a, method="mixed")
    x = f.solve(b)
    ref = sl.solve(a, b)
    assert bwd_inf(a, x, b) <= 10 * bwd_inf(a, ref, b) + 4 * eps(np.float64)
    assert f.double is not None and f.double.kind == "lu"
    assert any("fell back" in note and "time lost" in note for note in f.notes)
    x2 = f.solve(b[:, 0])                         # later solves: the double road
    assert np.allclose(x2, x[:, 0], rtol=1e-8)


@pytest.mark.parametrize("order", ["C", "F"])
def test_one_shot_solve_borrows_a_and_never_writes_it(monkeypatch, order):
    """solve(): the preview finds the sampled rows dominant, so the road reads the
    caller's A in place (no double copy); a fallback to the double road -- at factorize
    (no proof, precision='mixed') or during the solve -- works on a copy."""
    rng = np.random.default_rng(16)
    n = 2 * mx._PREVIEW_MIN_N
    a = np.array(sdd(rng, n, np.float64), order=order)
    a0 = a.copy()
    b = rng.standard_normal(n)
    p = hs._solve.plan(a, transient=True)
    assert p.chosen.name == "mixed" and p.factorization.borrowed
    assert np.shares_memory(p.factorization.a, a)
    assert any("read without copying: mixed" in note for note in p.structure.notes)
    assert not hs.factorize(a).borrowed                  # factorize: its own copy
    # the solve-time fallback: every column "fails" the criterion
    real = mx.refine_solve
    monkeypatch.setattr(mx, "refine_solve", lambda *args, **kw: (
        real(*args, **kw)[0], np.arange(args[2].shape[1])))
    x = hs.solve(a, b)
    np.testing.assert_array_equal(a, a0)
    assert bwd_inf(a, x, b) <= 10 * bwd_inf(a, sl.solve(a, b), b) + 4 * eps(np.float64)
    monkeypatch.setattr(mx, "refine_solve", real)
    # sampled rows dominant, the others not (no proof), ill-conditioned: precision=
    # 'mixed' declines at factorize and LU gets a fresh copy
    c = np.array(_conditioned(rng, n, 1e9), order=order)
    rows = (np.arange(8) * 2 + 1) * n // 16
    c[rows, rows] = np.abs(c[rows]).sum(axis=1) + 1.0
    c0 = c.copy()
    e = explain(c, precision="mixed")
    assert e.chosen.name == "lu" and "mixed" in dict((s.name, r) for s, r in e.declined)
    x = hs.solve(c, b, precision="mixed")
    np.testing.assert_array_equal(c, c0)
    # (n eps: a C-ordered A is factored as A^T, whose partial pivoting is A's column
    # pivoting -- on these badly row-scaled rows its backward error is larger than
    # getrf's on A, as GEPP's bound allows)
    assert bwd_inf(c, x, b) <= 10 * bwd_inf(c, sl.solve(c, b), b) + n * eps(np.float64)


def test_general_a_is_not_borrowed():
    rng = np.random.default_rng(17)
    n = 2 * mx._PREVIEW_MIN_N
    g = rng.standard_normal((n, n))
    auto, mixed, double = ({"precision": p} for p in ("auto", "mixed", "double"))
    assert mx.MixedSolver().preview(g, auto) is None
    assert mx.MixedSolver().preview(sdd(rng, 100, np.float64), auto) is None  # too small
    assert mx.MixedSolver().preview(sdd(rng, n, np.float64), double) is None
    assert mx.MixedSolver().preview(g, mixed)["source"] is g    # asked for: borrowed
    p = hs._solve.plan(g, transient=True, precision="mixed")
    assert p.chosen.name == "mixed" and p.factorization.borrowed


def test_warnings_and_errors_as_scipy():
    rng = np.random.default_rng(14)
    n = 60
    a = _conditioned(rng, n, 1e18)
    b = rng.standard_normal(n)
    with pytest.warns(LinAlgWarning):
        sl.solve(a, b)
    with pytest.warns(LinAlgWarning):
        hs.solve(a, b, precision="mixed")
    s = rng.standard_normal((n, n))
    s[:, 3] = 0.0
    with pytest.raises(LinAlgError):
        hs.solve(s, b, precision="mixed")
    good = sdd(rng, n, np.float64)
    with warnings.catch_warnings():
        warnings.simplefilter("error")
        hs.solve(good, b, precision="mixed")
    with pytest.raises(ValueError, match="precision"):
        hs.solve(good, b, precision="half")
    with pytest.raises(ValueError, match="precision"):
        hs.factorize(good, precision="single")


def test_single_input_and_huge_norm_not_taken():
    rng = np.random.default_rng(15)
    a = sdd(rng, 80, np.float32)
    b = rng.standard_normal(80).astype(np.float32)
    assert explain(a, precision="mixed").chosen.name != "mixed"
    assert hs.solve(a, b, precision="mixed").dtype == np.float32
    big = sdd(rng, 80, np.float64) * 1e40          # overflows float32
    assert explain(big, precision="mixed").chosen.name != "mixed"
    x = hs.solve(big, b.astype(np.float64), precision="mixed")
    assert np.allclose(big @ x, b, rtol=1e-10, atol=1e-10 * np.abs(b).max())


def test_rcond_from_single_factors_matches_double():
    rng = np.random.default_rng(16)
    a = rand(rng, (100, 100), np.float64) + 20 * np.eye(100)
    f = hs.factorize(a, method="mixed")
    ref = hs.factorize(a, method="lu").rcond
    assert 0.5 * ref <= f.rcond <= 2.0 * ref


def test_pickle_roundtrip():
    rng = np.random.default_rng(17)
    a = sdd(rng, 50, np.complex128)
    f = hs.factorize(a, method="mixed")
    g = pickle.loads(pickle.dumps(f))
    b = rand(rng, 50, np.complex128)
    assert np.array_equal(f.solve(b), g.solve(b))


# ------------------------------------------------------------------ ridge, primal form
def _ridge_oracle(X, y, lam):
    X = X.astype(np.complex128)
    g = X.conj().T @ X + lam * np.eye(X.shape[1])
    return sl.solve(g, X.conj().T @ y.astype(np.complex128), assume_a="pos")


@pytest.mark.parametrize("dtype", [np.float64, np.complex128])
@pytest.mark.parametrize("ycols", [None, 2])
@pytest.mark.parametrize("layout", ["C", "F", "strided"])
def test_ridge_mixed_primal_taken_and_verified(dtype, ycols, layout):
    from hybridsolve import _ridge
    rng = np.random.default_rng(3)
    n, p = 900, 400
    X = rand(rng, (n, 2 * p), dtype)[:, ::2] if layout == "strided" else np.array(
        rand(rng, (n, p), dtype), order=layout)
    y = rand(rng, n if ycols is None else (n, ycols), dtype)
    y2 = y if y.ndim == 2 else y[:, None]
    X_in = X.copy()
    beta = _ridge._mixed_primal(X, y2, 1.0)
    assert beta is not None          # proven (kappa <= ||G||_1 / lam) and cheaper
    np.testing.assert_array_equal(X, X_in)
    g = X.conj().T @ X + np.eye(p)
    c = X.conj().T @ y2
    # the mixed road's criterion, measured in double against the true G
    eta = (np.abs(c - g @ beta).max(axis=0)
           / (np.abs(g).sum(axis=1).max() * np.abs(beta).max(axis=0) + np.abs(c).max(axis=0)))
    assert (eta <= np.sqrt(p) * eps(dtype)).all()
    out = hs.ridge(X, y, 1.0)
    assert out.dtype == dtype and out.shape == ((p,) if ycols is None else (p, ycols))
    ref = _ridge_oracle(X, y, 1.0)
    assert np.linalg.norm(out - ref) <= 100 * n * eps(dtype) * np.linalg.norm(ref)


def test_ridge_mixed_not_taken_without_proof_or_gain():
    from hybridsolve import _ridge
    rng = np.random.default_rng(4)
    X = rng.standard_normal((900, 400))
    y = rng.standard_normal((900, 1))
    # lam so small that ||G||_1 / lam * u_single exceeds the limit: double form
    assert _ridge._mixed_primal(X, y, 1e-6) is None
    # narrow X: the extra passes over X cost more than the single Gram saves
    assert _ridge._mixed_primal(X[:, :20], y, 1.0) is None
    beta = hs.ridge(X, y[:, 0], 1e-6)
    ref = _ridge_oracle(X, y[:, 0], 1e-6).real
    assert np.linalg.norm(beta - ref) <= 1e-8 * np.linalg.norm(ref)


def test_ridge_mixed_beyond_single_range_and_nonfinite():
    rng = np.random.default_rng(5)
    X = rng.standard_normal((900, 400))
    y = rng.standard_normal(900)
    # X_s^H X_s overflows single (X * 1e20), X_s itself does (X * 1e40): double form
    for scale in (1e20, 1e40):
        ref = _ridge_oracle(X * scale, y, 1.0).real
        beta = hs.ridge(X * scale, y, 1.0)
        assert np.linalg.norm(beta - ref) <= 1e-10 * np.linalg.norm(ref)
    X[3, 7] = np.nan
    with pytest.raises(ValueError, match="infs or NaNs"):
        hs.ridge(X, y, 1.0)


@pytest.mark.parametrize("dtype", [np.float64, np.complex128])
def test_ridge_single_gram_is_blocked_and_stated(monkeypatch, dtype):
    """The single Gram is accumulated block by block (here 7 blocks, the last one
    short) without a whole single-precision copy of X: it matches X_s^H X_s and
    X_s^H y_s within single rounding, its peak allocation stays far below the n p / 2
    a single copy would take, and ``mixed_memory`` states that bound."""
    import tracemalloc

    from hybridsolve import _ridge, _tuning
    n, p = 3000, 40
    single = mx._SINGLE[np.dtype(dtype)]
    block_rows = 450
    monkeypatch.setitem(_tuning._IN_FORCE, "ridge_gram_block_bytes",
                        _tuning._IN_FORCE["ridge_gram_block_bytes"]._replace(
                            value=block_rows * p * single.itemsize))
    rng = np.random.default_rng(5)
    X, y = rand(rng, (n, p), dtype), rand(rng, (n, 2), dtype)
    tracemalloc.start()
    try:
        g, c = _ridge._single_gram(X, y, single)
        peak = tracemalloc.get_traced_memory()[1]
    finally:
        tracemalloc.stop()
    xs, ys = X.astype(single), y.astype(single)
    ref_g = (xs.conj().T @ xs).astype(dtype)
    ref_c = xs.conj().T @ ys
    eps = np.finfo(single).eps
    scale = np.abs(X).T @ np.abs(X)
    low = np.tril_indices(p)
    assert g.dtype == single and c.dtype == np.dtype(dtype)
    assert (np.abs(g[low] - ref_g[low]) <= 2 * n * eps * scale[low]).all()
    assert (np.abs(c - ref_c) <= 2 * n * eps * (np.abs(X).T @ np.abs(y))).all()
    whole_copy = n * p * single.itemsize
    stated = _ridge.mixed_memory(n, p, dtype) + p * p * np.dtype(dtype).itemsize
    assert peak < whole_copy / 2
    assert peak <= 2 * stated + 64 * 1024
    assert _ridge.mixed_memory(n, p, dtype) < whole_copy / 2


def test_ridge_gram_with_a_non_finite_rounding_declines():
    from hybridsolve import _ridge
    X = np.ones((50, 4))
    X[37, 2] = 1e300                      # finite in double, inf in single
    assert _ridge._single_gram(X, np.ones((50, 1)), np.dtype(np.float32)) == (None, None)


@pytest.mark.parametrize("dtype", [np.float64, np.complex128])
@pytest.mark.parametrize("lower", [False, True])
def test_single_cholesky_lapack_and_ours_agree(monkeypatch, dtype, lower):
    rng = np.random.default_rng(21)
    n = 60
    x = rand(rng, (n, n), dtype)
    a = hermitian_part(x @ x.conj().T / n + np.eye(n))      # exactly Hermitian
    single = np.asfortranarray(a.astype(mx._SINGLE[np.dtype(dtype)]))
    results = []
    for from_n in (0, 1):            # our kernel, then LAPACK potrf
        monkeypatch.setattr(mx, "POTRF_FROM", from_n)
        c = single.copy(order="F")
        info, anorm = mx.single_cholesky(c, lower)
        assert info == 0
        tri = np.tril(c) if lower else np.triu(c)
        rec = tri @ tri.conj().T if lower else tri.conj().T @ tri
        assert np.abs(rec - single).max() <= 50 * n * eps(single.dtype) * anorm
        results.append(anorm)
    assert results[0] == pytest.approx(results[1], rel=1e-6)
    # through the road (forced: the small road wins at this n), both meet the criterion
    b = rand(rng, n, dtype)
    for from_n in (0, 1):
        monkeypatch.setattr(mx, "POTRF_FROM", from_n)
        f = hs.factorize(a, method="mixed")
        assert f.kind == "mixed-cholesky"
        xs = f.solve(b)
        r = np.abs(b - a @ xs).max() / (np.abs(a).sum(1).max() * np.abs(xs).max()
                                        + np.abs(b).max())
        assert r <= np.sqrt(n) * eps(dtype)
