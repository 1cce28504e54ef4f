"""The registry of a homework: discovered from its package, and refused when it does not make sense."""
from __future__ import annotations

import dataclasses

import pytest

from verify.homework import Criterion, Homework, HomeworkError, Part, Result, Rubric, Unit, load

HW = load("solutions")


def test_questions_and_parts_come_in_order_with_their_points():
    assert [q.number for q in HW.questions] == sorted(q.number for q in HW.questions)
    for question in HW.questions:
        assert [p.label for p in question.parts] == [f"{question.id}.{n}" for n in range(1, len(question.parts) + 1)]
    assert HW.points == sum(p.points for p in HW.parts)
    assert all(sum(c.points for c in p.rubric.criteria) == p.points for p in HW.parts)


def test_every_result_is_graded_by_exactly_one_part():
    assert sorted(HW.results) == sorted(r.id for p in HW.parts for r in p.results)
    assert all(HW.part_of(r.id) is p for p in HW.parts for r in p.results)


def test_the_conventions_of_t1_are_correlation_first_then_convolution():
    for result_id in ("t1.dX", "t1.dW", "t1.db"):
        assert list(HW.result(result_id).conventions) == ["correlation", "convolution"]
    assert list(HW.result("t2.tanh").conventions) == ["default"]


# a part that is a module of its own, whichever the homework has first
UNIT = next(u for u in HW.units if u.part is not None)
PART = UNIT.part
WHERE = f"solutions/{UNIT.module}.py: part {PART.id}"


def _units(**changes):
    units = list(HW.units)
    units[units.index(UNIT)] = dataclasses.replace(UNIT, **changes)
    return units


def test_a_part_without_a_result_is_an_error_naming_its_module():
    with pytest.raises(HomeworkError, match=f"{WHERE} has points but no gradable result"):
        Homework.assemble("solutions", _units(declares=dataclasses.replace(PART, results=())))


def test_a_result_with_no_points_is_an_error_naming_its_module():
    stray = Result("t9.stray", PART.results[0].conventions)
    with pytest.raises(HomeworkError, match=f"solutions/{UNIT.module}.py: result t9.stray has no points"):
        Homework.assemble("solutions", _units(results=(stray,)))


def test_a_rubric_that_does_not_add_up_is_an_error():
    short = dataclasses.replace(PART, rubric=Rubric((Criterion("one", 1, "one", "one point"),)))
    with pytest.raises(HomeworkError, match=f"its rubric gives 1 point, the part is worth {PART.points} points"):
        Homework.assemble("solutions", _units(declares=short))


def test_a_part_of_an_unknown_question_suggests_the_nearest():
    unknown = PART.question + "x"
    with pytest.raises(HomeworkError, match=f"names question '{unknown}'.*did you mean '{PART.question}'"):
        Homework.assemble("solutions", _units(declares=dataclasses.replace(PART, question=unknown)))


def test_two_parts_with_one_number_are_refused():
    taken = next(p.number for p in HW.parts if p.question == PART.question and p is not PART)
    with pytest.raises(HomeworkError, match="share a number"):
        Homework.assemble("solutions", _units(declares=dataclasses.replace(PART, number=taken)))


def test_the_registry_is_built_whole_and_cannot_be_changed_afterwards():
    with pytest.raises(dataclasses.FrozenInstanceError):
        HW.steps = {}   # type: ignore[misc]
    assert isinstance(HW.units, tuple) and isinstance(HW.questions, tuple)


def test_a_unit_declares_one_thing():
    for unit in HW.units:
        assert [unit.question, unit.part, unit.remark].count(None) == 2
        assert unit.declares in (unit.question, unit.part, unit.remark)


def test_the_identity_names_the_files_a_student_meets():
    assert HW.submission_file == f"hw{HW.identity.number}.py"
    assert HW.identity.starter_file == f"hw{HW.identity.number}-starter.py"


def test_a_package_without_an_identity_is_refused_naming_its_init(tmp_path, monkeypatch):
    (tmp_path / "nameless").mkdir()
    (tmp_path / "nameless" / "__init__.py").write_text("")
    monkeypatch.syspath_prepend(str(tmp_path))
    with pytest.raises(HomeworkError, match=r"nameless/__init__.py: declare IDENTITY"):
        Homework.discover("nameless")


def test_units_are_one_module_and_one_template():
    assert all(isinstance(u, Unit) and u.template == f"{u.module}.tex.j2" for u in HW.units)
    assert isinstance(HW.parts[0], Part)


def test_the_pdfs_keywords_follow_the_titles_of_the_questions_and_of_the_parts_in_modules_of_their_own():
    for title, keyword in (("Leaky ReLU", "leaky ReLU"), ("ReLU", "ReLU"), ("Max pooling", "max pooling")):
        retitled = Homework.assemble("solutions", _units(declares=dataclasses.replace(PART, title=title)))
        assert keyword in retitled.keywords, title
    own = {u.part.id for u in HW.units if u.part is not None}
    written_by_a_question = [p for p in HW.parts if p.id not in own and p.keywords is None]
    assert not {p.title.lower() for p in written_by_a_question} & {k.lower() for k in HW.keywords}
    assert len(set(HW.keywords)) == len(HW.keywords)      # each word once, however many units name it


def test_a_unit_may_name_its_own_keywords_instead_of_its_title():
    chosen = Homework.assemble("solutions", _units(declares=dataclasses.replace(PART, title="Something else",
                                                                                keywords=("alpha", "beta"))))
    assert {"alpha", "beta"} <= set(chosen.keywords) and "something else" not in chosen.keywords
    unit = next(u for u in HW.units if u.question is not None)
    untitled = dataclasses.replace(unit.question, title="Softmax with cross-entropy", keywords=None)
    units = [dataclasses.replace(u, declares=untitled) if u is unit else u for u in HW.units]
    assert "softmax with cross-entropy" in Homework.assemble("solutions", units).keywords
