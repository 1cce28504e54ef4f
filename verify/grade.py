"""Grading students' files: every result of a submission checked in a sandbox, many submissions at once.

    python -m verify grade submissions/ --csv grades.csv      # the command line (see verify.cli)

    from verify import grade
    rows = grade.grade("submissions/", jobs=None, timeout=10.0, memory=2 * 1024**3, seed=None)

A submission is a folder holding the homework's submission file (`hw4.py` here, the package's
SUBMISSION_FILE), which defines one function per result
of the homework, named after it (`Result.function_name`: t1.dX -> t1_dX).  The file is never
imported here: each submission is loaded once, in its own `verify.sandbox.Sandbox` (one child
process with a time and a memory limit), and `verify.engine.check` calls the candidate through it.
After a limit or a crash the sandbox is restarted, so the results that follow are still graded.
The time limit covers loading the file and then each result's check on its own.

Verdicts, one per submission and result (the `verdict` column of the CSV):

    correct   the check passed, in a convention the key accepts             the part's points
    wrong     the check failed: a counterexample, an exception the          0, or the key's points for
              candidate raised at a shape it took before, or an answer      the common wrong answer it
              that is not a numeric array of the right shape (the           is on every case
              candidate's own failure is an answer)
    refused   it raised at sizes the question allows, and is right on the   0 (flagged for a TA)
              others
    missing   the submission has no hw4.py, or hw4.py has no function       0
              of that name
    error     hw4.py cannot be loaded (syntax error, import error, an       0
              exception at import), the name is not a function or takes
              the wrong number of arguments, the candidate's process
              crashed (os._exit, a signal) or passed the memory limit
    timeout   the check, or loading the file, passed the time limit         0

A bug of the grader met while grading one result is graded "error" as well (the run goes on), but
its feedback says it is the grader's fault and `python -m verify grade` then exits 4.

One standard with the key: a result with several conventions (t1's correlation and convolution) is
judged in each where that can change the points, and all the results of a question in the one that
earns the most (the homework's CONVENTION_SCOPE, see `convention_scope`); `convention=` forces one.
A wrong answer that is one of the key's common wrong answers on every case gets `Part.points_for` of
it and the key's note.  What a TA should look at (not judged: a limit or a crash, with the command
that reruns it with a larger limit; a refused shape; a common wrong answer whose points the key gives
in words) is in `Graded.review`, apart from the verdict.

A result is worth the points of its part (`Homework.part_of(result).points`), shared evenly when a
part grades several results.  Every check of a run uses the same random seed (one fresh seed per
run unless one is given), so that all students meet the same cases; the seed is in the feedback.

Speed: submissions are graded on worker processes forked from this one (one per core by default),
so that they start with the homework already loaded; a worker that dies costs its submission alone.
Each worker starts one sandbox (bwrap, python, numpy and scipy: ~0.7 s of CPU) and keeps it from
submission to submission; each result then costs a fork of the sandbox's server (~10 ms) and each
call ~0.5 ms on top of the check itself.
"""
from __future__ import annotations

import contextlib
import os
import pickle
import re
import secrets
import select
import signal
import struct
import sys
import time
import unicodedata
from collections.abc import Callable, Iterable, Iterator, Mapping, Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any, NoReturn

import numpy as np

from . import engine
from .homework import Homework, Result, WrongAnswer
from .homework import load as load_homework
from .sandbox import (
    FunctionError,
    LimitExceeded,
    LoadError,
    MemoryLimit,
    MissingFunction,
    ProtocolError,
    Sandbox,
    TimeLimit,
    isolation,
)
from .sandbox import prepare as prepare_sandboxes

__all__ = ["VERDICTS", "DEFAULT_TIMEOUT", "DEFAULT_MEMORY", "Graded", "Submission", "Row",
           "Report", "Candidate", "grade", "grade_all", "grade_file", "grade_submission", "submissions_in",
           "points_of", "result_title", "result_text", "feedback_text", "quoted", "summary", "write_csv",
           "write_feedback", "write_wide_csv", "wide_path", "feedback_name", "folder_name", "FeedbackWriter",
           "RowWriter", "check_writable", "choose_conventions", "common_answer", "convention_scope", "plain",
           "progress_bar"]

VERDICTS = ("correct", "wrong", "refused", "missing", "error", "timeout")
# Correct naive nested loops (the shape of most students' code) take up to a few seconds per result
# on the largest cases (a 128 x 160 image with an 11 x 11 kernel), several times that on a loaded
# machine: the limit leaves them room and still ends an endless loop.
DEFAULT_TIMEOUT = 30.0
DEFAULT_MEMORY = 2 * 1024**3

# An internal error of the grader is graded "error" too (a run of many submissions goes on), but it
# is counted apart and named in the feedback, so that nobody mistakes it for the student's fault.
INTERNAL = "internal error of the grader (not the student's fault): "


@dataclass
class Graded:
    """The verdict on one result of one submission, with what to show the student."""
    result: str                  # the result id, e.g. "t1.dX"
    verdict: str                 # one of VERDICTS
    points: float
    max_points: float
    text: str                    # str(Verdict) when a check ran, else one line saying what went wrong
    output: str = ""             # what the candidate printed while this result was graded
    internal: bool = False       # the grader failed, not the candidate
    convention: str = ""         # the convention it was judged in, when the result has several
    common: str = ""             # the id of the key's common wrong answer it is, if any
    note: str = ""               # that answer's note from the key (title, why, decision), for the student
    review: str = ""             # why a TA should look at it (not judged, a shape refused, a decision in prose)


@dataclass
class Submission:
    """One submission graded: its results in the homework's order."""
    name: str
    results: list[Graded]
    seed: int
    file: str = ""               # the file graded, relative to the submission folder ("" when none)
    load_output: str = ""        # what the candidate printed while its file was loaded
    seconds: float = 0.0

    @property
    def points(self) -> float:
        return sum(g.points for g in self.results)

    @property
    def max_points(self) -> float:
        return sum(g.max_points for g in self.results)


@dataclass(frozen=True)
class Row:
    """One row of the long grades CSV: one submission's one result."""
    submission: str
    result: str
    verdict: str
    points: float
    max_points: float
    convention: str = ""         # the convention it was judged in (results with several)
    common_error: str = ""       # the key's common wrong answer it is, if any
    review: str = ""             # why a TA should look at it; empty when the verdict stands alone

    FIELDS = ("submission", "result", "verdict", "points", "max_points", "convention", "common_error", "review")

    def as_csv(self) -> list[str]:
        return [_inert(self.submission), self.result, self.verdict, _number(self.points), _number(self.max_points),
                self.convention, self.common_error, _inert(self.review)]

    @classmethod
    def of(cls, submission: str, graded: Graded) -> Row:
        return cls(submission, graded.result, graded.verdict, graded.points, graded.max_points, graded.convention,
                   graded.common, graded.review)


def _inert(cell: str) -> str:
    """A cell a spreadsheet will not run: a folder named '=HYPERLINK(...)' gets a leading apostrophe."""
    return "'" + cell if cell.startswith(("=", "+", "-", "@", "\t", "\r")) else cell


def _readable_name(name: str) -> str:
    """A folder's name as text that can be written anywhere: bytes that are not UTF-8 as \\xNN, and a
    backslash as two, so that two folders never share a name and `folder_name` gives the folder back."""
    return os.fsencode(name).replace(b"\\", b"\\\\").decode("utf-8", "backslashreplace")


def folder_name(readable: str) -> str:
    """The folder's own name from the name in the CSV (the inverse of how the CSV writes it)."""
    out, at, raw = bytearray(), 0, readable.encode("utf-8")
    while at < len(raw):
        if raw[at:at + 2] == b"\\\\":
            out += b"\\"
            at += 2
        elif raw[at:at + 2] == b"\\x":
            out.append(int(raw[at + 2:at + 4], 16))
            at += 4
        else:
            out.append(raw[at])
            at += 1
    return os.fsdecode(bytes(out))


@dataclass
class Report:
    """A whole run: every submission graded, in order of their names, and the seed they shared."""
    submissions: list[Submission]
    seed: int
    results: list[str]           # result ids graded, in the homework's order
    seconds: float = 0.0
    jobs: int = 1

    @property
    def rows(self) -> list[Row]:
        return [Row.of(s.name, g) for s in self.submissions for g in s.results]

    @property
    def internal_errors(self) -> int:
        return sum(g.internal for s in self.submissions for g in s.results)

    def counts(self) -> dict[str, dict[str, int]]:
        """For each result, how many submissions got each verdict."""
        table = {r: dict.fromkeys(VERDICTS, 0) for r in self.results}
        for s in self.submissions:
            for g in s.results:
                table[g.result][g.verdict] += 1
        return table


# ---- points ---------------------------------------------------------------------------------------------
def points_of(homework: Homework, result_id: str) -> float:
    """What a result is worth: its part's points, shared evenly among the part's results."""
    part = homework.part_of(result_id)
    share = part.points / len(part.results)
    return int(share) if float(share).is_integer() else share


def _number(value: float) -> str:
    return str(int(value)) if float(value).is_integer() else f"{value:g}"


def result_title(homework: Homework, result: Result) -> str:
    """'T1.1 t1.dX: Gradient with respect to X' (the part's label and title)."""
    part = homework.part_of(result.id)
    return f"{part.label} {result.id}: {part.title}"


def generalized(homework: Homework) -> dict[str, Result]:
    """The results beyond the questions (the remarks' stride and padding, channels and batch): checked like
    the graded ones, worth 0 points, never part of a grade.  Read from the remarks' result steps."""
    from .steps import Kind
    found = {}
    for unit in homework.units:
        if unit.remark is None:
            continue
        for step in unit.steps:
            if step.kind is Kind.RESULT and step.gradient is not None and step.id not in homework.results:
                found[step.id] = Result(step.id, {"default": step.gradient})
    return found


def shapes_text(gradient: engine.Gradient) -> str:
    """The arguments' shapes, e.g. "X (N, C, m, n), W (K, C, p, p), b (K,), delta like Y; s, P integers"."""
    op = gradient.operation
    shown = [f"{name} ({', '.join(str(d) for d in dims)}{',' if len(dims) == 1 else ''})" if dims else
             f"{name} a scalar" for name, dims in op.inputs.items()]
    settings = f"; {', '.join(op.settings)} integers" if op.settings else ""
    return ", ".join(shown) + f", delta shaped like {op.output}" + settings


# ---- the candidate in a sandbox --------------------------------------------------------------------------
class Candidate:
    """A function of a sandboxed file, callable like the function itself: what engine.check calls.

    Each call goes to `box.call(name, *args)`.  The candidate's own failure (CandidateRaised) is a
    verdict, which the engine reports with the sandbox's message; LimitExceeded goes through it.
    """

    def __init__(self, box: Sandbox, name: str):
        self.box, self.name = box, name
        self.__name__ = name

    def __call__(self, *args: Any) -> np.ndarray:
        return self.box.call(self.name, *args)

    def ahead(self, calls: list[list[Any]]) -> None:
        """The calls the engine will make, in order: sent now (Sandbox.ahead)."""
        self.box.ahead(self.name, [tuple(args) for args in calls])

    def check(self, gradient: engine.Gradient, *, seed: int | None, subject: str) -> engine.Verdict:
        """engine.check of this candidate, on a fresh time budget; LimitExceeded propagates."""
        self.box.restart_clock()
        return engine.check(gradient, self, seed=seed, subject=subject)


class _Output:
    """Cuts the sandbox's cumulative `output` into the part printed since the last look."""

    _MORE = re.compile(r"\n?\.\.\. \(\d+ more characters\)\Z")

    def __init__(self, box: Sandbox):
        self.box = box
        self.seen = ""
        self.cut = False

    def new(self) -> str:
        text = self.box.output
        more = self._MORE.search(text)
        head = text[:more.start()] if more else text
        if not head.startswith(self.seen):   # the sandbox began a new budget (a fresh result)
            self.seen, self.cut = "", False
        fresh = head[len(self.seen):]
        self.seen = head
        if more and not self.cut:
            self.cut = True
            fresh += ("\n" if fresh and not fresh.endswith("\n") else "") + "... (the rest of the output was cut)"
        return fresh


# ---- one submission -------------------------------------------------------------------------------------
def grade_file(path: str | Path | None, homework: Homework | None = None, *, results: Sequence[str] | None = None,
               timeout: float = DEFAULT_TIMEOUT, memory: int = DEFAULT_MEMORY, seed: int | None = None,
               name: str = "", convention: str | None = None) -> Submission:
    """Grade every result (or `results`) of the homework in one file, loaded once in a sandbox.

    `convention` forces one convention wherever a result has it; otherwise every convention the key
    accepts is tried, one per question (see `choose_conventions`).  `path=None` (or a file that does
    not exist) grades every result "missing".  Never raises for anything the candidate does;
    KeyboardInterrupt goes through (the sandbox is closed first).
    """
    homework = homework or load_homework()
    chosen = [homework.result(r) for r in (results if results is not None else homework.results)]
    seed = secrets.randbits(32) if seed is None else seed
    started = time.monotonic()
    submission = Submission(_readable_name(name or (Path(path).parent.name if path else "")), [], seed,
                            Path(path).name if path else "")
    if path is None or not Path(path).is_file():
        missing = (f"no {homework.submission_file} in the submission" if path is None
                   else f"{Path(path).name}: no such file")
        submission.results = [Graded(r.id, "missing", 0, points_of(homework, r.id), missing) for r in chosen]
        return submission
    box = Sandbox(path, timeout=timeout, memory=memory)
    try:
        try:
            box.__enter__()
        except (LoadError, LimitExceeded) as exc:
            verdict = _verdict_of_limit(exc) if isinstance(exc, LimitExceeded) else "error"
            why = f"{Path(path).name} could not be loaded: {exc}"
            submission.load_output = box.output
            review = _rerun(exc, path) if isinstance(exc, LimitExceeded) else _unloaded(path)
            submission.results = [Graded(r.id, verdict, 0, points_of(homework, r.id), why, review=review)
                                  for r in chosen]
            return submission
        output = _Output(box)
        submission.load_output = output.new()
        graded_by_id: dict[str, Graded] = {}
        broken: tuple[Graded, Result] | None = None
        for result in chosen:
            if broken is not None:  # the file no longer loads: reloading it for each result would only wait
                first, at = broken   # its review's command, for this result
                graded_by_id[result.id] = Graded(result.id, first.verdict, 0, points_of(homework, result.id),
                                                 first.text, review=first.review.replace(_target(at, path),
                                                                                         _target(result, path)))
                continue
            graded = _grade_result(box, output, homework, result, seed, path, convention)
            graded_by_id[result.id] = graded
            if graded.text.startswith(_RELOAD):
                broken = graded, result
        for group in _questions(homework, chosen):
            _settle(box, output, homework, group, graded_by_id, seed, path, convention)
        submission.results = [graded_by_id[r.id] for r in chosen]
    finally:
        box.close()
        submission.seconds = time.monotonic() - started
    return submission


def _questions(homework: Homework, chosen: Sequence[Result]) -> list[list[Result]]:
    """The chosen results grouped by question, in order: the scope of one convention (see CONVENTION_SCOPE)."""
    scope = convention_scope(homework)
    groups: dict[str, list[Result]] = {}
    for result in chosen:
        part = homework.part_of(result.id)
        key = {"question": part.question, "part": part.id, "result": result.id}.get(scope, "")
        groups.setdefault(key, []).append(result)
    return list(groups.values())


def convention_scope(homework: Homework) -> str:
    """The key's rule for mixing conventions within one submission, from the homework package's data.

    CONVENTION_SCOPE = "question" (the default): every result of a question is judged in the same
    convention, as a student writes down one forward pass per question and the key judges every part
    against it; "part" or "result" judge each on its own; "submission" one convention for the whole file.
    """
    import importlib
    scope = getattr(importlib.import_module(homework.package), "CONVENTION_SCOPE", "question")
    if scope not in ("submission", "question", "part", "result"):
        raise ValueError(f"{homework.package}: CONVENTION_SCOPE is {scope!r}; it is one of submission, question, "
                         "part, result")
    return scope


def choose_conventions(group: Sequence[Result], attempts: Mapping[str, Mapping[str, Graded]],
                       homework: Homework | None = None) -> str | None:
    """The convention that earns a group of results (one question) the most points; on a tie, the one where more
    results are right, then the one where more are the key's common answers in the reading the key grades them in
    (`homework`'s `Part.reading`), then the first.

    `attempts[result][convention]` is the result judged in that convention.  Results with one convention
    take no part in the choice.  None when no result of the group has several.
    """
    names: list[str] = []
    for result in group:
        if len(result.conventions) > 1:
            names += [c for c in result.conventions if c not in names]
    if not names:
        return None

    def points(convention: str) -> float:
        return sum(attempts[r.id].get(convention, attempts[r.id][r.default]).points for r in group
                   if len(r.conventions) > 1)

    def right(convention: str) -> int:
        return sum(attempts[r.id].get(convention, attempts[r.id][r.default]).verdict == "correct" for r in group)
    def read(convention: str) -> int:
        if homework is None:
            return 0
        graded = [attempts[r.id][convention] for r in group if convention in attempts[r.id]]
        return sum(homework.part_of(g.result).reading(common) == convention for g in graded if g.common
                   for common in _listed(homework, homework.result(g.result)) if common.id == g.common)
    # on equal points the convention where more results are right: a common answer the key gives full points in
    # one reading (the kernel not turned, right for a true convolution) is no wrong answer there; then the one the
    # key reads its common answers in, so that the convention named and the gradient shown are the key's
    return max(names, key=lambda c: (points(c), right(c), read(c), -names.index(c)))


def _settle(box: Sandbox, output: _Output, homework: Homework, group: Sequence[Result],
            graded_by_id: dict[str, Graded], seed: int, path, forced: str | None) -> None:
    """One convention for a group of results, the one that earns it the most points: where a result is
    wrong in the default, it is judged in the others too.  Wrong answers that are one of the key's
    common wrong answers get that answer's points and note."""
    attempts: dict[str, dict[str, Graded]] = {r.id: {graded_by_id[r.id].convention or r.default:
                                                     graded_by_id[r.id]} for r in group}
    several = [r for r in group if len(r.conventions) > 1]
    wrong = [r for r in several if graded_by_id[r.id].verdict == "wrong"]
    if forced is None and wrong:
        # A wrong result is judged in the other conventions.  A result right in the default loses nothing unless
        # another convention is chosen, which needs a wrong result right there (each result's common answer earns
        # it the same points in every convention): only then is it judged there too (a right T1.2 beside a
        # T1.1 wrong in both conventions was judged twice for nothing).
        for convention in dict.fromkeys(c for r in wrong for c in list(r.conventions)[1:]):
            _attempt(box, output, homework, wrong, convention, attempts, seed, path)
            if any(attempts[r.id].get(convention, graded_by_id[r.id]).verdict == "correct" for r in wrong):
                _attempt(box, output, homework, [r for r in several if graded_by_id[r.id].verdict == "correct"],
                         convention, attempts, seed, path)
    for result in group:
        wrong_attempts = [g for g in attempts[result.id].values() if g.verdict == "wrong"]
        if wrong_attempts:
            _common(box, homework, result, wrong_attempts, seed, path, forced=forced,
                    near=all(g.verdict != "correct" for g in attempts[result.id].values()))
    chosen = None if forced is not None else choose_conventions(group, attempts, homework)
    for result in group:
        if chosen is not None and len(result.conventions) > 1 and chosen in attempts[result.id]:
            graded = attempts[result.id][chosen]
            elsewhere = [c for c, g in attempts[result.id].items() if c != chosen and g.verdict == "correct"]
            if graded.verdict != "correct" and elsewhere:
                graded.text += (f"\n(it is correct in the {elsewhere[0]} convention, but the other results of "
                                f"{homework.part_of(result.id).question} earn more in the {chosen} convention, and "
                                "the homework judges them in one convention)")
            graded_by_id[result.id] = graded
        _flag_unjudged(graded_by_id[result.id], attempts[result.id])


def _attempt(box: Sandbox, output: _Output, homework: Homework, results: Sequence[Result], convention: str,
             attempts: dict[str, dict[str, Graded]], seed: int, path) -> None:
    """Each result judged in a convention it has, once."""
    for result in results:
        if convention in result.conventions and convention not in attempts[result.id]:
            attempts[result.id][convention] = _grade_result(box, output, homework, result, seed, path, convention)


def _flag_unjudged(graded: Graded, attempts: Mapping[str, Graded]) -> None:
    """A wrong verdict in one convention while another convention was not judged (a limit, a refused shape):
    the answer may be right there, so a TA is told, with what stopped it."""
    if graded.verdict != "wrong":
        return
    for convention, other in attempts.items():
        if other is not graded and other.review and other.verdict not in ("correct", "wrong"):
            graded.review = f"in the {convention} convention: {other.review}"
            return


def common_answers(homework: Homework, result: Result) -> dict[str, tuple[WrongAnswer, Callable]]:
    """The key's common wrong answers for a result, each with its formula as a NumPy function.

    The answers marked `accepted` are right and left out.  Each is compiled from its `formula` against
    its own convention's forward pass: the same answer as the quote the notes show (the solutions' tests
    hold them equal), in vectorized form (a sample's quote, read through its weights, costs seconds)."""
    return {w.id: (w, result.gradient(w.convention).compiled(w.formula)) for w in _listed(homework, result)}


def _listed(homework: Homework, result: Result) -> list[WrongAnswer]:
    """The key's common wrong answers for a result, the right-looking ones it accepts left out; a case a note
    grades apart with a formula of its own follows its note's answer."""
    listed = []
    for w in homework.part_of(result.id).wrong_answers:
        if w.result == result.id and not w.accepted:
            listed.append(w)
            if w.case is not None and w.case.formula is not None:
                listed.append(w.answer_of(w.case))
    return listed


def common_answer(candidate: Candidate, homework: Homework, result: Result, seed: int | None,
                  unjudged: dict[str, int] | None = None,
                  raised: dict[str, int] | None = None, forced: str | None = None,
                  right: list[str] | None = None, in_float16: set[str] | None = None) -> WrongAnswer | None:
    """The key's common wrong answer that a wrong candidate gives on every case (the one the key awards
    most when several do), or None.  The candidate gets a new time budget; a limit propagates.
    `unjudged`, `raised`, `in_float16`: as for engine.matching, `raised` under the key "right:<convention>" for the
    right answers;
    `forced`: the convention forced, as for `Part.points_for`.  An answer that is the right one of a convention
    wherever it answers, within the precision of a common answer (it fails the check by a hair, or raises or gives
    no number at some cases), is none of the key's wrong answers: None, with those conventions added to `right`
    (given only where it is right in no convention: one right in another is that convention's answer, and this
    convention's common answer where it is judged in this one)."""
    known = common_answers(homework, result)
    if not known:
        return None
    candidate.box.restart_clock()
    rights = {f"right:{c}": result.gradient(c).compiled() for c in result.conventions
              if right is not None and forced in (None, c)}
    found = engine.matching(result.gradient(), candidate, {**{k: f for k, (_, f) in known.items()}, **rights},
                            seed=seed, unjudged=unjudged, raised=raised, in_float16=in_float16)
    if in_float16 is not None:
        in_float16.intersection_update(known)   # the right answers' misses by float16 are the check's to judge
    agreeing = [name.removeprefix("right:") for name in found if name in rights]
    if agreeing:
        if right is not None:
            right += agreeing
        return None
    part = homework.part_of(result.id)
    return max((known[k][0] for k in found), key=lambda w: part.points_for(w, forced)) if found else None


def _common(box: Sandbox, homework: Homework, result: Result, wrong: Sequence[Graded], seed: int, path=None,
            forced: str | None = None, near: bool = True) -> None:
    """Wrong answers that are one of the key's common wrong answers on every case: its points and note, as the key
    gives them, in the reading that gives it the most (rule 2(a) of the key), unless a convention was forced."""
    part = homework.part_of(result.id)
    if not _listed(homework, result):
        return
    unjudged: dict[str, int] = {}
    raised: dict[str, int] = {}
    in_float16: set[str] = set()
    try:
        box.fresh()
        right: list[str] = []   # `near`: right in no convention, so it may be the right answer by a hair
        best = common_answer(Candidate(box, result.function_name), homework, result, seed, unjudged,
                             raised, forced, right if near else None, in_float16)
    except (LimitExceeded, LoadError) as exc:
        # no match found within the limits: the answer keeps its 0, but it may be one of the key's common
        # answers, which earn points, so a TA is told how to judge it again
        for graded in wrong:
            graded.review = graded.review or unmatched_review(exc, path, result)
        return
    if right:
        for graded in wrong:
            graded.review = graded.review or near_right_review(right[0], raised.get(f"right:{right[0]}", 0),
                                                               len(result.conventions) > 1)
        return
    if best is None:
        if in_float16:   # one of the key's common answers in float16: not judged, as a right one is there
            for graded in wrong:
                graded.verdict = "error"
                graded.review = graded.review or float16_common_review(homework, result, in_float16)
        return
    share = part.points_for(best, forced) * wrong[0].max_points / part.points
    if raised.get(best.id):   # as a right answer that refuses shapes: no points, and a TA told what it is
        for graded in wrong:
            graded.review = graded.review or refused_common(best, raised[best.id], share, wrong[0].max_points)
        return
    for graded in wrong:
        graded.common = best.id
        graded.points = int(share) if float(share).is_integer() else share
        graded.note = wrong_answer_note(best, part, forced)
        if unjudged.get(best.id):
            # the key's answer has no value at some sizes (a valid correlation with a kernel larger than delta):
            # what this answer gives there is judged by no one, and a TA may look at it
            cases = unjudged[best.id]
            graded.review = (f"it is the key's common answer '{best.id}' wherever that answer has a value; at "
                             f"{cases} case{'s' if cases != 1 else ''} where it has none this answer returned "
                             "numbers that nothing judges")


def float16_common_review(homework: Homework, result: Result, in_float16: set[str]) -> str:
    """What a TA is told of an answer that is one of the key's common answers computed partly in float16."""
    named = [w.id for w in _listed(homework, result) if w.id in in_float16]
    return (f"it is the key's common answer '{named[0]}' computed in float16, which is not judged (a TA may judge "
            "the formula)")


def _without_displays(text: str) -> str:
    """The key's prose points to its displays ("below"), which a feedback file does not show: it points to the key."""
    text = re.sub(r"\b([Tt])he display below\b", lambda m: f"{m[1]}he key's display of it", text)
    return re.sub(r"\bbelow\b", "in the key", text)


def wrong_answer_note(wrong, part, forced: str | None = None) -> str:
    """The key's note on a common wrong answer, as plain text: its title, why it is wrong, what it earns."""
    lines = [f"This is a common wrong answer the grading key lists: {plain(wrong.title)}.",
             _without_displays(plain(wrong.why))]
    if wrong.decision:
        lines.append(f"The key: {_without_displays(plain(wrong.decision))}")
    if wrong.of_case is not None:
        lines.append(f"This answer is the case the key grades apart: {_without_displays(plain(wrong.of_case.text))}")
    lines.append(f"Points for it: {part.points_for(wrong, forced)} of {part.points}.")
    return "\n".join(lines)


# the commands that only choose a font or a text mode: the student reads their argument (\mathbf{e}_c -> e_c,
# \mathbf 1 -> 1, \operatorname*{arg\,max} -> arg max), before a bare command loses its backslash below
_FONTS = ("mathbf", "boldsymbol", "bm", "mathrm", "mathit", "mathsf", "mathtt", "mathcal", "mathscr", "mathfrak",
          "mathbb", "operatorname", "text", "textrm", "textit", "textbf", "textsf", "texttt", "textnormal", "emph",
          "mbox")
# Unicode spells lambda "LAMDA"
_GREEK = {**{name: unicodedata.lookup(f"GREEK SMALL LETTER {name.upper().replace('LAMBDA', 'LAMDA')}")
             for name in ("alpha", "beta", "gamma", "delta", "epsilon", "zeta", "eta", "theta", "iota", "kappa",
                          "lambda", "mu", "nu", "xi", "pi", "rho", "sigma", "tau", "upsilon", "phi", "chi", "psi",
                          "omega")},
          **{name.capitalize(): unicodedata.lookup(f"GREEK CAPITAL LETTER {name.upper().replace('LAMBDA', 'LAMDA')}")
             for name in ("gamma", "delta", "theta", "lambda", "xi", "pi", "sigma", "upsilon", "phi", "psi", "omega")},
          "varepsilon": "ε", "vartheta": "ϑ", "varphi": "φ", "varrho": "ϱ", "varsigma": "ς"}
_RULES: tuple[tuple[str, str | Callable[[re.Match[str]], str]], ...] = (
    (r"\\mathbb\s*\{R\}", "ℝ"),
    (rf"\\(?:{'|'.join(_FONTS)})\*?\s*\{{([^{{}}]*)\}}", r"\1"), (rf"\\(?:{'|'.join(_FONTS)})\s+(\w)", r"\1"),
    (r"\\frac\{([^{}]*)\}\{([^{}]*)\}", r"\1/\2"), (r"\\partial\s*", "∂"), (r"\\delta", "δ"),
    (r"\\tanh", "tanh"), (r"\^\\circ", "°"), (r"\\times", "×"), (r"\\star", "⋆"), (r"\\cdot", "·"),
    (r"\\dots", "..."), (r"\\ldots", "..."), (r"\\sech", "sech"), (r"\\pageref\{[^{}]*\}", "?"),
    (r"page~\?", "in the key"), (r"~", " "), (r"``|''", '"'), (r"\\,", " "),
    # accents as combining marks (\hat{y} -> ŷ) and relations as their signs, before a bare command loses
    # its backslash (\ne would read "ne")
    *((rf"\\{accent}\s*\{{([^{{}}]+)\}}|\\{accent}\s+([a-zA-Z])",
       lambda m, mark=mark: "".join(q + mark for q in (m[1] or m[2])))
      for accent, mark in (("hat", "\u0302"), ("widehat", "\u0302"), ("bar", "\u0304"), ("overline", "\u0305"),
                           ("tilde", "\u0303"), ("widetilde", "\u0303"), ("vec", "\u20d7"), ("dot", "\u0307"))),
    *((rf"\\{name}(?![a-zA-Z])", sign) for name, sign in (
        ("neq", "≠"), ("ne", "≠"), ("leq", "≤"), ("le", "≤"), ("geq", "≥"), ("ge", "≥"), ("approx", "≈"),
        ("notin", "∉"), ("in", "∈"), ("to", "→"), ("mapsto", "↦"), ("sum", "Σ"), ("infty", "∞"), ("ell", "ℓ"),
        ("pm", "±"), ("nabla", "∇"), ("top", "ᵀ"), ("odot", "⊙"), ("oslash", "⊘"), ("otimes", "⊗"), ("left", ""),
        ("right", ""))),
    # Greek letters as themselves (\nu -> ν, \Sigma -> Σ), never as their names
    *((rf"\\{name}(?![a-zA-Z])", letter) for name, letter in _GREEK.items()),
    (r"\\([a-zA-Z]+)", r"\1"),
    (r"\$", ""), (r"[{}]", ""))
_LATEX = [(re.compile(p), r) for p, r in _RULES]


def plain(latex: str) -> str:
    """The key's LaTeX as text a student reads in a feedback file ($\\frac{1}{d}$ -> 1/d, $\\delta$ -> δ)."""
    text = latex
    for pattern, replacement in _LATEX:
        text = pattern.sub(replacement, text)
    return unicodedata.normalize("NFC", " ".join(text.split()))   # y and a combining hat: the one letter ŷ


def _grade_result(box: Sandbox, output: _Output, homework: Homework, result: Result, seed: int, path=None,
                  convention: str | None = None) -> Graded:
    worth = points_of(homework, result.id)
    try:
        gradient = result.gradient(convention if convention in result.conventions else None)
    except KeyError:
        gradient = result.gradient()
    used = convention if convention in result.conventions else result.default
    shown = (used or "") if len(result.conventions) > 1 else ""
    name = result.function_name
    graded: Graded
    try:
        box.fresh()  # every result from a fresh interpreter state (a new sandbox after a limit or a crash)
    except (LimitExceeded, LoadError) as exc:
        verdict_name = _verdict_of_limit(exc) if isinstance(exc, LimitExceeded) else "error"
        return Graded(result.id, verdict_name, 0, worth, f"{_RELOAD}{exc}", output=output.new(),
                      review=_rerun(exc, path, result) if isinstance(exc, LimitExceeded) else "")
    output.new()  # what loading printed again belongs to no result
    try:
        engine.prepare(gradient, seed)   # the exact values of the cases: the grader's time, not the candidate's
        box.restart_clock()
        box.function(name, gradient.arity)
        verdict = Candidate(box, name).check(gradient, seed=seed, subject=result.id)
        status = verdict.status
        graded = Graded(result.id, status, worth if verdict.passed else 0, worth, str(verdict), convention=shown)
        unjudged = "" if verdict.passed else _not_judged((verdict.reason, verdict.refusal, box.output), path, result)
        if unjudged:
            graded = Graded(result.id, "error", 0, worth, str(verdict), convention=shown, review=unjudged)
        elif status == "refused":
            graded.review = refused_review(verdict)
        elif status == "unjudged":   # float16: not judged, so apart from the wrong ones
            seen = "it returns float16" if verdict.stated else \
                "its values miss the gradient only by as much as float16's rounding would"
            graded = Graded(result.id, "error", 0, worth, str(verdict), convention=shown,
                            review=f"{seen}, which is not judged (a TA may judge the formula)")
    except FunctionError as exc:
        graded = Graded(result.id, "missing" if isinstance(exc, MissingFunction) else "error", 0, worth, str(exc))
    except LimitExceeded as exc:
        where = getattr(exc, "progress", "")
        graded = Graded(result.id, _verdict_of_limit(exc), 0, worth, f"{name}: {exc}" + (f" {where}" if where
                                                                                          else ""),
                        review=_not_judged((box.output,), path, result) or _rerun(exc, path, result))
    except ProtocolError as exc:  # the candidate can cause it (it can write on its own channels): no one's fault said
        graded = Graded(result.id, "error", 0, worth, f"{name}: {exc}", review=_rerun(exc, path, result))
    except Exception as exc:  # a bug of the grader: grade the rest, but say whose fault it is
        graded = Graded(result.id, "error", 0, worth, f"{INTERNAL}{type(exc).__name__}: {exc}", internal=True,
                        review=_rerun(exc, path, result))
    graded.output = output.new()
    return graded


def unmatched_review(exc: Exception, path, result: Result) -> str:
    """What a TA is told of a wrong answer whose comparison with the key's common answers stopped at a limit: it
    keeps its 0, but it may be one of them, which earn points."""
    return "its comparison with the key's common answers, which earn points, was " + _rerun(exc, path, result)


def near_right_review(convention: str, cases: int, conventions: bool) -> str:
    """What a TA is told of a wrong answer that is the right one wherever it answers, within a common answer's
    precision: it raises or gives no number at some cases, or misses the check's precision by a hair."""
    where = f" in the {convention} convention" if conventions else ""
    if cases:
        return (f"it raised or gave no number at {cases} case{'s' if cases != 1 else ''} the question allows; where it "
                f"answers it is right{where}: a TA may judge whether the question excludes those cases")
    return (f"it agrees with the right answer{where} to float32's precision on the cases the key's common answers are "
            "compared on, but not at the case above: a TA may judge whether it computes the right formula")


def refused_common(answer: WrongAnswer, cases: int, share: float, worth: float) -> str:
    """What a TA is told of an answer that is one of the key's common answers where it answers, and raises or gives
    no number at cases the question allows."""
    return (f"it raised or gave no number at {cases} case{'s' if cases != 1 else ''} the question allows; where it "
            "answers it is the "
            f"key's common answer '{answer.id}', worth {_number(share)} of {_number(worth)} points in the key (a TA "
            "may judge whether the question excludes those cases)")


def refused_review(verdict: engine.Verdict) -> str:
    """What a TA is told of an answer that refuses shapes the question allows."""
    return ("it refuses shapes the question allows (a TA may judge whether the question excludes them): "
            + verdict.reason)


# After a limit the file is loaded again; when that fails (its import behaves differently from one run
# to the next), the results left get the same verdict without waiting for more reloads.
_RELOAD = "the file could not be loaded again after the last result: "


def _verdict_of_limit(exc: LimitExceeded) -> str:
    if isinstance(exc, TimeLimit):
        return "timeout"
    return "error"  # MemoryLimit, Crashed


def _rerun(exc: Exception, path, result: Result | None = None) -> str:
    """Not judged: why, and the command that judges it again with a larger limit."""
    what = ({TimeLimit: "the time limit", MemoryLimit: "the memory limit"}.get(type(exc), "a crash of its process")
            if isinstance(exc, LimitExceeded) else "the sandbox's channel out of step"
            if isinstance(exc, ProtocolError) else "an internal error of the grader")
    return f"not judged ({what}){_RERUN}python -m verify check {_target(result, path)} --timeout 120 --memory 4G"


def _target(result: Result | None, path) -> str:
    """What `check` takes to judge one result of a file again."""
    return f"{result.id} '{path}:{result.function_name}'" if result is not None else f"<result> '{path}:<function>'"


_RERUN = "; rerun it with a larger limit: "
# Failures that leave an answer not judged, by the words Python or glibc print for them (in its reason or its
# output), each with why and what a TA may do; a larger limit helps none of them.
_NOT_JUDGED = (
    # under a root grader the submissions graded at once run as one user, whose process limit they share: one that
    # held it (a fresh attacker's) made a classmate's threaded, right answer fail
    (("can't start new thread", "Resource temporarily unavailable"),
     "it could not start a thread or a process: the submissions graded at once share one limit of processes",
     "rerun it alone"),
    # an import inside a function, judged as the same import at the top of the file is (a fresh attacker's right tanh
    # that imported sympy in its function was "wrong", unflagged)
    (("raised ModuleNotFoundError",),
     "it imports a module the sandbox does not have: it has Python, NumPy and SciPy alone",
     "a TA may read its formulas, or mend the import and check it again"),
    # what the sandbox refuses (EPERM): a pool of processes, whose semaphores are shared mappings and shared futexes
    # (its workers abort, in glibc's words, or it breaks), shared memory, sockets
    (("The futex facility returned an unexpected error code", "BrokenProcessPool",
      "raised PermissionError: [Errno 1] Operation not permitted"),
     "it asks for what the sandbox refuses, such as a pool of processes of multiprocessing, shared memory or a "
     "socket: a larger limit does not help",
     "a TA may read its formulas, or check it without them"))


def _not_judged(texts: Sequence[str], path, result: Result) -> str:
    """Why a failure leaves the answer not judged, and the command that checks it again ("" when it is judged)."""
    for words, why, advice in _NOT_JUDGED:
        if any(word in text for word in words for text in texts):
            return f"not judged ({why}); {advice}: python -m verify check {_target(result, path)}"
    return ""


def _unloaded(path) -> str:
    """A file that does not load was not judged at all (an import the sandbox lacks, a syntax error): a TA may read
    its formulas, or mend what stops it and check it again."""
    return ("not judged (the file could not be loaded, so no function of it ran); a TA may read its formulas, or mend "
            f"what stops it loading (the sandbox has Python, NumPy and SciPy alone) and check it again: "
            f"python -m verify check {_target(None, path)}")


def grade_submission(folder: str | Path, homework: Homework | None = None, **limits: Any) -> Submission:
    """Grade one submission folder (its homework's submission file); `limits` as for grade_file."""
    folder = Path(folder)
    homework = homework or load_homework()
    file = folder / homework.submission_file
    if folder.is_symlink():   # a fresh attacker's linked folder had a file from outside the class graded as its own
        graded = grade_file(None, homework, name=folder.name, **limits)
        for result in graded.results:
            result.text = f"{folder.name}: a link to a folder elsewhere, which the grader does not follow"
            result.review = "not graded (the submission folder is a link): a TA may look at where it leads"
        return graded
    return grade_file(file if file.is_file() else None, homework, name=folder.name, **limits)


# ---- many submissions -----------------------------------------------------------------------------------
def submissions_in(directory: str | Path) -> list[Path]:
    """The submission folders of a directory, by name (hidden folders and __pycache__ left out)."""
    directory = Path(directory)
    if not directory.is_dir():
        raise NotADirectoryError(f"{directory}: no such directory")
    return sorted((p for p in directory.iterdir() if p.is_dir() and not p.name.startswith((".", "__"))),
                  key=lambda p: p.name)


def grade_all(directory: str | Path, *, jobs: int | None = None, timeout: float = DEFAULT_TIMEOUT,
              memory: int = DEFAULT_MEMORY, seed: int | None = None, homework: Homework | None = None,
              progress: Callable[[Submission], None] | None = None, convention: str | None = None,
              folders: Sequence[Path] | None = None) -> Report:
    """Grade every submission folder of `directory` (or those `folders` of it) on `jobs` worker processes
    (default: one per core).

    `progress` is called in this process with each submission as it is done (in any order).
    """
    homework = homework or load_homework()
    folders = submissions_in(directory) if folders is None else list(folders)
    seed = secrets.randbits(32) if seed is None else seed
    jobs = max(1, min(jobs or os.cpu_count() or 1, len(folders) or 1))
    results = list(homework.results)
    limits = {"timeout": timeout, "memory": memory, "seed": seed, "convention": convention}
    for result in homework.results.values():   # once, before the workers fork: they start with them
        for name in result.conventions:
            engine.prepare(result.gradient(name), seed)
    started = time.monotonic()
    done: list[Submission] = []
    for submission in _run(folders, homework, jobs, limits):
        done.append(submission)
        if progress is not None:
            progress(submission)
    done.sort(key=lambda s: s.name)
    return Report(done, seed, results, time.monotonic() - started, jobs)


def grade(directory: str | Path, jobs: int | None = None, timeout: float = DEFAULT_TIMEOUT,
          memory: int = DEFAULT_MEMORY, seed: int | None = None, convention: str | None = None) -> list[Row]:
    """The rows of the grades CSV for every submission folder of `directory` (see grade_all)."""
    return grade_all(directory, jobs=jobs, timeout=timeout, memory=memory, seed=seed, convention=convention).rows


def _run(folders: list[Path], homework: Homework, jobs: int, limits: dict) -> Iterator[Submission]:
    """Grade on `jobs` worker processes forked from this one (the homework, numpy and sympy loaded),
    each keeping its sandbox's server from one submission to the next.  A worker that dies costs the
    submission it was grading, graded "error", and another worker takes its place."""
    isolation()  # NoIsolation now, before anything is graded
    prepare_sandboxes()  # what every worker's sandboxes need, worked out once, before they fork
    if jobs == 1 or not hasattr(os, "fork"):
        for folder in folders:
            yield grade_submission(folder, homework, **limits)
        return
    todo = list(reversed(folders))
    workers: list[_Worker] = []
    try:
        while todo or any(w.folder is not None for w in workers):
            while todo and len(workers) < jobs:
                workers.append(_Worker(homework, limits))
            for worker in workers:
                if worker.folder is None and todo:
                    worker.give(todo.pop())
            busy = {w.results: w for w in workers if w.folder is not None}
            for fd in select.select(list(busy), [], [])[0]:
                worker = busy[fd]
                given = worker.folder
                assert given is not None
                submission = worker.receive()
                if submission is not None:
                    yield submission
                elif worker.folder is None:  # it died: this submission alone is lost
                    workers.remove(worker)
                    yield _lost(given, homework, limits, worker.end())
    finally:
        # Ctrl-C, or the caller giving up: stop now, not after the submissions in hand.  A worker
        # killed takes its sandbox with it (bwrap --die-with-parent).
        for worker in workers:
            worker.end(kill=True)


class _Worker:
    """A forked grading process: folder names in over one pipe, pickled submissions out over another."""

    def __init__(self, homework: Homework, limits: dict):
        task_r, self.tasks = os.pipe()
        self.results, result_w = os.pipe()
        self.folder: Path | None = None
        self.data = bytearray()
        self.pid = os.fork()
        if self.pid == 0:
            os.close(self.tasks)
            os.close(self.results)
            _serve_tasks(homework, limits, task_r, result_w)
        os.close(task_r)
        os.close(result_w)

    def give(self, folder: Path) -> None:
        self.folder, self.data = folder, bytearray()
        name = os.fsencode(folder)
        with contextlib.suppress(BrokenPipeError):  # it died idle: its end of the results shows it
            os.write(self.tasks, struct.pack("<I", len(name)) + name)

    def receive(self) -> Submission | None:
        """Read what came; the submission once complete.  At EOF (it died) `folder` becomes None."""
        chunk = os.read(self.results, 1 << 16)
        if not chunk:
            self.folder = None
            return None
        self.data += chunk
        if len(self.data) < 8 or len(self.data) < 8 + struct.unpack_from("<Q", self.data)[0]:
            return None
        self.folder = None
        return pickle.loads(self.data[8:])  # our own process: pickle is safe

    def end(self, kill: bool = False) -> int:
        """Stop the worker (it exits when its task pipe closes) and return its wait status."""
        for fd in (self.tasks, self.results):
            with contextlib.suppress(OSError):
                os.close(fd)
        if kill:
            with contextlib.suppress(OSError):
                os.kill(self.pid, signal.SIGKILL)
        try:
            return os.waitpid(self.pid, 0)[1]
        except ChildProcessError:
            return 0


def _serve_tasks(homework: Homework, limits: dict, tasks: int, results: int) -> NoReturn:
    """A worker's life: grade the folders it is given, one at a time, until its task pipe closes."""
    try:
        # Ctrl-C reaches the whole process group: the parent handles it and stops the workers.
        signal.signal(signal.SIGINT, signal.SIG_IGN)
        for sig in (signal.SIGTERM, signal.SIGHUP):  # the parent's handlers (verify.cli) are not ours
            signal.signal(sig, signal.SIG_DFL)
        with open(tasks, "rb") as inbox, open(results, "wb") as outbox:
            while len(head := inbox.read(4)) == 4:
                folder = Path(os.fsdecode(inbox.read(struct.unpack("<I", head)[0])))
                data = pickle.dumps(grade_submission(folder, homework, **limits))
                outbox.write(struct.pack("<Q", len(data)) + data)
                outbox.flush()
    finally:
        os._exit(0)


def _lost(folder: Path, homework: Homework, limits: dict, status: int) -> Submission:
    """The submission a worker was grading when it died, graded "error" with a word for the grader."""
    how = (f"was killed by signal {os.WTERMSIG(status)}" if os.WIFSIGNALED(status)
           else f"exited with status {os.WEXITSTATUS(status)}")
    text = f"{INTERNAL}the process grading this submission {how}; grade it again"
    return Submission(_readable_name(folder.name), [Graded(r, "error", 0, points_of(homework, r), text, internal=True)
                                                    for r in homework.results], limits["seed"],
                      homework.submission_file)


# ---- what students read ---------------------------------------------------------------------------------
def quoted(text: str, prefix: str = "  | ") -> str:
    """The candidate's output, every line marked, so that nothing it printed can pass for ours.

    A line printed many times in a row (a print in the function: once per case) is shown once,
    with a note of ours, unmarked, saying how often.
    """
    shown: list[str] = []
    lines = text.rstrip("\n").split("\n")
    at = 0
    while at < len(lines):
        same = at
        while same + 1 < len(lines) and lines[same + 1] == lines[at]:
            same += 1
        shown.append(prefix + lines[at])
        if same - at >= 2:
            shown.append(f"  (the line above {same - at} more times)")
        else:
            shown += [prefix + line for line in lines[at + 1:same + 1]]
        at = same + 1
    return "\n".join(shown)


def result_text(homework: Homework, graded: Graded, *, header: bool = True) -> str:
    """One result's verdict for its student: the points, what was checked, the verdict, the output."""
    result = homework.result(graded.result)
    lines = []
    if header:
        lines.append(f"{result_title(homework, result)}: {graded.verdict}, "
                     f"{_number(graded.points)} / {_number(graded.max_points)} points")
    lines.append(f"function {result.function_name}, signature {result.gradient().signature}")
    if graded.convention:
        lines.append(f"judged in the {graded.convention} convention (the key accepts "
                     f"{' or '.join(result.conventions)}: {_scope_words(homework)})")
    lines.append(graded.text if graded.verdict in ("correct", "wrong", "refused") else _explain(graded))
    if graded.note:
        lines.append(graded.note)
    if graded.review:   # the student learns why; the command that reruns it is for the TA (the CSV)
        lines.append(f"for a TA to review: {graded.review.split(_RERUN)[0]}")
    if graded.output:
        lines += ["what your function printed:", quoted(graded.output)]
    return "\n".join(lines)


def _scope_words(homework: Homework) -> str:
    return {"question": "one for all the results of a question, the one that earns the most points",
            "part": "one per part, the one that earns the most points",
            "result": "each result in the one that earns it the most points",
            "submission": "one for the whole file, the one that earns the most points"}[convention_scope(homework)]


def _explain(graded: Graded) -> str:
    return "not graded: " + graded.text


def variant_lines(homework: Homework) -> list[str]:
    """The student's variant (verify.variants), for the feedback: graded against its own forward passes."""
    return ([f"Your variant: {homework.variant} (your answers are judged against the questions of this variant)"]
            if homework.variant else [])


def feedback_text(homework: Homework, submission: Submission) -> str:
    """The feedback file of a submission: the score, then every result's verdict and counterexample."""
    lines = [f"Feedback on {submission.name}" if submission.name else "Feedback",
             f"Score: {_number(submission.points)} / {_number(submission.max_points)}",
             f"Random seed of this grading run: {submission.seed} (the grader repeats it with --seed "
             f"{submission.seed})", *variant_lines(homework), ""]
    if submission.load_output:
        lines += [f"what {submission.file or homework.submission_file} printed when it was loaded:",
                  quoted(submission.load_output), ""]
    for graded in submission.results:
        lines += [result_text(homework, graded), ""]
    return "\n".join(lines).rstrip("\n") + "\n"


def summary(report: Report) -> str:
    """The table printed after a run: verdicts per result, then the distribution of the totals."""
    counts = report.counts()
    width = max([len("result"), *(len(r) for r in report.results)])
    head = f"{'result':<{width}}  " + "  ".join(f"{v:>7}" for v in VERDICTS)
    lines = [f"graded {len(report.submissions)} submission{'s' if len(report.submissions) != 1 else ''} "
             f"in {report.seconds:.1f} s on {report.jobs} worker{'s' if report.jobs != 1 else ''} "
             f"(seed {report.seed}; repeat with --seed {report.seed})", "", head]
    for result in report.results:
        lines.append(f"{result:<{width}}  " + "  ".join(f"{counts[result][v]:>7}" for v in VERDICTS))
    totals = [s.points for s in report.submissions]
    if totals:
        most = report.submissions[0].max_points
        lines += ["", f"points out of {_number(most)}: mean {np.mean(totals):.2f}, median "
                      f"{_number(float(np.median(totals)))}, min {_number(min(totals))}, max {_number(max(totals))}"]
        lines.append("distribution: " + ", ".join(
            f"{_number(p)}: {totals.count(p)}" for p in sorted(set(totals), reverse=True)))
    flagged = [(s.name, g) for s in report.submissions for g in s.results if g.review and not g.internal]
    if flagged:
        lines += ["", f"{len(flagged)} result(s) for a TA to review (the review column of the CSV), apart from the "
                      "wrong ones:"]
        lines += [f"  {name} {g.result}: {g.verdict}; {g.review}" for name, g in flagged[:20]]
        if len(flagged) > 20:
            lines.append(f"  and {len(flagged) - 20} more")
    if report.internal_errors:
        lines += ["", f"{report.internal_errors} result(s) were not graded because of an internal error of the "
                      "grader (see the feedback)"]
    return "\n".join(lines)


def _private(path: Path):
    """A text file only its owner can read (mode 0600, also when it existed before), open for writing."""
    fd = os.open(path, os.O_WRONLY | os.O_CREAT | os.O_TRUNC, 0o600)
    os.fchmod(fd, 0o600)
    # a lone surrogate (a byte of a name or of printed output that is not UTF-8) is written as text
    return open(fd, "w", newline="", encoding="utf-8", errors="backslashreplace")


def write_csv(rows: Iterable[Row], path: str | Path) -> None:
    """The long grades CSV (Row.FIELDS, one row per submission and result), mode 0600."""
    import csv
    path = Path(path)
    tmp = path.with_name(path.name + ".tmp")
    with _private(tmp) as file:
        writer = csv.writer(file)
        writer.writerow(Row.FIELDS)
        writer.writerows(row.as_csv() for row in rows)
    os.replace(tmp, path)  # never a half-written CSV under the real name


def wide_header(results: Sequence[str]) -> list[str]:
    """The wide CSV's columns: the submission, the columns of a gradebook upload (Gradescope's roster and
    score exports: Name, SID, Email; Total Score, Max Points), a column per result, what a TA should see."""
    return ["submission", "Name", "SID", "Email", *results, "Total Score", "Max Points", "review", "feedback"]


def wide_row(submission: Submission, results: Sequence[str], feedback: str = "") -> list[str]:
    """One student's row of the wide CSV.  The folder name is the student's: an address goes to Email,
    anything else to SID (Name is left for the roster to fill)."""
    points = {g.result: g.points for g in submission.results}
    reviews = "; ".join(f"{g.result}: {g.review}" for g in submission.results if g.review)
    email = submission.name if "@" in submission.name else ""
    return [_inert(submission.name), "", "" if email else _inert(submission.name), _inert(email),
            *(_number(points[r]) if r in points else "" for r in results), _number(submission.points),
            _number(submission.max_points), _inert(reviews), _inert(feedback)]


def write_wide_csv(report: Report, path: str | Path, feedback: Mapping[str, str] | None = None) -> None:
    """The wide grades CSV: one row per student (see wide_header), mode 0600."""
    import csv
    path = Path(path)
    tmp = path.with_name(path.name + ".tmp")
    with _private(tmp) as file:
        writer = csv.writer(file)
        writer.writerow(wide_header(report.results))
        for submission in report.submissions:
            writer.writerow(wide_row(submission, report.results, (feedback or {}).get(submission.name, "")))
    os.replace(tmp, path)


def wide_path(csv_path: str | Path) -> Path:
    """Where the wide CSV goes: next to the long one, grades.csv -> grades-wide.csv."""
    path = Path(csv_path)
    return path.with_name(f"{path.stem}-wide{path.suffix or '.csv'}")


_SAFE = re.compile(r"[\w.@+=(), -]+")
_NAME_BYTES = 200   # a file name has at most 255 bytes on common file systems: room for a suffix and .txt


def feedback_name(name: str) -> str:
    """A file name for a submission's feedback: its name where that is a plain, short file name; else a
    readable part of it and a hash of all of it (names with slashes, newlines, backslashes, 253 characters)."""
    import hashlib
    if _SAFE.fullmatch(name) and len(name.encode("utf-8")) <= _NAME_BYTES and not name.startswith("."):
        return f"{name}.txt"
    digest = hashlib.sha256(name.encode("utf-8", "surrogatepass")).hexdigest()[:16]
    readable = "".join(c if _SAFE.fullmatch(c) else "_" for c in name).strip("._")[:60]
    while len(readable.encode("utf-8")) > 120:
        readable = readable[:-1]
    return f"{readable or 'submission'}-{digest}.txt"


class FeedbackWriter:
    """Feedback files written one at a time (as each submission is done), mode 0600; no two submissions
    ever share a file: a name met twice in a run gets a suffix."""

    def __init__(self, homework: Homework, folder: str | Path):
        self.homework, self.folder = homework, Path(folder)
        # private when it makes it: its list of names is the class's roster (a fresh attacker's file listed it)
        self.folder.mkdir(mode=0o700, parents=True, exist_ok=True)
        self.taken: set[str] = set()
        self.names: dict[str, str] = {}     # submission name -> its file's name

    def write(self, submission: Submission) -> Path:
        name = feedback_name(submission.name)
        stem, number = name[:-len(".txt")], 1
        while name in self.taken:
            number += 1
            name = f"{stem}-{number}.txt"
        self.taken.add(name)
        self.names[submission.name] = name
        path = self.folder / name
        with _private(path) as file:
            file.write(feedback_text(self.homework, submission))
        return path


def write_feedback(homework: Homework, report: Report, folder: str | Path) -> list[Path]:
    """One text file per submission in `folder` (see feedback_name), mode 0600; returns their paths."""
    writer = FeedbackWriter(homework, folder)
    return [writer.write(submission) for submission in report.submissions]


class RowWriter:
    """The long CSV written as the run goes: each submission's rows as soon as it is done, flushed to
    disk, so that an interrupted run keeps every submission graded before it."""

    def __init__(self, path: str | Path):
        import csv
        self.path = Path(path)
        self.file = _private(self.path)
        self.csv = csv.writer(self.file)
        self.csv.writerow(Row.FIELDS)
        self.rows = 0
        self.file.flush()

    def write(self, submission: Submission) -> None:
        for graded in submission.results:
            self.csv.writerow(Row.of(submission.name, graded).as_csv())
            self.rows += 1
        self.file.flush()
        os.fsync(self.file.fileno())

    def close(self) -> None:
        self.file.close()


def check_writable(*paths: Path) -> None:
    """OSError (naming the path) unless each file can be created where it is asked for: checked before a
    run, so that a wrong --csv does not wait for the whole class."""
    for path in paths:
        if path.is_dir():
            raise IsADirectoryError(f"{path} is a folder, not a file")
        path.parent.mkdir(parents=True, exist_ok=True)
        if not os.access(path.parent, os.W_OK | os.X_OK) or (path.exists() and not os.access(path, os.W_OK)):
            raise PermissionError(f"{path}: not writable")


@contextlib.contextmanager
def progress_bar(total: int, *, minimum: int = 8) -> Iterator[Callable[[Submission], None]]:
    """A tqdm bar on stderr when stderr is a terminal and there are at least `minimum` submissions."""
    if total < minimum or not sys.stderr.isatty():
        yield lambda submission: None
        return
    from tqdm import tqdm
    tqdm.monitor_interval = 0  # no monitor thread: the workers are forked while the bar runs
    with tqdm(total=total, unit="submission", file=sys.stderr, leave=False) as bar:
        yield lambda submission: bar.update(1)
