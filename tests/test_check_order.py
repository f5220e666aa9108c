"""scipy's order of checks at the front door: for inputs that break several rules at once
the first error is scipy's (same exception type), and the inputs scipy accepts in odd
forms (numeric strings, a scalar ``a``) are accepted the same way.  scipy.linalg.solve is
the oracle everywhere; where we deliberately differ (a sparse ``b`` is accepted) the test
says so."""
import itertools
import warnings

import numpy as np
import pytest
import scipy.linalg
import scipy.sparse as sp
from numpy.linalg import LinAlgError
from scipy.linalg import LinAlgWarning

from _helpers import same_error_type
from hybridsolve import solve


def outcome(f, *args, **kw):
    """('ok', shape, dtype, warned) or ('raise', exception type, message)."""
    with warnings.catch_warnings(record=True) as rec:
        warnings.simplefilter("always")
        try:
            x = f(*args, **kw)
        except Exception as exc:  # noqa: BLE001 -- the type is what is compared
            return ("raise", type(exc), str(exc))
    warned = any(issubclass(w.category, LinAlgWarning) for w in rec)
    return ("ok", x.shape, x.dtype, warned)


def same_as_scipy(*args, **kw):
    ours = outcome(solve, *args, **kw)
    ref = outcome(scipy.linalg.solve, *args, **kw)
    assert ours[:2] == ref[:2], (ours, ref)
    return ours, ref


def test_complex_nan_transposed_raises_valueerror_first():
    a = np.array([[1 + 1j, 2], [3, np.nan]])
    ours, _ = same_as_scipy(a, np.ones(2), transposed=True)
    assert ours[1] is ValueError
    # the NaN in b too, and for a batch (the batch kernel checks b in its own pass)
    same_as_scipy(np.eye(2) + 0j, np.array([np.nan, 1.0]), transposed=True)
    batch = np.stack([np.eye(3), np.eye(3)]) + 0j
    batch[1, 2, 2] = np.nan
    same_as_scipy(batch, np.ones(3), transposed=True)
    b = np.ones((2, 3, 1))
    b[0, 1, 0] = np.inf
    same_as_scipy(np.stack([np.eye(3)] * 2) + 0j, b, transposed=True)
    # check_finite=False: no finiteness error, scipy's NotImplementedError
    ours, _ = same_as_scipy(a, np.ones(2), transposed=True, check_finite=False)
    assert ours[1] is NotImplementedError


def test_batch_mismatched_b_complex_transposed():
    a = np.ones((3, 2, 2)) + 1j * np.eye(2)
    for b in (np.ones((3, 3)), np.ones((4, 2, 1)), np.ones(5)):
        ours, _ = same_as_scipy(a, b, transposed=True)
        assert ours[1] is NotImplementedError
        a_nan = a.copy()
        a_nan[2, 0, 1] = np.nan
        ours, _ = same_as_scipy(a_nan, b, transposed=True)
        assert ours[1] is ValueError


@pytest.mark.parametrize("fmt", ["csr_matrix", "csc_array", "coo_array"])
def test_sparse_b_with_dense_a_is_densified(fmt):
    # scipy raises ValueError (no sparse input at all); we accept a sparse b as the
    # sparse-a road does: densified, the result as for b.toarray()
    rng = np.random.default_rng(0)
    a = rng.standard_normal((6, 6)) + 6 * np.eye(6)
    bd = rng.standard_normal((6, 2))
    b = getattr(sp, fmt)(bd)
    x = solve(a, b)
    assert isinstance(x, np.ndarray) and x.shape == (6, 2)
    np.testing.assert_allclose(x, scipy.linalg.solve(a, bd), rtol=1e-12)
    np.testing.assert_allclose(solve(a[None], b), scipy.linalg.solve(a[None], bd),
                               rtol=1e-12)
    with pytest.raises(ValueError):
        solve(a, getattr(sp, fmt)(np.ones((5, 1))))          # shapes still checked


def test_bytes_and_strings_as_scipy():
    ab = np.array([[b"1", b"2"], [b"3", b"4"]])
    au = ab.astype(str)
    for a in (ab, au):
        ours, ref = same_as_scipy(a, np.ones(2))
        assert ours[0] == "ok" and ours[1:3] == ref[1:3]
        np.testing.assert_allclose(solve(a, np.ones(2)),
                                   scipy.linalg.solve(a, np.ones(2)), rtol=1e-14)
    same_as_scipy(np.eye(2), np.array(["1", "2.5"]))
    same_as_scipy(np.eye(2, dtype=np.float32), np.array([b"1", b"2"]))
    # non-numeric: numpy's ValueError, as scipy's
    for a in (np.array([[b"a", b"b"], [b"c", b"d"]]), np.array([["x", "1"], ["2", "3"]])):
        ours, _ = same_as_scipy(a, np.ones(2))
        assert ours[1] is ValueError
    # a NaN elsewhere is still found first (scipy checks finiteness before the dtypes)
    same_as_scipy(np.array([["x", "1"], ["2", "3"]]), np.array([np.nan, 1.0]))


@pytest.mark.parametrize("n", [2, 5, 40, 120])
@pytest.mark.parametrize("dtype", [np.float32, np.float64, np.complex64, np.complex128])
def test_nan_unchecked_warns_rcond_zero(n, dtype):
    """NaN in A with check_finite=False: scipy returns its (NaN) result with a
    LinAlgWarning naming rcond = 0; a silent NaN result is not honest."""
    rng = np.random.default_rng(n)
    base = {
        "general": rng.standard_normal((n, n)) + n * np.eye(n),
        "spd": np.eye(n) * n + 0.5,
        "upper": np.triu(rng.standard_normal((n, n))) + n * np.eye(n),
    }
    for (name, a), pos in itertools.product(base.items(), [(0, 0), (n - 1, n - 1)]):
        a = a.astype(dtype)
        a[pos] = np.nan
        for batch in (False, True):
            aa = np.stack([a, np.eye(n, dtype=dtype)]) if batch else a
            with pytest.warns(LinAlgWarning, match="rcond = 0.0") as rec:
                x = solve(aa, np.ones(n, dtype), check_finite=False)
            assert not np.isfinite(x).all(), (name, pos)
            assert len([w for w in rec if w.category is LinAlgWarning]) == 1
            if not batch:
                with warnings.catch_warnings():
                    warnings.simplefilter("ignore")   # scipy's may name another slice
                    ref = outcome(scipy.linalg.solve, aa, np.ones(n, dtype),
                                  check_finite=False)
                assert ref[0] != "ok" or ref[3], "scipy warns too"
    # with a hint, through the registry's roads
    a = (np.eye(n) * n).astype(dtype)
    a[0, 0] = np.nan
    for hint in ("gen", "pos", "sym", "upper triangular", "diagonal"):
        got = outcome(solve, a, np.ones(n, dtype), check_finite=False, assume_a=hint)
        # honest either way: a LinAlgError (Cholesky meets the NaN pivot) or a warning
        assert got[1] is LinAlgError if got[0] == "raise" else got[3], (hint, got)


def test_singular_2d_message_names_the_slice_as_scipy():
    for a in (np.ones((3, 3)), np.ones((40, 40)), np.zeros((100, 100)),
              np.array([[1.0, 2.0], [2.0, 4.0]], dtype=np.complex64)):
        n = a.shape[0]
        for kw in ({}, {"assume_a": "gen"}, {"assume_a": "sym"}):
            with pytest.raises(LinAlgError) as ours:
                solve(a, np.ones(n), **kw)
            with pytest.raises(LinAlgError) as ref:
                scipy.linalg.solve(a, np.ones(n), **kw)
            assert str(ours.value) == str(ref.value) == \
                "A singular matrix detected: slice(s) [0] are singular."


def test_batch_singular_message_names_the_true_slice():
    # scipy 1.17 numbers the slices by their position among the failing ones (here it
    # says [0]); we name the slice itself, in scipy's wording
    a = np.stack([np.eye(3), np.eye(3), np.ones((3, 3)), np.eye(3)])
    for kw in ({}, {"assume_a": "gen"}):
        with pytest.raises(LinAlgError, match=r"^A singular matrix detected: "
                                               r"slice\(s\) \[2\] are singular\.$"):
            solve(a, np.ones(3), **kw)
    # one matrix, a batch of right-hand sides: every slice of the broadcast batch
    with pytest.raises(LinAlgError, match=r"slice\(s\) \[0, 1\] are singular"):
        solve(np.ones((3, 3)), np.ones((2, 3, 1)))


def test_ill_conditioned_2d_warning_worded_as_scipy():
    a = np.diag([1.0, 1.0, 1e-20]) + np.triu(np.ones((3, 3)), 1)
    for f in (solve, scipy.linalg.solve):
        with pytest.warns(LinAlgWarning,
                          match=r"^An ill-conditioned matrix detected: slice 0 has "
                                r"rcond = [0-9.e+-]+\.$"):
            f(a, np.ones(3))


@pytest.mark.parametrize("case", [
    "nonsquare_nan", "mismatch_nan_b", "object_nan_b", "bad_hint_nan", "masked",
    "scalar_zero", "empty", "1d_a", "3d_mismatch_batch", "datetime_nan_b",
])
def test_several_faults_first_error_is_scipys(case):
    nan_b = np.array([np.nan, 1.0])
    args, kw = {
        "nonsquare_nan": ((np.array([[1.0, np.nan, 3.0]]), np.ones(1)), {}),
        "mismatch_nan_b": ((np.eye(3), nan_b), {}),
        "object_nan_b": ((np.eye(2, dtype=object), nan_b), {}),
        "bad_hint_nan": ((np.array([[np.nan]]), np.ones(1)), {"assume_a": "foo"}),
        "masked": ((np.ma.masked_array(np.eye(2)), np.ones(2)), {}),
        "scalar_zero": ((0.0, np.ones(3)), {}),
        "empty": ((np.empty((0, 0)), np.empty(0)), {}),
        "1d_a": ((np.array([2.0, 3.0]), np.ones(2)), {}),
        "3d_mismatch_batch": ((np.stack([np.eye(2)] * 3), np.ones((4, 2, 1))), {}),
        "datetime_nan_b": ((np.eye(2).astype("M8[s]"), nan_b), {}),
    }[case]
    ours = outcome(solve, *args, **kw)
    ref = outcome(scipy.linalg.solve, *args, **kw)
    if ref[0] == "raise":
        assert ours[0] == "raise" and same_error_type(ours[1], ref[1]), (ours, ref)
    else:
        assert ours == ref
