"""The grading key's notes on wrong answers: each judged as a student's answer would be, with the steps it shows.

A wrong answer (`verify.homework.WrongAnswer`) is checked by `verify.engine.check` exactly as a
student's function; when it fails, the smallest counterexample a search over sizes finds is
shown, and the numbers the note displays (the inputs, the expected gradient, what the answer
gives) are example steps, checked like any other step.  `judge` is the public entry point; the
build (pipeline.checks) caches what it returns.
"""
from __future__ import annotations

from dataclasses import dataclass, field

import numpy as np
import sympy as sp

from . import engine
from .engine import Verdict
from .homework import Homework, Part, WrongAnswer
from .steps import Kind, Step
from .symbolic import Hull, Partial, Subdifferential, evaluate, name_of, shown

__all__ = ["Note", "judge", "verdict_from_json", "verdict_to_json"]


@dataclass
class Note:
    """A wrong answer of the grading key, judged, with the checked steps its note displays."""
    part: Part
    answer: WrongAnswer
    verdict: Verdict                      # of verify.check on the displayed formula
    smallest: bool = False                # the counterexample is the smallest of a search over sizes
    steps: dict[str, Step] = field(default_factory=dict)   # "reading", "inputs", "expected", "returned", "accepted"

    @property
    def id(self) -> str:
        return f"note.{self.answer.id}"


def judge(homework: Homework, part: Part, answer: WrongAnswer, known: dict | None = None) -> tuple[Note, dict]:
    """Check a wrong answer as a grader would check a student's, and build the steps its note shows.

    The expensive part (verify.check and the search for the smallest
    counterexample) gives a small record that `known` may hold from an earlier
    build; the displayed steps are rebuilt from it and checked every time.
    """
    result = homework.result(answer.result)
    gradient = result.gradient(answer.convention)
    if known is None:
        function = answer.function(result)
        # a quoted answer is evaluated entry by entry in Python, so it is judged at the smaller
        # float sizes; its reading step proves it equal to the formula it stands for
        small = [q for q in gradient.operation.float_sizes if engine._entries(gradient.operation, q) <= 20]
        verdict = engine.check(gradient, function, seed=0, subject=answer.id,
                               float_sizes=small if answer.quote is not None else None)
        at, smallest = None, False
        if not verdict.passed:
            search = engine.smallest_counterexample(gradient, function,
                                                    informative=_informative(result, answer, gradient))
            ce = search.counterexample if not search.passed else verdict.counterexample
            smallest = not search.passed
            assert ce is not None
            at = {name: np.asarray(ce.inputs[name]).tolist() for name in ce.inputs}
        known = {"verdict": verdict_to_json(verdict), "smallest": smallest, "at": at}
    note = Note(part, answer, verdict_from_json(known["verdict"]), known["smallest"])
    op = gradient.operation
    if answer.quote is not None:
        note.steps["reading"] = Step(f"{note.id}.reading", (answer.quote, answer.formula), Kind.DERIVATION, op,
                                     names=answer.reading, sizes=tuple(engine._sorted_sizes(op, op.exact_sizes))[:3])
    if known["at"] is None:
        return note, known
    at = {name: (int(value) if name in op.settings else np.asarray(value, dtype=float) if np.ndim(value)
                 else float(value)) for name, value in known["at"].items()}
    variable = _variable(op, gradient.wrt)
    note.steps["inputs"] = Step(f"{note.id}.inputs", (sp.Tuple(*_symbols(op, answer)), sp.Tuple(*[
        _display(at[name]) for name in (*op.inputs, "delta", *op.settings)])), Kind.EXAMPLE, op, at=at)
    env = op.point_env(at)
    expected = _expected(env, variable)
    returned = _evaluate_named(env, answer)
    L = sp.Symbol("L")
    if isinstance(expected, Hull):
        note.steps["accepted"] = Step(f"{note.id}.accepted",
                                      (_display(expected.points[0]), Subdifferential(L, variable)),
                                      Kind.EXAMPLE, op, at=at, relation="in")
        note.steps["returned"] = Step(f"{note.id}.returned", (answer.shown, _display(returned),
                                      Subdifferential(L, variable)), Kind.EXAMPLE, op, at=at,
                                      relation="notin", names=answer.reading)
        return note, known
    note.steps["expected"] = Step(f"{note.id}.expected", (Partial(L, variable), _display(expected)),
                                  Kind.EXAMPLE, op, at=at, relation=_relation(expected))
    note.steps["returned"] = Step(f"{note.id}.returned", (answer.shown, _display(returned)), Kind.EXAMPLE, op,
                                  at=at, relation=_relation(returned), names=answer.reading)
    return note, known


def _informative(result, answer: WrongAnswer, gradient):
    """A counterexample worth printing: a gradient that is not all zeros, and wrong under every
    convention where the answer is wrong (a symmetric kernel, say, would make a transposed kernel
    look like the other convention's right answer)."""
    others = []
    for other in result.conventions.values():
        if other is gradient:
            continue
        if not engine.check(other, answer.function_for(other), exact=True, seed=0, float_sizes=[]).passed:
            others.append(other)

    def informative(ce) -> bool:
        got = np.asarray(ce.got, dtype=float)
        values = dict(ce.inputs)
        truth = engine.expected_at(gradient, values)
        if not isinstance(truth, Hull) and not np.any(engine._to_float(truth)):
            return False
        for other in others:
            truth = engine.expected_at(other, values)
            if not isinstance(truth, Hull) and np.shape(truth) == got.shape and \
                    np.allclose(engine._to_float(truth), got):
                return False
        return True
    return informative


def _symbols(op, answer):
    """The symbols of the inputs as the formulas name them (an IndexedBase for arrays)."""
    found = {name_of(q): q for q in sp.sympify(answer.formula).atoms(sp.IndexedBase, sp.Symbol)}
    out = []
    for name in (*op.inputs, "delta", *op.settings):   # the integer settings too: a counterexample is whole
        out.append(found.get(name, sp.IndexedBase(name) if name in op.inputs and op.inputs[name] or name == "delta"
                             and not op.scalar_output else sp.Symbol(name)))
    return out


def _variable(op, wrt):
    return sp.IndexedBase(wrt) if op.inputs[wrt] else sp.Symbol(wrt)


def _expected(env, variable):
    try:
        return evaluate(Partial(sp.Symbol("L"), variable), env)
    except ValueError:
        return evaluate(Subdifferential(sp.Symbol("L"), variable), env)


def _evaluate_named(env, answer: WrongAnswer):
    for key, definition in (answer.reading or {}).items():
        env.offsets[name_of(key)] = 1
        env.values[name_of(key)] = evaluate(definition, env)
    return evaluate(answer.shown, env)


def _exact(value) -> bool:
    arr = np.asarray(value, dtype=object)
    return all(sp.sympify(q).is_Rational and (sp.sympify(q) * 10 ** 4).is_integer for q in arr.ravel())


def _relation(value) -> str:
    return "=" if _exact(value) else "approx"


def _display(value):
    """Numbers as the notes show them: a column for a vector, a matrix, or one number."""
    arr = np.asarray(value, dtype=object)
    if arr.ndim == 0:
        return shown(sp.sympify(arr[()]))
    if arr.ndim == 1:
        arr = arr.reshape(-1, 1)
    return sp.ImmutableMatrix([[shown(sp.sympify(q)) for q in row] for row in arr.tolist()])


def verdict_to_json(verdict: Verdict) -> dict:
    """What a cache keeps of a verdict (a passed one, or the judgment of a wrong answer)."""
    return {"subject": verdict.subject, "passed": verdict.passed, "methods": verdict.methods,
            "cases": verdict.cases, "worst_error": verdict.worst_error}


def verdict_from_json(data: dict) -> Verdict:
    return Verdict(data["subject"], data["passed"], list(data["methods"]), int(data["cases"]),
                   float(data["worst_error"]))
