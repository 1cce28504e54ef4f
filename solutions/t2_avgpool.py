"""T2, part 3: average pooling, f(x) = (1/d) sum_i x_i."""
from __future__ import annotations

from typing import Any

import numpy as np
import sympy as sp
from sympy import KroneckerDelta, Sum

from verify.engine import Gradient
from verify.homework import Criterion, Deduction, Part, Result, Rubric, WrongAnswer
from verify.operation import Operation
from verify.steps import Kind, Step
from verify.symbolic import ArgMax, Entries, OneHot, Ones, Partial, SumOver, product, shown

from .illustrations import illustrations
from .symbols import L, d, delta_s, i, k, x, z_s
from .t2 import LOSS, NO_DELTA, OTHER_SETTING, RANGE, SAMPLE_LOSS, window_sizes, wrong_routing


def forward(x):
    """z = (1/d) sum_i x_i, one number."""
    x = np.asarray(x)
    if x.dtype == object:
        return x.sum() * sp.Rational(1, x.size)
    return x.sum() / x.size


AVGPOOL = Operation("t2.avgpool", forward, ("x",), {"x": (d,)}, "z",
                    **window_sizes(100, 4096, 100000),
                    size_ranges={"d": (1, 100000)}, index_base=1)

FORMULA = product(delta_s / d, Ones(x))
RESULT = Result("t2.avgpool", {"default": Gradient(AVGPOOL, "x", FORMULA)})

_ALL_K = ((k, 1, d),)


def _step(id_, *sides, kind=Kind.DERIVATION, **extra):
    return Step.of(kind)(id_, *sides, operation=AVGPOOL, **extra)


EXAMPLE: dict[str, Any] = {"x": np.array([0.5, 2.0, -1.0, 2.0]), "delta": 3.0}

STEPS = [
    _step("t2.avgpool.forward", z_s, product(1 / d, Sum(x[i], (i, 1, d))), kind=Kind.DEFINITION),
    _step("t2.avgpool.chain_rule", Partial(L, x[k]), product(delta_s, Partial(z_s, x[k])), over=_ALL_K),
    _step("t2.avgpool.local", Partial(z_s, x[k]), product(1 / d, Sum(KroneckerDelta(i, k), (i, 1, d))), 1 / d,
          over=_ALL_K),
    _step("t2.avgpool.elementwise", Partial(L, x[k]), product(delta_s, Partial(z_s, x[k])), delta_s / d,
          over=_ALL_K),
    _step("t2.avgpool.vectorized", Partial(L, x), FORMULA, kind=Kind.RESULT, gradient=RESULT.gradient()),
    Step.example("t2.avgpool.example.inputs", sp.Tuple(x, delta_s), sp.Tuple(
        sp.ImmutableMatrix([[shown(q)] for q in EXAMPLE["x"]]), shown(EXAMPLE["delta"])),
                 operation=AVGPOOL, at=EXAMPLE),
    Step.example("t2.avgpool.example", Partial(L, x), FORMULA,
                                sp.ImmutableMatrix([[shown(EXAMPLE["delta"] / EXAMPLE["x"].size)]]
                                                   * EXAMPLE["x"].size),
                 operation=AVGPOOL, at=EXAMPLE),
]

# ---- the sample solution and other common wrong answers ---------------------------------------------------
_w, _ds = sp.IndexedBase("w"), sp.IndexedBase("deltasample")
# the next layer's units are mu, as in rule 7 (the sample writes k, which T2 keeps for the entries of x)
_js, _ks = sp.Symbol("j", integer=True), sp.Symbol("mu", integer=True)
SAMPLE = Entries(product(1 / d, SumOver(product(_w[_ks], _ds[_ks]), _ks, 1, 1)), _js, 1, d)

WRONG = (
    WrongAnswer("sample.avgpool", "t2.avgpool", "The sample solution's answer",
                r"The sample writes average pooling inside a network, with the weights of a next layer (its "
                r"$w_{kj}$) that the question does not have, and never says what its sum over a next layer is, "
                r"$\sum_\mu w_\mu g_\mu$ in "
                r"the key's letters (rule~7 at the front: it writes its units $k$ and their gradients $\delta_k$). The "
                r"question's pooling has a single output; read as the gradient with respect to it (rule~8 at the "
                r"front), the sum is the question's $\delta$: below, it has the one term $\mu = 1$, with "
                r"$w_1 = 1$ and $g_1 = \delta$, the question's $\delta$, and the result is checked so. The "
                r"sample's weights "
                r"$w_{kj}$ carry the $j$ of an entry of $x$; with one output the key drops it and writes $w_\mu$.",
                FORMULA, quote=SAMPLE,
                reading={_w: Entries(sp.Integer(1), _ks, 1, 1),   # one output, and the sum read as its gradient
                         _ds: Entries(delta_s, _ks, 1, 1)},
                decision=r"The local derivative $\frac{1}{d}$ is right; the sum is not identified with "
                         r"$\partial L/\partial z$. The share and the result follow from the chain rule as "
                         r"written and are not charged again. An answer that adds the expansion "
                         r"$\sum_\mu (\partial L / \partial h_\mu)(\partial h_\mu / \partial z)$ without "
                         r"$\partial L/\partial z$ before it, or calls the sum the back-propagated error, is "
                         r"graded the same (rule~7 at the front)." + SAMPLE_LOSS, deductions=("other-setting",),
                accepted=True),
    WrongAnswer("avg-missing-d", "t2.avgpool", r"The $\frac{1}{d}$ left out",
                r"Each entry enters the mean with weight $\frac{1}{d}$, so each receives $\delta/d$.",
                product(delta_s, Ones(x)),
                decision=r"The missing $\frac{1}{d}$ is one error, charged at the share and the result (one of the "
                         r"three exceptions of rule~3(a) at the front) wherever it appears: also where the local "
                         r"derivative is written $1$, which then costs nothing more, as the local derivative "
                         r"beside the mean of T1.3 does, so that a second wrong line never raises the score. A chain "
                         r"rule "
                         r"that sums over the $d$ entries, which gives the same number, is charged at the chain rule "
                         r"instead "
                         r"(rule~1(i) at the front). A local derivative written $1$ before a right result "
                         r"$\delta / d$ is a wrong line of its own, and loses the local derivative alone "
                         r"(rule~4(c) at the front). The missing $\frac{1}{d}$ is no wrong routing (rule~3(d) at the "
                         r"front): it gives "
                         r"every entry the same multiple of $\delta$, as the mean does.",
                deductions=("missing-d",)),
    WrongAnswer("avg-as-max", "t2.avgpool", r"Average pooling answered as max pooling",
                r"All of $\delta$ goes to the maximizer, the gradient of the maximum. Every entry moves the "
                r"mean, so every entry receives $\delta/d$.",
                product(delta_s, OneHot(x, ArgMax(x))),
                decision=r"This is the gradient of the maximum, graded as max pooling answered as average "
                         r"pooling is: the local derivative, the share and the result route $\delta$ as a maximum "
                         r"does, and "
                         r"the result does not count as following from a charged error (rule~3(d) at the front).",
                deductions=("routing",)),
    WrongAnswer("avg-no-delta", "t2.avgpool", r"The derivative $\partial z/\partial x$ without $\delta$",
                r"Each entry gets $\frac{1}{d}$, the slope of the mean; the gradient of $L$ scales it by "
                r"$\delta$.",
                product(1 / d, Ones(x)),
                decision=r"As in T2.1 and max pooling, the missing $\delta$ is the chain rule's error; the share and "
                         r"the result follow from it and are not charged again (rule~3(c) at the front).",
                deductions=("no-delta",)),
)

PART = Part("t2.avgpool", "Average pooling", 5, (RESULT,), Rubric(
    criteria=(Criterion("chain", 2, "the chain rule", r"It multiplies by $\delta$: one output, so one term (Step~1)."),
              Criterion("local", 1, "the local derivative",
                        r"It is $1/d$ for every entry (Step~2). A T2 answer is graded from the lines it shows "
                        r"(rule~1(a) at the front), so the value is shown wherever it is written, also as a factor "
                        r"of the result alone, as the $\frac{1}{d}$ of $\delta/d$. A wrong value on a line of its "
                        r"own loses the criterion, also beside a right result."),
              Criterion("share", 1, "the share", r"Every entry receives $\delta/d$ (Step~3)."),
              Criterion("result", 1, "the result",
                        r"The vector $\frac{\delta}{d}\,\mathbf{1}$, with the shape of $x$ (Step~4). A "
                        r"number written for the vector $\partial L/\partial x$ (``$\partial L/\partial x = "
                        r"\delta/d$'') is read as that number in every entry, and has its shape, unless the answer "
                        r"states another (``this is a scalar'', rule~5(g) at the front): then the result is lost. A "
                        r"wrong shape, a wrong range included, costs this criterion alone, as in T2.1 and T2.2.")),
    deductions=(NO_DELTA, OTHER_SETTING, LOSS, RANGE,
                Deduction("missing-d", r"a wrong scale",
                          r"A result that gives every entry the same share $\kappa\,\delta$ with $\kappa \ne "
                          r"\frac{1}{d}$ "
                          r"has a wrong scale. The usual one leaves out the $\frac{1}{d}$ ($\kappa = 1$); others are "
                          r"$d\,\delta$, $2\delta/d$ and $\delta/(d-1)$. Where a "
                          r"chain rule that sums over the $d$ entries leads to it, rule~1(i) at the front charges "
                          r"that chain rule instead, and the share and the result are not charged again. Otherwise "
                          r"this line "
                          r"charges it, wherever the wrong factor first appears: also after a local derivative "
                          r"written with that wrong factor $\kappa$ (such as $1$, $d$, $2/d$ or $1/(d-1)$), which then "
                          r"costs nothing more (rule~3(a) at the front), so that a second wrong line never raises "
                          r"the score. It "
                          r"charges it as an error of scale, not as a wrong routing: "
                          r"the gradient of the sum, $\delta \mathbf{1}$, gives every entry the same multiple of "
                          r"$\delta$, in the "
                          r"mean's proportions, while a wrong routing shares it in other proportions (rule~3(d) at the "
                          r"front). It makes the share and the vector wrong, and takes both.",
                          charges=("share", "result")),
                wrong_routing(r"sends $\delta$ to some entries and nothing to others, as the gradient of a "
                              r"maximum does, or in shares that depend on the entries' values, as the gradient of "
                              r"another function does ($\frac{\delta}{d}\, x$)", charges=("local", "share", "result"),
                              as_in="T2.2")),
    full_credit=(r"answers written entry by entry, with indices from $0$ or from $1$ and, where a range is "
                 r"written, $d$ values in it (rule~5(e) at the front)",
                 r"the sum $\sum_\mu w_\mu g_\mu$ in place of $\delta$, when the answer identifies it with "
                 r"$\partial L/\partial z$ (rule~7 at the front), as in T2.2")),
    WRONG, question="T2", number=3)

# the grading key's illustrative example: three entries
ILLUSTRATION: dict[str, Any] = {"x": np.array([0.5, 2.0, -1.0]), "delta": 3.0}
STEPS += illustrations(PART, (x, delta_s), x, ILLUSTRATION)
