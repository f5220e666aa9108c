"""Solver plugins: entry-point discovery (lazy, cached, fault-isolated), register(),
method=, and the dispatcher's choice.  Fake entry points are real
importlib.metadata.EntryPoint objects patched into the registry's view."""
import sys
from importlib.metadata import EntryPoint

import numpy as np
import pytest
import scipy.linalg

import hybridsolve
from hybridsolve import _registry

sys.path.insert(0, __import__("os").path.dirname(__file__))
import _fake_plugins  # noqa: E402

GROUP = _registry.ENTRY_POINT_GROUP
_REAL_EPS = list(_registry.entry_points(group=GROUP))


def _ep(name, value):
    return EntryPoint(name=name, value=value, group=GROUP)


@pytest.fixture
def fake_eps(monkeypatch):
    """Install extra entry points beside the real built-ins; restore afterwards."""
    extra = []

    def fake_entry_points(group=None):
        assert group == GROUP
        return _REAL_EPS + extra

    monkeypatch.setattr(_registry, "entry_points", fake_entry_points)
    _registry.reload()
    yield extra
    _registry.reload()


def _system(n=100, seed=0):  # above the small-n fast path, so the registry is used
    rng = np.random.default_rng(seed)
    return rng.standard_normal((n, n)), rng.standard_normal(n)


def test_builtins_are_entry_points():
    names = [s.name for s in hybridsolve.solvers()]
    for builtin in ("lu", "cholesky", "triangular", "diagonal"):
        assert builtin in names
    assert {ep.name for ep in _REAL_EPS} >= {"lu", "cholesky"}


def test_discovery_is_lazy_and_cached(fake_eps):
    fake_eps.append(_ep("fake-cheap", "_fake_plugins:CheapSolver"))
    before = _fake_plugins.LOADS["count"]
    _registry.reload()
    assert _fake_plugins.LOADS["count"] == before          # nothing loaded yet
    a, b = _system()
    hybridsolve.solve(a, b)
    assert _fake_plugins.LOADS["count"] == before + 1      # loaded on first use
    hybridsolve.solve(a, b)
    hybridsolve.solvers()
    assert _fake_plugins.LOADS["count"] == before + 1      # and only once


def test_cheapest_plugin_wins_and_method_forces(fake_eps):
    fake_eps.append(_ep("fake-cheap", "_fake_plugins:CheapSolver"))
    a, b = _system()
    assert hybridsolve.factorize(a).kind == "fake-dense"
    x = hybridsolve.solve(a, b)
    np.testing.assert_allclose(a @ x, b, atol=1e-10)
    assert hybridsolve.factorize(a, method="lu").kind == "lu"
    assert "fake-cheap" in str(hybridsolve.explain(a))


def test_broken_plugin_is_skipped_with_warning(fake_eps):
    fake_eps.append(_ep("fake-broken", "_fake_plugins:broken_at_load"))
    fake_eps.append(_ep("fake-missing", "no_such_module_hybridsolve:Solver"))
    fake_eps.append(_ep("fake-notasolver", "_fake_plugins:NotASolver"))
    a, b = _system()
    with pytest.warns(RuntimeWarning) as record:
        x = hybridsolve.solve(a, b)
    text = " ".join(str(w.message) for w in record)
    assert "fake-broken" in text and "fake-missing" in text and "fake-notasolver" in text
    np.testing.assert_allclose(x, scipy.linalg.solve(a, b), rtol=1e-10)
    names = [s.name for s in hybridsolve.solvers()]
    assert "fake-broken" not in names and "lu" in names


def test_plugin_raising_while_pricing_is_skipped(fake_eps):
    fake_eps.append(_ep("fake-raises", "_fake_plugins:RaisesWhilePricing"))
    a, b = _system()
    with pytest.warns(RuntimeWarning, match="fake-raises"):
        x = hybridsolve.solve(a, b)
    np.testing.assert_allclose(x, scipy.linalg.solve(a, b), rtol=1e-10)


def test_not_applicable_falls_through(fake_eps):
    fake_eps.append(_ep("fake-polite", "_fake_plugins:PoliteDecliningSolver"))
    a, b = _system()
    ex = hybridsolve.explain(a)
    assert ex.chosen.name == "lu"
    assert "this road never applies" in str(ex)
    np.testing.assert_allclose(hybridsolve.solve(a, b), scipy.linalg.solve(a, b),
                               rtol=1e-10)


def test_register_at_run_time_and_unregister():
    s = _fake_plugins.CheapSolver()
    hybridsolve.register(s)
    try:
        with pytest.raises(ValueError, match="already registered"):
            hybridsolve.register(_fake_plugins.CheapSolver())
        a, b = _system()
        hybridsolve.solve(a, b)
        assert s.calls == 1
        assert hybridsolve.solvers()[-1] is s
    finally:
        hybridsolve.unregister("fake-cheap")
    assert "fake-cheap" not in [t.name for t in hybridsolve.solvers()]


def test_method_errors():
    a, b = _system()
    with pytest.raises(ValueError, match="unknown method"):
        hybridsolve.solve(a, b, method="no-such-road")
    with pytest.raises(ValueError, match="cannot solve"):
        hybridsolve.solve(a, b, method="cholesky")   # a is not symmetric


def test_tie_break_is_registration_order():
    class Same(_fake_plugins.CheapSolver):
        name = "fake-same-a"

    class Same2(_fake_plugins.CheapSolver):
        name = "fake-same-b"

    hybridsolve.register(Same)
    hybridsolve.register(Same2)
    try:
        a, _ = _system()
        cands, _ = _registry.price(hybridsolve.Structure(100, a.dtype, "dense"))
        names = [s.name for _, s in cands]
        assert names.index("fake-same-a") < names.index("fake-same-b")
    finally:
        hybridsolve.unregister("fake-same-a")
        hybridsolve.unregister("fake-same-b")


def test_small_systems_reach_a_registered_plugin():
    # the small-n fast path must not hide a plugin: with one registered, solve() prices
    s = _fake_plugins.CheapSolver()
    hybridsolve.register(s)
    try:
        a, b = _system(n=8)
        x = hybridsolve.solve(a, b)
        assert s.calls == 1
        np.testing.assert_allclose(a @ x, b, atol=1e-10)
    finally:
        hybridsolve.unregister("fake-cheap")
    a, b = _system(n=8)
    hybridsolve.solve(a, b)
    assert s.calls == 1          # unregistered: the fast path is back
