"""``hybridsolve tune``: measure the crossovers that matter on this machine and write them
as the JSON file ``hybridsolve._tuning`` reads at import.

Measured (each contender timed interleaved with the other, medians of the samples):

* ``small_own_lu_max`` / ``small_own_chol_max``: the small kernel's own LU / Cholesky
  loops against the shared blocked kernels, ``small_solve`` at n = 16..64;
* ``lu_lapack_n``: the LU kernel's recursion against LAPACK getrf (n = 64..384);
* ``chol_lapack_from``: the Cholesky kernel's recursion against LAPACK potrf;
* ``small_complex_lu_max``: the small road against the LU road on general complex128
  A through ``solve(method=...)`` (n = 32..64);
* ``lu_solve_own_n``: the LU solve's own substitution loops against BLAS trsv, one
  right-hand side (n = 32..192);
* ``trsv_max_nrhs`` / ``trsv_max_work``: column-by-column trsv against trsm for a few
  right-hand sides (n = 500..2000, nrhs = 1..8), in the LU solve;
* ``batch_par_grain`` / ``batch_chunk_work``: one thread against the thread policy's
  number for small batches of 3 x 3 systems (the break-even work), and the chunk size
  of the dynamic schedule at 100000 x 3 x 3;
* ``batch_compact_n`` / ``batch_compact_n32``: the compact lane-interleaved batch kernel
  against the per-slice kernel, one thread, general float64 / float32 m x n x n stacks
  with one right-hand side (about the same work per size): the largest n up to which the
  compact kernel is faster at every measured n;
* ``sparse_dense_factor_overhead``: the banded road against the stored-dense sparse
  road on 2-D Poisson matrices (the n where sparse_dense overtakes);
* ``sparse_cholmod_min_nnz`` / ``sparse_pardiso_min_nnz``: the sparse Cholesky
  backends' order by size -- each optional backend installed here against SuperLU's
  symmetric mode on 2-D Poisson matrices (the nnz from which it wins);
  ``sparse_pardiso_first_min_nnz`` / ``sparse_pardiso_first_band_ratio``: PARDISO
  against the backend it would go before (CHOLMOD, else SuperLU) on 3-D Poisson
  matrices (wide rows) and on those 2-D ones (banded narrow rows; the ratio 0 where
  PARDISO does not win there).

Run it on an otherwise idle machine: the values are only as good as the timings.
``--quick`` measures fewer sizes with fewer repetitions (about a minute on 2 cores).
The file records the machine, the BLAS, the thread count and every timing under
``_measured`` (ignored when read).
"""
from __future__ import annotations

import argparse
import json
import os
import platform
import sys
import time

import numpy as np

__all__ = ["add_arguments", "run", "main"]


# ------------------------------------------------------------------ timing

class _Progress:
    """Plain progress lines on stderr: step i/n, what is measured, elapsed time."""

    def __init__(self, total, stream=None):
        self.total, self.i, self.t0 = total, 0, time.perf_counter()
        self.stream = sys.stderr if stream is None else stream

    def step(self, what):
        self.i += 1
        print(f"[{self.i}/{self.total} {time.perf_counter() - self.t0:5.1f}s] {what}",
              file=self.stream, flush=True)

    def note(self, text):
        print(f"          {text}", file=self.stream, flush=True)


def _medians(contenders, repeat, min_time):
    """Median seconds per call of each ``name -> (setup, call)``, interleaved: every
    round times each contender once (``setup`` outside the timing; a fast call is
    looped until ``min_time``)."""
    loops = {}
    for name, (setup, call) in contenders.items():
        setup()
        call()                      # warm-up
        setup()
        t0 = time.perf_counter()
        call()
        dt = time.perf_counter() - t0
        loops[name] = max(1, int(min_time / dt)) if dt > 0 else 1
    samples = {name: [] for name in contenders}
    for _ in range(repeat):
        for name, (setup, call) in contenders.items():
            total = 0.0
            for _ in range(loops[name]):
                setup()
                t0 = time.perf_counter()
                call()
                total += time.perf_counter() - t0
            samples[name].append(total / loops[name])
    return {name: float(np.median(s)) for name, s in samples.items()}


def _last_win(ns, wins, below):
    """Largest n of ``ns`` (ascending) up to which ``wins`` holds at every measured n;
    ``below`` when it fails already at the first."""
    best = below
    for n, w in zip(ns, wins):
        if not w:
            break
        best = n
    return best


def _first_of_tail(ns, wins, beyond):
    """Smallest n of ``ns`` from which ``wins`` holds at every larger measured n;
    ``beyond`` when it fails at the last."""
    first = beyond
    for n, w in zip(reversed(ns), reversed(wins)):
        if not w:
            break
        first = n
    return first


# ------------------------------------------------------------------ measurements

def _own_small(cfg, rec, progress):
    from hybridsolve._kernels import small
    rng = np.random.default_rng(1)
    ns = cfg["small_ns"]
    out = {}
    for kind in ("lu", "chol"):
        progress.step(f"small kernel: own {kind.upper()} loops vs shared kernels, n = {ns}")
        wins = []
        for n in ns:
            m = rng.standard_normal((n, n))
            # exactly symmetric with a positive diagonal (Cholesky) / general (LU)
            a = (m + m.T) / 2 + n * np.eye(n) if kind == "chol" else m + n * np.eye(n)
            b = rng.standard_normal((n, 1))

            def own(a=a, b=b):
                old = small._set_own_max(64, 64)
                small.small_solve(a, b, False, False)
                small._set_own_max(*old)

            def shared(a=a, b=b):
                old = small._set_own_max(0, 0)
                small.small_solve(a, b, False, False)
                small._set_own_max(*old)

            t = _medians({"own": (_nothing, own), "shared": (_nothing, shared)},
                         cfg["repeat"], cfg["min_time"])
            wins.append(t["shared"] >= 0.9 * t["own"])   # a loss only when clear
            rec.setdefault(f"small_{kind}_us", {})[n] = [round(1e6 * t["own"], 2),
                                                         round(1e6 * t["shared"], 2)]
            progress.note(f"n = {n}: own {1e6 * t['own']:.1f} us, shared "
                          f"{1e6 * t['shared']:.1f} us")
        key = "small_own_lu_max" if kind == "lu" else "small_own_chol_max"
        # all wins: own loops up to the largest measured n and beyond (no evidence of a
        # loss); a loss at the first n: the shared kernels from there
        out[key] = _last_win(ns, wins, ns[0] - 1) if not all(wins) else max(64, ns[-1])
    return out


def _nothing():
    pass


def _lapack_crossover(cfg, rec, progress):
    from hybridsolve._kernels import cholesky as ck
    from hybridsolve._kernels import lu as lk
    rng = np.random.default_rng(2)
    ns = cfg["lapack_ns"]
    out = {}
    progress.step(f"LU kernel: own recursion vs LAPACK getrf, n = {ns}")
    wins = []
    for n in ns:
        a0 = np.asfortranarray(rng.standard_normal((n, n)))
        buf = np.empty_like(a0, order="F")
        ipiv = np.empty(n, dtype=np.intc)

        def setup(a0=a0, buf=buf):
            buf[...] = a0

        def run(lapack_n, buf=buf, ipiv=ipiv):
            old = lk._tuning(lapack_n=lapack_n)
            lk.factor_array(buf, ipiv, -1.0, False, False)
            lk._tuning(lapack_n=old["lapack_n"])

        t = _medians({"own": (setup, lambda: run(2 ** 30)), "lapack": (setup, lambda: run(0))},
                     cfg["repeat"], cfg["min_time"])
        wins.append(t["lapack"] < t["own"])
        rec.setdefault("lu_factor_us", {})[n] = [round(1e6 * t["own"], 1),
                                                 round(1e6 * t["lapack"], 1)]
        progress.note(f"n = {n}: own {1e6 * t['own']:.0f} us, getrf {1e6 * t['lapack']:.0f} us")
    out["lu_lapack_n"] = _first_of_tail(ns, wins, 2 * ns[-1])

    progress.step(f"Cholesky kernel: own recursion vs LAPACK potrf, n = {ns}")
    wins = []
    for n in ns:
        m = rng.standard_normal((n, n))
        a0 = np.asfortranarray(m @ m.T + n * np.eye(n))
        buf = np.empty_like(a0, order="F")

        def setup(a0=a0, buf=buf):
            buf[...] = a0

        def run(start, buf=buf):
            old = ck._set_lapack_from(start)
            ck.factor_array(buf, True, 1.0)
            ck._set_lapack_from(old)

        t = _medians({"own": (setup, lambda: run(0)), "lapack": (setup, lambda: run(1))},
                     cfg["repeat"], cfg["min_time"])
        wins.append(t["lapack"] < 0.97 * t["own"])   # a clear win, not noise
        rec.setdefault("chol_factor_us", {})[n] = [round(1e6 * t["own"], 1),
                                                   round(1e6 * t["lapack"], 1)]
        progress.note(f"n = {n}: own {1e6 * t['own']:.0f} us, potrf {1e6 * t['lapack']:.0f} us")
    first = _first_of_tail(ns, wins, 0)
    out["chol_lapack_from"] = first       # 0: potrf never clearly ahead, never hand over
    return out


def _lu_solve_own(cfg, rec, progress):
    from hybridsolve._kernels import lu as lk
    rng = np.random.default_rng(6)
    ns = cfg["own_solve_ns"]
    progress.step(f"LU solve: own substitution loops vs BLAS trsv, n = {ns}, one column")
    wins = []
    for n in ns:
        a = np.asfortranarray(rng.standard_normal((n, n)) + n * np.eye(n))
        ipiv = np.empty(n, dtype=np.intc)
        lk.factor_array(a, ipiv, -1.0, False, False)
        b0 = np.asfortranarray(rng.standard_normal((n, 1)))
        b = np.empty_like(b0, order="F")

        def setup(b0=b0, b=b):
            b[...] = b0

        def run(own_n, a=a, ipiv=ipiv, b=b):
            old = lk._tuning(solve_own_n=own_n)
            lk.solve_array(a, ipiv, b, 0, False)
            lk._tuning(solve_own_n=old["solve_own_n"])

        t = _medians({"own": (setup, lambda: run(2 ** 30)), "blas": (setup, lambda: run(0))},
                     cfg["repeat"], cfg["min_time"])
        wins.append(t["own"] <= t["blas"])
        rec.setdefault("lu_solve_own_us", {})[n] = [round(1e6 * t["own"], 2),
                                                    round(1e6 * t["blas"], 2)]
        progress.note(f"n = {n}: own {1e6 * t['own']:.1f} us, trsv {1e6 * t['blas']:.1f} us")
    return {"lu_solve_own_n": _last_win(ns, wins, 0)}


def _trsv_trsm(cfg, rec, progress):
    from hybridsolve._kernels import lu as lk
    rng = np.random.default_rng(3)
    ns, ks = cfg["trsv_ns"], cfg["trsv_nrhs"]
    progress.step(f"LU solve: trsv per column vs trsm, n = {ns}, nrhs = {ks}")
    table = {}
    for n in ns:
        a = np.asfortranarray(rng.standard_normal((n, n)) + n * np.eye(n))
        ipiv = np.empty(n, dtype=np.intc)
        lk.factor_array(a, ipiv, -1.0, False, False)
        for k in ks:
            b0 = np.asfortranarray(rng.standard_normal((n, k)))
            b = np.empty_like(b0, order="F")

            def setup(b0=b0, b=b):
                b[...] = b0

            def run(trsv, a=a, ipiv=ipiv, b=b):
                old = lk._tuning(solve_trsv_nrhs=2 ** 30 if trsv else 0,
                                 solve_trsv_work=0.0)
                lk.solve_array(a, ipiv, b, 0, False)
                lk._tuning(solve_trsv_nrhs=old["solve_trsv_nrhs"],
                           solve_trsv_work=old["solve_trsv_work"])

            t = _medians({"trsv": (setup, lambda: run(True)),
                          "trsm": (setup, lambda: run(False))},
                         cfg["repeat"], cfg["min_time"])
            table[(n, k)] = t["trsv"] <= t["trsm"]
            rec.setdefault("trsv_trsm_us", {})[f"{n}x{k}"] = [round(1e6 * t["trsv"], 1),
                                                              round(1e6 * t["trsm"], 1)]
            progress.note(f"n = {n}, nrhs = {k}: trsv {1e6 * t['trsv']:.0f} us, trsm "
                          f"{1e6 * t['trsm']:.0f} us")
    # trsv for nrhs <= K when it won at every n for every nrhs <= K
    nrhs_max = 0
    for k in ks:
        if all(table[(n, j)] for n in ns for j in ks if j <= k):
            nrhs_max = k
    # beyond that, trsv up to the largest work n^2 k below which it always won
    work = 0.0
    cases = sorted((n * n * k, table[(n, k)]) for n in ns for k in ks if k > nrhs_max)
    for w, won in cases:
        if not won:
            break
        work = float(w)
    return {"trsv_max_nrhs": nrhs_max, "trsv_max_work": work}


def _batch(cfg, rec, progress):
    from hybridsolve._kernels import small
    from hybridsolve._threads import num_threads
    nt = num_threads()
    out = {}
    if nt < 2:
        progress.step("batched kernel: one thread in force, nothing to measure")
        return out
    rng = np.random.default_rng(4)
    ms = cfg["batch_ms"]
    progress.step(f"batched kernel: 1 vs {nt} threads, m x 3 x 3 for m = {ms}")
    n, k = 3, 1
    per_slice = n * n * n / 3.0 + 2.0 * n * n * (k + 4)
    wins = []
    # no floor, the chunk size in force: the threads really start, as they would run
    # (a chunk of one slice would measure the schedule's overhead instead)
    old = small._set_batch_work(0.0, 1.0)
    small._set_batch_work(0.0, old[1])
    try:
        for m in ms:
            a = rng.standard_normal((m, n, n)) + 3 * np.eye(n)
            b = rng.standard_normal((m, n, k))
            t = _medians({"1": (_nothing, lambda: small.solve_batched(a, b, False, True,
                                                                      0.0, 1)),
                          "all": (_nothing, lambda: small.solve_batched(a, b, False, True,
                                                                        0.0, nt))},
                         cfg["repeat"], cfg["min_time"])
            wins.append(t["all"] < t["1"])
            rec.setdefault("batch_threads_us", {})[m] = [round(1e6 * t["1"], 1),
                                                         round(1e6 * t["all"], 1)]
            progress.note(f"m = {m}: 1 thread {1e6 * t['1']:.0f} us, {nt} threads "
                          f"{1e6 * t['all']:.0f} us")
    finally:
        small._set_batch_work(*old)
    first = _first_of_tail(ms, wins, None)
    if first is not None:
        # threads start once the work per thread reaches PAR_GRAIN: from m = first on
        out["batch_par_grain"] = round(first * per_slice / nt, -2) or 100.0
    m = cfg["chunk_m"]
    progress.step(f"batched kernel: chunk size of the schedule at {m} x 3 x 3, {nt} threads")
    a = rng.standard_normal((m, n, n)) + 3 * np.eye(n)
    b = rng.standard_normal((m, n, k))
    grain = out.get("batch_par_grain", old[0])
    contenders = {}
    for cw in cfg["chunk_works"]:
        def call(cw=cw):
            prev = small._set_batch_work(grain, cw)
            small.solve_batched(a, b, False, True, 0.0, nt)
            small._set_batch_work(*prev)
        contenders[cw] = (_nothing, call)
    t = _medians(contenders, cfg["repeat"], cfg["min_time"])
    best = min(t, key=t.get)
    rec["batch_chunk_us"] = {str(cw): round(1e6 * v, 1) for cw, v in t.items()}
    progress.note(", ".join(f"chunk work {cw:g}: {1e6 * v:.0f} us" for cw, v in t.items()))
    out["batch_chunk_work"] = float(best)
    return out


def _batch_compact(cfg, rec, progress):
    from hybridsolve._kernels import small
    from hybridsolve._kernels.batched import COMPACT_N, solve_compact
    ns = [n for n in cfg["compact_ns"] if n <= COMPACT_N]
    progress.step(f"batched road: compact kernel vs per-slice kernel, one thread, n = {ns}")
    rng = np.random.default_rng(6)
    out = {}
    for key, dtype in (("batch_compact_n", np.float64), ("batch_compact_n32", np.float32)):
        eps = float(np.finfo(dtype).eps)
        wins = []
        for n in ns:
            per_slice = n * n * n / 3.0 + 2.0 * n * n * 5  # solve_batched's count, k = 1
            m = max(64, int(cfg["compact_work"] / per_slice))
            a = rng.standard_normal((m, n, n)).astype(dtype)  # general: the LU of both
            b = rng.standard_normal((m, n, 1)).astype(dtype)
            def compact(a=a, b=b, eps=eps):   # as the road: the unsettled slices again
                _, done, _ = solve_compact(a, b, False, eps, 1)
                redo = np.flatnonzero(done == 0)
                if redo.size:
                    small.solve_batched(a[redo], b[redo], False, True, eps, 1)

            t = _medians({"compact": (_nothing, compact),
                          "per-slice": (_nothing, lambda: small.solve_batched(
                              a, b, False, True, eps, 1))},
                         cfg["repeat"], cfg["min_time"])
            wins.append(t["compact"] < t["per-slice"])
            name = np.dtype(dtype).name
            rec.setdefault("batch_compact_us", {})[f"{m}x{n}x{n} {name}"] = [
                round(1e6 * t["compact"], 1), round(1e6 * t["per-slice"], 1)]
            progress.note(f"{m} x {n} x {n} {name}: compact {1e6 * t['compact']:.0f} us, "
                          f"per-slice {1e6 * t['per-slice']:.0f} us")
        out[key] = _last_win(ns, wins, 0)
    return out


def _small_complex(cfg, rec, progress):
    import hybridsolve
    from hybridsolve.roads import small as road
    ns = cfg["complex_ns"]
    progress.step(f"small road vs LU road, general complex128 A, n = {ns}")
    rng = np.random.default_rng(8)
    wins = []
    saved = road.COMPLEX_LU_MAX
    road.COMPLEX_LU_MAX = road.SMALL_N          # both roads take these while measuring
    try:
        for n in ns:
            a = rng.standard_normal((n, n)) + 1j * rng.standard_normal((n, n))
            b = rng.standard_normal(n) + 1j * rng.standard_normal(n)
            t = _medians({m: (_nothing, lambda m=m, a=a, b=b: hybridsolve.solve(
                a, b, method=m)) for m in ("small", "lu")}, cfg["repeat"], cfg["min_time"])
            wins.append(t["small"] < t["lu"])
            rec.setdefault("small_complex_us", {})[n] = [round(1e6 * t["small"], 1),
                                                         round(1e6 * t["lu"], 1)]
            progress.note(f"n = {n}: small {1e6 * t['small']:.1f} us, lu "
                          f"{1e6 * t['lu']:.1f} us")
    finally:
        road.COMPLEX_LU_MAX = saved
    # ahead at every measured n: the small road up to its capacity
    return {"small_complex_lu_max": _last_win(ns, wins, ns[0] - 1) if not all(wins)
            else road.SMALL_N}


def _banded_sparse(cfg, rec, progress):
    import hybridsolve
    from hybridsolve import _tuning
    from hybridsolve._bench import poisson2d
    ms = cfg["poisson_ms"]
    progress.step(f"banded road vs sparse_dense road, 2-D Poisson n = {[m * m for m in ms]}")
    overhead = _tuning.value("sparse_dense_factor_overhead")
    rng = np.random.default_rng(5)
    ns, wins, equal = [], [], []
    for m in ms:
        a = poisson2d(m).toarray()
        n = m * m
        b = rng.standard_normal(n)
        costs = {s.name: c for c, s in hybridsolve.explain(a).candidates}
        if "banded" not in costs or "sparse_dense" not in costs:
            progress.note(f"n = {n}: one of the roads declines; skipped")
            continue
        t = _medians({r: (_nothing, lambda r=r: hybridsolve.solve(a, b, method=r))
                      for r in ("banded", "sparse_dense")}, cfg["repeat"], cfg["min_time"])
        ns.append(n)
        wins.append(t["sparse_dense"] < t["banded"])
        # the overhead that would price the two roads equal at this n
        equal.append(overhead + costs["banded"] - costs["sparse_dense"])
        rec.setdefault("banded_sparse_dense_ms", {})[n] = [round(1e3 * t["banded"], 2),
                                                           round(1e3 * t["sparse_dense"], 2)]
        progress.note(f"n = {n}: banded {1e3 * t['banded']:.2f} ms, sparse_dense "
                      f"{1e3 * t['sparse_dense']:.2f} ms")
    if not ns:
        return {}
    if all(wins):            # sparse_dense always ahead: price it below the smallest n
        value = equal[0]
    elif not any(wins):      # banded always ahead: at least the largest n's equaliser
        value = equal[-1]
    else:                    # between the last banded win and the first sparse win
        i = next(i for i, w in enumerate(wins) if w)
        value = 0.5 * (equal[max(i - 1, 0)] + equal[i])
    return {"sparse_dense_factor_overhead": float(max(0.0, round(value, -4)))}


def _sparse_backends(cfg, rec, progress):
    from hybridsolve._bench import poisson2d
    from hybridsolve._sparse import prepare_sparse
    from hybridsolve.roads.sparse._common import importable
    from hybridsolve.roads.sparse.cholesky import _BACKENDS, SparseCholeskySolver
    here = [(name, key) for name, module, key in _BACKENDS if importable(module)]
    if not here:
        progress.step("sparse Cholesky backends: none but SuperLU installed, nothing to "
                      "measure")
        return {}
    ms = cfg["sparse_ms"]
    progress.step(f"sparse Cholesky: {', '.join(n for n, _ in here)} vs SuperLU, 2-D "
                  f"Poisson n = {[m * m for m in ms]}")
    rng = np.random.default_rng(7)
    nnzs, wins = [], {name: [] for name, _ in here}
    for m in ms:
        st, work = prepare_sparse(poisson2d(m), check_finite=True)
        b = rng.standard_normal(m * m)
        contenders = {name: (_nothing, lambda name=name: SparseCholeskySolver(name)
                             .factorize(work, st).solve(b))
                      for name in ["superlu"] + [n for n, _ in here]}
        t = _medians(contenders, cfg["repeat"], 0.0)
        nnzs.append(int(work.nnz))
        for name, _ in here:
            wins[name].append(t[name] < t["superlu"])
        rec.setdefault("sparse_cholesky_ms", {})[work.nnz] = {
            k: round(1e3 * v, 2) for k, v in t.items()}
        progress.note(f"nnz = {work.nnz}: " + ", ".join(
            f"{k} {1e3 * v:.1f} ms" for k, v in t.items()))
    from hybridsolve._tuning import PARAMS
    # from the smallest measured size from which it wins at every larger one; never
    # within the measured sizes: beyond them (the range's top: not without evidence)
    out = {key: _first_of_tail(nnzs, wins[name], PARAMS[key].hi) for name, key in here}
    if "pardiso" in wins:
        # PARDISO before the backend it would follow on these 2-D Poisson matrices
        # (bandwidth sqrt(n): within sparse_pardiso_first_band_ratio sqrt(n))
        other = "cholmod" if "cholmod" in dict(here) else "superlu"
        times = rec["sparse_cholesky_ms"]
        hi = PARAMS["sparse_pardiso_first_min_nnz"].hi
        first2d = _first_of_tail(nnzs, [times[k]["pardiso"] < times[k][other]
                                        for k in nnzs], hi)
        first3d = _pardiso_first(cfg, rec, progress, here)
        if first2d == hi:      # not on 2-D Poisson: only wide rows go to PARDISO first
            out["sparse_pardiso_first_band_ratio"] = 0.0
            out["sparse_pardiso_first_min_nnz"] = first3d
        else:
            out["sparse_pardiso_first_band_ratio"] = PARAMS[
                "sparse_pardiso_first_band_ratio"].default
            out["sparse_pardiso_first_min_nnz"] = max(first2d, first3d)
    return out


def _pardiso_first(cfg, rec, progress, here):
    """PARDISO against the backend it goes before (CHOLMOD where installed, else
    SuperLU) on 3-D Poisson, whose 6.8 stored nonzeros a row reach
    ``sparse_pardiso_first_row_nnz``: the nnz from which PARDISO goes first."""
    from hybridsolve._bench import poisson3d
    from hybridsolve._sparse import prepare_sparse
    from hybridsolve._tuning import PARAMS
    from hybridsolve.roads.sparse.cholesky import SparseCholeskySolver
    other = "cholmod" if "cholmod" in dict(here) else "superlu"
    ks = cfg["sparse3_ks"]
    progress.note(f"PARDISO vs {other}, 3-D Poisson n = {[k ** 3 for k in ks]}")
    rng = np.random.default_rng(8)
    nnzs, wins = [], []
    for k in ks:
        st, work = prepare_sparse(poisson3d(k), check_finite=True)
        b = rng.standard_normal(k ** 3)
        t = _medians({name: (_nothing, lambda name=name: SparseCholeskySolver(name)
                             .factorize(work, st).solve(b))
                      for name in (other, "pardiso")}, cfg["repeat"], 0.0)
        nnzs.append(int(work.nnz))
        wins.append(t["pardiso"] < t[other])
        rec.setdefault("sparse_pardiso_first_ms", {})[work.nnz] = {
            name: round(1e3 * v, 2) for name, v in t.items()}
        progress.note(f"nnz = {work.nnz}: " + ", ".join(
            f"{name} {1e3 * v:.1f} ms" for name, v in t.items()))
    return _first_of_tail(nnzs, wins, PARAMS["sparse_pardiso_first_min_nnz"].hi)


_STEPS = (_own_small, _small_complex, _lapack_crossover, _lu_solve_own, _trsv_trsm,
          _batch, _batch_compact, _banded_sparse, _sparse_backends)
_STEP_COUNT = {_own_small: 2, _small_complex: 1, _lapack_crossover: 2, _lu_solve_own: 1,
               _trsv_trsm: 1, _batch: 2, _batch_compact: 1, _banded_sparse: 1,
               _sparse_backends: 1}

_CONFIGS = {
    "full": dict(repeat=11, min_time=0.05, small_ns=[16, 24, 32, 40, 48, 56, 64],
                 complex_ns=[32, 40, 44, 48, 56, 64],
                 lapack_ns=[64, 96, 128, 192, 256, 384], trsv_ns=[500, 1000, 2000],
                 trsv_nrhs=[1, 2, 3, 4, 8], batch_ms=[50, 200, 800, 3200, 12800],
                 chunk_m=100000, chunk_works=[1.25e4, 5e4, 2e5, 8e5],
                 compact_ns=[2, 3, 4, 5, 6, 8, 10, 12, 16, 20, 24, 28, 32],
                 compact_work=4e6,
                 poisson_ms=[16, 24, 32, 40], own_solve_ns=[32, 48, 64, 96, 128, 192],
                 sparse_ms=[20, 50, 100, 200, 400], sparse3_ks=[14, 18, 22, 26, 30]),
    "quick": dict(repeat=7, min_time=0.02, small_ns=[16, 32, 48, 64],
                  complex_ns=[40, 48, 56, 64],
                  lapack_ns=[64, 128, 256], trsv_ns=[500, 1500], trsv_nrhs=[1, 2, 4],
                  batch_ms=[100, 800, 6400, 25600], chunk_m=100000,
                  chunk_works=[1.25e4, 5e4, 2e5], poisson_ms=[20, 32],
                  compact_ns=[2, 4, 8, 12, 16, 24, 32], compact_work=2e6,
                  own_solve_ns=[32, 64, 96, 128], sparse_ms=[20, 60, 150],
                  sparse3_ks=[16, 24]),
    # a few seconds: for the tests of the file round trip, values not meaningful
    "tiny": dict(repeat=1, min_time=0.0, small_ns=[8, 16], complex_ns=[48],
                 lapack_ns=[32, 64],
                 trsv_ns=[200], trsv_nrhs=[1, 2], batch_ms=[100, 400], chunk_m=2000,
                 chunk_works=[5e4, 2e5], poisson_ms=[12], own_solve_ns=[16, 32],
                 compact_ns=[3, 8], compact_work=2e4,
                 sparse_ms=[10], sparse3_ks=[5]),
}


def _cpu_model():
    """The CPU's model name (Linux: /proc/cpuinfo), else what platform knows."""
    try:
        with open("/proc/cpuinfo") as fh:
            return next(ln.split(":", 1)[1].strip() for ln in fh
                        if ln.startswith("model name"))
    except (OSError, StopIteration):
        return platform.processor() or platform.machine()


def _machine():
    from hybridsolve._threads import blas_info, num_threads, threads_source
    blas = [f"{e.get('internal_api')} {e.get('version')} ({e.get('threading_layer')}, "
            f"{e.get('num_threads')} threads) {os.path.basename(e.get('filepath', ''))}"
            for e in blas_info() if "error" not in e]
    load = os.getloadavg()[0] if hasattr(os, "getloadavg") else None
    return {"platform": platform.platform(), "machine": platform.machine(),
            "processor": platform.processor(), "cpu": _cpu_model(),
            "python": platform.python_version(),
            "numpy": np.__version__, "threads": num_threads(),
            "threads_from": threads_source(), "blas": blas, "load_average_1min": load,
            "date": time.strftime("%Y-%m-%dT%H:%M:%SZ", time.gmtime())}


def measure(mode="quick", stream=None):
    """Run every measurement (``mode``: 'full', 'quick' or 'tiny'); returns the JSON
    object to write: {name: value, ..., '_measured': {...}}."""
    cfg = _CONFIGS[mode]
    progress = _Progress(sum(_STEP_COUNT.values()), stream)
    values, rec = {}, {}
    t0 = time.perf_counter()
    for step in _STEPS:
        values.update(step(cfg, rec, progress))
    from hybridsolve._tuning import PARAMS
    for name, v in values.items():   # keep every value in its declared range
        p = PARAMS[name]
        values[name] = p.kind(min(max(v, p.lo), p.hi))
    out = dict(sorted(values.items()))
    out["_measured"] = {"mode": mode, "seconds": round(time.perf_counter() - t0, 1),
                        "machine": _machine(),
                        "timings": {k: {str(kk): vv for kk, vv in v.items()}
                                    if isinstance(v, dict) else v
                                    for k, v in rec.items()}}
    return out


# ------------------------------------------------------------------ command line

def add_arguments(parser: argparse.ArgumentParser) -> None:
    """The options of ``hybridsolve tune``."""
    from hybridsolve._tuning import tuning_path
    parser.add_argument("--quick", action="store_true",
                        help="fewer sizes and repetitions (about a minute on 2 cores)")
    parser.add_argument("--output", "-o", metavar="PATH", default=None,
                        help=f"where to write the JSON (default: the per-user file "
                             f"{tuning_path()}; '-' for standard output)")
    parser.add_argument("--tiny", action="store_true", help=argparse.SUPPRESS)


def run(args: argparse.Namespace) -> int:
    """Measure and write the file; returns the exit status."""
    from hybridsolve._tuning import ENV, tuning_path
    mode = "tiny" if getattr(args, "tiny", False) else ("quick" if args.quick else "full")
    print(f"hybridsolve tune ({mode}): measuring on this machine; keep it otherwise idle",
          file=sys.stderr, flush=True)
    data = measure(mode)
    text = json.dumps(data, indent=2) + "\n"
    path = args.output or tuning_path()
    if path == "-":
        sys.stdout.write(text)
        return 0
    os.makedirs(os.path.dirname(os.path.abspath(path)), exist_ok=True)
    tmp = f"{path}.tmp{os.getpid()}"
    with open(tmp, "w", encoding="utf-8") as fh:
        fh.write(text)
    os.replace(tmp, path)
    print(f"wrote {path} ({data['_measured']['seconds']} s):", file=sys.stderr)
    for name, v in data.items():
        if not name.startswith("_"):
            print(f"  {name} = {v}", file=sys.stderr)
    if os.path.abspath(path) != os.path.abspath(tuning_path()):
        print(f"use it with {ENV}={path}", file=sys.stderr)
    return 0


def main(argv=None) -> int:
    parser = argparse.ArgumentParser(prog="hybridsolve tune", description=__doc__.split(
        "\n\n")[0], formatter_class=argparse.RawDescriptionHelpFormatter)
    add_arguments(parser)
    return run(parser.parse_args(argv))


if __name__ == "__main__":
    sys.exit(main())
