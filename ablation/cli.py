"""The ``ablation`` command: run | validate | schema | bench | converge (and what features add).

Bad input exits with status 2 and names the field, never a traceback; a failed or interrupted run
leaves no partial results (see :mod:`ablation.io`).
"""
from __future__ import annotations

import argparse
import json
import sys
from pathlib import Path

from .scenario import ScenarioError

DISCLAIMER = "Research use only: not a medical device, not for clinical decisions."

# Further subcommands register here: name -> (add_arguments(parser), handler(args) -> exit code)
COMMANDS: dict = {}


def _progress_bar(enabled: bool, label: str):
    if not enabled:
        return None, lambda: None
    from tqdm import tqdm
    bar = tqdm(total=100, desc=label, unit="%", file=sys.stderr, leave=False,
               bar_format="{desc}: {percentage:3.0f}%|{bar}| [{elapsed}<{remaining}]")
    state = {"last": 0}

    def update(t, duration):
        pct = int(100 * t / duration)
        if pct > state["last"]:
            bar.update(pct - state["last"])
            state["last"] = pct
            bar.set_description_str(f"{label} (simulated {t:.0f} of {duration:.0f} s)", refresh=False)
    return update, bar.close


def cmd_run(args) -> int:
    from .io import write_result
    from .scenario import load_scenario
    from .solver import run
    scenario = load_scenario(args.scenario)
    out = Path(args.out or Path("results") / Path(args.scenario).stem)
    show = args.progress or (sys.stderr.isatty() and not args.quiet)
    progress, close = _progress_bar(show, scenario.name)
    try:
        result = run(scenario, progress=progress)
    finally:
        close()
    from .extensions import RESULT_WRITERS, RESULT_STEPS
    for step in RESULT_STEPS:          # coverage, placement, ...: add to result.summary
        step(result, args)
    def copy_scenario(staging, _result):   # a result folder reproduces itself
        (staging / "scenario.toml").write_bytes(Path(args.scenario).read_bytes())
    writers = [copy_scenario] + [w for w in RESULT_WRITERS if args.scene or w.__name__ != "write_scene"]
    write_result(out, result, extra_writers=writers)
    if not args.quiet:
        print_summary(result.summary, out)
    return 0


def print_summary(summary: dict, out: Path) -> None:
    lesion = summary["lesion"]
    print(f"{summary['scenario']['name']}: {summary['modality']} on a {summary['grid']['kind']} grid of "
          f"{summary['grid']['cells']} cells, {summary['runtime_s']:.1f} s")
    print(f"  lesion ({lesion['criterion']}): {lesion['volume_ml']:.2f} mL, long axis {lesion['long_axis_mm']:.1f} mm, "
          f"short axis {lesion['short_axis_mm']:.1f} x {lesion['short_axis_2_mm']:.1f} mm")
    print(f"  heat balance error {summary['heat_balance_error']:.2e}, "
          f"boundary deviation {summary['boundary_max_deviation_C']:.2f} K")
    for tumor in summary.get("tumors", []):
        print(f"  {tumor['name']}: coverage {100 * tumor['coverage']:.1f} %, min margin {tumor['min_margin_mm']:.1f} mm "
              f"({tumor['margin_class']})")
    print(f"  results in {out}/")


def cmd_validate(args) -> int:
    from .scenario import load_scenario
    from .mesh import choose_kind
    scenario = load_scenario(args.scenario)
    print(f"{args.scenario}: valid ({scenario.modality}, grid kind {choose_kind(scenario)})")
    return 0


def cmd_schema(args) -> int:
    from .scenario import json_schema
    print(json.dumps(json_schema(), indent=2))
    return 0


def cmd_bench(args) -> int:
    from .bench import run_benchmarks
    return run_benchmarks(suites=args.suite, quick=args.quick, out=Path(args.out),
                          update_references=args.update_references, cases_dir=args.cases_dir)


def cmd_converge(args) -> int:
    from .convergence import convergence_study
    from .io import write_json
    from .scenario import load_scenario
    scenario = load_scenario(args.scenario)
    report = convergence_study(scenario, levels=args.levels)
    out = Path(args.out or Path("results") / (Path(args.scenario).stem + "-convergence"))
    out.mkdir(parents=True, exist_ok=True)
    write_json(out / "convergence.json", report)
    for row in report["levels"]:
        print(f"  spacing x{row['spacing_scale']:.3f} ({row['cells']} cells, dt {row['step_s']:.3g} s): "
              f"volume {row['volume_ml']:.3f} mL, long {row['long_axis_mm']:.2f} mm, short {row['short_axis_mm']:.2f} mm")
    for key, value in report["change_vs_finest_percent"].items():
        print(f"  coarsest vs finest {key}: {value:+.2f} %")
    print(f"  written {out / 'convergence.json'}")
    return 0


def build_parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(prog="ablation", description=f"Thermal ablation modelling. {DISCLAIMER}")
    sub = parser.add_subparsers(dest="command", required=True)
    p = sub.add_parser("run", help="run a scenario and write its results")
    p.add_argument("scenario")
    p.add_argument("--out", help="results folder (default results/<scenario file stem>)")
    p.add_argument("--quiet", action="store_true")
    p.add_argument("--progress", action="store_true", help="show the progress bar even without a terminal")
    p.add_argument("--no-scene", dest="scene", action="store_false", help="skip the 3-D picture")
    p.set_defaults(handler=cmd_run)
    p = sub.add_parser("validate", help="check a scenario file")
    p.add_argument("scenario")
    p.set_defaults(handler=cmd_validate)
    p = sub.add_parser("schema", help="print the scenario JSON Schema")
    p.set_defaults(handler=cmd_schema)
    p = sub.add_parser("bench", help="run the benchmark suites")
    p.add_argument("--suite", action="append", help="suite name (repeatable; default all)")
    p.add_argument("--quick", action="store_true", help="reduced resolution (what CI runs)")
    p.add_argument("--out", default="results/bench")
    p.add_argument("--update-references", action="store_true", help="rewrite the stored regression references")
    p.add_argument("--cases-dir", default=None, help="folder of benchmark suites (default: the repo's benchmarks/)")
    p.set_defaults(handler=cmd_bench)
    p = sub.add_parser("converge", help="rerun a scenario at finer grids and steps and report the change")
    p.add_argument("scenario")
    p.add_argument("--levels", type=int, default=3, choices=(2, 3))
    p.add_argument("--out")
    p.set_defaults(handler=cmd_converge)
    for name, (add_arguments, handler) in COMMANDS.items():
        p = sub.add_parser(name)
        add_arguments(p)
        p.set_defaults(handler=handler)
    return parser


def main(argv=None) -> int:
    from . import features  # noqa: F401  registers optional commands and result steps
    args = build_parser().parse_args(argv)
    try:
        return args.handler(args)
    except ScenarioError as exc:
        print(exc.format(), file=sys.stderr)
        return 2
    except KeyboardInterrupt:
        print("interrupted: no results were written for the unfinished run", file=sys.stderr)
        return 130
    except Exception as exc:  # a solver failure is reported, not dumped
        from .bioheat import SolverError
        if isinstance(exc, SolverError):
            print(f"solver failed: {exc}", file=sys.stderr)
            return 1
        raise
