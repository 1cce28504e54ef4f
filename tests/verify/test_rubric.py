"""The grading key's arithmetic lives in the rubric's data: criteria with ids and points, deductions and
common answers that name the criteria they charge.  The scores below are the key's decisions, agreed
with the course; a change of a criterion's points that changes any of them must be deliberate."""
from __future__ import annotations

import dataclasses
import itertools
import re

import pytest

from verify.homework import Deduction, Homework, HomeworkError, Part, Rubric, WrongAnswer, load

HW = load("solutions")
PARTS = {p.id: p for p in HW.parts}

# the scores the key decided for Homework 4's common answers (issue 14): pinned, so that a change of the
# criteria's points that moves one is caught; an answer an instructor adds is pinned by adding it here
SCORES = {
    "sample.dX": 1, "no-flip": 4, "transposed": 4, "valid-not-full": 4, "border-skipped": 4, "output-size": 4,
    "sample.dW": 1, "sample.dW.patches": 4, "dW-rotated": 4, "dW-delta-turned": 4,
    "sample.db": 4, "db-not-summed": 3, "db-mean": 3,
    "sample.tanh": 4, "tanh-no-delta": 3, "tanh-prime": 3, "tanh-squared": 3,
    "sample.maxpool": 3, "max-all-ties": 4, "max-as-mean": 4, "max-every-entry": 4, "max-no-delta": 3,
    "sample.avgpool": 3, "avg-missing-d": 4, "avg-no-delta": 3,
}
# an answer whose one error is charged at one criterion of T1.3 (a wrong sum, a wrong local
# derivative such as 1/N, a wrong result after a right chain rule)
T1_3_ONE_ERROR = {"chain": 3, "local": 4, "result": 3}


def _answer(part: Part, charges=(), deductions=()) -> WrongAnswer:
    return WrongAnswer("probe", part.results[0].id, "probe", "", None, charges=tuple(charges),
                       deductions=tuple(deductions))


def _disagreements(parts: dict[str, Part]) -> list[str]:
    """Where the rubric's data no longer gives the key's decided scores."""
    found = [f"{a.id}: {part.points_for(a)}, decided {SCORES[a.id]}"
             for part in parts.values() for a in part.wrong_answers
             if a.id in SCORES and part.points_for(a) != SCORES[a.id]]
    db = parts["t1.db"]
    found += [f"t1.db with one error at {c}: {db.points_for(_answer(db, [c]))}, decided {score}"
              for c, score in T1_3_ONE_ERROR.items() if db.points_for(_answer(db, [c])) != score]
    return found


def test_every_common_answer_scores_as_the_key_decides():
    assert _disagreements(PARTS) == []


_T1_3 = PARTS["t1.db"].rubric.criteria


@pytest.mark.parametrize("first, second", [(x, y) for x, y in itertools.combinations(range(len(_T1_3)), 2)
                                           if _T1_3[x].points != _T1_3[y].points])   # others change nothing
def test_swapping_the_points_of_two_t1_3_criteria_is_caught(first, second):
    db = PARTS["t1.db"]
    criteria = list(db.rubric.criteria)
    a, b = criteria[first], criteria[second]
    criteria[first], criteria[second] = (dataclasses.replace(a, points=b.points),
                                         dataclasses.replace(b, points=a.points))
    swapped = dataclasses.replace(db, rubric=dataclasses.replace(db.rubric, criteria=tuple(criteria)))
    assert _disagreements({**PARTS, "t1.db": swapped})


def test_an_error_named_twice_is_charged_once_and_a_cap_or_zero_bounds_the_score():
    dx = PARTS["t1.dX"]
    dense = dx.rubric.deduction("dense")
    twice = _answer(dx, charges=dense.charges[:1], deductions=("dense",))
    assert dx.points_for(twice) == dx.points - sum(dx.rubric.criterion(c).points for c in dense.charges)
    assert dx.points_for(_answer(dx, deductions=("no-steps",))) == 0
    everything = _answer(dx, charges=[c.id for c in dx.rubric.criteria], deductions=("loss",))
    assert dx.points_for(everything) == 0
    capped = dataclasses.replace(dx, rubric=dataclasses.replace(
        dx.rubric, deductions=(*dx.rubric.deductions, Deduction("cap", "capped", "capped", cap=2))))
    assert capped.points_for(_answer(capped, deductions=("cap",))) == 2
    assert capped.points_for(_answer(capped, charges=["chain", "local", "border", "final"], deductions=("cap",))) == 1


def test_a_note_that_charges_no_criterion_of_its_part_is_refused_naming_the_module():
    part = PARTS["t2.tanh"]
    wrong = dataclasses.replace(part.wrong_answers[1], charges=("derivatve",))
    broken = dataclasses.replace(part, wrong_answers=(wrong,))
    units = [dataclasses.replace(u, declares=broken) if u.part is part else u for u in HW.units]
    with pytest.raises(HomeworkError, match=r"solutions/t2_tanh.py: part t2.tanh: wrong answer tanh-no-delta "
                                            r"charges 'derivatve'.*did you mean 'derivative'"):
        Homework.assemble("solutions", units)


def test_a_deduction_without_its_criterion_is_refused():
    part = PARTS["t1.db"]
    rubric = Rubric(part.rubric.criteria, (Deduction("odd", "odd", "odd", charges=("sum",)),), part.rubric.full_credit)
    broken = dataclasses.replace(part, rubric=rubric, wrong_answers=())
    t1 = next(u for u in HW.units if u.question is not None and u.question.id == "T1")
    question = dataclasses.replace(t1.question, parts=tuple(broken if p.id == "t1.db" else p
                                                            for p in t1.question.parts))
    units = [dataclasses.replace(u, declares=question) if u is t1 else u for u in HW.units]
    with pytest.raises(HomeworkError, match="deduction odd charges 'sum', which is no criterion"):
        Homework.assemble("solutions", units)


# a point count in prose ("keeps its 2", "3 of 5 points", "2 points off", "one point"): the documents
# print every count from the data, so the prose must not state one
_COUNT = re.compile(r"\b(\d+|one|two|three|four|five)\s+(of\s+\d+\s+)?points?\b|\bkeeps its \d|\bits \d+\b",
                    re.IGNORECASE)


def _prose(part: Part):
    rubric = part.rubric
    yield from ((f"criterion {c.id}", c.name + " " + c.text) for c in rubric.criteria)
    yield from ((f"deduction {d.id}", d.text) for d in rubric.deductions)
    yield from ((f"full credit {n}", text) for n, text in enumerate(rubric.full_credit))
    yield from ((f"note {a.id}", a.title + " " + a.why + " " + a.decision) for a in part.wrong_answers)


@pytest.mark.parametrize("part", HW.parts, ids=lambda p: p.label)
def test_the_rubric_prose_states_no_point_count(part):
    stated = [f"{where}: {_COUNT.search(text).group(0)!r}" for where, text in _prose(part) if _COUNT.search(text)]
    assert stated == []


def test_the_prose_check_finds_a_stated_count():
    assert _COUNT.search("a chain rule written as a sum keeps its 2.")
    assert _COUNT.search("3 of 5 points") and _COUNT.search("Lose 2 points") and _COUNT.search("one point")
    assert not _COUNT.search("the sum of Step 2 over 2 outputs")


def test_rubric_lookups_suggest_the_nearest_id():
    with pytest.raises(KeyError, match="did you mean 'chain'"):
        Rubric(PARTS["t1.db"].rubric.criteria).criterion("chian")


def test_a_max_pooling_answer_that_routes_delta_to_other_entries_loses_the_local_derivative_only():
    """Rule 3 at the front: the error arises in the local derivative; the result and the rule at ties
    follow from it (delta/d, or all of delta, to every entry) and keep their points."""
    part = PARTS["t2.maxpool"]
    for id_ in ("max-as-mean", "max-every-entry"):
        answer = next(a for a in part.wrong_answers if a.id == id_)
        assert [c.id for c in part.charged(answer)] == ["local"], id_
        assert part.points_for(answer) == part.points - part.rubric.criterion("local").points


def test_a_wrong_local_derivative_costs_the_same_in_both_poolings():
    """Max pooling answered as average pooling, and average pooling without its 1/d, are both a wrong local
    derivative: the key charges them alike, so that treating a max as a mean never costs less."""
    costs = {id_: PARTS[id_].rubric.criterion("local").points for id_ in ("t2.maxpool", "t2.avgpool")}
    assert len(set(costs.values())) == 1, costs
