"""The inspection pass vs numpy oracles: planted structure, every dtype and layout."""
import numpy as np
import pytest

from hybridsolve._inspect import bandwidth, inspect_dense, symmetrize
from hybridsolve._kernels import inspect as _k
from _helpers import rand

DTYPES = [np.float32, np.float64, np.complex64, np.complex128]


def planted(kind, n, dtype, rng):
    a = rand(rng, (n, n), dtype)
    if kind == "general":
        return a
    if kind == "symmetric":
        return (a + a.T).astype(dtype)
    if kind == "hermitian":
        h = a + a.conj().T
        return h.astype(dtype)
    if kind == "spd":
        h = a @ a.conj().T + n * np.eye(n)
        return ((h + h.conj().T) / 2).astype(dtype)
    if kind == "banded":
        kl, ku = rng.integers(0, n), rng.integers(0, n)
        return np.triu(np.tril(a, ku), -kl)
    if kind == "diagonal":
        return np.diag(np.diag(a))
    if kind == "lower":
        return np.tril(a)
    if kind == "upper":
        return np.triu(a, 2)
    if kind == "sparse":
        a[rng.random((n, n)) < 0.7] = 0
        return a
    if kind == "zero":
        return np.zeros((n, n), dtype)
    raise AssertionError(kind)


def layouts(a):
    """(name, view) with the values of ``a``: C, F, strided, negative strides, read-only."""
    n = a.shape[0]
    big = np.zeros((2 * n, 3 * n), a.dtype)
    big[::2, ::3] = a
    out = [
        ("C", np.ascontiguousarray(a)),
        ("F", np.asfortranarray(a)),
        ("strided", big[::2, ::3]),
        ("negative", np.ascontiguousarray(a[::-1, ::-1])[::-1, ::-1]),
        ("neg-row", np.asfortranarray(a[::-1])[::-1]),
        ("transposed-view", np.ascontiguousarray(a.T).T),
    ]
    ro = np.array(a, order="C")
    ro.flags.writeable = False
    out.append(("readonly", ro))
    return out


def oracle_bandwidths(a):
    i, j = np.nonzero(a)
    if i.size == 0:
        return 0, 0
    return max(0, int((i - j).max())), max(0, int((j - i).max()))


def check_structure(st, a):
    n = a.shape[0]
    eps = float(np.finfo(a.dtype).eps)
    assert st.n == n and st.dtype == a.dtype and st.format == "dense"
    assert st.finite is True
    assert st.symmetric == bool(np.array_equal(a, a.T))
    assert st.hermitian == bool(np.array_equal(a, a.conj().T))
    d = np.diagonal(a)
    assert st.diag_real_positive == bool(np.all((d.real > 0) & (d.imag == 0)))
    assert (st.lower_bandwidth, st.upper_bandwidth) == oracle_bandwidths(a)
    count = np.count_nonzero(a)
    if st.nnz is None:        # counting stopped above every road's density threshold
        from hybridsolve._inspect import CAPTURE_MAX_DENSITY
        at_least = st.extra["nnz_at_least"]
        assert CAPTURE_MAX_DENSITY * n * n < at_least <= count
    else:
        assert st.nnz == count
    ref = np.linalg.norm(a.astype(np.complex128 if a.dtype.kind == "c" else np.float64), 1)
    assert st.norm1 == pytest.approx(ref, rel=4 * n * eps, abs=0)


KINDS = ["general", "symmetric", "hermitian", "spd", "banded", "diagonal", "lower",
         "upper", "sparse", "zero"]


@pytest.mark.parametrize("dtype", DTYPES)
@pytest.mark.parametrize("kind", KINDS)
def test_structure_matches_numpy(dtype, kind):
    rng = np.random.default_rng(abs(hash((kind, np.dtype(dtype).char))) % 2**32)
    for n in (1, 2, 5, 70):
        a = planted(kind, n, dtype, rng)
        for name, view in layouts(a):
            before = view.copy()
            st, work = inspect_dense(view)
            check_structure(st, view)
            assert np.array_equal(work, view), name
            assert np.array_equal(view, before), name        # input untouched
            assert not np.shares_memory(work, view)
            assert work.flags.writeable
            if view.flags.f_contiguous:
                assert work.flags.f_contiguous
            elif view.flags.c_contiguous:
                assert work.flags.c_contiguous
            else:
                assert work.flags.f_contiguous
            work[...] = 7                                    # copy independence
            assert np.array_equal(view, before)


@pytest.mark.parametrize("dtype", DTYPES)
def test_symmetry_mismatch_late_across_blocks(dtype):
    # n > the 64-tile: a single mismatch in the last tile, in either triangle
    rng = np.random.default_rng(3)
    n = 150
    s = planted("symmetric", n, dtype, rng)
    for (i, j) in [(n - 1, n - 2), (70, 3), (3, 140)]:
        a = s.copy()
        a[i, j] += 1
        for name, view in layouts(a)[:3]:
            st, _ = inspect_dense(view)
            assert st.symmetric is False and st.hermitian is False, (name, i, j)
        st, _ = inspect_dense(s)
        assert st.symmetric is True


@pytest.mark.parametrize("dtype", [np.complex64, np.complex128])
def test_hermitian_vs_symmetric_complex(dtype):
    rng = np.random.default_rng(4)
    h = planted("hermitian", 80, dtype, rng)
    st, _ = inspect_dense(h)
    assert st.hermitian and not st.symmetric
    cs = planted("symmetric", 80, dtype, rng)
    st, _ = inspect_dense(cs)
    assert st.symmetric and not st.hermitian
    h2 = h.copy()
    h2[5, 5] += 1j          # non-real diagonal: no longer Hermitian
    st, _ = inspect_dense(h2)
    assert not st.hermitian and not st.diag_real_positive


@pytest.mark.parametrize("dtype", DTYPES)
@pytest.mark.parametrize("bad", [np.nan, np.inf, -np.inf])
def test_non_finite(dtype, bad):
    rng = np.random.default_rng(5)
    a = rand(rng, (9, 9), dtype)
    a[4, 7] = bad
    for name, view in layouts(a):
        with pytest.raises(ValueError, match="must not contain infs or NaNs"):
            inspect_dense(view)
        st, work = inspect_dense(view, check_finite=False)
        assert st.finite is False
        assert np.array_equal(work, view, equal_nan=True)
    if np.dtype(dtype).kind == "c":
        b = a.copy()
        b[4, 7] = complex(1.0, bad)
        with pytest.raises(ValueError):
            inspect_dense(b)


@pytest.mark.parametrize("order", ["C", "F"])
def test_overflowing_sums_are_still_finite(order):
    big = np.finfo(np.float64).max / 2
    a = np.full((6, 6), big, order=order)
    st, _ = inspect_dense(a)                 # no ValueError: values are finite
    assert st.finite is True
    with np.errstate(over="ignore"):
        assert st.norm1 == np.linalg.norm(a, 1) == np.inf
    c = np.full((6, 6), 1e200 + 1e200j, order=order)   # |x|^2 overflows in the sweep
    st, _ = inspect_dense(c)
    assert st.finite and st.norm1 == pytest.approx(np.linalg.norm(c, 1), rel=1e-12)
    t = np.full((6, 6), 3e-200 + 4e-200j, order=order)  # |x|^2 underflows
    st, _ = inspect_dense(t)
    assert st.norm1 == pytest.approx(np.linalg.norm(t, 1), rel=1e-12)


@pytest.mark.parametrize("dtype", DTYPES)
@pytest.mark.parametrize("order", ["C", "F"])
def test_copy_false_and_full_false(dtype, order):
    rng = np.random.default_rng(6)
    a = np.array(planted("banded", 40, dtype, rng), order=order)
    keep = a.copy()
    st, work = inspect_dense(a, copy=False)
    assert work is a and np.array_equal(a, keep)
    check_structure(st, a)
    st2, work2 = inspect_dense(a, full=False)
    # (the lean loop of the hinted sweep may sum in another order)
    assert st2.norm1 == pytest.approx(st.norm1, rel=4 * 40 * float(np.finfo(dtype).eps))
    assert st2.finite is True
    assert st2.symmetric is None and st2.hermitian is None and st2.nnz is None
    assert st2.lower_bandwidth is None and st2.diag_real_positive is None
    assert np.array_equal(work2, a)


def test_copy_false_rejects_noncontiguous_and_readonly():
    a = np.zeros((8, 8))
    with pytest.raises(ValueError):
        inspect_dense(a[::2, ::2], copy=False)
    a.flags.writeable = False
    with pytest.raises(ValueError):
        inspect_dense(a, copy=False)


def test_bad_input():
    with pytest.raises(ValueError):
        inspect_dense(np.zeros((3, 4)))
    with pytest.raises(ValueError):
        inspect_dense(np.zeros((2, 2, 2)))
    with pytest.raises(TypeError):
        inspect_dense(np.zeros((3, 3), dtype=np.int64))
    with pytest.raises(TypeError):
        inspect_dense(np.zeros((3, 3), dtype=object))
    with pytest.raises(TypeError):
        inspect_dense(np.zeros((3, 3), dtype=">f8"))
    with pytest.raises(TypeError):
        inspect_dense([[1.0]])


def test_empty_and_misaligned():
    st, work = inspect_dense(np.zeros((0, 0)))
    assert st.n == 0 and work.shape == (0, 0) and st.norm1 == 0
    # a field of a structured array: strides not a multiple of the itemsize
    rec = np.zeros((5, 5), dtype=[("x", "f8"), ("y", "f4")])
    rng = np.random.default_rng(7)
    rec["x"] = rng.standard_normal((5, 5))
    view = rec["x"]
    st, work = inspect_dense(view)
    check_structure(st, view)
    assert np.array_equal(work, view)


@pytest.mark.parametrize("dtype", DTYPES)
@pytest.mark.parametrize("order", ["C", "F"])
@pytest.mark.parametrize("lower", [True, False])
@pytest.mark.parametrize("hermitian", [True, False])
def test_symmetrize(dtype, order, lower, hermitian):
    rng = np.random.default_rng(8)
    for n in (1, 3, 130):
        a = rand(rng, (n, n), dtype)
        tri = np.tril(a) if lower else np.triu(a)
        strict = np.tril(a, -1) if lower else np.triu(a, 1)
        other = strict.conj().T if (hermitian and a.dtype.kind == "c") else strict.T
        expected = tri + other
        if hermitian and a.dtype.kind == "c":
            np.fill_diagonal(expected, np.diagonal(expected).real)
        work = np.array(a, order=order)
        norm1 = symmetrize(work, lower, hermitian)
        assert np.array_equal(work, expected)
        eps = float(np.finfo(dtype).eps)
        assert norm1 == pytest.approx(np.linalg.norm(expected.astype(complex), 1),
                                      rel=4 * n * eps)


def test_symmetrize_rejects_bad_work():
    with pytest.raises(ValueError):
        symmetrize(np.zeros((6, 6))[::2, ::2], True, False)
    ro = np.zeros((3, 3))
    ro.flags.writeable = False
    with pytest.raises(ValueError):
        symmetrize(ro, True, False)


@pytest.mark.parametrize("order", ["C", "F"])
def test_bandwidth_helper(order):
    rng = np.random.default_rng(9)
    for _ in range(5):
        a = np.array(planted("banded", 30, np.float64, rng), order=order)
        assert bandwidth(a) == oracle_bandwidths(a)


@pytest.mark.parametrize("dtype", DTYPES)
def test_kernel_wrappers_each_dtype(dtype):
    rng = np.random.default_rng(10)
    a = np.asfortranarray(planted("banded", 25, dtype, rng))
    work = np.empty_like(a, order="F")
    sym, her, dpos, lo, up, nnz, norm1, _ = _k.inspect_pass(a, work, False, True)
    assert np.array_equal(work, a)
    assert (lo, up) == oracle_bandwidths(a)
    assert nnz == np.count_nonzero(a)
    assert _k.is_finite(a)
    b = a.copy()
    b[3, 2] = np.nan
    assert not _k.is_finite(b)
    with pytest.raises(TypeError):
        _k.inspect_pass(a, np.empty((25, 25), dtype=np.int8), False, True)


def test_broadcast_zero_strides():
    row = np.arange(1.0, 6.0)
    a = np.broadcast_to(row, (5, 5))          # strides (0, 8), read-only
    st, work = inspect_dense(a)
    check_structure(st, a)
    assert np.array_equal(work, a) and work.flags.writeable


def test_kernel_wrappers_reject_bad_work():
    a = np.zeros((5, 5))
    with pytest.raises(ValueError):
        _k.inspect_pass(a, np.zeros((4, 4)), True, True)        # wrong shape
    with pytest.raises(ValueError):
        _k.inspect_pass(a, np.zeros((5, 5), order="F"), True, True)  # wrong layout
    with pytest.raises(ValueError):
        _k.inspect_pass(np.zeros((8, 8))[::2, ::2], None, False, True)  # scan needs contiguity
    with pytest.raises(ValueError):
        _k.symmetrize_pass(np.zeros((5, 5)), True, False)      # C-ordered: pass .T


# ------------------------------------------------------------------ capture (no copy)

def _sparse_looking(kind, n, dtype, rng):
    """Matrices at most ~3% nonzero (captured whole) with planted structure."""
    a = np.zeros((n, n), dtype)
    d = rand(rng, n, dtype)
    if kind == "diagonal":
        return np.diag(d)
    if kind == "tridiagonal":
        a = np.diag(d) + np.diag(rand(rng, n - 1, dtype), 1) + np.diag(rand(rng, n - 1,
                                                                            dtype), -1)
        return a.astype(dtype)
    if kind in ("spd", "symmetric", "hermitian", "general", "lower"):
        a = rand(rng, (n, n), dtype)
        a[rng.random((n, n)) > 0.01] = 0
        if kind == "lower":
            return np.tril(a)
        if kind == "general":
            return a
        h = a + (a.conj().T if kind in ("spd", "hermitian") else a.T)
        if kind == "spd":
            h = h + 4 * n * np.eye(n)
        return h.astype(dtype)
    if kind == "arrow":           # a dense first row and column: density < 5%
        a = np.diag(np.abs(d) + 1).astype(dtype)
        a[0, :] = rand(rng, n, dtype)
        a[:, 0] = rand(rng, n, dtype)
        return a
    raise AssertionError(kind)


CAPTURE_KINDS = ["diagonal", "tridiagonal", "spd", "symmetric", "hermitian", "general",
                 "lower", "arrow"]


@pytest.mark.parametrize("dtype", DTYPES)
@pytest.mark.parametrize("kind", CAPTURE_KINDS)
def test_capture_matches_the_fused_pass(dtype, kind):
    import scipy.sparse as sp

    from hybridsolve._inspect import capture_min_n
    rng = np.random.default_rng(abs(hash((kind, np.dtype(dtype).char))) % 2**32)
    n = capture_min_n(dtype) + 22
    a = _sparse_looking(kind, n, dtype, rng)
    assert np.count_nonzero(a) <= 0.05 * n * n
    for name, view in layouts(a):
        before = view.copy()
        st, work = inspect_dense(view, capture=True)
        assert np.array_equal(view, before), name            # input untouched
        assert work is None, name
        check_structure(st, view)
        ref, _ = inspect_dense(view)                          # the fused pass agrees
        for f in ("symmetric", "hermitian", "diag_real_positive", "lower_bandwidth",
                  "upper_bandwidth", "nnz"):
            assert getattr(st, f) == getattr(ref, f), (name, f)
        fmt, data, indices, indptr = st.extra["captured"]
        cls = sp.csr_array if fmt == "csr" else sp.csc_array
        m = cls((data, indices, indptr), shape=(n, n))
        assert m.has_canonical_format
        assert np.array_equal(m.toarray(), view), name
        assert not np.shares_memory(data, view)
        assert fmt == ("csr" if (view.flags.c_contiguous and not view.flags.f_contiguous)
                       else "csc")
        assert "without copying" in " ".join(st.notes)


@pytest.mark.parametrize("dtype", DTYPES)
@pytest.mark.parametrize("kind", ["general", "upper", "banded", "spd", "lower"])
def test_capture_gives_up_and_resumes_the_fused_copy(dtype, kind):
    """Too dense to capture (early for a general matrix, late for a triangular one):
    the sweep resumes where the capture stopped; work and structure as without it."""
    rng = np.random.default_rng(abs(hash((kind, np.dtype(dtype).char, 1))) % 2**32)
    n = 200
    a = planted(kind, n, dtype, rng)
    if kind == "banded":
        a = np.triu(np.tril(a, 30), -20)
    for name, view in layouts(a):
        before = view.copy()
        st, work = inspect_dense(view, capture=True)
        assert work is not None
        check_structure(st, view)
        assert np.array_equal(work, view), name
        assert np.array_equal(view, before), name
        assert "captured" not in st.extra


@pytest.mark.parametrize("order", ["C", "F"])
def test_capture_prefix_then_resume_statistics(order):
    """The capture stops midway (dense columns come late): the prefix statistics
    (bands, nnz, norm, NaN) come from the captured entries."""
    n = 256
    a = np.zeros((n, n))
    a[np.arange(n), np.arange(n)] = 1.0
    a[5, 3] = -7.0                       # lower bandwidth 2 in the prefix
    a[0, n - 1] = 2.0
    a[:, 200:] = np.arange(1.0, n * (n - 200) + 1).reshape(n, n - 200)   # dense tail
    a = np.asarray(a, order=order)
    st, work = inspect_dense(a, capture=True)
    assert work is not None and np.array_equal(work, a)
    check_structure(st, a)
    a2 = a.copy(order=order)
    a2[7, 2] = np.nan                    # a NaN in the captured prefix
    with pytest.raises(ValueError, match="infs or NaNs"):
        inspect_dense(a2, capture=True)
    st, work = inspect_dense(a2, capture=True, check_finite=False)
    assert st.finite is False and np.isnan(st.norm1)


@pytest.mark.parametrize("dtype", DTYPES)
@pytest.mark.parametrize("bad", [np.nan, np.inf])
def test_capture_non_finite(dtype, bad):
    from hybridsolve._inspect import capture_min_n
    n = capture_min_n(dtype) + 2
    a = np.eye(n, dtype=dtype)
    a[3, 100] = bad
    with pytest.raises(ValueError, match="infs or NaNs"):
        inspect_dense(a, capture=True)
    st, work = inspect_dense(a, capture=True, check_finite=False)
    assert work is None and st.finite is False and np.isnan(st.norm1)
    assert st.nnz == n + 1


def test_capture_only_when_asked_and_large_enough():
    from hybridsolve._inspect import capture_min_n
    a = np.eye(capture_min_n(np.float64) - 1)
    assert inspect_dense(a, capture=True)[1] is not None          # too small
    b = np.eye(capture_min_n(np.float64))
    assert inspect_dense(b)[1] is not None                        # not asked
    assert inspect_dense(b, capture=True, full=False)[1] is not None   # a hint
    assert inspect_dense(b, capture=True)[1] is None


@pytest.mark.parametrize("dtype", DTYPES)
def test_capture_pass_kernel(dtype):
    rng = np.random.default_rng(3)
    n = 300
    a = rand(rng, (n, n), dtype)
    a[rng.random((n, n)) < 0.97] = 0
    a[4, 4] = -0.0                             # negative zero is zero
    a[5, 6] = np.finfo(dtype).tiny / 4         # a subnormal is not
    for transposed, view in ((True, np.ascontiguousarray(a)),
                             (False, np.asfortranarray(a)), (False, a[:, :])):
        m = view.T if transposed else view
        data, indices, indptr, ncols = _k.capture_pass(view, transposed, n * n)
        assert ncols == n and indptr[n] == np.count_nonzero(a)
        for j in range(n):
            rows = np.flatnonzero(m[:, j])
            sl = slice(indptr[j], indptr[j + 1])
            assert np.array_equal(indices[sl], rows)
            assert np.array_equal(data[sl], m[rows, j])
    # capacity: stops before the column that does not fit
    data, indices, indptr, ncols = _k.capture_pass(np.asfortranarray(a), False, 50)
    assert indptr[ncols] <= 50 and (ncols == n or indptr[ncols] + np.count_nonzero(
        a[:, ncols]) > 50)
    # density: a dense matrix is given up after 16 columns
    g = rand(rng, (n, n), dtype)
    assert _k.capture_pass(g, True, n * n // 10)[3] == 16
    with pytest.raises(ValueError):
        _k.capture_pass(g, True, -1)


@pytest.mark.parametrize("dtype", DTYPES)
@pytest.mark.parametrize("order", ["C", "F", "strided"])
def test_nnz_counting_stops_then_lean_loop(dtype, order):
    """Past the density limit the count stops (nnz None, a lower bound in extra);
    finiteness, bands, norm and the copy stay exact in the lean loop after it."""
    from hybridsolve._inspect import CAPTURE_MAX_DENSITY
    rng = np.random.default_rng(5)
    n = 200
    a = rand(rng, (n, n), dtype)
    a[0, n - 1] = 0                      # the band info comes late
    a[n - 1, 0] = 0
    view = dict(layouts(a))[order] if order == "strided" else np.asarray(a, order=order)
    st, work = inspect_dense(view)
    assert st.nnz is None
    assert CAPTURE_MAX_DENSITY * n * n < st.extra["nnz_at_least"] <= np.count_nonzero(a)
    assert any("counting stopped" in note for note in st.notes)
    check_structure(st, view)
    assert np.array_equal(work, view)
    st2, _ = inspect_dense(view, count_all=True)
    assert st2.nnz == np.count_nonzero(a) and "nnz_at_least" not in st2.extra
    for bad in (np.nan, np.inf):         # a non-finite entry met by the lean loop
        b = a.copy()
        b[n // 2, n - 2] = bad
        b = np.asarray(b, order="F" if order == "F" else "C")
        with pytest.raises(ValueError, match="infs or NaNs"):
            inspect_dense(b)
        st3, _ = inspect_dense(b, check_finite=False)
        assert st3.finite is False
    # with a hint (full=False) nothing is counted at all
    st4, work4 = inspect_dense(view, full=False)
    assert st4.nnz is None and np.array_equal(work4, view)
    assert st4.norm1 == pytest.approx(st.norm1, rel=1e-5)


@pytest.mark.parametrize("dtype", DTYPES)
@pytest.mark.parametrize("width", [0, 1, 3, 16, 64])
def test_symmetry_panel_order_matches_row_walk(dtype, width):
    rng = np.random.default_rng(8)
    n = 70
    for kind in ("symmetric", "hermitian", "general"):
        a = planted(kind, n, dtype, rng)
        for i, j in ((None, None), (n - 1, n - 2), (40, 3), (5, 1)):
            b = a.copy()
            if i is not None:
                b[i, j] += 1                        # one late / early mismatch
            for view in (b, np.asfortranarray(b)):
                want = (bool(np.array_equal(view, view.T)),
                        bool(np.array_equal(view, view.conj().T)))
                assert _k.symmetry_pass(view, True, width) == want
                assert _k.symmetry_pass(view, False) == want


def test_symmetry_panels_in_the_sweep_large():
    """n above the panel threshold: the sweep's answer for near-symmetric matrices."""
    rng = np.random.default_rng(9)
    n = 2600
    x = rng.standard_normal((n, n)).astype(np.float32)
    s = x + x.T
    st, _ = inspect_dense(s)
    assert st.symmetric and st.hermitian
    s[n - 1, n - 40] += 1
    for view in (s, np.asfortranarray(s)):
        st, _ = inspect_dense(view)
        assert not st.symmetric and not st.hermitian


@pytest.mark.parametrize("dtype", DTYPES)
def test_capture_starts_where_the_stored_dense_road_can_pay(dtype):
    """capture_min_n: the first order at which sparse_dense's fixed price alone is not
    above the dense LU road's whole price (below, the capture only reads A twice)."""
    from hybridsolve._inspect import CAPTURE_MIN_N, capture_min_n
    from hybridsolve._protocol import Structure
    from hybridsolve._tuning import value
    from hybridsolve.roads.lu import LUSolver
    n0 = capture_min_n(dtype)
    fixed = value("sparse_dense_overhead")
    assert n0 >= CAPTURE_MIN_N
    assert LUSolver().cost(Structure(n0, np.dtype(dtype), "dense")) >= fixed
    if n0 > CAPTURE_MIN_N:
        assert LUSolver().cost(Structure(n0 - 1, np.dtype(dtype), "dense")) < fixed
