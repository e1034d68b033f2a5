"""Imports the optional feature modules so they register their commands, scenario sections and
result steps (see :mod:`ablation.extensions` and :data:`ablation.cli.COMMANDS`).

Order matters: result steps and writers run in registration order, and the report (views) must
come last so that it sees every file and summary entry the others produce."""
from . import coverage, placement, compare  # noqa: F401,E401  tumour coverage, placement Monte Carlo, ablation compare
from . import views  # noqa: F401,E402  scene.png, plots, report.html; `ablation view`, `ablation report`
