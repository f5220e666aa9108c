"""The sparse mixed-precision road ``sparse_mixed``: single-precision SuperLU factors,
double refinement (the dense road's `refine_solve` and criterion), opt-in only, its
declines and fallbacks to the double sparse road."""
import pickle
import warnings

import numpy as np
import pytest
import scipy.sparse as sp
import scipy.sparse.linalg as spla
from numpy.linalg import LinAlgError
from scipy.linalg import LinAlgWarning

import hybridsolve as hs
from hybridsolve._explain import explain
from hybridsolve.roads.sparse import mixed as smx

from _helpers import eps

EPS_D = eps(np.float64)


def bwd_inf(a, x, b, trans=0):
    """The road's measure: max over columns of ||b - op(A) x||_inf /
    (||op(A)||_inf ||x||_inf + ||b||_inf), in complex128 (dense, small n)."""
    m = np.asarray(a.toarray(), dtype=np.complex128)
    m = {0: m, 1: m.T, 2: m.conj().T}[trans]
    x = np.asarray(x, dtype=np.complex128).reshape(m.shape[0], -1)
    b = np.asarray(b, dtype=np.complex128).reshape(m.shape[0], -1)
    r = np.abs(b - m @ x).max(axis=0)
    an = np.abs(m).sum(axis=1).max()
    return float((r / (an * np.abs(x).max(axis=0) + np.abs(b).max(axis=0))).max())


def accepted(n):
    """The criterion's worst accepted backward error (sqrt(n) eps), with room for the
    rounding of the check itself."""
    return 2.0 * np.sqrt(n) * EPS_D + 8 * EPS_D


def sparse_sdd(rng, n, dtype, per_row=4, fmt="csr"):
    """Random sparse, strictly diagonally dominant by rows, nonsymmetric pattern."""
    rows = np.repeat(np.arange(n), per_row)
    cols = rng.integers(0, n, size=n * per_row)
    keep = rows != cols
    vals = rng.standard_normal(keep.sum())
    if np.dtype(dtype).kind == "c":
        vals = vals + 1j * rng.standard_normal(keep.sum())
    a = sp.csr_array((vals.astype(dtype), (rows[keep], cols[keep])), shape=(n, n))
    a.sum_duplicates()
    d = np.asarray(abs(a).sum(axis=1)).ravel() + 1.0
    return (a + sp.diags_array(d.astype(dtype))).asformat(fmt)


def poisson2d(g):
    t = sp.diags_array([-np.ones(g - 1), 2 * np.ones(g), -np.ones(g - 1)],
                       offsets=[-1, 0, 1])
    i = sp.eye_array(g)
    return sp.csr_array(sp.kron(i, t) + sp.kron(t, i))


def rotated(rng, n, dmin, outer=True, dtype=np.float64):
    """kappa_2 = 1 / dmin by construction: P blockdiag(R_i diag(d_i, d'_i) S_i^T) Q with
    2 x 2 rotations R_i, S_i and random permutations P, Q (so no banded, triangular or
    diagonal road applies); ``outer``: the pairs (d_i, d'_i) take the two ends of
    logspace(0, log10 dmin), so the outer blocks are themselves ill-conditioned (in
    single precision some are singular); else neighbours (every block well
    conditioned, A is not)."""
    d = np.logspace(0, np.log10(dmin), n)
    if not outer:
        d = np.r_[d[0::2], d[1::2][::-1]]
    rows, cols, vals = [], [], []
    for i in range(n // 2):
        t1, t2 = rng.uniform(0, 2 * np.pi, 2)
        r = np.array([[np.cos(t1), -np.sin(t1)], [np.sin(t1), np.cos(t1)]])
        s = np.array([[np.cos(t2), -np.sin(t2)], [np.sin(t2), np.cos(t2)]])
        blk = (r * [d[i], d[n - 1 - i]]) @ s.T
        for p in range(2):
            for q in range(2):
                rows.append(2 * i + p)
                cols.append(2 * i + q)
                vals.append(blk[p, q])
    a = sp.csr_array((np.array(vals, dtype=dtype), (rows, cols)), shape=(n, n))
    p, q = rng.permutation(n), rng.permutation(n)
    return sp.csr_array(a[p][:, q])


# ------------------------------------------------------------------ accuracy


@pytest.mark.parametrize("dtype", [np.float64, np.complex128])
@pytest.mark.parametrize("fmt", ["csr", "csc", "coo"])
def test_matches_spsolve_within_the_criterion(dtype, fmt):
    rng = np.random.default_rng(1)
    n = 300
    a = sparse_sdd(rng, n, dtype, fmt=fmt)
    b = rng.standard_normal(n).astype(dtype)
    e = explain(a, precision="mixed")
    assert e.chosen.name == "sparse_mixed"
    assert e.factorization.kind.startswith("sparse_mixed")
    assert any("memory" in note for note in e.factorization.notes)
    x = hs.solve(a, b, precision="mixed")
    ref = spla.spsolve(sp.csc_array(a), b)
    assert x.dtype == ref.dtype
    assert bwd_inf(a, x, b) <= accepted(n)
    assert bwd_inf(a, x, b) <= 10 * max(bwd_inf(a, ref, b), EPS_D)
    kappa = 1.0 / e.rcond
    np.testing.assert_allclose(x, ref, rtol=0, atol=50 * kappa * n * EPS_D
                               * np.abs(ref).max())


def test_poisson_symmetric_pattern():
    a = poisson2d(30)
    b = np.random.default_rng(2).standard_normal(a.shape[0])
    e = explain(a, precision="mixed")
    assert e.chosen.name == "sparse_mixed"
    x = hs.solve(a, b, precision="mixed")
    assert bwd_inf(a, x, b) <= accepted(a.shape[0])
    # rcond in double terms: the double road's estimate, within a few tens of percent
    rc_d = explain(a, precision="double").rcond
    assert 0.5 * rc_d <= e.rcond <= 2.0 * rc_d


@pytest.mark.parametrize("dtype", [np.float64, np.complex128])
def test_factorize_reuse_trans_and_many_b(dtype):
    rng = np.random.default_rng(3)
    n, k = 200, 5
    a = sparse_sdd(rng, n, dtype)
    f = hs.factorize(a, precision="mixed")
    assert isinstance(f, smx.SparseMixedFactorization)
    csc = sp.csc_array(a)
    ops = {0: csc, 1: sp.csc_array(csc.T), 2: sp.csc_array(csc.conj().T)}
    for trans in (0, 1, 2):
        b = rng.standard_normal((n, k)).astype(dtype)
        x = f.solve(b, trans)
        assert x.shape == (n, k) and x.dtype == dtype
        assert bwd_inf(a, x, b, trans) <= accepted(n)
        ref = spla.spsolve(ops[trans], b)
        np.testing.assert_allclose(x, ref, rtol=1e3 * n * EPS_D, atol=0)
        x1 = f.solve(b[:, 0], trans)
        assert x1.shape == (n,)
        assert bwd_inf(a, x1, b[:, 0], trans) <= accepted(n)
    assert f.double is None        # no column needed the double road


def test_result_dtype_as_scipy():
    rng = np.random.default_rng(4)
    n = 60
    a = sparse_sdd(rng, n, np.float64)
    ai = sp.csr_array(np.round(a.toarray() * 4).astype(np.int64))
    bc = rng.standard_normal(n) + 1j * rng.standard_normal(n)
    for m, b in ((a, bc), (ai, rng.standard_normal(n)), (a, np.arange(n))):
        x = hs.solve(m, b, precision="mixed")
        ref = spla.spsolve(sp.csc_array(m), b)
        assert x.dtype == ref.dtype
        assert bwd_inf(m, x, b) <= accepted(n)
    # single-precision A: not this road's (already single)
    e = explain(a.astype(np.float32), precision="mixed")
    assert e.chosen.name != "sparse_mixed"


def test_callers_arrays_untouched():
    rng = np.random.default_rng(5)
    n = 80
    for fmt in ("csr", "csc"):
        a = sparse_sdd(rng, n, np.float64, fmt=fmt)
        data, ind, ptr = a.data.copy(), a.indices.copy(), a.indptr.copy()
        b = np.asfortranarray(rng.standard_normal((n, 3)))
        b0 = b.copy()
        hs.solve(a, b, precision="mixed")
        f = hs.factorize(a, precision="mixed")
        f.solve(b, 1)
        np.testing.assert_array_equal(b, b0)
        np.testing.assert_array_equal(a.data, data)
        np.testing.assert_array_equal(a.indices, ind)
        np.testing.assert_array_equal(a.indptr, ptr)


# ------------------------------------------------------------------ opt-in only


def test_opt_in_only():
    rng = np.random.default_rng(6)
    for a in (sparse_sdd(rng, 100, np.float64), poisson2d(10),
              sparse_sdd(rng, 100, np.complex128)):
        assert explain(a).chosen.name != "sparse_mixed"
        e = explain(a, precision="double")
        assert e.chosen.name != "sparse_mixed"
        assert ("precision='double'" in dict((s.name, r) for s, r in e.rejected)
                ["sparse_mixed"])
        with pytest.raises(ValueError, match="sparse_mixed"):
            hs.factorize(a, method="sparse_mixed", precision="double")
        # forcing the road by name is an opt-in too
        assert hs.factorize(a, method="sparse_mixed").kind.startswith("sparse_mixed")
        b = np.ones(a.shape[0])
        x = hs.solve(a, b, precision="double")
        assert bwd_inf(a, x, b) <= accepted(a.shape[0])


def test_structured_sparse_roads_keep_winning():
    n = 50
    tri = sp.diags_array([np.ones(n - 1), 4 * np.ones(n), np.ones(n - 1)],
                         offsets=[-1, 0, 1], format="csr")
    assert explain(tri, precision="mixed").chosen.name == "sparse_banded"
    assert explain(sp.diags_array(np.arange(1.0, n + 1), format="csr"),
                   precision="mixed").chosen.name == "sparse_diagonal"


# ------------------------------------------------------------------ declines, fallback


@pytest.mark.parametrize("outer", [True, False])
def test_ill_conditioned_falls_back_before_refining(outer):
    rng = np.random.default_rng(7)
    n = 200
    a = rotated(rng, n, 1e-9, outer)
    b = rng.standard_normal(n)
    e = explain(a, precision="mixed")
    why = dict((s.name, r) for s, r in e.declined).get("sparse_mixed", "")
    assert e.chosen.name != "sparse_mixed"
    assert "falling back to double (time lost" in why
    assert "rcond" in why or (outer and "singular" in why)
    x = hs.solve(a, b, precision="mixed")
    ref = spla.spsolve(sp.csc_array(a), b)
    assert bwd_inf(a, x, b) <= 10 * max(bwd_inf(a, ref, b), EPS_D)
    np.testing.assert_array_equal(x, hs.solve(a, b, precision="double"))


def test_failed_refinement_falls_back_to_double(monkeypatch):
    """Factors that refinement cannot converge with (the "single copy" has its diagonal
    negated: the iteration matrix A_s^-1 (A_s - A) is about 2 I; the rcond test switched
    off): the columns are solved by the double road, the notes say so and the time
    lost."""
    copy = smx._single_copy

    def wrong_copy(work):
        s = copy(work)
        return sp.csr_array(s - 2 * sp.diags_array(s.diagonal()))

    monkeypatch.setattr(smx, "_single_copy", wrong_copy)
    monkeypatch.setattr(smx, "decline_unless_convergent", lambda *args: None)
    rng = np.random.default_rng(8)
    n = 200
    a = sparse_sdd(rng, n, np.float64)
    b = rng.standard_normal((n, 2))
    f = hs.factorize(a, precision="mixed")
    assert isinstance(f, smx.SparseMixedFactorization)
    x = f.solve(b)
    assert f.double is not None and f.double.kind.startswith("sparse")
    notes = " ".join(f.notes)
    assert "fell back" in notes and "time lost" in notes
    ref = spla.spsolve(sp.csc_array(a), b)
    assert bwd_inf(a, x, b) <= 10 * max(bwd_inf(a, ref, b), EPS_D)
    # later solves (any trans) go to the double factors; the result still correct
    xt = f.solve(b[:, 0], 1)
    assert bwd_inf(a, xt, b[:, 0], 1) <= 10 * max(
        bwd_inf(a, spla.spsolve(sp.csc_array(a.T), b[:, 0]), b[:, 0], 1), EPS_D)
    g = pickle.loads(pickle.dumps(f))
    np.testing.assert_allclose(g.solve(b), x, rtol=1e6 * EPS_D, atol=0)


def test_singular_raises_as_the_double_road():
    rng = np.random.default_rng(9)
    n = 60
    a = sparse_sdd(rng, n, np.float64).tolil()
    a[5, :] = 0.0                               # a zero row: exactly singular
    a = sp.csr_array(a)
    b = np.ones(n)
    assert explain(sparse_sdd(rng, n, np.float64), precision="mixed").chosen.name == (
        "sparse_mixed")
    with pytest.raises(LinAlgError, match="singular"):
        hs.solve(a, b, precision="double")
    with pytest.raises(LinAlgError, match="singular"):
        hs.solve(a, b, precision="mixed")
    with pytest.raises(LinAlgError, match="singular"):
        hs.factorize(a, precision="mixed")
    # two equal rows: singular in exact arithmetic; whatever the double road does with
    # the rounded factors (raise, or warn), the mixed road does the same
    a = sparse_sdd(rng, n, np.float64).tolil()
    a[5, :] = a[7, :]
    a = sp.csr_array(a)
    outcome = []
    for precision in ("double", "mixed"):
        with warnings.catch_warnings(record=True) as w:
            warnings.simplefilter("always")
            try:
                hs.solve(a, b, precision=precision)
                outcome.append(sorted({type(x.message).__name__ for x in w}))
            except LinAlgError:
                outcome.append("LinAlgError")
    assert outcome[0] == outcome[1]


def test_ill_conditioned_warns_as_the_double_road():
    rng = np.random.default_rng(10)
    n = 100
    a = sparse_sdd(rng, n, np.float64).tolil()
    a[3, :] = a[3, :] * 1e-20          # kappa >= 1e20 by construction (a scaled row)
    a = sp.csr_array(a)
    b = rng.standard_normal(n)
    with pytest.warns(LinAlgWarning, match="ill-conditioned"):
        xd = hs.solve(a, b, precision="double")
    with pytest.warns(LinAlgWarning, match="ill-conditioned"):
        xm = hs.solve(a, b, precision="mixed")
    np.testing.assert_array_equal(xm, xd)
    with warnings.catch_warnings():
        warnings.simplefilter("error", LinAlgWarning)
        hs.solve(sparse_sdd(rng, n, np.float64), b, precision="mixed")


# ------------------------------------------------------------------ pickling


@pytest.mark.parametrize("dtype", [np.float64, np.complex128])
def test_pickle(dtype):
    rng = np.random.default_rng(11)
    n = 120
    a = sparse_sdd(rng, n, dtype)
    f = hs.factorize(a, precision="mixed")
    b = rng.standard_normal((n, 2)).astype(dtype)
    g = pickle.loads(pickle.dumps(f))
    assert type(g) is type(f) and g.rcond == f.rcond
    for trans in (0, 1, 2):
        x = g.solve(b, trans)
        assert bwd_inf(a, x, b, trans) <= accepted(n)
        np.testing.assert_allclose(x, f.solve(b, trans), rtol=1e3 * n * EPS_D, atol=0)
