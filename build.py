#!/usr/bin/env python3
"""Build Homework 4: the handout, the solutions and the grading key, every formula checked first.

    python build.py            load -> check -> render -> typeset -> publish into output/
    python build.py verify     every check, as a table (exit 5 on a failure)
    python build.py watch      rebuild whenever a template or a solution changes

Outputs: output/hw4.pdf, output/hw4-solutions.pdf, output/hw4-grading.pdf,
output/hw4-starter.py and output/verify-report.json.  Intermediate files go to build/.
HOMEWORK=<package> (make HOMEWORK=<package>) builds another homework of this folder: its
package <package>/ with its unit templates in <package>/templates/ (the documents' frame
is shared from templates/), into output/<package>/ and build/<package>/.

Exit codes: 0 built; 1 other build error; 3 a missing tool; 4 the homework
package; 5 a failed check; 6 a template; 7 unchecked or missing mathematics;
8 LaTeX; 130 interrupted (Ctrl-C); 143 terminated (SIGTERM), 129 (SIGHUP).
"""
from __future__ import annotations

import os
import signal
import sys
from pathlib import Path

from pipeline.errors import Terminated  # a few lines, no dependencies: imported here, not in the handler
from verify.stops import raise_soon  # the same light module

ROOT = Path(__file__).resolve().parent
DEFAULT_HOMEWORK = "solutions"


_STOPPED: list[int] = []   # every signal that asked this build to stop


def _stop(signum, frame):
    """Ctrl-C, SIGTERM or SIGHUP: remembered, then raised.

    The exception can be lost: Python swallows one raised inside a weakref callback or a
    __del__ (an import lock's, say), and C code can turn it into a SystemError.  So the
    build looks at _STOPPED before and after it publishes, and reads any failure that
    follows a stop as that stop.
    """
    _STOPPED.append(signum)
    raise KeyboardInterrupt if signum == signal.SIGINT else Terminated(signum)


def _stopped() -> KeyboardInterrupt:
    """The stop to report: the first signal that asked for it."""
    return KeyboardInterrupt() if _STOPPED[0] == signal.SIGINT else Terminated(_STOPPED[0])


def _quiet_unraisable(unraisable) -> None:
    """A stop swallowed where Python cannot raise it (an import lock's weakref callback) is in _STOPPED already:
    no traceback for it, and it is raised again a moment later, so that the build ends now rather than when it
    would have published."""
    if not isinstance(unraisable.exc_value, KeyboardInterrupt):
        sys.__unraisablehook__(unraisable)
    elif _STOPPED:
        raise_soon(_raise_stopped)


def _raise_stopped(signum, frame):
    raise _stopped()


def _stop_on_signals() -> None:
    """SIGINT, SIGTERM and SIGHUP end the build alike: cleanup runs, LaTeX is stopped.

    And if make (our parent) is killed, the kernel sends us SIGTERM, so an orphaned
    build never goes on to publish.
    """
    for sig in (signal.SIGINT, signal.SIGTERM, signal.SIGHUP):
        signal.signal(sig, _stop)
    sys.unraisablehook = _quiet_unraisable
    try:
        import ctypes
        libc = ctypes.CDLL(None, use_errno=True)
        libc.prctl(1, signal.SIGTERM)   # PR_SET_PDEATHSIG
    except (OSError, AttributeError):
        pass                            # not Linux: a killed make may leave this build running


if __name__ == "__main__":
    # First of all, before the slow imports: a build that has started leaves no earlier output
    # behind, however early it is stopped.  make starts this with SIGINT, SIGTERM and SIGHUP held
    # (scripts/hold-signals: one that lands while the interpreter starts ends it with a traceback);
    # they go through once main() runs under _main_with_signals, a held one then.
    _stop_on_signals()
    if sys.argv[1:] in ([], ["all"]):
        import contextlib

        from pipeline import publish
        from verify import identity as _identity
        _early = os.environ.get("HOMEWORK") or DEFAULT_HOMEWORK
        with contextlib.suppress(ImportError, _identity.IdentityError):   # the build reports it, in one line
            publish.clear(ROOT / "output" if _early == DEFAULT_HOMEWORK else ROOT / "output" / _early,
                          _identity.of(_early))

import argparse  # noqa: E402 - after the handlers above, on purpose
import subprocess  # noqa: E402
import time  # noqa: E402
from dataclasses import dataclass  # noqa: E402


@dataclass(frozen=True)
class Paths:
    """Where a build reads and writes.  `package` is the homework (solutions/, or another with
    `Paths.of`); `templates` holds its units' templates, and `shared`, when not None, the
    documents' frame (base.tex.j2 ...) that several homeworks share."""
    templates: Path = ROOT / "templates"
    build: Path = ROOT / "build"
    output: Path = ROOT / "output"
    package: str = DEFAULT_HOMEWORK
    shared: Path | None = None
    variant: str = ""          # a variant's name (verify.variants), "" for the homework itself

    def of_variant(self, name: str, folder: Path | None = None) -> Paths:
        """Where one variant is built: build/variants/NAME/ (or `folder`), its outputs in its out/ until
        `build.py variants` publishes them."""
        from dataclasses import replace
        folder = folder or self.build / "variants" / name
        return replace(self, build=folder, output=folder / "out", variant=name)

    @classmethod
    def of(cls, package: str) -> Paths:
        """The paths of a homework of this folder: Homework 4 (solutions/) in templates/, build/ and
        output/; another package keeps its templates in <package>/templates/ and builds into
        build/<package>/ and output/<package>/."""
        if package == DEFAULT_HOMEWORK:
            return cls()
        return cls(templates=ROOT / package / "templates", build=ROOT / "build" / package,
                   output=ROOT / "output" / package, package=package, shared=ROOT / "templates")

    @property
    def template_dirs(self) -> tuple[Path, ...]:
        return (self.templates,) if self.shared is None else (self.templates, self.shared)

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
    """The pipeline: load -> check -> render -> typeset -> publish.

    The checks run in this process, in the gaps left while the documents
    are rendered and typeset; nothing reaches output/ before every check
    has passed.
    """
    from pipeline import provenance, publish, templating, typeset  # light: no homework yet
    from pipeline.errors import SolutionError
    from verify import identity

    sources_read_from = time.time()   # before any template or solution is read
    try:
        named = identity.of(paths.package)
    except (ImportError, identity.IdentityError) as exc:
        raise SolutionError(f"{paths.package}/__init__.py: cannot import the homework package: {exc}"
                            if isinstance(exc, ImportError) else str(exc)) from None
    publish.clear(paths.output, named)
    typeset.require_latex()
    epoch = provenance.source_date_epoch(ROOT)
    # LaTeX precompiles the preamble the documents share on the other core while this process
    # imports and loads the homework (which uses one core)
    with typeset.precompile(templating.render_preamble(paths.template_dirs, paths.tex), paths.latex, epoch) as preamble:
        from pipeline import checks, load, render
        homework = load.load(paths.package, paths.variant) if paths.variant else load.load(paths.package)
        origin = {"commit": provenance.commit(ROOT), "checks": checks.count(homework)}
        # LaTeX keeps every core busy, so the checks run in this process, in the gaps (more workers
        # would only compete with LaTeX); `make verify`, with no LaTeX, checks on every core
        with checks.start(homework, paths.cache, workers=1) as running:
            renderer = render.Renderer(homework, paths.template_dirs, paths.tex)
            renderer.units()
            documents = renderer.documents(origin)
            # the handout and the solutions need no verdict: they are typeset while the checks run, at
            # a lower priority than the judging of the wrong answers that the grading key waits for
            needless = {name: path for name, path in documents.items() if not render.needs_notes(homework, name)}
            with typeset.start(needless, paths.latex, epoch, niceness=5, preamble=preamble) as first:
                renderer.grading(running.notes())   # the grading key shows the wrong answers as judged
                renderer.finish()
                rest = {name: path for name, path in documents.items() if name not in needless}
                with typeset.start(rest, paths.latex, epoch, preamble=preamble) as second:
                    verification = running.wait(renderer.locations)   # a failure stops the build, and LaTeX
                    typeset_ = first.wait().merged(second.wait())
    for message in typeset_.notices:
        print(f"warning: {message}", file=sys.stderr)
    for warning in typeset_.warnings:
        print(f"warning: {warning}", file=sys.stderr)
    if _STOPPED:
        raise _stopped()
    from pipeline import starter
    placed = publish.publish(paths.output, typeset_.pdfs, checks.report(verification, origin),
                             as_of=sources_read_from, texts={named.starter_file: starter.starter(homework)})
    if _STOPPED:   # while publishing, and swallowed
        publish.clear(paths.output, named)
        raise _stopped()
    return placed


def build_variants(paths: Paths, roster: Path, jobs: int | None = None) -> list[Path]:
    """A variant per student of the roster: every check of every distinct variant, each variant built in
    parallel once its own have passed, then the students' handouts stamped (pipeline/variants.py)."""
    from pipeline import typeset
    from pipeline import variants as per_student
    from verify import identity
    per_student.clear(paths.output)
    named = identity.of(paths.package)
    typeset.require_latex()
    the_plan = per_student.plan(paths.package, roster)
    builds = {v.name: paths.of_variant(v.name) for v in the_plan.distinct}
    # each variant is built as soon as its checks have passed, with them all in its cache
    per_student.check_and_build(paths.package, the_plan.distinct, paths.build / "variants" / "verify-cache.json",
                                {name: b.cache for name, b in builds.items()},
                                {name: per_student.command(Path(__file__).resolve(), name, b.build)
                                 for name, b in builds.items()},
                                jobs or os.cpu_count() or 1, env={**os.environ, "HOMEWORK": paths.package})
    if _STOPPED:
        raise _stopped()
    return per_student.publish(paths.output, named, the_plan, {name: b.output for name, b in builds.items()})


def verify_only(paths: Paths = Paths()) -> int:
    """Every check of the homework, as a table; exit 5 when one fails."""
    from pipeline import checks, load
    from pipeline.errors import CheckFailed
    homework = load.load(paths.package)
    try:
        verification = checks.run(homework, paths.cache)
    except CheckFailed as failure:
        print(f"error: {failure}", file=sys.stderr)
        return CheckFailed.exit_code
    print(checks.table(verification))
    return 0


def watch(paths: Paths, interval: float = 1.0) -> None:
    """Rebuild when a file under templates/, solutions/, verify/ or pipeline/ changes (Ctrl-C stops)."""
    watched = [*paths.template_dirs, ROOT / paths.package, ROOT / "verify", ROOT / "pipeline"]

    def stamp():
        # sources only: the build itself rewrites __pycache__
        return {p: p.stat().st_mtime for d in watched for p in d.rglob("*") if p.suffix in (".py", ".j2")}

    seen = None
    while True:
        now = stamp()
        if now != seen:
            seen = now
            # a fresh interpreter, so that edited solutions are imported anew, started as make starts
            # it: with its signals held until it can handle them (a Ctrl-C reaches it too)
            code = subprocess.run([str(ROOT / "scripts" / "hold-signals"), sys.executable,
                                   str(Path(__file__).resolve())]).returncode
            print("watch: built" if code == 0 else "watch: build failed", "- waiting for changes", flush=True)
        time.sleep(interval)


def main(argv=None) -> int:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("command", nargs="?", default="all", choices=["all", "verify", "watch", "variant", "variants"])
    parser.add_argument("name", nargs="?", default="", help="for `variant`: the variant's name")
    parser.add_argument("--roster", type=Path, help="for `variants`: the roster CSV (Gradescope's export)")
    parser.add_argument("--jobs", type=int, default=None, help="for `variants`: variants built at once")
    parser.add_argument("--into", type=Path, default=None, help="for `variant`: its build folder")
    args = parser.parse_args(argv)
    if args.command == "variants" and args.roster is None:
        parser.error("variants needs --roster FILE (make variants ROSTER=FILE)")
    if args.command == "variant" and not args.name:
        parser.error("variant needs the variant's name")
    paths = Paths.of(os.environ.get("HOMEWORK") or DEFAULT_HOMEWORK)
    _stop_on_signals()
    if args.command == "watch":
        try:
            watch(paths)
        except KeyboardInterrupt:
            return 0
    from pipeline.errors import BuildError
    started = time.perf_counter()
    try:
        if args.command == "verify":
            return verify_only(paths)
        if args.command == "variants":
            placed = build_variants(paths, args.roster, args.jobs)
        else:
            placed = build(paths.of_variant(args.name, args.into) if args.command == "variant" else paths)
    except KeyboardInterrupt as exc:   # Ctrl-C, or Terminated
        return _report_stop(exc)
    except Exception as exc:
        if _STOPPED:                   # a stop that surfaced as a failure of whatever it interrupted
            return _report_stop(_stopped())
        if not isinstance(exc, BuildError):
            raise
        print(f"error: {exc}", file=sys.stderr)
        return exc.exit_code
    for path in placed:
        print(f"wrote {path.relative_to(ROOT) if path.is_relative_to(ROOT) else path}")
    print(f"built in {time.perf_counter() - started:.1f} s")
    return 0


def _main_with_signals() -> int:
    """main(), with the signals that make held let through; one that lands outside main's own
    handling (while it starts, say) ends the build the same way, in one line."""
    try:
        signal.pthread_sigmask(signal.SIG_UNBLOCK, {signal.SIGINT, signal.SIGTERM, signal.SIGHUP})
        return main()
    except KeyboardInterrupt as stopped:   # Ctrl-C, or Terminated from _stop
        return _report_stop(stopped)


def _report_stop(stopped: KeyboardInterrupt) -> int:
    code = getattr(stopped, "exit_code", 130)
    print(f"error: {'interrupted' if code == 130 else 'terminated'}; output/ holds no PDF of this build",
          file=sys.stderr)
    return code


if __name__ == "__main__":
    sys.exit(_main_with_signals())
