"""Line maps: which template line each line of a generated .tex file came from.

LaTeX reports errors at lines of the generated file (build/tex/t2.tex:57), which
nobody edits; Jinja2 knows template lines only while it renders.  This module
carries template lines through rendering and out again:

1. `TrackingLoader` wraps a Jinja2 loader (or `tracking_environment(env)` wraps a
   whole environment).  Before Jinja compiles a template it puts an invisible
   *sentinel* -- U+E000, a file id, ".", the line number, U+E001 -- on each line
   of the template source where it cannot change what the template renders.
2. The template renders as usual; each sentinel comes out wherever its line's
   text comes out: once per loop iteration, inside included or inherited
   templates (under their own file's id), and not at all in a branch not taken.
3. `strip(text)` removes the sentinels and returns a `LineMap`: for every line
   of the output, the (template, line) it came from.  A line without a sentinel
   (text returned by a Python function, a display that spans several lines)
   belongs to the nearest sentinel before it, i.e. the template line that
   produced it.  Save it next to the generated file (`map_path`), and
   pipeline.typeset reports LaTeX errors at the template's line.

How a renderer uses it::

    env = linemap.tracking_environment(env)
    marked = header + env.get_template("t2.tex.j2").render(context)
    text, lines = linemap.strip(marked)        # strip the whole file, header included
    path.write_text(text)
    lines.save(linemap.map_path(path))         # build/tex/t2.tex.map.json

Where a sentinel goes, and where it does not.  A line gets its sentinel at its
start, or else right after a block statement or comment that ends on it, but
never where it could change the output:

* not inside a tag ((( ))), ((* *)) or comment ((= =)), which may span lines (a
  small scanner finds them with the environment's own delimiters, skipping
  string literals and nested brackets the way Jinja's lexer does);
* not at the start of a line whose first block statement or comment has only
  whitespace before it (lstrip_blocks would strip that whitespace, and a
  sentinel is not whitespace), nor right before the newline that trim_blocks
  removes;
* not in whitespace that a "-" modifier (`((*-`, `-)))`, ...) strips;
* not inside `macro`, `call`, `filter` or block `set` bodies: their output is a
  value the template may measure, compare or filter (`m()|trim`) before it is
  output, so those lines map to the line that calls the macro or uses the value.
  Raw blocks are marked: their text is output verbatim, so are the sentinels.

Every marked source is checked before it is used: Jinja's own lexer must give
the same tokens for it as for the original, sentinels aside.  If a template
defeats the scanner, it is rendered unmarked (its output then maps to the line
that included it) and a `LineTrackingWarning` says so; the output is never
changed.

Limits: a template's own output is exactly the original once stripped, but a
value that *contains* marked template output and is measured or cut apart --
`self.title()|length`, `super()|trim`, a template included inside a macro or
block `set`, a global that parses `caller()` -- sees the sentinels (a sentinel
cut apart makes `strip` fail loudly rather than write it).  Sentinel ids are
kept per process: strip in the process that rendered.  A parse error's
`exc.source` holds the marked source (its message and line do not).  Text that
itself contains U+E000/U+E001 (Unicode private use) is not supported.  Line
numbers count "\\n"-separated lines, as TeX does.
"""
from __future__ import annotations

import json
import os
import re
import threading
import warnings
from bisect import bisect_left, bisect_right
from collections.abc import Iterable, Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import NamedTuple

import jinja2

__all__ = ["Origin", "LineMap", "TrackingLoader", "LineTrackingWarning", "tracking_environment",
           "mark_source", "strip", "map_path"]

_OPEN, _CLOSE = "\ue000", "\ue001"
_SENTINEL = re.compile(f"{_OPEN}(\\d+)\\.(\\d+){_CLOSE}")
_FORMAT = "template-linemap/1"
# bodies whose output is a value, not output: see "Where a sentinel goes"
_VALUE_BODIES = {"macro": "endmacro", "call": "endcall", "filter": "endfilter", "set": "endset"}
_NEWLINE = re.compile(r"\r\n|\r|\n")     # Jinja's own notion of a line break in template source
_INLINE_SET = re.compile(r"(?<![=!<>])=(?!=)")  # `set x = ...` has no body; `set x` / `set x | f` has
_STRINGS = {q: re.compile(rf"{q}(?:[^{q}\\]|\\.)*{q}", re.S) for q in "'\""}  # Jinja's string literals


class Origin(NamedTuple):
    """A template line: the template's name (as Jinja knows it) and the 1-based line."""
    template: str
    line: int


class LineTrackingWarning(UserWarning):
    """A template could not be marked; its output maps to the line that included it."""


# Sentinels carry a small id instead of the template's name, to keep rendered text short;
# the registry is process-wide so that `strip` needs no environment.
_registry_lock = threading.Lock()
_ids: dict[tuple[str, str | None], int] = {}
_sources: list[tuple[str, str | None]] = []


def _template_id(name: str, filename: str | None) -> int:
    key = (name, os.path.abspath(filename) if filename else None)
    with _registry_lock:
        if key not in _ids:
            _ids[key] = len(_sources)
            _sources.append(key)
        return _ids[key]


class LineMap:
    """For each line of a generated file, the template line it came from (or None)."""

    def __init__(self, origins: Sequence[Origin | None], filenames: dict[str, str | None] | None = None):
        self._origins = list(origins)
        self._filenames = dict(filenames or {})

    def lookup(self, line: int) -> Origin | None:
        """The template line that produced `line` (1-based) of the generated file, or None
        for lines before the first sentinel (e.g. a header) and lines past the end."""
        if 1 <= line <= len(self._origins):
            return self._origins[line - 1]
        return None

    def filename(self, template: str) -> str | None:
        """The template's file on disk (absolute), when its loader named one."""
        return self._filenames.get(template)

    def __len__(self) -> int:
        return len(self._origins)

    def __eq__(self, other) -> bool:
        return isinstance(other, LineMap) and (self._origins, self._filenames) == (other._origins, other._filenames)

    def __repr__(self) -> str:
        return f"LineMap({len(self._origins)} lines, templates={sorted(self._filenames)})"

    def to_json(self) -> str:
        names = sorted(self._filenames)
        index = {name: i for i, name in enumerate(names)}
        data = {"format": _FORMAT,
                "templates": [{"name": n, "filename": self._filenames[n]} for n in names],
                "lines": [None if o is None else [index[o.template], o.line] for o in self._origins]}
        return json.dumps(data, separators=(",", ":"))

    @classmethod
    def from_json(cls, text: str) -> LineMap:
        data = json.loads(text)
        if data.get("format") != _FORMAT:
            raise ValueError(f"not a line map ({_FORMAT}): format {data.get('format')!r}")
        templates = [(t["name"], t["filename"]) for t in data["templates"]]
        origins = [None if o is None else Origin(templates[o[0]][0], o[1]) for o in data["lines"]]
        return cls(origins, dict(templates))

    def save(self, path: Path) -> None:
        """Write the map as JSON; an unchanged map is left untouched (as the renderer does for .tex)."""
        text = self.to_json()
        try:
            if path.read_text() == text:
                return
        except OSError:
            pass
        path.write_text(text)

    @classmethod
    def load(cls, path: Path) -> LineMap:
        return cls.from_json(path.read_text())


def map_path(tex: Path) -> Path:
    """Where the line map of a generated file lives: `t2.tex` -> `t2.tex.map.json` beside it."""
    return tex.with_name(tex.name + ".map.json")


def strip(text: str) -> tuple[str, LineMap]:
    """Remove the sentinels from rendered text; return the clean text and its line map.

    A line maps to the sentinel just before its first text (the innermost one, when a
    line starts with several: `((( super() )))` and then the parent's own line); a line
    without one, or one that starts with the rest of an earlier line's output, maps to
    the last sentinel before it (the template line whose expression or global produced
    it).  Raises
    ValueError if a sentinel was damaged (a filter cut one apart), since the text
    would then not be the template's real output.
    """
    origins: list[Origin | None] = []
    filenames: dict[str, str | None] = {}
    clean: list[str] = []
    current: Origin | None = None
    lines = text.split("\n")
    for number, line in enumerate(lines, start=1):
        found = list(_SENTINEL.finditer(line)) if _OPEN in line else []
        # the line belongs to the sentinel right before its first character of text; a line that
        # starts with the rest of a previous line's expression (a multi-line display) to the
        # sentinel before it, unless there is none
        governing, pos = current, 0
        for match in found:
            if line[pos:match.start()].strip():
                break
            governing, pos = _origin(match, filenames), match.end()
        if found:
            if governing is None:
                governing = _origin(found[0], filenames)
            current = _origin(found[-1], filenames)
            line = _SENTINEL.sub("", line)
        if _OPEN in line or _CLOSE in line:
            raise ValueError(f"a damaged line marker on output line {number}: a filter cut it apart")
        origins.append(governing)
        clean.append(line)
    if lines[-1] == "":
        origins.pop()  # text ending in "\n" has no further line
    return "\n".join(clean), LineMap(origins, filenames)


def _origin(match: re.Match, filenames: dict[str, str | None]) -> Origin:
    template_id = int(match.group(1))
    try:
        name, filename = _sources[template_id]
    except IndexError:
        raise ValueError(f"line marker of unknown template id {template_id} "
                         "(rendered in another process?)") from None
    filenames[name] = filename
    return Origin(name, int(match.group(2)))


class TrackingLoader(jinja2.BaseLoader):
    """Wraps a loader so that every template it loads carries line sentinels.

    Template error line numbers are unchanged (sentinels add no lines), and so is
    the rendered text once `strip` has removed the sentinels.
    """

    def __init__(self, loader: jinja2.BaseLoader):
        self.loader = loader
        self.has_source_access = loader.has_source_access

    def get_source(self, environment: jinja2.Environment, template: str):
        source, filename, uptodate = self.loader.get_source(environment, template)
        return mark_source(source, environment, template, filename), filename, uptodate

    def list_templates(self) -> list[str]:
        return self.loader.list_templates()


def tracking_environment(env: jinja2.Environment) -> jinja2.Environment:
    """An overlay of `env` (same filters, globals and options) whose templates carry sentinels."""
    if env.loader is None:
        raise ValueError("the environment has no loader to wrap")
    return env.overlay(loader=TrackingLoader(env.loader))


def mark_source(source: str, environment: jinja2.Environment, name: str, filename: str | None = None) -> str:
    """The template source with a sentinel on every line where one cannot change the output.

    A template that does not lex is returned unchanged, so that Jinja reports its
    syntax error exactly as it would without tracking.
    """
    if _OPEN in source or _CLOSE in source:
        warnings.warn(f"{name}: contains U+E000/U+E001, which line tracking uses; not tracked",
                      LineTrackingWarning, stacklevel=2)
        return source
    try:
        expected = _tokens(environment, source, name)
    except jinja2.TemplateSyntaxError:
        return source
    template_id = _template_id(name, filename)
    points = _sentinel_points(source, environment)
    pieces, last = [], 0
    for line, at in points:
        pieces += [source[last:at], f"{_OPEN}{template_id}.{line}{_CLOSE}"]
        last = at
    marked = "".join(pieces) + source[last:]
    try:
        same = _tokens(environment, marked, name) == expected
    except jinja2.TemplateSyntaxError:
        same = False
    if not same:
        warnings.warn(f"{name}: line tracking would change how this template lexes; rendered without it "
                      "(its lines map to the line that includes it)", LineTrackingWarning, stacklevel=2)
        return source
    return marked


def _tokens(environment: jinja2.Environment, source: str, name: str) -> list[tuple[int, str, str]]:
    """Jinja's tokens with sentinels removed from the text between tags: rendering depends on nothing else."""
    tokens = []
    for lineno, kind, value in environment.lex(source, name):
        if kind == "data":
            value = _SENTINEL.sub("", value)
            if not value:
                continue
        tokens.append((lineno, kind, value))
    return tokens


@dataclass
class _Tag:
    kind: str        # "block", "variable", "comment", "raw_begin" or "raw_end"
    start: int       # offset of the opening delimiter
    end: int         # offset just past the closing delimiter
    lstrip: str      # "-", "+" or "": the modifier after the opening delimiter
    rstrip: str      # the modifier before the closing delimiter
    keyword: str     # a block's first word ("for", "endmacro", ...), else ""
    body: str        # what is between the delimiters and modifiers


def _scan(source: str, env: jinja2.Environment) -> list[_Tag]:
    """The tags of a template in order, found as Jinja's lexer finds them."""
    e = re.escape
    bs, be = env.block_start_string, env.block_end_string
    starts = [(len(env.block_start_string), "block", bs), (len(env.variable_start_string), "variable",
              env.variable_start_string), (len(env.comment_start_string), "comment", env.comment_start_string)]
    # Jinja tries raw first, then the longer delimiters (its compile_rules order)
    alternatives = [rf"(?P<raw_begin>{e(bs)}(?P<raw_l>[-+]?)\s*raw\s*(?P<raw_r>-?){e(be)})"]
    alternatives += [f"(?P<{kind}>{e(text)})" for _, kind, text in sorted(starts, reverse=True)]
    opening = re.compile("|".join(alternatives), re.S)
    raw_end = re.compile(rf"{e(bs)}([-+]?)\s*endraw\s*([-+]?){e(be)}", re.S)
    tags: list[_Tag] = []
    pos = 0
    while True:
        m = opening.search(source, pos)
        if m is None:
            return tags
        if m.group("raw_begin"):
            tags.append(_Tag("raw_begin", m.start(), m.end(), m.group("raw_l"), m.group("raw_r"), "raw", ""))
            close = raw_end.search(source, m.end())
            if close is None:
                return tags
            tags.append(_Tag("raw_end", close.start(), close.end(), close.group(1), close.group(2), "endraw", ""))
            pos = close.end()
            continue
        kind = m.lastgroup
        after = m.end()
        lstrip = source[after] if after < len(source) and source[after] in "-+" else ""
        body_start = after + len(lstrip)
        if kind == "comment":
            end_at = source.find(env.comment_end_string, body_start)
            if end_at < 0:
                return tags
            rstrip = source[end_at - 1] if end_at > body_start and source[end_at - 1] in "-+" else ""
            end = end_at + len(env.comment_end_string)
        else:
            closing = be if kind == "block" else env.variable_end_string
            found = _tag_end(source, body_start, closing, allow_plus=kind == "block")
            if found is None:
                return tags
            end_at, rstrip = found
            end = end_at + len(rstrip) + len(closing)
        body = source[body_start:end_at - (1 if kind == "comment" and rstrip else 0)]
        keyword = ""
        if kind == "block":
            word = re.match(r"\s*([A-Za-z_]\w*)", body)
            keyword = word.group(1) if word else ""
        tags.append(_Tag(kind or "", m.start(), end, lstrip, rstrip, keyword, body))
        pos = end


def _tag_end(source: str, pos: int, closing: str, allow_plus: bool) -> tuple[int, str] | None:
    """Where a block or variable tag closes: the first closing delimiter outside strings and
    brackets (Jinja does not end a tag inside an open bracket), with its modifier."""
    depth = 0
    n = len(source)
    while pos < n:
        if depth == 0:
            if source.startswith(closing, pos):
                return pos, ""
            if source[pos] == "-" and source.startswith(closing, pos + 1):
                return pos, "-"
            if allow_plus and source[pos] == "+" and source.startswith(closing, pos + 1):
                return pos, "+"
        ch = source[pos]
        if ch in _STRINGS:
            m = _STRINGS[ch].match(source, pos)
            if m is None:
                return None
            pos = m.end()
            continue
        if ch in "([{":
            depth += 1
        elif ch in ")]}" and depth:
            depth -= 1
        pos += 1
    return None


def _sentinel_points(source: str, env: jinja2.Environment) -> list[tuple[int, int]]:
    """(line, offset) for each line that gets a sentinel, in order of offset."""
    tags = _scan(source, env)
    n = len(source)
    line_starts = [0] + [m.end() for m in _NEWLINE.finditer(source)]
    tag_starts = [t.start for t in tags]
    ends_at = {t.end: t for t in tags}
    starts_at = {t.start: t for t in tags}
    statements = [t for t in tags if t.kind != "variable"]
    statement_starts = [t.start for t in statements]
    statement_ends = [t.end for t in statements]   # increasing too: tags do not overlap
    value_bodies = _value_bodies(tags)
    prefixes = [p for p in (env.line_statement_prefix, env.line_comment_prefix) if p]

    def inside_tag(p: int) -> bool:
        i = bisect_right(tag_starts, p) - 1
        return i >= 0 and tags[i].start < p < tags[i].end

    def allowed(p: int) -> bool:
        if inside_tag(p) or any(a <= p <= b for a, b in value_bodies):
            return False
        back = p
        while back > 0 and source[back - 1].isspace():
            back -= 1
        if back in ends_at and ends_at[back].rstrip == "-":
            return False  # `-)))` strips all whitespace after the tag, up to here and beyond
        ahead = p
        while ahead < n and source[ahead].isspace():
            ahead += 1
        return not (ahead in starts_at and starts_at[ahead].lstrip == "-")

    def has_output(a: int, b: int) -> bool:
        """Whether source[a:b] holds text or an expression, not only statements and whitespace."""
        p = a
        while p < b:
            tag = starts_at.get(p)
            if tag is not None and tag.kind != "variable":
                p = tag.end
                continue
            if tag is not None or not source[p].isspace():
                return True
            p += 1
        return False

    points = []
    for number, start in enumerate(line_starts, start=1):
        if start >= n:
            break
        end = line_starts[number] if number < len(line_starts) else n
        line_text = source[start:end]
        if prefixes and any(line_text.lstrip().startswith(p) or p in line_text for p in prefixes):
            continue
        candidates = []
        i = bisect_left(statement_starts, start)
        first_statement = statements[i] if i < len(statements) and statements[i].start < end else None
        # at the line's start, unless lstrip_blocks could strip what precedes its first statement
        if first_statement is None or has_output(start, first_statement.start):
            candidates.append(start)
        # else right after a statement that ends on this line, if the rest of the line outputs something
        ending_here = statements[bisect_right(statement_ends, start):bisect_right(statement_ends, end)]
        candidates += [t.end for t in ending_here if t.rstrip != "-" and has_output(t.end, end)]
        for p in candidates:
            if allowed(p):
                points.append((number, p))
                break
    return points


def _value_bodies(tags: Iterable[_Tag]) -> list[tuple[int, int]]:
    """(from, to) offsets of macro, call, filter and block-set bodies, outermost and nested."""
    bodies, open_ = [], []
    for tag in tags:
        if tag.kind != "block":
            continue
        word = tag.keyword
        if word in _VALUE_BODIES and not (word == "set" and _INLINE_SET.search(tag.body)):
            open_.append((word, tag.end))
        elif word in _VALUE_BODIES.values():
            for i in range(len(open_) - 1, -1, -1):
                if _VALUE_BODIES[open_[i][0]] == word:
                    bodies.append((open_[i][1], tag.start))
                    del open_[i:]
                    break
    bodies += [(start, 1 << 62) for _, start in open_]  # unclosed: Jinja will report it; mark nothing after
    return bodies
