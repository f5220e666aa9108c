"""The batched road through the front door, on the orders the compact kernel takes and
just above: numpy as the oracle (n eps backward error), the errors and warnings of the
per-slice kernel, and KeyboardInterrupt between the chunks of a long unhinted batch."""
import warnings

import numpy as np
import pytest
from numpy.linalg import LinAlgError
from scipy.linalg import LinAlgWarning

import hybridsolve
from hybridsolve import solve
from hybridsolve._kernels.batched import COMPACT_K
from _helpers import assert_interrupt_stops, rand
from test_batched import make, KINDS

DTYPES = [np.float32, np.float64, np.complex64, np.complex128]


def backward_error(a, x, b, transposed):
    op = np.swapaxes(a, -1, -2) if transposed else a
    r = op @ x - b
    nrm = lambda v: np.abs(v).sum(axis=-2).max(axis=-1)   # 1-norm per slice
    return nrm(r) / (nrm(op) * nrm(x) + nrm(b))


@pytest.mark.parametrize("dtype", DTYPES)
@pytest.mark.parametrize("n", [2, 3, 7, 8, 9, 16, 17])
def test_stack_of_every_kind_matches_numpy(n, dtype):
    rng = np.random.default_rng(100 + n)
    m = 37                                   # not a multiple of any lane count
    a = np.array([make(rng, n, KINDS[s % len(KINDS)], dtype) for s in range(m)])
    a = a[rng.permutation(m)]
    b = rand(rng, (m, n, 2), dtype)
    eps = np.finfo(dtype).eps
    for transposed in (False, True):
        if transposed and np.dtype(dtype).kind == "c":
            continue                         # NotImplementedError, as scipy
        with warnings.catch_warnings():
            warnings.simplefilter("error", LinAlgWarning)
            x = solve(a, b, transposed=transposed)
        assert x.dtype == dtype and x.shape == b.shape
        be = backward_error(a.astype(np.complex128), x.astype(np.complex128),
                            b.astype(np.complex128), transposed)
        # (in float32 at n = 2 and 3 both bounds hold with a margin of more than 40x,
        # whichever kernel solves the slice: no rounding luck involved; the messages
        # name the slice should one ever fail)
        s = int(be.argmax())
        assert (be < 10 * n * eps).all(), (transposed, s, be[s] / (n * eps))
        ref = np.linalg.solve(np.swapaxes(a, -1, -2) if transposed else a, b)
        cond = np.linalg.cond(a.astype(np.complex128), 1)
        err = np.abs(x - ref).max(axis=(1, 2)) / np.abs(ref).max(axis=(1, 2))
        s = int((err / cond).argmax())
        assert (err <= 50 * n * cond * eps).all(), (transposed, s, err[s], cond[s])


@pytest.mark.parametrize("dtype", [np.float32, np.float64])
def test_broadcast_strided_and_many_rhs(dtype):
    rng = np.random.default_rng(5)
    n = 4
    a = rand(rng, (3, 1, n, n), dtype) + 2 * np.eye(n, dtype=dtype)
    b = rand(rng, (1, 5, n, 3), dtype)
    x = solve(a, b)                           # broadcast to (3, 5)
    assert x.shape == (3, 5, n, 3)
    eps = np.finfo(dtype).eps
    ab = np.broadcast_to(a, (3, 5, n, n))
    assert (backward_error(ab, x, np.broadcast_to(b, x.shape), False) < 10 * n * eps).all()
    af = np.asfortranarray(rand(rng, (9, n, n), dtype)) + 2 * np.eye(n, dtype=dtype)
    bw = rand(rng, (9, n, 2 * (COMPACT_K + 1)), dtype)[:, :, ::2]   # strided, > COMPACT_K
    for bv in (bw, bw[:, :, :3]):
        x = solve(af[::-1], bv)
        assert (backward_error(af[::-1], x, bv, False) < 10 * n * eps).all()


@pytest.mark.parametrize("dtype", [np.float32, np.float64])
def test_singular_ill_and_non_finite_slices_named(dtype):
    rng = np.random.default_rng(9)
    n, m = 3, 40
    a = np.array([make(rng, n, "general", dtype) for _ in range(m)])
    b = rand(rng, (m, n, 1), dtype)
    ill = a.copy()
    ill[[6, 21], -1, :] *= np.finfo(dtype).eps / 2 ** 10    # exact scaling: rcond << eps
    with pytest.warns(LinAlgWarning) as rec:
        solve(ill, b)
    assert len([w for w in rec if issubclass(w.category, LinAlgWarning)]) == 1
    assert "6" in str(rec[0].message) and "21" in str(rec[0].message)
    sing = a.copy()
    sing[[3, 33], 1, :] = 0                  # exactly singular in any rounding
    with pytest.raises(LinAlgError, match=r"\[3, 33\]"):
        solve(sing, b)
    bad = a.copy()
    bad[17, 1, 1] = np.nan
    with pytest.raises(ValueError, match="infs or NaNs"):
        solve(bad, b)
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", LinAlgWarning)
        x = solve(bad, b, check_finite=False)
    assert np.isnan(x[17]).any()
    np.testing.assert_allclose(x[:17], solve(a[:17], b[:17]), rtol=0, atol=0)


def test_real_interrupt_stops_a_long_unhinted_batch():
    """As tests/test_faults.py's hinted-batch test, for the compiled road (no hint): a
    real interrupt from another thread stops the batch between its chunks."""
    rng = np.random.default_rng(2)
    n, count = 24, 8000                      # above the compact orders: solve_batched
    a = rng.standard_normal((count, n, n)) + n * np.eye(n)
    b = rng.standard_normal((count, n, 1))
    with hybridsolve.threads(1):
        assert_interrupt_stops(lambda: solve(a, b), lambda: solve(a[:400], b[:400]),
                               400 / count, 0.01)
