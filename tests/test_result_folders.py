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
    # s41: a link to that file was called dangling; a link to nowhere is
    (tmp_path / "to_file").symlink_to(a_file)
    (tmp_path / "to_nothing").symlink_to(tmp_path / "gone")
    assert run(scenario, tmp_path / "to_file") == 2
    assert "is a symbolic link to an existing file, not a folder" in capsys.readouterr().err
    assert run(scenario, tmp_path / "to_nothing") == 2
    assert "is a dangling symbolic link" in capsys.readouterr().err
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


def test_an_interrupted_run_leaves_no_folder_it_made(tmp_path, monkeypatch, capsys):
    scenario = small_scenario(tmp_path)

    def interrupted(*args, **kwargs):
        raise KeyboardInterrupt
    monkeypatch.setattr(output_write, "write_fields", interrupted)
    assert run(scenario, tmp_path / "a" / "b" / "out") == 130
    assert "interrupted" in capsys.readouterr().err
    assert sorted(os.listdir(tmp_path)) == ["small.toml"]    # no a/, a/b/, staging folder or lock


def test_a_read_only_folder_is_not_replaced(tmp_path, monkeypatch, capsys):
    """A folder the user may not write (root may write anything, so the permission is simulated)."""
    scenario = small_scenario(tmp_path)
    locked = tmp_path / "locked"
    locked.mkdir()
    real_access = os.access
    monkeypatch.setattr(output_files.os, "access",
                        lambda path, mode: False if Path(path) == locked else real_access(path, mode))
    assert run(scenario, locked) == 2
    assert "read-only" in capsys.readouterr().err
    assert locked.is_dir() and os.listdir(locked) == [] and leftovers(tmp_path, "locked") == []


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


@pytest.mark.filterwarnings("error:Tight layout not applied")   # a long name in a legend broke the layout
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


# ------------------------------------------------------ commands that write one file or a small folder
@pytest.fixture(scope="module")
def earlier_result(tmp_path_factory) -> Path:
    """A run's result folder (thermal, no [anatomy]: no lesion.nii.gz); tests copy it to change it."""
    folder = tmp_path_factory.mktemp("earlier")
    out = folder / "res"
    assert run(small_scenario(folder), out) == 0
    return out


def result_copy(earlier_result: Path, tmp_path: Path) -> Path:
    import shutil
    copy = tmp_path / "res"
    shutil.copytree(earlier_result, copy)
    return copy


def test_an_interrupted_report_keeps_the_earlier_plots_and_report(earlier_result, tmp_path, monkeypatch, capsys):
    res = result_copy(earlier_result, tmp_path)
    assert main(["report", str(res)]) == 0
    before = tree(res)
    assert any(name.startswith("plots/") for name in before)
    from ablation.output import plots

    def half_drawn(directory, result, comparison=None):
        (Path(directory) / "plots").mkdir(exist_ok=True)
        (Path(directory) / "plots" / "device.png").write_bytes(b"half drawn")   # one picture, then Ctrl-C
        raise KeyboardInterrupt
    monkeypatch.setattr(plots, "write_plots", half_drawn)
    assert main(["report", str(res)]) == 130
    assert tree(res) == before           # the earlier plots/ and report, byte for byte; no staging folder


@pytest.mark.parametrize("key, value", [("boundary_conducted_deviation_C", "x"),
                                        ("domain", {"boundary_tolerance_C": "x"})])
def test_a_summary_the_report_cannot_read_is_exit_2_and_changes_nothing(earlier_result, tmp_path, capsys, key, value):
    """A hand-edited summary.json whose values the report reads with the wrong type: exit 2 naming the
    file, no traceback, and the earlier plots and report stay byte for byte (the plots were put in
    place before the report failed)."""
    import json
    res = result_copy(earlier_result, tmp_path)
    assert main(["report", str(res)]) == 0
    summary = json.loads((res / "summary.json").read_text())
    summary[key] = value
    (res / "summary.json").write_text(json.dumps(summary))
    before = tree(res)
    capsys.readouterr()
    assert main(["report", str(res)]) == 2
    err = capsys.readouterr().err
    assert "summary.json: a value the report reads is missing or of the wrong kind" in err
    assert "Traceback" not in err
    assert tree(res) == before


def test_ctrl_c_while_the_report_is_put_in_place_finishes_it_and_says_so(earlier_result, tmp_path, monkeypatch,
                                                                        capsys):
    import signal
    res = result_copy(earlier_result, tmp_path)
    from ablation.output import report as report_module
    real = report_module.write_report

    def with_ctrl_c(*args, **kwargs):
        signal.raise_signal(signal.SIGINT)        # held until the plots and both files are in place
        return real(*args, **kwargs)
    monkeypatch.setattr(report_module, "write_report", with_ctrl_c)
    assert main(["report", str(res)]) == 130
    assert f"interrupted after {res} was complete" in capsys.readouterr().err
    assert (res / "report.html").is_file() and not [p for p in os.listdir(res) if p.startswith(".partial-")]


def hidden_leftovers(folder: Path) -> list:
    """Staging files of a single-file output (``.<name>.partial-...``) left in ``folder``."""
    return sorted(p.name for p in folder.iterdir() if ".partial-" in p.name)


def test_rerun_refuses_a_user_file_in_plots(earlier_result, tmp_path, capsys):
    out = result_copy(earlier_result, tmp_path)
    assert (out / "plots" / "device.png").exists()
    (out / "plots" / "my_plot_edit.png").write_bytes(b"\x89PNG edited by hand")
    before = tree(out)
    capsys.readouterr()
    assert run(small_scenario(tmp_path), out) == 2
    err = capsys.readouterr().err
    assert "--out" in err and "plots/my_plot_edit.png" in err and "Traceback" not in err
    assert tree(out) == before
    assert leftovers(tmp_path, "res") == []
    # the plots the toolkit draws (also when `ablation report` redraws them) are still replaced
    (out / "plots" / "my_plot_edit.png").unlink()
    assert run(small_scenario(tmp_path), out) == 0
    assert_complete(out)


def test_converge_out_never_writes_into_or_over_other_folders(earlier_result, tmp_path, monkeypatch, capsys):
    scenario = small_scenario(tmp_path)

    def no_study(*args, **kwargs):
        raise AssertionError("the convergence study started although --out was refused")
    monkeypatch.setattr("ablation.run.convergence.convergence_study", no_study)
    user = tmp_path / "mine"
    user.mkdir()
    (user / "a.txt").write_text("mine")
    own_json = tmp_path / "mine2"
    own_json.mkdir()
    (own_json / "convergence.json").write_text('{"my": "numbers"}')
    a_file = tmp_path / "f.txt"
    a_file.write_text("mine")
    run_result = result_copy(earlier_result, tmp_path)
    for target, expected in ((user, "not a result of this toolkit"), (own_json, "not a result of this toolkit"),
                             (run_result, "earlier `ablation run`"), (a_file, "existing file")):
        before = tree(tmp_path)
        capsys.readouterr()
        assert main(["converge", str(scenario), "--levels", "2", "--out", str(target)]) == 2, target
        err = capsys.readouterr().err
        assert "--out" in err and str(target) in err and expected in err and "Traceback" not in err
        assert tree(tmp_path) == before
    # a new folder, then the same study again: it replaces only its own earlier convergence.json
    report = {"levels": [], "change_vs_finest_percent": {"volume_ml": 1.0}}
    monkeypatch.setattr("ablation.run.convergence.convergence_study", lambda *a, **k: report)
    out = tmp_path / "conv"
    for _ in range(2):
        assert main(["converge", str(scenario), "--levels", "2", "--out", str(out)]) == 0
        assert sorted(os.listdir(out)) == [".ablation-result", "convergence.json"]
        assert json.loads((out / "convergence.json").read_text())["change_vs_finest_percent"] == {"volume_ml": 1.0}
        assert json.loads((out / ".ablation-result").read_text())["kind"] == "converge"
    assert leftovers(tmp_path, "conv") == []


def _write_label_map(path: Path, center_x: float) -> None:
    import nibabel as nib
    import numpy as np
    axis = np.arange(24) + 0.5
    x, y, z = np.meshgrid(axis, axis, axis, indexing="ij")
    labels = ((x - center_x) ** 2 + (y - 12) ** 2 + (z - 12) ** 2 <= 36).astype(np.uint8)
    nib.save(nib.Nifti1Image(labels, np.eye(4)), str(path))


def test_compare_zone_out_is_checked_before_computing(earlier_result, tmp_path, monkeypatch, capsys):
    import ablation.outcome.zone_agreement as agreement_module
    predicted, measured = tmp_path / "pred.nii.gz", tmp_path / "meas.nii.gz"
    _write_label_map(predicted, 11)
    _write_label_map(measured, 13)
    real_agreement = agreement_module.zone_agreement

    def no_agreement(*args, **kwargs):
        raise AssertionError("the comparison ran although --out was refused")
    monkeypatch.setattr(agreement_module, "zone_agreement", no_agreement)
    mine = tmp_path / "mine.json"
    mine.write_text('{"my": "figures"}')
    adir = tmp_path / "adir"
    adir.mkdir()
    (adir / "keep.txt").write_text("keep")
    for target, expected in ((mine, "already exists"), (adir, "existing folder"),
                             (Path("/proc/1/x.json"), "not writable"),
                             (tmp_path / "missing" / "x.json", "does not exist")):
        before = tree(tmp_path)
        capsys.readouterr()
        assert main(["compare-zone", str(predicted), str(measured), "--out", str(target)]) == 2, target
        err = capsys.readouterr().err
        assert "--out" in err and str(target) in err and expected in err and "Traceback" not in err
        assert tree(tmp_path) == before
    # a new file: written whole, with no staging file left
    monkeypatch.setattr(agreement_module, "zone_agreement", real_agreement)
    out = tmp_path / "figures.json"
    assert main(["compare-zone", str(predicted), str(measured), "--out", str(out)]) == 0
    assert json.loads(out.read_text())["dice"] > 0
    assert hidden_leftovers(tmp_path) == []
    # a result without [anatomy] has no lesion.nii.gz: the message says what it needs
    capsys.readouterr()
    assert main(["compare-zone", str(earlier_result), str(measured)]) == 2
    err = capsys.readouterr().err
    assert "lesion.nii.gz" in err and "[anatomy]" in err and "Traceback" not in err


def test_view_out_never_overwrites_a_file_it_did_not_write(earlier_result, tmp_path, monkeypatch, capsys):
    from ablation.output import scene
    res = result_copy(earlier_result, tmp_path)
    monkeypatch.delenv("DISPLAY", raising=False)
    monkeypatch.delenv("WAYLAND_DISPLAY", raising=False)
    real_render = scene.render_scene

    def no_render(*args, **kwargs):
        raise AssertionError("rendered although --out was refused")
    monkeypatch.setattr(scene, "render_scene", no_render)
    mine = tmp_path / "mine.png"
    mine.write_bytes(b"\x89PNG my picture")
    adir = tmp_path / "adir"
    adir.mkdir()
    for target, expected in ((mine, "already exists"), (adir, "existing folder"),
                             (res / "summary.json", "unsupported file type"),
                             (tmp_path / "s.toml", "unsupported file type")):
        before = tree(tmp_path)
        capsys.readouterr()
        assert main(["view", str(res), "--out", str(target)]) == 2, target
        err = capsys.readouterr().err
        assert "--out" in err and str(target) in err and expected in err and "Traceback" not in err
        assert tree(tmp_path) == before
    assert not (tmp_path / "adir.png").exists()
    # a new file, and the result's own view.png (re-rendered in place, twice)
    monkeypatch.setattr(scene, "render_scene", real_render)
    out = tmp_path / "new.png"
    assert main(["view", str(res), "--out", str(out), "--size", "320x200"]) == 0
    assert out.read_bytes().startswith(b"\x89PNG") and f"written {out}" in capsys.readouterr().out
    for _ in range(2):
        assert main(["view", str(res), "--size", "320x200"]) == 0
        assert (res / "view.png").read_bytes().startswith(b"\x89PNG")
    assert hidden_leftovers(tmp_path) == [] and hidden_leftovers(res) == []


@pytest.mark.parametrize("option, value, expected", [
    ("--size", "100000x100000", "from 1 to 8192"), ("--size", "0x-5", "from 1 to 8192"),
    ("--size", "big", "WIDTHxHEIGHT"), ("--camera", "nan,inf", "finite"), ("--camera", "30", "AZIMUTH,ELEVATION"),
    ("--time", "nan", "finite"), ("--time", "-5", "0 or more"), ("--time", "1e9", "0 to 30 s"),
    ("--out", "", "empty"), ("--criterion", "min_temperature:-500", "plausible range -200..150 degC"),
    ("--criterion", "max_temperature:nan", "plausible range"), ("--criterion", "vibes", "expected arrhenius")])
def test_view_options_are_checked(earlier_result, tmp_path, monkeypatch, capsys, option, value, expected):
    from ablation.output import scene

    def no_render(*args, **kwargs):
        raise AssertionError("rendered with a bad option")
    monkeypatch.setattr(scene, "render_scene", no_render)
    monkeypatch.setattr(scene, "show_scene", no_render)
    before = tree(earlier_result)
    out = tmp_path / "v.png"
    argv = ["view", str(earlier_result), "--out", str(out), option, value]
    assert main(argv) == 2
    err = capsys.readouterr().err
    shown = (repr(value), f"--time {float(value):g}") if option == "--time" else (repr(value),)
    assert option in err and expected in err and any(s in err for s in shown) and "Traceback" not in err
    assert not out.exists() and tree(earlier_result) == before


@pytest.mark.parametrize("argv, option, expected", [
    (["run", "{scenario}", "--out", ""], "--out", "empty"),
    (["converge", "{scenario}", "--out", ""], "--out", "empty"),
    (["compare-zone", "a.nii.gz", "b.nii.gz", "--out", ""], "--out", "empty"),
    # s33 fuzz: wrote JSON into a .png; and compare ran 'open' twice
    (["compare-zone", "a.nii.gz", "b.nii.gz", "--out", "{out}.png"], "--out", "expected a name ending in .json"),
    (["compare", "{scenario}", "--approaches", "open,,open", "--out", "{out}"], "--approaches", "an empty entry"),
    (["compare", "{scenario}", "--approaches", "open,open", "--out", "{out}"], "--approaches", "names open twice"),
    (["run", "{scenario}", "--allow-input-path", "/nonexistent-folder", "--out", "{out}"], "--allow-input-path",
     "does not exist"),
    (["calibrate", "--spacing", "-1", "--out", "{out}"], "--spacing", "positive length"),
    (["calibrate", "--check-spacing", "1 s", "--out", "{out}"], "--check-spacing", "positive length"),
    (["sweep", "{scenario}", "--scheduler", "not-an-address", "--out", "{out}"], "--scheduler", "tcp://host:port"),
    (["sweep", "{scenario}", "--scheduler", "tcp://host:99999", "--out", "{out}"], "--scheduler", "host:port"),
    (["sweep", "{scenario}", "--workers", "100000", "--out", "{out}"], "--workers", "expected at most 256"),
    (["run", "{scenario}", "--workers", "0", "--out", "{out}"], "--workers", "expected at least 1"),
])
def test_bad_options_exit_2_before_any_work(tmp_path, monkeypatch, capsys, argv, option, expected):
    def no_work(*args, **kwargs):
        raise AssertionError("work started with a bad option")
    for name in ("ablation.pipeline.simulate", "ablation.run.convergence.convergence_study",
                 "ablation.calibration.fit.calibrate", "ablation.sweep.engine.connect",
                 "ablation.sweep.engine.local_cluster"):
        monkeypatch.setattr(name, no_work)
    sweep = {"mode": "design", "parameters": [{"path": "tissue.perfusion", "values": ["0 1/s", "0.01 1/s"]}]}
    scenario = small_scenario(tmp_path, **({"sweep": sweep} if argv[0] == "sweep" else {}))
    out = tmp_path / "out"
    argv = [a.format(scenario=scenario, out=out) for a in argv]
    before = tree(tmp_path)
    assert main(argv) == 2
    err = capsys.readouterr().err
    value = argv[argv.index(option) + 1]
    assert f"argument {option}" in err and repr(value) in err and expected in err and "Traceback" not in err
    assert tree(tmp_path) == before


def test_calibrate_refuses_a_grid_check_finer_than_the_fit_before_any_work(tmp_path, monkeypatch, capsys):
    """The grid check compares the fitted zones with a coarser grid: a finer one started the fit."""
    def no_work(*args, **kwargs):
        raise AssertionError("the fit started")
    monkeypatch.setattr("ablation.calibration.fit.calibrate", no_work)
    assert main(["calibrate", "--spacing", "1 mm", "--check-spacing", "0.5 mm", "--out", str(tmp_path / "c.json")]) == 2
    err = capsys.readouterr().err
    assert "--check-spacing: '0.5 mm' is not coarser than --spacing '1 mm'" in err and "Traceback" not in err
    assert not (tmp_path / "c.json").exists()


def test_every_plot_the_toolkit_draws_counts_as_its_own_in_a_result_folder():
    """files._DERIVED_NAMES lists the plots/ names a rerun may replace; a plot added to
    plots.write_plots without it would make every rerun refuse its own earlier result."""
    import re
    from ablation.output import files, plots
    source = Path(plots.__file__).read_text()
    drawn = re.findall(r'out_dir / "([^"]+)"', source)
    assert len(drawn) >= 6, drawn
    for name in drawn:
        assert files._DERIVED_NAMES.match(f"plots/{name}"), name
    assert not files._DERIVED_NAMES.match("plots/my_plot_edit.png")


def test_calibrate_out_never_replaces_a_file_it_did_not_write(tmp_path, monkeypatch, capsys):
    """calibrate --out is checked before the fit: an existing file that is not a calibration is
    refused (exit 2, untouched); a calibration file is replaced, all at once, by the new fit."""
    edge = {"mean": 60.0, "sd": 1.0, "prior": {"mean": 55.0, "sd": 2.5}}
    record = {"version": "test", "model": "calibrated-2026.12", "parameters": {"edge_temperature": edge},
              "training_rows": [], "chi2": 0.0, "date": "2026-12-05"}
    monkeypatch.setattr("ablation.calibration.fit.calibrate", lambda **kwargs: dict(record))
    mine = tmp_path / "mine.json"
    mine.write_text('{"my": "data"}')
    assert main(["calibrate", "--out", str(mine)]) == 2
    err = capsys.readouterr().err
    assert "already exists" in err and "Traceback" not in err and mine.read_text() == '{"my": "data"}'
    assert main(["calibrate", "--out", str(tmp_path / "notes.txt")]) == 2      # not a .json name
    assert main(["calibrate", "--out", str(tmp_path)]) == 2                     # a folder
    earlier = tmp_path / "calibration.json"
    earlier.write_text(json.dumps({**record, "version": "earlier"}))
    assert main(["calibrate", "--out", str(earlier)]) == 0
    assert json.loads(earlier.read_text())["version"] == "test"
    assert sorted(p.name for p in tmp_path.iterdir()) == ["calibration.json", "mine.json"]


def test_a_result_of_another_command_is_replaced_only_with_force(earlier_result, tmp_path, monkeypatch, capsys):
    """`compare` (or `plan`) with --out at a run's result: exit 2 before any work, the run intact;
    with --force it is replaced. Before, the 3 s comparison silently took the place of the run."""
    scenario = small_scenario(tmp_path)
    res = result_copy(earlier_result, tmp_path)
    before = tree(res)

    def no_compare(*args, **kwargs):
        raise AssertionError("the comparison started although --out was refused")
    monkeypatch.setattr("ablation.outcome.compare.compare", no_compare)
    assert main(["compare", str(scenario), "--out", str(res), "--samples", "200"]) == 2
    err = capsys.readouterr().err
    assert "earlier `ablation run`, not of `ablation comparison`" in err and "--force" in err
    assert tree(res) == before
    with pytest.raises(output_files.OutputError, match="replaced only with --force"):
        output_files.check_target(res, kind="plan")
    assert output_files.check_target(res, kind="comparison", force=True) == "result"
    assert output_files.check_target(res, kind="run") == "result"       # a rerun replaces its own kind


def test_out_inside_another_result_is_refused(earlier_result, tmp_path, capsys):
    """A run written into a folder inside an earlier result broke it (view and report then refused
    the outer folder as mixing runs); it is refused, and the outer result stays as it was."""
    res = result_copy(earlier_result, tmp_path)
    before = tree(res)
    assert run(small_scenario(tmp_path), res / "nested") == 2
    err = capsys.readouterr().err
    assert "lies inside the result in" in err and "Traceback" not in err
    assert tree(res) == before
    store = tmp_path / "sweep"
    store.mkdir()
    (store / ".ablation-sweep").write_text("{}")
    with pytest.raises(output_files.OutputError, match="inside the sweep's store"):
        output_files.check_target(store / "samples" / "x", kind="run")
