"""Stage 5: move the finished outputs into output/, only when the whole build has passed.

The previous outputs are removed as soon as a build starts, so a failed or
interrupted build never leaves a PDF that looks current.
"""
from __future__ import annotations

import json
import os
import shutil
from pathlib import Path

from verify.identity import HomeworkIdentity

from .documents import REPORT, outputs


def clear(output: Path, identity: HomeworkIdentity) -> None:
    """Remove every output of an earlier build of this homework, and any half-copied file."""
    for name in outputs(identity):
        (output / name).unlink(missing_ok=True)
    for partial in output.glob(".*.partial") if output.exists() else ():
        partial.unlink(missing_ok=True)


def publish(output: Path, pdfs: dict[str, Path], report: dict, as_of: float | None = None,
            texts: dict[str, str] | None = None) -> list[Path]:
    """Copy each file next to its destination, then rename it into place (atomic on one filesystem).

    Stopped or failing halfway (Ctrl-C, a full disk), it leaves output/ empty: never some
    outputs of this build beside none of the others, nor a half-copied file.  `as_of`, the
    moment the build began to read its sources, becomes each output's modification time:
    a source saved while the build ran is then newer than the outputs, and make rebuilds.
    `texts` are further files by name and content (the students' starter file).
    """
    output.mkdir(parents=True, exist_ok=True)
    staged = {}
    try:
        for name, pdf in pdfs.items():
            tmp = output / f".{name}.pdf.partial"
            staged[tmp] = output / f"{name}.pdf"
            shutil.copyfile(pdf, tmp)
        for name, text in {**(texts or {}), REPORT: json.dumps(report, indent=2) + "\n"}.items():
            tmp = output / f".{name}.partial"
            staged[tmp] = output / name
            tmp.write_text(text)
        if as_of is not None:
            for tmp in staged:
                os.utime(tmp, (as_of, as_of))
        for tmp, final in staged.items():
            os.replace(tmp, final)
    except BaseException:
        for tmp, final in staged.items():   # what this build staged or placed: none of it stays
            tmp.unlink(missing_ok=True)
            final.unlink(missing_ok=True)
        raise
    return list(staged.values())
