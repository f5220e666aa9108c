"""What the dense roads that factor a square work buffer as it lies share."""
from __future__ import annotations

import numpy as np

from hybridsolve._protocol import Solver, fortran_view

_LAPACK = frozenset(np.dtype(t) for t in (np.float32, np.float64, np.complex64,
                                          np.complex128))


def square_lapack_view(a, kernel):
    """``fortran_view(a)`` of a square matrix of a LAPACK dtype; ``kernel`` names the
    road in the ValueError (not square) or TypeError (other dtype) it raises otherwise."""
    buf, transposed = fortran_view(a)
    if buf.ndim != 2 or buf.shape[0] != buf.shape[1]:
        raise ValueError(f"expected a square matrix, got shape {buf.shape}")
    if buf.dtype not in _LAPACK:
        raise TypeError(f"{kernel} kernel needs a LAPACK dtype, got {buf.dtype}")
    return buf, transposed


def conjugated_call(flip, b, kernel, *args):
    """``kernel(*args)``, which solves in place in ``b``, run on ``conj(b)`` with the
    result conjugated back when ``flip`` (``M conj(x) = conj(b)`` solves
    ``conj(M) x = b``).  Returns what ``kernel`` returned."""
    if flip:
        np.conjugate(b, out=b)
    out = kernel(*args)
    if flip:
        np.conjugate(b, out=b)
    return out


class BandStorageRoad(Solver):
    """The dense roads that copy A's band (diagonal, tridiagonal, general band) out into
    their own storage: they only read the dense array, during factorize."""
    formats = ("dense",)
    #: factorize copies the band out and keeps no reference to ``a``
    needs_copy = False
