"""Time-step error control (docs: ablation.run.time_loop): a thermal probe (the shipped
thermal_probe scenario on a coarse grid, wall ramped 37 -> 90 degC over 30 s) whose lesion is
computed with adaptive steps and with fixed steps.

The adaptive controller is opt-in (``time.adaptive = true``): in strongly perfused runs it still
takes very many small steps (this case at perfusion 0.018 1/s did not finish in 5 minutes; at the
default 0.0064 1/s it takes 87 steps), which is why it is not the default yet.

* adaptive steps (tolerance 2 %), from the scenario's step and from a 10x larger one: lesion
  volume within 2 % of a fixed-step run at one-eighth the scenario's step;
* the run's reported error estimate (Richardson against a run at twice the steps) against the
  measured error, for a fixed step large enough to matter: within a factor of 3;
* the method itself (fixed steps, adaptive = false on purpose: these rows measure backward Euler,
  not the controller): the lesion volume converges at first order in the step.
"""
import math

from ablation.bench import Metric, case, shipped_folder
from ablation.input.scenario import load_scenario


def _scenario(quick, **time):
    s = load_scenario(shipped_folder("scenarios") / "thermal_probe.toml")
    changes = {"grid.spacing": "1 mm" if quick else "0.5 mm", "grid.max_spacing": "4 mm", "domain.size": "50 mm",
               "time.duration": "3 min" if quick else "10 min", "time.output_interval": "3 min" if quick else "10 min",
               "placement.enabled": False}
    changes.update({f"time.{k}": v for k, v in time.items()})
    return s.with_changes(changes)


def _volume(result):
    return result.summary["lesion"]["volume_ml"]


@case()
def adaptive_thermal_probe(ctx):
    """Adaptive steps vs a fixed step of 1/8 the scenario's (2 s -> 0.25 s)."""
    from ablation.run.time_loop import run
    ref = _volume(run(_scenario(ctx.quick, step="0.25 s", adaptive=False)))
    rows = []
    for label, step in (("default_step", "2 s"), ("tenfold_step", "20 s")):
        result = run(_scenario(ctx.quick, step=step, adaptive=True))
        t = result.summary["time"]
        rows.append(Metric(f"adaptive.{label}.volume_rel_error", abs(_volume(result) - ref) / ref, 0.0, 0.02, "1",
                           "at_most", note=f"{_volume(result):.4g} vs {ref:.4g} mL; {t['steps']} steps, "
                                           f"{t['rejected_steps']} rejected, dt {t['min_step_s']:.3g}-{t['max_step_s']:.3g} s"))
    fixed = run(_scenario(ctx.quick, step="30 s", adaptive=False))
    measured = abs(_volume(fixed) - ref)
    estimate = fixed.summary["time"]["lesion_volume_error_estimate_ml"]
    ratio = estimate / measured if measured > 0 else math.inf
    rows.append(Metric("fixed_30s.estimate_over_measured_log3", abs(math.log(ratio)) / math.log(3.0), 0.0, 1.0, "1",
                       "at_most", note=f"estimate {estimate:.4g} mL, measured {measured:.4g} mL (|log ratio| / log 3)"))
    rows.append(Metric("fixed_30s.warns", float(bool(fixed.summary["time"]["warnings"])), 1.0, 0.0, "1", "at_least",
                       note=f"estimated error {100 * fixed.summary['time']['lesion_volume_error_estimate']:.3g} %"))
    return rows


@case()
def backward_euler_order(ctx):
    """Fixed steps 24, 12, 6 s (adaptive = false: the method's order, not the controller's)."""
    from ablation.run.time_loop import run
    v = [_volume(run(_scenario(ctx.quick, step=f"{s} s", adaptive=False))) for s in (24, 12, 6)]
    order = math.log(abs(v[0] - v[1]) / abs(v[1] - v[2])) / math.log(2.0)
    return [Metric("lesion_volume.order", order, 1.0, 0.35, "1", "within",
                   note="volumes " + ", ".join(f"{x:.4g}" for x in v) + " mL")]
