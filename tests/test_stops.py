"""Stopping a build: a Ctrl-C, SIGTERM or SIGHUP that Python swallows or turns into another failure
still stops it, is reported as what it was, and leaves output/ empty (no LaTeX here: see test_build)."""
from __future__ import annotations

import os
import signal
import subprocess
import sys
import time

import pytest

import build
from pipeline import provenance, publish
from pipeline.errors import SolutionError, Terminated

from .conftest import ROOT


@pytest.fixture
def stopped(monkeypatch):
    """build._STOPPED for this test alone."""
    record: list[int] = []
    monkeypatch.setattr(build, "_STOPPED", record)
    return record


@pytest.mark.parametrize("signum, code, word", [(signal.SIGINT, 130, "interrupted"),
                                                (signal.SIGTERM, 143, "terminated"),
                                                (signal.SIGHUP, 129, "terminated")])
def test_a_failure_that_follows_a_stop_is_reported_as_the_stop(monkeypatch, stopped, capsys, signum, code, word):
    def interrupted_load(paths):
        stopped.append(signum)   # the handler ran, but its exception became this failure
        raise SolutionError("solutions/t1_remarks.py: SystemError: returned a result with an exception set")
    monkeypatch.setattr(build, "build", interrupted_load)
    assert build.main([]) == code
    assert capsys.readouterr().err == f"error: {word}; output/ holds no PDF of this build\n"

    def crashed(paths):
        stopped.append(signum)
        raise SystemError("<function Basic.__hash__> returned a result with an exception set")
    monkeypatch.setattr(build, "build", crashed)
    assert build.main([]) == code   # not a traceback


def test_an_error_without_a_stop_is_reported_as_itself(monkeypatch, stopped, capsys):
    def failing(paths):
        raise SolutionError("solutions/t9.py: no QUESTION")
    monkeypatch.setattr(build, "build", failing)
    assert build.main([]) == SolutionError.exit_code
    assert capsys.readouterr().err == "error: solutions/t9.py: no QUESTION\n"
    monkeypatch.setattr(build, "build", lambda paths: 1 / 0)
    with pytest.raises(ZeroDivisionError):   # a bug of the build is not dressed up as a stop
        build.main([])


def test_a_stop_swallowed_inside_a_finalizer_prints_no_traceback_and_is_raised_again():
    code = ("import build, signal, os, time\n"
            "build._stop_on_signals()\n"
            "class Finalized:\n"
            "    def __del__(self):\n"
            "        os.kill(os.getpid(), signal.SIGTERM)\n"
            "try:\n"
            "    Finalized()\n"   # Python swallows what __del__ raises: the stop is recorded, and raised again
            "    time.sleep(30)\n"
            "    print('still running')\n"
            "except KeyboardInterrupt as stop:\n"
            "    print(type(stop).__name__, build._STOPPED == [signal.SIGTERM])\n")
    run = subprocess.run([sys.executable, "-c", code], cwd=ROOT, capture_output=True, text=True, timeout=60)
    assert (run.stdout, run.stderr) == ("Terminated True\n", "")


def test_publishing_stopped_halfway_leaves_output_empty(tmp_path, monkeypatch):
    pdfs = {name: tmp_path / f"{name}.pdf" for name in ("hw4", "hw4-solutions", "hw4-grading")}
    for pdf in pdfs.values():
        pdf.write_bytes(b"%PDF-1.5")
    output = tmp_path / "output"
    real = publish.os.replace
    moved = []

    def replace_then_interrupt(source, target):
        if moved:
            raise KeyboardInterrupt
        moved.append(target)
        real(source, target)
    monkeypatch.setattr(publish.os, "replace", replace_then_interrupt)
    with pytest.raises(KeyboardInterrupt):
        publish.publish(output, pdfs, {"checks": 1})
    assert moved and list(output.iterdir()) == []   # neither the one moved in nor the copies


def test_terminated_carries_its_exit_code():
    assert Terminated(signal.SIGHUP).exit_code == 129 and isinstance(Terminated(15), KeyboardInterrupt)


def test_published_files_are_dated_when_the_build_began_to_read_its_sources(tmp_path):
    """So that a template saved while the build ran is newer than the PDFs, and the next make rebuilds."""
    pdf = tmp_path / "hw4.pdf"
    pdf.write_bytes(b"%PDF-1.5")
    placed = publish.publish(tmp_path / "output", {"hw4": pdf}, {"checks": 1}, as_of=1_700_000_000.5)
    assert [p.stat().st_mtime for p in placed] == [1_700_000_000.5] * 2


def test_a_new_source_file_not_yet_added_to_git_marks_the_commit_as_changed(tmp_path):
    env = {"GIT_AUTHOR_NAME": "t", "GIT_AUTHOR_EMAIL": "t@t", "GIT_COMMITTER_NAME": "t", "GIT_COMMITTER_EMAIL": "t@t"}

    def git(*args):
        subprocess.run(["git", *args], cwd=tmp_path, check=True, capture_output=True, env={**os.environ, **env})
    (tmp_path / "solutions").mkdir()
    (tmp_path / "solutions" / "t1.py").write_text("QUESTION = None\n")
    git("init", "-q")
    git("add", "-A")
    git("commit", "-q", "-m", "first")
    assert not provenance.commit(tmp_path).endswith("with uncommitted changes")
    (tmp_path / "solutions" / "t3.py").write_text("QUESTION = None\n")   # a new question, not yet added
    assert provenance.commit(tmp_path).endswith(" with uncommitted changes")


# ---- python -m verify ----------------------------------------------------------------------------------
SPIN = "import numpy as np\nfrom scipy import signal\n\ndef t1_dX(X, W, b, delta):\n    while True:\n        pass\n"


def handlers_installed(pid: int) -> bool:
    """Whether verify.cli has put its handlers in place: SIGTERM is caught (Python alone never catches it)."""
    try:
        with open(f"/proc/{pid}/status") as status:
            caught = next(int(line.split()[1], 16) for line in status if line.startswith("SigCgt:"))
    except (OSError, StopIteration):
        return False
    return bool(caught & (1 << (signal.SIGTERM - 1)))


# The moments after the handlers are in place: imports of numpy and sympy, the homework, bwrap and the
# server starting, the candidate's file loading, the candidate's endless loop.
@pytest.mark.sandbox
@pytest.mark.parametrize("delay", [0.0, 0.01, 0.03, 0.1, 0.3, 1.0, 3.0])
@pytest.mark.parametrize("signum, code, line", [(signal.SIGINT, 130, "error: interrupted"),
                                                (signal.SIGTERM, 143, "error: terminated")])
def test_a_signal_at_any_moment_ends_python_m_verify_with_one_line(tmp_path, signum, code, line, delay):
    (tmp_path / "spin.py").write_text(SPIN)
    env = {**os.environ, "PYTHONPATH": str(ROOT)}
    grader = subprocess.Popen([sys.executable, "-m", "verify", "check", "t1.dX", "spin.py:t1_dX", "--timeout", "600"],
                              cwd=tmp_path, env=env, stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True)
    try:
        while not handlers_installed(grader.pid):   # the handshake: the run cannot end by itself (an endless loop)
            assert grader.poll() is None, grader.communicate()
            time.sleep(0.001)
        time.sleep(delay)
        grader.send_signal(signum)
        stdout, stderr = grader.communicate(timeout=120)
    finally:
        grader.kill()
        grader.wait()
    assert (grader.returncode, stderr) == (code, line + "\n"), stdout
    assert "Traceback" not in stdout + stderr


def test_a_stop_that_numpy_turns_into_an_import_error_is_still_the_stop(monkeypatch, capsys):
    from verify import cli

    def interrupted_import(args):
        cli._STOPPED.append(signal.SIGINT)   # the handler ran; numpy made its exception an ImportError
        raise ImportError("numpy._core.multiarray failed to import")
    monkeypatch.setattr(cli, "_list", interrupted_import)
    assert cli.main(["list"]) == 130
    assert capsys.readouterr().err == "error: interrupted\n"


def test_a_stop_the_grader_raised_where_python_ignores_it_is_raised_again():
    # CI saw `python -m verify check` go on waiting for an endless candidate after a Ctrl-C whose
    # KeyboardInterrupt was raised inside an import lock's weakref callback, where Python only prints it
    code = ("import os, signal, sys, time, weakref\n"
            "from verify import cli\n"
            "signal.signal(signal.SIGINT, cli._stop)\n"
            "sys.unraisablehook = cli._stop_lost\n"
            "class Held:\n"
            "    pass\n"
            "def callback(_):\n"
            "    os.kill(os.getpid(), signal.SIGINT)\n"
            "    for _ in range(100000):\n"   # the handler runs here, inside the callback: its raise is lost
            "        pass\n"
            "held = Held()\n"
            "watch = weakref.ref(held, callback)\n"
            "try:\n"
            "    del held\n"
            "    time.sleep(30)\n"
            "    print('still running')\n"
            "except KeyboardInterrupt:\n"
            "    print('stopped', cli._STOPPED[0] == signal.SIGINT)\n")
    run = subprocess.run([sys.executable, "-c", code], cwd=ROOT, capture_output=True, text=True, timeout=60)
    assert (run.stdout, run.stderr) == ("stopped True\n", "")
