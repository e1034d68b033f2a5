"""Writing results: summary.json, timeseries.csv, fields; result folders that are all or nothing.

A result folder (``--out``) is written like this (:class:`ResultFolder`, :class:`AtomicOutput`):

1. Checks before any work: ``--out`` is not a file, not the filesystem root, not the home folder,
   and either missing, empty, or an earlier result of this toolkit (it holds the marker file
   ``.ablation-result``) in which every file was written by the toolkit. A folder holding anything
   else is refused: the toolkit never deletes a file it did not write. An earlier result written
   before markers existed (summary.json of this toolkit, no marker) is replaced only with
   ``force=True`` and only when every name in it is one the toolkit writes.
2. An exclusive lock ``<parent>/.<name>.lock`` (``fcntl.flock``; it holds pid, host and start
   time) for the whole run: a second run into the same folder is refused and told who holds it.
3. The new result is built in a sibling staging folder ``<parent>/.<name>.partial-<pid>-<id>``;
   its summary carries a manifest (sha256 of every other file). When it is complete the staging
   folder and the earlier result are exchanged in one atomic ``renameat2(RENAME_EXCHANGE)`` (two
   renames where the filesystem lacks it) and the earlier result is deleted. A summary.json in the
   folder therefore means every file in it belongs to that run.
4. Failures, interrupts and signals remove the staging folder and the lock; staging folders left
   by killed runs (their pid is dead) are removed by the next run into the same folder.

A single output file (``--out FILE`` of ``ablation view`` and ``compare-zone``; :class:`AtomicFile`)
is checked before any work (not an existing file or folder, its folder exists and is writable),
written under a hidden staging name next to it and linked into place only when complete, so an
existing file is never replaced (except a result's own view.png) and a failure leaves nothing.

Test hook: the environment variable ``ABLATION_TEST_FAULT=<point>:<action>`` (points
``staging`` = staging folder created, ``written`` = every file staged, ``swapped`` = exchanged but the
earlier result not yet deleted; actions ``pause`` = print ``ABLATION_TEST_FAULT <point>`` to stderr
and sleep 60 s, ``exit`` = ``os._exit(99)``) lets tests/test_fault_injection.py kill a run at
exactly these points. It does nothing when unset.
"""
from __future__ import annotations

import csv
import ctypes
import contextlib
import errno
import fcntl
import hashlib
import json
import math
import os
import re
import shutil
import signal
import socket
import sys
import tempfile
import threading
import time
import uuid
from collections.abc import Mapping
from pathlib import Path

import numpy as np

MARKER = ".ablation-result"
MANIFEST_ALGORITHM = "sha256"
TOOL = "ablation"
# names a run of this toolkit writes at the top of a result folder (for results older than the marker)
_KNOWN_NAMES = re.compile(r"^(summary\.json|timeseries\.csv|fields\.vtr|fields_3d\.vts|snapshot_\d+\.vtr|"
                          r"snapshots\.pvd|scenario\.toml|placement_samples\.csv|scene(_tumor_\d+)?\.png|"
                          r"view\.png|report\.html|report\.md|plots|surfaces|comparison\.(csv|md|json)|"
                          r"\.partial-.*)$")
# written into a result folder after the run by `ablation view` / `ablation report`: exactly the
# names they write (ablation/output/plots.py write_plots), so a user's own file in plots/ is not
# taken for one of them and deleted by the next run
# (and the staging file of an `ablation view` killed while writing view.png: see AtomicFile)
_DERIVED_NAMES = re.compile(r"^(view\.png|report\.html|report\.md|\.view\.png\.partial-\d+-\w+\.png|"
                            r"plots/(device|volumes|placement|shells|comparison|validation_parity)\.png)$")
# picture formats `ablation view` writes (what the renderer accepts)
IMAGE_SUFFIXES = (".png", ".jpeg", ".jpg", ".bmp", ".tif", ".tiff")


class OutputError(Exception):
    """A result folder that cannot or must not be written; the message names it and the reason.
    The command line exits with status 2."""


def _fault(point: str) -> None:
    """The test hook of the module docstring (ABLATION_TEST_FAULT)."""
    spec = os.environ.get("ABLATION_TEST_FAULT", "")
    if not spec:
        return
    where, _, action = spec.partition(":")
    if where != point:
        return
    if action == "exit":
        os._exit(99)
    if action == "pause":
        sys.stderr.write(f"ABLATION_TEST_FAULT {point}\n")   # the test waits for this line
        sys.stderr.flush()
        time.sleep(60)


def _pid_alive(pid: int) -> bool:
    if pid <= 0:
        return False
    try:
        os.kill(pid, 0)
    except ProcessLookupError:
        return False
    except PermissionError:
        return True
    return True


def _sha256(path: Path) -> str:
    digest = hashlib.sha256()
    with open(path, "rb") as handle:
        for block in iter(lambda: handle.read(1 << 20), b""):
            digest.update(block)
    return digest.hexdigest()


def manifest(directory, exclude=()) -> dict:
    """``{"algorithm": "sha256", "files": {relative posix path: hex digest}}`` of every file under
    ``directory`` except the names in ``exclude`` (relative paths) and the marker file."""
    directory = Path(directory)
    files = {}
    for path in sorted(directory.rglob("*")):
        if path.is_file() and not path.is_symlink():
            rel = path.relative_to(directory).as_posix()
            if rel not in exclude and rel != MARKER:
                files[rel] = _sha256(path)
    return {"algorithm": MANIFEST_ALGORITHM, "files": files}


def is_json_record(path, keys) -> bool:
    """Whether ``path`` is a JSON object holding every one of ``keys``: how a command that writes one
    JSON file (calibrate, bench) recognises its own earlier output, the only file it replaces."""
    try:
        record = json.loads(Path(path).read_text(encoding="utf-8"))
    except (OSError, UnicodeDecodeError, ValueError):
        return False
    return isinstance(record, dict) and set(keys) <= set(record)


def _read_marker(directory: Path) -> dict | None:
    try:
        data = json.loads((directory / MARKER).read_text())
    except (OSError, ValueError):
        return None
    return data if isinstance(data, dict) and data.get("tool") == TOOL else None


def _legacy_result(directory: Path) -> bool:
    """summary.json of this toolkit without a marker (results written before markers existed)."""
    for name in ("summary.json", "comparison.json"):
        try:
            data = json.loads((directory / name).read_text())
        except (OSError, ValueError):
            continue
        if isinstance(data, dict) and (("schema_version" in data and "provenance" in data)
                                       or ("rows" in data and "ranking" in data)):
            return True
    return False


def is_result_folder(directory) -> bool:
    """A folder written by this toolkit: its marker file, or an older result's summary.json."""
    directory = Path(directory)
    return directory.is_dir() and (_read_marker(directory) is not None or _legacy_result(directory))


def _foreign_files(directory: Path, marker: dict) -> list[str]:
    """Entries of an earlier result that no run of the toolkit wrote (relative paths)."""
    own = set(marker.get("files", ())) | {MARKER}
    foreign = []
    for path in sorted(directory.rglob("*")):
        rel = path.relative_to(directory).as_posix()
        if rel in own or _DERIVED_NAMES.match(rel) or rel.split("/")[0].startswith(".partial-"):
            continue
        if path.is_dir() and not path.is_symlink():
            continue            # a folder of the result; what it holds is checked entry by entry
        foreign.append(rel)
    return foreign


#: the marker file of a sweep's store (ablation/sweep/store.py), which no other result may be written into
SWEEP_MARKER = ".ablation-sweep"


def check_target(directory, *, force: bool = False, only_kind: str | None = None, kind: str | None = None) -> str:
    """Whether ``directory`` may receive a result of ``kind``: 'new' (missing or empty), 'result' (an
    earlier result of this toolkit, to be replaced); otherwise raises :class:`OutputError`. An
    earlier result of another kind (a run's, for a comparison) is replaced only with ``force``: a
    slip in --out would otherwise swap a long simulation for a short command's output. With
    ``only_kind`` it is refused even then (a convergence study never replaces anything else). A
    folder inside another result or a sweep's store is refused: that result would no longer read."""
    directory = Path(directory)
    resolved = directory.expanduser().resolve()
    if resolved == Path(resolved.anchor):
        raise OutputError(f"{directory} is the filesystem root; choose a folder for the results")
    for ancestor in resolved.parents:
        for marker_name, what in ((MARKER, "result"), (SWEEP_MARKER, "sweep's store")):
            if (ancestor / marker_name).is_file():
                raise OutputError(f"{directory} lies inside the {what} in {ancestor}; writing there would break "
                                  "it (it would no longer read as one result): choose a folder outside it")
    try:
        home = Path.home().resolve()
    except (KeyError, RuntimeError):
        home = None
    if home is not None and resolved == home:
        raise OutputError(f"{directory} is your home folder; choose a folder for the results")
    if directory.is_symlink() and not directory.exists():
        raise OutputError(f"{directory} is a dangling symbolic link")
    if directory.is_symlink() and not directory.is_dir():
        raise OutputError(f"{directory} is a symbolic link to an existing file, not a folder")
    if directory.exists() and not directory.is_dir():
        raise OutputError(f"{directory} is an existing file, not a folder")
    if not directory.exists():
        return "new"
    if directory.is_symlink():
        raise OutputError(f"{directory} is a symbolic link to a folder; give the folder itself")
    if not os.access(directory, os.W_OK | os.X_OK):
        # the result replaces the folder as a whole, which its parent's permissions would allow: a
        # folder the user made read-only must not come back writable and with new contents
        raise OutputError(f"{directory} is a folder you may not write (read-only); the toolkit does not replace "
                          "it: make it writable or choose another folder")
    entries = os.listdir(directory)
    if not entries:
        return "new"
    marker = _read_marker(directory)
    if marker is not None:
        foreign = _foreign_files(directory, marker)
        if foreign:
            shown = ", ".join(foreign[:5]) + (f" and {len(foreign) - 5} more" if len(foreign) > 5 else "")
            raise OutputError(f"{directory} is an earlier result but also holds files no run wrote ({shown}); "
                              "replacing it would delete them: move them out or choose another folder")
        if only_kind is not None and marker.get("kind") != only_kind:
            raise OutputError(f"{directory} holds the result of an earlier `ablation {marker.get('kind')}`; "
                              f"`ablation {only_kind}` never replaces or writes into it: choose another folder")
        if kind is not None and marker.get("kind") != kind and not force:
            raise OutputError(f"{directory} holds the result of an earlier `ablation {marker.get('kind')}`, not "
                              f"of `ablation {kind}`; it is replaced only with --force: choose another folder, "
                              "or pass --force to replace it")
        return "result"
    if _legacy_result(directory):
        if only_kind is not None:
            raise OutputError(f"{directory} holds a result of an older version of the toolkit; `ablation "
                              f"{only_kind}` never replaces or writes into it: choose another folder")
        unknown = sorted(e for e in entries if not _KNOWN_NAMES.match(e))
        if unknown:
            shown = ", ".join(unknown[:5]) + (f" and {len(unknown) - 5} more" if len(unknown) > 5 else "")
            raise OutputError(f"{directory} looks like an older result but also holds {shown}; "
                              "move them out or choose another folder")
        if not force:
            raise OutputError(f"{directory} holds a result written before result folders were marked "
                              f"({MARKER} missing); pass --force to replace it")
        return "result"
    shown = ", ".join(sorted(entries)[:5]) + (f" and {len(entries) - 5} more" if len(entries) > 5 else "")
    raise OutputError(f"{directory} is a folder that is not empty and not a result of this toolkit "
                      f"(it holds {shown}); the toolkit never writes into or deletes such a folder: "
                      "choose a new or empty folder")


class ResultLock:
    """fcntl.flock on ``<parent>/.<name>.lock``; re-entrant within one process."""
    held: dict = {}
    guard = threading.Lock()

    def __init__(self, path: Path):
        self.path = path
        self.fd = None
        self.count = 0

    @classmethod
    def acquire(cls, directory: Path) -> "ResultLock":
        path = directory.parent / f".{directory.name}.lock"
        key = str(path.resolve())
        with cls.guard:
            lock = cls.held.get(key)
            if lock is None:
                lock = cls(path)
                lock._take()
                cls.held[key] = lock
            lock.count += 1
            return lock

    def _take(self) -> None:
        while True:
            try:
                fd = os.open(self.path, os.O_RDWR | os.O_CREAT, 0o644)
            except OSError as exc:
                raise OutputError(f"{self.path.parent} is not writable ({exc.strerror})") from None
            try:
                fcntl.flock(fd, fcntl.LOCK_EX | fcntl.LOCK_NB)
            except BlockingIOError:
                try:
                    # the holder writes who it is just after taking the lock: give it a moment
                    for _ in range(20):
                        holder = os.pread(fd, 4096, 0).decode("utf-8", "replace").strip()
                        if holder:
                            break
                        time.sleep(0.025)
                finally:
                    os.close(fd)
                try:
                    info = json.loads(holder)
                    who = (f"run {info.get('run_id')} (pid {info.get('pid')} on {info.get('host')}, started "
                           f"{info.get('started')})")
                except ValueError:
                    who = "another run"
                raise OutputError(f"{self.path.parent / self.path.name[1:-5]} is being written by {who}; "
                                  f"wait for it to finish or choose another folder (lock {self.path})") from None
            # the file may have been unlinked by its previous holder between open and flock
            try:
                same = os.stat(self.path).st_ino == os.fstat(fd).st_ino
            except FileNotFoundError:
                same = False
            if same:
                break
            os.close(fd)
        self.fd = fd
        self.run_id = uuid.uuid4().hex[:12]
        info = {"run_id": self.run_id, "pid": os.getpid(), "host": socket.gethostname(),
                "started": time.strftime("%Y-%m-%dT%H:%M:%S%z")}
        os.ftruncate(fd, 0)
        os.pwrite(fd, (json.dumps(info) + "\n").encode(), 0)

    def release(self) -> None:
        with self.guard:
            self.count -= 1
            if self.count > 0:
                return
            self.held.pop(str(self.path.resolve()), None)
            try:
                os.unlink(self.path)        # while still holding it: see the inode check in _take
            except FileNotFoundError:
                pass
            finally:
                os.close(self.fd)


_STALE = re.compile(r"^\.(?P<name>.+)\.(partial|old)-(?P<pid>\d+)-[0-9a-f]+$")


def _clean_stale(directory: Path) -> list[Path]:
    """Remove staging folders of earlier runs into ``directory`` whose process is dead (the lock
    is held, so no live run of this toolkit uses them); restore an earlier result set aside by a
    run killed between the two renames of :func:`_swap` on filesystems without RENAME_EXCHANGE."""
    removed = []
    parent = directory.parent
    if not parent.is_dir():
        return removed
    for entry in sorted(os.listdir(parent)):
        m = _STALE.match(entry)
        if not m or m["name"] != directory.name or _pid_alive(int(m["pid"])) and int(m["pid"]) != os.getpid():
            continue
        path = parent / entry
        if ".old-" in entry and not directory.exists():
            os.rename(path, directory)      # the earlier complete result goes back into place
            continue
        shutil.rmtree(path, ignore_errors=True)
        removed.append(path)
    return removed


class ResultFolder:
    """The checks and the lock of a result folder, held around a whole run (solve and writing).

    ``with ResultFolder(out, force=..., expected_bytes=...):`` refuses (:class:`OutputError`) a
    folder that must not be written (:func:`check_target`), one that another run is writing, an
    unwritable parent and a filesystem with less free space than ``expected_bytes``; it creates
    the parent folders and removes stale staging folders of killed runs."""

    def __init__(self, directory, *, force: bool = False, expected_bytes: int = 0, only_kind: str | None = None,
                 kind: str | None = None):
        self.directory = Path(directory)
        self.force, self.expected_bytes, self.only_kind, self.kind = force, int(expected_bytes), only_kind, kind
        self.lock: ResultLock | None = None
        self.state = None
        self.created: list[Path] = []    # parent folders made here, deepest first: removed if no result lands

    def __enter__(self) -> "ResultFolder":
        self.state = check_target(self.directory, force=self.force, only_kind=self.only_kind, kind=self.kind)
        parent = self.directory.parent
        self.created = [p for p in (parent, *parent.parents) if not p.exists()]
        try:
            parent.mkdir(parents=True, exist_ok=True)
        except OSError as exc:
            self._remove_created()
            raise OutputError(f"{self.directory}: cannot create {parent} ({exc.strerror})") from None
        if not os.access(parent, os.W_OK | os.X_OK):
            raise OutputError(f"{self.directory}: the folder {parent} is not writable")
        try:
            self.lock = ResultLock.acquire(self.directory)
        except BaseException:
            self._remove_created()
            raise
        try:
            _clean_stale(self.directory)
            self.state = check_target(self.directory, force=self.force, only_kind=self.only_kind, kind=self.kind)   # again, locked
            if self.expected_bytes:
                free = shutil.disk_usage(parent).free
                if free < self.expected_bytes:
                    raise OutputError(f"{self.directory}: about {self.expected_bytes / 1e6:.0f} MB are needed for "
                                      f"the results, but only {free / 1e6:.0f} MB are free there")
        except BaseException:
            self.lock.release()
            self.lock = None
            self._remove_created()
            raise
        return self

    @property
    def run_id(self) -> str:
        return self.lock.run_id

    def __exit__(self, *exc):
        if self.lock is not None:
            self.lock.release()
            self.lock = None
        self._remove_created()
        return False

    def _remove_created(self) -> None:
        """A failed or interrupted run leaves no folder behind that it made for its result."""
        if self.directory.exists():
            return
        for folder in self.created:
            try:
                folder.rmdir()          # only while empty: anything another process put there stays
            except OSError:
                break
        self.created = []


_libc = None


def _exchange(a: Path, b: Path) -> bool:
    """Atomically exchange two paths (Linux renameat2 RENAME_EXCHANGE); False where unsupported."""
    global _libc
    if not sys.platform.startswith("linux"):
        return False
    try:
        if _libc is None:
            _libc = ctypes.CDLL(None, use_errno=True)
        renameat2 = _libc.renameat2
    except (OSError, AttributeError):
        return False
    at_fdcwd, rename_exchange = -100, 2
    if renameat2(at_fdcwd, os.fsencode(a), at_fdcwd, os.fsencode(b), rename_exchange) == 0:
        return True
    err = ctypes.get_errno()
    if err in (errno.EINVAL, errno.ENOSYS, errno.EOPNOTSUPP):
        return False
    raise OSError(err, os.strerror(err), str(b))


def _swap(staging: Path, target: Path) -> Path | None:
    """Put the complete ``staging`` folder at ``target``; returns where the earlier result now is
    (to be deleted) or None. Never a moment with two results mixed in one folder."""
    if not target.exists():
        os.rename(staging, target)
        return None
    if _exchange(staging, target):
        return staging                  # the earlier result now sits under the staging name
    aside = target.parent / staging.name.replace(".partial-", ".old-", 1)
    os.rename(target, aside)            # a kill here: the next run restores it (_clean_stale)
    os.rename(staging, target)
    return aside


class AtomicOutput:
    """``with AtomicOutput(out) as output:`` write files into ``output.path`` (a staging folder next
    to ``out``), then ``output.finish(name, data)`` writes that JSON file with the manifest of all
    the others; on leaving the block without an exception the staging folder replaces ``out`` as
    a whole. On any exception or signal the staging folder is removed and ``out`` is untouched."""

    def __init__(self, directory, *, kind: str = "run", force: bool = False, only_kind: str | None = None):
        self.directory = Path(directory)
        self.kind, self.force, self.only_kind = kind, force, only_kind
        self.staging: Path | None = None
        self.folder: ResultFolder | None = None
        self.finished = False

    @property
    def path(self) -> Path:
        return self.staging

    def __enter__(self) -> "AtomicOutput":
        self.folder = ResultFolder(self.directory, force=self.force, only_kind=self.only_kind,
                                   kind=self.kind).__enter__()
        try:
            name = f".{self.directory.name}.partial-{os.getpid()}-{uuid.uuid4().hex[:8]}"
            self.staging = self.directory.parent / name
            self.staging.mkdir()
            _fault("staging")
        except BaseException:
            self._cleanup()
            raise
        return self

    def finish(self, name: str, data: dict) -> None:
        """Write the JSON file ``name`` (summary.json, comparison.json) with ``data`` plus
        ``"manifest"`` (every other file's sha256), and the marker file."""
        entry = manifest(self.staging, exclude=(name,))
        write_json(self.staging / name, {**_clean(data), "manifest": entry})
        marker = {"tool": TOOL, "kind": self.kind, "run_id": self.folder.run_id, "pid": os.getpid(),
                  "host": socket.gethostname(), "written": time.strftime("%Y-%m-%dT%H:%M:%S%z"),
                  "files": sorted([*entry["files"], name])}
        write_json(self.staging / MARKER, marker)
        self.finished = True

    def __exit__(self, exc_type, exc, tb):
        try:
            if exc_type is None:
                if not self.finished:
                    raise RuntimeError("AtomicOutput left without finish(): the result would have no summary")
                _fault("written")
                with signals_held():
                    self.staging = _swap(self.staging, self.directory)
                    COMPLETED.append(self.directory)
                _fault("swapped")
        finally:
            self._cleanup()
        return False

    def _cleanup(self) -> None:
        try:
            if self.staging is not None:
                shutil.rmtree(self.staging, ignore_errors=True)
                self.staging = None
        finally:
            if self.folder is not None:
                self.folder.__exit__(None, None, None)
                self.folder = None


class AtomicFile:
    """One output file (``--out FILE`` of ``ablation view`` and ``compare-zone``), all or nothing
    and never over a file the toolkit did not write.

    ``with AtomicFile(out) as staging:`` checks ``out`` at once, before the caller's work: refused
    (:class:`OutputError`) when it is an existing folder, an existing file (unless ``replaceable``:
    a file the toolkit owns, such as a result's view.png), lacks one of ``suffixes`` or lies in a
    missing or unwritable folder. The caller writes ``staging`` (a hidden file next to ``out``,
    created here, so an unwritable place is found before any work); on leaving the block without
    an exception it becomes ``out``, otherwise it is removed and ``out`` is untouched."""

    def __init__(self, path, *, suffixes: tuple = (), replaceable: bool = False):
        self.path = Path(path)
        self.suffixes, self.replaceable = tuple(suffixes), replaceable
        self.staging: Path | None = None

    def check(self) -> None:
        path = self.path
        if str(path) in ("", "."):
            raise OutputError("is empty; expected a file name")
        if path.is_dir():
            raise OutputError(f"{path} is an existing folder; expected the name of a new file"
                              + (f" ending in {', '.join(self.suffixes)}" if self.suffixes else ""))
        if self.suffixes and path.suffix.lower() not in self.suffixes:
            raise OutputError(f"{path}: unsupported file type {path.suffix or '(none)'!r}; expected a name "
                              f"ending in {', '.join(self.suffixes)}")
        if (path.exists() or path.is_symlink()) and not self.replaceable:
            raise OutputError(f"{path} already exists and this command did not write it; the toolkit never "
                              "overwrites such a file: choose another path (or move the file)")
        parent = path.parent
        if parent.exists() and not parent.is_dir():
            raise OutputError(f"{path}: {parent} is a file, not a folder; expected a path in an existing folder")
        if not parent.is_dir():
            raise OutputError(f"{path}: the folder {parent} does not exist; expected an existing folder")

    def __enter__(self) -> Path:
        self.check()
        try:
            handle, name = tempfile.mkstemp(dir=self.path.parent, suffix=self.path.suffix,
                                            prefix=f".{self.path.name}.partial-{os.getpid()}-")
        except OSError as exc:
            raise OutputError(f"{self.path}: the folder {self.path.parent} is not writable "
                              f"({exc.strerror or exc})") from None
        os.close(handle)
        self.staging = Path(name)
        umask = os.umask(0)
        os.umask(umask)
        os.chmod(self.staging, 0o666 & ~umask)      # mkstemp's 0600 would make the result private
        return self.staging

    def __exit__(self, exc_type, exc, tb):
        try:
            if exc_type is None:
                self._publish()
        finally:
            if self.staging is not None:
                self.staging.unlink(missing_ok=True)
                self.staging = None
        return False

    def _publish(self) -> None:
        if self.replaceable:
            os.replace(self.staging, self.path)
            return
        try:
            os.link(self.staging, self.path)        # fails rather than replace a file created meanwhile
        except FileExistsError:
            raise OutputError(f"{self.path} was created by something else while this command ran; it was left "
                              f"as it is and nothing was written: choose another path") from None
        except OSError as exc:
            if exc.errno not in (errno.EPERM, errno.ENOTSUP, errno.EOPNOTSUPP, errno.EXDEV):
                raise OutputError(f"{self.path}: writing failed ({exc.strerror or exc})") from None
            # a filesystem without hard links: a plain rename after a last look
            if self.path.exists() or self.path.is_symlink():
                raise OutputError(f"{self.path} was created by something else while this command ran; it "
                                  "was left as it is: choose another path") from None
            os.rename(self.staging, self.path)


@contextlib.contextmanager
def signals_held():
    """Hold SIGINT/SIGTERM while the block runs and deliver them after it: around the swap of a
    finished result, and around output that loads VTK: pyvista imports VTK's compiled modules on first use, and a KeyboardInterrupt raised inside
    such an import crashed the process (segmentation fault, staging folder and lock left behind;
    s24 audit, 3 of 12 runs stopped while writing)."""
    # Python runs its signal handlers in the main thread whichever thread the OS delivered to, so
    # a thread's signal mask does not hold them: the handlers are swapped for recorders instead
    if threading.current_thread() is not threading.main_thread():
        yield
        return
    arrived = []
    numbers = tuple(getattr(signal, name) for name in ("SIGINT", "SIGTERM", "SIGHUP") if hasattr(signal, name))
    previous = {n: signal.signal(n, lambda number, frame: arrived.append(number)) for n in numbers}
    try:
        yield
    finally:
        for number, handler in previous.items():
            signal.signal(number, handler)
        for number in dict.fromkeys(arrived):
            signal.raise_signal(number)      # now handled as it would have been (KeyboardInterrupt, ...)


def write_text(path, text: str) -> None:
    """Write a whole text file or nothing: a hidden staging file (a name result folders allow) is
    renamed over ``path``."""
    path = Path(path)
    staging = path.with_name(f".partial-{path.name}-{os.getpid()}-{uuid.uuid4().hex[:8]}")
    try:
        staging.write_text(text)
        os.replace(staging, path)
    finally:
        staging.unlink(missing_ok=True)


#: output this process completed (a result folder swapped in, a report rewritten): a signal held
#: while it was put in place stops the command afterwards, which then says so instead of "nothing written"
COMPLETED: list[Path] = []


@contextlib.contextmanager
def rewritten_parts(directory):
    """``with rewritten_parts(result) as staging:`` draw a new plots/ into ``staging``, then call
    :func:`publish_plots` (with the report's files, under :func:`signals_held`) to put it in place
    of the result's plots/ as a whole (``ablation report`` redraws them). On an exception or signal
    before that, the earlier plots/ stays; the staging folder is never left behind."""
    directory = Path(directory)
    staging = directory / f".partial-report-{os.getpid()}-{uuid.uuid4().hex[:8]}"
    staging.mkdir()
    try:
        yield staging
    finally:
        shutil.rmtree(staging, ignore_errors=True)


def publish_plots(staging: Path, directory: Path) -> None:
    """Put ``staging/plots`` in place of ``directory/plots`` (the earlier one is removed)."""
    earlier = _swap(Path(staging) / "plots", Path(directory) / "plots")
    if earlier is not None:
        shutil.rmtree(earlier, ignore_errors=True)


def _clean(value):
    """JSON-safe: records with ``to_dict`` (:class:`ablation.run.summary.Summary`) to their dict,
    numpy scalars to Python, NaN/inf to None."""
    if hasattr(value, "to_dict") and not isinstance(value, type):
        return _clean(value.to_dict())
    if isinstance(value, Mapping):
        return {str(k): _clean(v) for k, v in value.items()}
    if isinstance(value, (list, tuple)):
        return [_clean(v) for v in value]
    if isinstance(value, np.ndarray):
        return _clean(value.tolist())
    if isinstance(value, (np.floating, float)):
        v = float(value)
        return v if math.isfinite(v) else None
    if isinstance(value, (np.integer,)):
        return int(value)
    if isinstance(value, np.bool_):
        return bool(value)
    return value


def write_json(path, data) -> None:
    write_text(path, json.dumps(_clean(data), indent=2) + "\n")


def write_timeseries(path, series: dict) -> None:
    columns = list(series)
    rows = len(series["time_s"])
    with open(path, "w", newline="") as handle:
        writer = csv.writer(handle)
        writer.writerow(columns)
        for i in range(rows):
            out = []
            for c in columns:
                v = series[c][i] if i < len(series[c]) else float("nan")
                out.append("" if v is None or (isinstance(v, float) and not math.isfinite(v)) else f"{v:.9g}")
            writer.writerow(out)


def field_grid(domain, fields: dict, time_s: float | None = None):
    """The fields on a PyVista rectilinear grid with coordinates in mm (ParaView and 3D Slicer
    expect mm). Axisymmetric results lie in the r-z plane of the probe frame (x = r, z = axial
    position, z = 0 at the tip); :func:`revolved_grid` gives them in 3-D world coordinates.
    Array names carry their unit (``temperature_C``, ``cem43_min``, ``time_above_50C_s``;
    ``omega`` is dimensionless). ``time_s`` goes into the field data as ``TimeValue``."""
    import pyvista as pv
    if domain.kind == "axisymmetric":
        r, z = (e * 1e3 for e in domain.edges)
        grid = pv.RectilinearGrid(r, np.array([0.0]), z)
    else:
        grid = pv.RectilinearGrid(*(e * 1e3 for e in domain.edges))
    for name, values in fields.items():
        grid.cell_data[name] = np.asarray(values, float)
    if time_s is not None:
        grid.field_data["TimeValue"] = np.array([float(time_s)])
    if domain.kind == "axisymmetric":   # where the r-z plane sits in the world: x_world = origin + F (r, 0, z)
        grid.field_data["probe_frame_origin_mm"] = np.asarray(domain.frame_origin, float) * 1e3
        grid.field_data["probe_frame_axes"] = np.asarray(domain.frame, float).T.ravel()
    return grid


def revolved_grid(domain, fields: dict, n_theta: int = 48):
    """Axisymmetric fields revolved about the probe axis into a 3-D structured grid in world
    coordinates (mm), ``n_theta`` sectors, float32 cell data (see :func:`ablation.viz.cell_grid`)."""
    from ablation.output.scene import cell_grid
    return cell_grid(domain, fields, n_theta=n_theta, dtype=np.float32)


def _pvd(entries) -> str:
    lines = [f'    <DataSet timestep="{t:.6g}" file="{name}"/>' for t, name in entries]
    return ('<?xml version="1.0"?>\n<VTKFile type="Collection" version="0.1">\n  <Collection>\n'
            + "\n".join(lines) + "\n  </Collection>\n</VTKFile>\n")


def write_fields(directory, result) -> list[str]:
    """Final fields as fields.vtr (and, for axisymmetric results, revolved into world coordinates
    as fields_3d.vts), snapshots of temperature and damage as snapshot_NNNN.vtr with a
    snapshots.pvd time index, and the surfaces of :func:`write_surfaces` in surfaces/."""
    directory = Path(directory)
    field_grid(result.domain, result.fields).save(directory / "fields.vtr")
    names = ["fields.vtr"]
    if result.domain.kind == "axisymmetric":
        revolved_grid(result.domain, result.fields).save(directory / "fields_3d.vts")
        names.append("fields_3d.vts")
    entries = []
    for i, (t, snap) in enumerate(result.snapshots):
        name = f"snapshot_{i:04d}.vtr"
        field_grid(result.domain, snap, time_s=t).save(directory / name)
        entries.append((t, name))
        names.append(name)
    (directory / "snapshots.pvd").write_text(_pvd(entries))
    names.append("snapshots.pvd")
    names += write_surfaces(directory / "surfaces", result)
    return names


SLUG_LENGTH = 60


def _slug(text: str) -> str:
    """A file-name part from a user string (tumour, probe, criterion names): letters, digits and
    ``-_.`` kept (ASCII only), anything else ``_``; longer than 60 characters it is cut and a short
    hash of the full text appended, so two long names stay distinct and no name is too long."""
    text = str(text)
    slug = "".join(c if (c.isascii() and c.isalnum()) or c in "-_." else "_" for c in text).strip("_.") or "x"
    if len(slug) > SLUG_LENGTH:
        slug = slug[:SLUG_LENGTH].rstrip("_.") + "-" + hashlib.sha256(text.encode()).hexdigest()[:8]
    return slug


def write_surfaces(directory, result) -> list[str]:
    """Triangulated surfaces in world coordinates (mm), each as .vtp (with point data, e.g. the
    local margin on tumours) and .stl (for 3D Slicer and printing): the lesion for every reported
    criterion, isotherms (cryo), every tumour and its margin shells; and the default criterion's
    lesion at every snapshot time (lesion_<criterion>_NNNN.vtp with a .pvd index)."""
    from ablation.output import scene as viz
    from ablation.physics.damage import parse_criterion
    directory = Path(directory)
    directory.mkdir(parents=True, exist_ok=True)
    written = []

    def save(mesh, stem):
        if mesh is None or mesh.n_points == 0:
            return
        mesh.save(directory / f"{stem}.vtp")
        mesh.extract_surface(algorithm="dataset_surface").triangulate().save(directory / f"{stem}.stl")
        written.extend([f"surfaces/{stem}.vtp", f"surfaces/{stem}.stl"])

    criteria = list(result.summary.lesion_by_criterion)
    default = result.summary.lesion.criterion
    for name in criteria:
        crit = parse_criterion(name)
        if crit.field in result.fields:
            save(viz.level_surface(result.domain, crit.level(result.fields)), f"lesion_{_slug(name)}")
    # the default lesion at every snapshot that holds its field: lesion growth in ParaView
    crit = parse_criterion(default)
    entries = []
    for i, (t, snap) in enumerate(result.snapshots):
        if crit.field in snap:
            surface = viz.level_surface(result.domain, crit.level(snap))
            if surface.n_points:
                name = f"lesion_{_slug(default)}_{i:04d}.vtp"
                surface.save(directory / name)
                entries.append((t, name))
                written.append(f"surfaces/{name}")
    if entries:
        (directory / f"lesion_{_slug(default)}.pvd").write_text(_pvd(entries))
        written.append(f"surfaces/lesion_{_slug(default)}.pvd")
    parts = viz.scene_parts(result, default)
    for t_iso, surf in parts.isotherms.items():
        save(surf, f"isotherm_{t_iso:g}C")
    for i, tumor in enumerate(parts.tumors):
        stem = f"tumor_{i + 1}_{_slug(tumor.name)}"
        save(tumor.surface, stem)
        for m, shell in tumor.shells.items():
            save(shell, f"{stem}_margin_{m:g}mm")
    return written

