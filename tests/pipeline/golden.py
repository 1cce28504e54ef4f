"""The golden file of every step's display: `python -m tests.pipeline.golden` (make golden) rewrites it.

Only rewrite it after a change of notation you meant; then review the diff of
tests/pipeline/golden/steps.tex like any other change.
"""
from __future__ import annotations

from pathlib import Path

GOLDEN = Path(__file__).resolve().parent / "golden" / "steps.tex"


def rendered() -> str:
    """Every step of the homework as the documents display it, in the registry's order."""
    from pipeline import load
    from pipeline.render import render_step
    homework = load.load("solutions")
    return "\n\n".join(render_step(step) for step in homework.steps.values()) + "\n"


if __name__ == "__main__":
    GOLDEN.parent.mkdir(parents=True, exist_ok=True)
    GOLDEN.write_text(rendered())
    print(f"wrote {GOLDEN}")
