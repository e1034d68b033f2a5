"""Transformations of a scenario applied before it is solved, in this order. Each is a plain
function of the scenario; :func:`apply_transforms` is called by :func:`ablation.simulate` and by
every analysis that solves a variant of a scenario (placement re-solves, approach comparisons)."""
from __future__ import annotations


def occlude_inflow(scenario):
    """Pringle manoeuvre: perfusion 0 in tissue and material tumours, vessels removed (no wall
    cooling; the lumen becomes tissue), the patient's vessels of [anatomy] too. Idempotent."""
    tissue = scenario.tissue.replaced(perfusion=0.0)
    tumors = tuple(t.replaced(properties=t.properties.replaced(perfusion=0.0)) for t in scenario.tumors)
    changes = {"tissue": tissue, "tumors": tumors, "vessels": ()}
    anatomy = scenario.get("anatomy")
    if anatomy is not None and anatomy.get("resolved") is not None:
        changes["anatomy"] = anatomy.replaced(resolved=anatomy.resolved.without_vessels())
    return scenario.replaced(**changes)


def inflow_occlusion(scenario):
    """Applies :func:`occlude_inflow` when the scenario asks for it (``placement.pringle``)."""
    placement = scenario.get("placement")
    if placement is not None and placement.pringle:
        return occlude_inflow(scenario)
    return scenario


TRANSFORMS = (inflow_occlusion,)


def apply_transforms(scenario):
    for transform in TRANSFORMS:
        scenario = transform(scenario)
    return scenario
