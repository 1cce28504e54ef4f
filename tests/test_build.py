"""End to end: make's two PDFs from real latexmk runs, and no PDF that looks good after a failure."""
import dataclasses
import json
import os
import shutil
import subprocess
from pathlib import Path

import pytest
import sympy as sp

import build
import solutions
from pipeline.errors import CheckFailed
from verify.symbolic import L, Partial, W, X, delta_pad, k, l, p, u, v

from .conftest import ROOT

QUESTION_TEXT = [
    "Introduction to Machine Learning (CSCI-UA.473): Homework 4",
    "Instructor: Sumit Chopra",
    "Question T1: Back propagation of a 2D Convolution Operation (15 points)",
    "Gradient of the loss function L with respect to the inputs X",
    "Gradient of the loss function L with respect to the weights W",
    "Gradient of the loss function L with respect to the bias b",
    "No points will be given if only the final expression is provided without the steps",
    "Question T2: Back propagation of other functions (15 points)",
    "Max pooling", "Average pooling", "Tanh",
]
SOLUTION_TEXT = ["Solution", "chain rule", "Grader", "worked example", "checks passed"]


def pdf_text(path: Path) -> str:
    text = subprocess.run(["pdftotext", "-layout", str(path), "-"], capture_output=True, text=True, check=True).stdout
    return " ".join(text.split())


@pytest.fixture(scope="module")
def built(tmp_path_factory, warm_cache):
    base = tmp_path_factory.mktemp("e2e")
    paths = build.Paths(templates=ROOT / "templates", build=base / "build", output=base / "output")
    paths.build.mkdir()
    shutil.copy(warm_cache, paths.cache)
    build.build(paths)
    return paths


def test_the_handout_has_every_question_and_no_solution(built):
    text = pdf_text(built.output / "hw4.pdf")
    for phrase in QUESTION_TEXT:
        assert phrase in text, phrase
    for phrase in SOLUTION_TEXT:
        assert phrase not in text, phrase


def test_the_key_has_every_question_followed_by_its_solution(built):
    text = pdf_text(built.output / "hw4-solutions.pdf")
    for phrase in QUESTION_TEXT + SOLUTION_TEXT:
        assert phrase in text, phrase
    report = json.loads((built.output / "verify-report.json").read_text())
    assert f"{report['passed']} of {report['total']} checks passed" in text
    assert report["passed"] == report["total"] > len(solutions.STEPS)


def test_the_report_lists_every_step_and_result(built):
    report = json.loads((built.output / "verify-report.json").read_text())
    rows = {row["id"]: row for row in report["checks"]}
    assert set(solutions.STEPS) <= set(rows)
    assert {"t1.dX", "t1.dW", "t1.db", "t2.tanh", "t2.maxpool", "t2.avgpool"} <= set(rows)
    assert all(row["status"] == "passed" and row["cases"] > 0 and row["methods"] for row in rows.values())
    assert report["commit"] and report["built_at"]


def test_the_key_has_no_overfull_lines(built):
    log = (built.latex / "hw4-solutions.log").read_text()
    assert "Overfull" not in log


def test_a_wrong_step_stops_the_build_and_removes_stale_pdfs(paths, monkeypatch):
    paths.output.mkdir()
    for name in ("hw4.pdf", "hw4-solutions.pdf", "verify-report.json"):
        (paths.output / name).write_text("stale")
    flip = solutions.STEPS["t1.dX.flip"]
    wrong = dataclasses.replace(flip, sides=(Partial(L, X[k, l]), sp.Sum(delta_pad[k + u, l + v] * W[u, v],
                                                                         (v, 0, p - 1), (u, 0, p - 1))))
    monkeypatch.setitem(solutions.STEPS, "t1.dX.flip", wrong)
    with pytest.raises(CheckFailed, match=r"question T1, step t1.dX.flip\ncounterexample \(exact\)"):
        build.build(paths)
    assert not list(paths.output.iterdir())


def test_a_latex_error_leaves_no_pdf(paths):
    paths.output.mkdir()
    (paths.output / "hw4-solutions.pdf").write_text("stale")
    (paths.templates / "t2.tex.j2").write_text((paths.templates / "t2.tex.j2").read_text() + "\n\\badmacro\n")
    with pytest.raises(Exception):
        build.build(paths)
    assert not list(paths.output.glob("*.pdf"))


def test_two_clean_builds_give_byte_identical_pdfs(built, tmp_path, warm_cache):
    again = build.Paths(templates=ROOT / "templates", build=tmp_path / "build", output=tmp_path / "output")
    again.build.mkdir()
    shutil.copy(warm_cache, again.cache)
    build.build(again)
    for name in ("hw4.pdf", "hw4-solutions.pdf"):
        assert (again.output / name).read_bytes() == (built.output / name).read_bytes(), name


def test_make_twice_does_no_work_the_second_time(tmp_path):
    """A copy of the project built with the project's own venv: the second make is a no-op."""
    files = subprocess.run(["git", "ls-files", "-co", "--exclude-standard"], cwd=ROOT, capture_output=True,
                           text=True, check=True).stdout.split()
    copy = tmp_path / "project"
    for name in files:
        if (ROOT / name).is_file():
            (copy / name).parent.mkdir(parents=True, exist_ok=True)
            shutil.copy2(ROOT / name, copy / name)
    venv = ROOT / ".venv"
    env = dict(os.environ, PYTHONPATH=str(copy))
    first = subprocess.run(["make", f"VENV={venv}"], cwd=copy, capture_output=True, text=True, env=env)
    assert first.returncode == 0, first.stdout + first.stderr
    assert (copy / "output" / "hw4-solutions.pdf").exists()
    second = subprocess.run(["make", f"VENV={venv}"], cwd=copy, capture_output=True, text=True, env=env)
    assert second.returncode == 0 and "build.py" not in second.stdout, second.stdout
    assert subprocess.run(["make", "-q", f"VENV={venv}"], cwd=copy, env=env).returncode == 0


def test_a_prose_only_edit_reruns_no_check(paths, monkeypatch):
    build.build(paths)
    (paths.templates / "t2.tex.j2").write_text(
        (paths.templates / "t2.tex.j2").read_text().replace("Every entry receives", "Each entry receives"))

    def no_check(*args, **kwargs):
        raise AssertionError("a check ran although nothing it depends on changed")
    import verify.project
    monkeypatch.setattr(verify.project, "check_step", no_check)
    monkeypatch.setattr(verify, "check", no_check)
    build.build(paths)
    assert "Each entry receives" in pdf_text(paths.output / "hw4-solutions.pdf")


def test_an_interrupted_build_leaves_no_pdf(tmp_path):
    """Ctrl-C in the middle of a build: the earlier PDFs are gone and no partial one appears."""
    import signal
    import sys
    import time
    output = tmp_path / "output"
    output.mkdir()
    for name in ("hw4.pdf", "hw4-solutions.pdf"):
        (output / name).write_text("stale")
    script = (f"import build, pathlib; build.build(build.Paths(build=pathlib.Path({str(tmp_path / 'build')!r}), "
              f"output=pathlib.Path({str(output)!r})))")
    proc = subprocess.Popen([sys.executable, "-c", script], cwd=ROOT, stderr=subprocess.PIPE, text=True)
    deadline = time.time() + 60
    while not (tmp_path / "build" / "latex").exists() and time.time() < deadline:
        time.sleep(0.05)
    proc.send_signal(signal.SIGINT)
    proc.wait(timeout=60)
    assert proc.returncode != 0
    assert not list(output.glob("*.pdf")) and not list(output.glob(".*partial"))


def test_a_missing_python_is_one_message_naming_it(tmp_path):
    out = subprocess.run(["scripts/ensure-venv.sh", str(tmp_path / "venv")], cwd=ROOT, capture_output=True,
                         text=True, env=dict(os.environ, PYTHON="python3-that-does-not-exist"))
    assert out.returncode == 1
    assert out.stderr.strip().count("\n") == 0 and "python3-that-does-not-exist not found" in out.stderr


def test_cached_verdicts_render_exactly_like_fresh_ones(paths):
    """A warm build (every verdict from the cache) writes the same LaTeX as a cold one."""
    for cache in paths.build.glob("*-cache.json"):
        cache.unlink()
    build.build(paths)
    cold = {f.name: f.read_text() for f in paths.tex.iterdir()}
    shutil.rmtree(paths.tex)
    build.build(paths)
    assert {f.name: f.read_text() for f in paths.tex.iterdir()} == cold
