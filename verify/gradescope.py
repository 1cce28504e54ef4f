"""Gradescope's autograder: one submission graded into results.json, in Gradescope's own format.

    python -m verify gradescope --root /autograder        # what autograder/run_autograder runs

Gradescope's layout (https://gradescope-autograders.readthedocs.io/en/latest/specs/): the zip built
by scripts/build-autograder.sh holds setup.sh and run_autograder at its root and is unpacked into
ROOT/source, where setup.sh installs this project into ROOT/venv once, when Gradescope builds the
image.  For each submission Gradescope puts the student's files in ROOT/submission/ and runs
run_autograder, which must write ROOT/results/results.json:

    {"score": 25, "execution_time": 4.2, "output": "...",
     "tests": [{"name": "T1.1 t1.dX: Gradient with respect to X", "score": 5, "max_score": 5,
                "status": "passed", "output": "<verdict, counterexample, what the function printed>"}, ...]}

One test per graded result of the homework (names, points and order from the homework itself),
graded exactly as `python -m verify grade` grades a submission folder: hw4.py is loaded once in a
sandbox, every result checked with the same fresh seed.  A submission without hw4.py (also looked
for one folder down, for students who upload a folder) gets every test 0 with an output saying so.

Scale: Gradescope runs every submission in a container of its own, on as many machines as it
likes, so grading a class scales past one machine there; `python -m verify grade` is the
one-machine way (every core, one sandbox per submission).

On Gradescope the grader runs as root in a container that refuses bubblewrap's namespaces, so the
candidate runs as the unprivileged user that autograder/setup.sh creates, on a runtime with NumPy
and SciPy alone, and the key's files are private to root (see verify.sandbox); the output says so.
"""
from __future__ import annotations

import json
import os
import time
from pathlib import Path
from typing import Any

from . import variants
from .grade import (
    DEFAULT_MEMORY,
    DEFAULT_TIMEOUT,
    Submission,
    _number,
    grade_file,
    quoted,
    result_text,
    result_title,
    variant_lines,
)
from .homework import Homework
from .homework import load as load_homework
from .sandbox import isolation

__all__ = ["find_submission", "results_json", "run", "log", "text_only"]


def find_submission(folder: Path, name: str) -> Path | None:
    """ROOT/submission/<name> (hw4.py here), or the only such file one folder down (an uploaded folder)."""
    direct = folder / name
    if direct.is_file():
        return direct
    if not folder.is_dir():
        return None
    nested = [p for p in folder.glob(f"*/{name}") if p.is_file() and not p.parent.name.startswith(
        ("__MACOSX", "."))]
    return nested[0] if len(nested) == 1 else None


def results_json(homework: Homework, submission: Submission, seconds: float) -> dict[str, Any]:
    """Gradescope's results.json of a graded submission."""
    tests = []
    for graded in submission.results:
        result = homework.result(graded.result)
        tests.append({
            "name": result_title(homework, result),
            "score": graded.points,
            "max_score": graded.max_points,
            "status": "passed" if graded.verdict == "correct" else "failed",
            "tags": [t for t in (graded.convention, graded.common and f"common error: {graded.common}",
                                 graded.review and "for a TA to review") if t],
            "output": result_text(homework, graded, header=False) + f"\n(verdict: {graded.verdict})",
        })
    lines = [f"Score: {_number(submission.points)} / {_number(submission.max_points)}", *variant_lines(homework)]
    if not submission.file:
        lines.append(f"No {homework.submission_file} was found in your submission: upload a file named "
                     f"{homework.submission_file} "
                     "that defines " + ", ".join(homework.result(g.result).function_name
                                                 for g in submission.results) + ".")
    lines.append(f"Every check used the random seed {submission.seed}.")
    lines.append(f"Your code ran in a sandbox: {isolation()}.")
    if submission.load_output:
        lines += [f"What {submission.file} printed when it was loaded:", quoted(submission.load_output)]
    return {
        "score": submission.points,
        "execution_time": round(seconds, 2),
        "output": "\n".join(lines),
        "tests": tests,
    }


def run(root: str | Path, *, homework: Homework | None = None, timeout: float = DEFAULT_TIMEOUT,
        memory: int = DEFAULT_MEMORY, seed: int | None = None, convention: str | None = None) -> dict[str, Any]:
    """Grade ROOT/submission and write ROOT/results/results.json; returns what it wrote.

    OSError if results.json cannot be written.  Nothing the candidate does raises here.
    """
    root = Path(root)
    homework = homework or load_homework()
    homework = student_variant(homework, root / "submission_metadata.json")
    started = time.monotonic()
    file = find_submission(root / "submission", homework.submission_file)
    submission = grade_file(file, homework, timeout=timeout, memory=memory, seed=seed, name="submission",
                            convention=convention)
    if file is not None:
        submission.file = str(file.relative_to(root / "submission"))
    results = results_json(homework, submission, time.monotonic() - started)
    folder = root / "results"
    folder.mkdir(parents=True, exist_ok=True)
    tmp = folder / "results.json.tmp"
    tmp.write_text(json.dumps(text_only(results), indent=2, ensure_ascii=False) + "\n", encoding="utf-8")
    os.replace(tmp, folder / "results.json")  # Gradescope never reads a half-written file
    return results


def student_variant(homework: Homework, metadata: Path) -> Homework:
    """The homework of the submitter's variant (verify.variants), from Gradescope's submission_metadata.json
    (users[].email): of a group, the member's whose email comes first in alphabetical order, whatever order
    Gradescope lists them in (a fresh attacker's group scored 30 or 28 by the order alone); the homework itself when
    this term has no variants, or when the metadata is missing (a run by hand)."""
    if not variants.term(homework.package).vary:
        return homework
    try:
        users = json.loads(metadata.read_text(encoding="utf-8")).get("users") or []
        email = min((str(user["email"]) for user in users), key=str.casefold)
    except (OSError, ValueError, KeyError, IndexError, TypeError, AttributeError):
        return homework
    return variants.load(homework.package, variants.assign(email, homework.package))


def text_only(value: Any) -> Any:
    """Every string as valid UTF-8 text: a lone surrogate (a byte of a candidate's output, or of a file
    name, that is not UTF-8) becomes the text \\udcff, so that results.json is always valid UTF-8 JSON."""
    if isinstance(value, str):
        return value.encode("utf-8", "backslashreplace").decode("utf-8")
    if isinstance(value, dict):
        return {text_only(k): text_only(v) for k, v in value.items()}
    if isinstance(value, (list, tuple)):
        return [text_only(v) for v in value]
    return value


def log(results: dict[str, Any]) -> str:
    """A short account for Gradescope's stdout (shown to instructors only)."""
    lines = [f"{t['name']}: {t['status']}, {_number(t['score'])} / {_number(t['max_score'])}" for t in results["tests"]]
    total = sum(t["max_score"] for t in results["tests"])
    return "\n".join([*lines, f"score {_number(results['score'])} / {_number(total)}; wrote results.json"])
