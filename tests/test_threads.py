"""The thread policy: hybridsolve.threads(n), HYBRIDSOLVE_NUM_THREADS, per-thread BLAS
limits (hybridsolve._threads)."""
import ctypes
import os
import subprocess
import tempfile
import sys
import threading

import numpy as np
import pytest

import hybridsolve
from hybridsolve import _threads
from hybridsolve._kernels.small import solve_batched


def _run(code, **env):
    full = dict(os.environ, **env)
    out = subprocess.run([sys.executable, "-c", code], env=full, capture_output=True,
                         text=True, timeout=120, cwd=tempfile.mkdtemp())   # not the checkout
    assert out.returncode == 0, out.stderr
    return out


def test_default_is_usable_cores(monkeypatch):
    monkeypatch.delenv("HYBRIDSOLVE_NUM_THREADS", raising=False)
    n, source = _threads._from_env()
    assert n == _threads.usable_cores() >= 1 and source == "usable cores"
    if hasattr(os, "sched_getaffinity"):
        assert n == len(os.sched_getaffinity(0))


def test_env_var_sets_the_default_and_threads_overrides_it():
    out = _run("import hybridsolve; from hybridsolve._threads import num_threads, "
               "threads_source as s\n"
               "print(num_threads(), s())\n"
               "with hybridsolve.threads(2): print(num_threads(), s())\n"
               "print(num_threads())", HYBRIDSOLVE_NUM_THREADS="3")
    assert out.stdout.split("\n")[:3] == ["3 env HYBRIDSOLVE_NUM_THREADS",
                                          "2 threads(n)", "3"]


@pytest.mark.parametrize("raw", ["0", "-2", "two"])
def test_bad_env_var_warns_and_uses_cores(monkeypatch, raw):
    monkeypatch.setenv("HYBRIDSOLVE_NUM_THREADS", raw)
    with pytest.warns(RuntimeWarning, match="HYBRIDSOLVE_NUM_THREADS"):
        n, source = _threads._from_env()
    assert n == _threads.usable_cores() and source == "usable cores"


def test_threads_nests_and_restores():
    base = _threads.num_threads()
    with hybridsolve.threads(3):
        assert _threads.num_threads() == 3
        with hybridsolve.threads(1):
            assert _threads.num_threads() == 1
            with hybridsolve.threads(None):
                assert _threads.num_threads() == base
            assert _threads.num_threads() == 1
        assert _threads.num_threads() == 3
    assert _threads.num_threads() == base
    # restored on an exception too
    with pytest.raises(KeyError):
        with hybridsolve.threads(5):
            raise KeyError
    assert _threads.num_threads() == base


@pytest.mark.parametrize("bad, exc", [(0, ValueError), (-1, ValueError), (1.5, TypeError),
                                      ("2", TypeError), (True, TypeError)])
def test_threads_rejects_bad_n(bad, exc):
    with pytest.raises(exc):
        hybridsolve.threads(bad)


def test_threads_is_per_thread():
    """Each thread sees only its own threads(n), whatever the others do meanwhile."""
    barrier = threading.Barrier(3)
    seen = {}

    def work(n):
        with hybridsolve.threads(n):
            barrier.wait()              # all three inside their own block now
            seen[n] = _threads.num_threads()
            barrier.wait()
        seen[-n] = _threads.num_threads()

    base = _threads.num_threads()
    ts = [threading.Thread(target=work, args=(n,)) for n in (1, 2, 7)]
    for t in ts:
        t.start()
    for t in ts:
        t.join()
    assert {n: seen[n] for n in (1, 2, 7)} == {1: 1, 2: 2, 7: 7}
    assert {seen[-n] for n in (1, 2, 7)} == {base}
    assert _threads.num_threads() == base


def test_batched_result_independent_of_threads():
    rng = np.random.default_rng(3)
    a = rng.standard_normal((3000, 4, 4)) + 4 * np.eye(4)
    b = rng.standard_normal((3000, 4, 1))
    with hybridsolve.threads(1):
        one = hybridsolve.solve(a, b)
    with hybridsolve.threads(2):
        two = hybridsolve.solve(a, b)
    np.testing.assert_array_equal(one, two)   # same code per slice, whichever thread


def _openblas_getters():
    """(controller, getter) of every OpenBLAS threadpoolctl finds."""
    from threadpoolctl import ThreadpoolController
    out = []
    for lc in ThreadpoolController().lib_controllers:
        if lc.internal_api == "openblas":
            out.append(lc)
    return out


def test_thread_local_classification():
    """Where we call a BLAS's setter thread-local, it is; OpenBLAS's *_local setter is
    classified process-wide -- check that it really is, so that a future OpenBLAS with a
    true per-thread setter makes this test fail (and the policy can start using it)."""
    info = _threads.blas_info()
    assert all("thread_local_setter" in e for e in info if "error" not in e)
    for lc in _openblas_getters():
        fn = getattr(lc.dynlib, "openblas_set_num_threads_local", None)
        if fn is None:
            continue
        fn.restype = ctypes.c_int
        fn.argtypes = [ctypes.c_int]
        before = lc.get_num_threads()
        target = 1 if before != 1 else 2
        t = threading.Thread(target=fn, args=(target,))
        t.start()
        t.join()
        seen = lc.get_num_threads()
        lc.set_num_threads(before)
        entry = next(e for e in info if e.get("filepath") == lc.filepath)
        if seen == target:       # process-wide: must not be used
            assert entry["thread_local_setter"] is None
    if not _threads.scoped():
        with _threads.blas_threads(1):
            assert _threads.blas_limit() is None


def test_blas_threads_scoped_and_restored():
    if not _threads.scoped():
        pytest.skip("no BLAS with a thread-local thread setter here (OpenBLAS)")
    from threadpoolctl import ThreadpoolController
    ctl = ThreadpoolController().select(internal_api="mkl")
    before = [lc.get_num_threads() for lc in ctl.lib_controllers]
    with _threads.blas_threads(1):
        assert _threads.blas_limit() == 1
        with _threads.blas_threads(2):
            assert _threads.blas_limit() == 2
        assert _threads.blas_limit() == 1
        assert [lc.get_num_threads() for lc in ctl.lib_controllers] == [1] * len(before)
    assert _threads.blas_limit() is None
    assert [lc.get_num_threads() for lc in ctl.lib_controllers] == before


def test_no_load_average_or_proc_maps_in_library():
    """Thread counts come from the policy alone (only the benchmark and tune modules
    report the load next to their measurements)."""
    import pathlib
    root = pathlib.Path(hybridsolve.__file__).parent
    for path in list(root.rglob("*.py")) + list(root.rglob("*.pyx*")):
        if path.name in ("_tune.py", "_bench.py"):
            continue      # they record the load average next to their measurements
        text = path.read_text()
        assert "getloadavg" not in text and "/proc/self/maps" not in text, path
