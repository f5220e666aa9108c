"""Tridiagonal and band roads: LAPACK gttrf/gttrs/gtcon and gbtrf/gbtrs/gbcon through the
shim, with the diagonals / band storage packed in Cython straight from the work array
(either memory layout; the factors are always those of A itself)."""
from __future__ import annotations

import numpy as np

from hybridsolve._kernels import banded as _k
from hybridsolve._protocol import Factorization, singular_error
from hybridsolve.roads._dense import BandStorageRoad
from hybridsolve._tuning import value as _tuned

__all__ = ["TridiagonalSolver", "BandedSolver", "TridiagonalFactorization",
           "BandedFactorization"]

# Band LU (gbtrf) runs at a fraction of the dense LU rate (level-2 work for narrow
# bands, short level-3 panels for wide ones): band flops are priced _BAND_FLOP_WEIGHT
# dense flops, and beyond kl + ku > _BAND_MAX_FRACTION * n band storage does not pay
# (return None there); below it the weighted price lets the dispatcher compare with
# LU's (2/3) n^3.  Values and the measurements behind them: hybridsolve._tuning.
_BAND_FLOP_WEIGHT = _tuned("band_flop_weight")
_BAND_MAX_FRACTION = _tuned("band_max_fraction")


def _priced_terms(structure):
    """What both roads price on: n, the element type's weight (complex 4), and the
    ``assume_a`` hint ('gen' / 'general': None)."""
    a = structure.assume_a
    return (structure.n, 4 if structure.is_complex else 1,
            None if a in ("gen", "general") else a)


class TridiagonalFactorization(Factorization):
    kind = "tridiagonal"

    def __init__(self, dl, d, du):
        n = d.shape[0]
        super().__init__((n, n), d.dtype)
        # ||A||_1 of the tridiagonal A (max column sum)
        col = np.abs(d)
        if n > 1:
            col[:-1] += np.abs(dl)
            col[1:] += np.abs(du)
        anorm = float(col.max()) if n else 0.0
        du2 = np.zeros(max(n - 2, 0), dtype=d.dtype)
        ipiv = np.zeros(max(n, 1), dtype=np.intc)
        info = _k.gttrf(dl, d, du, du2, ipiv) if n else 0
        if info > 0:
            raise singular_error(f"zero pivot U[{info - 1}, {info - 1}] in the "
                                 "tridiagonal LU")
        if info < 0:
            raise ValueError(f"illegal value in argument {-info} of gttrf")
        self.dl, self.d, self.du, self.du2, self.ipiv = dl, d, du, du2, ipiv
        self.anorm = anorm
        if n == 0:
            self.rcond = 1.0
        elif anorm == 0:
            self.rcond = 0.0
        else:
            rc, info = _k.gtcon(dl, d, du, du2, ipiv, anorm)
            self.rcond = float(rc)

    def _solve_inplace(self, b, trans):
        info = _k.gttrs(self.dl, self.d, self.du, self.du2, self.ipiv, b, trans)
        if info < 0:
            raise ValueError(f"illegal value in argument {-info} of gttrs")


class BandedFactorization(Factorization):
    kind = "banded"

    def __init__(self, ab, kl, ku):
        n = ab.shape[1]
        super().__init__((n, n), ab.dtype)
        # ||A||_1: column sums of the band rows kl.. of ab (rows 0..kl-1 are zero)
        anorm = float(np.abs(ab[kl:]).sum(axis=0).max()) if n else 0.0
        ipiv = np.zeros(max(n, 1), dtype=np.intc)
        info = _k.gbtrf(ab, kl, ku, ipiv)
        if info > 0:
            raise singular_error(f"zero pivot U[{info - 1}, {info - 1}] in the band LU")
        if info < 0:
            raise ValueError(f"illegal value in argument {-info} of gbtrf")
        self.ab, self.kl, self.ku, self.ipiv, self.anorm = ab, kl, ku, ipiv, anorm
        if n == 0:
            self.rcond = 1.0
        elif anorm == 0:
            self.rcond = 0.0
        else:
            rc, info = _k.gbcon(ab, kl, ku, ipiv, anorm)
            self.rcond = float(rc)

    def _solve_inplace(self, b, trans):
        info = _k.gbtrs(self.ab, self.kl, self.ku, self.ipiv, b, trans)
        if info < 0:
            raise ValueError(f"illegal value in argument {-info} of gbtrs")


class TridiagonalSolver(BandStorageRoad):
    """Lower and upper bandwidth <= 1 (n >= 3, not diagonal), or
    ``assume_a='tridiagonal'`` (then only the three diagonals are read, as scipy)."""
    name = "tridiagonal"
    hints = (None, "gen", "tridiagonal")

    def cost(self, structure):
        lb, ub = structure.lower_bandwidth, structure.upper_bandwidth
        if structure.assume_a is None and lb is not None and (lb > 1 or ub > 1):
            # the common rejection first: this is priced on every dense solve
            return None, f"not tridiagonal (bandwidths {lb}, {ub})"
        n, scale, hint = _priced_terms(structure)
        if hint == "tridiagonal":
            return float(10 * n * scale)
        if hint is not None:
            return None, f"assume_a={hint!r}"
        if lb is None or ub is None:
            return None, "bandwidth unknown"
        if lb > 1 or ub > 1:
            return None, f"not tridiagonal (bandwidths {lb}, {ub})"
        if lb == 0 and ub == 0:
            return None, "diagonal"
        if n < 3:
            return None, "n < 3"
        return float(10 * n * scale)

    def factorize(self, a, structure):
        dl, d, du = _k.extract_tridiagonal(_contiguous(a))
        return TridiagonalFactorization(dl, d, du)


class BandedSolver(BandStorageRoad):
    """General band (kl, ku) through LAPACK's band LU, when band storage pays
    (kl + ku <= n/3, see the measurement above); ``assume_a='banded'`` is always
    accepted (the bandwidth is then measured on the work array if unknown)."""
    name = "banded"
    hints = (None, "gen", "banded")

    def cost(self, structure):
        lb, ub = structure.lower_bandwidth, structure.upper_bandwidth
        if (structure.assume_a is None and lb is not None
                and lb + ub > _BAND_MAX_FRACTION * structure.n):
            # the common rejection first: this is priced on every dense solve
            return None, f"band too wide for band storage to pay (kl+ku={lb + ub} > n/3)"
        n, scale, hint = _priced_terms(structure)
        if hint is not None and hint != "banded":
            return None, f"assume_a={hint!r}"
        if lb is None or ub is None:
            if hint == "banded":
                # bandwidth measured in factorize(); price a middling band
                return float(scale * _BAND_FLOP_WEIGHT * 2.0 * n * n * n / 27)
            return None, "bandwidth unknown"
        if hint is None and lb + ub > _BAND_MAX_FRACTION * n:
            return None, (f"band too wide for band storage to pay "
                          f"(kl+ku={lb + ub} > n/3)")
        flops = 2.0 * n * lb * (lb + ub + 1) + 2.0 * n * (2 * lb + ub + 1)
        return float(scale * _BAND_FLOP_WEIGHT * flops)

    def factorize(self, a, structure):
        a = _contiguous(a)
        kl, ku = structure.lower_bandwidth, structure.upper_bandwidth
        if kl is None or ku is None:
            from hybridsolve._inspect import bandwidth
            kl, ku = bandwidth(a)
        ab = _k.pack_band(a, int(kl), int(ku))
        return BandedFactorization(ab, int(kl), int(ku))


def _contiguous(a):
    a = np.asarray(a)
    if a.flags.c_contiguous or a.flags.f_contiguous:
        return a
    return np.asfortranarray(a)
