"""hybridsolve: a drop-in ``scipy.linalg.solve`` that inspects ``A`` first and takes the
cheapest correct road -- diagonal, triangular, banded, Cholesky, LU, Woodbury, sparse --
through Cython kernels on the BLAS/LAPACK SciPy links.

Public API: `solve` (scipy.linalg.solve's signature), `factorize` (keep the factors),
`explain` (why a road was taken), `solvers` / `register` (plugins), `patch_scipy`,
`threads` (the thread count of calls from this thread), `tuning` (the crossovers in
force and where each came from).
"""
from hybridsolve._explain import Explanation, explain
from hybridsolve._lowrank import DiagonalPlusLowRank
from hybridsolve._patch import patch_scipy, patched_scipy, unpatch_scipy
from hybridsolve._protocol import Factorization, NotApplicable, Solver, Structure
from hybridsolve._registry import register, solvers, unregister
from hybridsolve._ridge import ridge
from hybridsolve._solve import factorize, solve
from hybridsolve._threads import threads
from hybridsolve._tuning import tuning

__version__ = "0.1.0"
__all__ = [
    "solve", "factorize", "explain", "Explanation", "solvers", "register", "unregister",
    "patch_scipy", "unpatch_scipy", "patched_scipy", "DiagonalPlusLowRank", "ridge",
    "Solver", "Factorization", "Structure", "NotApplicable", "threads", "tuning",
]
