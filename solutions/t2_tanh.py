"""T2, part 1: tanh, applied to every entry of x."""
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
from verify.symbolic import Entries, Hadamard, Identity, Ones, Partial, SumAll, SumOver, product, shown

from .symbols import L, d, delta_v, i, k, t, x, z
from .t2 import NO_DELTA, NO_STEPS, OTHER_SETTING


def forward(x):
    """z = tanh(x), entry by entry."""
    return ops.tanh(x)


def _sizes(*ds):
    return tuple({"d": q} for q in ds)


TANH = Operation("t2.tanh", forward, ("x",), {"x": (d,)}, "z",
                 exact_sizes=_sizes(1, 2, 3, 5), float_sizes=_sizes(5, 16, 100, 4096, 20000),
                 size_ranges={"d": (1, 5000)}, index_base=1)

FORMULA = Hadamard(delta_v, Ones(x) - Hadamard(sp.tanh(x), sp.tanh(x)))
RESULT = Result("t2.tanh", {"default": Gradient(TANH, "x", FORMULA)})

_ALL_K = ((k, 1, d),)
_et, _emt = sp.exp(t), sp.exp(-t)


def _step(id_, *sides, kind=Kind.DERIVATION, **extra):
    return Step(id_, tuple(sides), kind, TANH, **extra)


STEPS = [
    _step("t2.tanh.forward", z[i], sp.tanh(x[i]), over=((i, 1, d),), kind=Kind.DEFINITION),
    Step("t2.tanh.derivative", (
        sp.Derivative(sp.tanh(t), t),
        sp.Derivative(product(_et - _emt, sp.Pow(_et + _emt, -1)), t),
        product(sp.Add((_et + _emt) ** 2, product(-1, (_et - _emt) ** 2), evaluate=False),
                sp.Pow((_et + _emt) ** 2, -1)),
        product(4, sp.Pow((_et + _emt) ** 2, -1)),
        sp.sech(t) ** 2,
        1 - sp.tanh(t) ** 2), Kind.IDENTITY, variables=(t,)),
    _step("t2.tanh.chain_rule", Partial(L, x[k]), Sum(product(delta_v[i], Partial(z[i], x[k])), (i, 1, d)),
          over=_ALL_K),
    _step("t2.tanh.local", Partial(z[i], x[k]), product(KroneckerDelta(i, k), 1 - sp.tanh(x[k]) ** 2),
          over=((i, 1, d),) + _ALL_K),
    _step("t2.tanh.elementwise", Partial(L, x[k]), product(delta_v[k], 1 - sp.tanh(x[k]) ** 2),
          product(delta_v[k], 1 - z[k] ** 2), over=_ALL_K),
    _step("t2.tanh.vectorized", Partial(L, x), FORMULA, kind=Kind.RESULT, gradient=RESULT.gradient()),
]

# ---- the worked example: saturation ---------------------------------------------------------------------
EXAMPLE: dict[str, Any] = {"x": np.array([0.0, 0.5, 2.0, -3.0]), "delta": np.array([1.0, -2.0, 0.5, 1.0])}


def _column(values):
    return sp.ImmutableMatrix([[shown(q)] for q in values])


def _example_steps():
    x_, delta_ = EXAMPLE["x"], EXAMPLE["delta"]
    slope = 1 - np.tanh(x_) ** 2
    grad = delta_ * slope

    def example(id_, *sides, relation="="):
        return Step(id_, tuple(sides), Kind.EXAMPLE, TANH, at=EXAMPLE, relation=relation)
    return [
        example("t2.tanh.example.inputs", sp.Tuple(x, delta_v), sp.Tuple(_column(x_), _column(delta_))),
        example("t2.tanh.example.slope", Ones(x) - Hadamard(sp.tanh(x), sp.tanh(x)), _column(slope),
                relation="approx"),
        example("t2.tanh.example.gradient", Partial(L, x), FORMULA, _column(grad), relation="approx"),
    ]


STEPS += _example_steps()

# ---- the sample solution and other common wrong answers ---------------------------------------------------
_a, _w, _ds = sp.IndexedBase("a"), sp.IndexedBase("w"), sp.IndexedBase("deltasample")
_js, _ks = sp.Symbol("j", integer=True), sp.Symbol("k", integer=True)
SAMPLE = Entries(product(1 - sp.tanh(_a[_js]) ** 2, SumOver(product(_w[_ks, _js], _ds[_ks]), _ks, 1, d)),
                 _js, 1, d)

WRONG = (
    WrongAnswer("sample.tanh", "t2.tanh", "The sample solution's answer",
                r"The sample differentiates a unit inside a network: $z_k = f(a_k)$ feeds a dense layer with "
                r"weights $w_{kj}$, and its $\delta_k$ belong to that layer. The question has no weights; it "
                r"gives the gradient with respect to the output as $\delta$. As written, the answer depends on "
                r"the weights, and it is the gradient only for those of the identity ($w_{kj} = 1$ when "
                r"$k = j$, and $0$ otherwise). Below, $a_j$ is $x_j$, $\delta_k$ is the question's, and every "
                r"weight is $1$. (The sample lets $j$ run over $[0, d]$, one entry too many; its vector runs "
                r"from $\delta_1$ to $\delta_d$.)",
                product(SumAll(delta_v), Ones(x) - Hadamard(sp.tanh(x), sp.tanh(x))), quote=SAMPLE,
                reading={_a: x, _w: Ones(Identity(d)), _ds: delta_v},
                decision=r"The derivative of $\tanh$ is right; the chain rule is written for another setting "
                         r"(its 2 points; the result follows from it): 3 of 5 points.", award=3),
    WrongAnswer("tanh-no-delta", "t2.tanh", r"$f'$ without $\delta$",
                r"This is the local derivative $\partial z_k/\partial x_k$ alone; the gradient of $L$ "
                r"multiplies it by $\delta_k$.",
                Ones(x) - Hadamard(sp.tanh(x), sp.tanh(x)),
                decision=r"Lose 2 points (the chain rule with $\delta$)."),
    WrongAnswer("tanh-prime", "t2.tanh", r"$1 - \tanh$ instead of $1 - \tanh^2$",
                r"The square of $\tanh$ is missing from the derivative (Step~2).",
                Hadamard(delta_v, Ones(x) - sp.tanh(x)),
                decision=r"Lose the 2 points for the derivative of $\tanh$."),
    WrongAnswer("tanh-squared", "t2.tanh", r"$(1 - \tanh)^2$",
                r"The square belongs to $\tanh$ alone, not to the whole difference (Step~2).",
                Hadamard(delta_v, Hadamard(Ones(x) - sp.tanh(x), Ones(x) - sp.tanh(x))),
                decision=r"Lose the 2 points for the derivative of $\tanh$."),
)

PART = Part("t2.tanh", "Tanh", 5, (RESULT,), Rubric(
    criteria=(Criterion(2, r"The derivative of $\tanh$, by the quotient rule or from the exponentials (Step~2)."),
              Criterion(2, r"The chain rule with $\delta$: each $z_i$ depends on $x_i$ alone, so one term "
                           r"survives (Steps~3 and~4)."),
              Criterion(1, r"The result: $\delta$ times the derivative, entry by entry, with the shape of $x$ "
                           r"(Steps~5 and~6).")),
    deductions=(NO_STEPS, NO_DELTA, OTHER_SETTING),
    full_credit=(r"any of the equal forms of the derivative in Step 2, such as $\operatorname{sech}^2$",
                 r"the derivative written with the forward output $z$ (Step~5)", r"answers written entry by entry")),
    WRONG, question="T2", number=1)
