"""Inverse planning (``ablation plan``, docs/planning.md): the probe count, tip positions,
directions and protocol duration that maximise the chance of complete ablation with margin under
each approach's placement error. One job per module:

* :mod:`.spec` - the [plan] section as plain objects, with the geometric checks;
* :mod:`.zones` - the zone library: one probe's solved zone per duration, moved (and an analytic
  spherical zone for verification);
* :mod:`.interaction` - several probes' surrogate corrected by fresh solves of the search's layouts;
* :mod:`.objective` - the placement Monte Carlo objective with common random numbers;
* :mod:`.search` - packing start, differential evolution and polish over count, tips, directions
  and duration; the naive plan;
* :mod:`.verify` - the final plan solved for real and its placement Monte Carlo;
* :mod:`.risk` - local tumour progression read from published MAM relations (research context);
* :mod:`.planner` - all of it for a scenario: :func:`plan`.

No files, no screen (:mod:`ablation.output.planning` writes the result folder).
"""
from ablation.planning.planner import PlanInfeasible, PlanOutcome, plan
from ablation.planning.spec import PlanSpec, plan_spec
from ablation.planning.zones import SphereLibrary, Zone, ZoneLibrary, sphere_zone

__all__ = ["PlanInfeasible", "PlanOutcome", "plan", "PlanSpec", "plan_spec", "SphereLibrary", "Zone",
           "ZoneLibrary", "sphere_zone"]
