"""Pictures, plots and the report as parts of ``ablation run`` (RESULT_WRITERS), and the commands
``ablation view DIR`` (re-render or open a saved result without re-running) and ``ablation report
DIR`` (rebuild plots and report of a saved result, e.g. after ``ablation compare`` wrote its
comparison.json there). Registered by importing this module in :mod:`ablation.features`."""
from __future__ import annotations

import sys
from pathlib import Path

from .cli import COMMANDS
from .extensions import RESULT_WRITERS
from .viz import prepare_offscreen

prepare_offscreen()   # the CLI imports this module first, before any vtk import (DESIGN.md)


def write_scene(staging, result) -> None:
    """DIR/scene.png (and scene_tumor_N.png close-ups with several tumours). Skipped by
    ``ablation run --no-scene`` (by this function's name) and by outputs.scene = false. A renderer
    failure is reported and the run's other results are still written."""
    if not getattr(result.scenario.outputs, "scene", True):
        return
    from .viz import write_scene_images
    try:
        write_scene_images(staging, result)
    except Exception as exc:    # no OpenGL/EGL on this machine: keep the computed results
        print(f"warning: scene.png not rendered ({type(exc).__name__}: {exc}); see DESIGN.md "
              "'Pictures on a machine without a screen'", file=sys.stderr)


def write_plots(staging, result) -> None:
    from .plots import write_plots as plots
    result.extras["plots"] = plots(staging, result)


def write_report(staging, result) -> None:
    from .report import write_report as report
    report(staging, result, result.extras.get("plots", ()))


RESULT_WRITERS.extend([write_scene, write_plots, write_report])


# ------------------------------------------------------------------------------- commands
def _view_arguments(parser) -> None:
    from .viz import CAMERAS
    parser.description = "re-render a saved result (or open it in a window when there is a screen)"
    parser.add_argument("directory", help="results folder of a completed run")
    parser.add_argument("--camera", default="iso",
                        help=f"{', '.join(CAMERAS)} or 'AZIMUTH,ELEVATION' in degrees from the side view")
    parser.add_argument("--criterion", help="lesion criterion to draw (default: the run's), e.g. arrhenius_99, "
                                            "max_temperature:60, min_temperature:-40")
    parser.add_argument("--time", type=float, help="time point (s): the nearest stored snapshot")
    parser.add_argument("--field", default="temperature_C", help="field on the section (default temperature_C)")
    parser.add_argument("--tumor", type=int, help="close-up of tumour N (1-based)")
    parser.add_argument("--out", help="PNG to write (default: an interactive window when there is a screen, "
                                      "else DIR/view.png)")
    parser.add_argument("--size", default="1800x900", help="picture size WIDTHxHEIGHT in pixels")


def cmd_view(args) -> int:
    from . import viz
    from .io import load_result, snapshot_fields
    try:
        result = load_result(args.directory)
        fields, time_s = None, None
        if args.time is not None:
            time_s, fields = snapshot_fields(result, args.time)
        focus = None if args.tumor is None else args.tumor - 1
        if focus is not None and not 0 <= focus < len(result.domain.tumors):
            raise ValueError(f"--tumor {args.tumor}: the scenario has {len(result.domain.tumors)} tumour(s)")
        width, height = (int(v) for v in args.size.lower().split("x"))
        parts = viz.scene_parts(result, args.criterion, fields, time_s, args.field)
        if args.out is None and viz.has_screen():
            viz.show_scene(result, camera=args.camera, focus=focus, window_size=(width, height), parts=parts)
            return 0
        out = Path(args.out or Path(args.directory) / "view.png")
        viz.render_scene(result, out, parts=parts, camera=args.camera, focus=focus, window_size=(width, height))
    except (FileNotFoundError, ValueError) as exc:
        print(f"ablation view: {exc}", file=sys.stderr)
        return 2
    print(f"written {out}")
    return 0


def _report_arguments(parser) -> None:
    parser.description = "rebuild plots/ and report.html/report.md of a saved result"
    parser.add_argument("directory", help="results folder of a completed run")
    parser.add_argument("--no-interactive", dest="interactive", action="store_false",
                        help="leave out the interactive 3-D view")


def cmd_report(args) -> int:
    from .io import load_result
    from .plots import load_comparison, plot_comparison
    from .plots import write_plots as plots
    from .report import write_comparison_report
    from .report import write_report as report
    directory = Path(args.directory)
    comparison = load_comparison(directory)
    if comparison is not None and not (directory / "summary.json").exists():
        (directory / "plots").mkdir(exist_ok=True)
        plot = plot_comparison(comparison, directory / "plots" / "comparison.png")
        write_comparison_report(directory, comparison, plot)
        print(f"written {directory / 'report.html'} and report.md (approach comparison)")
        return 0
    try:
        result = load_result(args.directory)
    except (FileNotFoundError, ValueError) as exc:
        print(f"ablation report: {exc}", file=sys.stderr)
        return 2
    drawn = plots(args.directory, result)
    report(args.directory, result, drawn, interactive=args.interactive)
    print(f"written {Path(args.directory) / 'report.html'} and report.md ({len(drawn)} plots)")
    return 0


COMMANDS["view"] = (_view_arguments, cmd_view)
COMMANDS["report"] = (_report_arguments, cmd_report)
