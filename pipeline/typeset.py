"""Stage 4: typeset the rendered LaTeX with latexmk into PDFs.

latexmk alone decides how many pdflatex runs are needed.  Shell escape is off,
so no template can run a command.  Builds are reproducible: the date comes
from SOURCE_DATE_EPOCH (the commit's time) and the preamble empties the PDF
trailer id.  A LaTeX error is reported with the generated file, its line,
the lines around it and the template it came from.
"""
from __future__ import annotations

import os
import re
import shutil
import signal
import subprocess
from dataclasses import dataclass
from pathlib import Path

from .errors import LatexFailed, MissingTool

TEX_PACKAGES = ("texlive-latex-base texlive-latex-recommended texlive-fonts-recommended "
                "texlive-latex-extra texlive-pictures lmodern latexmk")
_ERROR = re.compile(r"^(.*?\.tex):(\d+): (.*)$", re.M)
_OVERFULL = re.compile(r"^(Overfull \\[hv]box .*)$", re.M)
_OPENED = re.compile(r"\((?:\./)?([\w-]+\.tex)")  # where LaTeX opened an \input file


@dataclass
class Typeset:
    pdfs: dict[str, Path]          # document name -> PDF in the latex build folder
    warnings: list[str]            # overfull boxes, one line each


def require_latex() -> None:
    missing = [tool for tool in ("latexmk", "pdflatex") if shutil.which(tool) is None]
    if missing:
        raise MissingTool(f"{' and '.join(missing)} not found: install TeX Live and latexmk, "
                          f"e.g. on Debian or Ubuntu: apt-get install {TEX_PACKAGES}")


def latexmk_command(main: Path, outdir: Path) -> list[str]:
    return ["latexmk", "-norc", "-pdf", "-interaction=nonstopmode", "-halt-on-error", "-file-line-error",
            "-e", "$pdflatex = 'pdflatex -no-shell-escape %O %S';",
            f"-outdir={outdir.resolve()}", main.name]


def latex_environment(source_date_epoch: int) -> dict[str, str]:
    env = dict(os.environ)
    env.update(SOURCE_DATE_EPOCH=str(source_date_epoch), FORCE_SOURCE_DATE="1",
               max_print_line="1000", shell_escape="f")
    return env


def typeset(documents: dict[str, Path], outdir: Path, source_date_epoch: int) -> Typeset:
    """Run latexmk on every main file at once (one core each) and collect the PDFs."""
    require_latex()
    outdir.mkdir(parents=True, exist_ok=True)
    env = latex_environment(source_date_epoch)
    # each latexmk leads its own process group, so that stopping it stops its pdflatex too
    running = {name: subprocess.Popen(latexmk_command(main, outdir), cwd=main.parent, env=env,
                                      stdout=subprocess.PIPE, stderr=subprocess.STDOUT, text=True,
                                      start_new_session=True)
               for name, main in documents.items()}
    failures, warnings = [], []
    try:
        for name, proc in running.items():
            output, _ = proc.communicate()
            log_file = outdir / f"{name}.log"
            log = log_file.read_text(errors="replace") if log_file.exists() else ""
            if proc.returncode != 0:
                failures.append(LatexFailed(explain_error(log or output, documents[name].parent, name), log or output))
                continue
            warnings += [f"{name}.pdf: {w}" for w in overfull_boxes(log)]
    finally:
        for proc in running.values():  # an interrupted build leaves no LaTeX running
            if proc.poll() is None:
                os.killpg(proc.pid, signal.SIGKILL)
                proc.wait()
    if failures:
        # both documents \input the same question files, so one mistake often fails both
        messages = list(dict.fromkeys(str(f) for f in failures))
        raise LatexFailed("\n\n".join(messages), "\n".join(f.log for f in failures))
    return Typeset({name: outdir / f"{name}.pdf" for name in documents}, warnings)


def overfull_boxes(log: str) -> list[str]:
    """Overfull-box warnings, each with the generated file it (most likely) came from."""
    found = []
    for match in _OVERFULL.finditer(log):
        opened = _OPENED.findall(log[:match.start()])
        where = f"{opened[-1]}: " if opened else ""
        found.append(f"{where}{match.group(1)}")
    return found


def explain_error(log: str, tex_dir: Path, document: str) -> str:
    """The first LaTeX error as 'file:line: message', the lines around it and its template."""
    match = _ERROR.search(log)
    if not match:
        tail = "\n".join(log.strip().splitlines()[-20:])
        return f"LaTeX failed on {document}.tex (no file:line in the log); the end of the log:\n{tail}"
    file = Path(match.group(1))
    path = file if file.is_absolute() else (tex_dir / file).resolve()
    line = int(match.group(2))
    after = log[match.end():].splitlines()[:3]
    lines = [f"{_shown(path)}:{line}: LaTeX error: {match.group(3)}"]
    lines += [f"    {q}" for q in after if q.strip()]
    try:
        source = path.read_text().splitlines()
    except OSError:
        return "\n".join(lines)
    for number in range(max(1, line - 3), min(len(source), line + 2) + 1):
        lines.append(f"  {'>' if number == line else ' '} {number:4d} | {source[number - 1]}")
    if source and "generated from" in source[0]:
        lines.append(f"  this file is {source[0].lstrip('% ').split(' --')[0]}: fix the template there")
    return "\n".join(lines)


def _shown(path: Path) -> str:
    try:
        return str(path.relative_to(Path.cwd()))
    except ValueError:
        return str(path)
