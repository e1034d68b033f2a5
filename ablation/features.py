"""Imports the optional feature modules so they register their commands, scenario sections and
result steps (see :mod:`ablation.extensions` and :data:`ablation.cli.COMMANDS`)."""
from . import coverage, placement, compare  # noqa: F401,E401  tumour coverage, placement Monte Carlo, ablation compare
