"""Differential test against scipy.linalg.solve, property-based (hypothesis).

Random structures (general, SPD, Hermitian, symmetric indefinite, triangular, diagonal,
tri/banded, sparse inside dense, diagonal plus low rank, singular, ill-conditioned) x
dtypes (a's and b's drawn apart) x C/F order x strided / reversed / byte-swapped views x
batches with broadcasting x hints (with the triangle or band the hint does not read
filled with garbage) x ``lower`` x ``transposed`` x ``overwrite_*`` x ``check_finite``
(x an injected NaN/inf).  For every draw, with scipy as the oracle:

* the same outcome: result shape and dtype, or the same exception type.  For a
  numerically singular A "LinAlgError" and "a result with a LinAlgWarning" are both
  honest answers; a silent result is not;
* backward error within a small multiple of scipy's (plus n * eps of the dtype);
* the same ill-conditioning warning decision, compared only where the reference rcond
  (LAPACK getrf + gecon on the matrix the call reads, in the computation dtype) is far
  from eps: estimators differ near the threshold, so within a factor ``RCOND_MARGIN`` of
  eps either decision is accepted;
* a non-finite A with ``check_finite=False``: an error or a LinAlgWarning (scipy itself
  is silent for a NaN on a diagonal matrix's diagonal; we are not);
* the caller's arrays unmodified unless overwrite_a / overwrite_b allow it.

Profiles: ``ci`` (default; derandomized, bounded so this file takes a few seconds) and
``long`` (HYBRIDSOLVE_HYPOTHESIS_PROFILE=long: 2000 random examples).
"""
import os
import warnings

import numpy as np
import pytest
import scipy.linalg
import scipy.sparse as sp
from numpy.linalg import LinAlgError
from scipy.linalg import LinAlgWarning
from scipy.linalg.lapack import get_lapack_funcs

from _helpers import hermitian_part, same_error_type
from hybridsolve import solve
from hybridsolve._lowrank import DETECT_MIN_N

hypothesis = pytest.importorskip("hypothesis")
from hypothesis import HealthCheck, given, settings  # noqa: E402
from hypothesis import strategies as st  # noqa: E402

settings.register_profile(
    "ci", max_examples=150, deadline=None, derandomize=True, print_blob=True,
    suppress_health_check=[HealthCheck.too_slow, HealthCheck.data_too_large])
settings.register_profile(
    "long", max_examples=2000, deadline=None, print_blob=True,
    suppress_health_check=[HealthCheck.too_slow, HealthCheck.data_too_large])
PROFILE = os.environ.get("HYBRIDSOLVE_HYPOTHESIS_PROFILE", "ci")

LAPACK = [np.float32, np.float64, np.complex64, np.complex128]
#: the warning decision is compared only where rcond is off eps by more than this factor
RCOND_MARGIN = 30.0
#: backward error allowed: BERR_FACTOR * (scipy's + n * eps)
BERR_FACTOR = 10.0

STRUCTURES = ["general", "spd", "hermitian", "symmetric", "upper", "lower", "diagonal",
              "tridiagonal", "banded", "sparse_in_dense", "diag_lowrank", "singular",
              "ill_conditioned"]

# hints that are true of each structure (None and 'gen' are true of all).  'her' for a
# real dtype is 'sym' (scipy's rule), 'sym' for a complex Hermitian one is not true.
HINTS = {
    "spd": ["pos", "her", "sym"],
    "hermitian": ["her", "sym"],
    "symmetric": ["sym"],
    "upper": ["upper triangular", "banded"],
    "lower": ["lower triangular", "banded"],
    "diagonal": ["diagonal", "tridiagonal", "banded", "upper triangular",
                 "lower triangular", "sym", "her", "pos"],
    "tridiagonal": ["tridiagonal", "banded"],
    "banded": ["banded"],
    "ill_conditioned": ["pos"],       # the SPD variant (see build)
}


def _cplx(dtype):
    return np.dtype(dtype).kind == "c"


def _rand(rng, shape, dtype):
    x = rng.standard_normal(shape)
    if _cplx(dtype):
        x = x + 1j * rng.standard_normal(shape)
    return x


def _symmetric_part(x, conj):
    """Exactly Hermitian (``conj``: the shared `hermitian_part`, real diagonal) or
    exactly complex-symmetric ((X + X^T) / 2 elementwise) whatever the rounding."""
    return hermitian_part(x) if conj else (x + x.T) / 2


def build(structure, n, dtype, rng, variant):
    """One n x n matrix of ``structure`` as ``dtype`` (built in double precision, then
    cast elementwise, which keeps exact symmetry)."""
    c = _cplx(dtype)
    if structure == "general":
        a = _rand(rng, (n, n), dtype)
    elif structure == "spd":
        x = _rand(rng, (n, n), dtype)
        a = _symmetric_part(x @ x.conj().T + n * np.eye(n), True)
    elif structure == "hermitian":
        a = _symmetric_part(_rand(rng, (n, n), dtype), True)
    elif structure == "symmetric":
        a = _symmetric_part(_rand(rng, (n, n), dtype), False)
    elif structure in ("upper", "lower"):
        a = _rand(rng, (n, n), dtype)
        a = np.triu(a) if structure == "upper" else np.tril(a)
        np.fill_diagonal(a, rng.choice([-1, 1], n) * (1 + rng.random(n)) * 2)
    elif structure == "diagonal":
        a = np.diag(rng.choice([-1, 1], n) * (0.5 + rng.random(n)))
        if c and variant % 3 == 0:
            a = a + 0j              # a real diagonal stored complex
    elif structure in ("tridiagonal", "banded"):
        kl, ku = (1, 1) if structure == "tridiagonal" else (variant % 4, (variant // 4) % 4)
        a = np.triu(np.tril(_rand(rng, (n, n), dtype), ku), -kl)
        if variant % 2:
            a = a + 3 * np.eye(n)
    elif structure == "sparse_in_dense":
        s = sp.random(n, n, density=0.01 + 0.02 * rng.random(), random_state=rng,
                      dtype=np.float64).toarray()
        a = s + np.diag(2 + rng.random(n))
        if c:
            a = a + 1j * (s != 0) * rng.standard_normal((n, n))
    elif structure == "diag_lowrank":
        k = 1 + variant % 3
        u, v = _rand(rng, (n, k), dtype), _rand(rng, (k, n), dtype)
        a = np.diag(2 + rng.random(n)) + u @ v
    elif structure == "singular":
        base = ["general", "spd", "upper", "diagonal", "tridiagonal"][variant % 5]
        a = build(base, n, np.complex128 if c else np.float64, rng, variant // 5)
        j = variant % n
        a[:, j] = 0                 # an exact zero pivot in any elimination order
        if base in ("spd", "diagonal"):
            a[j, :] = 0
    elif structure == "ill_conditioned":
        q1 = np.linalg.qr(_rand(rng, (n, n), dtype))[0]
        s = np.logspace(0, -(2 + variant % 19), n)
        if variant % 2:             # SPD: Q diag(s) Q^H, exactly Hermitian
            a = _symmetric_part((q1 * s) @ q1.conj().T, True)
        else:
            q2 = np.linalg.qr(_rand(rng, (n, n), dtype))[0]
            a = (q1 * s) @ q2
    else:  # pragma: no cover
        raise AssertionError(structure)
    return np.asarray(a).astype(dtype)


def read_part(a, hint, lower):
    """The matrix scipy's call with ``hint`` actually reads from ``a`` (..., n, n)."""
    if hint in ("sym", "her", "pos"):
        conj = hint != "sym" and _cplx(a.dtype)
        t = np.tril(a) if lower else np.triu(a)
        strict = np.tril(a, -1) if lower else np.triu(a, 1)
        other = np.swapaxes(strict.conj() if conj else strict, -1, -2)
        full = t + other
        if conj:
            idx = np.arange(a.shape[-1])
            full[..., idx, idx] = full[..., idx, idx].real
        return full
    if hint == "upper triangular":
        return np.triu(a)
    if hint == "lower triangular":
        return np.tril(a)
    if hint == "diagonal":
        idx = np.arange(a.shape[-1])
        out = np.zeros_like(a)
        out[..., idx, idx] = a[..., idx, idx]
        return out
    if hint == "tridiagonal":
        return np.triu(np.tril(a, 1), -1)
    return a


def dirty(a, hint, lower, rng):
    """Garbage in the entries ``hint`` does not read (the read part is untouched)."""
    keep = read_part(np.ones(a.shape[-2:]), hint, lower) != 0
    if hint in ("sym", "her", "pos"):
        keep = np.tril(np.ones(a.shape[-2:], bool)) if lower else \
            np.triu(np.ones(a.shape[-2:], bool))
    junk = (10 * _rand(rng, a.shape, a.dtype)).astype(a.dtype)
    return np.where(keep, a, junk)


def ref_rcond(m, transposed):
    """LAPACK's reciprocal condition estimate (getrf + gecon) of the square ``m``, in
    the 1-norm (the inf-norm when ``transposed``, as scipy); 0 for an exact zero pivot."""
    getrf, gecon, lange = get_lapack_funcs(("getrf", "gecon", "lange"), (m,))
    norm = "I" if transposed else "1"
    anorm = lange(norm, m)
    lu, _, info = getrf(m)
    if info > 0:
        return 0.0
    rc, _ = gecon(lu, anorm, norm=norm)
    return float(rc)


def berr(a, x, b):
    """Normwise backward error of each slice, computed in complex128; a, x, b (..., n, k)."""
    a = np.asarray(a, np.complex128)
    x = np.asarray(x, np.complex128)
    b = np.asarray(b, np.complex128)
    r = np.abs(a @ x - b).sum(axis=-2).max(axis=-1)
    an = np.abs(a).sum(axis=-2).max(axis=-1)
    xn = np.abs(x).sum(axis=-2).max(axis=-1)
    bn = np.abs(b).sum(axis=-2).max(axis=-1)
    with np.errstate(invalid="ignore", divide="ignore"):
        return np.where(r == 0, 0.0, r / (an * xn + bn))


def run(f, a, b, kw):
    with warnings.catch_warnings(record=True) as rec:
        warnings.simplefilter("always")
        try:
            x = f(a, b, **kw)
            exc = None
        except Exception as e:  # noqa: BLE001 -- compared by type below
            x, exc = None, e
    linalg_warned = any(issubclass(w.category, LinAlgWarning) for w in rec)
    others = {w.category for w in rec if not issubclass(w.category, LinAlgWarning)}
    return x, exc, linalg_warned, others


def layout(a, how):
    """A view of ``a`` (..., n, n) with the same values and another memory layout."""
    if how == "F":
        return np.asfortranarray(a) if a.ndim == 2 else np.swapaxes(
            np.ascontiguousarray(np.swapaxes(a, -1, -2)), -1, -2)
    if how == "strided":
        buf = np.zeros(a.shape[:-2] + (2 * a.shape[-2], 3 * a.shape[-1]), a.dtype)
        buf[..., ::2, ::3] = a
        return buf[..., ::2, ::3]
    if how == "reversed":
        return np.ascontiguousarray(a[..., ::-1, ::-1])[..., ::-1, ::-1]
    if how == "byteswapped":
        return a.astype(a.dtype.newbyteorder(">" if a.dtype.byteorder != ">" else "<"))
    if how == "readonly":
        a = a.copy()
        a.flags.writeable = False
        return a
    return np.ascontiguousarray(a)


@st.composite
def problems(draw):
    structure = draw(st.sampled_from(STRUCTURES))
    adt = draw(st.sampled_from(LAPACK + [np.int64] * (structure == "diagonal")))
    bdt = draw(st.sampled_from(LAPACK + [np.int64])) if draw(st.booleans()) else adt
    if structure == "sparse_in_dense":
        n = draw(st.integers(128, 260))
    elif structure == "diag_lowrank":
        n = draw(st.integers(DETECT_MIN_N, DETECT_MIN_N + 40))
    else:
        n = draw(st.one_of(st.integers(0, 8), st.integers(9, 80)))
    big = n > 12
    abatch = () if big else draw(st.sampled_from([(), (), (), (2,), (3,), (2, 1), (1, 3)]))
    bbatch = () if big else draw(st.sampled_from(
        [(), abatch, abatch[1:], (1,) * len(abatch), (4,) + abatch,
         (5,)[:len(abatch)]]))                    # (the last: mismatched, mostly)
    k = draw(st.sampled_from([None, 1, 2, 3]))
    hint = draw(st.sampled_from([None, None, "gen"] + HINTS.get(structure, [])))
    if hint == "her" and not _cplx(adt):
        hint = draw(st.sampled_from(["sym", "her"]))   # scipy: 'her' is 'sym' for real
    if hint == "pos" and structure == "ill_conditioned":
        variant_parity = 1
    else:
        variant_parity = None
    return dict(
        structure=structure, adt=adt, bdt=bdt, n=n, abatch=abatch, bbatch=bbatch, k=k,
        hint=hint, lower=draw(st.booleans()),
        dirty=hint not in (None, "gen", "banded") and draw(st.booleans()),
        transposed=draw(st.sampled_from([False, False, True])),
        overwrite_a=draw(st.booleans()), overwrite_b=draw(st.booleans()),
        check_finite=draw(st.sampled_from([True, True, False])),
        alayout=draw(st.sampled_from(["C", "F", "strided", "reversed", "byteswapped",
                                      "readonly"])),
        blayout=draw(st.sampled_from(["C", "F", "strided", "reversed"])),
        inject=draw(st.sampled_from([None] * 12 + ["nan_a", "inf_a", "nan_b"])),
        variant=draw(st.integers(0, 10**6)) | (variant_parity or 0),
        seed=draw(st.integers(0, 2**32 - 1)),
    )


def make_inputs(p):
    rng = np.random.default_rng(p["seed"])
    n, adt = p["n"], p["adt"]
    shape = p["abatch"] + (n, n)
    if n == 0:
        a = np.zeros(shape, adt)
    else:
        cnt = int(np.prod(p["abatch"], dtype=int))
        build_dt = np.complex128 if _cplx(adt) else np.float64
        if np.dtype(adt).kind == "i":
            mats = [np.round(4 * build(p["structure"], n, np.float64, rng, p["variant"]))
                    for _ in range(cnt)]
        else:
            mats = [build(p["structure"], n, build_dt, rng, p["variant"] + i)
                    for i in range(cnt)]
        a = np.stack(mats).reshape(shape).astype(adt)
    if p["dirty"] and n:
        a = dirty(a, p["hint"], p["lower"], rng)
    bshape = p["bbatch"] + ((n,) if p["k"] is None else (n, p["k"]))
    b = _rand(rng, bshape, p["bdt"])
    if np.dtype(p["bdt"]).kind == "i":
        b = np.round(4 * b)
    b = b.astype(p["bdt"])
    a_float, b_float = a.dtype.kind in "fc", b.dtype.kind in "fc"
    if n and a_float and p["inject"] == "nan_a":
        a.reshape(-1, n, n)[0, n // 2, (n - 1) // 3] = np.nan
    elif n and a_float and p["inject"] == "inf_a":
        a.reshape(-1, n, n)[-1, 0, n - 1] = np.inf
    elif n and b_float and p["inject"] == "nan_b":
        b.reshape(-1)[0] = np.nan
    a = layout(a, p["alayout"])
    b = layout(b[..., None] if p["k"] is None else b, p["blayout"])
    if p["k"] is None:
        b = b[..., 0]
    return a, b


def check(p):
    hypothesis.event(f"structure {p['structure']}")
    a, b = make_inputs(p)
    n = p["n"]
    kw = dict(lower=p["lower"], overwrite_a=p["overwrite_a"],
              overwrite_b=p["overwrite_b"], check_finite=p["check_finite"],
              assume_a=p["hint"], transposed=p["transposed"])
    a0, b0 = a.copy(), b.copy()
    xs, es, ws, others_s = run(scipy.linalg.solve, a.copy(), b.copy(), kw)
    x, e, w, others = run(solve, a, b, kw)
    if n == 1 and isinstance(es, ValueError) and "size 1" in str(es):
        # scipy 1.17 bug: a 1 x 1 ``a`` with a batched ``b`` is broadcast before its
        # scalar shortcut calls a1.item().  The answer scipy means: a broadcast to the
        # batch first (then it takes its general path)
        batch = np.broadcast_shapes(a.shape[:-2], b.shape[:-1] if p["k"] is None
                                    else b.shape[:-2])
        xs, es, ws, others_s = run(scipy.linalg.solve,
                                   np.broadcast_to(a, batch + (1, 1)).copy(), b.copy(),
                                   kw)
    hypothesis.event(f"scipy {type(es).__name__ if es else 'result'}{' +warning' * ws}; "
                     f"ours {type(e).__name__ if e else 'result'}{' +warning' * w}")

    # the caller's arrays: unmodified unless allowed
    if not p["overwrite_a"] or p["alayout"] == "readonly":
        assert a.tobytes() == a0.tobytes(), "a modified"
    if not p["overwrite_b"]:
        assert b.tobytes() == b0.tobytes(), "b modified"
    # no warnings of other kinds than scipy's
    assert others <= others_s, (others, others_s)

    finite_a = np.dtype(p["adt"]).kind == "i" or np.isfinite(a0).all()
    finite_b = np.dtype(p["bdt"]).kind == "i" or np.isfinite(b0).all()
    if p["hint"] == "banded" and e is not None and not isinstance(e, LinAlgError) and (
            es is not None or (p["check_finite"] and not finite_b) or n == 0):
        # scipy 1.17's 'banded' hint takes its legacy path (solve0), with another order
        # of checks (shapes before complex + transposed, an empty result before both)
        # and no finiteness check of b; we keep its main path's order for every hint
        return
    if es is not None and not isinstance(es, LinAlgError):
        assert e is not None and same_error_type(type(e), type(es)), (repr(e), repr(es))
        return
    if e is not None and not isinstance(e, LinAlgError):
        raise AssertionError(f"we raised {e!r}, scipy: {es!r} / a result")
    if not finite_a:
        # unchecked non-finite A: an error or a warning -- never a silent result
        assert e is not None or w, "silent result for a non-finite A"
        if x is not None and xs is not None:
            assert x.shape == xs.shape and x.dtype == xs.dtype
        return

    if es is not None:          # scipy: LinAlgError (singular)
        assert e is not None or w, f"scipy raised {es!r}, our result is silent"
        return
    if n == 0:
        assert e is None and x.shape == xs.shape and x.dtype == xs.dtype
        return

    # the reference rcond of every slice of the matrix the call reads, computed in
    # the computation dtype (scipy's result's)
    calc = xs.dtype
    eps = np.finfo(calc).eps
    m = read_part(np.asarray(a0).astype(calc), p["hint"], p["lower"])
    # scipy's rule: a 1-D b is one vector, any other b is (..., n, k) -- also a b built
    # as a batch of vectors (k None), whose last two axes are then (n, k)
    bshape = np.broadcast_shapes(m.shape[:-2], b0.shape[:-2] if b0.ndim > 1 else ())
    mb = np.broadcast_to(m, bshape + m.shape[-2:]).reshape(-1, n, n)
    rconds = [ref_rcond(np.ascontiguousarray(s), p["transposed"]) for s in mb]
    singular_like = any(r < eps * RCOND_MARGIN for r in rconds)

    if e is not None:           # ours: LinAlgError, scipy a result
        assert ws or singular_like, f"we raised {e!r}, scipy solved silently " \
                                    f"(rconds {min(rconds):.3g})"
        return
    assert x.shape == xs.shape, (x.shape, xs.shape)
    assert x.dtype == xs.dtype, (x.dtype, xs.dtype)
    if not finite_b or x.size == 0:
        return

    # the same warning decision where rcond is clearly on one side of eps
    if all(r > eps * RCOND_MARGIN for r in rconds):
        assert not w, f"we warned, reference rconds {min(rconds):.3g} >> eps"
    elif any(r < eps / RCOND_MARGIN for r in rconds):
        assert w, f"no warning, a reference rcond {min(rconds):.3g} << eps"

    # backward error, slice by slice, against the matrix the call reads
    mm = np.swapaxes(m, -1, -2) if p["transposed"] else m
    vec = b0.ndim == 1           # (scipy's rule, as above)
    bb = b0[..., None] if vec else b0
    xx, xr = (x[..., None], xs[..., None]) if vec else (x, xs)
    ours_be, ref_be = berr(mm, xx, bb), berr(mm, xr, bb)
    tol = BERR_FACTOR * (np.nan_to_num(ref_be, nan=0.0) + n * eps)
    assert np.all(ours_be <= tol), (float(np.max(ours_be)), float(np.max(ref_be)))


@settings(settings.get_profile(PROFILE))
@given(problems())
def test_against_scipy(p):
    check(p)
