"""The front door: ``solve`` and ``factorize`` with scipy.linalg.solve's whole contract.

Data flow (one straight line): normalise the arguments exactly as scipy does -> inspect A
in one Cython pass fused with the copy the kernels need -> price every registered road ->
factorize with the cheapest (a road may decline with NotApplicable: next one) -> solve.
"""
from __future__ import annotations

import warnings

import numpy as np
from numpy.linalg import LinAlgError
from scipy.linalg import LinAlgWarning

from hybridsolve import _registry
from hybridsolve._inspect import dense_copy, inspect_dense, symmetrize
from hybridsolve._protocol import Factorization as _Factorization
from hybridsolve._protocol import _LAPACK_CHARS, HINTS, NotApplicable, result_dtype
from hybridsolve._protocol import eps_of as _eps

__all__ = ["solve", "factorize", "plan"]

# scipy's spellings -> our canonical hint (the short form scipy also accepts).
_HINTS = {h: h for h in HINTS}
_HINTS.update({"general": "gen", "symmetric": "sym", "hermitian": "her",
               "positive definite": "pos"})

# The bandwidths a band-type hint declares (scipy reads only those entries of A).
_HINT_BANDS = {
    "diagonal": (0, 0),
    "tridiagonal": (1, 1),
    "upper triangular": (0, None),
    "lower triangular": (None, 0),
}


def canonical_hint(assume_a):
    try:
        return _HINTS[assume_a]
    except (KeyError, TypeError):
        raise ValueError(f"{assume_a} is not a recognized matrix structure") from None


def _as_array(x, name):
    if _is_sparse(x):
        raise TypeError(f"{name}: a scipy.sparse {name} is not supported here")
    arr = np.asarray(x)
    if isinstance(x, np.ma.MaskedArray):
        raise ValueError("masked arrays are not supported")
    return arr


def _checked_before(a1, b1, check_finite):
    """On an error path: run the finiteness checks scipy makes before that error (ours
    are fused into later passes), so the first error is scipy's."""
    if check_finite:
        _check_finite(a1)
        _check_finite(b1)


def _strings_to_float(a1, b1, check_finite):
    """scipy's dtype rule for string arrays (``_ensure_dtype_cdsz``): when numpy's result
    type of the two is a string, both are converted with ``astype(float64)`` -- numeric
    strings are parsed, anything else raises numpy's ValueError (non-finite values
    parsed from strings are then caught by the usual check)."""
    if np.result_type(a1, b1).kind not in "SU":
        return a1, b1                 # e.g. strings with an object array: scipy's error
    _checked_before(a1, b1, check_finite)   # scipy's asarray_chkfinite ran first
    return a1.astype(np.float64), b1.astype(np.float64)


def _is_sparse(x):
    mod = type(x).__module__
    if not mod.startswith("scipy.sparse"):
        return False
    import scipy.sparse as sp
    return sp.issparse(x)


def _is_dask(x):
    if not type(x).__module__.startswith("dask"):
        return False
    from hybridsolve._dask import is_dask
    return is_dask(x)


def _check_finite(arr):
    if arr.dtype.kind in "fc" and not np.isfinite(arr).all():
        raise ValueError("array must not contain infs or NaNs")


def _native(arr, dtype):
    """``(array, converted)``: ``arr`` as ``dtype`` in native byte order and aligned (a
    copy only if needed); ``converted`` says the array is a fresh copy we may overwrite."""
    if arr.dtype is dtype and arr.flags.aligned:
        return arr, False
    out = np.require(arr.astype(dtype, copy=False), dtype.newbyteorder("="), ["A"])
    return out, not np.may_share_memory(out, arr)


# --------------------------------------------------------------------------- planning


class Plan:
    """What happened for one matrix: the structure found, every road's price, the road
    taken and the roads that declined (and why).  ``explain()`` renders it."""

    __slots__ = ("structure", "candidates", "rejected", "declined", "chosen",
                 "factorization", "solution", "rcond")

    def __init__(self, structure, candidates, rejected):
        self.structure = structure
        self.candidates = candidates      # [(cost, solver)] cheapest first
        self.rejected = rejected          # [(solver, reason)]
        self.declined = []                # [(solver, reason)]: raised NotApplicable
        self.chosen = None
        self.factorization = None
        self.solution = None              # x, when the road solved in one call
        self.rcond = None                 # (its rcond, as that call returned it)


def _structure_for(a, hint, lower, copy, check_finite, capture=False, borrow=False):
    """Inspect ``a`` (2-D, LAPACK dtype) -> (Structure, work array holding A's values,
    or None when ``capture`` (no hint) found a sparse-looking A and copied nothing, or
    ``borrow`` (no hint): see ``_factorize_with``)."""
    n = a.shape[0]
    if hint is None or hint == "banded":
        structure, work = inspect_dense(a, copy=copy, check_finite=check_finite,
                                        full=True, capture=capture and hint is None,
                                        borrow=borrow and hint is None)
    else:
        structure, work = inspect_dense(a, copy=copy, check_finite=check_finite,
                                        full=False)
        if hint == "pos":
            # Cholesky reads only the named triangle (potrf semantics) and measures the
            # Hermitian norm itself: no symmetrizing pass.  Roads that take 'pos' must
            # read only the triangle ``structure.lower`` names.
            structure.symmetric = a.dtype.kind != "c"
            structure.hermitian = True
            structure.norm1 = None
        elif hint in ("sym", "her"):
            hermitian = hint != "sym" or a.dtype.kind != "c"
            structure.norm1 = symmetrize(work, lower, hermitian)
            structure.symmetric = hint == "sym" or a.dtype.kind != "c"
            structure.hermitian = hermitian
            # diag_real_positive stays unknown: no road's choice depends on it under a
            # hint ('pos' is Cholesky whatever the diagonal; 'sym'/'her' are LU)
        elif hint in _HINT_BANDS:
            lo, up = _HINT_BANDS[hint]
            structure.lower_bandwidth = n - 1 if lo is None else lo
            structure.upper_bandwidth = n - 1 if up is None else up
            structure.norm1 = None   # the road reads only its band: it measures the norm
        else:  # "gen"
            structure.lower_bandwidth = structure.upper_bandwidth = max(n - 1, 0)
            structure.symmetric = structure.hermitian = False
    structure.assume_a = hint
    structure.lower = bool(lower)
    return structure, work


_PRECISIONS = ("auto", "mixed", "double")


def _check_precision(precision):
    if precision not in _PRECISIONS:
        raise ValueError(f"precision must be 'auto', 'mixed' or 'double', got "
                         f"{precision!r}")


def plan(a, *, assume_a=None, lower=False, overwrite_a=False, check_finite=True,
         method=None, transient=False, precision="auto", rhs=None) -> Plan:
    """Inspect, price and factorize a single square matrix; return the Plan (with its
    ``factorization``).  Used by ``solve``, ``factorize`` and ``explain``.

    ``transient``: the factorization is used within this call only (``solve``,
    ``explain``), so a road's ``preview`` may borrow the caller's dense A instead of a
    working copy (see ``Solver.preview``).  ``precision`` other than 'auto' reaches the
    roads as ``structure.extra['precision']`` (see `hybridsolve.roads.mixed`).

    ``rhs``: ``(b, trans)`` of a one-shot dense solve (``solve``), ``b`` 2-D of the
    computation dtype, already checked for finiteness: a road with a ``solve_once``
    hook (see `Solver`) then factors, solves and estimates rcond in that one call, and
    the Plan holds ``solution`` and ``rcond`` instead of a factorization."""
    _check_precision(precision)
    hint = canonical_hint(assume_a)
    if type(a) is np.ndarray:         # the common case skips the other kinds' checks
        a1 = a
    else:
        op = getattr(a, "_hybridsolve_structure", None)
        if op is not None and not isinstance(a, np.ndarray):   # structured operators
            structure = op()
            if check_finite and structure.finite is False:
                raise ValueError("array must not contain infs or NaNs")
            return _factorize_with(a, structure, method)
        if _is_dask(a):
            from hybridsolve._dask import plan_dask
            return plan_dask(a, assume_a=hint, lower=lower, check_finite=check_finite,
                             method=method)
        if _is_sparse(a):
            from hybridsolve._sparse import prepare_sparse
            structure, work = prepare_sparse(a, check_finite=check_finite)
            if precision != "auto":
                structure.extra["precision"] = precision
            return _factorize_with(work, structure, method)
        a1 = _as_array(a, "a")
    if a1.ndim != 2:
        raise ValueError(f"Expected a 2-D square matrix, got a.ndim={a1.ndim}")
    if a1.shape[0] != a1.shape[1]:
        raise ValueError(f"Expected square matrix, got a.shape={a1.shape}")
    dtype = result_dtype(a1.dtype)
    a2, converted = _native(a1, dtype)
    inplace = (overwrite_a or converted) and a2.flags.f_contiguous and a2.flags.writeable
    capture = hint is None and not inplace and _capture_for(method)
    said = None
    if (transient and hint is None and not inplace
            and (a2.flags.f_contiguous or a2.flags.c_contiguous)):
        said = _registry.previews(a2, method, {"precision": precision})
    borrowers = [name for name, what in (said or {}).items()
                 if isinstance(what, dict) and what.get("borrow")]
    structure, work = _structure_for(a2, hint, lower, not inplace, check_finite, capture,
                                     borrow=bool(borrowers))
    if said:
        structure.extra["previews"] = said
    if borrowers and work is None:
        structure.extra["borrowers"] = frozenset(borrowers)
        structure.notes.append(
            f"read without copying: {', '.join(borrowers)} may take A as it is; a dense "
            f"working copy is made only for a road that needs one (its price includes "
            f"the copy)")
    if precision != "auto":
        structure.extra["precision"] = precision
    return _factorize_with(work, structure, method, source=a2, rhs=rhs)


def _capture_for(method):
    """May the inspection skip the dense copy (capture a sparse-looking A instead)?
    Not when a forced road needs the copy anyway."""
    if method is None:
        return True
    try:
        return not _needs_copy(_registry.get(method))
    except ValueError:
        return False          # unknown name: price() raises the usual error


_needs_copy = _registry.needs_copy


def _factorize_with(work, structure, method, source=None, rhs=None) -> Plan:
    """Price ``structure`` and factorize with the cheapest road that accepts it.

    ``work`` None (the inspection captured a sparse-looking dense ``source`` without
    copying it, or read it without copying because a road's ``preview`` borrowed it):
    a road that `_registry.gets_copy` is charged the copy in its price and gets a
    private copy of ``source`` made right before its factorize; a road with
    ``needs_copy = False``, or one that borrowed A, is handed ``source`` itself.

    ``rhs`` ``(b, trans)`` (see `plan`): the chosen road's ``solve_once``, if it has
    one, runs instead of its ``factorize``."""
    candidates, rejected = _registry.price(structure, method, uncopied=work is None)
    p = Plan(structure, candidates, rejected)
    if not candidates:
        if method is not None:
            why = "; ".join(r for _, r in rejected) or "it declined"
            raise ValueError(f"method {method!r} cannot solve this matrix: {why}")
        raise ValueError("no registered solver can solve this matrix: "
                         + "; ".join(f"{s.name}: {r}" for s, r in rejected))
    for _, solver in candidates:
        arg = work
        if work is None:
            if _registry.gets_copy(solver, structure):
                work = arg = dense_copy(source)
                structure.notes.append(f"dense working copy made for {solver.name}")
            else:
                arg = source
        once = None if rhs is None else getattr(solver, "solve_once", None)
        try:
            if once is None:
                fac = solver.factorize(arg, structure)
            else:
                fac = None
                x, rcond = once(arg, structure, *rhs)
        except NotApplicable as exc:
            p.declined.append((solver, str(exc)))
            continue
        except Exception as exc:
            # a third-party road never breaks solve(): skipped with a warning, next
            # candidate -- on a fresh copy of A, as it may have written to its argument
            if not _registry.is_foreign(solver) or (
                    arg is source and source is work and _needs_copy(solver)):
                raise    # (the last: overwrite_a's buffer, A's values may be lost)
            warnings.warn(f"hybridsolve: solver {solver.name!r} raised in factorize and "
                          f"is skipped: {type(exc).__name__}: {exc}", RuntimeWarning,
                          stacklevel=4)
            p.declined.append((solver, f"raised {type(exc).__name__}: {exc}"))
            if arg is work and source is not None:
                work = None            # the next road needing a copy makes a fresh one
            continue
        p.chosen = solver
        p.factorization = fac
        if once is not None:
            p.solution, p.rcond = x, rcond
        return p
    reasons = "; ".join(f"{s.name}: {r}" for s, r in p.declined)
    raise LinAlgError(f"every applicable solver declined this matrix ({reasons})")


# --------------------------------------------------------------------------- public


def factorize(a, assume_a=None, lower=False, overwrite_a=False, check_finite=True, *,
              method=None, precision="auto"):
    """Factor a square matrix once, solve for many right-hand sides.

    The same dispatch as `solve`: ``A`` is inspected, every registered road prices it,
    the cheapest that accepts it factorizes.  Keep the returned object and call its
    ``solve(b, trans=False)`` as often as needed (never ``inv(A)``).

    Parameters
    ----------
    a : (N, N) array_like, scipy.sparse matrix/array, or structured operator
        The matrix.
    assume_a : str, optional
        A structure hint, as in `scipy.linalg.solve` ('gen', 'sym', 'her', 'pos',
        'diagonal', 'tridiagonal', 'banded', 'upper triangular', 'lower triangular').
        None (default) detects the structure.
    lower : bool, default False
        With 'sym', 'her' or 'pos': read only the lower (else the upper) triangle.
    overwrite_a : bool, default False
        Allow the factorization to reuse ``a``'s memory (only when it is an
        F-contiguous array of a LAPACK dtype, as scipy).
    check_finite : bool, default True
        Raise ValueError if ``a`` holds NaN or inf.
    method : str, optional, keyword-only
        Force a registered solver by name (see `solvers`).
    precision : {'auto', 'mixed', 'double'}, keyword-only
        'auto' (default): single-precision factors refined in double (the ``mixed``
        road) only where a cheap bound proves the refinement converges; 'mixed': also
        elsewhere (falling back to double if it does not converge), and for a
        float64 / complex128 scipy.sparse A single-precision SuperLU factors (the
        ``sparse_mixed`` road, opt-in only); 'double': never.

    Returns
    -------
    Factorization
        With ``solve(b, trans=False)``, ``kind``, ``rcond``, ``shape``, ``dtype``.
        Like ``scipy.linalg.lu_factor`` / ``cho_factor`` it does not warn about
        ill-conditioning: read ``rcond`` (computed on first access for the roads that
        can defer it); `solve` warns as scipy does.

    Raises
    ------
    ValueError
        Non-square or non-2-D ``a``, NaN/inf, an unknown ``assume_a`` or ``method``.
    numpy.linalg.LinAlgError
        Exactly singular ``a`` (or not positive definite with ``assume_a='pos'``).

    Examples
    --------
    >>> import numpy as np, hybridsolve
    >>> A = np.array([[4., 1.], [1., 3.]])
    >>> f = hybridsolve.factorize(A)
    >>> f.kind
    'small-cholesky'
    >>> np.allclose(A @ f.solve([1., 2.]), [1., 2.])
    True
    """
    if precision != "auto":
        _check_precision(precision)
    if (type(a) is _NDARRAY and assume_a is None and method is None
            and precision != "mixed" and a.ndim == 2
            and a.shape[0] == a.shape[1] and a.dtype.char in _LAPACK_CHARS
            and a.dtype.isnative and _shortcut_open("small", "dense", a.dtype, a.shape[0])):
        # the registry's own choice for every such A (see _fast_path), without pricing
        return _registry.get("small").factorize(a, None, check_finite=check_finite)
    return plan(a, assume_a=assume_a, lower=lower, overwrite_a=overwrite_a,
                check_finite=check_finite, method=method,
                precision=precision).factorization


def _warn_ill_conditioned(items, stacklevel=3):
    """One LinAlgWarning for every slice whose rcond < eps, worded as scipy's (items:
    (flat slice index, rcond, dtype); a 2-D solve is slice 0).  rcond NaN is "unknown"
    (a road that does not estimate it): no warning.  A road that saw a non-finite A
    (check_finite=False) passes 0.0, as scipy reports it."""
    bad = [(idx, rc) for idx, rc, dt in items if rc == rc and rc < _eps(dt)]
    if not bad:
        return
    listed = ",".join(f"slice {idx} has rcond = {float(rc)}" for idx, rc in bad)
    warnings.warn(f"An ill-conditioned matrix detected: {listed}.", LinAlgWarning,
                  stacklevel=stacklevel + 1)


def _singular_error(flat_indices):
    """scipy's LinAlgError for singular slices (flat indices into the batch; a 2-D
    solve is slice 0)."""
    return LinAlgError(f"A singular matrix detected: slice(s) {list(map(int, flat_indices))}"
                       f" are singular.")


def rcond_of(fac) -> float:
    """The factorization's ``rcond``, NaN when it has none (a duck-typed plugin's
    factorization need not have one; NaN means unknown, and nothing warns)."""
    try:
        rc = getattr(fac, "rcond", None)
        return float("nan") if rc is None else float(rc)
    except Exception:          # a plugin's failing property: unknown
        return float("nan")


def apply(p, b, trans=0, *, overwrite_b=False, check_finite=False):
    """``x = op(A)^{-1} b`` with the factorization of plan ``p``: through
    `Factorization.solve` (dtype, layout and ``overwrite_b`` handled there) when the
    factorization inherits it, else through the bare protocol ``solve(b, trans)`` of a
    duck-typed one, whose result is cast to b's dtype.  A result of the wrong shape is a
    ValueError naming the road (a plugin's bug must not surface as an IndexError or a
    silent broadcast)."""
    fac = p.factorization
    if getattr(type(fac), "solve", None) is _Factorization.solve:
        x = fac.solve(b, trans, overwrite_b=overwrite_b, check_finite=check_finite)
    else:
        x = np.asarray(fac.solve(b, trans) if trans else fac.solve(b))
    return _checked(x, b.shape, p.chosen).astype(b.dtype, copy=False)


def _rcond_seen(p):
    """The rcond to warn with: 0 for a non-finite A that was not checked (scipy reports
    rcond = 0 then), else the factorization's, or the one-call solve's (NaN: unknown,
    no warning)."""
    if p.structure.finite is False:
        return 0.0
    if p.solution is not None:
        return float(p.rcond)
    return rcond_of(p.factorization)


def solve(a, b, lower=False, overwrite_a=False, overwrite_b=False, check_finite=True,
          assume_a=None, transposed=False, *, method=None, precision="auto"):
    """Solve ``a @ x = b`` for ``x`` — `scipy.linalg.solve`'s signature and behaviour,
    with the structure of ``a`` detected when ``assume_a`` is None.

    Parameters
    ----------
    a : (..., N, N) array_like, scipy.sparse matrix/array, or structured operator
        Square matrix or a batch of them.
    b : (..., N, NRHS) or (N,) array_like
        Right-hand side(s).  A 1-D ``b`` of length N is a column (result is 1-D).
    lower : bool, default False
        With 'sym', 'her' or 'pos': use only the lower (else the upper) triangle.
    overwrite_a, overwrite_b : bool, default False
        Allow reusing the inputs' memory (only for 2-D F-contiguous arrays of the
        computation dtype, as scipy).
    check_finite : bool, default True
        Raise ValueError on NaN or inf.
    assume_a : str, optional
        'gen'/'general', 'sym'/'symmetric', 'her'/'hermitian', 'pos'/'positive
        definite', 'diagonal', 'tridiagonal', 'banded', 'upper triangular', 'lower
        triangular', or None (default: detect the structure and take the cheapest
        correct road).
    transposed : bool, default False
        Solve ``a.T @ x = b``; NotImplementedError for complex ``a`` (as scipy).
    method : str, optional, keyword-only
        Force a registered solver by name (see `solvers`).
    precision : {'auto', 'mixed', 'double'}, keyword-only
        'auto' (default): single-precision factors refined in double to a backward
        error as small as the double road's (the ``mixed`` road) only where a cheap
        bound proves the refinement converges (e.g. A strictly diagonally dominant);
        'mixed': also elsewhere (falling back to double if it does not converge),
        and for a float64 / complex128 scipy.sparse A single-precision SuperLU
        factors (the ``sparse_mixed`` road, opt-in only); 'double': never.

    Returns
    -------
    x : ndarray
        Shaped like ``b`` (with broadcast batch dimensions).

    Raises
    ------
    ValueError
        Shape mismatch, non-square ``a``, NaN/inf with check_finite, unknown assume_a.
    numpy.linalg.LinAlgError
        A singular matrix (the message names the batch slice).
    scipy.linalg.LinAlgWarning
        When the reciprocal condition number is below the dtype's eps.
    NotImplementedError
        ``transposed=True`` with complex ``a``.

    See Also
    --------
    factorize : keep the factors for many right-hand sides.
    explain : why a road was taken.

    Examples
    --------
    >>> import numpy as np, hybridsolve
    >>> a = np.array([[3, 2, 0], [1, -1, 0], [0, 5, 1]])
    >>> hybridsolve.solve(a, np.array([2, 4, -1]))
    array([ 2., -2.,  9.])
    """
    if precision != "auto":
        _check_precision(precision)
    if (method is None and assume_a is None and not (overwrite_a or overwrite_b)
            and precision != "mixed"):
        fast = _fast_path(a, b, transposed, check_finite)
        if fast is not None:
            return fast
    hint = canonical_hint(assume_a)
    if _is_dask(a) or _is_dask(b):
        from hybridsolve._dask import solve_dask
        return solve_dask(a, b, hint, lower, transposed, check_finite, method)
    if _is_sparse(a) or (getattr(a, "_hybridsolve_structure", None) is not None
                         and not isinstance(a, np.ndarray)):
        return _solve_structured(a, b, hint, lower, transposed, check_finite, method,
                                 precision)

    # scipy's order: each array validated (sparse, masked, finite, object) before the
    # dtype rule, the dtype rule before the shapes, the shapes before complex+transposed.
    # Where our order differs for speed (finiteness is checked later, fused with the
    # inspection), the error paths re-check so the first error scipy meets is ours too.
    a1 = np.atleast_2d(_as_array(a, "a"))
    b1 = np.atleast_1d(_as_array(b.toarray() if _is_sparse(b) else b, "b"))
    if a1.dtype.kind in "SU" or b1.dtype.kind in "SU":
        a1, b1 = _strings_to_float(a1, b1, check_finite)
    try:
        dtype = result_dtype(a1.dtype, b1.dtype)
    except TypeError:
        _checked_before(a1, b1, check_finite)
        raise
    if check_finite and not (a1.ndim > 2 and a1.size > 1 and hint is None
                             and method is None):
        _check_finite(b1)      # (the batch kernel checks its b itself, in its own pass)
    if a1.ndim < 2:  # pragma: no cover (atleast_2d)
        raise ValueError(f"Expected at least ndim=2, got {a1.ndim=}")
    if a1.shape[-1] != a1.shape[-2]:
        _checked_before(a1, b1, check_finite)
        raise ValueError(f"Expected square matrix, got {a1.shape=}")
    if dtype.kind == "c" and transposed:
        _checked_before(a1, b1, check_finite)
        raise NotImplementedError("scipy.linalg.solve can currently not solve a^T x = b "
                                  "or a^H x = b for complex matrices.")
    b_is_1d = b1.ndim == 1
    if b_is_1d:
        b1 = b1[:, None]
    a_is_scalar = a1.size == 1
    if b1.shape[-2] != a1.shape[-1] and not a_is_scalar:
        _checked_before(a1, b1, check_finite)
        raise ValueError(f"incompatible shapes: a1.shape={a1.shape} and "
                         f"b1.shape={b1.shape}")
    try:
        batch = np.broadcast_shapes(a1.shape[:-2], b1.shape[:-2])
    except ValueError:
        _checked_before(a1, b1, check_finite)
        raise

    if a1.size == 0 or b1.size == 0:
        shape = batch + (a1.shape[-1] if not a_is_scalar else b1.shape[-2],
                         b1.shape[-1])
        x = np.empty(shape, dtype=dtype)
        return x[..., 0] if b_is_1d else x
    if a_is_scalar:
        if check_finite:
            _check_finite(a1)
        if a1.item() == 0:
            raise LinAlgError("A singular matrix detected.")
        if not check_finite and not np.isfinite(a1.item()):
            _warn_ill_conditioned([(0, 0.0, dtype)])     # as every other non-finite A
        x = b1.astype(dtype, copy=False) / a1.astype(dtype, copy=False)
        return x[..., 0] if b_is_1d else x

    if batch:
        try:
            x = _solve_batch(a1, b1, batch, dtype, hint, lower, transposed,
                             check_finite, method, precision)
        except LinAlgError:
            # the batch kernel meets a singular slice before its pass over a NaN in
            # a later b: scipy's finiteness check comes first
            _checked_before(a1, b1, check_finite)
            raise
        return x[..., 0] if b_is_1d else x

    converted = a1.dtype != dtype
    b2 = b1 if b1.dtype == dtype else b1.astype(dtype)
    trans = 1 if transposed else 0
    # a road's one-call solve writes neither A nor b: not where overwrite_a/_b ask for
    # the factors / the solution in the caller's buffers (as scipy)
    rhs = None if overwrite_a or overwrite_b else (b2, trans)
    try:
        p = plan(a1.astype(dtype) if converted else a1, assume_a=hint, lower=lower,
                 overwrite_a=overwrite_a or converted, check_finite=check_finite,
                 method=method, transient=True, precision=precision, rhs=rhs)
    except LinAlgError as exc:
        if "singular" not in str(exc):
            raise
        raise _singular_error([0]) from exc
    _warn_ill_conditioned([(0, _rcond_seen(p), dtype)])
    if p.solution is not None:
        x = _checked(p.solution, b2.shape, p.chosen)
    else:
        x = apply(p, b2, trans, overwrite_b=overwrite_b)
    return x[:, 0] if b_is_1d else x


def _checked(x, shape, solver):
    """``x`` if it has the ``shape`` the call must return, else the ValueError that
    names the road (a plugin's bug must not surface as an IndexError or a wrong
    broadcast)."""
    got = getattr(x, "shape", None)
    if got != shape:
        raise ValueError(f"solver {getattr(solver, 'name', solver)!r} returned a result "
                         f"of shape {got}, expected {shape}")
    return x


def _solve_structured(a, b, hint, lower, transposed, check_finite, method,
                      precision="auto"):
    """Sparse matrices and structured operators: result dense, shaped like ``b``
    (``precision`` reaches the sparse roads as in `plan`)."""
    if hint not in (None, "gen"):
        raise ValueError(f"assume_a={hint!r} is not supported for sparse or structured "
                         f"input; leave it None (the structure is detected)")
    if _is_sparse(b):
        b = b.toarray()
    b1 = np.asarray(b)
    p = plan(a, check_finite=check_finite, method=method, precision=precision)
    fac = p.factorization
    if np.dtype(getattr(fac, "dtype", b1.dtype)).kind == "c" and transposed:
        raise NotImplementedError("scipy.linalg.solve can currently not solve a^T x = b "
                                  "or a^H x = b for complex matrices.")
    dtype = result_dtype(np.dtype(getattr(fac, "dtype", b1.dtype)), b1.dtype)
    if check_finite:
        _check_finite(b1)
    _warn_ill_conditioned([(0, _rcond_seen(p), dtype)])
    return apply(p, b1.astype(dtype, copy=False), 1 if transposed else 0)


def _solve_batch(a1, b1, batch, dtype, hint, lower, transposed, check_finite, method,
                 precision="auto"):
    """Batches.  One matrix with a batch of right-hand sides: factor once, solve all.
    A stack with no hint and no forced method: priced as one ``'batch'`` structure (the
    built-in ``batched`` road runs one nogil kernel call over the slices).  With a hint
    or a forced method: every slice through the same dispatch as a 2-D solve."""
    b3 = np.broadcast_to(b1, batch + b1.shape[-2:])
    n, k = b3.shape[-2:]
    if a1.ndim == 2:
        # one matrix, a batch of right-hand sides: factor once, solve them all at once
        try:
            p = plan(a1.astype(dtype, copy=False), assume_a=hint, lower=lower,
                     check_finite=check_finite, method=method,
                     precision=precision)
        except LinAlgError as exc:
            if "singular" not in str(exc):
                raise
            raise _singular_error(range(int(np.prod(batch)))) from exc
        rc = _rcond_seen(p)
        _warn_ill_conditioned([(i, rc, dtype) for i in range(int(np.prod(batch)))],
                              stacklevel=4)
        cols = np.moveaxis(b3, -2, 0).reshape(n, -1)
        x = apply(p, cols.astype(dtype, copy=False), 1 if transposed else 0)
        return np.moveaxis(x.reshape((n,) + batch + (k,)), 0, -2)
    a3 = np.broadcast_to(a1, batch + a1.shape[-2:])
    if hint is None and method is None:
        from hybridsolve.roads.batched import batch_structure
        structure = batch_structure(n, dtype, batch, k, check_finite)
        stack = a3.reshape((-1, n, n)).astype(dtype, copy=False)
        p = _factorize_with(stack, structure, None)
        x = apply(p, b3.reshape((-1, n, k)).astype(dtype, copy=False),
                  1 if transposed else 0)
        rcond = getattr(p.factorization, "rcond", None)
        if rcond is not None:
            rcond = np.asarray(rcond, dtype=float).reshape(-1)
            eps = np.finfo(dtype).eps
            if not rcond.min(initial=np.inf) >= eps:  # one pass when none is due
                ill = np.flatnonzero(~(rcond >= eps))   # NaN: non-finite (unchecked)
                _warn_ill_conditioned([(int(i), rcond[i] if rcond[i] == rcond[i] else 0.0,
                                        dtype) for i in ill], stacklevel=4)
        return x.reshape(batch + (n, k))
    x = np.empty(batch + b1.shape[-2:], dtype=dtype)
    singular, conds = [], []
    for idx in np.ndindex(*batch):
        try:
            p = plan(a3[idx].astype(dtype, copy=False), assume_a=hint, lower=lower,
                     check_finite=check_finite, method=method, precision=precision)
        except LinAlgError as exc:
            if "singular" not in str(exc):
                raise
            singular.append(np.ravel_multi_index(idx, batch))
            continue
        conds.append((int(np.ravel_multi_index(idx, batch)), _rcond_seen(p), dtype))
        x[idx] = apply(p, b3[idx].astype(dtype, copy=False), 1 if transposed else 0)
    if singular:
        raise _singular_error(singular)
    _warn_ill_conditioned(conds, stacklevel=4)
    return x


_NDARRAY = np.ndarray
# the native LAPACK dtypes the small kernel takes -> the eps its rcond is judged by (the
# dtype's own, as scipy's solve compares with lamch('E') of the computation dtype)
_SMALL_EPS = {np.dtype(t): _eps(np.dtype(t))
              for t in (np.float64, np.complex128, np.float32, np.complex64)}


def _fast_path(a, b, transposed, check_finite):
    """Small single systems: straight to the ``small`` road's kernel, which copies A to
    a scratch buffer, classifies it (SPD -> Cholesky, triangular -> substitution, else
    LU), factors, solves and estimates rcond in one call without the GIL.  A
    short-circuit of the registry, not a second dispatcher: taken only where
    ``_registry.shortcut_open`` says the registry would choose that road for every
    structure A could have (from the registered solvers' declared formats and size
    ranges and their call overheads).  Returns None when the call is not of that kind
    (then the general path runs, with the same rules)."""
    if type(a) is not _NDARRAY or type(b) is not _NDARRAY:
        return None
    dt = a.dtype
    eps = _SMALL_EPS.get(dt)
    if eps is None or b.dtype is not dt:
        return None
    if a.ndim != 2 or not 1 <= b.ndim <= 2:
        return None
    n = a.shape[0]
    if n > _SMALL_N or n < 2 or a.shape[1] != n or b.shape[0] != n:
        return None
    if not _shortcut_open("small", "dense", dt, n):
        return None          # the registry might choose another road: let it price A
    if transposed and dt.kind == "c":
        return None          # the general path raises NotImplementedError, as scipy
    x, info, rcond = _small_solve(a, b, transposed, check_finite, eps)
    if info:
        if info > 0 and check_finite:
            _check_finite(b)   # a singular A stops the kernel before it reads b; scipy checks b first
        if info < 0:
            raise ValueError("array must not contain infs or NaNs")
        raise _singular_error([0])
    if not rcond >= eps:         # NaN: a non-finite A (unchecked); scipy says rcond 0
        _warn_ill_conditioned([(0, rcond if rcond == rcond else 0.0, dt)])
    return x


from hybridsolve._kernels.small import SMALL_N as _SMALL_N  # noqa: E402
from hybridsolve._kernels.small import small_solve as _small_solve  # noqa: E402

_shortcut_open = _registry.shortcut_open
