"""Every step's display, compared with a reviewed golden file: no change of notation goes unnoticed."""
from __future__ import annotations

import difflib

from .golden import GOLDEN, rendered


def test_every_step_displays_exactly_as_the_golden_file_says():
    now = rendered()
    before = GOLDEN.read_text()
    if now != before:
        diff = "".join(difflib.unified_diff(before.splitlines(True), now.splitlines(True), "golden", "now", n=1))
        raise AssertionError("the displays changed; if you meant it, run `make golden` and review:\n" + diff[:4000])
