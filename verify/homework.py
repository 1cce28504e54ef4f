"""A verified homework: questions, parts, gradable results, rubrics and common wrong answers.

A homework is a package of modules, one per question or part (a "unit"),
each with a template of the same name.  A module declares what it holds:

    QUESTION = Question(...)   a question (with the parts it writes itself), or
    PART = Part(..., question="T2", number=4)   a part added to a question, or
    REMARK = Remark(question="T1", ...)          remarks that go beyond a question (no points);
    STEPS = [...]              the displayed, checked steps of its solution;
    CONTEXT = {...}            data its template needs besides steps (never mathematics to show).

`Homework.discover("solutions")` imports every module of the package and
builds the one registry that the build, the grader and the documents read:
the order of questions and parts, points, results, rubrics and steps.
Nothing has to be listed twice.

The package's `__init__.py` declares `IDENTITY = verify.identity.HomeworkIdentity(...)`: course,
number and instructor, from which the documents and the student's file take their names.  The
PDFs' keywords follow from the questions and parts (`Homework.keywords`).

The grader finds the homework installed next to it through the entry point
group "verify.homework" (see `default`), so this library never imports a
particular homework.
"""
from __future__ import annotations

import difflib
import importlib
import importlib.metadata
import pkgutil
from collections.abc import Mapping
from dataclasses import dataclass, field, replace
from typing import Any

from . import variants
from .engine import Gradient
from .identity import HomeworkIdentity, IdentityError
from .identity import of as identity_of
from .steps import Step
from .wording import plural


class HomeworkError(Exception):
    """A homework package that does not make sense; the message names the module to fix."""


@dataclass(frozen=True, eq=False)
class Result:
    """A gradable result: its gradient under each accepted convention (the first is the default).

    Candidates for it are functions named after the id ("t1.dX" -> t1_dX).
    """
    id: str
    conventions: Mapping[str, Gradient]

    @property
    def default(self) -> str:
        return next(iter(self.conventions))

    def gradient(self, convention: str | None = None) -> Gradient:
        name = convention or self.default
        if name not in self.conventions:
            known = ", ".join(self.conventions)
            raise KeyError(f"{self.id} has no convention {name!r}" + (f"; it has {known}" if len(self.conventions) > 1
                                                                     else f"; only its default ({known})"))
        return self.conventions[name]

    @property
    def function_name(self) -> str:
        return self.id.replace(".", "_")


@dataclass(frozen=True)
class Criterion:
    """A share of a part's points: its id (which deductions and wrong answers name), its points,
    a short name ("the chain rule", for sentences such as "charged: the chain rule") and what
    earns it (LaTeX).  Prose never repeats the points: the documents print them from here.
    `statements`: for a criterion that many phrasings decide (the tie point), the kinds of statement
    and the phrasings of each kind, which the rubric lists below its table, one per line."""
    id: str
    points: int
    name: str
    text: str
    statements: tuple[tuple[str, tuple[str, ...]], ...] = ()


@dataclass(frozen=True)
class Deduction:
    """A common error and what it costs, in the rubric's data: the criteria it charges (their points
    are lost), a penalty of its own in `points` (points off, for an error no criterion covers), or
    `cap`, the most the part can then earn.  `name` is short ("the assumed loss"): notes name it.  `covers`: the
    ids of the rubric's deductions this one includes, which then cost nothing on top of it (T1's dense-layer
    reading covers the assumed loss)."""
    id: str
    name: str
    text: str
    charges: tuple[str, ...] = ()
    points: int = 0
    cap: int | None = None
    covers: tuple[str, ...] = ()


@dataclass(frozen=True)
class Rubric:
    criteria: tuple[Criterion, ...]
    deductions: tuple[Deduction, ...] = ()
    full_credit: tuple[str, ...] = ()   # equivalent forms that earn full credit (LaTeX)

    def criterion(self, id_: str) -> Criterion:
        found = {c.id: c for c in self.criteria}
        if id_ not in found:
            raise KeyError(f"no criterion {id_!r}" + suggest(id_, found))
        return found[id_]

    def deduction(self, id_: str) -> Deduction:
        found = {d.id: d for d in self.deductions}
        if id_ not in found:
            raise KeyError(f"no deduction {id_!r}" + suggest(id_, found))
        return found[id_]

    def cost(self, deduction: Deduction) -> int:
        """The points a deduction takes when it is the only error (before any cap)."""
        return sum(self.criterion(c).points for c in deduction.charges) + deduction.points


@dataclass(frozen=True)
class Case:
    """A case of a common wrong answer that its note grades apart, after the note's score.

    text: LaTeX, no point counts; a formula it shows is printed from `formula` (the homework's own printer).
    charges: the criteria it loses besides the note's.
    deductions: the rubric's deductions it incurs in place of the note's (None: the note's); a case that errs
        elsewhere than the note's answer takes none of them.
    further: a case of this case, graded after it (written answers only, no formula of its own): its charges
        come on top of this case's, or, when the further case sets `of_note`, on top of the note's answer's (a
        variant of the note's own form, graded after this case: it incurs the note's deductions then).
    of_note: on a further case, whether its charges come on top of the note's answer rather than the case's.
    formula: its own formula when its code differs from the note's answer (None: the same code, told apart
        only in a written answer); the grader matches it and awards the case's points.
    convention: the forward pass that formula is judged against (None: the note's).
    """
    text: str
    charges: tuple[str, ...] = ()
    formula: Any = None
    convention: str | None = None
    deductions: tuple[str, ...] | None = None
    further: Case | None = None
    of_note: bool = False


@dataclass(frozen=True, eq=False)
class WrongAnswer:
    """A wrong answer graders meet, in the key's vocabulary: shown in the notes, rejected by the checks.

    formula: the answer as a formula (compiled and checked like a student's function).
    convention: the forward pass the answer is judged against (a convention of the result).
    quote: for answers from a sample solution, the formula as the sample writes it, and
        `reading`, how its symbols map onto the question's (name -> formula); the quote is
        what is compiled and checked then, so what is shown is what is judged.
    decision: LaTeX, why it is graded so (no point counts: those follow from the data).
    charges: the ids of the criteria it loses; deductions: the ids of the rubric's deductions
        it incurs.  `Part.points_for` computes its points from them, and the key prints them.
    """
    id: str
    result: str
    title: str
    why: str
    formula: Any
    decision: str = ""
    charges: tuple[str, ...] = ()
    deductions: tuple[str, ...] = ()
    convention: str | None = None
    quote: Any = None
    reading: Mapping[Any, Any] = field(default_factory=dict)
    accepted: bool = False        # True when the note explains why an answer that looks wrong is right
    # the criteria it loses in the other convention than its own (`convention`); None: the same as `charges`.  The
    # key grades each part in the reading that gives it the most points (rule 2(a)), so the note's one score is the
    # better of the two; the checker's --convention forcing one reading uses the one it forces
    charges_other: tuple[str, ...] | None = None
    # a case of the same answer graded apart after the note's score; the key prints its score,
    # `Part.points_for(wrong.answer_of(wrong.case))`
    case: Case | None = None
    # set on the answer of a case (`answer_of`; its id is the note's with ":case"): the case it is, which its
    # feedback names
    of_case: Case | None = None

    def answer_of(self, case: Case) -> WrongAnswer:
        """The answer of a case: charged its criteria besides this one's, with its formula and convention when it
        has its own."""
        more = case.charges
        own = {} if case.formula is None else {"formula": case.formula, "quote": None, "reading": {},
                                                "convention": case.convention or self.convention}
        if case.deductions is not None:
            own["deductions"] = case.deductions
        return replace(self, id=f"{self.id}:case", charges=(*self.charges, *more), case=None, of_case=case, **own,
                       charges_other=None if self.charges_other is None else (*self.charges_other, *more))

    @property
    def shown(self):
        """The formula the notes display: the quote when there is one."""
        return self.quote if self.quote is not None else self.formula

    def function(self, result: Result) -> Any:
        """The displayed formula as a NumPy function with the candidate's signature (judged like a student's)."""
        return self.function_for(result.gradient(self.convention))

    def function_for(self, gradient: Gradient) -> Any:
        """The displayed formula compiled against one convention's forward pass."""
        return gradient.compiled(self.shown, names=self.reading)


@dataclass(frozen=True, eq=False)
class Part:
    """A part of a question: its points, the results it asks for, its rubric and common errors.

    id: the part's id (the id of its result when it has one: "t1.dX").
    title: plain text for bookmarks and tables ("Gradient with respect to X").
    question, number: for a part in a module of its own, the question it belongs to and its
        place there (1-based); parts a question writes itself get them from the question.
    keywords: its topic words for the PDFs' keywords (`Homework.keywords`); None for its title, when the
        part is in a module of its own (a part a question writes itself shares the question's words).
    """
    id: str
    title: str
    points: int
    results: tuple[Result, ...]
    rubric: Rubric
    wrong_answers: tuple[WrongAnswer, ...] = ()
    question: str = ""
    number: int = 0
    keywords: tuple[str, ...] | None = None

    @property
    def label(self) -> str:
        return f"{self.question}.{self.number}"

    def charged(self, wrong: WrongAnswer, forced: str | None = None) -> list[Criterion]:
        """The criteria a wrong answer loses, each once, in the rubric's order: its own charges and
        those of its deductions (an error is charged once, however many notes name it).  With no convention
        `forced`, it is read in the convention that gives it the most points (rule 2(a) of the key, whether or not
        the answer writes a forward pass, and as the checker reads code).  `forced`: the convention judged against,
        when one is forced (the answer's own charges when it is its own, or its result's default, `charges_other`
        else)."""
        read_in = self.reading(wrong, forced)
        own = wrong.charges if wrong.charges_other is None or read_in == self.convention_of(wrong) \
            else wrong.charges_other
        named = set(own) | {c for d in wrong.deductions for c in self.rubric.deduction(d).charges}
        return [c for c in self.rubric.criteria if c.id in named]

    def reading(self, wrong: WrongAnswer, forced: str | None = None) -> str | None:
        """The convention the key grades a wrong answer in, whose gradient its feedback sets against it: the one
        `forced`, else the one where it loses least (rule 2(a)), its own on a tie.  A fresh attacker's 'valid
        correlation, kernel not turned' was scored as the true convolution's and labelled the correlation's."""
        own = self.convention_of(wrong)
        if forced is not None or wrong.charges_other is None:
            return forced or own
        other = next((c for r in self.results if r.id == wrong.result for c in r.conventions if c != own), own)

        def lost(charges: tuple[str, ...]) -> int:
            return sum(c.points for c in self.rubric.criteria if c.id in set(charges))
        return other if lost(wrong.charges_other) < lost(wrong.charges) else own

    def convention_of(self, wrong: WrongAnswer) -> str | None:
        """The convention a wrong answer is judged in: its own, or its result's default."""
        if wrong.convention is not None:
            return wrong.convention
        return next((r.default for r in self.results if r.id == wrong.result), None)

    def points_for(self, wrong: WrongAnswer, forced: str | None = None) -> int:
        """The points the key awards a wrong answer: the part's points less the criteria it loses and
        the penalties of its deductions but those another of them covers, at least 0, and at most the smallest
        cap among them; `forced`: as for `charged`."""
        deductions = [self.rubric.deduction(d) for d in wrong.deductions]
        covered = {c for d in deductions for c in d.covers}
        deductions = [d for d in deductions if d.id not in covered]
        score = (self.points - sum(c.points for c in self.charged(wrong, forced))
                 - sum(d.points for d in deductions))
        caps = [d.cap for d in deductions if d.cap is not None]
        return max(0, min([score, *caps]))


@dataclass(frozen=True, eq=False)
class Question:
    """A question: its id ("T3"), its place, its title (printed in every document) and the parts it writes.

    keywords: its topic words for the PDFs' keywords (`Homework.keywords`); None for its title.
    """
    id: str
    number: int
    title: str
    parts: tuple[Part, ...] = ()
    keywords: tuple[str, ...] | None = None


@dataclass(frozen=True, eq=False)
class Remark:
    """Solution material beyond a question (no points), shown after the question's solution."""
    question: str
    number: int
    title: str


@dataclass(frozen=True, eq=False)
class Unit:
    """One module of the homework package and the template of the same name.

    declares: what the module declares, one of a Question, a Part or a Remark.
    """
    module: str
    declares: Question | Part | Remark
    steps: tuple[Step, ...] = ()
    results: tuple[Result, ...] = ()       # every Result the module defines (each must be graded by a part)
    context: Mapping[str, Any] = field(default_factory=dict)   # data its template shows besides steps

    @property
    def template(self) -> str:
        return f"{self.module}.tex.j2"

    @property
    def question(self) -> Question | None:
        return self.declares if isinstance(self.declares, Question) else None

    @property
    def part(self) -> Part | None:
        return self.declares if isinstance(self.declares, Part) else None

    @property
    def remark(self) -> Remark | None:
        return self.declares if isinstance(self.declares, Remark) else None


@dataclass(frozen=True, eq=False)
class Homework:
    """The registry, built whole by `assemble` (or `discover`) and never changed afterwards."""
    package: str
    identity: HomeworkIdentity
    units: tuple[Unit, ...]
    questions: tuple[Question, ...]          # in order, each with all its parts in order
    steps: Mapping[str, Step]
    variant: str = ""                        # the name of its variant (verify.variants), "" for the base homework

    @property
    def submission_file(self) -> str:
        """Where a student's functions are (hw4.py): the identity's."""
        return self.identity.submission_file

    @property
    def parts(self) -> list[Part]:
        return [p for q in self.questions for p in q.parts]

    @property
    def results(self) -> dict[str, Result]:
        return {r.id: r for p in self.parts for r in p.results}

    @property
    def points(self) -> int:
        return sum(p.points for p in self.parts)

    @property
    def keywords(self) -> tuple[str, ...]:
        """The PDFs' keywords, the one place they are made: in the documents' order, each question's words
        (its `keywords=`, else its title), then those of its parts in modules of their own (their
        `keywords=`, else their titles: "Tanh" -> "tanh", "ReLU" stays), each word once."""
        own = {u.part.id for u in self.units if u.part is not None}
        words: list[str] = []
        for question in self.questions:
            words += question.keywords if question.keywords is not None else [_keyword(question.title)]
            for part in question.parts:
                if part.keywords is not None:
                    words += part.keywords
                elif part.id in own:
                    words.append(_keyword(part.title))
        return tuple(dict.fromkeys(words))

    def part_of(self, result_id: str) -> Part:
        return next(p for p in self.parts if any(r.id == result_id for r in p.results))

    def unit_of(self, step_id: str) -> Unit:
        return next(u for u in self.units if any(s.id == step_id for s in u.steps))

    def question_of(self, step_id: str) -> str:
        unit = self.unit_of(step_id)
        if unit.question is not None:
            return unit.question.id
        declared = unit.declares
        return declared.id if isinstance(declared, Question) else declared.question

    def attached(self, question: str) -> tuple[list[Unit], list[Unit]]:
        """The part units and remark units of a question, in order."""
        parts = [u for u in self.units if u.part is not None and u.part.question == question]
        remarks = [u for u in self.units if u.remark is not None and u.remark.question == question]
        return (sorted(parts, key=lambda u: u.part.number if u.part else 0),
                sorted(remarks, key=lambda u: u.remark.number if u.remark else 0))

    def result(self, result_id: str) -> Result:
        try:
            return self.results[result_id]
        except KeyError:
            raise KeyError(f"unknown result {result_id!r}" + suggest(result_id, self.results)) from None

    @classmethod
    def discover(cls, package: str) -> Homework:
        """Import every module of the package and build the registry (HomeworkError if inconsistent)."""
        root = importlib.import_module(package)
        try:
            identity = identity_of(package)
        except IdentityError as exc:
            raise HomeworkError(str(exc)) from None
        units = []
        modules = {info.name: importlib.import_module(f"{package}.{info.name}")
                   for info in sorted(pkgutil.iter_modules(root.__path__), key=lambda m: m.name)}
        left_out = variants.left_out(modules)   # the modules of a variant's values not chosen
        for name, module in modules.items():
            if name in left_out:
                continue
            question, part = getattr(module, "QUESTION", None), getattr(module, "PART", None)
            remark = getattr(module, "REMARK", None)
            steps = tuple(getattr(module, "STEPS", ()))
            declared_kinds = [kind for kind, value in (("QUESTION", question), ("PART", part), ("REMARK", remark))
                              if value is not None]
            if not declared_kinds:
                if steps:
                    raise HomeworkError(f"{package}/{name}.py: has STEPS but no QUESTION, PART or REMARK")
                continue
            if len(declared_kinds) > 1:
                raise HomeworkError(f"{package}/{name}.py: declares {' and '.join(declared_kinds)}; "
                                    "a module is one unit")
            unit = next(value for value in (question, part, remark) if value is not None)
            if not isinstance(unit, (Question, Part, Remark)):
                raise HomeworkError(f"{package}/{name}.py: {declared_kinds[0]} is a {type(unit).__name__}, "
                                    f"not a {declared_kinds[0].capitalize()}(...) of verify.homework")
            results = tuple(v for v in vars(module).values() if isinstance(v, Result))
            units.append(Unit(name, unit, steps, results, dict(getattr(module, "CONTEXT", {}))))
        return cls.assemble(package, units, identity)

    @classmethod
    def assemble(cls, package: str, units: list[Unit], identity: HomeworkIdentity | None = None) -> Homework:
        """The registry of these units, checked; `identity` by default the package's IDENTITY."""
        if identity is None:
            try:
                identity = identity_of(package)
            except (IdentityError, ImportError) as exc:
                raise HomeworkError(str(exc)) from None
        questions: dict[str, Unit] = {}
        declared: dict[str, Question] = {}
        for unit in units:
            if unit.question is not None:
                if unit.question.id in questions:
                    raise HomeworkError(f"{package}/{unit.module}.py: question {unit.question.id} is declared twice")
                questions[unit.question.id] = unit
                declared[unit.question.id] = unit.question
        attached: dict[str, list[Part]] = {q: [] for q in questions}
        for unit in units:
            if unit.part is not None:
                if unit.part.question not in questions:
                    raise HomeworkError(f"{package}/{unit.module}.py: part {unit.part.id} names question "
                                        f"{unit.part.question!r}, which no module declares"
                                        + suggest(unit.part.question, questions))
                attached[unit.part.question].append(unit.part)
        ordered = []
        for qid, question in sorted(declared.items(), key=lambda item: item[1].number):
            unit = questions[qid]
            own = [_numbered(p, qid, n) for n, p in enumerate(question.parts, start=1)]
            extra = sorted(attached[qid], key=lambda p: p.number)
            numbers = [p.number for p in own + extra]
            if len(set(numbers)) != len(numbers):
                raise HomeworkError(f"{package}/{unit.module}.py: two parts of {qid} share a number ({numbers})")
            ordered.append(replace(question, parts=tuple(sorted(own + extra, key=lambda p: p.number))))
        for unit in units:
            if unit.remark is not None and unit.remark.question not in questions:
                raise HomeworkError(f"{package}/{unit.module}.py: remark names question {unit.remark.question!r}, "
                                    "which no module declares" + suggest(unit.remark.question, questions))
        homework = cls(package, identity, tuple(units), tuple(ordered), _steps(package, units))
        _validate(package, homework)
        return homework


def _numbered(part: Part, question: str, number: int) -> Part:
    return replace(part, question=question, number=number)


def _keyword(title: str) -> str:
    """A title as a keyword: a capital that only starts the sentence is lowered ("Max pooling" -> "max pooling");
    a word capitalized within ("ReLU", "CNN") stays as written."""
    first = title.split(" ", 1)[0]
    return title[0].lower() + title[1:] if first[1:] == first[1:].lower() else title


def _steps(package: str, units: list[Unit]) -> dict[str, Step]:
    steps: dict[str, Step] = {}
    for unit in units:
        for step in unit.steps:
            if step.id in steps:
                raise HomeworkError(f"{package}/{unit.module}.py: step id {step.id!r} is used twice")
            steps[step.id] = step
    return steps


def _validate(package: str, homework: Homework) -> None:
    problems = []
    results: dict[str, str] = {}
    for unit in homework.units:
        parts = [unit.part] if unit.part else list(unit.question.parts if unit.question else ())
        for part in parts:
            where = f"{package}/{unit.module}.py: part {part.id}"
            if part.points <= 0:
                problems.append(f"{where} has no points")
            if not part.results:
                problems.append(f"{where} has points but no gradable result")
            rubric_total = sum(c.points for c in part.rubric.criteria)
            if rubric_total != part.points:
                problems.append(f"{where}: its rubric gives {plural(rubric_total, 'point')}, the part is worth "
                                f"{plural(part.points, 'point')}")
            for result in part.results:
                if result.id in results:
                    problems.append(f"{where}: result {result.id} is also graded in {results[result.id]}")
                results[result.id] = unit.module
            problems += _rubric_problems(where, part)
            for answer in part.wrong_answers:
                if answer.result not in {r.id for r in part.results}:
                    problems.append(f"{where}: wrong answer {answer.id} is for {answer.result}, not a result of "
                                    f"this part")
        for result in unit.results:
            if result.id not in homework.results:
                problems.append(f"{package}/{unit.module}.py: result {result.id} has no points (no part grades it)")
    if problems:
        raise HomeworkError("\n".join(problems))


def _rubric_problems(where: str, part: Part) -> list[str]:
    """Ids that name nothing, or name two things: the arithmetic of the key depends on them."""
    rubric, problems = part.rubric, []
    criteria, deductions = [c.id for c in rubric.criteria], [d.id for d in rubric.deductions]
    for kind, ids in (("criterion", criteria), ("deduction", deductions)):
        twice = sorted({x for x in ids if ids.count(x) > 1})
        if twice:
            problems.append(f"{where}: {kind} ids used twice: {', '.join(twice)}")
    for criterion in rubric.criteria:
        if criterion.points <= 0:
            problems.append(f"{where}: criterion {criterion.id} has no points")
    named: list[tuple[str, tuple[str, ...], tuple[str, ...]]] = [(f"deduction {d.id}", d.charges, ())
                                                                 for d in rubric.deductions]
    named += [(f"wrong answer {a.id}", a.charges, a.deductions) for a in part.wrong_answers]
    named += [(f"the case of wrong answer {a.id}", a.case.charges, a.case.deductions or ())
              for a in part.wrong_answers if a.case]
    named += [(f"the further case of wrong answer {a.id}", a.case.further.charges, a.case.further.deductions or ())
              for a in part.wrong_answers if a.case and a.case.further]
    for owner, charges, incurred in named:
        for id_ in charges:
            if id_ not in criteria:
                problems.append(f"{where}: {owner} charges {id_!r}, which is no criterion of the part"
                                + suggest(id_, criteria))
        for id_ in incurred:
            if id_ not in deductions:
                problems.append(f"{where}: {owner} incurs {id_!r}, which is no deduction of the part"
                                + suggest(id_, deductions))
    return problems


def suggest(name: str, known) -> str:
    close = difflib.get_close_matches(name, list(known), n=3, cutoff=0.6)
    return f" (did you mean {', '.join(repr(c) for c in close)}?)" if close else ""


def default() -> Homework:
    """The homework installed with this library (entry point group "verify.homework")."""
    found = list(importlib.metadata.entry_points(group="verify.homework"))
    if not found:
        raise HomeworkError("no homework is installed: a package must register one under the entry point "
                            "group 'verify.homework'")
    return Homework.discover(found[0].value.split(":")[0])


_LOADED: dict[str, Homework] = {}


def load(package: str | None = None) -> Homework:
    """The homework of a package (the installed default if None), discovered once per process."""
    key = package or ""
    if key not in _LOADED:
        _LOADED[key] = Homework.discover(package) if package else default()
    return _LOADED[key]
