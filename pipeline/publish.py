"""Moving finished outputs into output/ only when the whole build passed.

Stale outputs are removed before a build starts, so a failed or interrupted
build never leaves an earlier PDF that looks current.
"""
from __future__ import annotations

import json
import os
import shutil
from pathlib import Path

OUTPUTS = ("hw4.pdf", "hw4-solutions.pdf", "verify-report.json")


def clear(output: Path) -> None:
    for name in OUTPUTS:
        (output / name).unlink(missing_ok=True)


def publish(output: Path, pdfs: dict[str, Path], report: dict) -> list[Path]:
    """Copy each file next to its destination, then rename it into place (atomic on one filesystem)."""
    output.mkdir(parents=True, exist_ok=True)
    staged = {}
    for name, pdf in pdfs.items():
        tmp = output / f".{name}.pdf.partial"
        shutil.copyfile(pdf, tmp)
        staged[tmp] = output / f"{name}.pdf"
    tmp = output / ".verify-report.json.partial"
    tmp.write_text(json.dumps(report, indent=2) + "\n")
    staged[tmp] = output / "verify-report.json"
    for tmp, final in staged.items():
        os.replace(tmp, final)
    return list(staged.values())
