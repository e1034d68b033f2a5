import json
import os
import signal
import time
import tomllib
from pathlib import Path

import pytest

os.environ.setdefault("FIPY_SOLVERS", "scipy")
os.environ.setdefault("VTK_DEFAULT_OPENGL_WINDOW", "vtkEGLRenderWindow")

ROOT = Path(__file__).resolve().parent.parent


def load_raw(name: str) -> dict:
    return tomllib.loads((ROOT / "scenarios" / name).read_text())


@pytest.fixture
def root() -> Path:
    return ROOT


def default_sigint() -> None:
    """preexec_fn of a child the test interrupts with SIGINT: a shell starts background jobs with
    SIGINT ignored and children inherit that, so without this the child would never see Ctrl-C."""
    signal.signal(signal.SIGINT, signal.SIG_DFL)


def still_working(pids) -> bool:
    """Whether any of ``pids`` is still a multiprocessing worker, read from /proc: a reaped or zombie
    process has no command line. (Process.is_alive() is not a safe check when the pool's own thread
    reaps its workers: a join racing it takes a reaped worker for a live one.)"""
    def cmdline(pid):
        try:
            return Path(f"/proc/{pid}/cmdline").read_bytes()
        except OSError:
            return b""
    return any(b"spawn_main" in cmdline(p) for p in pids)


def wait_until_stopped(pids, seconds: float = 20.0) -> bool:
    """Waits up to ``seconds`` for ``pids`` to stop working; whether they did."""
    deadline = time.monotonic() + seconds
    while still_working(pids) and time.monotonic() < deadline:
        time.sleep(0.1)
    return not still_working(pids)


def write_toml(path: Path, data: dict) -> Path:
    """Minimal TOML writer for test scenarios (tables, arrays of tables, scalars, lists)."""
    def value(v):
        if isinstance(v, bool):
            return "true" if v else "false"
        if isinstance(v, str):
            return json.dumps(v)      # JSON string escapes are valid TOML basic-string escapes
        if isinstance(v, (list, tuple)):
            return "[" + ", ".join(value(x) for x in v) + "]"
        return repr(v)

    lines = []

    def table(prefix, d):
        scalars = {k: v for k, v in d.items() if not isinstance(v, dict) and not (isinstance(v, list) and v and isinstance(v[0], dict))}
        for k, v in scalars.items():
            lines.append(f"{k} = {value(v)}")
        for k, v in d.items():
            name = f"{prefix}.{k}" if prefix else k
            if isinstance(v, dict):
                lines.append(f"\n[{name}]")
                table(name, v)
            elif isinstance(v, list) and v and isinstance(v[0], dict):
                for item in v:
                    lines.append(f"\n[[{name}]]")
                    table(name, item)
    table("", data)
    path.write_text("\n".join(lines) + "\n")
    return path


def coarse_rfa(**changes):
    """A small axisymmetric cooled-needle RF scenario (1 mm cells, 60 mm domain), ``changes`` merged
    into its tables (tests/test_rfa.py and the step-check tests share it)."""
    from ablation.input.scenario import scenario_from_dict
    raw = {
        "name": "rfa-test", "modality": "rfa",
        "probes": [{"tip": [0, 0, 0], "direction": [0, 0, 1], "diameter": "1.5 mm", "active_length": "20 mm",
                    "rfa": {"electrode": "cooled_needle"}}],
        "rfa": {"protocol": "impedance_control", "power": "60 W"},
        "domain": {"size": "60 mm"},
        "grid": {"spacing": "1 mm", "max_spacing": "4 mm", "fine_margin": "6 mm", "growth": 1.3},
        "time": {"duration": "60 s", "step": "2 s", "refine": False},   # step control: test_time_step.py
    }
    for key, value in changes.items():
        if isinstance(value, dict) and isinstance(raw.get(key), dict):
            raw[key] = {**raw[key], **value}
        else:
            raw[key] = value
    return scenario_from_dict(raw)


def write_rfa_file(tmp_path, rfa_lines: str, probes: int = 1, duration: str = "1 min"):
    """A minimal RF scenario file with ``probes`` cooled needles 10 mm apart and the given [rfa]
    lines, for bad-input tests (tests/test_rfa.py, tests/test_channels.py); returns its path."""
    probe = "".join(f"""
[[probes]]
tip = [{10 * i}, 0, 0]
[probes.rfa]
electrode = "cooled_needle"
""" for i in range(probes))
    path = tmp_path / "bad.toml"
    path.write_text(f"""name = "bad"
modality = "rfa"
{probe}
[rfa]
{rfa_lines}

[time]
duration = "{duration}"
""")
    return path
