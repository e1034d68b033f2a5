"""The benchmark harness: closed-form metrics, stored references, readable mismatches, updates."""
import json

from ablation.bench import run_benchmarks

CASE = '''
from ablation.bench import Metric, case

VALUE = {value}

@case()
def regression(ctx):
    ctx.figures["perf.example_s"] = 1.5
    return [Metric("volume", VALUE, None, 0.1, "mL"), Metric("error", 0.001, 0.0, 0.01, "1", "at_most")]
'''


def _suite(tmp_path, value):
    (tmp_path / "cases").mkdir(exist_ok=True)
    (tmp_path / "cases" / "demo.py").write_text(CASE.format(value=value))
    return tmp_path / "cases"


def test_reference_recorded_then_regression_detected(tmp_path, capsys):
    cases = _suite(tmp_path, 2.0)
    assert run_benchmarks(cases_dir=cases, out=tmp_path / "r1") == 0
    refs = json.loads((cases / "references" / "demo-demo.json").read_text())
    assert refs["regression.volume"]["reference"] == 2.0
    _suite(tmp_path, 2.5)
    assert run_benchmarks(cases_dir=cases, out=tmp_path / "r2") == 1
    out = capsys.readouterr().out
    assert "demo/regression/volume: 2.5 vs 2 (diff 0.5, allowed within 0.1)" in out
    results = json.loads((tmp_path / "r2" / "results.json").read_text())
    assert results["figures"]["perf.example_s"] == 1.5
    failed = [c for c in results["cases"] if not c["passed"]]
    assert [c["metric"] for c in failed] == ["volume"]
    assert run_benchmarks(cases_dir=cases, out=tmp_path / "r3", update_references=True) == 0
    assert run_benchmarks(cases_dir=cases, out=tmp_path / "r4") == 0


def test_unknown_suite_is_an_error(tmp_path, capsys):
    cases = _suite(tmp_path, 1.0)
    assert run_benchmarks(suites=["nope"], cases_dir=cases, out=tmp_path / "r") == 2
    assert "unknown suite" in capsys.readouterr().err
