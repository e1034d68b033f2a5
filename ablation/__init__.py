"""ablation: finite-volume models of radiofrequency and cryo ablation of liver tumours.

Research use only: not a medical device, not for clinical decisions.
"""
__version__ = "0.1.0"

import os as _os

# One BLAS thread unless the user says otherwise: the solvers' vectors are 1e4-1e5 long, and a
# threaded OpenBLAS dot product on a shared 2-core machine took ~2 ms instead of ~1 us (measured:
# a 60 s RF run 34 s with the default threads, 6.9 s with one). Must be set before numpy loads.
_os.environ.setdefault("OPENBLAS_NUM_THREADS", "1")

from .scenario import ScenarioError, load_scenario  # noqa: E402
from .solver import Result, run  # noqa: E402

__all__ = ["load_scenario", "run", "Result", "ScenarioError", "__version__"]
