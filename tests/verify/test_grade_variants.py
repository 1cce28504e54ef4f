"""Grading a class against each student's own variant: `grade --roster` and Gradescope's autograder.

The students' files are made from the registry: the results every variant shares take the answers of
test_grade's CORRECT; a result of a variant's own (another activation) takes an answer computed by
the complex step on that variant's forward pass, which the key judges first (so an added part whose
forward pass is not entry by entry fails here, clearly, instead of passing by luck).
"""
from __future__ import annotations

import csv
import inspect
import json
import subprocess
import sys
import textwrap

import numpy as np
import pytest

from verify import grade, gradescope, variants
from verify.engine import check

from .test_grade import CORRECT, environment

pytestmark = pytest.mark.sandbox
PACKAGE = "solutions"

OPS_SHIM = '''
class ops:   # the few verify.ops a forward pass uses, on complex numbers (for the complex step)
    # the real part held below float's overflow: a saturated entry (x = -1000) must not turn the step
    # into inf * 0j = NaN, as a student's stable sigmoid would not
    exp = staticmethod(lambda z: np.exp(np.clip(np.real(z), -700, 700) + 1j * np.imag(z)))
    log = staticmethod(np.log)
    tanh = staticmethod(np.tanh)
    absolute = staticmethod(lambda z: np.where(np.real(z) < 0, -z, z))
'''


def _step_answer(name: str, result) -> str:
    """`name(x, delta)`: delta times the slope of the result's forward pass, by the complex step."""
    forward = textwrap.dedent(inspect.getsource(result.gradient().operation.forward)).replace(
        "def forward(", f"def _forward_{name}(", 1)
    return (f"\n\n{forward}\n\ndef {name}(x, delta):\n"
            f"    return delta * np.imag(_forward_{name}(np.asarray(x) + 1e-30j)) / 1e-30\n")


def source(homework, answers_of=None) -> str:
    """A file with a right answer for every result of `homework`; a result of its own answered as the
    same place of `answers_of` would be (a friend's variant) when that is given."""
    text, friend = CORRECT + OPS_SHIM, answers_of or homework
    theirs = {(p.question, p.number): r for p in friend.parts for r in p.results}
    for part in homework.parts:
        for result in part.results:
            answered_as = theirs[(part.question, part.number)]
            if _forward(answered_as) == _base_forward(result):
                continue   # CORRECT answers the base homework's forward passes; a part no variant varies that
                #            CORRECT does not answer (one an instructor added) is left unanswered
            text += _step_answer(result.function_name, answered_as)   # defined again: this one counts
    return text


def _base_forward(result):
    return _forward(BASE.result(result.id)) if result.id in BASE.results else None


def answered(homework) -> list[str]:
    """The results `source(homework)` answers: CORRECT's, and the variant's own."""
    return [r.id for r in homework.results.values()
            if f"def {r.function_name}(" in CORRECT or _forward(r) != _base_forward(r)]


def answered_points(homework) -> float:
    return sum(grade.points_of(homework, r) for r in answered(homework))


BASE = variants.load(PACKAGE, variants.variants(PACKAGE)[0])


def _answerable(homework) -> bool:
    """Whether `source` can write right answers for the variant: each result is the base's (CORRECT answers
    it) or entry by entry on one vector (the complex step answers it)."""
    for result in homework.results.values():
        same = result.id in BASE.results and _forward(result) == _forward(BASE.result(result.id))
        operation = result.gradient().operation
        if not same and len(operation.inputs) != 1:
            return False
    return True


def _own_result(homework):
    """The result of the homework that the base homework does not have (another activation)."""
    base = variants.load(PACKAGE, variants.variants(PACKAGE)[0])
    return next(r for r in homework.results.values() if r.id not in base.results)


def _students_of_two_forward_passes():
    """Two emails whose variants ask for different forward passes (other activations)."""
    found: dict[str, tuple[str, object]] = {}
    for q in range(1000):
        email = f"student{q}@example.edu"
        homework = variants.load(PACKAGE, variants.assign(email, PACKAGE))
        if not _answerable(homework):
            continue
        own = [r for r in homework.results.values() if f"def {r.function_name}(" not in CORRECT]
        key = own[0].id if own else ""
        if own and key not in found:
            found[key] = (email, homework)
        if len(found) == 2:
            return list(found.values())
    pytest.skip("this term's variants share every forward pass")


@pytest.fixture(scope="module")
def two(tmp_path_factory):
    (a_email, a), (b_email, b) = _students_of_two_forward_passes()
    root = tmp_path_factory.mktemp("variants")
    # the generated answer is right, judged in-process by the key before any student's file uses it
    namespace: dict = {}
    exec(compile(source(a), "answer", "exec"), namespace)   # noqa: S102 - our own generated code
    own = _own_result(a)
    assert check(own.gradient(), namespace[own.function_name], seed=3).passed
    (root / "roster.csv").write_text("First Name,Last Name,SID,Email,Role\n"
                                     f"Ada,A,N1,{a_email},Student\nBob,B,N2,{b_email},Student\n")
    for email, homework in ((a_email, a), (b_email, b)):
        (root / "class" / email).mkdir(parents=True)
        (root / "class" / email / "hw4.py").write_text(source(homework))
    # Cy hands in a friend's answers (Ada's or Bob's, whichever variant asks another forward pass than
    # Cy's) under Cy's own function names: right for the friend, wrong for Cy
    cy_email = next(e for e in (f"cy{q}@example.edu" for q in range(1000))
                    if _answerable(variants.load(PACKAGE, variants.assign(e, PACKAGE))))
    cy = variants.load(PACKAGE, variants.assign(cy_email, PACKAGE))
    friend = next(h for h in (a, b) if _differing(cy, h))
    (root / "class" / "N3").mkdir()
    (root / "class" / "N3" / "hw4.py").write_text(source(cy, answers_of=friend))
    with (root / "roster.csv").open("a") as file:
        file.write(f"Cy,C,N3,{cy_email},Student\n")
    return root, (a_email, a), (b_email, b), (cy, friend)


def _forward(result) -> tuple[str, str]:
    operation = result.gradient().operation
    return operation.name, inspect.getsource(operation.forward)


def _differing(mine, theirs) -> set[str]:
    """My result ids at the places where the other variant asks another forward pass."""
    other = {(p.question, p.number): r for p in theirs.parts for r in p.results}
    return {r.id for p in mine.parts for r in p.results if _forward(r) != _forward(other[(p.question, p.number)])
            and r.gradient().formula != other[(p.question, p.number)].gradient().formula}


def test_each_student_gets_every_point_for_their_own_variant_and_the_feedback_names_it(two):
    root, (a_email, a), (b_email, b), _ = two
    done = subprocess.run([sys.executable, "-m", "verify", "grade", "class", "--roster", "roster.csv",
                           "--csv", "out/grades.csv", "--seed", "7", "--jobs", "2", "--timeout", "5"],
                          cwd=root, env=environment(), capture_output=True, text=True, timeout=1800)
    assert done.returncode == 0, done.stderr
    wide = {row["submission"]: row for row in csv.DictReader((root / "out" / "grades-wide.csv").open())}
    for email, homework in ((a_email, a), (b_email, b)):
        assert float(wide[email]["Total Score"]) == answered_points(homework)
        assert float(wide[email]["Max Points"]) == homework.points
        feedback = (root / "out" / "feedback" / f"{email}.txt").read_text()
        assert f"Your variant: {homework.variant}" in feedback


def test_a_friends_correct_code_for_another_variant_is_wrong_with_a_counterexample(two):
    root, _, _, (cy, friend) = two
    done = subprocess.run([sys.executable, "-m", "verify", "grade", "class", "--roster", "roster.csv",
                           "--csv", "out2/grades.csv", "--seed", "7", "--jobs", "2", "--timeout", "5"],
                          cwd=root, env=environment(), capture_output=True, text=True, timeout=1800)
    assert done.returncode == 0, done.stderr
    rows = {row["result"]: row for row in csv.DictReader((root / "out2" / "grades.csv").open())
            if row["submission"] == "N3"}
    differing = _differing(cy, friend)
    assert differing and {r for r, row in rows.items() if row["verdict"] == "wrong"} == differing, rows
    assert all(rows[r]["verdict"] == "correct" for r in answered(cy) if r not in differing)
    feedback = (root / "out2" / "feedback" / "N3.txt").read_text()
    assert "counterexample" in feedback.lower() and f"Your variant: {cy.variant}" in feedback


def test_gradescope_grades_the_submitter_against_their_variant(two, tmp_path):
    root, (a_email, a), _, _ = two
    (tmp_path / "submission").mkdir()
    (tmp_path / "submission" / "hw4.py").write_text((root / "class" / a_email / "hw4.py").read_text())
    (tmp_path / "submission_metadata.json").write_text(json.dumps({"users": [{"email": a_email.upper()}]}))
    results = gradescope.run(tmp_path, seed=5, timeout=5)
    assert results["score"] == answered_points(a)
    assert f"Your variant: {a.variant}" in results["output"]
    assert np.isclose(sum(t["max_score"] for t in results["tests"]), a.points)
    assert sum(t["status"] == "passed" for t in results["tests"]) == len(answered(a))


def test_a_group_is_graded_in_one_variant_whatever_order_gradescope_lists_it(two, tmp_path):
    root, (a_email, a), (b_email, b), _ = two
    members = [{"email": a_email}, {"email": b_email}]
    chosen = min((a_email, b_email), key=str.casefold)
    for order in (members, members[::-1]):
        metadata = tmp_path / f"metadata-{order[0]['email']}.json"
        metadata.write_text(json.dumps({"users": order}))
        assert gradescope.student_variant(BASE, metadata).variant == variants.assign(chosen, PACKAGE).name

