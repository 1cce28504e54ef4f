"""`make variants ROSTER=...` (pipeline/variants.py): a variant per student, every one checked first.

The cheap tests (the plan of a roster, the stamp) run in the everyday loop; building a class of 200
students typesets every distinct variant and is marked latex.
"""
from __future__ import annotations

import csv
import json
import shutil
import subprocess
import sys
from pathlib import Path

import pytest
from pypdf import PdfReader, PdfWriter

from pipeline import variants as per_student
from pipeline.stamp import stamp
from verify import variants

from ..conftest import copy_project, edit

PACKAGE = "solutions"


def write_roster(path: Path, count: int, extra: tuple[str, ...] = (), among: int | None = None) -> Path:
    """A roster of `count` students; with `among`, students whose variants are among the term's first
    `among` (a class over at most that many distinct variants)."""
    allowed = {v.name for v in variants.variants(PACKAGE)[:among]} if among else None
    numbers = (q for q in range(100 * count) if allowed is None
               or variants.assign(f"student{q}@example.edu", PACKAGE).name in allowed)
    lines = ["First Name,Last Name,SID,Email,Role,Sections"]
    lines += [f"First{q},Last{q},N{10000 + q},student{q}@example.edu,Student," for q, _ in zip(numbers, range(count))]
    lines += list(extra)
    path.write_text("\n".join(lines) + "\n")
    return path


def test_a_roster_of_200_gets_a_variant_each_from_at_most_the_terms_and_keeps_them_when_one_joins(tmp_path):
    plan = per_student.plan(PACKAGE, write_roster(tmp_path / "roster.csv", 200))
    assert len(plan.students) == 200 and len(plan.assigned) == 200
    every = [v.name for v in variants.variants(PACKAGE)]
    assert [v.name for v in plan.distinct] == [n for n in every if n in {v.name for v in plan.assigned.values()}]
    assert 1 < len(plan.distinct) <= len(every)
    again = per_student.plan(PACKAGE, write_roster(tmp_path / "more.csv", 200, (
        "New,Student,N1,new.student@example.edu,Student,",)))
    assert all(again.assigned[key] == variant for key, variant in plan.assigned.items())


def test_a_bad_roster_stops_with_one_line_and_its_own_exit_code(tmp_path):
    (tmp_path / "roster.csv").write_text("First Name,Last Name,SID\nAda,L,1\n")
    with pytest.raises(per_student.RosterInvalid) as raised:
        per_student.plan(PACKAGE, tmp_path / "roster.csv")
    assert raised.value.exit_code == 9 and "roster.csv:1: no Email column" in str(raised.value)


def test_the_stamp_adds_a_line_to_the_first_page_and_keeps_the_document(tmp_path):
    writer = PdfWriter()
    for _ in range(2):
        writer.add_blank_page(612, 792)
    source = tmp_path / "handout.pdf"
    with source.open("wb") as file:
        writer.write(file)
    stamp(source, tmp_path / "stamped.pdf", "Zoë Müller   SID N3   zm@example.edu   variant x")
    stamped = (tmp_path / "stamped.pdf").read_bytes()
    assert stamped.startswith(source.read_bytes())           # an incremental update: the original is kept
    pages = PdfReader(tmp_path / "stamped.pdf").pages
    assert len(pages) == 2
    assert "Zoë Müller   SID N3" in pages[0].extract_text() and "Zoë" not in pages[1].extract_text()


@pytest.fixture
def project(tmp_path, warm_cache):
    """A copy of the project whose variants' checks start from the warm cache of the base homework."""
    copy = copy_project(tmp_path / "project")
    (copy / "build" / "variants").mkdir(parents=True)
    shutil.copy(warm_cache, copy / "build" / "variants" / "verify-cache.json")
    return copy


def run_variants(project: Path, roster: Path, timeout: float = 1200) -> subprocess.CompletedProcess:
    return subprocess.run([sys.executable, "build.py", "variants", "--roster", str(roster)], cwd=project,
                          env={**__import__("os").environ, "PYTHONPATH": str(project)}, capture_output=True,
                          text=True, timeout=timeout)


def pdf_text(pdf: Path) -> str:
    return subprocess.run(["pdftotext", "-layout", str(pdf), "-"], capture_output=True, text=True, check=True).stdout


@pytest.mark.latex
def test_a_class_of_200_builds_a_handout_each_and_the_variants_differ(project, tmp_path):
    roster = write_roster(tmp_path / "roster.csv", 200, among=16)
    done = run_variants(project, roster)
    assert done.returncode == 0, done.stderr
    out = project / "output"
    with (out / "variants.csv").open() as file:
        table = list(csv.DictReader(file))
    assert len(table) == 200
    plan = per_student.plan(PACKAGE, roster)
    assert {row["Variant"] for row in table} == {v.name for v in plan.distinct}
    assert sorted(p.name for p in (out / "variants").iterdir()) == sorted([*(v.name for v in plan.distinct),
                                                                         "students"])
    from pipeline import checks
    for variant in plan.distinct:
        names = {p.name for p in (out / "variants" / variant.name).iterdir()}
        assert names == {"hw4.pdf", "hw4-solutions.pdf", "hw4-grading.pdf", "hw4-starter.py", "verify-report.json"}
        report = json.loads((out / "variants" / variant.name / "verify-report.json").read_text())
        assert report["checks"] == report["passed"] == checks.count(variants.load(PACKAGE, variant))
    for row in table[:3]:
        first_page = pdf_text(project / "output" / row["Handout"]).split("\f")[0]
        assert f"{row['First Name']} {row['Last Name']}" in first_page and row["SID"] in first_page
        assert row["Variant"] in first_page
    # two students whose variants ask different parts: their questions, solutions and keys differ
    by_variant = {row["Variant"]: row for row in table}
    homeworks = {name: variants.load(PACKAGE, name) for name in by_variant}
    a, b = next((x, y) for x in homeworks for y in homeworks
                if set(homeworks[x].results) != set(homeworks[y].results))
    for document in ("hw4.pdf", "hw4-solutions.pdf", "hw4-grading.pdf", "hw4-starter.py"):
        texts = [(out / "variants" / v / document) for v in (a, b)]
        read = [pdf_text(p) if p.suffix == ".pdf" else p.read_text() for p in texts]
        assert read[0].replace(a, "") != read[1].replace(b, ""), document
    handouts = [pdf_text(project / "output" / by_variant[v]["Handout"]) for v in (a, b)]
    only_a = set(homeworks[a].results) - set(homeworks[b].results)
    assert all(homeworks[a].part_of(r).title in handouts[0] for r in only_a)
    assert not any(homeworks[a].part_of(r).title in handouts[1] for r in only_a)


@pytest.mark.latex
def test_a_failed_check_in_one_variant_names_it_and_writes_nothing(project, tmp_path):
    """A variant's part broken: the error names the variant, the question, the step and the counterexample;
    the outputs of the run before are gone, and nothing was typeset."""
    every = variants.variants(PACKAGE)
    base = variants.load(PACKAGE, every[0])
    broken = next(v for v in every if set(variants.load(PACKAGE, v).results) != set(base.results))
    homework = variants.load(PACKAGE, broken)
    own = next(u for u in homework.units if u.part is not None and u.part.id not in {p.id for p in base.parts})
    step = next(s for s in own.steps if s.kind.value == "derivation")
    source = project / PACKAGE / f"{own.module}.py"
    # the step's id in its module, and a sign turned in the line that writes it
    line = next(q for q in source.read_text().splitlines() if f'"{step.id}"' in q)
    assert "delta_v[i]" in line or "delta_v[k]" in line, line
    edit(source, line, line.replace("delta_v[k]", "(-delta_v[k])", 1).replace("delta_v[i]", "(-delta_v[i])", 1))
    (project / "output" / "variants" / "old").mkdir(parents=True)
    (project / "output" / "variants" / "old" / "hw4.pdf").write_bytes(b"%PDF stale")
    (project / "output" / "variants.csv").write_text("stale\n")
    emails = [f"s{q}@example.edu" for q in range(400)]
    student = next(e for e in emails if variants.assign(e, PACKAGE) == broken)
    roster = tmp_path / "roster.csv"
    roster.write_text(f"First Name,Last Name,SID,Email\nA,B,N1,{student}\n")
    done = run_variants(project, roster, timeout=600)
    assert done.returncode == 5, done.stderr
    first = done.stderr.splitlines()[0]
    assert first.startswith(f"error: variant {broken.name}: check failed: question {own.part.question}, step "), first
    assert "counterexample" in done.stderr
    assert not (project / "output" / "variants").exists() and not (project / "output" / "variants.csv").exists()
    assert not list((project / "build" / "variants").glob("*/out/*.pdf"))


def test_a_check_that_variants_share_runs_once(tmp_path, warm_cache, monkeypatch):
    """With the base homework's checks cached, checking the base and another variant runs the other's own
    steps alone: each step whose displayed content differs from every step checked before it."""
    from pipeline import checks
    every = variants.variants(PACKAGE)
    other = every[-1]
    cache = tmp_path / "verify-cache.json"
    shutil.copy(warm_cache, cache)
    ran: list[str] = []
    real = checks.check_step
    monkeypatch.setattr(checks, "check_step", lambda step: ran.append(step.id) or real(step))
    per_student.check_all(PACKAGE, [every[0], other], cache)
    base, varied = (variants.load(PACKAGE, v) for v in (every[0], other))
    fingerprint = checks._fingerprint()
    known = {checks._step_key(step, fingerprint) for step in base.steps.values()}
    new = [sid for sid, step in varied.steps.items() if checks._step_key(step, fingerprint) not in known]
    assert new and sorted(set(ran) & set(varied.steps)) == sorted(new)
    assert len(new) < len(varied.steps) / 2
