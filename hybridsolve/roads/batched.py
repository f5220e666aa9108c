"""The batched road: a stack ``a[..., n, n]`` solved by one nogil kernel call.

``hybridsolve._kernels.small.solve_batched`` loops over the slices without the GIL (over
the cores when built with OpenMP), inspecting each slice on its own (Hermitian with a
real positive diagonal -> Cholesky with LU fallback, triangular -> substitution, else
pivoted LU), with no Python per slice.  Factor and solve are fused per slice (the stack
is read once, which is what bounds the speed), so this road's "factorization" keeps the
stack and runs the fused kernel on each ``solve``.

A batch reaches the registry as a ``Structure`` of format ``'batch'``: ``n`` the order of
each slice, ``extra['batch_shape']`` the broadcast batch shape and ``extra['nrhs']`` the
number of right-hand sides per slice.  A third-party road declaring
``formats = ('batch',)`` competes on the same prices.
"""
from __future__ import annotations

import numpy as np
from numpy.linalg import LinAlgError

from hybridsolve._protocol import Solver, Structure

__all__ = ["BatchedSolver", "BatchedStackFactorization", "batch_structure"]


def batch_structure(n, dtype, batch_shape, nrhs, check_finite=True, assume_a=None):
    """The Structure the front door prices a stack of ``batch_shape`` systems of order
    ``n`` with ``nrhs`` right-hand sides each by (``extra['check_finite']``: whether the
    road must reject NaN/inf)."""
    return Structure(n, dtype, "batch", assume_a=assume_a,
                     extra={"batch_shape": tuple(batch_shape), "nrhs": int(nrhs),
                            "check_finite": bool(check_finite)})


class BatchedStackFactorization:
    """The stack ``a`` (m, n, n) (a view of the caller's data, only read) and the fused
    per-slice kernel.  ``solve(b, trans)`` takes b (m, n, k) and returns x (m, n, k);
    afterwards ``rcond`` holds each slice's reciprocal condition estimate (a lower bound
    >= 4 eps where a cheap bound settles that no warning is due).

    Errors: ``ValueError`` for NaN/inf (with ``check_finite``), ``LinAlgError`` listing
    every exactly singular slice by its flat index into ``batch_shape`` (as scipy).
    """

    kind = "batched"

    def __init__(self, a, batch_shape, check_finite, flat_index=None):
        self.a = a
        self.shape = a.shape
        self.dtype = a.dtype
        self.batch_shape = tuple(batch_shape)
        self.check_finite = bool(check_finite)
        self.rcond = None
        # maps the stack's flat slice indices to those errors name (a Dask chunk's
        # place in the whole batch); None: the stack's own
        self.flat_index = flat_index

    def solve(self, b, trans=False):
        from hybridsolve._kernels.small import solve_batched

        b = np.asarray(b, dtype=self.dtype)
        if b.ndim != 3 or b.shape[:2] != self.a.shape[:2]:
            raise ValueError(f"b must have shape (m, n, k) matching a {self.a.shape}, "
                             f"got {b.shape}")
        eps = float(np.finfo(self.dtype).eps)
        x, info, rcond = solve_batched(self.a, b, bool(trans), self.check_finite, eps)
        if (info < 0).any():
            raise ValueError("array must not contain infs or NaNs")
        bad = np.flatnonzero(info)
        if bad.size:       # scipy's wording: flat indices into the batch
            if self.flat_index is not None:
                bad = self.flat_index(bad)
            raise LinAlgError(f"A singular matrix detected: slice(s) "
                              f"{list(map(int, bad))} are singular.")
        self.rcond = rcond
        return x


class BatchedSolver(Solver):
    """Stacks of dense systems with no hint, any order and LAPACK dtype."""

    name = "batched"
    formats = ("batch",)
    needs_copy = False

    def cost(self, structure: Structure):
        if structure.format != "batch":
            return None, "takes stacks of matrices"
        if structure.assume_a is not None:
            return None, "takes no hint (each slice is classified)"
        n = float(structure.n)
        m = float(np.prod(structure.extra.get("batch_shape", ()), dtype=float))
        k = float(structure.extra.get("nrhs", 1))
        flops = m * (2.0 * n ** 3 / 3.0 + 2.0 * n * n * k)
        return 4.0 * flops if structure.is_complex else flops

    def factorize(self, a, structure: Structure) -> BatchedStackFactorization:
        """``a``: the (m, n, n) stack (any strides, broadcast views included)."""
        return BatchedStackFactorization(a, structure.extra["batch_shape"],
                                         structure.extra.get("check_finite", True))
