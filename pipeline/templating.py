"""The Jinja2 side of rendering: the templates' environment, and one template written out with its line map.

Light on purpose (jinja2 and the line maps, nothing of the homework): the build
renders the shared preamble with it first, so that LaTeX can precompile the
preamble while Python is still loading the homework (pipeline.render does the rest).
"""
from __future__ import annotations

from collections.abc import Callable, Mapping, Sequence
from pathlib import Path
from typing import Any

import jinja2

from verify.wording import plural

from . import linemap
from .errors import TemplateError

# templates/preamble.tex.j2 -> preamble.tex: the class and packages every document shares, which
# pipeline.typeset precompiles
PREAMBLE = "preamble"

_LATEX_SPECIAL = {"&": r"\&", "%": r"\%", "$": r"\$", "#": r"\#", "_": r"\_", "{": r"\{", "}": r"\}",
                  "~": r"\textasciitilde{}", "^": r"\textasciicircum{}", "\\": r"\textbackslash{}"}


def escape_tex(text) -> str:
    """Plain text made safe for LaTeX: the explicit filter `tex`."""
    return "".join(_LATEX_SPECIAL.get(ch, ch) for ch in str(text))


Templates = Path | Sequence[Path]   # a folder, or folders searched in order (a homework's own, then a shared frame)


def environment(templates: Templates, functions: Mapping[str, Callable[..., Any]] | None = None) -> jinja2.Environment:
    """The templates' environment: LaTeX-friendly delimiters, the `tex` filter, `functions` as globals,
    and line tracking (pipeline.linemap)."""
    folders = [templates] if isinstance(templates, Path) else list(templates)
    env = jinja2.Environment(
        loader=jinja2.FileSystemLoader([str(folder) for folder in folders]),
        block_start_string="((*", block_end_string="*))",
        variable_start_string="(((", variable_end_string=")))",
        comment_start_string="((=", comment_end_string="=))",
        trim_blocks=True, lstrip_blocks=True, keep_trailing_newline=True,
        undefined=jinja2.StrictUndefined, autoescape=False)
    env.filters.update(tex=escape_tex, plural=plural)   # ((( n|plural("point") ))): 1 point, 2 points
    env.globals.update(functions or {})
    return linemap.tracking_environment(env)


def render_file(env: jinja2.Environment, template: str, path: Path, context: Mapping[str, Any]) -> Path:
    """Render `template` into `path` (unchanged files are left alone) and its line map beside it.

    Any error of the template, or of a function it calls, is a TemplateError at the
    template's file:line.
    """
    header = f"% generated from templates/{template} -- edit the template, not this file\n"
    try:
        marked = header + env.get_template(template).render(context)
    except jinja2.TemplateSyntaxError as exc:
        raise TemplateError(f"{_relative(exc.filename, template)}:{exc.lineno}: {exc.message}") from None
    except jinja2.TemplateNotFound as exc:
        raise TemplateError(f"templates/{template}: template not found: {exc.name}") from None
    except Exception as exc:
        filename, line = _template_frame(exc)
        message = exc.args[0] if isinstance(exc, KeyError) and exc.args else str(exc)
        where = f"{_relative(filename, template)}:{line}" if filename else f"templates/{template}"
        raise TemplateError(f"{where}: {message}") from None
    text, lines = linemap.strip(marked)
    path.parent.mkdir(parents=True, exist_ok=True)
    _write_if_changed(path, text)
    lines.save(linemap.map_path(path))
    return path


def render_preamble(templates: Templates, tex_dir: Path) -> Path:
    """The shared preamble alone, as <tex_dir>/preamble.tex: what LaTeX precompiles."""
    return render_file(environment(templates), f"{PREAMBLE}.tex.j2", tex_dir / f"{PREAMBLE}.tex", {})


def _template_frame(exc) -> tuple[str | None, int | None]:
    """The innermost template frame of a rendering error (Jinja rewrites frames to template lines)."""
    found: tuple[str | None, int | None] = (None, None)
    tb = exc.__traceback__
    while tb is not None:
        if tb.tb_frame.f_code.co_filename.endswith(".j2"):
            found = (tb.tb_frame.f_code.co_filename, tb.tb_lineno)
        tb = tb.tb_next
    return found


def _relative(filename: str | None, template: str) -> str:
    if not filename:
        return f"templates/{template}"
    path = Path(filename)
    return f"templates/{path.name}" if path.parent.name == "templates" else str(path)


def _write_if_changed(path: Path, text: str) -> None:
    """Leave an unchanged file untouched, so latexmk sees nothing to redo."""
    if not path.exists() or path.read_text() != text:
        path.write_text(text)
