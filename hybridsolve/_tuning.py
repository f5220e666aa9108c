"""Every crossover and tuning constant of hybridsolve, in one place, with its default and
the reason for it.

The values in force come from, later overriding earlier:

1. the defaults below (meant for a typical 4-64-core x86-64 / arm64 machine with an
   optimized BLAS; where a figure was measured, the reason says on what and how);
2. a JSON file written by ``hybridsolve tune`` (``python -m hybridsolve._tune``): the
   path in the environment variable ``HYBRIDSOLVE_TUNING`` if it is set (an empty value
   means: no file, defaults only), else the per-user file ``tuning_path()`` --
   ``$XDG_CONFIG_HOME/hybridsolve/tuning.json`` (``~/.config/hybridsolve/tuning.json``
   when XDG_CONFIG_HOME is unset; ``%APPDATA%\\hybridsolve\\tuning.json`` on Windows) --
   if it exists.

The file is a JSON object ``{name: value, ...}``; keys starting with ``_`` are metadata
(``hybridsolve tune`` records the machine and the measurements there) and are ignored.
An unknown name, a value of the wrong type or out of range, or an unreadable file gives
a ``RuntimeWarning`` and the default, never an error.  The file is read once, when
hybridsolve is imported; the kernels copy the values they use into C variables then.

``hybridsolve.tuning()`` returns every value in force and where it came from.
"""
from __future__ import annotations

import json
import math
import os
import warnings
from typing import NamedTuple

__all__ = ["tuning", "value", "tuning_path", "PARAMS", "Param", "TuningValue"]

ENV = "HYBRIDSOLVE_TUNING"


class Param(NamedTuple):
    default: float
    kind: type            # int or float
    lo: float             # allowed range, inclusive
    hi: float
    reason: str


class TuningValue(NamedTuple):
    value: float
    source: str           # 'default', or the file it was read from
    default: float
    reason: str


_INF = math.inf
_IMAX = 2 ** 31 - 1      # int constants end up in C ints

#: name -> Param.  Names are prefixed by what reads them.
PARAMS: dict[str, Param] = {
    # ------------------------------------------------ small kernel (_kernels/small.pyx)
    "small_n": Param(
        64, int, 0, 64,
        "Largest n the small-n fast path of solve() hands to small_solve (64 is also the "
        "capacity of its stack buffers).  benchmarks/bench_small.py: the small kernel is "
        "ahead of the registry's LU/Cholesky roads up to 64 (per-call overhead dominates)."),
    "small_complex_lu_max": Param(
        44, int, 0, 64,
        "Largest order of a complex A the small road prices for its LU (a general "
        "matrix); above, it declines such an A and the LU road takes it.  The small "
        "kernel's complex LU loops run at a flat rate while the LU road's recursion "
        "calls zgemm from n = 33: hybridsolve.solve(a, b, method='small') (one kernel "
        "call since issue 10) against method='lu', random general complex128 A, one "
        "right-hand side, medians of 9 interleaved blocks of 1000 calls, 2-core x86-64, "
        "OpenBLAS: 32: 32.4 vs 49.3 us, 40: 46.5 vs 43.2, 44: 55.9 vs 49.3, 48: 61.7 vs "
        "54.1, 56: 83.3 vs 68.2, 64: 112.0 vs 72.6.  The crossover is near 40, but up to "
        "44 the short-circuit (no inspection, no pricing: 30.8 us at 40, 37.2 at 44 "
        "against the LU road's 43.2 and 49.3) is open and takes these matrices, so the "
        "default keeps it (a smaller value closes the short-circuit above it).  Those "
        "figures are the baseline (SSE2) build of the small kernel; its AVX2 build (what "
        "x86-64 CPUs with AVX2 run) stays ahead to 64 (same comparison, AMD EPYC, "
        "2026-12-04: 48: 45.5 vs 58.7 us, 56: 66.4 vs 81.7, 64: 76.3 vs 80.3).  The "
        "default stays at the baseline's crossover (there the LU road is about scipy's "
        "speed; the other way a baseline build would be 1.5x slower at 64); `hybridsolve "
        "tune` measures it (the two roads through solve(method=...), complex128)."),
    "small_own_lu_max": Param(
        64, int, 0, _IMAX,
        "Largest n the small kernels factor by their own LU loops (two-column steps); "
        "above, the shared blocked lu_factor.  Measured with small._set_own_max (as "
        "`hybridsolve tune` does; CPU time per small_solve, float64, Haswell, OpenBLAS "
        "0.3.30): own loops ahead up to 64 (48: 13.9 vs 16.1 us, 64: 35.2 vs 39.8 us)."),
    "small_own_chol_max": Param(
        64, int, 0, _IMAX,
        "Largest n the small kernels factor by their own Cholesky loops; above, the "
        "shared cholesky_factor.  Same measurement: the shared kernel was faster at "
        "32..63 on one thread (48: 10.8 vs 15.6 us) but its trsm/herk calls start BLAS "
        "threads from n = 64, which costs more than the factorization at that size; own "
        "loops up to small_n have no such step.  `hybridsolve tune` measures it."),
    "batch_par_grain": Param(
        2.0e5, float, 0, _INF,
        "Work (flops) per thread below which solve_batched does not start another "
        "OpenMP thread.  An estimate, not a measurement: starting and joining a parallel "
        "region costs of order 10 us, about 1e5 flops of the scalar per-slice kernels; "
        "`hybridsolve tune` measures the break-even of 1 against all threads."),
    "batch_chunk_work": Param(
        5.0e4, float, 1, _INF,
        "Work (flops) per chunk of slices handed out by solve_batched's dynamic "
        "schedule: large enough that taking a chunk (one shared counter) costs nothing "
        "next to it, small enough that a thread that is descheduled leaves its remaining "
        "chunks to the others (a choice, not a measurement); `hybridsolve tune` picks "
        "the fastest of a few values at 100000 x 3 x 3."),
    # ------------------------------------------------ batched road (roads/batched.py)
    "batch_compact_n": Param(
        32, int, 0, 32,
        "Largest order of a float64 stack the batched road hands to the compact kernel "
        "(batched.pyx: W slices per group, one SIMD lane each; at most COMPACT_K = 16 "
        "right-hand sides; 0: never; 32 is the kernel's capacity).  It pays while its "
        "rigorous rcond bound settles typical slices (above, every slice goes to "
        "solve_batched a second time): for random float64 slices it settled 999 of 1000 "
        "at n = 32.  Measured by a timing loop of the two kernels called directly (as "
        "`hybridsolve tune` calls them), one thread, general float64 stacks, b (m, n, 1), "
        "the compact kernel followed by solve_batched on the slices it left (as the "
        "road), medians of 15 interleaved calls, AMD EPYC "
        "with AVX-512, 2026-12-04: 24671x8x8 2.62 vs 11.45 ms, 9920x12x12 3.21 vs 8.04, "
        "5095x16x16 2.60 vs 6.06, 3000x20x20 2.34 vs 5.08, 1929x24x24 2.08 vs 4.58, "
        "945x32x32 1.87 vs 3.83 ms.  `hybridsolve tune` measures it (the same two "
        "contenders on one thread, general stacks, b (m, n, 1))."),
    "batch_compact_n32": Param(
        16, int, 0, 32,
        "batch_compact_n for float32 stacks.  The rcond bound must reach 4 eps of "
        "float32 to settle a slice, which random float32 slices stop doing between 12 "
        "and 24 (settled: 99.5% at n = 12, 89.6% at 16, 15.8% at 20, none at 24), and "
        "every slice it leaves is solved again by solve_batched.  Measured as for "
        "float64: 9920x12x12 2.30 vs 7.84 ms, 5095x16x16 3.00 vs 7.26, 3000x20x20 9.38 "
        "vs 8.76, 1929x24x24 8.94 vs 7.15 ms.  `hybridsolve tune` measures it."),
    "batch_interrupt_work": Param(
        2.0e7, float, 1, _INF,
        "Work (flops, solve_batched's per-slice count) per call of the batched road's "
        "kernels: a longer batch is solved in chunks, and KeyboardInterrupt (Ctrl-C) is "
        "honoured between them.  2e7 flops is a few milliseconds at 1-10 Gflop/s, while "
        "a call costs microseconds (a choice, not a measurement)."),
    # ------------------------------------------------ dense LU kernel (_kernels/lu.pyx)
    "lu_unblocked_n": Param(
        32, int, 1, _IMAX,
        "Whole matrix in the LU kernel's own unblocked loops up to this order: below ~32 "
        "the recursion's BLAS calls cost more than they save."),
    "lu_leaf_nb": Param(
        16, int, 1, 256,
        "Recursion leaves of the LU kernel: panels at most this many columns wide are "
        "factored by the unblocked _getf2 (our loops, no BLAS call overhead)."),
    "lu_own_trsm_n": Param(
        32, int, 0, _IMAX,
        "A12 := L11^-1 A12 by our own loop when L11 is at most this wide, by BLAS trsm "
        "above (a BLAS call's set-up dominates below)."),
    "lu_blas_trsm_n": Param(
        256, int, 0, _IMAX,
        "A12 := L11^-1 A12 by halving L11 around a gemm up to this width, by one BLAS trsm "
        "call above (gemm is the BLAS's fastest routine)."),
    "lu_lapack_n": Param(
        64, int, 0, _IMAX,
        "The LU kernel hands the whole factorization to LAPACK getrf from this order on. "
        "Kernel alone, own recursion vs getrf on the same fresh F-ordered copy (min of 9 "
        "timed loops; the same comparison as benchmarks/bench_lu.py --crossover), Intel "
        "Xeon with AVX-512, OpenBLAS 0.3.30, 2 threads, 2026-12-02: own ahead to 24 "
        "(16: 1.8 vs 2.4 us), level at 32-48 (48: 9.9 vs 10.4 us), behind from 64 (64: "
        "22.3 vs 17.4 us, 96: 57.1 vs 39.1, 128: 129.9 vs 77.3), where the recursion's "
        "first BLAS gemm/trsm calls start OpenBLAS's threads; on an AMD EPYC (Haswell "
        "kernels, 1 thread) own was already behind at 64 (49 vs 46 us) and clearly from "
        "128 (180 vs 158 us).  The small road takes n <= 64 with its own loops anyway. "
        "`hybridsolve tune` measures it."),
    "lu_solve_own_n": Param(
        64, int, 0, _IMAX,
        "lu_solve runs our own substitution loops when n <= this and nrhs <= "
        "lu_solve_own_nrhs (a BLAS call's set-up dominates small solves).  Above 64 "
        "BLAS trsv's vectorised kernels win: factorize(a).solve(b) one column, own "
        "loops / trsv 8.0 / 8.3 us at n = 64, 12.8 / 9.7 at 96, 19.5 / 12.5 at 128 "
        "(min of 5 x 3000 calls, OpenBLAS 0.3.31, AMD EPYC, load 8); `hybridsolve "
        "tune` measures it."),
    "lu_solve_own_nrhs": Param(
        4, int, 0, _IMAX,
        "lu_solve's own substitution loops for at most this many right-hand sides (see "
        "lu_solve_own_n); more go to BLAS, whose blocking wins with many columns."),
    "trsv_max_nrhs": Param(
        2, int, 0, _IMAX,
        "Above the own loops' range, triangular solves (LU's and the triangular road's) "
        "go column by column to BLAS trsv when nrhs <= this, or n^2 nrhs <= "
        "trsv_max_work; to trsm otherwise.  trsv reads the triangle once per column, "
        "trsm once for all columns, blocked: with 1-2 columns both are memory-bound and "
        "trsm's threads have at most 2 columns to share, so trsv (no thread start-up) is "
        "not slower.  `hybridsolve tune` measures it (benchmarks/bench_lu.py --solve "
        "compares the two)."),
    "trsv_max_work": Param(
        0.0, float, 0, _INF,
        "See trsv_max_nrhs.  Default 0 (the nrhs rule alone), an estimate, not a "
        "measurement: OpenBLAS's trsm splits the right-hand sides among its threads and "
        "reads the triangle once, so with 3+ columns on an idle many-core machine it "
        "should beat 3+ single-threaded trsv passes over the triangle (n = 2000, 4 "
        "columns: 4 passes over 32 MB).  This library's earlier 16777216 (2^24) was "
        "measured with the 2 cores kept busy by other processes (benchmarks/bench_lu.py "
        "--solve at load ~5: n = 1000, 1-16 columns trsv 0.4-5.6 ms vs trsm ~29 ms, "
        "trsm's threads waiting for cores); `hybridsolve tune` measures it."),
    "tri_loops_n1": Param(
        128, int, 0, _IMAX,
        "Triangular kernel: our substitution loops for one right-hand side up to this "
        "order (benchmarks/bench_cholesky.py --kernels, 1 thread: loops ahead of trsm by "
        "1.3-2x for nrhs = 1 up to n ~ 128-200, the call set-up dominates)."),
    "tri_loops_work": Param(
        4096, int, 0, _IMAX,
        "Triangular kernel: our loops for any system with n^2 nrhs <= this (same "
        "measurement: from ~4 right-hand sides trsm's register blocking wins from n ~ 32)."),
    # ------------------------------------------------ Cholesky kernel (_kernels/cholesky.pyx)
    "chol_leaf": Param(
        32, int, 1, 64,
        "Leaf size of the recursive Cholesky (our loops at and below it; at most 64, the "
        "leaf buffer)."),
    "chol_herk_split": Param(
        1024, int, 0, _IMAX,
        "Schur complements of order >= this are updated as herk on the two diagonal "
        "halves + one gemm (gemm is the BLAS's fastest, best threaded routine: dsyrk "
        "2000 x 2000 8-12 GF/s against 9-13 for dgemm, 1 thread); 0 disables."),
    "chol_lapack_from": Param(
        0, int, 0, _IMAX,
        "Order from which LAPACK potrf takes over (0: never).  benchmarks/bench_cholesky.py "
        "--kernels: ours and OpenBLAS's dpotrf within noise from n = 16 to 2000 on one "
        "thread.  `hybridsolve tune` measures it."),
    # ------------------------------------------------ inspection (_inspect.py, inspect.pyx)
    "capture_min_n": Param(
        128, int, 0, _IMAX,
        "inspect_dense(capture=True) reads a matrix of at least this order without "
        "copying it while at most capture_max_density of it is nonzero (the sparse_dense "
        "road's limits: it takes such a matrix without a dense copy); below, the stored-"
        "dense sparse road is not a candidate (its fixed costs exceed a dense solve).  A "
        "floor: _inspect.capture_min_n raises it per dtype to where sparse_dense_overhead "
        "alone no longer exceeds a dense LU's whole price (165 real, 128 complex with "
        "the defaults), since below that the capture cannot pay and only reads A twice "
        "(at n = 128 float64 it cost ~3 us of a 13 us inspection)."),
    "capture_max_density": Param(
        0.05, float, 0, 1,
        "See capture_min_n: the capture gives up (A is dense) once more than this "
        "fraction of the entries is nonzero."),
    "inspect_panels_from_n": Param(
        2500, int, 0, _IMAX,
        "Symmetry test of a C-ordered A: 128/256-byte column panels above this n, the "
        "two-stream row walk below (it needs ~n cache lines to stay in L2).  Measured, "
        "float64, min of 11 runs (benchmarks/bench_inspect.py): n = 2000 row walk 3.6 ms "
        "vs panels 4.5-4.8; n = 3000 14.3 vs 10.4; n = 4000 46 vs 22."),
    # ------------------------------------------------ pricing (_solve.py, roads/)
    "call_overhead": Param(
        2.5e5, float, 0, _INF,
        "Fixed cost of one call of a road reached through Python (factorization object, "
        "argument checks, separate factor / solve / rcond kernel calls), in the prices' "
        "unit (flops at a dense level-3 kernel's rate); the registry adds it to every "
        "road's price unless the road declares its own call_overhead (the small road: "
        "0).  python -m benchmarks.bench_dispatch: a dispatched small solve takes about "
        "7-10 us more than the small kernel's one C call, i.e. 2-3e5 flops on a core "
        "doing dgemm at ~30 Gflop/s.  It also bounds where the small-n short-circuit "
        "opens: there the small road's worst price must be below it."),
    "copy_weight": Param(
        20.0, float, 0, _INF,
        "Price of the dense working copy per entry of A, for a road that needs one when "
        "the inspection made none (it captured a sparse-looking A without copying): one "
        "n^2 read and write at memory speed, like the sparse_dense road's own conversion "
        "pass."),
    "band_flop_weight": Param(
        4.0, float, 0, _INF,
        "Banded road: a band flop priced as this many dense flops (gbtrf sustains "
        "~0.5-5 GFLOP/s against ~12 for getrf at n = 2000, float64, OpenBLAS)."),
    "band_max_fraction": Param(
        1.0 / 3.0, float, 0, 1,
        "Banded road declines when kl + ku > this * n (n = 2000, kl = ku = 250: band "
        "0.17 s vs LU 0.46 s; kl = ku = 500: 0.62 s vs 0.46 s).  `hybridsolve tune` "
        "measures the band width where dense LU overtakes."),
    "sparse_flop_weight": Param(
        10.0, float, 0, _INF,
        "Sparse roads: dense-flop equivalents per estimated sparse flop (sparse kernels "
        "are memory-bound)."),
    "sparse_overhead": Param(
        2e6, float, 0, _INF,
        "Sparse roads: fixed Python/library overhead of a sparse factorization, in "
        "dense-flop equivalents."),
    "sparse_dense_scan_weight": Param(
        20.0, float, 0, _INF,
        "Stored-dense sparse road: dense-flop equivalents per entry read by the dense -> "
        "compressed pass (not charged when the inspection already captured the nonzeros)."),
    "sparse_dense_overhead": Param(
        3e6, float, 0, _INF,
        "Stored-dense sparse road: fixed cost on compressed arrays (wrapping, pricing, "
        "scipy.sparse overheads: ~0.15 ms measured at n = 150)."),
    "sparse_dense_factor_overhead": Param(
        7e6, float, 0, _INF,
        "Stored-dense sparse road: extra fixed cost when its sub-road is a factorization "
        "(CHOLMOD ~1.5 ms at n = 256): the dense banded road wins below n ~ 800 on 2-D "
        "Poisson (n = 576 banded 2.5 ms vs 4.1 ms, n = 1024 9.0 vs 7.6 ms).  `hybridsolve "
        "tune` measures the banded vs sparse_dense crossover."),
    "sparse_cholmod_min_nnz": Param(
        0, int, 0, _IMAX,
        "sparse_cholesky takes CHOLMOD (scikit-sparse, when installed) from this many "
        "stored nonzeros on, SuperLU's symmetric mode below: CHOLMOD's fixed cost is "
        "small (~1.5 ms at n = 256), so 0.  `hybridsolve tune` measures the crossover "
        "when scikit-sparse is importable."),
    "sparse_pardiso_min_nnz": Param(
        300_000, int, 0, _IMAX,
        "sparse_cholesky takes PARDISO (pypardiso, when installed and CHOLMOD is not) "
        "from this many stored nonzeros on, SuperLU's symmetric mode below.  On 2-D "
        "Poisson (5 stored nonzeros a row) through the road, factorization and one "
        "solve: SuperLU 97 / 282 / 587 ms against PARDISO 120 / 179 / 358 ms at nnz = "
        "199200 / 448800 / 798400 (AMD EPYC, 2 cores, MKL 2026.2; /tmp scripts of "
        "2026-12-04 timing SparseCholeskySolver(backend).factorize(...).solve(b), 7 "
        "interleaved runs).  `hybridsolve tune` measures the crossover."),
    "sparse_pardiso_first_row_nnz": Param(
        6.0, float, 0, _INF,
        "Rows of at least this many stored nonzeros on average (3-D stencils and meshes, "
        "whose factors have large dense supernodes): sparse_cholesky takes PARDISO "
        "before CHOLMOD for real matrices (from sparse_pardiso_first_min_nnz stored "
        "nonzeros), and PARDISO orders by METIS nested dissection (iparm(2) = 3, MKL's "
        "default); narrower rows are ordered by minimum degree (iparm(2) = 0).  Through "
        "the road (factorization and one solve, AMD EPYC, 2 cores, MKL 2026.2): 3-D "
        "7-point Poisson (6.8 a row) CHOLMOD 195 / 383 / 1024 ms against PARDISO 107 / "
        "200 / 505 ms at nnz = 105625 / 183600 / 438400.  Ordering, PARDISO's phases "
        "11 / 22 / 33 (/tmp/pi3.py, /tmp/pi4.py of 2026-12-04, 5-9 interleaved runs): "
        "on 2-D 5-point Poisson 400^2 (4.98 a row) METIS's analysis is most of the time "
        "and minimum degree's fill no larger, 64 / 83 / 23 ms against 219 / 77 / 19 ms "
        "(nnz(L) 5.20M against 5.29M); on 3-D Poisson minimum degree's fill is "
        "1.5-1.7x and it loses, 30^3 189-222 ms against 151-193, 40^3 786-1413 against "
        "429-445.  6 lies between the two families; a choice, not a crossover "
        "`hybridsolve tune` measures."),
    "sparse_pardiso_first_band_ratio": Param(
        4.0, float, 0, _INF,
        "Narrower rows than sparse_pardiso_first_row_nnz: sparse_cholesky takes PARDISO "
        "(minimum degree) before CHOLMOD when the bandwidth is at most this many times "
        "sqrt(n) -- a locally numbered 2-D-like graph (5-point grids), whose minimum "
        "degree ordering PARDISO finds fast and with less fill than CHOLMOD's AMD "
        "(2-D Poisson 400^2: nnz(L) 5.2M against 7.8M; factorization and one solve "
        "through the road, steady state, 28-34 against 54 ms at 200^2, 185-209 against "
        "337-400 ms at 400^2, /tmp/pr1.py and /tmp/pr2.py of 2026-12-04).  Not on graphs "
        "without that locality, where MKL's minimum degree analysis is slow: a random "
        "sparse SPD n = 10000, 6 a row, CHOLMOD 280-631 ms against PARDISO 503-898 "
        "(/tmp/pr6.py).  All steady state: MKL's first PARDISO call in a process costs "
        "0.15-0.25 s more (its libraries and threads; 2-D 200^2 first call 203-322 ms "
        "against CHOLMOD's 73-94, then 37 against 57-70 ms; at 400^2 the first call is "
        "already level, /tmp/fc.py).  `hybridsolve tune` measures PARDISO against "
        "CHOLMOD on 2-D Poisson and sets 0 (never) where PARDISO does not win there."),
    "sparse_pardiso_first_min_nnz": Param(
        100_000, int, 0, _IMAX,
        "With rows of at least sparse_pardiso_first_row_nnz stored nonzeros, "
        "sparse_cholesky takes PARDISO before CHOLMOD from this many stored nonzeros "
        "on: on 3-D 7-point Poisson CHOLMOD 68 ms against PARDISO 76 ms at nnz = "
        "71632, 195 against 107 ms at 105625 (same runs as "
        "sparse_pardiso_first_row_nnz).  `hybridsolve tune` measures it on 3-D "
        "Poisson when both are installed."),
    "sparse_band_storage_factor": Param(
        8.0, float, 0, _INF,
        "Sparse banded road: band storage may be at most this many times nnz (+ 4 n)."),
    # ------------------------------------------------ Dask roads (roads/dask/)
    "dask_task_cost": Param(
        1e7, float, 0, _INF,
        "One Dask task's scheduling overhead in flop-equivalents: distributed documents "
        "about 1 ms per task; at the ~1-10 Gflop/s one core sustains in a tile kernel "
        "that is ~1e6-1e7 flops.  The upper end, so that small problems stay with the "
        "in-process roads."),
    "dask_byte_cost": Param(
        10.0, float, 0, _INF,
        "One byte moved between Dask workers, in flop-equivalents: ~1 GB/s of network "
        "against ~10 Gflop/s per core."),
    "dask_in_process_max_bytes": Param(
        2 ** 31, int, 0, 2 ** 62,
        "The largest A (bytes) the Dask one-matrix road gathers onto a single worker to "
        "factor in-process: it needs A, its factors and workspace in one worker's memory."),
    "dask_default_tile": Param(
        1000, int, 1, _IMAX,
        "Default Dask tile size when A's chunks are not square (rechunked to square "
        "tiles): large enough that the tile kernels run at level-3 speed, small enough "
        "for a 16-tile panel of a 16000 matrix to spread over workers."),
    "lowrank_detect_min_n": Param(
        1000, int, 0, _IMAX,
        "Woodbury road: dense A below this n is not searched for diagonal + low rank "
        "(detection cannot pay against dense LU there)."),
    "woodbury_form_max": Param(
        6000, int, 0, _IMAX,
        "Woodbury road's fallback for a DiagonalPlusLowRank operator: forms the dense "
        "matrix (n^2 memory) only up to this n."),
    # ------------------------------------------------ mixed precision (roads/mixed.py)
    "mixed_convergence_limit": Param(
        0.1, float, 0, 1.0,
        "Mixed road: largest proven kappa * u_single * growth for which it is taken "
        "automatically (and largest u_single / rcond of the single factors it keeps): "
        "refinement contracts the error by about that factor per step, so it converges "
        "below 1 (Higham, ASNA Thm 12.4); 0.1 gives double accuracy in 2-3 steps."),
    "mixed_single_factor_weight": Param(
        0.6, float, 0, _INF,
        "Mixed road: price of the single-precision factorization per double flop "
        "(issue 13's measurement: sgemm 312 vs dgemm 150 Gflop/s, spotrf 204 vs dpotrf "
        "331 ms at n = 4000, i.e. 0.5-0.6)."),
    "mixed_pass_weight": Param(
        20.0, float, 0, _INF,
        "Mixed road: dense-flop equivalents per entry of A read at memory speed (the "
        "single copy, each residual product, each single triangular solve pair), as "
        "copy_weight."),
    "mixed_itmax": Param(
        30, int, 1, 1000,
        "Mixed road: refinement steps before a column falls back to double (LAPACK "
        "dsgesv's ITERMAX)."),
    "mixed_single_potrf_from": Param(
        512, int, 0, _IMAX,
        "Mixed road and ridge: order from which the single-precision Cholesky is "
        "LAPACK's spotrf/cpotrf instead of our kernel (chol_lapack_from is measured in "
        "double, where ours keeps up; in float32 it did not gain over float64 -- n = "
        "2000: 180 vs 185 ms min -- while spotrf did, n = 3000: 181 vs 234 ms min, 2 "
        "threads, OpenBLAS 0.3.31); 0: always ours."),
    "ridge_gram_block_bytes": Param(
        8 << 20, int, 1, _IMAX,
        "ridge's mixed-precision Gram: bytes of single-precision X per row block, "
        "rounded into one reused buffer and accumulated by syrk/herk (instead of a "
        "whole single copy of X: half of X's memory, and a fresh half-size allocation "
        "per call, whose X.astype(float32) took 464-551 ms at X 20000 x 2000 in a "
        "standalone timing, as much as the single Gram itself; ridge went from 1.16x "
        "to 1.60x the double form in python -m benchmarks.bench_mixed).  Blocks of "
        "1048 rows (8 MiB at p = 2000) ran the accumulated ssyrk in 430 ms against "
        "460-730 ms for one ssyrk over the whole copy, 4096 rows in 506 ms."),
    "ridge_residual_block_bytes": Param(
        1 << 20, int, 1, _IMAX,
        "ridge's mixed-precision refinement: bytes of X per row block of the fused "
        "residual X^H (y - X x) (the block is read twice, so it should stay in cache "
        "between the two products: X is then read from memory once per step)."),
}


def tuning_path() -> str:
    """The per-user tuning file read when HYBRIDSOLVE_TUNING is unset (it need not exist)."""
    if os.name == "nt":  # pragma: no cover - Windows
        base = os.environ.get("APPDATA") or os.path.expanduser("~")
    else:
        base = os.environ.get("XDG_CONFIG_HOME") or os.path.join(
            os.path.expanduser("~"), ".config")
    return os.path.join(base, "hybridsolve", "tuning.json")


def _check(name, raw, where):
    """The validated value of ``raw`` for ``name``, or None (after a warning)."""
    p = PARAMS[name]
    ok = isinstance(raw, (int, float)) and not isinstance(raw, bool)
    if ok and p.kind is int:
        ok = float(raw).is_integer()
    if ok:
        v = p.kind(raw)
        if p.lo <= v <= p.hi:
            return v
    warnings.warn(f"hybridsolve tuning: {where}: {name} = {raw!r} is not "
                  f"{'an integer' if p.kind is int else 'a number'} in [{p.lo}, {p.hi}]; "
                  f"using the default {p.default!r}", RuntimeWarning, stacklevel=4)
    return None


def _read(path, source):
    """The tuning values in the JSON file ``path``: {name: value} (warnings for anything
    wrong, never an exception)."""
    try:
        with open(path, encoding="utf-8") as fh:
            data = json.load(fh)
    except (OSError, ValueError) as exc:
        warnings.warn(f"hybridsolve tuning: cannot read {source}: {exc}; using the "
                      f"defaults", RuntimeWarning, stacklevel=3)
        return {}
    if not isinstance(data, dict):
        warnings.warn(f"hybridsolve tuning: {source} is not a JSON object; using the "
                      f"defaults", RuntimeWarning, stacklevel=3)
        return {}
    out = {}
    for name, raw in data.items():
        if not isinstance(name, str) or name.startswith("_"):
            continue
        if name not in PARAMS:
            warnings.warn(f"hybridsolve tuning: {source}: unknown name {name!r} ignored",
                          RuntimeWarning, stacklevel=3)
            continue
        v = _check(name, raw, source)
        if v is not None:
            out[name] = v
    return out


def _load():
    env = os.environ.get(ENV)
    if env is not None:
        path, source = (env, f"{ENV}={env}") if env else (None, None)
    else:
        path = tuning_path()
        source = path if os.path.isfile(path) else None
    found = _read(path, source) if source else {}
    return {name: TuningValue(found[name], source, p.default, p.reason) if name in found
            else TuningValue(p.default, "default", p.default, p.reason)
            for name, p in PARAMS.items()}


_IN_FORCE = _load()


def value(name: str):
    """The value in force of the tuning constant ``name`` (a KeyError for an unknown
    name: a typo in library code must fail loudly)."""
    return _IN_FORCE[name].value


def tuning() -> dict[str, TuningValue]:
    """Every tuning constant of hybridsolve: ``{name: (value, source, default, reason)}``
    (``TuningValue`` named tuples).  ``source`` is 'default' or where the value was
    read: 'HYBRIDSOLVE_TUNING=<path>' or the per-user file's path.

    Examples
    --------
    >>> import hybridsolve
    >>> t = hybridsolve.tuning()
    >>> t["small_n"].value >= 0
    True
    """
    return dict(_IN_FORCE)
