"""Dask input: the Dask roads against numpy/scipy (the oracles) on the synchronous and
threaded schedulers and on a real two-process distributed.LocalCluster."""
import pickle
import subprocess
import tempfile
import sys
import warnings

import numpy as np
import pytest
import scipy.linalg as sl
import scipy.sparse as sp
from numpy.linalg import LinAlgError
from scipy.linalg import LinAlgWarning

import hybridsolve
from _helpers import backward_error, eps, rand

da = pytest.importorskip("dask.array")
dask = pytest.importorskip("dask")

SCHEDULERS = ["sync", "threads"]


def compute(x, scheduler):
    return x.compute(scheduler=scheduler)


def tol(n, dtype=np.float64):
    return 50 * max(n, 10) * eps(dtype)


def chosen(a, **kw):
    return hybridsolve.explain(a, **kw).chosen.name


# --------------------------------------------------------------------------- front door


def test_dask_not_imported_without_dask_input():
    code = ("import sys, numpy as np, hybridsolve\n"
            "hybridsolve.solve(np.eye(3) * 2, np.ones(3))\n"
            "hybridsolve.solve(np.eye(300) * 2, np.ones(300))\n"
            "hybridsolve.solvers()\n"
            "assert 'dask' not in sys.modules, 'dask imported'\n")
    # run outside the checkout: its source tree has no compiled kernels
    subprocess.run([sys.executable, "-c", code], check=True, cwd=tempfile.mkdtemp())


def test_shape_errors_at_once():
    a = da.ones((6, 5), chunks=3)
    with pytest.raises(ValueError, match="square"):
        hybridsolve.solve(a, np.ones(6))
    a = da.eye(6, chunks=3)
    with pytest.raises(ValueError, match="incompatible"):
        hybridsolve.solve(a, da.ones(5, chunks=5))
    with pytest.raises(ValueError, match="incompatible"):
        hybridsolve.solve(np.eye(6), da.ones((5, 2), chunks=5))
    with pytest.raises(ValueError, match="square"):
        hybridsolve.solve(da.ones((4, 3, 2), chunks=2), da.ones((4, 3, 1), chunks=2))
    with pytest.raises(NotImplementedError):
        hybridsolve.solve(da.eye(4, chunks=2) * 1j, np.ones(4), transposed=True)
    with pytest.raises(ValueError, match="not a recognized"):
        hybridsolve.solve(da.eye(4, chunks=2), np.ones(4), assume_a="weird")


def _failing(block):
    raise RuntimeError("computed")


def test_lazy_until_computed():
    """Nothing is computed before compute(): a failing input fails only then."""
    a = da.eye(8, chunks=4).map_blocks(_failing, dtype=float)
    ab = da.ones((6, 3, 3), chunks=(3, 3, 3)).map_blocks(_failing, dtype=float)
    xs = [hybridsolve.solve(a, np.ones(8), assume_a="gen", method="dask_lu"),
          hybridsolve.solve(a, np.ones(8), assume_a="pos"),
          hybridsolve.solve(a, np.ones((8, 2)), method="dask_many_rhs"),
          hybridsolve.solve(ab, np.ones((6, 3, 1)))]
    for x in xs:
        assert isinstance(x, da.Array)
        with pytest.raises(RuntimeError, match="computed"):
            x.compute(scheduler="sync")


def test_empty():
    x = hybridsolve.solve(da.ones((0, 0), chunks=1), da.ones((0, 2), chunks=1))
    assert isinstance(x, da.Array) and x.shape == (0, 2)


# --------------------------------------------------------------------------- batch


@pytest.mark.parametrize("scheduler", SCHEDULERS)
@pytest.mark.parametrize("dtype", [np.float64, np.complex128, np.float32])
def test_batch(scheduler, dtype):
    rng = np.random.default_rng(0)
    a = rand(rng, (23, 4, 4), dtype) + 4 * np.eye(4, dtype=dtype)
    b = rand(rng, (23, 4, 2), dtype)
    x = hybridsolve.solve(da.from_array(a, chunks=(5, 4, 4)),
                          da.from_array(b, chunks=(7, 2, 1)))
    assert chosen(da.from_array(a, chunks=(5, 4, 4))) == "dask_batch"
    assert x.dtype == np.dtype(dtype) and x.chunks[0] == (5, 5, 5, 5, 3)
    xv = compute(x, scheduler)
    for s in range(23):
        assert backward_error(a[s], xv[s], b[s]) < tol(4, dtype)


def test_batch_broadcast_mixed_and_1d():
    rng = np.random.default_rng(1)
    a = rng.standard_normal((2, 1, 3, 3)) + 3 * np.eye(3)
    b = rng.standard_normal((5, 3, 1))
    x = hybridsolve.solve(a, da.from_array(b, chunks=(2, 3, 1)))      # numpy a, dask b
    np.testing.assert_allclose(compute(x, "sync"), np.linalg.solve(a, b), rtol=1e-10)
    b1 = rng.standard_normal(3)
    x = hybridsolve.solve(da.from_array(a[:, 0], chunks=(1, 3, 3)), b1)
    assert x.shape == (2, 3)
    np.testing.assert_allclose(compute(x, "sync"), np.linalg.solve(a[:, 0], b1[:, None])[..., 0],
                               rtol=1e-10)


def test_batch_errors_at_compute_name_global_slices():
    rng = np.random.default_rng(2)
    a = rng.standard_normal((12, 3, 3)) + 3 * np.eye(3)
    a[9] = 0.0
    b = rng.standard_normal((12, 3, 1))
    x = hybridsolve.solve(da.from_array(a, chunks=(4, 3, 3)), b)   # no error yet
    with pytest.raises(LinAlgError, match=r"\[9\]"):
        compute(x, "sync")
    a[9] = np.eye(3)
    a[5, 1, 1] = np.nan
    x = hybridsolve.solve(da.from_array(a, chunks=(4, 3, 3)), b)
    with pytest.raises(ValueError, match="infs or NaNs"):
        compute(x, "sync")


def test_batch_one_warning_for_all_chunks():
    rng = np.random.default_rng(3)
    a = rng.standard_normal((2, 6, 3, 3)) + 3 * np.eye(3)
    ill = np.diag([1.0, 1.0, 1e-18])
    a[0, 1] = ill
    a[1, 4] = ill
    x = hybridsolve.solve(da.from_array(a, chunks=(1, 3, 3, 3)), np.ones((3, 1)))
    with warnings.catch_warnings(record=True) as w:
        warnings.simplefilter("always")
        compute(x, "sync")
    msgs = [str(m.message) for m in w if issubclass(m.category, LinAlgWarning)]
    assert len(msgs) == 1 and "slice 1 has" in msgs[0] and "slice 10 has" in msgs[0]


def test_batch_graph_tasks_per_chunk():
    """One solve task per chunk, an output and an ``ill`` task for every chunk but the
    last, whose output task gathers the others' ``ill`` (no separate check task); the
    count is the one ``explain`` reports."""
    from hybridsolve.roads.dask.batch import task_count
    rng = np.random.default_rng(4)
    a = rng.standard_normal((20, 3, 3)) + 3 * np.eye(3)
    A = da.from_array(a, chunks=(5, 3, 3))
    x = hybridsolve.solve(A, da.from_array(np.ones((20, 3, 1)), chunks=(5, 3, 1)))
    ours = [k for k in dict(x.__dask_graph__())
            if str(k[0] if isinstance(k, tuple) else k).startswith("hybridsolve-batch")]
    assert len(ours) == task_count(4) == 11
    assert f"{task_count(4)} tasks" in str(hybridsolve.explain(A))
    np.testing.assert_allclose(compute(x, "sync"), np.linalg.solve(a, np.ones((20, 3, 1))),
                               rtol=1e-10)


def test_batch_out_of_core(tmp_path):
    """A memory-mapped .npy in, da.store into a memory-mapped .npy out."""
    rng = np.random.default_rng(4)
    fa, fb, fx = (str(tmp_path / f) for f in ("a.npy", "b.npy", "x.npy"))
    a = np.lib.format.open_memmap(fa, "w+", np.float64, (300, 3, 3))
    a[:] = rng.standard_normal((300, 3, 3)) + 3 * np.eye(3)
    b = np.lib.format.open_memmap(fb, "w+", np.float64, (300, 3, 1))
    b[:] = rng.standard_normal((300, 3, 1))
    a.flush(), b.flush()
    A = da.from_array(np.load(fa, mmap_mode="r"), chunks=(64, 3, 3))
    B = da.from_array(np.load(fb, mmap_mode="r"), chunks=(64, 3, 1))
    out = np.lib.format.open_memmap(fx, "w+", np.float64, (300, 3, 1))
    da.store(hybridsolve.solve(A, B), out, scheduler="threads")
    out.flush()
    np.testing.assert_allclose(np.load(fx), np.linalg.solve(a, b), rtol=1e-10)


# --------------------------------------------------------------------------- many rhs


@pytest.mark.parametrize("scheduler", SCHEDULERS)
@pytest.mark.parametrize("kind", ["ndarray", "dask", "sparse"])
def test_many_rhs(scheduler, kind):
    rng = np.random.default_rng(5)
    n = 30
    a0 = rng.standard_normal((n, n)) + n * np.eye(n)
    a = {"ndarray": a0, "dask": da.from_array(a0, chunks=10),
         "sparse": sp.csr_array(np.where(np.abs(a0) > 1.5, a0, 0))}[kind]
    dense = a.toarray() if kind == "sparse" else a0
    b = rng.standard_normal((n, 50))
    for transposed in (False, True):
        x = hybridsolve.solve(a, da.from_array(b, chunks=(10, 12)), transposed=transposed,
                              method="dask_many_rhs")
        assert x.chunks[1] == (12, 12, 12, 12, 2)
        op = dense.T if transposed else dense
        assert backward_error(op, compute(x, scheduler), b) < tol(n)
    x = hybridsolve.solve(a, da.from_array(b[:, 0], chunks=7), method="dask_many_rhs")
    assert x.shape == (n,)
    assert backward_error(dense, compute(x, scheduler), b[:, 0]) < tol(n)


def test_many_rhs_batch_of_rhs_and_one_factor_key():
    rng = np.random.default_rng(6)
    a = rng.standard_normal((8, 8)) + 8 * np.eye(8)
    b = rng.standard_normal((4, 8, 3))
    x = hybridsolve.solve(da.from_array(a, chunks=4), da.from_array(b, chunks=(1, 8, 3)))
    factor_keys = [k for k in dict(x.__dask_graph__())
                   if str(k).startswith("hybridsolve-factor")]
    assert len(factor_keys) == 1               # factored once for all chunks
    np.testing.assert_allclose(compute(x, "threads"), np.linalg.solve(a, b), rtol=1e-10)


def test_many_rhs_errors():
    a = np.ones((4, 4))
    with pytest.raises(LinAlgError):             # numpy a: factored at once
        hybridsolve.solve(a, da.ones((4, 2), chunks=2))
    x = hybridsolve.solve(da.from_array(a, chunks=2), da.ones((4, 2), chunks=2),
                          method="dask_many_rhs")
    with pytest.raises(LinAlgError):             # dask a: at compute time
        compute(x, "sync")
    ill = np.diag([1.0, 1.0, 1e-18])
    with pytest.warns(LinAlgWarning):
        hybridsolve.solve(ill, da.ones((3, 2), chunks=2))
    x = hybridsolve.solve(da.from_array(ill), da.ones((3, 2), chunks=2),
                          method="dask_many_rhs")
    with pytest.warns(LinAlgWarning):
        compute(x, "sync")


def test_factorize_dask_many_rhs_reuse():
    rng = np.random.default_rng(7)
    a = rng.standard_normal((12, 12)) + 12 * np.eye(12)
    fac = hybridsolve.factorize(da.from_array(a, chunks=6), method="dask_many_rhs")
    for _ in range(2):
        b = rng.standard_normal((12, 5))
        np.testing.assert_allclose(compute(fac.solve(b), "sync"), sl.solve(a, b),
                                   rtol=1e-10)


# --------------------------------------------------------------------------- tiled LU


@pytest.mark.parametrize("scheduler", SCHEDULERS)
@pytest.mark.parametrize("n,chunks", [(37, 10), (24, (8, 12)), (16, 16)])
def test_calu(scheduler, n, chunks):
    rng = np.random.default_rng(n)
    a = rng.standard_normal((n, n))
    b = rng.standard_normal((n, 3))
    A = da.from_array(a, chunks=chunks)
    for transposed in (False, True):
        x = hybridsolve.solve(A, da.from_array(b, chunks=(7, 2)), method="dask_lu",
                              transposed=transposed)
        assert backward_error(a.T if transposed else a, compute(x, scheduler), b) < tol(n)


@pytest.mark.parametrize("trans", [0, 1, 2])
def test_calu_complex_factorization(trans):
    rng = np.random.default_rng(8)
    n = 20
    a = rand(rng, (n, n), np.complex128)
    b = rand(rng, (n, 2), np.complex128)
    fac = hybridsolve.factorize(da.from_array(a, chunks=6), method="dask_lu")
    x = compute(fac.solve(b, trans), "sync")
    op = {0: a, 1: a.T, 2: a.conj().T}[trans]
    assert backward_error(op, x, b) < tol(n)


def test_calu_stable_where_block_pivoting_is_not():
    """The issue's case, small: the leading block scaled by 1e-10.  Tournament pivoting
    picks pivots from the whole column; dask.array.linalg.solve pivots per block."""
    rng = np.random.default_rng(9)
    n, t = 120, 30
    a = rng.standard_normal((n, n))
    a[:t, :t] *= 1e-10
    b = rng.standard_normal((n, 1))
    A = da.from_array(a, chunks=t)
    ours = backward_error(a, compute(hybridsolve.solve(A, b, method="dask_lu"), "sync"), b)
    ref = backward_error(a, sl.solve(a, b), b)
    theirs = backward_error(a, compute(da.linalg.solve(A, da.from_array(b, chunks=(t, 1))),
                                       "sync"), b)
    assert ours <= 10 * ref + tol(n) / 50
    assert theirs > 1e3 * ours         # what the tournament buys here


def test_calu_sym_hint_reads_one_triangle():
    rng = np.random.default_rng(10)
    n = 18
    s = rng.standard_normal((n, n))
    s = s + s.T
    junk = np.triu(s) + np.tril(rng.standard_normal((n, n)), -1)
    b = rng.standard_normal(n)
    x = hybridsolve.solve(da.from_array(junk, chunks=5), b, assume_a="sym")
    assert backward_error(s, compute(x, "sync"), b) < tol(n)


def test_calu_errors_at_compute():
    rng = np.random.default_rng(11)
    a = rng.standard_normal((12, 12))
    a[:, 7] = 0.0
    x = hybridsolve.solve(da.from_array(a, chunks=4), np.ones(12), method="dask_lu")
    with pytest.raises(LinAlgError, match="singular"):
        compute(x, "sync")
    a = rng.standard_normal((12, 12))
    a[3, 3] = np.inf
    x = hybridsolve.solve(da.from_array(a, chunks=4), np.ones(12), method="dask_lu")
    with pytest.raises(ValueError, match="infs or NaNs"):
        compute(x, "sync")
    u, _ = np.linalg.qr(rng.standard_normal((12, 12)))
    ill = u @ np.diag(np.logspace(0, -19, 12)) @ u.T
    x = hybridsolve.solve(da.from_array(ill, chunks=4), np.ones(12), method="dask_lu")
    with pytest.warns(LinAlgWarning, match="ill-conditioned"):
        compute(x, "sync")


# --------------------------------------------------------------------------- tiled Cholesky


@pytest.mark.parametrize("scheduler", SCHEDULERS)
@pytest.mark.parametrize("dtype", [np.float64, np.complex128])
@pytest.mark.parametrize("lower", [False, True])
@pytest.mark.parametrize("order", ["C", "F"])
def test_cholesky_pos_reads_one_triangle(scheduler, dtype, lower, order):
    """Only the named triangle is read; ||A||_1 of the Hermitian matrix it defines comes
    from one pass over each tile in its memory order (C or F tiles, uneven tiles)."""
    rng = np.random.default_rng(12)
    n = 26
    g = rand(rng, (n, n), dtype)
    h = g @ g.conj().T + n * np.eye(n)
    junk = rand(rng, (n, n), dtype)
    a = np.tril(h) + np.triu(junk, 1) if lower else np.triu(h) + np.tril(junk, -1)
    a = np.asarray(a, order=order)
    b = rand(rng, (n, 2), dtype)
    x = hybridsolve.solve(da.from_array(a, chunks=7), b, assume_a="pos", lower=lower,
                          method="dask_cholesky")
    fac = hybridsolve.factorize(da.from_array(a, chunks=7), assume_a="pos", lower=lower,
                                method="dask_cholesky")
    anorm = np.linalg.norm(h, 1)
    assert abs(fac.anorm.compute(scheduler=scheduler) - anorm) <= tol(n) * anorm
    assert backward_error(h, compute(x, scheduler), b) < tol(n, dtype)


@pytest.mark.parametrize("trans", [0, 1, 2])
def test_cholesky_solve_column_steps(trans):
    """Each solve is a forward and a backward step per tile column (uneven tiles, b in
    two column chunks), each step reading only its column of L."""
    from hybridsolve.roads.dask.cholesky import solve_tasks
    rng = np.random.default_rng(17)
    n = 26
    g = rand(rng, (n, n), np.complex128)
    h = g @ g.conj().T + n * np.eye(n)
    b = rand(rng, (n, 5), np.complex128)
    fac = hybridsolve.factorize(da.from_array(h, chunks=7), assume_a="pos",
                                method="dask_cholesky")
    raw = fac._solve_raw(da.from_array(b, chunks=(n, 3)), trans)
    steps = {k for k in dict(raw.__dask_graph__())
             if isinstance(k, tuple) and str(k[0]).startswith("hybridsolve-cholsolve-")}
    assert len(steps) == 2 * solve_tasks(4) == 16
    for k in steps:         # a step of column j reads L's column j only
        task = dict(raw.__dask_graph__())[k]
        cols = {d[2] for d in getattr(task, "dependencies", ())
                if isinstance(d, tuple) and str(d[0]).endswith("-L")}
        assert cols <= {k[1]}
    op = h.conj() if trans == 1 else h
    assert backward_error(op, compute(fac.solve(b, trans), "sync"), b) < tol(n)


@pytest.mark.parametrize("method", ["dask_cholesky", "dask_lu"])
@pytest.mark.parametrize("dtype", [np.float64, np.complex128])
def test_tiled_rcond_estimate_bounds_the_true_one(method, dtype):
    """The graph's Hager-Higham estimate is a lower bound of ||A^-1||_1, so its rcond is
    at least the true 1 / (||A||_1 ||A^-1||_1), and on this matrix within 3x of it."""
    from hybridsolve.roads.dask._tiled import rcond_estimate
    rng = np.random.default_rng(31)
    n = 26
    u, _ = np.linalg.qr(rand(rng, (n, n), dtype))
    h = (u * np.logspace(0, -6, n)) @ u.conj().T     # Hermitian PD, kappa_2 1e6
    h = (h + h.conj().T) / 2
    hint = "pos" if method == "dask_cholesky" else None
    fac = hybridsolve.factorize(da.from_array(h, chunks=7), assume_a=hint, method=method)
    est = rcond_estimate(fac._solve_raw, n, fac.anorm, fac.dtype).compute(
        scheduler="sync")
    true = 1.0 / (np.linalg.norm(h, 1) * np.linalg.norm(np.linalg.inv(h), 1))
    assert true * (1 - 1e-8) <= est <= 3 * true


def test_cholesky_ill_conditioned_warns_at_compute():
    a = np.diag(np.logspace(0, -18, 12))       # exactly SPD, rcond 1e-18 < eps
    x = hybridsolve.solve(da.from_array(a, chunks=4), np.ones(12), assume_a="pos",
                          method="dask_cholesky")
    with pytest.warns(LinAlgWarning, match="ill-conditioned"):
        compute(x, "sync")


def test_cholesky_declines_to_calu(monkeypatch):
    """With no hint and the one-worker road out of the way, Cholesky is priced first,
    checks the tiles, declines a non-symmetric A, and CALU takes it."""
    from hybridsolve.roads.dask import many_rhs
    monkeypatch.setattr(many_rhs, "IN_PROCESS_MAX_BYTES", 0)
    rng = np.random.default_rng(15)
    g = rng.standard_normal((20, 20))
    p = hybridsolve.explain(da.from_array(g, chunks=10))
    assert p.chosen.name == "dask_lu"
    assert any(s.name == "dask_cholesky" and "symmetric" in r for s, r in p.declined)
    spd = g @ g.T + 20 * np.eye(20)
    assert chosen(da.from_array(spd, chunks=10)) == "dask_cholesky"


def test_cholesky_detected_and_declined():
    rng = np.random.default_rng(13)
    n = 30
    g = rng.standard_normal((n, n))
    spd = g @ g.T + n * np.eye(n)
    A = da.from_array(spd, chunks=(10, 15))          # rechunked to square tiles
    fac = hybridsolve.factorize(A, method="dask_cholesky")
    assert fac.kind == "dask-cholesky"
    b = rng.standard_normal(n)
    assert backward_error(spd, compute(fac.solve(b), "sync"), b) < tol(n)
    with pytest.raises(LinAlgError, match="not symmetric"):
        hybridsolve.factorize(da.from_array(g, chunks=10), method="dask_cholesky")
    # symmetric with a positive diagonal, not definite: LinAlgError at compute time
    s = np.ones((n, n)) + np.eye(n) * 0.5
    s[0, 1] = s[1, 0] = 3.0
    x = hybridsolve.solve(da.from_array(s, chunks=10), b, method="dask_cholesky")
    with pytest.raises(LinAlgError, match="positive definite"):
        compute(x, "sync")


def test_pricing_small_to_one_worker_large_to_tiles():
    small = da.from_array(np.eye(40) * 3, chunks=10)
    assert chosen(small) == "dask_many_rhs"
    big = da.zeros((40000, 40000), chunks=5000)       # never computed: only priced
    assert chosen(big, assume_a="gen") == "dask_lu"
    assert chosen(big, assume_a="pos") == "dask_cholesky"


def test_explain_names_tiles_tasks_bytes():
    a = da.from_array(np.eye(40) * 3, chunks=10)
    text = str(hybridsolve.explain(a, method="dask_lu"))
    assert "dask_lu" in text and "tile 10 x 10" in text and "tasks" in text
    assert "MB moved" in text
    text = str(hybridsolve.explain(a, assume_a="pos", method="dask_cholesky"))
    assert "dask_cholesky" in text and "tile 10 x 10" in text


def test_dask_factorization_pickles():
    a = da.from_array(np.eye(6) * 2, chunks=3)
    fac = pickle.loads(pickle.dumps(hybridsolve.factorize(a, method="dask_lu")))
    np.testing.assert_allclose(compute(fac.solve(np.ones(6)), "sync"), 0.5)


# --------------------------------------------------------------------------- cluster


@pytest.fixture(scope="module")
def client():
    distributed = pytest.importorskip("distributed")
    with distributed.LocalCluster(n_workers=2, threads_per_worker=1, processes=True,
                                  host="127.0.0.1", dashboard_address=None,
                                  silence_logs=40) as cluster:
        with distributed.Client(cluster) as c:
            yield c


def test_cluster_all_roads(client):
    rng = np.random.default_rng(14)
    # batch
    a = rng.standard_normal((40, 3, 3)) + 3 * np.eye(3)
    b = rng.standard_normal((40, 3, 2))
    x = hybridsolve.solve(da.from_array(a, chunks=(10, 3, 3)), b)
    np.testing.assert_allclose(client.compute(x).result(), np.linalg.solve(a, b),
                               rtol=1e-10)
    # many rhs: one factorization shipped to the workers
    n = 20
    m = rng.standard_normal((n, n)) + n * np.eye(n)
    B = rng.standard_normal((n, 30))
    x = hybridsolve.solve(da.from_array(m, chunks=10), da.from_array(B, chunks=(n, 8)),
                          method="dask_many_rhs")
    assert backward_error(m, client.compute(x).result(), B) < tol(n)
    # tiled LU and Cholesky
    x = hybridsolve.solve(da.from_array(m, chunks=10), B[:, :3], method="dask_lu")
    assert backward_error(m, client.compute(x).result(), B[:, :3]) < tol(n)
    h = m @ m.T
    x = hybridsolve.solve(da.from_array(h, chunks=10), B[:, :3], assume_a="pos",
                          method="dask_cholesky")
    assert backward_error(h, client.compute(x).result(), B[:, :3]) < tol(n)


def test_cluster_errors_and_warning_reach_client(client):
    a = np.stack([np.eye(3), np.diag([1.0, 1.0, 1e-18]), np.zeros((3, 3))])
    x = hybridsolve.solve(da.from_array(a[:2], chunks=(1, 3, 3)), np.ones((3, 1)))
    with pytest.warns(LinAlgWarning, match="slice 1 has"):
        client.compute(x).result()
    x = hybridsolve.solve(da.from_array(a, chunks=(1, 3, 3)), np.ones((3, 1)))
    with pytest.raises(LinAlgError, match=r"\[2\]"):
        client.compute(x).result()


def test_cluster_numpy_a_factorization_scattered_not_in_graph(client):
    rng = np.random.default_rng(15)
    n = 20
    m = rng.standard_normal((n, n)) + n * np.eye(n)
    B = rng.standard_normal((n, 30))
    x = hybridsolve.solve(m, da.from_array(B, chunks=(n, 8)), method="dask_many_rhs")
    # the factorization went to the workers (a Future), not into the graph
    assert not any(hasattr(v, "solve") for v in dict(x.__dask_graph__()).values())
    assert backward_error(m, client.compute(x).result(), B) < tol(n)


def _probe_threads():
    from hybridsolve._threads import num_threads
    return num_threads()


def test_cluster_task_threads_one_per_task_slot(client):
    import os
    from hybridsolve.roads.dask import task
    env = os.environ.get("HYBRIDSOLVE_NUM_THREADS")
    on_worker = client.submit(task(_probe_threads), pure=False).result()
    assert on_worker == (int(env) if env else 1)
    assert task(_probe_threads)() == _probe_threads()      # off a worker: unchanged


@pytest.mark.parametrize("lower", [True, False])
@pytest.mark.parametrize("where", ["named", "diagonal tile, other triangle",
                                   "other triangle"])
def test_cholesky_nan_anywhere_raises_value_error(lower, where):
    """As scipy's check_finite: NaN anywhere in A (also where the factorization does not
    read) is a ValueError at compute time, not a LinAlgError from a NaN pivot."""
    rng = np.random.default_rng(16)
    n = 12
    g = rng.standard_normal((n, n))
    a = g @ g.T + n * np.eye(n)
    i, j = {"named": (9, 1), "diagonal tile, other triangle": (1, 2),
            "other triangle": (1, 9)}[where]
    if not lower:
        i, j = j, i
    a[i, j] = np.nan
    x = hybridsolve.solve(da.from_array(a, chunks=4), np.ones(n), assume_a="pos",
                          lower=lower, method="dask_cholesky")
    with pytest.raises(ValueError, match="infs or NaNs"):
        compute(x, "sync")
    with pytest.raises(ValueError, match="infs or NaNs"):
        sl.solve(a, np.ones(n), assume_a="pos", lower=lower)
