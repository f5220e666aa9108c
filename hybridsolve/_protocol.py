"""The public, small protocol every road implements: Structure, Solver, Factorization.

A *Structure* is what the inspection pass found out about ``A``; a *Solver* prices a
structure and factorizes; a *Factorization* solves for any number of right-hand sides,
reusing its factors.  The dispatcher knows nothing else about a concrete road.
"""
from __future__ import annotations

import numpy as np
from numpy.linalg import LinAlgError

__all__ = [
    "NotApplicable",
    "Structure",
    "Solver",
    "Factorization",
    "fortran_view",
    "trans_code",
    "result_dtype",
    "singular_error",
    "HINTS",
]

#: The canonical ``assume_a`` values a road may see in ``Structure.assume_a`` (the
#: front door maps scipy's long spellings onto these; None: no hint).
HINTS = (None, "gen", "sym", "her", "pos", "diagonal", "tridiagonal", "banded",
         "upper triangular", "lower triangular")


class NotApplicable(Exception):
    """Raised by ``Solver.factorize`` when the road turns out not to fit ``A``.

    Example: Cholesky meets a non-positive pivot.  The dispatcher then tries the next
    candidate with the same work array, so a solver raising this must leave ``a``
    holding the values of ``A`` again (Cholesky restores the triangle it wrote from the
    one it did not touch).  ``str(exc)`` says why; ``explain()`` shows it.
    """


_LAPACK_CHARS = frozenset("fdFD")


def result_dtype(*dtypes) -> np.dtype:
    """The dtype ``scipy.linalg.solve`` computes in for inputs of these dtypes.

    scipy's rule (``scipy.linalg._basic._ensure_dtype_cdsz``): the numpy result type of
    all of them; integers and bools go to float64; a result of at most 32 bits goes to
    float32 (complex64), a wider one to float64 (complex128).

    Parameters
    ----------
    *dtypes : dtype-like
        At least one.

    Returns
    -------
    numpy.dtype
        float32, float64, complex64 or complex128.

    Raises
    ------
    ValueError
        For object dtypes (as scipy).
    TypeError
        For other non-numeric dtypes (strings, datetimes, ...).
    """
    first = dtypes[0]
    if (len(dtypes) <= 2 and getattr(first, "char", "") in _LAPACK_CHARS
            and (len(dtypes) == 1 or dtypes[1] is first)):
        return first                      # the common case, without numpy's promotion
    dtypes = [np.dtype(dt) for dt in dtypes]
    for dt in dtypes:
        if dt.kind not in "biufc":
            if dt.kind == "O":
                raise ValueError("object arrays are not supported")
            raise TypeError(f"unsupported array dtype {dt}: expected numbers")
    dt = np.result_type(*dtypes)
    if dt.kind in "biu":
        return np.dtype(np.float64)
    single = np.finfo(dt).bits <= 32
    if dt.kind == "c":
        return np.dtype(np.complex64 if single else np.complex128)
    return np.dtype(np.float32 if single else np.float64)


_EPS: dict = {}


def eps_of(dt) -> float:
    """Machine epsilon of the dtype ``dt``, cached per dtype: what a computation in that
    dtype judges rcond by (scipy compares with LAPACK's lamch('E') of the computation
    dtype)."""
    try:
        return _EPS[dt]
    except KeyError:
        return _EPS.setdefault(dt, float(np.finfo(dt).eps))


def fortran_view(a: np.ndarray):
    """An F-contiguous array holding ``a`` or ``a.T``, copying only when needed.

    A C-ordered A is A^T in Fortran order: factor that buffer and solve with the
    transposed ``trans`` instead of making a transposing copy.

    Parameters
    ----------
    a : ndarray, 2-D

    Returns
    -------
    buf : ndarray
        F-contiguous: ``a`` itself (F-ordered input), ``a.T`` (C-ordered input, no
        copy) or an F-ordered copy of ``a`` (any other layout).
    transposed : bool
        True when ``buf`` holds ``a.T``.
    """
    if a.flags.f_contiguous:
        return a, False
    if a.flags.c_contiguous:
        return a.T, True
    return np.asfortranarray(a), False


def trans_code(trans) -> int:
    """Normalise ``trans`` as ``scipy.linalg.lu_solve`` does.

    Parameters
    ----------
    trans : {0, 1, 2, 'N', 'T', 'C', False, True, None}
        0/'N'/False/None: A x = b, 1/'T'/True: A^T x = b, 2/'C': A^H x = b.

    Returns
    -------
    int
        0, 1 or 2.

    Raises
    ------
    ValueError
        Any other value.
    """
    if trans is False or trans is None:
        return 0
    if trans is True:
        return 1
    code = {0: 0, 1: 1, 2: 2, "N": 0, "T": 1, "C": 2, "n": 0, "t": 1, "c": 2}.get(trans)
    if code is None:
        raise ValueError(f"trans must be 0, 1, 2, 'N', 'T' or 'C', got {trans!r}")
    return code


class Structure:
    """What is known about a matrix ``A`` before any solver runs.

    Dense fields are filled by the Cython inspection pass (``format == 'dense'``); a
    structure built from an ``assume_a`` hint carries the hint and leaves unknown
    fields at ``None``.  Solvers may attach road-specific findings in ``extra`` (e.g. a
    detected low-rank term); ``notes`` collects human-readable remarks for ``explain()``.
    """

    __slots__ = (
        "n", "dtype", "format", "finite", "symmetric", "hermitian",
        "diag_real_positive", "lower_bandwidth", "upper_bandwidth", "nnz",
        "norm1", "assume_a", "lower", "extra", "notes",
    )

    def __init__(self, n, dtype, format="dense", *, finite=None, symmetric=None,
                 hermitian=None, diag_real_positive=None, lower_bandwidth=None,
                 upper_bandwidth=None, nnz=None, norm1=None, assume_a=None,
                 lower=False, extra=None, notes=None):
        self.n = n
        self.dtype = np.dtype(dtype)
        self.format = format                  # 'dense' | 'sparse' | 'operator'
        self.finite = finite                  # no NaN/inf (None: not checked)
        self.symmetric = symmetric            # A == A.T
        self.hermitian = hermitian            # A == A^H (== symmetric for real A)
        self.diag_real_positive = diag_real_positive  # every a_ii real and > 0
        self.lower_bandwidth = lower_bandwidth  # max i - j over nonzeros a_ij
        self.upper_bandwidth = upper_bandwidth  # max j - i over nonzeros a_ij
        self.nnz = nnz                        # number of nonzero entries (None: unknown;
        # the dense inspection stops counting past 5% density: then
        # extra['nnz_at_least'] holds the count it reached)
        self.norm1 = norm1                    # ||A||_1, max column sum of |a_ij|
        self.assume_a = assume_a              # canonical hint, or None (detected)
        self.lower = lower                    # triangle the sym/her/pos hint reads
        # (with 'sym'/'her' the front door has already mirrored that triangle into the
        # other; with 'pos' it has not: a road taking 'pos' reads only that triangle)
        self.extra = {} if extra is None else extra
        self.notes = [] if notes is None else notes

    @property
    def is_complex(self) -> bool:
        return self.dtype.kind == "c"

    def __repr__(self):
        fields = ", ".join(
            f"{k}={getattr(self, k)!r}" for k in self.__slots__
            if k not in ("extra", "notes") and getattr(self, k) is not None
        )
        return f"Structure({fields})"


class Solver:
    """A road.  Subclass (or duck-type) and register through the entry-point group
    ``hybridsolve.solvers`` or ``hybridsolve.register``.

    Attributes
    ----------
    name : str
        Unique; shown by ``explain()`` and ``solvers()``; ``method=name`` forces it.
    formats : tuple of str, optional
        The structure formats the road takes ('dense', 'sparse', 'operator', 'batch'
        -- a stack of dense systems, see `hybridsolve.roads.batched` --, 'dask');
        others are not priced.  None: ``cost`` is asked for every format.
    hints : tuple, optional
        The ``assume_a`` values the road takes, in their canonical spellings (see
        `HINTS`; ``None`` in the tuple: no hint given); for others it is not priced
        (``explain`` says so).  None: ``cost`` is asked whatever the hint.  A
        declaration must not refuse a hint for which ``cost`` would give a price.
    min_n, max_n : int, optional
        The orders of A the road may take (default: any; outside them ``cost`` is not
        asked).  With ``formats`` they are
        the road's *declarations*: the front door's short-circuit for small dense
        systems (the ``small`` road's kernel, called without inspection or pricing) is
        taken only where no other registered road could win by its declarations --
        a road that declares neither ``formats`` nor a size range is assumed to be
        able to claim every call.
    call_overhead : float, optional
        The road's fixed cost per call in the prices' unit (flop-equivalents), added
        by the registry to every price of this road.  Default
        ``hybridsolve._registry.CALL_OVERHEAD``, the fixed cost of a road that goes
        through Python-level factor and solve calls; a road that is one C call may
        declare less.
    solve_once : callable, optional
        ``solve_once(a, structure, b, trans) -> (x, rcond)``: factor, solve and
        estimate rcond in one call, for a one-shot ``solve`` (``a`` as ``factorize``
        would get it; ``b`` 2-D of the computation dtype, already checked for
        finiteness; ``trans`` 0 or 1).  When the registry picks the road for such a
        call (without ``overwrite_a`` / ``overwrite_b``) the front door calls it
        instead of ``factorize`` and the factorization's ``solve`` and ``rcond``;
        ``rcond`` is only compared with eps.  Raises as ``factorize`` would.
    needs_copy : bool, default True
        Whether ``factorize`` needs a private dense working copy of A (one it may
        overwrite or keep).  A road that sets it False promises to only *read* the
        dense array it is given, during the call, and never to keep a reference to it
        (it may then be handed the caller's own array).
    preview : callable, optional
        ``preview(a, request)``, for a road that can tell cheaply (far below one pass
        over A) whether it may want a dense A *before* the inspection copies it.  Called
        by the one-shot calls (``solve``, ``explain``: the factorization does not
        outlive the call) with the caller's own C- or F-contiguous A, of the LAPACK
        dtype, when no ``assume_a`` is given and the road's declared ``formats``/size
        range take it; ``a`` must only be read.  ``request``: the call's options, a
        dict (``'precision'``: 'auto', 'mixed' or 'double').  Returns None (nothing to say) or a dict, kept in
        ``structure.extra['previews'][name]`` for the road's ``cost`` and
        ``factorize``; ``{'borrow': True, ...}`` asks the front door to make no working
        copy: the inspection only reads A, this road is then handed the caller's array
        (and may keep a reference to it until the call returns; it must not write to
        it), and every road that needs a copy is charged for it and given one.
    """

    name: str = ""
    #: Optional: the ``Structure.format`` values this road takes ('dense', 'sparse',
    #: 'operator'); the dispatcher skips pricing it for others.  None: ask ``cost``.
    formats: tuple | None = None
    #: Optional: the canonical ``assume_a`` values (`HINTS`; None: no hint) this road
    #: takes; the dispatcher skips pricing it for others.  None: ask ``cost``.
    hints: tuple | None = None
    #: False: ``factorize`` only reads a dense ``a`` during the call and keeps no
    #: reference to it, so the front door need not copy A for it.  When the inspection
    #: found a sparse-looking dense A (``structure.extra['captured']`` holds its
    #: nonzeros) and copied nothing, a road needing a copy is charged for making it.
    needs_copy: bool = True

    def cost(self, structure: Structure) -> float | None:
        """Estimated flops to factor and solve once, or ``None`` if this road cannot
        solve a matrix of this structure.  May return ``(None, "why")`` — a tuple —
        to say why not; ``explain()`` shows the reason."""
        raise NotImplementedError

    def factorize(self, a, structure: Structure) -> "Factorization":
        """Factor ``a`` (an array the solver may overwrite, holding the values of A;
        for sparse input a scipy.sparse array).  May raise ``NotApplicable``."""
        raise NotImplementedError

    def __repr__(self):
        return f"<{type(self).__name__} {self.name!r}>"


class Factorization:
    """A reusable factorization of an n x n matrix.

    Subclasses set ``kind``, ``shape``, ``dtype``, ``rcond`` and implement
    ``_solve_inplace(b, trans)`` for an F-contiguous (n, k) array ``b`` of ``self.dtype``
    that they overwrite with the solution (trans: 0 A, 1 A^T, 2 A^H).
    """

    kind: str = ""
    rcond: float = float("nan")
    #: Human-readable remarks (fallbacks taken, refinement steps) for ``explain()``.
    notes: tuple = ()

    def __init__(self, shape, dtype):
        self.shape = tuple(shape)
        self.dtype = np.dtype(dtype)

    def _solve_inplace(self, b: np.ndarray, trans: int) -> None:
        raise NotImplementedError

    def solve(self, b, trans=False, *, overwrite_b=False, check_finite=True):
        """Solve ``A x = b`` (``trans``: 0/'N', 1/'T' or True: ``A^T x = b``,
        2/'C': ``A^H x = b``) for 1-D ``b`` of length n or 2-D ``b`` of shape (n, k).

        Returns an array shaped like ``b`` of the common LAPACK dtype of A and b.
        ``b`` is never modified unless ``overwrite_b`` is true and it already has that
        dtype and F-contiguous layout, in which case the result is written into it.
        """
        code = trans_code(trans)
        b = np.asarray(b)
        n = self.shape[0]
        if b.ndim not in (1, 2):
            raise ValueError(f"b must be 1-D or 2-D, got b.ndim={b.ndim}")
        if b.shape[0] != n:
            raise ValueError(f"incompatible dimensions: A is {self.shape}, b is {b.shape}")
        dtype = result_dtype(self.dtype, b.dtype)
        if check_finite and b.size and not np.isfinite(b).all():
            raise ValueError("array must not contain infs or NaNs")
        if dtype is not self.dtype and dtype != self.dtype:
            # complex b with real factors: solve for the real and imaginary parts
            x = np.empty(b.shape, dtype=dtype, order="F")
            x.real = self.solve(b.real, code, check_finite=False)
            x.imag = self.solve(b.imag, code, check_finite=False)
            return x
        b2 = b if b.ndim == 2 else b[:, None]
        if (overwrite_b and b2.dtype == dtype and b2.flags.f_contiguous
                and b2.flags.writeable and b2.dtype.isnative):
            work = b2
        else:
            work = np.array(b2, dtype=dtype, order="F", copy=True)
        if work.size:
            self._solve_inplace(work, code)
        return work if b.ndim == 2 else work[:, 0]

    def __setstate__(self, state):
        """Unpickling: arrays that arrive read-only or unaligned (pickle protocol 5
        buffers, as Dask's distributed ships them) are copied, since the kernels take
        writeable, aligned arrays."""
        for key, value in state.items():
            if isinstance(value, np.ndarray) and not (value.flags.writeable
                                                      and value.flags.aligned):
                state[key] = value.copy(order="K")
        self.__dict__.update(state)

    def __repr__(self):
        return (f"<{type(self).__name__} kind={self.kind!r} shape={self.shape} "
                f"dtype={self.dtype} rcond={self.rcond:.3g}>")


def singular_error(detail: str = "") -> LinAlgError:
    """The ``LinAlgError`` every road raises for an exactly singular matrix.

    Parameters
    ----------
    detail : str, optional
        What was found (e.g. which pivot is zero); appended to scipy's message.

    Returns
    -------
    numpy.linalg.LinAlgError
        To be raised by the caller: ``raise singular_error("U[3, 3] is zero")``.
    """
    msg = "A singular matrix detected"
    return LinAlgError(f"{msg}: {detail}" if detail else f"{msg}.")
