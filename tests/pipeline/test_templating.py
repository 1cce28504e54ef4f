"""Templating: the environment every template renders in, and the shared preamble rendered on its own."""
from __future__ import annotations

import subprocess
import sys

import pytest

from pipeline import render, templating, typeset
from pipeline.errors import TemplateError
from pipeline.linemap import LineMap, map_path

from ..conftest import ROOT, edit

ORIGIN = {"commit": "abc1234", "checks": 1}


def test_plain_text_is_escaped_explicitly():
    assert templating.escape_tex("50% of a_b & {c} #1 $") == r"50\% of a\_b \& \{c\} \#1 \$"


def test_the_preamble_renders_alone_with_its_line_map(paths):
    path = templating.render_preamble(paths.templates, paths.tex)
    lines = path.read_text().splitlines()
    assert path == paths.tex / "preamble.tex" and lines[0].startswith("% generated from templates/preamble.tex.j2")
    assert lines[-1] == typeset.FORMAT_END
    documentclass = next(n for n, line in enumerate(lines, start=1) if line.startswith("\\documentclass"))
    origin = LineMap.load(map_path(path)).lookup(documentclass)
    template = (paths.templates / "preamble.tex.j2").read_text().splitlines()
    assert origin.template.endswith("preamble.tex.j2") and template[origin.line - 1] == lines[documentclass - 1]


def test_every_document_begins_with_the_shared_preamble(homework, paths):
    """What typeset.precompile dumps is what each document's main file holds (else no format is used)."""
    shared = typeset.preamble_lines(templating.render_preamble(paths.templates, paths.tex).read_text())
    documents = render.Renderer(homework, paths.templates, paths.tex).documents(ORIGIN)
    assert shared is not None and len(shared) > 5
    for name, main in documents.items():
        assert typeset.preamble_lines(main.read_text()) == shared, name


def test_a_mistake_in_the_preamble_template_is_reported_at_its_line(paths):
    line = edit(paths.templates / "preamble.tex.j2", r"\usepackage{float}", r"\usepackage{float}((( missing )))")
    with pytest.raises(TemplateError, match=rf"templates/preamble.tex.j2:{line}: 'missing' is undefined"):
        templating.render_preamble(paths.templates, paths.tex)


def test_the_preamble_is_rendered_without_importing_the_homework():
    """The build starts precompiling it before the slow imports: templating must not bring them in."""
    # (verify's own __init__ and its few-line verify.stops, for the build's Terminated, are light)
    code = ("import sys; from pipeline import templating, typeset; "
            "print(sorted(m for m in ('sympy', 'numpy', 'solutions', 'verify.engine', 'verify.homework') "
            "if m in sys.modules))")
    out = subprocess.run([sys.executable, "-c", code], cwd=ROOT, capture_output=True, text=True, check=True).stdout
    assert out.strip() == "[]"
