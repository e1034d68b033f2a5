"""Data files a scenario names (cryo wall curves): they stay inside the scenario's folder unless the
caller allows more, only regular files of bounded size are read, and their text encoding is
detected; every refusal is a ScenarioError naming the field and the file."""
import codecs
import os
import threading

import pytest

from ablation.cli import main
from ablation.input.probe_curves import (MAX_CURVE_BYTES, CurveError, InputFileError, input_path_policy,
                                         load_curve, read_input_text, resolve, resolve_input)
from ablation.input.scenario import ScenarioError, load_scenario

CURVE = "time_s,temperature_C\n0,20\n20,-100\n60,-140\n"
FIELD = "probes[0].cryo.curve_file"


def _scenario(folder, curve_file: str):
    folder.mkdir(parents=True, exist_ok=True)
    path = folder / "s.toml"
    path.write_text(f"""name = "curve"
modality = "cryo"
[[probes]]
tip = [0, 0, 0]
diameter = "1.47 mm"
active_length = "10 mm"
cryo = {{ wall = "curve", curve_file = {curve_file!r} }}
[domain]
size = "40 mm"
[grid]
spacing = "1 mm"
max_spacing = "4 mm"
[time]
duration = "1 min"
step = "5 s"
""")
    return path


def _refused(path) -> str:
    with pytest.raises(ScenarioError) as info:
        load_scenario(path)
    (field, message), = info.value.errors
    assert field == FIELD
    return message


@pytest.fixture
def layout(tmp_path):
    """tmp/scenario/ (the scenario's folder, with data/) and tmp/outside/secret.csv next to it."""
    (tmp_path / "scenario" / "data").mkdir(parents=True)
    (tmp_path / "outside").mkdir()
    secret = tmp_path / "outside" / "secret.csv"
    secret.write_text("0,1234567\n")
    return tmp_path / "scenario", secret


def test_a_curve_inside_the_folder_loads(layout):
    folder, _ = layout
    (folder / "data" / "c.csv").write_text(CURVE)
    s = load_scenario(_scenario(folder, "data/c.csv"))
    assert s.input_files["data/c.csv"]["times"] == (0.0, 20.0, 60.0)
    # an absolute path that stays inside the folder is as good as a relative one
    s = load_scenario(_scenario(folder, str(folder / "data" / "c.csv")))
    assert s.input_files[str(folder / "data" / "c.csv")]["values"] == (20.0, -100.0, -140.0)


def test_absolute_path_outside_the_folder_is_refused(layout, capsys):
    folder, secret = layout
    path = _scenario(folder, str(secret))
    message = _refused(path)
    assert "secret.csv" in message and "outside the scenario's folder" in message
    assert "1234567" not in message          # the file was not read, nor echoed
    assert main(["validate", str(path)]) == 2
    err = capsys.readouterr().err
    assert FIELD in err and "Traceback" not in err


def test_dotdot_escape_is_refused(layout):
    folder, _ = layout
    message = _refused(_scenario(folder, "../outside/secret.csv"))
    assert "../outside/secret.csv" in message and "outside" in message


def test_a_scenarios_folder_may_read_the_meshes_folder_beside_it(tmp_path):
    # the project's layout: scenarios/x.toml names ../meshes/...; any other sibling stays closed
    (tmp_path / "meshes").mkdir()
    (tmp_path / "meshes" / "c.csv").write_text(CURVE)
    (tmp_path / "other").mkdir()
    (tmp_path / "other" / "c.csv").write_text(CURVE)
    s = load_scenario(_scenario(tmp_path / "scenarios", "../meshes/c.csv"))
    assert s.input_files["../meshes/c.csv"]["values"] == (20.0, -100.0, -140.0)
    assert "outside" in _refused(_scenario(tmp_path / "scenarios", "../other/c.csv"))
    # a folder not called scenarios gets no such neighbour
    assert "outside" in _refused(_scenario(tmp_path / "elsewhere", "../meshes/c.csv"))


def test_escape_through_a_symlink_is_refused(layout):
    folder, secret = layout
    (folder / "data" / "link.csv").symlink_to(secret)
    message = _refused(_scenario(folder, "data/link.csv"))
    assert "link.csv" in message and "symbolic link" in message and str(secret) in message
    # a folder symlink that leaves the scenario's folder is caught the same way
    (folder / "elsewhere").symlink_to(secret.parent, target_is_directory=True)
    assert "outside" in _refused(_scenario(folder, "elsewhere/secret.csv"))


def test_the_caller_may_allow_more_folders(layout):
    folder, secret = layout
    secret.write_text(CURVE)
    path = _scenario(folder, str(secret))
    with input_path_policy(allowed_roots=[secret.parent]):
        assert load_scenario(path).input_files[str(secret)]["times"] == (0.0, 20.0, 60.0)
    _refused(path)                                   # the permission ended with the block
    with input_path_policy(allow_any_path=True):
        assert load_scenario(path).input_files[str(secret)]["times"][-1] == 60.0
    # the same through the keywords of resolve()
    assert resolve(str(secret), str(path), allowed_roots=[secret.parent]) == secret.resolve()
    with pytest.raises(CurveError, match="outside"):
        resolve(str(secret), str(path), allowed_roots=[])
    assert resolve(str(secret), str(path), allow_any_path=True) == secret.resolve()


def test_general_input_files_use_the_same_rules(layout):
    folder, secret = layout
    with pytest.raises(InputFileError, match="outside") as info:
        resolve_input("../outside/secret.csv", str(folder / "s.toml"))
    assert not isinstance(info.value, CurveError)
    (folder / "labels.txt").write_text("1 2 3\n")
    got = resolve_input("labels.txt", str(folder / "s.toml"))
    assert read_input_text(got, 100) == "1 2 3\n"
    with pytest.raises(InputFileError, match="at most 4 bytes"):
        read_input_text(got, 4)


@pytest.mark.skipif(not os.path.exists("/dev/zero"), reason="no /dev/zero")
def test_dev_zero_is_refused_without_reading(layout):
    folder, _ = layout
    with input_path_policy(allow_any_path=True):
        message = _refused(_scenario(folder, "/dev/zero"))
    assert "/dev/zero" in message and "not a regular file (a character device)" in message


@pytest.mark.skipif(not hasattr(os, "mkfifo"), reason="no FIFOs on this system")
def test_a_fifo_is_refused_without_blocking(layout):
    folder, _ = layout
    os.mkfifo(folder / "data" / "pipe.csv")
    path = _scenario(folder, "data/pipe.csv")
    outcome = []

    def attempt():
        try:
            load_scenario(path)
        except ScenarioError as exc:
            outcome.append(exc)

    worker = threading.Thread(target=attempt, daemon=True)
    worker.start()
    worker.join(60)        # a guard against a hang (opening a FIFO for reading blocks), not a timing
    assert not worker.is_alive(), "reading the FIFO blocked"
    (field, message), = outcome[0].errors
    assert field == FIELD and "pipe.csv" in message and "not a regular file (a FIFO)" in message


def test_a_folder_is_refused(layout):
    folder, _ = layout
    (folder / "data" / "dir.csv").mkdir()
    assert "not a regular file (a folder)" in _refused(_scenario(folder, "data/dir.csv"))


def test_a_20_mb_file_is_refused(layout):
    folder, _ = layout
    big = folder / "data" / "big.csv"
    with open(big, "wb") as handle:
        handle.write(CURVE.encode())
        handle.truncate(20 * 1024 * 1024)
    message = _refused(_scenario(folder, "data/big.csv"))
    assert "big.csv" in message and f"at most {MAX_CURVE_BYTES:,} bytes" in message
    assert "20,971,520 bytes" in message


def test_latin1_bytes_are_named(layout):
    folder, _ = layout
    data = "time_s,temperature_C\n0,20\n20,-100 \xb0C\n".encode("latin-1")
    (folder / "data" / "l1.csv").write_bytes(data)
    offset = data.index(bytes([0xB0]))
    message = _refused(_scenario(folder, "data/l1.csv"))
    assert "l1.csv" in message and f"not UTF-8 text: byte 0xb0 at offset {offset}" in message


@pytest.mark.parametrize("encoding, bom", [("utf-16-le", codecs.BOM_UTF16_LE), ("utf-16-be", codecs.BOM_UTF16_BE),
                                           ("utf-8", codecs.BOM_UTF8), ("utf-8", b"")])
def test_utf16_and_utf8_with_or_without_bom_are_accepted(layout, encoding, bom):
    folder, _ = layout
    (folder / "data" / "u.csv").write_bytes(bom + ("# d\u00e9but\r\n" + CURVE).encode(encoding))
    s = load_scenario(_scenario(folder, "data/u.csv"))
    assert s.input_files["data/u.csv"]["times"] == (0.0, 20.0, 60.0)
    assert s.input_files["data/u.csv"]["values"] == (20.0, -100.0, -140.0)


def test_utf16_without_bom_is_refused_as_binary(layout):
    folder, _ = layout
    (folder / "data" / "u.csv").write_bytes(CURVE.encode("utf-16-le"))
    message = _refused(_scenario(folder, "data/u.csv"))
    assert "u.csv" in message and "line 1, column 2: a NUL character" in message


def test_broken_utf16_is_named(layout):
    folder, _ = layout
    (folder / "data" / "u.csv").write_bytes(codecs.BOM_UTF16_LE + "0,1\n".encode("utf-16-le") + b"\x00\xdc")
    assert "not UTF-16 text: byte 0x00 at offset 10" in _refused(_scenario(folder, "data/u.csv"))


def test_empty_file_is_refused(layout):
    folder, _ = layout
    (folder / "data" / "e.csv").write_bytes(b"")
    message = _refused(_scenario(folder, "data/e.csv"))
    assert "e.csv" in message and "no data rows" in message


def test_missing_file_and_bad_names(layout):
    folder, _ = layout
    assert "cannot read" in _refused(_scenario(folder, "data/none.csv"))
    assert "is not a file name" in _refused(_scenario(folder, "  "))


def test_rows_keep_their_line_and_column(layout, tmp_path):
    folder, _ = layout
    (folder / "data" / "c.csv").write_text("# head\ntime_s,temperature_C\n0,20\n20,\"-1\x00\"\n")
    assert "line 4, column 7: a NUL character" in _refused(_scenario(folder, "data/c.csv"))
    (folder / "data" / "c.csv").write_text("0,20\n5," + "9" * 100 + "x\n")
    message = _refused(_scenario(folder, "data/c.csv"))
    assert "line 2, column 2" in message and "..." in message and len(message) < 400
    # load_curve reads a path it is given (already resolved) and keeps its own limit
    (folder / "data" / "c.csv").write_text(CURVE)
    with pytest.raises(CurveError, match="at most 10 bytes"):
        load_curve(folder / "data" / "c.csv", max_bytes=10)
