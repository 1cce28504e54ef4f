"""python -m verify grade: a folder of submissions graded into a CSV, feedback files and a summary.

One run of the command over a class of eight generated submissions (one of each kind of trouble)
is shared by the tests that read its CSV, feedback and summary; the time limit is 1 s.
"""
from __future__ import annotations

import contextlib
import csv
import io
import os
import subprocess
import sys
import textwrap
from pathlib import Path

import pytest

from verify import cli, grade
from verify.homework import load

pytestmark = pytest.mark.sandbox

ROOT = Path(__file__).resolve().parents[2]
HW = load("solutions")
RESULTS = list(HW.results)          # the homework's order
SEED = 4242

# Correct answers in numpy alone (a child importing scipy.signal costs ~0.8 s of start-up).
CORRECT = """\
import numpy as np
from numpy.lib.stride_tricks import sliding_window_view


def correlate_valid(A, K):
    return np.einsum("ijkl,kl->ij", sliding_window_view(A, K.shape), K)


def t1_dX(X, W, b, delta):
    p, q = W.shape
    return correlate_valid(np.pad(delta, ((p - 1, p - 1), (q - 1, q - 1))), W[::-1, ::-1])


def t1_dW(X, W, b, delta):
    return correlate_valid(X, delta)


def t1_db(X, W, b, delta):
    return delta.sum()


def t2_tanh(x, delta):
    return delta * (1 - np.tanh(x) ** 2)


def t2_maxpool(x, delta):
    g = np.zeros_like(x)
    g[np.argmax(x)] = delta
    return g


def t2_avgpool(x, delta):
    return np.full_like(x, delta / x.size)
"""


def replace_function(source: str, name: str, body: str | None) -> str:
    """`source` with function `name` given a new body (None: removed)."""
    head = f"def {name}("
    start = source.index(head)
    end = source.find("\ndef ", start + 1)
    end = len(source) if end < 0 else end + 1
    if body is None:
        return source[:start] + source[end:]
    signature = source[start:source.index(":\n", start) + 2]
    return source[:start] + signature + textwrap.indent(textwrap.dedent(body).strip("\n"), "    ") + "\n\n" + \
        source[end:]


# submission: (hw4.py or None for none, {result: (verdict, what its feedback says)})
CLASS = {
    "alice": (CORRECT, {}),
    "bob": (replace_function(CORRECT, "t1_dX", """
        p, q = W.shape
        return correlate_valid(np.pad(delta, ((p - 1, p - 1), (q - 1, q - 1))), W)   # not rotated
    """), {"t1.dX": ("wrong", "expected gradient")}),
    "carol": (replace_function(CORRECT, "t1_db", None), {"t1.db": ("missing", "has no function 't1_db'")}),
    "dave": (CORRECT.replace("def t1_dW(X, W, b, delta):", "def t1_dW(X, W, b, delta)"),
             {r: ("error", "SyntaxError") for r in RESULTS}),
    "erin": (replace_function(CORRECT, "t2_tanh", "while True:\n    pass"),
             {"t2.tanh": ("timeout", "time limit of 1 s exceeded")}),
    "frank": (replace_function(CORRECT, "t1_db", """
        import os
        print("t1.db: correct", flush=True)
        os._exit(0)
    """), {"t1.db": ("error", "exited with status 0")}),
    "gina": (None, {r: ("missing", "no hw4.py") for r in RESULTS}),
    "heidi": (replace_function(CORRECT, "t2_avgpool", """
        print("averaging", x.size, "entries")
        return x   # wrong, and chatty
    """).replace("def t1_dW(X, W, b, delta):", "def t1_dW(X, W, b):"),
        {"t2.avgpool": ("wrong", "averaging"), "t1.dW": ("error", "takes 3 positional arguments")}),
}


def expected(submission: str, result: str) -> tuple[str, str]:
    return CLASS[submission][1].get(result, ("correct", f"{result}: correct"))


def make_class(folder: Path, names=CLASS) -> Path:
    for name in names:
        source = CLASS[name][0]
        (folder / name).mkdir(parents=True)
        if source is not None:
            (folder / name / "hw4.py").write_text(source)
    return folder


def environment() -> dict[str, str]:
    return dict(os.environ, PYTHONPATH=str(ROOT))


@pytest.fixture(scope="module")
def graded(tmp_path_factory):
    """One `python -m verify grade` over the class, with 2 workers."""
    root = tmp_path_factory.mktemp("grade")
    make_class(root / "class")
    done = subprocess.run([sys.executable, "-m", "verify", "grade", "class", "--csv", "out/grades.csv",
                           "--timeout", "1", "--seed", str(SEED), "--jobs", "2"],
                          cwd=root, env=environment(), capture_output=True, text=True, timeout=300)
    return root, done


def test_grading_exits_0_with_a_clean_stderr(graded):
    _, done = graded
    assert done.returncode == 0, done.stderr
    assert done.stderr == ""   # no traceback, and no progress bar when stderr is no terminal


def test_the_csv_has_one_row_per_submission_and_result_in_order(graded):
    root, _ = graded
    with open(root / "out" / "grades.csv", newline="") as file:
        rows = list(csv.reader(file))
    assert rows[0] == ["submission", "result", "verdict", "points", "max_points", "convention", "common_error",
                       "review"]
    assert [(r[0], r[1]) for r in rows[1:]] == [(s, r) for s in sorted(CLASS) for r in RESULTS]
    for submission, result, verdict, points, max_points, *_ in rows[1:]:
        worth = HW.part_of(result).points
        assert (verdict, int(max_points)) == (expected(submission, result)[0], worth), (submission, result)
        assert int(points) == (worth if verdict == "correct" else 0)


def test_each_submission_gets_a_feedback_file_saying_why(graded):
    root, _ = graded
    folder = root / "out" / "feedback"
    assert sorted(p.name for p in folder.iterdir()) == [f"{name}.txt" for name in sorted(CLASS)]
    for submission in CLASS:
        text = (folder / f"{submission}.txt").read_text()
        assert f"random seed of this grading run: {SEED}" in text.lower()
        total = sum(HW.part_of(r).points for r in RESULTS if expected(submission, r)[0] == "correct")
        assert f"Score: {total} / {HW.points}" in text
        for result in RESULTS:
            verdict, words = expected(submission, result)
            part = HW.part_of(result)
            assert f"{part.label} {result}: {part.title}: {verdict}," in text
            assert words in text, (submission, result)


def test_the_feedback_shows_the_counterexample_and_the_output_apart(graded):
    root, _ = graded
    bob = (root / "out" / "feedback" / "bob.txt").read_text()
    assert "counterexample (exact):" in bob and f"repeat with --seed {SEED}" in bob
    heidi = (root / "out" / "feedback" / "heidi.txt").read_text()
    assert "what your function printed:\n  | averaging " in heidi
    frank = (root / "out" / "feedback" / "frank.txt").read_text()
    assert "\n  | t1.db: correct" in frank and "\nt1.db: correct" not in frank


def test_the_summary_counts_the_verdicts_of_each_result(graded):
    _, done = graded
    out = done.stdout
    assert f"graded {len(CLASS)} submissions" in out and f"seed {SEED}" in out
    header = next(line for line in out.splitlines() if line.startswith("result "))
    assert header.split() == ["result", *grade.VERDICTS]
    for result in RESULTS:
        line = next(line for line in out.splitlines() if line.startswith(f"{result} "))
        counts = [sum(expected(s, result)[0] == v for s in CLASS) for v in grade.VERDICTS]
        assert [int(n) for n in line.split()[1:]] == counts, line
    totals = sorted((sum(HW.part_of(r).points for r in RESULTS if expected(s, r)[0] == "correct") for s in CLASS),
                    reverse=True)
    assert f"max {totals[0]}" in out and f"min {totals[-1]}" in out


def test_the_function_for_a_benchmark_gives_the_rows_and_feedback_goes_where_asked(tmp_path):
    make_class(tmp_path / "class", ["alice", "gina"])
    rows = grade.grade(tmp_path / "class", jobs=1, timeout=5, seed=SEED)
    assert [(r.submission, r.result, r.verdict, r.points) for r in rows] == [
        (s, r, expected(s, r)[0], HW.part_of(r).points if s == "alice" else 0) for s in ("alice", "gina")
        for r in RESULTS]
    done = subprocess.run([sys.executable, "-m", "verify", "grade", "class", "--csv", "grades.csv", "--feedback",
                           "notes", "--seed", str(SEED)], cwd=tmp_path, env=environment(), capture_output=True,
                          text=True, timeout=300)
    assert done.returncode == 0, done.stderr
    assert sorted(p.name for p in (tmp_path / "notes").iterdir()) == ["alice.txt", "gina.txt"]
    assert not (tmp_path / "feedback").exists()


@pytest.mark.parametrize("args, words", [
    (["grade", "nowhere", "--csv", "g.csv"], "nowhere: no such directory"),
    (["grade", "empty", "--csv", "g.csv"], "no submission folders"),
    (["grade", "empty"], "--csv"),
    (["grade", "empty", "--csv", "g.csv", "--jobs", "0"], "--jobs"),
])
def test_a_usage_error_is_one_line_and_exit_2(tmp_path, args, words):
    (tmp_path / "empty").mkdir()
    err = io.StringIO()
    before = os.getcwd()
    os.chdir(tmp_path)
    try:
        with contextlib.redirect_stderr(err), contextlib.redirect_stdout(io.StringIO()):
            try:
                code = cli.main(args)
            except SystemExit as stop:
                code = stop.code
    finally:
        os.chdir(before)
    assert code == 2
    lines = err.getvalue().splitlines()
    assert len(lines) == 1 and lines[0].startswith("error: ") and words in lines[0]


def test_output_printed_many_times_is_shown_once_with_a_count():
    text = grade.quoted("a\nb\nb\nb\nb\nc\n")
    assert text.splitlines() == ["  | a", "  | b", "  (the line above 3 more times)", "  | c"]
    assert grade.quoted("x\nx\n").splitlines() == ["  | x", "  | x"]


def test_a_result_is_worth_its_parts_points():
    assert sum(grade.points_of(HW, r) for r in RESULTS) == HW.points


def test_folder_names_a_spreadsheet_or_utf_8_cannot_take_are_written_safely(tmp_path):
    # A folder name is the student's (an upload's name): bytes that are not UTF-8, or a formula.
    root = tmp_path / "class"
    for name in (os.fsdecode(b"bad\xffname"), "=HYPERLINK(1)"):
        (root / name).mkdir(parents=True)
        (root / name / "hw4.py").write_text(CORRECT)
    report = grade.grade_all(root, jobs=1, seed=SEED, homework=HW)
    grade.write_csv(report.rows, tmp_path / "grades.csv")
    written = grade.write_feedback(HW, report, tmp_path / "feedback")
    cells = [line.split(",")[0] for line in (tmp_path / "grades.csv").read_text(encoding="utf-8").splitlines()[1:]]
    assert set(cells) == {"'=HYPERLINK(1)", "bad\\xffname"}
    assert grade.folder_name("bad\\xffname") == os.fsdecode(b"bad\xffname")
    names = sorted(p.name for p in written)
    assert names[0] == "=HYPERLINK(1).txt" and names[1].startswith("bad_xffname-") and len(names) == 2
    assert all(s.points == s.max_points for s in report.submissions)
