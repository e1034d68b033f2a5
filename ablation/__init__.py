"""ablation: finite-volume models of radiofrequency and cryo ablation of liver tumours.

Research use only: not a medical device, not for clinical decisions.

    import ablation

    if __name__ == "__main__":   # re-solved placement samples run in spawned worker processes
        scenario = ablation.load_scenario("scenarios/showcase.toml")
        result = ablation.simulate(scenario.with_changes({"tissue.perfusion": "0.0036 1/s"}))
        ablation.write(result, "results/showcase-low-perfusion")
"""
from ablation.version import __version__

from ablation.input.scenario import Scenario, ScenarioError, load_scenario, scenario_from_dict
from ablation.output.reading import ResultFolderError, load_result
from ablation.output.write import write
from ablation.pipeline import simulate
from ablation.run.result import Result

__all__ = ["load_scenario", "scenario_from_dict", "simulate", "write", "load_result", "Scenario", "Result",
           "ScenarioError", "ResultFolderError", "__version__"]
