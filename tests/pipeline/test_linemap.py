"""Line maps: sentinels never change what a template renders, and lead back to template lines."""
import warnings
from pathlib import Path

import jinja2
import jinja2.meta
import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from pipeline import linemap, typeset
from pipeline.errors import LatexFailed
from pipeline.linemap import LineMap, Origin

ROOT = Path(__file__).resolve().parents[2]


def environment(loader) -> jinja2.Environment:
    """The project's template syntax and whitespace options."""
    return jinja2.Environment(
        loader=loader, block_start_string="((*", block_end_string="*))",
        variable_start_string="(((", variable_end_string=")))",
        comment_start_string="((=", comment_end_string="=))",
        trim_blocks=True, lstrip_blocks=True, keep_trailing_newline=True,
        undefined=jinja2.StrictUndefined, autoescape=False)


def display(step_id) -> str:
    """Like the project's step(): a Python global returning several lines."""
    return f"% verified: {step_id}\n\\begin{{align*}}\nx &= {step_id} \\\\\n&= y\n\\end{{align*}}"


def both(templates: dict[str, str], name: str, context: dict | None = None):
    """Render `name` without and with line tracking; return (plain, stripped, line map)."""
    plain = environment(jinja2.DictLoader(templates))
    plain.globals.update(step=display)
    tracked = linemap.tracking_environment(plain)
    expected = plain.get_template(name).render(context or {})
    with warnings.catch_warnings():
        warnings.simplefilter("error", linemap.LineTrackingWarning)
        text, lines = linemap.strip(tracked.get_template(name).render(context or {}))
    return expected, text, lines


def origins(text: str, lines: LineMap) -> dict[str, Origin | None]:
    return {line: lines.lookup(n) for n, line in enumerate(text.split("\n"), start=1) if line.strip()}


DOC = """\
((= a comment
    over two lines =))
\\section{Intro}
Prose with ((( name ))) in it.
  ((* if flag *))
  Shown when flagged.
  ((* endif *))
((* for i in items *))
\\item ((( i )))
\\item again ((( i ))) ((( step("s" ~ i) )))
((* endfor *))
A long expression: ((( "%s-%s" | format(
    name,
    "two") )))
after it.
((* macro box(x) *))
  boxed ((( x ))).
((* endmacro *))
Call: ((( box(1)|trim ))) and ((( box(2)|length ))).
((* set captured *))
captured ((( name )))
((* endset *))
Captured ((( captured|length ))) characters.
((* filter upper *))
shouted
((* endfilter *))
((* raw *))
raw ((( not a tag ))) here
((* endraw *))
Trimmed ((( name -)))
   glued.
Left   (((- name ))) glued.
end
"""


def test_stripped_output_is_the_plain_output_and_lines_map_back():
    expected, text, lines = both({"doc.tex.j2": DOC}, "doc.tex.j2",
                                 {"name": "N", "flag": True, "items": [1, 2]})
    assert text == expected
    where = origins(text, lines)
    assert where["\\section{Intro}"] == ("doc.tex.j2", 3)
    assert where["Prose with N in it."] == ("doc.tex.j2", 4)
    assert where["  Shown when flagged."] == ("doc.tex.j2", 6)
    assert where["\\item 1"] == ("doc.tex.j2", 9) and where["\\item 2"] == ("doc.tex.j2", 9)
    # a Python global's lines belong to the line that called it
    assert where["\\item again 1 % verified: s1"] == ("doc.tex.j2", 10)
    assert where["x &= s1 \\\\"] == ("doc.tex.j2", 10) and where["x &= s2 \\\\"] == ("doc.tex.j2", 10)
    assert where["A long expression: N-two"] == ("doc.tex.j2", 12)
    assert where["after it."] == ("doc.tex.j2", 15)
    # macro and block-set bodies carry no sentinels (their value is measured): the caller's line
    assert where["Call: boxed 1. and 11."] == ("doc.tex.j2", 19)
    assert where["SHOUTED"] == ("doc.tex.j2", 23)  # the filter block maps to the line before it
    assert where["raw ((( not a tag ))) here"] == ("doc.tex.j2", 28)
    assert where["Trimmed Nglued."] == ("doc.tex.j2", 30)  # `-)))` ate the next line's start
    assert where["LeftN glued."] == ("doc.tex.j2", 32)  # `(((-` strips after the sentinel
    assert where["end"] == ("doc.tex.j2", 33)


def test_block_lines_keep_trim_and_lstrip_and_map_after_their_statement():
    template = ("((* for i in items *))  ((( i )))((* endfor *))\n"
                "\n"
                "text ((* if flag *))\n"
                "   ((* for i in items *))((( i ))),((* endfor *))\n"
                "\n"
                "((* endif *))\n"
                "last\n")
    expected, text, lines = both({"t.j2": template}, "t.j2", {"items": [1, 2], "flag": True})
    assert text == expected == "  1  2\ntext 1,2,\nlast\n"
    assert [lines.lookup(n) for n in (1, 2, 3)] == [("t.j2", 1), ("t.j2", 3), ("t.j2", 7)]


def test_included_and_inherited_templates_map_to_their_own_files():
    templates = {
        "base.j2": "\\documentclass{article}\n((* block body *))\nbase body\n((* endblock *))\n"
                   "((* include 'part.j2' *))\nbase end\n",
        "child.j2": "((= a child =))\n((* extends 'base.j2' *))\n((* block body *))\n"
                    "child body\n((( super() )))\n((* endblock *))\n",
        "part.j2": "\n\npart line 3\n",
    }
    expected, text, lines = both(templates, "child.j2")
    assert text == expected
    where = origins(text, lines)
    assert where["\\documentclass{article}"] == ("base.j2", 1)
    assert where["child body"] == ("child.j2", 4)
    assert where["base body"] == ("base.j2", 3)
    assert where["part line 3"] == ("part.j2", 3)
    assert where["base end"] == ("base.j2", 6)


def test_lines_before_any_sentinel_map_to_nothing():
    text, lines = linemap.strip("% a header written by the renderer\nplain\n")  # noqa: B005 - linemap.strip, not str.strip
    assert text == "% a header written by the renderer\nplain\n"
    assert len(lines) == 2 and lines.lookup(1) is None and lines.lookup(2) is None and lines.lookup(3) is None


def test_a_damaged_sentinel_is_refused_not_written():
    with pytest.raises(ValueError, match="damaged line marker on output line 2"):
        linemap.strip("fine\ncut \ue0000.3")


def test_line_maps_round_trip_through_json(tmp_path):
    expected, text, lines = both({"a.j2": "x\n((( step('s') )))\ny\n"}, "a.j2")
    path = linemap.map_path(tmp_path / "a.tex")
    assert path.name == "a.tex.map.json"
    lines.save(path)
    assert LineMap.load(path) == lines
    assert LineMap.load(path).lookup(3) == ("a.j2", 2)
    before = path.stat().st_mtime_ns
    lines.save(path)  # unchanged: untouched
    assert path.stat().st_mtime_ns == before


def test_the_map_knows_each_templates_file(tmp_path):
    (tmp_path / "t.tex.j2").write_text("one\ntwo\n")
    env = linemap.tracking_environment(environment(jinja2.FileSystemLoader(str(tmp_path))))
    text, lines = linemap.strip(env.get_template("t.tex.j2").render())
    assert lines.lookup(2) == ("t.tex.j2", 2)
    assert lines.filename("t.tex.j2") == str(tmp_path / "t.tex.j2")


def test_template_error_lines_are_unchanged(tmp_path):
    (tmp_path / "bad.j2").write_text("a\n((( ok )))\n((* if x *))\n((( missing.attr )))\n((* endif *))\n")
    (tmp_path / "syntax.j2").write_text("a\nb\n((* if *))\n")

    def failing_line(env, name):
        try:
            env.get_template(name).render(ok=1, x=True)
        except jinja2.TemplateSyntaxError as exc:
            return exc.lineno
        except jinja2.UndefinedError as exc:
            tb, line = exc.__traceback__, None
            while tb is not None:
                if tb.tb_frame.f_code.co_filename.endswith(name):
                    line = tb.tb_lineno
                tb = tb.tb_next
            return line

    plain = environment(jinja2.FileSystemLoader(str(tmp_path)))
    tracked = linemap.tracking_environment(plain)
    assert failing_line(plain, "bad.j2") == failing_line(tracked, "bad.j2") == 4
    assert failing_line(plain, "syntax.j2") == failing_line(tracked, "syntax.j2") == 3


def test_globals_added_after_wrapping_are_seen():
    plain = environment(jinja2.DictLoader({"g.j2": "((( late() )))\n"}))
    tracked = linemap.tracking_environment(plain)
    plain.globals["late"] = lambda: "added later"
    assert linemap.strip(tracked.get_template("g.j2").render())[0] == "added later\n"


def test_a_template_the_scanner_gets_wrong_is_rendered_unmarked(monkeypatch):
    # the safety net: a sentinel that would change the tokens (here: inside a tag) is never used
    monkeypatch.setattr(linemap, "_sentinel_points", lambda source, env: [(1, source.index("x"))])
    env = environment(jinja2.DictLoader({}))
    with pytest.warns(linemap.LineTrackingWarning, match="t.j2: line tracking would change"):
        assert linemap.mark_source("a ((( x ))) b\n", env, "t.j2") == "a ((( x ))) b\n"


# --- every real template -------------------------------------------------------------------

class Anything:
    """A stand-in for any context value: attributes, items, calls, arithmetic, iteration."""

    def __getattr__(self, name):
        if name.startswith("__"):
            raise AttributeError(name)
        return Anything()

    def __getitem__(self, key):
        return Anything()

    def __call__(self, *args, **kwargs):
        return Anything()

    def __iter__(self):
        return iter([Anything(), Anything()])

    def __len__(self):
        return 2

    def __index__(self):
        return 2

    def __str__(self):
        return "any"

    def __hash__(self):
        return 0

    def __eq__(self, other):
        return False

    def __lt__(self, other):
        return False

    __le__ = __gt__ = __ge__ = __lt__

    def _same(self, *args):
        return Anything()

    __add__ = __radd__ = __sub__ = __rsub__ = __mul__ = __rmul__ = __truediv__ = __rtruediv__ = __neg__ = _same


class AnyFilters(dict):
    """Jinja's own filters, the project's (as simple stand-ins) and any other name as identity."""

    def __contains__(self, name):
        return True

    def get(self, name, default=None):
        return dict.get(self, name, lambda value, *args, **kwargs: value)

    def __getitem__(self, name):
        return self.get(name)


def real_environment(loader):
    env = environment(loader)
    env.undefined = jinja2.Undefined
    env.filters = AnyFilters(env.filters)
    env.filters.update(tex=str, number=str, latex=str, row=str, size=lambda v: 2, ndim=lambda v: 2,
                       matrix=lambda v: "\\begin{bmatrix}\n1 & 2 \\\\\n3 & 4\n\\end{bmatrix}")
    env.globals.update(step=display, inline=lambda *a, **k: "inline")
    return env


REAL = sorted(p.name for p in (ROOT / "templates").glob("*.j2"))


@pytest.mark.parametrize("name", REAL)
def test_every_real_template_renders_byte_identically(name):
    plain = real_environment(jinja2.FileSystemLoader(str(ROOT / "templates")))
    tracked = linemap.tracking_environment(plain)
    source = (ROOT / "templates" / name).read_text()
    names = jinja2.meta.find_undeclared_variables(plain.parse(source))
    for parent in jinja2.meta.find_referenced_templates(plain.parse(source)):
        if parent:
            names |= jinja2.meta.find_undeclared_variables(
                plain.parse((ROOT / "templates" / parent).read_text()))
    context = {n: Anything() for n in names if n not in plain.globals}
    expected = plain.get_template(name).render(context)
    with warnings.catch_warnings():
        warnings.simplefilter("error", linemap.LineTrackingWarning)
        text, lines = linemap.strip(tracked.get_template(name).render(context))
    assert text == expected
    assert len(lines) == expected.count("\n") + (not expected.endswith("\n"))
    # every line with a template's own text maps to a line of that template holding the text
    sources = {}
    for n, line in enumerate(text.split("\n"), start=1):
        origin = lines.lookup(n)
        if origin is None or not line.strip():
            continue
        if origin.template not in sources:
            sources[origin.template] = (ROOT / "templates" / origin.template).read_text().split("\n")
        template_line = sources[origin.template][origin.line - 1]
        if not any(tag in template_line for tag in ("(((", "((*", "((=")):
            assert template_line.strip() in line, (n, line, origin)


# --- whatever the templates contain ------------------------------------------------------

FRAGMENTS = [
    "plain text", "  indented ((( x ))) text", "((( x )))", "((( x )))((( x )))", "",
    "((* if flag *))\nyes\n((* else *))\nno\n((* endif *))",
    "   ((* if flag *))\n   yes\n   ((* endif *))",
    "((*- if flag -*))\n  trimmed\n((*- endif *))",
    "((*+ if flag +*))\n  kept\n((*+ endif +*))",
    "((( x -)))\n   after strip", "before strip\n\n   (((- x )))", "((( x -)))", "  (((- x )))",
    "((= comment =))", "((= a comment\nover lines =))", "((=- stripped comment -=))", "text ((= c =)) text",
    "((* for i in items *))\n  item ((( i )))\n  again ((( i )))\n((* endfor *))",
    "((* for i in items *))((( i ))),((* endfor *))",
    "((( f(\n  'a)))'\n) )))", "((( {'k': (1, [2, ')))'])} )))", '((( "*))" ~ "((*" )))',
    "((* raw *))\n((( not a tag ))) ((* nor this *))\n((* endraw *))",
    "((* set s *))\nset body ((( x )))\n((* endset *))((( s|length )))",
    "((* set t = x ~ 'y' *))((( t )))",
    "((* macro m(a) *))\n   m ((( a )))\n((* endmacro *))((( m(1)|trim ))) ((( m(2)|length )))",
    "((* filter upper *))\nfiltered ((( x )))\n((* endfilter *))",
    "((* macro c() *))((( caller()|length )))((* endmacro *))((* call c() *))\ncalled\n((* endcall *))",
    "x ((* if flag *))y((* endif *)) z", "((* if flag *))  \n((* endif *))", "\t\t", "((( multi() )))",
    "((* include 'inc.j2' *))", "text ((* include 'inc.j2' *)) text",
]
SEPARATORS = ["\n", "\n\n", " ", "  \n  ", "", "\n\t", " \n"]


# as many mixes as the profile says (tests/conftest.py): 400 in `make test`
@settings(suppress_health_check=[HealthCheck.too_slow])
@given(st.lists(st.tuples(st.sampled_from(FRAGMENTS), st.sampled_from(SEPARATORS)), max_size=12), st.booleans())
def test_any_mix_of_constructs_renders_identically(parts, flag):
    source = "".join(fragment + separator for fragment, separator in parts)
    templates = {"main.j2": source, "inc.j2": "  included ((( x )))\n((* if flag *))\nflagged\n((* endif *))\n"}
    try:
        environment(jinja2.DictLoader(templates)).get_template("main.j2")
    except jinja2.TemplateSyntaxError:
        return  # fragments glued into something Jinja refuses: nothing to compare
    context = {"x": "X", "flag": flag, "items": ["a", "b"], "f": lambda *a: "F", "multi": lambda: "m1\nm2\n  m3"}
    expected, text, _ = both(templates, "main.j2", context)
    assert text == expected


# --- through LaTeX --------------------------------------------------------------------------

def render_to_tex(templates: Path, name: str, tex_dir: Path) -> Path:
    """What a renderer does: render with tracking, strip, write the .tex and its map."""
    env = linemap.tracking_environment(environment(jinja2.FileSystemLoader(str(templates))))
    header = f"% generated from templates/{name} -- edit the template, not this file\n"
    text, lines = linemap.strip(header + env.get_template(f"{name}.tex.j2").render(title="A title"))
    tex_dir.mkdir(parents=True, exist_ok=True)
    (tex_dir / f"{name}.tex").write_text(text)
    lines.save(linemap.map_path(tex_dir / f"{name}.tex"))
    return tex_dir / f"{name}.tex"


def line_of(path: Path, text: str) -> int:
    return next(n for n, line in enumerate(path.read_text().splitlines(), start=1) if text in line)


@pytest.mark.latex
def test_a_latex_error_in_prose_is_reported_at_the_template_line(tmp_path):
    templates = tmp_path / "templates"
    templates.mkdir()
    (templates / "doc.tex.j2").write_text(
        "((= a document =))\n\\documentclass{article}\n\\begin{document}\n((* for i in range(3) *))\n"
        "Paragraph ((( i ))).\n\n((* endfor *))\n\\section{((( title )))}\n"
        "Some prose with a \\foo typed in it.\n\\end{document}\n")
    tex = render_to_tex(templates, "doc", tmp_path / "tex")
    with pytest.raises(LatexFailed) as failure:
        typeset.start({"doc": tex}, tmp_path / "latex", 0).wait()
    message = str(failure.value)
    generated = line_of(tex, "\\foo")
    assert generated != 9  # the loop and the header moved it: only the map knows
    assert message.splitlines()[0] == f"{templates / 'doc.tex.j2'}:9: LaTeX error: Undefined control sequence."
    assert f"> {generated:4d} | Some prose with a \\foo typed in it." in message


@pytest.mark.latex
def test_a_latex_error_in_a_base_template_is_reported_in_the_base(tmp_path):
    templates = tmp_path / "templates"
    templates.mkdir()
    (templates / "base.tex.j2").write_text(
        "\\documentclass{article}\n((* block preamble *))\n((* endblock *))\n\\begin{document}\n"
        "((* block body *))\n((* endblock *))\n\n\\baseerror at the end of the base\n\\end{document}\n")
    (templates / "child.tex.j2").write_text(
        "((= extends the base =))\n((* extends 'base.tex.j2' *))\n((* block body *))\n"
        "The child's body.\n\n((* endblock *))\n")
    tex = render_to_tex(templates, "child", tmp_path / "tex")
    with pytest.raises(LatexFailed) as failure:
        typeset.start({"child": tex}, tmp_path / "latex", 0).wait()
    assert str(failure.value).splitlines()[0] == \
        f"{templates / 'base.tex.j2'}:8: LaTeX error: Undefined control sequence."
    assert "child.tex.j2" not in str(failure.value)
