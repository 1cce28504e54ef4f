r"""Stage 4: typeset the rendered LaTeX with latexmk into PDFs.

`start()` launches one latexmk per document, all at once, and returns; the build
can go on with its checks and later `wait()` for the PDFs or `stop()` them.
latexmk alone decides how many pdflatex runs are needed.  Shell escape is off,
so no template can run a command.  Builds are reproducible: the date comes from
SOURCE_DATE_EPOCH (the commit's time).

Nothing outlives the build.  Each latexmk leads its own process group (so that a
terminal's Ctrl-C reaches only the build, which then stops LaTeX itself); leaving
the `with` block, an exception, SIGTERM or SIGHUP kills every group with SIGKILL.
A build killed with SIGKILL cannot clean up, so every running job is recorded in
`<outdir>/<name>.running`; the next `start()` kills what those files name, after
checking in /proc that it is still that latexmk or pdflatex.

No stale state.  latexmk keeps its state in <name>.fdb_latexmk: after a failed
run it records the failure, and the next run with unchanged sources does not run
pdflatex at all -- it prints "Nothing to do", says "pdflatex: gave an error" and
exits 12, while <name>.log is still the old run's log.  After an interrupted run
a half-written .aux makes every later run fail, even with fixed sources.  So a
successful run leaves a marker, `<name>.typeset-ok`, recording its command and
date; a document without a matching marker (failed, interrupted, killed, or
typeset with other metadata, which latexmk would not notice) loses its state
files first and is typeset from scratch.  Error messages come only from a log
this run wrote.

A shared preamble is precompiled.  Most of a pdflatex run over these documents is
loading the class and packages, which are the same in every document.  `precompile()`
dumps them once into a LaTeX format (mylatexformat), in the background, while the
caller goes on; `start(..., preamble=...)` then typesets each document that begins
with exactly that preamble with the format (`pdflatex -fmt`).  The main file is the
same either way, and without the format its `\csname endofdump\endcsname` line does
nothing: a document that does not match, or a format that cannot be made, is
typeset the ordinary way, with a notice that says why.

Errors and warnings point at templates: when a generated file has a line map
(pipeline.linemap, `<name>.tex.map.json`), an error is reported at the template's
file:line, followed by the generated lines around it.
"""
from __future__ import annotations

import atexit
import contextlib
import json
import os
import re
import shutil
import signal
import subprocess
import threading
import time
from contextlib import contextmanager
from dataclasses import dataclass, field
from pathlib import Path
from typing import IO, Any

from .errors import BuildError, LatexFailed, MissingTool

TEX_PACKAGES = ("texlive-latex-base texlive-latex-recommended texlive-fonts-recommended "
                "texlive-latex-extra texlive-pictures lmodern latexmk")

# what latexmk and pdflatex keep or leave per document (jobname.<ext>) in the output folder
_STATE_SUFFIXES = (".fdb_latexmk", ".fls", ".log", ".aux", ".pdf", ".out", ".toc", ".lof", ".lot", ".nav",
                   ".snm", ".vrb", ".bbl", ".blg", ".bcf", ".run.xml", ".synctex.gz", ".xdv", ".dvi",
                   ".latexmk.txt")
_MARKER, _RUNNING, _OUTPUT, _STAGING = ".typeset-ok", ".running", ".latexmk.txt", ".fmt-new"
_FORMAT_NAME = re.compile(r"[A-Za-z0-9][A-Za-z0-9_-]*")
FORMAT_END = r"\csname endofdump\endcsname"   # the line that ends what a format holds (mylatexformat)

_ERROR = re.compile(r"^([^\n:]+?):(\d+): (.*)$", re.M)
_UNDEFINED = re.compile(r"^LaTeX Warning: Reference `([^']*)' on page \d+ undefined", re.M)
_BOX = re.compile(r"^(?:Overfull|Underfull) \\[hv]box \(.*$")
_BOX_LINE = re.compile(r" at lines? (\d+)")
_BOX_RANGE = re.compile(r" at lines? \d+(?:--\d+)?")
_OPENED_FILE = re.compile(r'\((?:"([^"]+)"|(\.{0,2}/[^\s()]*|[^\s()/]+\.(?:tex|sty|cls|cfg|def|fd|clo|ldf|aux|'
                          r'toc|out|bbl|ind|dfu|lbx|cbx|bbx|ltx)\b))')


@dataclass(frozen=True)
class BoxWarning:
    """An overfull or underfull box: the generated file and line LaTeX names, and the template line."""
    document: str                 # the first document whose log reported it
    file: str                     # as LaTeX opened it, without "./": "t1.tex"
    line: int | None              # None for boxes LaTeX reports "while \output is active"
    message: str                  # "Underfull \hbox (badness 10000) in paragraph at lines 57--58"
    template: str | None = None   # "templates/t1.tex.j2:41" when the file has a line map

    def __str__(self) -> str:
        where = f"{self.file}:{self.line}" if self.line is not None else self.file
        origin = f" (from {self.template})" if self.template else ""
        return f"{where}: {self.message}{origin}"


@dataclass
class Typeset:
    pdfs: dict[str, Path]          # document name -> PDF in the output folder
    warnings: list[BoxWarning]     # overfull and underfull boxes, each once, in log order
    # what else a reader of the build should know: a document typeset without the precompiled
    # preamble, and why; a reference that no label defines (the PDF shows ??)
    notices: list[str] = field(default_factory=list)

    def merged(self, other: Typeset) -> Typeset:
        """The documents of two typesettings (started at different moments of one build)."""
        return Typeset({**self.pdfs, **other.pdfs}, _distinct_boxes(self.warnings + other.warnings),
                       list(dict.fromkeys(self.notices + other.notices)))


def require_latex() -> None:
    missing = [tool for tool in ("latexmk", "pdflatex") if shutil.which(tool) is None]
    if missing:
        raise MissingTool(f"{' and '.join(missing)} not found: install TeX Live and latexmk, "
                          f"e.g. on Debian or Ubuntu: apt-get install {TEX_PACKAGES}")


def latexmk_command(main: Path, outdir: Path, *, fmt: str | None = None) -> list[str]:
    """The latexmk command for one main file, run with the main file's folder as working directory.

    `fmt` names a format made by `precompile()` (found through TEXFORMATS, see start()).
    """
    if fmt is not None and not _FORMAT_NAME.fullmatch(fmt):
        raise ValueError(f"not a format name: {fmt!r}")
    engine = f"pdflatex -no-shell-escape{f' -fmt={fmt}' if fmt else ''}"
    return ["latexmk", "-norc", "-pdf", "-interaction=nonstopmode", "-halt-on-error", "-file-line-error",
            "-e", f"$pdflatex = '{engine} %O %P';", f"-outdir={outdir.resolve()}", main.name]


def latex_environment(source_date_epoch: int) -> dict[str, str]:
    env = dict(os.environ)
    env.update(SOURCE_DATE_EPOCH=str(source_date_epoch), FORCE_SOURCE_DATE="1",
               max_print_line="1000", shell_escape="f")
    return env


def start(documents: dict[str, Path], outdir: Path, source_date_epoch: int, *,
          niceness: int = 0,
          preamble: Precompiling | None = None) -> Typesetting:
    """Start one latexmk per document (name -> main .tex file), in parallel, and return at once.

    `niceness` lowers the jobs' priority (work that is not on the critical path).
    `preamble`, from `precompile()`, is waited for, and its format used for every
    document that begins with that preamble (see the module's docstring).
    The PDFs go to `outdir` as <name>.pdf (their metadata is the documents' own: base.tex.j2's
    \\hypersetup).  Before anything starts, LaTeX left
    running by an earlier build that was killed is killed, and documents whose last
    run did not succeed lose their latexmk state.  Raises MissingTool without TeX,
    BuildError if another live build is typesetting into `outdir`.
    Use the result as a context manager: leaving the block stops what still runs.
    """
    require_latex()
    outdir = outdir.resolve()
    outdir.mkdir(parents=True, exist_ok=True)
    fmt = preamble.wait() if preamble is not None else None
    _kill_leftovers(outdir, set(documents))
    env = latex_environment(source_date_epoch)
    typesetting = Typesetting(outdir)
    if preamble is not None and fmt is None:
        typesetting.notices.append(f"{preamble.why}; every document was typeset without it")
    _install_signal_handlers()
    try:
        with _deferred_signals():
            for name, main in documents.items():
                use = fmt
                if fmt is not None and preamble is not None:
                    differs = preamble.differs(main)
                    if differs:
                        typesetting.notices.append(f"{name}.tex was typeset without the precompiled preamble: "
                                                   f"{differs}")
                        use = None
                command = latexmk_command(main, outdir, fmt=use)
                config = {"command": command, "cwd": str(main.parent.resolve()),
                          "source_date_epoch": source_date_epoch}
                _reset_unless_succeeded(outdir, name, config)
                typesetting._launch(name, main, command, with_formats(env, outdir) if use else env, config,
                                    niceness)
    except BaseException:
        typesetting.stop()
        raise
    return typesetting


def precompile(preamble: Path, outdir: Path, source_date_epoch: int) -> Precompiling:
    """Start dumping a preamble file into a format, <outdir>/<its name>.fmt, and return at once.

    The file holds the class and packages that documents share, ending with the
    line FORMAT_END.  The format is made anew each time (about half a second of one
    core, while the caller loads what the documents need) and replaces the old
    one only when its bytes differ, so that latexmk sees no change when there is
    none.  Pass the result to `start()`; it stops like a Typesetting.
    """
    require_latex()
    outdir = outdir.resolve()
    outdir.mkdir(parents=True, exist_ok=True)
    name = preamble.stem
    if not _FORMAT_NAME.fullmatch(name):
        raise ValueError(f"not a format name: {name!r} (from {preamble})")
    _kill_leftovers(outdir, {name})
    staging = outdir / f"{name}{_STAGING}"
    shutil.rmtree(staging, ignore_errors=True)
    staging.mkdir()
    typesetting = Typesetting(outdir)
    precompiling = Precompiling(preamble, outdir, staging, typesetting)
    if precompiling.shared is None:
        precompiling.why = f"{preamble.name} does not end with the line {FORMAT_END}, so it cannot be precompiled"
        return precompiling
    # "&pdflatex" loads LaTeX itself; mylatexformat.ltx then reads the file up to FORMAT_END and dumps
    command = ["pdflatex", "-ini", "-interaction=nonstopmode", "-halt-on-error", "-file-line-error",
               "-no-shell-escape", f"-jobname={name}", f"-output-directory={staging}", "&pdflatex",
               "mylatexformat.ltx", preamble.name]
    config = {"command": command, "cwd": str(preamble.parent.resolve()), "source_date_epoch": source_date_epoch}
    _install_signal_handlers()
    try:
        with _deferred_signals():
            typesetting._launch(name, preamble, command, latex_environment(source_date_epoch), config)
    except BaseException:
        typesetting.stop()
        raise
    return precompiling


def preamble_lines(text: str) -> list[str] | None:
    """The lines from \\documentclass to FORMAT_END: what a format holds (mylatexformat skips them
    in a document typeset with it).  None when either line is missing."""
    lines = text.split("\n")
    first = next((i for i, line in enumerate(lines) if line.lstrip().startswith("\\documentclass")), None)
    if first is None or FORMAT_END not in lines[first:]:
        return None
    return lines[first:lines.index(FORMAT_END, first) + 1]


def with_formats(env: dict[str, str], outdir: Path) -> dict[str, str]:
    """The environment in which `pdflatex -fmt=<name>` finds <outdir>/<name>.fmt first (kpathsea)."""
    # a trailing colon keeps the default search path after ours
    return dict(env, TEXFORMATS=f"{outdir}:{env.get('TEXFORMATS', '')}")


class Precompiling:
    """A preamble being dumped into a format by `precompile()`."""

    def __init__(self, source: Path, outdir: Path, staging: Path, typesetting: Typesetting):
        self.source, self.outdir, self.staging = source, outdir, staging
        self.shared = preamble_lines(source.read_text())
        self.name = source.stem
        self.why = ""            # why there is no format, once wait() returned None
        self._typesetting = typesetting
        self._done = False
        self._fmt: str | None = None

    def __enter__(self) -> Precompiling:
        return self

    def __exit__(self, *exc) -> None:
        self.stop()

    def stop(self) -> None:
        self._typesetting.stop()

    def wait(self) -> str | None:
        """The format's name once it is in place, or None (and `why`) when it could not be made."""
        if self._done:
            return self._fmt
        jobs = self._typesetting._jobs
        self._typesetting._finish_jobs()
        if jobs:
            made = self.staging / f"{self.name}.fmt"
            if jobs[0].killed:
                self.why = "precompiling the preamble was stopped"
            elif jobs[0].proc.returncode != 0 or not made.exists():
                self.why = f"the preamble {self.source.name} could not be precompiled ({self._error()})"
            else:
                target = self.outdir / made.name
                if not target.exists() or target.read_bytes() != made.read_bytes():
                    os.replace(made, target)
                self._fmt = self.name
        shutil.rmtree(self.staging, ignore_errors=True)
        self._done = True
        return self._fmt

    def differs(self, main: Path) -> str:
        """Why `main` cannot be typeset with this format ("" when it can)."""
        if preamble_lines(main.read_text()) != self.shared:
            return (f"its lines from \\documentclass to {FORMAT_END} are not those of {self.source.name}, "
                    "which the format holds")
        return ""

    def _error(self) -> str:
        """The first error of pdflatex's log, or its exit status."""
        try:
            log = (self.staging / f"{self.name}.log").read_text(errors="replace")
        except OSError:
            return f"pdflatex exited with status {self._typesetting._jobs[0].proc.returncode}"
        # in this mode LaTeX's own errors come as "! ..." lines even with -file-line-error
        found = re.search(r"^! (.*)$", log, re.M) or _ERROR.search(log)
        return found.group(found.lastindex or 0).strip() if found else "see its log"


class Typesetting:
    """LaTeX jobs started by `start()`: wait for them, or stop them.

    Leaving a `with` block stops whatever still runs -- normally it has finished,
    because the block called wait(); after an exception, KeyboardInterrupt or
    SystemExit it is killed: every latexmk and pdflatex, before the exception goes on.
    """

    def __init__(self, outdir: Path):
        self.outdir = outdir
        self._jobs: list[_Job] = []
        self._pid = os.getpid()          # a forked child must not kill its parent's LaTeX
        self._result: Typeset | LatexFailed | None = None
        self._stopped = False
        self.notices: list[str] = []
        with _live_lock:
            _live.add(self)

    def __enter__(self) -> Typesetting:
        return self

    def __exit__(self, *exc) -> None:
        self.stop()

    def done(self) -> bool:
        """Whether every latexmk has exited (without waiting)."""
        return all(job.proc.poll() is not None for job in self._jobs)

    def wait(self, timeout: float | None = None) -> Typeset:
        """Wait for every document; return the PDFs and box warnings.

        Raises LatexFailed naming the first error of each failed document (each
        distinct error once; documents that \\input the same file fail alike), or
        saying that typesetting was stopped.  Raises subprocess.TimeoutExpired if
        `timeout` seconds pass first; the jobs then go on running.
        """
        if self._result is None:
            if self._stopped:
                raise LatexFailed("typesetting was stopped before it finished")
            self._finish_jobs(timeout)
            self._result = _outcome(self._jobs, self.notices)
        if isinstance(self._result, LatexFailed):
            raise self._result
        return self._result

    def _finish_jobs(self, timeout: float | None = None) -> None:
        """Wait for every job to exit, then reap it and its records (see _Job.finish)."""
        deadline = None if timeout is None else time.monotonic() + timeout
        for job in self._jobs:
            job.proc.wait(None if deadline is None else max(0.0, deadline - time.monotonic()))
        with _deferred_signals():
            for job in self._jobs:
                job.finish()
        # outside the deferred block, which would put back the handlers it found
        self._forget()

    def stop(self) -> None:
        """Kill every latexmk and pdflatex this started (SIGKILL to each process group) and
        reap them.  Does nothing for jobs that have finished, or when called again."""
        if os.getpid() != self._pid:
            return
        with _deferred_signals():
            if not self._stopped and self._result is None:
                self._stopped = True
                for job in self._jobs:
                    job.kill()
                for job in self._jobs:
                    job.finish()
        self._forget()

    def _launch(self, name: str, main: Path, command: list[str], env: dict[str, str], config: dict,
                niceness: int = 0) -> None:
        job = _Job.launch(name, main, self.outdir, command, env, config, niceness)
        self._jobs.append(job)   # before anything else can fail, so that stop() finds it
        job.record()

    def _forget(self) -> None:
        with _live_lock:
            _live.discard(self)
            last = not _live
        if last:
            _restore_signal_handlers()


class _Job:
    """One latexmk and what is needed to judge its run."""

    def __init__(self, name: str, main: Path, outdir: Path, proc: subprocess.Popen, output: IO[bytes],
                 log_before: tuple | None, config: dict):
        self.name, self.main, self.outdir, self.proc = name, main, outdir, proc
        self.output, self.log_before, self.config = output, log_before, config
        self.started = _start_time(proc.pid, zombie=True)   # tells our group from a later one with its id
        self.killed = False
        self.finished = False

    @classmethod
    def launch(cls, name, main, outdir, command, env, config, niceness: int = 0) -> _Job:
        output = open(outdir / f"{name}{_OUTPUT}", "wb")  # noqa: SIM115 - the job closes it when latexmk ends
        log_before = _signature(outdir / f"{name}.log")
        try:
            proc = subprocess.Popen(command, cwd=main.parent, env=env, stdin=subprocess.DEVNULL, stdout=output,
                                    stderr=subprocess.STDOUT, start_new_session=True,
                                    preexec_fn=(lambda: os.nice(niceness)) if niceness else None)
        except BaseException:
            output.close()
            raise
        return cls(name, main, outdir, proc, output, log_before, config)

    def record(self) -> None:
        """Note the running job in <outdir>/<name>.running for the next build, should this one be killed."""
        _write_json(self.outdir / f"{self.name}{_RUNNING}",
                    {"pgid": self.proc.pid, "start": self.started,
                     "cwd": self.config["cwd"], "owner": os.getpid(), "owner_start": _start_time(os.getpid()),
                     "document": self.name})

    def kill(self) -> None:
        """SIGKILL the job's process group, unless latexmk has already finished by itself."""
        if self.proc.poll() is None:
            # not reaped, so the group id is still ours even if latexmk exits right now
            with contextlib.suppress(ProcessLookupError):
                os.killpg(self.proc.pid, signal.SIGKILL)
            self.killed = True

    def finish(self) -> None:
        """Reap latexmk and its group, drop the running record, mark or unmark success."""
        if self.finished:
            return
        if self.killed:
            # the members first: until latexmk is reaped, no other group can get its id
            _wait_group_gone(self.proc.pid)
            self.proc.wait()
        else:
            self.proc.wait()
            # latexmk waits for its pdflatex, unless something killed latexmk alone
            _kill_group_if_ours(self.proc.pid, self.started, self.config["cwd"])
        self.output.close()
        self.finished = True
        (self.outdir / f"{self.name}{_RUNNING}").unlink(missing_ok=True)
        if self.succeeded:
            _write_json(self.outdir / f"{self.name}{_MARKER}", self.config)

    @property
    def succeeded(self) -> bool:
        return not self.killed and self.proc.returncode == 0 and self.pdf.exists()

    @property
    def pdf(self) -> Path:
        return self.outdir / f"{self.name}.pdf"

    @property
    def log(self) -> Path:
        return self.outdir / f"{self.name}.log"

    def fresh_log(self) -> str | None:
        """This run's log, or None if pdflatex did not write one in this run."""
        signature = _signature(self.log)
        if signature is None or signature == self.log_before:
            return None
        return self.log.read_text(errors="replace")

    def latexmk_output(self) -> str:
        return (self.outdir / f"{self.name}{_OUTPUT}").read_text(errors="replace")


def _outcome(jobs: list[_Job], notices: list[str]) -> Typeset | LatexFailed:
    failures, logs, warnings = [], [], []
    notices = list(notices)
    maps = _MapCache()
    for job in jobs:
        log = job.fresh_log()
        if not job.succeeded:
            failures.append(_failure_message(job, log, maps))
            logs.append(log or job.latexmk_output())
            continue
        if log is None and job.log.exists():
            log = job.log.read_text(errors="replace")  # latexmk found nothing to do: the PDF is from that log's run
        warnings += box_warnings(log or "", job.main.parent, job.name, maps)
        undefined = list(dict.fromkeys(_UNDEFINED.findall(log or "")))   # after latexmk's last run: for good
        if undefined:   # a page that shows ?? is not published
            failures.append("\n".join(f"{job.name}.pdf would show ?? for a reference to '{label}', which no "
                                      f"\\label defines: add the \\label or correct the reference"
                                      for label in undefined))
            logs.append(log or "")
    if failures:
        # documents that share a file fail alike: each error once, by its first line (the template's)
        distinct: dict[str, str] = {}
        for failure in failures:
            distinct.setdefault(failure.split("\n", 1)[0], failure)
        return LatexFailed("\n\n".join(distinct.values()), "\n".join(logs))
    return Typeset({job.name: job.pdf for job in jobs}, _distinct_boxes(warnings), list(notices))


def _distinct_boxes(warnings: list[BoxWarning]) -> list[BoxWarning]:
    """Each box once, as the first document reported it.  The documents \\input the same files; a
    paragraph can end on another line in a document that hides solutions, so the range of lines
    does not tell boxes apart."""
    distinct: dict[tuple, BoxWarning] = {}
    for warning in warnings:
        distinct.setdefault((warning.file, warning.line, _BOX_RANGE.sub("", warning.message)), warning)
    return list(distinct.values())


def _failure_message(job: _Job, log: str | None, maps: _MapCache) -> str:
    if log is None:
        return (f"latexmk failed on {job.name}.tex before pdflatex wrote a log "
                f"(exit status {job.proc.returncode}); latexmk's output ends:\n"
                + _indent(_tail(job.latexmk_output(), 15)))
    if _ERROR.search(log):
        return explain_error(log, job.main.parent, maps)
    summary = _latexmk_summary(job.latexmk_output())
    first = next((i for i, line in enumerate(log.splitlines()) if line.startswith("! ")), None)
    shown = "\n".join(log.splitlines()[first:first + 12]) if first is not None else _tail(log, 20)
    return (f"LaTeX failed on {job.name}.tex, and this run's log ({_shown(job.log)}) names no file:line "
            f"error; {'its error' if first is not None else 'it ends'}:\n{_indent(shown)}"
            + (f"\nlatexmk: {summary}" if summary else ""))


def explain_error(log: str, tex_dir: Path, maps: _MapCache | None = None) -> str:
    """The first `file:line:` error of a log: at its template line when the file has a line
    map (else at the generated file's line), then LaTeX's context and the generated lines."""
    maps = maps or _MapCache()
    match = _ERROR.search(log)
    if match is None:
        raise ValueError("the log has no file:line error")
    path = _resolve(match.group(1), tex_dir)
    line, message = int(match.group(2)), match.group(3)
    if message.startswith("Emergency stop"):
        line, message = _before_emergency_stop(log[:match.start()], path, line, message)
    origin = maps.origin(path, line)
    message = message.removeprefix("LaTeX Error: ")   # "LaTeX error: " comes first anyway
    lines = [f"{origin or f'{_shown(path)}:{line}'}: LaTeX error: {message}"]
    lines += [f"    {q}" for q in _tex_context(log[match.end():])]
    try:
        source = path.read_text(errors="replace").splitlines()
    except OSError:
        return "\n".join(lines)
    lines.append(f"  {_shown(path)}:{line}" + (" (generated from it):" if origin else ":"))
    for number in range(max(1, line - 2), min(len(source), line + 2) + 1):
        lines.append(f"  {'>' if number == line else ' '} {number:4d} | {source[number - 1]}")
    if not origin and source and "generated from" in source[0]:
        lines.append(f"  this file is {source[0].lstrip('% ').split(' --')[0]}: fix the template there")
    return "\n".join(lines)


def _before_emergency_stop(before: str, path: Path, line: int, message: str) -> tuple[int, str]:
    """The error that led to an "Emergency stop": LaTeX asked for input (a file it could not find)
    and gave its message without file:line, and TeX had read on by then.  The line is the last one
    up to there that names the missing file."""
    asked = list(re.finditer(r"^! (.+)$", before, re.M))
    if not asked:
        return line, message
    message = asked[-1].group(1)
    missing = re.match(r"LaTeX Error: File `([^']+)' not found", message)
    if missing:
        stem = Path(missing.group(1)).stem
        try:
            source = path.read_text(errors="replace").splitlines()
        except OSError:
            return line, message
        line = next((n for n in range(min(line, len(source)), 0, -1) if stem in source[n - 1]), line)
    return line, message


def _tex_context(after: str) -> list[str]:
    """TeX's own lines after an error message, up to the `l.57 ...` line and its continuation."""
    boilerplate = ("See the LaTeX manual", "Type  H <return>", " ...", "!  ==> Fatal error")
    shown: list[str] = []
    lines = after.split("\n")[1:12]
    for i, line in enumerate(lines):
        if not line.strip() or line.startswith(boilerplate):
            continue
        shown.append(line)
        if re.match(r"l\.\d+ ", line):
            if i + 1 < len(lines) and lines[i + 1].strip():
                shown.append(lines[i + 1])
            break
    return shown[:6]


def box_warnings(log: str, tex_dir: Path, document: str, maps: _MapCache | None = None) -> list[BoxWarning]:
    """Overfull and underfull \\hbox/\\vbox warnings of a log, each with the file LaTeX was
    reading (tracked through the log's `(./file.tex ... )` nesting) and the line it names."""
    maps = maps or _MapCache()
    found = []
    files: list[str | None] = []   # one entry per open "(": a file name, or None for other parentheses
    in_box = False
    for text in log.split("\n"):
        if in_box:  # the box's contents follow up to a blank line; their parentheses are typeset text
            in_box = bool(text.strip())
            continue
        if _BOX.match(text):
            in_box = True
            current = next((f for f in reversed(files) if f is not None), document + ".tex")
            number = _BOX_LINE.search(text)
            line = int(number.group(1)) if number else None
            shown = current[2:] if current.startswith("./") else current
            origin = maps.origin(_resolve(current, tex_dir), line) if line is not None else None
            found.append(BoxWarning(document, shown, line, text.strip(), origin))
            continue
        pos = 0
        while True:
            paren = min((p for p in (text.find("(", pos), text.find(")", pos)) if p >= 0), default=-1)
            if paren < 0:
                break
            if text[paren] == ")":
                if files:
                    files.pop()
                pos = paren + 1
                continue
            opened = _OPENED_FILE.match(text, paren)
            files.append((opened.group(1) or opened.group(2)) if opened else None)
            pos = opened.end() if opened else paren + 1
    return found


class _MapCache:
    """Line maps of generated files, each read once."""

    def __init__(self):
        self._maps: dict[Path, Any] = {}   # a LineMap, or None where the file has none

    def origin(self, path: Path, line: int) -> str | None:
        """'templates/t2.tex.j2:41' for a line of a generated file with a map, else None."""
        # imported here: typeset alone must not pull in jinja2 (the build loads it while its checks run)
        from .linemap import LineMap, map_path
        if path not in self._maps:
            try:
                self._maps[path] = LineMap.load(map_path(path))
            except (OSError, ValueError, KeyError, TypeError):
                self._maps[path] = None
        line_map = self._maps[path]
        found = line_map.lookup(line) if line_map is not None else None
        if found is None:
            return None
        filename = line_map.filename(found.template)
        return f"{_shown(Path(filename)) if filename else found.template}:{found.line}"


# --- state of earlier runs ------------------------------------------------------------------

def _reset_unless_succeeded(outdir: Path, name: str, config: dict) -> None:
    """Delete a document's latexmk state unless its last run succeeded with this very config;
    then drop the marker, so that a run that does not finish leaves none."""
    marker = outdir / f"{name}{_MARKER}"
    try:
        succeeded = json.loads(marker.read_text()) == config
    except (OSError, ValueError):
        succeeded = False
    if not succeeded:
        for path in _state_files(outdir, name):
            path.unlink(missing_ok=True)
    marker.unlink(missing_ok=True)


def _state_files(outdir: Path, name: str) -> set[Path]:
    files = {outdir / f"{name}{suffix}" for suffix in _STATE_SUFFIXES}
    # the .fls of the last run lists what else it wrote, e.g. the .aux of an \include'd file
    try:
        recorded = (outdir / f"{name}.fls").read_text(errors="replace").splitlines()
    except OSError:
        recorded = []
    cwd = outdir
    for line in recorded:
        if line.startswith("PWD "):       # relative paths in the .fls are relative to pdflatex's folder
            cwd = Path(line[4:])
        elif line.startswith("OUTPUT "):
            path = cwd / line[7:]
            if path.parent.resolve() == outdir and path.name.endswith(_STATE_SUFFIXES):
                files.add(path)
    return files


def _kill_leftovers(outdir: Path, documents: set[str]) -> None:
    """Kill LaTeX that the `.running` records of a dead build name; refuse to race a live build."""
    for record in sorted(outdir.glob(f"*{_RUNNING}")):
        try:
            job = json.loads(record.read_text())
            pgid, start_, cwd = int(job["pgid"]), int(job["start"]), str(job["cwd"])
            owner, owner_start = int(job["owner"]), int(job["owner_start"])
        except (OSError, ValueError, KeyError, TypeError):
            record.unlink(missing_ok=True)   # half-written by a killed build; nothing to verify it by
            continue
        if owner == os.getpid() and _owned_here(pgid):
            if job.get("document") in documents:
                raise BuildError(f"{job.get('document')}.tex is already being typeset into {outdir}")
            continue
        if owner != os.getpid() and _start_time(owner) == owner_start:
            raise BuildError(f"another build (process {owner}) is typesetting into {outdir}; "
                             "wait for it to finish or stop it")
        _kill_group_if_ours(pgid, start_, cwd)
        record.unlink(missing_ok=True)


def _owned_here(pgid: int) -> bool:
    with _live_lock:
        return any(job.proc.pid == pgid and not job.finished for t in _live for job in t._jobs)


def _kill_group_if_ours(pgid: int, leader_start: int | None, cwd: str) -> None:
    """SIGKILL a process group if it runs latexmk or pdflatex and every live member is ours: in the
    recorded folder, started no earlier than the recorded leader (and the leader, if alive, at that
    very time).  A group id reused by anything else fails this test, so it is never killed."""
    members = _group_members(pgid)
    if not members or not any(_is_latex(pid) for pid, _ in members):
        return
    for pid, started in members:
        if _cwd(pid) != cwd:
            return
        if leader_start is not None and (started < leader_start or (pid == pgid and started != leader_start)):
            return
    try:
        os.killpg(pgid, signal.SIGKILL)
    except ProcessLookupError:
        return
    _wait_group_gone(pgid)


def _wait_group_gone(pgid: int, timeout: float = 5.0) -> None:
    """Wait until no process of the group runs (killed pdflatex is reaped by init, not by us)."""
    deadline = time.monotonic() + timeout
    while _group_members(pgid) and time.monotonic() < deadline:
        time.sleep(0.01)


# --- /proc ------------------------------------------------------------------------------------

def _stat(pid: int) -> list[str] | None:
    """Fields 3.. of /proc/<pid>/stat (state, ppid, pgrp, ...), or None if the process is gone."""
    try:
        text = Path(f"/proc/{pid}/stat").read_text()
    except OSError:
        return None
    return text[text.rfind(")") + 2:].split()


def _start_time(pid: int, zombie: bool = False) -> int | None:
    """When the process started, in clock ticks since boot: tells a process from a reused pid.
    None if it is gone (or, unless `zombie`, has exited and awaits its parent)."""
    fields = _stat(pid)
    return int(fields[19]) if fields and (zombie or fields[0] != "Z") else None


def _group_members(pgid: int) -> list[tuple[int, int]]:
    """(pid, start time) of the group's processes that are not zombies."""
    members: list[tuple[int, int]] = []
    try:
        entries = os.listdir("/proc")
    except OSError:
        return members
    for entry in entries:
        if entry.isdigit():
            fields = _stat(int(entry))
            if fields and fields[0] != "Z" and int(fields[2]) == pgid:
                members.append((int(entry), int(fields[19])))
    return members


def _is_latex(pid: int) -> bool:
    try:
        argv = Path(f"/proc/{pid}/cmdline").read_bytes().decode(errors="replace").split("\0")
    except OSError:
        return False
    # latexmk runs as `perl /usr/bin/latexmk ...`, pdflatex as `sh -c "pdflatex ..."` and `pdflatex ...`
    programs = {os.path.basename(arg.split(" ", 1)[0]) for arg in argv[:3]}
    return bool(programs & {"latexmk", "pdflatex"})


def _cwd(pid: int) -> str | None:
    try:
        return os.readlink(f"/proc/{pid}/cwd")
    except OSError:
        return None


# --- signals ------------------------------------------------------------------------------------
# SIGTERM and SIGHUP kill Python without running `finally` or `__exit__`; while LaTeX runs
# they raise SystemExit instead, so that the `with` block kills it.  Only default handlers
# are replaced, and they come back when the last typesetting ends.

_live: set[Typesetting] = set()
_live_lock = threading.Lock()
_replaced: dict[int, Any] = {}
_handler_pid = os.getpid()


def _exit_on_signal(signum, frame):
    if os.getpid() != _handler_pid:   # a forked worker inherited this handler: die as usual
        signal.signal(signum, signal.SIG_DFL)
        os.kill(os.getpid(), signum)
        return
    raise SystemExit(128 + signum)


def _install_signal_handlers() -> None:
    global _handler_pid
    if threading.current_thread() is not threading.main_thread():
        return
    _handler_pid = os.getpid()
    for signum in (signal.SIGTERM, signal.SIGHUP):
        if signum not in _replaced and signal.getsignal(signum) == signal.SIG_DFL:
            _replaced[signum] = signal.signal(signum, _exit_on_signal)


def _restore_signal_handlers() -> None:
    if threading.current_thread() is not threading.main_thread():
        return
    for signum, previous in list(_replaced.items()):
        if signal.getsignal(signum) is _exit_on_signal:
            signal.signal(signum, previous)
        del _replaced[signum]


@contextmanager
def _deferred_signals():
    """Hold SIGINT, SIGTERM and SIGHUP until the block is done, so that bookkeeping (a job
    started but not yet recorded, a kill half done) is never cut short.  The signal mask is
    left alone, because children would inherit it."""
    if threading.current_thread() is not threading.main_thread():
        yield
        return
    pending: list[int] = []
    # a handler not installed from Python (None) cannot be put back, so that signal is not held
    signals = [s for s in (signal.SIGINT, signal.SIGTERM, signal.SIGHUP) if signal.getsignal(s) is not None]
    previous: dict[int, Any] = {s: signal.signal(s, lambda signum, frame: pending.append(signum)) for s in signals}
    try:
        yield
    finally:
        for s, handler in previous.items():
            signal.signal(s, handler)
        for s in pending:
            held = previous[s]
            if callable(held):
                held(s, None)         # KeyboardInterrupt, or SystemExit from _exit_on_signal
            elif held == signal.SIG_DFL:
                os.kill(os.getpid(), s)  # the default action (terminate) that was held back


@atexit.register
def _stop_all() -> None:
    """At interpreter exit, kill what a caller started without a `with` block and never stopped."""
    with _live_lock:
        live = list(_live)
    for typesetting in live:
        typesetting.stop()


# --- small helpers ------------------------------------------------------------------------------

def _write_json(path: Path, data: dict) -> None:
    """Write via a temporary file and rename, so that a killed build never leaves half a record."""
    temporary = path.with_name(path.name + ".tmp")
    temporary.write_text(json.dumps(data, sort_keys=True))
    os.replace(temporary, path)


def _signature(path: Path) -> tuple | None:
    try:
        s = path.stat()
    except OSError:
        return None
    return (s.st_ino, s.st_size, s.st_mtime_ns)


def _resolve(name: str, tex_dir: Path) -> Path:
    path = Path(name)
    return path if path.is_absolute() else (tex_dir / path).resolve()


def _latexmk_summary(output: str) -> str:
    lines = output.splitlines()
    for i, line in enumerate(lines):
        if line.startswith("Collected error summary"):
            return "; ".join(q.strip() for q in lines[i + 1:i + 5] if q.startswith("  ") and q.strip())
    return ""


def _tail(text: str, count: int) -> str:
    return "\n".join(text.rstrip().splitlines()[-count:])


def _indent(text: str) -> str:
    return "\n".join(f"    {line}" for line in text.splitlines())


def _shown(path: Path) -> str:
    try:
        return str(path.relative_to(Path.cwd()))
    except ValueError:
        return str(path)
