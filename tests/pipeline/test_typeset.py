"""Typesetting: a LaTeX error names the generated file, its line and its template; TeX must be there."""
import pytest

import build
from pipeline import typeset
from pipeline.errors import LatexFailed, MissingTool

from ..conftest import edit


def test_a_latex_error_names_the_generated_file_line_and_template(paths):
    edit(paths.templates / "t2.tex.j2", "Compute the back propagation expression",
         "\\undefinedmacroxyz Compute the back propagation expression")
    with pytest.raises(LatexFailed) as failure:
        build.build(paths)
    message = str(failure.value)
    tex = (paths.tex / "t2.tex").read_text().splitlines()
    line = next(n for n, text in enumerate(tex, start=1) if "undefinedmacroxyz" in text)
    assert f"t2.tex:{line}: LaTeX error: Undefined control sequence" in message
    assert f"> {line:4d} | \\undefinedmacroxyz" in message
    assert "templates/t2.tex.j2" in message
    assert message.count("Undefined control sequence") == 1  # both documents failed; one report


def test_shell_escape_is_off(paths):
    edit(paths.templates / "t2.tex.j2", "Compute the back propagation expression",
         "\\immediate\\write18{touch pwned} Compute the back propagation expression")
    build.build(paths)
    assert not (paths.latex / "pwned").exists() and not (paths.tex / "pwned").exists()


def test_missing_latex_is_one_message_naming_the_packages(monkeypatch, tmp_path):
    monkeypatch.setenv("PATH", str(tmp_path))
    with pytest.raises(MissingTool, match="latexmk and pdflatex not found.*apt-get install .*latexmk"):
        typeset.require_latex()
