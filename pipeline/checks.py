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
from verify.project import run_checks, source_fingerprint

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
            rows.append({"id": f"wrong.{answer.id}", "question": verify.RESULTS[answer.result].question,
                         "kind": "wrong answer", "status": "passed" if not outcome.passed else "failed",
                         "methods": outcome.methods, "cases": outcome.cases, "worst_error": outcome.worst_error,
                         "rejected_by": outcome.counterexample.method if outcome.counterexample else None})
        return rows

    @property
    def summary(self) -> tuple[int, int]:
        rows = self.rows()
        return sum(row["status"] == "passed" for row in rows), len(rows)


def run(solutions, cache_file: Path | None) -> Verification:
    reports = run_checks(solutions.steps.values(), cache_file)
    failed = [r for r in reports if not r.passed]
    if failed:
        raise CheckFailed("\n\n".join(
            f"check failed: question {r.question}, step {r.id}\n{r.counterexample}" for r in failed))
    wrong = _reject_wrong_answers(solutions.wrong_answers,
                                  cache_file.with_name("wrong-answers-cache.json") if cache_file else None)
    accepted = [answer for answer, outcome in wrong if outcome.passed]
    if accepted:
        raise CheckFailed("\n".join(
            f"check failed: grader's note '{a.id}' ({a.result}): verify accepts this wrong answer, "
            f"so the note would be false" for a in accepted))
    return Verification(reports, wrong)


def _reject_wrong_answers(answers, cache_file: Path | None) -> list:
    """verify.check of every wrong answer, reusing verdicts whose formula and checking code are unchanged."""
    cache = _read(cache_file)
    fingerprint = source_fingerprint()
    outcomes, fresh = [], {}
    for answer in answers:
        key = hashlib.sha256(f"{fingerprint}\x1f{answer.result}\x1f{sp.srepr(answer.formula)}".encode()).hexdigest()
        outcome = _from_json(cache[key]) if key in cache else verify.check(answer.result, answer.function())
        outcomes.append((answer, outcome))
        fresh[key] = _to_json(outcome)
    if cache_file is not None:
        cache_file.parent.mkdir(parents=True, exist_ok=True)
        cache_file.write_text(json.dumps(fresh, sort_keys=True))
    return outcomes


def _read(cache_file: Path | None) -> dict:
    try:
        return json.loads(cache_file.read_text()) if cache_file and cache_file.exists() else {}
    except (OSError, ValueError):
        return {}  # an unreadable cache only costs time


def _to_json(outcome: verify.CheckResult) -> dict:
    data = asdict(outcome)
    ce = data["counterexample"]
    if ce is not None:
        for field in ("expected", "got"):
            ce[field] = None if ce[field] is None else np.asarray(ce[field], dtype=float).tolist()
        ce["inputs"] = {k: np.asarray(v, dtype=float).tolist() for k, v in ce["inputs"].items()}
        ce["differing"] = [list(q) for q in ce["differing"]]
    return data


def _from_json(data: dict) -> verify.CheckResult:
    ce = data.pop("counterexample")
    if ce is not None:
        ce = verify.Counterexample(
            method=ce["method"], inputs={k: np.asarray(v) for k, v in ce["inputs"].items()},
            expected=None if ce["expected"] is None else np.asarray(ce["expected"]),
            got=None if ce["got"] is None else np.asarray(ce["got"]),
            differing=[tuple(q) for q in ce["differing"]], detail=ce["detail"])
    return verify.CheckResult(**data, counterexample=ce)


def report(verification: Verification, commit: str) -> dict:
    passed, total = verification.summary
    return {"commit": commit,
            "built_at": datetime.datetime.now(datetime.timezone.utc).isoformat(timespec="seconds"),
            "passed": passed, "total": total, "checks": verification.rows()}
