"""The benchmark harness: stored references, missing and broken reference files, readable mismatches,
updates; the shipped package data; the packaging list of sub-packages."""
import json
import tomllib
from pathlib import Path

import pytest

import ablation
from ablation import bench
from ablation.bench import run_benchmarks
from ablation.cli import main
from ablation.version import code_digest

CASE = '''
from ablation.bench import Metric, case

VALUE = {value}

@case()
def regression(ctx):
    ctx.figures["perf.example_s"] = 1.5
    return [Metric("volume", VALUE, None, 0.1, "mL"), Metric("error", 0.001, 0.0, 0.01, "1", "at_most")]
'''


def _suite(tmp_path, value, text=CASE):
    (tmp_path / "cases").mkdir(exist_ok=True)
    (tmp_path / "cases" / "demo.py").write_text(text.format(value=value))
    return tmp_path / "cases"


def _bench(cases, out, *extra):
    return main(["bench", "--cases-dir", str(cases), "--out", str(out), *extra])


def test_missing_reference_file_fails_until_recorded(tmp_path, capsys):
    cases = _suite(tmp_path, 2.0)
    assert _bench(cases, tmp_path / "r0") == 1
    out = capsys.readouterr().out
    assert "1 passed, 1 failed" in out
    assert f"no reference file 'regression.volume' in {cases / 'references' / 'demo-demo.json'}" in out
    assert "--update-references" in out
    assert not (cases / "references" / "demo-demo.json").exists()
    assert _bench(cases, tmp_path / "r1", "--update-references") == 0
    out = capsys.readouterr().out
    assert f"reference file written: {cases / 'references' / 'demo-demo.json'}" in out
    refs = json.loads((cases / "references" / "demo-demo.json").read_text())
    assert refs == {"regression.volume": {"reference": 2.0, "tolerance": 0.1, "unit": "mL"}}
    assert _bench(cases, tmp_path / "r2") == 0
    assert "2 passed, 0 failed" in capsys.readouterr().out


def test_missing_metric_in_reference_fails(tmp_path, capsys):
    cases = _suite(tmp_path, 2.0)
    (cases / "references").mkdir()
    (cases / "references" / "demo-demo.json").write_text(json.dumps(
        {"regression.other": {"reference": 1.0, "tolerance": 0.1, "unit": "mL"}}))
    report = run_benchmarks(cases_dir=cases, out=tmp_path / "r")
    assert report.exit_code == 1
    assert [(m.metric, m.passed) for m in report.rows] == [("volume", False), ("error", True)]
    assert "no entry 'regression.volume'" in report.rows[0].note
    assert report.references_written == []
    capsys.readouterr()


def test_regression_mismatch_table_and_update(tmp_path, capsys):
    cases = _suite(tmp_path, 2.0)
    assert _bench(cases, tmp_path / "r1", "--update-references") == 0
    _suite(tmp_path, 2.5)
    assert _bench(cases, tmp_path / "r2") == 1
    out = capsys.readouterr().out
    assert "mismatches (value vs reference):" in out
    assert "demo/regression/volume: 2.5 vs 2 (diff 0.5, allowed within 0.1)" in out
    results = json.loads((tmp_path / "r2" / "results.json").read_text())
    assert results["figures"]["perf.example_s"] == 1.5
    assert [c["metric"] for c in results["cases"] if not c["passed"]] == ["volume"]
    assert _bench(cases, tmp_path / "r3", "--update-references") == 0
    assert json.loads((cases / "references" / "demo-demo.json").read_text())["regression.volume"]["reference"] == 2.5
    assert _bench(cases, tmp_path / "r4") == 0


@pytest.mark.parametrize("content, fault", [
    ('{"regression.volume": {"reference": 2.0, "tol', "is not valid JSON (truncated?)"),
    ('[1, 2]', "expected an object of metric entries, found list"),
    ('{"regression.volume": {"reference": "2.0", "tolerance": 0.1}}', "'reference' must be a number, found '2.0'"),
    ('{"regression.volume": 3}', "expected an object with 'reference', 'tolerance', 'unit', found int"),
    ('{"regression.volume": {"reference": 2.0, "tolerance": Infinity}}', "'tolerance' must be finite, found inf"),
    ('{"regression.volume": {"reference": 2.0, "tolerance": NaN}}', "'tolerance' must be finite, found nan"),
])
def test_broken_reference_file_is_exit_2_naming_it(tmp_path, capsys, content, fault):
    cases = _suite(tmp_path, 2.0)
    (cases / "references").mkdir()
    refs = cases / "references" / "demo-demo.json"
    refs.write_text(content)
    assert _bench(cases, tmp_path / "r") == 2
    captured = capsys.readouterr()
    assert f"bench: reference file {refs}" in captured.err
    assert fault in captured.err
    assert "Traceback" not in captured.err + captured.out
    assert not (tmp_path / "r" / "results.json").exists()
    assert refs.read_text() == content


def test_infinite_tolerance_in_a_case_is_rejected(tmp_path, capsys):
    text = CASE.replace('Metric("volume", VALUE, None, 0.1, "mL")', 'Metric("volume", VALUE, 2.0, float("inf"), "mL")')
    cases = _suite(tmp_path, 50.0, text)
    report = run_benchmarks(cases_dir=cases, out=tmp_path / "r")
    assert report.exit_code == 1
    assert report.rows[0].passed is False
    assert "tolerance inf rejected: it must be finite" in report.rows[0].note
    assert bench.Metric("m", 1.0, 1.0, float("nan")).check() is False
    assert bench.Metric("m", 1.05, 1.0, 0.1).check() is True


def test_crashing_case_is_a_failed_metric_with_its_cause(tmp_path, capsys):
    cases = _suite(tmp_path, 0, "from ablation.bench import case\n\n@case()\ndef boom(ctx):\n    raise ValueError('x{value}')\n")
    assert _bench(cases, tmp_path / "r") == 1
    captured = capsys.readouterr()
    assert "demo/boom/crashed: nan vs 0 (diff nan, allowed within 0) ValueError: x0" in captured.out
    assert "benchmark case demo/boom crashed" in captured.err and "Traceback" in captured.err


def test_unknown_suite_is_an_error(tmp_path, capsys):
    cases = _suite(tmp_path, 1.0)
    report = run_benchmarks(suites=["nope"], cases_dir=cases, out=tmp_path / "r")
    assert report.exit_code == 2 and report.rows == []
    assert report.problem == "unknown suite(s) nope; expected one of demo"
    assert _bench(cases, tmp_path / "r", "--suite", "nope") == 2
    assert "bench: unknown suite(s) nope" in capsys.readouterr().err


def test_unusable_cases_folders_and_files_are_exit_2_naming_them(tmp_path, capsys):
    broken = tmp_path / "broken"
    (broken / "suite").mkdir(parents=True)
    (broken / "suite" / "case_file.py").write_text("def oops(:\n")
    assert _bench(broken, tmp_path / "r1", "--quick") == 2
    err = capsys.readouterr().err
    assert f"cannot load the benchmark file {broken / 'suite' / 'case_file.py'}" in err and "SyntaxError" in err
    assert "Traceback" not in err and not (tmp_path / "r1").exists()
    empty = tmp_path / "empty"
    empty.mkdir()
    assert _bench(empty, tmp_path / "r2") == 2
    assert "holds no benchmark suite" in capsys.readouterr().err and not (tmp_path / "r2").exists()
    a_file = tmp_path / "f.txt"
    a_file.write_text("x")
    assert _bench(a_file, tmp_path / "r3") == 2
    assert f"cases folder {a_file} is a file, not a folder" in capsys.readouterr().err


def test_a_suite_file_that_imports_a_sibling_does_not_run_the_siblings_cases(tmp_path):
    """A measurement script in a suite folder may import a suite file beside it by its plain name;
    the sibling's cases belong to the sibling's file only (otherwise they ran twice)."""
    folder = tmp_path / "cases" / "suite"
    folder.mkdir(parents=True)
    (folder / "base.py").write_text(CASE.format(value=1.0))
    (folder / "reuse.py").write_text("import sys\nfrom pathlib import Path\n"
                                     "sys.path.insert(0, str(Path(__file__).resolve().parent))\n"
                                     "import base\n\nHELPER = base.VALUE\n")
    files = bench.find_suites(tmp_path / "cases")["suite"]
    assert [p.name for p in files] == ["base.py", "reuse.py"]
    listed = [(stem, name) for path in reversed(files) for stem, name, *_ in bench.load_suite(path)]
    assert listed == [("base", "regression")]


def test_shipped_suites_references_and_scenarios_come_with_the_package():
    cases = bench.default_cases_dir()
    assert (cases / "__init__.py").exists()
    assert {"verification", "validation", "performance"} <= set(bench.find_suites(cases))
    assert [p.stem for p in bench.find_suites(cases)["verification"]] == [
        "coverage", "cryo", "montecarlo", "pennes", "probe_wall", "rfa", "time_step"]
    assert (cases / "validation" / "published_lesions.csv").exists()
    # every shipped reference file is well formed
    stored = sorted((cases / "references").glob("*.json"))
    assert [p.name for p in stored] == ["performance-rfa.json", "validation-cryo.json"]
    assert all(bench.read_references(p) for p in stored)
    assert bench.shipped_scenario("showcase.toml").exists()
    assert len(list(bench.shipped_folder("scenarios").glob("*.toml"))) >= 10
    # installed or editable: the data sits with the package, never found through the current directory
    assert Path(ablation.__file__).resolve().parent in cases.resolve().parents or \
        cases.resolve().parent == Path(ablation.__file__).resolve().parent.parent


def test_report_reads_the_results_shipped_with_the_package():
    from ablation.output import report
    path, data = report.latest_benchmarks()
    assert path == bench.default_cases_dir() / "results" / "results.json"
    assert isinstance(data["cases"], list) and len(data["cases"]) > 10


def test_results_record_the_code_they_came_from_and_the_report_compares_it(tmp_path, capsys):
    from ablation.output import report
    cases = _suite(tmp_path, 2.0)
    assert _bench(cases, tmp_path / "r", "--update-references") == 0
    capsys.readouterr()
    recorded = json.loads((tmp_path / "r" / "results.json").read_text())
    assert recorded["suites"] == ["demo"]
    assert recorded["provenance"]["code_digest"] == code_digest(cases)
    assert recorded["provenance"]["package_version"] == ablation.__version__
    # the report compares the recorded digest with this code's and the results' own cases
    text, same_code = report._benchmark_origin(recorded["provenance"], code_digest(cases))
    assert same_code and "the code of this run" in text
    text, same_code = report._benchmark_origin(recorded["provenance"], "0123456789abcdef")
    assert not same_code and "0123456789abcdef" in text and "may not describe it" in text
    text, same_code = report._benchmark_origin(None, code_digest(cases))
    assert not same_code and "no record of the code" in text


def test_code_digest_follows_code_cases_and_tables_but_not_results(tmp_path):
    package, cases = tmp_path / "pkg", tmp_path / "cases"
    for folder in (package / "physics", package / "benchmarks", cases / "suite", cases / "results"):
        folder.mkdir(parents=True)
    (package / "physics" / "pennes.py").write_text("K = 0.5\n")
    (package / "benchmarks" / "copy.py").write_text("shipped data inside a wheel\n")
    (cases / "suite" / "case.py").write_text("x = 1\n")
    (cases / "suite" / "rows.csv").write_text("id,value\n")
    (cases / "results" / "results.json").write_text("{}")
    first = code_digest(cases, package)
    assert len(first) == 16 and code_digest(cases, package) == first
    (cases / "results" / "results.json").write_text('{"cases": []}')
    (package / "benchmarks" / "copy.py").write_text("changed\n")
    (package / "physics" / "notes.txt").write_text("not code\n")
    assert code_digest(cases, package) == first
    for changed, text in ((package / "physics" / "pennes.py", "K = 0.6\n"), (cases / "suite" / "rows.csv", "id\n"),
                          (cases / "suite" / "case.py", "x = 2\n")):
        before = code_digest(cases, package)
        changed.write_text(text)
        assert code_digest(cases, package) != before, changed
    # a file moved keeps its content but changes the digest
    before = code_digest(cases, package)
    (package / "physics" / "pennes.py").rename(package / "physics" / "heat.py")
    assert code_digest(cases, package) != before


def test_pyproject_lists_every_sub_package():
    source = Path(__file__).resolve().parent.parent
    pyproject = source / "pyproject.toml"
    if not (source / "ablation" / "__init__.py").exists():
        pytest.skip("no source tree next to the tests")
    config = tomllib.loads(pyproject.read_text())["tool"]["setuptools"]
    on_disk = {".".join(p.parent.relative_to(source).parts) for p in (source / "ablation").rglob("__init__.py")
               if "__pycache__" not in p.parts}
    assert on_disk | {"ablation.scenarios", "ablation.benchmarks", "ablation.meshes"} == set(config["packages"])
    assert config["package-dir"] == {"ablation.scenarios": "scenarios", "ablation.benchmarks": "benchmarks",
                                     "ablation.meshes": "meshes"}


def test_bench_out_never_replaces_a_file_it_did_not_write(tmp_path, capsys):
    """--out is checked before any case runs: a file in its place, or a results.json of someone
    else's, is refused with exit 2 and left as it was; a results.json of an earlier bench is replaced."""
    cases = _suite(tmp_path, 2.0)
    assert _bench(cases, tmp_path / "r", "--update-references") == 0
    a_file = tmp_path / "notes.txt"
    a_file.write_text("mine")
    assert _bench(cases, a_file) == 2
    assert "is a file" in capsys.readouterr().err and a_file.read_text() == "mine"
    foreign = tmp_path / "theirs"
    foreign.mkdir()
    (foreign / "results.json").write_text('{"my": "data"}')
    assert _bench(cases, foreign) == 2
    err = capsys.readouterr().err
    assert "not a benchmark results file" in err and "Traceback" not in err
    assert (foreign / "results.json").read_text() == '{"my": "data"}'
    earlier = json.loads((tmp_path / "r" / "results.json").read_text())
    assert _bench(cases, tmp_path / "r") == 0
    again = json.loads((tmp_path / "r" / "results.json").read_text())["cases"]
    assert [c["note"] for c in earlier["cases"]] != [c["note"] for c in again]      # rewritten
    assert [c["value"] for c in earlier["cases"]] == [c["value"] for c in again]


def test_bench_out_may_be_the_current_folder(tmp_path, monkeypatch):
    """'--out .' is a folder like any other (it was refused as 'empty')."""
    cases = _suite(tmp_path, 2.0)
    assert _bench(cases, tmp_path / "r", "--update-references") == 0
    here = tmp_path / "here"
    here.mkdir()
    monkeypatch.chdir(here)
    assert _bench(cases, ".") == 0 and (here / "results.json").is_file()


def test_every_benchmark_script_imports():
    """The measurement scripts take minutes to hours, so nothing else runs them: a broken import would
    only show when someone next needs the numbers. Each folder's scripts are imported in their own
    process (siblings import each other by name), as `python script.py` would, without running main."""
    import subprocess
    import sys
    import ablation.benchmarks as shipped
    folder = Path(shipped.__file__).parent
    groups = [sorted(folder.glob("*.py"))] + [sorted(d.glob("*.py")) for d in sorted(folder.iterdir()) if d.is_dir()]
    code = ("import runpy, sys\n"
            "for path in sys.argv[1:]:\n"
            "    sys.path.insert(0, path.rsplit('/', 1)[0])\n"
            "    runpy.run_path(path, run_name='imported_by_test')\n")
    scripts = 0
    for group in (g for g in groups if g):
        done = subprocess.run([sys.executable, "-c", code, *map(str, group)], capture_output=True, text=True)
        assert done.returncode == 0, f"{group[0].parent}: {done.stderr[-1500:]}"
        scripts += len(group)
    assert scripts >= 30


def test_benchmark_results_are_replaced_whole_or_not_at_all(tmp_path):
    """Both result files are staged and moved into place together: a failure while writing (here the .md's
    folder is a file) leaves the stored pair as it was and no staged file behind."""
    from ablation.benchmarks import _recording as recording
    recording.write(tmp_path, "demo", {"value": 1.5}, "# old\n", echo=False)
    assert json.loads((tmp_path / "demo.json").read_text()) == {"value": 1.5}
    (tmp_path / "blocked").write_text("a file, not a folder")
    with pytest.raises(OSError):
        recording.write_files({tmp_path / "demo.json": recording.to_json({"value": 2.5}),
                               tmp_path / "blocked" / "demo.md": "# new\n"})
    assert json.loads((tmp_path / "demo.json").read_text()) == {"value": 1.5}
    assert (tmp_path / "demo.md").read_text() == "# old\n"
    assert sorted(p.name for p in tmp_path.iterdir()) == ["blocked", "demo.json", "demo.md"]
