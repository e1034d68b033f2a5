"""ablation: finite-volume models of radiofrequency and cryo ablation of liver tumours.

Research use only: not a medical device, not for clinical decisions.
"""
__version__ = "0.1.0"

import os as _os

# The solvers' conjugate-gradient loops call BLAS on vectors of 1e4-1e6 entries: extra BLAS threads
# only contend for the cores (measured here: a cryo run 22.3 s with 2 threads, 16.9 s with 1).
# Takes effect when ablation is imported before numpy (the command line); the user's setting wins.
_os.environ.setdefault("OPENBLAS_NUM_THREADS", "1")
_os.environ.setdefault("FIPY_SOLVERS", "scipy")

from .scenario import ScenarioError, load_scenario  # noqa: E402
from .solver import Result, run  # noqa: E402

__all__ = ["load_scenario", "run", "Result", "ScenarioError", "__version__"]
