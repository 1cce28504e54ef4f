"""Per-student variants (`make variants ROSTER=roster.csv`, `python build.py variants --roster FILE`).

1. plan: each student of the roster gets a variant (verify.variants.assign: the course's seed and the
   email); the distinct variants among them are built, nothing else.
2. check: every check of every distinct variant, in this process, one variant after the other, with
   one cache: a check that two variants share (the same step of the same operation) runs once.
   A failure stops everything, naming the variant, the question, the step and the counterexample;
   nothing has been written to output/.
3. typeset: as soon as a variant's checks have passed, it is built by `build.py variant NAME` in a
   process of its own, `jobs` at a time (as make -j would), into build/variants/NAME/, with the
   shared cache: its checks are all there, so it only typesets.
4. publish: output/variants/NAME/ (the variant's handout, solutions, grading key, starter file and
   report; each PDF stamped with the variant's name), output/variants/students/SID.pdf (the variant's
   handout stamped with the student's name, SID and email: verify's stamp, not a new typesetting),
   and output/variants.csv (student -> variant), moved into place only when all of it is ready.
   The outputs of an earlier run are removed first: a failed run leaves none of them.
"""
from __future__ import annotations

import csv
import io
import json
import os
import shutil
import subprocess
import sys
import tempfile
import time
from collections.abc import Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from verify import roster as rosters
from verify import variants
from verify.identity import HomeworkIdentity

from . import checks, load
from .errors import BuildError, CheckFailed, SolutionError
from .stamp import stamp

FOLDER, TABLE, STUDENTS = "variants", "variants.csv", "students"


class RosterInvalid(BuildError):
    """The roster cannot be read: the message names its file and line."""

    exit_code = 9


@dataclass(frozen=True)
class Plan:
    students: list[rosters.Student]
    assigned: dict[str, variants.Variant]        # student's key (email) -> variant
    distinct: list[variants.Variant]             # in the term's order, the base's first


def plan(package: str, roster_file: Path) -> Plan:
    try:
        students = rosters.read(roster_file)
    except rosters.RosterError as exc:
        raise RosterInvalid(str(exc)) from None
    try:
        every = variants.variants(package)
    except variants.VariantError as exc:
        raise SolutionError(str(exc)) from None
    assigned = {s.key: variants.assign(s.email, package, every) for s in students}
    used = {v.name for v in assigned.values()}
    return Plan(students, assigned, [v for v in every if v.name in used])


def clear(output: Path) -> None:
    """The outputs of an earlier run, and any half-written one: gone before this run starts."""
    for folder in (output / FOLDER, output / f".{FOLDER}.partial"):
        shutil.rmtree(folder, ignore_errors=True)
    for name in (TABLE, f".{TABLE}.partial"):
        (output / name).unlink(missing_ok=True)


def check_all(package: str, distinct: Sequence[variants.Variant], cache_file: Path,
              workers: int = 1) -> dict[str, int]:
    """Every check of every variant, with one cache shared between them; the number of checks of each.

    In this process (workers=1): what a variant adds to the checks of the ones before it is a few
    steps, fewer than a pool of workers is worth, and a pool forked anew for each variant can inherit
    a lock that the previous pool's threads held."""
    cache_file.parent.mkdir(parents=True, exist_ok=True)
    merged = _read_json(cache_file)
    return {variant.name: _check_one(package, variant, cache_file, merged, workers) for variant in distinct}


def _check_one(package: str, variant: variants.Variant, cache_file: Path, merged: dict, workers: int = 1) -> int:
    """Every check of one variant, from and into the cache shared by all (`merged`, written to
    `cache_file`); the number of its checks."""
    homework = load.load(package, variant.name)
    cache_file.write_text(json.dumps(merged, sort_keys=True))
    try:
        checks.run(homework, cache_file, workers)
    except CheckFailed as failure:
        raise CheckFailed(f"variant {variant.name}: {failure}") from None
    merged.update(_read_json(cache_file))     # a run writes only its own verdicts
    cache_file.write_text(json.dumps(merged, sort_keys=True))
    return checks.count(homework)


def _read_json(path: Path) -> dict:
    try:
        return json.loads(path.read_text()) if path.exists() else {}
    except (OSError, ValueError):
        return {}


class Builds:
    """Variants' builds as child processes, `jobs` at a time; `poll()` raises the first failure with the
    variant's name and the build's own exit code.  Their stderr goes to a file (a pipe could fill up)."""

    def __init__(self, jobs: int, env: dict[str, str] | None = None, quiet: bool = False):
        self.jobs, self.env, self.quiet = jobs, env, quiet
        self.todo: list[tuple[str, list[str]]] = []
        self.running: dict[str, tuple[subprocess.Popen, Any]] = {}

    def add(self, name: str, argv: list[str]) -> None:
        self.todo.append((name, argv))
        self.poll()

    def poll(self) -> None:
        for name, (process, errors) in list(self.running.items()):
            if process.poll() is None:
                continue
            del self.running[name]
            errors.seek(0)
            stderr = errors.read()
            errors.close()
            if process.returncode != 0:
                raise _failed(name, process.returncode, stderr)
            if not self.quiet:
                print(f"built variant {name}", flush=True)
        while self.todo and len(self.running) < self.jobs:
            name, argv = self.todo.pop(0)
            errors = tempfile.TemporaryFile("w+")   # noqa: SIM115 - closed when its build ends (poll, stop)
            self.running[name] = (subprocess.Popen(argv, stdout=subprocess.DEVNULL, stderr=errors, text=True,
                                                   env=self.env), errors)

    def wait(self) -> None:
        while self.todo or self.running:
            self.poll()
            time.sleep(0.05)

    def stop(self) -> None:
        """A failure, Ctrl-C: no build goes on behind our back."""
        for process, _ in self.running.values():
            process.terminate()
        for process, errors in self.running.values():
            process.wait()
            errors.close()
        self.running.clear()


def typeset_all(commands: dict[str, list[str]], jobs: int, env: dict[str, str] | None = None,
                quiet: bool = False) -> None:
    """Run each variant's build, `jobs` at a time (see Builds)."""
    builds = Builds(jobs, env, quiet)
    try:
        for name, argv in commands.items():
            builds.add(name, argv)
        builds.wait()
    finally:
        builds.stop()


def check_and_build(package: str, distinct: Sequence[variants.Variant], cache_file: Path,
                    caches: dict[str, Path], commands: dict[str, list[str]], jobs: int,
                    env: dict[str, str] | None = None, quiet: bool = False) -> None:
    """check_all, with each variant's build started as soon as its checks have passed (its cache copied to
    `caches[name]` first): the builds use the cores the checks, in this process, leave.  Nothing is
    published here; a failed check stops every build."""
    builds = Builds(jobs, env, quiet)
    try:
        cache_file.parent.mkdir(parents=True, exist_ok=True)
        merged = _read_json(cache_file)
        for variant in distinct:
            _check_one(package, variant, cache_file, merged)
            builds.poll()
            caches[variant.name].parent.mkdir(parents=True, exist_ok=True)
            shutil.copyfile(cache_file, caches[variant.name])
            builds.add(variant.name, commands[variant.name])
        builds.wait()
    finally:
        builds.stop()


def _failed(name: str, code: int, stderr: str) -> BuildError:
    lines = [line for line in stderr.splitlines() if line.strip()]
    first = next((q for q, line in enumerate(lines) if line.startswith("error: ")), None)
    detail = ("\n".join(lines[first:]).removeprefix("error: ") if first is not None
              else (lines[-1] if lines else f"its build ended with exit code {code}"))
    error = BuildError(f"variant {name}: {detail}")
    error.exit_code = code if code > 0 else 1
    return error


def publish(output: Path, identity: HomeworkIdentity, the_plan: Plan, built: dict[str, Path]) -> list[Path]:
    """output/variants/ and output/variants.csv from the variants' builds (`built`: name -> its output)."""
    staging = output / f".{FOLDER}.partial"
    shutil.rmtree(staging, ignore_errors=True)
    try:
        for variant in the_plan.distinct:
            folder = staging / variant.name
            folder.mkdir(parents=True)
            for path in sorted(built[variant.name].iterdir()):
                if path.name.startswith("."):
                    continue
                if path.suffix == ".pdf":
                    stamp(path, folder / path.name, f"{identity.title}, variant {variant.name}")
                else:
                    shutil.copyfile(path, folder / path.name)
        handouts = staging / STUDENTS
        handouts.mkdir(parents=True)
        rows: list[list[str]] = []
        names: set[str] = set()
        for student in the_plan.students:
            variant = the_plan.assigned[student.key]
            name = _unique(f"{student.file_stem}-{identity.name}.pdf", names)
            stamp(built[variant.name] / f"{identity.name}.pdf", handouts / name,
                  f"{student.name}   SID {student.sid or '-'}   {student.email}   variant {variant.name}")
            rows.append([student.first, student.last, student.sid, student.email, variant.name,
                         f"{FOLDER}/{STUDENTS}/{name}"])
        table = io.StringIO()
        writer = csv.writer(table, lineterminator="\n")
        writer.writerow(["First Name", "Last Name", "SID", "Email", "Variant", "Handout"])
        writer.writerows(rows)
        partial = output / f".{TABLE}.partial"
        partial.write_text(table.getvalue(), encoding="utf-8")
        os.replace(staging, output / FOLDER)
        os.replace(partial, output / TABLE)
    except BaseException:
        clear(output)
        raise
    return [output / FOLDER, output / TABLE]


def _unique(name: str, taken: set[str]) -> str:
    stem, suffix, n = name[:-4], ".pdf", 2
    while name in taken:
        name, n = f"{stem}-{n}{suffix}", n + 1
    taken.add(name)
    return name


def command(build_script: Path, name: str, folder: Path) -> list[str]:
    """The build of one variant into `folder`, started as make starts a build (signals held until it
    handles them)."""
    holder = build_script.parent / "scripts" / "hold-signals"
    return [str(holder), sys.executable, str(build_script), "variant", name, "--into", str(folder.resolve())]
