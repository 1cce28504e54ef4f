"""Stage 3: render the templates into LaTeX under build/tex/, with line maps back to the templates.

Every unit of the homework (a question, a part, remarks) has a template of
its module's name; each renders to its own .tex file, which the documents
`\\input`.  The documents and the order of questions and parts come from the
homework's registry, so no list of files is kept by hand.

Templates only interpolate.  Mathematics reaches them in one way: a step,
shown with `((( step("id") )))`, which prints the step's own formulas (the
objects its check evaluates) under a `% verified: id` line.  Afterwards the
generated files are scanned: a display without its marker, a marker over a
formula that is not its step's, computed mathematics outside a display, a
step shown nowhere, a part not written where the registry puts it: each stops
the build with the template's file and line.
"""
from __future__ import annotations

import difflib
import re
from pathlib import Path
from typing import Any

import jinja2
import sympy as sp

from solutions.notation import index_range, latex
from verify.homework import Homework, Part, suggest
from verify.steps import Kind, Step
from verify.wording import plural

from . import linemap, templating
from .documents import Document, documents
from .errors import CoverageError, TemplateError
from .templating import escape_tex

_DISPLAY = re.compile(r"\\begin\s*\{(align|x{0,2}alignat|equation|gather|multline|eqnarray|displaymath|flalign|empheq|"
                      r"dmath|dgroup)\*?\}"
                      r"|(?<!\\)\\\[|\$\$")   # \[ opens a display; \\[6pt] is a line break
_MARKER = re.compile(r"^% (verified|definition): (\S+)$")
# mathematics set apart from the text without a display environment: a paragraph, a centered
# line or a table cell that is nothing but math
_CENTERED = re.compile(r"\\begin\{(center|flushleft|flushright)\}")
# a quotation of someone else's mathematics (the grading key's copy of the sample solution): its
# displays are quoted text, not this homework's claims, and the environment prints that they are unchecked
_UNCHECKED = re.compile(r"\\(begin|end)\{unchecked\}")


# commands that only place what follows: a line of them around one formula sets that formula apart
_PLACING = re.compile(r"\\(?:par|noindent|indent|hfill|hfil|centerline|leftline|rightline|quad|qquad|fbox|boxed|mbox|"
                      r"framebox|makebox|"
                      r"(?:small|med|big)skip|[hv]space\*?\{[^}]*\})(?![A-Za-z])|[{}]")


def _lone_math(code: str) -> bool:
    """True when a line is one inline formula and nothing else (punctuation, a line break and commands
    that only place it, such as \\centerline or \\hfill, aside)."""
    text = re.sub(r"\s*[.,;:]?\s*(\\\\(\[[^]]*\])?)?\s*$", "", _unplaced(code).strip())
    if text.startswith("$") and not text.startswith("$$"):
        closing = re.search(r"(?<!\\)\$", text[1:])
        return closing is not None and closing.end() == len(text) - 1
    if text.startswith("\\("):
        return text.find("\\)") == len(text) - 2
    return False


def _as_dollars(code: str) -> str:
    """Inline formulas written another way, as $...$: \\begin{math}...\\end{math}, \\ensuremath{...}."""
    code = re.sub(r"\\(?:begin|end)\s*\{math\}", "$", code)
    return re.sub(r"\\ensuremath\s*\{(.*)\}", r"$\1$", code)


def _unplaced(code: str) -> str:
    """The line without placing commands, outside its formulas only (braces inside $...$ stay)."""
    pieces = re.split(r"((?<!\\)\$[^$]*(?<!\\)\$|\\\(.*?\\\))", code)
    return "".join(piece if index % 2 else _PLACING.sub("", piece) for index, piece in enumerate(pieces))


# ---- the positive rule: a formula with a relation is allowed only inside a sentence of running text ----------
# A relation: what makes a formula a claim that a check would have to read.
_RELATION = re.compile(r"=|<|>|\\(?:le|ge|leq|geq|leqslant|geqslant|ne|neq|in|notin|ni|to|rightarrow|Rightarrow|"
                       r"longrightarrow|Longrightarrow|leftarrow|Leftarrow|leftrightarrow|iff|implies|mapsto|approx|"
                       r"sim|simeq|equiv|cong|propto|subset|subseteq|supset|supseteq|ll|gg|prec|succ|coloneqq|"
                       r"eqqcolon|doteq|lessgtr|gtrless|perp|parallel|mid)(?![A-Za-z])")
_FORMULA = re.compile(r"(?<!\\)\$(?!\$)((?:\\.|[^$\\])*)(?<!\\)\$|\\\((.*?)\\\)")
# where running text lives: a formula in any other environment (center, flushleft, quote, array, tabbing,
# a box environment ...) is set apart by it
_RUNNING_ENVIRONMENTS = {"document", "questions", "parts", "solution", "itemize", "enumerate", "description",
                         "figure", "table", "tabular", "longtable", "minipage"}
# the only groups a formula of running text may be inside: text styles, captions and footnotes
_TEXT_GROUPS = {"emph", "textbf", "textit", "textsl", "textup", "textrm", "textsf", "caption", "footnote"}
# what places or frames material, or breaks a line: beside a formula, it sets the formula apart
_PLACING_COMMANDS = re.compile(r"\\(?:hfill|hfil|hss|centering|centerline|leftline|rightline|raggedleft|raggedright|"
                               r"hspace|vspace|quad|qquad|vcenter|hbox|vbox|vtop|fbox|framebox|boxed|mbox|makebox|"
                               r"parbox|raisebox|colorbox|fcolorbox|llap|rlap|clap|newline|linebreak|break|par|"
                               r"smallskip|medskip|bigskip|indent|vfill|vskip|hskip|kern)(?![A-Za-z])|\\\\")
_SEGMENT_END = re.compile(r"(?<!\\)&|\\\\(?:\[[^]]*\])?|\\(?:par|newline|linebreak|cr|tabularnewline)(?![A-Za-z])")
_PROSE_WORD = re.compile(r"(?<![\\A-Za-z])[A-Za-z]{2,}")
_ENVIRONMENT_TAG = re.compile(r"\\(?:begin|end)\s*\{[^}]*\}(?:\s*(?:\{[^{}]*(?:\{[^{}]*\}[^{}]*)*\}|\[[^]]*\]))*")
_GROUP_OPENER = re.compile(r"\\([A-Za-z]+)\*?\s*(?:\[[^]]*\]\s*)?$")


_DECLARATIONS = re.compile(r"\\(?:centering|raggedleft|raggedright)(?![A-Za-z])")   # they place all that follows


class _Setting:
    """The environments and brace groups open at a point of a generated file, carried from line to line.

    Each is a scope: (environment or the command that opened a group, "" for a bare group, and
    whether a placing declaration such as \\centering was made in it).
    """

    def __init__(self):
        self.scopes: list[list] = [["env", "document", False]]
        self.last_closed = ""

    @property
    def environment(self) -> str:
        return next(name for kind, name, _ in reversed(self.scopes) if kind == "env")

    @property
    def groups(self) -> list[str]:
        """The commands that opened the open groups, bare groups left out (a `{...}` that only scopes)."""
        return [name for kind, name, _ in self.scopes if kind == "group" and name]

    @property
    def placed(self) -> bool:
        """Whether a placing declaration holds here; a caption or a footnote is a paragraph of its own."""
        for kind, name, placed in reversed(self.scopes):
            if placed:
                return True
            if kind == "group" and name in ("caption", "footnote"):
                return False
        return False

    def advance(self, code: str) -> None:
        pattern = r"\\(begin|end)\s*\{([^}]*)\}|(?<!\\)\{|(?<!\\)\}|" + _DECLARATIONS.pattern
        for token in re.finditer(pattern, code):
            if token.group(1) == "begin":
                self.scopes.append(["env", token.group(2).rstrip("*"), False])
            elif token.group(1) == "end":
                name = token.group(2).rstrip("*")
                while len(self.scopes) > 1 and self.scopes[-1][:2] != ["env", name]:
                    self.scopes.pop()          # groups left open inside the environment end with it
                if len(self.scopes) > 1:
                    self.scopes.pop()
            elif token.group(0) == "{":
                before = code[:token.start()]
                opener = _GROUP_OPENER.search(before)
                # \\parbox{3cm}{...}: the next argument belongs to the command of the group just closed
                self.scopes.append(["group", self.last_closed if before.rstrip().endswith("}") else
                                    opener.group(1) if opener else "", False])
            elif token.group(0) == "}":
                if len(self.scopes) > 1 and self.scopes[-1][0] == "group":
                    self.last_closed = self.scopes.pop()[1]
            else:
                self.scopes[-1][2] = True


def _set_apart(code: str, setting: _Setting) -> str | None:
    """Why a formula with a relation on this line is not in running text, or None when every one is.

    The rule is positive: such a formula is allowed only inside a sentence, which means in an
    environment of running text, inside no group but a text style, with words of prose around it
    in its own line and cell, and no command that places, frames or breaks beside it.  `setting`
    holds the environments and groups open before the line, and is advanced past it.
    """
    if len(re.findall(r"(?<!\\)\$", code)) % 2 or code.count("\\(") != code.count("\\)"):
        setting.advance(code)
        return "an inline formula that does not close on its line"
    reason = None
    done = 0
    for formula in _FORMULA.finditer(code):
        setting.advance(code[done:formula.start()])
        done = formula.end()
        body = formula.group(1) if formula.group(1) is not None else formula.group(2)
        if reason is not None:
            continue
        if len(re.findall(r"(?<!\\)\{", body)) != len(re.findall(r"(?<!\\)\}", body)):
            reason = "a formula whose braces do not close inside it (math nested in a box)"
            continue
        if not _RELATION.search(body):
            continue
        environment = setting.environment
        groups = [g for g in setting.groups if g not in _TEXT_GROUPS]
        start = max([0] + [m.end() for m in _SEGMENT_END.finditer(code, 0, formula.start())])
        end = min([len(code)] + [m.start() for m in _SEGMENT_END.finditer(code, formula.end())])
        around = _FORMULA.sub(" ", code[start:formula.start()] + " " + code[formula.end():end])
        if environment not in _RUNNING_ENVIRONMENTS:
            reason = f"a formula inside {environment}"
        elif groups:
            reason = f"a formula inside \\{groups[-1]}"
        elif setting.placed:
            reason = "a formula after \\centering, \\raggedleft or \\raggedright"
        elif re.search(r"\\begin\s*\{|\\\\|\\(?:displaystyle|hbox|vbox|vcenter|fbox|boxed)(?![A-Za-z])", body):
            reason = "a formula that stacks or frames its lines"
        elif placing := _PLACING_COMMANDS.search(around):
            reason = f"a formula beside {placing.group(0)}"
        elif len(_PROSE_WORD.findall(re.sub(r"\\[A-Za-z]+", " ", _ENVIRONMENT_TAG.sub(" ", around)))) < 2:
            reason = "a formula without a sentence around it"
    setting.advance(code[done:])
    return reason


def needs_notes(homework: Homework, document: str) -> bool:
    """Whether a document shows the judged wrong answers (so it waits for them before typesetting)."""
    return next(d for d in documents(homework.identity) if d.name == document).grading


def render_step(step: Step) -> str:
    """A step's display: its marker line, then its chain of relations (boxed when it is a result).

    Every step but a definition belongs to the solutions: `\\solutionmaterial` after it stops
    LaTeX in a document that must not show them (base.tex.j2 defines it from the registry), so
    that a solution typeset outside exam's `solution` environment never reaches the handout.
    """
    sides = [latex(side) for side in step.sides]
    relation = {"=": "=", "approx": r"\approx", "in": r"\in", "notin": r"\notin"}[step.relation]
    last = len(sides) - 1
    lines = []
    # every row after the first stands right of the left side's column, so a side has the width that column leaves
    # (review56 b row 6: a worked sum of 63 beside a left side of 9 overran and pushed its "=" out of line)
    room = DISPLAY_WIDTH - _left_width(sides[0]) - 3      # the left side and its relation with spaces
    for position in range(1, len(sides)):
        start = f"{sides[0]} &" if position == 1 else "&"
        first, *rest = _sum_lines(sides[position], room)
        lines.append(f"{start}{relation if position == last else '='} {first}")
        lines += [rf"&\quad {more}" for more in rest]
    if step.relation in ("in", "notin") and last == 2:
        # a value and the set it lies in read as one statement: "δe = (0, 3, 0, 0) ∈ GL(x)" on one row, not
        # the set's name alone on the next
        lines = [f"{lines[0]} {lines[1][1:]}"]
    tail = []
    if step.over:
        tail.append(r"\text{for } " + r",\ ".join(index_range(sym, lo, hi) for sym, lo, hi in step.over))
    if step.note:
        tail.append(rf"\text{{{step.note}}}")
    if tail:
        condition = r" \quad ".join(tail)
        if len(lines[-1]) > 60:     # a long line: the conditions get a row of their own
            lines.append(r"&\phantom{=}\ " + condition)
        else:
            lines[-1] += r" \qquad " + condition
    body = " \\\\\n".join(lines)
    boxed = step.boxed or step.kind is Kind.RESULT
    environment = ("empheq", "[box=\\fbox]{align*}") if boxed else ("align*", "")
    guard = "" if step.kind is Kind.DEFINITION else r"\solutionmaterial"
    return (f"{step.marker}\n\\begin{{{environment[0]}}}{environment[1]}\n{body}\n"
            f"\\end{{{environment[0]}}}{guard}")


# What a display line holds at the text width, in characters the reader sees (a symbol one, "+" with its spaces three):
# a worked sum of 75 ran 8 pt past the margin in a student's variant, one of 66 fits.
DISPLAY_WIDTH = 70
_TOP_SIGN = re.compile(r" (?=[+-] )")


def _sum_lines(text: str, room: int = DISPLAY_WIDTH) -> list[str]:
    """A side of a display, over as many lines as it needs: a sum wider than `room` (the text width less the left
    side's column) is broken before a sign at its top level (outside every brace and parenthesis), into lines of about
    the same width."""
    width = _seen_width(text)
    if width <= room or re.search(r"\\begin\{|&|\\\\", text):   # an environment sets its own rows
        return [text]
    share = -(-width // -(-width // room))   # the width divided evenly among as few lines as it needs
    terms, depth, start = [], 0, 0
    for match in re.finditer(r"\\left\(|\\right\)|[{(]|[})]|" + _TOP_SIGN.pattern, text):
        token = match.group(0)
        if token in ("{", "(", r"\left("):
            depth += 1
        elif token in ("}", ")", r"\right)"):
            depth -= 1
        elif depth == 0:
            terms.append(text[start:match.start()])
            start = match.end()
    terms.append(text[start:])
    # the fewest lines the width needs, each about `share` wide: a line may grow past the share up to the room
    # when the terms do not divide evenly, rather than leave a last term on a line of its own
    count = -(-width // room)
    for limit in range(share, room + 1):
        lines = [terms[0]]
        for term in terms[1:]:
            if _seen_width(f"{lines[-1]} {term}") > limit:
                lines.append(term)
            else:
                lines[-1] += f" {term}"
        if len(lines) <= count:
            break
    return lines


def _left_width(text: str) -> int:
    """About how many characters a display's left side takes: a fraction the wider of its two lines."""
    frac = re.fullmatch(r"\\frac\{(.*)\}\{(.*)\}", text.strip())
    if frac:
        return max(_seen_width(frac.group(1)), _seen_width(frac.group(2)))
    return _seen_width(text)


def _seen_width(text: str) -> int:
    """About how many characters a reader sees in a line of LaTeX math: a command is one symbol, \\left and \\right
    none, braces and spaces none, and a binary sign takes the room of three."""
    bare = re.sub(r"[{}\s]", "", re.sub(r"\\[a-zA-Z]+", "x", re.sub(r"\\(?:left|right)", "", text)))
    return len(bare) + 2 * len(_TOP_SIGN.findall(text))


class _Globals:
    """What templates may call: steps, parts, and the files of attached units."""

    def __init__(self, homework: Homework, extra_steps: dict[str, Step]):
        self.homework = homework
        self.steps = {**homework.steps, **extra_steps}
        self.shown: set[str] = set()
        self.parts_written: list[str] = []
        self.template = ""
        self.parts_by_template: dict[str, list[str]] = {}
        self.grading_written: list[str] = []
        self.questions_written: list[str] = []

    def step(self, step_id: str) -> str:
        step = self._get(step_id)
        self.shown.add(step_id)
        return render_step(step)

    def _get(self, step_id: str) -> Step:
        try:
            return self.steps[step_id]
        except KeyError:
            close = difflib.get_close_matches(step_id, list(self.steps), n=3, cutoff=0.5)
            hint = f"; did you mean {', '.join(repr(c) for c in close)}?" if close else ""
            raise KeyError(f"unknown step '{step_id}'{hint}") from None

    def part(self, part_id: str) -> str:
        """Start a part: exam's \\part with its points from the registry, and a PDF bookmark."""
        found = {p.id: p for p in self.homework.parts}
        if part_id not in found:
            close = difflib.get_close_matches(part_id, list(found), n=3, cutoff=0.5)
            raise KeyError(f"unknown part '{part_id}'" + (f"; did you mean {', '.join(map(repr, close))}?"
                                                         if close else ""))
        part = found[part_id]
        self.parts_written.append(part_id)
        self.parts_by_template.setdefault(self.template, []).append(part_id)
        # a part's heading never ends a page: with the answers it needs room for its first lines; in the handout
        # a part is one line, and 12 lines pushed T2's three one-line parts onto a page of their own
        return (f"\\ifprintanswers\\needspace{{12\\baselineskip}}\\fi\\part[{part.points}]"
                f"\\pdfbookmark[2]{{{part.label} {escape_tex(part.title)}}}{{part-{part.label}}}")

    def question(self, question_id: str) -> str:
        """Start a question: exam's \\titledquestion with the title of its Question, and a PDF bookmark."""
        found = {q.id: q for q in self.homework.questions}
        if question_id not in found:
            raise KeyError(f"unknown question '{question_id}'" + suggest(question_id, found))
        title = escape_tex(found[question_id].title)
        self.questions_written.append(question_id)
        # a question's heading never ends a page: it needs room for its statement
        return (f"\\renewcommand{{\\qtitle}}{{{title}}}\\needspace{{12\\baselineskip}}"
                f"\\titledquestion{{{question_id}}}\\pdfbookmark[1]{{Question {question_id}: {title}}}"
                f"{{question-{question_id}}}")

    def parts(self, question: str) -> str:
        """\\input lines for the parts of `question` that are units of their own, in order."""
        units, _ = self.homework.attached(question)
        return "\n".join(f"\\input{{{unit.module}}}" for unit in units)

    def part_titles(self, question_id: str) -> str:
        """The titles of a question's parts in a sentence, in order ("tanh, max pooling and average pooling"):
        prose that lists the parts reads the registry, so an added part cannot leave it stale."""
        titles = [escape_tex(_in_sentence(p.title)) for p in self._question(question_id).parts]
        return ", ".join(titles[:-1]) + " and " + titles[-1] if len(titles) > 1 else "".join(titles)

    def part_numbers(self, question_id: str) -> str:
        """The numbers of a question's parts: "1 to 3", "1 and 2" or "1"."""
        numbers = [p.number for p in self._question(question_id).parts]
        if len(numbers) > 2 and numbers == list(range(numbers[0], numbers[-1] + 1)):
            return f"{numbers[0]} to {numbers[-1]}"
        return ", ".join(map(str, numbers[:-1])) + " and " + str(numbers[-1]) if len(numbers) > 1 else \
            "".join(map(str, numbers))

    def _question(self, question_id: str):
        found = {q.id: q for q in self.homework.questions}
        if question_id not in found:
            raise KeyError(f"unknown question '{question_id}'" + suggest(question_id, found))
        return found[question_id]

    def remarks(self, question: str) -> str:
        _, units = self.homework.attached(question)
        return "\n".join(f"\\input{{{unit.module}}}" for unit in units)

    def grading(self, part_id: str) -> str:
        """The grading key's rubric and notes for a part (read by the grading key only)."""
        self.grading_written.append(part_id)
        return f"\\ifgrading\\input{{grading-{part_id}}}\\fi"

    def entries(self, step_id: str, side: int) -> list[list[str]]:
        """The printed entries of a matrix on one side of a step (for figures drawn from a checked step)."""
        value = self._get(step_id).sides[side]
        if isinstance(value, sp.Tuple):
            raise TypeError(f"side {side} of step {step_id} is a tuple; name one of its matrices")
        return [[latex(entry) for entry in row] for row in value.tolist()]

    def entries_of(self, step_id: str, side: int, item: int) -> list[list[str]]:
        """Like entries, for one matrix of a tuple side."""
        value = self._get(step_id).sides[side].args[item]
        return [[latex(entry) for entry in row] for row in value.tolist()]


def _in_sentence(title: str) -> str:
    """A title inside a sentence: "Max pooling" -> "max pooling"; an acronym keeps its capitals ("ReLU")."""
    first = title.split(" ", 1)[0]
    return title[:1].lower() + title[1:] if first[1:] == first[1:].lower() else title


def environment(templates: templating.Templates, calls: _Globals) -> jinja2.Environment:
    return templating.environment(templates, {"step": calls.step, "part": calls.part, "parts": calls.parts,
                                              "question": calls.question, "part_titles": calls.part_titles,
                                              "part_numbers": calls.part_numbers,
                                              "remarks": calls.remarks, "grading": calls.grading,
                                              "entries": calls.entries, "entries_of": calls.entries_of})


class Renderer:
    """Renders the homework's templates into `tex_dir`; `finish()` checks what was rendered."""

    def __init__(self, homework: Homework, templates: templating.Templates, tex_dir: Path,
                 extra_steps: dict[str, Step] | None = None):
        self.homework, self.templates, self.tex_dir = homework, templates, tex_dir
        self.calls = _Globals(homework, extra_steps or {})
        self.env = environment(templates, self.calls)
        self.written: list[tuple[Path, str]] = []
        self.locations: dict[str, str] = {}   # step id -> the template line that shows it
        tex_dir.mkdir(parents=True, exist_ok=True)

    def units(self) -> None:
        """One .tex file per unit of the homework (questions, parts, remarks)."""
        for unit in self.homework.units:
            if unit.module == templating.PREAMBLE:   # its .tex file would overwrite the one LaTeX precompiles
                raise TemplateError(f"solutions/{unit.module}.py: '{unit.module}' names the documents' shared "
                                    "preamble (templates/preamble.tex.j2); give the module another name")
            context: dict[str, Any] = {"homework": _homework_context(self.homework), **unit.context}
            self._render(unit.template, unit.module, context)

    def documents(self, provenance: dict[str, Any]) -> dict[str, Path]:
        paths = {}
        for document in documents(self.homework.identity):
            context = {"homework": _homework_context(self.homework), "document": document,
                       "pdf": _pdf_info(self.homework, document, provenance)}
            paths[document.name] = self._render(document.template, document.name, context)
        return paths

    def grading(self, notes: list, template: str = "grading-part.tex.j2") -> None:
        """The rubric and grader's notes of every part (these need the verdicts on the wrong answers)."""
        for note in notes:
            self.calls.steps.update({step.id: step for step in note.steps.values()})
        said: dict[str, tuple[str, str]] = {}   # a deduction's text -> the label and part of the line saying it in full
        for part in self.homework.parts:
            # a part's illustrative example, when its module defines one (steps "<part>.illustration.*")
            example = f"{part.id}.illustration"
            found = {name for name in self.calls.steps if name.startswith(example + ".")}
            mine = [{**_note_context(note), "illustration": f"{example}.{note.answer.id}"
                     if f"{example}.{note.answer.id}" in found else None}
                    for note in notes if note.part.id == part.id]
            illustration = example if f"{example}.inputs" in found else None
            # an example that lists fewer inputs than the gradient takes says so (review57 a row 7)
            partial = False
            inputs = self.calls.steps[f"{example}.inputs"] if illustration else None
            if inputs is not None and inputs.operation is not None:
                listed = inputs.sides[0]   # the operation's inputs and delta, or fewer
                partial = (len(listed) if isinstance(listed, sp.Tuple) else 1) < len(inputs.operation.inputs) + 1
            self._render(template, f"grading-{part.id}", {"part": _part_context(part), "notes": mine,
                                                           "illustration": illustration,
                                                           "illustration_partial": partial,
                                                           "deductions": _deductions_context(part, said)})

    def _render(self, template: str, name: str, context: dict) -> Path:
        self.calls.template = template
        path = templating.render_file(self.env, template, self.tex_dir / f"{name}.tex", context)
        self.written.append((path, template))
        return path

    def finish(self) -> None:
        """Check every generated file: displays, markers, loose mathematics, steps and parts shown."""
        problems = []
        for path, template in self.written:
            problems += _scan(path, template, self.calls.steps, self.locations)
        missing = [sid for sid in self.homework.steps if sid not in self.calls.shown]
        if missing:
            problems.append("steps of solutions/ shown nowhere (show each with ((( step(\"id\") ))) or remove it): "
                            + ", ".join(missing))
        order = [p.id for p in self.homework.parts]
        if sorted(self.calls.parts_written) != sorted(order) or len(set(self.calls.parts_written)) != len(order):
            problems.append(f"the templates start the parts {self.calls.parts_written}; the homework has {order} "
                            "(each exactly once, with ((( part(\"id\") ))))")
        for template, written in self.calls.parts_by_template.items():
            if written != sorted(written, key=order.index):
                problems.append(f"templates/{template}: the parts appear in the order {written}, but their numbers "
                                f"give {sorted(written, key=order.index)}")
        questions = [q.id for q in self.homework.questions]
        if sorted(self.calls.questions_written) != sorted(questions):
            problems.append(f"the templates start the questions {self.calls.questions_written}; the homework has "
                            f"{questions} (start each exactly once with ((( question(\"id\") ))), which prints "
                            "the title of its Question)")
        if sorted(set(self.calls.grading_written)) != sorted(order):
            lacking = sorted(set(order) - set(self.calls.grading_written))
            problems.append("parts without their grading material (add ((( grading(\"id\") ))) after the part's "
                            "solution): " + ", ".join(lacking))
        if problems:
            raise CoverageError("\n".join(problems))


def _homework_context(homework: Homework) -> dict:
    """What the documents show of the registry, shaped for the templates."""
    identity = homework.identity
    return {"questions": [_question_context(q) for q in homework.questions], "points": homework.points,
            "files": [_question_file(homework, q.id) for q in homework.questions],
            "heading": f"{identity.course} ({identity.code}): {identity.title}", "instructor": identity.instructor,
            "number": identity.number}


def _question_file(homework: Homework, question: str) -> str:
    return next(u.module for u in homework.units if u.question is not None and u.question.id == question)


def _question_context(question) -> dict:
    return {"id": question.id, "number": question.number, "title": question.title,
            "points": sum(p.points for p in question.parts), "parts": [_part_context(p) for p in question.parts]}


def _part_context(part: Part) -> dict:
    rubric = part.rubric
    return {"id": part.id, "label": part.label, "title": part.title, "title_tex": _title_tex(part),
            "points": part.points,
            "criteria": [{"id": c.id, "points": c.points, "name": c.name, "statements": c.statements,
                          "rows": _table_rows(c.text)} for c in rubric.criteria],
            "full_credit": rubric.full_credit,
            "deductions": {d.id: d.points for d in rubric.deductions}}   # the key's rules state their costs


# a sentence ends at a full stop (or one inside a closing quote or bracket) followed by a capital or a command
_SENTENCE_END = re.compile(r"(?<=[.?!])(?:''|\))?\s+(?=[A-Z\\])")
_ROW_CHARACTERS = 500   # about five lines of the rubric's text column


def _table_rows(text: str) -> list[str]:
    """A criterion's text as the rows of the rubric's table: whole sentences, about five lines each.  A table breaks
    between rows only, so a criterion of twenty lines in one row left the page before it half empty."""
    rows, start = [], 0
    for end in _SENTENCE_END.finditer(text):
        if text.count("$", 0, end.start()) % 2:   # inside mathematics: no sentence ends there
            continue
        if end.start() - start >= _ROW_CHARACTERS:
            rows.append(text[start:end.start()].strip())
            start = end.end()
    return [*rows, text[start:].strip()]


def _deductions_context(part: Part, said: dict[str, tuple[str, str]]) -> list[dict]:
    """A part's deductions for its rubric, in the key's order of parts.  A deduction is said in full once, in the
    first rubric that has it (a label marks the line); a later rubric names it and points there.  Every rubric
    states what the deduction costs in that part, from its own criteria, so a TA reading one rubric alone knows
    it.  `said` carries the texts already said, from part to part."""
    shaped = []
    for deduction in part.rubric.deductions:
        first = deduction.text not in said
        if first:
            said[deduction.text] = (f"deduction-{part.id}-{deduction.id}", part.label)
        label, where = said[deduction.text]
        shaped.append({"text": deduction.text, "rule": _rule(part, deduction, first), "first": first, "label": label,
                       "name": deduction.name[:1].upper() + deduction.name[1:], "where": where})
    return shaped


def _title_tex(part: Part) -> str:
    """A part's title for a heading: the variable its gradient is taken with respect to is set as the symbol
    it is everywhere else ("Gradient with respect to $X$"), never as a bold upright letter."""
    variables = {result.gradient().wrt for result in part.results}
    return " ".join(f"${word}$" if word in variables else escape_tex(word) for word in part.title.split(" "))


def _points(count: int) -> str:
    """'1~point': a point count that a line break never splits from its noun (LaTeX's tie)."""
    return plural(count, "point").replace(" ", "~", 1)


def _charge(criterion) -> str:
    """A criterion an error loses, with its points from the rubric: "the border (1 point)"."""
    return f"{criterion.name} ({_points(criterion.points)})"


def _charges(criteria) -> str:
    """The criteria an error loses, with their points, one after another: "the border (1 point); ..."."""
    return "; ".join(map(_charge, criteria))


def _rule(part: Part, deduction, first: bool = True) -> str:
    """What a deduction costs, in words computed from the rubric's data (prose never states points).  A later
    rubric, which points to the one that says the deduction in full, gives only the outcome (review51 b row 5)."""
    if deduction.cap == 0:
        return "earns no points for the part"
    costs = []
    if deduction.charges:
        costs.append("loses " + _charges([part.rubric.criterion(c) for c in deduction.charges]))
    if deduction.points:
        # a penalty no criterion carries comes on top of every criterion lost (review50 c row 2): said in each rubric
        costs.append(f"loses {_points(deduction.points)} of its own" + (
            "" if deduction.charges else
            ", which no criterion carries, on top of every criterion it loses, whatever line or deduction "
            "takes that criterion" if first else ", on top of the criteria it loses"))
    if deduction.cap is not None:
        costs.append(f"earns at most {deduction.cap} of the part's points")
    rule = " and ".join(costs)
    # a deduction that covers another says so, and so does the one covered (review50 b row 3), from the data
    present = {d.id: d for d in part.rubric.deductions}
    covering = [d.name for d in part.rubric.deductions if deduction.id in d.covers]
    if covering:
        rule += ". Under " + " or ".join(covering) + " it costs nothing" + (", since that deduction covers it"
                                                                            if first else "")
    covered = [present[c].name for c in deduction.covers if c in present]
    if covered:
        rule += (". " + " and ".join(covered)[:1].upper() + " and ".join(covered)[1:]
                 + ", which this deduction covers, costs nothing on top of it")
    return rule


def _note_context(note) -> dict:
    """A judged wrong answer, shaped for the grading template: its prose, the criteria and deductions it is
    charged and the points they leave (computed from the rubric), and the ids of its checked steps."""
    part, answer = note.part, note.answer
    steps = {name: step.id for name, step in note.steps.items()}
    besides = [c for c in part.charged(answer)
               if not any(c.id in part.rubric.deduction(d).charges for d in answer.deductions)]
    return {"id": f"{part.id}.{answer.id}", "label": part.label, "title": answer.title, "why": answer.why,
            "decision": answer.decision, "smallest": note.smallest,
            "charged": _charges(part.charged(answer)),
            # each deduction with the criteria it names, then what the note's own lines lose besides: the
            # points a deduction is said to take are exactly those of the criteria it names
            "deductions": [{"name": d.name, "penalty": _points(d.points) if d.points else "",
                            "takes": _charges([part.rubric.criterion(c) for c in d.charges])}
                           for d in map(part.rubric.deduction, answer.deductions)],
            "besides": _charges(besides), "besides_count": len(besides),
            "points": part.points_for(answer), "of": part.points,
            "case": answer.case and _case_context(part, answer, answer.case),
            **{name: steps.get(name) for name in ("reading", "inputs", "expected", "returned", "accepted")}}


def _listed(items: list[str]) -> str:
    """Items in a sentence: "", "a", "a and b", "a, b and c"."""
    return ", ".join(items[:-1]) + " and " + items[-1] if len(items) > 1 else "".join(items)


def _case_context(part: Part, answer, case) -> dict:
    """A case a note grades apart, for the template: its text, the criteria it loses besides the note's, whether it
    takes none of the note's deductions (it errs elsewhere: what it loses is then said in their place), its points,
    and a further case of it, whose charges come on top of its own (review51 b rows 6 and 8)."""
    own = answer.answer_of(case)
    # its charges on top of the case's, or of the note's answer's (r59-c1: the forms without the factor 1 of the
    # note on delta left unsummed are variants of the note's form (A), not of its case (C))
    further = case.further and (answer if case.further.of_note else own).answer_of(case.further)
    return {"text": case.text, "points": part.points_for(own),
            "loses": _listed([_charge(part.rubric.criterion(c)) for c in case.charges]),
            "instead": bool(answer.deductions) and case.deductions is not None and not case.deductions,
            # the note's deductions the case does not incur, named (review55 c row 8: "the deduction" was vague)
            "replaced": answer.deductions and _listed([part.rubric.deduction(d).name for d in answer.deductions]),
            "further": case.further and {"text": case.further.text, "points": part.points_for(further),
                                         "loses": _charges([part.rubric.criterion(c)
                                                            for c in case.further.charges])}}


def _pdf_info(homework, document: Document, provenance: dict[str, Any]) -> dict[str, str]:
    """The PDF's metadata, from the homework's identity and its keywords.  The provenance (the commit, the number
    of checks) goes into the grading key's alone, for TAs, and never onto a page: students receive the handout and the
    solutions, which carry no build information (output/verify-report.json holds it all)."""
    identity = homework.identity
    keywords = ", ".join(homework.keywords)
    info = {"Title": f"{identity.course} ({identity.code}), {document.title}",
            "Author": identity.instructor,
            "Subject": f"{document.title}, {identity.code}",
            "Keywords": keywords}
    if document.grading:
        info["Subject"] = (f"{document.title}, {identity.code}; every formula checked by machine "
                           f"({plural(provenance['checks'], 'check')})")
        info["Keywords"] = f"{keywords}; source commit {provenance['commit']}"
    return info


def _scan(path: Path, template: str, steps: dict[str, Step], locations: dict[str, str]) -> list[str]:
    lines = path.read_text().splitlines()
    origins = linemap.LineMap.load(linemap.map_path(path))
    problems = []
    centered = 0
    quoted = False      # inside an `unchecked` quotation (the sample solution's appendix)
    setting = _Setting()

    def where(number: int) -> str:
        origin = origins.lookup(number)
        return f"templates/{origin.template}:{origin.line}" if origin else f"{path}:{number}"
    checked_until = 0   # the last line of a display found to be its step's: read by its check, not here
    for number, line in enumerate(lines, start=1):
        if number <= checked_until:
            continue
        code = _as_dollars(line.split("%")[0] if not line.startswith("%") else "")
        opened = len(_CENTERED.findall(code))
        in_center = centered > 0 or opened > 0
        centered = max(0, centered + opened - len(re.findall(r"\\end\{(?:center|flushleft|flushright)\}", code)))
        above = lines[number - 2] if number >= 2 else ""
        for boundary in _UNCHECKED.findall(code):
            quoted = boundary == "begin"
        if quoted:
            setting.advance(code)
            continue
        if _DISPLAY.search(code):
            mark = _MARKER.match(above)
            if not mark:
                problems.append(f"{where(number)}: a display without a '% verified: <step>' line above it; show "
                                "equations with ((( step(\"<step id>\") ))) so that they are checked")
                continue
            step = steps.get(mark.group(2))
            locations.setdefault(mark.group(2), where(number - 1))
            expected = render_step(step).splitlines() if step else None
            actual = lines[number - 2:number - 2 + len(expected)] if expected else None
            if step is None or actual != expected:
                problems.append(f"{where(number)}: the display marked '{mark.group(2)}' is not that step's checked "
                                f"formula; use ((( step(\"{mark.group(2)}\") )))")
            elif expected is not None:
                checked_until = number - 2 + len(expected)
            continue
        elif (in_center or _lone_math(code)) and re.search(r"\$|\\\(", code) and not _MARKER.match(above):
            alone = ("a formula in a center, flushleft or flushright environment; move it into a sentence outside it"
                   if in_center else "a line that is one formula and nothing else (punctuation aside), even without "
                   "a relation; write it inside a sentence, with words of prose on its line")
            problems.append(f"{where(number)}: mathematics set apart from the text without a checked step ({alone}), "
                            "or show it with ((( step(\"<step id>\") )))")
            setting.advance(code)
            continue
        if not _MARKER.match(above) and (why := _set_apart(code, setting)):
            problems.append(f"{where(number)}: mathematics set apart from the text without a checked step "
                            f"({why}); a relation is shown only in a sentence, or with ((( step(\"<step id>\") )))")
    return problems
