"""solve_compact (the lane-interleaved batch kernel): numpy / the per-slice kernel as
oracles.  A slice the compact kernel settles (done = 1) must be solved within n eps
backward error and carry a rigorous rcond lower bound >= 4 eps; every slice the per-slice
kernel would name (singular, non-finite) or warn about (rcond < eps) must be left to it
(done = 0)."""
import numpy as np
import pytest

from hybridsolve._kernels.batched import COMPACT_N, LANE_COUNT, solve_compact
from hybridsolve._kernels.small import solve_batched
from _helpers import rand, hermitian_part
from test_batched import make, KINDS

DTYPES = [np.float32, np.float64]


def mixed(rng, n, dtype, m):
    """m slices (not a multiple of the lane count): every kind of test_batched, plus
    singular, ill-conditioned and non-finite slices, in a shuffled order."""
    a = [make(rng, n, KINDS[s % len(KINDS)], dtype) for s in range(m)]
    if n > 1:
        z = make(rng, n, "general", dtype)
        z[:, -1] = z[:, 0]  # two equal columns: exactly singular in every rounding
        a[1] = z
        ill = make(rng, n, "general", dtype)
        ill[:, -1] = ill[:, 0] * (1 + np.finfo(dtype).eps)
        a[2] = ill
    nan = make(rng, n, "general", dtype)
    nan[0, 0] = np.nan
    a[3] = nan
    inf = make(rng, n, "spd", dtype)
    inf[-1, -1] = np.inf
    a[4] = inf
    a[5] = np.zeros((n, n), dtype)
    order = rng.permutation(m)
    return np.array(a)[order]


def check(a, b, transposed, nthreads=1):
    eps = float(np.finfo(a.dtype).eps)
    x, done, rcond = solve_compact(a, b, transposed, eps, nthreads)
    x0, info0, r0 = solve_batched(a, b, transposed, True)  # the estimate (no bound)
    n = a.shape[1]
    assert x.shape == b.shape and x.dtype == a.dtype and x.flags.c_contiguous
    assert done.shape == rcond.shape == (a.shape[0],)
    # never settles what the per-slice kernel names or warns about
    assert not done[(info0 != 0) | ~(r0 >= eps)].any()
    for s in np.flatnonzero(done):
        A = a[s].astype(np.float64)
        op = A.T if transposed else A
        X, B = x[s].astype(np.float64), b[s].astype(np.float64)
        be = np.linalg.norm(op @ X - B, 1) / (np.linalg.norm(op, 1) * np.linalg.norm(X, 1)
                                              + np.linalg.norm(B, 1))
        assert be < 10 * n * eps, (s, be)
        rt = 1.0 / (np.linalg.norm(A, 1) * np.linalg.norm(np.linalg.inv(A), 1))
        assert 4 * eps <= rcond[s] <= rt * (1 + 100 * n * eps), (s, rcond[s], rt)
    return done


def settles_random(n, dtype):
    """Whether the rigorous bound settles random general slices of order n: it must reach
    4 eps of the dtype, which it does for float64 up to COMPACT_N = 32 and for float32 up
    to about 12 (tuning batch_compact_n32)."""
    return np.dtype(dtype) == np.float64 or n <= 12


@pytest.mark.parametrize("dtype", DTYPES)
@pytest.mark.parametrize("n", [1, 2, 3, 4, 5, 8, 9, 16, 23, 32])
def test_mixed_stack(n, dtype):
    rng = np.random.default_rng(n)
    m = 3 * LANE_COUNT + 5  # tail lanes
    a = mixed(rng, n, dtype, m)
    b = rand(rng, (m, n, 2), dtype)
    for transposed in (False, True):
        done = check(a, b, transposed)
        if settles_random(n, dtype):
            assert done.sum() >= m - 8  # the well-conditioned slices are settled here


@pytest.mark.parametrize("dtype", DTYPES)
@pytest.mark.parametrize("k", [1, 3])
@pytest.mark.parametrize("n", [5, 12])
def test_all_spd_groups_take_cholesky_and_fall_back(dtype, k, n):
    """Groups of exactly symmetric positive-diagonal slices: positive definite ones
    (Cholesky) and indefinite ones (Cholesky fails, the group redoes LU); with several
    right-hand sides, those after the first solved with the group's factors (n = 5)
    or eliminated along with A (n = 12, the kernel whose order is a run-time value)."""
    rng = np.random.default_rng(7)
    m = 4 * LANE_COUNT
    spd = [make(rng, n, "spd", dtype) for _ in range(2 * LANE_COUNT)]
    ind = [make(rng, n, "indefinite", dtype) for _ in range(2 * LANE_COUNT)]
    a = np.array(spd + ind[:LANE_COUNT - 1] + spd[:1] + ind[LANE_COUNT:])
    b = rand(rng, (m, n, k), dtype)
    for transposed in (False, True):
        assert check(a, b, transposed).all()


@pytest.mark.parametrize("dtype", DTYPES)
def test_strides_broadcast_threads(dtype):
    rng = np.random.default_rng(3)
    n, m = 4, 2 * LANE_COUNT + 3
    a = rand(rng, (m, n, n), dtype) + 3 * np.eye(n, dtype=dtype)
    b = rand(rng, (m, n, 3), dtype)
    views = [(a, b), (np.asfortranarray(a), b[:, :, ::2]),
             (a.transpose(0, 2, 1), b), (a[::-1, ::-1], b[::-1]),
             (np.broadcast_to(a[:1], a.shape), np.broadcast_to(b[:, :1, :], b.shape))]
    for av, bv in views:
        for transposed in (False, True):
            assert check(av, bv, transposed).all()
            one = solve_compact(av, bv, transposed, float(np.finfo(dtype).eps), 1)
            two = solve_compact(av, bv, transposed, float(np.finfo(dtype).eps), 2)
            for p, q in zip(one, two):
                np.testing.assert_array_equal(p, q)


def test_hermitian_part_stack_matches_numpy():
    rng = np.random.default_rng(11)
    n, m = 6, 2 * LANE_COUNT + 1
    a = np.array([hermitian_part(rand(rng, (n, n), np.float64)) + n * np.eye(n)
                  for _ in range(m)])
    b = rand(rng, (m, n, 1), np.float64)
    x, done, _ = solve_compact(a, b, False, float(np.finfo(float).eps))
    assert done.all()
    ref = np.linalg.solve(a, b)
    cond = np.linalg.cond(a, 1)
    err = np.abs(x - ref).max(axis=(1, 2)) / np.abs(ref).max(axis=(1, 2))
    assert (err <= 20 * n * cond * np.finfo(float).eps).all()


def test_bad_input():
    eps = float(np.finfo(float).eps)
    x, done, rcond = solve_compact(np.empty((0, 3, 3)), np.empty((0, 3, 1)), False, eps)
    assert x.shape == (0, 3, 1) and done.shape == (0,)
    with pytest.raises(TypeError):
        solve_compact(np.ones((2, 3, 3), np.complex128), np.ones((2, 3, 1), np.complex128),
                      False, eps)
    with pytest.raises(ValueError):
        solve_compact(np.ones((2, 3, 3)), np.ones((2, 3, 1)), False, 0.0)
    with pytest.raises(ValueError):
        solve_compact(np.ones((2, COMPACT_N + 1, COMPACT_N + 1)),
                      np.ones((2, COMPACT_N + 1, 1)), False, eps)
    with pytest.raises(ValueError):
        solve_compact(np.ones((2, 3, 4)), np.ones((2, 3, 1)), False, eps)


@pytest.mark.parametrize("dtype", DTYPES)
@pytest.mark.parametrize("n", [1, 2, 3, 4, 5, 6, 7, 8, 9, 16, 32])
def test_one_rhs_contiguous_and_strided(n, dtype):
    """One right-hand side: contiguous and strided b (and a, every other row and column
    of a larger array) give the same x bit for bit, within n eps backward error."""
    rng = np.random.default_rng(20 + n)
    m = 2 * LANE_COUNT + 3
    a = mixed(rng, n, dtype, m)
    wide = rand(rng, (m, n, 3), dtype)
    b = np.ascontiguousarray(wide[:, :, 1:2])
    big = np.zeros((m, 2 * n, 2 * n), dtype)
    big[:, ::2, ::2] = a
    eps = float(np.finfo(dtype).eps)
    for transposed in (False, True):
        done = check(a, b, transposed)
        if settles_random(n, dtype):
            assert done.sum() >= m - 8
        x, d, r = solve_compact(a, b, transposed, eps)
        for av, bv in [(a, wide[:, :, 1:2]), (big[:, ::2, ::2], wide[:, :, 1:2]),
                       (big[:, ::2, ::2], b)]:
            xs, ds, rs = solve_compact(av, bv, transposed, eps)
            np.testing.assert_array_equal(ds, d)
            np.testing.assert_array_equal(xs[d == 1], x[d == 1])
            np.testing.assert_array_equal(rs[d == 1], r[d == 1])


@pytest.mark.parametrize("dtype", DTYPES)
@pytest.mark.parametrize("n", [2, 3, 5, 8, 11, 32])
@pytest.mark.parametrize("k", [1, 3])
def test_pivot_rows_everywhere(n, dtype, k):
    """Slices whose partial pivoting must take a different row at every step, in every
    lane (a row permutation of a diagonally dominant matrix), with the pivot row below,
    at and above the diagonal row: the fused swap (and, for the columns of b after the
    first, the kept pivots) for n <= 8, the lane-by-lane swap above, against numpy."""
    rng = np.random.default_rng(40 + n)
    m = 3 * LANE_COUNT + 1
    d = rand(rng, (m, n, n), dtype) + 4 * n * np.eye(n, dtype=dtype)
    perms = [rng.permutation(n) for _ in range(m)]
    perms[0] = np.arange(n)                       # no swap at all
    perms[1] = np.arange(n)[::-1]                 # the last row first
    a = np.array([d[s][p] for s, p in enumerate(perms)])
    b = rand(rng, (m, n, k), dtype)
    for transposed in (False, True):
        assert check(a, b, transposed).all()
