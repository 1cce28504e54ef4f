"""Rendering: template mistakes name their file and line; unchecked displays stop the build."""
import pytest

import build
from pipeline import checks, load, render
from pipeline.errors import CoverageError, TemplateError

from ..conftest import edit


@pytest.fixture(scope="module")
def loaded():
    return load.load_solutions()


@pytest.fixture(scope="module")
def context(loaded, warm_cache):
    return build.render_context(loaded, checks.run(loaded, warm_cache), "abc1234")


def test_the_generated_key_shows_every_step_with_its_marker(paths, loaded, context):
    rendered = render.render(loaded, context, paths.templates, paths.tex)
    assert rendered.shown_steps == set(loaded.steps)
    t1 = (paths.tex / "t1.tex").read_text().splitlines()
    assert t1[0].startswith("% generated from templates/t1.tex.j2")
    starts = [n for n, line in enumerate(t1) if line.startswith(r"\begin{align*}")]
    assert starts and all(t1[n - 1].startswith(("% verified: ", "% definition: ")) for n in starts)


def test_an_undefined_variable_names_the_template_line(paths, loaded, context):
    line = edit(paths.templates / "t1.tex.j2", "\\stephead{Step 2: the local derivative.}",
                "((( delta_hat ))) \\stephead{Step 2: the local derivative.}")
    with pytest.raises(TemplateError, match=rf"templates/t1.tex.j2:{line}: 'delta_hat' is undefined"):
        render.render(loaded, context, paths.templates, paths.tex)


def test_a_syntax_error_names_the_template_line(paths, loaded, context):
    line = edit(paths.templates / "t2.tex.j2", "\\stephead{Step 3: the chain rule}",
                "((* if *)) \\stephead{Step 3: the chain rule}")
    with pytest.raises(TemplateError, match=rf"templates/t2.tex.j2:{line}:"):
        render.render(loaded, context, paths.templates, paths.tex)


def test_an_unknown_step_names_the_template_line(paths, loaded, context):
    line = edit(paths.templates / "t1.tex.j2", 'step("t1.dW.local")', 'step("t1.dW.locl")')
    with pytest.raises(TemplateError, match=rf"templates/t1.tex.j2:{line}: unknown step 't1.dW.locl'"):
        render.render(loaded, context, paths.templates, paths.tex)


def test_a_display_typed_by_hand_is_refused(paths, loaded, context):
    edit(paths.templates / "t2.tex.j2", "\\stephead{Step 3: the local derivative.}",
         "\\begin{equation} f = 0 \\end{equation}\n\\stephead{Step 3: the local derivative.}")
    with pytest.raises(CoverageError, match=r"t2.tex:\d+: a display without a '% verified: <step>' line.*"
                                            r"templates/t2.tex.j2:\d+"):
        render.render(loaded, context, paths.templates, paths.tex)


def test_a_hand_typed_marker_over_another_formula_is_refused(paths, loaded, context):
    edit(paths.templates / "t1.tex.j2", '((( step("t1.db.local") )))',
         '% verified: t1.db.local\n\\begin{align*}\n\\frac{\\partial Y}{\\partial b} &= 2\n\\end{align*}')
    with pytest.raises(CoverageError, match="is not that step's checked formula"):
        render.render(loaded, context, paths.templates, paths.tex)


def test_a_step_shown_nowhere_is_reported(paths, loaded, context):
    edit(paths.templates / "t1.tex.j2", '((( step("t1.dW.shape") )))', "")
    with pytest.raises(CoverageError, match="shown nowhere.*t1.dW.shape"):
        render.render(loaded, context, paths.templates, paths.tex)


def test_plain_text_is_escaped_explicitly():
    assert render.escape_tex("50% of a_b & {c} #1 $") == r"50\% of a\_b \& \{c\} \#1 \$"


def test_unchanged_files_are_not_rewritten(paths, loaded, context):
    render.render(loaded, context, paths.templates, paths.tex)
    before = {f: f.stat().st_mtime_ns for f in paths.tex.iterdir()}
    render.render(loaded, context, paths.templates, paths.tex)
    assert before == {f: f.stat().st_mtime_ns for f in paths.tex.iterdir()}


def test_inline_shows_one_side_of_a_step(paths, loaded, context):
    edit(paths.templates / "t1.tex.j2", "\\stephead{Shape check.}",
         "So $\\partial L / \\partial X = ((( inline(\"t1.dX.vectorized\") )))$. \\stephead{Shape check.}")
    render.render(loaded, context, paths.templates, paths.tex)
    assert r"\operatorname{pad}_{p - 1}\!\left(\delta\right) \star" in (paths.tex / "t1.tex").read_text()
