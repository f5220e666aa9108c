"""The ``hybridsolve`` command: every input/output format, every bad input (one line on
stderr, its exit code, no traceback), the subcommands' wiring.  scipy is the oracle."""
import gzip
import io
import json
import os
import subprocess
import sys
import types

import numpy as np
import pytest
import scipy.io
import scipy.linalg
import scipy.sparse as sp
from scipy.sparse.linalg import spsolve

from hybridsolve import cli

EPS = np.finfo(np.float64).eps


def run(capsys, *argv):
    code = cli.main([str(a) for a in argv])
    out, err = capsys.readouterr()
    return code, out, err


def poisson2d(m):
    t = sp.diags_array([-1.0, 2.0, -1.0], offsets=[-1, 0, 1], shape=(m, m))
    i = sp.eye_array(m)
    return (sp.kron(i, t) + sp.kron(t, i)).tocsr()


def relerr(x, ref):
    return np.linalg.norm(x - ref) / np.linalg.norm(ref)


def general(n=30, k=None, seed=0):
    rng = np.random.default_rng(seed)
    a = rng.standard_normal((n, n)) + n * np.eye(n)     # well conditioned
    b = rng.standard_normal(n if k is None else (n, k))
    return a, b


def assert_error(code, err, expected_code, *words):
    assert code == expected_code
    lines = err.strip().splitlines()
    assert len(lines) == 1, err
    assert "Traceback" not in err
    for w in words:
        assert w in lines[0], lines[0]


# ---------------------------------------------------------------- formats


def test_matrix_market_poisson_matches_spsolve(tmp_path, capsys):
    a = poisson2d(20)
    b = np.random.default_rng(1).standard_normal(a.shape[0])
    scipy.io.mmwrite(tmp_path / "A.mtx", a)
    np.save(tmp_path / "b.npy", b)
    code, out, err = run(capsys, "solve", tmp_path / "A.mtx", tmp_path / "b.npy",
                         "-o", tmp_path / "x.npy")
    assert code == 0, err
    x = np.load(tmp_path / "x.npy")
    assert relerr(x, spsolve(a.tocsc(), b)) <= 1e-12
    assert "road:" in out and "backward error" in out and "rcond" in out


def test_gzipped_matrix_market(tmp_path, capsys):
    a = poisson2d(8)
    buf = io.BytesIO()
    scipy.io.mmwrite(buf, a)
    (tmp_path / "A.mtx.gz").write_bytes(gzip.compress(buf.getvalue()))
    b = np.ones(a.shape[0])
    np.savetxt(tmp_path / "b.txt", b)
    code, out, err = run(capsys, "solve", tmp_path / "A.mtx.gz", tmp_path / "b.txt")
    assert code == 0, err
    x = np.loadtxt(io.StringIO(out))           # x on stdout, the report on stderr
    assert relerr(x, spsolve(a.tocsc(), b)) <= 1e-12
    assert "road:" in err


def test_npy_dense_matches_scipy_solve_and_is_memory_mapped(tmp_path, capsys,
                                                            monkeypatch):
    a, b = general(40, k=3)
    np.save(tmp_path / "A.npy", a)
    np.save(tmp_path / "B.npy", b)
    loads = []
    real = np.load
    monkeypatch.setattr(np, "load", lambda *p, **k: loads.append(k) or real(*p, **k))
    code, out, err = run(capsys, "solve", tmp_path / "A.npy", tmp_path / "B.npy",
                         "-o", tmp_path / "X.npy")
    monkeypatch.undo()
    assert code == 0, err
    assert all(k.get("mmap_mode") == "r" for k in loads) and loads
    x = np.load(tmp_path / "X.npy")
    assert x.shape == (40, 3)
    assert relerr(x, scipy.linalg.solve(a, b)) <= 1e-12


def test_npz_sparse_and_text_formats(tmp_path, capsys):
    a = poisson2d(6)
    b = np.arange(1.0, a.shape[0] + 1)
    sp.save_npz(tmp_path / "A.npz", sp.csr_matrix(a))
    np.savetxt(tmp_path / "b.csv", b, delimiter=",")
    ref = spsolve(a.tocsc(), b)
    for suffix in (".npy", ".mtx", ".txt", ".csv"):
        out_path = tmp_path / f"x{suffix}"
        code, out, err = run(capsys, "solve", tmp_path / "A.npz", tmp_path / "b.csv",
                             "-o", out_path)
        assert code == 0, err
        if suffix == ".npy":
            x = np.load(out_path)
        elif suffix == ".mtx":
            x = np.asarray(scipy.io.mmread(out_path))[:, 0]
        else:
            x = np.loadtxt(out_path, delimiter="," if suffix == ".csv" else None)
        assert relerr(x, ref) <= 1e-12
    assert not [p for p in os.listdir(tmp_path) if p.startswith(".")]   # no temp files


def test_text_matrix_and_dense_matrix_market(tmp_path, capsys):
    a, b = general(12)
    np.savetxt(tmp_path / "A.txt", a)
    scipy.io.mmwrite(tmp_path / "b.mtx", b[:, None])          # array format, dense
    code, out, err = run(capsys, "solve", tmp_path / "A.txt", tmp_path / "b.mtx",
                         "--assume-a", "gen", "--method", "lu", "-o", tmp_path / "x.txt")
    assert code == 0, err
    x = np.loadtxt(tmp_path / "x.txt")
    assert relerr(x, scipy.linalg.solve(a, b)) <= 1e-12
    assert "road: lu" in out


def test_explain_and_solve_explain(tmp_path, capsys):
    a, b = general(100)                  # above the small road's orders: Cholesky's
    a = a @ a.T + 100 * np.eye(100)                           # SPD
    a = (a + a.T) / 2
    np.save(tmp_path / "A.npy", a)
    np.save(tmp_path / "b.npy", b)
    code, out, err = run(capsys, "explain", tmp_path / "A.npy")
    assert code == 0, err
    assert "chosen: cholesky" in out and "candidates" in out
    code, out, err = run(capsys, "solve", "--explain", tmp_path / "A.npy",
                         tmp_path / "b.npy", "-o", tmp_path / "x.npy")
    assert code == 0, err
    assert "candidates" in out and "road: cholesky" in out


def test_backward_error_is_reported_and_small(tmp_path, capsys):
    a, b = general(25)
    np.save(tmp_path / "A.npy", a)
    np.save(tmp_path / "b.npy", b)
    code, out, err = run(capsys, "solve", tmp_path / "A.npy", tmp_path / "b.npy")
    assert code == 0
    berr = float(err.split("backward error:")[1].split()[0])
    assert berr <= 25 * EPS
    rcond = float(err.split("rcond:")[1].split()[0])
    assert 0 < rcond <= 1


# ---------------------------------------------------------------- bad input


@pytest.fixture
def good(tmp_path):
    a, b = general(5)
    np.save(tmp_path / "A.npy", a)
    np.save(tmp_path / "b.npy", b)
    return tmp_path


def test_missing_file(good, capsys):
    code, out, err = run(capsys, "solve", good / "nope.npy", good / "b.npy")
    assert_error(code, err, cli.EXIT_FILE, "nope.npy", "no such file")


def test_unreadable_file_is_a_directory(good, capsys):
    os.mkdir(good / "dir.npy")
    code, out, err = run(capsys, "solve", good / "dir.npy", good / "b.npy")
    assert_error(code, err, cli.EXIT_FILE, "dir.npy")


@pytest.mark.skipif(not hasattr(os, "geteuid") or os.geteuid() == 0,
                    reason="root reads files whatever their permissions")
def test_unreadable_file_permissions(good, capsys):  # pragma: no cover (CI runs as root)
    os.chmod(good / "A.npy", 0)
    code, out, err = run(capsys, "solve", good / "A.npy", good / "b.npy")
    assert_error(code, err, cli.EXIT_FILE, "permission denied")


def test_unknown_format(good, capsys):
    (good / "A.xyz").write_text("1 2\n3 4\n")
    code, out, err = run(capsys, "solve", good / "A.xyz", good / "b.npy")
    assert_error(code, err, cli.EXIT_FILE, "unknown format")


@pytest.mark.parametrize("name, content", [("A.npy", b"not an npy file"),
                                           ("A.mtx", b"%%MatrixMarket garbage\n"),
                                           ("A.npz", b"PK not a zip"),
                                           ("A.txt", b"1 2\n3 x\n")])
def test_corrupt_file(good, capsys, name, content):
    (good / name).write_bytes(content)
    code, out, err = run(capsys, "solve", good / name, good / "b.npy")
    assert_error(code, err, cli.EXIT_FILE, name, "not readable")


def test_non_square(good, capsys):
    np.save(good / "R.npy", np.ones((3, 4)))
    code, out, err = run(capsys, "solve", good / "R.npy", good / "b.npy")
    assert_error(code, err, cli.EXIT_DATA, "square", "3 x 4")
    code, out, err = run(capsys, "explain", good / "R.npy")
    assert_error(code, err, cli.EXIT_DATA, "square")


def test_mismatched_shapes(good, capsys):
    np.save(good / "b7.npy", np.ones(7))
    code, out, err = run(capsys, "solve", good / "A.npy", good / "b7.npy")
    assert_error(code, err, cli.EXIT_DATA, "b7.npy", "5 rows")


@pytest.mark.parametrize("which", ["A", "b"])
@pytest.mark.parametrize("bad", [np.nan, np.inf])
def test_nan_inf(good, capsys, which, bad):
    x = np.load(good / f"{which}.npy")
    x.flat[3] = bad
    np.save(good / f"bad{which}.npy", x)
    args = [good / "badA.npy", good / "b.npy"] if which == "A" else \
        [good / "A.npy", good / "badb.npy"]
    code, out, err = run(capsys, "solve", *args, "-o", good / "x.npy")
    assert_error(code, err, cli.EXIT_DATA, f"bad{which}.npy", "inf")
    assert not (good / "x.npy").exists()


@pytest.mark.parametrize("hint", [None, "pos"])
def test_singular(good, capsys, hint):
    a = np.ones((5, 5))                       # rank 1: singular, not positive definite
    if hint is None:
        a[:, 0] = 0.0
        a[0, 1] = 2.0                         # not symmetric: LU meets the zero column
    np.save(good / "S.npy", a)
    extra = [] if hint is None else ["--assume-a", hint]
    code, out, err = run(capsys, "solve", good / "S.npy", good / "b.npy", *extra)
    assert_error(code, err, cli.EXIT_SINGULAR, "S.npy")
    assert cli.EXIT_SINGULAR != cli.EXIT_USAGE


def test_unwritable_output(good, capsys):
    code, out, err = run(capsys, "solve", good / "A.npy", good / "b.npy",
                         "-o", good / "no" / "such" / "dir" / "x.npy")
    assert_error(code, err, cli.EXIT_FILE, "cannot write")
    os.mkdir(good / "d.npy")
    code, out, err = run(capsys, "solve", good / "A.npy", good / "b.npy", "-o",
                         good / "d.npy")
    assert_error(code, err, cli.EXIT_FILE, "cannot write")


def test_failed_write_leaves_nothing_behind(good, capsys, monkeypatch):
    (good / "x.npy").write_bytes(b"old contents")

    def broken_save(f, x, **kw):
        f.write(b"half")
        raise OSError(28, "No space left on device")
    monkeypatch.setattr(np, "save", broken_save)
    code, out, err = run(capsys, "solve", good / "A.npy", good / "b.npy",
                         "-o", good / "x.npy")
    assert_error(code, err, cli.EXIT_FILE, "No space left")
    assert (good / "x.npy").read_bytes() == b"old contents"      # untouched
    assert sorted(os.listdir(good)) == ["A.npy", "b.npy", "x.npy"]  # no temp file


def test_usage_errors(good, capsys):
    code, out, err = run(capsys, "solve", good / "A.npy", good / "b.npy",
                         "-o", good / "x.json")
    assert_error(code, err, cli.EXIT_USAGE, "unknown output format")
    for argv in (["solve", "--bogus", "A", "B"], ["solve", "A"],
                 ["solve", "A", "B", "--assume-a", "weird"], ["frobnicate"],
                 ["bench", "--only", "nosucharea"], ["bench", "--bogus"]):
        with pytest.raises(SystemExit) as e:
            cli.main(argv)
        assert e.value.code == cli.EXIT_USAGE
        assert "Traceback" not in capsys.readouterr().err
    assert cli.main([]) == cli.EXIT_USAGE


def test_help_runs_nothing(capsys, monkeypatch):
    from hybridsolve import _bench
    monkeypatch.setattr(_bench, "run", lambda **kw: pytest.fail("bench ran"))
    for argv in (["--help"], ["bench", "--help"], ["solve", "--help"]):
        with pytest.raises(SystemExit) as e:
            cli.main(argv)
        assert e.value.code == 0
    assert "exit codes" in capsys.readouterr().out


def test_no_traceback_from_the_console_script(tmp_path):
    """The real process: one line on stderr and the exit code."""
    p = subprocess.run([sys.executable, "-m", "hybridsolve", "solve", "missing.mtx",
                        "b.npy"], cwd=tmp_path, capture_output=True, text=True)
    assert p.returncode == cli.EXIT_FILE
    assert "Traceback" not in p.stderr and len(p.stderr.strip().splitlines()) == 1


# ---------------------------------------------------------------- other subcommands


def test_tune_calls_the_tune_module(monkeypatch, capsys):
    calls = {}
    fake = types.ModuleType("hybridsolve._tune")

    def add_arguments(parser):
        calls["added"] = True
        parser.add_argument("--output", default="x.json")

    def run_tune(args):
        calls["args"] = args
        return 7
    fake.add_arguments, fake.run = add_arguments, run_tune
    monkeypatch.setitem(sys.modules, "hybridsolve._tune", fake)
    import hybridsolve
    monkeypatch.setattr(hybridsolve, "_tune", fake, raising=False)
    assert cli.main(["tune", "--output", "t.json"]) == 7
    assert calls["added"] and calls["args"].output == "t.json"
    calls.clear()
    with pytest.raises(SystemExit):                      # not imported for other commands
        cli.main(["demo", "--help"])
    assert "added" not in calls


def test_demo_and_its_alias(monkeypatch):
    from hybridsolve import demo
    seen = []
    monkeypatch.setattr(demo, "main", lambda quick=False: seen.append(quick))
    assert cli.main(["demo", "--quick"]) == 0
    monkeypatch.setattr(sys, "argv", ["hybridsolve-demo"])
    with pytest.raises(SystemExit) as e:
        cli.demo_cli()
    assert e.value.code == 0 and seen == [True, False]


def test_bench_json_table_and_plot(tmp_path, capsys, monkeypatch):
    from hybridsolve import _bench
    monkeypatch.setattr(_bench, "SIZES", {**_bench.SIZES, "lu": ((8, 16), (8, 16)),
                                          "sparse": ((4, 6), (4, 6))})
    monkeypatch.setattr(_bench, "_repeat", lambda area, n, quick: 1)
    argv = ["bench", "--quick", "--only", "lu", "--only", "sparse", "--no-progress",
            "--json", tmp_path / "r.json"]
    try:
        import matplotlib  # noqa: F401
        argv += ["--plot", tmp_path / "r.png"]
    except ImportError:
        pass
    code, out, err = run(capsys, *argv)
    assert code == 0, err
    assert "road taken" in out and "speed-up" in out and "numpy" in out
    results = json.loads((tmp_path / "r.json").read_text())
    recs = results["records"]
    assert {r["area"] for r in recs} == {"lu", "sparse"}
    assert {r["contender"] for r in recs if r["area"] == "lu"} == {
        "hybridsolve.solve", "scipy.linalg.solve", "numpy.linalg.solve"}
    assert all(r["min"] <= r["seconds"] <= r["max"] for r in recs)
    md = _bench.markdown(results)
    assert md.count("\n| lu |") == 2 and "--json FILE" in md
    if "--plot" in argv:
        assert (tmp_path / "r.png").read_bytes()[:4] == b"\x89PNG"


def test_numpy_contenders_are_isolated():
    """numpy's own BLAS (a separate copy in wheels) is limited only around numpy's
    samples, and only numpy's."""
    from hybridsolve import _bench
    ctl = _bench._numpy_blas()
    if ctl is None:
        pytest.skip("numpy and scipy share a BLAS here, or no threadpoolctl")
    seen = []
    c = _bench.numpy_contender(lambda: seen.append(
        [lib.num_threads for lib in ctl.lib_controllers]))
    before = [lib.num_threads for lib in ctl.lib_controllers]
    _bench.interleaved({"numpy": c}, repeat=2)
    assert seen and all(t == [1] * len(before) for t in seen)
    assert [lib.num_threads for lib in ctl.lib_controllers] == before


@pytest.mark.parametrize("source", ["lu.pyx", "lu.pyx.in"])
def test_unbuilt_kernels_give_a_clear_import_error(tmp_path, source):
    """A source tree whose kernels are not compiled (a .pyx, or the Tempita template
    setup.py expands into one) says so, and how to build them."""
    import hybridsolve._kernels as kernels
    pkg = tmp_path / "hybridsolve"
    (pkg / "_kernels").mkdir(parents=True)
    (pkg / "__init__.py").write_text("from hybridsolve._kernels import lu\n")
    (pkg / "_kernels" / "__init__.py").write_text(open(kernels.__file__).read())
    (pkg / "_kernels" / source).write_text("")
    env = {k: v for k, v in os.environ.items() if k != "PYTHONPATH"}
    p = subprocess.run([sys.executable, "-c", "import hybridsolve"], cwd=tmp_path,
                       capture_output=True, text=True, env=env)
    assert p.returncode != 0
    last = p.stderr.strip().splitlines()[-1]
    assert "ImportError" in last and "not built" in last and "missing: lu" in last
    assert "pip install -e ." in last and "build_ext --inplace" in last


_ROOT = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))


@pytest.mark.skipif(not os.path.isdir(os.path.join(_ROOT, "benchmarks")),
                    reason="no benchmarks/ beside tests/")
def test_benchmark_scripts_validate_their_flags():
    """--help prints and runs nothing; an unknown flag is an error (exit code 2)."""
    probe = subprocess.run([sys.executable, "-c", "import hybridsolve"], cwd=_ROOT,
                           capture_output=True)
    if probe.returncode:
        pytest.skip("the checkout's kernels are not built (installed package only)")
    for script in ("run", "bench_solve", "bench_sparse"):
        p = subprocess.run([sys.executable, "-m", f"benchmarks.{script}", "--help"],
                           cwd=_ROOT, capture_output=True, text=True, timeout=60)
        assert p.returncode == 0 and "usage:" in p.stdout
        p = subprocess.run([sys.executable, "-m", f"benchmarks.{script}", "--bogus"],
                           cwd=_ROOT, capture_output=True, text=True, timeout=60)
        assert p.returncode == 2 and "unrecognized arguments" in p.stderr


def test_tune_help_shows_the_real_tune_options(capsys):
    pytest.importorskip("hybridsolve._tune")
    with pytest.raises(SystemExit) as e:
        cli.main(["tune", "--help"])
    assert e.value.code == 0
    out = capsys.readouterr().out
    assert "--quick" in out and "--output" in out
