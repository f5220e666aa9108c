"""solve_batched: stacks of systems, numpy as the oracle."""
import threading

import numpy as np
import pytest

from hybridsolve._kernels import small
from hybridsolve._kernels.small import SMALL_N, solve_batched
from _helpers import rand, hermitian_part

DTYPES = [np.float32, np.float64, np.complex64, np.complex128]
KINDS = ["general", "spd", "indefinite", "upper", "lower", "diagonal"]


def make(rng, n, kind, dtype):
    a = rand(rng, (n, n), np.complex128 if np.dtype(dtype).kind == "c" else np.float64)
    eye = np.eye(n)
    if kind == "spd":
        a = hermitian_part(a @ a.conj().T + n * eye)
    elif kind == "indefinite":
        a = a + a.conj().T
        a[np.diag_indices(n)] = np.abs(a.diagonal().real) + 0.1
        if n > 1:
            a[0, 1] = a[1, 0] = 10 * (a[0, 0].real + a[1, 1].real)
    elif kind == "upper":
        a = np.triu(a) + 3 * eye
    elif kind == "lower":
        a = np.tril(a) + 3 * eye
    elif kind == "diagonal":
        a = np.diag(a.diagonal() + 3)
    return a.astype(dtype)


def stack(rng, n, dtype, per_kind=2):
    return np.array([make(rng, n, kind, dtype) for kind in KINDS for _ in range(per_kind)])


def check_slices(a, b, x, info, rcond, transposed=False):
    m, n = a.shape[:2]
    assert x.shape == b.shape and x.dtype == a.dtype and x.flags.c_contiguous
    assert info.shape == (m,) and info.dtype == np.int32
    assert rcond.shape == (m,) and rcond.dtype == np.float64
    eps = np.finfo(a.dtype).eps
    wide = np.complex128 if a.dtype.kind == "c" else np.float64
    for s in range(m):
        assert info[s] == 0
        A = a[s].astype(wide)
        op = A.T if transposed else A
        X, B = x[s].astype(wide), b[s].astype(wide)
        r = np.linalg.norm(op @ X - B, 1)
        be = r / (np.linalg.norm(op, 1) * np.linalg.norm(X, 1) + np.linalg.norm(B, 1))
        assert be < 10 * n * eps, (s, be)
        rt = 1.0 / (np.linalg.norm(A, 1) * np.linalg.norm(np.linalg.inv(A), 1))
        # estimate of ||A^-1|| from below -> rcond from above; rounding of the dtype
        assert rt * (1 - 100 * n * eps) <= rcond[s] <= 10 * rt, (s, rcond[s], rt)


@pytest.mark.parametrize("dtype", DTYPES)
@pytest.mark.parametrize("n", [1, 2, 3, 4, 5, 8, 16, 24, 25, 33, 41, 64, 70])
def test_mixed_stack(n, dtype):
    rng = np.random.default_rng(n)
    a = stack(rng, n, dtype)
    for k in (1, 3):
        b = rand(rng, (a.shape[0], n, k), dtype)
        for transposed in (False, True):
            a0, b0 = a.copy(), b.copy()
            x, info, rcond = solve_batched(a, b, transposed, True)
            np.testing.assert_array_equal(a, a0)
            np.testing.assert_array_equal(b, b0)
            check_slices(a, b, x, info, rcond, transposed)
            ref = np.linalg.solve(np.swapaxes(a, 1, 2) if transposed else a, b)
            eps = np.finfo(dtype).eps
            assert np.allclose(x, ref, rtol=0, atol=1e4 * n * eps * np.abs(ref).max())


@pytest.mark.parametrize("dtype", [np.float64, np.complex64])
def test_shared_kernels_path_agrees(dtype):
    # force the shared LU/Cholesky kernels for every n and compare with our own kernels
    rng = np.random.default_rng(11)
    n = 12
    a = stack(rng, n, dtype)
    b = rand(rng, (a.shape[0], n, 2), dtype)
    own = solve_batched(a, b, False, True)
    old = small._set_own_max(0, 0)
    try:
        shared = solve_batched(a, b, False, True)
    finally:
        small._set_own_max(*old)
    check_slices(a, b, *shared)
    eps = np.finfo(dtype).eps
    np.testing.assert_allclose(shared[0], own[0], atol=1e3 * n * eps)
    np.testing.assert_allclose(shared[2], own[2], rtol=0.5)


@pytest.mark.parametrize("dtype", DTYPES)
def test_strides_and_broadcast(dtype):
    rng = np.random.default_rng(3)
    n, m = 6, 5
    base = rand(rng, (m, 2 * n, 2 * n), dtype) + 4 * np.eye(2 * n, dtype=dtype)
    bb = rand(rng, (m, 2 * n, 4), dtype)
    views = [
        base[:, :n, :n],                        # non-contiguous
        base[::-1, n - 1::-1, ::-2][:, :, :n],  # negative strides
        np.asfortranarray(base[:, :n, :n]),     # F-ordered stack
        np.swapaxes(base[:, :n, :n], 1, 2),     # F-ordered slices
        np.broadcast_to(base[0, :n, :n], (m, n, n)),  # zero batch stride
    ]
    bviews = [bb[:, :n, :1], bb[:, ::-2, ::-3][:, :n], np.broadcast_to(bb[:1, :n, :2], (m, n, 2))]
    for a in views:
        for b in bviews:
            for transposed in (False, True):
                check_slices(a, b, *solve_batched(a, b, transposed, True), transposed)


@pytest.mark.parametrize("dtype", DTYPES)
@pytest.mark.parametrize("n", [1, 3, 9, 50])
def test_singular_slices(n, dtype):
    rng = np.random.default_rng(4)
    a = stack(rng, n, dtype, per_kind=1)
    b = rand(rng, (a.shape[0], n, 2), dtype)
    bad = {1: 0, 3: n - 1, 5: n // 2}  # slice -> zero column (spd, upper, diagonal)
    for s, j in bad.items():
        a[s][:, j] = 0
        if KINDS[s] == "spd":  # keep it Hermitian with positive diagonal when possible
            a[s][j, :] = 0
            a[s][j, j] = 0
    x, info, rcond = solve_batched(a, b, False, True)
    for s in range(a.shape[0]):
        if s in bad:
            assert info[s] > 0, s
            assert rcond[s] == 0.0
            if KINDS[s] in ("upper", "diagonal") or n == 1:
                assert info[s] == bad[s] + 1
        else:
            assert info[s] == 0, s
            assert rcond[s] > 0


def test_singular_index_general():
    rng = np.random.default_rng(5)
    n = 7
    a = rand(rng, (4, n, n), np.float64)
    a[2][:, 4] = 0
    _, info, _ = solve_batched(a, rand(rng, (4, n, 1), np.float64), False, True)
    assert list(info) == [0, 0, 5, 0]


@pytest.mark.parametrize("dtype", DTYPES)
def test_non_finite(dtype):
    rng = np.random.default_rng(6)
    n = 4
    a = stack(rng, n, dtype, per_kind=1)
    b = rand(rng, (a.shape[0], n, 1), dtype)
    a[1, 2, 3] = np.nan
    b[4, 0, 0] = np.inf
    _, info, _ = solve_batched(a, b, False, True)
    assert list(np.flatnonzero(info)) == [1, 4]
    assert info[1] == -1 and info[4] == -1
    _, info, _ = solve_batched(a, b, False, False)  # unchecked: no crash, no -1
    assert (info != -1).all()


def test_empty_and_bad_input():
    x, info, rcond = solve_batched(np.empty((0, 3, 3)), np.empty((0, 3, 1)), False, True)
    assert x.shape == (0, 3, 1) and info.shape == (0,)
    x, info, rcond = solve_batched(np.empty((2, 0, 0)), np.empty((2, 0, 1)), False, True)
    assert x.shape == (2, 0, 1) and (info == 0).all()
    x, info, rcond = solve_batched(np.ones((2, 1, 1)), np.empty((2, 1, 0)), False, True)
    assert x.shape == (2, 1, 0) and (info == 0).all()
    with pytest.raises(ValueError):
        solve_batched(np.ones((2, 3, 3)), np.ones((2, 3)), False, True)
    with pytest.raises(ValueError):
        solve_batched(np.ones((2, 3, 4)), np.ones((2, 3, 1)), False, True)
    with pytest.raises(ValueError):
        solve_batched(np.ones((2, 3, 3)), np.ones((3, 3, 1)), False, True)
    with pytest.raises(TypeError):
        solve_batched(np.ones((2, 3, 3)), np.ones((2, 3, 1), np.float32), False, True)
    with pytest.raises(TypeError):
        solve_batched(np.ones((2, 3, 3), int), np.ones((2, 3, 1), int), False, True)
    with pytest.raises(TypeError):
        solve_batched([[[1.0]]], np.ones((1, 1, 1)), False, True)


def test_openmp_threads_match_serial():
    """One thread and two threads (explicitly, and through the policy) give the same
    bits: every slice is solved by the same code whatever thread runs it."""
    import hybridsolve
    rng = np.random.default_rng(8)
    n = 8
    a = np.concatenate([stack(rng, n, np.float64, per_kind=40)] * 5)
    b = rand(rng, (a.shape[0], n, 2), np.float64)
    serial = solve_batched(a, b, False, True, 0.0, 1)
    old = small._set_batch_work(0.0, 1.0)       # no work floor: 2 threads really start
    try:
        parallel = solve_batched(a, b, False, True, 0.0, 2)
        with hybridsolve.threads(2):
            policy = solve_batched(a, b, False, True)
    finally:
        small._set_batch_work(*old)
    for s, p, q in zip(serial, parallel, policy):
        np.testing.assert_array_equal(s, p)
        np.testing.assert_array_equal(s, q)


def test_python_threads_match_serial():
    rng = np.random.default_rng(9)
    jobs = []
    for dt in DTYPES:
        for n in (3, 8, 30, 45):
            a = stack(rng, n, dt, per_kind=3)
            jobs.append((a, rand(rng, (a.shape[0], n, 2), dt)))
    a = rand(rng, (20000, 3, 3), np.float64)  # large enough to use OpenMP as well
    jobs.append((a, rand(rng, (20000, 3, 1), np.float64)))
    tols = [np.finfo(a.dtype).eps if i % 2 else 0.0 for i, (a, _) in enumerate(jobs)]
    serial = [solve_batched(a, b, False, True, tol) for (a, b), tol in zip(jobs, tols)]
    out = [None] * 4

    def work(t):
        res = []
        for _ in range(3):
            res = [solve_batched(a, b, False, True, tol) for (a, b), tol in zip(jobs, tols)]
        out[t] = res

    threads = [threading.Thread(target=work, args=(t,)) for t in range(4)]
    for th in threads:
        th.start()
    for th in threads:
        th.join()
    for t in range(4):
        for got, ref in zip(out[t], serial):
            for g, r in zip(got, ref):
                np.testing.assert_array_equal(g, r)


def test_small_n_constant():
    assert isinstance(SMALL_N, int) and SMALL_N >= 16


@pytest.mark.parametrize("dtype", DTYPES)
def test_rcond_tol_same_verdict_as_estimate(dtype):
    """With rcond_tol = eps the slices below eps are exactly the estimator's, x is
    bit-identical, and shortcut values are true lower bounds >= 4 eps."""
    import scipy.linalg as sl
    rng = np.random.default_rng(14)
    eps = np.finfo(dtype).eps
    for n in (3, 8, 12, 32):
        a = stack(rng, n, dtype, per_kind=3)
        hil = sl.hilbert(n).astype(dtype)
        a = np.concatenate([a, hil[None], (hil * 1e-3)[None]])
        b = rand(rng, (a.shape[0], n, 1), dtype)
        for transposed in (False, True):
            x0, i0, r0 = solve_batched(a, b, transposed, True)
            x1, i1, r1 = solve_batched(a, b, transposed, True, eps)
            np.testing.assert_array_equal(x0, x1)
            np.testing.assert_array_equal(i0, i1)
            np.testing.assert_array_equal(r0 < eps, r1 < eps)
            wide = np.complex128 if a.dtype.kind == "c" else np.float64
            for s in np.flatnonzero(r0 != r1):
                A = a[s].astype(wide)
                rt = 1.0 / (np.linalg.norm(A, 1) * np.linalg.norm(np.linalg.inv(A), 1))
                assert 4 * eps <= r1[s] <= rt * (1 + 1e-4), (n, s, r1[s], rt)
            if n <= 8:
                assert (r0 != r1).sum() > a.shape[0] // 2  # the bound did answer
        if n >= 12 or (n >= 8 and dtype in (np.float32, np.complex64)):
            assert (r1 < eps).any()  # the Hilbert slices are ill-conditioned
