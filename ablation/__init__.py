"""ablation: finite-volume models of radiofrequency and cryo ablation of liver tumours.

Research use only: not a medical device, not for clinical decisions.
"""
__version__ = "0.1.0"

from .scenario import ScenarioError, load_scenario  # noqa: E402
from .solver import Result, run  # noqa: E402

__all__ = ["load_scenario", "run", "Result", "ScenarioError", "__version__"]
