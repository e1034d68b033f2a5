"""The ``ablation`` command: a thin layer over the Python API.

    run | validate | schema | bench | converge | compare | sweep | plan | view | report | compare-zone

Bad input exits with status 2 and names the field or option, never a traceback; a failed or
interrupted run leaves no partial results and never touches files the toolkit did not write (see
:mod:`ablation.output.files`). SIGTERM and SIGHUP are handled like Ctrl-C (exit 143 and 129; Ctrl-C 130). Everything
the command prints goes through :mod:`logging` (to stderr) except the results it was asked for (stdout).
"""
from __future__ import annotations

import argparse
import contextlib
import json
import logging
import os
import signal
import sys
import threading
from pathlib import Path

from ablation.cli import options as option
from ablation.input.plausibility import MAX_PLACEMENT_SAMPLES
from ablation.input.models import DEFAULT_MODEL, MODELS
from ablation.input.scenario import ScenarioError, load_scenario
from ablation.run.problems import FieldProblems

#: the model whose fit `ablation calibrate` runs by default: the default model's calibration owner
CALIBRATION_MODEL = MODELS[DEFAULT_MODEL].calibrated_by or DEFAULT_MODEL

DISCLAIMER = "Research use only: not a medical device, not for clinical decisions."
log = logging.getLogger("ablation")

OUT_HELP = ("results folder (default {default}). It must be new, empty or an earlier result of this toolkit "
            "(marked by its .ablation-result file), which is replaced as a whole when the new run is complete; "
            "a folder holding anything else, a file, / and your home folder are refused before any work, and "
            "a second run into the same folder at the same time is refused")
FORCE_HELP = ("also replace a result of another command (e.g. a run's with a comparison) or one written by an "
              "older version of the toolkit (no .ablation-result marker); files the toolkit did not write are "
              "never deleted")


class Terminated(KeyboardInterrupt):
    """SIGTERM (or SIGHUP: the terminal closed), raised where the program is, so it unwinds like
    Ctrl-C (staging folder and lock removed); the exit status is 128 + the signal's number."""

    def __init__(self, signum: int = signal.SIGTERM):
        super().__init__()
        self.signum = int(signum)


def _on_sigterm(signum, frame):
    raise Terminated(signum)


def _stop_status(exc) -> int:
    """Exit status of a stopped command: 130 for Ctrl-C, 128 + the signal's number otherwise."""
    return 128 + exc.signum if isinstance(exc, Terminated) else 130


#: the signals that stop a command cleanly besides Ctrl-C (SIGHUP: where the platform has it)
STOP_SIGNALS = tuple(getattr(signal, name) for name in ("SIGTERM", "SIGHUP") if hasattr(signal, name))


def _redeliver_lost_interrupts(previous_hook):
    """sys.unraisablehook: a signal's exception raised while Python ran a weakref callback or a
    __del__ is dropped there (printed as 'Exception ignored', the run going on to completion). Send
    the signal again from a helper thread, so that it is raised where the main thread is next."""
    def hook(unraisable):
        if isinstance(unraisable.exc_value, KeyboardInterrupt):
            number = unraisable.exc_value.signum if isinstance(unraisable.exc_value, Terminated) else signal.SIGINT
            timer = threading.Timer(0.01, os.kill, (os.getpid(), number))
            hook.pending.append(timer)
            timer.start()
            return
        previous_hook(unraisable)
    hook.pending = []           # cancelled when the command has finished: nothing is left to stop
    return hook


class ProgressBars:
    """A ``progress(done, total, label)`` callback drawing one tqdm bar per label on stderr."""

    def __init__(self, enabled: bool, title: str = ""):
        self.enabled, self.title = enabled, title
        self.bar, self.label = None, None

    def __enter__(self):
        return self if self.enabled else None

    def __call__(self, done, total, label) -> None:
        if label != self.label:
            self.close()
            from tqdm import tqdm
            unit = "s" if label.startswith("simulated") else ""
            self.bar = tqdm(total=float(total), desc=f"{self.title} {label}".strip(), file=sys.stderr,
                            leave=False, unit=unit,
                            bar_format="{desc}: {percentage:3.0f}%|{bar}| {n:.0f}/{total:.0f} [{elapsed}<{remaining}]")
            self.label = label
        self.bar.update(float(done) - self.bar.n)

    def close(self) -> None:
        if self.bar is not None:
            self.bar.close()
        self.bar, self.label = None, None

    def __exit__(self, *exc):
        self.close()
        return False


def _show_progress(args) -> bool:
    return bool(getattr(args, "progress", False) or (sys.stderr.isatty() and not getattr(args, "quiet", False)))


@contextlib.contextmanager
def _executor(args):
    """The process pool of --workers N (default: one per core), shut down afterwards."""
    from ablation.run.parallel import local_pool, stop_pool
    workers = getattr(args, "workers", None)
    if workers is not None and workers < 1:
        raise ScenarioError([("--workers", f"{workers} is out of range; expected at least 1")])
    pool = local_pool(10**6, workers)
    try:
        yield pool
    except BaseException:
        # interrupted or failed: stop the running solves too (a shutdown would wait for them; a
        # re-solved insertion sequence runs for minutes)
        stop_pool(pool)
        raise
    pool.shutdown(cancel_futures=True)


def cmd_run(args) -> int:
    from ablation.output.files import ResultFolder
    from ablation.output.write import estimate_output_bytes, write
    from ablation.pipeline import simulate
    scenario = load_scenario(args.scenario)
    _check_budget(scenario, args)
    out = Path(args.out or Path("results") / Path(args.scenario).stem)
    # the folder is checked, locked and its free space compared before the solve, held until written
    with ResultFolder(out, force=args.force, expected_bytes=estimate_output_bytes(scenario, scene=args.scene),
                      kind="run"), \
            ProgressBars(_show_progress(args), scenario.name) as progress, _executor(args) as executor:
        result = simulate(scenario, executor=executor, progress=progress)
        write(result, out, scene=args.scene, progress=progress, force=args.force)
    if not args.quiet:
        print_summary(result.summary, out)
    return 0


def print_summary(summary: dict, out: Path) -> None:
    lesion = summary["lesion"]
    kind = summary['grid']['kind']
    print(f"{summary['scenario']['name']}: {summary['modality']} on {'an' if kind[0] in 'aeiou' else 'a'} {kind} "
          f"grid of {summary['grid']['cells']} cells, {summary['runtime_s']:.1f} s")
    # "long" and "short" name the directions along and across the probe (docs/physics.md 5): a zone
    # wider than long (a multi-tine array's) says so instead of reading as a swapped pair
    wide = lesion['short_axis_mm'] > lesion['long_axis_mm']
    print(f"  lesion ({lesion['criterion']}): {lesion['volume_ml']:.2f} mL, long axis {lesion['long_axis_mm']:.1f} mm, "
          f"short axis {lesion['short_axis_mm']:.1f} x {lesion['short_axis_2_mm']:.1f} mm"
          + (" (along and across the probe: this zone is wider than it is long)" if wide else ""))
    raw, conducted = summary['boundary_max_deviation_C'], summary.get("boundary_conducted_deviation_C")
    # explained only where the two differ: the rest arises at the boundary itself, not in the zone
    own = "Joule heat of the RF current returning through it, or a probe shaft crossing it" \
        if summary["modality"] == "rfa" else "a probe shaft crossing it"
    # the conducted deviation is the one held to domain.boundary_tolerance: it leads (a cooled needle's
    # raw 19 K, from its shaft crossing the boundary, read as a failed check)
    tolerance = (summary.get("domain") or {}).get("boundary_tolerance_C")
    judged = f" (tolerance {tolerance:g} K)" if tolerance is not None else ""
    if conducted is not None and raw - conducted >= 0.01:
        print(f"  heat balance error {summary['heat_balance_error']:.2e}, boundary deviation conducted from the zone "
              f"{conducted:.2f} K{judged}; raw {raw:.2f} K, the rest arising next to the boundary itself: {own}")
    else:
        print(f"  heat balance error {summary['heat_balance_error']:.2e}, boundary deviation {raw:.2f} K{judged}")
    warning = summary.get("domain", {}).get("warning")
    if warning:
        print(f"  warning: {warning}")
    for tumor in summary.get("tumors", []):
        print(f"  {tumor['name']}: coverage {100 * tumor['coverage']:.1f} %, min margin {_margin_text(tumor)} "
              f"({tumor['margin_class']})")
    print(f"  results in {out}/")


def _check_budget(scenario, args, renamed: dict | None = None) -> None:
    """Refuse, before anything is allocated, a run whose grid or Monte Carlo would not fit;
    ``renamed``: {scenario field: command-line option that set it} for the message."""
    from ablation.run.estimate import check_budget
    problems = check_budget(scenario, getattr(args, "max_memory", None))
    for field, option_name in (renamed or {}).items():
        problems = [(option_name if path == field else path, message.replace(f"fewer {field}", f"fewer {option_name}"))
                    for path, message in problems]
    if problems:
        raise ScenarioError(problems, args.scenario)


def _margin_text(tumor: dict) -> str:
    value = tumor.get("min_margin_mm")
    # two decimals: 4.98 mm printed as 5.0 mm beside its class (0-5) read as a contradiction
    return f"{value:.2f} mm" if value is not None else tumor.get("min_margin_status", "not defined")


def cmd_validate(args) -> int:
    from ablation.run.estimate import (BAND_RESOLVES, IMPEDANCE_CONTROL_DUTY, band_solves, check_budget, estimate,
                                       placement_solves)
    scenario = load_scenario(args.scenario)
    e = estimate(scenario)
    from ablation.planning.cost import plan_budget_problems
    problems = check_budget(scenario, args.max_memory, e) + plan_budget_problems(scenario, args.max_memory)
    if problems:
        raise ScenarioError(problems, args.scenario)
    commands = _command_solves(scenario)     # before "valid" is printed: it builds the plan's layouts
    solves = placement_solves(scenario, e)
    resolved = "" if solves is None else (
        f"; then {solves.samples} re-solved placement samples ({solves.field}), each "
        + (f"{solves.ablations} ablations in sequence" if solves.ablations > 1 else "one solve")
        + (" on the run's grid" if (solves.kind, solves.cells) == (e.kind, e.cells) else
           f" on a {'3-D' if solves.kind == '3d' else solves.kind} grid of about {solves.cells} cells")
        + f": about {solves.seconds:.0f} s of solving, shared out over the worker processes")
    band = band_solves(scenario, e)
    if band is not None:
        resolved += (f"; then the zone band's {BAND_RESOLVES} re-solves at quantiles of the cryoprobes' calibrated "
                     f"capacity, one integration each: about {band:.0f} s of one core, side by side on two cores")
    steps = f"{e.steps} steps"
    if scenario.modality == "rfa":
        steps += (" (steps of at most the generator's 0.25 s control interval while it delivers"
                  + (f", taken as {100 * IMPEDANCE_CONTROL_DUTY:.0f} % of an impedance-controlled run"
                     if scenario.rfa.protocol == "impedance_control" else "") + ")")
    kind = e.kind
    if scenario.grid.kind == "auto" and e.kind == "3d":
        # a 3-D grid can hold a hundred times the cells: say what made it 3-D
        from ablation.run.setup import axisymmetry_breaker
        kind += f" because {axisymmetry_breaker(scenario)}"
    print(f"{args.scenario}: valid ({scenario.modality}, grid kind {kind}); about {e.cells} cells x {steps}, "
          f"solver {e.memory_bytes / 1e9:.2f} GB, placement Monte Carlo {e.mc_memory_bytes / 1e9:.2f} GB, "
          f"solve about {_seconds(e.seconds)} of one core on this kind of machine"
          + ("" if scenario.time.get("adaptive") else " (at time.step, with the step check's two comparison runs, "
             "which run gives to a second core when there is one; each halving the check needs to meet "
             "time.tolerance doubles it)") + resolved)
    for command in commands:
        # "1 zone-library solve", not "solves"
        parts = "; ".join(f"{count} {what if count != 1 else what.replace(' solves', ' solve', 1)}, about "
                          f"{_seconds(each)} each" for what, count, each in command.parts if count)
        print(f"  ablation {command.command}: {'up to ' if command.upper_bound else ''}{command.runs} runs, solving "
              f"about {_seconds(command.seconds)} of one core in all ({parts}; the placement Monte Carlo, "
              "coverage and files come on top)")
    return 0


def _command_solves(scenario) -> list:
    """The runs `ablation sweep`, `plan` and `compare` would make of this file: sweep and plan
    where it has their section, else compare (its default approaches, with occlusion) where it has
    tumours and probes."""
    from ablation.outcome.compare import compare_solves
    from ablation.planning.cost import plan_solves
    from ablation.sweep.cost import sweep_solves
    found = [c for c in (sweep_solves(scenario), plan_solves(scenario)) if c is not None]
    if not found and scenario.probes and scenario.tumors:
        found.append(compare_solves(scenario, list(DEFAULT_COMPARE_APPROACHES)))
    return found


def _seconds(value: float) -> str:
    return f"{value:.2g} s" if value < 10 else f"{value:.0f} s"


def cmd_schema(args) -> int:
    from ablation.input.scenario import json_schema
    print(json.dumps(json_schema(), indent=2))
    return 0


def cmd_bench(args) -> int:
    from ablation.bench import run_benchmarks
    with ProgressBars(_show_progress(args), "bench") as progress:
        report = run_benchmarks(suites=args.suite, quick=args.quick, out=Path(args.out),
                                update_references=args.update_references, cases_dir=args.cases_dir,
                                progress=progress)
    log.info("benchmark cases from %s", report.cases_dir)
    for error in report.errors:
        log.error("benchmark case %s/%s crashed:\n%s", error.suite, error.case, error.traceback.rstrip())
    if report.problem:
        print(report.summary(), file=sys.stderr)
        return report.exit_code
    print(report.table())
    print(report.summary())
    return report.exit_code


def cmd_calibrate(args) -> int:
    """Fit the lethal zone's edge temperature on the training rows (ablation/calibration/fit.py)
    and write the calibration file the calibrated model reads."""
    from ablation.calibration.fit import RECORD_KEYS, calibrate, default_output
    from ablation.output.files import AtomicFile, is_json_record, write_json
    from ablation.input.units import parse_quantity
    if parse_quantity(args.check_spacing, "length") <= parse_quantity(args.spacing, "length"):
        # the grid check compares the fitted runs with coarser ones: a finer 'check' inverts the rule
        raise ScenarioError([("--check-spacing", f"{args.check_spacing!r} is not coarser than --spacing "
                                                 f"{args.spacing!r}; expected a coarser grid (default 1 mm against "
                                                 "0.5 mm): the check measures how much the fitted zones move on "
                                                 "a coarser one")], "ablation calibrate")
    out = Path(args.out) if args.out else default_output(args.model)
    # checked before the fit (minutes of solves); only a calibration file is ever replaced
    with AtomicFile(out, suffixes=(".json",), replaceable=is_json_record(out, RECORD_KEYS)) as staging:
        record = calibrate(spacing=args.spacing, check_spacing=args.check_spacing, model=args.model,
                           progress=None if args.quiet else (lambda text: print(text, file=sys.stderr)))
        write_json(staging, record)
    edge = record["parameters"]["edge_temperature"]
    print(f"edge temperature {edge['mean']:.2f} +/- {edge['sd']:.2f} degC (prior {edge['prior']['mean']:g} +/- "
          f"{edge['prior']['sd']:g}); chi2 {record['chi2']:.3g} on {len(record['training_rows'])} rows; "
          f"written to {out}")
    for row in record["training_rows"]:
        print(f"  {row['id']:<28} published {row['published']:.4g} {row['unit']:<3} library {row['library_model']:.4g} "
              f"(z {row['z_library']:+.2f})  calibrated {row['calibrated']:.4g} (z {row['z_calibrated']:+.2f})")
    return 0


CONVERGENCE = "converge"     # the marker's kind of a convergence study's folder (the command's name)


def cmd_converge(args) -> int:
    from ablation.output.files import AtomicOutput, OutputError, ResultFolder
    from ablation.run.convergence import SCALES, convergence_study
    from ablation.run.estimate import check_budget
    scenario = load_scenario(args.scenario)
    # the finest level holds the most cells: refused before the first level runs, not hours in
    scale = min(SCALES[args.levels])
    g = scenario.grid
    finest = scenario.with_changes({"grid.spacing": f"{g.spacing * scale * 1e3:.12g} mm",
                                    "grid.max_spacing": f"{g.max_spacing * scale * 1e3:.12g} mm"})
    problems = check_budget(finest, args.max_memory)
    if problems:
        raise ScenarioError([(path, f"at the study's finest level (spacing x{scale:g}): {message}")
                             for path, message in problems], args.scenario)
    out = Path(args.out or Path("results") / (Path(args.scenario).stem + "-convergence"))
    # checked and locked before the solves; it replaces only an earlier convergence study, as a whole
    with ResultFolder(out, only_kind=CONVERGENCE, expected_bytes=10**6):
        with ProgressBars(_show_progress(args), scenario.name) as progress:
            report = convergence_study(scenario, levels=args.levels, progress=progress)
        try:
            with AtomicOutput(out, kind=CONVERGENCE, only_kind=CONVERGENCE) as output:
                output.finish("convergence.json", report)
        except OSError as exc:
            raise OutputError(f"{out}: writing convergence.json failed ({exc.strerror or exc}); nothing was "
                              "written there") from None
    for row in report["levels"]:
        print(f"  spacing x{row['spacing_scale']:.3f} ({row['cells']} cells, dt {row['step_s']:.3g} s): "
              f"volume {row['volume_ml']:.3f} mL, long {row['long_axis_mm']:.2f} mm, short {row['short_axis_mm']:.2f} mm")
    for key, value in report["change_vs_finest_percent"].items():
        print(f"  coarsest vs finest {key}: {value:+.2f} %")
    print(f"  written {out / 'convergence.json'}")
    return 0


DEFAULT_COMPARE_APPROACHES = ("open", "laparoscopic", "percutaneous")


def _compare_arguments(parser) -> None:
    parser.description = "the same tumour(s) and device under each placement approach, side by side"
    parser.add_argument("scenario")
    parser.add_argument("--approaches", default=",".join(DEFAULT_COMPARE_APPROACHES), type=option.approaches,
                        help="comma-separated approaches (open, laparoscopic, percutaneous)")
    parser.add_argument("--samples", type=option.count(1, MAX_PLACEMENT_SAMPLES, "placement.samples' limit: "
                                                       "about 40 min of Monte Carlo"), default=None,
                        help="placement samples (default: the scenario's)")
    parser.add_argument("--seed", type=option.count(0), default=None,
                        help="random seed, 0 or more (default: the scenario's)")
    parser.add_argument("--no-pringle", dest="pringle", action="store_false",
                        help="skip the inflow-occlusion variants")
    parser.add_argument("--out", type=option.output_path,
                        help=OUT_HELP.format(default="results/<scenario stem>-compare"))
    parser.add_argument("--force", action="store_true", help=FORCE_HELP)


def cmd_compare(args) -> int:
    from ablation.outcome.compare import compare
    from ablation.output.comparison import to_markdown, write_comparison
    from ablation.output.files import ResultFolder
    approaches = args.approaches
    scenario = load_scenario(args.scenario)
    if not scenario.probes or not scenario.tumors:
        raise ScenarioError([("probes" if not scenario.probes else "tumors",
                              "missing; a comparison needs at least one probe and one tumour")], args.scenario)
    # the budget check sees the sample count the comparison will draw, and names the option that set it
    _check_budget(scenario if args.samples is None else scenario.with_changes({"placement.samples": args.samples}),
                  args, {"placement.samples": "--samples"} if args.samples is not None else None)
    out = Path(args.out or Path("results") / (Path(args.scenario).stem + "-compare"))
    print(f"{scenario.name}: comparing {', '.join(approaches)}")
    with ResultFolder(out, force=args.force, expected_bytes=10**6, kind="comparison"), \
            ProgressBars(enabled=_show_progress(args)) as progress, _executor(args) as executor:
        report = compare(scenario, approaches, args.samples, args.seed, args.pringle, executor=executor,
                         progress=progress)
        write_comparison(out, report, force=args.force)
    print(to_markdown(report))
    print(f"written {out}/comparison.csv, comparison.md, comparison.json")
    return 0


def cmd_sweep(args) -> int:
    """Run or resume the scenario's [sweep] on Dask (ablation/sweep/study.py): a LocalCluster of
    --workers processes (default one per core) or the scheduler at --scheduler."""
    from ablation.sweep import engine
    from ablation.sweep.study import plan, run_sweep
    scenario = load_scenario(args.scenario)
    out = Path(args.out or Path("results") / (Path(args.scenario).stem + "-sweep"))
    # bad [sweep] input and a folder that must not be used exit 2 here, before any cluster starts
    planned = plan(scenario, out, resume=args.resume)
    planned.store.check(resume=args.resume)
    cluster = client = None

    def report_plan(p) -> None:
        log.info("%s: %d samples (%s, %s), %s in %s: %d finished, %d to run%s", scenario.name, len(p.design),
                 p.spec.mode, p.spec.method, "resumed" if p.state == "resumed" else "new sweep", out,
                 len(p.design) - len(p.todo), len(p.todo),
                 f" ({len(p.retried)} failed before, retried)" if p.retried else "")
    try:
        if args.scheduler:
            try:
                client = engine.connect(args.scheduler)
            except (OSError, TimeoutError, ValueError) as exc:
                raise ScenarioError([("--scheduler", f"{args.scheduler!r}: cannot connect ({exc})")]) from None
        else:
            from distributed import Client
            cluster = engine.local_cluster(args.workers)
            client = Client(cluster)
        log.info("Dask dashboard: %s", client.dashboard_link)
        with ProgressBars(_show_progress(args), f"{scenario.name} sweep") as progress:
            record = run_sweep(scenario, out, client, resume=args.resume, progress=progress, on_plan=report_plan)
    except KeyboardInterrupt as exc:
        what = "terminated" if isinstance(exc, Terminated) else "interrupted"
        from ablation.sweep.store import MARKER as STORE_MARKER
        if (out / STORE_MARKER).is_file():
            log.error("%s: finished samples are kept in %s/samples; rerun with --resume to run only the missing "
                      "ones", what, out)
        else:   # before the store was made: there is nothing to resume
            log.error("%s before the sweep's store was made in %s; nothing was written: rerun without --resume",
                      what, out)
        return _stop_status(exc)
    finally:
        if client is not None:
            client.close()
        if cluster is not None:
            cluster.close()
    status = record["status"]
    print(f"{scenario.name}: {len(planned.design)} samples, {status['ok']} finished, {status['failed']} failed, "
          f"{status['missing']} missing")
    for metric, entry in (record.get("indices") or {}).items():
        if entry.get("available"):
            key = "ST" if entry["method"] == "sobol" else "mu_star"
            ranked = sorted(entry["parameters"].items(), key=lambda kv: -kv[1][key])
            print(f"  {metric}: " + ", ".join(f"{name} {key} {v[key]:.3g} +/- {v[key + '_conf']:.2g}"
                                              for name, v in ranked))
    for approach, entry in (record.get("approaches") or {}).items():
        print(f"  {approach}: " + ", ".join(f"{k} {v['p']:.3f} [{v['interval'][0]:.3f}, {v['interval'][1]:.3f}]"
                                            for k, v in entry.items() if v.get("p") is not None))
    print(f"  written {out}/results.parquet, results.csv, sweep.json, report.html")
    if status["failed"]:
        _report_failed_samples(out)
    return 1 if status["failed"] else 0


def _report_failed_samples(out: Path, shown: int = 3) -> None:
    """The first failed samples' errors on stderr: failures.json alone is easy to miss."""
    try:
        failures = json.loads((out / "failures.json").read_text())
    except (OSError, ValueError):
        failures = []
    for entry in failures[:shown]:
        log.error("sample %s failed: %s", entry.get("sample"), str(entry.get("error", "")).strip())
    log.error("%d sample(s) failed; every error with its traceback, changes and scenario is in %s",
              len(failures), out / "failures.json")

def cmd_plan(args) -> int:
    """Inverse planning (ablation/planning): the plan for the scenario's [plan] section, verified by
    full solves; a constraint that cannot be met exits 2 naming it."""
    from ablation.output.files import ResultFolder
    from ablation.output.planning import write_plan
    from ablation.planning import plan
    scenario = load_scenario(args.scenario)
    if scenario.get("plan") is None:
        raise ScenarioError([("plan", "missing; expected a [plan] section (docs/planning.md)")], args.scenario)
    from ablation.planning.cost import plan_budget_problems
    problems = plan_budget_problems(scenario)
    if problems:
        raise ScenarioError(problems, args.scenario)
    out = Path(args.out or Path("results") / (Path(args.scenario).stem + "-plan"))
    with ResultFolder(out, force=args.force, expected_bytes=10**7, kind="plan"), \
            ProgressBars(_show_progress(args), scenario.name) as progress, _executor(args) as executor:
        outcome = plan(scenario, executor=executor, progress=progress,
                       verify_plans=True if scenario.plan.verify == "all" else "first")
        write_plan(out, outcome, scenario, force=args.force)
    report = outcome.report
    p, n = report["plan"], report["naive"]
    print(f"{scenario.name}: {report['objective']['name']} {p['objective']:.3f} "
          f"[{p['objective_ci95'][0]:.3f}, {p['objective_ci95'][1]:.3f}] with {p['count']} probe(s) for "
          f"{p['protocol']['duration_min']:g} min ({p['approach']}); naive plan {n['objective']:.3f}")
    for row in report["approaches"]:
        needed = row["probes_needed"] if row["probes_needed"] is not None else "not reached"
        print(f"  {row['approach']:13s} probes needed {needed}")
    print(f"  written {out}/plan.json, plan_scenario.toml, report.html")
    return 0


def _view_arguments(parser) -> None:
    from ablation.output.scene import CAMERAS
    parser.description = "re-render a saved result (or open it in a window when there is a screen)"
    parser.add_argument("directory", help="results folder of a completed run")
    parser.add_argument("--camera", default="iso", type=option.camera,
                        help=f"{', '.join(CAMERAS)} or 'AZIMUTH,ELEVATION' in degrees from the side view")
    parser.add_argument("--criterion", type=option.criterion,
                        help="lesion criterion to draw (default: the run's), e.g. arrhenius_99, "
                                            "max_temperature:60, min_temperature:-40")
    parser.add_argument("--time", type=option.time_point,
                        help="time point (s), 0 up to the run's duration: the nearest stored snapshot")
    parser.add_argument("--field", default="temperature_C", help="field on the section (default temperature_C)")
    parser.add_argument("--tumor", type=int, help="close-up of tumour N (1-based)")
    parser.add_argument("--out", type=option.output_path,
                        help="new PNG to write (default: an interactive window when there is a screen, else "
                             "DIR/view.png); an existing file other than DIR/view.png is refused")
    parser.add_argument("--size", default="1800x900", type=option.picture_size,
                        help=f"picture size WIDTHxHEIGHT in pixels, each at most {option.MAX_PICTURE_SIDE}")


def cmd_view(args) -> int:
    from ablation.output import scene as viz
    from ablation.output.files import IMAGE_SUFFIXES, AtomicFile, is_result_folder, signals_held
    from ablation.output.reading import load_result, snapshot_fields
    directory = Path(args.directory)
    own_view = directory / "view.png"
    out = None if args.out is None and viz.has_screen() else Path(args.out or own_view)
    picture = None
    if out is not None:
        # only the result's own view.png is re-rendered in place; any other existing file is the user's
        replaceable = out.resolve() == own_view.resolve() and is_result_folder(directory)
        picture = AtomicFile(out, suffixes=IMAGE_SUFFIXES, replaceable=replaceable)
        if args.out is not None or is_result_folder(directory):
            picture.check()     # before the result is read and rendered (else reading it fails first)
    try:
        result = load_result(args.directory)
        fields, time_s = None, None
        if args.time is not None:
            _check_time_in_result(args.time, result)
            time_s, fields = snapshot_fields(result, args.time)
        focus = None if args.tumor is None else args.tumor - 1
        if focus is not None and not 0 <= focus < len(result.domain.tumors):
            raise ValueError(f"--tumor {args.tumor}: the scenario has {len(result.domain.tumors)} tumour(s); expected "
                             f"a number from 1 to {len(result.domain.tumors)}" if result.domain.tumors else
                             f"--tumor {args.tumor}: the scenario has no tumour; leave --tumor out")
        with signals_held():     # VTK's compiled modules load here: a signal inside that import crashes
            parts = viz.scene_parts(result, args.criterion, fields, time_s, args.field)
        if parts.lesion.n_points == 0:
            _warn_empty_zone(parts)
        if out is None:
            viz.show_scene(result, camera=args.camera, focus=focus, window_size=args.size, parts=parts)
            return 0
        with picture as staging, signals_held():
            viz.render_scene(result, staging, parts=parts, camera=args.camera, focus=focus, window_size=args.size)
    except (FileNotFoundError, ValueError) as exc:
        log.error("ablation view: %s", exc)
        return 2
    print(f"written {out}")
    return 0


def _warn_empty_zone(parts) -> None:
    """A criterion that selects no tissue draws a picture without a zone: say so, with the range of
    its field (a freezing criterion on a heating run, say, where the minimum never falls below the start)."""
    import numpy as np
    from ablation.physics.damage import parse_criterion
    field = parse_criterion(parts.criterion).field
    values = np.asarray(parts.fields[field], float)[parts.domain.tissue]
    when = "" if parts.time_s is None else f" at t = {parts.time_s:g} s"
    unit = " degC" if field.endswith("_C") else ""
    log.warning("ablation view: criterion %r selects no tissue%s (%s over the tissue: %.4g to %.4g%s); "
                "the picture shows no lesion", parts.criterion, when, field,
                np.nanmin(values), np.nanmax(values), unit)


def _check_time_in_result(time_s: float, result) -> None:
    """--time picks the nearest stored snapshot: a time after the last one would silently show it."""
    times = [t for t, _ in result.snapshot_index or ()]
    if times and time_s > max(times) * (1 + 1e-9) + 1e-9:
        raise ValueError(f"--time {time_s:g}: after the run's last stored snapshot; expected a time from "
                         f"0 to {max(times):g} s")


def _report_arguments(parser) -> None:
    parser.description = "rebuild plots/ and report.html/report.md of a saved result"
    parser.add_argument("directory", help="results folder of a completed run")
    parser.add_argument("--no-interactive", dest="interactive", action="store_false",
                        help="leave out the interactive 3-D view")


def cmd_report(args) -> int:
    from ablation.output.reading import load_result
    from ablation.output.plots import load_comparison
    from ablation.output.files import is_result_folder
    directory = Path(args.directory)
    if not is_result_folder(directory):
        from ablation.output.files import SWEEP_MARKER
        from ablation.output.reading import other_command_folder
        if (directory / SWEEP_MARKER).is_file():
            log.error("ablation report: %s: %s", directory, other_command_folder(directory))
            return 2
        # report writes plots/ and report.* into the folder: never into one the toolkit did not write
        log.error("ablation report: %s is not a result folder of this toolkit (no %s marker and no summary.json "
                  "or comparison.json it wrote); expected a folder written by 'ablation run' or 'ablation compare'",
                  directory, ".ablation-result")
        return 2
    comparison = load_comparison(directory)
    if comparison is not None and not isinstance(comparison, dict):
        log.error("ablation report: %s holds no comparison record (a JSON object with rows and ranking); "
                  "expected the comparison.json 'ablation compare' wrote", directory / "comparison.json")
        return 2
    comparison_only = comparison is not None and not (directory / "summary.json").exists()
    unwritable = [str(p) for p in (directory, directory / "plots") if p.exists() and not os.access(p, os.W_OK | os.X_OK)]
    if unwritable:
        log.error("ablation report: %s cannot be written by this user; expected a result folder it may write "
                  "(report redraws plots/ and rewrites report.html and report.md); nothing was changed",
                  " and ".join(unwritable))
        return 2
    if not comparison_only:
        try:
            result = load_result(args.directory)
        except (FileNotFoundError, ValueError) as exc:
            log.error("ablation report: %s", exc)
            return 2
    # plots/ is redrawn aside; it and both report files are then put in place together (an
    # interruption before leaves the earlier set). VTK's compiled modules load in the interactive
    # view, and a signal inside that import crashes: held there (as in cmd_view)
    try:
        drawn = _rewrite_report(args, directory, comparison, comparison_only, None if comparison_only else result)
    except PermissionError as exc:
        log.error("ablation report: %s: %s; expected a result folder this user may write; the earlier plots and "
                  "report were left in place", exc.filename or directory, exc.strerror)
        return 2
    if drawn is None:
        return 2
    kind = "approach comparison" if comparison_only else f"{len(drawn)} plots"
    print(f"written {directory / 'report.html'} and report.md ({kind})")
    return 0


def _rewrite_report(args, directory: Path, comparison, comparison_only: bool, result) -> list | None:
    """Redraw the plots and the report of ``directory`` aside and put them in place together; the
    plots drawn, or None when the summary could not be read (logged)."""
    from ablation.output.plots import plot_comparison
    from ablation.output.plots import write_plots as plots
    from ablation.output.report import write_comparison_report
    from ablation.output.report import build_report, write_report as report
    from ablation.output.files import COMPLETED, publish_plots, rewritten_parts, signals_held
    with rewritten_parts(directory) as staging:
        if comparison_only:
            (staging / "plots").mkdir()
            drawn = [p for p in [plot_comparison(comparison, staging / "plots" / "comparison.png")] if p]
        else:
            drawn = plots(staging, result)
            try:
                # built once beside the new plots before anything is replaced: a summary.json the
                # report cannot read leaves the folder as it was
                build_report(staging, result, drawn)
            except (TypeError, ValueError, KeyError, AttributeError, IndexError) as exc:
                log.error("ablation report: %s: a value the report reads is missing or of the wrong kind (%s: %s); "
                          "expected the summary.json 'ablation run' wrote (edited by hand, or from another "
                          "version?); nothing was changed in %s", directory / "summary.json", type(exc).__name__,
                          exc, directory)
                return None
        with signals_held():
            publish_plots(staging, directory)
            if comparison_only:
                write_comparison_report(directory, comparison, drawn[0] if drawn else None)
            else:
                report(args.directory, result, drawn, interactive=args.interactive)
            COMPLETED.append(directory)
    return drawn


def cmd_compare_zone(args) -> int:
    """Dice, mean and Hausdorff surface distance and volume difference of a predicted zone against a
    measured one (label maps on the same grid; ablation.outcome.zone_agreement)."""
    from ablation.anatomy.errors import AnatomyError
    from ablation.anatomy.label_maps import read_label_map
    from ablation.output.anatomy_export import criterion_file_name
    from ablation.output.files import AtomicFile, OutputError
    from ablation.outcome.zone_agreement import zone_agreement
    record_file = AtomicFile(args.out) if args.out else None
    if record_file is not None:
        record_file.check()     # before the label maps are read and compared (seconds of work)
    predicted_path = Path(args.predicted)
    if predicted_path.is_dir():
        from ablation.output.reading import ResultFolderError, read_summary_data, verify_manifest
        folder = predicted_path
        predicted_path = predicted_path / ("lesion.nii.gz" if args.criterion is None
                                           else criterion_file_name(args.criterion))
        # the folder's files must come from one run, as view and report require
        try:
            verify_manifest(folder, read_summary_data(folder / "summary.json"))
        except (ResultFolderError, OSError) as exc:
            log.error("ablation compare-zone: %s: %s; expected a result folder as 'ablation run' wrote it", folder, exc)
            return 2
        if not predicted_path.exists():
            what = ("" if args.criterion is None
                    else f" that reported the criterion {args.criterion!r} (see its summary.json)")
            log.error("ablation compare-zone: %s holds no %s; expected the result folder of a run with an [anatomy] "
                      "section%s (lesion.nii.gz and lesion_<criterion>.nii.gz are written only then) or a label "
                      "map file", args.predicted, predicted_path.name, what)
            return 2
    try:
        predicted = read_label_map(predicted_path)
        measured = read_label_map(args.measured)
    except AnatomyError as exc:
        log.error("ablation compare-zone: %s", exc)
        return 2
    differs = predicted.same_grid(measured)
    if differs:
        log.error("ablation compare-zone: %s and %s are not on the same grid: %s; expected the measured zone "
                  "resampled onto the run's label map (e.g. in 3D Slicer)", args.measured, predicted_path, differs)
        return 2
    zone = measured.labels > 0 if args.label is None else measured.labels == args.label
    if not zone.any():
        what = "non-zero voxel" if args.label is None else f"voxel of label {args.label}"
        log.error("ablation compare-zone: %s holds no %s; expected the measured ablation zone", args.measured, what)
        return 2
    if not (predicted.labels > 0).any():
        log.error("ablation compare-zone: %s: the predicted zone is empty", predicted_path)
        return 2
    with record_file if record_file is not None else contextlib.nullcontext() as staging:
        agreement = zone_agreement(predicted.labels > 0, zone, predicted.spacing, predicted.direction)
        record = {"predicted": str(predicted_path), "measured": str(args.measured), **agreement.as_dict()}
        text = json.dumps(record, indent=2)
        if staging is not None:
            try:
                staging.write_text(text + "\n")
            except OSError as exc:
                raise OutputError(f"{args.out}: writing failed ({exc.strerror or exc}); nothing was written") from None
    print(text)
    return 0


def _input_path_arguments(parser) -> None:
    parser.add_argument("--allow-input-path", action="append", default=[], metavar="DIR", type=option.existing_folder,
                        help="also read data files the scenario names (e.g. probe curves) from DIR "
                             "(default: only the scenario's own folder); repeatable")
    parser.add_argument("--allow-any-input-path", action="store_true",
                        help="read data files the scenario names from anywhere on this machine")


def build_parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(prog="ablation", description=f"Thermal ablation modelling. {DISCLAIMER}")
    parser.add_argument("--verbose", "-v", action="store_true", help="log debugging detail")
    sub = parser.add_subparsers(dest="command", required=True)
    p = sub.add_parser("run", help="run a scenario and write its results")
    p.add_argument("scenario")
    p.add_argument("--out", type=option.output_path, help=OUT_HELP.format(default="results/<scenario file stem>"))
    p.add_argument("--force", action="store_true", help=FORCE_HELP)
    p.add_argument("--quiet", action="store_true")
    p.add_argument("--progress", action="store_true", help="show the progress bar even without a terminal")
    p.add_argument("--no-scene", dest="scene", action="store_false", help="skip the 3-D picture")
    p.add_argument("--workers", type=option.workers, default=None,
                   help="worker processes for parallel work (default: one per core)")
    p.set_defaults(handler=cmd_run)
    p = sub.add_parser("validate", help="check a scenario file")
    p.add_argument("scenario")
    p.set_defaults(handler=cmd_validate)
    p = sub.add_parser("schema", help="print the scenario JSON Schema")
    p.set_defaults(handler=cmd_schema)
    p = sub.add_parser("bench", help="run the benchmark suites")
    p.add_argument("--suite", action="append", help="suite name (repeatable; default all)")
    p.add_argument("--quick", action="store_true", help="reduced resolution (what CI runs)")
    p.add_argument("--out", default="results/bench", type=option.output_path,
                   help="results folder (default results/bench in the current directory)")
    p.add_argument("--update-references", action="store_true",
                   help="record the current values as the stored regression references (missing ones are "
                        "otherwise failures)")
    p.add_argument("--cases-dir", default=None, help="folder of benchmark suites and their references/ "
                                                     "(default: the ones shipped with the package)")
    p.add_argument("--progress", action="store_true", help="show progress bars even without a terminal")
    p.set_defaults(handler=cmd_bench)
    p = sub.add_parser("calibrate", help="fit the lethal zone's edge temperature on the training rows of "
                                         "benchmarks/validation/split.csv and write the calibration file")
    p.add_argument("--model", default=CALIBRATION_MODEL, choices=[m for m, spec in MODELS.items() if spec.fits_own_calibration],
                   help=f"the zone model to fit (default {CALIBRATION_MODEL})")
    p.add_argument("--out", type=option.output_path,
                   help="calibration file (default: the model's file in the package's ablation/calibration/)")
    p.add_argument("--spacing", default="0.5 mm", type=option.positive_length,
                   help="fine cell size of the fitted runs, a length with its unit (default 0.5 mm)")
    p.add_argument("--check-spacing", default="1 mm", type=option.positive_length,
                   help="coarser cell size of the grid check, a length with its unit (default 1 mm)")
    p.add_argument("--quiet", action="store_true")
    p.set_defaults(handler=cmd_calibrate)
    p = sub.add_parser("converge", help="rerun a scenario at finer grids and steps and report the change")
    p.add_argument("scenario")
    p.add_argument("--levels", type=int, default=3, choices=(2, 3))
    p.add_argument("--out", type=option.output_path,
                   help="folder of convergence.json (default results/<scenario stem>-convergence): new, empty or "
                        "an earlier convergence study, which is replaced as a whole; anything else is refused")
    p.add_argument("--progress", action="store_true")
    p.set_defaults(handler=cmd_converge)
    p = sub.add_parser("compare", help="compare placement approaches for one scenario")
    _compare_arguments(p)
    p.add_argument("--workers", type=option.workers, default=None, help="worker processes (default: one per core)")
    p.add_argument("--progress", action="store_true")
    p.set_defaults(handler=cmd_compare)
    p = sub.add_parser("sweep", help="run or resume the scenario's [sweep] (parameter sweep, uncertainty, "
                                     "sensitivity) on Dask")
    p.add_argument("scenario")
    p.add_argument("--out", type=option.output_path,
                   help="sweep store (default results/<scenario stem>-sweep): new, empty or a sweep of the "
                        "same design, which is resumed (finished samples kept, failed ones retried)")
    where = p.add_mutually_exclusive_group()
    where.add_argument("--workers", type=option.workers, default=None,
                       help="worker processes of a local Dask cluster (default: one per core)")
    where.add_argument("--scheduler", metavar="ADDRESS", type=option.scheduler_address,
                       help="join the Dask scheduler at ADDRESS, host:port or tcp://host:port (e.g. "
                            "tcp://host:8786; DIR must be on a shared filesystem)")
    p.add_argument("--resume", action="store_true", help="continue the sweep in --out (refused when it holds none)")
    p.add_argument("--progress", action="store_true", help="show the progress bar even without a terminal")
    p.add_argument("--quiet", action="store_true")
    p.set_defaults(handler=cmd_sweep)

    p = sub.add_parser("plan", help="inverse planning: probe count, positions and protocol for the [plan] section")
    p.add_argument("scenario")
    p.add_argument("--out", type=option.output_path, help=OUT_HELP.format(default="results/<scenario stem>-plan"))
    p.add_argument("--force", action="store_true", help=FORCE_HELP)
    p.add_argument("--workers", type=option.workers, default=None, help="worker processes (default: one per core)")
    p.add_argument("--progress", action="store_true")
    p.set_defaults(handler=cmd_plan)
    p = sub.add_parser("view", help="re-render a saved result")
    _view_arguments(p)
    p.set_defaults(handler=cmd_view)
    p = sub.add_parser("report", help="rebuild the plots and report of a saved result")
    _report_arguments(p)
    p.set_defaults(handler=cmd_report)
    p = sub.add_parser("compare-zone", help="Dice, surface distances and volume difference of a predicted "
                                            "zone against a measured ablation zone (label maps)")
    p.add_argument("predicted", help="result folder of an [anatomy] run (its lesion.nii.gz) or a label map file")
    p.add_argument("measured", help="the measured zone: a NIfTI or NRRD label map on the same grid")
    p.add_argument("--label", type=option.count(1), default=None, help="label of the zone in MEASURED (default: "
                                                                 "every non-zero voxel)")
    p.add_argument("--criterion", default=None, type=option.criterion, help="with a result folder: compare lesion_<criterion>.nii.gz")
    p.add_argument("--out", default=None, type=option.json_output_path,
                   help="also write the figures to this new JSON file (an existing file or folder is refused)")
    p.set_defaults(handler=cmd_compare_zone)
    for name in ("run", "validate", "converge", "compare", "sweep", "plan"):
        _input_path_arguments(sub.choices[name])
    for name in ("run", "validate", "converge"):
        sub.choices[name].add_argument(
            "--max-memory", type=option.memory, default=None, metavar="BYTES",
            help="memory budget for the solve and the placement Monte Carlo, e.g. 4e9 or 4GB (default: "
                 "80 %% of this machine's memory); a scenario over it is refused before anything is allocated")
    return parser


def configure_logging(verbose: bool = False) -> None:
    handler = logging.StreamHandler(sys.stderr)
    handler.setFormatter(logging.Formatter("%(message)s" if not verbose else "%(levelname)s %(name)s: %(message)s"))
    root = logging.getLogger("ablation")
    root.handlers[:] = [handler]
    root.setLevel(logging.DEBUG if verbose else logging.INFO)
    root.propagate = False


def main(argv=None) -> int:
    try:
        args = build_parser().parse_args(argv)
    except SystemExit as exc:       # argparse: --help (0) or a bad option, named on stderr (2)
        return exc.code if isinstance(exc.code, int) else 2
    configure_logging(args.verbose)
    from ablation.output.files import COMPLETED, OutputError
    COMPLETED.clear()       # of this command only (tests call main repeatedly in one process)
    from ablation.runtime import limit_blas_threads
    limit_blas_threads()
    previous, previous_hook = None, sys.unraisablehook
    if threading.current_thread() is threading.main_thread():
        previous = {number: signal.signal(number, _on_sigterm) for number in STOP_SIGNALS}
        sys.unraisablehook = _redeliver_lost_interrupts(previous_hook)
    from ablation.input.probe_curves import input_path_policy
    try:
        with input_path_policy(allowed_roots=getattr(args, "allow_input_path", ()) or (),
                               allow_any_path=getattr(args, "allow_any_input_path", False)):
            return args.handler(args)
    except FieldProblems as exc:    # a scenario that cannot load, or a run its input drove past physics
        log.error(exc.format())
        return 2
    except OutputError as exc:
        log.error("--out %s", exc)
        return 2
    except KeyboardInterrupt as exc:
        what = "terminated" if isinstance(exc, Terminated) else "interrupted"
        if COMPLETED:     # the signal was held while the output was put in place: it is complete
            log.error("%s after %s was complete", what, ", ".join(map(str, dict.fromkeys(COMPLETED))))
        else:
            log.error("%s: no results were written for the unfinished run", what)
        return _stop_status(exc)
    except BrokenPipeError:     # output piped into a reader that stopped (e.g. `| head`)
        sys.stderr.close()
        return 0
    except Exception as exc:  # a solver failure is reported, not dumped
        from ablation.physics.bioheat import SolverError
        if isinstance(exc, SolverError):
            log.error("solver failed: %s", exc)
            return 1
        raise
    finally:
        for timer in getattr(sys.unraisablehook, "pending", ()):
            timer.cancel()
        sys.unraisablehook = previous_hook
        if previous is not None:
            for number, handler in previous.items():
                signal.signal(number, handler)
