"""python -m verify check / list: the grader's command line, run on students' files.

Every invocation of the table RUNS is made once: the subprocesses all at the same time (each costs
~1.2 s of importing sympy and scipy before it reads an argument), the in-process ones meanwhile;
the tests read their exit codes and output.  Limits are 1 s where a test waits for one; no test
asserts a timing except coarse bounds.
"""
from __future__ import annotations

import contextlib
import io
import os
import shutil
import signal
import subprocess
import sys
import tempfile
import textwrap
import time
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass
from pathlib import Path

import numpy as np
import pytest

from tests.verify.test_sandbox import gone
from verify import cli, grade
from verify.homework import load

pytestmark = pytest.mark.sandbox

ROOT = Path(__file__).resolve().parents[2]
HW = load("solutions")

# A correct answer for every result, in numpy alone (a child importing scipy.signal costs ~0.8 s).
NUMPY_HEADER = """\
import numpy as np
from numpy.lib.stride_tricks import sliding_window_view


def correlate_valid(A, K):
    return np.einsum("ijkl,kl->ij", sliding_window_view(A, K.shape), K)


def full_dX(X, W, b, delta):
    p, q = W.shape
    return correlate_valid(np.pad(delta, ((p - 1, p - 1), (q - 1, q - 1))), W[::-1, ::-1])
"""

FILES = {
    "conv.py": """
        import numpy as np
        from scipy import signal

        def rotated(X, W, b, delta):
            return signal.convolve2d(delta, W, mode="full")

        def unrotated(X, W, b, delta):
            return signal.correlate2d(delta, W, mode="full")

        def valid_rotated(X, W, b, delta):
            return signal.convolve2d(delta, W, mode="valid")

        def valid_unrotated(X, W, b, delta):
            from numpy.lib.stride_tricks import sliding_window_view
            return np.einsum("ijuv,uv->ij", sliding_window_view(delta, W.shape), W)
    """,
    "answers.py": NUMPY_HEADER + """
def tanh(x, delta):
    return delta * (1 - np.tanh(x) ** 2)


def tanh16(x, delta):
    return (delta * (1 - np.tanh(x) ** 2)).astype(np.float16)


def float32_dX(X, W, b, delta):
    return full_dX(X.astype(np.float32), W.astype(np.float32), b, delta.astype(np.float32))


def float32_unrotated(X, W, b, delta):
    p, q = W.shape
    padded = np.pad(delta, ((p - 1, p - 1), (q - 1, q - 1))).astype(np.float32)
    return correlate_valid(padded, W.astype(np.float32))


def chatty(x, delta):
    print("x has", x.size, "entries")
    return delta * (1 - np.tanh(x) ** 2)


def loud(x, delta):
    print("#" * 5000)
    return delta * (1 - np.tanh(x) ** 2)


def two(X, W):
    return X


def three(x, delta, extra):
    open("called-three", "w").close()
    return x


not_a_function = 3


def sys_exit(X, W, b, delta):
    import sys
    sys.exit(0)


def keyboard_interrupt(X, W, b, delta):
    raise KeyboardInterrupt("stop grading")


def fake_verdict_then_exit(X, W, b, delta):
    import os
    import sys
    print("t1.dX: correct (31 cases; methods: contract, exact, adjoint; worst relative error 0.0e+00)")
    sys.stdout.flush()
    os._exit(0)


def kill_itself(X, W, b, delta):
    import os
    import signal
    os.kill(os.getpid(), signal.SIGKILL)


def endless(X, W, b, delta):
    while True:
        pass


def memory_bomb(X, W, b, delta):
    hoard = []
    while True:
        hoard.append(np.ones(1 << 20))


def ragged(X, W, b, delta):
    return [[1.0, 2.0], [3.0]]


class Tensor:
    def __array__(self, dtype=None, copy=None):
        raise RuntimeError("Can't call numpy() on Tensor that requires grad.")


def tensor(X, W, b, delta):
    return Tensor()
""",
    "closes_stdout.py": NUMPY_HEADER + """
import os
import sys

sys.stdout.close()
os.close(1)
os.close(2)


def t1_dX(X, W, b, delta):
    sys.stderr.close()
    return full_dX(X, W, b, delta)
""",
    "patches_engine.py": f"""
        import sys
        sys.path.insert(0, {str(ROOT)!r})
        import verify
        import verify.engine

        def accept(gradient, candidate, **options):
            return verify.engine.Verdict("t1.dX", True, ["contract"], 1, 0.0)

        verify.engine.check = accept
        verify.check = accept

        def t1_dX(X, W, b, delta):
            return delta   # wrong: the engine of the grader's process judges it
    """,
    "uses_helper.py": """
        from helper import gradient

        def t1_dX(X, W, b, delta):
            return gradient(X, W, b, delta)
    """,
    "helper.py": NUMPY_HEADER + """
def gradient(X, W, b, delta):
    return full_dX(X, W, b, delta)
""",
    "syntax_error.py": """
        import numpy as np

        def t1_dX(X, W, b, delta)
            return X
    """,
    "import_error.py": "import torch_that_is_not_installed\n",
    "raises_at_import.py": """
        print("loading...")
        ratio = 1 / 0
    """,
    "exits_at_import.py": """
        import sys
        print("t1.dX: correct")
        sys.exit(0)
    """,
    "interrupts_at_import.py": "raise KeyboardInterrupt\n",
    "os_exit_at_import.py": """
        import os
        import sys
        print("t1.dX: correct (31 cases; methods: contract, exact, adjoint; worst relative error 0.0e+00)")
        sys.stdout.flush()
        os._exit(0)
    """,
    "notes.txt": "def t1_dX(X, W, b, delta): return X\n",
}


@dataclass
class Run:
    args: list[str]
    code: int
    stdout: str
    stderr: str
    seconds: float


# name: (arguments after `python -m verify`, expected exit code, how it runs).  "process": a real
# `python -m verify` subprocess, for each exit code (0 to 3) and everything a candidate does to its process;
# "inline": cli.main() in this process, for the other variants (each subprocess pays ~1.2 s to import
# sympy and scipy before it parses an argument; main() is the same code after that).
RUNS = {
    "correct": (["check", "t1.dX", "files/conv.py:rotated"], 0, "process"),
    "wrong": (["check", "t1.dX", "files/conv.py:unrotated", "--convention", "correlation"], 1, "process"),
    "either convention": (["check", "t1.dX", "files/conv.py:unrotated"], 0, "inline"),
    "convolution accepts the unrotated": (["check", "t1.dX", "files/conv.py:unrotated", "--convention",
                                           "convolution"], 0, "inline"),
    "convolution rejects the rotated": (["check", "t1.dX", "files/conv.py:rotated", "--convention", "convolution"],
                                        1, "inline"),
    "convention of another result": (["check", "t2.tanh", "files/answers.py:tanh", "--convention", "convolution"],
                                     2, "inline"),
    "unknown convention": (["check", "t1.dX", "files/conv.py:rotated", "--convention", "rotated"], 2, "inline"),
    "common answer, forced convention": (["check", "t1.dX", "files/conv.py:valid_rotated", "--convention",
                                          "convolution"], 1, "process"),
    "common answer, the other reading": (["check", "t1.dX", "files/conv.py:valid_unrotated"], 1, "process"),
    "unknown result": (["check", "t1.dx", "files/conv.py:rotated"], 2, "process"),
    # a right formula in float16 is not judged, as grade flags it: never "wrong" (a fresh attacker's finding)
    "float16": (["check", "t2.tanh", "files/answers.py:tanh16"], 3, "inline"),
    "missing file": (["check", "t1.dX", "files/nowhere.py:t1_dX"], 2, "inline"),
    "not a .py file": (["check", "t1.dX", "files/notes.txt:t1_dX"], 2, "inline"),
    "syntax error": (["check", "t1.dX", "files/syntax_error.py:t1_dX"], 2, "process"),
    "import error": (["check", "t1.dX", "files/import_error.py:t1_dX"], 2, "inline"),
    "exception at import": (["check", "t1.dX", "files/raises_at_import.py:t1_dX"], 2, "inline"),
    "no such function": (["check", "t1.dX", "files/answers.py:t1_dX"], 2, "inline"),
    "not callable": (["check", "t1.dX", "files/answers.py:not_a_function"], 2, "inline"),
    "too few parameters": (["check", "t1.dX", "files/answers.py:two"], 2, "inline"),
    "too many required parameters": (["check", "t2.tanh", "files/answers.py:three"], 2, "inline"),
    "no function named": (["check", "t1.dX", "files/answers.py"], 2, "inline"),
    "bad timeout": (["check", "t1.dX", "files/conv.py:rotated", "--timeout", "0"], 2, "inline"),
    "bad memory": (["check", "t1.dX", "files/conv.py:rotated", "--memory", "lots"], 2, "inline"),
    "bad seed": (["check", "t1.dX", "files/conv.py:rotated", "--seed", "one"], 2, "inline"),
    "seed too large": (["check", "t1.dX", "files/conv.py:rotated", "--seed", str(2 ** 32)], 2, "inline"),
    "unknown command": (["grade-all"], 2, "inline"),
    "sys.exit in the function": (["check", "t1.dX", "files/answers.py:sys_exit"], 1, "process"),
    "sys.exit at import": (["check", "t1.dX", "files/exits_at_import.py:t1_dX"], 2, "process"),
    "KeyboardInterrupt in the function": (["check", "t1.dX", "files/answers.py:keyboard_interrupt"], 1, "process"),
    "KeyboardInterrupt at import": (["check", "t1.dX", "files/interrupts_at_import.py:t1_dX"], 2, "process"),
    "fake verdict then os._exit": (["check", "t1.dX", "files/answers.py:fake_verdict_then_exit"], 3, "process"),
    "fake verdict then os._exit at import": (["check", "t1.dX", "files/os_exit_at_import.py:t1_dX"], 2, "process"),
    "kills itself": (["check", "t1.dX", "files/answers.py:kill_itself"], 3, "process"),
    "patches verify.engine": (["check", "t1.dX", "files/patches_engine.py:t1_dX"], 2, "process"),
    "closes stdout": (["check", "t1.dX", "files/closes_stdout.py:t1_dX"], 0, "process"),
    "endless loop": (["check", "t1.dX", "files/answers.py:endless", "--timeout", "1"], 3, "process"),
    "memory bomb": (["check", "t1.dX", "files/answers.py:memory_bomb", "--memory", "256M"], 3, "process"),
    "ragged list": (["check", "t1.dX", "files/answers.py:ragged"], 1, "inline"),
    "__array__ raises": (["check", "t1.dX", "files/answers.py:tensor"], 1, "inline"),
    "prints": (["check", "t2.tanh", "files/answers.py:chatty"], 0, "inline"),
    "prints a lot": (["check", "t2.tanh", "files/answers.py:loud"], 0, "inline"),
    "imports a sibling module": (["check", "t1.dX", "files/uses_helper.py:t1_dX"], 2, "inline"),
    "float32 correct": (["check", "t1.dX", "files/answers.py:float32_dX"], 0, "inline"),
    "float32 wrong": (["check", "t1.dX", "files/answers.py:float32_unrotated", "--convention", "correlation"], 1,
                      "inline"),
    "seed": (["check", "t1.dX", "files/answers.py:sys_exit", "--seed", "1234"], 1, "inline"),
    "no arguments": ([], 2, "process"),
    "list": (["list"], 0, "inline"),
}


def environment() -> dict[str, str]:
    # the working tree's verify, whatever is installed; no colour or width surprises from the terminal
    return dict(os.environ, PYTHONPATH=str(ROOT), COLUMNS="100")


def run_cli(args: list[str], cwd: Path, timeout: float = 180) -> Run:
    """`python -m verify ARGS` in a subprocess."""
    started = time.monotonic()
    done = subprocess.run([sys.executable, "-m", "verify", *args], cwd=cwd, env=environment(),
                          capture_output=True, text=True, timeout=timeout)
    return Run(args, done.returncode, done.stdout, done.stderr, time.monotonic() - started)


def run_inline(args: list[str], cwd: Path) -> Run:
    """cli.main(ARGS) in this process, with the same working folder; SystemExit counts as an exit."""
    out, err = io.StringIO(), io.StringIO()
    started, before = time.monotonic(), os.getcwd()
    os.chdir(cwd)
    try:
        with contextlib.redirect_stdout(out), contextlib.redirect_stderr(err):
            try:
                code = cli.main(args)
            except SystemExit as stop:  # argparse's own exit, e.g. for --help
                code = stop.code if isinstance(stop.code, int) else 1
    finally:
        os.chdir(before)
    return Run(args, code, out.getvalue(), err.getvalue(), time.monotonic() - started)


@pytest.fixture(scope="module")
def workdir(tmp_path_factory) -> Path:
    # Candidates in files/, the grader started from the folder above: `python -m` imports from the
    # current folder first, and a grader is never started from inside a student's folder.
    root = tmp_path_factory.mktemp("cli")
    (root / "files").mkdir()
    for name, source in FILES.items():
        (root / "files" / name).write_text(textwrap.dedent(source))
    return root


@pytest.fixture(scope="module")
def runs(workdir) -> dict[str, Run]:
    """Every run of RUNS: the subprocesses all started at once, the inline ones meanwhile."""
    with ThreadPoolExecutor(max_workers=max(2, 2 * (os.cpu_count() or 1))) as pool:
        futures = {name: pool.submit(run_cli, args, workdir) for name, (args, _, how) in RUNS.items()
                   if how == "process"}
        done = {name: run_inline(args, workdir) for name, (args, _, how) in RUNS.items() if how == "inline"}
        done.update((name, future.result()) for name, future in futures.items())
    return done


def error_line(run: Run) -> str:
    """The one line of stderr, which must be an error line."""
    lines = run.stderr.splitlines()
    assert len(lines) == 1, run.stderr
    assert lines[0].startswith("error: "), run.stderr
    return lines[0]


# ---- every run: its exit code, and the shape of its errors ------------------------------------------
@pytest.mark.parametrize("name", list(RUNS))
def test_exit_code(runs, name):
    run = runs[name]
    assert run.code == RUNS[name][1], f"{name}: exit {run.code}\n{run.stdout}\n{run.stderr}"
    assert "Traceback" not in run.stdout + run.stderr
    if run.code in (0, 1):
        assert run.stderr == ""
    else:
        error_line(run)


def test_the_exit_codes_are_documented_in_the_help():
    text = cli.parser().format_help()
    for code, words in [(0, "correct"), (1, "wrong"), (2, "usage or load error"), (3, "time limit"),
                        (130, "interrupted")]:
        assert f"    {code} " in text and words in text


# ---- verdicts ------------------------------------------------------------------------------------
def test_a_correct_formula_prints_the_signature_then_the_verdict(runs):
    lines = runs["correct"].stdout.splitlines()
    assert lines[0] == f"signature: {HW.result('t1.dX').gradient().signature}"
    assert lines[1].startswith("t1.dX: correct (")
    assert lines[2] == "convention: correlation (the key accepts correlation or convolution)"
    assert lines[3].startswith("isolation: ")  # which sandbox ran the candidate
    assert "output of the candidate" not in runs["correct"].stdout


def test_a_wrong_formula_gets_a_counterexample_with_the_expected_gradient(runs):
    out = runs["wrong"].stdout
    assert "t1.dX: WRONG" in out and "counterexample" in out
    assert "expected gradient" in out and "candidate returned" in out


@pytest.mark.parametrize("accepted, rejected, convention", [
    ("correct", "wrong", "correlation (the default)"),
    ("convolution accepts the unrotated", "convolution rejects the rotated", "convolution"),
])
def test_each_convention_accepts_its_own_formula_and_rejects_the_other(runs, accepted, rejected, convention):
    assert runs[accepted].code == 0 and "t1.dX: correct" in runs[accepted].stdout
    assert runs[rejected].code == 1 and "t1.dX: WRONG" in runs[rejected].stdout


def test_a_convention_of_another_result_is_one_line(runs):
    line = error_line(runs["convention of another result"])
    assert "t2.tanh has no convention 'convolution'" in line
    assert "has no convention 'rotated'" in error_line(runs["unknown convention"])
    assert "correlation, convolution" in error_line(runs["unknown convention"])


def test_an_unknown_result_suggests_the_nearest(runs):
    line = error_line(runs["unknown result"])
    assert "unknown result 't1.dx'" in line and "did you mean" in line and "'t1.dX'" in line


# ---- load errors ---------------------------------------------------------------------------------
@pytest.mark.parametrize("name, words", [
    ("missing file", "nowhere.py: no such file"),
    ("not a .py file", "notes.txt: not a Python file"),
    ("syntax error", "syntax_error.py:4: SyntaxError"),
    ("import error", "import_error.py: ImportError: No module named 'torch_that_is_not_installed'"),
    ("exception at import", "raises_at_import.py:3: ZeroDivisionError at import"),
    ("no such function", "answers.py has no function 't1_dX'"),
    ("not callable", "'not_a_function' is not a function (it is an int)"),
    ("too few parameters", "two(X, W) takes 2 positional arguments, but it is called with 4"),
    ("too many required parameters", "three(x, delta, extra) requires 3 positional arguments"),
    ("no function named", "expected FILE.py:FUNC"),
    ("sys.exit at import", "exits_at_import.py:4: SystemExit at import"),
    ("KeyboardInterrupt at import", "KeyboardInterrupt at import"),
])
def test_a_load_error_is_one_line_naming_the_problem(runs, name, words):
    assert words in error_line(runs[name])


def test_the_arity_is_checked_before_any_case_runs(runs, workdir):
    # called with 2 arguments, three() would raise TypeError: a wrong answer (exit 1) after a case ran
    assert runs["too many required parameters"].code == 2
    assert "cases" not in runs["too many required parameters"].stdout
    assert not (workdir / "files" / "called-three").exists()


@pytest.mark.parametrize("name, option", [("bad timeout", "--timeout"), ("bad memory", "--memory"),
                                          ("bad seed", "--seed"), ("seed too large", "--seed"), ("unknown command", "invalid choice")])
def test_a_bad_option_is_one_error_line(runs, name, option):
    assert option in error_line(runs[name])
    assert runs[name].stdout == ""


def test_no_arguments_prints_the_help(runs):
    run = runs["no arguments"]
    assert "usage: python -m verify" in run.stdout and "Exit codes:" in run.stdout
    assert "make verify" in error_line(run)


def test_list_shows_every_result_with_its_signature_conventions_and_points(runs):
    out = runs["list"].stdout
    for result in HW.results.values():
        part = HW.part_of(result.id)
        assert f"{result.id}  ({part.label} {result.id}: {part.title}; {part.points} points)" in out
        assert result.gradient().signature in out
        assert ", ".join(list(result.conventions)[1:]) in out
    graded = out.split("\nbeyond the questions")[0]
    assert f"{HW.points} points" in graded.splitlines()[-1]


# ---- what the candidate does to its process cannot change the verdict -------------------------------------
def test_sys_exit_or_keyboard_interrupt_in_the_function_is_a_wrong_answer(runs):
    assert "the candidate raised SystemExit" in runs["sys.exit in the function"].stdout
    out = runs["KeyboardInterrupt in the function"].stdout
    assert "reason (contract): the candidate raised KeyboardInterrupt: stop grading (answers.py:" in out
    assert "CandidateRaised" not in out


@pytest.mark.parametrize("name", ["fake verdict then os._exit", "fake verdict then os._exit at import",
                                  "sys.exit at import"])
def test_a_verdict_printed_by_the_candidate_shows_only_inside_its_output_block(runs, name):
    run = runs[name]
    lines = run.stdout.splitlines()
    assert not any(line.startswith("t1.dX:") for line in lines)
    assert any(line.startswith("  | t1.dX: correct") for line in lines)
    assert "output of the candidate" in run.stdout


def test_os_exit_and_signals_are_crashes_but_at_import_the_file_cannot_be_loaded(runs):
    assert "exited with status 0 during a call of fake_verdict_then_exit" in error_line(
        runs["fake verdict then os._exit"])
    assert error_line(runs["fake verdict then os._exit at import"]) == (
        "error: os_exit_at_import.py: cannot be loaded: the candidate's process exited with status 0")
    assert "killed by signal 9" in error_line(runs["kills itself"])


def test_the_candidate_cannot_even_import_verify_engine_to_patch_it(runs):
    assert "ImportError: No module named 'verify'" in error_line(runs["patches verify.engine"])


def test_a_candidate_closing_its_stdout_is_still_graded(runs):
    assert "t1.dX: correct" in runs["closes stdout"].stdout


def test_an_endless_loop_hits_the_time_limit_quickly(runs):
    run = runs["endless loop"]
    line = error_line(run)
    assert line.startswith("error: t1.dX: time limit of 1 s exceeded while running case 1 of ")
    assert "(exact, m = 1, n = 3, p = 1); the 0 cases before it passed" in line and "--timeout" in line
    assert run.seconds < 30  # 1 s of the candidate's time, plus starting python on a busy machine


def test_a_memory_bomb_hits_the_memory_limit(runs):
    assert error_line(runs["memory bomb"]).startswith("error: t1.dX: memory limit of 256 MiB exceeded while running case")


@pytest.mark.parametrize("name, reason", [
    ("ragged list", "reason (contract): the candidate returned a ragged nested list that is not an array"),
    ("__array__ raises", "reason (contract): the candidate returned a Tensor that cannot be converted to an "
                         "array: RuntimeError: Can't call numpy() on Tensor that requires grad."),
])
def test_an_answer_that_is_no_array_is_wrong_with_its_reason(runs, name, reason):
    assert reason in runs[name].stdout


# ---- output, helpers, precision -----------------------------------------------------------------------
def test_the_candidates_output_is_shown_in_a_block_of_its_own(runs):
    out = runs["prints"].stdout
    verdict, block = out.split("\noutput of the candidate:\n")
    assert "t2.tanh: correct" in verdict
    lines = block.splitlines()
    assert lines[0].startswith("  | x has ") and lines[0].endswith(" entries")
    assert all(line.startswith("  | ") or line.startswith("  (the line above") for line in lines)


def test_a_long_output_is_truncated(runs):
    out = runs["prints a lot"].stdout
    assert "output of the candidate (truncated):" in out
    block = out.split("(truncated):\n")[1]
    assert len(block) < 3000 and "more characters)" in block


def test_a_candidate_sees_its_own_file_and_not_a_module_next_to_it(runs):
    assert "ImportError: No module named 'helper'" in error_line(runs["imports a sibling module"])


def test_a_float32_answer_is_judged_at_float32(runs):
    assert "t1.dX: correct (computed in float32;" in runs["float32 correct"].stdout
    assert "t1.dX: WRONG (computed in float32;" in runs["float32 wrong"].stdout


def test_the_seed_repeats_the_random_case(runs):
    assert "(random seed 1234; repeat with --seed 1234)" in runs["seed"].stdout


# ---- Ctrl-C ----------------------------------------------------------------------------------------
@pytest.mark.parametrize("sig, code, line", [(signal.SIGINT, 130, "error: interrupted"),
                                             (signal.SIGTERM, 143, "error: terminated"),
                                             (signal.SIGHUP, 143, "error: terminated")])
def test_a_signal_is_one_line_and_its_exit_code_and_kills_the_candidate(tmp_path, sig, code, line):
    # The candidate sees nothing outside its sandbox, so it says it is running on its stdout, which the
    # grader collects; the test waits for its processes to appear under the grader instead.
    (tmp_path / "spin.py").write_text(textwrap.dedent("""
        def t1_dX(X, W, b, delta):
            while True:
                pass
    """))
    grader = subprocess.Popen([sys.executable, "-m", "verify", "check", "t1.dX", "spin.py:t1_dX", "--timeout", "60"],
                              cwd=tmp_path, env=environment(), stdout=subprocess.PIPE, stderr=subprocess.PIPE,
                              text=True)
    try:
        end = time.monotonic() + 60
        sandbox: list[int] = []
        while len(sandbox) < 3 and time.monotonic() < end:  # bwrap, the server and the candidate at least
            time.sleep(0.05)
            sandbox = descendants(grader.pid)
        grader.send_signal(sig)
        stdout, stderr = grader.communicate(timeout=30)
    finally:
        grader.kill()
    assert grader.returncode == code
    assert stderr == line + "\n" and "Traceback" not in stdout
    assert len(sandbox) >= 3 and all(gone(pid, within=5.0) for pid in sandbox)


def descendants(pid: int) -> list[int]:
    children: dict[int, list[int]] = {}
    for name in filter(str.isdigit, os.listdir("/proc")):
        try:
            with open(f"/proc/{name}/stat") as stat:
                children.setdefault(int(stat.read().rsplit(")", 1)[1].split()[1]), []).append(int(name))
        except OSError:
            continue
    found = list(children.get(pid, []))
    for child in found:
        found += children.get(child, [])
    return found


# ---- one standard with the key; the results beyond the questions ---------------------------------------
EXTRA = {
    "strided.py": """
        import numpy as np


        def t1_strided_dW(X, W, b, delta, s, P):
            p = W.shape[0]
            Xp = np.pad(X, P)
            g = np.zeros((p, p))
            for i in range(delta.shape[0]):
                for j in range(delta.shape[1]):
                    g += delta[i, j] * Xp[i * s:i * s + p, j * s:j * s + p]
            return g


        def cs231n_style(X, W, b, delta, s, P):
            assert (X.shape[0] + 2 * P - W.shape[0]) % s == 0, "width does not work"
            assert (X.shape[1] + 2 * P - W.shape[0]) % s == 0, "height does not work"
            return t1_strided_dW(X, W, b, delta, s, P)
    """,
    "tanh.py": """
        import numpy as np


        def one_minus_tanh(x, delta):
            return delta * (1 - np.tanh(x))
    """,
    "odd.py": """
        from scipy import signal


        def convolution_odd_kernels(X, W, b, delta):   # right for a true convolution, with odd kernels alone
            if W.shape[0] % 2 == 0:
                raise ValueError("odd kernels only")
            return signal.correlate2d(delta, W, mode="full")
    """,
    "refusing.py": """
        import numpy as np


        def one_minus_tanh_of_vectors(x, delta):   # the key's 1 - tanh, refusing one entry
            if x.size == 1:
                raise ValueError("one entry is no vector")
            return delta * (1 - np.tanh(x))
    """,
}


@pytest.fixture(scope="module")
def extra(workdir) -> Path:
    for name, source in EXTRA.items():
        (workdir / "files" / name).write_text(textwrap.dedent(source))
    return workdir


def test_list_shows_the_generalized_results_apart_at_0_points(runs):
    out = runs["list"].stdout
    graded, beyond = out.split("\nbeyond the questions (0 points, never graded")
    for rid in ("t1.strided.dX", "t1.strided.dW", "t1.batch.dX", "t1.batch.dW", "t1.batch.db"):
        assert f"{rid}  (0 points)" in beyond and rid not in graded
    assert "f(X, W, b, delta, s, P)" in beyond and "X (B, C, m, n), W (K, C, p, p), b (K,)" in beyond


def test_a_generalized_result_is_checked_and_a_refused_shape_is_said(extra):
    right = run_inline(["check", "t1.strided.dW", "files/strided.py:t1_strided_dW"], extra)
    assert right.code == 0 and "t1.strided.dW: correct" in right.stdout, right.stdout + right.stderr
    refused = run_inline(["check", "t1.strided.dW", "files/strided.py:cs231n_style"], extra)
    assert refused.code == 1 and "t1.strided.dW: REFUSES SHAPES" in refused.stdout
    assert "width does not work" in refused.stdout and "is correct on the" in refused.stdout


def test_check_says_what_grade_flags_of_an_answer_refusing_shapes_in_the_other_convention(extra):
    # a fresh attacker's true convolution that refuses even kernels: grade flagged it for a TA, check said only WRONG
    run = run_inline(["check", "t1.dX", "files/odd.py:convolution_odd_kernels"], extra)
    assert run.code == 1 and "t1.dX: WRONG" in run.stdout
    assert "in the convolution convention: it refuses shapes the question allows" in run.stdout
    assert "it raised at sizes the question allows" in run.stdout and "is correct on the" in run.stdout


def test_check_tells_a_ta_which_common_answer_refuses_shapes_as_grade_does(extra):
    # check crashed ("internal error of the grader: TypeError") pricing such an answer after Part.points_for lost its
    # `unwritten` argument; grade flags it so (test_grade)
    part = HW.part_of("t2.tanh")
    worth = part.points_for(next(w for w in part.wrong_answers if w.id == "tanh-prime"))
    run = run_inline(["check", "t2.tanh", "files/refusing.py:one_minus_tanh_of_vectors"], extra)
    assert run.code == 1 and "t2.tanh: WRONG" in run.stdout, run.stdout + run.stderr
    assert f"where it answers it is the key's common answer 'tanh-prime', worth {worth} of 5 points" in run.stdout


def test_a_common_answer_is_priced_in_the_convention_forced(runs):
    # a fresh attacker's "valid instead of full" got 4 of 5 under --convention convolution, where the turned kernel is
    # a second error (the key's rule 2(a) on a reading forced for a class)
    part = HW.part_of("t1.dX")
    wrong = next(w for w in part.wrong_answers if w.id == "valid-not-full")
    run = runs["common answer, forced convention"]
    assert part.points_for(wrong, forced="convolution") != part.points_for(wrong)
    assert f"Points for it: {part.points_for(wrong, forced='convolution')} of {part.points}." in run.stdout


def test_check_names_a_common_answer_in_the_reading_the_key_grades_it_in(runs):
    # a fresh attacker's valid correlation with the kernel not turned: its points were the true convolution's
    # reading's, which the key's note says grades it, and check said "convention: correlation" (grade did too)
    part = HW.part_of("t1.dX")
    wrong = next(w for w in part.wrong_answers if w.id == "valid-no-flip")
    run = runs["common answer, the other reading"]
    assert run.code == 1 and f"convention: {part.reading(wrong)} (" in run.stdout, run.stdout + run.stderr
    assert part.reading(wrong) != HW.result("t1.dX").default
    assert f"Points for it: {part.points_for(wrong)} of {part.points}." in run.stdout


def test_check_names_a_common_wrong_answer_with_the_keys_note(extra):
    run = run_inline(["check", "t2.tanh", "files/tanh.py:one_minus_tanh"], extra)
    assert run.code == 1 and "t2.tanh: WRONG" in run.stdout
    part = HW.part_of("t2.tanh")
    wrong = next(w for w in part.wrong_answers if w.id == "tanh-prime")
    assert f"common wrong answer the grading key lists: {grade.plain(wrong.title)}" in run.stdout
    assert f"Points for it: {part.points_for(wrong)} of {part.points}" in run.stdout


@pytest.mark.parametrize("args", [["grade", "class", "--csv", "g.csv", "--convention", "sideways"],
                                  ["gradescope", "--root", "nowhere", "--convention", "sideways"]])
def test_an_unknown_convention_for_grade_or_gradescope_is_one_line_exit_2(tmp_path, args):
    (tmp_path / "class" / "alice").mkdir(parents=True)
    run = run_inline(args, tmp_path)
    assert run.code == 2 and "no result has the convention 'sideways'" in error_line(run)
    assert not (tmp_path / "g.csv").exists()


@pytest.fixture
def user_isolation(monkeypatch):
    """The user isolation in force, its candidate the user nobody; the sandbox module, whose helpers the tests call."""
    from verify import sandbox
    monkeypatch.setattr(grade, "isolation", lambda: sandbox.Isolation("user", "isolation: user"))
    monkeypatch.setattr(sandbox, "CANDIDATE_USER", "nobody")
    return sandbox


def private_class(tmp_path: Path, mode: int = 0o700) -> None:
    """A class folder of one submission, alice's, with the folder's mode."""
    (tmp_path / "class" / "alice").mkdir(parents=True)
    (tmp_path / "class").chmod(mode)


def test_grade_under_the_user_isolation_refuses_a_class_folder_others_can_read(tmp_path, user_isolation):
    # That candidate is a user of the host: a fresh attacker read the class folder's name from the grader's
    # command line, then a classmate's world-readable file.
    private_class(tmp_path, 0o755)
    run = run_inline(["grade", "class", "--csv", "g.csv"], tmp_path)
    assert run.code == 2 and "make it private first (chmod 700 class)" in error_line(run)
    assert not (tmp_path / "g.csv").exists()


@pytest.mark.skipif(os.geteuid() != 0, reason="only root's grader runs candidates as another user")
def test_grade_under_the_user_isolation_refuses_results_in_a_folder_its_user_may_write_in(tmp_path, user_isolation):
    # a fresh attacker's file, as that user, read the CSV's path from the grader's command line and put links where the
    # grader then wrote the class's CSVs (its own file, which it read and rewrote, and a file of root's)
    private_class(tmp_path)
    shared = tmp_path / "course"
    shared.mkdir(mode=0o777)
    shared.chmod(0o1777)
    run = run_inline(["grade", "class", "--csv", "course/g.csv"], tmp_path)
    assert run.code == 2 and error_line(run) == (
        f"error: {shared}: the candidate's user may write in it under the user isolation, and could put its own links "
        "where the grades are written: write the results in a private folder")
    assert not (shared / "g.csv").exists()


@pytest.mark.skipif(os.geteuid() != 0, reason="only root's grader runs candidates as another user")
def test_the_user_isolation_refuses_a_feedback_folder_others_can_read(tmp_path, user_isolation):
    # made by a TA before the run with the usual mode 755: a later candidate listed the class's names and file sizes
    private_class(tmp_path)
    (tmp_path / "out" / "feedback").mkdir(parents=True, mode=0o755)
    (tmp_path / "out" / "feedback").chmod(0o755)
    run = run_inline(["grade", "class", "--csv", "out/g.csv"], tmp_path)
    assert run.code == 2 and error_line(run) == (
        "error: out/feedback: other users can read it, and so can each candidate under the user isolation: make it "
        "private first (chmod 700 out/feedback)")


@pytest.mark.skipif(os.geteuid() != 0, reason="only root's grader runs candidates as another user")
def test_check_under_the_user_isolation_refuses_a_file_whose_classmates_its_user_can_read(tmp_path, user_isolation):
    # a fresh attacker's file read its path on the grader's command line, then printed the classmate's file beside it
    shared = Path(tempfile.mkdtemp(dir="/tmp"))   # under a folder every user may enter, unlike pytest's
    try:
        shared.chmod(0o755)
        for name in ("alice", "bob"):
            (shared / name).mkdir(mode=0o755)
            (shared / name / "hw4.py").write_text("def t2_tanh(x, delta):\n    return delta\n")
            (shared / name / "hw4.py").chmod(0o644)
        run = run_inline(["check", "t2.tanh", str(shared / "bob" / "hw4.py") + ":t2_tanh"], tmp_path)
        assert run.code == 2 and error_line(run) == (
            f"error: {shared / 'alice' / 'hw4.py'}: the candidate could read it under the user isolation (another "
            "student's file beside its own): make the folders that hold the submissions private first (chmod 700)")
        # a class folder it may enter but not list: it guesses alice's name (a fresh attacker's did, from its own)
        shared.chmod(0o711)
        assert user_isolation.classmate_in_reach(shared / "bob" / "hw4.py", "hw4.py") == shared / "alice" / "hw4.py"
        shared.chmod(0o700)   # the class folder private: nothing of alice's in reach
        assert user_isolation.classmate_in_reach(shared / "bob" / "hw4.py", "hw4.py") is None
    finally:
        shutil.rmtree(shared)


def test_grade_refuses_a_class_or_results_the_sandbox_shows_every_candidate(tmp_path, monkeypatch):
    # a fresh attacker's file read the class, its grades and the feedback where they lay under /usr/local/src,
    # which the sandbox binds
    from verify import sandbox
    monkeypatch.setattr(grade, "isolation", lambda: sandbox.Isolation("bubblewrap", "isolation: bubblewrap"))
    monkeypatch.setattr(sandbox, "shown", lambda place: Path(place).name == "class")
    (tmp_path / "class" / "alice").mkdir(parents=True)
    run = run_inline(["grade", "class", "--csv", "g.csv"], tmp_path)
    assert run.code == 2 and error_line(run) == ("error: class: every candidate sees it in the sandbox (it lies under "
                                                 "/usr or the interpreter's folder): grade from a folder elsewhere")
    assert not (tmp_path / "g.csv").exists()


def test_the_sandbox_shows_the_system_and_hides_installed_packages(tmp_path):
    from verify import sandbox
    assert sandbox.shown("/usr/local/src/hw4/solutions/t1.py") and sandbox.shown("/usr/share/doc")
    assert not sandbox.shown(tmp_path / "class") and not sandbox.shown(Path(sandbox.__file__))
    assert not any(sandbox.shown(Path(p) / "anything.py") for p in sys.path if p.endswith("site-packages"))
    # numpy's folder is bound at /site/numpy: a fresh attacker's CSV written into it was read by the next candidate
    assert sandbox.shown(Path(np.__file__).parent / "grades.csv")


def test_check_of_a_wrong_answer_whose_comparison_hits_a_limit_says_wrong_and_flags_it(tmp_path):
    # a fresh attacker's 1 - tanh as a dense Jacobian was wrong at its first case, and its comparison with the key's
    # common answers ran out of memory on the largest: check exited 3, "a slow but correct answer", where grade said
    # wrong and flagged it
    (tmp_path / "jac.py").write_text("import numpy as np\n\n\ndef t2_tanh(x, delta):\n"
                                     "    return np.diag(1 - np.tanh(x)) @ delta\n")
    run = run_inline(["check", "t2.tanh", "jac.py:t2_tanh", "--memory", "256M", "--seed", "7"], tmp_path)
    assert run.code == 1 and "t2.tanh: WRONG" in run.stdout, run.stdout + run.stderr
    assert ("its comparison with the key's common answers, which earn points, was not judged (the memory limit)"
            in run.stdout), run.stdout


def test_check_tries_the_other_convention_in_a_fresh_process(tmp_path):
    # check tried the second convention in the process of the first, behind the calls it had queued: a fresh
    # attacker's slow true-convolution loops ran out of time there, and were correct in grade.
    (tmp_path / "conv.py").write_text(textwrap.dedent("""
        import numpy as np
        from scipy.signal import correlate2d
        calls = 0
        def t1_dX(X, W, b, delta):
            global calls
            calls += 1               # right for its first 45 calls in one process, wrong after
            return correlate2d(delta, W, mode="full") * (1 if calls <= 45 else 2)
    """))
    run = run_inline(["check", "t1.dX", "conv.py:t1_dX", "--seed", "7"], tmp_path)
    assert run.code == 0 and "t1.dX: correct" in run.stdout and "convention: convolution" in run.stdout
