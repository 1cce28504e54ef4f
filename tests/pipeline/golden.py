"""The golden files of every step's display, one per unit: `make golden` (python -m tests.pipeline.golden)
rewrites them.

Rewrite them after a change of notation you meant, or after adding a part or a question (the
recipe's last step); then review the diff of tests/pipeline/golden/ like any other change.
"""
from __future__ import annotations

from pathlib import Path

GOLDEN = Path(__file__).resolve().parent / "golden"


def rendered() -> dict[str, str]:
    """Every unit's steps as the documents display them, in the registry's order: file name -> text."""
    from pipeline import load
    from pipeline.render import render_step
    homework = load.load("solutions")
    return {f"{unit.module}.tex": "\n\n".join(render_step(step) for step in unit.steps) + "\n"
            for unit in homework.units if unit.steps}


if __name__ == "__main__":
    import sys

    from pipeline.errors import BuildError
    GOLDEN.mkdir(parents=True, exist_ok=True)
    try:
        files = rendered()
    except BuildError as exc:   # the homework does not load: the one line the build would print
        print(f"error: {exc}", file=sys.stderr)
        sys.exit(exc.exit_code)
    for stale in set(p.name for p in GOLDEN.glob("*.tex")) - set(files):
        (GOLDEN / stale).unlink()
        print(f"removed {GOLDEN / stale}")
    for name, text in files.items():
        if not (GOLDEN / name).exists() or (GOLDEN / name).read_text() != text:
            (GOLDEN / name).write_text(text)
            print(f"wrote {GOLDEN / name}")
