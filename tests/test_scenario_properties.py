"""Property tests of the scenario layer: any table, however mangled, gives either a Scenario or a
ScenarioError naming fields, never another exception.

The tables are mutations of the shipped scenarios: keys set to values of the wrong type, extreme
and non-finite numbers, unicode strings, quantities with random units, nested garbage; keys
removed; unknown keys added. Deterministic (derandomized) so a failure repeats.
"""
import copy
import math

from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from ablation.input.scenario import Scenario, ScenarioError, scenario_from_dict
from ablation.input.units import CLINICAL_PERFUSION_UNITS, UNITS
from conftest import ROOT, load_raw

SCENARIOS = {p.name: load_raw(p.name) for p in sorted((ROOT / "scenarios").glob("*.toml"))}
UNIT_SPELLINGS = sorted({u for table in UNITS.values() for u in table} | set(CLINICAL_PERFUSION_UNITS))

EXTREME = st.sampled_from([0, -0.0, 1e-300, -1e-300, 1e300, -1e300, math.inf, -math.inf, math.nan,
                           2 ** 63, -(2 ** 63), 10 ** 400, 5e-324, 1e-12, 1e12])
NUMBERS = st.one_of(st.integers(), st.floats(allow_nan=True, allow_infinity=True), EXTREME)
QUANTITIES = st.builds(lambda n, u, sep: f"{n!r}{sep}{u}", st.one_of(st.floats(), EXTREME, st.integers()),
                       st.sampled_from(UNIT_SPELLINGS), st.sampled_from([" ", "", "  "]))
TEXT = st.text(max_size=8)   # any unicode, including surrogates' neighbours and control characters
SCALARS = st.one_of(NUMBERS, QUANTITIES, TEXT, st.booleans(), st.none(),
                    st.sampled_from(["max_temperature:nan", "min_temperature:-500", "arrhenius", "3d",
                                     "sphere", "ellipsoid", "curve", "temperature", "freeze", "open"]))
VALUES = st.recursive(
    SCALARS,
    lambda inner: st.one_of(st.lists(inner, max_size=4),
                            st.dictionaries(st.one_of(TEXT, st.sampled_from(["tip", "radius", "phase", "wall"])),
                                            inner, max_size=3)),
    max_leaves=5)
VECTORS = st.lists(st.one_of(NUMBERS, TEXT), min_size=0, max_size=4)


def _paths(node, prefix=()):
    """Every (path, node) inside the table: dict keys and list indices."""
    yield prefix, node
    if isinstance(node, dict):
        for k, v in node.items():
            yield from _paths(v, prefix + (k,))
    elif isinstance(node, list):
        for i, v in enumerate(node):
            yield from _paths(v, prefix + (i,))


@st.composite
def mangled(draw):
    name = draw(st.sampled_from(sorted(SCENARIOS)))
    data = copy.deepcopy(SCENARIOS[name])
    for _ in range(draw(st.integers(1, 3))):
        paths = [p for p, _ in _paths(data) if p]
        path = draw(st.sampled_from(paths)) if paths else ()
        parent = data
        for step in path[:-1]:
            parent = parent[step]
        key = path[-1] if path else None
        action = draw(st.sampled_from(["set", "set", "vector", "delete", "add_key", "wrap"]))
        if key is None:
            continue
        if action == "set":
            parent[key] = draw(VALUES)
        elif action == "vector":
            parent[key] = draw(VECTORS)
        elif action == "delete":
            del parent[key]
        elif action == "add_key" and isinstance(parent[key], dict):
            parent[key][draw(TEXT)] = draw(VALUES)
        elif action == "wrap":
            parent[key] = [parent[key]] if draw(st.booleans()) else {"x": parent[key]}
    return name, data


def _load(data):
    try:
        return scenario_from_dict(data, source=str(ROOT / "scenarios" / "mangled.toml"))
    except ScenarioError as exc:
        assert exc.errors and all(isinstance(p, str) and isinstance(m, str) and m for p, m in exc.errors)
        assert exc.format()
        return exc


COUNTS = {"scenario": 0, "error": 0}


@settings(max_examples=800, deadline=None, derandomize=True, database=None,
          suppress_health_check=[HealthCheck.too_slow, HealthCheck.data_too_large])
@given(mangled())
def test_mangled_tables_give_scenario_or_scenario_error(case):
    _, data = case
    out = _load(data)
    COUNTS["scenario" if isinstance(out, Scenario) else "error"] += 1
    assert isinstance(out, (Scenario, ScenarioError))


@settings(max_examples=150, deadline=None, derandomize=True, database=None,
          suppress_health_check=[HealthCheck.too_slow])
@given(st.one_of(VALUES, st.dictionaries(TEXT, VALUES, max_size=5)))
def test_arbitrary_top_level_values(value):
    assert isinstance(_load(value), ScenarioError)


@settings(max_examples=100, deadline=None, derandomize=True, database=None)
@given(st.sampled_from(sorted(SCENARIOS)), st.sampled_from(["tissue.perfusion", "probes[0].tip", "time.step",
                                                            "grid.spacing", "domain.size", "tumors[0].diameter",
                                                            "probes[0].direction", "damage.criterion"]),
       SCALARS)
def test_with_changes_gives_scenario_or_scenario_error(name, path, value):
    """The API path of sweeps: Scenario.with_changes with any value at a real field."""
    base = scenario_from_dict(copy.deepcopy(SCENARIOS[name]), source=str(ROOT / "scenarios" / name))
    try:
        out = base.with_changes({path: value})
    except ScenarioError as exc:
        assert exc.errors
        return
    assert isinstance(out, Scenario)


def test_both_outcomes_were_generated():
    """The mangling is not so heavy that no scenario survives, nor so light that none fails."""
    if sum(COUNTS.values()) == 0:   # run alone: nothing to compare
        return
    assert COUNTS["scenario"] > 0 and COUNTS["error"] > 0, COUNTS
