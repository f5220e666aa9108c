"""The complete plugin package of docs/plugins.rst (docs/examples/hybridsolve-circulant),
installed through a fake entry point read from its own pyproject.toml: it must route
circulant matrices to itself, solve them as scipy.linalg.solve_circulant does, and
decline everything else so the built-in roads take over."""
import os
import re
import sys
import warnings
from importlib.metadata import EntryPoint

import numpy as np
import pytest
import scipy.linalg

import hybridsolve
from hybridsolve import _registry

EXAMPLE = os.path.join(os.path.dirname(os.path.dirname(os.path.abspath(__file__))),
                       "docs", "examples", "hybridsolve-circulant")
pytestmark = pytest.mark.skipif(not os.path.isdir(EXAMPLE),
                                reason="docs/examples not beside tests/")


def _entry_point():
    """(name, value) of the package's hybridsolve.solvers entry point."""
    text = open(os.path.join(EXAMPLE, "pyproject.toml")).read()
    section = text.split('[project.entry-points."hybridsolve.solvers"]')[1].split("[")[0]
    (name, value), = re.findall(r'^(\w+)\s*=\s*"([^"]+)"', section, re.M)
    return name, value


def test_pyproject_declares_the_entry_point_and_the_dependency():
    text = open(os.path.join(EXAMPLE, "pyproject.toml")).read()
    assert re.search(r'dependencies = \[[^\]]*"hybridsolve', text)
    assert _entry_point() == ("circulant", "hybridsolve_circulant:CirculantSolver")
    source = open(os.path.join(EXAMPLE, "src", "hybridsolve_circulant",
                               "__init__.py")).read()
    assert "..." not in source and "hybridsolve._" not in source   # public names only


@pytest.fixture
def installed(monkeypatch):
    monkeypatch.syspath_prepend(os.path.join(EXAMPLE, "src"))
    name, value = _entry_point()
    real = list(_registry.entry_points(group=_registry.ENTRY_POINT_GROUP))
    ep = EntryPoint(name=name, value=value, group=_registry.ENTRY_POINT_GROUP)
    monkeypatch.setattr(_registry, "entry_points", lambda group=None: real + [ep])
    _registry.reload()
    yield
    _registry.reload()
    sys.modules.pop("hybridsolve_circulant", None)


def _circulant(c):
    return scipy.linalg.circulant(c)


@pytest.mark.parametrize("dtype", [np.float64, np.complex128, np.float32])
def test_circulant_routes_to_the_plugin(installed, dtype):
    rng = np.random.default_rng(0)
    n = 200
    c = rng.standard_normal(n)
    c[0] += n                                   # well conditioned
    if np.dtype(dtype).kind == "c":
        c = c + 1j * rng.standard_normal(n)
    c = c.astype(dtype)
    a = _circulant(c)
    b = rng.standard_normal((n, 3)).astype(dtype)
    f = hybridsolve.factorize(a)
    assert f.kind == "circulant"
    assert "circulant" in str(hybridsolve.explain(a)).split("chosen:")[1].split("\n")[0]
    tol = 50 * n * np.finfo(dtype).eps
    ref = scipy.linalg.solve_circulant(c, b)
    x = hybridsolve.solve(a, b)
    assert x.dtype == dtype
    assert np.linalg.norm(x - ref) <= tol * np.linalg.norm(ref)
    for trans, op in ((1, a.T), (2, a.conj().T)):
        xt = f.solve(b, trans=trans)
        assert np.linalg.norm(op @ xt - b) <= tol * np.linalg.norm(op, 1) * \
            np.linalg.norm(xt)
    exact = 1.0 / (np.linalg.norm(a, 1) * np.linalg.norm(np.linalg.inv(
        a.astype(np.complex128)), 1))
    assert abs(f.rcond - exact) <= 1e-3 * exact


def test_other_matrices_are_declined_to_the_builtins(installed):
    rng = np.random.default_rng(1)
    a = rng.standard_normal((150, 150))
    b = rng.standard_normal(150)
    assert hybridsolve.factorize(a).kind == "lu"
    text = str(hybridsolve.explain(a))
    assert "circulant" in text and "not circulant" in text
    np.testing.assert_allclose(hybridsolve.solve(a, b), scipy.linalg.solve(a, b),
                               rtol=1e-10)
    sym = a + a.T + 300 * np.eye(150)
    assert hybridsolve.factorize(sym).kind == "cholesky"


def test_singular_circulant_is_left_to_lu(installed):
    a = _circulant(np.ones(100))    # rank one; LU's elimination gives exact zeros
    with warnings.catch_warnings():
        warnings.simplefilter("error", RuntimeWarning)     # declined, not a fault
        with pytest.raises(np.linalg.LinAlgError):
            hybridsolve.solve(a, np.ones(100))


def test_declarations_keep_the_small_short_circuit_open(installed):
    """min_n = 64 and formats = ('dense',): small dense solves still skip the dispatch."""
    hybridsolve.solvers()
    assert "circulant" in [s.name for s in hybridsolve.solvers()]
    f64 = np.dtype(np.float64)
    assert _registry.shortcut_open("small", "dense", f64, 4)
    assert _registry.shortcut_open("small", "dense", f64, 32)
