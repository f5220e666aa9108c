"""The solver registry: entry-point discovery (lazy, cached, fault-isolated), run-time
registration, and pricing.  Nothing here knows a concrete road."""
from __future__ import annotations

import math
import threading
import warnings
from importlib.metadata import entry_points

from hybridsolve import _tuning
from hybridsolve._protocol import Solver

__all__ = ["ENTRY_POINT_GROUP", "register", "solvers", "get", "price", "reload",
           "is_foreign", "shortcut_open", "CALL_OVERHEAD"]

#: The entry-point group every road (built-in or third-party) is declared in.
ENTRY_POINT_GROUP = "hybridsolve.solvers"

#: The fixed cost of one call of a road reached through Python, in the prices' unit,
#: added by ``price`` to every road's own estimate unless the road declares a
#: ``call_overhead`` of its own (tuning ``call_overhead``: value and reason there).
CALL_OVERHEAD = _tuning.value("call_overhead")

#: Price of the dense working copy per entry of A, for a road that needs one when the
#: inspection made none (tuning ``copy_weight``).
COPY_WEIGHT = _tuning.value("copy_weight")

_lock = threading.RLock()
_solvers: dict | None = None     # name -> Solver, in registration order
_runtime: list = []              # solvers added with register(), kept across reload()
_foreign: set = set()            # names of solvers not declared by hybridsolve itself


def _as_solvers(obj, origin):
    """An entry point may load a Solver instance, a zero-argument Solver class, or a list
    of either."""
    items = obj if isinstance(obj, (list, tuple)) else [obj]
    out = []
    for item in items:
        if isinstance(item, type):
            item = item()
        for attr in ("name", "cost", "factorize"):
            if not hasattr(item, attr):
                raise TypeError(f"{origin}: {item!r} has no {attr!r} (not a Solver)")
        if not isinstance(item.name, str) or not item.name:
            raise TypeError(f"{origin}: solver name must be a non-empty string")
        out.append(item)
    return out


def _discover() -> dict:
    """Load every entry point of the group once.  Built-ins (declared by the
    ``hybridsolve`` distribution) come first, in the order their entry points are listed
    (setuptools lists them by name), then third-party plugins by name; a plugin that fails
    to load is skipped with a RuntimeWarning."""
    eps = list(entry_points(group=ENTRY_POINT_GROUP))

    def dist_name(ep):
        dist = getattr(ep, "dist", None)
        return getattr(dist, "name", "") or ""

    own = [ep for ep in eps if dist_name(ep).lower() == "hybridsolve"]
    others = sorted((ep for ep in eps if dist_name(ep).lower() != "hybridsolve"),
                    key=lambda ep: (ep.name, ep.value))
    found: dict = {}
    _foreign.clear()
    for ep in own + others:
        origin = f"solver plugin {ep.name!r} ({ep.value})"
        try:
            loaded = _as_solvers(ep.load(), origin)
        except Exception as exc:  # a broken plugin never breaks solve()
            warnings.warn(f"hybridsolve: {origin} failed to load and is skipped: "
                          f"{type(exc).__name__}: {exc}", RuntimeWarning, stacklevel=4)
            continue
        for s in loaded:
            if s.name in found:
                warnings.warn(f"hybridsolve: {origin} declares solver {s.name!r}, which "
                              f"is already registered; the first one is kept",
                              RuntimeWarning, stacklevel=4)
                continue
            found[s.name] = s
            if ep not in own:
                _foreign.add(s.name)
    for s in _runtime:
        found[s.name] = s
        _foreign.add(s.name)
    return found


def _table() -> dict:
    global _solvers
    table = _solvers
    if table is None:
        with _lock:
            if _solvers is None:
                _solvers = _discover()
            table = _solvers
    return table


def reload() -> None:
    """Forget the discovered plugins; the next use discovers them again (tests use this
    after installing fake entry points).  Solvers added with ``register`` are kept."""
    global _solvers
    with _lock:
        _solvers = None
        _POOLS.clear()
        _SHORTCUTS.clear()


def _install(table):
    """Make ``table`` the registry (under ``_lock``): a new dict object, so every cache
    keyed on the old one expires."""
    global _solvers
    _solvers = table
    _POOLS.clear()
    _SHORTCUTS.clear()


def register(solver: Solver, *, replace: bool = False) -> Solver:
    """Add a solver at run time (after every discovered one; ties in price go to the
    earlier registered road).  A class is instantiated.  ``replace=True`` replaces a
    solver of the same name, otherwise a duplicate name raises ``ValueError``.
    Returns the registered solver (usable as a class decorator)."""
    (inst,) = _as_solvers(solver, "register()")
    with _lock:
        table = _table()
        if inst.name in table and not replace:
            raise ValueError(f"a solver named {inst.name!r} is already registered "
                             f"(pass replace=True to replace it)")
        table = dict(table)       # a new table object: every cache keyed on it expires
        table.pop(inst.name, None)
        table[inst.name] = inst
        _install(table)
        _foreign.add(inst.name)
        _runtime[:] = [s for s in _runtime if s.name != inst.name] + [inst]
    return solver


def unregister(name: str) -> None:
    """Remove a solver by name (built-in or not) until the next ``reload()``."""
    with _lock:
        table = _table()
        if name not in table:
            raise ValueError(f"no solver named {name!r}")
        table = dict(table)
        del table[name]
        _install(table)
        _runtime[:] = [s for s in _runtime if s.name != name]
        _foreign.discard(name)


def is_foreign(solver) -> bool:
    """Whether ``solver`` is not one of hybridsolve's own declared roads (a third-party
    plugin or a ``register()`` call): its failures are isolated, not raised."""
    table = _table()          # (discovery fills _foreign)
    return solver.name in _foreign or table.get(solver.name) is not solver


def needs_copy(solver) -> bool:
    """Whether ``solver`` needs a private dense working copy of A (``needs_copy``,
    default True)."""
    return getattr(solver, "needs_copy", True) is not False


def gets_copy(solver, structure) -> bool:
    """Whether ``solver`` is to be handed (and charged for) a private working copy of a
    dense A that was not copied: it `needs_copy` and did not borrow A in its
    ``preview`` (``structure.extra['borrowers']``)."""
    return needs_copy(solver) and solver.name not in structure.extra.get("borrowers", ())


def previews(a, method=None, request=None):
    """Ask every road that has a ``preview`` hook and may take this dense ``a`` (by its
    declared ``formats`` and size range; only ``method`` when given) about it, before
    the inspection copies it: ``hook(a, request)``, ``request`` the call's options
    (``{'precision': ...}``).  Returns ``{name: what preview returned}`` for the
    non-None answers.  A third-party hook that raises is skipped with a
    RuntimeWarning naming it."""
    request = {"precision": "auto"} if request is None else request
    n = a.shape[0]
    out = {}
    for solver, hook, lo, hi in _rows("dense", method, None)[2]:
        if not lo <= n <= hi:
            continue
        try:
            said = hook(a, request)
        except Exception as exc:
            if not is_foreign(solver):
                raise
            warnings.warn(f"hybridsolve: solver {solver.name!r} raised in preview and "
                          f"is skipped: {type(exc).__name__}: {exc}", RuntimeWarning,
                          stacklevel=4)
            continue
        if said is not None:
            out[solver.name] = said
    return out


def _overhead(solver):
    oh = getattr(solver, "call_overhead", None)
    return CALL_OVERHEAD if oh is None else float(oh)


def _size_range(solver):
    lo = getattr(solver, "min_n", None)
    hi = getattr(solver, "max_n", None)
    return (0 if lo is None else lo), (math.inf if hi is None else hi)


_SHORTCUTS: dict = {}   # (name, fmt, dtype) -> (table, open-per-n tuple)


def shortcut_open(name, fmt, dtype, n) -> bool:
    """May the front door hand an uninspected ``fmt`` matrix of order ``n`` and
    ``dtype`` straight to the registered solver ``name`` -- is that exactly the choice
    ``price`` would make, whatever the inspection would find?

    Judged from declarations and prices only: ``name``'s price on a structure with
    nothing known (its worst case) plus its ``call_overhead`` must be below the
    ``call_overhead`` of every other solver that may take ``fmt`` at order ``n``
    (their ``formats`` and ``min_n`` / ``max_n``; a price is never below its overhead).
    Cached per (name, format, dtype) until the table changes."""
    table = _table()
    key = (name, fmt, dtype)
    hit = _SHORTCUTS.get(key)
    if hit is None or hit[0] is not table:
        hit = _SHORTCUTS[key] = (table, _shortcut_table(table, name, fmt, dtype))
    flags = hit[1]
    return n < len(flags) and flags[n]


def _shortcut_table(table, name, fmt, dtype):
    from hybridsolve._protocol import Structure

    me = table.get(name)
    if me is None:
        return ()
    lo, hi = _size_range(me)
    if hi == math.inf:
        return ()
    others = []
    for s in table.values():
        formats = getattr(s, "formats", None)
        if s is me or (formats is not None and fmt not in formats):
            continue
        others.append((_size_range(s), _overhead(s)))
    flags = []
    for n in range(int(hi) + 1):
        ok = n >= lo
        if ok:
            try:
                cost = me.cost(Structure(n, dtype, fmt))
            except Exception:
                cost = None
            if isinstance(cost, tuple):
                cost = cost[0]
            ok = cost is not None
            if ok:
                mine = float(cost) + _overhead(me)
                ok = all(mine < oh for (slo, shi), oh in others if slo <= n <= shi)
        flags.append(ok)
    return tuple(flags)


def solvers() -> list:
    """The registered solvers, in registration order (built-ins first)."""
    return list(_table().values())


def get(name: str) -> Solver:
    table = _table()
    try:
        return table[name]
    except KeyError:
        raise ValueError(f"unknown method {name!r}; registered solvers: "
                         f"{', '.join(table)}") from None


_POOLS: dict = {}   # (format, hint) -> (eligible [(order, solver)], rejected, table, rows)


def _split(pool, fmt, hint):
    """The solvers that may take this format and ``assume_a`` hint (to be priced) and
    those whose declared ``formats`` or ``hints`` exclude them (rejected without a
    call)."""
    eligible, rejected = [], []
    for order, solver in enumerate(pool):
        formats = getattr(solver, "formats", None)
        hints = getattr(solver, "hints", None)
        if formats is not None and fmt not in formats:
            rejected.append((solver, f"takes {' or '.join(formats)} input, not {fmt}"))
        elif hints is not None and hint not in hints:
            rejected.append((solver, "takes no hint" if hint is None else
                             f"does not take assume_a={hint!r}"))
        else:
            eligible.append((order, solver))
    return eligible, rejected


def _declared(eligible):
    """What ``price`` and ``previews`` read of each eligible solver's declarations, read
    once per table (as the short-circuit's table is): ``(pricing, previewing)``, rows
    ``(order, solver, min_n, max_n, call overhead, needs a copy)`` and ``(solver,
    preview hook, min_n, max_n)``."""
    pricing, previewing = [], []
    for order, solver in eligible:
        lo, hi = _size_range(solver)
        pricing.append((order, solver, lo, hi, _overhead(solver), needs_copy(solver)))
        hook = getattr(solver, "preview", None)
        if hook is not None:
            previewing.append((solver, hook, lo, hi))
    return pricing, previewing


def _pool(fmt, hint):
    """``_split`` of every registered solver, cached per format and hint (the cache is
    dropped whenever the table changes)."""
    pool = _pool_entry(fmt, hint)
    return pool[0], pool[1]


def _pool_entry(fmt, hint):
    table = _table()
    pool = _POOLS.get((fmt, hint))
    if pool is None or pool[2] is not table:
        eligible, rejected = _split(list(table.values()), fmt, hint)
        pool = _POOLS[fmt, hint] = (eligible, rejected, table, _declared(eligible))
    return pool


def _eligible(fmt, method, hint=None):
    """``(eligible, rejected)`` by declared formats and hints: only ``method`` when
    given, else every registered solver (the cached pool)."""
    if method is not None:
        return _split([get(method)], fmt, hint)
    return _pool(fmt, hint)


def _rows(fmt, method, hint):
    """``(rejected, pricing rows, preview rows)`` (see `_declared`) of ``_eligible``:
    cached with the pool, read afresh for a forced ``method``."""
    if method is not None:
        eligible, rejected = _split([get(method)], fmt, hint)
        return (rejected,) + _declared(eligible)
    pool = _pool_entry(fmt, hint)
    return (pool[1],) + pool[3]


def price(structure, method=None, *, uncopied=False):
    """Price ``structure`` with every solver (or only ``method``).

    Every price is the road's own estimate plus its fixed cost per call
    (``call_overhead``, default `CALL_OVERHEAD`) plus, when ``uncopied`` (no dense
    working copy of A exists yet), `COPY_WEIGHT` n^2 for a road that `gets_copy`.
    A road whose declared ``formats`` / ``hints`` / ``min_n`` / ``max_n`` exclude the
    matrix is rejected without a ``cost`` call (the declarations are read once per
    table, as the short-circuit's are).

    Returns ``(candidates, rejected)``: ``candidates`` a list of ``(cost, solver)``
    sorted cheapest first — ties keep registration order: built-ins first (in the name
    order their entry points are listed in), then third-party plugins by name, then
    ``register()`` calls; ``rejected`` a list of ``(solver, reason)``
    for the roads that cannot take this matrix (cost None) or failed while pricing (those
    also raise a RuntimeWarning naming the plugin)."""
    n = structure.n
    rejected, rows, _ = _rows(structure.format, method,
                              getattr(structure, "assume_a", None))
    candidates, rejected = [], list(rejected)
    copy_price = COPY_WEIGHT * n * n if uncopied else 0.0
    borrowers = structure.extra.get("borrowers", ()) if uncopied else ()
    for order, solver, lo, hi, overhead, copies in rows:
        if not lo <= n <= hi:      # its declared size range: not asked (as previews)
            rejected.append((solver, f"n = {n} is outside {lo}..{hi}"))
            continue
        try:
            cost = solver.cost(structure)
        except Exception as exc:  # fault isolation: skip, warn, go on
            warnings.warn(f"hybridsolve: solver {solver.name!r} raised while pricing "
                          f"and is skipped: {type(exc).__name__}: {exc}",
                          RuntimeWarning, stacklevel=4)
            rejected.append((solver, f"raised {type(exc).__name__} while pricing"))
            continue
        if isinstance(cost, tuple):
            cost, reason = cost
            if cost is None:
                rejected.append((solver, reason))
                continue
        elif cost is None:
            rejected.append((solver, "cannot solve this structure"))
            continue
        cost = float(cost)
        if cost != cost:
            rejected.append((solver, "priced NaN"))
            continue
        cost += overhead
        if copy_price and copies and solver.name not in borrowers:
            cost += copy_price
        candidates.append((cost, order, solver))
    candidates.sort()     # by cost, then registration order (orders are unique)
    return [(c, s) for c, _, s in candidates], rejected
