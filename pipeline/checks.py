"""Stage 2: every check of the homework, run before anything is published.

The checks are the steps of the solutions (each checked by reading what it
displays, see `verify.steps`), the results they carry, and the common wrong
answers of the grading key: each must be judged as its note says (rejected,
or accepted under the stated reading), with the smallest counterexample a
search over sizes finds, and the numbers the note displays are example steps
checked like any other.  A failure stops the build with the question, the
step and the counterexample.

Steps run on worker processes (every core) while the caller goes on; their
verdicts are cached by the content they depend on.
"""
from __future__ import annotations

import datetime
import hashlib
import inspect
import json
import multiprocessing
import os
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import sympy as sp

from verify import engine
from verify.engine import Verdict
from verify.homework import Homework, Part, WrongAnswer
from verify.notes import Note, judge
from verify.notes import verdict_from_json as _from_json
from verify.notes import verdict_to_json as _to_json
from verify.steps import Kind, Step, check_step
from verify.wording import plural

from .errors import CheckFailed

_VERIFY_DIR = Path(engine.__file__).resolve().parent


# ---- the list of checks -------------------------------------------------------------------------------
def count(homework: Homework) -> int:
    """The number of checks of a build: one per step and one per wrong answer.  Every report uses it."""
    return len(homework.steps) + len(wrong_answers(homework))


def wrong_answers(homework: Homework) -> list[tuple[Part, WrongAnswer]]:
    return [(part, answer) for part in homework.parts for answer in part.wrong_answers]


# ---- running the checks ---------------------------------------------------------------------------------
@dataclass
class Verification:
    """The verdicts of a build: every step, and every wrong answer with its note."""
    homework: Homework
    steps: dict[str, Verdict]
    notes: list[Note]

    def rows(self) -> list[dict]:
        """One row per check, for verify-report.json and `make verify`."""
        rows = []
        for step_id, verdict in self.steps.items():
            step = self.homework.steps.get(step_id)
            rows.append({"id": step_id, "question": self.homework.question_of(step_id) if step else "",
                         "kind": step.kind.value if step else "note",
                         "status": "passed" if verdict.passed else "failed",
                         "methods": verdict.methods, "cases": verdict.cases, "worst_error": verdict.worst_error})
        for note in self.notes:
            rows.append({"id": note.id, "question": note.part.question, "kind": "wrong answer",
                         "status": "passed", "verdict_on_the_answer": "accepted" if note.verdict.passed else "rejected",
                         "methods": note.verdict.methods, "cases": note.verdict.cases,
                         "worst_error": note.verdict.worst_error, "smallest_counterexample": note.smallest})
        return rows


class Running:
    """The checks of a build under way on worker processes; `wait()` returns the Verification."""

    def __init__(self, homework: Homework, cache_file: Path | None, workers: int | None = None):
        self.homework = homework
        self.cache_file = cache_file
        self.cache = _read_cache(cache_file)
        self.fingerprint = _fingerprint()
        self.keys = {sid: _step_key(step, self.fingerprint) for sid, step in homework.steps.items()}
        self.done: dict[str, Verdict] = {sid: _from_json(self.cache[key]) for sid, key in self.keys.items()
                                         if key in self.cache}
        todo = [sid for sid in homework.steps if sid not in self.done]
        workers = workers or os.cpu_count() or 1
        global _HOMEWORK
        _HOMEWORK = homework   # the workers are forked: they inherit it instead of importing it again
        self.pool = (multiprocessing.get_context("fork").Pool(workers, initializer=_quiet_worker)
                     if todo and workers > 1 else None)
        groups = _groups(homework, todo)
        self.jobs = [self.pool.apply_async(_check_steps, (g,)) for g in groups] if self.pool else []
        self.serial = groups if self.pool is None else []
        self._notes: list[Note] | None = None
        self.locations: dict[str, str] = {}
        self.fresh_notes: dict[str, dict] = {}

    def notes(self) -> list[Note]:
        """The wrong answers judged (the grading key shows them); the steps their notes display checked too."""
        if self._notes is None:
            notes = []
            for part, answer in wrong_answers(self.homework):
                key = _note_key(answer, self.fingerprint)
                note, known = judge(self.homework, part, answer, self.cache.get(key))
                self.fresh_notes[key] = known
                _require_judgment(note)
                for step in note.steps.values():
                    step_key = _step_key(step, self.fingerprint)
                    verdict = (_from_json(self.cache[step_key]) if step_key in self.cache else check_step(step))
                    self.fresh_notes[step_key] = _to_json(verdict)
                    if not verdict.passed:
                        raise CheckFailed(f"check failed: grader's note {answer.id} ({note.part.label}), "
                                          f"step {step.id}\n{verdict.reason}\n{verdict.counterexample}")
                notes.append(note)
                if answer.case is not None and answer.case.formula is not None:
                    case_key = _note_key(answer.answer_of(answer.case), self.fingerprint)
                    self.fresh_notes[case_key] = check_case(self.homework, part, answer, self.cache.get(case_key))
            self._notes = notes
        return self._notes

    def wait(self, locations: dict[str, str] | None = None) -> Verification:
        """Every verdict, or CheckFailed naming the question, the step (and the template line that
        shows it, from `locations`) and the counterexample."""
        self.locations = locations or {}
        for group in self.serial:
            self.done.update(_check_steps(group))
        for job in self.jobs:
            self.done.update(job.get())
        failed = [sid for sid in self.homework.steps if not self.done[sid].passed]
        if failed:
            raise CheckFailed("\n\n".join(self._failure(sid) for sid in failed))
        steps = {sid: self.done[sid] for sid in self.homework.steps}
        notes = self.notes()
        self._write_cache()
        return Verification(self.homework, steps, notes)

    def _failure(self, step_id: str) -> str:
        """One block per failed step: where it is written and shown, then its counterexample (which
        carries the reason), or the reason alone."""
        verdict = self.done[step_id]
        step = self.homework.steps[step_id]
        written = step.origin or f"{self.homework.package}/{self.homework.unit_of(step_id).module}.py"
        shown = f", shown at {self.locations[step_id]}" if step_id in self.locations else ""
        detail = str(verdict.counterexample) if verdict.counterexample is not None else verdict.reason
        return (f"check failed: question {self.homework.question_of(step_id)}, step {step_id} "
                f"({written}{shown})\n{detail}").rstrip()

    def _write_cache(self) -> None:
        if self.cache_file is None:
            return
        fresh: dict[str, Any] = {self.keys[sid]: _to_json(v) for sid, v in self.done.items()
                                 if v.passed and sid in self.keys}
        fresh.update(self.fresh_notes)
        self.cache_file.parent.mkdir(parents=True, exist_ok=True)
        self.cache_file.write_text(json.dumps(fresh, sort_keys=True))

    def __enter__(self):
        return self

    def __exit__(self, *exc):
        if self.pool is not None:
            self.pool.terminate()
            self.pool.join()


def check_case(homework: Homework, part: Part, answer: WrongAnswer, known: dict | None = None) -> dict:
    """Judge the case a note grades apart with a formula of its own: a wrong answer too, since the grader awards it
    the case's points (a right formula there would cost a right answer points).  Its record, for the cache."""
    assert answer.case is not None
    note, known = judge(homework, part, answer.answer_of(answer.case), known)
    if note.verdict.passed:
        raise CheckFailed(f"check failed: grader's note {answer.id} ({part.label}), its case: the case's formula is "
                          f"right, but the key grades it as wrong\n{note.verdict}")
    return known


def _require_judgment(note: Note) -> None:
    accepted = note.verdict.passed
    if accepted != note.answer.accepted:
        what = "accepts" if accepted else "rejects"
        says = "right" if note.answer.accepted else "wrong"
        raise CheckFailed(f"check failed: grader's note {note.answer.id} ({note.part.label}) says the answer is "
                          f"{says}, but verify {what} it\n{note.verdict}")


def start(homework: Homework, cache_file: Path | None, workers: int | None = None) -> Running:
    return Running(homework, cache_file, workers)


def run(homework: Homework, cache_file: Path | None = None, workers: int | None = None) -> Verification:
    with start(homework, cache_file, workers) as running:
        return running.wait()


_HOMEWORK: Homework | None = None


def _quiet_worker() -> None:
    """Ctrl-C and a closed terminal reach the whole process group: the build stops its workers itself."""
    import signal
    signal.signal(signal.SIGINT, signal.SIG_IGN)
    signal.signal(signal.SIGHUP, signal.SIG_IGN)


def _check_steps(step_ids: list[str]) -> dict[str, Verdict]:
    assert _HOMEWORK is not None
    return {sid: check_step(_HOMEWORK.steps[sid]) for sid in step_ids}


def _groups(homework: Homework, step_ids: list[str]) -> list[list[str]]:
    """Steps grouped by operation, most expensive first: a worker then builds each operation's exact
    instances once, and the groups keep every core busy until the end."""
    groups: dict[str, list[str]] = {}
    for sid in step_ids:
        step = homework.steps[sid]
        key = step.operation.name if step.operation is not None else "identities"
        groups.setdefault(key, []).append(sid)
    weight: Callable[[list[str]], int] = lambda ids: sum(4 if homework.steps[q].kind is Kind.RESULT else 1
                                                         for q in ids)
    return sorted(groups.values(), key=weight, reverse=True)


# ---- the cache ------------------------------------------------------------------------------------------------
def _fingerprint() -> str:
    """The checking code: any change to it invalidates every cached verdict."""
    digest = hashlib.sha256()
    for path in sorted(_VERIFY_DIR.glob("*.py")):
        digest.update(path.name.encode() + path.read_bytes())
    digest.update(Path(__file__).read_bytes())
    return digest.hexdigest()


def _source(obj) -> str:
    try:
        return inspect.getsource(inspect.getmodule(obj) or obj)
    except (OSError, TypeError):
        return repr(obj)


def _step_key(step: Step, fingerprint: str) -> str:
    """What a step's verdict depends on: the checking code, the module that defines the step and its
    operation (their whole source: helpers and data sit beside them), and the step itself."""
    op = step.operation
    parts = [fingerprint, step.id, step.kind.value, step.relation,
             repr([sp.srepr(q) for q in step.sides]), repr([tuple(map(sp.srepr, o)) for o in step.over]),
             repr(step.index_base), repr(step.sizes),
             repr(sorted((str(k), repr(v)) for k, v in (step.at or {}).items())),
             repr(sorted((sp.srepr(k), sp.srepr(v)) for k, v in (step.names or {}).items())),
             _source(op.forward) if op is not None else "",
             sp.srepr(step.gradient.formula) if step.gradient is not None else ""]
    return hashlib.sha256("\x1f".join(parts).encode()).hexdigest()


def _note_key(answer: WrongAnswer, fingerprint: str) -> str:
    """A note's record depends on the checking code, the answer and the module that defines it."""
    return hashlib.sha256(f"{fingerprint}\x1fnote\x1f{answer.id}\x1f{sp.srepr(answer.shown)}\x1f"
                          f"{answer.result}\x1f{answer.convention}\x1f"
                          f"{sorted((str(k), sp.srepr(v)) for k, v in answer.reading.items())}".encode()).hexdigest()


def _read_cache(cache_file: Path | None) -> dict:
    try:
        return json.loads(cache_file.read_text()) if cache_file is not None and cache_file.exists() else {}
    except (OSError, ValueError):
        return {}  # an unreadable cache only costs time


def report(verification: Verification, provenance: dict[str, Any]) -> dict:
    rows = verification.rows()
    return {**provenance, "built_at": datetime.datetime.now(datetime.timezone.utc).isoformat(timespec="seconds"),
            "checks": len(rows), "passed": sum(row["status"] == "passed" for row in rows), "rows": rows}


def table(verification: Verification) -> str:
    """A plain-text table of every check, and the one count of checks."""
    rows = [("question", "check", "kind", "status", "cases", "worst error")]
    for row in verification.rows():
        rows.append((row["question"], row["id"], row["kind"], "ok" if row["status"] == "passed" else "FAILED",
                     str(row["cases"]), f"{row['worst_error']:.1e}"))
    widths = [max(len(row[c]) for row in rows) for c in range(len(rows[0]))]
    lines = ["  ".join(cell.ljust(w) for cell, w in zip(row, widths)).rstrip() for row in rows]
    passed = sum(row[3] == "ok" for row in rows[1:])
    lines.append(f"{passed} of {plural(len(rows) - 1, 'check')} passed")
    return "\n".join(lines)
