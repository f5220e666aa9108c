"""What a road needs, for plugin authors: the protocol and the helpers the built-in roads
use themselves.

A third-party road subclasses (or duck-types) `Solver`, returns a `Factorization` from
``factorize``, and is declared in the entry-point group ``hybridsolve.solvers`` of its
own package (or added with `hybridsolve.register`).  The built-in roads import these
same names from here.

=====================  ===============================================================
name                   what
=====================  ===============================================================
`Solver`               a road: ``name``, ``formats``, ``hints``, ``cost(structure)``,
                       ``factorize(a, structure)``
`Factorization`        reusable factors: ``solve(b, trans)``, ``rcond``
`Structure`            what the inspection found out about A
`NotApplicable`        raised by ``factorize`` to decline: the next road runs
`result_dtype`         the dtype ``scipy.linalg.solve`` computes in (scipy's rule)
`fortran_view`         an F-contiguous view of A or of A^T, copying only if needed
`singular_error`       the ``LinAlgError`` every road raises for a singular A
`norm1_estimate`       LAPACK's xLACN2 estimate of ||B||_1 from B x and B^H x (the
                       condition estimator of every road)
`trans_code`           ``trans`` (0/1/2, 'N'/'T'/'C', bool) as 0, 1 or 2
`HINTS`                the canonical ``assume_a`` values, for ``Solver.hints``
=====================  ===============================================================

Examples
--------
A road for matrices that are a multiple of the identity:

>>> import numpy as np
>>> from hybridsolve import plugin
>>> class ScaledIdentityFactorization(plugin.Factorization):
...     kind = "scaled_identity"
...     def __init__(self, c, n, dtype):
...         super().__init__((n, n), dtype)
...         self.c = c
...         self.rcond = 1.0
...     def _solve_inplace(self, b, trans):
...         b /= np.conj(self.c) if trans == 2 else self.c
>>> class ScaledIdentitySolver(plugin.Solver):
...     name = "scaled_identity"
...     formats = ("dense",)
...     def cost(self, s):
...         if s.lower_bandwidth != 0 or s.upper_bandwidth != 0:
...             return None, "not diagonal"
...         return 0.5 * s.n
...     def factorize(self, a, s):
...         c = a[0, 0]
...         if not np.all(np.diagonal(a) == c):
...             raise plugin.NotApplicable("diagonal not constant")
...         if c == 0:
...             raise plugin.singular_error("the matrix is zero")
...         return ScaledIdentityFactorization(c, a.shape[0], a.dtype)
>>> a = 2.0 * np.eye(3)
>>> s = plugin.Structure(3, a.dtype, lower_bandwidth=0, upper_bandwidth=0)
>>> ScaledIdentitySolver().factorize(a, s).solve(np.ones(3))
array([0.5, 0.5, 0.5])
"""
from hybridsolve._kernels.condest import norm1_estimate
from hybridsolve import _protocol
from hybridsolve._protocol import (Factorization, NotApplicable, Solver, Structure,
                                   fortran_view, result_dtype, singular_error,
                                   trans_code)

#: The canonical ``assume_a`` values a road may see in ``Structure.assume_a`` and declare
#: in ``Solver.hints`` (the front door maps scipy's long spellings onto these; None: no
#: hint was given).
HINTS = _protocol.HINTS

__all__ = [
    "Solver", "Factorization", "Structure", "NotApplicable",
    "result_dtype", "fortran_view", "singular_error", "norm1_estimate", "trans_code",
    "HINTS",
]
