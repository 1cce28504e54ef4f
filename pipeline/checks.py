"""Stage 2: verify every step and result of the key before anything is rendered.

A failure stops the build with the question, the step and the counterexample.
The grader's notes show wrong answers with the counterexample verify finds;
a wrong answer that verify accepts would make its note false, so it stops the
build too.  Both kinds of verdict are cached by the content they depend on.
"""
from __future__ import annotations

import datetime
import hashlib
import json
from dataclasses import asdict, dataclass
from pathlib import Path

import numpy as np
import sympy as sp

import verify
from verify.project import Checks, read_cache, source_fingerprint

from .errors import CheckFailed


@dataclass
class Verification:
    steps: list          # verify.steps.StepReport, in the order of solutions/
    wrong: list          # (WrongAnswer, verify.CheckResult), each rejected

    def rows(self) -> list[dict]:
        """One row per check: steps, the results they carry, the rejected wrong answers."""
        rows = []
        for r in self.steps:
            rows.append({"id": r.id, "question": r.question, "kind": r.kind,
                         "status": "passed" if r.passed else "failed", "methods": r.methods,
                         "cases": r.cases, "worst_error": r.worst_error})
            if r.result is not None:
                rows.append({"id": r.result["id"], "question": r.question, "kind": "result",
                             "status": "passed" if r.result["passed"] else "failed",
                             "methods": r.result["methods"], "cases": r.result["cases"],
                             "worst_error": r.result["worst_error"]})
        for answer, outcome in self.wrong:
            # this check passes when verify rejects the wrong answer
            rows.append({"id": f"wrong.{answer.id}", "question": verify.RESULTS[answer.result].question,
                         "kind": "wrong answer", "status": "passed" if not outcome.passed else "failed",
                         "verdict_on_the_answer": "rejected" if not outcome.passed else "accepted",
                         "methods": outcome.methods, "cases": outcome.cases, "worst_error": outcome.worst_error,
                         "rejected_by": outcome.counterexample.method if outcome.counterexample else None})
        return rows

    @property
    def summary(self) -> tuple[int, int]:
        rows = self.rows()
        return sum(row["status"] == "passed" for row in rows), len(rows)


class Pending:
    """The checks of a build, running on worker processes; `result()` waits for the verdicts."""

    def __init__(self, solutions, cache_file: Path | None):
        self.solutions = solutions
        self.checks = Checks(solutions.steps.values(), cache_file)
        self.wrong_cache_file = cache_file.with_name("wrong-answers-cache.json") if cache_file else None
        cached = read_cache(self.wrong_cache_file)
        fingerprint = source_fingerprint()
        self.wrong_keys = {a.id: _wrong_answer_key(a, fingerprint) for a in solutions.wrong_answers}
        self.wrong_cached = {a.id: _from_json(cached[self.wrong_keys[a.id]])
                             for a in solutions.wrong_answers if self.wrong_keys[a.id] in cached}
        todo = [a.id for a in solutions.wrong_answers if a.id not in self.wrong_cached]
        self.wrong_job = self.checks.submit(_check_wrong_answers, todo)

    def result(self) -> Verification:
        """The verification, or CheckFailed with the question, the step and the counterexample."""
        reports = self.checks.reports()
        failed = [r for r in reports if not r.passed]
        if failed:
            raise CheckFailed("\n\n".join(
                f"check failed: question {r.question}, step {r.id}\n{r.counterexample}" for r in failed))
        outcomes = {**self.wrong_cached, **self.wrong_job()}
        wrong = [(a, outcomes[a.id]) for a in self.solutions.wrong_answers]
        if self.wrong_cache_file is not None:
            self.wrong_cache_file.write_text(json.dumps(
                {self.wrong_keys[a.id]: _to_json(outcome) for a, outcome in wrong}, sort_keys=True))
        accepted = [answer for answer, outcome in wrong if outcome.passed]
        if accepted:
            raise CheckFailed("\n".join(
                f"check failed: grader's note '{a.id}' ({a.result}): verify accepts this wrong answer, "
                f"so the note would be false" for a in accepted))
        return Verification(reports, wrong)

    def __enter__(self):
        return self

    def __exit__(self, *exc):
        self.checks.__exit__(*exc)


def start(solutions, cache_file: Path | None) -> Pending:
    """Start every check of the key on the worker processes."""
    return Pending(solutions, cache_file)


def run(solutions, cache_file: Path | None) -> Verification:
    with start(solutions, cache_file) as pending:
        return pending.result()


def _check_wrong_answers(ids: list[str]) -> dict:
    """verify.check of the wrong answers named (on a worker process: they are found by id)."""
    from solutions import WRONG_ANSWERS
    return {a.id: verify.check(a.result, a.function()) for a in WRONG_ANSWERS if a.id in ids}


def _wrong_answer_key(answer, fingerprint: str) -> str:
    """The checking code, this module (it writes the cache entries) and the answer's formula."""
    return hashlib.sha256(f"{fingerprint}\x1f{_THIS_MODULE}\x1f{answer.result}\x1f"
                          f"{sp.srepr(answer.formula)}".encode()).hexdigest()


_THIS_MODULE = hashlib.sha256(Path(__file__).read_bytes()).hexdigest()


def _to_json(outcome: verify.CheckResult) -> dict:
    data = asdict(outcome)
    ce = data["counterexample"]
    if ce is not None:
        for field in ("expected", "got"):
            ce[field] = None if ce[field] is None else np.asarray(ce[field], dtype=float).tolist()
        # a list of pairs: the cache file's sorted keys must not reorder the inputs as printed
        ce["inputs"] = [[k, np.asarray(v, dtype=float).tolist()] for k, v in ce["inputs"].items()]
        ce["differing"] = [list(q) for q in ce["differing"]]
    return data


def _from_json(data: dict) -> verify.CheckResult:
    ce = data.pop("counterexample")
    if ce is not None:
        ce = verify.Counterexample(
            method=ce["method"], inputs={k: np.asarray(v) for k, v in ce["inputs"]},
            expected=None if ce["expected"] is None else np.asarray(ce["expected"]),
            got=None if ce["got"] is None else np.asarray(ce["got"]),
            differing=[tuple(q) for q in ce["differing"]], detail=ce["detail"])
    return verify.CheckResult(**data, counterexample=ce)


def report(verification: Verification, commit: str) -> dict:
    passed, total = verification.summary
    return {"commit": commit,
            "built_at": datetime.datetime.now(datetime.timezone.utc).isoformat(timespec="seconds"),
            "passed": passed, "total": total, "checks": verification.rows()}
