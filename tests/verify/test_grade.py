"""python -m verify grade: a folder of submissions graded into a CSV, feedback files and a summary.

One run of the command over a class of eight generated submissions (one of each kind of trouble)
is shared by the tests that read its CSV, feedback and summary; the time limit is 1 s.
"""
from __future__ import annotations

import contextlib
import csv
import io
import os
import re
import stat
import subprocess
import sys
import textwrap
from pathlib import Path

import numpy as np
import pytest
from scipy import signal

from verify import cli, grade
from verify.homework import load
from verify.sandbox import Crashed

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


# The results CORRECT answers (Homework 4's six); a part an instructor adds is "missing" in these tests'
# files, and every total below counts only these, so adding a part or a question needs no test edit.
ANSWERED = [r for r in RESULTS if f"def {HW.result(r).function_name}(" in CORRECT]
FULL = sum(HW.part_of(r).points for r in ANSWERED)   # the score of CORRECT


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
        return 2 * correlate_valid(np.pad(delta, ((p - 1, p - 1), (q - 1, q - 1))), W)   # wrong in every reading
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
    if result not in ANSWERED and CLASS[submission][0] is not None and result not in CLASS[submission][1]:
        return ("missing", f"has no function '{HW.result(result).function_name}'")
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
        (s, r, expected(s, r)[0], HW.part_of(r).points if expected(s, r)[0] == "correct" else 0)
        for s in ("alice", "gina") for r in RESULTS]
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
    assert all(s.points == FULL for s in report.submissions)


# ---- one standard with the key --------------------------------------------------------------------------
CONVOLUTION = replace_function(replace_function(CORRECT, "t1_dX", """
    p, q = W.shape
    return correlate_valid(np.pad(delta, ((p - 1, p - 1), (q - 1, q - 1))), W)   # a true convolution's
"""), "t1_dW", "return correlate_valid(X, delta)[::-1, ::-1]")


def grade_source(tmp_path: Path, source: str, timeout: float = 20, **options) -> grade.Submission:
    file = tmp_path / "hw4.py"
    file.write_text(source)
    return grade.grade_file(file, HW, seed=SEED, timeout=timeout, **options)


def slow_dX(kernel: str) -> str:
    """CORRECT with a T1.1 answer pad_{p-1}(delta) correlated with `kernel`, which loops forever on the largest
    images: past any time limit there, judged on the smaller ones."""
    return replace_function(CORRECT, "t1_dX", f"""
        if X.size > 5000:
            while True:
                pass
        p, q = W.shape
        return correlate_valid(np.pad(delta, ((p - 1, p - 1), (q - 1, q - 1))), {kernel})
    """)


def by_result(submission: grade.Submission) -> dict[str, grade.Graded]:
    return {g.result: g for g in submission.results}


def test_a_true_convolution_submission_gets_every_point_and_is_told_its_convention(tmp_path):
    graded = grade_source(tmp_path, CONVOLUTION)
    assert graded.points == FULL and graded.max_points == HW.points
    results = by_result(graded)
    # each part on its own (the key's rule 2): dL/db is the same in both readings, so it keeps the default
    assert {results[r].convention for r in ("t1.dX", "t1.dW")} == {"convolution"}
    assert results["t2.tanh"].convention == ""        # a result of one convention says nothing of it
    text = grade.feedback_text(HW, graded)
    assert text.count("judged in the convolution convention") == 2


def test_a_forced_convention_judges_every_result_that_has_it_in_it(tmp_path):
    graded = by_result(grade_source(tmp_path, CONVOLUTION, convention="correlation"))
    assert graded["t1.dX"].verdict == graded["t1.dW"].verdict == "wrong"
    assert graded["t1.db"].verdict == "correct" and graded["t1.dX"].convention == "correlation"
    assert graded["t1.dX"].common == "no-flip" and graded["t1.dW"].common == "dW-rotated"


MIXED = replace_function(CORRECT, "t1_dX", """
    p, q = W.shape
    return correlate_valid(np.pad(delta, ((p - 1, p - 1), (q - 1, q - 1))), W)
""")   # dX of a true convolution with dW of a cross-correlation: each right in its own convention only


def test_each_part_is_judged_in_the_convention_that_earns_it_the_most(tmp_path):
    assert grade.convention_scope(HW) == "part"       # the key's rule 2: each part of T1 graded on its own
    graded = by_result(grade_source(tmp_path, MIXED))
    assert graded["t1.dX"].convention == "convolution" and graded["t1.dW"].convention == "correlation"
    assert all(graded[r].verdict == "correct" for r in ("t1.dX", "t1.dW", "t1.db"))


def test_under_one_convention_per_question_a_right_part_is_judged_again_only_where_a_wrong_one_gains(
        tmp_path, monkeypatch):
    import solutions
    monkeypatch.setattr(solutions, "CONVENTION_SCOPE", "question")
    judged: list[tuple[str, str | None]] = []
    judge = grade._grade_result

    def counting(box, output, homework, result, seed, path=None, convention=None):
        judged.append((result.id, convention))
        return judge(box, output, homework, result, seed, path, convention)
    monkeypatch.setattr(grade, "_grade_result", counting)
    # T1.1 wrong in both conventions: the convolution cannot earn T1 more, so the right T1.2 is judged once
    wrong_twice = replace_function(CORRECT, "t1_dX", "return np.zeros_like(X) + 1")
    graded = by_result(grade_source(tmp_path, wrong_twice))
    assert judged.count(("t1.dW", None)) == 1 and ("t1.dW", "convolution") not in judged
    assert graded["t1.dW"].verdict == "correct" and graded["t1.dX"].verdict == "wrong"
    # T1.1 right in the convolution: T1.2 is judged there too, and the question keeps the convention that earns more
    judged.clear()
    graded = by_result(grade_source(tmp_path, MIXED))
    assert ("t1.dW", "convolution") in judged and graded["t1.dW"].verdict == "correct"


def test_a_homework_may_ask_for_one_convention_per_question(tmp_path, monkeypatch):
    import solutions
    monkeypatch.setattr(solutions, "CONVENTION_SCOPE", "question")
    graded = by_result(grade_source(tmp_path, MIXED))
    conventions = {graded[r].convention for r in ("t1.dX", "t1.dW", "t1.db")}
    assert conventions == {"correlation"}             # one forward pass for the question; a tie: the default
    assert graded["t1.dX"].verdict == "wrong" and "correct in the convolution convention" in graded["t1.dX"].text
    assert graded["t1.dW"].verdict == graded["t1.db"].verdict == "correct"


def test_the_choice_of_convention_counts_points():
    dX, dW = HW.result("t1.dX"), HW.result("t1.dW")

    def g(rid, verdict, points):
        return grade.Graded(rid, verdict, points, 5, "")
    attempts = {"t1.dX": {"correlation": g("t1.dX", "wrong", 0), "convolution": g("t1.dX", "correct", 5)},
                "t1.dW": {"correlation": g("t1.dW", "wrong", 1), "convolution": g("t1.dW", "correct", 5)}}
    assert grade.choose_conventions([dX, dW], attempts) == "convolution"
    attempts["t1.dW"]["convolution"] = g("t1.dW", "wrong", 0)
    attempts["t1.dW"]["correlation"] = g("t1.dW", "correct", 5)
    assert grade.choose_conventions([dX, dW], attempts) == "correlation"     # 5 each: the default
    assert grade.choose_conventions([HW.result("t2.tanh")], {"t2.tanh": {}}) is None


def test_a_common_answer_is_named_and_shown_in_the_reading_the_key_grades_it_in(tmp_path):
    # a fresh attacker's valid correlation with the kernel not turned got the points of the true convolution's
    # reading, which the key's note says grades it, beside "judged in the correlation convention"
    graded = by_result(grade_source(tmp_path, replace_function(CORRECT, "t1_dX", "return correlate_valid(delta, W)")))
    answer = next(w for w in HW.part_of("t1.dX").wrong_answers if w.id == graded["t1.dX"].common)
    reading = HW.part_of("t1.dX").reading(answer)
    assert reading != HW.result("t1.dX").default   # a note another reading than the default grades
    assert graded["t1.dX"].convention == reading
    assert graded["t1.dX"].points == HW.part_of("t1.dX").points_for(answer) * 5 / HW.part_of("t1.dX").points


# the gradient for a true convolution's forward pass, entry by entry: the full correlation of delta with W
_CONVOLUTION_DX_LOOP = ("p = W.shape[0]\npadded = np.pad(delta, p - 1)\ng = np.zeros_like(X)\n"
                        "for k in range(X.shape[0]):\n    for l in range(X.shape[1]):\n"
                        "        g[k, l] = np.sum(padded[k:k + p, l:l + p] * W)\n")


@pytest.mark.parametrize("result, body, common", [
    ("t2.tanh", "return delta * (1 - np.tanh(x))", "tanh-prime"),
    ("t1.db", "return delta.mean()", "db-mean"),
    ("t2.avgpool", "return np.full_like(x, delta)", "avg-missing-d"),
    ("t1.db", "return delta", "db-not-summed"),                                   # the wrong shape, too
    ("t2.maxpool", "return np.full_like(x, delta)", "max-every-entry"),
    # f' without delta, its tie broken another way than the key's formula: to the last maximizer, or split
    ("t2.maxpool", "g = np.zeros_like(x)\ng[x.size - 1 - np.argmax(x[::-1])] = 1\nreturn g", "max-no-delta"),
    ("t2.maxpool", "tied = x == x.max()\nreturn tied / tied.sum()", "max-no-delta"),
    ("t2.avgpool", "g = np.zeros_like(x)\ng[np.argmax(x)] = delta\nreturn g", "avg-as-max"),
    # the mask computed on a float32 copy: near ties become ties, as the key's answer has them there in float32
    ("t2.maxpool", "x32 = x.astype(np.float32)\nreturn (x32 == x32.max()) * delta", "max-all-ties"),
    # the same, its tie at integer inputs (no kink of average pooling) broken to the last maximizer
    ("t2.avgpool", "g = np.zeros_like(x)\ng[x.size - 1 - np.argmax(x[::-1])] = delta\nreturn g", "avg-as-max"),
    ("t1.dX", "return delta.sum() * W", "sample.dX"),                             # W's shape, not X's
    ("t1.dX", "return correlate_valid(delta, W[::-1, ::-1])", "valid-not-full"),   # raises where delta < W
    # two mistakes for the cross-correlation, one (the border) in the reading that gives code more (rule 2)
    ("t1.dX", "return correlate_valid(delta, W)", "valid-no-flip"),
    # the inner product in place of the entry-wise one (rule 1(i)), as one number or in every entry
    ("t2.tanh", "return np.dot(delta, 1 - np.tanh(x) ** 2)", "tanh-inner-product"),
    ("t2.tanh", "return np.full_like(x, np.sum(delta * (1 - np.tanh(x) ** 2)))", "tanh-inner-product"),
    # the mask without delta (a false rule at ties besides), a note of its own; cases a note grades apart with a
    # formula of their own: T1.1's border slips as answers for a true convolution (rule 2(a)), written as loops
    ("t2.maxpool", "return (x == x.max()).astype(float)", "max-mask-no-delta"),
    ("t1.dX", _CONVOLUTION_DX_LOOP + "g[:p - 1] = 0\ng[X.shape[0] - p + 1:] = 0\ng[:, :p - 1] = 0\n"
     "g[:, X.shape[1] - p + 1:] = 0\nreturn g", "border-skipped:case"),
    ("t1.dX", "delta = delta.copy()\ndelta[-1] = 0\ndelta[:, -1] = 0\n" + _CONVOLUTION_DX_LOOP + "return g",
     "output-size:case"),
])
def test_a_common_wrong_answer_gets_the_keys_points_and_note(tmp_path, result, body, common):
    graded = by_result(grade_source(tmp_path, replace_function(CORRECT, result.replace(".", "_"), body)))[result]
    part = HW.part_of(result)
    wrong = grade.common_answers(HW, HW.result(result))[common][0]
    assert graded.verdict == "wrong" and graded.common == common
    assert graded.points == part.points_for(wrong) * graded.max_points / part.points
    text = grade.result_text(HW, graded)
    assert grade.plain(wrong.title) in text
    assert grade.plain(wrong.why).split(". ")[0].split(" below")[0] in text   # its first words, as the key has them
    if wrong.of_case is not None:
        assert grade.plain(wrong.of_case.text).split(", ")[0] in text
    assert f"Points for it: {part.points_for(wrong)} of {part.points}" in text
    assert "counterexample" in text and "$" not in text and "\\frac" not in text
    assert not graded.review          # the key's points are data: nothing left for a TA


def test_an_answer_the_key_accepts_as_right_is_graded_correct(tmp_path):
    # the sample solution's average pooling, read as the key reads it (rule 8): right, so never a common error
    graded = by_result(grade_source(tmp_path, replace_function(CORRECT, "t2_avgpool",
                                                                "return np.full_like(x, delta / x.size)")))
    part = HW.part_of("t2.avgpool")
    assert next(w for w in part.wrong_answers if w.id == "sample.avgpool").accepted
    assert graded["t2.avgpool"].verdict == "correct" and graded["t2.avgpool"].common == ""


def test_any_other_wrong_answer_gets_0_with_a_counterexample(tmp_path):
    graded = by_result(grade_source(tmp_path, replace_function(CORRECT, "t2_tanh", "return delta * x")))["t2.tanh"]
    assert graded.verdict == "wrong" and graded.points == 0 and graded.common == "" and not graded.note
    assert "counterexample" in graded.text


def test_a_refused_shape_is_not_wrong_and_is_flagged_for_a_ta(tmp_path):
    square_only = replace_function(CORRECT, "t1_dW", """
        if X.shape[0] != X.shape[1]:
            raise ValueError("square images only")
        return correlate_valid(X, delta)
    """)
    graded = by_result(grade_source(tmp_path, square_only))["t1.dW"]
    assert graded.verdict == "refused" and graded.points == 0
    assert "refuses shapes the question allows" in graded.review and "square images only" in graded.text


@pytest.mark.parametrize("answer", [
    "delta * (1 - np.tanh(x) ** 2) * 1.003",
    "delta * (1 - np.tanh(x))",   # the key's common answer 1 - tanh: no points in float16, as a right one gets none
])
def test_a_float16_answer_gets_0_and_is_flagged_for_a_ta(tmp_path, answer):
    # float16 cannot tell a right formula from one 0.3% off (which passed): not judged, but a TA sees it
    graded = by_result(grade_source(tmp_path, replace_function(
        CORRECT, "t2_tanh", f"return ({answer}).astype(np.float16)")))["t2.tanh"]
    # graded apart from the wrong ones, as every answer that is not judged (a fresh attacker's right float16 was 'wrong')
    assert graded.verdict == "error" and graded.points == 0 and not graded.common
    assert graded.review.startswith("it returns float16, which is not judged")


def test_an_answer_that_cannot_start_a_thread_is_not_judged_and_is_flagged_to_rerun_alone(tmp_path):
    # under a root grader the submissions graded at once share one process limit: a fresh attacker's classmate held
    # it, and a right answer that starts a thread got 0, unflagged
    starved = replace_function(CORRECT, "t2_tanh", """
        raise RuntimeError("can't start new thread")
    """)
    graded = by_result(grade_source(tmp_path, starved, results=["t2.tanh"]))["t2.tanh"]
    assert graded.verdict == "error" and graded.points == 0
    assert graded.review == ("not judged (it could not start a thread or a process: the submissions graded at once "
                             "share one limit of processes); rerun it alone: python -m verify check t2.tanh "
                             f"'{tmp_path / 'hw4.py'}:t2_tanh'")


def test_results_after_a_file_stops_loading_are_each_told_their_own_command(tmp_path, monkeypatch):
    # a fresh attacker's file stopped loading partway through: every later result told the TA to rerun the first
    # one's command (check t1.dW ...) in its own row
    real = grade._grade_result
    first = HW.result("t1.dW")

    def stops_loading_at_dW(box, output, homework, result, seed, path=None, convention=None):
        if result.id != first.id:
            return real(box, output, homework, result, seed, path, convention)
        crash = Crashed("the candidate's process ended")
        return grade.Graded(result.id, "error", 0, grade.points_of(homework, result.id), f"{grade._RELOAD}{crash}",
                            review=grade._rerun(crash, path, result))
    monkeypatch.setattr(grade, "_grade_result", stops_loading_at_dW)
    graded = by_result(grade_source(tmp_path, CORRECT))
    later = [r for r in list(HW.results)[list(HW.results).index(first.id) + 1:]]
    assert later
    for result_id in later:
        result = HW.result(result_id)
        assert f"check {result_id} '{tmp_path / 'hw4.py'}:{result.function_name}'" in graded[result_id].review


def test_right_values_in_an_object_array_get_their_points(tmp_path):
    # a fresh attacker's right average pooling as an array of Python floats (dtype object) got 0, unflagged
    objects = replace_function(CORRECT, "t2_avgpool", """
        return np.array([delta / x.size] * x.size, dtype=object)
    """)
    graded = by_result(grade_source(tmp_path, objects, results=["t2.avgpool"]))["t2.avgpool"]
    assert graded.verdict == "correct" and graded.points == graded.max_points
    # another's right db summed in Decimals, and returned as one
    decimals = replace_function(CORRECT, "t1_db", """
        from decimal import Decimal
        return sum((Decimal(float(v)) for v in delta.ravel()), Decimal(0))
    """)
    (tmp_path / "decimal").mkdir()
    graded = by_result(grade_source(tmp_path / "decimal", decimals, results=["t1.db"]))["t1.db"]
    assert graded.verdict == "correct" and graded.points == graded.max_points


def test_a_file_that_does_not_load_is_flagged_for_a_ta(tmp_path):
    # a fresh attacker's right file with an unused `from tqdm import tqdm` got 0 of 30 and an empty review column
    graded = grade_source(tmp_path, "from tqdm import tqdm\n" + textwrap.dedent(CORRECT), results=["t2.tanh"])
    assert graded.results[0].verdict == "error" and "tqdm" in graded.results[0].text
    assert graded.results[0].review.startswith("not judged (the file could not be loaded, so no function of it ran)")


def test_a_submission_folder_that_is_a_link_is_not_followed(tmp_path):
    # a fresh attacker's folder in the class, a link to one outside it, had that folder's hw4.py graded as its own
    (tmp_path / "elsewhere").mkdir()
    (tmp_path / "elsewhere" / "hw4.py").write_text(textwrap.dedent(CORRECT))
    (tmp_path / "class").mkdir()
    (tmp_path / "class" / "mallory").symlink_to(tmp_path / "elsewhere")
    report = grade.grade_all(tmp_path / "class", jobs=1, seed=SEED, homework=HW)
    [mallory] = report.submissions
    assert mallory.points == 0 and {g.verdict for g in mallory.results} == {"missing"}
    assert all("a link to a folder elsewhere" in g.text and g.review.startswith("not graded") for g in mallory.results)


def test_an_import_inside_a_function_of_a_module_the_sandbox_lacks_is_flagged_for_a_ta(tmp_path):
    # a fresh attacker's right tanh through sympy, imported in the function, was "wrong" with an empty review column,
    # where the same import at the top of the file is flagged
    lazy = replace_function(CORRECT, "t2_tanh", """
        import sympy
        return delta * (1 - np.tanh(x) ** 2)
    """)
    graded = grade_source(tmp_path, lazy, results=["t2.tanh"]).results[0]
    assert graded.verdict == "error" and graded.points == 0 and "sympy" in graded.text
    assert graded.review == ("not judged (it imports a module the sandbox does not have: it has Python, NumPy and "
                             "SciPy alone); a TA may read its formulas, or mend the import and check it again: "
                             f"python -m verify check t2.tanh '{tmp_path / 'hw4.py'}:t2_tanh'")


@pytest.mark.parametrize("pool", ["multiprocessing.get_context('fork').Pool(2)",
                                  "concurrent.futures.ProcessPoolExecutor(2)"], ids=["Pool", "ProcessPoolExecutor"])
def test_a_pool_of_processes_is_not_judged_and_no_larger_limit_is_advised(tmp_path, pool):
    # a fresh attacker's right answers through multiprocessing's pools hung to the time limit, with advice to give
    # it more time, or broke and were "wrong", unflagged: the pool's shared futexes are refused in the sandbox
    pooled = replace_function(CORRECT, "t2_tanh", f"""
        import concurrent.futures, multiprocessing
        with {pool} as workers:
            squares = list(workers.map(np.square, [np.tanh(x)]))
        return delta * (1 - squares[0])""")
    graded = grade_source(tmp_path, pooled, results=["t2.tanh"], timeout=5).results[0]
    assert graded.points == 0 and graded.review == (
        "not judged (it asks for what the sandbox refuses, such as a pool of processes of multiprocessing, shared "
        "memory or a socket: a larger limit does not help); a TA may read its formulas, or check it without them: "
        f"python -m verify check t2.tanh '{tmp_path / 'hw4.py'}:t2_tanh'"), (graded.verdict, graded.text, graded.output)


def test_a_correct_answer_past_a_limit_is_flagged_with_where_and_how_to_rerun(tmp_path):
    graded = by_result(grade_source(tmp_path, slow_dX("W[::-1, ::-1]"), timeout=2, results=["t1.dX", "t1.db"]))
    file = tmp_path / "hw4.py"
    assert graded["t1.dX"].verdict == "timeout" and graded["t1.db"].verdict == "correct"
    assert "m = 128, n = 160, p = 11" in graded["t1.dX"].text and "cases before it passed" in graded["t1.dX"].text
    assert graded["t1.dX"].review.startswith("not judged (the time limit); rerun it with a larger limit: "
                                             f"python -m verify check t1.dX '{file}:t1_dX' --timeout")


def test_correct_naive_loops_pass_within_the_default_limits(tmp_path):
    import inspect

    from .candidates import NAIVE
    source = "import numpy as np\n\n\n" + "\n\n".join(
        inspect.getsource(fn).replace(f"def {fn.__name__}(", f"def {rid.replace('.', '_')}(")
        for rid, fn in NAIVE.items())
    file = tmp_path / "hw4.py"
    file.write_text(source)
    graded = grade.grade_file(file, HW, seed=SEED, results=list(NAIVE))
    assert [g.verdict for g in graded.results] == ["correct"] * len(NAIVE), grade.feedback_text(HW, graded)


# ---- a batch that loses nothing -------------------------------------------------------------------------
ODD_NAMES = ["x" * 253, "名前 with space", "new\nline", "back\\slash", "back_slash", "a.b", "-dash", "=sum(1)"]


def test_any_folder_name_gets_its_own_feedback_file_and_a_reversible_csv_name(tmp_path):
    root = tmp_path / "class"
    for name in ODD_NAMES:
        (root / name).mkdir(parents=True)
    report = grade.grade_all(root, jobs=1, seed=SEED, homework=HW)     # no hw4.py anywhere: quick
    written = grade.write_feedback(HW, report, tmp_path / "feedback")
    assert len({p.name for p in written}) == len(ODD_NAMES) == len(list((tmp_path / "feedback").iterdir()))
    assert all(len(p.name.encode()) <= 255 for p in written)
    for path in written:
        assert stat.S_IMODE(path.stat().st_mode) == 0o600
    # the folder too: its list of names is the class's roster (a fresh attacker's file listed it)
    assert stat.S_IMODE((tmp_path / "feedback").stat().st_mode) == 0o700
    assert sorted(grade.folder_name(s.name) for s in report.submissions) == sorted(ODD_NAMES)
    grade.write_csv(report.rows, tmp_path / "grades.csv")
    grade.write_wide_csv(report, tmp_path / "wide.csv")
    for name in ("grades.csv", "wide.csv"):
        assert stat.S_IMODE((tmp_path / name).stat().st_mode) == 0o600
    with open(tmp_path / "wide.csv", newline="", encoding="utf-8") as file:
        rows = list(csv.reader(file))
    assert rows[0] == grade.wide_header(RESULTS)
    names = sorted(grade.folder_name(r[0][1:] if r[0].startswith("'") else r[0]) for r in rows[1:])
    assert names == sorted(ODD_NAMES)


def test_feedback_names_never_collide_even_when_a_name_looks_like_a_hashed_one(tmp_path):
    first = grade.feedback_name("new\nline")
    writer = grade.FeedbackWriter(HW, tmp_path)
    subs = [grade.Submission(n, [], SEED) for n in ("new\nline", first[:-4], first[:-4])]
    paths = [writer.write(s) for s in subs]
    assert len({p.name for p in paths}) == 3


def test_a_run_writes_each_submissions_rows_as_soon_as_it_is_done(tmp_path):
    make_class(tmp_path / "class", ["alice", "gina", "carol"])
    writer = grade.RowWriter(tmp_path / "grades.csv")
    seen = []

    def done(submission):
        writer.write(submission)
        with open(tmp_path / "grades.csv", newline="") as file:
            seen.append([r[0] for r in list(csv.reader(file))[1:]])
    grade.grade_all(tmp_path / "class", jobs=1, seed=SEED, homework=HW, progress=done)
    writer.close()
    assert [len(rows) for rows in seen] == [len(RESULTS), 2 * len(RESULTS), 3 * len(RESULTS)]
    assert stat.S_IMODE((tmp_path / "grades.csv").stat().st_mode) == 0o600


@pytest.mark.parametrize("make_bad, words", [
    (lambda tmp: (tmp / "folder.csv").mkdir(), "is a folder"),
])
def test_the_output_paths_are_checked_before_grading_starts(tmp_path, make_bad, words):
    make_class(tmp_path / "class", ["alice"])
    make_bad(tmp_path)
    done = subprocess.run([sys.executable, "-m", "verify", "grade", "class", "--csv", "folder.csv"], cwd=tmp_path,
                          env=environment(), capture_output=True, text=True, timeout=300)
    assert done.returncode == 2 and words in done.stderr and len(done.stderr.splitlines()) == 1
    assert "graded" not in done.stdout


def test_the_class_run_writes_a_wide_csv_and_flags_what_a_ta_should_see(graded):
    root, done = graded
    with open(root / "out" / "grades-wide.csv", newline="", encoding="utf-8") as file:
        rows = {r[0]: r for r in csv.reader(file)}
    header = rows.pop("submission")
    assert header == ["submission", *grade.wide_header(RESULTS)[1:]]
    assert set(rows) == set(CLASS)
    column = {name: header.index(name) for name in header}
    for name, row in rows.items():
        total = sum(HW.part_of(r).points for r in RESULTS if expected(name, r)[0] == "correct")
        assert row[column["Total Score"]] == str(total) and row[column["Max Points"]] == str(HW.points)
        assert row[column["SID"]] == name and row[column["feedback"]] == f"{name}.txt"
    assert "rerun it with a larger limit" in rows["erin"][column["review"]]
    assert rows["bob"][column["review"]] == ""     # a wrong answer is judged: nothing for a TA
    assert "for a TA to review" in done.stdout and "erin t2.tanh: timeout" in done.stdout


def test_every_common_wrong_answer_written_as_code_is_recognised_by_the_grader():
    # the key awards each listed answer its points; the grader must find it, also one that has no value
    # at some sizes the question allows (a valid correlation raises where delta is smaller than W)
    from verify import engine
    for result in HW.results.values():
        known = grade.common_answers(HW, result)
        references = {k: f for k, (_, f) in known.items()}
        for answer_id, (answer, fast) in known.items():
            assert answer_id in engine.matching(result.gradient(answer.convention), fast, references, seed=SEED), \
                answer_id


def _mean_in_a_float32_loop(X, W, b, delta):
    total = np.float32(0)
    for value in delta.astype(np.float32).ravel():
        total += value
    return total / np.float32(delta.size)


@pytest.mark.parametrize("result_id, answer_id, code", [
    ("t1.dW", "dW-delta-turned", lambda X, W, b, delta: signal.correlate2d(
        X.astype(np.float32), delta[::-1, ::-1].astype(np.float32), mode="valid")),
    ("t1.db", "db-mean", _mean_in_a_float32_loop),
])
def test_a_common_wrong_answer_summed_in_float32_is_still_recognised(result_id, answer_id, code):
    # a fresh attacker's float32 sums over 20,000 terms missed the key's answer by more than 8 float32 units of
    # its cancelling total, and got 0 where the key gives that answer's points
    from verify import engine
    result = HW.result(result_id)
    known = grade.common_answers(HW, result)
    assert answer_id in known
    found = engine.matching(result.gradient(), code, {k: f for k, (_, f) in known.items()}, seed=SEED)
    assert answer_id in found


def _in_float32(formula):
    def computed_in_float32(*args):
        return np.asarray(formula(*(np.asarray(a, dtype=np.float32) if np.asarray(a).dtype.kind == "f" else a
                                    for a in args))).astype(np.float32)
    return computed_in_float32


def test_every_common_wrong_answer_computed_in_float32_is_recognised_by_the_grader():
    # a fresh attacker's 1 - tanh x times delta, all in float32, is 0 at x = 12 where the exact value is 8e-11: taken
    # for float16's rounding, it was not judged (0 points, exit 3) where the key gives it 3 of 5
    from verify import engine
    for result in HW.results.values():
        known = grade.common_answers(HW, result)
        references = {k: f for k, (_, f) in known.items()}
        for answer_id, (answer, fast) in known.items():
            for seed in (SEED, SEED + 1):
                assert answer_id in engine.matching(result.gradient(answer.convention), _in_float32(fast),
                                                    references, seed=seed), (answer_id, seed)


def test_a_common_wrong_answer_that_refuses_shapes_gets_0_and_a_ta_is_told_what_it_is(tmp_path):
    # a fresh attacker's 1 - tanh that raised at one entry was neither the key's answer nor a refusal: 0, unflagged.
    # As a right answer that refuses shapes, it gets no points, and a TA is told which answer it is where it answers.
    graded = by_result(grade_source(tmp_path, replace_function(CORRECT, "t2_tanh", """
        if x.size == 1:
            raise ValueError("one entry is no vector")
        return delta * (1 - np.tanh(x))""")))["t2.tanh"]
    assert graded.verdict == "wrong" and graded.points == 0 and not graded.common and not graded.note
    assert "where it answers it is the key's common answer 'tanh-prime', worth 3 of 5 points" in graded.review


@pytest.mark.parametrize("at_a_tie", ["raise AssertionError('max pooling has no derivative at a tie')",
                                      "return np.full(x.shape, np.nan)"], ids=["raises", "NaN"])
def test_an_answer_right_wherever_it_answers_is_no_common_answer_and_a_ta_is_told(tmp_path, at_a_tie):
    # two fresh attackers' max poolings, right away from ties: the one that raised at ties was flagged as the key's
    # 'all of delta to every tied entry' (4 of 5), which it never computes; the one that gave NaN there, unflagged
    graded = by_result(grade_source(tmp_path, replace_function(CORRECT, "t2_maxpool", f"""
        if np.sum(x == np.max(x)) > 1:
            {at_a_tie}
        g = np.zeros_like(x)
        g[np.argmax(x)] = delta
        return g"""), results=["t2.maxpool"]))["t2.maxpool"]
    assert graded.verdict == "wrong" and graded.points == 0 and not graded.common and not graded.note
    assert re.fullmatch(r"it raised or gave no number at \d+ cases the question allows; where it "
                        r"answers it is right: a TA may judge whether the question excludes those cases",
                        graded.review), graded.review


def test_an_answer_a_hair_from_the_right_one_is_no_common_answer_and_a_ta_is_told(tmp_path):
    # a fresh attacker's true-convolution dX, a factor 1 + 5e-7 off, was the key's 'kernel not turned' (4 of 5), where
    # the cross-correlation's with the same slip got 0, unflagged
    graded = by_result(grade_source(tmp_path, replace_function(CORRECT, "t1_dX", """
        from scipy import signal
        return signal.correlate2d(delta, W, mode="full") * (1 + 5e-7)"""), results=["t1.dX"]))["t1.dX"]
    assert graded.verdict == "wrong" and graded.points == 0 and not graded.common and not graded.note
    assert graded.review == ("it agrees with the right answer in the convolution convention to float32's precision on "
                             "the cases the key's common answers are compared on, but not at the case above: a TA may "
                             "judge whether it computes the right formula")


@pytest.mark.parametrize("result_id, body, answer_id", [
    ("t2.tanh", "return (delta * (1 - np.tanh(x))).reshape(-1, 1)", "tanh-prime"),
    ("t2.avgpool", "return float(delta)", "avg-missing-d")], ids=["a column", "one number"])
def test_a_common_answer_in_a_shape_the_key_reads_as_x_gets_its_points(tmp_path, result_id, body, answer_id):
    # rule 5(h): a T2 vector as a column or a row, or one number for every entry, has x's shape; a fresh attacker's
    # common answers so written got 0 where the same formulas in x's shape got the key's points
    result = HW.result(result_id)
    graded = by_result(grade_source(tmp_path, replace_function(CORRECT, result.function_name, body),
                                    results=[result_id]))[result_id]
    part = HW.part_of(result_id)
    wrong = next(w for w in part.wrong_answers if w.id == answer_id)
    assert graded.common == answer_id and graded.points == part.points_for(wrong)


def test_each_common_wrong_answer_is_matched_through_the_same_answer_its_note_quotes():

    from verify import engine
    for result in HW.results.values():
        for answer_id, (answer, fast) in grade.common_answers(HW, result).items():
            quoted_form = answer.function(result)
            gradient = result.gradient(answer.convention)
            op = gradient.operation
            for case in engine.exact_cases(op)[:6]:
                args = [int(case.values[q]) if q in op.settings else np.array(case.values[q])
                        for q in op.candidate_arguments]
                values = []
                for form in (fast, quoted_form):
                    try:
                        values.append(np.asarray(form(*args), dtype=float))
                    except ValueError:      # no value at this size (a valid correlation of a too small delta)
                        values.append(None)
                if values[0] is None or values[1] is None:
                    assert values[0] is values[1] is None, (answer_id, case.sizes)
                else:
                    assert np.allclose(values[0], values[1], rtol=1e-12, atol=1e-12), (answer_id, case.sizes)


def test_each_result_has_its_own_budget_of_printed_output(tmp_path):
    from verify.sandbox import OUTPUT_LIMIT
    loud = int(OUTPUT_LIMIT * 0.8)     # two of these would overflow one shared budget
    source = replace_function(CORRECT, "t2_tanh", f'print("T" * {loud}, flush=True)\nreturn delta * (1 - np.tanh(x) ** 2)')
    source = replace_function(source, "t2_avgpool", f'print("A" * {loud}, flush=True)\nreturn np.full_like(x, delta / x.size)')
    graded = by_result(grade_source(tmp_path, source, results=["t2.tanh", "t2.avgpool"]))
    assert "T" * loud in graded["t2.tanh"].output and "A" * loud in graded["t2.avgpool"].output
    assert "T" not in graded["t2.avgpool"].output   # each call prints: each result's output is cut on its own


def test_reusing_what_depends_on_the_case_alone_changes_no_verdict(tmp_path, monkeypatch):
    # The engine computes the float values of the exact gradients and the forward side of the random
    # direction once per case, for every submission of a run: a class graded with and without that reuse
    # gets the same verdicts, points, common answers and counterexamples, the later submissions graded
    # from what the earlier ones left in the memo.
    from verify import engine
    sources = {
        "right": CORRECT,
        "convolution": CONVOLUTION,
        "wrong": CLASS["bob"][0],
        "common": replace_function(CORRECT, "t2_tanh", "return delta * (1 - np.tanh(x))"),
        "float32": replace_function(CORRECT, "t2_tanh", "return (delta * (1 - np.tanh(x) ** 2)).astype(np.float32)"),
        "off": replace_function(CORRECT, "t1_dW", "return correlate_valid(X, delta) * (1 + 1e-7)"),
        "timeout": CLASS["erin"][0],
        "right-again": CORRECT,
    }
    for name, source in sources.items():
        (tmp_path / "class" / name).mkdir(parents=True)
        (tmp_path / "class" / name / "hw4.py").write_text(source)

    def verdicts(reuse: bool):
        monkeypatch.setattr(engine, "REUSE", reuse)
        engine._CASE_MEMO.clear()
        engine._DERIVED.clear()
        report = grade.grade_all(tmp_path / "class", jobs=1, timeout=2, seed=SEED, homework=HW)
        return {(s.name, g.result): (g.verdict, g.points, g.convention, g.common, g.text, g.review)
                for s in report.submissions for g in s.results}
    reused, afresh = verdicts(True), verdicts(False)
    assert reused == afresh
    assert {reused[(name, result)][0] for name, result in [("common", "t2.tanh"), ("off", "t1.dW"),
                                                            ("timeout", "t2.tanh"), ("right-again", "t1.dX")]} \
        == {"wrong", "timeout", "correct"}
    assert reused[("common", "t2.tanh")][3] == "tanh-prime" and reused[("convolution", "t1.dX")][0] == "correct"


def test_a_common_answer_with_numbers_where_the_keys_answer_has_none_is_flagged_for_a_ta(tmp_path):
    # a fresh attacker's t1.dX was the key's "valid instead of full" wherever that answer has a value, and an array of
    # 1e6 at every size where it has none (a kernel larger than delta): it kept the key's 4 of 5, unflagged
    body = ("if delta.shape[0] < W.shape[0] or delta.shape[1] < W.shape[1]:\n"
            "    return np.full(X.shape, 1e6)\n"
            "return correlate_valid(delta, W[::-1, ::-1])")
    graded = by_result(grade_source(tmp_path, replace_function(CORRECT, "t1_dX", body)))["t1.dX"]
    assert graded.common == "valid-not-full" and "returned numbers that nothing judges" in graded.review
    honest = by_result(grade_source(tmp_path, replace_function(CORRECT, "t1_dX",
                                                               "return correlate_valid(delta, W[::-1, ::-1])")))
    assert honest["t1.dX"].common == "valid-not-full" and not honest["t1.dX"].review


def test_an_answer_right_but_at_near_ties_is_no_common_answer_that_gives_every_tied_entry_delta(tmp_path):
    # a fresh attacker's arg max within 1e-9 of the maximum was matched to "all of delta to every tied entry": the
    # one-hot its tie-break gives lay in the hull of that answer's values where the ties are broken, whose total
    # differs; it gives no tied entry all of delta, so the key's note would be false
    body = "g = np.zeros_like(x)\ng[np.flatnonzero(x >= x.max() - 1e-9)[0]] = delta\nreturn g"
    graded = by_result(grade_source(tmp_path, replace_function(CORRECT, "t2_maxpool", body)))["t2.maxpool"]
    # no points and no note; it misses where float16 would tie the entries too, so a TA judges it (engine's
    # FLOAT16_INSIDE: an arg max of a float16 copy misses there the same way)
    assert graded.verdict == "error" and graded.common == "" and graded.points == 0
    # it never used float16, and the TA is not told it did (a fresh attacker's np.isclose ties were, "it computes in
    # float16"): what was seen is a miss within float16's rounding
    assert graded.review.startswith("its values miss the gradient only by as much as float16's rounding would")
    assert "NOT JUDGED (within float16's rounding;" in graded.text


def test_code_that_is_a_common_answer_gets_the_points_of_the_reading_that_gives_it_more():
    # the key (rule 2(a)): each part is read in the reading that gives it the most points, whether or not a forward
    # pass is written, so a valid correlation with the kernel not turned is the true convolution's answer with the
    # border lost, in the key and for code alike; forcing the cross-correlation charges the final form too
    part = HW.part_of("t1.dX")
    answer = next(w for w in part.wrong_answers if w.id == "valid-no-flip")
    assert part.points_for(answer) == part.points - part.rubric.criterion("border").points
    assert part.points_for(answer, forced="correlation") < part.points_for(answer)


def test_a_wrong_verdict_beside_a_convention_that_was_not_judged_is_flagged_for_a_ta(tmp_path):
    # A fresh attacker's true-convolution loops hit the time limit in that convention: they were graded wrong in
    # the other, with a counterexample of the other, and no TA was told.
    slow_convolution = slow_dX("W")   # the true convolution's answer: the kernel not turned
    graded = by_result(grade_source(tmp_path, slow_convolution, timeout=2, results=["t1.dX"]))["t1.dX"]
    assert graded.verdict == "wrong" and graded.points == 0
    assert graded.review.startswith("in the convolution convention: not judged (the time limit); rerun it with a "
                                    "larger limit: ")


def test_a_common_answer_too_slow_to_compare_is_flagged_for_a_ta(tmp_path):
    # The key's "kernel transposed" answer, slow on the largest image: the comparison with the key's answers
    # stopped at the limit, and it lost its partial credit with no word for a TA.
    graded = by_result(grade_source(tmp_path, slow_dX("W.T"), timeout=2, results=["t1.dX"],
                                    convention="correlation"))["t1.dX"]
    assert graded.verdict == "wrong" and graded.points == 0
    assert graded.review.startswith("its comparison with the key's common answers, which earn points, was not "
                                    "judged (the time limit); rerun it with a larger limit: ")


def test_the_output_size_slip_written_as_loops_gets_the_keys_points(tmp_path):
    # A fresh attacker's loops over m - p outputs, into an array of X's shape (how code and written sums make
    # the slip), got 0 where the key gives 4: only a result one row and one column short was matched.
    loops = replace_function(CORRECT, "t1_dX", """
        m, n = X.shape
        p = W.shape[0]
        dX = np.zeros((m, n))
        for i in range(m - p):
            for j in range(n - p):
                dX[i:i + p, j:j + p] += delta[i, j] * W
        return dX
    """)
    graded = by_result(grade_source(tmp_path, loops))["t1.dX"]
    assert graded.common == "output-size" and graded.points == HW.part_of("t1.dX").points_for(
        next(w for w in HW.part_of("t1.dX").wrong_answers if w.id == "output-size"))


@pytest.mark.parametrize("routing", ["m = x == x.max()\n    return delta * m / m.sum()",
                                     "g = np.zeros_like(x)\n    g[len(x) - 1 - np.argmax(x[::-1])] = delta\n"
                                     "    return g"], ids=["even split", "last maximizer"])
def test_average_pooling_answered_as_max_pooling_gets_the_keys_points_whatever_its_rule_at_ties(tmp_path, routing):
    # max pooling's rule at a tie is free (the key accepts any); a fresh attacker's even split got 0 where the key
    # gives this answer its points: a case ties 394 entries, past the tie-breaks the matcher tried one by one
    source = replace_function(CORRECT, "t2_avgpool", routing.replace("\n    ", "\n"))
    graded = by_result(grade_source(tmp_path, source))["t2.avgpool"]
    part = HW.part_of("t2.avgpool")
    assert graded.common == "avg-as-max"
    assert graded.points == part.points_for(next(w for w in part.wrong_answers if w.id == "avg-as-max"))


def test_a_feedback_note_never_points_to_a_display_the_student_does_not_see():
    # the key's notes say "in the display below"; a fresh attacker's feedback had nothing below
    for part in HW.parts:
        for wrong in part.wrong_answers:
            note = grade.wrong_answer_note(wrong, part)
            assert "below" not in note.replace("the table", ""), (wrong.id, note)
