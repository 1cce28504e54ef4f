"""Stage 2: verify every step and result of the key before anything is rendered.

A failure stops the build with the question, the step and the counterexample.
The grader's notes show wrong answers with the counterexample verify finds;
a wrong answer that verify accepts would make its note false, so it stops the
build too.
"""
from __future__ import annotations

import datetime
from dataclasses import dataclass
from pathlib import Path

import verify
from verify.project import run_checks

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
    wrong = [(answer, verify.check(answer.result, answer.function())) for answer in solutions.wrong_answers]
    accepted = [answer for answer, outcome in wrong if outcome.passed]
    if accepted:
        raise CheckFailed("\n".join(
            f"check failed: grader's note '{a.id}' ({a.result}): verify accepts this wrong answer, "
            f"so the note would be false" for a in accepted))
    return Verification(reports, wrong)


def report(verification: Verification, commit: str) -> dict:
    passed, total = verification.summary
    return {"commit": commit,
            "built_at": datetime.datetime.now(datetime.timezone.utc).isoformat(timespec="seconds"),
            "passed": passed, "total": total, "checks": verification.rows()}
