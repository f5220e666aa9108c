"""The solver registry: entry-point discovery (lazy, cached, fault-isolated), run-time
registration, and pricing.  Nothing here knows a concrete road."""
from __future__ import annotations

import math
import threading
import warnings
from importlib.metadata import entry_points

from hybridsolve._protocol import Solver

__all__ = ["ENTRY_POINT_GROUP", "register", "solvers", "get", "price", "reload"]

#: The entry-point group every road (built-in or third-party) is declared in.
ENTRY_POINT_GROUP = "hybridsolve.solvers"

_lock = threading.Lock()
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


def register(solver: Solver, *, replace: bool = False) -> Solver:
    """Add a solver at run time (after every discovered one; ties in price go to the
    earlier registered road).  A class is instantiated.  ``replace=True`` replaces a
    solver of the same name, otherwise a duplicate name raises ``ValueError``.
    Returns the registered solver (usable as a class decorator)."""
    (inst,) = _as_solvers(solver, "register()")
    table = _table()
    with _lock:
        if inst.name in table and not replace:
            raise ValueError(f"a solver named {inst.name!r} is already registered "
                             f"(pass replace=True to replace it)")
        table.pop(inst.name, None)
        table[inst.name] = inst
        _POOLS.clear()
        _foreign.add(inst.name)
        _runtime[:] = [s for s in _runtime if s.name != inst.name] + [inst]
    return solver


def unregister(name: str) -> None:
    """Remove a solver by name (built-in or not) until the next ``reload()``."""
    table = _table()
    with _lock:
        if name not in table:
            raise ValueError(f"no solver named {name!r}")
        del table[name]
        _POOLS.clear()
        _runtime[:] = [s for s in _runtime if s.name != name]
        _foreign.discard(name)


def builtins_only() -> bool:
    """True when every registered solver is one of hybridsolve's own (then the small-n
    fast path, which makes the built-ins' choice in one kernel call, may be taken)."""
    _table()
    return not _foreign


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


_POOLS: dict = {}   # format -> (eligible [(order, solver)], rejected [(solver, why)])


def _split_by_format(pool, fmt):
    """The solvers that may take this format (to be priced) and those whose declared
    ``formats`` exclude it (rejected without a call)."""
    eligible, rejected = [], []
    for order, solver in enumerate(pool):
        formats = getattr(solver, "formats", None)
        if formats is not None and fmt not in formats:
            rejected.append((solver, f"takes {' or '.join(formats)} input, not {fmt}"))
        else:
            eligible.append((order, solver))
    return eligible, rejected


def _pool(fmt):
    """``_split_by_format`` of every registered solver, cached per format (the cache is
    dropped whenever the table changes)."""
    table = _table()
    pool = _POOLS.get(fmt)
    if pool is None or pool[2] is not table:
        eligible, rejected = _split_by_format(list(table.values()), fmt)
        pool = _POOLS[fmt] = (eligible, rejected, table)
    return pool[0], pool[1]


def price(structure, method=None):
    """Price ``structure`` with every solver (or only ``method``).

    Returns ``(candidates, rejected)``: ``candidates`` a list of ``(cost, solver)``
    sorted cheapest first — ties keep registration order: built-ins first (in the name
    order their entry points are listed in), then third-party plugins by name, then
    ``register()`` calls; ``rejected`` a list of ``(solver, reason)``
    for the roads that cannot take this matrix (cost None) or failed while pricing (those
    also raise a RuntimeWarning naming the plugin)."""
    fmt = structure.format
    if method is not None:
        eligible, rejected = _split_by_format([get(method)], fmt)
    else:
        eligible, rejected = _pool(fmt)
    candidates, rejected = [], list(rejected)
    for order, solver in eligible:
        try:
            cost = solver.cost(structure)
        except Exception as exc:  # fault isolation: skip, warn, go on
            warnings.warn(f"hybridsolve: solver {solver.name!r} raised while pricing "
                          f"and is skipped: {type(exc).__name__}: {exc}",
                          RuntimeWarning, stacklevel=4)
            rejected.append((solver, f"raised {type(exc).__name__} while pricing"))
            continue
        reason = "cannot solve this structure"
        if isinstance(cost, tuple):
            cost, reason = cost
        if cost is None:
            rejected.append((solver, reason))
            continue
        cost = float(cost)
        if math.isnan(cost):
            rejected.append((solver, "priced NaN"))
            continue
        candidates.append((cost, order, solver))
    candidates.sort()     # by cost, then registration order (orders are unique)
    return [(c, s) for c, _, s in candidates], rejected
