"""Checking the displayed steps of a derivation.

A Step is a chain of equalities, `sides[0] = sides[1] = ...`, that holds for
every index in `over` (a free index and its inclusive bounds).  Its names
stand for the problem's inputs, its forward output and derived arrays, and
Partial nodes are derivatives of the forward operation.  A step is checked:
- exactly, at every index of every exact shape of its problem, with every
  input entry a free symbol (so the equality is an identity), zero tolerance;
- in float64 at sampled indices (every corner included) of larger shapes,
  with complex-step derivatives.
A Step without a problem is an identity in its `variables` (e.g. calculus in
one variable or the arithmetic of shapes), proved by sympy for all values.  A Step with `claim` is checked by that function instead.
"""
from __future__ import annotations

import time
from dataclasses import dataclass
from typing import Any, Callable

import numpy as np
import sympy as sp

from . import engine
from .problems import Problem, cases, index_tuples
from .symbolic import evaluate

# Float step checks sum at most a few hundred O(1) products and take
# complex-step derivatives (exact to one rounding): their error stays below
# 1e-13 relative.  A wrong step (a sign, a bound, a flip) is off by O(1).
FLOAT_RTOL = 1e-10
FLOAT_INDEX_SAMPLE = 40
FLOAT_MAX_ENTRIES = 100   # float checks use the float shapes of at most this many input entries


@dataclass(frozen=True)
class Step:
    id: str
    question: str
    sides: tuple[Any, ...]
    over: tuple[tuple[sp.Symbol, Any, Any], ...] = ()
    problem: Problem | None = None
    kind: str = "verified"                 # "verified" or "definition"
    result: str | None = None              # a verify result id: the last side is its formula
    variables: tuple[sp.Symbol, ...] = ()  # identities: the symbols they hold for
    claim: Callable[[], "StepReport"] | None = None
    note: str = ""                         # LaTeX text after the display, e.g. r"($i^*$ unique)"
    relation: str = "="                    # "=" or "approx" (numbers rounded for display)

    def __post_init__(self):
        if self.kind not in ("verified", "definition"):
            raise ValueError(f"step {self.id}: kind must be 'verified' or 'definition'")
        if len(self.sides) < 2:
            raise ValueError(f"step {self.id}: an equality needs at least two sides")


@dataclass
class StepReport:
    id: str
    question: str
    kind: str
    passed: bool
    methods: list[str]
    cases: int
    worst_error: float
    counterexample: str = ""
    seconds: float = 0.0
    result: dict | None = None      # the result check this step carries: id, passed, methods, cases, worst_error

    def __str__(self) -> str:
        verdict = "ok" if self.passed else "FAILED"
        head = f"{self.question} {self.id}: {verdict} ({self.cases} cases; {', '.join(self.methods)})"
        return head if self.passed else f"{head}\n{self.counterexample}"


class _StepFailed(Exception):
    pass


def check_step(step: Step) -> StepReport:
    """Check one step; the report carries a counterexample when it fails."""
    started = time.perf_counter()
    try:
        if step.claim is not None:
            report = step.claim()
        elif step.problem is None:
            report = _check_identity(step)
        else:
            report = _check_model(step)
    except Exception as exc:  # a step that breaks its check has failed it, with the reason
        report = _report(step, False, ["claim" if step.claim else "sympy"], 0, 0.0,
                         f"the check could not run: {type(exc).__name__}: {exc}")
    if report.passed and step.result is not None:
        # The last side is a result's formula: test it, compiled to NumPy, by
        # the independent methods of verify.check as well.
        from .reference import formula
        outcome = engine.check(step.result, formula(step.result))
        report.result = {"id": step.result, "passed": outcome.passed, "methods": outcome.methods,
                         "cases": outcome.cases, "worst_error": outcome.worst_error}
        report.methods += [f"check({step.result})"]
        report.cases += outcome.cases
        report.worst_error = max(report.worst_error, outcome.worst_error)
        if not outcome.passed:
            report.passed = False
            report.counterexample = str(outcome)
    report.seconds = time.perf_counter() - started
    return report


def _report(step, passed, methods, cases_, worst, counterexample=""):
    return StepReport(step.id, step.question, step.kind, passed, methods, cases_, worst, counterexample)


# ---- steps about a problem --------------------------------------------------------------
# Exact environments are costly (a polynomial ring, a symbolic forward pass, derivatives), and
# every step of a problem is checked at the same instances: build each once per process.
_EXACT_ENVS: dict[str, list] = {}


def _exact_instances(prob: Problem) -> list:
    if prob.name not in _EXACT_ENVS:
        _EXACT_ENVS[prob.name] = [(shape, values, *prob.exact_env(values))
                                  for shape, values in cases(prob, exact=True, steps=True)]
    return _EXACT_ENVS[prob.name]


def _check_model(step: Step) -> StepReport:
    prob = step.problem
    count, worst = 0, 0.0
    try:
        for shape, values, env, equal in _exact_instances(prob):
            names = set(env.values)
            try:
                for idx in index_tuples(_ranges(step, env)):
                    count += 1
                    sides = _sides(step, env, idx)
                    for q in range(len(sides) - 1):
                        if not _all(equal, sides[q], sides[q + 1]):
                            raise _StepFailed(_describe(step, "exact", shape, idx, q, sides, values))
            finally:
                for name in set(env.values) - names:  # this step's indices must not leak into the next
                    del env.values[name]
        rng = np.random.default_rng(len(step.id))
        for shape, values in cases(prob, exact=False):
            if sum(np.size(w) for w in values.values()) > FLOAT_MAX_ENTRIES:
                continue
            env = prob.float_env(values)
            for idx in index_tuples(_ranges(step, env), FLOAT_INDEX_SAMPLE, rng):
                count += 1
                sides = [np.asarray(np.real(q), dtype=float) for q in _sides(step, env, idx)]
                for q in range(len(sides) - 1):
                    err = np.abs(sides[q] - sides[q + 1])
                    scale = np.maximum(1.0, np.maximum(np.abs(sides[q]), np.abs(sides[q + 1])))
                    worst = max(worst, float(np.max(err / scale)))
                    if np.any(err > FLOAT_RTOL * scale):
                        raise _StepFailed(_describe(step, "float64", shape, idx, q, sides, values))
    except _StepFailed as failure:
        return _report(step, False, ["exact", "float64"], count, worst, str(failure))
    except (IndexError, KeyError, TypeError, ValueError) as exc:
        return _report(step, False, ["exact", "float64"], count, worst,
                       f"the step cannot be evaluated: {type(exc).__name__}: {exc}")
    return _report(step, True, ["exact", "float64"], count, worst)


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


def _describe(step, method, shape, idx, q, sides, values) -> str:
    where = ", ".join(f"{sym} = {value}" for (sym, _, _), value in zip(step.over, idx))
    sizes = ", ".join(f"{name} = {value}" for name, value in
                      step.problem.dims(*[values[k] for k in step.problem.inputs]).items())
    lines = [f"counterexample ({method}): at {sizes}" + (f" and {where}" if where else ""),
             f"  side {q + 1} = {_short(sides[q])}", f"  side {q + 2} = {_short(sides[q + 1])}"]
    if method == "exact" and step.problem.polynomial:
        lines.append("  (every input entry is a free symbol: the two sides are different polynomials)")
    if method == "exact" and not step.problem.polynomial:
        lines.append("  at " + ", ".join(f"{k} = {engine._show(v)}" for k, v in values.items()))
    return "\n".join(lines)


def _short(value) -> str:
    text = str(value.as_expr() if hasattr(value, "as_expr") else value)
    return text if len(text) <= 400 else text[:400] + " ..."


# ---- identities in free variables ----------------------------------------------------------
def _zero_or_residue(expr):
    """0 when sympy proves expr == 0, else what is left: cheap normal forms before simplify."""
    for normal in (sp.expand, lambda e: sp.cancel(e.rewrite(sp.exp)), lambda e: sp.simplify(e.rewrite(sp.exp))):
        residue = normal(expr)
        if residue == 0:
            return 0
    return residue


def _check_identity(step: Step) -> StepReport:
    """sympy proves each equality for all values of the variables: no sampling can add to that."""
    sides = [sp.sympify(q).doit() for q in step.sides]
    for q in range(len(sides) - 1):
        difference = _zero_or_residue(sides[q] - sides[q + 1])
        if difference != 0:
            return _report(step, False, ["sympy"], q + 1, 0.0,
                           f"counterexample (sympy): side {q + 1} - side {q + 2} simplifies to {difference}, "
                           f"not 0")
    return _report(step, True, ["sympy"], len(sides) - 1, 0.0)
