"""``ablation.write(result, out_dir)``: every file of a run, all or nothing.

summary.json (with the manifest of every other file), timeseries.csv, the fields and snapshots
(.vtr/.vts + .pvd), the scenario as run (scenario.toml) and the data files it read,
placement_samples.csv, scene.png, plots/ and report.html/report.md. The command ``ablation run``
writes exactly this. How the folder is checked, locked, staged and swapped into place:
:mod:`ablation.output.files`."""
from __future__ import annotations

import csv
import errno
import json
import logging
import math
import os
import shutil
import tempfile
import tomllib
from pathlib import Path, PurePosixPath, PureWindowsPath

from ablation.output.files import (AtomicOutput, OutputError, _clean, signals_held, write_fields,
                                   write_timeseries)
from ablation.run.result import Result

log = logging.getLogger(__name__)

_NO_SPACE = (errno.ENOSPC, errno.EDQUOT, errno.EFBIG)


def write(result, out_dir, *, scene: bool = True, report: bool = True, progress=None, force: bool = False) -> Path:
    """Write ``result`` into ``out_dir`` as a whole (see :mod:`ablation.output.files`); returns the folder.

    scene : render scene.png (also needs ``outputs.scene`` in the scenario)
    report : draw plots/ and write report.html and report.md
    progress : ``progress(done, total, label)`` after each part (rendering takes seconds)
    force : also replace an earlier result of another command (a comparison, a plan) or one written
            before result folders were marked

    Raises :class:`ablation.output.files.OutputError` when ``out_dir`` must not be written (a file,
    the root or home folder, a folder with other files, one another run is writing) or the disk
    fills up; in the last case summary.json is saved elsewhere and the message says where.
    """
    if not isinstance(result, Result):
        raise TypeError(f"write: expected the Result of ablation.simulate; got {type(result).__name__}")
    parts = [("data", lambda staging: _write_data(staging, result))]
    if scene and result.scenario.outputs.scene:
        parts.append(("scene", lambda staging: write_scene(staging, result)))
    if report:
        parts.append(("report", lambda staging: _write_report(staging, result)))
    out_dir = Path(out_dir)
    done = []
    try:
        with AtomicOutput(out_dir, kind="run", force=force) as output:
            for k, (label, part) in enumerate(parts):
                with signals_held():        # a signal is raised between parts, never inside VTK's imports
                    part(output.path)
                done.append(label)
                if progress is not None:
                    progress(k + 1, len(parts), "writing results")
            output.finish("summary.json", result.summary)
    except OSError as exc:
        raise _write_failure(exc, out_dir, result, done) from None
    return out_dir


def _write_failure(exc: OSError, out_dir: Path, result, done: list) -> OutputError:
    """The error for a failed write: nothing of the new run is in ``out_dir`` (an earlier result
    there is unchanged). When the disk is full, summary.json is saved to the temporary folder."""
    what = f"{exc.strerror or exc}" + (f" ({exc.filename})" if exc.filename else "")
    if exc.errno not in _NO_SPACE:
        return OutputError(f"{out_dir}: writing the results failed: {what}; nothing was written there")
    kept = ""
    try:
        handle, name = tempfile.mkstemp(prefix=f"ablation-{out_dir.name}-", suffix="-summary.json")
        with os.fdopen(handle, "w") as stream:
            json.dump(_clean(result.summary), stream, indent=2)
        kept = f"; the summary (lesion, coverage, placement figures) was saved to {name}"
    except OSError:
        kept = "; the summary could not be saved elsewhere either"
    return OutputError(f"{out_dir}: no space left while writing the results ({what}); nothing was written there "
                       f"and an earlier result is unchanged{kept}; the fields, snapshots, surfaces, pictures and "
                       "report of this run were lost: free space and rerun")


def estimate_output_bytes(scenario, *, scene: bool = True, report: bool = True) -> int:
    """A rough size (bytes) of the result folder of ``scenario``, without building its grid:
    cells from the domain size, the fine region around probes and tumours and the grading to
    ``max_spacing``; 8 bytes per cell and field for the final fields (about 12 fields; revolved
    3-D copy for axisymmetric grids: 48 sectors in float32) and every snapshot (about 3 fields);
    surfaces, pictures, plots and report a few MB."""
    from ablation.run.setup import choose_kind
    grid, size = scenario.grid, float(scenario.domain.size)
    extent = 0.0
    for tumor in scenario.tumors:
        diameters = [tumor.diameter] if tumor.diameter is not None else list(tumor.diameters or [0.0])
        extent = max(extent, max(float(d) for d in diameters))
    for probe in scenario.probes:
        extent = max(extent, float(getattr(probe, "active_length", 0.0) or 0.0), float(probe.diameter))
        rf = probe.get("rfa")
        if rf is not None and rf.get("electrode") == "multitine":     # its tines are in the fine region too
            extent = max(extent, float(rf.deployed_diameter))
    fine = min(size, extent + 2.0 * float(grid.fine_margin))
    spacing, coarse = float(grid.spacing), max(float(grid.max_spacing), float(grid.spacing))
    growth = max(float(grid.growth), 1.01)
    transition = 2.0 * math.log(coarse / spacing) / math.log(growth)

    def axis(length, fine_length):
        return fine_length / spacing + max(length - fine_length, 0.0) / coarse + transition

    kind = choose_kind(scenario)
    if kind == "axisymmetric":
        cells = axis(size / 2, fine / 2) * axis(size, fine)
    else:
        cells = axis(size, fine) ** 3 * max(1, len(scenario.probes) + len(scenario.tumors) - 1) ** 0.5
    total = 4e6 if scene or report else 1e5      # pictures, plots, report, surfaces
    if scenario.outputs.fields:
        snapshots = float(scenario.time.duration) / float(scenario.time.output_interval) + 1
        total += cells * 8 * (12 + 3 * snapshots)
        if kind == "axisymmetric":
            total += cells * 48 * 4 * 12
    return int(total)


def _write_data(staging: Path, result) -> None:
    write_timeseries(staging / "timeseries.csv", result.timeseries)
    if result.scenario.outputs.fields:
        write_fields(staging, result)
    write_scenario_copy(staging / "scenario.toml", result.scenario)
    copy_input_files(staging, result.scenario)
    copy_anatomy_files(staging, result.scenario)
    write_placement_samples(staging / "placement_samples.csv", result)
    from ablation.output.anatomy_export import write_anatomy_exports
    exports = write_anatomy_exports(staging, result)       # lesion.nii.gz etc. with an [anatomy] label map
    if exports is not None:
        result.summary["anatomy"] = {**(result.summary.get("anatomy") or {}), "exports": exports}


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


def input_file_target(name: str) -> PurePosixPath | None:
    """Where a data file the scenario names (as written, e.g. ``data/curve.csv``) goes inside the
    result folder: the same relative path, so the copied scenario.toml finds it; None for a name
    that would leave the folder (absolute, ``..``, drive letters)."""
    text = str(name).replace("\\", "/")
    posix = PurePosixPath(text)
    if not text or posix.is_absolute() or PureWindowsPath(str(name)).drive or ".." in posix.parts:
        return None
    parts = [p for p in posix.parts if p != "."]
    return PurePosixPath(*parts) if parts else None


def copy_input_files(staging: Path, scenario) -> list[str]:
    """Copy every data file the scenario read (``scenario.input_files``, e.g. a cryoprobe's
    curve_file) next to scenario.toml under the name as written, from the scenario file's folder,
    so ``ablation view``/``report`` work from the result folder alone. A name that would leave the
    folder (absolute or with ``..``) is not copied: a warning says the result folder depends on it."""
    from ablation.input.probe_curves import resolve
    copied = []
    for name in scenario.input_files:
        target = input_file_target(name)
        if target is None:
            log.warning("input file %s is not copied into the results (an absolute path or one with '..' "
                        "would leave the result folder); the result folder needs it at that place", name)
            continue
        source = resolve(str(name), scenario.source or None)
        if target.as_posix() in ("scenario.toml", "summary.json"):
            raise OutputError(f"input file {name} would overwrite the result's own {target}; rename it")
        destination = staging.joinpath(*target.parts)
        destination.parent.mkdir(parents=True, exist_ok=True)
        try:
            shutil.copyfile(source, destination)
        except FileNotFoundError:
            raise OutputError(f"input file {name} ({source}) vanished after the scenario was loaded") from None
        copied.append(target.as_posix())
    return copied


ANATOMY_FILE_FIELDS = ("label_map", "tumor_label_map", "centerlines", "liver_surface")


def copy_anatomy_files(staging: Path, scenario) -> list[str]:
    """Copy the files of [anatomy] into ``anatomy/`` of the result folder and point the copied
    scenario.toml at them, so the folder reloads on its own (``ablation view``/``report``) and the
    exported label maps sit next to the label map they overlay."""
    raw = scenario.raw
    if not isinstance(raw, dict) or not isinstance(raw.get("anatomy"), dict):
        return []
    from ablation.input.probe_curves import resolve_input
    import tomli_w
    table = {k: v for k, v in raw.items()}
    section = dict(raw["anatomy"])
    copied, used = [], set()

    def place(name):
        source = resolve_input(str(name), scenario.source or None)
        target = PurePosixPath("anatomy") / source.name
        k = 1
        while target.as_posix() in used:
            target = PurePosixPath("anatomy") / f"{k}_{source.name}"
            k += 1
        used.add(target.as_posix())
        destination = staging.joinpath(*target.parts)
        destination.parent.mkdir(parents=True, exist_ok=True)
        shutil.copyfile(source, destination)
        copied.append(target.as_posix())
        return target.as_posix()

    for key in ANATOMY_FILE_FIELDS:
        if isinstance(section.get(key), str):
            section[key] = place(section[key])
    if isinstance(section.get("tumor_surfaces"), list):
        section["tumor_surfaces"] = [dict(t, file=place(t["file"])) if isinstance(t, dict) and "file" in t else t
                                     for t in section["tumor_surfaces"]]
    table["anatomy"] = section
    (staging / "scenario.toml").write_text(tomli_w.dumps(table))
    return copied


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
