"""The Dask roads against their targets (issue 11), side by side in one process.

    python -m benchmarks.bench_dask [--quick] [--only stability,batch,rhs,spd]
                                    [--batch-chunks N]
                                    [--out-of-core [--ooc-gib 26] [--ooc-dir DIR]]
                                    [--estimate]

* stability  backward errors: dask_lu (CALU) vs dask.array.linalg.solve vs
             scipy.linalg.solve on A with its leading block scaled by 1e-10 (2000 / 500
             chunks, 4000 / 1000 chunks); dask_cholesky vs in-process Cholesky on SPD
             8000 / 2000 chunks.  Targets: within 10x of the in-process figure.
* batch      4 000 000 x 3x3 generated on the workers of a 2-process LocalCluster
             (one worker thread each), in --batch-chunks chunks along the batch
             (default: one per worker thread, chunk i's a and b made together on
             worker i mod W): our solve on the cluster vs numpy.linalg.solve and vs our
             in-process batched road on the same systems in the client process.
             Targets: >= 1.5x numpy, <= 1.3x ours.  11 interleaved samples unless
             --repeat says otherwise (the case is short and its spread is wide).
             Timed on the cluster: hybridsolve.solve(A, B) (building the graph, pricing
             included), client.persist of the result and the wait until every chunk of x
             is in worker memory -- the solve's graph on inputs already on the workers,
             x left there (not gathered: the in-process side's x is in its memory, and
             a client gather would add 96 MB through one socket).  Timed in-process:
             hybridsolve.solve(a, b) / np.linalg.solve(a, b), x in memory.  Generation
             is outside both.  After the timings, one untimed cluster run's task
             stream says where its time went (submission, each worker's compute and
             transfers, its idle gaps, the last task to the result).
* rhs        A 3000x3000, B 3000x40000 in 5000-column chunks on the cluster vs
             in-process factorize(A).solve(B).  Target: <= 1.3x.
* spd        SPD n = 8000 (2000 tiles) on the cluster vs in-process Cholesky.
             Target: <= 1.5x.  9 interleaved samples unless --repeat says otherwise.
* --out-of-core  a batch of 3x3 systems of --ooc-gib GiB on disk (memory-mapped .npy in
             --ooc-dir, read and written by file I/O), solved chunk by chunk into another
             .npy with da.store; reports the peak resident memory (target < 4 GiB).
             Not run by default.
* --estimate the task graph's own counts (tasks, flops, bytes between tasks) for
             n = 100 000 in 5000 tiles, as used by docs/dask.rst.

Cluster timings include scheduling (graph submission to result in worker memory); inputs
are generated on the workers and persisted before the clock starts (the batch's a and b
chunk by chunk together, so a chunk's systems sit on one worker).  --quick shrinks
every size (a smoke run, not a measurement).
"""
from __future__ import annotations

import argparse
import operator
import os
import sys
import threading
import time

import numpy as np
import scipy
import scipy.linalg as sl

from benchmarks._timing import machine_line, numpy_contender, table
from hybridsolve._bench import interleaved_samples


def backward_error(a, x, b):
    r = np.linalg.norm(b - a @ x, 1)
    return r / (np.linalg.norm(a, 1) * np.linalg.norm(x, 1) + np.linalg.norm(b, 1))


def verdict(ok):
    return "PASS" if ok else "FAIL"


def interleaved_times(contenders, repeat):
    """{name: (median, min, max)} from the shared harness (``hybridsolve._bench``:
    interleaved A B C, A B C, ... after one warm-up each; a ``numpy_contender``'s own
    BLAS held at one thread around its samples)."""
    samples = interleaved_samples(contenders, repeat)
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


def _systems(n, m, seed):
    """m systems of order n, diagonally dominant, and one right-hand side each."""
    rng = np.random.default_rng(seed)
    return rng.standard_normal((m, n, n)) + n * np.eye(n), rng.standard_normal((m, n, 1))


def batch_inputs(client, m, chunks):
    """A (m, 3, 3) and B (m, 3, 1) dask arrays in ``chunks`` chunks along the batch,
    generated on the workers: chunk i's a and b are made by one task on worker i mod W
    (as a per-chunk generator would), and A's and B's chunk keys are the keys of tasks
    pinned to that worker.  No alias task the scheduler may place elsewhere: built with
    da.from_delayed of the futures, the persisted chunks were alias tasks, and at 4
    chunks a chunk's a and b ended on different workers (or every chunk on one), so
    solves waited for their inputs to move."""
    from collections import Counter
    import dask.array as da
    from distributed import wait
    chunk = m // chunks
    workers = sorted(client.scheduler_info()["workers"])
    names = ("hs-bench-batch-a", "hs-bench-batch-b")
    where = [[workers[i % len(workers)]] for i in range(chunks)]
    parts = [client.submit(_systems, 3, chunk, 1000 + i, pure=False, workers=where[i])
             for i in range(chunks)]
    keyed = [[client.submit(operator.getitem, f, j, key=(nm, i, 0, 0), workers=where[i])
              for i, f in enumerate(parts)] for j, nm in enumerate(names)]
    wait(keyed)
    del parts
    A, B = (da.Array({f.key: f for f in fs}, nm, chunks=((chunk,) * chunks, (3,), (k,)),
                     dtype=np.float64) for fs, nm, k in zip(keyed, names, (3, 1)))
    ha, hb = client.who_has(A), client.who_has(B)
    together = sum(ha[(names[0],) + k[1:]] == hb[k] for k in hb)
    print(f"batch inputs: {chunks} chunks of {chunk} systems, chunks per worker "
          f"{sorted(Counter(w for v in ha.values() for w in v).values())}, a and b of a "
          f"chunk on one worker: {together} of {len(ha)}")
    return A, B


def batch(client, quick, repeat, chunks=None):
    import hybridsolve
    m = 400_000 if quick else 4_000_000
    threads = sum(w["nthreads"] for w in client.scheduler_info()["workers"].values())
    chunks = chunks or threads
    A, B = batch_inputs(client, m, chunks)
    a, b = client.compute([A, B], sync=True)          # the same systems, in-process

    def on_cluster():
        _persist(client, hybridsolve.solve(A, B))

    t = interleaved_times({
        "cluster": on_cluster,
        "numpy": numpy_contender(lambda: np.linalg.solve(a, b)),
        "ours in-process": lambda: hybridsolve.solve(a, b),
    }, repeat)
    x = client.compute(hybridsolve.solve(A, B), sync=True)
    assert np.allclose(x, np.linalg.solve(a, b))
    rows = [[f"{m} x 3x3 / {chunks} chunks", fmt(t["cluster"]), fmt(t["numpy"]),
             fmt(t["ours in-process"]),
             f"{t['numpy'][0] / t['cluster'][0]:.2f}x "
             f"{verdict(t['numpy'][0] / t['cluster'][0] >= 1.5)}",
             f"{t['cluster'][0] / t['ours in-process'][0]:.2f}x "
             f"{verdict(t['cluster'][0] / t['ours in-process'][0] <= 1.3)}"]]
    print(table(rows, ["batch", "cluster (2 workers)", "numpy in-process",
                       "ours in-process", "numpy / cluster (>= 1.5)",
                       "cluster / ours (<= 1.3)"]))
    print(batch_phases(client, lambda: on_cluster()))


def batch_phases(client, run):
    """Where one (untimed) cluster run's time goes, from distributed's task stream:
    submission to the first task, each worker's task compute and transfer time, the
    last task to the result in memory (the rest of each worker's span is its idle
    time between tasks: scheduling)."""
    from collections import defaultdict
    from distributed import get_task_stream
    with get_task_stream(client) as ts:
        t0 = time.time()
        run()
        t1 = time.time()
    busy, spans = defaultdict(float), defaultdict(list)
    tasks = 0
    for r in ts.data:
        tasks += 1
        for s in r["startstops"]:
            busy[(r["worker"], s["action"])] += s["stop"] - s["start"]
            spans[r["worker"]] += [s["start"], s["stop"]]
    first = min(min(v) for v in spans.values()) - t0
    last = t1 - max(max(v) for v in spans.values())
    per = "; ".join(
        f"worker {i}: compute {1e3 * busy[(w, 'compute')]:.1f} ms, transfer "
        f"{1e3 * busy[(w, 'transfer')]:.1f} ms, span {1e3 * (max(v) - min(v)):.1f} ms"
        for i, (w, v) in enumerate(sorted(spans.items())))
    return (f"one cluster run, {1e3 * (t1 - t0):.1f} ms, {tasks} tasks: submission to "
            f"first task {1e3 * first:.1f} ms; {per}; last task to result "
            f"{1e3 * last:.1f} ms")


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


def _rss_kib():
    """(RssAnon, VmRSS) of this process in KiB."""
    out = {}
    with open("/proc/self/status") as f:
        for line in f:
            if line.startswith(("RssAnon:", "VmRSS:")):
                out[line.split(":")[0]] = int(line.split()[1])
    return out.get("RssAnon", 0), out.get("VmRSS", 0)


class NpyFile:
    """A C-ordered ``.npy`` file read and written chunk by chunk along its first axis
    with ``os.pread`` / ``os.pwrite``: what ``da.from_array`` reads and ``da.store``
    writes.  Not a ``np.memmap``: ``da.from_array`` copies an array that has a
    ``copy()`` method -- a whole memory map into memory -- and the pages of a map count
    in the process's resident memory; a file read puts them in the page cache only."""

    def __init__(self, path, mode="r", dtype=None, shape=None):
        if mode == "w":
            mm = np.lib.format.open_memmap(path, "w+", dtype, shape)   # the header
            del mm
        mm = np.load(path, mmap_mode="r")
        self.shape, self.dtype, self.ndim = mm.shape, mm.dtype, mm.ndim
        self.offset = mm.offset
        del mm
        self.row = int(np.prod(self.shape[1:])) * self.dtype.itemsize
        self.fd = os.open(path, os.O_RDWR if mode == "w" else os.O_RDONLY)

    def _rows(self, idx):
        idx = idx if isinstance(idx, tuple) else (idx,)
        s = idx[0]
        full = all(i == slice(None) or i == slice(0, n, None) or
                   (isinstance(i, slice) and i.indices(n) == (0, n, 1))
                   for i, n in zip(idx[1:], self.shape[1:]))
        if not (isinstance(s, slice) and full):
            raise IndexError("NpyFile reads and writes whole rows: (slice, :, ...)")
        start, stop, step = s.indices(self.shape[0])
        if step != 1:
            raise IndexError("NpyFile: contiguous rows only")
        return start, max(start, stop)

    def __getitem__(self, idx):
        start, stop = self._rows(idx)
        out = np.empty((stop - start,) + self.shape[1:], self.dtype)
        buf, pos, off = memoryview(out).cast("B"), 0, self.offset + start * self.row
        while pos < len(buf):
            pos += os.preadv(self.fd, [buf[pos:]], off + pos)
        _drop(self.fd, off, len(buf))
        return out

    def __setitem__(self, idx, value):
        start, stop = self._rows(idx)
        value = np.ascontiguousarray(value, dtype=self.dtype)
        buf, pos, off = memoryview(value).cast("B"), 0, self.offset + start * self.row
        while pos < len(buf):
            pos += os.pwrite(self.fd, buf[pos:], off + pos)
        os.fdatasync(self.fd)
        _drop(self.fd, off, len(buf))

    def close(self):
        os.close(self.fd)


def _drop(fd, off, n):
    """Leave the page cache to others: the chunk is read (or written back) once."""
    if hasattr(os, "posix_fadvise"):
        os.posix_fadvise(fd, off, n, os.POSIX_FADV_DONTNEED)


def out_of_core(gib, where):
    import dask
    import dask.array as da
    import hybridsolve
    m = int(gib * 2 ** 30 / (8 * 12))            # a (m, 3, 3) and b (m, 3, 1)
    chunk = 1 << 20
    fa, fb, fx = (os.path.join(where, f"hs_ooc_{s}.npy") for s in "abx")
    rng = np.random.default_rng(6)
    try:
        a = NpyFile(fa, "w", np.float64, (m, 3, 3))
        b = NpyFile(fb, "w", np.float64, (m, 3, 1))
        for s in range(0, m, chunk):                  # written chunk by chunk
            e = min(m, s + chunk)
            a[s:e] = rng.standard_normal((e - s, 3, 3)) + 3 * np.eye(3)
            b[s:e] = rng.standard_normal((e - s, 3, 1))
        a.close(), b.close()
        out = NpyFile(fx, "w", np.float64, (m, 3, 1))
        ra, rb = NpyFile(fa), NpyFile(fb)
        A = da.from_array(ra, chunks=(chunk, 3, 3), asarray=True)
        B = da.from_array(rb, chunks=(chunk, 3, 1), asarray=True)
        peak = [_rss_kib()]
        done = threading.Event()

        def sample():
            while not done.wait(0.05):
                now = _rss_kib()
                peak[0] = (max(peak[0][0], now[0]), max(peak[0][1], now[1]))

        th = threading.Thread(target=sample)
        th.start()
        t0 = time.perf_counter()
        with dask.config.set(scheduler="threads"):
            da.store(hybridsolve.solve(A, B), out, lock=False)
        dt = time.perf_counter() - t0
        done.set()
        th.join()
        s = slice(m // 2, m // 2 + 1000)
        chk = np.linalg.solve(ra[s], rb[s])
        assert np.allclose(out[s], chk)
        for f in (ra, rb, out):
            f.close()
        print(f"out-of-core: {m} x 3x3 ({gib:.3g} GiB of a and b) in {dt:.1f} s, peak "
              f"resident memory {peak[0][1] / 2 ** 20:.2f} GiB (anonymous "
              f"{peak[0][0] / 2 ** 20:.2f} GiB) {verdict(peak[0][1] < 4 * 2 ** 20)}")
    finally:
        for f in (fa, fb, fx):
            if os.path.exists(f):
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
    p.add_argument("--batch-chunks", type=int, default=None,
                   help="chunks of the batch case (default: one per worker thread)")
    args = p.parse_args(list(argv))
    quick = quick or args.quick
    repeat = args.repeat or (3 if quick else 5)
    import dask
    import distributed
    print(f"dask {dask.__version__}, distributed {distributed.__version__}, numpy "
          f"{np.__version__}, scipy {scipy.__version__}")
    print(machine_line())
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
            if "batch" in only:   # a 0.1 s case whose first samples after a cold
                # start ran up to 2.6x the rest (12:29 UTC, 2026-12-02): 11 samples
                batch(client, quick, args.repeat or (5 if quick else 11),
                      args.batch_chunks)
            if "rhs" in only:
                rhs(client, quick, repeat)
            if "spd" in only:     # the cluster's samples spread over 2.0-3.4 s
                # (the scheduler's placement of the first panel's tiles differs from
                # run to run; 2026-12-02): 9 samples for the median
                spd(client, quick, args.repeat or (3 if quick else 9))
        finally:
            client.close()
            c.close()


if __name__ == "__main__":
    main(argv=sys.argv[1:])
