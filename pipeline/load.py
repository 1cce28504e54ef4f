"""Stage 1: load the solutions (the checked mathematics of the key)."""
from __future__ import annotations

import importlib
import traceback
from dataclasses import dataclass

from .errors import SolutionError


@dataclass(frozen=True)
class Solutions:
    steps: dict          # step id -> verify.steps.Step, in the order of solutions/
    wrong_answers: list  # solutions.common_errors.WrongAnswer
    examples: object     # the solutions.examples module


def load_solutions(package: str = "solutions") -> Solutions:
    """Import the solutions package; a broken one is reported with its file and line."""
    try:
        module = importlib.import_module(package)
        examples = importlib.import_module(f"{package}.examples")
    except Exception as exc:
        frame = traceback.extract_tb(exc.__traceback__)[-1]
        raise SolutionError(f"{frame.filename}:{frame.lineno}: cannot load the solutions: "
                            f"{type(exc).__name__}: {exc}") from exc
    return Solutions(steps=dict(module.STEPS), wrong_answers=list(module.WRONG_ANSWERS), examples=examples)
