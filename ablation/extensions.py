"""Scenario sections contributed by features outside the modalities (placement, coverage).

``SECTIONS`` maps a top-level key to its :class:`ablation.schema.Table`; ``CHECKS`` are cross-field
checks ``check(scenario, errors)`` run after the structural validation.
"""
SECTIONS: dict = {}
CHECKS: list = []

# ``ablation run`` calls each RESULT_STEPS entry as step(result, args) after solving (coverage,
# placement) and each RESULT_WRITERS entry as writer(staging_dir, result) while writing.
RESULT_STEPS: list = []
RESULT_WRITERS: list = []

# ``ablation.solver.run`` passes the scenario through each SCENARIO_TRANSFORMS entry
# (transform(scenario) -> scenario) before building the grid, e.g. inflow occlusion (Pringle).
SCENARIO_TRANSFORMS: list = []
