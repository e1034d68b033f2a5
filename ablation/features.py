"""Imports the optional feature modules so they register their commands, scenario sections and
result steps (see :mod:`ablation.extensions` and :data:`ablation.cli.COMMANDS`)."""
