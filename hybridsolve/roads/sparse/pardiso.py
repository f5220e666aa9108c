"""PARDISO (pypardiso, the ``pardiso`` extra): real symmetric positive definite."""
from __future__ import annotations

import copy

import numpy as np
import scipy.sparse as sp

from hybridsolve.plugin import Factorization, NotApplicable
from hybridsolve.roads.sparse._common import check_finite_result, importable

__all__ = ["PardisoFactorization", "pardiso_factor"]

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


def new_solver():
    """A fresh PARDISO handle for a real SPD matrix (mtype 2).

    ``PyPardisoSolver()`` looks for MKL's ``mkl_rt`` library on every construction, and
    where ``ctypes.util.find_library`` does not find it (MKL installed by pip in a
    virtual environment) that is a recursive glob of the environment's lib tree: 0.30 s
    per construction, measured with cProfile (`pardiso_factor` on 3-D Poisson 30^3, a
    venv with numpy, scipy, dask and mkl), against 0.12 s for PARDISO's analysis and
    factorization.  pypardiso's own solver (``pypardiso.ps``, made at its import) has
    found the library already: a new handle is a copy of it with its own ``pt``
    (PARDISO's handle), ``iparm``, ``perm`` and stored matrix -- the state a new
    ``PyPardisoSolver`` starts from.  Where a pypardiso version lacks those attributes,
    a new solver is constructed as usual."""
    _load_blas_users_first()
    import pypardiso
    proto = getattr(pypardiso, "ps", None)
    if not all(hasattr(proto, k) for k in ("pt", "iparm", "perm", "factorized_A",
                                            "mtype")):
        return pypardiso.PyPardisoSolver(mtype=2)
    solver = copy.copy(proto)
    solver.pt = np.zeros_like(proto.pt)
    solver.iparm = np.zeros_like(proto.iparm)
    solver.perm = np.zeros(0, dtype=proto.perm.dtype)
    solver.factorized_A = sp.csr_matrix((0, 0))
    solver.set_matrix_type(2)
    solver.set_phase(13)
    return solver


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
        check_finite_result(x)
        b[...] = x

    def __getstate__(self):
        # PARDISO's handle is a ctypes object: keep the matrix, factor it again on load
        state = dict(self.__dict__)
        del state["solver"]
        return state

    def __setstate__(self, state):
        super().__setstate__(state)
        self.solver = new_solver()
        self.solver.factorize(self.upper)

    def __del__(self):
        try:
            self.solver.free_memory(everything=True)   # this handle's analysis too
        except Exception:
            pass


def pardiso_factor(work):
    """PARDISO's factorization (mtype 2) of the real symmetric A; NotApplicable when
    it is not positive definite."""
    # real symmetric: the stored arrays are A by rows either way (A^T = A)
    m = sp.csr_matrix((work.data, work.indices, work.indptr), shape=work.shape)
    upper = sp.triu(m, format="csr").astype(np.float64)
    upper.sort_indices()
    if not np.diff(upper.indptr).all():
        raise NotApplicable("PARDISO: empty row in the upper triangle")
    solver = new_solver()
    try:
        solver.factorize(upper)
    except Exception as exc:  # PyPardisoError: -4 zero pivot (not positive definite)
        raise NotApplicable(f"PARDISO: {exc}") from None
    return PardisoFactorization(solver, upper, work.shape, work.dtype)
