"""The key's illustrative example (solutions/illustrations.py) for a part whose function takes an integer setting."""
from __future__ import annotations

import numpy as np
import sympy as sp

from solutions.illustrations import illustrations
from verify.engine import Gradient
from verify.homework import Criterion, Part, Result, Rubric, WrongAnswer
from verify.operation import Operation
from verify.steps import check_step
from verify.symbolic import Hadamard, OneHot, product


def test_an_illustration_passes_the_settings_in_the_students_order():
    d = sp.Symbol("d", integer=True, positive=True)
    x, delta, c = sp.IndexedBase("x"), sp.Symbol("delta"), sp.Symbol("c", integer=True)
    op = Operation("t9.square", lambda x, c: x[c] ** 2, ("x", "c"), {"x": (d,)}, "f",
                   exact_sizes=({"d": 2, "c": 1},), float_sizes=({"d": 3, "c": 2},),
                   size_ranges={"d": (2, 9), "c": (0, 1)}, allowed=lambda s: s["c"] < s["d"])
    formula = product(2, delta, Hadamard(OneHot(x, c), x))
    result = Result("t9.square", {"default": Gradient(op, "x", formula)})
    part = Part("t9.square", "Square of an entry", 2, (result,), Rubric((Criterion("all", 2, "all", "All."),)),
                (WrongAnswer("no-two", "t9.square", "no 2", "why", product(delta, Hadamard(OneHot(x, c), x)),
                             decision="d", charges=("all",)),), question="T9", number=1)
    at = {"x": np.array([1.0, 3.0, -2.0]), "delta": 0.5, "c": 1}
    steps = illustrations(part, (x, delta, c), x, at)
    assert [s.id for s in steps] == ["t9.square.illustration.inputs", "t9.square.illustration.gradient",
                                     "t9.square.illustration.no-two"]
    assert all(check_step(s).passed for s in steps)
    assert steps[0].sides[0] == sp.Tuple(x, delta, c)                  # the setting is shown with the inputs
