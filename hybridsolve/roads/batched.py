"""The batched road: a stack ``a[..., n, n]`` solved by nogil kernel calls.

Real stacks of order n <= tuning ``batch_compact_n`` (float64; ``batch_compact_n32`` for
float32), at most 16 right-hand sides per slice, go to
``hybridsolve._kernels.batched.solve_compact``: W slices per group, one SIMD lane each
(L D L^T for groups of symmetric positive-diagonal slices, else partial-pivoting LU),
with a rigorous rcond bound per slice.  Every slice it does not settle
(singular, ill-conditioned, non-finite) -- and every other stack (complex ones: their
per-slice kernel is already arithmetic-bound, larger n) -- goes to
``hybridsolve._kernels.small.solve_batched``, which loops over the slices without the
GIL (over the cores when built with OpenMP), inspecting each slice on its own (Hermitian
with a real positive diagonal -> Cholesky with LU fallback, triangular -> substitution,
else pivoted LU), with no Python per slice.  So info codes, rcond estimates and warnings
are always that kernel's.  Factor and solve are fused per slice (the stack is read once,
which is what bounds the speed), so this road's "factorization" keeps the stack and runs
the fused kernels on each ``solve``.

A long batch is solved in chunks of about tuning ``batch_interrupt_work`` flops each;
KeyboardInterrupt is honoured between them.

A batch reaches the registry as a ``Structure`` of format ``'batch'``: ``n`` the order of
each slice, ``extra['batch_shape']`` the broadcast batch shape and ``extra['nrhs']`` the
number of right-hand sides per slice.  A third-party road declaring
``formats = ('batch',)`` competes on the same prices.
"""
from __future__ import annotations

import numpy as np
from numpy.linalg import LinAlgError

from hybridsolve._protocol import Solver, Structure
from hybridsolve._threads import num_threads
from hybridsolve._tuning import value as _tuned

__all__ = ["BatchedSolver", "BatchedStackFactorization", "batch_structure"]

# Tuning (defaults and reasons in hybridsolve._tuning), read at import: largest order
# for the compact kernel (float64, float32), and work per kernel call of a long batch.
_COMPACT_N = {"d": int(_tuned("batch_compact_n")), "f": int(_tuned("batch_compact_n32"))}
_INTERRUPT_WORK = float(_tuned("batch_interrupt_work"))


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
        from hybridsolve._kernels.batched import COMPACT_K, COMPACT_N, solve_compact
        from hybridsolve._kernels.small import solve_batched

        b = np.asarray(b, dtype=self.dtype)
        if b.ndim != 3 or b.shape[:2] != self.a.shape[:2]:
            raise ValueError(f"b must have shape (m, n, k) matching a {self.a.shape}, "
                             f"got {b.shape}")
        a, trans = self.a, bool(trans)
        m, n, _ = a.shape
        k = b.shape[2]
        eps = float(np.finfo(self.dtype).eps)
        compact = (0 < n <= min(COMPACT_N, _COMPACT_N.get(self.dtype.char, 0))
                   and 0 < k <= COMPACT_K)
        work = n ** 3 / 3.0 + 2.0 * n * n * (k + 4)        # solve_batched's count per slice
        step = max(1, int(_INTERRUPT_WORK / max(work, 1.0)))
        if not compact and m <= step:                       # one call, its own result
            x, info, rcond = solve_batched(a, b, trans, self.check_finite, eps)
        else:
            x = np.empty(b.shape, self.dtype)
            # info: None while every slice is settled by the compact kernel (no pass
            # over m codes then)
            info = None if compact else np.zeros(m, np.int32)
            rcond = np.empty(m)
            nthreads = num_threads()
            for s0 in range(0, m, step):                    # KeyboardInterrupt between
                s1 = min(m, s0 + step)
                if compact:
                    _, done, _ = solve_compact(a[s0:s1], b[s0:s1], trans, eps, nthreads,
                                               x[s0:s1], rcond[s0:s1])
                    if not done.all():      # singular, ill-conditioned, non-finite
                        redo = s0 + np.flatnonzero(done == 0)
                        if info is None:
                            info = np.zeros(m, np.int32)
                        x[redo], info[redo], rcond[redo] = solve_batched(
                            a[redo], b[redo], trans, self.check_finite, eps)
                else:
                    x[s0:s1], info[s0:s1], rcond[s0:s1] = solve_batched(
                        a[s0:s1], b[s0:s1], trans, self.check_finite, eps)
        if info is None:
            self.rcond = rcond
            return x
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
