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
from verify.symbolic import Entries, Hadamard, Identity, Node, Ones, Partial, SumOver, operand, product, shown

from .illustrations import illustrations
from .symbols import L, d, delta_v, i, k, t, x, z
from .t2 import LOSS, NO_DELTA, OTHER_SETTING, RANGE, SAMPLE_LOSS, window_sizes

# what may vary between students (verify.variants): the activation.  Another one is a part of its own
# module, with its template, steps, rubric and common answers, in this part's place (T2.1)
VARIES = {"activation": {"tanh": "t2_tanh", "sigmoid": "t2_sigmoid", "softsign": "t2_softsign"}}


def forward(x):
    """z = tanh(x), entry by entry."""
    return ops.tanh(x)


TANH = Operation("t2.tanh", forward, ("x",), {"x": (d,)}, "z",
                 **window_sizes(100, 4096, 20000),
                 size_ranges={"d": (1, 5000)}, index_base=1)

FORMULA = Hadamard(delta_v, Ones(x) - Hadamard(sp.tanh(x), sp.tanh(x)))
RESULT = Result("t2.tanh", {"default": Gradient(TANH, "x", FORMULA)})

_ALL_K = ((k, 1, d),)


class Inner(Node):
    """Inner(a, b): the inner product of two vectors of one shape, a number -- a node of this part's notation."""
    nargs = 2
    numeric = staticmethod(lambda a, b: (np.asarray(a) * np.asarray(b)).sum())

    def _latex(self, printer):
        return rf"\left({operand(printer, self.args[0])}^{{\mathsf{{T}}}} {operand(printer, self.args[1])}\right)"

_et, _emt = sp.exp(t), sp.exp(-t)


def _step(id_, *sides, kind=Kind.DERIVATION, **extra):
    return Step.of(kind)(id_, *sides, operation=TANH, **extra)


STEPS = [
    _step("t2.tanh.forward", z[i], sp.tanh(x[i]), over=((i, 1, d),), kind=Kind.DEFINITION),
    Step.identity("t2.tanh.derivative", sp.Derivative(sp.tanh(t), t),
        sp.Derivative(product(_et - _emt, sp.Pow(_et + _emt, -1)), t),
        product(sp.Add((_et + _emt) ** 2, product(-1, (_et - _emt) ** 2), evaluate=False),
                sp.Pow((_et + _emt) ** 2, -1)),
        product(4, sp.Pow((_et + _emt) ** 2, -1)),
        sp.sech(t) ** 2,
        1 - sp.tanh(t) ** 2, variables=(t,)),
    _step("t2.tanh.chain_rule", Partial(L, x[k]), Sum(product(delta_v[i], Partial(z[i], x[k])), (i, 1, d)),
          over=_ALL_K),
    _step("t2.tanh.local", Partial(z[i], x[k]), product(KroneckerDelta(i, k), 1 - sp.tanh(x[k]) ** 2),
          over=((i, 1, d),) + _ALL_K),
    # the form in z first, in Step 3 as in Step 4, whose last side (in x) is graded
    _step("t2.tanh.elementwise", Partial(L, x[k]), product(delta_v[k], 1 - z[k] ** 2),
          product(delta_v[k], 1 - sp.tanh(x[k]) ** 2), over=_ALL_K),
    _step("t2.tanh.vectorized", Partial(L, x), Hadamard(delta_v, Ones(x) - Hadamard(z, z)), FORMULA,
          kind=Kind.RESULT, gradient=RESULT.gradient()),
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
        return Step.example(id_, *sides, operation=TANH, at=EXAMPLE, relation=relation)
    return [
        example("t2.tanh.example.inputs", sp.Tuple(x, delta_v), sp.Tuple(_column(x_), _column(delta_))),
        example("t2.tanh.example.slope", Ones(x) - Hadamard(sp.tanh(x), sp.tanh(x)), _column(slope),
                relation="approx"),
        example("t2.tanh.example.gradient", Partial(L, x), FORMULA, _column(grad), relation="approx"),
    ]


STEPS += _example_steps()

# ---- the sample solution and other common wrong answers ---------------------------------------------------
_w, _ds = sp.IndexedBase("w"), sp.IndexedBase("deltasample")
# the next layer's units are mu, as in rule 7 (the sample writes k, which T2 keeps for the entries of x); its a_j
# is written x_j, and the next units' inputs h_mu, so that a names nothing in the key (one meaning per symbol)
_js, _ks = sp.Symbol("j", integer=True), sp.Symbol("mu", integer=True)
SAMPLE = Entries(product(1 - sp.tanh(x[_js]) ** 2, SumOver(product(_w[_ks, _js], _ds[_ks]), _ks, 1, d)),
                 _js, 1, d)

WRONG = (
    WrongAnswer("sample.tanh", "t2.tanh", "The sample solution's answer",
                r"The sample differentiates a unit inside a network, in the notation of rule~7 at the front, read as "
                r"rule~8 says: "
                r"its output $z_j = f(x_j)$ feeds, through weights, the inputs of the units of a next layer. "
                r"The sample writes $a_j$ for the question's $x_j$, $a_k$ for the next units' inputs, "
                r"$\delta_k$ for their gradient and $\delta_j$ for its answer. The key writes these units $\mu$, "
                r"their inputs $h_\mu$, their weights $w_{\mu j}$, their gradients $g_\mu$ and the answer "
                r"$\partial L/\partial x_j$ (rules~7 and~8 at the front). It keeps $\delta$ for the question's "
                r"gradient and "
                r"the sample's $j$ for an entry of $x$. The sample's chain rule writes "
                r"$\partial L/\partial x_j$ as "
                r"$(\partial L/\partial z_j) \cdot (\partial z_j/\partial x_j)$, "
                r"then as $[\sum_\mu (\partial L/\partial h_\mu)(\partial h_\mu/\partial z_j)] \cdot f'(x_j)$, "
                r"then as $f'(x_j) \sum_\mu w_{\mu j} g_\mu$, and at last as "
                r"$(1 - \tanh^2(x_j)) \sum_\mu w_{\mu j} g_\mu$, with the derivative of $\tanh$ put in. The factor "
                r"$\partial L/\partial z_j$ of one member is replaced by the bracketed sum in the next, the "
                r"other factor only evaluated, so the sum is identified with the gradient with respect to the "
                r"output (rule~7 at the front), the question's $\partial L/\partial z_j$. Read so, the vector it "
                r"returns is right, and it is checked so below. Its range $j \in [0, d]$ has one entry too many, but "
                r"the vector $\nabla L_n$ (its name for the gradient it returns) that it writes next has the entries "
                r"$1$ to "
                r"$d$, one for each entry "
                r"of $x$. The display below is that vector; the range $[0, d]$ is judged in the grading.",
                FORMULA, quote=SAMPLE,
                reading={_w: Identity(d), _ds: delta_v},
                decision=r"The derivative is quoted, which earns its criterion; the chain rule replaces the "
                         r"factor $\partial L/\partial z_j$ by the sum, which identifies it (rule~7 at the front), and "
                         r"earns its "
                         r"criterion. Its range $[0, d]$ "
                         r"is a range of the index $j$, so it has the $d + 1$ integers $0$ to $d$, for a vector of "
                         r"$d$ entries. Rule~5(e) at the front decides such a range: it states a wrong shape, also "
                         r"beside the vector of $d$ entries that follows it. The result's criterion, which asks for "
                         r"the shape of $x$, is lost, although the vector returned is right." + SAMPLE_LOSS,
                deductions=("range",), accepted=True),
    WrongAnswer("tanh-prime", "t2.tanh", r"The derivative written $1 - \tanh$",
                r"The square of $\tanh$ is missing from the derivative (Step~2).",
                Hadamard(delta_v, Ones(x) - sp.tanh(x)),
                decision=r"The error arises in the derivative; the result follows from it and is not charged "
                         r"again.", charges=("derivative",)),
    WrongAnswer("tanh-squared", "t2.tanh", r"The derivative written $(1 - \tanh)^2$",
                r"The square belongs to $\tanh$ alone, not to the whole difference (Step~2).",
                Hadamard(delta_v, Hadamard(Ones(x) - sp.tanh(x), Ones(x) - sp.tanh(x))),
                decision=r"As with $1 - \tanh$, only the derivative is wrong, and the result built on it is "
                         r"not charged again.", charges=("derivative",)),
    WrongAnswer("tanh-inner-product", "t2.tanh", r"The inner product in place of the entry-wise product",
                r"Each output $z_k$ depends on $x_k$ alone, so for each entry one term of the chain rule's sum "
                r"survives (Steps~2 and~3). The inner product "
                r"$\delta^{\mathsf{T}}(\mathbf{1} - \tanh(x) \odot \tanh(x))$, "
                r"written also as "
                r"$\sum_k \delta_k (1 - \tanh^2(x_k))$ or \texttt{np.dot}, adds the terms of every entry into one "
                r"number. The display below puts that number in every entry.",
                product(Inner(delta_v, Ones(x) - Hadamard(sp.tanh(x), sp.tanh(x))), Ones(x)),
                decision=r"The error arises in the chain rule (rule~1(i) at the front). The number it gives for "
                         r"the result, also when it is one number in place of a vector, follows from that error "
                         r"and is not charged again.", charges=("chain",)),
    WrongAnswer("tanh-no-delta", "t2.tanh", r"The derivative $f'$ without $\delta$",
                r"This is the local derivative $\partial z_k/\partial x_k$ alone; the gradient of $L$ "
                r"multiplies it by $\delta_k$.",
                Ones(x) - Hadamard(sp.tanh(x), sp.tanh(x)),
                decision=r"The error arises in the chain rule; the result follows from it and is not charged "
                         r"again (rule~3(c) at the front).", deductions=("no-delta",)),
)

PART = Part("t2.tanh", "Tanh", 5, (RESULT,), Rubric(
    criteria=(Criterion("chain", 2, r"the chain rule",
                        r"It multiplies by $\delta$, and each output $z_i$ depends on $x_i$ alone, so one term "
                        r"survives (Step~1, and the factor $\mathbb{I}[i = k]$ of Step~2). A Jacobian that is not "
                        r"diagonal "
                        r"is charged here."),
              Criterion("derivative", 2, r"the derivative of $\tanh$",
                        r"It is derived (by the quotient rule or from the exponentials, Step~2), or quoted as a "
                        r"standard result in any form equal to it at every $x$ (rule~6 at the front), such as "
                        r"$1 - \tanh^2$, $\operatorname{sech}^2$, $1 - z^2$ or $1 / \cosh^2$, "
                        r"in the network form and in the Jacobian form alike; it is the factor "
                        r"$1 - \tanh^2(x_k)$ of Step~2."),
              Criterion("result", 1, r"the result",
                        r"It is $\delta$ times the derivative, entry by entry, with the shape of $x$ (Steps~3 "
                        r"and~4). A formula written for the vector $\partial L/\partial x$ in the symbols of one "
                        r"entry, with no $\odot$ and no index (``$\partial L/\partial x = \delta(1 - "
                        r"\tanh^2(x))$''), is read entry by entry, and has the shape of $x$, unless the answer "
                        r"states another (``this is a scalar'', rule~5(g) at the front): then the result is lost.")),
    deductions=(NO_DELTA, OTHER_SETTING, LOSS, RANGE),
    full_credit=(r"the derivative written with the forward output $z$ (Step~3)",
                 r"answers written entry by entry, with indices from $0$ or from $1$ and, where a range is "
                 r"written, $d$ values in it (rule~5(e) at the front)",
                 r"the Jacobian form $\operatorname{diag}(\mathbf{1} - \tanh(x) \odot \tanh(x))\,\delta$",
                 r"the sum $\sum_\mu w_{\mu j} g_\mu$ in place of $\delta_j$, when the answer identifies it with "
                 r"$\partial L/\partial z_j$ (rule~7 at the front)")),
    WRONG, question="T2", number=1)

# the grading key's illustrative example: three entries
ILLUSTRATION: dict[str, Any] = {"x": np.array([0.5, -1.0, 2.0]), "delta": np.array([1.0, -2.0, 0.5])}
STEPS += illustrations(PART, (x, delta_v), x, ILLUSTRATION)
