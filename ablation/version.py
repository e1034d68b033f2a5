"""The toolkit's version (one place: pyproject.toml reads it from here), and the digest of its code."""
from __future__ import annotations

import hashlib
from pathlib import Path

__version__ = "0.2.0"

#: Folders installed inside the package from a wheel (pyproject.toml package-dir): data, not code.
_DATA_PACKAGES = ("benchmarks", "scenarios", "meshes")
_DIGESTED = (".py", ".json", ".csv")


def code_digest(cases_dir: Path, package_dir: Path | None = None) -> str:
    """A fingerprint of the code that benchmark results come from: SHA-256 (first 16 hex digits)
    over the relative path and content of the toolkit's Python and calibration files (``package_dir``,
    default: this installed package) and of the benchmark suites' case files, tables and stored
    references in ``cases_dir``. Recorded results (``cases_dir/results``) are not part of it. A
    checkout and a wheel of the same commit give the same digest, so a report can tell whether
    recorded results describe the code that wrote it."""
    cases_dir = Path(cases_dir)
    package_dir = Path(package_dir) if package_dir else Path(__file__).resolve().parent
    files = [(f"ablation/{p.relative_to(package_dir).as_posix()}", p) for p in package_dir.rglob("*")
             if p.suffix in _DIGESTED and p.relative_to(package_dir).parts[0] not in _DATA_PACKAGES]
    # the depth the wheel ships (pyproject.toml package-data "*/*.py" ...): top level and one folder down
    files += [(f"benchmarks/{p.relative_to(cases_dir).as_posix()}", p)
              for p in [*cases_dir.glob("*"), *cases_dir.glob("*/*")]
              if p.suffix in _DIGESTED and p.is_file() and p.relative_to(cases_dir).parts[0] != "results"]
    digest = hashlib.sha256()
    for name, path in sorted(files):
        digest.update(name.encode() + b"\0" + path.read_bytes() + b"\0")
    return digest.hexdigest()[:16]
