"""Result folders are all or nothing and never hurt the user's files (ablation/output/files.py)."""
import errno
import hashlib
import json
import os
import subprocess
import sys
from pathlib import Path

import pytest

import ablation
from ablation.cli import main
from ablation.output import files as output_files
from ablation.output import write as output_write
from conftest import ROOT

SMALL = {"time.duration": "30 s", "time.refine": False, "grid.spacing": "1 mm", "grid.max_spacing": "4 mm", "outputs.scene": False}


def small_scenario(folder: Path, name="small.toml", **changes) -> Path:
    import tomli_w
    scenario = ablation.load_scenario(ROOT / "scenarios" / "thermal_probe.toml").with_changes({**SMALL, **changes})
    path = folder / name
    path.write_text(tomli_w.dumps(scenario.raw))
    return path


def tree(folder: Path) -> dict:
    """Every entry under ``folder`` with its bytes (folders as None)."""
    return {p.relative_to(folder).as_posix(): (None if p.is_dir() else p.read_bytes())
            for p in sorted(folder.rglob("*"))}


def assert_complete(folder: Path) -> dict:
    """summary.json's manifest lists every other file with its sha256; returns the marker."""
    summary = json.loads((folder / "summary.json").read_text())
    entry = summary["manifest"]
    assert entry["algorithm"] == "sha256"
    on_disk = {p.relative_to(folder).as_posix() for p in folder.rglob("*") if p.is_file()}
    assert on_disk - {"summary.json", ".ablation-result"} == set(entry["files"])
    for rel, digest in entry["files"].items():
        assert hashlib.sha256((folder / rel).read_bytes()).hexdigest() == digest, rel
    marker = json.loads((folder / ".ablation-result").read_text())
    assert marker["tool"] == "ablation" and "summary.json" in marker["files"]
    return marker


def leftovers(parent: Path, name: str) -> list:
    return sorted(p for p in os.listdir(parent) if p.startswith(f".{name}.") )


def run(scenario, out, *extra):
    return main(["run", str(scenario), "--out", str(out), "--no-scene", "--quiet", "--workers", "1", *extra])


def test_refused_targets_before_any_work(tmp_path, monkeypatch, capsys):
    scenario = small_scenario(tmp_path)

    def no_solve(*args, **kwargs):
        raise AssertionError("the solve started although --out was refused")
    monkeypatch.setattr("ablation.pipeline.simulate", no_solve)
    a_file = tmp_path / "notes.txt"
    a_file.write_text("mine")
    assert run(scenario, a_file) == 2
    assert a_file.read_text() == "mine"
    assert "--out" in capsys.readouterr().err
    assert run(scenario, "/") == 2
    assert "root" in capsys.readouterr().err
    home = tmp_path / "home"
    home.mkdir()
    monkeypatch.setenv("HOME", str(home))
    assert run(scenario, home) == 2
    assert "home folder" in capsys.readouterr().err
    # the user's own folder with plots/ and surfaces/: refused, unchanged byte for byte
    user = tmp_path / "analysis"
    (user / "plots").mkdir(parents=True)
    (user / "surfaces").mkdir()
    (user / "plots" / "figure1.png").write_bytes(b"\x89PNG my figure")
    (user / "surfaces" / "liver.stl").write_bytes(b"solid liver")
    (user / "summary.json").write_text('{"mine": 1}')
    before = tree(user)
    assert run(scenario, user) == 2
    assert "not a result of this toolkit" in capsys.readouterr().err
    assert tree(user) == before
    # not writable (read-only even for root), no room: refused before the solve
    assert run(scenario, "/proc/1/ablation-results") == 2
    assert "--out" in capsys.readouterr().err
    monkeypatch.setattr(output_files.shutil, "disk_usage", lambda path: type("U", (), {"free": 1000})())
    assert run(scenario, tmp_path / "new") == 2
    assert "MB are free" in capsys.readouterr().err
    assert not (tmp_path / "new").exists() and leftovers(tmp_path, "new") == []


def test_rerun_replaces_the_whole_earlier_result(tmp_path):
    out = tmp_path / "out"
    first = small_scenario(tmp_path, "a.toml", **{"time.output_interval": "10 s"})
    assert run(first, out) == 0
    marker1 = assert_complete(out)
    assert (out / "snapshot_0003.vtr").exists()
    (out / "view.png").write_bytes(b"re-rendered by ablation view")     # written by the toolkit later
    second = small_scenario(tmp_path, "b.toml")
    assert run(second, out) == 0
    marker2 = assert_complete(out)
    assert marker2["run_id"] != marker1["run_id"]
    assert not (out / "snapshot_0003.vtr").exists() and not (out / "view.png").exists()   # nothing stale
    assert leftovers(tmp_path, "out") == []
    # a file the user added to a result is never deleted: the rerun is refused
    (out / "my_notes.txt").write_text("keep")
    before = tree(out)
    assert run(second, out) == 2
    assert tree(out) == before
    # a result of an older version (no marker): replaced only with --force
    (out / "my_notes.txt").unlink()
    (out / ".ablation-result").unlink()
    assert run(second, out) == 2
    assert run(second, out, "--force") == 0
    assert_complete(out)


def test_concurrent_runs_one_wins(tmp_path):
    scenario = small_scenario(tmp_path)
    out = tmp_path / "out"
    command = [sys.executable, "-m", "ablation", "run", str(scenario), "--out", str(out), "--no-scene", "--quiet",
               "--workers", "1"]
    procs = [subprocess.Popen(command, stderr=subprocess.PIPE, text=True, cwd=tmp_path) for _ in range(2)]
    results = [(p.wait(), p.stderr.read()) for p in procs]
    codes = sorted(code for code, _ in results)
    assert codes == [0, 2], results
    loser = next(err for code, err in results if code == 2)
    assert "--out" in loser and "being written by run" in loser and "pid" in loser
    assert_complete(out)
    assert leftovers(tmp_path, "out") == []


def test_lock_held_in_process_is_named(tmp_path, capsys):
    scenario = small_scenario(tmp_path)
    out = tmp_path / "out"
    with output_files.ResultFolder(out):
        assert (tmp_path / ".out.lock").exists()
        assert json.loads((tmp_path / ".out.lock").read_text())["pid"] == os.getpid()
        code = subprocess.run([sys.executable, "-m", "ablation", "run", str(scenario), "--out", str(out)],
                              capture_output=True, text=True)
        assert code.returncode == 2 and f"pid {os.getpid()}" in code.stderr
    assert not (tmp_path / ".out.lock").exists()


def test_disk_full_while_writing_keeps_the_earlier_result_and_the_summary(tmp_path, monkeypatch, capsys):
    scenario = small_scenario(tmp_path)
    out = tmp_path / "out"
    assert run(scenario, out) == 0
    before = tree(out)
    capsys.readouterr()

    def full(*args, **kwargs):
        raise OSError(errno.ENOSPC, "No space left on device", str(out / "fields.vtr"))
    monkeypatch.setattr(output_write, "write_fields", full)
    assert run(scenario, out) == 2
    err = capsys.readouterr().err
    assert "no space left" in err and "lost" in err
    saved = Path(err.split("saved to ")[1].split(";")[0])
    assert json.loads(saved.read_text())["lesion"]["volume_ml"] >= 0
    saved.unlink()
    assert tree(out) == before
    assert leftovers(tmp_path, "out") == []


def test_stale_partials_of_dead_runs_are_cleaned_and_nothing_else(tmp_path):
    scenario = small_scenario(tmp_path)
    out = tmp_path / "out"
    dead = tmp_path / ".out.partial-999999999-abcdef12"
    (dead / "sub").mkdir(parents=True)
    (dead / "sub" / "fields.vtr").write_text("half")
    alive = tmp_path / f".out.partial-{os.getppid()}-abcdef12"      # a live process: left alone
    alive.mkdir()
    other = tmp_path / ".other.partial-999999999-abcdef12"          # another folder's: left alone
    other.mkdir()
    mine = tmp_path / ".out.partialnotes"
    mine.write_text("user")
    assert run(scenario, out) == 0
    assert not dead.exists() and alive.exists() and other.exists() and mine.read_text() == "user"


def test_long_names_and_bad_numbers(tmp_path, capsys):
    long_name = "hepatocellular carcinoma segment VIII " * 10
    scenario = small_scenario(tmp_path, **{"tumors": [{"name": long_name, "center": [0, 0, -10],
                                                       "diameter": "20 mm"}]})
    out = tmp_path / "out"
    assert run(scenario, out) == 0
    names = [p.name for p in (out / "surfaces").iterdir()]
    assert any(n.startswith("tumor_1_hepatocellular") for n in names)
    assert max(len(n) for n in names) < 120
    slug = output_files._slug(long_name)
    assert len(slug) <= 69 and slug != output_files._slug(long_name + "x")
    assert output_files._slug("liver/../../etc") == "liver_.._.._etc"
    capsys.readouterr()
    for argv, option in ((["compare", str(scenario), "--seed", "-1"], "--seed"),
                         (["compare", str(scenario), "--samples", "0"], "--samples"),
                         (["compare", str(scenario), "--workers", "0"], "--workers"),
                         (["run", str(scenario), "--workers", "0"], "--workers"),
                         (["run", str(scenario), "--workers", "two"], "--workers")):
        assert main(argv) == 2
        assert option in capsys.readouterr().err


def test_input_files_are_copied_and_escaping_names_refused(tmp_path):
    data = tmp_path / "data"
    data.mkdir()
    (data / "wall.csv").write_text("time_s,temperature_C\n0,37\n60,-150\n600,-150\n")
    raw = ablation.load_scenario(ROOT / "scenarios" / "cryo_17g_perfused.toml").raw
    text = (ROOT / "scenarios" / "cryo_17g_perfused.toml").read_text()
    del raw
    scenario_path = tmp_path / "cryo.toml"
    scenario_path.write_text(text)
    scenario = ablation.load_scenario(scenario_path)
    probe = scenario.raw["probes"][0]
    probe.setdefault("cryo", {}).update(wall="curve", curve_file="data/wall.csv")
    for key in ("type",):
        probe["cryo"].pop(key, None)
    import tomli_w
    scenario_path.write_text(tomli_w.dumps(scenario.raw))
    scenario = ablation.load_scenario(scenario_path)
    assert "data/wall.csv" in scenario.input_files
    staging = tmp_path / "staging"
    staging.mkdir()
    assert output_write.copy_input_files(staging, scenario) == ["data/wall.csv"]
    assert (staging / "data" / "wall.csv").read_bytes() == (data / "wall.csv").read_bytes()
    for bad in ("../wall.csv", "/etc/passwd", "data/../../x.csv", "C:\\curves\\x.csv"):
        assert output_write.input_file_target(bad) is None
    assert str(output_write.input_file_target("./data/wall.csv")) == "data/wall.csv"
