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

    correct   the check passed                                              the part's points
    wrong     the check failed: a counterexample, an exception the          0
              candidate raised, or an answer that is not a numeric array
              of the right shape (the candidate's own failure is an answer)
    missing   the submission has no hw4.py, or hw4.py has no function       0
              of that name
    error     hw4.py cannot be loaded (syntax error, import error, an       0
              exception at import), the name is not a function or takes
              the wrong number of arguments, the candidate's process
              crashed (os._exit, a signal) or passed the memory limit
    timeout   the check, or loading the file, passed the time limit         0

A bug of the grader met while grading one result is graded "error" as well (the run goes on), but
its feedback says it is the grader's fault and `python -m verify grade` then exits 4.

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
from collections.abc import Callable, Iterable, Iterator, Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any, NoReturn

import numpy as np

from . import engine
from .homework import Homework, Result
from .homework import load as load_homework
from .sandbox import FunctionError, LimitExceeded, LoadError, MissingFunction, Sandbox, TimeLimit, isolation

__all__ = ["VERDICTS", "DEFAULT_TIMEOUT", "DEFAULT_MEMORY", "Graded", "Submission", "Row",
           "Report", "Candidate", "grade", "grade_all", "grade_file", "grade_submission", "submissions_in",
           "points_of", "result_title", "result_text", "feedback_text", "quoted", "summary", "write_csv",
           "write_feedback", "progress_bar"]

VERDICTS = ("correct", "wrong", "missing", "error", "timeout")
DEFAULT_TIMEOUT = 10.0
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
    """One row of the grades CSV."""
    submission: str
    result: str
    verdict: str
    points: float
    max_points: float

    FIELDS = ("submission", "result", "verdict", "points", "max_points")

    def as_csv(self) -> list[str]:
        return [_inert(self.submission), self.result, self.verdict, _number(self.points), _number(self.max_points)]


def _inert(cell: str) -> str:
    """A cell a spreadsheet will not run: a folder named '=HYPERLINK(...)' gets a leading apostrophe."""
    return "'" + cell if cell.startswith(("=", "+", "-", "@", "\t", "\r")) else cell


def _readable_name(name: str) -> str:
    """A folder's name as text that can be written anywhere: bytes that are not UTF-8 as \\xNN."""
    return os.fsencode(name).decode("utf-8", "backslashreplace")


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
        return [Row(s.name, g.result, g.verdict, g.points, g.max_points) for s in self.submissions
                for g in s.results]

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
        fresh = head[len(self.seen):] if head.startswith(self.seen) else head
        self.seen = head
        if more and not self.cut:
            self.cut = True
            fresh += ("\n" if fresh and not fresh.endswith("\n") else "") + "... (the rest of the output was cut)"
        return fresh


# ---- one submission -------------------------------------------------------------------------------------
def grade_file(path: str | Path | None, homework: Homework | None = None, *, results: Sequence[str] | None = None,
               timeout: float = DEFAULT_TIMEOUT, memory: int = DEFAULT_MEMORY, seed: int | None = None,
               name: str = "") -> Submission:
    """Grade every result (or `results`) of the homework in one file, loaded once in a sandbox.

    `path=None` (or a file that does not exist) grades every result "missing".  Never raises for
    anything the candidate does; KeyboardInterrupt goes through (the sandbox is closed first).
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
            submission.results = [Graded(r.id, verdict, 0, points_of(homework, r.id), why) for r in chosen]
            return submission
        output = _Output(box)
        submission.load_output = output.new()
        broken: Graded | None = None
        for result in chosen:
            if broken is not None:  # the file no longer loads: reloading it for each result would only wait
                submission.results.append(Graded(result.id, broken.verdict, 0, points_of(homework, result.id),
                                                 broken.text))
                continue
            graded = _grade_result(box, output, homework, result, seed)
            submission.results.append(graded)
            if graded.text.startswith(_RELOAD):
                broken = graded
    finally:
        box.close()
        submission.seconds = time.monotonic() - started
    return submission


def _grade_result(box: Sandbox, output: _Output, homework: Homework, result: Result, seed: int) -> Graded:
    worth = points_of(homework, result.id)
    gradient = result.gradient()
    name = result.function_name
    graded: Graded
    try:
        box.fresh()  # every result from a fresh interpreter state (a new sandbox after a limit or a crash)
    except (LimitExceeded, LoadError) as exc:
        verdict_name = _verdict_of_limit(exc) if isinstance(exc, LimitExceeded) else "error"
        return Graded(result.id, verdict_name, 0, worth, f"{_RELOAD}{exc}", output=output.new())
    output.new()  # what loading printed again belongs to no result
    try:
        box.restart_clock()
        box.function(name, gradient.arity)
        verdict = Candidate(box, name).check(gradient, seed=seed, subject=result.id)
        graded = Graded(result.id, "correct" if verdict.passed else "wrong", worth if verdict.passed else 0,
                        worth, str(verdict))
    except FunctionError as exc:
        graded = Graded(result.id, "missing" if isinstance(exc, MissingFunction) else "error", 0, worth, str(exc))
    except LimitExceeded as exc:
        graded = Graded(result.id, _verdict_of_limit(exc), 0, worth, f"{name}: {exc}")
    except Exception as exc:  # a bug of the grader: grade the rest, but say whose fault it is
        graded = Graded(result.id, "error", 0, worth, f"{INTERNAL}{type(exc).__name__}: {exc}", internal=True)
    graded.output = output.new()
    return graded


# After a limit the file is loaded again; when that fails (its import behaves differently from one run
# to the next), the results left get the same verdict without waiting for more reloads.
_RELOAD = "the file could not be loaded again after the last result: "


def _verdict_of_limit(exc: LimitExceeded) -> str:
    if isinstance(exc, TimeLimit):
        return "timeout"
    return "error"  # MemoryLimit, Crashed


def grade_submission(folder: str | Path, homework: Homework | None = None, **limits: Any) -> Submission:
    """Grade one submission folder (its homework's submission file); `limits` as for grade_file."""
    folder = Path(folder)
    homework = homework or load_homework()
    file = folder / homework.submission_file
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
              progress: Callable[[Submission], None] | None = None) -> Report:
    """Grade every submission folder of `directory` on `jobs` worker processes (default: one per core).

    `progress` is called in this process with each submission as it is done (in any order).
    """
    homework = homework or load_homework()
    folders = submissions_in(directory)
    seed = secrets.randbits(32) if seed is None else seed
    jobs = max(1, min(jobs or os.cpu_count() or 1, len(folders) or 1))
    results = list(homework.results)
    limits = {"timeout": timeout, "memory": memory, "seed": seed}
    started = time.monotonic()
    done: list[Submission] = []
    for submission in _run(folders, homework, jobs, limits):
        done.append(submission)
        if progress is not None:
            progress(submission)
    done.sort(key=lambda s: s.name)
    return Report(done, seed, results, time.monotonic() - started, jobs)


def grade(directory: str | Path, jobs: int | None = None, timeout: float = DEFAULT_TIMEOUT,
          memory: int = DEFAULT_MEMORY, seed: int | None = None) -> list[Row]:
    """The rows of the grades CSV for every submission folder of `directory` (see grade_all)."""
    return grade_all(directory, jobs=jobs, timeout=timeout, memory=memory, seed=seed).rows


def _run(folders: list[Path], homework: Homework, jobs: int, limits: dict) -> Iterator[Submission]:
    """Grade on `jobs` worker processes forked from this one (the homework, numpy and sympy loaded),
    each keeping its sandbox's server from one submission to the next.  A worker that dies costs the
    submission it was grading, graded "error", and another worker takes its place."""
    isolation()  # NoIsolation now, before anything is graded
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
    lines.append(graded.text if graded.verdict in ("correct", "wrong") else _explain(graded))
    if graded.output:
        lines += ["what your function printed:", quoted(graded.output)]
    return "\n".join(lines)


def _explain(graded: Graded) -> str:
    return {
        "missing": "not graded: ",
        "error": "not graded: ",
        "timeout": "not graded: ",
    }[graded.verdict] + graded.text


def feedback_text(homework: Homework, submission: Submission) -> str:
    """The feedback file of a submission: the score, then every result's verdict and counterexample."""
    lines = [f"Feedback on {submission.name}" if submission.name else "Feedback",
             f"Score: {_number(submission.points)} / {_number(submission.max_points)}",
             f"Random seed of this grading run: {submission.seed} (the grader repeats it with --seed "
             f"{submission.seed})", ""]
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
    if report.internal_errors:
        lines += ["", f"{report.internal_errors} result(s) were not graded because of an internal error of the "
                      "grader (see the feedback)"]
    return "\n".join(lines)


def write_csv(rows: Iterable[Row], path: str | Path) -> None:
    """The grades CSV: header submission,result,verdict,points,max_points, then one row per result."""
    import csv
    path = Path(path)
    tmp = path.with_name(path.name + ".tmp")
    with open(tmp, "w", newline="", encoding="utf-8") as file:
        writer = csv.writer(file)
        writer.writerow(Row.FIELDS)
        writer.writerows(row.as_csv() for row in rows)
    os.replace(tmp, path)  # never a half-written CSV under the real name


def write_feedback(homework: Homework, report: Report, folder: str | Path) -> list[Path]:
    """One text file per submission, `<folder>/<submission>.txt`; returns their paths."""
    folder = Path(folder)
    folder.mkdir(parents=True, exist_ok=True)
    written = []
    for submission in report.submissions:
        path = folder / f"{submission.name}.txt"
        path.write_text(feedback_text(homework, submission), encoding="utf-8")
        written.append(path)
    return written


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
