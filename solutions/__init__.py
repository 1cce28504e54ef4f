"""The mathematics of the key: every displayed step, as objects verify checks.

Templates show a step by its id (`step("t1.dX.chain_rule")`); the prose and
layout live in templates/, the formulas only here.
"""
from __future__ import annotations

from verify.steps import Step

from . import examples, remarks, t1, t2
from .common_errors import WRONG_ANSWERS, WrongAnswer

STEPS: dict[str, Step] = {s.id: s for s in [*t1.STEPS, *t2.STEPS, *remarks.STEPS, *examples.STEPS]}

__all__ = ["STEPS", "Step", "WRONG_ANSWERS", "WrongAnswer"]
