"""Where the domain sits and how large it is: the default domain is placed and sized from the
expected zone and grown while its boundary truncates the temperature field; a domain.size the user
gave is kept, with a warning when it truncates."""
from __future__ import annotations

import copy

import numpy as np
import pytest

import ablation
from ablation.run.setup import domain_center, domain_size, size_is_default

# A thermal probe with a 40 mm active wall held at 90 degC for an hour in unperfused tissue: the
# warm zone reaches far, and the old default domain (80 mm centred on the tip) ends at the proximal
# end of the active part.
BASE = {"name": "long-heat", "modality": "thermal", "tissue": {"preset": "liver", "perfusion": "0 1/s"},
        "probes": [{"name": "probe", "tip": [0, 0, 0], "direction": [0, 0, 1], "diameter": "1.5 mm",
                    "active_length": "40 mm",
                    "thermal": {"wall": "temperature",
                                "temperature_schedule": [["0 s", "90 degC"], ["60 min", "90 degC"]]}}],
        "damage": {"criterion": "max_temperature:50"},
        "grid": {"spacing": "1 mm", "max_spacing": "4 mm", "fine_margin": "5 mm"},
        "time": {"duration": "60 min", "step": "20 s", "output_interval": "60 min", "refine": False},
        "placement": {"enabled": False}, "outputs": {"scene": False}}


def _scenario(domain: dict | None):
    raw = copy.deepcopy(BASE)
    if domain is not None:
        raw["domain"] = domain
    return ablation.scenario_from_dict(raw)


@pytest.fixture(scope="module")
def runs():
    old_default = ablation.simulate(_scenario({"size": "80 mm", "center": [0, 0, 0]}))
    grown = ablation.simulate(_scenario(None))
    large = ablation.simulate(_scenario({"size": "400 mm"}))
    return old_default, grown, large


def test_default_domain_is_centred_on_the_expected_zone_and_sized_from_it():
    s = _scenario(None)
    assert size_is_default(s)
    np.testing.assert_allclose(domain_center(s), [0.0, 0.0, -0.020], atol=1e-12)   # active part -40..0 mm
    assert domain_size(s) == pytest.approx(0.040 + 0.0015 + 0.050)                # zone + 25 mm each side
    fixed = _scenario({"size": "60 mm"})
    assert not size_is_default(fixed) and domain_size(fixed) == pytest.approx(0.060)


def test_axisymmetric_default_centre_stays_on_the_probe_axis():
    raw = copy.deepcopy(BASE)
    raw["probes"][0]["direction"] = [1, 1, 1]
    raw["tumors"] = [{"name": "t", "center": [-0.01 / np.sqrt(3) * 1e3] * 3, "diameter": "30 mm"}]
    s = ablation.scenario_from_dict(raw)
    c, d = domain_center(s), np.ones(3) / np.sqrt(3)
    assert np.linalg.norm(c - (c @ d) * d) < 1e-12
    assert ablation.run.setup.choose_kind(s) == "axisymmetric"


def test_truncating_default_domain_grows_until_the_boundary_holds(runs):
    old_default, grown, large = runs
    tol = 0.5
    # the old default truncates: the held boundary cuts through the heated zone
    assert old_default.summary["boundary_max_deviation_C"] > 10 * tol
    record = grown.summary["domain"]
    assert record["grown"] >= 1
    assert record["deviation_history_C"][0] > tol >= record["boundary_max_deviation_C"]
    assert grown.summary["boundary_max_deviation_C"] == record["boundary_max_deviation_C"]
    assert record["size_mm"] > 91.5 and record["size_from"] == "expected zone" and "warning" not in record
    # the result's scenario names the size it was solved on, so its folder reproduces the grid
    assert grown.scenario.domain.size == pytest.approx(record["size_mm"] * 1e-3)
    assert grown.scenario.raw["domain"]["size"].endswith("mm")
    v_old = old_default.summary["lesion"]["volume_ml"]
    v_grown = grown.summary["lesion"]["volume_ml"]
    v_large = large.summary["lesion"]["volume_ml"]
    assert abs(v_grown - v_old) / v_large > 0.2           # the truncated zone is much smaller
    assert abs(v_grown - v_large) / v_large < 0.02


def test_a_given_size_is_kept_and_a_truncation_is_reported(runs):
    old_default, _, large = runs
    record = old_default.summary["domain"]
    assert record["grown"] == 0 and record["size_mm"] == pytest.approx(80.0)
    assert record["size_from"] == "domain.size"
    assert "domain.size" in record["warning"] and f"{record['boundary_max_deviation_C']:.2f} K" in record["warning"]
    assert "warning" not in large.summary["domain"] and large.summary["domain"]["grown"] == 0


def test_boundary_tolerance_is_validated():
    with pytest.raises(ablation.ScenarioError, match="domain.boundary_tolerance"):
        _scenario({"boundary_tolerance": "0 K"})
