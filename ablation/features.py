"""Imports the optional feature modules so they register their commands, scenario sections and
result steps (see :mod:`ablation.extensions` and :data:`ablation.cli.COMMANDS`)."""
from . import views  # noqa: F401,E402  scene.png, plots, report.html; `ablation view`, `ablation report`
