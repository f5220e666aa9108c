"""Sparse roads: every one a Solver priced by the O(nnz) inspection of
``hybridsolve._sparse.prepare_sparse``.

=====================  ====================================================================
name                   road
=====================  ====================================================================
sparse_diagonal        A diagonal: x = b / d, O(n)
sparse_triangular      A triangular: Cython substitution over the CSR/CSC arrays, O(nnz)
sparse_banded          narrow band (band storage small): LAPACK ?gbtrf/?gbtrs
sparse_cholesky        symmetric/Hermitian with real positive diagonal: CHOLMOD
                       (scikit-sparse) if importable, else PARDISO (pypardiso, real only)
                       if importable, else SuperLU with MMD on A^T+A in SymmetricMode; falls
                       back to SuperLU with COLAMD and partial pivoting when that fails
sparse (sparse_lu)     general: SuperLU (scipy.sparse.linalg.splu), COLAMD ordering
sparse_dense           a DENSE ndarray that is mostly zeros: one Cython pass to CSC/CSR,
                       then the cheapest of the roads above
=====================  ====================================================================

Prices are in "dense flop equivalents" so that they compare with the dense roads'
flop counts: sparse factorizations run far below the dense GEMM rate, so their estimated
operation counts carry a weight (see ``_SPARSE_WEIGHT``).

``rcond`` of every sparse factorization is an estimate of 1 / (||A||_1 ||A^-1||_1), with
||A^-1||_1 from Hager's / Higham's 1-norm power method (LAPACK ?lacn2-style, one iteration: 3
solve calls, one with two columns, one with A^H, one more with A) using the factors;
the banded road uses LAPACK's ?gbcon.
"""
from __future__ import annotations

import math
import warnings

import numpy as np
import scipy.sparse as sp
from numpy.linalg import LinAlgError
from scipy.linalg import get_lapack_funcs
from scipy.sparse.linalg import splu

from hybridsolve._protocol import Factorization, NotApplicable, Solver, singular_error
from hybridsolve._kernels import sparse_inspect as _k
from hybridsolve._tuning import value as _tuned

__all__ = [
    "SparseDiagonalSolver", "SparseTriangularSolver", "SparseBandedSolver",
    "SparseCholeskySolver", "SparseLUSolver", "SparseStoredDenseSolver",
    "SparseSolvers", "cholesky_backend", "factorize_sparse",
]

# Pricing constants: hybridsolve._tuning (defaults and reasons there).
#: dense-flop equivalents per estimated sparse flop (sparse kernels are memory-bound)
_SPARSE_WEIGHT = _tuned("sparse_flop_weight")
#: fixed Python/library overhead of a sparse factorization, in dense-flop equivalents
_SPARSE_OVERHEAD = _tuned("sparse_overhead")
#: the stored-dense road needs at least this n and at most this density (the limits
#: under which the front door's inspection captures the nonzeros without copying A)
from hybridsolve._inspect import CAPTURE_MAX_DENSITY as _DENSE_MAX_DENSITY  # noqa: E402
from hybridsolve._inspect import CAPTURE_MIN_N as _DENSE_MIN_N  # noqa: E402
#: dense-flop equivalents per entry read by the dense -> compressed pass (not charged
#: when the inspection already captured the nonzeros)
_DENSE_SCAN_WEIGHT = _tuned("sparse_dense_scan_weight")
#: fixed cost of the sparse path on compressed arrays (wrapping, pricing, scipy.sparse)
_DENSE_CAPTURED_OVERHEAD = _tuned("sparse_dense_overhead")
#: ... plus, when the sparse road is a factorization (Cholesky/LU), that library's fixed
#: cost: where the dense banded road overtakes sparse_dense
_DENSE_FACTOR_OVERHEAD = _tuned("sparse_dense_factor_overhead")
#: diagonal pivot threshold of SuperLU's SymmetricMode on the general (LU) road
_LU_SYM_PIVOT_THRESH = 0.1
#: Hager iterations after the first solve (each: one A^H and one A solve)
_HAGER_ITERATIONS = 1
#: band storage may be at most this many times nnz (plus 4 n) for the banded road
_BAND_STORAGE_FACTOR = _tuned("sparse_band_storage_factor")


# ------------------------------------------------------------------ helpers

def _is_sparse_structure(s):
    return s.format == "sparse"


def _lu_flops(s):
    """A rough operation count for sparse LU with a fill-reducing ordering: nnz
    times sqrt(n) (2-D nested-dissection-like growth), never more than the band LU
    (both are upper-bound flavoured guesses; only their ordering matters)."""
    n, nnz = s.n, max(s.nnz or 0, 1)
    est = 4.0 * nnz * math.sqrt(max(n, 1))
    if s.lower_bandwidth is not None and s.upper_bandwidth is not None:
        band = 2.0 * n * (s.lower_bandwidth + 1) * (s.lower_bandwidth + s.upper_bandwidth + 1)
        est = min(est, band)
    return est + 2.0 * nnz


def _sparse_cost(flops):
    return _SPARSE_WEIGHT * flops + _SPARSE_OVERHEAD


def _spd_candidate(s):
    sym = s.hermitian if s.dtype.kind == "c" else s.symmetric
    return bool(sym) and bool(s.diag_real_positive)


def _check_finite_result(x):
    if not np.isfinite(x).all():
        raise singular_error("the sparse factorization produced a non-finite solution")


def _sign(y):
    if np.iscomplexobj(y):
        a = np.abs(y)
        out = np.ones_like(y)
        nz = a > 0
        out[nz] = y[nz] / a[nz]
        return out
    return np.where(y >= 0, 1.0, -1.0).astype(y.dtype)


def inverse_norm1_estimate(fact, n):
    """Hager/Higham estimate (a lower bound, usually within a factor 3) of
    ||A^-1||_1 through ``fact._solve_inplace``: at most three solve calls."""
    dt = fact.dtype
    if n == 0:
        return 0.0
    if n <= 4:   # exact: solve with the identity
        e = np.asfortranarray(np.eye(n, dtype=dt))
        fact._solve_inplace(e, 0)
        return float(np.abs(e).sum(axis=0).max())
    x = np.empty((n, 2), dtype=dt, order="F")
    x[:, 0] = 1.0 / n
    i = np.arange(n)
    x[:, 1] = np.where(i % 2 == 0, 1.0, -1.0) * (1.0 + i / (n - 1.0))
    fact._solve_inplace(x, 0)
    if not np.isfinite(x).all():
        return math.inf
    est = float(np.abs(x[:, 0]).sum())
    alt = 2.0 * float(np.abs(x[:, 1]).sum()) / (3.0 * n)
    y = x[:, 0]
    xprev = np.full(n, 1.0 / n)
    for it in range(_HAGER_ITERATIONS):
        z = np.asfortranarray(_sign(y)[:, None])
        fact._solve_inplace(z, 2)
        z = z[:, 0]
        j = int(np.argmax(np.abs(z)))
        if it > 0 and abs(z[j]) <= float(np.real(np.vdot(z, xprev))):
            break
        e = np.zeros((n, 1), dtype=dt, order="F")
        e[j, 0] = 1.0
        fact._solve_inplace(e, 0)
        new = float(np.abs(e).sum())
        if not np.isfinite(new):
            return math.inf
        if new <= est:
            break
        est = new
        y = e[:, 0]
        xprev = np.zeros(n)
        xprev[j] = 1.0
    return max(est, alt)


def _set_rcond(fact, norm1):
    n = fact.shape[0]
    if n == 0:
        fact.rcond = 1.0
        return fact
    if not norm1:
        fact.rcond = 0.0
        return fact
    inv = inverse_norm1_estimate(fact, n)
    fact.rcond = 0.0 if not np.isfinite(inv) or inv == 0 else float(1.0 / (norm1 * inv))
    return fact


def _norm1(work, s):
    if s.norm1 is not None:
        return s.norm1
    return float(abs(work).sum(axis=0).max()) if work.nnz else 0.0


def _as_csc_of(work):
    """``(csc, transposed)``: a CSC array holding A (transposed False) or A^T (True),
    sharing ``work``'s buffers."""
    if work.format == "csc":
        return work, False
    m = sp.csc_array((work.data, work.indices, work.indptr), shape=work.shape[::-1],
                     copy=False)
    return m, True


# ------------------------------------------------------------------ factorizations

class SuperLUFactorization(Factorization):
    """Keeps scipy's SuperLU object (L, U, permutations) for any number of b."""

    def __init__(self, lu, transposed, shape, dtype, kind, notes=()):
        super().__init__(shape, dtype)
        self.lu = lu
        self.transposed = transposed   # lu factors A^T (A came as CSR)
        self.kind = kind
        self.notes = tuple(notes)

    def _solve_inplace(self, b, trans):
        lu = self.lu
        if not self.transposed:
            x = lu.solve(b, "NTH"[trans])
        elif trans == 0:
            x = lu.solve(b, "T")
        elif trans == 1:
            x = lu.solve(b, "N")
        elif self.dtype.kind == "c":      # A^H = conj(A^T)
            x = np.conj(lu.solve(np.conj(b), "N"))
        else:
            x = lu.solve(b, "N")
        _check_finite_result(x)
        b[...] = x

    def __getstate__(self):
        # scipy's SuperLU object cannot be pickled: keep its factors and permutations
        state = dict(self.__dict__)
        lu = state.pop("lu")
        state["_factors"] = (lu.L.tocsr(), lu.U.tocsr(), lu.perm_r, lu.perm_c)
        return state

    def __setstate__(self, state):
        factors = state.pop("_factors")
        super().__setstate__(state)
        self.lu = _SuperLUFactors(*factors)


class _SuperLUFactors:
    """SuperLU's ``solve`` from its factors (Pr A Pc = L U), for an unpickled
    SuperLUFactorization: triangular solves through scipy.sparse.linalg."""

    def __init__(self, L, U, perm_r, perm_c):
        self.L, self.U, self.perm_r, self.perm_c = L, U, perm_r, perm_c

    def solve(self, b, trans="N"):
        from scipy.sparse.linalg import spsolve_triangular as tri
        L, U = self.L, self.U
        y = np.empty_like(b)
        if trans == "N":                 # x = Pc U^-1 L^-1 Pr b
            y[self.perm_r] = b
            w = tri(U, tri(L, y, lower=True, unit_diagonal=True), lower=False)
            return w[self.perm_c]
        op = (lambda m: m.T.tocsr()) if trans == "T" else (lambda m: m.conj().T.tocsr())
        y[self.perm_c] = b               # x = Pr^T op(L)^-1 op(U)^-1 Pc^T b
        w = tri(op(L), tri(op(U), y, lower=True), lower=False, unit_diagonal=True)
        return w[self.perm_r]


class DiagonalFactorization(Factorization):
    kind = "sparse_diagonal"

    def __init__(self, d):
        super().__init__((d.size, d.size), d.dtype)
        self.d = d
        ad = np.abs(d)
        self.rcond = float(ad.min() / ad.max()) if d.size else 1.0

    def _solve_inplace(self, b, trans):
        d = np.conj(self.d) if trans == 2 else self.d
        b /= d[:, None]


class TriangularFactorization(Factorization):
    """Substitution straight over the canonical CSR/CSC arrays (no factorization)."""

    kind = "sparse_triangular"

    def __init__(self, work, lower):
        super().__init__(work.shape, work.dtype)
        self.work = work
        self.lower = lower        # A is lower triangular

    def _solve_inplace(self, b, trans):
        w = self.work
        by_rows = (w.format == "csr") != (trans != 0)
        lower = self.lower != (trans != 0)
        info = _k.tri_solve_compressed(w.indptr, w.indices, w.data, b, lower, by_rows,
                                       trans == 2)
        if info > 0:
            raise singular_error(f"diagonal entry {info - 1} is zero")


class BandedFactorization(Factorization):
    kind = "sparse_banded"

    def __init__(self, lu, ipiv, kl, ku, n, dtype, gbtrs):
        super().__init__((n, n), dtype)
        self.lu, self.ipiv, self.kl, self.ku, self._gbtrs = lu, ipiv, kl, ku, gbtrs

    def _solve_inplace(self, b, trans):
        x, info = self._gbtrs(self.lu, self.kl, self.ku, b, self.ipiv, trans=trans,
                              overwrite_b=1)
        if info != 0:
            raise ValueError(f"?gbtrs: illegal argument {-info}")
        if x is not b:
            b[...] = x

    def __getstate__(self):
        state = dict(self.__dict__)     # the f2py routine cannot be pickled
        del state["_gbtrs"]
        return state

    def __setstate__(self, state):
        super().__setstate__(state)
        (self._gbtrs,) = get_lapack_funcs(("gbtrs",), (self.lu,))


class CholmodFactorization(Factorization):
    kind = "sparse_cholesky(cholmod)"

    def __init__(self, factor, shape, dtype, transposed):
        super().__init__(shape, dtype)
        self.factor = factor
        self.transposed = transposed   # the factor is of A^T (= conj(A) for Hermitian A)

    def _solve_inplace(self, b, trans):
        # A Hermitian: A^H = A; A^T = conj(A); the factor is of A or of conj(A)
        conj_needed = (self.dtype.kind == "c") and ((trans == 1) != self.transposed)
        if conj_needed:
            x = np.conj(self.factor(np.conj(b)))
        else:
            x = self.factor(b)
        _check_finite_result(x)
        b[...] = x


class PardisoFactorization(Factorization):
    kind = "sparse_cholesky(pardiso)"

    def __init__(self, solver, upper, shape, dtype):
        super().__init__(shape, dtype)
        self.solver = solver
        self.upper = upper

    def _solve_inplace(self, b, trans):
        # real symmetric: A^T = A^H = A
        rhs = b if b.dtype == np.float64 else b.astype(np.float64, order="F")
        x = self.solver.solve(self.upper, rhs)
        x = np.asarray(x).reshape(b.shape)
        _check_finite_result(x)
        b[...] = x

    def __getstate__(self):
        # PARDISO's handle (ctypes) cannot be pickled: keep the matrix, factor again
        state = dict(self.__dict__)
        del state["solver"]
        return state

    def __setstate__(self, state):
        import pypardiso

        super().__setstate__(state)
        self.solver = pypardiso.PyPardisoSolver(mtype=2)
        self.solver.factorize(self.upper)

    def __del__(self):
        try:
            self.solver.free_memory(everything=False)
        except Exception:
            pass


# ------------------------------------------------------------------ backends

def _superlu(work, *, symmetric_mode, notes, pivot_thresh=0.0):
    """splu of A (work CSR or CSC). Raises singular_error when SuperLU reports an
    exactly singular factor.  ``symmetric_mode``: MMD on A^T+A, SymmetricMode, the
    given diagonal pivot threshold; else COLAMD with partial pivoting."""
    csc, transposed = _as_csc_of(work)
    if symmetric_mode:
        kw = dict(permc_spec="MMD_AT_PLUS_A", diag_pivot_thresh=pivot_thresh,
                  options=dict(SymmetricMode=True))
        kind = ("sparse_cholesky(superlu)" if pivot_thresh == 0.0
                else "sparse_lu(superlu, symmetric pattern)")
    else:
        kw = dict(permc_spec="COLAMD")
        kind = "sparse_lu(superlu)"
    try:
        with warnings.catch_warnings():
            warnings.simplefilter("ignore", sp.SparseEfficiencyWarning)
            lu = splu(csc, **kw)
    except RuntimeError as exc:
        if "singular" in str(exc).lower():
            raise singular_error(f"SuperLU: {exc}") from None
        raise LinAlgError(f"SuperLU failed: {exc}") from None
    return SuperLUFactorization(lu, transposed, work.shape, work.dtype, kind, notes)


def _superlu_symmetric_pivots_ok(lu):
    """SymmetricMode with threshold 0 pivots off the diagonal only at an exactly
    zero diagonal: then perm_r differs from perm_c (not positive definite)."""
    return np.array_equal(lu.perm_r, lu.perm_c)


def cholesky_backend():
    """The best sparse Cholesky backend importable here: 'cholmod', 'pardiso' or
    'superlu' (always available)."""
    try:
        from sksparse.cholmod import cholesky  # noqa: F401
        return "cholmod"
    except Exception:
        pass
    try:
        import pypardiso  # noqa: F401
        return "pardiso"
    except Exception:
        pass
    return "superlu"


def _cholmod(work):
    from sksparse.cholmod import cholesky, CholmodError
    csc, transposed = _as_csc_of(work)
    try:
        # supernodal = LL^T: fails on a non-positive pivot (the "auto" simplicial mode
        # would compute an LDL^T of an indefinite matrix without pivoting)
        f = cholesky(csc, mode="supernodal")
    except CholmodError as exc:
        raise NotApplicable(f"CHOLMOD: {exc}") from None
    return CholmodFactorization(f, work.shape, work.dtype, transposed)


def _pardiso(work):
    import pypardiso
    # real symmetric: the stored arrays are A by rows either way (A^T = A)
    m = sp.csr_matrix((work.data, work.indices, work.indptr), shape=work.shape)
    upper = sp.triu(m, format="csr").astype(np.float64)
    upper.sort_indices()
    if not np.diff(upper.indptr).all():
        raise NotApplicable("PARDISO: empty row in the upper triangle")
    solver = pypardiso.PyPardisoSolver(mtype=2)
    try:
        solver.factorize(upper)
    except Exception as exc:  # PyPardisoError: -4 zero pivot (not positive definite)
        raise NotApplicable(f"PARDISO: {exc}") from None
    return PardisoFactorization(solver, upper, work.shape, work.dtype)


def _cholesky_road(work, s, backend=None):
    """Sparse Cholesky with the best backend; falls back (with a note) to SuperLU
    symmetric mode, then to SuperLU COLAMD with partial pivoting."""
    backend = backend or cholesky_backend()
    notes = []
    norm1 = _norm1(work, s)
    if backend == "cholmod":
        try:
            return _set_rcond(_cholmod(work), norm1)
        except NotApplicable as exc:
            notes.append(f"{exc}; fell back to SuperLU")
    elif backend == "pardiso" and work.dtype.kind == "f":
        try:
            return _set_rcond(_pardiso(work), norm1)
        except NotApplicable as exc:
            notes.append(f"{exc}; fell back to SuperLU")
    try:
        f = _superlu(work, symmetric_mode=True, notes=notes)
        if _superlu_symmetric_pivots_ok(f.lu):
            return _set_rcond(f, norm1)
        notes.append("SuperLU SymmetricMode pivoted off the diagonal (not positive "
                     "definite): refactored with COLAMD and partial pivoting")
    except LinAlgError as exc:
        notes.append(f"SuperLU SymmetricMode failed ({exc}): refactored with COLAMD "
                     "and partial pivoting")
    return _set_rcond(_superlu(work, symmetric_mode=False, notes=notes), norm1)


def _lu_road(work, s):
    """SuperLU.  A structurally symmetric A gets the symmetric-pattern ordering (MMD on
    A^T+A, SymmetricMode) with threshold partial pivoting (0.1): much less fill than
    COLAMD on PDE-like matrices; otherwise (or if that fails) COLAMD."""
    notes = []
    if s.extra.get("pattern_symmetric"):
        try:
            return _set_rcond(_superlu(work, symmetric_mode=True, notes=notes,
                                       pivot_thresh=_LU_SYM_PIVOT_THRESH), _norm1(work, s))
        except LinAlgError as exc:
            notes.append(f"SuperLU SymmetricMode failed ({exc}): refactored with COLAMD")
    return _set_rcond(_superlu(work, symmetric_mode=False, notes=notes), _norm1(work, s))


def _diagonal_road(work, s):
    d = np.asarray(work.diagonal()).copy()
    if d.size and not np.all(d != 0):
        raise singular_error(f"diagonal entry {int(np.argmin(np.abs(d) != 0))} is zero")
    return DiagonalFactorization(d)


def _triangular_road(work, s):
    lower = s.upper_bandwidth == 0
    d = work.diagonal()
    if d.size and not np.all(d != 0):
        raise singular_error(f"diagonal entry {int(np.argmin(d != 0))} is zero")
    f = TriangularFactorization(work, lower)
    return _set_rcond(f, _norm1(work, s))


def _band_storage(work, kl, ku):
    n = work.shape[0]
    ab = np.zeros((2 * kl + ku + 1, n), dtype=work.dtype, order="F")
    counts = np.diff(work.indptr)
    lines = np.repeat(np.arange(n), counts)
    if work.format == "csr":
        rows, cols = lines, work.indices
    else:
        rows, cols = work.indices, lines
    ab[kl + ku + rows - cols, cols] = work.data
    return ab


def _banded_road(work, s):
    kl, ku, n = s.lower_bandwidth, s.upper_bandwidth, s.n
    ab = _band_storage(work, kl, ku)
    gbtrf, gbtrs, gbcon = get_lapack_funcs(("gbtrf", "gbtrs", "gbcon"), (ab,))
    lu, ipiv, info = gbtrf(ab, kl, ku, overwrite_ab=1)
    if info > 0:
        raise singular_error(f"?gbtrf: U({info},{info}) is exactly zero")
    if info < 0:
        raise ValueError(f"?gbtrf: illegal argument {-info}")
    f = BandedFactorization(lu, ipiv, kl, ku, n, work.dtype, gbtrs)
    rc, info = gbcon(kl, ku, lu, ipiv, _norm1(work, s))
    f.rcond = float(rc)
    return f


# ------------------------------------------------------------------ solvers (roads)

class _SparseRoad(Solver):
    formats = ("sparse",)

    def _check(self, a):
        if not sp.issparse(a):
            raise TypeError(f"{self.name}: expected the sparse work array of "
                            f"prepare_sparse, got {type(a).__name__}")


class SparseDiagonalSolver(_SparseRoad):
    name = "sparse_diagonal"

    def cost(self, s):
        if not _is_sparse_structure(s):
            return None, "not a sparse matrix"
        if s.lower_bandwidth != 0 or s.upper_bandwidth != 0:
            return None, "not diagonal"
        return float(s.n)

    def factorize(self, a, s):
        self._check(a)
        return _diagonal_road(a, s)


class SparseTriangularSolver(_SparseRoad):
    name = "sparse_triangular"

    def cost(self, s):
        if not _is_sparse_structure(s):
            return None, "not a sparse matrix"
        if s.lower_bandwidth != 0 and s.upper_bandwidth != 0:
            return None, "not triangular"
        # substitution + rcond estimate (4 solves): memory-bound, weight like sparse
        return _SPARSE_WEIGHT * 10.0 * (s.nnz or 1) + 1e4

    def factorize(self, a, s):
        self._check(a)
        return _triangular_road(a, s)


class SparseBandedSolver(_SparseRoad):
    name = "sparse_banded"

    def cost(self, s):
        if not _is_sparse_structure(s):
            return None, "not a sparse matrix"
        kl, ku, n = s.lower_bandwidth, s.upper_bandwidth, s.n
        storage = (2 * kl + ku + 1) * n
        if storage > _BAND_STORAGE_FACTOR * (s.nnz or 0) + 4 * n:
            return None, f"band storage {storage} too large for nnz={s.nnz}"
        # LAPACK band kernels: level-2 speed, a few times slower than GEMM
        return 4.0 * 2.0 * n * (kl + 1) * (kl + ku + 1) + 2e4

    def factorize(self, a, s):
        self._check(a)
        return _banded_road(a, s)


class SparseCholeskySolver(_SparseRoad):
    """Symmetric (Hermitian) with a real positive diagonal; the backend is chosen at
    factorize time (``backend`` forces one: 'cholmod', 'pardiso' or 'superlu')."""

    name = "sparse_cholesky"

    def __init__(self, backend=None):
        self.backend = backend

    def cost(self, s):
        if not _is_sparse_structure(s):
            return None, "not a sparse matrix"
        if not _spd_candidate(s):
            return None, "not symmetric/Hermitian with a real positive diagonal"
        return _sparse_cost(0.5 * _lu_flops(s))

    def factorize(self, a, s):
        self._check(a)
        return _cholesky_road(a, s, self.backend)


class SparseLUSolver(_SparseRoad):
    name = "sparse"

    def cost(self, s):
        if not _is_sparse_structure(s):
            return None, "not a sparse matrix"
        return _sparse_cost(_lu_flops(s))

    def factorize(self, a, s):
        self._check(a)
        return _lu_road(a, s)


_SPARSE_ROADS = (SparseDiagonalSolver(), SparseTriangularSolver(), SparseBandedSolver(),
                 SparseCholeskySolver(), SparseLUSolver())


def factorize_sparse(work, s):
    """Factor a canonical sparse ``work`` (from ``prepare_sparse``) with the cheapest
    sparse road (trying the next on NotApplicable)."""
    priced = []
    for road in _SPARSE_ROADS:
        c = road.cost(s)
        if isinstance(c, tuple) or c is None:
            continue
        priced.append((c, road))
    priced.sort(key=lambda t: t[0])
    last = None
    for _, road in priced:
        try:
            return road.factorize(work, s)
        except NotApplicable as exc:
            last = exc
    raise last if last is not None else ValueError("no sparse road applies")


class SparseStoredDenseSolver(Solver):
    """A dense ndarray that is mostly zeros: take the cheapest sparse road on its
    nonzeros -- those the front door's inspection captured (``extra['captured']``:
    no pass over A at all here), else converted to CSC/CSR in one Cython pass (no
    transposing copy).  Only reads the dense array: no working copy needed."""

    formats = ("dense",)
    name = "sparse_dense"
    needs_copy = False

    def cost(self, s):
        if s.format != "dense":
            return None, "not a dense ndarray"
        if s.assume_a not in (None, "gen"):
            return None, f"assume_a={s.assume_a!r} given: the hinted road is kept"
        if s.nnz is None:
            at_least = s.extra.get("nnz_at_least") if s.extra else None
            if at_least is not None and s.n:
                return None, (f"density >= {at_least / (s.n * s.n):.3g} > "
                              f"{_DENSE_MAX_DENSITY}")
            return None, "nonzero count unknown"
        n = s.n
        if n < _DENSE_MIN_N:
            return None, f"n={n} < {_DENSE_MIN_N}: too small to pay"
        if s.nnz > _DENSE_MAX_DENSITY * n * n:
            return None, f"density {s.nnz / (n * n):.3g} > {_DENSE_MAX_DENSITY}"
        sub = _sub_structure(s, "sparse")
        prices = [(c, road) for c, road in ((road.cost(sub), road)
                                            for road in _SPARSE_ROADS)
                  if c is not None and not isinstance(c, tuple)]
        if prices:
            best, road = min(prices, key=lambda t: t[0])
        else:
            best = _sparse_cost(_lu_flops(sub) * (0.5 if _spd_candidate(sub) else 1.0))
            road = None
        if road is None or isinstance(road, (SparseCholeskySolver, SparseLUSolver)):
            best += _DENSE_FACTOR_OVERHEAD
        best += _DENSE_CAPTURED_OVERHEAD
        if s.extra.get("captured") is not None:
            return best
        # the conversion pass reads n^2 entries at memory speed (~1-2 ns each here,
        # i.e. tens of dense flops each)
        return best + _DENSE_SCAN_WEIGHT * n * n

    def factorize(self, a, s):
        from hybridsolve._sparse import compressed_from_dense, inspect_compressed, \
            structure_from_info
        work = _captured(s)
        if work is not None:
            sub = _sub_structure(s, "sparse")
            sub.extra["diag_nonzero"] = s.extra.get("diag_nonzero")
            sub.extra["pattern_symmetric"] = s.extra.get("pattern_symmetric")
            how = "nonzeros captured by the inspection as"
        else:
            a = np.asarray(a)
            if a.ndim != 2 or a.shape[0] != a.shape[1]:
                raise ValueError(f"expected a square matrix, got shape {a.shape}")
            work = compressed_from_dense(a, s.nnz)
            info = inspect_compressed(work)
            sub = structure_from_info(a.shape[0], work.dtype, info)
            how = "dense ndarray converted to"
        f = factorize_sparse(work, sub)
        f.notes = tuple(f.notes) + (f"{how} {work.format.upper()} (nnz={work.nnz})",)
        return f


def _captured(s):
    """A as a canonical sparse array built on the nonzeros the front door's inspection
    captured (``extra['captured']``), or None."""
    c = s.extra.get("captured") if s.extra else None
    if c is None:
        return None
    fmt, data, indices, indptr = c
    if data.dtype != s.dtype or indptr.shape != (s.n + 1,):
        return None
    cls = sp.csc_array if fmt == "csc" else sp.csr_array
    w = cls((data, indices, indptr), shape=(s.n, s.n), copy=False)
    w.has_sorted_indices = True
    w.has_canonical_format = True
    return w


def _sub_structure(s, fmt):
    from hybridsolve._protocol import Structure
    return Structure(s.n, s.dtype, fmt, finite=s.finite, symmetric=s.symmetric,
                     hermitian=s.hermitian, diag_real_positive=s.diag_real_positive,
                     lower_bandwidth=s.lower_bandwidth, upper_bandwidth=s.upper_bandwidth,
                     nnz=s.nnz, norm1=s.norm1)


#: every sparse road, for code that wants them all (the entry points list each one)
SparseSolvers = (SparseDiagonalSolver, SparseTriangularSolver, SparseBandedSolver,
                 SparseCholeskySolver, SparseLUSolver, SparseStoredDenseSolver)
