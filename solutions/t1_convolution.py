"""Question T1 in the variants that read the convolution as a true convolution (see t1.VARIES).

The forward pass turns the kernel by 180 degrees, Y = X * W + b; the results are graded in that
convention alone, so the cross-correlation's answers (right in the base homework) are wrong here.
The worked example's numbers are t1's (drawn from the seed in the variants that vary them).
"""
from __future__ import annotations

import sympy as sp
from sympy import KroneckerDelta, Max, Min, Piecewise, Sum

from verify.engine import Gradient
from verify.homework import Criterion, Deduction, Part, Question, Result, Rubric, WrongAnswer
from verify.steps import Kind, Step
from verify.symbolic import Correlate, Mean, Pad, Partial, Rot180, Transposed, product, total

from .illustrations import illustrations
from .rubric import LOSS, NO_STEPS
from .symbols import L, W, W_rot, X, Y, b, delta, delta_pad, i, j, k, l, m, n, p, u, v
from .t1 import (
    _IN,
    _KER,
    _OUT,
    _STEP_SIZES,
    CONVOLUTION,
    DB_FORMULA,
    DW_CONVOLUTION,
    DX_CONVOLUTION,
    EXAMPLE,
    ILLUSTRATION,
    _dense,
    _matrix,
    _sum_ker,
    _sum_out,
    _within,
    true_convolution,
)
from .t1 import DB_WRONG as _CORRELATION_DB_WRONG
from .t1 import DW_WRONG as _CORRELATION_DW_WRONG
from .t1 import DX_WRONG as _CORRELATION_DX_WRONG

DX = Result("t1.dX", {"convolution": Gradient(CONVOLUTION, "X", DX_CONVOLUTION)})
DW = Result("t1.dW", {"convolution": Gradient(CONVOLUTION, "W", DW_CONVOLUTION)})
DB = Result("t1.db", {"convolution": Gradient(CONVOLUTION, "b", DB_FORMULA)})


def _step(id_, *sides, kind=Kind.DERIVATION, **extra):
    return Step.of(kind)(id_, *sides, operation=CONVOLUTION, sizes=_STEP_SIZES, **extra)


FORWARD = [
    _step("t1.forward", Y[i, j], total(_sum_ker(product(X[i + u, j + v], W[p - 1 - u, p - 1 - v])), b), over=_OUT,
          kind=Kind.DEFINITION),
    _step("t1.W_rot", W_rot[u, v], W[p - 1 - u, p - 1 - v], over=_KER, kind=Kind.DEFINITION),
]

DX_STEPS = [
    _step("t1.dX.chain_rule", Partial(L, X[k, l]), _sum_out(product(delta[i, j], Partial(Y[i, j], X[k, l]))),
          over=_IN),
    _step("t1.dX.local", Partial(Y[i, j], X[k, l]),
          _sum_ker(product(W[p - 1 - u, p - 1 - v], KroneckerDelta(i + u, k), KroneckerDelta(j + v, l))),
          Piecewise((W[p - 1 - k + i, p - 1 - l + j], _within(k - i, p - 1, l - j, p - 1)), (0, True),
                    evaluate=False),
          over=_OUT + _IN),
    _step("t1.dX.bounds", Partial(L, X[k, l]),
          Sum(product(delta[i, j], W[p - 1 - k + i, p - 1 - l + j]), (j, Max(0, l - p + 1), Min(n - p, l)),
              (i, Max(0, k - p + 1), Min(m - p, k))), over=_IN),
    _step("t1.delta_pad", delta_pad[i, j],
          Piecewise((delta[i - p + 1, j - p + 1], _within(i - p + 1, m - p, j - p + 1, n - p)), (0, True),
                    evaluate=False),
          over=((i, 0, m + p - 2), (j, 0, n + p - 2)), kind=Kind.DEFINITION),
    _step("t1.dX.flip", Partial(L, X[k, l]), _sum_ker(product(delta_pad[k + u, l + v], W[u, v])), over=_IN),
    _step("t1.dX.vectorized", Partial(L, X), Correlate(delta_pad, W), DX_CONVOLUTION, kind=Kind.RESULT,
          gradient=DX.gradient()),
]

DW_STEPS = [
    _step("t1.dW.chain_rule", Partial(L, W[u, v]), _sum_out(product(delta[i, j], Partial(Y[i, j], W[u, v]))),
          over=_KER),
    _step("t1.dW.local", Partial(Y[i, j], W[u, v]), X[i + p - 1 - u, j + p - 1 - v], over=_OUT + _KER),
    _step("t1.dW.elementwise", Partial(L, W[u, v]), _sum_out(product(delta[i, j], X[i + p - 1 - u, j + p - 1 - v])),
          over=_KER),
    _step("t1.dW.vectorized", Partial(L, W), DW_CONVOLUTION, kind=Kind.RESULT, gradient=DW.gradient()),
    _step("t1.dW.turned", Partial(L, W), Correlate(Rot180(X), Rot180(delta)), DW_CONVOLUTION),
]

DB_STEPS = [
    _step("t1.db.chain_rule", Partial(L, b), _sum_out(product(delta[i, j], Partial(Y[i, j], b)))),
    _step("t1.db.local", Partial(Y[i, j], b), sp.Integer(1), over=_OUT),
    _step("t1.db.vectorized", Partial(L, b), _sum_out(delta[i, j]), DB_FORMULA, kind=Kind.RESULT,
          gradient=DB.gradient()),
]


def _example_steps() -> list[Step]:
    X_, W_, b_, d_ = EXAMPLE["X"], EXAMPLE["W"], EXAMPLE["b"], EXAMPLE["delta"]

    def example(id_, *sides):
        return Step.example(id_, *sides, operation=CONVOLUTION, at=dict(EXAMPLE))
    return [
        example("t1.example.inputs", sp.Tuple(X, W, b, delta),
                sp.Tuple(_matrix(X_), _matrix(W_), _matrix([[b_]])[0, 0], _matrix(d_))),
        example("t1.example.forward", Y, total(Correlate(X, W_rot), b), _matrix(true_convolution(X_, W_, b_))),
        example("t1.example.dX", Partial(L, X), DX_CONVOLUTION, _matrix(DX.gradient().compiled()(X_, W_, b_, d_))),
        example("t1.example.dW", Partial(L, W), DW_CONVOLUTION, _matrix(DW.gradient().compiled()(X_, W_, b_, d_))),
        example("t1.example.db", Partial(L, b), DB_FORMULA, _matrix([[float(d_.sum())]])[0, 0]),
    ]


_CROSS = (r"This is the answer for a cross-correlation forward pass, in which the kernel is not turned. The "
          r"question of this variant turns the kernel in the forward pass")

# the sample solution's dense-layer answers are wrong in either reading: graded here as in the base
DX_WRONG = (
    *(w for w in _CORRELATION_DX_WRONG if w.id.startswith("sample.") and w.id != "sample.dW.patches"),
    WrongAnswer("dX-turned", "t1.dX", r"Kernel turned in $\partial L/\partial X$",
                _CROSS + r", and the two turns cancel: $\partial L/\partial X$ is the full correlation of $\delta$ "
                r"with $W$ itself (Step~5).",
                Correlate(Pad(delta, p - 1), Rot180(W)), decision=r"The error arises in the final form.",
                charges=("final",)),
    WrongAnswer("dX-transposed", "t1.dX", "Kernel transposed",
                r"A transpose mirrors the kernel across its diagonal; here the kernel is used as it is.",
                Correlate(Pad(delta, p - 1), Transposed(W)), decision=r"The error arises in the final form.",
                charges=("final",)),
    WrongAnswer("dX-valid", "t1.dX", "Valid instead of full correlation",
                r"Without padding $\delta$ by $p - 1$ zeros the result is smaller than $X$: the pixels near the "
                r"border are lost.",
                Correlate(delta, W), decision=r"The error arises at the border; the wrong shape follows from it "
                                              r"and is not charged again.", charges=("border",)),
)
DW_WRONG = (
    *(w for w in _CORRELATION_DW_WRONG if w.id.startswith("sample.") and w.id != "sample.dW.patches"),
    WrongAnswer("dW-unturned", "t1.dW", r"Gradient not turned",
                _CROSS + r": the kernel gradient is the correlation of $X$ with $\delta$ turned by $180^\circ$ "
                r"(Step~4).",
                Correlate(X, delta), decision=r"The error arises in the final form.", charges=("final",)),
    WrongAnswer("dW-delta-turned", "t1.dW", r"The gradient $\delta$ turned instead",
                r"Turning $\delta$ alone computes a convolution of $X$ with $\delta$, which is not the kernel "
                r"gradient of either forward pass.",
                Correlate(X, Rot180(delta)), decision=r"The error arises in the final form.", charges=("final",)),
)
DB_WRONG = (
    *(w for w in _CORRELATION_DB_WRONG if w.id.startswith("sample.") and w.id != "sample.dW.patches"),
    WrongAnswer("db-not-summed", "t1.db", r"The gradient $\delta$ left unsummed",
                r"The bias is one number, so its gradient is one number: every output adds its $\delta_{i,j}$.",
                delta, decision=r"The error arises in the result.", deductions=("not-summed",)),
    WrongAnswer("db-mean", "t1.db", r"The mean of $\delta$",
                r"The contributions of the outputs add up; they are not averaged.",
                Mean(delta), decision=r"The division by the number of outputs is one error, charged at the result.",
                deductions=("not-summed",)),
)

_SHAPE = Criterion("shape", 1, "the shape", r"It is that of the input it is taken with respect to, stated or visible.")

QUESTION = Question("T1", 1, "Back propagation of a 2D Convolution Operation", parts=(
    Part("t1.dX", "Gradient with respect to X", 5, (DX,), Rubric(
        criteria=(Criterion("chain", 1, "the chain rule", r"It sums over every output, each weighted by $\delta$ "
                                                          r"(Step~1)."),
                  Criterion("local", 1, "the local derivative",
                            r"It is the turned kernel's weight where pixel and output overlap, $0$ elsewhere "
                            r"(Step~2)."),
                  Criterion("border", 1, "the border",
                            r"The bounds of the sums (Step~3), or $\delta$ padded with $p - 1$ zeros (Step~4)."),
                  Criterion("final", 1, "the final form",
                            r"It is the full correlation of $\delta$ with $W$, not turned (Step~5)."),
                  _SHAPE),
        deductions=(NO_STEPS, _dense(("local", "border", "final", "shape"), patches=False), LOSS),
        full_credit=(r"the same sum written entry by entry, with indices from $0$ or from $1$",
                     r"SciPy's \texttt{correlate2d} of $\delta$ with $W$ in \texttt{'full'} mode")),
        DX_WRONG),
    Part("t1.dW", "Gradient with respect to W", 5, (DW,), Rubric(
        criteria=(Criterion("chain", 1, "the chain rule", r"It sums over every output (Step~1)."),
                  Criterion("local", 1, "the local derivative",
                            r"It is the pixel that weight $(u, v)$ meets, $X_{i+p-1-u,\,j+p-1-v}$ (Step~2)."),
                  Criterion("ranges", 1, "the ranges", r"The sums run over all outputs (Step~3)."),
                  Criterion("final", 1, "the final form",
                            r"It is the correlation of $X$ with $\delta$ turned by $180^\circ$ (Step~4), or the sum "
                            r"of Step~3."),
                  _SHAPE),
        deductions=(NO_STEPS, _dense(("local", "ranges", "final", "shape"), patches=False), LOSS),
        full_credit=(r"$\operatorname{rot}_{180^\circ}(X) \star \operatorname{rot}_{180^\circ}(\delta)$ (Step~4)",
                     r"the same sum written entry by entry, with indices from $0$ or from $1$")),
        DW_WRONG),
    Part("t1.db", "Gradient with respect to b", 5, (DB,), Rubric(
        criteria=(Criterion("chain", 2, "the chain rule", r"The bias enters every output (Step~1)."),
                  Criterion("local", 1, "the local derivative", r"It is $1$ (Step~2)."),
                  Criterion("result", 2, "the result", r"It is the sum of all entries of $\delta$ (Step~3).")),
        deductions=(NO_STEPS,
                    Deduction("not-summed", "a result other than the sum",
                              r"The gradient $\delta$ not summed, or its mean instead of its sum (a result other "
                              r"than the sum)",
                              charges=("result",)),
                    LOSS),
        full_credit=(r"\texttt{delta.sum()} or a loop that adds every entry",)),
        DB_WRONG),
), keywords=("backpropagation", "convolution"))

STEPS = [*FORWARD, *DX_STEPS, *DW_STEPS, *DB_STEPS, *_example_steps(),
         *[step for part, variable in zip(QUESTION.parts, (X, W, b))
           for step in illustrations(part, (X, W, b, delta), variable, ILLUSTRATION)]]
