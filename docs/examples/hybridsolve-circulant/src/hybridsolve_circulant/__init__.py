"""A hybridsolve road for circulant matrices.

A circulant matrix C (every column the previous one rotated down by one place) is
diagonalised by the discrete Fourier transform: C = F^-1 diag(fft(c)) F, with c its
first column.  So C x = b is x = ifft(fft(b) / fft(c)): O(n log n) per solve instead of
LU's 2/3 n^3, once C is known to be circulant.  Knowing that costs one pass over A, and
the pass stops at the first column that breaks the pattern: on any other matrix this
road declines (NotApplicable) after reading two columns, and the next road takes over.
"""
import math

import numpy as np

from hybridsolve import Factorization, NotApplicable, Solver

__all__ = ["CirculantSolver", "CirculantFactorization"]


class CirculantFactorization(Factorization):
    """The eigenvalues fft(c) of a circulant matrix with first column ``c``."""

    kind = "circulant"

    def __init__(self, c, dtype):
        super().__init__((c.size, c.size), dtype)
        self._c = c
        self._eig = {0: np.fft.fft(c)}
        # The inverse of a circulant matrix is circulant, with first column
        # ifft(1 / fft(c)): both 1-norms are exact, so rcond is exact too.
        inverse = np.fft.ifft(1.0 / self._eig[0])
        self.rcond = float(1.0 / (np.abs(c).sum() * np.abs(inverse).sum()))

    def _eigenvalues(self, trans):
        if trans not in self._eig:
            # A^T is circulant with first column c[0], c[n-1], c[n-2] and so on down to
            # c[1]; A^H has the conjugate of that column.
            ct = np.roll(self._c[::-1], 1)
            self._eig[trans] = np.fft.fft(ct if trans == 1 else ct.conj())
        return self._eig[trans]

    def _solve_inplace(self, b, trans):
        # b: F-contiguous (n, k) array of self's result dtype, overwritten with x.
        x = np.fft.ifft(np.fft.fft(b, axis=0) / self._eigenvalues(trans)[:, None], axis=0)
        b[:] = x if b.dtype.kind == "c" else x.real


class CirculantSolver(Solver):
    """Takes dense matrices whose columns are rotations of the first one."""

    name = "circulant"
    formats = ("dense",)      # declared: never priced for sparse, operator or batch input
    min_n = 64                # declared: below this the built-in small kernel is cheaper,
                              # so small dense solves keep their short-circuit
    needs_copy = False        # factorize() only reads A and keeps a copy of one column

    def cost(self, structure):
        n = structure.n
        if structure.assume_a not in (None, "gen"):
            return None, f"assume_a={structure.assume_a!r}: the hinted road is kept"
        if n < self.min_n:
            return None, f"n < {self.min_n}: the built-in small kernel is cheaper"
        if structure.lower_bandwidth == 0 or structure.upper_bandwidth == 0:
            return None, "triangular (a circulant matrix has no zero triangle)"
        # In flop-equivalents: reading A once to confirm the pattern (~n^2), then two
        # FFTs of ~5 n log2(n) flops each; complex arithmetic costs 4 real flops.
        flops = n * n + 10.0 * n * math.log2(n)
        return 4.0 * flops if structure.is_complex else flops

    def factorize(self, a, structure):
        c = np.array(a[:, 0])
        for j in range(1, a.shape[1]):
            if not np.array_equal(a[:, j], np.roll(c, j)):
                raise NotApplicable(f"not circulant (column {j} is not column 0 "
                                    f"rotated by {j})")
        size = np.abs(np.fft.fft(c))
        if size.min() <= c.size * np.finfo(c.dtype).eps * size.max():
            # An eigenvalue that is zero to the FFT's rounding: (nearly) singular.
            # Decline, and LU reports it exactly as scipy.linalg.solve would (an
            # error for an exactly singular A, else the ill-conditioning warning).
            raise NotApplicable("an eigenvalue is zero to rounding: left to LU")
        return CirculantFactorization(c, structure.dtype)
