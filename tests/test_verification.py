"""Closed-form verification at coarse resolution (the benchmark suite runs it finer)."""
import pytest

from ablation.verification import problems as v


@pytest.mark.parametrize("coordinates", ["spherical", "cylindrical"])
def test_steady_shell_second_order(coordinates):
    runs = [v.steady_shell_1d(n, coordinates) for n in (40, 80, 160)]
    assert runs[-1].max_error < 0.012
    assert 1.8 <= v.observed_order(runs) <= 2.2


def test_steady_sphere_without_perfusion():
    runs = [v.steady_shell_1d(n, "spherical", perfusion=False) for n in (40, 80, 160)]
    assert runs[-1].max_error < 2e-3
    assert 1.8 <= v.observed_order(runs) <= 2.2


def test_transient_slab_second_order_with_dt_h2():
    runs = [v.transient_slab_1d(n) for n in (20, 40, 80)]
    assert runs[-1].max_error < 0.01
    assert 1.8 <= v.observed_order(runs) <= 2.2


@pytest.mark.parametrize("kind", ["axisymmetric", "3d"])
def test_embedded_cases(kind):
    slab = [v.transient_slab_embedded(kind, h) for h in (2e-3, 1e-3)]
    assert slab[-1].max_error < 0.03 and v.observed_order(slab) >= 0.9
    hs = (1e-3, 0.5e-3) if kind == "axisymmetric" else (1e-3, 0.667e-3)
    sphere = [v.steady_sphere_embedded(kind, h) for h in hs]
    assert sphere[-1].max_error < 0.03
    assert v.observed_order(sphere, "rms_error") >= 0.9


def test_true_surface_beats_staircase():
    """The signed-distance wall condition is what makes the embedded sphere converge."""
    true = v.steady_sphere_embedded("axisymmetric", 0.5e-3)
    stair = v.steady_sphere_embedded("axisymmetric", 0.5e-3, true_surface=False)
    assert true.max_error < stair.max_error / 3
