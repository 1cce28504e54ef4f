"""One illustrative example per part, for the grading key: the gradient and each common wrong answer at one
readable instance (a 3 x 3 image, or a vector of 3 entries), shown beside the answer's smallest
counterexample.  The numbers are checked steps like every other example: the formula shown is the one
evaluated (a sample's quote with its reading)."""
from __future__ import annotations

from typing import Any

import numpy as np
import sympy as sp

from verify.homework import Part
from verify.steps import Step
from verify.symbolic import Partial, shown

from .symbols import L


def _display(value):
    arr = np.asarray(value, dtype=float)
    if arr.ndim == 0:
        return shown(float(arr))
    arr = arr.reshape(-1, 1) if arr.ndim == 1 else arr
    return sp.ImmutableMatrix([[shown(float(q)) for q in row] for row in arr.tolist()])


def _relation(value) -> str:
    """"=" when every number is shown exactly (at most 4 decimals), else "approx"."""
    arr = np.asarray(value, dtype=float).ravel()
    return "=" if np.all(np.abs(arr * 10 ** 4 - np.round(arr * 10 ** 4)) < 1e-9) else "approx"


def illustrations(part: Part, symbols: tuple[Any, ...], variable: Any, at: dict[str, Any],
                  shown: tuple[str, ...] | None = None) -> list[Step]:
    """The steps of a part's illustrative example: its inputs, the gradient, and every wrong answer that is
    not accepted and differs from the gradient there.  `symbols` are the inputs', delta's and the integer
    settings' symbols, in that order, and `at` gives each a value.  Ids: "<part>.illustration.inputs", "...gradient",
    "...<answer id>" (the grading key shows those that exist).  `shown` names the inputs the display lists
    (by default all, then delta): parts that share one example show what their gradient depends on, so
    the key does not print the same display twice."""
    if not part.results:
        return []      # the registry refuses such a part, naming its module
    result = part.results[0]
    gradient = result.gradient()
    op = gradient.operation
    names = op.candidate_arguments      # a student's order: the inputs, delta, then the integer settings
    args = [at[name] for name in names]
    truth = gradient.compiled()(*args)
    prefix = f"{part.id}.illustration"
    listed = [(name, symbol) for name, symbol in zip(names, symbols) if shown is None or name in shown]
    sides = (sp.Tuple(*[symbol for _, symbol in listed]), sp.Tuple(*[_display(at[name]) for name, _ in listed]))
    if len(listed) == 1:        # one input is shown as itself, not as a tuple of one
        sides = (listed[0][1], _display(at[listed[0][0]]))
    steps = [Step.example(f"{prefix}.inputs", *sides, operation=op, at=at),
             Step.example(f"{prefix}.gradient", Partial(L, variable), _display(truth),
                          operation=op, at=at, relation=_relation(truth))]
    for answer in part.wrong_answers:
        if answer.accepted:
            continue
        # an answer judged in another convention is right or wrong against that convention's gradient (report b
        # row 2: the valid correlation with the kernel not turned is graded in the true convolution's reading)
        own = result.gradient(answer.convention)
        right = truth if own is gradient else own.compiled()(*args)
        value = answer.function(result)(*args)
        if np.shape(value) == np.shape(right) and np.allclose(np.asarray(value, dtype=float), right):
            continue       # the answer happens to be right here: nothing to illustrate
        steps.append(Step.example(f"{prefix}.{answer.id}", answer.shown, _display(value),
                                  operation=op, at=at, relation=_relation(value), names=answer.reading or None))
    return steps
