"""The tuning module: defaults, the JSON file (HYBRIDSOLVE_TUNING / per-user path), bad
files, and the tune command's file round trip (hybridsolve._tuning, hybridsolve._tune)."""
import json
import os
import subprocess
import tempfile
import sys

import pytest

import hybridsolve
from hybridsolve import _tuning

# what a new process has in force: the tuning() table and the kernels' own copies
_PROBE = """
import json, hybridsolve
from hybridsolve._kernels import lu, small, triangular
t = hybridsolve.tuning()
print(json.dumps({"tuning": {k: [v.value, v.source] for k, v in t.items()},
                  "lu": lu._tuning(), "tri": triangular._tuning(),
                  "small_n": small.SMALL_N,
                  "batch": small._set_batch_work(0.0, 1.0)}))
"""


def _probe(tmp_path, **env):
    full = {k: v for k, v in os.environ.items() if k != _tuning.ENV}
    full["XDG_CONFIG_HOME"] = str(tmp_path / "config")     # never the real user file
    full.update(env)
    out = subprocess.run([sys.executable, "-W", "always", "-c", _PROBE], env=full,
                         capture_output=True, text=True, timeout=120,
                         cwd=tmp_path)    # not the checkout: its tree has no kernels
    assert out.returncode == 0, out.stderr
    return json.loads(out.stdout), out.stderr


def test_every_value_has_default_and_reason():
    t = hybridsolve.tuning()
    assert set(t) == set(_tuning.PARAMS)
    for name, v in t.items():
        p = _tuning.PARAMS[name]
        assert p.lo <= p.default <= p.hi and isinstance(p.default, p.kind), name
        assert len(v.reason) > 20, name
        assert v.source == "default" or os.path.basename(v.source).endswith(".json")


def test_defaults_when_no_file(tmp_path):
    got, err = _probe(tmp_path)
    assert all(src == "default" for _, src in got["tuning"].values())
    assert got["tuning"]["lu_lapack_n"][0] == _tuning.PARAMS["lu_lapack_n"].default
    assert "RuntimeWarning" not in err


def test_file_values_are_in_force_in_the_kernels(tmp_path):
    path = tmp_path / "t.json"
    path.write_text(json.dumps({"lu_lapack_n": 77, "trsv_max_nrhs": 5,
                                "trsv_max_work": 1234.0, "small_n": 40,
                                "batch_par_grain": 999.0, "_measured": {"x": 1}}))
    got, err = _probe(tmp_path, HYBRIDSOLVE_TUNING=str(path))
    src = f"HYBRIDSOLVE_TUNING={path}"
    assert got["tuning"]["lu_lapack_n"] == [77, src]
    assert got["tuning"]["capture_min_n"][1] == "default"
    assert got["lu"]["lapack_n"] == 77
    assert got["lu"]["solve_trsv_nrhs"] == 5 and got["lu"]["solve_trsv_work"] == 1234.0
    assert got["tri"]["trsv_nrhs"] == 5 and got["tri"]["trsv_work"] == 1234.0
    assert got["small_n"] == 40 and got["batch"][0] == 999.0
    assert "RuntimeWarning" not in err


def _load(monkeypatch, tmp_path, tuning=None):
    """What _tuning reads at import, under these settings (in this process)."""
    monkeypatch.setenv("XDG_CONFIG_HOME", str(tmp_path / "config"))
    if tuning is None:
        monkeypatch.delenv(_tuning.ENV, raising=False)
    else:
        monkeypatch.setenv(_tuning.ENV, tuning)
    return _tuning._load()


def test_per_user_file_is_read(tmp_path, monkeypatch):
    user = tmp_path / "config" / "hybridsolve" / "tuning.json"
    user.parent.mkdir(parents=True)
    user.write_text(json.dumps({"copy_weight": 3.5}))
    got = _load(monkeypatch, tmp_path)
    assert _tuning.tuning_path() == str(user)
    assert got["copy_weight"][:2] == (3.5, str(user))
    # an empty HYBRIDSOLVE_TUNING means: defaults only, whatever the user file says
    got = _load(monkeypatch, tmp_path, "")
    assert got["copy_weight"].source == "default"


@pytest.mark.parametrize("content, expect", [
    ('{"no_such_constant": 3, "lu_lapack_n": 90}', "unknown name"),
    ('{"lu_lapack_n": "big"}', "lu_lapack_n"),
    ('{"lu_lapack_n": 1.5}', "lu_lapack_n"),
    ('{"capture_max_density": 2.0}', "capture_max_density"),
    ('{"lu_lapack_n": true}', "lu_lapack_n"),
    ("[1, 2]", "not a JSON object"),
    ("{not json", "cannot read"),
    (None, "cannot read"),          # missing file
])
def test_bad_file_warns_and_keeps_defaults(tmp_path, monkeypatch, content, expect):
    path = tmp_path / "bad.json"
    if content is not None:
        path.write_text(content)
    with pytest.warns(RuntimeWarning, match=expect):
        got = _load(monkeypatch, tmp_path, str(path))
    lapack = got["lu_lapack_n"]
    if "90" in (content or ""):
        assert lapack.value == 90            # the good key of the file is still used
    else:
        assert lapack[:2] == (_tuning.PARAMS["lu_lapack_n"].default, "default")
    assert got["capture_max_density"].source == "default"


def test_tune_writes_what_a_new_process_has_in_force(tmp_path):
    out = tmp_path / "tuned.json"
    env = {k: v for k, v in os.environ.items() if k != _tuning.ENV}
    res = subprocess.run([sys.executable, "-m", "hybridsolve._tune", "--tiny",
                          "--output", str(out)], env=env, capture_output=True, text=True,
                         timeout=300, cwd=tmp_path)
    assert res.returncode == 0, res.stderr
    assert "[1/" in res.stderr and "wrote" in res.stderr       # progress lines
    written = json.loads(out.read_text())
    values = {k: v for k, v in written.items() if not k.startswith("_")}
    assert values and set(values) <= set(_tuning.PARAMS)
    assert "machine" in written["_measured"]
    got, err = _probe(tmp_path, HYBRIDSOLVE_TUNING=str(out))
    assert "RuntimeWarning" not in err
    for name, v in values.items():
        assert got["tuning"][name] == [v, f"HYBRIDSOLVE_TUNING={out}"], name


def test_tune_cli_interface():
    import argparse
    from hybridsolve import _tune
    parser = argparse.ArgumentParser()
    _tune.add_arguments(parser)
    args = parser.parse_args(["--quick", "--output", "x.json"])
    assert args.quick and args.output == "x.json"
    assert callable(_tune.run) and callable(_tune.main)


def test_tune_measures_batch_compact_n(monkeypatch):
    """The compact-kernel crossover: the largest measured order up to which the compact
    kernel is ahead at every measured order (a later win does not count), both
    contenders really run, and the timings are recorded."""
    import io
    from hybridsolve import _tune
    # n = 2, 4, 8, 12, 16, float64 then float32
    ahead = iter([True, True, True, False, True] + [True, False, True, True, True])
    calls = []

    def medians(contenders, repeat, min_time):
        assert set(contenders) == {"compact", "per-slice"}
        for setup, call in contenders.values():
            setup()
            calls.append(call())
        win = next(ahead)
        return {"compact": 1.0 if win else 2.0, "per-slice": 1.5}

    monkeypatch.setattr(_tune, "_medians", medians)
    cfg = dict(_tune._CONFIGS["tiny"], compact_ns=[2, 4, 8, 12, 16])
    rec = {}
    out = _tune._batch_compact(cfg, rec, _tune._Progress(1, io.StringIO()))
    assert out == {"batch_compact_n": 8, "batch_compact_n32": 2}
    assert len(rec["batch_compact_us"]) == 10 and len(calls) == 20
    for key, v in out.items():
        p = _tuning.PARAMS[key]
        assert p.lo <= v <= p.hi


def test_tune_batch_compact_n_zero_when_the_compact_kernel_never_wins(monkeypatch):
    import io
    from hybridsolve import _tune
    monkeypatch.setattr(_tune, "_medians", lambda c, r, t: {"compact": 2.0,
                                                            "per-slice": 1.0})
    out = _tune._batch_compact(_tune._CONFIGS["tiny"], {},
                               _tune._Progress(1, io.StringIO()))
    assert out == {"batch_compact_n": 0, "batch_compact_n32": 0}


def test_tune_measures_small_complex_lu_max(monkeypatch):
    """The small road against the LU road on complex general A: the largest measured n up
    to which the small road is ahead (both really run, with the road's own limit lifted
    only while measuring); ahead everywhere: the small road's capacity."""
    import io
    from hybridsolve import _tune
    from hybridsolve.roads import small as road
    saved = road.COMPLEX_LU_MAX
    for ahead, want in (([True, True, False, True], 48), ([True] * 4, road.SMALL_N),
                        ([False] * 4, 39)):
        it = iter(ahead)
        ran = []

        def medians(contenders, repeat, min_time):
            assert set(contenders) == {"small", "lu"}
            for setup, call in contenders.values():
                setup()
                ran.append(call().shape)
            win = next(it)
            return {"small": 1.0 if win else 2.0, "lu": 1.5}

        monkeypatch.setattr(_tune, "_medians", medians)
        cfg = dict(_tune._CONFIGS["tiny"], complex_ns=[40, 48, 56, 64])
        out = _tune._small_complex(cfg, {}, _tune._Progress(1, io.StringIO()))
        assert out == {"small_complex_lu_max": want}
        assert len(ran) == 8 and road.COMPLEX_LU_MAX == saved
        p = _tuning.PARAMS["small_complex_lu_max"]
        assert p.lo <= out["small_complex_lu_max"] <= p.hi
