"""Mixed precision (issue 13): the ``mixed`` road and ``ridge``'s mixed primal form
against scipy's double-precision factor + solve, side by side in one process
(interleaved runs after a warm-up; medians and the run-to-run range [min, max]), with
PASS/FAIL for each of the issue's targets.

    python -m benchmarks.bench_mixed [--quick] [--n N] [--repeat R]

0. The ceiling, through scipy.linalg.lapack on the same library the roads call:
   sgetrf vs dgetrf, spotrf vs dpotrf, the float32 conversion of A, one refinement step
   (dgemv on A + sgetrs) -- what a mixed solve can gain at most on this machine.
1. strictly diagonally dominant general A (random entries, diagonal = row modulus sum
   + 1), no hint: the road is taken automatically, >= 1.4x lu_factor + lu_solve,
   backward error within 10x of theirs;
2. precision="mixed" on SPD A = X X^T / n + I (X standard normal, kappa ~ 1e1..1e3):
   >= 1.4x cho_factor + cho_solve, backward error within 10x;
3. the seed's A = X X^T (X uniform, kappa ~ 1e11), no hint: not taken, no slower than
   precision="double" (today's road): ratio >= 0.9 (the run-to-run noise);
4. precision="mixed" on A with kappa = 1e9: falls back, correct, time lost reported;
5. ridge, X (5 n) x (n / 2) (20000 x 2000 at n = 4000), lam = 1, primal form: >= 1.3x
   the double form (main's ridge: X^T X + lam I in double, Cholesky), same beta within
   double accuracy (relative difference <= 100 p eps).

6. sparse (the ``sparse_mixed`` road, opt-in only): the 2-D Poisson 5-point matrix on a
   g x g grid (g = 300: n = 90000) and a random strictly diagonally dominant sparse A
   (n = 224^2 = 50176: random couplings of grid neighbours, nonsymmetric pattern,
   diagonal = row modulus sum + 1):
   splu in float32 vs float64 with the road's options (the ceiling), then spsolve,
   precision="double" and precision="mixed" end to end, backward errors side by side;
   PASS = taken only when asked, backward error within 10x of the double road's (it need
   not be faster: SuperLU's fill-in is the same in single precision).

--quick: n = 1500, 3 repeats (figures are then not the targets' sizes); sparse g = 150,
n = 141^2.  --sparse: section 6 only.
"""
from __future__ import annotations

import argparse

import numpy as np
import scipy.linalg as sl
import scipy.sparse as sps
import scipy.sparse.linalg as spla
from scipy.linalg import blas, lapack

import hybridsolve as hs
from benchmarks._timing import interleaved_samples, machine_line
from hybridsolve import _ridge
from hybridsolve._explain import explain


def timed(contenders, repeat):
    """{name: (median, min, max)} seconds, interleaved after one warm-up each."""
    s = interleaved_samples(contenders, repeat=repeat)
    return {k: (float(np.median(v)), min(v), max(v)) for k, v in s.items()}


def bwd(a, x, b):
    """Normwise backward error ||b - A x||_inf / (||A||_inf ||x||_inf + ||b||_inf)."""
    r = np.abs(b - a @ x).max()
    return r / (np.abs(a).sum(axis=1).max() * np.abs(x).max() + np.abs(b).max())


def fmt(t):
    med, lo, hi = t
    return f"{med * 1e3:8.1f} ms [{lo * 1e3:.1f}, {hi * 1e3:.1f}]"


def verdict(ok):
    return "PASS" if ok else "FAIL"


def ceiling(n, repeat, rng):
    a = rng.random((n, n))
    a[np.diag_indices(n)] = np.abs(a).sum(axis=1) + 1.0
    a = np.asfortranarray(a)
    x = rng.standard_normal((n, n))
    s = np.asfortranarray(x @ x.T / n + np.eye(n))
    a32, s32 = a.astype(np.float32, order="F"), s.astype(np.float32, order="F")
    lu32, piv, _ = lapack.sgetrf(a32)
    v = rng.standard_normal(n)
    t = timed({"dgetrf": lambda: lapack.dgetrf(a),
               "sgetrf": lambda: lapack.sgetrf(a32),
               "dpotrf": lambda: lapack.dpotrf(s),
               "spotrf": lambda: lapack.spotrf(s32),
               "convert": lambda: a.astype(np.float32, order="F"),
               "step": lambda: lapack.sgetrs(lu32, piv,
                                             (v - blas.dgemv(1.0, a, v)).astype(
                                                 np.float32))}, repeat)
    print(f"0. ceiling, n = {n} (scipy.linalg.lapack)")
    for k in t:
        print(f"   {k:8s} {fmt(t[k])}")
    lu_gain = t["dgetrf"][0] / t["sgetrf"][0]
    ch_gain = t["dpotrf"][0] / t["spotrf"][0]
    # a mixed LU solve at best: sgetrf + conversion + three refinement steps
    best = t["dgetrf"][0] / (t["sgetrf"][0] + t["convert"][0] + 3 * t["step"][0])
    print(f"   sgetrf speed-up {lu_gain:.2f}x, spotrf speed-up {ch_gain:.2f}x; "
          f"dgetrf / (sgetrf + conversion + 3 steps) = {best:.2f}x "
          f"({'above' if best >= 1.4 else 'BELOW'} the 1.4x target)\n")


def poisson2d(g):
    """The 5-point Laplacian on a g x g grid (Dirichlet), CSR, n = g^2."""
    t = sps.diags_array([-np.ones(g - 1), 2 * np.ones(g), -np.ones(g - 1)],
                        offsets=[-1, 0, 1])
    i = sps.eye_array(g)
    return sps.csr_array(sps.kron(i, t) + sps.kron(t, i))


def sparse_sdd(g, rng):
    """Random, strictly diagonally dominant by rows (diagonal = the row's off-diagonal
    modulus sum + 1) on a g x g grid, CSR, n = g^2: each of a node's four grid
    neighbours is coupled with probability 0.7, independently per direction, so the
    pattern is nonsymmetric (COLAMD) but the fill stays a 2-D grid's.  (Random entries
    anywhere in the matrix fill SuperLU's factors almost densely: not a direct solver's
    matrix.)"""
    n = g * g
    i = np.arange(n)
    r, c = i // g, i % g
    rows, cols = [], []
    for dr, dc in ((0, 1), (0, -1), (1, 0), (-1, 0)):
        ok = (0 <= r + dr) & (r + dr < g) & (0 <= c + dc) & (c + dc < g)
        ok &= rng.random(n) < 0.7
        rows.append(i[ok])
        cols.append((r[ok] + dr) * g + c[ok] + dc)
    rows, cols = np.concatenate(rows), np.concatenate(cols)
    a = sps.csr_array((rng.standard_normal(rows.size), (rows, cols)), shape=(n, n))
    d = np.asarray(abs(a).sum(axis=1)).ravel() + 1.0
    return sps.csr_array(a + sps.diags_array(d))


def sparse_case(name, a, b, repeat):
    """mixed vs double on one sparse matrix: the splu ceiling (the road's options,
    float32 vs float64), then spsolve, precision='double' and precision='mixed' end to
    end, with their backward errors."""
    e = explain(a, precision="mixed")
    e_d = explain(a, precision="double")
    csc = a.tocsc()
    symmetric = bool(e.structure.extra.get("pattern_symmetric"))
    kw = (dict(permc_spec="MMD_AT_PLUS_A", diag_pivot_thresh=0.1,
               options=dict(SymmetricMode=True)) if symmetric
          else dict(permc_spec="COLAMD"))
    c32 = csc.astype(np.float32)
    t = timed({"splu64": lambda: spla.splu(csc, **kw),
               "splu32": lambda: spla.splu(c32, **kw),
               "spsolve": lambda: spla.spsolve(csc, b),
               "double": lambda: hs.solve(a, b, precision="double"),
               "mixed": lambda: hs.solve(a, b, precision="mixed")}, repeat)
    x_s, x_d = spla.spsolve(csc, b), hs.solve(a, b, precision="double")
    x_m = hs.solve(a, b, precision="mixed")
    f = hs.factorize(a, precision="mixed")
    f.solve(b)
    steps = getattr(f, "steps", None)
    print(f"6. sparse {name}: n = {a.shape[0]}, nnz = {a.nnz}; asked: "
          f"{e.chosen.name!r} ({e.factorization.kind}); precision='double': "
          f"{e_d.chosen.name!r} ({e_d.factorization.kind})")
    for note in e.factorization.notes:
        print(f"   {note}")
    opts = "SymmetricMode, MMD_AT_PLUS_A, thresh 0.1" if symmetric else "COLAMD"
    print(f"   splu ceiling ({opts}): float64 {fmt(t['splu64'])}   float32 "
          f"{fmt(t['splu32'])}   ratio {t['splu64'][0] / t['splu32'][0]:.2f}")
    print(f"   spsolve {fmt(t['spsolve'])}   precision='double' {fmt(t['double'])}   "
          f"precision='mixed' {fmt(t['mixed'])}")
    gain = t["double"][0] / t["mixed"][0]
    e_m, e_dd, e_s = bwd(a, x_m, b), bwd(a, x_d, b), bwd(a, x_s, b)
    print(f"   mixed vs double: {gain:.2f}x ({'faster' if gain > 1 else 'NOT faster'}); "
          f"backward error mixed {e_m:.2g}, double {e_dd:.2g}, spsolve {e_s:.2g}; "
          f"refinement steps {steps[-1] if steps else '-'}")
    ok = (e.chosen.name == "sparse_mixed" and e_d.chosen.name != "sparse_mixed"
          and explain(a).chosen.name != "sparse_mixed" and e_m <= 10 * e_dd)
    print(f"   {verdict(ok)} (taken only when asked, backward error within 10x of the "
          "double road's)\n")


def main_sparse(quick=False, repeat=5):
    rng = np.random.default_rng(1)
    g, h = (150, 141) if quick else (300, 224)
    b = rng.standard_normal(g * g)
    sparse_case(f"2-D Poisson 5-point, {g} x {g} grid", poisson2d(g), b, repeat)
    b = rng.standard_normal(h * h)
    sparse_case(f"random diagonally dominant on a {h} x {h} grid, nonsymmetric pattern",
                sparse_sdd(h, rng), b, repeat)


def main(n=4000, repeat=5):
    rng = np.random.default_rng(0)
    print(machine_line())
    print(f"n = {n}, {repeat} interleaved runs each after a warm-up; median [min, max]\n")
    ceiling(n, repeat, rng)

    # 1. SDD, no hint
    a = rng.random((n, n))
    a[np.diag_indices(n)] = np.abs(a).sum(axis=1) + 1.0
    b = rng.standard_normal(n)
    e = explain(a)
    chosen = e.chosen.name
    t = timed({"scipy": lambda: sl.lu_solve(sl.lu_factor(a), b),
               "hybridsolve": lambda: hs.solve(a, b)}, repeat)
    e_s, e_h = bwd(a, sl.lu_solve(sl.lu_factor(a), b), b), bwd(a, hs.solve(a, b), b)
    sp = t["scipy"][0] / t["hybridsolve"][0]
    mem = [x for x in e.structure.notes if "memory" in x]
    print(f"1. SDD general, no hint: road {chosen!r}; {mem[0] if mem else ''}")
    print(f"   lu_factor+lu_solve {fmt(t['scipy'])}   hybridsolve {fmt(t['hybridsolve'])}"
          f"   speed-up {sp:.2f}x   backward error {e_h:.2g} vs {e_s:.2g}")
    print(f"   {verdict(chosen == 'mixed' and sp >= 1.4 and e_h <= 10 * e_s)}"
          " (taken, >= 1.4x, within 10x)\n")
    del a

    # 2. SPD kappa ~ 1e3, precision='mixed'
    x = rng.standard_normal((n, n))
    s = x @ x.T / n + np.eye(n)
    s = (s + s.T) / 2
    del x
    chosen = explain(s, precision="mixed").chosen.name
    t = timed({"scipy": lambda: sl.cho_solve(sl.cho_factor(s), b),
               "hybridsolve": lambda: hs.solve(s, b, precision="mixed")}, repeat)
    e_s = bwd(s, sl.cho_solve(sl.cho_factor(s), b), b)
    e_h = bwd(s, hs.solve(s, b, precision="mixed"), b)
    sp = t["scipy"][0] / t["hybridsolve"][0]
    print(f"2. SPD X X^T/n + I, precision='mixed': road {chosen!r}")
    print(f"   cho_factor+cho_solve {fmt(t['scipy'])}   hybridsolve "
          f"{fmt(t['hybridsolve'])}   speed-up {sp:.2f}x   backward error {e_h:.2g} vs "
          f"{e_s:.2g}")
    print(f"   {verdict(chosen == 'mixed' and sp >= 1.4 and e_h <= 10 * e_s)}"
          " (>= 1.4x, within 10x)\n")
    del s

    # 3. seed X X^T (X uniform), no hint
    xu = rng.uniform(size=(n, n))
    g = xu @ xu.T
    g = (g + g.T) / 2
    del xu
    chosen = explain(g).chosen.name
    t = timed({"double": lambda: hs.solve(g, b, precision="double"),
               "auto": lambda: hs.solve(g, b)}, repeat)
    sp = t["double"][0] / t["auto"][0]
    print(f"3. seed X X^T (X uniform), no hint: road {chosen!r}")
    print(f"   precision='double' {fmt(t['double'])}   auto {fmt(t['auto'])}   "
          f"ratio {sp:.2f}")
    print(f"   {verdict(chosen != 'mixed' and sp >= 0.9)} (not taken, no slower "
          "within the run-to-run noise: ratio >= 0.9)\n")
    del g

    # 4. kappa = 1e9, precision='mixed'
    u, _ = np.linalg.qr(rng.standard_normal((n, n)))
    v, _ = np.linalg.qr(rng.standard_normal((n, n)))
    c = (u * np.logspace(0, -9, n)) @ v.T
    del u, v
    e = explain(c, precision="mixed")
    why = dict((sv.name, r) for sv, r in e.declined).get("mixed", "")
    xs, xh = sl.solve(c, b), hs.solve(c, b, precision="mixed")
    e_s, e_h = bwd(c, xs, b), bwd(c, xh, b)
    print(f"4. kappa = 1e9, precision='mixed': road {e.chosen.name!r}; mixed: {why}")
    print(f"   backward error {e_h:.2g} vs scipy {e_s:.2g}")
    print(f"   {verdict(e.chosen.name != 'mixed' and 'time lost' in why and e_h <= 10 * e_s)}"
          " (falls back, correct, time lost reported)\n")
    del c

    # 5. ridge primal, X (5n) x (n/2)
    m, p, lam = 5 * n, n // 2, 1.0
    X = rng.standard_normal((m, p))
    y = rng.standard_normal(m)

    def double_form():          # main's ridge, primal: the double Gram, Cholesky
        g = np.asfortranarray(X.T @ X)
        g[np.diag_indices(p)] += lam
        return _ridge._hpd_solve(g, X.T @ y[:, None])[:, 0]

    taken = _ridge._mixed_primal(X, y[:, None], lam) is not None
    t = timed({"double": double_form, "ridge": lambda: hs.ridge(X, y, lam)}, repeat)
    b_d, b_m = double_form(), hs.ridge(X, y, lam)
    rel = np.linalg.norm(b_m - b_d) / np.linalg.norm(b_d)
    eps = np.finfo(np.float64).eps
    sp = t["double"][0] / t["ridge"][0]
    extra = _ridge.mixed_memory(m, p)
    gram = p * p * 4
    print(f"5. ridge X {m} x {p}, lam = {lam}, primal: mixed form "
          f"{'taken' if taken else 'NOT taken'}; memory: one single-precision block of X "
          f"{(extra + p * p * 8 - gram) / 2**20:.0f} MiB + single Gram "
          f"{gram / 2**20:.0f} MiB (net {extra / 2**20:+.0f} MiB against the double Gram)")
    print(f"   double form {fmt(t['double'])}   ridge {fmt(t['ridge'])}   speed-up "
          f"{sp:.2f}x   relative difference of beta {rel:.2g}")
    print(f"   {verdict(taken and sp >= 1.3 and rel <= 100 * p * eps)} (>= 1.3x, "
          f"same beta: <= 100 p eps = {100 * p * eps:.2g})")
    print()


if __name__ == "__main__":
    ap = argparse.ArgumentParser(description=__doc__,
                                 formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--quick", action="store_true", help="n = 1500, 3 repeats")
    ap.add_argument("--n", type=int, default=None)
    ap.add_argument("--repeat", type=int, default=None)
    ap.add_argument("--sparse", action="store_true", help="section 6 only")
    args = ap.parse_args()
    n = args.n or (1500 if args.quick else 4000)
    repeat = args.repeat or (3 if args.quick else 5)
    if args.sparse:
        print(machine_line())
    else:
        main(n, repeat)
    main_sparse(args.quick, repeat)
