"""Everything shown is checked, proved by mutation: perturb what a step displays, and its check must fail.

For every step of the homework, and every step the grading notes display,
each side is perturbed in turn: a number shown is changed in its last place
and by one, an expression gets + 1, a set's condition is negated, a result's
formula is changed together with the formula its independent check compiles.
Every mutant must fail its check (or be refused when the step is built).
"""
from __future__ import annotations

import dataclasses

import pytest
import sympy as sp

from verify.engine import Gradient
from verify.homework import load
from verify.steps import Kind, check_step
from verify.symbolic import ConvexHull, Shown, Subdifferential

HW = load("solutions")


def _bumped_number(value: Shown, relation: str) -> Shown:
    # past the rounding an "approx" step allows, and by one unit otherwise
    step = sp.Rational(1, 10 ** int(value.args[1])) if relation == "approx" else 1
    return Shown(value.args[0] + step, *value.args[1:])


def _mutate_side(side, relation: str):
    """One perturbed copy of a displayed side, or None when it has nothing to perturb."""
    if isinstance(side, Shown):
        return _bumped_number(side, relation)
    if isinstance(side, sp.MatrixBase):
        changed = side.as_mutable()
        first = changed[0, 0]
        changed[0, 0] = _bumped_number(first, relation) if isinstance(first, Shown) else first + 1
        return sp.ImmutableMatrix(changed)
    if isinstance(side, sp.Tuple):
        for position, item in enumerate(side.args):
            mutated = _mutate_side(item, relation)
            if mutated is not None:
                return sp.Tuple(*side.args[:position], mutated, *side.args[position + 1:])
        return None
    if isinstance(side, ConvexHull):
        vector, condition, *rest = side.args
        return ConvexHull(vector, sp.Not(condition), *rest)
    if isinstance(side, Subdifferential):
        return None   # a set computed from the operation: mutating the other side is what tests it
    if isinstance(side, sp.Basic):
        return sp.Add(side, 1, evaluate=False)
    return side + 1


def mutants(step):
    """(description, mutated step or a ValueError raised while building it) for every side."""
    for position, side in enumerate(step.sides):
        mutated = _mutate_side(side, step.relation)
        if mutated is None:
            continue
        sides = step.sides[:position] + (mutated,) + step.sides[position + 1:]
        changes = {"sides": sides}
        if step.kind is Kind.RESULT and position == len(step.sides) - 1:
            # the displayed formula and the compiled one move together: the check must still catch it
            changes["gradient"] = Gradient(step.gradient.operation, step.gradient.wrt, mutated)
        try:
            yield f"side {position + 1}", dataclasses.replace(step, **changes)
        except ValueError as refused:
            yield f"side {position + 1}", refused


@pytest.fixture(scope="module")
def note_steps(verification) -> dict[str, dict]:
    """The steps the grading note of each wrong answer displays, by answer (judged once per test run,
    by the shared fixture of tests/conftest.py, not at collection)."""
    return {note.answer.id: {step.id: step for step in note.steps.values()} for note in verification.notes}


# the notes that display checked numbers: a rejected answer's shows its counterexample, an accepted answer's
# its quoted formula's reading (with quote=); an accepted answer without a quote is explained in prose alone
ANSWERS = [answer.id for part in HW.parts for answer in part.wrong_answers
           if not answer.accepted or answer.quote is not None]


def _assert_every_mutant_fails(step_id, step):
    found = list(mutants(step))
    assert found, f"{step_id}: nothing it displays could be perturbed"
    for where, mutant in found:
        if isinstance(mutant, ValueError):
            continue   # refused as soon as it is built: it can never reach a document
        verdict = check_step(mutant)
        assert not verdict.passed, f"{step_id}: perturbing {where} still passes its check"


@pytest.mark.parametrize("step_id", list(HW.steps))
def test_every_perturbed_display_fails_its_check(step_id):
    _assert_every_mutant_fails(step_id, HW.steps[step_id])


@pytest.mark.parametrize("answer_id", ANSWERS)
def test_every_perturbed_display_of_a_grading_note_fails_its_check(note_steps, answer_id):
    steps = note_steps[answer_id]
    assert steps, f"the note of {answer_id} displays nothing checked"
    for step_id, step in steps.items():
        _assert_every_mutant_fails(step_id, step)


@pytest.mark.parametrize("answer_id", ANSWERS)
def test_the_unperturbed_steps_of_a_grading_note_pass(note_steps, answer_id):
    # (the homework's own steps: tests/verify/test_steps.py)
    steps = note_steps[answer_id]
    failing = [sid for sid, step in steps.items() if not check_step(step).passed]
    assert not failing
