"""``ablation.write(result, out_dir)``: every file of a run, all or nothing.

summary.json, timeseries.csv, the fields and snapshots (.vtr/.vts + .pvd), the scenario as run
(scenario.toml), placement_samples.csv, scene.png, plots/ and report.html/report.md. The command
``ablation run`` writes exactly this."""
from __future__ import annotations

import csv
import logging
import tomllib
from pathlib import Path

from ablation.output.files import AtomicOutput, write_fields, write_json, write_timeseries

log = logging.getLogger(__name__)


def write(result, out_dir, *, scene: bool = True, report: bool = True, progress=None) -> Path:
    """Write ``result`` into ``out_dir`` atomically (summary.json last); returns the folder.

    scene : render scene.png (also needs ``outputs.scene`` in the scenario)
    report : draw plots/ and write report.html and report.md
    progress : ``progress(done, total, label)`` after each part (rendering takes seconds)
    """
    parts = [("data", lambda staging: _write_data(staging, result))]
    if scene and result.scenario.outputs.scene:
        parts.append(("scene", lambda staging: write_scene(staging, result)))
    if report:
        parts.append(("report", lambda staging: _write_report(staging, result)))
    with AtomicOutput(out_dir) as staging:
        for k, (_, part) in enumerate(parts):
            part(staging)
            if progress is not None:
                progress(k + 1, len(parts), "writing results")
        write_json(staging / "summary.json", result.summary)
    return Path(out_dir)


def _write_data(staging: Path, result) -> None:
    write_timeseries(staging / "timeseries.csv", result.timeseries)
    if result.scenario.outputs.fields:
        write_fields(staging, result)
    write_scenario_copy(staging / "scenario.toml", result.scenario)
    write_placement_samples(staging / "placement_samples.csv", result)


def _write_report(staging: Path, result) -> None:
    from ablation.output.plots import write_plots
    from ablation.output.report import write_report
    write_report(staging, result, write_plots(staging, result))


def write_scenario_copy(path: Path, scenario) -> None:
    """The scenario as run, so a result folder reproduces itself: the file's own bytes when the
    scenario is that file unchanged, else its table (after ``with_changes``) as TOML."""
    source = Path(scenario.source) if scenario.source else None
    if source is not None and source.is_file():
        data = source.read_bytes()
        try:
            if tomllib.loads(data.decode("utf-8")) == scenario.raw:
                path.write_bytes(data)
                return
        except (tomllib.TOMLDecodeError, UnicodeDecodeError):
            pass
    if scenario.raw is not None:
        import tomli_w
        path.write_text(tomli_w.dumps(scenario.raw))


def write_placement_samples(path: Path, result) -> None:
    """placement_samples.csv: one row per sample and tumour (the draws are reproducible from the seed)."""
    if not result.placement_samples:
        return
    with open(path, "w", newline="") as handle:
        writer = csv.writer(handle)
        writer.writerow(["sample", "tumor", "coverage", "min_margin_mm", "technical_success"])
        count = len(next(iter(result.placement_samples.values())).coverage)
        for b in range(count):
            for name, data in result.placement_samples.items():
                writer.writerow([b, name, f"{data.coverage[b]:.6g}", f"{data.min_margin_mm[b]:.6g}",
                                 int(data.technical_success[b])])


def write_scene(staging: Path, result) -> None:
    """scene.png (and scene_tumor_N.png close-ups with several tumours). A renderer failure is
    logged and the run's other results are still written."""
    from ablation.output.scene import prepare_offscreen, write_scene_images
    prepare_offscreen()
    try:
        write_scene_images(staging, result)
    except Exception as exc:    # no OpenGL/EGL on this machine: keep the computed results
        log.warning("scene.png not rendered (%s: %s); see docs/design.md 'Pictures on a machine without "
                    "a screen'", type(exc).__name__, exc)
