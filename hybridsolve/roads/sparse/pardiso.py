"""PARDISO (pypardiso, the ``pardiso`` extra): real symmetric positive definite."""
from __future__ import annotations

import copy
import ctypes

import numpy as np
import scipy.sparse as sp

from hybridsolve._tuning import value as _tuned
from hybridsolve.plugin import Factorization, NotApplicable
from hybridsolve.roads.sparse._common import check_finite_result, importable

__all__ = ["PardisoFactorization", "pardiso_factor", "pardiso_ordering"]

#: BLAS users loaded before MKL's first PARDISO call (see `_load_blas_users_first`)
_BLAS_USERS = ("sksparse.cholmod",)
_blas_users_loaded = False


def _load_blas_users_first():
    """Load CHOLMOD (when installed) before MKL's first PARDISO call.

    That call makes ``mkl_rt`` load MKL's interface and threading libraries into the
    process's global symbol scope, and a library loaded after it resolves its BLAS and
    LAPACK symbols (``dgemm_``, ``dpotrf_``, ...) to MKL's instead of its own.  Debian's
    libcholmod then runs its many small supernode BLAS calls through MKL's OpenMP
    threads: a 2-D Poisson 400^2 factorization took 5-7 s instead of 0.33 s, for the
    rest of the process (``LD_DEBUG=bindings`` showed libcholmod's ``dgemm_`` bound to
    ``libmkl_intel_lp64``).  Loaded first, libcholmod keeps the BLAS it was linked
    with."""
    global _blas_users_loaded
    if not _blas_users_loaded:
        for module in _BLAS_USERS:
            importable(module)
        _blas_users_loaded = True


#: iparm(2) (``iparm[1]``), PARDISO's fill-in reducing ordering: minimum degree, and
#: the OpenMP nested dissection of METIS that ``pardisoinit`` chooses for mtype 2
ORDER_MINIMUM_DEGREE, ORDER_NESTED_DISSECTION = 0, 3
_ORDER_NAMES = {ORDER_MINIMUM_DEGREE: "minimum degree",
                ORDER_NESTED_DISSECTION: "nested dissection (METIS)"}
_default_iparm = None


def pardiso_ordering(nnz, n):
    """PARDISO's ordering for an ``n`` x ``n`` matrix with ``nnz`` stored nonzeros:
    nested dissection from ``sparse_pardiso_first_row_nnz`` stored nonzeros a row on
    average (``hybridsolve._tuning``), minimum degree below, where METIS's analysis
    costs more than its fill saves (2-D 5-point stencils)."""
    wide = n and nnz >= _tuned("sparse_pardiso_first_row_nnz") * n
    return ORDER_NESTED_DISSECTION if wide else ORDER_MINIMUM_DEGREE


def _defaults(solver):
    """MKL's own iparm defaults for a real SPD matrix (``pardisoinit``, mtype 2), read
    once; None where pypardiso does not expose MKL's library."""
    global _default_iparm
    if _default_iparm is None:
        lib = getattr(solver, "libmkl", None)
        init = getattr(lib, "pardisoinit", None)
        if init is None or not hasattr(solver, "_pt_type"):
            return None
        pt = np.zeros(64, dtype=solver._pt_type[1])
        iparm = np.zeros(64, dtype=np.int32)
        init(pt.ctypes.data_as(ctypes.POINTER(solver._pt_type[0])),
             ctypes.byref(ctypes.c_int32(2)),
             iparm.ctypes.data_as(ctypes.POINTER(ctypes.c_int32)))
        _default_iparm = iparm
    return _default_iparm


def new_solver(ordering=None):
    """A fresh PARDISO handle for a real SPD matrix (mtype 2), ordering it with
    ``ordering`` (iparm(2): `ORDER_MINIMUM_DEGREE`, `ORDER_NESTED_DISSECTION`; None:
    MKL's default).

    ``PyPardisoSolver()`` looks for MKL's ``mkl_rt`` library on every construction, and
    where ``ctypes.util.find_library`` does not find it (MKL installed by pip in a
    virtual environment) that is a recursive glob of the environment's lib tree: 0.30 s
    per construction, measured with cProfile (`pardiso_factor` on 3-D Poisson 30^3, a
    venv with numpy, scipy, dask and mkl), against 0.12 s for PARDISO's analysis and
    factorization.  pypardiso's own solver (``pypardiso.ps``, made at its import) has
    found the library already: a new handle is a copy of it with its own ``pt``
    (PARDISO's handle), ``iparm``, ``perm`` and stored matrix -- the state a new
    ``PyPardisoSolver`` starts from.  Where a pypardiso version lacks those attributes,
    a new solver is constructed as usual.

    pypardiso leaves ``iparm[0]`` = 0, which makes PARDISO fill in its defaults on
    every call and ignore every other iparm; an ordering is set on MKL's defaults for
    mtype 2 (``pardisoinit``, ``iparm[0]`` = 1)."""
    _load_blas_users_first()
    import pypardiso
    proto = getattr(pypardiso, "ps", None)
    if not all(hasattr(proto, k) for k in ("pt", "iparm", "perm", "factorized_A",
                                            "mtype")):
        solver = pypardiso.PyPardisoSolver(mtype=2)
    else:
        solver = copy.copy(proto)
        solver.pt = np.zeros_like(proto.pt)
        solver.iparm = np.zeros_like(proto.iparm)
        solver.perm = np.zeros(0, dtype=proto.perm.dtype)
        solver.factorized_A = sp.csr_matrix((0, 0))
        solver.set_matrix_type(2)
        solver.set_phase(13)
    defaults = None if ordering is None else _defaults(solver)
    if defaults is not None:
        solver.iparm[:] = defaults
        solver.iparm[1] = ordering
    return solver


class PardisoFactorization(Factorization):
    kind = "sparse_cholesky(pardiso)"

    def __init__(self, solver, upper, shape, dtype, ordering=None):
        super().__init__(shape, dtype)
        self.solver = solver
        self.upper = upper
        self.ordering = ordering

    def _solve_inplace(self, b, trans):
        # real symmetric: A^T = A^H = A
        rhs = b if b.dtype == np.float64 else b.astype(np.float64, order="F")
        x = self.solver.solve(self.upper, rhs)
        x = np.asarray(x).reshape(b.shape)
        check_finite_result(x)
        b[...] = x

    def __getstate__(self):
        # PARDISO's handle is a ctypes object: keep the matrix, factor it again on load
        state = dict(self.__dict__)
        del state["solver"]
        return state

    def __setstate__(self, state):
        super().__setstate__(state)
        self.solver = new_solver(self.__dict__.get("ordering"))
        self.solver.factorize(self.upper)

    def __del__(self):
        try:
            self.solver.free_memory(everything=True)   # this handle's analysis too
        except Exception:
            pass


def pardiso_factor(work):
    """PARDISO's factorization (mtype 2) of the real symmetric A, ordered as
    `pardiso_ordering` says; NotApplicable when it is not positive definite."""
    # real symmetric: the stored arrays are A by rows either way (A^T = A)
    m = sp.csr_matrix((work.data, work.indices, work.indptr), shape=work.shape)
    upper = sp.triu(m, format="csr").astype(np.float64)
    upper.sort_indices()
    if not np.diff(upper.indptr).all():
        raise NotApplicable("PARDISO: empty row in the upper triangle")
    ordering = pardiso_ordering(work.nnz, work.shape[0])
    solver = new_solver(ordering)
    try:
        solver.factorize(upper)
    except Exception as exc:  # PyPardisoError: -4 zero pivot (not positive definite)
        raise NotApplicable(f"PARDISO: {exc}") from None
    f = PardisoFactorization(solver, upper, work.shape, work.dtype, ordering)
    if solver.iparm[0] == 1:
        f.notes = (f"PARDISO ordered by {_ORDER_NAMES[ordering]} "
                   f"({work.nnz / max(work.shape[0], 1):.3g} stored nonzeros a row; "
                   f"sparse_pardiso_first_row_nnz, hybridsolve._tuning)",)
    return f
