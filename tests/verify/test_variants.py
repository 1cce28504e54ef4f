"""Per-student variants (verify.variants): declared by the parts, drawn per student, graded against their own.

Everything here reads the registry and the term's data: a parameter or a value an instructor adds
needs no edit here.
"""
from __future__ import annotations

import inspect
import math

import pytest

from verify import roster, variants
from verify.engine import check
from verify.homework import load

PACKAGE = "solutions"
EVERY = variants.variants(PACKAGE)
PARAMETERS = variants.parameters(PACKAGE)


def _slots(homework):
    """Each graded result by its place in the homework (question, part number), with its part."""
    return {(p.question, p.number): (p, r) for p in homework.parts for r in p.results}


def _forward(result) -> tuple[str, str]:
    """What a result asks for: its operation's name and its forward pass's code (a variant imports anew)."""
    operation = result.gradient().operation
    return operation.name, inspect.getsource(operation.forward)


def _differing_in(parameter: str) -> tuple[variants.Variant, variants.Variant]:
    """Two variants of this term that differ in `parameter` alone."""
    base = EVERY[0]
    other = next(v for v in EVERY if [pid for pid, value in v.choice if base.values[pid] != value] == [parameter])
    return base, other


def test_the_base_variant_is_the_homework_itself():
    base, homework = variants.load(PACKAGE, EVERY[0]), load(PACKAGE)
    assert base.variant == EVERY[0].name and homework.variant == ""
    assert list(base.results) == list(homework.results)
    assert all(base.steps[sid] is step for sid, step in homework.steps.items())


def test_every_parameter_that_varies_is_declared_by_a_unit_as_a_finite_set():
    term = variants.term(PACKAGE)
    assert term.vary and set(term.vary) <= set(PARAMETERS)
    assert len(EVERY) == math.prod(len(PARAMETERS[pid].values) for pid in term.vary)
    assert len({v.name for v in EVERY}) == len(EVERY)
    assert all(v.values[pid] == PARAMETERS[pid].values[0] for v in EVERY[:1] for pid in term.vary)


def test_the_assignment_is_deterministic_spread_and_moves_no_one_when_a_student_is_added():
    emails = [f"student{q}@example.edu" for q in range(200)]
    first = [variants.assign(e, PACKAGE).name for e in emails]
    assert first == [variants.assign(f"  {e.upper()} ", PACKAGE).name for e in emails]   # the email, trimmed
    assert len(set(first)) > len(EVERY) // 2
    # a student added (anywhere in the list): every other keeps the variant they had
    added = emails[:100] + ["new.student@example.edu"] + emails[100:]
    again = {e: variants.assign(e, PACKAGE).name for e in added}
    assert [again[e] for e in emails] == first


@pytest.mark.parametrize("parameter", variants.term(PACKAGE).vary)
def test_variants_that_differ_in_a_parameter_differ_in_what_it_declares(parameter):
    a, b = (variants.load(PACKAGE, v) for v in _differing_in(parameter))
    unit = PARAMETERS[parameter].unit
    # what the documents show: the templates' units, and the steps (every one checked) they display
    shown_a = {(u.template, sid, repr(s.sides), repr(s.at)) for u in a.units for s in u.steps for sid in [s.id]}
    shown_b = {(u.template, sid, repr(s.sides), repr(s.at)) for u in b.units for s in u.steps for sid in [s.id]}
    assert shown_a != shown_b
    # what does not depend on the parameter is the same in both
    others = [u.module for u in a.units if u.module != unit and u.module not in (PARAMETERS[parameter].modules or {}
                                                                                  ).values()]
    for module in others:
        ua, ub = (next(u for u in h.units if u.module == module) for h in (a, b))
        assert [s.id for s in ua.steps] == [s.id for s in ub.steps]


def test_a_correct_answer_for_one_variant_is_rejected_with_a_counterexample_for_another():
    """Wherever a variant asks another forward pass than the base homework, with another answer, the key's
    answer of each is right for it and wrong for the other, with a counterexample."""
    pairs, seen = 0, set()
    base = EVERY[0]
    base_slots = _slots(variants.load(PACKAGE, base))
    # a question depends on one parameter's value: the variants that change one parameter ask every question
    single = [v for v in EVERY if sum(base.values[pid] != value for pid, value in v.choice) == 1]
    for variant in single:
        for slot, (_part, result) in _slots(variants.load(PACKAGE, variant)).items():
            _, base_result = base_slots[slot]
            if _forward(result) == _forward(base_result) or result.gradient().formula == base_result.gradient().formula:
                continue   # the same question, or another forward pass with the same answer (a bias's sum)
            if (slot, _forward(result)) in seen:
                continue   # many variants share one question: each question is judged once
            seen.add((slot, _forward(result)))
            theirs = result.gradient().compiled()
            assert check(result.gradient(), theirs, seed=1).passed
            verdict = check(base_result.gradient(), theirs, seed=1)
            assert not verdict.passed and verdict.counterexample is not None, (variant.name, slot)
            mine = base_result.gradient().compiled()
            assert not check(result.gradient(), mine, seed=1).passed
            pairs += 1
    assert pairs, "some variants of this term ask a different forward pass"


def test_the_roster_reads_gradescopes_export_and_skips_the_staff(tmp_path):
    path = tmp_path / "roster.csv"
    path.write_text("\ufeffFirst Name,Last Name,SID,Email,Role,Sections\n"
                    "Ada,Lovelace,N1,ada@example.edu,Student,A\n"
                    "Tim,Tutor,,tim@example.edu,TA,\n"
                    "\n"
                    "Zoë,Müller,N3,ZM@example.edu,Student,B\n", encoding="utf-8")
    students = roster.read(path)
    assert [(s.name, s.sid, s.key) for s in students] == [("Ada Lovelace", "N1", "ada@example.edu"),
                                                          ("Zoë Müller", "N3", "zm@example.edu")]


@pytest.mark.parametrize("text, words", [
    ("First Name,Last Name,SID\nAda,L,1\n", ":1: no Email column"),
    ("Name,Email\nAda L,\n", ":2: no email"),
    ("Name,Email\nA,a@x.org\nB,A@x.org\n", ":3: A@x.org is also on line 2"),
    ("Name,Email\n", "no student"),
])
def test_a_roster_that_cannot_be_read_is_one_line_naming_the_place(tmp_path, text, words):
    path = tmp_path / "roster.csv"
    path.write_text(text)
    with pytest.raises(roster.RosterError) as raised:
        roster.read(path)
    assert words in str(raised.value) and "\n" not in str(raised.value)


def test_a_term_that_varies_what_no_unit_declares_names_the_file(monkeypatch):
    import solutions
    monkeypatch.setattr(solutions, "TERM", variants.Term(seed=1, vary=("t1.exampel",)))
    with pytest.raises(variants.VariantError, match=r"solutions/__init__.py: TERM varies 't1.exampel'"):
        variants.variants(PACKAGE)


@pytest.mark.parametrize("roster_text, words", [
    ("First Name,Last Name,SID\nAda,L,1\n", "roster.csv:1: no Email column"),
    ("First Name,Last Name,SID,Email\nAda,L,N1,ada@example.edu\n", "no student of the roster has this email or SID"),
])
def test_grading_with_a_roster_that_lacks_a_student_is_a_usage_error_before_any_grading(tmp_path, roster_text,
                                                                                       words):
    import contextlib
    import io
    import os

    from verify import cli
    (tmp_path / "class" / "bob@example.edu").mkdir(parents=True)
    (tmp_path / "class" / "bob@example.edu" / "hw4.py").write_text("def t1_db(X, W, b, delta):\n    return 0\n")
    (tmp_path / "roster.csv").write_text(roster_text)
    err, before = io.StringIO(), os.getcwd()
    os.chdir(tmp_path)
    try:
        with contextlib.redirect_stderr(err), contextlib.redirect_stdout(io.StringIO()):
            code = cli.main(["grade", "class", "--roster", "roster.csv", "--csv", "out/grades.csv"])
    finally:
        os.chdir(before)
    assert code == 2
    lines = err.getvalue().splitlines()
    assert len(lines) == 1 and lines[0].startswith("error: ") and words in lines[0]
    assert not (tmp_path / "out" / "grades.csv").exists()
