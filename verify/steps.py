"""Steps of a derivation: what a document displays, and the check that reads exactly that.

A Step is a chain `sides[0] = sides[1] = ...` (or `~`, or `in` a set) that
holds for every index in `over` (a free index and its inclusive bounds).  Its
names stand for the operation's inputs, its output and the notation the
operation defines; Partial nodes are derivatives of the forward operation.
Every kind of step is checked by evaluating the very sides that are shown:

- definition, derivation, result: exactly at every index of small instances,
  with every input entry a free symbol where the operation is polynomial or
  analytic (so the equality is an identity), and in float64 at sampled
  indices (every corner included) with complex-step derivatives; a result's
  last side is a gradient's reference formula, which `verify.engine.check`
  also tests by its independent methods;
- identity: sympy proves it for all values of its variables;
- example: every side evaluated exactly at one instance (the worked
  example), the displayed numbers included; `approx` allows only the
  rounding of the digits shown;
- subdifferential: a set, compared with the generalized gradient of the
  operation at its kinks (ties) and away from them.
"""
from __future__ import annotations

import enum
import os
import sys
from collections.abc import Mapping
from dataclasses import dataclass, field
from typing import Any

import numpy as np
import sympy as sp

from . import engine
from .engine import Counterexample, Gradient, Verdict
from .operation import Operation
from .symbolic import Hull, evaluate, name_of

# Float step checks sum at most a few hundred O(1) products and take
# complex-step derivatives (exact to one rounding): their error stays below
# 1e-13 relative.  A wrong step (a sign, a bound, a flip) is off by O(1).
FLOAT_RTOL = 1e-10
FLOAT_INDEX_SAMPLE = 40
FLOAT_MAX_ENTRIES = 100   # float checks use the float sizes of at most this many input entries


class Kind(str, enum.Enum):
    DEFINITION = "definition"
    DERIVATION = "derivation"
    RESULT = "result"
    IDENTITY = "identity"
    EXAMPLE = "example"
    SUBDIFFERENTIAL = "subdifferential"


RELATIONS = ("=", "approx", "in", "notin")


# what each kind of step reads, besides its id, sides, note and boxed (display only): any other field
# set on a step is refused, so that a step says nothing its check ignores
_READS = {
    Kind.DEFINITION: {"operation", "over", "index_base", "sizes", "names"},
    Kind.DERIVATION: {"operation", "over", "index_base", "sizes", "names"},
    Kind.RESULT: {"operation", "over", "index_base", "sizes", "names", "gradient"},
    Kind.IDENTITY: {"variables"},
    Kind.EXAMPLE: {"operation", "index_base", "names", "at", "relation", "digits"},
    Kind.SUBDIFFERENTIAL: {"operation", "index_base"},
}
_UNSET = {"operation": None, "over": (), "gradient": None, "variables": (), "at": None, "relation": "=",
          "index_base": None, "digits": 4, "sizes": None, "names": None}


@dataclass(frozen=True, eq=False)
class Step:
    """One displayed equation (or chain of them) and what it is about.

    Build a step with the constructor of its kind, which takes only what that kind reads:
    `Step.definition`, `Step.derivation`, `Step.result`, `Step.identity`, `Step.example`,
    `Step.subdifferential` (or `Step.of(kind)` where the kind is a variable).

    id: a unique dotted id ("t1.dX.flip"); templates show the step by it.
    sides: sympy expressions, each printed and each evaluated.
    kind: how it is checked (see the module docstring).
    operation: what its names refer to (not for identities).
    over: (index symbol, lowest, highest) for each free index.
    gradient: for a result, the gradient whose reference formula is the last side.
    variables: for an identity, the symbols it holds for.
    at: for an example, the instance: values of the inputs and delta.
    relation: "=", "approx" (the last side shows rounded numbers), "in" or "notin" (the last side is a set).
    note: LaTeX shown after the display (a condition such as "$i^*$ unique").
    index_base: first index of the arrays when it differs from the operation's.
    digits: decimals shown for rounded numbers (relation "approx").
    sizes: exact sizes to check a derivation at, when not the operation's own.
    names: further notation (e.g. a sample solution's y_j and t_j) defined from the operation's
        quantities, indexed from 1.
    boxed: a final answer, framed in the documents (a result always is).
    """
    id: str
    sides: tuple[Any, ...]
    kind: Kind
    operation: Operation | None = None
    over: tuple[tuple[Any, Any, Any], ...] = ()
    gradient: Gradient | None = None
    variables: tuple[sp.Symbol, ...] = ()
    at: Mapping[str, Any] | None = None
    relation: str = "="
    note: str = ""
    index_base: int | None = None
    digits: int = 4
    sizes: tuple[Mapping[str, int], ...] | None = None
    names: Mapping[Any, Any] | None = None   # further notation, defined from the operation's quantities
    boxed: bool = False                      # a final answer (results are always boxed)
    origin: str = field(default="", compare=False)   # "solutions/t1.py:120": where the step was written

    def __post_init__(self):
        if not self.origin:
            object.__setattr__(self, "origin", _caller())
        problems = []
        ignored = [name for name, unset in _UNSET.items()
                   if name not in _READS[self.kind] and getattr(self, name) != unset]
        if ignored:
            problems.append(f"a {self.kind.value} step takes no {', '.join(ignored)} (its check would ignore "
                            f"{'it' if len(ignored) == 1 else 'them'})")
        if len(self.sides) < 2:
            problems.append("an equation needs at least two sides")
        if self.relation not in RELATIONS:
            problems.append(f"relation must be one of {RELATIONS}")
        if self.kind is Kind.IDENTITY and not self.variables:
            problems.append("an identity names the variables it holds for")
        if self.kind is not Kind.IDENTITY and self.operation is None:
            problems.append(f"a {self.kind.value} step names its operation")
        if self.kind is Kind.RESULT and (self.gradient is None or self.sides[-1] is not self.gradient.formula):
            problems.append("a result's last side must be its gradient's reference formula (the same object)")
        if self.kind is Kind.EXAMPLE and self.at is None:
            problems.append("an example gives its instance (at=...)")
        if problems:
            raise ValueError(f"step {self.id}: " + "; ".join(problems))

    # ---- one constructor per kind: each takes what its check reads, and nothing else ----------------
    @classmethod
    def definition(cls, id_: str, *sides, operation: Operation, over=(), note: str = "",
                   index_base: int | None = None, sizes=None, names=None, boxed: bool = False) -> Step:
        """Notation introduced (Y_ij = ...): checked like a derivation, shown without `\\solutionmaterial`."""
        return cls(id_, sides, Kind.DEFINITION, operation, over=over, note=note, index_base=index_base,
                   sizes=sizes, names=names, boxed=boxed)

    @classmethod
    def derivation(cls, id_: str, *sides, operation: Operation, over=(), note: str = "",
                   index_base: int | None = None, sizes=None, names=None, boxed: bool = False) -> Step:
        """An equality about the operation, checked exactly at small sizes and in float64."""
        return cls(id_, sides, Kind.DERIVATION, operation, over=over, note=note, index_base=index_base,
                   sizes=sizes, names=names, boxed=boxed)

    @classmethod
    def result(cls, id_: str, *sides, gradient: Gradient, operation: Operation | None = None, over=(),
               note: str = "", index_base: int | None = None, sizes=None, names=None, boxed: bool = False) -> Step:
        """A derivation whose last side is `gradient.formula` (the same object), also checked as a graded answer."""
        return cls(id_, sides, Kind.RESULT, operation or gradient.operation, over=over, gradient=gradient,
                   note=note, index_base=index_base, sizes=sizes, names=names, boxed=boxed)

    @classmethod
    def identity(cls, id_: str, *sides, variables, note: str = "", boxed: bool = False) -> Step:
        """An equality of plain sympy expressions, proved by sympy for all values of `variables`."""
        return cls(id_, sides, Kind.IDENTITY, variables=tuple(variables), note=note, boxed=boxed)

    @classmethod
    def example(cls, id_: str, *sides, operation: Operation, at: Mapping[str, Any], relation: str = "=",
                digits: int = 4, note: str = "", index_base: int | None = None, names=None,
                boxed: bool = False) -> Step:
        """Numbers at one instance `at` (the inputs and delta), compared exactly with what is shown;
        relation "approx" allows the rounding of `digits` decimals, "in"/"notin" a set on the right."""
        return cls(id_, sides, Kind.EXAMPLE, operation, at=at, relation=relation, digits=digits, note=note,
                   index_base=index_base, names=names, boxed=boxed)

    @classmethod
    def subdifferential(cls, id_: str, *sides, operation: Operation, note: str = "",
                        index_base: int | None = None, boxed: bool = False) -> Step:
        """Sets equal to the generalized gradient at the operation's kinks (ties) and away from them."""
        return cls(id_, sides, Kind.SUBDIFFERENTIAL, operation, note=note, index_base=index_base, boxed=boxed)

    @classmethod
    def of(cls, kind: Kind):
        """The constructor of a kind, for code that chooses the kind (a module's own step helper)."""
        return getattr(cls, kind.value)

    @property
    def marker(self) -> str:
        """The comment line put above the step's display in generated LaTeX."""
        return f"% {'definition' if self.kind is Kind.DEFINITION else 'verified'}: {self.id}"


def _caller() -> str:
    """The file and line, outside this library, that built a step: where a failed check sends the reader."""
    library = os.path.dirname(os.path.abspath(__file__))
    frame = sys._getframe(1)
    while frame is not None and (os.path.dirname(os.path.abspath(frame.f_code.co_filename)) == library
                                 or frame.f_code.co_filename.startswith("<")):
        frame = frame.f_back   # type: ignore[assignment]
    if frame is None:
        return ""
    while frame.f_back is not None and frame.f_back.f_code.co_filename == frame.f_code.co_filename:
        frame = frame.f_back   # a helper of the module that builds its steps: the line that calls it
    path = os.path.abspath(frame.f_code.co_filename)
    parent = os.path.dirname(os.path.dirname(path))
    return f"{os.path.relpath(path, parent)}:{frame.f_lineno}"


class _StepFailed(Exception):
    def __init__(self, method: str, detail: str, inputs: Mapping[str, Any] | None = None):
        super().__init__(detail)
        self.method, self.detail, self.inputs = method, detail, dict(inputs or {})


def check_step(step: Step) -> Verdict:
    """Check one step; a failure carries a counterexample that says where and why."""
    checker = {Kind.IDENTITY: _check_identity, Kind.EXAMPLE: _check_example,
               Kind.SUBDIFFERENTIAL: _check_subdifferential}.get(step.kind, _check_model)
    try:
        # a saturated entry (x = -1000) overflows a forward pass's exp on purpose: the checks read what is
        # not finite themselves, and numpy's warning would point the instructor at our source, not theirs
        with np.errstate(over="ignore", invalid="ignore", divide="ignore"):
            verdict = checker(step)
    except _StepFailed as failure:
        return Verdict(step.id, False, [failure.method], 0, 0.0,
                       Counterexample(failure.method, failure.inputs, detail=failure.detail), failure.detail)
    except (IndexError, KeyError, TypeError, ValueError, ZeroDivisionError) as exc:
        reason = f"the step cannot be evaluated: {type(exc).__name__}: {exc}"
        return Verdict(step.id, False, ["evaluation"], 0, 0.0, Counterexample("evaluation", {}, detail=reason), reason)
    if verdict.passed and step.kind is Kind.RESULT:
        assert step.gradient is not None
        outcome = engine.check(step.gradient, step.gradient.compiled(), seed=0, subject=step.id)
        verdict.methods += [f"result: {m}" for m in outcome.methods]
        verdict.cases += outcome.cases
        verdict.worst_error = max(verdict.worst_error, outcome.worst_error)
        if not outcome.passed:
            verdict.passed = False
            verdict.reason = f"the result's formula fails its own check: {outcome.reason}"
            verdict.counterexample = outcome.counterexample
    return verdict


# ---- steps about an operation ---------------------------------------------------------------
_EXACT_ENVS: dict[tuple, list] = {}


def _exact_instances(op: Operation, sizes, base) -> list:
    """Exact environments of the operation, built once per process (each costs a symbolic forward pass)."""
    key = (op, repr(sizes), base)   # the operation itself: a freed one's id can be reused
    if key not in _EXACT_ENVS:
        chosen = [dict(s) for s in (sizes or op.exact_sizes)]
        cases = [c for c in engine.exact_cases(op) if c.sizes in chosen]
        first = {repr(c.sizes): c for c in reversed(cases)}     # one instance per size
        _EXACT_ENVS[key] = [(c.sizes, c.values, *op.exact_env(c.values, base)) for c in first.values()]
    return _EXACT_ENVS[key]


def _check_model(step: Step) -> Verdict:
    op = step.operation
    assert op is not None
    count, worst = 0, 0.0
    for sizes, values, env, equal in _exact_instances(op, step.sizes, step.index_base):
        names = set(env.values)
        _bind_names(step, env)
        try:
            for idx in index_tuples(_ranges(step, env)):
                count += 1
                sides = _sides(step, env, idx)
                for q in range(len(sides) - 1):
                    if not _all(equal, sides[q], sides[q + 1]):
                        raise _StepFailed("exact", _describe(step, sizes, idx, q, _at(sides, values), op), values)
        finally:
            for name in set(env.values) - names:   # this step's indices must not leak into the next
                del env.values[name]
    rng = np.random.default_rng(len(step.id))
    for case in engine.float_cases(op, 0, None):
        if case.kind != "float" or sum(np.size(w) for w in case.values.values()) > FLOAT_MAX_ENTRIES:
            continue
        env = op.float_env(case.values, step.index_base)
        _bind_names(step, env)
        for idx in index_tuples(_ranges(step, env), FLOAT_INDEX_SAMPLE, rng):
            count += 1
            sides = [np.asarray(np.real(q), dtype=float) for q in _sides(step, env, idx)]
            for q in range(len(sides) - 1):
                err = np.abs(sides[q] - sides[q + 1])
                scale = np.maximum(1.0, np.maximum(np.abs(sides[q]), np.abs(sides[q + 1])))
                worst = max(worst, float(np.max(err / scale)))
                if np.any(err > FLOAT_RTOL * scale):
                    raise _StepFailed("float64", _describe(step, case.sizes, idx, q, sides, op), case.values)
    return Verdict(step.id, True, ["exact", "float64"], count, worst)


def _bind_names(step: Step, env) -> None:
    for key, definition in (step.names or {}).items():
        name = name_of(key)
        if name in env.values:
            raise ValueError(f"'{name}' already names a quantity of the operation; give the new notation "
                             "its own name")
        env.offsets[name] = 1
        env.values[name] = evaluate(definition, env)


def index_tuples(ranges, limit=None, rng=None):
    """All tuples of a product of integer ranges, or a sample that keeps every corner."""
    import itertools
    spaces = [range(lo, hi + 1) for lo, hi in ranges]
    total = int(np.prod([len(q) for q in spaces])) if spaces else 1
    if limit is None or total <= limit:
        return list(itertools.product(*spaces))
    corners = list(itertools.product(*[(q[0], q[-1]) for q in spaces]))
    picks = [tuple(int(rng.integers(q.start, q.stop)) for q in spaces) for _ in range(limit)]
    return list(dict.fromkeys(corners + picks))


def _ranges(step, env):
    return [(int(evaluate(lo, env)), int(evaluate(hi, env))) for _, lo, hi in step.over]


def _sides(step, env, idx):
    for (sym, _, _), value in zip(step.over, idx):
        env.bind(sym.name, value)
    return [evaluate(side, env) for side in step.sides]


def _all(equal, a, b) -> bool:
    if isinstance(a, np.ndarray) or isinstance(b, np.ndarray):
        a, b = np.asarray(a, dtype=object), np.asarray(b, dtype=object)
        return a.shape == b.shape and all(equal(p_, q_) for p_, q_ in zip(a.ravel(), b.ravel()))
    return equal(a, b)


def _describe(step, sizes, idx, q, sides, op) -> str:
    """Where a chain breaks: the sizes, the step's own indices (in the question's numbering), and the two
    sides' values at the inputs of the counterexample."""
    where = ", ".join(f"{sym} = {value}" for (sym, _, _), value in zip(step.over, idx))
    shown = ", ".join(f"{name} = {value}" for name, value in sizes.items())
    return "\n".join([f"at {shown}" + (f" and {where}" if where else ""),
                      f"  side {q + 1} = {_short(sides[q])}", f"  side {q + 2} = {_short(sides[q + 1])}"])


def _at(sides, values) -> list:
    """Exactly evaluated sides (polynomials or sympy expressions in one symbol per input entry, named from 0)
    as numbers at the inputs `values`: what the reader can compare with the counterexample's inputs."""
    named: dict[str, Any] = {}
    for name, value in values.items():
        array = np.asarray(value)
        if array.ndim == 0:
            named[name] = value
        for index in np.ndindex(array.shape) if array.ndim else ():
            named[f"{name}_{'_'.join(map(str, index))}"] = array[index]

    rational: dict[str, Any] = {}   # each input entry made exact once, not once per entry of a side that uses it

    def exact_input(name: str):
        if name not in rational:
            rational[name] = sp.nsimplify(named[name])
        return rational[name]

    def number(value):
        expr = value.as_expr() if hasattr(value, "as_expr") else value
        if not isinstance(expr, sp.Basic):
            return value
        exact = expr.xreplace({s: exact_input(s.name) for s in expr.free_symbols if s.name in named})
        exact = sp.nsimplify(exact) if exact.is_Number else exact
        if exact.is_Rational:
            return exact
        evaluated = exact.evalf(6)
        return sp.Float(evaluated, 6) if evaluated.is_Number else exact

    def each(value):
        if isinstance(value, np.ndarray):
            return np.vectorize(number, otypes=[object])(value)
        if isinstance(value, tuple):
            return tuple(each(q) for q in value)
        return number(value)
    return [each(side) for side in sides]


def _short(value) -> str:
    text = str(value.as_expr() if hasattr(value, "as_expr") else value)
    return text if len(text) <= 400 else text[:400] + " ..."


# ---- identities in free variables ---------------------------------------------------------
def _zero_or_residue(expr):
    """0 when sympy proves expr == 0, else what is left: cheap normal forms before simplify."""
    residue = expr
    for normal in (sp.expand, lambda e: sp.cancel(e.rewrite(sp.exp)), lambda e: sp.simplify(e.rewrite(sp.exp))):
        residue = normal(expr)
        if residue == 0:
            return 0
    return residue


def _check_identity(step: Step) -> Verdict:
    """sympy proves each equality for all values of the variables: no sampling can add to that."""
    sides = [sp.sympify(q).doit() for q in step.sides]
    for q in range(len(sides) - 1):
        difference = _zero_or_residue(sides[q] - sides[q + 1])
        if difference != 0:
            raise _StepFailed("sympy", f"side {q + 1} - side {q + 2} simplifies to {difference}, not 0")
    return Verdict(step.id, True, ["sympy"], len(sides) - 1, 0.0)


# ---- examples ----------------------------------------------------------------------------------
def _check_example(step: Step) -> Verdict:
    """Every side evaluated exactly at the example's instance; the shown numbers must agree."""
    op = step.operation
    assert op is not None and step.at is not None
    env = op.point_env(step.at, step.index_base)
    _bind_names(step, env)
    sides = [evaluate(side, env) for side in step.sides]
    last = len(sides) - 1
    worst = 0.0
    for q in range(last):
        right = sides[q + 1]
        if step.relation in ("in", "notin") and q + 1 == last:
            if not isinstance(right, Hull):
                raise _StepFailed("exact", f"the last side of an '{step.relation}' step must be a set", step.at)
            if _member(sides[q], right) != (step.relation == "in"):
                raise _StepFailed("exact", f"{_short(_plain(sides[q]))} is {'not ' if step.relation == 'in' else ''}"
                                           f"in the set {right!r}", step.at)
            continue
        tolerance = sp.Rational(1, 2 * 10 ** step.digits) if step.relation == "approx" and q + 1 == last else 0
        difference = _max_difference(sides[q], right)
        worst = max(worst, float(difference))
        if difference > tolerance:
            raise _StepFailed("exact", f"side {q + 1} = {_short(_plain(sides[q]))} but side {q + 2} = "
                                       f"{_short(_plain(right))} (they differ by {float(difference):.3g}"
                                       + (f", more than the rounding {float(tolerance):.0e}" if tolerance else "")
                                       + ")" + _inexact_hint(step.at), step.at)
    return Verdict(step.id, True, ["exact"], len(sides) - 1, worst)


def _inexact_hint(at: Mapping[str, Any]) -> str:
    """What to write instead when an example's input is a decimal that binary floats cannot hold (0.1)."""
    for name, value in at.items():
        for q in np.asarray(value, dtype=object).ravel():
            if isinstance(q, float) and sp.Rational(q) != sp.Rational(repr(q)):
                return (f"; {name} holds {q!r}, which a float holds only approximately: give the example inputs "
                        f"exact in binary (such as 0.5, 0.25, -1.5), or relation=\"approx\" (the last side "
                        f"then compared rounded to digits=4)")
    return ""


def _plain(value):
    if isinstance(value, np.ndarray):
        return np.vectorize(lambda e: sp.nsimplify(e) if isinstance(e, float) else e, otypes=[object])(value).tolist()
    if isinstance(value, tuple):
        return tuple(_plain(q) for q in value)
    return value


def _max_difference(a, b):
    """The largest |a - b| over entries, exactly (a and b numbers, arrays or tuples of them)."""
    if isinstance(a, tuple) or isinstance(b, tuple):
        if not (isinstance(a, tuple) and isinstance(b, tuple)) or len(a) != len(b):
            return sp.oo
        return max((_max_difference(p_, q_) for p_, q_ in zip(a, b)), default=sp.Integer(0))
    if isinstance(a, Hull) or isinstance(b, Hull):
        raise TypeError("a set can only be on the right of 'in'")
    a_arr, b_arr = np.asarray(a, dtype=object), np.asarray(b, dtype=object)
    if a_arr.shape != b_arr.shape and a_arr.size == b_arr.size and 1 in (a_arr.ndim, b_arr.ndim):
        a_arr, b_arr = a_arr.ravel(), b_arr.ravel()     # a vector shown as a column
    if a_arr.shape != b_arr.shape:
        return sp.oo
    return max((_distance(p_, q_) for p_, q_ in zip(a_arr.ravel(), b_arr.ravel())), default=sp.Integer(0))


_APART = sp.Float("1e-30", 50)


def _distance(a, b):
    """|a - b| as a number that can be compared: 0 when sympy proves them equal, else its value to 50 digits.

    sympy leaves |a - b| unevaluated when a and b are equal in forms it does not cancel
    (log(e + e^2) and 1 + log(1 + e)); comparing such a value raises "cannot determine truth
    value of Relational", so the difference is simplified first.
    """
    difference = sp.sympify(a) - sp.sympify(b)
    if difference.is_Number:
        return abs(difference)
    value = abs(difference).evalf(50)
    if value.is_Number and value.is_finite and value > _APART:
        return value   # apart by far more than 50 digits can blur: nothing left to prove (and simplify is slow)
    if _zero_or_residue(difference) == 0:
        return sp.Integer(0)
    if not value.is_Number:
        raise ValueError(f"the difference {difference} is not a number")
    return value


def _member(value, hull: Hull, tol: float = 1e-12) -> bool:
    points = np.array([np.asarray(q, dtype=float).ravel() for q in hull.points])
    target = np.asarray(value, dtype=float).ravel()
    if points.shape[1] != target.size:
        return False
    return engine.hull_distance(points, target) <= tol * max(1.0, float(np.max(np.abs(points))))


# ---- sets at the kinks ---------------------------------------------------------------------------
def _check_subdifferential(step: Step) -> Verdict:
    """The displayed set equals the generalized gradient at ties of every size, and at plain points."""
    op = step.operation
    assert op is not None
    cases = [c for c in engine.kink_cases(op) if c.kind == "kink"] + engine.exact_cases(op)[:4]
    count = 0
    for case in cases:
        env = op.point_env(case.values, step.index_base)
        sets = [evaluate(side, env) for side in step.sides]
        for q in range(len(sets) - 1):
            count += 1
            a, b = sets[q], sets[q + 1]
            if not (isinstance(a, Hull) and isinstance(b, Hull)):
                raise _StepFailed("exact", "both sides of a subdifferential step must be sets", case.values)
            if not (all(_member(p_, b) for p_ in a.points) and all(_member(p_, a) for p_ in b.points)):
                raise _StepFailed("exact", f"side {q + 1} is {a!r} but side {q + 2} is {b!r}", case.values)
    return Verdict(step.id, True, ["exact", "generalized gradient"], count, 0.0)
