#!/usr/bin/env bash
# Build Gradescope's autograder zip: setup.sh and run_autograder at its root, next to the project's
# source that setup.sh installs (pyproject.toml, README.md, verify/, solutions/, pipeline/).
#   scripts/build-autograder.sh output/autograder.zip      (what `make autograder` runs)
# Files come from git (tracked and new, not ignored), so .venv, build/, output/ and tests/ never go
# in; outside a git checkout the folders are walked instead.  Python's zipfile writes the zip (no
# `zip` binary needed), with fixed timestamps so that the same sources give the same bytes.
set -euo pipefail
if [ "$#" -ne 1 ]; then
  echo "usage: $0 OUTPUT_ZIP" >&2
  exit 2
fi
cd "$(dirname "$0")/.."
python="${PYTHON:-python3}"
if ! command -v "$python" >/dev/null 2>&1; then
  echo "error: $python not found (set PYTHON to a Python 3 interpreter)" >&2
  exit 1
fi
exec "$python" - "$1" <<'PY'
import os
import subprocess
import sys
import zipfile
from pathlib import Path

ROOT_FILES = {"autograder/setup.sh": "setup.sh", "autograder/run_autograder": "run_autograder"}
SOURCES = ["pyproject.toml", "README.md", "verify", "solutions", "pipeline"]
STAMP = (1980, 1, 1, 0, 0, 0)


def project_files() -> list[str]:
    try:
        listed = subprocess.run(["git", "ls-files", "-co", "--exclude-standard", "--", *SOURCES],
                                capture_output=True, text=True, check=True).stdout.split("\n")
    except (OSError, subprocess.CalledProcessError):
        listed = [str(p) for name in SOURCES for p in ([Path(name)] if Path(name).is_file() else Path(name).rglob("*"))]
    keep = set()
    for name in listed:
        path = Path(name)
        if name and path.is_file() and "__pycache__" not in path.parts and path.suffix not in (".pyc", ".pyo"):
            keep.add(path.as_posix())
    return sorted(keep)


def add(archive: zipfile.ZipFile, source: str, name: str, mode: int) -> None:
    info = zipfile.ZipInfo(name, STAMP)
    info.external_attr = (0o100000 | mode) << 16   # a regular file with these permission bits
    info.compress_type = zipfile.ZIP_DEFLATED
    info.create_system = 3                          # Unix: unzip honours the permission bits
    archive.writestr(info, Path(source).read_bytes())


def main(output: str) -> int:
    for needed in [*ROOT_FILES, "pyproject.toml"]:
        if not Path(needed).is_file():
            print(f"error: {needed} is missing", file=sys.stderr)
            return 1
    files = project_files()
    target = Path(output)
    target.parent.mkdir(parents=True, exist_ok=True)
    partial = target.with_name(target.name + ".partial")
    # Written aside and renamed: an interrupted build leaves no zip that make would take as up to date.
    with zipfile.ZipFile(partial, "w") as archive:
        for source, name in ROOT_FILES.items():
            add(archive, source, name, 0o755)
        for name in files:
            add(archive, name, name, 0o755 if os.access(name, os.X_OK) else 0o644)
    os.replace(partial, target)
    print(f"wrote {target}: setup.sh, run_autograder and {len(files)} files of the project")
    return 0


sys.exit(main(sys.argv[1]))
PY
