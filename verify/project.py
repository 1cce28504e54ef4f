"""Running every check of this project: the steps of `solutions` and their results.

Used by `python -m verify` and by the build's verify stage.  Checks run on
every core (they are independent); a cache, when given, skips the checks whose
inputs have not changed since they last passed.
"""
from __future__ import annotations

import hashlib
import inspect
import json
import multiprocessing
import os
from pathlib import Path
from typing import Iterable

import sympy as sp

from .steps import Step, StepReport, check_step

_VERIFY_DIR = Path(__file__).resolve().parent


def source_fingerprint() -> str:
    """Any change to the checking code invalidates every cached verdict."""
    digest = hashlib.sha256()
    for path in sorted(_VERIFY_DIR.glob("*.py")):
        digest.update(path.name.encode() + path.read_bytes())
    return digest.hexdigest()


def step_key(step: Step, fingerprint: str) -> str:
    """The content a step's verdict depends on: its formulas, ranges, problem and claim code
    (the claim's whole module: a claim calls helpers written beside it)."""
    parts = [fingerprint, step.id, step.kind, str(step.result), step.problem.name if step.problem else "",
             repr([sp.srepr(q) for q in step.sides]), repr([tuple(map(sp.srepr, o)) for o in step.over]),
             repr([sp.srepr(q) for q in step.variables]),
             inspect.getsource(inspect.getmodule(step.claim)) if step.claim else ""]
    return hashlib.sha256("\x1f".join(parts).encode()).hexdigest()


def _check_group(step_ids: list[str]) -> list[StepReport]:
    from solutions import STEPS
    return [check_step(STEPS[q]) for q in step_ids]


def _groups(steps: list[Step]) -> list[list[str]]:
    """Steps grouped by problem, largest group first: a worker then builds each exact
    environment once, and the groups keep both cores busy until the end."""
    groups: dict[str, list[str]] = {}
    for s in steps:
        key = s.problem.name if s.problem else ("claims" if s.claim else "identities")
        groups.setdefault(key, []).append(s.id)
    return sorted(groups.values(), key=len, reverse=True)


class Checks:
    """The checks of some steps, running on worker processes (every core) while the caller works.

    Verdicts whose key is in `cache_file` are reused.  `submit` runs another job on the
    same workers; `reports()` waits, writes the cache and returns one report per step,
    in order.  Use it as a context manager so that the workers end with the block.
    """

    def __init__(self, steps: Iterable[Step], cache_file: Path | None = None, workers: int | None = None):
        self.steps = list(steps)
        self.cache_file = cache_file
        cache = read_cache(cache_file)
        fingerprint = source_fingerprint()
        self.keys = {s.id: step_key(s, fingerprint) for s in self.steps}
        self.done = {s.id: StepReport(**cache[self.keys[s.id]]) for s in self.steps if self.keys[s.id] in cache}
        self.groups = _groups([s for s in self.steps if s.id not in self.done])
        workers = workers or os.cpu_count() or 1
        # fork: the workers inherit the imported modules instead of importing sympy again
        self.pool = multiprocessing.get_context("fork").Pool(workers) if workers > 1 and self.groups else None
        self.jobs = [self.pool.apply_async(_check_group, (g,)) for g in self.groups] if self.pool else []

    def submit(self, function, *args):
        """Run function(*args) on the workers; returns a function that waits for its value."""
        if self.pool is None:
            value = function(*args)
            return lambda: value
        return self.pool.apply_async(function, args).get

    def reports(self) -> list[StepReport]:
        if self.pool is not None:
            for job in self.jobs:
                self.done.update((r.id, r) for r in job.get())
        else:
            by_id = {s.id: s for s in self.steps}
            self.done.update((q, check_step(by_id[q])) for group in self.groups for q in group)
        if self.cache_file is not None:
            fresh = {self.keys[r.id]: _cacheable(r) for r in self.done.values() if r.passed}
            self.cache_file.parent.mkdir(parents=True, exist_ok=True)
            self.cache_file.write_text(json.dumps(fresh, indent=0, sort_keys=True))
        return [self.done[s.id] for s in self.steps]

    def __enter__(self):
        return self

    def __exit__(self, *exc):
        if self.pool is not None:
            self.pool.terminate()
            self.pool.join()


def run_checks(steps: Iterable[Step], cache_file: Path | None = None, workers: int | None = None) -> list[StepReport]:
    """Check every step (on all cores), reusing passed verdicts from `cache_file` when their key matches."""
    with Checks(steps, cache_file, workers) as checks:
        return checks.reports()


def read_cache(cache_file: Path | None) -> dict:
    try:
        return json.loads(cache_file.read_text()) if cache_file is not None and cache_file.exists() else {}
    except (OSError, ValueError):
        return {}  # an unreadable cache only costs time


def _cacheable(report: StepReport) -> dict:
    return {"id": report.id, "question": report.question, "kind": report.kind, "passed": report.passed,
            "methods": report.methods, "cases": report.cases, "worst_error": report.worst_error,
            "counterexample": report.counterexample, "seconds": report.seconds, "result": report.result}


def table(reports: list[StepReport]) -> str:
    """A plain-text table of what was checked."""
    rows = [("question", "step", "kind", "status", "cases", "worst error", "methods")]
    for r in reports:
        rows.append((r.question, r.id, r.kind, "ok" if r.passed else "FAILED", str(r.cases),
                     f"{r.worst_error:.1e}", ", ".join(r.methods)))
    widths = [max(len(row[c]) for row in rows) for c in range(len(rows[0]) - 1)]
    lines = ["  ".join(cell.ljust(w) for cell, w in zip(row, widths)) + "  " + row[-1] for row in rows]
    passed = sum(r.passed for r in reports)
    lines.append(f"{passed} of {len(reports)} checks passed")
    return "\n".join(lines)
