"""make bench, per-student variants: a class of 200 over at most 16 distinct variants, against the cold build
of those distinct variants alone, and the cost of a student's stamp.  One run of each (the build of a
dozen variants takes minutes): read the ratios as indications on a shared machine.

    the whole `build.py variants --roster` (checks, parallel builds, 200 stamps, cold cache)
        / the distinct variants built alone, cold, as many at once            <= 1.2x
    stamping a student's handout                                              <= 50 ms
"""
from __future__ import annotations

import os
import shutil
import statistics
import subprocess
import sys
import time
from collections.abc import Callable
from pathlib import Path

STUDENTS = 200


def roster(path: Path, count: int = STUDENTS, among: int = 16) -> Path:
    """A class whose students' variants are among the term's first `among` (at most 16 distinct)."""
    from verify import variants
    allowed = {v.name for v in variants.variants("solutions")[:among]}
    numbers = (q for q in range(100 * count) if variants.assign(f"student{q}@example.edu", "solutions").name in allowed)
    lines = ["First Name,Last Name,SID,Email,Role,Sections"]
    lines += [f"First{q},Last{q},N{10000 + q},student{q}@example.edu,Student," for q, _ in zip(numbers, range(count))]
    path.write_text("\n".join(lines) + "\n")
    return path


def measure(project: Path, tmp: Path, report: Callable[..., None]) -> None:
    sys.path.insert(0, str(project))
    from pipeline import variants as per_student
    from pipeline.stamp import stamp
    env = dict(os.environ, PYTHONPATH=str(project))
    class_roster = roster(tmp / "roster.csv")
    plan = per_student.plan("solutions", class_roster)
    jobs = os.cpu_count() or 1
    if len(plan.distinct) > 16:
        report("variants: more than 16 distinct variants in the class", str(len(plan.distinct)), "(bench skipped)")
        return

    def cold_alone() -> float:
        """Each distinct variant's ordinary build (its checks with no cache), `jobs` at a time."""
        shutil.rmtree(project / "build", ignore_errors=True)
        started = time.perf_counter()
        per_student.typeset_all({v.name: per_student.command(project / "build.py", v.name,
                                                             project / "build" / "alone" / v.name)
                                 for v in plan.distinct}, jobs, env=env, quiet=True)
        return time.perf_counter() - started

    def whole() -> float:
        shutil.rmtree(project / "build", ignore_errors=True)
        started = time.perf_counter()
        subprocess.run([sys.executable, "build.py", "variants", "--roster", str(class_roster)], cwd=project,
                       env=env, check=True, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
        return time.perf_counter() - started

    alone_s = cold_alone()
    whole_s = whole()
    report(f"variants: {STUDENTS} students over {len(plan.distinct)} variants / those variants built alone",
           f"{whole_s / alone_s:.2f}x", "target <= 1.2x")
    report("  seconds: the class / the variants alone", f"{whole_s:.1f} / {alone_s:.1f}")
    handout = project / "output" / "variants" / plan.distinct[0].name / "hw4.pdf"
    times = []
    for q, student in enumerate(plan.students):
        started = time.perf_counter()
        stamp(handout, tmp / f"stamped{q % 2}.pdf", f"{student.name}   SID {student.sid}   {student.email}")
        times.append(time.perf_counter() - started)
    report("variants: stamping a student's handout (median of 200)", f"{statistics.median(times) * 1000:.1f} ms",
           "target <= 50 ms")
