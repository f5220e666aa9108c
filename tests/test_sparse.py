"""Sparse input: inspection, dense->compressed conversion, triangular substitution and
every sparse road.  numpy/scipy (dense) are the oracles; tolerances scale with eps."""
import importlib
import os
import pathlib
import re
import subprocess
import sys
import tomllib

import numpy as np
import pytest
import scipy.sparse as sp
import scipy.sparse.linalg as spla
from numpy.linalg import LinAlgError

from hybridsolve import _registry
from hybridsolve._bench import poisson2d, poisson3d
from hybridsolve._protocol import Solver, Structure
from hybridsolve._sparse import (compressed_from_dense, dense_rhs, inspect_compressed,
                                 prepare_sparse)
from hybridsolve._kernels import sparse_inspect as K
from hybridsolve.roads import sparse as S
from _helpers import backward_error, eps, hermitian_part

DTYPES = [np.float32, np.float64, np.complex64, np.complex128]
FORMATS = ["csr", "csc", "coo", "bsr", "dia", "lil", "dok"]


def rand_sparse(n, density, dtype, rng):
    a = sp.random_array((n, n), density=density, rng=rng, dtype=np.float64)
    if np.dtype(dtype).kind == "c":
        a = a + 1j * sp.random_array((n, n), density=density, rng=rng)
    return a.astype(dtype)


def general(n, dtype, rng, density=0.08):
    a = rand_sparse(n, density, dtype, rng) - rand_sparse(n, density, dtype, rng)
    return (a + 3 * sp.eye_array(n, dtype=dtype)).tocsr()


def spd(n, dtype, rng, density=0.05):
    b = rand_sparse(n, density, dtype, rng)
    a = hermitian_part(b @ b.conj().T + sp.eye_array(n, dtype=dtype))
    return sp.csr_array(a).astype(dtype)


def z_spd(n, dtype, rng, density=0.1):
    """Symmetric positive definite with every off-diagonal entry <= 0 (a nonsingular
    M-matrix): -|B + B^T| off the diagonal, a dominant positive diagonal, all exact."""
    b = abs(rand_sparse(n, density, np.float64, rng))
    off = -(b + b.T)
    off.setdiag(0)
    off.eliminate_zeros()
    d = 1.0 + abs(off).sum(axis=1) * rng.uniform(0.5, 1.5, n)
    return sp.csr_array(off + sp.diags_array(d)).astype(dtype)


def op(a, trans):
    d = a.toarray()
    return [d, d.T, d.conj().T][trans]


def rhs(n, dtype, rng, k=None):
    shape = (n,) if k is None else (n, k)
    b = rng.standard_normal(shape)
    if np.dtype(dtype).kind == "c":
        b = b + 1j * rng.standard_normal(shape)
    return b.astype(dtype)


def snapshot(a):
    return (a.format, a.toarray().copy(),
            {k: np.array(getattr(a, k), copy=True) for k in ("data", "indices", "indptr",
                                                             "row", "col", "offsets")
             if isinstance(getattr(a, k, None), np.ndarray)},
            getattr(a, "has_sorted_indices", None))


def assert_unchanged(a, snap):
    fmt, dense, arrays, srt = snap
    assert a.format == fmt
    np.testing.assert_array_equal(a.toarray(), dense)
    for k, v in arrays.items():
        np.testing.assert_array_equal(getattr(a, k), v)
    if srt is not None and a.format in ("csr", "csc"):
        assert a.has_sorted_indices == srt


# ------------------------------------------------------------------ prepare_sparse

@pytest.mark.parametrize("fmt", FORMATS)
@pytest.mark.parametrize("kind", ["array", "matrix"])
def test_prepare_all_formats(fmt, kind):
    rng = np.random.default_rng(1)
    a = general(30, np.float64, rng)
    a = (sp.csr_array(a) if kind == "array" else sp.csr_matrix(a)).asformat(fmt)
    snap = snapshot(a)
    s, work = prepare_sparse(a)
    assert_unchanged(a, snap)
    assert work.format == ("csc" if fmt == "csc" else "csr")
    assert work.has_sorted_indices and work.has_canonical_format
    np.testing.assert_array_equal(work.toarray(), a.toarray())
    d = a.toarray()
    assert s.format == "sparse" and s.n == 30 and s.dtype == np.float64
    assert s.nnz == np.count_nonzero(d)
    assert s.norm1 == pytest.approx(np.abs(d).sum(axis=0).max())
    assert s.finite is True
    # the work copy shares nothing with the caller
    work.data[:] = 0
    assert_unchanged(a, snap)


@pytest.mark.parametrize("dtype", DTYPES)
@pytest.mark.parametrize("fmt", ["csr", "csc"])
def test_inspection_against_dense_oracle(dtype, fmt):
    rng = np.random.default_rng(2)
    cases = [general(25, dtype, rng), spd(25, dtype, rng), z_spd(25, dtype, rng),
             -z_spd(25, dtype, rng),
             sp.tril(general(25, dtype, rng)), sp.triu(general(25, dtype, rng)),
             sp.diags_array([rng.random(25) + 1], offsets=[0]).astype(dtype),
             sp.diags_array([np.ones(23), np.ones(25), np.ones(24)], offsets=[-2, 0, 1],
                            shape=(25, 25)).astype(dtype)]
    if np.dtype(dtype).kind == "c":
        h = spd(25, dtype, rng)
        cases.append(h)
        cases.append(sp.csr_array(h.toarray().real.astype(dtype) + 1j * np.eye(25)))
    for a in cases:
        a = a.asformat(fmt)
        s, _ = prepare_sparse(a)
        d = a.toarray()
        i, j = np.nonzero(d)
        assert s.lower_bandwidth == (max(0, (i - j).max()) if i.size else 0)
        assert s.upper_bandwidth == (max(0, (j - i).max()) if i.size else 0)
        assert s.symmetric == bool(np.array_equal(d, d.T))
        assert s.hermitian == bool(np.array_equal(d, d.conj().T))
        dg = np.diag(d)
        assert s.diag_real_positive == bool(np.all((dg.imag == 0) & (dg.real > 0)))
        assert s.extra["pattern_symmetric"] == bool(np.array_equal(d != 0, d.T != 0))
        off = d[~np.eye(25, dtype=bool)]
        assert s.extra["offdiag_nonpositive"] == bool(np.all((off.imag == 0)
                                                             & (off.real <= 0)))
        assert s.norm1 == pytest.approx(np.abs(d).sum(axis=0).max(), rel=1e-5)


def test_prepare_sums_duplicates_and_sorts_without_touching_input():
    row = np.array([2, 0, 1, 0, 2, 1])
    col = np.array([2, 0, 1, 0, 0, 1])
    val = np.array([1.0, 2.0, 3.0, 4.0, 5.0, -3.0])
    a = sp.coo_array((val, (row, col)), shape=(3, 3))
    snap = snapshot(a)
    s, w = prepare_sparse(a)
    assert_unchanged(a, snap)
    np.testing.assert_array_equal(w.toarray(), a.toarray())
    assert s.nnz == 3          # (1,1) sums to an explicit zero: dropped
    # unsorted CSR input stays unsorted
    c = sp.csr_array((np.array([1.0, 2.0, 3.0]), np.array([1, 0, 0]),
                      np.array([0, 2, 3])), shape=(2, 2))
    c.has_sorted_indices = False
    snap = snapshot(c)
    s, w = prepare_sparse(c)
    assert_unchanged(c, snap)
    assert list(c.indices) == [1, 0, 0]
    assert s.lower_bandwidth == 1 and s.upper_bandwidth == 1


def test_prepare_int_and_int64_indices():
    a = sp.csr_array(np.array([[2, 1], [1, 3]], dtype=np.int64))
    a.indices = a.indices.astype(np.int64)
    a.indptr = a.indptr.astype(np.int64)
    s, w = prepare_sparse(a)
    assert w.dtype == np.float64 and s.symmetric and s.diag_real_positive


def test_prepare_bad_input():
    with pytest.raises(ValueError, match="square"):
        prepare_sparse(sp.random_array((3, 4), density=0.5, rng=0))
    a = sp.csr_array(np.eye(3))
    a.data[1] = np.nan
    with pytest.raises(ValueError, match="NaN"):
        prepare_sparse(a)
    s, _ = prepare_sparse(a, check_finite=False)
    assert s.finite is False
    b = sp.csr_array(np.eye(3))
    b.data[0] = np.inf
    with pytest.raises(ValueError):
        prepare_sparse(b)
    with pytest.raises(TypeError):
        prepare_sparse(np.eye(3))
    with pytest.raises((TypeError, ValueError)):
        prepare_sparse(sp.csr_array(np.eye(3)).astype(object))


def test_inspect_rejects_unsorted_arrays():
    with pytest.raises(ValueError, match="sorted"):
        K.inspect(np.array([0, 2, 3], np.int32), np.array([1, 0, 0], np.int32),
                  np.ones(3))


# ------------------------------------------------------------------ dense -> compressed

@pytest.mark.parametrize("dtype", DTYPES)
@pytest.mark.parametrize("order", ["C", "F"])
@pytest.mark.parametrize("hint", [None, "exact", "small"])
def test_dense_to_compressed(dtype, order, hint):
    rng = np.random.default_rng(3)
    d = general(40, dtype, rng).toarray()
    d = np.array(d, order=order)
    before = d.copy()
    nnz = np.count_nonzero(d)
    h = {None: None, "exact": nnz, "small": nnz // 3}[hint]
    w = compressed_from_dense(d, h)
    assert w.format == ("csc" if order == "F" else "csr")
    assert w.dtype == dtype and w.nnz == nnz
    np.testing.assert_array_equal(w.toarray(), d)
    np.testing.assert_array_equal(d, before)
    info = inspect_compressed(w)
    assert info["nnz"] == nnz


def test_dense_to_compressed_noncontiguous_and_empty():
    d = np.zeros((10, 10))
    w = compressed_from_dense(d)
    assert w.nnz == 0 and w.shape == (10, 10)
    big = np.arange(400.0).reshape(20, 20) % 7
    v = big[::2, ::2]
    w = compressed_from_dense(v)
    np.testing.assert_array_equal(w.toarray(), v)
    with pytest.raises(ValueError):
        K.dense_to_compressed(np.ones((3, 3)))  # C order is not accepted by the kernel


# ------------------------------------------------------------------ triangular kernel

@pytest.mark.parametrize("dtype", DTYPES)
@pytest.mark.parametrize("lower", [True, False])
@pytest.mark.parametrize("by_rows", [True, False])
@pytest.mark.parametrize("conjugate", [False, True])
def test_tri_solve_kernel(dtype, lower, by_rows, conjugate):
    rng = np.random.default_rng(4)
    g = general(30, dtype, rng, density=0.2)
    t = sp.tril(g) if lower else sp.triu(g)
    m = (t.tocsr() if by_rows else t.tocsc())
    m.sort_indices()
    b = np.asfortranarray(rhs(30, dtype, rng, 3))
    x = b.copy(order="F")
    info = K.tri_solve_compressed(m.indptr, m.indices, m.data, x, lower, by_rows,
                                  conjugate)
    assert info == 0
    td = t.toarray().conj() if conjugate else t.toarray()
    assert backward_error(td, x, b) < 50 * eps(dtype)


def test_tri_solve_kernel_zero_pivot():
    t = sp.csr_array(np.array([[1.0, 0, 0], [1, 0, 0], [1, 1, 1]]))
    b = np.ones((3, 1), order="F")
    assert K.tri_solve_compressed(t.indptr, t.indices, t.data, b, True, True) == 2


# ------------------------------------------------------------------ the roads

def _matrix_for(road, n, dtype, rng):
    if road == "sparse_diagonal":
        d = rng.random(n) + 0.5
        return sp.diags_array([d.astype(dtype)], offsets=[0]).tocsr()
    if road == "sparse_triangular":
        return sp.tril(general(n, dtype, rng, 0.2)).tocsr()
    if road == "sparse_banded":
        diags = [rng.standard_normal(n - abs(k)) for k in (-2, -1, 0, 1)]
        diags[2] = diags[2] + 6
        return sp.diags_array(diags, offsets=[-2, -1, 0, 1]).astype(dtype).tocsr()
    if road == "sparse_cholesky":
        return spd(n, dtype, rng)
    return general(n, dtype, rng)


ROADS = {"sparse_diagonal": S.SparseDiagonalSolver, "sparse_triangular":
         S.SparseTriangularSolver, "sparse_banded": S.SparseBandedSolver,
         "sparse_cholesky": S.SparseCholeskySolver, "sparse": S.SparseLUSolver}


@pytest.mark.parametrize("road", list(ROADS))
@pytest.mark.parametrize("dtype", DTYPES)
@pytest.mark.parametrize("fmt", ["csr", "csc"])
def test_road_solves(road, dtype, fmt):
    rng = np.random.default_rng(5)
    n = 60
    a = _matrix_for(road, n, dtype, rng).asformat(fmt)
    snap = snapshot(a)
    s, work = prepare_sparse(a)
    solver = ROADS[road]()
    c = solver.cost(s)
    assert c is not None and not isinstance(c, tuple), c
    # the pricing picks this road among the sparse ones
    assert _registry.price(s)[0][0][1].name == road
    f = solver.factorize(work, s)
    assert f.shape == (n, n) and f.dtype == dtype
    tol = 200 * eps(dtype)
    for trans in (0, 1, 2):
        for k in (None, 3):
            b = rhs(n, dtype, rng, k)
            b0 = b.copy()
            x = f.solve(b, trans)
            assert x.shape == b.shape and x.dtype == dtype
            np.testing.assert_array_equal(b, b0)
            assert backward_error(op(a, trans), x, b) < tol, (trans, k)
    # non-contiguous 2-D b
    b = rhs(n, dtype, rng, 4)[:, ::2]
    assert backward_error(a, f.solve(b), b) < tol
    # rcond: an estimate close to the true reciprocal condition number
    d = a.toarray()
    true = 1 / (np.linalg.norm(d, 1) * np.linalg.norm(np.linalg.inv(d), 1))
    assert true / 10 <= f.rcond <= true * 10 * (1 + 1e-3)
    assert_unchanged(a, snap)


def test_road_costs_refuse_other_structures():
    dense = Structure(10, np.float64, "dense", nnz=100, lower_bandwidth=9,
                      upper_bandwidth=9)
    for cls in ROADS.values():
        assert isinstance(cls().cost(dense), tuple)
    rng = np.random.default_rng(6)
    s, _ = prepare_sparse(general(50, np.float64, rng))
    assert isinstance(S.SparseDiagonalSolver().cost(s), tuple)
    assert isinstance(S.SparseTriangularSolver().cost(s), tuple)
    assert isinstance(S.SparseCholeskySolver().cost(s), tuple)
    assert isinstance(S.SparseBandedSolver().cost(s), tuple)


def test_complex_rhs_with_real_factors():
    rng = np.random.default_rng(7)
    a = general(40, np.float64, rng)
    s, w = prepare_sparse(a)
    f = S.SparseLUSolver().factorize(w, s)
    b = rhs(40, np.complex128, rng)
    x = f.solve(b)
    assert x.dtype == np.complex128
    assert backward_error(a, x, b) < 100 * eps(np.float64)


# ------------------------------------------------------------------ singular input

def _singular_cases():
    empty_row = sp.csr_array(np.array([[1.0, 2, 0], [0, 0, 0], [1, 0, 3]]))
    dup_rows = sp.csr_array(np.array([[1.0, 2, 0, 0], [1, 2, 0, 0], [0, 0, 3, 1],
                                      [0, 1, 0, 2]]))
    return {"structural": empty_row, "numerical": dup_rows}


@pytest.mark.parametrize("case", ["structural", "numerical"])
@pytest.mark.parametrize("fmt", ["csr", "csc"])
def test_lu_singular_raises(case, fmt):
    a = _singular_cases()[case].asformat(fmt)
    s, w = prepare_sparse(a)
    with pytest.raises(LinAlgError, match="singular"):
        f = S.SparseLUSolver().factorize(w, s)
        f.solve(np.ones(a.shape[0]))


def test_other_roads_singular_raise():
    d = sp.diags_array([np.array([1.0, 0.0, 2.0])], offsets=[0]).tocsr()
    s, w = prepare_sparse(d)
    with pytest.raises(LinAlgError, match="singular"):
        S.SparseDiagonalSolver().factorize(w, s)
    t = sp.csr_array(np.array([[1.0, 0, 0], [1, 0, 0], [1, 1, 1]]))
    s, w = prepare_sparse(t)
    with pytest.raises(LinAlgError, match="singular"):
        S.SparseTriangularSolver().factorize(w, s)
    bnd = sp.diags_array([np.ones(5), np.ones(6), np.ones(5)], offsets=[-1, 0, 1]).tocsr()
    bnd = sp.csr_array(bnd.toarray() @ np.diag([1, 1, 1, 1, 1, 0.0]))  # last column 0
    s, w = prepare_sparse(bnd)
    with pytest.raises(LinAlgError, match="singular"):
        S.SparseBandedSolver().factorize(w, s)


@pytest.mark.parametrize("backend", ["superlu", "pardiso", "cholmod"])
def test_cholesky_singular_psd_raises(backend):
    if backend != "superlu" and S.cholesky_backend() == "superlu":
        pytest.skip("no optional backend")
    _skip_unless(backend)
    # symmetric, positive diagonal, exactly singular (rank 1 blocks)
    a = sp.csr_array(np.kron(np.eye(3), np.ones((2, 2))))
    s, w = prepare_sparse(a)
    with pytest.raises(LinAlgError, match="singular"):
        f = S.SparseCholeskySolver(backend).factorize(w, s)
        f.solve(np.ones(6))


def _skip_unless(backend):
    if backend == "pardiso":
        pytest.importorskip("pypardiso", exc_type=ImportError)  # mkl_rt missing: ImportError
    elif backend == "cholmod":
        pytest.importorskip("sksparse.cholmod", exc_type=ImportError)


# ------------------------------------------------------------------ Cholesky backends

@pytest.mark.parametrize("backend", ["superlu", "pardiso", "cholmod"])
@pytest.mark.parametrize("dtype", DTYPES)
@pytest.mark.parametrize("fmt", ["csr", "csc"])
def test_cholesky_backends(backend, dtype, fmt):
    _skip_unless(backend)
    rng = np.random.default_rng(8)
    a = spd(50, dtype, rng).asformat(fmt)
    s, w = prepare_sparse(a)
    f = S.SparseCholeskySolver(backend).factorize(w, s)
    used = "pardiso" if (backend == "pardiso" and np.dtype(dtype).kind == "f") else (
        "superlu" if backend == "pardiso" else backend)
    assert used in f.kind
    for trans in (0, 1, 2):
        b = rhs(50, dtype, rng, 2)
        x = f.solve(b, trans)
        assert x.dtype == dtype
        assert backward_error(op(a, trans), x, b) < 200 * eps(dtype)


@pytest.mark.parametrize("backend", ["superlu", "pardiso", "cholmod"])
@pytest.mark.parametrize("dtype", DTYPES)
def test_cholesky_rcond_of_m_matrix_is_exact(backend, dtype):
    """An SPD matrix with no positive off-diagonal entry (an M-matrix: A^-1 >= 0) gets
    rcond from ||A^-1 e||_inf, the exact 1-norm of A^-1 -- where a Cholesky factor
    proves it positive definite; elsewhere (SuperLU) the usual estimate, a lower
    bound of ||A^-1||_1 within 10x."""
    _skip_unless(backend)
    rng = np.random.default_rng(12)
    # weakly diagonally dominant -> moderately conditioned, so the oracle is accurate
    a = z_spd(60, dtype, rng)
    s, w = prepare_sparse(a)
    assert s.extra["offdiag_nonpositive"]
    f = S.SparseCholeskySolver(backend).factorize(w, s)
    d = a.toarray().astype(np.complex128 if np.dtype(dtype).kind == "c" else np.float64)
    inv = np.linalg.inv(d)
    assert np.all(inv.real >= -1e-12 * abs(inv).max())          # the theorem's premise
    true = 1.0 / (np.abs(d).sum(axis=0).max() * np.abs(inv).sum(axis=0).max())
    exact = ("cholmod" in f.kind or "pardiso" in f.kind)
    if exact:
        assert f.rcond == pytest.approx(true, rel=float(20 * 60 * eps(dtype)))
    else:
        assert true <= f.rcond * (1 + 1e-3) <= 10 * true


@pytest.mark.parametrize("backend", ["superlu", "pardiso", "cholmod"])
@pytest.mark.parametrize("dtype", [np.float64, np.complex128])
def test_cholesky_falls_back_when_indefinite(backend, dtype):
    _skip_unless(backend)
    # symmetric, positive diagonal, indefinite (2x2 blocks [[1,2],[2,1]]), and one
    # block with a zero pivot in natural order
    blk = np.array([[1.0, 2.0], [2.0, 1.0]])
    d = np.kron(np.eye(10), blk).astype(dtype)
    a = sp.csr_array(d)
    s, w = prepare_sparse(a)
    assert S.SparseCholeskySolver().cost(s) is not None
    f = S.SparseCholeskySolver(backend).factorize(w, s)
    rng = np.random.default_rng(9)
    b = rhs(20, dtype, rng)
    assert backward_error(a, f.solve(b), b) < 100 * eps(dtype)
    if backend != "superlu":
        assert any("fell back" in n for n in f.notes) or "superlu" in f.kind


def test_cholesky_superlu_zero_pivot_falls_back_to_pivoting():
    # symmetric with positive diagonal whose symmetric-mode LU meets a zero pivot
    d = np.array([[1.0, 1.0, 0.0], [1.0, 1.0, 1.0], [0.0, 1.0, 1.0]])
    a = sp.csr_array(d)
    s, w = prepare_sparse(a)
    f = S.SparseCholeskySolver("superlu").factorize(w, s)
    b = np.array([1.0, 2.0, 3.0])
    np.testing.assert_allclose(f.solve(b), np.linalg.solve(d, b), rtol=1e-12, atol=1e-12)


def test_cholesky_backend_name():
    assert S.cholesky_backend() in ("cholmod", "pardiso", "superlu")


def test_cholesky_backend_order_by_size(monkeypatch):
    """An installed optional backend is taken only from its tuned number of stored
    nonzeros on (hybridsolve tune measures it); below, SuperLU's symmetric mode, and
    the factorization's notes say why."""
    from hybridsolve.roads.sparse import cholesky as C
    best = S.cholesky_backend()
    if best == "superlu":
        pytest.skip("no optional sparse Cholesky backend installed")
    rng = np.random.default_rng(10)
    a = spd(60, np.float64, rng)
    s, w = prepare_sparse(a)
    limits = {"sparse_cholmod_min_nnz": w.nnz + 1, "sparse_pardiso_min_nnz": w.nnz + 1,
              "sparse_pardiso_first_row_nnz": np.inf, "sparse_pardiso_first_band_ratio": 0,
              "sparse_pardiso_first_min_nnz": 0}
    monkeypatch.setattr(C, "_tuned", limits.__getitem__)
    assert S.cholesky_backend(w.nnz) == "superlu" and S.cholesky_backend() == best
    f = S.SparseCholeskySolver().factorize(w, s)
    assert "superlu" in f.kind
    assert any(f"{best} is installed but takes {w.nnz} stored nonzeros" in n
               for n in f.notes)
    limits[f"sparse_{best}_min_nnz"] = w.nnz
    assert S.cholesky_backend(w.nnz) == best
    assert best in S.SparseCholeskySolver().factorize(w, s).kind
    b = rhs(60, np.float64, rng)
    assert backward_error(a, f.solve(b), b) < 200 * eps(np.float64)


def test_pardiso_first_on_wide_rows(monkeypatch):
    """PARDISO goes before CHOLMOD (and SuperLU) for a real matrix whose rows hold at
    least sparse_pardiso_first_row_nnz stored nonzeros on average, from
    sparse_pardiso_first_min_nnz in all; complex matrices keep the usual order
    (pypardiso is real only); the factorization's notes say why."""
    pytest.importorskip("pypardiso", exc_type=ImportError)
    from hybridsolve.roads.sparse import cholesky as C
    rng = np.random.default_rng(13)
    a = spd(60, np.float64, rng)
    s, w = prepare_sparse(a)
    row = w.nnz / 60
    limits = {"sparse_cholmod_min_nnz": 0, "sparse_pardiso_min_nnz": 10 ** 9,
              "sparse_pardiso_first_row_nnz": row, "sparse_pardiso_first_band_ratio": 0,
              "sparse_pardiso_first_min_nnz": w.nnz}
    monkeypatch.setattr(C, "_tuned", limits.__getitem__)
    usual = S.cholesky_backend(w.nnz, 60, np.complex128)
    assert usual != "pardiso"
    assert S.cholesky_backend(w.nnz, 60, np.float64) == "pardiso"
    f = S.SparseCholeskySolver().factorize(w, s)
    assert "pardiso" in f.kind
    if usual != "pardiso" and S.cholesky_backend() != "pardiso":
        assert any("PARDISO before" in n for n in f.notes)
    b = rhs(60, np.float64, rng)
    assert backward_error(a, f.solve(b), b) < 200 * eps(np.float64)
    for key, value in (("sparse_pardiso_first_row_nnz", row * 1.01),
                       ("sparse_pardiso_first_min_nnz", w.nnz + 1)):
        monkeypatch.setattr(C, "_tuned", {**limits, key: value}.__getitem__)
        assert S.cholesky_backend(w.nnz, 60, np.float64) == usual



def test_pardiso_first_on_banded_narrow_rows(monkeypatch):
    """Rows narrower than sparse_pardiso_first_row_nnz go to PARDISO first only within
    a bandwidth of sparse_pardiso_first_band_ratio sqrt(n) (and from
    sparse_pardiso_first_min_nnz); an unknown bandwidth keeps the usual order."""
    pytest.importorskip("pypardiso", exc_type=ImportError)
    from hybridsolve.roads.sparse import cholesky as C
    a = poisson2d(12)                      # n = 144, bandwidth 12, < 5 a row
    s, w = prepare_sparse(a)
    assert s.lower_bandwidth == 12
    limits = {"sparse_cholmod_min_nnz": 0, "sparse_pardiso_min_nnz": 10 ** 9,
              "sparse_pardiso_first_row_nnz": 6.0, "sparse_pardiso_first_band_ratio": 1.0,
              "sparse_pardiso_first_min_nnz": w.nnz}
    monkeypatch.setattr(C, "_tuned", limits.__getitem__)
    usual = S.cholesky_backend(w.nnz, 144, np.complex128, 12)
    assert usual != "pardiso"
    assert S.cholesky_backend(w.nnz, 144, np.float64, 12) == "pardiso"
    assert S.cholesky_backend(w.nnz, 144, np.float64, 13) == usual
    assert S.cholesky_backend(w.nnz, 144, np.float64, None) == usual
    assert "pardiso" in S.SparseCholeskySolver().factorize(w, s).kind
    for key, value in (("sparse_pardiso_first_band_ratio", 12 / 12.01),
                       ("sparse_pardiso_first_min_nnz", w.nnz + 1)):
        monkeypatch.setattr(C, "_tuned", {**limits, key: value}.__getitem__)
        assert S.cholesky_backend(w.nnz, 144, np.float64, 12) == usual


@pytest.mark.parametrize("grid", ["2d", "3d"])
def test_pardiso_ordering_by_row_width(grid):
    """PARDISO orders narrow rows (2-D 5-point Poisson) by minimum degree and wide ones
    (3-D 7-point) by nested dissection, as its iparm says after the factorization;
    either way the solution matches spsolve's within n eps, and a pickled
    factorization keeps its ordering."""
    pytest.importorskip("pypardiso", exc_type=ImportError)
    import pickle
    from hybridsolve._tuning import value
    from hybridsolve.roads.sparse import pardiso as P
    a = poisson2d(30) if grid == "2d" else poisson3d(10)
    n = a.shape[0]
    s, w = prepare_sparse(a)
    wide = w.nnz >= value("sparse_pardiso_first_row_nnz") * n
    assert wide == (grid == "3d")
    expected = P.ORDER_NESTED_DISSECTION if wide else P.ORDER_MINIMUM_DEGREE
    assert P.pardiso_ordering(w.nnz, n) == expected
    f = S.SparseCholeskySolver("pardiso").factorize(w, s)
    if f.solver.iparm[0] != 1:
        pytest.skip("this pypardiso does not expose MKL's pardisoinit")
    assert f.solver.iparm[1] == expected and f.ordering == expected
    assert any(P._ORDER_NAMES[expected] in note for note in f.notes)
    b = np.random.default_rng(3).standard_normal(n)
    x = f.solve(b)
    ref = spla.spsolve(a.tocsc(), b)
    tol = 50 * n * eps(np.float64)
    assert backward_error(a, x, b) < tol
    kappa = np.linalg.cond(a.toarray(), 1)   # forward error <= kappa * backward error
    assert np.linalg.norm(x - ref, 1) <= kappa * tol * np.linalg.norm(ref, 1)
    g = pickle.loads(pickle.dumps(f))
    assert g.ordering == expected and g.solver.iparm[1] == expected
    assert backward_error(a, g.solve(b), b) < tol


_BINDINGS_PROBE = """
import numpy as np
from hybridsolve._bench import poisson2d
from hybridsolve._sparse import prepare_sparse
from hybridsolve.roads.sparse import SparseCholeskySolver
s, w = prepare_sparse(poisson2d(60))
b = np.ones(w.shape[0])
for backend in ("pardiso", "cholmod"):   # PARDISO first: MKL loads before CHOLMOD runs
    SparseCholeskySolver(backend).factorize(w, s).solve(b)
"""


@pytest.mark.skipif(not sys.platform.startswith("linux"), reason="LD_DEBUG is glibc's")
def test_cholmod_keeps_its_blas_after_pardiso(tmp_path):
    """MKL's first PARDISO call puts MKL's BLAS into the global symbol scope; CHOLMOD
    loaded after it would bind its dgemm_/dpotrf_ to MKL (20x slower here).  The
    dynamic linker's own record (LD_DEBUG=bindings) shows which library each of
    libcholmod's BLAS and LAPACK symbols was bound to."""
    pytest.importorskip("pypardiso", exc_type=ImportError)
    pytest.importorskip("sksparse.cholmod")
    env = {**os.environ, "LD_DEBUG": "bindings",
           "LD_DEBUG_OUTPUT": str(tmp_path / "ld")}
    subprocess.run([sys.executable, "-c", _BINDINGS_PROBE], check=True, env=env,
                   cwd=pathlib.Path(__file__).parents[1])
    lines = [line for f in tmp_path.glob("ld.*") for line in f.read_text().splitlines()
             if "libcholmod" in line.split(" to ")[0]
             and re.search(r"`(dgemm|dsyrk|dtrsm|dpotrf)_'", line)]
    assert lines, "libcholmod called no BLAS: the probe proves nothing"
    assert not [line for line in lines if "mkl" in line.split(" to ")[1]], lines

# ------------------------------------------------------------------ stored dense

def test_stored_dense_pricing():
    r = S.SparseStoredDenseSolver()
    n = 1000
    assert isinstance(r.cost(Structure(n, np.float64, "sparse", nnz=5 * n)), tuple)
    assert isinstance(r.cost(Structure(n, np.float64, "dense")), tuple)
    assert isinstance(r.cost(Structure(n, np.float64, "dense", nnz=n * n // 2)), tuple)
    assert isinstance(r.cost(Structure(50, np.float64, "dense", nnz=150)), tuple)
    assert isinstance(r.cost(Structure(n, np.float64, "dense", nnz=5 * n,
                                       assume_a="pos")), tuple)
    c = r.cost(Structure(n, np.float64, "dense", nnz=5 * n, lower_bandwidth=n - 1,
                         upper_bandwidth=n - 1))
    assert isinstance(c, float) and c < (2 / 3) * n**3 / 10


@pytest.mark.parametrize("dtype", DTYPES)
@pytest.mark.parametrize("order", ["C", "F"])
def test_stored_dense_factorize(dtype, order):
    rng = np.random.default_rng(10)
    n = 150
    for a in (general(n, dtype, rng, 0.02), spd(n, dtype, rng, 0.01)):
        d = np.array(a.toarray(), order=order)
        before = d.copy()
        s = Structure(n, dtype, "dense", nnz=int(np.count_nonzero(d)))
        f = S.SparseStoredDenseSolver().factorize(d, s)
        np.testing.assert_array_equal(d, before)
        for trans in (0, 1, 2):
            b = rhs(n, dtype, rng, 2)
            x = f.solve(b, trans)
            assert backward_error([d, d.T, d.conj().T][trans], x, b) < 200 * eps(dtype)


@pytest.mark.parametrize("dtype", DTYPES)
@pytest.mark.parametrize("order", ["C", "F"])
def test_stored_dense_uses_captured_nonzeros(dtype, order):
    """With the nonzeros captured by the inspection the road never reads the dense
    array (it is handed None here) and is priced without the conversion pass."""
    from hybridsolve._inspect import capture_min_n, inspect_dense
    rng = np.random.default_rng(11)
    n = capture_min_n(dtype) + 5
    for a in (general(n, dtype, rng, 0.01), spd(n, dtype, rng, 0.005)):
        d = np.array(a.toarray(), order=order)
        assert np.count_nonzero(d) <= 0.05 * n * n
        st, work = inspect_dense(d, capture=True)
        assert work is None
        r = S.SparseStoredDenseSolver()
        assert r.needs_copy is False
        plain = Structure(n, dtype, "dense", nnz=st.nnz, symmetric=st.symmetric,
                          hermitian=st.hermitian,
                          diag_real_positive=st.diag_real_positive,
                          lower_bandwidth=st.lower_bandwidth,
                          upper_bandwidth=st.upper_bandwidth)
        assert r.cost(st) < r.cost(plain)
        f = r.factorize(None, st)
        assert any("captured" in note for note in f.notes)
        for trans in (0, 1, 2):
            b = rhs(n, dtype, rng, 2)
            x = f.solve(b, trans)
            assert backward_error([d, d.T, d.conj().T][trans], x, b) < 200 * eps(dtype)


def test_stored_dense_singular():
    d = np.zeros((200, 200))
    d[np.arange(199), np.arange(199)] = 1.0
    s = Structure(200, np.float64, "dense", nnz=199)
    with pytest.raises(LinAlgError, match="singular"):
        S.SparseStoredDenseSolver().factorize(d, s).solve(np.ones(200))


# ------------------------------------------------------------------ misc

def test_dense_rhs():
    b = sp.csr_array(np.arange(6.0).reshape(3, 2))
    out = dense_rhs(b, 3)
    assert isinstance(out, np.ndarray) and out.shape == (3, 2)
    with pytest.raises(ValueError):
        dense_rhs(np.ones(4), 3)


def test_entry_points_declared():
    root = pathlib.Path(__file__).resolve().parents[1]
    eps_ = tomllib.loads((root / "pyproject.toml").read_text())["project"][
        "entry-points"]["hybridsolve.solvers"]
    names = set()
    for key, target in eps_.items():
        if not target.startswith("hybridsolve.roads.sparse."):
            continue
        mod, attr = target.split(":")
        obj = getattr(importlib.import_module(mod), attr)
        inst = obj()
        assert isinstance(inst, Solver) and inst.name == key
        names.add(key)
    assert {"sparse", "sparse_cholesky", "sparse_dense"} <= names


@pytest.mark.parametrize("dtype", DTYPES)
def test_dense_to_compressed_block_boundaries(dtype):
    n = 100
    d = np.zeros((n, n), dtype=dtype, order="F")
    rows = [0, 31, 32, 33, 63, 64, 95, 96, 99]
    for j in range(n):
        d[rows, j] = np.arange(1, len(rows) + 1) * (j + 1)
    d[5, 7] = -0.0 + 0  # an explicit zero stays out
    w = compressed_from_dense(d, None)
    assert w.nnz == n * len(rows)
    np.testing.assert_array_equal(w.toarray(), d)


@pytest.mark.parametrize("dtype", DTYPES)
def test_inspect_int64_indices(dtype):
    rng = np.random.default_rng(11)
    a = general(30, dtype, rng)
    a.sort_indices()
    i32 = K.inspect(a.indptr.astype(np.int32), a.indices.astype(np.int32), a.data)
    i64 = K.inspect(a.indptr.astype(np.int64), a.indices.astype(np.int64), a.data)
    assert i32 == i64
    assert i64["nnz"] == np.count_nonzero(a.toarray())


# ------------------------------------------------------------------ through the front door

def _front_door():
    hs = pytest.importorskip("hybridsolve")
    if not hasattr(hs, "solve"):
        pytest.skip("front door not merged")
    return hs


@pytest.mark.parametrize("fmt", FORMATS)
@pytest.mark.parametrize("dtype", [np.float64, np.complex64])
def test_front_door_sparse_formats(fmt, dtype):
    hs = _front_door()
    rng = np.random.default_rng(12)
    a = general(40, dtype, rng).asformat(fmt)
    snap = snapshot(a)
    for b in (rhs(40, dtype, rng), rhs(40, dtype, rng, 2)):
        x = hs.solve(a, b)
        assert isinstance(x, np.ndarray) and x.shape == b.shape
        assert backward_error(a, x, b) < 200 * eps(dtype)
    bs = sp.csr_array(rhs(40, dtype, rng, 3))
    x = hs.solve(a, bs)
    assert isinstance(x, np.ndarray) and x.shape == (40, 3)
    assert backward_error(a, x, bs.toarray()) < 200 * eps(dtype)
    assert_unchanged(a, snap)


def test_front_door_sparse_picks_roads_and_reuses_factors():
    hs = _front_door()
    rng = np.random.default_rng(13)
    cases = {"sparse_cholesky": spd(80, np.float64, rng),
             "sparse": general(80, np.float64, rng),
             "sparse_triangular": sp.tril(general(80, np.float64, rng, 0.2)).tocsr()}
    for name, a in cases.items():
        f = hs.factorize(a)
        for _ in range(2):
            b = rhs(80, np.float64, rng, 2)
            assert backward_error(a, f.solve(b), b) < 100 * eps(np.float64)
        from hybridsolve._solve import plan
        assert plan(a).chosen.name == name


def test_front_door_sparse_errors():
    hs = _front_door()
    with pytest.raises(LinAlgError, match="singular"):
        hs.solve(_singular_cases()["structural"], np.ones(3))
    with pytest.raises(LinAlgError, match="singular"):
        hs.solve(_singular_cases()["numerical"], np.ones(4))
    with pytest.raises(ValueError):
        hs.solve(sp.random_array((3, 4), density=0.5, rng=0), np.ones(3))
    with pytest.raises(ValueError):
        hs.solve(sp.csr_array(np.eye(3)), np.ones(4))
    a = sp.csr_array(np.eye(3))
    a.data[0] = np.nan
    with pytest.raises(ValueError):
        hs.solve(a, np.ones(3))


def test_front_door_sparse_stored_dense():
    hs = _front_door()
    from hybridsolve._solve import plan
    rng = np.random.default_rng(14)
    n = 400
    # sparse but not banded (random pattern + diagonal): the dense-stored sparse road
    a = general(n, np.float64, rng, density=0.005).toarray()
    p = plan(a)
    assert p.chosen.name == "sparse_dense"
    b = rhs(n, np.float64, rng)
    x = hs.solve(a, b)
    assert backward_error(a, x, b) < 100 * eps(np.float64)


def test_lu_ordering_follows_pattern_symmetry():
    rng = np.random.default_rng(15)
    g = general(60, np.float64, rng)
    pat = (g + g.T).tocsr()                       # symmetric pattern ...
    vals = sp.csr_array((pat.data * rng.uniform(0.5, 1.5, pat.nnz), pat.indices,
                         pat.indptr), shape=pat.shape)   # ... unsymmetric values
    vals = (vals + 10 * sp.eye_array(60)).tocsr()
    s, w = prepare_sparse(vals)
    assert s.extra["pattern_symmetric"] and not s.symmetric
    f = S.SparseLUSolver().factorize(w, s)
    assert "symmetric pattern" in f.kind
    b = rhs(60, np.float64, rng)
    assert backward_error(vals, f.solve(b), b) < 100 * eps(np.float64)
    s, w = prepare_sparse(g)
    assert not s.extra["pattern_symmetric"]
    f = S.SparseLUSolver().factorize(w, s)
    assert "symmetric pattern" not in f.kind
    assert backward_error(g, f.solve(b), b) < 100 * eps(np.float64)
