"""The small-n road: one kernel call classifies, factors and solves a small dense A.

``hybridsolve._kernels.small`` classifies A with early exits (upper / lower triangular,
Hermitian with a real positive diagonal -> Cholesky with an LU fallback, else partially
pivoted LU) and factors it with its own unrolled or column loops, without BLAS calls
and without the GIL.  Below about n = 64 that is faster than any road that goes through
Python-level factor and solve calls, whatever the structure, because their fixed cost
per call (``call_overhead``, priced by the registry) is larger than the whole work here.

`solve` hands a float64 / complex128 system with no hint straight to this road's kernel
(``small_solve``: factor and solve in one call) whenever the registry would choose it
anyway: see ``hybridsolve._registry.shortcut_open``.  Where that short-circuit is closed
and the registry, having inspected and priced A, picks this road for a one-shot
``solve``, it makes the same single call (``solve_once``), so its price carries no
per-call overhead on either path.
"""
from __future__ import annotations

import numpy as np

from hybridsolve._kernels import small as _k
from hybridsolve._protocol import (Factorization, Solver, Structure, eps_of,
                                   singular_error)
from hybridsolve._tuning import value as _tuned

__all__ = ["SmallSolver", "SmallFactorization", "SMALL_N", "small_flops"]

#: Largest order the small kernels take.
SMALL_N = _k.SMALL_N
#: Largest order of a complex A the road prices for its LU (tuning small_complex_lu_max).
COMPLEX_LU_MAX = _tuned("small_complex_lu_max")

_KINDS = {0: "small-lu", 1: "small-cholesky", 2: "small-upper-triangular",
          3: "small-lower-triangular"}
_SIG = frozenset("fdFD")


def small_flops(n, complex_, kind="lu"):
    """Flops of the small kernel's factorization of kind ``kind`` ('lu', 'cholesky',
    'triangular') plus one solve, in real operations (x4 for complex)."""
    n = float(n)
    if kind == "triangular":
        flops = n * n
    elif kind == "cholesky":
        flops = n * n * n / 3.0 + 2.0 * n * n
    else:
        flops = 2.0 * n * n * n / 3.0 + 2.0 * n * n
    return 4.0 * flops if complex_ else flops


class SmallFactorization(Factorization):
    """The small kernels' factors of A (n <= SMALL_N), reused for every ``solve``.

    ``kind`` is 'small-lu', 'small-cholesky', 'small-upper-triangular' or
    'small-lower-triangular'; ``rcond`` (the 1-norm estimate, LAPACK gecon-like) is
    computed on first access.
    """

    def __init__(self, fac, ipiv, kind, anorm):
        super().__init__(fac.shape, fac.dtype)
        self.fac = fac
        self.ipiv = ipiv
        self.code = int(kind)
        self.kind = _KINDS[self.code]
        self.anorm = float(anorm)
        self._rcond = None

    @property
    def rcond(self):
        if self._rcond is None:
            self._rcond = float(_k.small_rcond(self.fac, self.ipiv, self.code, self.anorm))
        return self._rcond

    def _solve_inplace(self, b, trans):
        _k.small_apply(self.fac, self.ipiv, self.code, b, trans)


class SmallSolver(Solver):
    """Dense A of order 1..SMALL_N with no hint, every LAPACK dtype.

    Its price is the flops of what its kernel will do with this structure, with no
    per-call overhead: a one-shot solve is one C call (``call_overhead = 0``), whether
    the front door's short-circuit makes it or the registry's general path does
    (``solve_once``).  ``factorize`` is one C call too (``small_factor``); its
    factorization's solves and rcond are further calls, as every road's are.  A
    complex general A above tuning ``small_complex_lu_max`` is left to the LU road."""

    name = "small"
    hints = (None,)          # it classifies A itself
    formats = ("dense",)
    min_n = 1
    max_n = SMALL_N
    call_overhead = 0.0

    def cost(self, structure: Structure):
        n = structure.n
        if not 1 <= n <= SMALL_N:
            return None, f"n = {n} is outside 1..{SMALL_N}"
        if structure.assume_a is not None:
            return None, "takes no hint (it classifies A itself)"
        if structure.dtype.char not in _SIG:
            return None, f"dtype {structure.dtype} is not a LAPACK type"
        kind = self._kind(structure)
        if kind == "lu" and structure.is_complex and n > COMPLEX_LU_MAX:
            return None, (f"complex LU at n = {n} > {COMPLEX_LU_MAX}: the LU road's "
                          f"blocked kernel is faster (tuning small_complex_lu_max)")
        return small_flops(n, structure.is_complex, kind)

    @staticmethod
    def _kind(s):
        """What the kernel's classification will pick, from what the inspection found
        (a structure with unknown fields is priced as the worst case, LU)."""
        if s.lower_bandwidth == 0 or s.upper_bandwidth == 0:
            return "triangular"
        if s.hermitian and s.diag_real_positive:
            return "cholesky"       # a failed Cholesky falls back to LU inside
        return "lu"

    def solve_once(self, a, structure: Structure, b, trans):
        """The front door's one-shot solve through the registry: the short-circuit's
        own single kernel call (``small_solve``: copy to scratch, classify, factor,
        solve, estimate rcond) on the work array ``a``, whose finiteness the inspection
        has settled (as the front door has ``b``'s); ``trans`` 0 or 1 (solve's
        ``transposed``).  Returns ``(x, rcond)``; rcond may be a proven lower bound
        >= 4 eps instead of the estimate (it is only compared with eps).  Raises
        LinAlgError for an exactly singular A."""
        x, info, rcond = _k.small_solve(a, b, bool(trans), False,
                                        eps_of(a.dtype))
        if info > 0:
            raise singular_error(f"pivot {info - 1} is exactly zero")
        if info < 0:     # pragma: no cover - not asked to check finiteness
            raise ValueError("array must not contain infs or NaNs")
        return x, rcond

    def factorize(self, a, structure: Structure | None = None, *,
                  check_finite=True) -> SmallFactorization:
        """Factor ``a`` (any strides).  Raises LinAlgError for an exactly singular A.

        Without a structure (the front door's short-circuit, which skips the
        inspection) ``a`` is the caller's array: it is only read, and NaN/inf raise
        ValueError when ``check_finite``.  With one, ``a`` is the front door's work
        array (the inspection has checked finiteness, or was told not to): an
        F-contiguous one then holds the factors, as with the LAPACK-style roads."""
        a = np.asarray(a)
        fac, ipiv, kind, info, anorm = _k.small_factor(
            a, structure is None and check_finite)
        if info < 0:
            raise ValueError("array must not contain infs or NaNs")
        if info > 0:
            raise singular_error(f"pivot {info - 1} is exactly zero")
        if (structure is not None and a.flags.f_contiguous and a.flags.writeable
                and a.dtype == fac.dtype and a.ndim == 2):
            # the front door's work array (a private copy, or the caller's own with
            # overwrite_a): hold the factors there, as the LAPACK-style roads do
            a[...] = fac
            fac = a
        return SmallFactorization(fac, ipiv, kind, anorm)
