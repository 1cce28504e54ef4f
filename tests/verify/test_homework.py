"""The registry of a homework: discovered from its package, and refused when it does not make sense."""
from __future__ import annotations

import dataclasses

import pytest

from verify.homework import Criterion, Homework, HomeworkError, Part, Result, Rubric, Unit, load

HW = load("solutions")


def test_questions_and_parts_come_in_order_with_their_points():
    assert [q.id for q in HW.questions] == ["T1", "T2"]
    assert [p.label for p in HW.parts] == ["T1.1", "T1.2", "T1.3", "T2.1", "T2.2", "T2.3"]
    assert HW.points == sum(p.points for p in HW.parts)
    assert all(sum(c.points for c in p.rubric.criteria) == p.points for p in HW.parts)


def test_every_result_is_graded_by_exactly_one_part():
    assert sorted(HW.results) == sorted(r.id for p in HW.parts for r in p.results)
    assert HW.part_of("t2.maxpool").label == "T2.2"


def test_the_conventions_of_t1_are_correlation_first_then_convolution():
    for result_id in ("t1.dX", "t1.dW", "t1.db"):
        assert list(HW.result(result_id).conventions) == ["correlation", "convolution"]
    assert list(HW.result("t2.tanh").conventions) == ["default"]


def _units(**changes):
    units = list(HW.units)
    t2 = next(u for u in units if u.part is not None and u.part.id == "t2.tanh")
    units[units.index(t2)] = dataclasses.replace(t2, **changes)
    return units


def test_a_part_without_a_result_is_an_error_naming_its_module():
    part = next(u.part for u in HW.units if u.part is not None and u.part.id == "t2.tanh")
    no_result = dataclasses.replace(part, results=())
    with pytest.raises(HomeworkError, match=r"solutions/t2_tanh.py: part t2.tanh has points but no gradable result"):
        Homework.assemble("solutions", _units(part=no_result))


def test_a_result_with_no_points_is_an_error_naming_its_module():
    stray = Result("t2.stray", HW.result("t2.tanh").conventions)
    with pytest.raises(HomeworkError, match=r"solutions/t2_tanh.py: result t2.stray has no points"):
        Homework.assemble("solutions", _units(results=(stray,)))


def test_a_rubric_that_does_not_add_up_is_an_error():
    part = next(u.part for u in HW.units if u.part is not None and u.part.id == "t2.tanh")
    short = dataclasses.replace(part, rubric=Rubric((Criterion("one", 1, "one", "one point"),)))
    with pytest.raises(HomeworkError, match="its rubric gives 1 points, the part is worth 5"):
        Homework.assemble("solutions", _units(part=short))


def test_a_part_of_an_unknown_question_suggests_the_nearest():
    part = next(u.part for u in HW.units if u.part is not None and u.part.id == "t2.tanh")
    with pytest.raises(HomeworkError, match="names question 'T3'"):
        Homework.assemble("solutions", _units(part=dataclasses.replace(part, question="T3")))


def test_two_parts_with_one_number_are_refused():
    part = next(u.part for u in HW.units if u.part is not None and u.part.id == "t2.tanh")
    with pytest.raises(HomeworkError, match="share a number"):
        Homework.assemble("solutions", _units(part=dataclasses.replace(part, number=2)))


def test_units_are_one_module_and_one_template():
    assert all(isinstance(u, Unit) and u.template == f"{u.module}.tex.j2" for u in HW.units)
    assert isinstance(HW.parts[0], Part)
