"""Stage 3: render the Jinja2 templates into LaTeX files under build/tex/.

Templates use LaTeX-safe delimiters (nbconvert's): ((* statements *)),
((( expressions ))), ((= comments =)).  A checked equation is shown only
through `step("id")`, which typesets the step's own formulas and puts the line
`% verified: id` (or `% definition: id`) directly above the display.  After
rendering, every display of the key must carry such a line, match its step,
and every step of solutions/ must be shown somewhere.
"""
from __future__ import annotations

import re
from dataclasses import dataclass
from pathlib import Path

import jinja2
import numpy as np

from solutions.notation import index_range, latex, number, numeric_matrix, row_vector

from .errors import CoverageError, TemplateError

# Each question is rendered to its own file and \input by both documents (generated file -> template).
# The notes and the key's footer show the checks' outcome; everything else can be rendered before it.
NEEDS_NO_VERDICT = {"t1": "t1.tex.j2", "t2": "t2.tex.j2", "remarks": "remarks.tex.j2", "hw4": "handout.tex.j2"}
NEEDS_VERDICT = {"notes": "notes.tex.j2", "hw4-solutions": "key.tex.j2"}
DOCUMENTS = ("hw4", "hw4-solutions")

_LATEX_SPECIAL = {"&": r"\&", "%": r"\%", "$": r"\$", "#": r"\#", "_": r"\_", "{": r"\{", "}": r"\}",
                  "~": r"\textasciitilde{}", "^": r"\textasciicircum{}", "\\": r"\textbackslash{}"}
_DISPLAY = re.compile(r"\\begin\{(align|equation|gather|multline|eqnarray|displaymath|flalign)\*?\}"
                      r"|(?<!\\)\\\[|\$\$")  # \[ opens a display; \\[6pt] is a line break
_MARKER = re.compile(r"^% (verified|definition): (\S+)$")


def escape_tex(text) -> str:
    """Plain text (not LaTeX) made safe to print: the explicit filter `tex`."""
    return "".join(_LATEX_SPECIAL.get(ch, ch) for ch in str(text))


@dataclass
class Rendered:
    tex_dir: Path
    documents: dict[str, Path]   # document name -> main .tex file
    shown_steps: set[str]


class _StepPrinter:
    """The template global `step(id)`; remembers which steps were shown."""

    def __init__(self, steps):
        self.steps = steps
        self.shown: set[str] = set()

    def display(self, step_id: str) -> str:
        step = self._get(step_id)
        self.shown.add(step_id)
        return render_step(step)

    def inline(self, step_id: str, side: int = -1) -> str:
        """One side of a step for inline math (shows the step's formula; the display is elsewhere)."""
        return latex(self._get(step_id).sides[side])

    def _get(self, step_id):
        try:
            return self.steps[step_id]
        except KeyError:
            known = ", ".join(sorted(self.steps))
            raise KeyError(f"unknown step '{step_id}' (known steps: {known})") from None


def render_step(step) -> str:
    """The display of a step: its marker line, then an align* of its chain of equalities."""
    sides = [latex(q) for q in step.sides]
    rel = {"=": "=", "approx": r"\approx"}[step.relation]
    lines = [f"{sides[0]} &= {sides[1]}"] + [f"&= {q}" for q in sides[2:-1]]
    if len(sides) > 2:
        lines.append(f"&{rel} {sides[-1]}")
    elif rel != "=":
        lines[0] = f"{sides[0]} &{rel} {sides[1]}"
    where = [index_range(sym, lo, hi) for sym, lo, hi in step.over]
    tail = []
    if where:
        tail.append(r"\text{for } " + r",\ ".join(where))
    if step.note:
        tail.append(rf"\text{{{step.note}}}")  # LaTeX written in solutions/, like the equations
    if tail:
        condition = r" \quad ".join(tail)
        if len(lines[-1]) > 60:  # a long line: the conditions get a row of their own
            lines.append(r"&\phantom{=}\ " + condition)
        else:
            lines[-1] += r" \qquad " + condition
    body = " \\\\\n".join(lines)
    return f"% {step.kind}: {step.id}\n\\begin{{align*}}\n{body}\n\\end{{align*}}"


def environment(templates: Path, printer: _StepPrinter) -> jinja2.Environment:
    env = jinja2.Environment(
        loader=jinja2.FileSystemLoader(str(templates)),
        block_start_string="((*", block_end_string="*))",
        variable_start_string="(((", variable_end_string=")))",
        comment_start_string="((=", comment_end_string="=))",
        trim_blocks=True, lstrip_blocks=True, keep_trailing_newline=True,
        undefined=jinja2.StrictUndefined, autoescape=False)
    env.filters.update(tex=escape_tex, matrix=numeric_matrix, row=row_vector, number=number, latex=latex,
                       size=np.size, ndim=np.ndim)
    env.globals.update(step=printer.display, inline=printer.inline)
    return env


class Renderer:
    """Renders templates into tex_dir in two steps: what needs no verdict can be rendered
    while the checks run; the notes and the key's main file need the verification."""

    def __init__(self, solutions, templates: Path, tex_dir: Path):
        self.steps = solutions.steps
        self.templates, self.tex_dir = templates, tex_dir
        self.printer = _StepPrinter(solutions.steps)
        self.env = environment(templates, self.printer)
        self.written: dict[str, Path] = {}
        tex_dir.mkdir(parents=True, exist_ok=True)

    def render(self, files: dict[str, str], context: dict | None = None) -> None:
        for name, template in files.items():
            text = _render_one(self.env, template, self.templates, context or {})
            path = self.tex_dir / f"{name}.tex"
            header = f"% generated from templates/{template} -- edit the template, not this file\n"
            _write_if_changed(path, header + text)
            self.written[name] = path

    def finish(self) -> Rendered:
        """Check every display of the generated files, then name the documents to typeset."""
        _check_coverage(list(self.written.values()), self.steps, self.printer.shown, self.templates)
        return Rendered(self.tex_dir, {q: self.written[q] for q in DOCUMENTS}, self.printer.shown)


def render(solutions, context: dict, templates: Path, tex_dir: Path) -> Rendered:
    """Render every part and both documents into tex_dir; check the key's displays."""
    renderer = Renderer(solutions, templates, tex_dir)
    renderer.render(NEEDS_NO_VERDICT, context)
    renderer.render(NEEDS_VERDICT, context)
    return renderer.finish()


def _render_one(env, template: str, templates: Path, context: dict) -> str:
    try:
        return env.get_template(template).render(context)
    except jinja2.TemplateSyntaxError as exc:
        where = _relative(exc.filename or str(templates / (exc.name or template)))
        raise TemplateError(f"{where}:{exc.lineno}: {exc.message}") from None
    except jinja2.TemplateNotFound as exc:
        raise TemplateError(f"templates/{template}: template not found: {exc.name}") from None
    except Exception as exc:
        filename, line = _template_frame(exc)
        message = exc.args[0] if isinstance(exc, KeyError) and exc.args else str(exc)
        where = f"{_relative(filename)}:{line}" if filename else f"templates/{template}"
        raise TemplateError(f"{where}: {message}") from None


def _template_frame(exc) -> tuple[str | None, int | None]:
    """The innermost template frame of a rendering error (Jinja rewrites frames to template lines)."""
    found = (None, None)
    for frame in _walk(exc.__traceback__):
        if frame.tb_frame.f_code.co_filename.endswith(".j2"):
            found = (frame.tb_frame.f_code.co_filename, frame.tb_lineno)
    return found


def _walk(tb):
    while tb is not None:
        yield tb
        tb = tb.tb_next


def _relative(filename: str) -> str:
    path = Path(filename)
    return f"templates/{path.name}" if path.parent.name == "templates" else str(path)


def _write_if_changed(path: Path, text: str) -> None:
    """Leave an unchanged file untouched, so latexmk sees nothing to redo."""
    if not path.exists() or path.read_text() != text:
        path.write_text(text)


def _check_coverage(files: list[Path], steps: dict, shown: set[str], templates: Path) -> None:
    problems = []
    for path in files:
        lines = path.read_text().splitlines()
        template = lines[0].split("templates/")[1].split(" ")[0] if "templates/" in lines[0] else "?"
        for number_, line in enumerate(lines, start=1):
            if not _DISPLAY.search(line.split("%")[0] if not line.startswith("%") else ""):
                continue
            above = lines[number_ - 2] if number_ >= 2 else ""
            mark = _MARKER.match(above)
            if not mark:
                hint = _template_line(templates / template, line.strip())
                problems.append(f"{path}:{number_}: a display without a '% verified: <step>' line above it "
                                f"(from templates/{template}{hint}); show equations with "
                                f"((( step(\"<step id>\") ))) so that they are checked")
                continue
            step = steps.get(mark.group(2))
            expected = render_step(step).splitlines() if step else None
            actual = lines[number_ - 2:number_ - 2 + len(expected)] if expected else None
            if step is None or actual != expected:
                problems.append(f"{path}:{number_ - 1}: the display marked '{mark.group(2)}' is not that step's "
                                f"checked formula (from templates/{template}); use ((( step(\"{mark.group(2)}\") )))")
    missing = [s for s in steps if s not in shown]
    if missing:
        problems.append("steps of solutions/ shown nowhere in the key (show each with ((( step(\"id\") ))) "
                        "or remove it): " + ", ".join(missing))
    if problems:
        raise CoverageError("\n".join(problems))


def _template_line(template: Path, text: str) -> str:
    try:
        for number_, line in enumerate(template.read_text().splitlines(), start=1):
            if text and text in line:
                return f":{number_}"
    except OSError:
        pass
    return ""


