"""Many Python threads solving at once: the same results as serial runs, bit for bit.

hybridsolve releases the GIL in its kernels, so calls from several threads really run
concurrently (scipy's hold the GIL).  What must not change with concurrency is each
call's arithmetic: the same road, the same blocking, the same number of BLAS threads
(OpenBLAS's getrf/potrf/gemm round differently with 1 and 2 threads, so a process-wide
limit set by one call for its own sake would change the results of the calls running in
other threads meanwhile).  One thread registers and unregisters a plugin meanwhile (it
never claims a matrix, but while it is registered the small-n fast path stands aside):
every result must then equal, bit for bit, the serial result with or without it.
No deadlock: every join has a timeout.
"""
import threading

import numpy as np
import pytest
import scipy.sparse as sp

import hybridsolve
from _helpers import rand
from hybridsolve import Solver, solve

N_THREADS = 8
ROUNDS = 2
JOIN_TIMEOUT = 120.0


class _NeverClaims(Solver):
    """A foreign dense solver that prices every matrix out (cost None)."""

    name = "concurrency_never_claims"
    formats = ("dense",)

    def cost(self, structure):
        return None, "never claims"

    def factorize(self, a, structure):  # pragma: no cover - never priced in
        raise AssertionError("never chosen")


def _cases():
    rng = np.random.default_rng(2024)

    def spd(n):
        x = rng.standard_normal((n, n))
        s = x @ x.T + n * np.eye(n)
        return (s + s.T) / 2

    def lowrank(n, k):
        return np.diag(2 + rng.random(n)) + rng.standard_normal((n, k)) @ \
            rng.standard_normal((k, n))

    def sparse_in_dense(n):
        return sp.random(n, n, density=0.01, random_state=rng).toarray() + \
            np.diag(2 + rng.random(n))

    rows = [
        ("small 3", rng.standard_normal((3, 3)), rng.standard_normal(3), {}),
        ("small 20 complex", rand(rng, (20, 20), np.complex128),
         rand(rng, (20, 2), np.complex128), {}),
        ("small spd 30", spd(30), rng.standard_normal(30), {}),
        ("batch 64 x 4", rng.standard_normal((64, 4, 4)), rng.standard_normal((64, 4, 1)), {}),
        ("batch spd 16 x 12", np.stack([spd(12) for _ in range(16)]),
         rng.standard_normal(12), {}),
        ("lu 200", rng.standard_normal((200, 200)), rng.standard_normal((200, 3)), {}),
        ("lu 260 transposed", rng.standard_normal((260, 260)), rng.standard_normal(260),
         {"transposed": True}),
        ("cholesky 300", spd(300), rng.standard_normal(300), {}),
        ("cholesky hint 150 f32", spd(150).astype(np.float32),
         rng.standard_normal(150).astype(np.float32), {"assume_a": "pos"}),
        ("woodbury 1000", lowrank(1000, 3), rng.standard_normal(1000), {}),
        ("sparse csr 2000", (sp.random(2000, 2000, density=0.002, random_state=rng)
                             + sp.eye(2000) * 4).tocsr(), rng.standard_normal(2000), {}),
        ("sparse in dense 300", sparse_in_dense(300), rng.standard_normal(300), {}),
        ("banded 400", np.triu(np.tril(rng.standard_normal((400, 400)), 2), -2)
         + 5 * np.eye(400), rng.standard_normal(400), {}),
    ]
    return rows


def _serial(cases):
    return [solve(a, b, **kw) for _, a, b, kw in cases]


@pytest.fixture(scope="module")
def cases():
    return _cases()


def test_threads_match_serial_bit_for_bit(cases):
    ref_plain = _serial(cases)
    plugin = _NeverClaims()
    hybridsolve.register(plugin)
    try:
        ref_plugin = _serial(cases)
    finally:
        hybridsolve.unregister(plugin.name)
    assert _serial(cases)[0].tobytes() == ref_plain[0].tobytes()

    results = [[] for _ in range(N_THREADS)]
    errors = []
    start = threading.Barrier(N_THREADS + 1)
    stop = threading.Event()

    def worker(t):
        order = np.random.default_rng(t).permutation(len(cases) * ROUNDS) % len(cases)
        try:
            start.wait(timeout=JOIN_TIMEOUT)
            for i in order:
                _, a, b, kw = cases[i]
                results[t].append((i, solve(a, b, **kw)))
        except BaseException as exc:  # noqa: BLE001 -- reported below
            errors.append((t, repr(exc)))

    def registrar():
        start.wait(timeout=JOIN_TIMEOUT)
        while not stop.is_set():
            hybridsolve.register(plugin, replace=True)
            stop.wait(0.01)
            hybridsolve.unregister(plugin.name)
            stop.wait(0.01)

    threads = [threading.Thread(target=worker, args=(t,), daemon=True)
               for t in range(N_THREADS)]
    reg = threading.Thread(target=registrar, daemon=True)
    for th in threads + [reg]:
        th.start()
    for th in threads:
        th.join(JOIN_TIMEOUT)
    stop.set()
    reg.join(JOIN_TIMEOUT)
    hung = [th.name for th in threads + [reg] if th.is_alive()]
    assert not hung, f"threads still running after {JOIN_TIMEOUT} s (deadlock?): {hung}"
    if plugin.name in [s.name for s in hybridsolve.solvers()]:
        hybridsolve.unregister(plugin.name)
    assert not errors, errors

    differ = []
    for t in range(N_THREADS):
        assert len(results[t]) == len(cases) * ROUNDS
        for i, x in results[t]:
            if x.tobytes() not in (ref_plain[i].tobytes(), ref_plugin[i].tobytes()):
                rel = np.abs(x - ref_plain[i]).max() / np.abs(ref_plain[i]).max()
                differ.append((cases[i][0], t, float(rel)))
    total = N_THREADS * ROUNDS * len(cases)
    assert not differ, f"{len(differ)} of {total} results differ from serial: {differ[:10]}"
