"""PARDISO (pypardiso, the ``pardiso`` extra): real symmetric positive definite."""
from __future__ import annotations

import numpy as np
import scipy.sparse as sp

from hybridsolve.plugin import Factorization, NotApplicable
from hybridsolve.roads.sparse._common import check_finite_result

__all__ = ["PardisoFactorization", "pardiso_factor"]


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
        import pypardiso
        super().__setstate__(state)
        self.solver = pypardiso.PyPardisoSolver(mtype=2)
        self.solver.factorize(self.upper)

    def __del__(self):
        try:
            self.solver.free_memory(everything=False)
        except Exception:
            pass


def pardiso_factor(work):
    """PARDISO's factorization (mtype 2) of the real symmetric A; NotApplicable when
    it is not positive definite."""
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
