"""End to end, with real LaTeX: three PDFs, and no PDF that looks good after a failure or an interruption."""
from __future__ import annotations

import dataclasses
import json
import os
import re
import shutil
import signal
import subprocess
import sys
import time
from pathlib import Path

import pytest

import build
from pipeline import load, provenance
from pipeline.errors import CheckFailed, LatexFailed

from .conftest import ROOT, copy_project, edit, make_args, make_env, page_images, typeset_now

pytestmark = pytest.mark.latex

# the questions' own prose; what the registry says (titles, points) is in question_text()
QUESTION_PROSE = [
    "Gradient of the loss function L with respect to the inputs X",
    "Gradient of the loss function L with respect to the weights W",
    "Gradient of the loss function L with respect to the bias b",
    "No points will be given if only the final expression is provided without the steps",
]
SOLUTION_TEXT = ["Solution", "chain rule", "worked example", "Indices from 1", "Goodfellow"]
# the two readings of T1, which the solutions derive; the handout's added note names them too
CONVENTION_TEXT = ["cross-correlation", "true convolution"]
GRADING_TEXT = ["Rubric for", "Deductions", "Full credit also goes to", "Grading:"]


def question_text(homework) -> list[str]:
    """What every document prints of the registry: the header, each question with its points, each part."""
    identity = homework.identity
    return [f"{identity.course} ({identity.code}): {identity.title}", f"Instructor: {identity.instructor}",
            *(f"Question {q.id}: {q.title} ({sum(p.points for p in q.parts)} points)" for q in homework.questions),
            *QUESTION_PROSE]


def pdf_text(path: Path) -> str:
    text = subprocess.run(["pdftotext", "-layout", str(path), "-"], capture_output=True, text=True, check=True).stdout
    return " ".join(text.split())


def pdf_info(path: Path) -> dict[str, str]:
    out = subprocess.run(["pdfinfo", str(path)], capture_output=True, text=True, check=True).stdout
    return {key.strip(): value.strip() for key, _, value in (line.partition(":") for line in out.splitlines())}


@pytest.fixture(scope="module")
def built(tmp_path_factory, warm_cache):
    base = tmp_path_factory.mktemp("e2e")
    paths = build.Paths(build=base / "build", output=base / "output")
    paths.build.mkdir()
    shutil.copy(warm_cache, paths.cache)
    build.build(paths)
    return paths


def test_the_handout_has_every_question_and_nothing_else(built, homework):
    text = pdf_text(built.output / "hw4.pdf")
    for phrase in question_text(homework):
        assert phrase in text, phrase
    for phrase in SOLUTION_TEXT + GRADING_TEXT:
        assert phrase not in text, phrase
    points = " ".join(str(sum(p.points for p in q.parts)) for q in homework.questions)
    assert f"Points {points} {homework.points}" in text


def test_the_solutions_have_both_conventions_and_no_grading_material(built, homework):
    text = pdf_text(built.output / "hw4-solutions.pdf")
    for phrase in question_text(homework) + SOLUTION_TEXT + CONVENTION_TEXT:
        assert phrase in text, phrase
    for phrase in GRADING_TEXT:
        assert phrase not in text, phrase
    assert text.count("Solution.") == len(load.load().parts)


def test_the_grading_key_has_a_rubric_and_notes_for_every_part(built, homework):
    text = pdf_text(built.output / "hw4-grading.pdf")
    for phrase in SOLUTION_TEXT + GRADING_TEXT:
        assert phrase in text, phrase
    for part in homework.parts:
        # the variable of a title is set in math (an italic W): pdftotext may put a space after it
        assert f"Rubric for {part.label}: {part.title}, {part.points} points" in text.replace(" ,", ",")
    assert text.count("Grading:") == sum(len(p.wrong_answers) for p in homework.parts)


def test_provenance_is_in_the_metadata_and_never_on_a_page(built, homework):
    report = json.loads((built.output / "verify-report.json").read_text())
    assert report["checks"] == report["passed"] and report["commit"] and report["built_at"]
    commit = report["commit"].split()[0]
    for name in ("hw4", "hw4-solutions", "hw4-grading"):
        info = pdf_info(built.output / f"{name}.pdf")
        assert "Homework 4" in info["Title"] and info["Author"] and "convolution" in info["Keywords"]
        # students receive the handout and the solutions: no build information in them, even in metadata
        assert (commit in info["Keywords"]) == (name == "hw4-grading")
        assert ("commit" in info["Keywords"] + info["Subject"]) == (name == "hw4-grading")
        text = pdf_text(built.output / f"{name}.pdf")
        assert commit not in text and "checks passed" not in text
    assert f"{report['checks']} checks" in pdf_info(built.output / "hw4-grading.pdf")["Subject"]


def test_the_logs_have_no_overfull_or_underfull_box(built):
    for log in built.latex.glob("*.log"):
        text = log.read_text(errors="replace")
        boxes = re.findall(r"^(?:Overfull|Underfull) \\[hv]box.*$", text, re.M)
        assert not boxes, f"{log.name}: {boxes[:3]}"


def test_the_documents_are_typeset_with_the_precompiled_preamble_and_look_the_same_without_it(built, tmp_path):
    documents = {name: built.tex / f"{name}.tex" for name in ("hw4", "hw4-solutions", "hw4-grading")}
    for name in documents:
        assert "(preloaded format=preamble " in (built.latex / f"{name}.log").read_text().splitlines()[0], name
    plain = typeset_now(documents, tmp_path, provenance.source_date_epoch(ROOT))
    for name, pdf in plain.pdfs.items():
        assert "(preloaded format=pdflatex " in (tmp_path / f"{name}.log").read_text().splitlines()[0]
        assert page_images(pdf, tmp_path / f"{name}-plain") == page_images(built.output / f"{name}.pdf",
                                                                            tmp_path / f"{name}-built"), name


def test_the_pdfs_have_bookmarks_for_questions_and_parts(built, homework):
    for name in ("hw4", "hw4-solutions", "hw4-grading"):
        out = subprocess.run(["pdfinfo", "-dests", str(built.output / f"{name}.pdf")], capture_output=True, text=True,
                             check=True).stdout
        for question in homework.questions:
            assert f'"question-{question.id}' in out, (name, question.id)
        for part in homework.parts:
            assert f'"part-{part.label}' in out, (name, part.label)


def test_two_clean_builds_give_byte_identical_pdfs(built, tmp_path, warm_cache):
    again = build.Paths(build=tmp_path / "build", output=tmp_path / "output")
    again.build.mkdir()
    shutil.copy(warm_cache, again.cache)
    build.build(again)
    for name in ("hw4.pdf", "hw4-solutions.pdf", "hw4-grading.pdf"):
        assert (again.output / name).read_bytes() == (built.output / name).read_bytes(), name


def test_a_wrong_step_stops_the_build_and_leaves_no_stale_pdf(paths, monkeypatch):
    paths.output.mkdir()
    for name in ("hw4.pdf", "hw4-solutions.pdf", "hw4-grading.pdf", "verify-report.json"):
        (paths.output / name).write_text("stale")
    homework = load.load()
    step = homework.steps["t1.dX.flip"]
    body = step.sides[1]
    wrong = dataclasses.replace(step, sides=(step.sides[0], body.xreplace({body.function.args[0]: 1})))
    units = [dataclasses.replace(u, steps=tuple(wrong if s.id == step.id else s for s in u.steps))
             for u in homework.units]
    monkeypatch.setattr(load, "load", lambda package="solutions": type(homework).assemble("solutions", units))
    line = next(n for n, text in enumerate((ROOT / "templates" / "t1.tex.j2").read_text().splitlines(), start=1)
                if 'step("t1.dX.flip")' in text)
    with pytest.raises(CheckFailed, match=rf"question T1, step t1.dX.flip \(solutions/t1.py:\d+, shown at "
                                          rf"templates/t1.tex.j2:{line}\)"):
        build.build(paths)
    assert not list(paths.output.iterdir())


def test_a_stop_that_python_swallowed_still_stops_the_build_before_it_publishes(paths, monkeypatch):
    """A Ctrl-C raised inside a weakref callback or a __del__ is lost; the handler's record is not."""
    from pipeline import render
    monkeypatch.setattr(build, "_STOPPED", [])
    finish = render.Renderer.finish

    def finish_and_lose_a_ctrl_c(self):
        finish(self)
        build._STOPPED.append(signal.SIGINT)
    monkeypatch.setattr(render.Renderer, "finish", finish_and_lose_a_ctrl_c)
    with pytest.raises(KeyboardInterrupt):
        build.build(paths)
    assert not paths.output.exists() or list(paths.output.iterdir()) == []


def test_a_mistake_typed_into_prose_is_reported_at_the_template_line(paths):
    line = edit(paths.templates / "t2.tex.j2", "Compute the back propagation expression",
                r"\foo Compute the back propagation expression")
    with pytest.raises(LatexFailed, match=rf"templates/t2.tex.j2:{line}: LaTeX error: Undefined control sequence"):
        build.build(paths)
    assert not list(paths.output.glob("*.pdf"))


def test_a_mistake_in_the_base_template_names_the_base_template(paths):
    line = edit(paths.templates / "base.tex.j2", r"\section*{Theory}", r"\section*{Theory}\foo")
    with pytest.raises(LatexFailed, match=rf"templates/base.tex.j2:{line}:"):
        build.build(paths)


def test_a_mistake_in_the_shared_preamble_names_the_preamble_template(paths):
    line = edit(paths.templates / "preamble.tex.j2", r"\usepackage{float}", r"\usepackage{float}\foo")
    with pytest.raises(LatexFailed, match=rf"templates/preamble.tex.j2:{line}: LaTeX error: Undefined control"):
        build.build(paths)
    assert not list(paths.output.glob("*.pdf"))


@pytest.mark.parametrize("template, old, new, says", [
    ("preamble.tex.j2", r"\csname endofdump", "\\printanswers\n\\csname endofdump",
     r"hw4.pdf must not print the solutions"),
    ("solutions.tex.j2", "\\printanswers\n", "", r"hw4-solutions.pdf must print the solutions"),
    ("grading.tex.j2", "\\gradingtrue\n", "", "must print the grading material"),
])
def test_a_document_that_would_show_the_wrong_material_stops_the_build(paths, template, old, new, says):
    edit(paths.templates / template, old, new)
    with pytest.raises(LatexFailed, match=says):
        build.build(paths)
    assert not list(paths.output.glob("*.pdf"))


def test_a_package_that_is_not_installed_is_named_at_its_line(paths):
    line = edit(paths.templates / "preamble.tex.j2", r"\usepackage{float}", r"\usepackage{float}" "\n"
                r"\usepackage{notinstalledpkgxyz}") + 1
    with pytest.raises(LatexFailed, match=rf"templates/preamble.tex.j2:{line}: LaTeX error: File "
                                          r"`notinstalledpkgxyz.sty' not found") as failure:
        build.build(paths)
    assert str(failure.value).count("not found") == 1   # once, though every document stopped there


SOLUTION_FIRST_LINE = "The forward pass applies $\\tanh$ to each entry:"
SOLUTION_OPENS = "\\begin{solution}\n" + SOLUTION_FIRST_LINE


@pytest.mark.parametrize("edits, says", [
    ([(SOLUTION_OPENS, SOLUTION_FIRST_LINE), ("\\end{solution}\n", "\n")],
     "hw4.pdf must not show the solutions \\(a checked step outside a solution environment\\)"),
    ([(SOLUTION_OPENS, "{\\printanswers " + SOLUTION_OPENS), ("\\end{solution}\n", "\\end{solution}}\n")],
     "hw4.pdf must not show the solutions, but"),
    # the handout is typeset while the notes are judged: it may meet the rubric's file before it exists
    ([('((( grading("t2.tanh") )))', '\\gradingtrue\n((( grading("t2.tanh") )))\n\\gradingfalse')],
     "hw4.pdf must not show the grading material|t2_tanh.tex.j2:\\d+: LaTeX error: File `grading-t2.tanh' not found"),
    ([('((( step("t2.tanh.vectorized") )))', ""),   # the result, shown in the question as "show that"
      ("\\begin{solution}", 'Show that\n((( step("t2.tanh.vectorized") )))\n\\begin{solution}')],
     "hw4.pdf must not show the solutions \\(a checked step outside"),
])
def test_a_solution_or_a_rubric_typeset_outside_its_place_stops_the_build(paths, edits, says):
    """Whatever the flags say: the registry decides what each document may show."""
    for old, new in edits:
        edit(paths.templates / "t2_tanh.tex.j2", old, new)
    with pytest.raises(LatexFailed, match=says):
        build.build(paths)
    assert not list(paths.output.glob("*.pdf"))


def test_shell_escape_is_off(paths):
    edit(paths.templates / "t2.tex.j2", "Compute the back propagation expression",
         r"\immediate\write18{touch pwned} Compute the back propagation expression")
    build.build(paths)
    assert not list(paths.build.rglob("pwned"))


def _latex_processes(under: Path) -> list[int]:
    found = []
    for proc in Path("/proc").iterdir():
        if not proc.name.isdigit():
            continue
        try:
            cmd = (proc / "cmdline").read_bytes().replace(b"\0", b" ").decode()
            cwd = os.readlink(proc / "cwd")
        except OSError:
            continue
        if ("latexmk" in cmd or "pdflatex" in cmd) and str(under) in (cmd + cwd):
            found.append(int(proc.name))
    return found


@pytest.fixture(scope="module")
def project(tmp_path_factory):
    return copy_project(tmp_path_factory.mktemp("project"))


def _wait_for(condition, timeout=60.0):
    deadline = time.time() + timeout
    while not condition() and time.time() < deadline:
        time.sleep(0.02)


def _terminal_signals() -> None:
    """Give make the dispositions a terminal's shell gives it: a test run before this one in the same worker may have
    left SIGINT ignored (a sandbox server's code sets it so), and an ignored signal is inherited by make and every
    child, which then finish the build (in CI's full run, never alone)."""
    for sig in (signal.SIGINT, signal.SIGTERM, signal.SIGHUP):
        signal.signal(sig, signal.SIG_DFL)


MOMENTS = {
    # the rebuild has begun (its first step removes the old outputs): make, stopped any earlier, has
    # started no rebuild, and what output/ holds is what it held before make ran
    "start": lambda project: _wait_for(lambda: not list((project / "output").glob("*.pdf")), timeout=10),
    "checks": lambda project: _wait_for(lambda: (project / "build" / "tex").exists()),
    "latex": lambda project: _wait_for(lambda: any((project / "build" / "latex").glob("*.running"))),
}


@pytest.mark.parametrize("sig, moment, whom", [
    (signal.SIGINT, "start", "group"),       # Ctrl-C in the terminal reaches make and the build
    (signal.SIGTERM, "start", "make"),       # kill or timeout reach make alone
    (signal.SIGTERM, "checks", "make"), (signal.SIGHUP, "checks", "group"),
    (signal.SIGINT, "latex", "group"), (signal.SIGTERM, "latex", "make")])
def test_make_stopped_at_any_moment_leaves_no_pdf_and_no_latex_and_the_next_make_succeeds(project, sig, moment, whom,
                                                                                            warm_cache):
    shutil.rmtree(project / "build", ignore_errors=True)   # a cold build: every phase takes its time
    if moment != "checks":   # ... but the checks, where the signal is not aimed: their verdicts are known
        (project / "build").mkdir()
        shutil.copy(warm_cache, project / "build" / "verify-cache.json")
    output = project / "output"
    output.mkdir(exist_ok=True)
    for name in ("hw4.pdf", "hw4-solutions.pdf", "hw4-grading.pdf"):
        (output / name).write_text("stale")
    for source in (project / "templates").glob("*.j2"):
        source.touch()                                      # make must decide to rebuild
    proc = subprocess.Popen(["make", *make_args()], cwd=project, env=make_env(project), stdout=subprocess.PIPE,
                            stderr=subprocess.PIPE, text=True, start_new_session=True, preexec_fn=_terminal_signals)
    MOMENTS[moment](project)
    if whom == "group":
        os.killpg(proc.pid, sig)
    else:
        proc.send_signal(sig)
    _, err = proc.communicate(timeout=60)
    assert proc.returncode != 0, "make finished before the signal"
    _wait_for(lambda: not _latex_processes(project) and not _builds(project), timeout=10)
    assert not _latex_processes(project), "LaTeX survived the build"
    assert not _builds(project), "build.py went on without make"
    assert not list(output.glob("*.pdf")) and not list(output.glob(".*partial"))
    assert "Traceback" not in err, err
    again = subprocess.run(["make", *make_args()], cwd=project, env=make_env(project), capture_output=True,
                           text=True, timeout=300)
    assert again.returncode == 0, again.stderr


@pytest.mark.parametrize("sig, code", [(signal.SIGINT, 130), (signal.SIGTERM, 143), (signal.SIGHUP, 129)])
def test_a_signal_held_while_python_starts_is_handled_once_the_build_runs(project, sig, code):
    # make starts build.py through scripts/hold-signals; here the signal is sent before Python even
    # starts (by the shell that then becomes Python), the worst moment there is
    output = project / "output"
    output.mkdir(exist_ok=True)
    (output / "hw4.pdf").write_text("stale")
    done = subprocess.run(["scripts/hold-signals", "sh", "-c", f'kill -{sig.name[3:]} $$; exec "$0" build.py',
                           sys.executable], cwd=project, env=make_env(project), capture_output=True, text=True,
                          timeout=60)
    assert done.returncode == code
    word = "interrupted" if sig == signal.SIGINT else "terminated"
    assert done.stderr == f"error: {word}; output/ holds no PDF of this build\n"
    assert not list(output.glob("*.pdf"))


def _builds(project: Path) -> list[int]:
    found = []
    for proc in Path("/proc").iterdir():
        try:
            if proc.name.isdigit() and os.readlink(proc / "cwd") == str(project) and \
                    b"build.py" in (proc / "cmdline").read_bytes():
                found.append(int(proc.name))
        except OSError:
            continue
    return found


def test_make_twice_does_no_work_the_second_time(project):
    first = subprocess.run(["make", *make_args()], cwd=project, capture_output=True, text=True, env=make_env(project))
    assert first.returncode == 0, first.stdout + first.stderr
    second = subprocess.run(["make", *make_args()], cwd=project, capture_output=True, text=True, env=make_env(project))
    assert second.returncode == 0 and "build.py" not in second.stdout, second.stdout


def test_after_a_commit_make_rebuilds_and_the_metadata_names_the_new_commit(tmp_path, warm_cache):
    project = copy_project(tmp_path / "repo", warm_cache)
    env = {**make_env(project), "GIT_AUTHOR_NAME": "t", "GIT_AUTHOR_EMAIL": "t@t", "GIT_COMMITTER_NAME": "t",
           "GIT_COMMITTER_EMAIL": "t@t"}

    def git(*args):
        return subprocess.run(["git", *args], cwd=project, capture_output=True, text=True, env=env, check=True).stdout

    git("init", "-q")
    git("add", "-A")
    git("commit", "-q", "-m", "first")
    assert subprocess.run(["make", *make_args()], cwd=project, env=env, capture_output=True).returncode == 0
    first = git("rev-parse", "--short=10", "HEAD").strip()
    assert first in pdf_info(project / "output" / "hw4-grading.pdf")["Keywords"]
    (project / "NOTES").write_text("a commit that changes no source\n")
    git("add", "NOTES")
    git("commit", "-q", "-m", "second")
    second = git("rev-parse", "--short=10", "HEAD").strip()
    made = subprocess.run(["make", *make_args()], cwd=project, env=env, capture_output=True, text=True)
    assert made.returncode == 0 and "build.py" in made.stdout
    assert second in pdf_info(project / "output" / "hw4-grading.pdf")["Keywords"]
    assert second not in pdf_info(project / "output" / "hw4-solutions.pdf")["Keywords"]


def test_a_missing_python_is_one_message_naming_it(tmp_path):
    out = subprocess.run(["scripts/ensure-venv.sh", str(tmp_path / "venv")], cwd=ROOT, capture_output=True,
                         text=True, env=dict(os.environ, PYTHON="python3-that-does-not-exist"))
    assert out.returncode == 1
    assert out.stderr.strip().count("\n") == 0 and "python3-that-does-not-exist not found" in out.stderr


def test_a_new_part_is_added_by_one_module_and_one_template(tmp_path, homework, warm_cache):
    """The README's recipe: ReLU as the next part of T2, without touching verify/, pipeline/ or a test.

    Whatever parts the homework has: the fixture's ids are renamed so that they cannot clash with
    a ReLU part the homework may have by now, and it takes the next free number of T2.
    """
    project = copy_project(tmp_path / "relu", warm_cache)   # the new part's checks run, the others are known
    fixture = ROOT / "examples" / "relu"   # the README's example part
    t2 = next(q for q in homework.questions if q.id == "T2")
    number = max(p.number for p in t2.parts) + 1

    def renamed(text: str) -> str:
        return text.replace("t2.relu", "t2.recipe").replace("relu-no-delta", "recipe-no-delta") \
            .replace("number=4", f"number={number}")
    (project / "solutions" / "t2_recipe.py").write_text(renamed((fixture / "t2_relu.py").read_text()))
    (project / "templates" / "t2_recipe.tex.j2").write_text(renamed((fixture / "t2_relu.tex.j2").read_text()))
    env = make_env(project)
    golden = subprocess.run(["make", "golden", *make_args()], cwd=project, env=env, capture_output=True, text=True)
    assert golden.returncode == 0 and "t2_recipe.tex" in golden.stdout, golden.stdout + golden.stderr
    made = subprocess.run(["make", *make_args()], cwd=project, env=env, capture_output=True, text=True)
    assert made.returncode == 0, made.stderr
    handout = pdf_text(project / "output" / "hw4.pdf")
    points = [sum(p.points for p in q.parts) + (5 if q is t2 else 0) for q in homework.questions]
    assert f"Question T2: {t2.title} ({points[homework.questions.index(t2)]} points)" in handout
    assert f"Points {' '.join(map(str, points))} {sum(points)}" in handout and "ReLU: f (x) = max(0, x)" in handout
    assert f"Rubric for T2.{number}: ReLU, 5 points" in pdf_text(project / "output" / "hw4-grading.pdf")
    # its title, with no other edit (wherever another question's words come after it)
    assert "ReLU" in [word.strip() for word in pdf_info(project / "output" / "hw4.pdf")["Keywords"].split(",")]
    assert "def t2_recipe(x, delta):" in (project / "output" / "hw4-starter.py").read_text()
    report = json.loads((project / "output" / "verify-report.json").read_text())
    assert {"t2.recipe.vectorized", "note.recipe-no-delta"} <= {row["id"] for row in report["rows"]}
    student = tmp_path / "student.py"
    student.write_text("import numpy as np\n\ndef grad(x, delta):\n    return delta * (x > 0)\n")
    graded = subprocess.run([sys.executable, "-m", "verify", "check", "t2.recipe", f"{student}:grad"], cwd=tmp_path,
                            env=env, capture_output=True, text=True)
    assert graded.returncode == 0 and "correct" in graded.stdout, graded.stdout + graded.stderr
    # the tests that read the registry pass in the copy as they are
    tested = subprocess.run([sys.executable, "-m", "pytest", "-q", "-p", "no:cacheprovider",
                             "tests/verify/test_homework.py", "tests/pipeline/test_golden.py",
                             "tests/solutions/test_notation.py", "tests/pipeline/test_starter.py", "-m", "not sandbox"],
                            cwd=project, env=env, capture_output=True, text=True)
    assert tested.returncode == 0, tested.stdout[-3000:]
    # taken out again, the part leaves the documents: make sees a source go away
    (project / "solutions" / "t2_recipe.py").unlink()
    (project / "templates" / "t2_recipe.tex.j2").unlink()
    again = subprocess.run(["make", *make_args()], cwd=project, env=env, capture_output=True, text=True)
    assert again.returncode == 0 and "build.py" in again.stdout, again.stdout + again.stderr
    before = [sum(p.points for p in q.parts) for q in homework.questions]
    assert f"Points {' '.join(map(str, before))} {sum(before)}" in pdf_text(project / "output" / "hw4.pdf")
    assert "def t2_recipe(" not in (project / "output" / "hw4-starter.py").read_text()


def test_a_template_saved_while_make_runs_is_built_by_the_next_make(tmp_path):
    project = copy_project(tmp_path / "project")
    first = subprocess.Popen(["make", *make_args()], cwd=project, env=make_env(project), stdout=subprocess.PIPE,
                             stderr=subprocess.PIPE, text=True)
    time.sleep(2.0)   # the templates have been read by now; LaTeX is still running
    assert first.poll() is None
    edit(project / "templates" / "t2_avgpool.tex.j2", "Average pooling", "Mean pooling")
    out, err = first.communicate(timeout=300)
    assert first.returncode == 0, err
    again = subprocess.run(["make", *make_args()], cwd=project, env=make_env(project), capture_output=True, text=True)
    assert again.returncode == 0 and "build.py" in again.stdout, again.stdout + again.stderr


def test_a_second_homework_is_built_beside_the_first_from_its_own_package(tmp_path, warm_cache):
    """make HOMEWORK=hw5: its package (here T2 with its tanh part, as a stand-in) and its unit templates;
    the documents' frame, verify/ and pipeline/ are shared, and nothing of Homework 4 is touched."""
    project = copy_project(tmp_path / "two")
    (project / "build" / "hw5").mkdir(parents=True)   # its modules are Homework 4's: their verdicts are known
    shutil.copy(warm_cache, project / "build" / "hw5" / "verify-cache.json")
    (project / "hw5" / "templates").mkdir(parents=True)
    for name in ("symbols.py", "rubric.py", "illustrations.py", "t2.py", "t2_tanh.py"):
        shutil.copy(ROOT / "solutions" / name, project / "hw5" / name)
    for name in ("t2.tex.j2", "t2_tanh.tex.j2"):
        shutil.copy(ROOT / "templates" / name, project / "hw5" / "templates" / name)
    (project / "hw5" / "__init__.py").write_text(
        "from verify.identity import HomeworkIdentity\n\n"
        "IDENTITY = HomeworkIdentity(course='Deep Learning', code='CSCI-GA.2572', number=5,\n"
        "                            instructor='Ada Lovelace')\n")
    env = make_env(project)
    made = subprocess.run(["make", "HOMEWORK=hw5", *make_args()], cwd=project, env=env, capture_output=True, text=True)
    assert made.returncode == 0, made.stderr
    out = project / "output" / "hw5"
    assert sorted(p.name for p in out.iterdir()) == ["hw5-grading.pdf", "hw5-solutions.pdf", "hw5-starter.py",
                                                      "hw5.pdf", "verify-report.json"]
    handout = pdf_text(out / "hw5.pdf")
    assert "Deep Learning (CSCI-GA.2572): Homework 5" in handout and "Instructor: Ada Lovelace" in handout
    assert "Question T2" in handout and "Question T1" not in handout
    assert pdf_info(out / "hw5-grading.pdf")["Author"] == "Ada Lovelace"
    assert pdf_info(out / "hw5.pdf")["Keywords"] == "backpropagation, tanh"   # its own units' words, nothing of T1
    key = pdf_text(out / "hw5-grading.pdf")   # Homework 4's rules for graders and its sample are its own
    assert "How to use this key" not in key and "Appendix A" not in key
    assert not (project / "output" / "hw4.pdf").exists()   # Homework 4 is neither built nor removed by it
