"""The front door beyond SciPy's own suite: dtype rules, batches, roads, overwrite rules,
bad input, explain() and patch_scipy().  scipy.linalg.solve is the oracle."""
import re
import threading
import warnings

import numpy as np
import pytest
import scipy.linalg
from numpy.linalg import LinAlgError
from scipy.linalg import LinAlgWarning

import hybridsolve
from hybridsolve import solve

DTYPES = [np.float32, np.float64, np.complex64, np.complex128]


def _eps(dt):
    return np.finfo(np.dtype(dt)).eps


def backward_error(a, x, b):
    a, x, b = (np.asarray(t, dtype=np.complex128) for t in (a, x, b))
    r = np.linalg.norm(a @ x - b)
    return r / (np.linalg.norm(a, 2) * np.linalg.norm(x) + np.linalg.norm(b))


def _rand(n, dtype, rng):
    a = rng.standard_normal((n, n))
    if np.dtype(dtype).kind == "c":
        a = a + 1j * rng.standard_normal((n, n))
    return a.astype(dtype)


def make(kind, n, dtype, rng):
    a = _rand(n, dtype, rng)
    if kind == "spd":
        h = a @ a.conj().T + n * np.eye(n)
        return ((h + h.conj().T) / 2).astype(dtype)   # exactly Hermitian
    if kind == "sym-indefinite":
        # real positive diagonal (so Cholesky is tried) but indefinite: it must decline
        s = (a + a.T).astype(dtype)
        np.fill_diagonal(s, 0.5)
        return s
    if kind == "upper":
        return (np.triu(a) + n * np.eye(n)).astype(dtype)
    if kind == "lower":
        return (np.tril(a) + n * np.eye(n)).astype(dtype)
    if kind == "diagonal":
        return np.diag(np.diagonal(a) + 3).astype(dtype)
    if kind == "tridiagonal":
        return (np.triu(np.tril(a, 1), -1) + 4 * np.eye(n)).astype(dtype)
    if kind == "banded":
        return (np.triu(np.tril(a, 3), -2) + 6 * np.eye(n)).astype(dtype)
    return a


ROADS = {
    "general": "lu", "spd": "cholesky", "sym-indefinite": "lu", "upper": "triangular",
    "lower": "triangular", "diagonal": "diagonal", "tridiagonal": "tridiagonal",
}
# below SMALL_N the small road's one kernel call beats every Python-level road: the
# kinds its classification picks
SMALL_ROADS = {
    "general": "small-lu", "spd": "small-cholesky", "sym-indefinite": "small-lu",
    "upper": "small-upper-triangular", "lower": "small-lower-triangular",
    "diagonal": "small-upper-triangular", "tridiagonal": "small-lu",
}


@pytest.mark.parametrize("kind", sorted(ROADS))
@pytest.mark.parametrize("dtype", DTYPES)
@pytest.mark.parametrize("order", ["C", "F"])
@pytest.mark.parametrize("n", [40, 80])
def test_detected_road_and_accuracy(kind, dtype, order, n):
    from hybridsolve.roads.small import SMALL_N

    rng = np.random.default_rng(7)
    a = np.asarray(make(kind, n, dtype, rng), order=order)
    b = _rand(n, dtype, rng)[:, :3]
    a0, b0 = a.copy(), b.copy()
    f = hybridsolve.factorize(a)
    assert f.kind == (SMALL_ROADS if n <= SMALL_N else ROADS)[kind]
    x = solve(a, b)
    ref = scipy.linalg.solve(a0, b0)
    assert x.dtype == ref.dtype
    tol = 50 * n * _eps(dtype)
    assert backward_error(a0, x, b0) < tol
    assert backward_error(a0, ref, b0) < tol
    np.testing.assert_array_equal(a, a0)
    np.testing.assert_array_equal(b, b0)
    if np.dtype(dtype).kind == "f":
        xt = solve(a, b, transposed=True)
        assert backward_error(a0.T, xt, b0) < tol


def test_banded_road():
    rng = np.random.default_rng(1)
    n = 300
    a = make("banded", n, np.float64, rng)
    b = rng.standard_normal(n)
    ex = hybridsolve.explain(a)
    assert ex.chosen.name == "banded"
    np.testing.assert_allclose(solve(a, b), scipy.linalg.solve(a, b), rtol=1e-10)


def test_symmetric_indefinite_declined_by_cholesky_then_lu():
    rng = np.random.default_rng(2)
    a = make("sym-indefinite", 100, np.float64, rng)
    a0 = a.copy()
    ex = hybridsolve.explain(a)
    assert ex.chosen.name == "lu"
    assert any(s.name == "cholesky" for s, _ in ex.declined)
    assert "declined" in str(ex)
    np.testing.assert_array_equal(a, a0)


@pytest.mark.parametrize("da", [np.bool_, np.int8, np.int64, np.float16, np.float32,
                                np.float64, np.longdouble, np.complex64, np.complex128])
@pytest.mark.parametrize("db", [np.int32, np.float16, np.float32, np.float64,
                                np.complex64, np.complex128])
def test_result_dtype_matches_scipy(da, db):
    a = (np.eye(3) * 2 + np.triu(np.ones((3, 3)))).astype(da)
    b = np.arange(1, 4).astype(db)
    x = solve(a, b)
    ref = scipy.linalg.solve(a, b)
    assert x.dtype == ref.dtype
    np.testing.assert_allclose(x, ref, rtol=1e-3)


def test_bad_input():
    with pytest.raises(ValueError):
        solve(np.ones((3, 4)), np.ones(3))
    with pytest.raises(ValueError):
        solve(np.eye(3), np.ones(4))
    with pytest.raises(ValueError):
        solve(np.array([[1, np.nan], [0, 1]]), np.ones(2))
    with pytest.raises(ValueError):
        solve(np.eye(2), np.array([np.inf, 1]))
    with pytest.raises(ValueError):
        solve(np.eye(2, dtype=object), np.ones(2))
    with pytest.raises((TypeError, ValueError)):
        solve(np.array([["a", "b"], ["c", "d"]]), np.ones(2))
    with pytest.raises(ValueError, match="not a recognized"):
        solve(np.eye(2), np.ones(2), assume_a="nonsense")
    with pytest.raises(NotImplementedError):
        solve(np.eye(2, dtype=complex), np.ones(2), transposed=True)
    with pytest.raises(LinAlgError, match="singular"):
        solve(np.array([[1.0, 2.0], [2.0, 4.0]]), np.ones(2))
    # check_finite=False lets NaN through without a crash
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        try:
            solve(np.array([[1.0, np.nan], [0, 1]]), np.ones(2), check_finite=False)
        except (LinAlgError, ValueError):
            pass


def test_batch_singular_slice_is_named_right():
    rng = np.random.default_rng(3)
    a = rng.standard_normal((2, 3, 4, 4)) + 4 * np.eye(4)
    a[1, 2] = 0.0
    a[1, 2, 0, 0] = 1.0
    # scipy's wording: the flat index of the slice in the batch (1 * 3 + 2)
    with pytest.raises(LinAlgError, match=r"slice\(s\) \[5\] are singular"):
        solve(a, np.ones(4))


def test_batch_broadcast_and_one_warning():
    rng = np.random.default_rng(4)
    a = rng.standard_normal((3, 1, 5, 5)) + 5 * np.eye(5)
    b = rng.standard_normal((4, 5, 2))
    x = solve(a, b)
    ref = np.linalg.solve(a, b)
    np.testing.assert_allclose(x, ref, rtol=1e-10, atol=1e-12)
    bad = a.copy()
    bad[0, 0] = np.diag(np.logspace(0, 30, 5))
    bad[2, 0] = np.diag(np.logspace(0, 30, 5))
    with pytest.warns(LinAlgWarning) as rec:
        solve(bad, b)
    assert len(rec) == 1
    # scipy's wording: flat slice indices into the broadcast batch (3, 4)
    named = {int(m) for m in re.findall(r"slice (\d+) has", str(rec[0].message))}
    assert named == {0, 1, 2, 3, 8, 9, 10, 11}


@pytest.mark.parametrize("order", ["C", "F"])
def test_overwrite_symmetric_indefinite_fortran_no_crash(order):
    # scipy 1.17.1 segfaults on overwrite_a=True with an F-ordered symmetric indefinite A
    rng = np.random.default_rng(5)
    a = np.asarray(make("sym-indefinite", 60, np.float64, rng), order=order)
    a0 = a.copy()
    b = rng.standard_normal(60)
    x = solve(a, b, overwrite_a=True)
    assert backward_error(a0, x, b) < 1e-13
    x = solve(a0.copy(order=order), b, overwrite_a=True, assume_a="sym")
    assert backward_error(a0, x, b) < 1e-13


def test_readonly_and_strided():
    rng = np.random.default_rng(6)
    big = rng.standard_normal((80, 80)) + 10 * np.eye(80)
    a = big[::2, ::2]
    a.flags.writeable = False
    b = rng.standard_normal(80)[::2]
    np.testing.assert_allclose(solve(a, b), scipy.linalg.solve(a, b), rtol=1e-10)
    neg = big[::-1, ::-1]
    np.testing.assert_allclose(solve(neg, big[0]), scipy.linalg.solve(neg, big[0]),
                               rtol=1e-10)


def test_factorization_reuse_many_rhs():
    rng = np.random.default_rng(8)
    for kind in ("general", "spd", "upper", "diagonal", "tridiagonal"):
        a = make(kind, 30, np.float64, rng)
        f = hybridsolve.factorize(a)
        for k in (1, 5):
            b = rng.standard_normal((30, k))
            for trans, op in ((0, a), (1, a.T), (2, a.conj().T)):
                x = f.solve(b, trans=trans)
                assert backward_error(op, x, b) < 1e-13, (kind, trans)
        x1 = f.solve(b[:, 0])
        assert x1.shape == (30,)
        assert f.shape == (30, 30) and f.dtype == np.float64
        assert 0 < f.rcond <= 1


def test_explain_report():
    rng = np.random.default_rng(9)
    a = make("spd", 100, np.float64, rng)
    ex = hybridsolve.explain(a)
    text = str(ex)
    assert ex.chosen.name == "cholesky"
    assert "symmetric" in text and "chosen: cholesky" in text
    assert "lu" in text                      # every candidate with its price
    assert "kappa" in text
    rc = ex.rcond
    ref = 1 / np.linalg.cond(a, 1)
    assert ref / 10 <= rc <= ref * 10


def test_patch_scipy():
    orig = scipy.linalg.solve
    with hybridsolve.patched_scipy():
        assert scipy.linalg.solve is hybridsolve.solve
    assert scipy.linalg.solve is orig
    hybridsolve.patch_scipy()
    try:
        assert scipy.linalg.solve is hybridsolve.solve
    finally:
        hybridsolve.unpatch_scipy()
    assert scipy.linalg.solve is orig


def test_threads_give_serial_results():
    rng = np.random.default_rng(10)
    mats = [make(k, 120, np.float64, rng) for k in ("general", "spd", "tridiagonal", "upper")]
    rhs = rng.standard_normal((120, 4))
    serial = [solve(m, rhs) for m in mats]
    out = [[None] * len(mats) for _ in range(4)]

    def work(t):
        for _ in range(5):
            for i, m in enumerate(mats):
                out[t][i] = solve(m, rhs)

    threads = [threading.Thread(target=work, args=(t,)) for t in range(4)]
    for th in threads:
        th.start()
    for th in threads:
        th.join()
    for t in range(4):
        for i in range(len(mats)):
            np.testing.assert_array_equal(out[t][i], serial[i])


def test_structured_operator_through_front_door():
    rng = np.random.default_rng(11)
    n, k = 400, 5
    d = rng.random(n) + 1.0
    U = rng.standard_normal((n, k))
    op = hybridsolve.DiagonalPlusLowRank(d, U)
    b = rng.standard_normal((n, 2))
    assert hybridsolve.factorize(op).kind == "woodbury"
    x = solve(op, b)
    dense = op.toarray()
    assert backward_error(dense, x, b) < 100 * n * _eps(np.float64)
    np.testing.assert_allclose(x, scipy.linalg.solve(dense, b), rtol=1e-8)
    with pytest.raises(ValueError):
        solve(op, b, assume_a="pos")


def test_sparse_through_front_door():
    import scipy.sparse as sp
    import scipy.sparse.linalg as spla
    m = 30
    lap = sp.diags([-1.0, 2.0, -1.0], [-1, 0, 1], shape=(m, m))
    A = (sp.kron(sp.identity(m), lap) + sp.kron(lap, sp.identity(m))).tocsr()
    b = np.random.default_rng(12).standard_normal(m * m)
    before = (A.data.copy(), A.indices.copy(), A.indptr.copy())
    x = solve(A, b)
    assert isinstance(x, np.ndarray) and x.shape == b.shape
    np.testing.assert_allclose(x, spla.spsolve(A.tocsc(), b), rtol=1e-9)
    for arr, ref in zip((A.data, A.indices, A.indptr), before):
        np.testing.assert_array_equal(arr, ref)
    f = hybridsolve.factorize(A.tocoo())
    np.testing.assert_allclose(f.solve(b), x, rtol=1e-9)
    singular = sp.csr_matrix((m, m))
    with pytest.raises(LinAlgError):
        solve(singular, np.ones(m))


@pytest.mark.parametrize("hint", [None, "gen", "pos"])
def test_one_matrix_batch_of_rhs(hint):
    rng = np.random.default_rng(13)
    a = make("spd", 70, np.float64, rng)
    b = rng.standard_normal((3, 2, 70, 4))
    x = solve(a, b, assume_a=hint)
    assert x.shape == b.shape
    np.testing.assert_allclose(x, np.linalg.solve(a, b), rtol=1e-9, atol=1e-12)
    xt = solve(a, b[0, 0, :, 0], transposed=True)
    np.testing.assert_allclose(xt, np.linalg.solve(a.T, b[0, 0, :, 0]), rtol=1e-9)


@pytest.mark.parametrize("bad", [np.nan, np.inf])
@pytest.mark.parametrize("case", ["batch-kernel", "batch-hint", "one-a-many-b",
                                  "scalar-batch"])
def test_non_finite_b_in_batches_is_a_value_error(bad, case):
    """Every batch route checks b (the batch kernel in its own pass, the others in the
    front door), as scipy does; check_finite=False lets it through."""
    rng = np.random.default_rng(7)
    if case == "scalar-batch":
        a = np.full((1, 1, 1), 2.0)
        b = np.ones((1, 1, 1))
        b[0, 0, 0] = bad
    else:
        a = rng.standard_normal((3, 4, 4)) + 4 * np.eye(4)
        if case == "one-a-many-b":
            a = a[0]
        b = rng.standard_normal((3, 4, 2))
        b[1, 2, 1] = bad
    hint = "gen" if case == "batch-hint" else None
    with pytest.raises(ValueError, match="infs or NaNs"):
        solve(a, b, assume_a=hint)
    with pytest.raises(ValueError, match="infs or NaNs"):
        scipy.linalg.solve(a, b, assume_a=hint)
    x = solve(a, b, assume_a=hint, check_finite=False)
    assert not np.all(np.isfinite(x))


@pytest.mark.parametrize("dtype", [np.float32, np.float64, np.complex64, np.complex128])
@pytest.mark.parametrize("n", [2, 3, 9, 40, 80])
@pytest.mark.parametrize("bad", [np.nan, np.inf])
def test_singular_a_and_non_finite_b_is_a_value_error(dtype, n, bad):
    """scipy checks b's finiteness before it factors: an exactly singular A (a zero
    column) with NaN/inf in b is a ValueError, on the small kernel's one-call road (whose
    factorization stops before it reads b) as on the registry's."""
    a = np.ones((n, n), dtype=dtype)
    b = np.ones(n, dtype=dtype)
    b[n // 2] = bad
    for f in (solve, scipy.linalg.solve):
        with pytest.raises(ValueError, match="infs or NaNs"):
            f(a, b)
    with pytest.raises(np.linalg.LinAlgError, match="singular"):
        solve(a, np.ones(n, dtype=dtype))


@pytest.mark.parametrize("dtype", [np.float32, np.complex64])
@pytest.mark.parametrize("n", [2, 4, 16, 64])
def test_single_precision_small_solves_keep_their_dtype_and_eps(dtype, n):
    """float32 / complex64 take the small kernel's one call too: x in the input dtype,
    accurate to that dtype's eps, and the ill-conditioning warning judged by it (as
    scipy: rcond < eps(float32))."""
    rng = np.random.default_rng(n)
    a = (rng.standard_normal((n, n)) + n * np.eye(n)).astype(dtype)
    b = rng.standard_normal(n).astype(dtype)
    x = solve(a, b)
    assert x.dtype == dtype
    eps = np.finfo(dtype).eps
    r = np.linalg.norm(b - a @ x) / (np.linalg.norm(a, 1) * np.linalg.norm(x) + np.linalg.norm(b))
    assert r < 10 * n * eps
    # rcond ~ 1e-9: above eps(float64) but below eps(float32) = 1.2e-7
    ill = np.diag(np.r_[np.ones(n - 1), 1e-9]).astype(dtype)
    for f in (solve, scipy.linalg.solve):
        with pytest.warns(scipy.linalg.LinAlgWarning):
            f(ill, np.ones(n, dtype=dtype))


# ------------------------------------------------------------------ sparse-looking dense A

def _poisson2d_dense(m, order="C"):
    t = 2 * np.eye(m) - np.eye(m, k=1) - np.eye(m, k=-1)
    return np.asarray(np.kron(np.eye(m), t) + np.kron(t, np.eye(m)), order=order)


@pytest.mark.parametrize("order", ["C", "F"])
@pytest.mark.parametrize("dtype", DTYPES)
def test_sparse_looking_dense_takes_the_captured_road(order, dtype):
    """A sparse-looking dense A is not copied: its captured nonzeros go to sparse_dense;
    the caller's array is untouched and a factorization does not follow later edits."""
    from hybridsolve._solve import plan
    rng = np.random.default_rng(21)
    a = _rand(256, dtype, rng)
    a[rng.random((256, 256)) > 0.01] = 0                  # ~1% nonzero, not banded
    a = np.asarray(a + 8 * np.eye(256), dtype=dtype, order=order)
    a0 = a.copy()
    b = _rand(256, dtype, rng)[:, :2]
    p = plan(a)
    assert p.chosen.name == "sparse_dense"
    assert "captured" in p.structure.extra
    assert not any("working copy made" in n for n in p.structure.notes)
    x = solve(a, b)
    assert backward_error(a0, x, b) < 50 * 256 * _eps(dtype)
    np.testing.assert_array_equal(a, a0)
    f = hybridsolve.factorize(a)
    x1 = f.solve(b)
    a[...] = 1                                               # the caller edits A
    np.testing.assert_array_equal(f.solve(b), x1)
    text = str(hybridsolve.explain(a0))
    assert "read without copying" in text and "sparse_dense" in text


@pytest.mark.parametrize("order", ["C", "F"])
def test_captured_then_dense_road_gets_a_private_copy(order):
    """Captured (n >= 128, sparse-looking) but a dense road wins or is forced: it gets a
    private copy made lazily; the caller's A is untouched; later edits do not leak."""
    from hybridsolve._solve import plan
    rng = np.random.default_rng(22)
    n = 300
    a = np.asarray(np.triu(np.tril(rng.standard_normal((n, n)), 2), -2) + 6 * np.eye(n),
                   order=order)
    a0 = a.copy()
    b = rng.standard_normal(n)
    for p in (plan(a), plan(a, method="lu")):
        assert p.chosen.name != "sparse_dense"
        np.testing.assert_array_equal(a, a0)
        fac = p.factorization
        x = fac.solve(b)
        np.testing.assert_allclose(x, scipy.linalg.solve(a0, b), rtol=1e-10)
        a[...] = 0                                           # edit after factorizing
        np.testing.assert_array_equal(fac.solve(b), x)
        a[...] = a0
    # a scattered sparse-looking lower triangle: the triangular road (which keeps its
    # matrix, so needs a copy) wins even with the copy charged; it gets one lazily
    t = np.tril(rng.standard_normal((n, n)) * (rng.random((n, n)) < 0.02))
    t = np.asarray(t + 6 * np.eye(n), order=order)
    t0 = t.copy()
    p = plan(t)
    assert "captured" in p.structure.extra
    assert p.chosen.name == "triangular"
    assert any("working copy made" in n for n in p.structure.notes)
    assert "working copy made for" in str(hybridsolve.explain(t))
    x = p.factorization.solve(b)
    t[...] = 0                                               # edit after factorizing
    np.testing.assert_array_equal(p.factorization.solve(b), x)
    np.testing.assert_allclose(x, scipy.linalg.solve(t0, b), rtol=1e-10)
    # overwrite_a with an F-contiguous A: inspected in place, no capture
    af = np.asfortranarray(a0)
    x = solve(af, b, overwrite_a=True)
    np.testing.assert_allclose(x, scipy.linalg.solve(a0, b), rtol=1e-10)


def test_captured_pricing_charges_the_copy():
    """With A captured, a road needing a dense copy is charged for it in the price
    explain() shows (roads that only read A, like diagonal, are not); a general dense A
    is not captured and nobody is charged."""
    from hybridsolve._solve import plan
    n = 1000
    rng = np.random.default_rng(25)
    t = np.tril(rng.standard_normal((n, n)) * (rng.random((n, n)) < 0.01)) + 4 * np.eye(n)
    p = plan(t)                                          # scattered lower triangle
    assert "captured" in p.structure.extra
    prices = {s.name: c for c, s in p.candidates}
    reg = hybridsolve._registry
    own = reg.get("triangular").cost(p.structure)
    assert prices["triangular"] == own + reg.CALL_OVERHEAD + reg.COPY_WEIGHT * n * n
    a = np.diag(np.arange(1.0, n + 1))
    p = plan(a)
    assert p.chosen.name == "diagonal"
    prices = {s.name: c for c, s in p.candidates}
    assert prices["diagonal"] == p.chosen.cost(p.structure) + reg.CALL_OVERHEAD
    assert not any("working copy made" in n for n in p.structure.notes)
    g = np.random.default_rng(23).standard_normal((200, 200))
    p = plan(g)
    assert "captured" not in p.structure.extra
    assert p.chosen.name == "lu"
    assert all(c == s.cost(p.structure) + reg.CALL_OVERHEAD       # no copy surcharge
               for c, s in p.candidates)
    x = solve(a, np.ones(n))
    np.testing.assert_allclose(x, 1.0 / np.arange(1.0, n + 1), rtol=1e-14)


@pytest.mark.parametrize("kind", ["diagonal", "tridiagonal", "banded"])
@pytest.mark.parametrize("order", ["C", "F"])
def test_captured_read_only_roads_get_the_callers_array_untouched(kind, order):
    """Diagonal, tridiagonal and banded roads only read A (they copy out what they
    keep): a captured A goes to them with no dense copy, is never written, and a
    factorization does not follow later edits of A."""
    from hybridsolve._solve import plan
    n = 600
    rng = np.random.default_rng(24)
    if kind == "diagonal":
        a = np.diag(rng.random(n) + 1)
    elif kind == "tridiagonal":
        a = np.diag(rng.random(n) + 4) + np.diag(rng.random(n - 1), 1) \
            + np.diag(rng.random(n - 1), -1)
    else:
        a = sum(np.diag(rng.random(n - abs(k)), k) for k in range(-3, 4)) + 8 * np.eye(n)
    a = np.asarray(a, order=order)
    a.flags.writeable = False                            # any write would raise
    a0 = a.copy()
    b = rng.standard_normal(n)
    p = plan(a)
    assert "captured" in p.structure.extra
    assert p.chosen.name == kind
    assert not any("working copy made" in n for n in p.structure.notes)
    x = p.factorization.solve(b)
    np.testing.assert_allclose(x, scipy.linalg.solve(a0, b), rtol=1e-10)
    np.testing.assert_array_equal(a, a0)
    w = a0.copy(order=order)
    f = hybridsolve.factorize(w)
    w[...] = 0                                           # the caller edits A
    np.testing.assert_array_equal(f.solve(b), x)


@pytest.mark.parametrize("bad", [np.nan, np.inf])
def test_captured_non_finite(bad):
    a = _poisson2d_dense(12)                                 # n = 144
    a[3, 100] = bad
    with pytest.raises(ValueError, match="infs or NaNs"):
        solve(a, np.ones(144))
    with pytest.raises(ValueError, match="infs or NaNs"):
        hybridsolve.factorize(a)


def test_captured_singular():
    a = _poisson2d_dense(12)
    a[5, :] = 0
    with pytest.raises(LinAlgError):
        solve(a, np.ones(144))


def test_capture_rules_with_hints_methods_and_views():
    from hybridsolve._solve import plan
    rng = np.random.default_rng(24)
    n = 200
    a = np.diag(rng.uniform(1, 2, n))
    a[0, 5] = 0.5
    b = rng.standard_normal(n)
    ref = scipy.linalg.solve(a, b)
    # a forced road that only reads A: captured; one that needs a copy: not captured
    p = plan(a, method="sparse_dense")
    assert "captured" in p.structure.extra and p.chosen.name == "sparse_dense"
    p = plan(a, method="lu")
    assert "captured" not in p.structure.extra
    # a hint: no capture (the hinted road reads the dense copy)
    p = plan(a, assume_a="banded")
    assert "captured" not in p.structure.extra
    for x in (solve(a, b, method="sparse_dense"), solve(a, b, assume_a="banded"),
              solve(a, b), solve(a[::-1, ::-1].copy()[::-1, ::-1], b),
              solve(np.asfortranarray(a)[:, :], b)):
        np.testing.assert_allclose(x, ref, rtol=1e-12)
    # read-only and zero-stride (broadcast) inputs
    ro = a.copy()
    ro.flags.writeable = False
    np.testing.assert_allclose(solve(ro, b), ref, rtol=1e-12)
    row = np.zeros(n)
    row[3] = 1.0
    bc = np.broadcast_to(row, (n, n))              # singular: every row the same
    with pytest.raises(LinAlgError):
        solve(bc, b)
    # a general dense A: the count stopped, explain says so
    g = rng.standard_normal((n, n))
    text = str(hybridsolve.explain(g))
    assert "counting stopped" in text and "chosen: lu" in text
