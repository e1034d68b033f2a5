"""Every shipped scenario runs, as a user would run it, and its result folder reads back.

As scikit-fem tests every example: each file in scenarios/ goes through the command its name
says (compare_*, sweep_*, plan_*, else run) on a coarsened copy (2 mm cells at the finest, 3 mm
in 3-D; RF runs stopped at 2 min; fewer samples; tissue, devices and protocols as
shipped), and each `run` result is then re-rendered with `ablation view` and its report rebuilt
with `ablation report`. A scenario added to scenarios/ is tested here without a new line.

The numbers checked are the ones every result must satisfy whatever the grid: a lesion that exists
where the device delivers energy, probabilities in [0, 1], the files the writer lists in its manifest.
Accuracy against closed forms and published data is elsewhere (tests/test_analytic.py,
benchmarks/verification, benchmarks/validation).
"""
from __future__ import annotations

import json
import tomllib
from pathlib import Path

import pytest

from ablation.cli import main
from ablation.input.units import parse_quantity
from conftest import ROOT, write_toml

SCENARIOS = sorted((ROOT / "scenarios").glob("*.toml"))
COARSE_SPACING_M = 2e-3     # cells no finer than this (axisymmetric grids)...
COARSE_SPACING_3D_M = 3e-3  # ...and on 3-D grids
COARSE_SAMPLES = 200        # placement Monte Carlo samples (re-solved placements keep their own count)
SHORT_HEATING = "2 min"     # RF runs stop here (cryo and thermal runs keep their protocols)


def command_of(path: Path) -> str:
    """The command a shipped scenario is written for, from its name (compare_*, sweep_*, plan_*)."""
    prefix = path.stem.split("_")[0]
    return {"compare": "compare", "sweep": "sweep", "plan": "plan"}.get(prefix, "run")


def coarsened(raw: dict, command: str = "run") -> dict:
    """The same scenario on coarser cells, shorter and with fewer samples: tissue, devices and
    generator as shipped. The time-step check (tests/test_time_step.py) and the material tumour's
    move check (tests/test_coverage.py) are left out: each repeats the solve."""
    grid = raw.setdefault("grid", {})
    three_d = grid.get("kind") == "3d" or len(raw.get("probes", ())) > 1 or "vessels" in raw or "anatomy" in raw
    coarse = COARSE_SPACING_3D_M if three_d else COARSE_SPACING_M
    if parse_quantity(grid.get("spacing", "1 mm"), "length") < coarse:
        grid["spacing"] = f"{coarse * 1e3:g} mm"
        if "max_spacing" in grid and parse_quantity(grid["max_spacing"], "length") < coarse:
            grid["max_spacing"] = grid["spacing"]
    time = raw.setdefault("time", {})
    time["refine"] = False
    if raw.get("modality") == "rfa" and command in ("run", "compare") and \
            parse_quantity(time["duration"], "time") > parse_quantity(SHORT_HEATING, "time"):
        time["duration"] = SHORT_HEATING
        time.pop("output_interval", None)
    placement = raw.get("placement")
    if placement and "insertions" in placement:     # every sample is a re-solved sequence
        placement["samples"] = min(placement.get("samples", 4), 4)
    elif placement:
        placement["samples"] = min(placement.get("samples", COARSE_SAMPLES), COARSE_SAMPLES)
        placement["resolve_check"] = 0
    sweep = raw.get("sweep")
    if sweep:
        sweep["samples"] = min(sweep.get("samples", 2), 2)     # a Sobol design solves samples x (D + 2)
        sweep.pop("bootstrap", None)
    plan = raw.get("plan")
    if plan:
        plan.update(samples=min(plan.get("samples", 100), 100), iterations=min(plan.get("iterations", 3), 3),
                    verify_samples=min(plan.get("verify_samples", 200), 200))
    return raw


@pytest.fixture(scope="module")
def copies(tmp_path_factory):
    """Coarsened copies in a folder beside a link to meshes/, so '../meshes/...' finds the shipped files."""
    root = tmp_path_factory.mktemp("examples")
    (root / "scenarios").mkdir()
    (root / "meshes").symlink_to(ROOT / "meshes", target_is_directory=True)
    return root


@pytest.mark.parametrize("path", SCENARIOS, ids=[p.stem for p in SCENARIOS])
def test_every_shipped_scenario_runs_and_reads_back(path, copies, capsys):
    command = command_of(path)
    raw = coarsened(tomllib.loads(path.read_text()), command)
    scenario = write_toml(copies / "scenarios" / path.name, raw)
    out = copies / "results" / path.stem
    args = [command, str(scenario), "--out", str(out), "--workers", "1"]
    assert main(args + (["--quiet", "--no-scene"] if command == "run" else [])) == 0, capsys.readouterr().err

    if command == "run":
        summary = json.loads((out / "summary.json").read_text())
        lesion = summary["lesion"]
        assert lesion["volume_ml"] > 0 and lesion["long_axis_mm"] > 0, lesion
        for name in summary["manifest"]["files"]:
            assert (out / name).is_file(), name
        for tumor in summary.get("tumors", []):
            assert 0.0 <= tumor["coverage"] <= 1.0
        for key, value in (summary.get("placement") or {}).items():
            if key.startswith("p_") and isinstance(value, (int, float)):
                assert 0.0 <= value <= 1.0, (key, value)
        # read back as a user would: the picture and the rebuilt report
        assert main(["view", str(out), "--out", str(out / "view-again.png"), "--size", "400x200"]) == 0, \
            capsys.readouterr().err
        assert (out / "view-again.png").stat().st_size > 0
        assert main(["report", str(out), "--no-interactive"]) == 0, capsys.readouterr().err
        assert "Research use only" in (out / "report.md").read_text() or \
            "not a medical device" in (out / "report.md").read_text()
    elif command == "compare":
        comparison = json.loads((out / "comparison.json").read_text())
        probabilities = [v for row in comparison["rows"] for k, v in row.items()
                         if k.startswith("p_") and isinstance(v, (int, float))]
        assert probabilities and all(0.0 <= p <= 1.0 for p in probabilities)
        assert {row["approach"] for row in comparison["rows"]} == set(comparison["approaches"])
        for name in comparison["manifest"]["files"]:
            assert (out / name).is_file(), name
    else:
        assert any(p.is_file() for p in out.rglob("*")), f"{command} wrote nothing in {out}"
