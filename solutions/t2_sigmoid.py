"""T2, part 1 in the variants that ask for the logistic sigmoid in place of tanh (see t2_tanh.VARIES)."""
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
from verify.symbolic import Hadamard, Node, Ones, Partial, product, shown

from .illustrations import illustrations
from .symbols import L, d, delta_v, i, k, t, x, z
from .t2 import LOSS, NO_DELTA, OTHER_SETTING, RANGE, window_sizes


def forward(x):
    """z = sigma(x) = 1 / (1 + exp(-x)), entry by entry."""
    return 1 / (1 + ops.exp(-np.asarray(x) if np.ndim(x) else -x))


class Sigmoid(Node):
    """sigma(x), the logistic sigmoid, entry by entry."""
    nargs = 1
    numeric = staticmethod(forward)

    def _latex(self, printer):
        return rf"\sigma({printer._print(self.args[0])})"


SIGMOID = Operation("t2.sigmoid", forward, ("x",), {"x": (d,)}, "z",
                    **window_sizes(100, 4096, 20000),
                    size_ranges={"d": (1, 5000)}, index_base=1)

FORMULA = Hadamard(delta_v, Hadamard(Sigmoid(x), Ones(x) - Sigmoid(x)))
RESULT = Result("t2.sigmoid", {"default": Gradient(SIGMOID, "x", FORMULA)})

_ALL_K = ((k, 1, d),)
_emt = sp.exp(-t)


def _step(id_, *sides, kind=Kind.DERIVATION, **extra):
    return Step.of(kind)(id_, *sides, operation=SIGMOID, **extra)


STEPS = [
    _step("t2.sigmoid.forward", z[i], Sigmoid(x[i]), sp.Pow(1 + sp.exp(-x[i]), -1), over=((i, 1, d),),
          kind=Kind.DEFINITION),
    Step.identity("t2.sigmoid.derivative", sp.Derivative(sp.Pow(1 + _emt, -1), t),
                  product(_emt, sp.Pow((1 + _emt) ** 2, -1)),
                  product(sp.Pow(1 + _emt, -1), 1 - sp.Pow(1 + _emt, -1)), variables=(t,)),
    _step("t2.sigmoid.chain_rule", Partial(L, x[k]), Sum(product(delta_v[i], Partial(z[i], x[k])), (i, 1, d)),
          over=_ALL_K),
    _step("t2.sigmoid.local", Partial(z[i], x[k]), product(KroneckerDelta(i, k), Sigmoid(x[k]), 1 - Sigmoid(x[k])),
          over=((i, 1, d),) + _ALL_K),
    # the form in z first, in the entry-wise step as in the vectorized one, whose last side (in x) is graded
    _step("t2.sigmoid.elementwise", Partial(L, x[k]), product(delta_v[k], z[k], 1 - z[k]),
          product(delta_v[k], Sigmoid(x[k]), 1 - Sigmoid(x[k])), over=_ALL_K),
    _step("t2.sigmoid.vectorized", Partial(L, x), Hadamard(delta_v, Hadamard(z, Ones(x) - z)), FORMULA,
          kind=Kind.RESULT, gradient=RESULT.gradient()),
]

# ---- the worked example: saturation ---------------------------------------------------------------------
EXAMPLE: dict[str, Any] = {"x": np.array([0.0, 1.0, 4.0, -5.0]), "delta": np.array([1.0, -2.0, 0.5, 1.0])}


def _column(values):
    return sp.ImmutableMatrix([[shown(q)] for q in values])


def _example_steps():
    x_, delta_ = EXAMPLE["x"], EXAMPLE["delta"]
    slope = forward(x_) * (1 - forward(x_))

    def example(id_, *sides, relation="="):
        return Step.example(id_, *sides, operation=SIGMOID, at=EXAMPLE, relation=relation)
    return [
        example("t2.sigmoid.example.inputs", sp.Tuple(x, delta_v), sp.Tuple(_column(x_), _column(delta_))),
        example("t2.sigmoid.example.slope", Hadamard(Sigmoid(x), Ones(x) - Sigmoid(x)), _column(slope),
                relation="approx"),
        example("t2.sigmoid.example.gradient", Partial(L, x), FORMULA, _column(delta_ * slope), relation="approx"),
    ]


STEPS += _example_steps()

# ---- common wrong answers -----------------------------------------------------------------------------------
WRONG = (
    WrongAnswer("sigmoid-no-delta", "t2.sigmoid", r"The derivative $\sigma'$ without $\delta$",
                r"This is the local derivative $\partial z_k/\partial x_k$ alone; the gradient of $L$ "
                r"multiplies it by $\delta_k$.",
                Hadamard(Sigmoid(x), Ones(x) - Sigmoid(x)),
                decision=r"The error arises in the chain rule; the result follows from it and is not charged "
                         r"again (rule~3(c) at the front).", deductions=("no-delta",)),
    WrongAnswer("sigmoid-itself", "t2.sigmoid", r"The derivative written $\sigma$",
                r"The sigmoid is not its own derivative (that is $e^x$): its slope is $\sigma (1 - \sigma)$ "
                r"(Step~3).",
                Hadamard(delta_v, Sigmoid(x)),
                decision=r"The error arises in the derivative; the result follows from it and is not charged "
                         r"again.", charges=("derivative",)),
    WrongAnswer("sigmoid-tanh", "t2.sigmoid", r"The derivative of $\tanh$ instead, $1 - \sigma^2$",
                r"$1 - z^2$ is the slope of $\tanh$ written with its output; the sigmoid's is $z (1 - z)$.",
                Hadamard(delta_v, Ones(x) - Hadamard(Sigmoid(x), Sigmoid(x))),
                decision=r"The error arises in the derivative; the result follows from it and is not charged "
                         r"again.", charges=("derivative",)),
)

PART = Part("t2.sigmoid", "Sigmoid", 5, (RESULT,), Rubric(
    criteria=(Criterion("chain", 2, r"the chain rule",
                        r"It multiplies by $\delta$, and each output $z_i$ depends on $x_i$ alone, so one term "
                        r"survives (Step~2, and the factor $\mathbb{I}[i = k]$ of Step~4). A Jacobian that is not "
                        r"diagonal "
                        r"is charged here."),
              Criterion("derivative", 2, r"the derivative of $\sigma$",
                        r"It is derived (by the chain rule on $(1 + e^{-x})^{-1}$, Step~3), or quoted as a "
                        r"standard result in any of its equal forms ($\sigma (1 - \sigma)$, "
                        r"$e^{-x} / (1 + e^{-x})^2$, $z (1 - z)$); it is the factor $\sigma(x_k) (1 - \sigma(x_k))$ "
                        r"of Step~4."),
              Criterion("result", 1, r"the result",
                        r"It is $\delta$ times the derivative, entry by entry, with the shape of $x$ (Steps~5 "
                        r"and~6).")),
    deductions=(NO_DELTA, OTHER_SETTING, LOSS, RANGE),
    full_credit=(r"the derivative written with the forward output $z$ (Step~5)",
                 r"answers written entry by entry, with indices from $0$ or from $1$ and, where a range is "
                 r"written, $d$ values in it (rule~5(e) at the front)",
                 r"the Jacobian form $\operatorname{diag}(\sigma(x) \odot (\mathbf{1} - \sigma(x)))\,\delta$")),
    WRONG, question="T2", number=1)

# the grading key's illustrative example: three entries
ILLUSTRATION: dict[str, Any] = {"x": np.array([0.5, -1.0, 2.0]), "delta": np.array([1.0, -2.0, 0.5])}
STEPS += illustrations(PART, (x, delta_v), x, ILLUSTRATION)
