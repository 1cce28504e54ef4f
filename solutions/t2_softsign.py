"""T2, part 1 in the variants that ask for softsign in place of tanh (see t2_tanh.VARIES)."""
from __future__ import annotations

from typing import Any

import numpy as np
import sympy as sp
from sympy import KroneckerDelta, Sum

from verify import ops
from verify.engine import Gradient
from verify.homework import Criterion, Part, Result, Rubric, WrongAnswer
from verify.operation import Operation
from verify.steps import Kind, Step
from verify.symbolic import Hadamard, Node, Ones, Partial, product, shown, total

from .illustrations import illustrations
from .symbols import L, d, delta_v, i, k, t, x, z
from .t2 import LOSS, NO_DELTA, OTHER_SETTING, RANGE, window_sizes


def forward(x):
    """z = x / (1 + |x|), entry by entry."""
    return x / (1 + ops.absolute(x))


class Magnitude(Node):
    """|x|, entry by entry."""
    nargs = 1
    numeric = staticmethod(ops.absolute)

    def _latex(self, printer):
        return rf"|{printer._print(self.args[0])}|"


SOFTSIGN = Operation("t2.softsign", forward, ("x",), {"x": (d,)}, "z",
                     **window_sizes(100, 4096, 20000),
                     size_ranges={"d": (1, 5000)}, index_base=1)

SLOPE = sp.Pow(Ones(x) + Magnitude(x), -2, evaluate=False)
FORMULA = Hadamard(delta_v, SLOPE)
RESULT = Result("t2.softsign", {"default": Gradient(SOFTSIGN, "x", FORMULA)})

_ALL_K = ((k, 1, d),)


def _step(id_, *sides, kind=Kind.DERIVATION, **extra):
    return Step.of(kind)(id_, *sides, operation=SOFTSIGN, **extra)


def _slope(q):
    return sp.Pow(1 + Magnitude(q), -2, evaluate=False)


STEPS = [
    _step("t2.softsign.forward", z[i], product(x[i], sp.Pow(1 + Magnitude(x[i]), -1)), over=((i, 1, d),),
          kind=Kind.DEFINITION),
    Step.identity("t2.softsign.derivative", sp.Derivative(product(t, sp.Pow(1 + sp.Abs(t), -1)), t),
                  total(sp.Pow(1 + sp.Abs(t), -1), product(-1, t, sp.sign(t), sp.Pow(1 + sp.Abs(t), -2))),
                  sp.Pow(1 + sp.Abs(t), -2, evaluate=False), variables=(t,)),
    _step("t2.softsign.chain_rule", Partial(L, x[k]), Sum(product(delta_v[i], Partial(z[i], x[k])), (i, 1, d)),
          over=_ALL_K),
    _step("t2.softsign.local", Partial(z[i], x[k]), product(KroneckerDelta(i, k), _slope(x[k])),
          over=((i, 1, d),) + _ALL_K),
    _step("t2.softsign.elementwise", Partial(L, x[k]), product(delta_v[k], _slope(x[k])), over=_ALL_K),
    _step("t2.softsign.vectorized", Partial(L, x), FORMULA, kind=Kind.RESULT, gradient=RESULT.gradient()),
]

# ---- the worked example: saturation ---------------------------------------------------------------------
EXAMPLE: dict[str, Any] = {"x": np.array([0.5, 1.0, 3.0, -4.0]), "delta": np.array([1.0, -2.0, 0.5, 1.0])}


def _column(values):
    return sp.ImmutableMatrix([[shown(q)] for q in values])


def _example_steps():
    x_, delta_ = EXAMPLE["x"], EXAMPLE["delta"]
    slope = 1 / (1 + np.abs(x_)) ** 2

    def example(id_, *sides, relation="="):
        return Step.example(id_, *sides, operation=SOFTSIGN, at=EXAMPLE, relation=relation)
    return [
        example("t2.softsign.example.inputs", sp.Tuple(x, delta_v), sp.Tuple(_column(x_), _column(delta_))),
        example("t2.softsign.example.slope", SLOPE, _column(slope), relation="approx"),
        example("t2.softsign.example.gradient", Partial(L, x), FORMULA, _column(delta_ * slope), relation="approx"),
    ]


STEPS += _example_steps()

# ---- common wrong answers -----------------------------------------------------------------------------------
WRONG = (
    WrongAnswer("softsign-no-delta", "t2.softsign", r"The derivative without $\delta$",
                r"This is the local derivative $\partial z_k/\partial x_k$ alone; the gradient of $L$ "
                r"multiplies it by $\delta_k$.",
                SLOPE, decision=r"The error arises in the chain rule; the result follows from it and is not "
                                      r"charged again (rule~3(c) at the front).", deductions=("no-delta",)),
    WrongAnswer("softsign-unsquared", "t2.softsign", r"The derivative written $1 / (1 + |x|)$",
                r"The quotient rule leaves the square of the denominator (Step~3).",
                Hadamard(delta_v, sp.Pow(Ones(x) + Magnitude(x), -1, evaluate=False)),
                decision=r"The error arises in the derivative; the result follows from it and is not charged "
                         r"again.", charges=("derivative",)),
    WrongAnswer("softsign-arctan", "t2.softsign", r"The derivative written $1 / (1 + x^2)$",
                r"That is the derivative of $\arctan$, another S-shaped function; the square in softsign's "
                r"derivative is of the whole denominator, $(1 + |x|)^2 = 1 + 2|x| + x^2$ (Step~3).",
                Hadamard(delta_v, sp.Pow(Ones(x) + Hadamard(x, x), -1, evaluate=False)),
                decision=r"The error arises in the derivative; the result follows from it and is not charged "
                         r"again.", charges=("derivative",)),
)

PART = Part("t2.softsign", "Softsign", 5, (RESULT,), Rubric(
    criteria=(Criterion("chain", 2, r"the chain rule",
                        r"It multiplies by $\delta$, and each output $z_i$ depends on $x_i$ alone, so one term "
                        r"survives (Step~2, and the factor $\mathbb{I}[i = k]$ of Step~4). A Jacobian that is not "
                        r"diagonal "
                        r"is charged here."),
              Criterion("derivative", 2, r"the derivative of softsign",
                        r"It is derived (by the quotient rule, with $|\xi|' = \operatorname{sign}(\xi)$, Step~3), "
                        r"or quoted as $1 / (1 + |x|)^2$; it is the factor of Step~4."),
              Criterion("result", 1, r"the result",
                        r"It is $\delta$ times the derivative, entry by entry, with the shape of $x$ (Steps~5 "
                        r"and~6).")),
    deductions=(NO_DELTA, OTHER_SETTING, LOSS, RANGE),
    full_credit=(r"the derivative written $(1 - |z|)^2$ with the forward output $z$",
                 r"answers written entry by entry, with indices from $0$ or from $1$ and, where a range is "
                 r"written, $d$ values in it (rule~5(e) at the front)",
                 r"at $x_k = 0$, either one-sided derivative: both are $1$")),
    WRONG, question="T2", number=1)

# the grading key's illustrative example: three entries
ILLUSTRATION: dict[str, Any] = {"x": np.array([0.5, -3.0, 2.0]), "delta": np.array([1.0, -2.0, 0.5])}
STEPS += illustrations(PART, (x, delta_v), x, ILLUSTRATION)
