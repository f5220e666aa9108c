"""The Dask roads against their targets (issue 11), side by side in one process.

    python -m benchmarks.bench_dask [--quick] [--only stability,batch,rhs,spd]
                                    [--out-of-core [--ooc-gib 26] [--ooc-dir DIR]]
                                    [--estimate]

* stability  backward errors: dask_lu (CALU) vs dask.array.linalg.solve vs
             scipy.linalg.solve on A with its leading block scaled by 1e-10 (2000 / 500
             chunks, 4000 / 1000 chunks); dask_cholesky vs in-process Cholesky on SPD
             8000 / 2000 chunks.  Targets: within 10x of the in-process figure.
* batch      4 000 000 x 3x3 generated on the workers of a 2-process LocalCluster:
             our solve on the cluster vs numpy.linalg.solve and vs our in-process
             batched road on the same systems.  Targets: >= 1.5x numpy, <= 1.3x ours.
* rhs        A 3000x3000, B 3000x40000 in 5000-column chunks on the cluster vs
             in-process factorize(A).solve(B).  Target: <= 1.3x.
* spd        SPD n = 8000 (2000 tiles) on the cluster vs in-process Cholesky.
             Target: <= 1.5x.
* --out-of-core  a batch of 3x3 systems of --ooc-gib GiB on disk (memory-mapped .npy in
             --ooc-dir), solved chunk by chunk into another .npy with da.store; reports
             the peak anonymous resident memory (target < 4 GiB).  Not run by default.
* --estimate the task graph's own counts (tasks, flops, bytes between tasks) for
             n = 100 000 in 5000 tiles, as used by docs/dask.rst.

Cluster timings include scheduling (graph submission to result in worker memory); inputs
are generated on the workers and persisted before the clock starts.  --quick shrinks
every size (a smoke run, not a measurement).
"""
from __future__ import annotations

import argparse
import os
import sys
import threading
import time

import numpy as np
import scipy.linalg as sl

from benchmarks._timing import table


def backward_error(a, x, b):
    r = np.linalg.norm(b - a @ x, 1)
    return r / (np.linalg.norm(a, 1) * np.linalg.norm(x, 1) + np.linalg.norm(b, 1))


def verdict(ok):
    return "PASS" if ok else "FAIL"


def median_time(f, repeat):
    ts = []
    for _ in range(repeat):
        t0 = time.perf_counter()
        f()
        ts.append(time.perf_counter() - t0)
    return float(np.median(ts)), float(min(ts)), float(max(ts))


def interleaved_times(contenders, repeat):
    """{name: (median, min, max)} measured A B C, A B C, ... after one warm-up each."""
    for f in contenders.values():
        f()
    samples = {k: [] for k in contenders}
    for _ in range(repeat):
        for k, f in contenders.items():
            t0 = time.perf_counter()
            f()
            samples[k].append(time.perf_counter() - t0)
    return {k: (float(np.median(v)), min(v), max(v)) for k, v in samples.items()}


def fmt(t):
    return f"{t[0]:.3g} s [{t[1]:.3g}, {t[2]:.3g}]"


# --------------------------------------------------------------------------- stability


def stability(quick):
    import dask
    import dask.array as da
    import hybridsolve
    rows = []
    cases = [(800, 200), (1200, 300)] if quick else [(2000, 500), (4000, 1000)]
    rng = np.random.default_rng(0)
    with dask.config.set(scheduler="threads"):
        for n, t in cases:
            a = rng.standard_normal((n, n))
            a[:t, :t] *= 1e-10
            b = rng.standard_normal((n, 1))
            A = da.from_array(a, chunks=t)
            ours = backward_error(a, hybridsolve.solve(A, b, method="dask_lu").compute(), b)
            theirs = backward_error(a, da.linalg.solve(
                A, da.from_array(b, chunks=(t, 1))).compute(), b)
            ref = backward_error(a, sl.solve(a, b), b)
            rows.append([f"{n} / {t} (block 1e-10)", f"{ours:.2g}", f"{theirs:.2g}",
                         f"{ref:.2g}", verdict(ours <= 10 * ref)])
        n, t = (2000, 500) if quick else (8000, 2000)
        g = rng.standard_normal((n, n))
        spd = g @ g.T + n * np.eye(n)
        b = rng.standard_normal((n, 1))
        x = hybridsolve.solve(da.from_array(spd, chunks=t), b, assume_a="pos",
                              method="dask_cholesky").compute()
        ours = backward_error(spd, x, b)
        ref = backward_error(spd, hybridsolve.solve(spd, b, assume_a="pos"), b)
        theirs = backward_error(spd, da.linalg.solve(
            da.from_array(spd, chunks=t), da.from_array(b, chunks=(t, 1)),
            **_dask_pos()).compute(), b)
        rows.append([f"SPD {n} / {t}", f"{ours:.2g}", f"{theirs:.2g}",
                     f"{ref:.2g} (in-process Cholesky)", verdict(ours <= 10 * ref)])
    print(table(rows, ["case (n / chunk)", "hybridsolve dask", "dask.linalg.solve",
                       "scipy / in-process", "within 10x"]))


def _dask_pos():
    """dask.array.linalg.solve's keyword for an SPD A (assume_a='pos' in newer dask)."""
    import inspect
    import dask.array as da
    params = inspect.signature(da.linalg.solve).parameters
    return {"assume_a": "pos"} if "assume_a" in params else {"sym_pos": True}


# --------------------------------------------------------------------------- cluster


def cluster():
    from distributed import Client, LocalCluster
    c = LocalCluster(n_workers=2, threads_per_worker=1, processes=True,
                     host="127.0.0.1", dashboard_address=None, silence_logs=40)
    return c, Client(c)


def _persist(client, x):
    from distributed import wait
    x = client.persist(x)
    wait(x)
    return x


def batch(client, quick, repeat):
    import dask.array as da
    import hybridsolve
    m = 400_000 if quick else 4_000_000
    chunk = m // 8
    rs = da.random.default_rng(1)
    A = _persist(client, rs.standard_normal((m, 3, 3), chunks=(chunk, 3, 3))
                 + 3 * np.eye(3))
    B = _persist(client, rs.standard_normal((m, 3, 1), chunks=(chunk, 3, 1)))
    a, b = client.compute([A, B], sync=True)          # the same systems, in-process

    def on_cluster():
        _persist(client, hybridsolve.solve(A, B))

    t = interleaved_times({
        "cluster": on_cluster,
        "numpy": lambda: np.linalg.solve(a, b),
        "ours in-process": lambda: hybridsolve.solve(a, b),
    }, repeat)
    x = client.compute(hybridsolve.solve(A, B), sync=True)
    assert np.allclose(x, np.linalg.solve(a, b))
    rows = [[f"{m} x 3x3", fmt(t["cluster"]), fmt(t["numpy"]), fmt(t["ours in-process"]),
             f"{t['numpy'][0] / t['cluster'][0]:.2f}x "
             f"{verdict(t['numpy'][0] / t['cluster'][0] >= 1.5)}",
             f"{t['cluster'][0] / t['ours in-process'][0]:.2f}x "
             f"{verdict(t['cluster'][0] / t['ours in-process'][0] <= 1.3)}"]]
    print(table(rows, ["batch", "cluster (2 workers)", "numpy in-process",
                       "ours in-process", "numpy / cluster (>= 1.5)",
                       "cluster / ours (<= 1.3)"]))


def rhs(client, quick, repeat):
    import dask.array as da
    import hybridsolve
    n, k, c = (1000, 8000, 2000) if quick else (3000, 40000, 5000)
    rng = np.random.default_rng(2)
    a = rng.standard_normal((n, n)) + np.sqrt(n) * np.eye(n)
    rs = da.random.default_rng(3)
    B = _persist(client, rs.standard_normal((n, k), chunks=(n, c)))
    b = client.compute(B, sync=True)

    def on_cluster():
        x = hybridsolve.solve(a, B)        # factored once here, shipped once per worker
        _persist(client, x)

    t = interleaved_times({
        "cluster": on_cluster,
        "in-process": lambda: hybridsolve.factorize(a).solve(b),
    }, repeat)
    x = client.compute(hybridsolve.solve(a, B), sync=True)
    assert backward_error(a, x, b) < 1e-12
    r = t["cluster"][0] / t["in-process"][0]
    print(table([[f"A {n}^2, B {n} x {k} / {c}", fmt(t["cluster"]), fmt(t["in-process"]),
                  f"{r:.2f}x {verdict(r <= 1.3)}"]],
                ["many rhs", "cluster", "in-process factorize(A).solve(B)",
                 "cluster / in-process (<= 1.3)"]))


def spd(client, quick, repeat):
    import dask.array as da
    import hybridsolve
    n, t = (2000, 500) if quick else (8000, 2000)
    rs = da.random.default_rng(4)
    G = rs.standard_normal((n, n), chunks=t)
    A = _persist(client, (G @ G.T + n * da.eye(n, chunks=t)).rechunk(t))
    b = np.random.default_rng(5).standard_normal((n, 1))
    a = client.compute(A, sync=True)

    def on_cluster():
        x = hybridsolve.solve(A, b, assume_a="pos", method="dask_cholesky")
        _persist(client, x)

    tt = interleaved_times({
        "cluster": on_cluster,
        "in-process": lambda: hybridsolve.solve(a, b, assume_a="pos"),
    }, repeat)
    x = client.compute(hybridsolve.solve(A, b, assume_a="pos", method="dask_cholesky"),
                       sync=True)
    be = backward_error(a, x, b)
    r = tt["cluster"][0] / tt["in-process"][0]
    print(table([[f"{n} / {t}", fmt(tt["cluster"]), fmt(tt["in-process"]),
                  f"{r:.2f}x {verdict(r <= 1.5)}", f"{be:.2g}"]],
                ["SPD (n / tile)", "cluster dask_cholesky", "in-process Cholesky",
                 "cluster / in-process (<= 1.5)", "backward error"]))


# --------------------------------------------------------------------------- out of core


def _anon_kib():
    with open("/proc/self/status") as f:
        for line in f:
            if line.startswith("RssAnon:"):
                return int(line.split()[1])
    return 0


def out_of_core(gib, where):
    import dask
    import dask.array as da
    import hybridsolve
    m = int(gib * 2 ** 30 / (8 * 12))            # a (m, 3, 3) and b (m, 3, 1)
    chunk = 1 << 20
    fa, fb, fx = (os.path.join(where, f"hs_ooc_{s}.npy") for s in "abx")
    rng = np.random.default_rng(6)
    a = np.lib.format.open_memmap(fa, "w+", np.float64, (m, 3, 3))
    b = np.lib.format.open_memmap(fb, "w+", np.float64, (m, 3, 1))
    for s in range(0, m, chunk):                  # written chunk by chunk
        e = min(m, s + chunk)
        a[s:e] = rng.standard_normal((e - s, 3, 3)) + 3 * np.eye(3)
        b[s:e] = rng.standard_normal((e - s, 3, 1))
    a.flush(), b.flush()
    del a, b
    out = np.lib.format.open_memmap(fx, "w+", np.float64, (m, 3, 1))
    A = da.from_array(np.load(fa, mmap_mode="r"), chunks=(chunk, 3, 3))
    B = da.from_array(np.load(fb, mmap_mode="r"), chunks=(chunk, 3, 1))
    peak = [_anon_kib()]
    done = threading.Event()

    def sample():
        while not done.wait(0.05):
            peak[0] = max(peak[0], _anon_kib())

    th = threading.Thread(target=sample)
    th.start()
    t0 = time.perf_counter()
    with dask.config.set(scheduler="threads"):
        da.store(hybridsolve.solve(A, B), out)
    dt = time.perf_counter() - t0
    done.set()
    th.join()
    out.flush()
    s = slice(m // 2, m // 2 + 1000)
    chk = np.linalg.solve(np.load(fa, mmap_mode="r")[s], np.load(fb, mmap_mode="r")[s])
    assert np.allclose(np.load(fx, mmap_mode="r")[s], chk)
    print(f"out-of-core: {m} x 3x3 ({gib:.3g} GiB of a and b) in {dt:.1f} s, peak "
          f"anonymous RSS {peak[0] / 2 ** 20:.2f} GiB "
          f"{verdict(peak[0] < 4 * 2 ** 20)}")
    for f in (fa, fb, fx):
        os.remove(f)


# --------------------------------------------------------------------------- estimate


def estimate(n=100_000, tile=5000):
    """The factor graphs' own counts for n in tiles (the graphs are built, not run)."""
    import dask.array as da
    from hybridsolve.roads.dask.cholesky import DaskCholeskyFactorization
    from hybridsolve.roads.dask.lu import DaskLUFactorization
    a = da.zeros((n, n), chunks=tile)
    for name, fac in (("cholesky", DaskCholeskyFactorization(a, np.float64, True, False,
                                                             False)),
                      ("CALU", DaskLUFactorization(a, np.float64, False))):
        g = fac.graph
        print(f"{name}: n={n}, tile={tile}: {len(g)} tasks, {g.flops:.3g} flop, "
              f"{g.moved:.3g} bytes along task edges (upper bound)")


def main(quick=False, argv=()):
    p = argparse.ArgumentParser(prog="benchmarks.bench_dask")
    p.add_argument("--quick", action="store_true")
    p.add_argument("--only", default="stability,batch,rhs,spd")
    p.add_argument("--repeat", type=int, default=None)
    p.add_argument("--out-of-core", action="store_true")
    p.add_argument("--ooc-gib", type=float, default=26.0)
    p.add_argument("--ooc-dir", default=".")
    p.add_argument("--estimate", action="store_true")
    args = p.parse_args(list(argv))
    quick = quick or args.quick
    repeat = args.repeat or (3 if quick else 5)
    import dask
    import numpy
    import scipy
    print(f"dask {dask.__version__}, numpy {numpy.__version__}, scipy "
          f"{scipy.__version__}, cores {len(os.sched_getaffinity(0))}, load "
          f"{os.getloadavg()[0]:.1f}")
    if args.estimate:
        estimate()
        return
    if args.out_of_core:
        out_of_core(args.ooc_gib, args.ooc_dir)
        return
    only = set(args.only.split(","))
    if "stability" in only:
        stability(quick)
    if only & {"batch", "rhs", "spd"}:
        c, client = cluster()
        try:
            if "batch" in only:
                batch(client, quick, repeat)
            if "rhs" in only:
                rhs(client, quick, repeat)
            if "spd" in only:
                spd(client, quick, repeat)
        finally:
            client.close()
            c.close()


if __name__ == "__main__":
    main(argv=sys.argv[1:])
