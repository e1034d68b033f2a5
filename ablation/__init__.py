"""ablation: finite-volume models of radiofrequency and cryo ablation of liver tumours.

Research use only: not a medical device, not for clinical decisions.

    import ablation

    if __name__ == "__main__":   # re-solved placement samples run in spawned worker processes
        scenario = ablation.load_scenario("scenarios/showcase.toml")
        result = ablation.simulate(scenario.with_changes({"tissue.perfusion": "0.0036 1/s"}))
        ablation.write(result, "results/showcase-low-perfusion")
"""
from importlib import import_module
from typing import TYPE_CHECKING

from ablation.version import __version__

# The public API, imported on first use: `import ablation` stays light, so the `ablation` command
# (ablation/__main__.py) is already running, and handles Ctrl-C, while the solvers' modules load.
_PUBLIC = {
    "load_scenario": "ablation.input.scenario", "scenario_from_dict": "ablation.input.scenario",
    "Scenario": "ablation.input.scenario", "ScenarioError": "ablation.input.scenario",
    "load_result": "ablation.output.reading", "ResultFolderError": "ablation.output.reading",
    "write": "ablation.output.write", "simulate": "ablation.pipeline", "Result": "ablation.run.result",
}

if TYPE_CHECKING:
    from ablation.input.scenario import Scenario, ScenarioError, load_scenario, scenario_from_dict
    from ablation.output.reading import ResultFolderError, load_result
    from ablation.output.write import write
    from ablation.pipeline import simulate
    from ablation.run.result import Result

__all__ = ["load_scenario", "scenario_from_dict", "simulate", "write", "load_result", "Scenario", "Result",
           "ScenarioError", "ResultFolderError", "__version__"]


def __getattr__(name: str):
    if name not in _PUBLIC:
        raise AttributeError(f"module 'ablation' has no attribute {name!r}")
    value = getattr(import_module(_PUBLIC[name]), name)
    globals()[name] = value
    return value


def __dir__():
    return sorted(set(globals()) | set(_PUBLIC))
