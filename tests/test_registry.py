"""Solver plugins: entry-point discovery (lazy, cached, fault-isolated), register(),
method=, and the dispatcher's choice.  Fake entry points are real
importlib.metadata.EntryPoint objects patched into the registry's view."""
import sys
from importlib.metadata import EntryPoint

import numpy as np

from _helpers import hermitian_part
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


def test_small_systems_reach_a_plugin_that_could_win():
    # a plugin declaring no fixed cost and no format/size limits could beat the small
    # road at any order: the short-circuit closes and the registry prices it
    s = _fake_plugins.CheapKernelSolver()
    hybridsolve.register(s)
    try:
        a, b = _system(n=8)
        assert not _registry.shortcut_open("small", "dense", a.dtype, 8)
        x = hybridsolve.solve(a, b)
        assert s.calls == 1
        np.testing.assert_allclose(a @ x, b, atol=1e-10)
        hybridsolve.factorize(a)
        assert s.calls == 2
    finally:
        hybridsolve.unregister("fake-cheap-kernel")
    a, b = _system(n=8)
    hybridsolve.solve(a, b)
    hybridsolve.factorize(a)
    assert s.calls == 2          # unregistered: the short-circuit is back


def test_plugin_paying_the_usual_call_overhead_loses_small_systems():
    # CheapSolver prices 1 flop plus the default call overhead: at n = 8 the small road
    # is cheaper, so the registry itself picks it, and so does the short-circuit
    s = _fake_plugins.CheapSolver()
    hybridsolve.register(s)
    try:
        a, b = _system(n=8)
        assert hybridsolve.explain(a).chosen.name == "small"
        assert _registry.shortcut_open("small", "dense", a.dtype, 8)
        hybridsolve.solve(a, b)
        assert s.calls == 0
        a, b = _system(n=100)
        hybridsolve.solve(a, b)
        assert s.calls == 1      # above the small road's range it wins
    finally:
        hybridsolve.unregister("fake-cheap")


def test_sparse_only_plugin_keeps_the_small_short_circuit():
    s = _fake_plugins.SparseOnlySolver()
    hybridsolve.register(s)
    try:
        for n in (2, 4, 16, 64):
            assert _registry.shortcut_open("small", "dense", np.dtype(np.float64), n)
        a, b = _system(n=4)
        x = hybridsolve.solve(a, b)
        np.testing.assert_allclose(a @ x, b, atol=1e-12)
        hybridsolve.factorize(a)
        assert s.priced == 0     # never even priced: its formats exclude dense
    finally:
        hybridsolve.unregister("fake-sparse-only")


def test_declared_size_range_closes_the_short_circuit_only_there():
    s = _fake_plugins.RangedSolver()
    hybridsolve.register(s)
    try:
        f64 = np.dtype(np.float64)
        open_ = [_registry.shortcut_open("small", "dense", f64, n) for n in range(2, 30)]
        assert open_ == [not 10 <= n <= 20 for n in range(2, 30)]
        a, b = _system(n=12)
        hybridsolve.solve(a, b)
        assert s.calls == 1
        a, b = _system(n=8)
        hybridsolve.solve(a, b)
        assert s.calls == 1
    finally:
        hybridsolve.unregister("fake-ranged")


def test_short_circuit_is_the_registrys_choice():
    # wherever the short-circuit is open, pricing the inspected matrix picks the same
    # road, whatever the structure
    rng = np.random.default_rng(3)
    for dt in (np.float64, np.complex128):
        for n in (2, 5, 9, 17, 33, 64):
            if not _registry.shortcut_open("small", "dense", np.dtype(dt), n):
                continue
            g = rng.standard_normal((n, n)).astype(dt)
            mats = [g, np.diag(np.diag(g)) + 3 * np.eye(n, dtype=dt), np.triu(g),
                    np.tril(g), hermitian_part(g @ g.conj().T + n * np.eye(n, dtype=dt)),
                    np.diag(np.full(n, 4.0, dt)) + np.diag(np.ones(n - 1, dt), 1)
                    + np.diag(np.ones(n - 1, dt), -1)]
            for m in mats:
                assert hybridsolve.explain(m).chosen.name == "small", (dt, n)


def test_foreign_factorize_failure_is_skipped_with_a_warning():
    hybridsolve.register(_fake_plugins.BrokenFactorize())
    try:
        for n in (6, 100):
            a, b = _system(n=n)
            a0 = a.copy()
            with pytest.warns(RuntimeWarning, match="fake-broken-factorize"):
                x = hybridsolve.solve(a, b)
            np.testing.assert_array_equal(a, a0)      # the caller's A untouched
            ref = scipy.linalg.solve(a, b)
            np.testing.assert_allclose(x, ref, rtol=1e-8)   # the next road got A's values
            with pytest.warns(RuntimeWarning, match="fake-broken-factorize"):
                e = hybridsolve.explain(a)
            assert e.chosen.name != "fake-broken-factorize"
            assert "RuntimeError" in str(e)
    finally:
        hybridsolve.unregister("fake-broken-factorize")


def test_builtin_factorize_failure_still_raises(monkeypatch):
    from hybridsolve.roads.lu import LUSolver

    def boom(self, a, structure=None):
        raise RuntimeError("kernel bug")

    monkeypatch.setattr(LUSolver, "factorize", boom)
    a, b = _system(n=100)
    with pytest.raises(RuntimeError, match="kernel bug"):
        hybridsolve.solve(a, b)


def test_duck_typed_factorization_without_rcond():
    import warnings as _w

    hybridsolve.register(_fake_plugins.DuckSolver())
    try:
        for n in (3, 100):
            a, b = _system(n=n)
            with _w.catch_warnings():
                _w.simplefilter("error")         # no warning: rcond unknown
                x = hybridsolve.solve(a, b)
                xt = hybridsolve.solve(a, b, transposed=True)
                xm = hybridsolve.solve(a, np.stack([b, 2 * b], axis=1))
            np.testing.assert_allclose(x, scipy.linalg.solve(a, b), rtol=1e-8)
            np.testing.assert_allclose(xt, scipy.linalg.solve(a.T, b), rtol=1e-8)
            assert xm.shape == (n, 2)
            f = hybridsolve.factorize(a)
            np.testing.assert_allclose(f.solve(b), x, rtol=1e-12)
            text = str(hybridsolve.explain(a))
            assert "fake-duck" in text and "rcond estimate: unknown" in text
    finally:
        hybridsolve.unregister("fake-duck")


def test_wrong_shape_from_a_plugin_is_caught():
    hybridsolve.register(_fake_plugins.WrongShapeSolver())
    try:
        a, b = _system(n=10)
        with pytest.raises(ValueError, match="fake-wrong-shape"):
            hybridsolve.solve(a, b)
    finally:
        hybridsolve.unregister("fake-wrong-shape")


def test_batches_are_priced_through_the_registry():
    rng = np.random.default_rng(1)
    a = rng.standard_normal((5, 3, 3)) + 3 * np.eye(3)
    b = rng.standard_normal((5, 3, 2))
    s = _fake_plugins.BatchSolver()
    hybridsolve.register(s)
    try:
        x = hybridsolve.solve(a, b)
        assert s.calls == 1
        np.testing.assert_allclose(x, np.linalg.solve(a, b), rtol=1e-10)
    finally:
        hybridsolve.unregister("fake-batch")
    hybridsolve.solve(a, b)
    assert s.calls == 1
    names = [s.name for s in hybridsolve.solvers()]
    assert "batched" in names and "small" in names


def test_preview_borrows_a_without_a_copy_and_the_next_road_gets_one():
    """A road's preview (one-shot calls only) may borrow the caller's A: it is read in
    place and handed over as it is; when that road declines, the next one (LU, which
    writes into its argument) gets a fresh copy, and the caller's A is untouched."""
    s = _fake_plugins.BorrowingSolver()
    hybridsolve.register(s)
    try:
        for order in ("C", "F"):
            a, b = _system(n=100)
            a = np.array(a, order=order)
            a0 = a.copy()
            x = hybridsolve.solve(a, b)
            assert s.previewed[-1] is a and s.handed[-1] is a
            assert s.request == {"precision": "auto"}
            assert s.priced_with == {"borrow": True}
            np.testing.assert_array_equal(a, a0)
            np.testing.assert_allclose(x, scipy.linalg.solve(a0, b), rtol=1e-8)
            e = hybridsolve.explain(a)
            assert e.chosen.name == "lu"
            assert "read without copying: fake-borrowing" in str(e)
            assert "dense working copy made for lu" in str(e)
        calls = len(s.previewed)
        f = hybridsolve.factorize(a)                 # outlives the call: no preview
        assert len(s.previewed) == calls and s.priced_with is None
        assert s.handed[-1] is not a and not np.may_share_memory(s.handed[-1], a)
        np.testing.assert_allclose(f.solve(b), scipy.linalg.solve(a0, b), rtol=1e-8)
        strided = np.kron(a, np.ones((2, 2)))[::2, ::2]     # the values of A
        hybridsolve.solve(strided, b)                # not contiguous: no preview
        assert len(s.previewed) == calls
    finally:
        hybridsolve.unregister("fake-borrowing")


def test_plugin_raising_in_preview_is_skipped_with_a_warning():
    hybridsolve.register(_fake_plugins.RaisingPreview())
    try:
        a, b = _system(n=100)
        with pytest.warns(RuntimeWarning, match="fake-raising-preview.*preview"):
            x = hybridsolve.solve(a, b)
        np.testing.assert_allclose(x, scipy.linalg.solve(a, b), rtol=1e-8)
    finally:
        hybridsolve.unregister("fake-raising-preview")


def _hint_cases():
    """Matrices of every structure a hint may meet (the inspection of each hint then
    fills the Structure a road is priced on)."""
    rng = np.random.default_rng(7)
    g = rng.standard_normal((6, 6))
    spd = g @ g.T + 6 * np.eye(6)
    spd = np.triu(spd) + np.triu(spd, 1).T           # exactly symmetric
    tri = np.diag(rng.standard_normal(6) + 3) + np.diag(np.ones(5), 1) + np.diag(
        np.ones(5), -1)
    return [np.eye(1), 2.0 * np.eye(3), np.triu(g) + 6 * np.eye(6), np.tril(g) + 6 *
            np.eye(6), tri, spd, g, spd.astype(np.complex128)]


def test_declared_hints_refuse_only_what_cost_refuses():
    """A road's ``hints`` may only skip the pricing of hints its ``cost`` refuses: for
    every built-in road that declares them and every hint outside them, ``cost``
    gives no price on any structure that hint produces."""
    from hybridsolve._protocol import HINTS
    from hybridsolve._solve import _structure_for
    roads = [s for s in hybridsolve.solvers() if getattr(s, "hints", None) is not None]
    assert {"cholesky", "lu", "small", "triangular"} <= {s.name for s in roads}
    for a in _hint_cases():
        for hint in HINTS:
            st, _ = _structure_for(a, hint, False, True, True)
            for road in roads:
                if hint in road.hints or "dense" not in (road.formats or ("dense",)):
                    continue
                cost = road.cost(st)
                cost = cost[0] if isinstance(cost, tuple) else cost
                assert cost is None, (road.name, hint, a.shape)


def test_a_road_is_not_priced_for_a_hint_it_does_not_declare():
    s = _fake_plugins.CheapSolver()
    s.hints = (None, "gen")
    hybridsolve.register(s)
    try:
        a, b = _system()
        spd = a @ a.T + len(a) * np.eye(len(a))
        spd = np.triu(spd) + np.triu(spd, 1).T
        hybridsolve.solve(spd, b, assume_a="pos")
        assert s.calls == 0
        text = str(hybridsolve.explain(spd, assume_a="pos"))
        assert "fake-cheap" in text and "does not take assume_a='pos'" in text
        hybridsolve.solve(a, b, assume_a="gen")
        assert s.calls == 1
    finally:
        hybridsolve.unregister("fake-cheap")


def test_declared_size_range_is_not_priced_outside_it():
    # price() reads the declarations once per table and does not ask cost() for an
    # order outside min_n..max_n (the short-circuit trusts the same declarations)
    class Counting(_fake_plugins.RangedSolver):
        name = "fake-ranged-counting"

        def __init__(self):
            super().__init__()
            self.priced = 0

        def cost(self, structure):
            self.priced += 1
            return super().cost(structure)

    s = Counting()
    hybridsolve.register(s)
    try:
        f64 = np.dtype(np.float64)
        cands, rejected = _registry.price(hybridsolve.Structure(8, f64, "dense"))
        assert s.priced == 0 and s not in [r for _, r in cands]
        assert (s, "n = 8 is outside 10..20") in rejected
        cands, _ = _registry.price(hybridsolve.Structure(12, f64, "dense"))
        assert s.priced == 1 and s in [r for _, r in cands]
    finally:
        hybridsolve.unregister("fake-ranged-counting")
