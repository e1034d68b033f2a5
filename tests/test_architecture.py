"""The package's structure, checked from its source: one-way imports between layers, no import
cycles, no behaviour that depends on import order, no print outside the command line.

Every ``import`` statement counts: at module level, inside functions and under TYPE_CHECKING."""
from __future__ import annotations

import ast
import json
import os
import subprocess
import sys
from pathlib import Path

import pytest

PACKAGE = Path(__file__).resolve().parent.parent / "ablation"

# Lowest first. A module may import its own layer and the layers below it, never one above.
# anatomy: reads label maps, surfaces and centre lines into geometry objects (files, no scenario records);
# the input layer takes it into scenarios, so it sits just below input.
LAYERS = ["version", "runtime", "geometry", "physics", "modalities", "run", "verification", "outcome", "anatomy",
          "input", "pipeline", "planning", "calibration", "output", "sweep", "bench", "cli"]
# the package's entry points re-export the public API from the top
ENTRY_POINTS = {"ablation", "ablation.__main__"}


def module_name(path: Path) -> str:
    parts = path.relative_to(PACKAGE.parent).with_suffix("").parts
    return ".".join(parts[:-1] if parts[-1] == "__init__" else parts)


def all_modules() -> dict[str, Path]:
    return {module_name(p): p for p in sorted(PACKAGE.rglob("*.py"))}


def imported_modules(path: Path, modules: dict) -> set[str]:
    """Every module of the package that ``path`` imports, wherever the statement stands."""
    own = module_name(path)
    package = own if path.name == "__init__.py" else own.rpartition(".")[0]
    return imports_in(path.read_text(), own, package, modules)


def imports_in(source: str, own: str, package: str, modules: dict) -> set[str]:
    found = set()
    for node in ast.walk(ast.parse(source)):
        if isinstance(node, ast.Import):
            names = [alias.name for alias in node.names]
        elif isinstance(node, ast.ImportFrom):
            if node.level:
                base = package.split(".")
                base = base[:len(base) - node.level + 1]
                stem = ".".join(base + ([node.module] if node.module else []))
            else:
                stem = node.module or ""
            # 'from pkg import module' depends on that module; 'from module import name' on the module
            names = [f"{stem}.{alias.name}" if f"{stem}.{alias.name}" in modules else stem for alias in node.names]
        else:
            continue
        for name in names:
            if not name.startswith("ablation"):
                continue
            while name and name not in modules:   # 'ablation.x.y.Name' -> the module that defines it
                name = name.rpartition(".")[0]
            if name and name != own:
                found.add(name)
    return found


def import_graph() -> dict[str, set[str]]:
    modules = all_modules()
    return {name: imported_modules(path, modules) for name, path in modules.items()}


def layer_of(module: str) -> str | None:
    parts = module.split(".")
    return parts[1] if len(parts) > 1 else None


def test_every_module_belongs_to_a_layer():
    unknown = sorted(m for m in all_modules() if m not in ENTRY_POINTS and layer_of(m) not in LAYERS)
    assert not unknown, f"modules outside the declared layers: {unknown}"


def test_imports_point_down_the_layers():
    rank = {name: i for i, name in enumerate(LAYERS)}
    upward = []
    for module, targets in import_graph().items():
        if module in ENTRY_POINTS:
            continue
        for target in targets:
            if target in ENTRY_POINTS:
                upward.append(f"{module} -> {target} (the package's public entry point)")
            elif rank[layer_of(target)] > rank[layer_of(module)]:
                upward.append(f"{module} -> {target}")
    assert not upward, "imports from a lower layer into a higher one:\n" + "\n".join(sorted(upward))


def test_physics_never_imports_input_output_or_cli():
    bad = sorted(f"{m} -> {t}" for m, targets in import_graph().items() if layer_of(m) == "physics"
                 for t in targets if layer_of(t) in ("input", "output", "cli", "bench", "pipeline"))
    assert not bad, bad


def find_cycle(graph: dict[str, set[str]]) -> list[str] | None:
    state: dict[str, int] = {}
    stack: list[str] = []

    def visit(node):
        state[node] = 1
        stack.append(node)
        for nxt in sorted(graph.get(node, ())):
            if state.get(nxt) == 1:
                return stack[stack.index(nxt):] + [nxt]
            if nxt not in state:
                found = visit(nxt)
                if found:
                    return found
        stack.pop()
        state[node] = 2
        return None

    for node in sorted(graph):
        if node not in state:
            found = visit(node)
            if found:
                return found
    return None


def test_no_import_cycles():
    cycle = find_cycle(import_graph())
    assert cycle is None, "import cycle: " + " -> ".join(cycle)


def test_the_checker_sees_imports_inside_functions_and_type_checking():
    source = ("from typing import TYPE_CHECKING\nif TYPE_CHECKING:\n    from ablation.cli import main\n"
              "def f():\n    from ablation.output import write\n    from ..run import time_loop\n")
    found = imports_in(source, "ablation.physics.probe", "ablation.physics", all_modules())
    assert found == {"ablation.cli", "ablation.output.write", "ablation.run.time_loop"}
    assert find_cycle({"a": {"b"}, "b": {"c"}, "c": {"a"}}) == ["a", "b", "c", "a"]
    assert find_cycle({"a": {"b"}, "b": set()}) is None


def test_no_print_outside_the_command_line():
    offenders = []
    for module, path in all_modules().items():
        if module == "ablation.cli":   # its options module, like every other, does not print
            continue
        for node in ast.walk(ast.parse(path.read_text())):
            if isinstance(node, ast.Call) and isinstance(node.func, ast.Name) and node.func.id == "print":
                offenders.append(f"{path.relative_to(PACKAGE.parent)}:{node.lineno}")
    assert not offenders, "print outside ablation/cli/__init__.py (use logging): " + ", ".join(offenders)


# Imports every module of the package first, each in its own forked child of one interpreter that has
# loaded only the third-party packages (argv[1]): the children share their cost, and those packages
# cannot affect what the package registers. One thread per library, so fork is safe.
FORKING_PROBE = r"""
import importlib, json, os, sys
for name in sys.argv[1].split(","):
    importlib.import_module(name)
seen = {}
for module in sys.argv[2:]:
    read, write = os.pipe()
    pid = os.fork()
    if pid == 0:
        os.close(read)
        try:
            importlib.import_module(module)
            from ablation.input.scenario import scenario_spec, probe_spec
            from ablation.run.time_loop import MODELS
            answer = [sorted(scenario_spec().fields), sorted(probe_spec().fields), sorted(MODELS)]
        except BaseException as exc:
            answer = {"error": repr(exc)}
        os.write(write, json.dumps(answer).encode())
        os._exit(0)
    os.close(write)
    with os.fdopen(read) as pipe:
        seen[module] = json.loads(pipe.read())
    os.waitpid(pid, 0)
print(json.dumps(seen))
"""
THIRD_PARTY = ("numpy", "scipy.sparse", "scipy.sparse.linalg", "scipy.ndimage", "scipy.optimize", "scipy.stats",
               "scipy.spatial", "scipy.special")


def test_known_sections_do_not_depend_on_import_order():
    """Each module imported first, alone, in a fresh process: the scenario sections and the modality
    models are the same set every time (nothing registers itself at import)."""
    modules = sorted(m for m in all_modules() if m != "ablation.__main__")
    env = {**os.environ, "OPENBLAS_NUM_THREADS": "1", "OMP_NUM_THREADS": "1", "MKL_NUM_THREADS": "1"}
    out = subprocess.run([sys.executable, "-c", FORKING_PROBE, ",".join(THIRD_PARTY), *modules],
                         capture_output=True, text=True, timeout=900, env=env)
    assert out.returncode == 0, out.stderr[-2000:]
    seen = json.loads(out.stdout.strip().splitlines()[-1])
    assert sorted(seen) == modules
    failed = {m: value["error"] for m, value in seen.items() if isinstance(value, dict)}
    assert not failed, f"importing these first failed: {failed}"
    reference = seen["ablation"]
    assert {"placement", "coverage", "rfa", "cryo"} <= set(reference[0])
    differing = [m for m, value in seen.items() if value != reference]
    assert not differing, f"sections differ when these are imported first: {differing}"


@pytest.mark.parametrize("layer", [name for name in LAYERS if name not in ("version", "runtime", "pipeline", "bench", "cli")])
def test_layers_are_packages(layer):
    assert (PACKAGE / layer / "__init__.py").exists()
