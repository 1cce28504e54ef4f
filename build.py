#!/usr/bin/env python3
"""Build the Homework 4 handout and its machine-verified solution key.

    python build.py            load solutions -> verify -> render -> typeset -> output/
    python build.py verify     the checks only, as a table (exit 1 on any failure)
    python build.py watch      rebuild whenever a template or a solution changes

Outputs: output/hw4.pdf (handout), output/hw4-solutions.pdf (key) and
output/verify-report.json.  Intermediate files go to build/.
"""
from __future__ import annotations

import argparse
import subprocess
import sys
import time
from dataclasses import dataclass
from pathlib import Path

ROOT = Path(__file__).resolve().parent


@dataclass(frozen=True)
class Paths:
    templates: Path = ROOT / "templates"
    build: Path = ROOT / "build"
    output: Path = ROOT / "output"

    @property
    def tex(self) -> Path:
        return self.build / "tex"

    @property
    def latex(self) -> Path:
        return self.build / "latex"

    @property
    def cache(self) -> Path:
        return self.build / "verify-cache.json"


def build(paths: Paths = Paths()) -> list[Path]:
    """The pipeline: load solutions -> verify -> render -> typeset -> publish.

    The checks run on worker processes; meanwhile this process renders what needs no
    verdict.  Nothing is typeset before every check has passed.
    """
    from pipeline import checks, load, publish, typeset

    publish.clear(paths.output)
    typeset.require_latex()
    solutions = load.load_solutions()
    with checks.start(solutions, paths.cache) as pending:
        from pipeline import render  # jinja2 and PyLaTeX load while the workers check
        renderer = render.Renderer(solutions, paths.templates, paths.tex)
        renderer.render(render.NEEDS_NO_VERDICT, examples_context(solutions))
        verification = pending.result()  # a failed check stops the build here
    commit = git_commit()
    renderer.render(render.NEEDS_VERDICT, verdict_context(verification, commit))
    result = typeset.typeset(renderer.finish().documents, paths.latex, source_date_epoch())
    for warning in result.warnings:
        print(f"warning: {warning}", file=sys.stderr)
    return publish.publish(paths.output, result.pdfs, checks.report(verification, commit))


def examples_context(solutions) -> dict:
    """What the questions' templates show besides steps: the worked examples' numbers."""
    return {"t1": solutions.examples.t1_example(), "t2": solutions.examples.t2_example()}


def verdict_context(verification, commit: str) -> dict:
    """What the key's footer and the grader's notes show: the outcome of the checks."""
    passed, total = verification.summary
    return {"commit": commit, "checks_passed": passed, "checks_total": total, "wrong_answers": verification.wrong}


def render_context(solutions, verification, commit: str) -> dict:
    return {**examples_context(solutions), **verdict_context(verification, commit)}


def git_commit() -> str:
    """The short commit of the sources, marked when the work tree has uncommitted changes."""
    def git(*args):
        return subprocess.run(["git", *args], cwd=ROOT, capture_output=True, text=True)
    head = git("rev-parse", "--short=10", "HEAD")
    if head.returncode != 0:
        return "no commit"
    dirty = git("status", "--porcelain", "--untracked-files=no", "--", "templates", "solutions", "verify",
                "pipeline", "build.py").stdout.strip()
    return head.stdout.strip() + (" with uncommitted changes" if dirty else "")


def source_date_epoch() -> int:
    """The commit's time, so that two builds of one commit give byte-identical PDFs."""
    out = subprocess.run(["git", "log", "-1", "--format=%ct"], cwd=ROOT, capture_output=True, text=True)
    return int(out.stdout.strip()) if out.returncode == 0 and out.stdout.strip() else 0


def verify_only() -> int:
    from verify.__main__ import main as verify_main
    return verify_main([])


def watch(paths: Paths, interval: float = 1.0) -> None:
    """Rebuild when a file under templates/, solutions/, verify/ or pipeline/ changes (Ctrl-C stops)."""
    watched = [paths.templates, ROOT / "solutions", ROOT / "verify", ROOT / "pipeline"]

    def stamp():
        # sources only: the build itself rewrites __pycache__
        return {p: p.stat().st_mtime for d in watched for p in d.rglob("*") if p.suffix in (".py", ".j2")}

    seen = None
    while True:
        now = stamp()
        if now != seen:
            seen = now
            # a fresh interpreter, so that edited solutions are imported anew
            code = subprocess.run([sys.executable, str(Path(__file__).resolve())]).returncode
            print("watch: built" if code == 0 else "watch: build failed", "- waiting for changes", flush=True)
        time.sleep(interval)


def main(argv=None) -> int:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("command", nargs="?", default="all", choices=["all", "verify", "watch"])
    args = parser.parse_args(argv)
    if args.command == "verify":
        return verify_only()
    if args.command == "watch":
        try:
            watch(Paths())
        except KeyboardInterrupt:
            return 0
    from pipeline.errors import BuildError
    started = time.perf_counter()
    try:
        placed = build()
    except BuildError as exc:
        print(f"error: {exc}", file=sys.stderr)
        return 1
    except KeyboardInterrupt:
        print("error: interrupted; output/ holds no PDF of this build", file=sys.stderr)
        return 130
    for path in placed:
        print(f"wrote {path.relative_to(ROOT)}")
    print(f"built in {time.perf_counter() - started:.1f} s")
    return 0


if __name__ == "__main__":
    sys.exit(main())
