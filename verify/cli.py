"""The grader's tool: students' gradient formulas checked in a sandbox, one at a time or by the hundred.

    python -m verify check RESULT FILE.py:FUNC [--convention NAME] [--timeout S] [--memory SIZE] [--seed N]
    python -m verify list
    python -m verify grade DIR --csv FILE [--feedback DIR] [--jobs N] [--convention NAME] [--timeout S]
                           [--memory SIZE] [--seed N]
    python -m verify gradescope --root ROOT [--convention NAME] [--timeout S] [--memory SIZE] [--seed N]

check       one function of one file against one result (e.g. t1.dX): its signature, then the verdict
            (and its counterexample), then what the candidate printed, in a block of its own whose
            every line starts with "  | ".
list        the results of the installed homework: signature, conventions, points.
grade       every submission folder of DIR (each with hw4.py): a long CSV (a row per submission and
            result: verdict, points, convention, common error, what a TA should review), written as each
            submission is done; a wide one next to it (FILE-wide.csv: a row per student, a column per
            result, the total, the gradebook columns); a feedback file per submission; a summary.
gradescope  the autograder of Gradescope: ROOT/submission/hw4.py graded into ROOT/results/results.json
            (see verify.gradescope).

Students' files are only ever run in a `verify.sandbox.Sandbox` (bubblewrap: see there), with a time
limit (--timeout, seconds, default 30: for loading the file, then for each result's check) and a
memory limit (--memory, e.g. 512M or 2G, default 2G).  Every convention the key accepts is
accepted (each result judged in the one that earns it the most points, the key's rule for mixing
conventions; --convention forces one).  Whatever the candidate does there, it can only make its
answer wrong, fail or time out; it cannot change what this process prints or returns.
`--seed` repeats the random case of an earlier run (each run draws a fresh seed otherwise).

Exit codes:
    0    check: the candidate is correct; grade, gradescope: grading ran (whatever the verdicts); list, help
    1    check: the candidate is wrong (a counterexample, or it raised, or it returned no numeric array)
    2    usage or load error: bad options, unknown result or convention, missing file, not a .py
         file, syntax error, import error, exception at import, no such function, not callable,
         wrong number of arguments (checked before any case runs)
    3    check: not judged: the time limit, the memory limit, the candidate's process crashed, its channel out
         of step, or an answer in float16 (too coarse to tell a right formula from a wrong one)
    4    an internal error of the grader (a bug to report, never the student's fault)
    130  interrupted (Ctrl-C); the candidate's process is killed
    143  terminated (SIGTERM or SIGHUP); the candidate's process is killed
Every error is one line on stderr, starting with "error:".  No arguments prints this help (exit 2);
the key's own checks, which `python -m verify` used to run, are `make verify`.

Run it from any folder but a student's: `python -m` puts the current folder first on the import
path, so a numpy.py lying there would be imported by the grader itself (`python -P -m verify`, on
Python 3.11 and later, avoids that).
"""
from __future__ import annotations

import argparse
import math
import os
import re
import secrets
import signal
import sys
import threading
import traceback
from collections.abc import Sequence
from pathlib import Path
from typing import NoReturn

OK, WRONG, USAGE, LIMIT, INTERNAL, INTERRUPTED, TERMINATED = 0, 1, 2, 3, 4, 130, 143


from .stops import Terminated, raise_soon  # noqa: E402  (one for the grader and the build)

_STOPPED: list[int] = []   # every signal that asked this run to stop


def _stop(signum, frame) -> None:
    """Ctrl-C, SIGTERM or SIGHUP: remembered, then raised (only the first: cleanup runs unhurried).

    The exception can be turned into another one on its way (numpy's import makes a KeyboardInterrupt
    an ImportError): whatever ends the run after a stop is reported as that stop.  It can also be lost
    (Python swallows what a __del__ or a weakref callback raises): `_stop_lost` raises it again.
    """
    _STOPPED.append(signum)
    if len(_STOPPED) == 1:
        _raise_stop(signum, frame)


def _raise_stop(signum, frame) -> NoReturn:
    raise KeyboardInterrupt if _STOPPED[0] == signal.SIGINT else Terminated


def _stop_lost(unraisable) -> None:
    """A stop raised where Python ignores exceptions would leave the run going (a grader waiting on a candidate for
    its whole --timeout): it is raised again a moment later (and again if that too is swallowed), and no
    traceback is printed for it.  Anything else goes to Python's own hook."""
    if not (isinstance(unraisable.exc_value, KeyboardInterrupt) and _STOPPED):
        sys.__unraisablehook__(unraisable)
        return
    raise_soon(_raise_stop)


def _stopped() -> int:
    """Say which stop ended the run, in one line; return its exit code."""
    interrupted = _STOPPED[0] == signal.SIGINT
    print("error: interrupted" if interrupted else "error: terminated", file=sys.stderr)
    return INTERRUPTED if interrupted else TERMINATED

_SIZE = re.compile(r"\s*(\d+(?:\.\d*)?|\.\d+)\s*([kmgt]?)(?:i?b)?\s*", re.IGNORECASE)
_UNITS = {"": 1, "k": 1 << 10, "m": 1 << 20, "g": 1 << 30, "t": 1 << 40}


class Failure(Exception):
    """A one-line error for the grader, and the exit code it means."""

    def __init__(self, message: str, code: int = USAGE):
        super().__init__(message)
        self.code = code


# ---- option values ---------------------------------------------------------------------------------------
def memory_size(text: str) -> int:
    """Bytes from '2G', '512M', '1.5GiB', '100k' or '1048576' (units are powers of 1024)."""
    match = _SIZE.fullmatch(text)
    if match is None:
        raise argparse.ArgumentTypeError(f"invalid size {text!r} (e.g. 2G, 512M or a number of bytes)")
    value = int(float(match[1]) * _UNITS[match[2].lower()])
    if value <= 0:
        raise argparse.ArgumentTypeError(f"the memory limit must be positive, not {text!r}")
    return value


def seconds(text: str) -> float:
    try:
        value = float(text)
    except ValueError:
        raise argparse.ArgumentTypeError(f"invalid number of seconds {text!r}") from None
    if not (value > 0 and math.isfinite(value)):
        raise argparse.ArgumentTypeError(f"the time limit must be a positive number of seconds, not {text!r}")
    return value


def seed_value(text: str) -> int:
    try:
        value = int(text, 0)
    except ValueError:
        raise argparse.ArgumentTypeError(f"invalid seed {text!r} (a whole number)") from None
    from .engine import SEEDS
    if not 0 <= value < SEEDS:
        raise argparse.ArgumentTypeError(f"the seed must be between 0 and {SEEDS - 1}, not {text!r}")
    return value


def jobs_value(text: str) -> int:
    try:
        value = int(text)
    except ValueError:
        raise argparse.ArgumentTypeError(f"invalid number of jobs {text!r}") from None
    if value < 1:
        raise argparse.ArgumentTypeError(f"--jobs must be at least 1, not {text!r}")
    return value


# ---- the parser ------------------------------------------------------------------------------------------
class _Parser(argparse.ArgumentParser):
    """argparse, but a usage error is the one line 'error: ...' (exit 2), like every other error."""

    def error(self, message: str) -> NoReturn:
        self.exit(USAGE, f"error: {message} (see {self.prog} --help)\n")


def parser() -> argparse.ArgumentParser:
    """The argument parser of `python -m verify`."""
    from .grade import DEFAULT_MEMORY, DEFAULT_TIMEOUT

    docstring = __doc__ or ""
    epilog = docstring[docstring.index("Exit codes:"):]
    top = _Parser(prog="python -m verify", description="Check students' gradient formulas, in a sandbox.",
                  epilog=epilog, formatter_class=argparse.RawDescriptionHelpFormatter)
    sub = top.add_subparsers(dest="command", metavar="COMMAND", parser_class=_Parser)

    def limits(p: argparse.ArgumentParser) -> None:
        p.add_argument("--timeout", type=seconds, default=DEFAULT_TIMEOUT, metavar="S",
                       help=f"seconds to load the file, then for each result's check (default {DEFAULT_TIMEOUT:g})")
        p.add_argument("--memory", type=memory_size, default=DEFAULT_MEMORY, metavar="SIZE",
                       help="memory the candidate may use on top of python and numpy, e.g. 512M or 2G (default 2G)")
        p.add_argument("--seed", type=seed_value, default=None, metavar="N",
                       help="repeat the random case of an earlier run (default: a fresh seed)")

    check = sub.add_parser("check", help="check one function of a student's file against one result",
                           description="Check one candidate gradient formula, run in a sandbox.", epilog=epilog,
                           formatter_class=argparse.RawDescriptionHelpFormatter)
    check.add_argument("result", metavar="RESULT", help="a result id, e.g. t1.dX (python -m verify list)")
    check.add_argument("candidate", metavar="FILE.py:FUNC", help="the student's file and the function in it")
    check.add_argument("--convention", metavar="NAME", default=None,
                       help="the forward pass to judge against, e.g. convolution for t1.dX (default: the "
                            "result's first)")
    check.add_argument("--variant", metavar="NAME", default=None,
                       help="a variant of this term (output/variants.csv names each student's)")
    limits(check)

    listing = sub.add_parser("list", help="the results of the homework: signature, conventions, points",
                             description="List the results of the installed homework.")
    listing.add_argument("--variant", metavar="NAME", default=None,
                         help="a variant of this term (output/variants.csv names each student's)")

    grade = sub.add_parser("grade", help="grade every submission folder of DIR into a CSV and feedback files",
                           description="Grade every submission folder of DIR (each holding hw4.py) in "
                                       "parallel, each in its own sandbox.", epilog=epilog,
                           formatter_class=argparse.RawDescriptionHelpFormatter)
    grade.add_argument("directory", metavar="DIR", help="a folder holding one folder per submission")
    grade.add_argument("--csv", required=True, metavar="FILE",
                       help="the grades: submission,result,verdict,points,max_points")
    grade.add_argument("--feedback", metavar="DIR", default=None,
                       help="where to write <submission>.txt for each student (default: feedback/ next to the CSV)")
    grade.add_argument("--jobs", type=jobs_value, default=None, metavar="N",
                       help=f"worker processes (default: one per core, here {os.cpu_count()})")
    grade.add_argument("--roster", metavar="FILE", default=None,
                       help="the course's roster (Gradescope's export): each student graded against their own "
                            "variant; a folder is named after its student's email or SID")
    grade.add_argument("--convention", metavar="NAME", default=None,
                       help="judge every result that has it in this convention (default: each question in the "
                            "convention the key accepts that earns it the most points)")
    limits(grade)

    gradescope = sub.add_parser("gradescope", help="Gradescope's autograder: ROOT/submission -> "
                                                   "ROOT/results/results.json",
                                description="Grade ROOT/submission/hw4.py and write ROOT/results/results.json "
                                            "in Gradescope's format.", epilog=epilog,
                                formatter_class=argparse.RawDescriptionHelpFormatter)
    gradescope.add_argument("--root", type=Path, default=Path("/autograder"), metavar="ROOT",
                            help="the autograder's folder (default /autograder)")
    gradescope.add_argument("--convention", metavar="NAME", default=None,
                            help="as for grade: force one convention (default: the one that earns the most)")
    limits(gradescope)
    return top


# ---- commands --------------------------------------------------------------------------------------------
def main(argv: Sequence[str] | None = None) -> int:
    """Run the command line; returns the exit code (see the module docstring)."""
    args_list = list(sys.argv[1:] if argv is None else argv)
    handlers = {}
    _STOPPED.clear()
    hook = sys.unraisablehook
    if threading.current_thread() is threading.main_thread():   # only there may Python set handlers
        handlers = {sig: signal.signal(sig, _stop) for sig in (signal.SIGINT, signal.SIGTERM, signal.SIGHUP)}
        sys.unraisablehook = _stop_lost
    try:
        code = _main(args_list)
        return _stopped() if _STOPPED and code not in (INTERRUPTED, TERMINATED) else code  # a stop swallowed
    except KeyboardInterrupt:  # a stop while _main was reporting something else
        _STOPPED.append(signal.SIGINT)
        return _stopped()
    finally:
        # `python -m verify` (argv None) keeps them to its last instruction; a caller in-process gets its own back
        for sig, handler in handlers.items() if argv is not None else ():
            signal.signal(sig, handler)
        if argv is not None:
            sys.unraisablehook = hook


def _main(args_list: list[str]) -> int:
    try:
        p = parser()
        if not args_list:
            emit(p.format_help().rstrip("\n"))
            print("error: no command given (the key's own checks are `make verify`)", file=sys.stderr)
            return USAGE
        try:
            args = p.parse_args(args_list)
        except SystemExit as stop:  # --help (0) or a usage error (2), already printed
            return stop.code if isinstance(stop.code, int) else USAGE
        command = {"check": _check, "list": _list, "grade": _grade, "gradescope": _gradescope}[args.command]
        return command(args)
    except KeyboardInterrupt:  # Terminated too
        # The sandbox's `with` has already killed the candidate's processes on the way out.
        if not _STOPPED:  # raised by something other than our handler: a Ctrl-C all the same
            _STOPPED.append(signal.SIGTERM if isinstance(sys.exc_info()[1], Terminated) else signal.SIGINT)
        return _stopped()
    except Exception as exc:
        if _STOPPED:  # a stop that came out as another exception
            return _stopped()
        if isinstance(exc, Failure):
            print(f"error: {_line(str(exc))}", file=sys.stderr)
            return exc.code
        from .sandbox import NoIsolation
        if isinstance(exc, NoIsolation):  # no sandbox here, and VERIFY_SANDBOX=none was not given
            print(f"error: {_line(str(exc))}", file=sys.stderr)
            return USAGE
        if os.environ.get("VERIFY_DEBUG"):
            traceback.print_exc()
        print(f"error: internal error of the grader: {type(exc).__name__}: {_line(str(exc))} "
              "(set VERIFY_DEBUG=1 for the traceback)", file=sys.stderr)
        return INTERNAL


def emit(*parts: object) -> None:
    """print() to stdout, where a reader that went away (`| head`) changes nothing: not the exit code."""
    try:
        print(*parts, flush=True)
    except BrokenPipeError:
        # Python's own advice: point stdout at /dev/null, or flushing it at exit fails again.
        with open(os.devnull, "w") as devnull:
            os.dup2(devnull.fileno(), sys.stdout.fileno())


def _line(text: str) -> str:
    return " ".join(text.split())


def _homework():
    from .homework import HomeworkError, load
    try:
        return load()
    except HomeworkError as exc:
        raise Failure(f"the homework cannot be loaded: {_line(str(exc))}", INTERNAL) from None


def _result(homework, result_id: str):
    from .grade import generalized
    beyond = generalized(homework)
    if result_id in beyond:
        return beyond[result_id]
    try:
        return homework.result(result_id)
    except KeyError as exc:
        known = ", ".join([*homework.results, *beyond])
        raise Failure(f"{exc.args[0]}; the results are {known}") from None


def _convention(homework, name: str | None) -> None:
    """A usage error unless some result of the homework has the convention asked for."""
    known = list(dict.fromkeys(c for r in homework.results.values() for c in r.conventions))
    if name is not None and name not in known:
        raise Failure(f"no result has the convention {name!r}; the conventions are {', '.join(known)}")


def _candidate(spec: str) -> tuple[Path, str]:
    path, colon, name = spec.rpartition(":")
    if not colon or not path or not name:
        raise Failure(f"expected FILE.py:FUNC (a file and the function in it), not {spec!r}")
    if not name.isidentifier():
        raise Failure(f"{name!r} is not a Python function name (expected FILE.py:FUNC)")
    return Path(path), name


def _check(args: argparse.Namespace) -> int:
    from . import grade
    from .grade import (
        Candidate,
        common_answer,
        float16_common_review,
        near_right_review,
        quoted,
        refused_common,
        refused_review,
        unmatched_review,
        wrong_answer_note,
    )
    from .sandbox import Crashed, FunctionError, LimitExceeded, LoadError, ProtocolError, Sandbox

    homework = _variant(_homework(), args.variant)
    result = _result(homework, args.result)
    try:
        gradient = result.gradient(args.convention)
    except KeyError as exc:
        raise Failure(str(exc.args[0])) from None
    path, name = _candidate(args.candidate)
    if grade.isolation().name == "user":
        # that candidate is a user of the host, and reads its path on the grader's command line: a fresh attacker's
        # file printed a classmate's whole file from the folder beside its own
        from .sandbox import classmate_in_reach
        exposed = classmate_in_reach(path, homework.submission_file)
        if exposed is not None:
            raise Failure(f"{exposed}: the candidate could read it under the user isolation (another student's file "
                          f"beside its own): make the folders that hold the submissions private first (chmod 700)")
    emit(f"signature: {gradient.signature}")
    from .engine import prepare
    for convention in ([args.convention] if args.convention else list(result.conventions)):
        prepare(result.gradient(convention))   # before the candidate's clock starts
    box = Sandbox(path, timeout=args.timeout, memory=args.memory)
    note, flags = "", []   # flags: what a TA is told, as grade tells it in the review column
    try:
        with box:
            box.function(name, gradient.arity)  # before any case: a wrong arity is a usage error
            candidate = Candidate(box, name)
            verdict = candidate.check(gradient, seed=args.seed, subject=result.id)
            used = args.convention or result.default
            judged = {used: verdict}   # its verdict in each convention tried
            # like grade: every convention the key accepts, unless one is asked for
            for other in ([] if args.convention or verdict.passed else list(result.conventions)[1:]):
                # as in grade: a fresh process and a full time budget, not the calls the last attempt queued
                box.fresh()
                box.restart_clock()
                again = candidate.check(result.gradient(other), seed=args.seed, subject=result.id)
                judged[other] = again
                if again.passed:
                    verdict, used = again, other
                    break
                if again.status == "refused":   # not judged there, as grade flags it: it may be right there
                    flags.append(f"in the {other} convention: {refused_review(again)}")
            if verdict.status == "unjudged":
                # as grade: not judged, so never "wrong" (a right formula in float16 cannot be told from one off)
                raise Failure(f"{result.id}: not judged: {verdict.reason}; a TA may judge the formula", LIMIT)
            if verdict.status == "wrong" and result.id in homework.results:
                box.fresh()
                raised: dict[str, int] = {}
                right: list[str] = []
                in_float16: set[str] = set()
                try:
                    best = common_answer(candidate, homework, result, verdict.seed,
                                         raised=raised, forced=args.convention, right=right, in_float16=in_float16)
                except LimitExceeded as exc:   # as grade: the answer stays wrong, and a TA is told how to compare
                    best = None
                    flags.append(unmatched_review(exc, path, result))
                part = homework.part_of(result.id)
                if best is None and not right and in_float16:   # as grade: not judged
                    raise Failure(f"{result.id}: {float16_common_review(homework, result, in_float16)}", LIMIT)
                if right:   # as grade: right wherever it answers, or to float32's precision; a TA told
                    flags.append(near_right_review(right[0], raised.get(f"right:{right[0]}", 0),
                                                   len(result.conventions) > 1))
                elif best is not None and raised.get(best.id):   # as grade: no points, and a TA told what it is
                    flags.append(refused_common(best, raised[best.id],
                                                part.points_for(best, args.convention),
                                                part.points))
                elif best is not None:
                    note = wrong_answer_note(best, part, forced=args.convention)
                    # as grade: named and shown in the reading the key grades it in
                    used = part.reading(best, args.convention) or used
                    verdict = judged.get(used, verdict)
        emit(verdict)
        if len(result.conventions) > 1:
            emit(f"convention: {used}" + ("" if args.convention else
                                          f" (the key accepts {' or '.join(result.conventions)})"))
        if note:
            emit(note)
        for flag in flags if not verdict.passed else ():
            emit(flag)
        emit(box.isolation)
        code = OK if verdict.passed else WRONG
    except (LoadError, FunctionError) as exc:
        _show_output(box.output, quoted)
        raise Failure(str(exc), USAGE) from None
    except LimitExceeded as exc:
        _show_output(box.output, quoted)
        where = getattr(exc, "progress", "")
        hint = ("" if isinstance(exc, Crashed)    # a crash is no limit: a larger one would change nothing
                else "; a larger --timeout or --memory lets a slow but correct answer finish")
        raise Failure(f"{result.id}: {exc}" + (f" {where}" if where else "") + hint, LIMIT) from None
    except ProtocolError as exc:  # the candidate can cause it: like a crash of its process, never "internal"
        _show_output(box.output, quoted)
        raise Failure(f"{result.id}: {exc}", LIMIT) from None
    _show_output(box.output, quoted)
    return code


def _show_output(text: str, quoted) -> None:
    if not text:
        return
    cut = re.search(r"\.\.\. \(\d+ more characters\)\Z", text) is not None
    emit(f"\noutput of the candidate{' (truncated)' if cut else ''}:")
    emit(quoted(text))


def _list(args: argparse.Namespace) -> int:
    from .grade import generalized, points_of, result_title, shapes_text
    from .wording import plural

    homework = _variant(_homework(), args.variant)
    for result in homework.results.values():
        emit(f"{result.id}  ({result_title(homework, result)}; {plural(points_of(homework, result.id), 'point')})")
        emit(f"    function {result.function_name}, signature {result.gradient().signature}")
        first, *others = result.conventions
        emit(f"    conventions: {first} (default), {', '.join(others)} (--convention); a submission is judged "
             "in the one that earns it the most points" if others else f"    convention: {first} (the only one)")
    emit(f"{plural(len(homework.results), 'result')}, {plural(homework.points, 'point')}")
    beyond = generalized(homework)
    if beyond:
        emit("\nbeyond the questions (0 points, never graded; `check` them like the others):")
        for result in beyond.values():
            gradient = result.gradient()
            emit(f"{result.id}  (0 points)")
            emit(f"    function {result.function_name}, signature {gradient.signature}")
            emit(f"    shapes: {shapes_text(gradient)}")
    return OK


def _grade(args: argparse.Namespace) -> int:
    from . import grade, sandbox

    homework = _homework()
    directory = Path(args.directory)
    try:
        folders = grade.submissions_in(directory)
    except NotADirectoryError as exc:
        raise Failure(str(exc)) from None
    if not folders:
        raise Failure(f"{directory}: no submission folders (expected one folder per submission, each with "
                      f"{homework.submission_file})")
    if grade.isolation().name == "user" and directory.stat().st_mode & 0o007:
        # that candidate runs as a user of the host: whatever others may read, it reads, a classmate's file too
        raise Failure(f"{directory}: other users can read it, and so can each candidate under the user isolation: "
                      f"make it private first (chmod 700 {directory})")
    csv_path = Path(args.csv)
    wide = grade.wide_path(csv_path)
    feedback = Path(args.feedback) if args.feedback else csv_path.parent / "feedback"
    if grade.isolation().name == "bubblewrap":
        for place in (directory, csv_path, feedback):
            if sandbox.shown(place):   # a fresh attacker's file read the class and its grades under /usr/local/src
                raise Failure(f"{place}: every candidate sees it in the sandbox (it lies under /usr or the "
                              "interpreter's folder): grade from a folder elsewhere")
    _convention(homework, args.convention)
    groups = _by_variant(homework, folders, args.roster) if args.roster else [(homework, folders)]
    try:   # before grading starts: a wrong path must not wait for the whole class
        grade.check_writable(csv_path, wide)
        feedback.mkdir(mode=0o700, parents=True, exist_ok=True)   # its names are the roster
        if not os.access(feedback, os.W_OK | os.X_OK):
            raise PermissionError(f"{feedback}: not writable")
        if grade.isolation().name == "user":
            if feedback.stat().st_mode & 0o077:
                # made before the run with the usual mode 755: a later candidate listed the class's names and sizes
                raise Failure(f"{feedback}: other users can read it, and so can each candidate under the user "
                              f"isolation: make it private first (chmod 700 {feedback})")
            # that candidate is a user of the host: in a folder it may write in, it put links of its own where the
            # grader then wrote the class's CSV (a fresh attacker read and rewrote the grades so)
            for folder in dict.fromkeys((csv_path.parent, wide.parent, feedback.parent, feedback)):
                if sandbox.candidate_may_write(folder):
                    raise Failure(f"{os.path.abspath(folder)}: the candidate's user may write in it under the user "
                                  "isolation, and could put its own links where the grades are written: write the "
                                  "results in a private folder")
        rows = grade.RowWriter(csv_path)
        notes = grade.FeedbackWriter(homework, feedback)
    except OSError as exc:
        raise Failure(f"cannot write the results: {exc}") from None
    def done(submission) -> None:   # each submission's rows and feedback as soon as it is graded
        rows.write(submission)
        notes.write(submission)
        progress(submission)

    seed = args.seed if args.seed is not None or not args.roster else secrets.randbits(32)   # one for all variants
    try:
        with grade.progress_bar(len(folders)) as progress:
            reports = []
            for each, group in groups:
                notes.homework = each    # the feedback of a student names the variant and its results
                reports.append(grade.grade_all(directory, jobs=args.jobs, timeout=args.timeout, memory=args.memory,
                                               seed=seed, homework=each, progress=done, convention=args.convention,
                                               folders=group))
            report = reports[0] if len(reports) == 1 else grade.Report(
                sorted((s for r in reports for s in r.submissions), key=lambda s: s.name), reports[0].seed,
                list(dict.fromkeys(q for r in reports for q in r.results)), sum(r.seconds for r in reports),
                max(r.jobs for r in reports))
    except OSError as exc:
        raise Failure(f"cannot write the results: {exc}") from None
    finally:
        rows.close()
    try:
        grade.write_csv(report.rows, csv_path)     # the same rows, now in the order of the names
        grade.write_wide_csv(report, wide, notes.names)
    except OSError as exc:
        raise Failure(f"cannot write the results: {exc}") from None
    emit(grade.summary(report))
    emit(grade.isolation())
    emit(f"\nwrote {csv_path} ({len(report.rows)} rows), {wide} (one row per student) and "
         f"{len(notes.names)} feedback files in {feedback}")
    if report.internal_errors:
        raise Failure(f"{report.internal_errors} result(s) hit an internal error of the grader; see the feedback",
                      INTERNAL)
    return OK


def _variant(homework, name: str | None):
    """The homework of a variant of this term, by name (verify.variants); the homework itself without one."""
    if not name:
        return homework
    from . import variants
    try:
        return variants.load(homework.package, name)
    except (KeyError, variants.VariantError) as exc:
        raise Failure(_line(str(exc.args[0] if isinstance(exc, KeyError) else exc))) from None


def _by_variant(homework, folders, roster_file: str):
    """(the variant's homework, its students' folders) for each variant of the roster's students."""
    from . import roster, variants
    try:
        students = roster.read(roster_file)
        return [(variants.load(homework.package, variant), group)
                for variant, group in variants.by_variant(homework.package, folders, students)]
    except (roster.RosterError, variants.VariantError) as exc:
        raise Failure(_line(str(exc))) from None


def _gradescope(args: argparse.Namespace) -> int:
    from . import gradescope

    homework = _homework()
    _convention(homework, args.convention)
    try:
        results = gradescope.run(args.root, homework=homework, timeout=args.timeout, memory=args.memory,
                                 seed=args.seed, convention=args.convention)
    except OSError as exc:
        raise Failure(f"cannot write {args.root / 'results' / 'results.json'}: {exc}") from None
    emit(gradescope.log(results))
    return OK
