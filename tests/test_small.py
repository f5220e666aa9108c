"""small_solve: one small dense system, scipy/numpy as oracles."""
import os
import subprocess
import sys
import threading

import numpy as np
import pytest
import scipy.linalg as sl

from hybridsolve._kernels import small
from hybridsolve._kernels.small import SMALL_N, small_solve
import hybridsolve
from _helpers import backward_error, eps, hermitian_part, rand

DTYPES = [np.float64, np.complex128]
DTYPES_ALL = [np.float32, np.float64, np.complex64, np.complex128]
NS = list(range(1, 17)) + [23, 24, 25, 31, 32, 40, 41, 47, 63, SMALL_N]


def make(rng, n, kind, dtype):
    a = rand(rng, (n, n), dtype)
    if kind == "general":
        return a
    if kind == "spd":
        return hermitian_part(a @ a.conj().T + n * np.eye(n, dtype=dtype))
    if kind == "indefinite":  # Hermitian with positive diagonal but indefinite
        h = a + a.conj().T
        h[np.diag_indices(n)] = np.abs(h.diagonal().real) + 0.1
        if n > 1:
            h[0, 1] = h[1, 0] = 10 * (h[0, 0].real + h[1, 1].real)
        return h
    if kind == "upper":
        return np.triu(a) + 3 * np.eye(n, dtype=dtype)
    if kind == "lower":
        return np.tril(a) + 3 * np.eye(n, dtype=dtype)
    if kind == "diagonal":
        return np.diag(a.diagonal() + 3)
    raise ValueError(kind)


def true_rcond(a):
    return 1.0 / (np.linalg.norm(a, 1) * np.linalg.norm(np.linalg.inv(a), 1))


def check(a, b, transposed=False, check_finite=True):
    a0, b0 = a.copy(), b.copy()
    x, info, rcond = small_solve(a, b, transposed, check_finite)
    np.testing.assert_array_equal(a, a0)  # inputs untouched
    np.testing.assert_array_equal(b, b0)
    assert info == 0
    assert x.shape == b.shape and x.dtype == b.dtype
    op = a.T if transposed else a
    n = a.shape[0]
    eps = np.finfo(a.dtype).eps
    assert backward_error(op, x, b) < 10 * n * eps
    ref = np.linalg.solve(op, b)
    assert np.allclose(x, ref, rtol=1e3 * n * eps / true_rcond(a), atol=0)
    # rcond: an estimate never below the truth (||A^-1|| is under-estimated), and close
    rt = true_rcond(a)
    assert rt * (1 - 1e-8) <= rcond <= 10 * rt
    return x, rcond


@pytest.mark.parametrize("dtype", DTYPES)
@pytest.mark.parametrize("n", NS)
@pytest.mark.parametrize("kind", ["general", "spd", "indefinite", "upper", "lower",
                                  "diagonal"])
def test_kinds_sizes(n, kind, dtype):
    rng = np.random.default_rng(n * 7 + len(kind))
    a = make(rng, n, kind, dtype)
    for transposed in (False, True):
        check(a, rand(rng, (n,), dtype), transposed)
        check(a, rand(rng, (n, 3), dtype), transposed)


@pytest.mark.parametrize("dtype", DTYPES)
@pytest.mark.parametrize("n", [1, 4, 7, 16, 33, SMALL_N])
def test_rcond_vs_lapack(n, dtype):
    rng = np.random.default_rng(n)
    a = make(rng, n, "general", dtype)
    a[:, 0] *= 1e6  # make it ill-conditioned so the estimate matters
    _, _, rcond = small_solve(a, rand(rng, (n,), dtype), False, True)
    lu, piv = sl.lu_factor(a)
    gecon = sl.get_lapack_funcs("gecon", (a,))
    ref, info = gecon(lu, np.linalg.norm(a, 1), norm="1")
    assert info == 0
    assert ref / 3 <= rcond <= ref * 3
    _, _, rcond_t = small_solve(a, rand(rng, (n,), dtype), True, True)
    assert ref / 3 <= rcond_t <= ref * 3  # rcond of A, not of A^T


@pytest.mark.parametrize("dtype", DTYPES)
def test_layouts(dtype):
    rng = np.random.default_rng(1)
    n = 9
    big = rand(rng, (2 * n, 3 * n), dtype)
    views = {
        "C": np.ascontiguousarray(big[:n, :n]),
        "F": np.asfortranarray(big[:n, :n]),
        "strided": big[::2, ::3],
        "negative": big[n - 1::-1, ::-1][:, :n],
        "transposed view": big[:n, :n].T,
    }
    bb = rand(rng, (3 * n, 4), dtype)
    bviews = {"1-D": bb[:n, 0].copy(), "1-D strided": bb[::3, 1], "2-D": bb[:n],
              "2-D F": np.asfortranarray(bb[:n]), "2-D negative": bb[n - 1::-1, ::-2],
              "1-D negative": bb[::-3, 0]}
    for a in views.values():
        assert a.shape == (n, n)
        for b in bviews.values():
            for transposed in (False, True):
                check(a, b, transposed)


def test_read_only_inputs():
    rng = np.random.default_rng(2)
    a = make(rng, 5, "general", np.float64)
    b = rand(rng, (5, 2), np.float64)
    a.flags.writeable = False
    b.flags.writeable = False
    check(a, b)


@pytest.mark.parametrize("dtype", DTYPES)
@pytest.mark.parametrize("n", [1, 2, 3, 6, 20, SMALL_N])
def test_singular_info_is_zero_column(n, dtype):
    rng = np.random.default_rng(3)
    for j in range(0, n, max(1, n // 3)):
        a = make(rng, n, "general", dtype)
        a[:, j] = 0
        x, info, rcond = small_solve(a, rand(rng, (n,), dtype), False, True)
        assert info == j + 1
        assert rcond == 0.0
        # the same zero column is a zero row of A^T: LAPACK's getrf agrees on singular
        assert sl.lapack.dgetrf(np.abs(a))[2] > 0


@pytest.mark.parametrize("kind", ["upper", "lower", "diagonal"])
def test_singular_triangular(kind):
    rng = np.random.default_rng(4)
    a = make(rng, 6, kind, np.float64)
    a[4, 4] = 0
    _, info, rcond = small_solve(a, np.ones(6), False, True)
    assert info == 5 and rcond == 0.0


def test_singular_hermitian_positive_diagonal_falls_back():
    a = np.ones((4, 4))  # Hermitian, positive diagonal, rank 1
    _, info, rcond = small_solve(a, np.ones(4), False, True)
    assert info > 0 and rcond == 0.0
    # not positive definite but nonsingular: Cholesky fails, LU answers
    a = np.array([[1.0, 2.0], [2.0, 1.0]])
    x, info, _ = small_solve(a, np.array([3.0, 3.0]), False, True)
    assert info == 0
    np.testing.assert_allclose(x, [1.0, 1.0])


@pytest.mark.parametrize("dtype", DTYPES)
def test_non_finite(dtype):
    rng = np.random.default_rng(5)
    for bad in (np.nan, np.inf, -np.inf):
        a = make(rng, 4, "general", dtype)
        b = rand(rng, (4,), dtype)
        a[2, 1] = bad
        assert small_solve(a, b, False, True)[1] == -1
        small_solve(a, b, False, False)  # no check: garbage allowed, no crash
        a = make(rng, 4, "spd", dtype)
        b[3] = bad
        assert small_solve(a, b, False, True)[1] == -1
        assert small_solve(a, b, False, False)[1] == 0
    if dtype == np.complex128:
        a = make(rng, 3, "general", dtype)
        a[0, 0] = complex(1.0, np.nan)
        assert small_solve(a, np.ones(3, dtype), False, True)[1] == -1


def test_empty():
    x, info, rcond = small_solve(np.empty((0, 0)), np.empty(0), False, True)
    assert x.shape == (0,) and info == 0
    x, info, rcond = small_solve(np.eye(3), np.empty((3, 0)), False, True)
    assert x.shape == (3, 0) and info == 0


def test_bad_input():
    a = np.eye(3)
    with pytest.raises(ValueError):
        small_solve(np.ones((3, 4)), np.ones(3), False, True)
    with pytest.raises(ValueError):
        small_solve(a, np.ones(4), False, True)
    with pytest.raises(ValueError):
        small_solve(a, np.ones((3, 1, 1)), False, True)
    with pytest.raises(ValueError):
        small_solve(np.eye(SMALL_N + 1), np.ones(SMALL_N + 1), False, True)
    with pytest.raises(TypeError):
        small_solve(a, np.ones(3, np.complex128), False, True)
    with pytest.raises(TypeError):
        small_solve(a.astype(np.float32), np.ones(3), False, True)
    with pytest.raises(TypeError):
        small_solve(a.astype(np.int64), np.ones(3, np.int64), False, True)
    with pytest.raises(TypeError):
        small_solve([[1.0]], np.ones(1), False, True)


def test_classify_hook():
    rng = np.random.default_rng(6)
    n = 5
    kinds = {"general": 0, "spd": 1, "upper": 2, "lower": 3, "diagonal": 2}
    for kind, code in kinds.items():
        a = np.asfortranarray(make(rng, n, kind, np.float64))
        assert small._classify(a) == code
    h = np.asfortranarray(make(rng, n, "spd", np.complex128))
    assert small._classify(h) == 1
    h[1, 1] += 1e-3j  # complex diagonal: not Hermitian
    assert small._classify(h) == 0


def test_threads_match_serial():
    rng = np.random.default_rng(7)
    probs = [(make(rng, n, kind, dt), rand(rng, (n, 2), dt))
             for n in (3, 8, 16, 40) for kind in ("general", "spd", "upper")
             for dt in DTYPES]
    tols = [np.finfo(a.dtype).eps if i % 2 else 0.0 for i, (a, _) in enumerate(probs)]
    serial = [small_solve(a, b, False, True, tol) for (a, b), tol in zip(probs, tols)]
    out = [[None] * len(probs) for _ in range(4)]

    def work(t):
        for _ in range(20):
            for i, (a, b) in enumerate(probs):
                out[t][i] = small_solve(a, b, False, True, tols[i])

    threads = [threading.Thread(target=work, args=(t,)) for t in range(4)]
    for th in threads:
        th.start()
    for th in threads:
        th.join()
    for t in range(4):
        for (x, info, rc), (x0, info0, rc0) in zip(out[t], serial):
            np.testing.assert_array_equal(x, x0)
            assert info == info0 and rc == rc0


def with_kappa(rng, n, kappa, dtype):
    """Random matrix with 2-norm condition number kappa (singular values log-spaced)."""
    u, _ = np.linalg.qr(rand(rng, (n, n), dtype))
    v, _ = np.linalg.qr(rand(rng, (n, n), dtype))
    s = np.logspace(0, -np.log10(kappa), n)
    return (u * s) @ v.conj().T


def rcond_cases(rng, dtype):
    for n in (2, 3, 4, 5, 8, 16, 33, SMALL_N):
        for kind in ("general", "spd", "upper", "lower", "diagonal"):
            yield make(rng, n, kind, dtype)
    for n in range(2, 15):
        yield sl.hilbert(n).astype(dtype)
    for n in (3, 8, 20, SMALL_N):
        for kappa in (1e3, 1e12, 1e14, 1e15, 4e15, 1e16, 1e17, 1e20):
            yield with_kappa(rng, n, kappa, dtype)


@pytest.mark.parametrize("dtype", DTYPES)
def test_rcond_tol_same_verdict_as_estimate(dtype):
    """rcond_tol only skips the estimator when a rigorous bound proves rcond >= 4 tol: the
    verdict rcond < tol is the estimator's on every case, x is bit-identical, and where
    the bound answered its value is a true lower bound of the exact rcond."""
    rng = np.random.default_rng(11)
    eps = np.finfo(dtype).eps
    shortcut = ill = 0
    for a in rcond_cases(rng, dtype):
        n = a.shape[0]
        b = rand(rng, (n,), dtype)
        for transposed in (False, True):
            for src in (a, np.asfortranarray(a)):
                x0, info0, r_est = small_solve(src, b, transposed, True)
                x1, info1, r_tol = small_solve(src, b, transposed, True, eps)
                assert info0 == info1 == 0
                np.testing.assert_array_equal(x0, x1)
                assert (r_est < eps) == (r_tol < eps), (n, r_est, r_tol)
                ill += r_est < eps
                if r_tol != r_est:
                    shortcut += 1
                    assert r_tol >= 4 * eps
                    assert r_tol <= true_rcond(a) * (1 + 1e-6)
    assert shortcut > 100 and ill > 10  # both branches were exercised


@pytest.mark.parametrize("dtype", DTYPES)
def test_ill_conditioned_warning_as_scipy(dtype):
    """The front door's fast path warns exactly when scipy.linalg.solve warns (cases
    clear of the threshold: the two estimators differ slightly near it)."""
    import warnings

    import hybridsolve

    rng = np.random.default_rng(12)
    cases = [sl.hilbert(n).astype(dtype) for n in (4, 8, 10, 12, 13, 14)]
    cases += [with_kappa(rng, n, kappa, dtype) for n in (5, 20, SMALL_N)
              for kappa in (1e2, 1e10, 1e13, 1e18, 1e20)]
    warned = 0
    for a in cases:
        b = rand(rng, (a.shape[0],), dtype)
        with warnings.catch_warnings(record=True) as ws:
            warnings.simplefilter("always")
            sl.solve(a, b)
        ref = any(issubclass(w.category, sl.LinAlgWarning) for w in ws)
        with warnings.catch_warnings(record=True) as ws:
            warnings.simplefilter("always")
            hybridsolve.solve(a, b)
        got = [w for w in ws if issubclass(w.category, sl.LinAlgWarning)]
        assert len(got) == ref, (a.shape, ref, [str(w.message) for w in got])
        warned += ref
    assert 0 < warned < len(cases)


def test_rcond_bound_hook():
    """The comparison-matrix bound is >= the exact ||A^-1|| (1- and inf-norm) for every
    kind of factors, and exact for diagonal matrices."""
    rng = np.random.default_rng(13)
    for n in (1, 2, 5, 17, 40):
        for kind in ("general", "spd", "upper", "lower", "diagonal"):
            for dtype in DTYPES:
                a = make(rng, n, kind, dtype)
                inv = np.linalg.inv(a)
                for inf in (False, True):
                    for big in (False, True):
                        bound = small._inv_norm_bound(np.asfortranarray(a), inf, big)
                        exact = np.linalg.norm(inv, np.inf if inf else 1)
                        assert bound >= exact * (1 - 1e-12), (n, kind, inf, big)
                        if kind == "diagonal":
                            assert bound == pytest.approx(exact, rel=1e-12)


@pytest.mark.parametrize("dtype", DTYPES)
@pytest.mark.parametrize("n", [2, 3, 4, 5, 7, 9])
def test_non_finite_every_position(n, dtype):
    """The finiteness scan (four interleaved sums) sees an inf/NaN at every position, in
    both layouts and for both kinds of tiny path (general / other kinds)."""
    rng = np.random.default_rng(15 + n)
    for kind in ("general", "spd"):
        a0 = make(rng, n, kind, dtype)
        for idx in np.ndindex(n, n):
            for bad in (np.nan, np.inf):
                a = a0.copy()
                a[idx] = bad
                for src in (a, np.asfortranarray(a)):
                    assert small_solve(src, np.ones(n, dtype), False, True)[1] == -1
        for i in range(n):
            b = np.ones(n, dtype)
            b[i] = np.inf
            assert small_solve(a0, b, False, True)[1] == -1


def test_norm_overflow_is_not_non_finite():
    """The finiteness scan is skipped when ||A||_1 is finite; a norm that overflows with
    finite entries must still solve (not report info -1)."""
    for a in (np.array([[9e307, 1.0], [9e307, 9e307]]),           # tiny general path
              np.array([[9e307, 0.0], [9e307, 9e307]]),           # lower triangular
              np.array([[9e307, 1.0, 0], [9e307, 9e307, 0], [0, 0, 1.0]]).T):
        b = np.array([1e307, 2e307, 1.0][:a.shape[0]])
        for transposed in (False, True):
            x, info, _ = small_solve(a, b, transposed, True)
            assert info == 0
            op = a.T if transposed else a
            np.testing.assert_allclose(x, np.linalg.solve(op, b), rtol=1e-12)


# ---------------------------------------------------------------- the small road's factorization

@pytest.mark.parametrize("dtype", DTYPES_ALL)
@pytest.mark.parametrize("kind", ["general", "spd", "indefinite", "upper", "lower",
                                  "diagonal"])
def test_small_road_factorization_reuses_its_factors(dtype, kind):
    import scipy.linalg as sl

    from hybridsolve.roads.small import COMPLEX_LU_MAX, SmallFactorization, SmallSolver

    rng = np.random.default_rng(11)
    for n in (1, 2, 3, 5, 8, 17, SMALL_N):
        if kind == "indefinite" and n < 2:
            continue
        a = make(rng, n, kind, dtype)
        for order in ("C", "F"):
            a_in = np.array(a, order=order)
            a0 = a_in.copy()
            f = hybridsolve.factorize(a_in)
            if kind == "general" and np.dtype(dtype).kind == "c" and n > COMPLEX_LU_MAX:
                assert f.kind == "lu"      # the LU road's (tuning small_complex_lu_max)
                f = SmallSolver().factorize(a_in)     # the road's own, for its factors
            assert isinstance(f, SmallFactorization)
            np.testing.assert_array_equal(a_in, a0)      # only read
            b = rand(rng, (n, 3), dtype)
            e = eps(dtype)
            for trans, op in ((0, a), (1, a.T), (2, a.conj().T)):
                x = f.solve(b, trans)
                assert x.dtype == np.dtype(dtype) and x.shape == b.shape
                assert backward_error(op, x, b) < 20 * n * e
                x1 = f.solve(b[:, 0], trans)
                assert x1.shape == (n,)
            rc = f.rcond
            rt = true_rcond(a.astype(np.complex128))
            assert rt * (1 - 1e-3) <= rc <= 10 * rt * (1 + 1e-3)
            if dtype in (np.float64, np.complex128):
                lapack = sl.lu_solve(sl.lu_factor(a), b)
                np.testing.assert_allclose(f.solve(b), lapack,
                                           rtol=1e3 * n * e / rt, atol=0)


def test_small_road_factorization_errors():
    with pytest.raises(np.linalg.LinAlgError, match="singular"):
        hybridsolve.factorize(np.array([[1.0, 2.0], [2.0, 4.0]]))
    bad = np.eye(3)
    bad[1, 2] = np.nan
    with pytest.raises(ValueError, match="infs or NaNs"):
        hybridsolve.factorize(bad)
    f = hybridsolve.factorize(bad, check_finite=False)      # as scipy: no check
    assert f.shape == (3, 3)


def test_build_choice():
    """The faces run one build: the baseline where asked (HYBRIDSOLVE_KERNELS=baseline)
    or where the CPU lacks AVX2/FMA, else small_avx2 (setup.py builds it on x86-64)."""
    assert small.BUILD in ("baseline", "avx2")
    if os.environ.get("HYBRIDSOLVE_KERNELS", "").strip().lower() == "baseline":
        assert small.BUILD == "baseline"
    want = "hybridsolve._kernels.small_avx2" if small.BUILD == "avx2" else small.__name__
    for name in small._FACES:
        assert getattr(small, name).__module__ == want, name


@pytest.mark.skipif(small.BUILD == "baseline", reason="the baseline build runs here")
def test_baseline_build_passes_the_small_kernel_tests():
    """Where the AVX2 build runs, the baseline build (what a CPU without AVX2 runs)
    passes the small and batched kernel tests too: they run again in a process that asks
    for it."""
    here = os.path.dirname(os.path.abspath(__file__))
    r = subprocess.run(
        [sys.executable, "-m", "pytest", "-q", "-x", "-p", "no:cacheprovider",
         os.path.join(here, "test_small.py"), os.path.join(here, "test_batched.py")],
        # cwd: the tests folder, so that `python -m` (which puts the working directory
        # first on sys.path) imports the installed package, not a source tree beside
        env=dict(os.environ, HYBRIDSOLVE_KERNELS="baseline"), cwd=here,
        capture_output=True, text=True, timeout=900)
    assert r.returncode == 0, r.stdout[-4000:] + r.stderr[-2000:]
    assert " passed" in r.stdout and " skipped" in r.stdout   # the skip above, at least


def _pivot_free(n, dtype):
    """A general (neither triangular nor Hermitian) matrix of exact small integers,
    strictly diagonally dominant, so every road's result is bounded the same way."""
    a = np.diag(np.full(n, 4.0)) + np.diag(np.ones(n - 1), 1) - np.diag(np.ones(n - 1), -1)
    a[0, n - 1] = 1.0            # a full corner: not banded either
    a[n - 1, 0] = 2.0
    a = a.astype(dtype)
    if np.dtype(dtype).kind == "c":
        a = a + 1j * np.diag(np.ones(n - 1), 1).astype(dtype)
    return a


def test_complex_general_above_the_short_circuit_is_not_priced_as_one_free_call():
    """Issue 10: a complex general A just above the short-circuit's range was priced by
    the small road at its flops with no fixed cost, though the LU road is faster there;
    the registry now leaves it to the LU road (tuning small_complex_lu_max)."""
    from hybridsolve import _registry
    from hybridsolve.roads.small import COMPLEX_LU_MAX

    for n in (COMPLEX_LU_MAX + 1, 56, SMALL_N):
        a = _pivot_free(n, np.complex128)
        assert not _registry.shortcut_open("small", "dense", a.dtype, n)
        e = hybridsolve.explain(a)
        assert e.chosen.name == "lu", (n, str(e))
        assert any(s.name == "small" and "complex LU" in r for s, r in e.rejected)
        b = np.arange(1, n + 1).astype(np.complex128)
        x = hybridsolve.solve(a, b)
        assert backward_error(a, x, b) < 20 * n * eps(np.complex128)
    # where the short-circuit is open, the registry's choice is still the small road
    a = _pivot_free(COMPLEX_LU_MAX, np.complex128)
    assert _registry.shortcut_open("small", "dense", a.dtype, COMPLEX_LU_MAX)
    assert hybridsolve.explain(a).chosen.name == "small"
    # a triangular complex A is still the small road's (its substitution is cheap)
    assert hybridsolve.explain(np.triu(_pivot_free(56, np.complex128))).chosen.name \
        == "small"


@pytest.mark.parametrize("dtype", DTYPES)
def test_general_path_makes_the_short_circuits_single_call(monkeypatch, dtype):
    """Where the short-circuit is closed (here: a plugin that could claim every call
    but prices itself out) and the registry picks the small road for a one-shot
    solve, the front door makes the short-circuit's one kernel call (solve_once), not
    factorize + solve + rcond: the road's zero call_overhead holds on that path too."""
    from hybridsolve import _registry

    small_road = _registry.get("small")
    calls = {"once": 0, "factorize": 0}
    once, fac = small_road.solve_once, small_road.factorize

    def counting_once(*args, **kw):
        calls["once"] += 1
        return once(*args, **kw)

    def counting_factorize(*args, **kw):
        calls["factorize"] += 1
        return fac(*args, **kw)

    class PricedOut(hybridsolve.Solver):
        name = "test-priced-out"
        call_overhead = 0.0

        def cost(self, structure):
            return 1e30

        def factorize(self, a, structure):  # pragma: no cover - never chosen
            raise AssertionError

    monkeypatch.setattr(small_road, "solve_once", counting_once)
    monkeypatch.setattr(small_road, "factorize", counting_factorize)
    n = 12
    a = _pivot_free(n, dtype)
    b = np.arange(1, 2 * n + 1).reshape(n, 2).astype(dtype)
    hybridsolve.register(PricedOut)
    try:
        assert not _registry.shortcut_open("small", "dense", np.dtype(dtype), n)
        for trans in (False, True) if np.dtype(dtype).kind == "f" else (False,):
            op = a.T if trans else a
            for a_in in (a, np.asfortranarray(a)):
                x = hybridsolve.solve(a_in, b, transposed=trans)
                assert x.shape == b.shape and x.dtype == np.dtype(dtype)
                assert backward_error(op, x, b) < 20 * n * eps(dtype)
                b_int = np.arange(1, n + 1)          # scipy's dtype rule: to dtype
                x1 = hybridsolve.solve(a_in, b_int, transposed=trans)
                assert x1.shape == (n,) and x1.dtype == np.dtype(dtype)
                assert backward_error(op, x1, b_int.astype(dtype)) < 20 * n * eps(dtype)
        assert calls["factorize"] == 0 and calls["once"] > 0
        # errors and warnings as before (scipy's)
        with pytest.raises(np.linalg.LinAlgError,
                           match=r"A singular matrix detected: slice\(s\) \[0\] are "
                                 r"singular"):
            hybridsolve.solve(np.ones((n, n), dtype), b)
        ill = np.eye(n, dtype=dtype)
        ill[n - 1, n - 1] = 1e-30
        with pytest.warns(sl.LinAlgWarning, match="slice 0 has rcond"):
            hybridsolve.solve(ill, b)
        bad = a.copy()
        bad[3, 4] = np.nan
        with pytest.raises(ValueError, match="infs or NaNs"):
            hybridsolve.solve(bad, b)
        # overwrite_a / overwrite_b want the factors / x in the caller's buffers: the
        # road factorizes there, as before
        a_f, b_f = np.asfortranarray(a), np.asfortranarray(b)
        x = hybridsolve.solve(a_f, b_f, overwrite_a=True, overwrite_b=True)
        assert np.shares_memory(x, b_f) and not (a_f == a).all()
        assert calls["factorize"] == 1
        # explain() factorizes (its report shows the factorization)
        assert hybridsolve.explain(a).chosen is small_road
        assert calls["factorize"] == 2
    finally:
        hybridsolve.unregister("test-priced-out")
