"""Every step's display, compared with reviewed golden files (one per unit): no change of notation goes unnoticed."""
from __future__ import annotations

import difflib

from .golden import GOLDEN, rendered


def test_every_step_displays_exactly_as_the_golden_files_say():
    now = rendered()
    kept = {p.name: p.read_text() for p in GOLDEN.glob("*.tex")}
    problems = []
    for name in sorted(set(now) | set(kept)):
        before, after = kept.get(name, ""), now.get(name, "")
        if before != after:
            diff = "".join(difflib.unified_diff(before.splitlines(True), after.splitlines(True),
                                                f"golden/{name}", "now", n=1))
            problems.append(diff[:2000] or f"golden/{name}")
    assert not problems, ("the displays changed; if you meant it (a new notation, an added part or question), "
                          "run `make golden` and review:\n" + "\n".join(problems))
