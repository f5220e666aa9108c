"""Route existing ``scipy.linalg.solve`` calls through hybridsolve without edits."""
from __future__ import annotations

import contextlib

import scipy.linalg
import scipy.linalg._basic

__all__ = ["patch_scipy", "unpatch_scipy", "patched_scipy"]

_ORIGINAL = scipy.linalg._basic.solve
_TARGETS = (scipy.linalg, scipy.linalg._basic)


def patch_scipy() -> None:
    """Make ``scipy.linalg.solve`` (and scipy's internal callers of it) hybridsolve's
    `solve`.  Code that bound ``from scipy.linalg import solve`` before the patch keeps
    its own reference.  Idempotent; undo with `unpatch_scipy`."""
    from hybridsolve._solve import solve
    for mod in _TARGETS:
        mod.solve = solve


def unpatch_scipy() -> None:
    """Restore scipy's own ``solve``."""
    for mod in _TARGETS:
        mod.solve = _ORIGINAL


def is_patched() -> bool:
    from hybridsolve._solve import solve
    return scipy.linalg.solve is solve


@contextlib.contextmanager
def patched_scipy():
    """``with hybridsolve.patched_scipy(): ...`` -- scipy.linalg.solve is hybridsolve's
    inside the block, and what it was before afterwards."""
    before = [mod.solve for mod in _TARGETS]
    patch_scipy()
    try:
        yield
    finally:
        for mod, f in zip(_TARGETS, before):
            mod.solve = f
