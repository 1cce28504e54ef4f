"""The checks of a build: one count, a failure named by question, step and module, a cache that is honest."""
from __future__ import annotations

import dataclasses

import pytest
import sympy as sp

from pipeline import checks
from pipeline.errors import CheckFailed
from verify.homework import Homework

from ..conftest import ROOT


def test_one_count_of_checks_everywhere(homework, verification):
    rows = verification.rows()
    assert len(rows) == checks.count(homework) == len(homework.steps) + len(checks.wrong_answers(homework))
    report = checks.report(verification, {"commit": "c", "checks": checks.count(homework)})
    assert report["checks"] == report["passed"] == len(report["rows"]) == checks.count(homework)
    assert checks.table(verification).endswith(f"{len(rows)} of {len(rows)} checks passed")


def _with_step(homework, step_id, **changes) -> Homework:
    units = []
    for unit in homework.units:
        steps = tuple(dataclasses.replace(s, **changes) if s.id == step_id else s for s in unit.steps)
        units.append(dataclasses.replace(unit, steps=steps))
    return Homework.assemble(homework.package, units)


def _warm(warm_cache, tmp_path):
    """A copy of the run's warm cache: only a step that changed is checked again (the cache's own test
    below proves that a changed step is never taken from it)."""
    cache = tmp_path / "verify-cache.json"
    cache.write_bytes(warm_cache.read_bytes())
    return cache


def test_a_wrong_step_names_the_question_the_step_its_module_and_a_counterexample(homework, warm_cache, tmp_path):
    step = homework.steps["t2.avgpool.local"]
    broken = _with_step(homework, "t2.avgpool.local", sides=(step.sides[0], 2 / step.sides[-1].args[0] ** 1))
    with pytest.raises(CheckFailed) as failure:
        checks.run(broken, _warm(warm_cache, tmp_path), workers=1)
    message = str(failure.value)
    written = step.origin
    assert written.startswith("solutions/t2_avgpool.py:")
    source_line = (ROOT / written.split(":")[0]).read_text().splitlines()[int(written.split(":")[1]) - 1]
    assert "t2.avgpool.local" in source_line   # the line that writes the step
    assert message.startswith(f"check failed: question T2, step t2.avgpool.local ({written})")
    assert "at d = " in message and message.count("side 1 =") == 1   # the block once
    assert "x_0" not in message   # numbers at the counterexample's inputs, not symbols numbered from 0


def test_a_failed_step_shows_its_sides_as_numbers_at_the_counterexample(homework, warm_cache, tmp_path):
    step = homework.steps["t2.tanh.local"]
    broken = _with_step(homework, "t2.tanh.local", sides=(step.sides[0], sp.Add(step.sides[1], 1, evaluate=False)))
    with pytest.raises(CheckFailed) as failure:
        checks.run(broken, _warm(warm_cache, tmp_path), workers=1)
    sides = [line.split("=", 1)[1].strip() for line in str(failure.value).splitlines() if "side " in line]
    assert len(sides) == 2 and abs(float(sides[1]) - float(sides[0]) - 1) < 1e-5


def test_a_note_that_contradicts_its_verdict_stops_the_build(homework):
    part = homework.parts[2]
    answer = next(a for a in part.wrong_answers if a.id == "db-mean")
    flipped = dataclasses.replace(answer, accepted=True)
    with pytest.raises(CheckFailed, match="note db-mean .* says the answer is right, but verify rejects it"):
        checks._require_judgment(checks.judge(homework, part, flipped)[0])


def test_a_case_graded_apart_whose_formula_is_right_stops_the_build(homework):
    # the grader awards a case's formula the case's points: a right one there would cost right answers points
    part = homework.part_of("t1.dX")
    answer = next(a for a in part.wrong_answers if a.case is not None and a.case.formula is not None)
    checks.check_case(homework, part, answer)
    right = homework.result("t1.dX").gradient(answer.case.convention).formula
    broken = dataclasses.replace(answer, case=dataclasses.replace(answer.case, formula=right))
    with pytest.raises(CheckFailed, match=f"note {answer.id} .*its case: the case's formula is right"):
        checks.check_case(homework, part, broken)


def test_a_second_run_reuses_every_verdict_and_a_changed_step_is_checked_again(homework, warm_cache, tmp_path,
                                                                                monkeypatch):
    cache = tmp_path / "cache.json"
    cache.write_bytes(warm_cache.read_bytes())

    def refuse(step):
        raise AssertionError(f"{step.id} was checked again although nothing it depends on changed")
    monkeypatch.setattr(checks, "check_step", refuse)
    monkeypatch.setattr(checks.engine, "check", refuse)
    checks.run(homework, cache, workers=1)
    step = homework.steps["t2.tanh.local"]
    changed = _with_step(homework, "t2.tanh.local", sides=(step.sides[0], sp.Add(step.sides[1], 0, evaluate=False)))
    with pytest.raises(AssertionError, match="t2.tanh.local was checked again"):
        checks.run(changed, cache, workers=1)


def test_every_wrong_answer_is_judged_as_its_note_says(verification):
    for note in verification.notes:
        assert note.verdict.passed == note.answer.accepted, note.answer.id
        if not note.answer.accepted:
            assert {"inputs", "returned"} <= set(note.steps), note.answer.id
        if note.answer.quote is not None:
            assert "reading" in note.steps
    smallest = [n for n in verification.notes if n.smallest]
    assert smallest, "the notes call a counterexample smallest only when the search found it"


def test_a_sigterm_while_a_wrong_answer_runs_stops_the_build_instead_of_becoming_its_verdict(homework, monkeypatch):
    # The grading key's wrong answers run as candidates in the build's own process, and the engine
    # turns whatever a candidate raises (SystemExit too) into a verdict: the build's handler must
    # raise something the engine lets through, or a SIGTERM that lands there is lost.
    import os
    import signal

    import build as build_script
    from verify.homework import WrongAnswer

    def signalled(*args):
        os.kill(os.getpid(), signal.SIGTERM)
        raise AssertionError("the handler raises before this line")

    monkeypatch.setattr(WrongAnswer, "function", lambda self, result: signalled)
    monkeypatch.setattr(build_script, "_STOPPED", [])   # what the handler records stays in this test
    previous = signal.signal(signal.SIGTERM, build_script._stop)
    try:
        part, answer = checks.wrong_answers(homework)[0]
        with pytest.raises(KeyboardInterrupt) as stopped:
            checks.judge(homework, part, answer)
    finally:
        signal.signal(signal.SIGTERM, previous)
    assert getattr(stopped.value, "exit_code", None) == 128 + signal.SIGTERM


def test_a_counterexample_in_the_key_shows_the_integer_settings_too():
    # an operation with a setting (an integer argument after delta in the candidate's signature)
    from verify.engine import Gradient
    from verify.homework import Criterion, Part, Question, Result, Rubric, Unit, WrongAnswer
    from verify.identity import HomeworkIdentity
    from verify.operation import Operation
    from verify.steps import check_step

    d, s = sp.Symbol("d", integer=True, positive=True), sp.Symbol("s", integer=True, positive=True)
    delta = sp.IndexedBase("delta")
    scaled = Operation("t9.scaled", lambda x, s: s * x, ("x", "s"), {"x": (d,)}, "z",
                       exact_sizes=({"d": 2, "s": 3}, {"d": 3, "s": 2}), float_sizes=({"d": 4, "s": 3},),
                       size_ranges={"d": (1, 9), "s": (2, 5)}, index_base=1)
    result = Result("t9.scaled", {"default": Gradient(scaled, "x", s * delta)})
    answer = WrongAnswer("scaled-no-s", "t9.scaled", "without s", "s is lost", delta)
    part = Part("t9.scaled", "Scaled", 1, (result,), Rubric(criteria=(Criterion("all", 1, "all", "all"),)), (answer,))
    homework = Homework.assemble("t9", [Unit("t9", Question("T9", 9, "Scaled", (part,)))],
                                 HomeworkIdentity("A course", "C.1", 9, "An instructor"))
    note, _ = checks.judge(homework, homework.parts[0], answer)
    shown = note.steps["inputs"]
    assert sp.Symbol("s") in [sp.Symbol(q.name) for q in shown.sides[0].args if isinstance(q, sp.Symbol)]
    assert len(shown.sides[0].args) == len(shown.sides[1].args) == 3      # x, delta and s
    assert check_step(shown).passed and check_step(note.steps["returned"]).passed
