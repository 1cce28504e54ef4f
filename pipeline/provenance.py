"""Where a build comes from: the commit of its sources and that commit's time.

Provenance goes into the PDFs' metadata and into verify-report.json, never onto
a page.  The commit's time is the PDFs' date, so two builds of one commit give
byte-identical files.
"""
from __future__ import annotations

import subprocess
from pathlib import Path

SOURCES = ("templates", "solutions", "verify", "pipeline", "build.py")


def _git(root: Path, *args: str) -> subprocess.CompletedProcess:
    return subprocess.run(["git", *args], cwd=root, capture_output=True, text=True)


def commit(root: Path) -> str:
    """The short commit of the sources, marked when the sources have uncommitted changes."""
    head = _git(root, "rev-parse", "--short=10", "HEAD")
    if head.returncode != 0:
        return "no commit"
    # a new file not yet added counts: a new question is built before anyone runs `git add`
    dirty = _git(root, "status", "--porcelain", "--untracked-files=all", "--", *SOURCES).stdout.strip()
    return head.stdout.strip() + (" with uncommitted changes" if dirty else "")


def source_date_epoch(root: Path) -> int:
    out = _git(root, "log", "-1", "--format=%ct")
    return int(out.stdout.strip()) if out.returncode == 0 and out.stdout.strip() else 0
