"""Per-cell sub-steps of the three-state cell-death model against a much finer integration."""
import numpy as np

from ablation.physics.cell_death import ThreeStateCellDeath


def test_per_cell_substeps_match_a_fine_integration():
    temperatures = np.array([37.0, 50.0, 60.0, 70.0, 90.0, 100.0, 150.0, 400.0])   # degC
    model = ThreeStateCellDeath(temperatures.size)
    fine = ThreeStateCellDeath(temperatures.size)
    for _ in range(8):                                   # 8 steps of 0.25 s, as a powered RF run takes
        model.advance(temperatures, temperatures, 0.25)
        for _ in range(64):                              # 64x finer steps, each sub-stepped as the rule says
            fine.advance(temperatures, temperatures, 0.25 / 64)
    assert np.max(np.abs(model.alive - fine.alive)) < 2e-3
    assert np.max(np.abs(model.dead - fine.dead)) < 2e-3
    assert model.dead[0] < 1e-3 and model.dead[-1] > 0.99   # a body-temperature cell lives, a 400 degC one dies
