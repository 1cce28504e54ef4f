"""Question T1: back propagation through a 2D convolution, step by step.

The key reads "convolution" as deep learning does: a cross-correlation,
Y = X star W + b, valid, stride 1, indices from 0.  It also gives the results
for a true convolution (the kernel turned by 180 degrees in the forward pass)
and with indices from 1, each checked; the grader judges an answer against
the forward pass its author wrote down.
"""
from __future__ import annotations

from typing import Any

import numpy as np
import sympy as sp
from sympy import And, KroneckerDelta, Max, Min, Piecewise, Sum

from verify import ops, variants
from verify.engine import Gradient
from verify.homework import Case, Criterion, Deduction, Part, Question, Result, Rubric, WrongAnswer
from verify.operation import Operation
from verify.steps import Kind, Step
from verify.symbolic import (
    Brackets,
    ConvMatrix,
    Correlate,
    Count,
    Crop,
    Entries,
    Fit,
    MatVec,
    Mean,
    Ones,
    Pad,
    Partial,
    Patches,
    Place,
    Rot180,
    SumAll,
    Times,
    Transposed,
    Vec,
    ZeroExtend,
    product,
    shown,
    total,
)

from .examples import drawn_example
from .illustrations import illustrations
from .notation import latex
from .rubric import LOSS, NO_STEPS
from .symbols import (
    L,
    W,
    W_rot,
    X,
    Y,
    Y_one,
    Y_shift,
    b,
    delta,
    delta_ext,
    delta_full,
    delta_one,
    delta_pad,
    delta_shift,
    i,
    j,
    k,
    l,
    m,
    n,
    p,
    u,
    v,
)

# ---- the forward passes ------------------------------------------------------------------------


def cross_correlation(X, W, b):
    """Y = X star W + b: what deep-learning libraries call a convolution."""
    return ops.correlate_valid(X, W) + b


def true_convolution(X, W, b):
    """Y = X * W + b: the kernel turned by 180 degrees, as in the textbook definition."""
    return ops.correlate_valid(X, ops.rot180(W)) + b


def _sizes(*triples):
    return tuple({"m": m_, "n": n_, "p": p_} for m_, n_, p_ in triples)


_SHAPES = {"X": (m, n), "W": (p, p), "b": ()}
# non-square, thin (one row or one column), p = 1, p = m, p = n, a 1 x 1 output
_EXACT = _sizes((1, 3, 1), (3, 1, 1), (2, 2, 1), (2, 3, 2), (3, 2, 2), (3, 3, 3), (3, 4, 2), (4, 3, 1), (4, 5, 3))
# up to 128 x 160 (20,480 pixels) with an 11 x 11 kernel, kernels of 8 and 9, thin images
_FLOAT = _sizes((1, 97, 1), (70, 1, 1), (5, 7, 3), (8, 8, 8), (16, 11, 4), (33, 20, 5), (40, 37, 9), (64, 64, 3),
                (128, 160, 11))
_RANGES = {"m": (1, 96), "n": (1, 96), "p": (1, 11)}


def _kernel_fits(sizes) -> bool:
    return sizes["p"] <= min(sizes["m"], sizes["n"])


CORRELATION = Operation(
    "t1.correlation", cross_correlation, ("X", "W", "b"), _SHAPES, "Y", _EXACT, _FLOAT, _RANGES, _kernel_fits,
    # the full convolution of delta with W is bound to the full correlation with the turned kernel: its step,
    # the convolution's own entry-wise sum, is checked against it (the claim of Step 6 that the two are one)
    names={delta_ext: ZeroExtend(delta), delta_pad: Pad(delta, p - 1), W_rot: Rot180(W),
           delta_full: Correlate(Pad(delta, p - 1), Rot180(W))})
CONVOLUTION = Operation(
    "t1.convolution", true_convolution, ("X", "W", "b"), _SHAPES, "Y", _EXACT, _FLOAT, _RANGES, _kernel_fits,
    names={delta_pad: Pad(delta, p - 1), W_rot: Rot180(W)})


def section_9_1(X, W, b):
    """Y[i, j] = sum_{u,v} X[i - u, j - v] W[u, v] + b, Goodfellow et al.'s eq. 9.5 with a bias: the true
    convolution, each output indexed by the last pixel of its window: from p - 1 to m - 1 and n - 1.

    They are the entries of an m x n array from row and column p - 1 on, so that the formulas index Y and delta
    as that form does.  The entries before them are no outputs: zeros that no input reaches, whose delta enters
    no gradient, so that a formula reading one of them is caught."""
    valid = true_convolution(X, W, b)
    p_ = np.shape(W)[0]
    out = np.zeros(np.shape(X), dtype=valid.dtype)
    out[p_ - 1:, p_ - 1:] = valid
    return out


SECTION_9_1 = Operation(
    "t1.section9_1", section_9_1, ("X", "W", "b"), _SHAPES, "Y", _EXACT, _FLOAT, _RANGES, _kernel_fits,
    # the documents write this output and its delta Y^[G] and delta^[G] (review59 a4, review61 c2): Y and delta are
    # ours, from 0
    names={Y_shift: Y, delta_shift: delta})

# Steps hold symbolically on: p = m = n, p = 1 with m > n, and n > m with interior
# pixels that p^2 outputs see (a 3 x 4 image with a 2 x 2 kernel).
_STEP_SIZES = _sizes((3, 3, 3), (4, 3, 1), (3, 4, 2))

# ---- the results -----------------------------------------------------------------------------------
DX_FORMULA = Correlate(Pad(delta, p - 1), Rot180(W))
DW_FORMULA = Correlate(X, delta)
DB_FORMULA = SumAll(delta)
DX_CONVOLUTION = Correlate(Pad(delta, p - 1), W)
DW_CONVOLUTION = Rot180(Correlate(X, delta))

DX = Result("t1.dX", {"correlation": Gradient(CORRELATION, "X", DX_FORMULA),
                      "convolution": Gradient(CONVOLUTION, "X", DX_CONVOLUTION)})
DW = Result("t1.dW", {"correlation": Gradient(CORRELATION, "W", DW_FORMULA),
                      "convolution": Gradient(CONVOLUTION, "W", DW_CONVOLUTION)})
DB = Result("t1.db", {"correlation": Gradient(CORRELATION, "b", DB_FORMULA),
                      "convolution": Gradient(CONVOLUTION, "b", DB_FORMULA)})


def _step(id_, *sides, kind=Kind.DERIVATION, operation=CORRELATION, sizes=_STEP_SIZES, **extra):
    return Step.of(kind)(id_, *sides, operation=operation, sizes=sizes, **extra)


def _sum_out(body, base=0):
    return Sum(body, (j, base, n - p + base), (i, base, m - p + base))


def _sum_ker(body, base=0):
    return Sum(body, (v, base, p - 1 + base), (u, base, p - 1 + base))


def _within(row, last_row, col, last_col):
    """0 <= row <= last_row and 0 <= col <= last_col, kept as written."""
    return And(sp.Le(0, row, evaluate=False), sp.Le(row, last_row, evaluate=False),
               sp.Le(0, col, evaluate=False), sp.Le(col, last_col, evaluate=False), evaluate=False)


_OUT = ((i, 0, m - p), (j, 0, n - p))      # every output entry
_IN = ((k, 0, m - 1), (l, 0, n - 1))       # every input pixel
_KER = ((u, 0, p - 1), (v, 0, p - 1))      # every kernel weight

FORWARD = _step("t1.forward", Y[i, j], total(_sum_ker(product(X[i + u, j + v], W[u, v])), b), over=_OUT,
                kind=Kind.DEFINITION)

# ---- dL/dX ------------------------------------------------------------------------------------------------
DX_STEPS = [
    _step("t1.dX.chain_rule", Partial(L, X[k, l]), _sum_out(product(delta[i, j], Partial(Y[i, j], X[k, l]))),
          over=_IN),
    _step("t1.dX.local", Partial(Y[i, j], X[k, l]),
          _sum_ker(product(W[u, v], KroneckerDelta(i + u, k), KroneckerDelta(j + v, l))),
          Piecewise((W[k - i, l - j], _within(k - i, p - 1, l - j, p - 1)), (0, True), evaluate=False),
          over=_OUT + _IN),
    _step("t1.dX.bounds", Partial(L, X[k, l]),
          Sum(product(delta[i, j], W[k - i, l - j]), (j, Max(0, l - p + 1), Min(n - p, l)),
              (i, Max(0, k - p + 1), Min(m - p, k))), over=_IN),
    _step("t1.delta_ext", delta_ext[i, j], Piecewise((delta[i, j], _within(i, m - p, j, n - p)), (0, True),
                                                     evaluate=False),
          over=((i, 1 - p, m - 1), (j, 1 - p, n - 1)), kind=Kind.DEFINITION),
    _step("t1.dX.shift", Partial(L, X[k, l]), _sum_ker(product(delta_ext[k - u, l - v], W[u, v])), over=_IN),
    _step("t1.delta_pad", delta_pad[i, j], delta_ext[i - p + 1, j - p + 1],
          over=((i, 0, m + p - 2), (j, 0, n + p - 2)), kind=Kind.DEFINITION),
    _step("t1.W_rot", W_rot[u, v], W[p - 1 - u, p - 1 - v], over=_KER, kind=Kind.DEFINITION),
    _step("t1.dX.flip", Partial(L, X[k, l]),      # the substituted sum, then both definitions put in (review53 a)
          _sum_ker(product(delta_ext[k - p + 1 + u, l - p + 1 + v], W[p - 1 - u, p - 1 - v])),
          _sum_ker(product(delta_pad[k + u, l + v], W_rot[u, v])), over=_IN),
    _step("t1.dX.vectorized", Partial(L, X), Correlate(delta_pad, W_rot), DX_FORMULA, kind=Kind.RESULT,
          gradient=DX.conventions["correlation"]),
    # the full convolution, entry by entry: the kernel turned by the index k - u, the zeros of delta-bar at the border
    _step("t1.dX.full_convolution", delta_full[k, l], _sum_ker(product(delta_ext[k - u, l - v], W[u, v])), over=_IN,
          kind=Kind.DEFINITION),
    Step.identity("t1.dX.shape", total(m - p + 1, product(2, p - 1), -p, 1), m, variables=(m, p)),
    _step("t1.dX.scatter", Partial(L, X), _sum_out(product(delta[i, j], Place(W, i, j, m, n)))),
    _step("t1.matrix.forward", Vec(Y), total(MatVec(ConvMatrix(W, m, n), Vec(X)), product(b, Ones(Vec(Y))))),
    _step("t1.matrix.dX", Vec(Partial(L, X)), MatVec(Transposed(ConvMatrix(W, m, n)), Vec(delta))),
]

# ---- dL/dW ------------------------------------------------------------------------------------------------
DW_STEPS = [
    _step("t1.dW.chain_rule", Partial(L, W[u, v]), _sum_out(product(delta[i, j], Partial(Y[i, j], W[u, v]))),
          over=_KER),
    _step("t1.dW.local", Partial(Y[i, j], W[u, v]), X[i + u, j + v], over=_OUT + _KER),
    _step("t1.dW.elementwise", Partial(L, W[u, v]), _sum_out(product(delta[i, j], X[i + u, j + v])), over=_KER),
    _step("t1.dW.vectorized", Partial(L, W), DW_FORMULA, kind=Kind.RESULT, gradient=DW.conventions["correlation"]),
    Step.identity("t1.dW.shape", total(m, product(-1, m - p + 1), 1), p, variables=(m, p)),
]

# ---- dL/db ------------------------------------------------------------------------------------------------
DB_STEPS = [
    _step("t1.db.chain_rule", Partial(L, b), _sum_out(product(delta[i, j], Partial(Y[i, j], b)))),
    _step("t1.db.local", Partial(Y[i, j], b), sp.Integer(1), over=_OUT),
    _step("t1.db.vectorized", Partial(L, b), _sum_out(delta[i, j]), DB_FORMULA, kind=Kind.RESULT,
          gradient=DB.conventions["correlation"]),
]

# ---- the other conventions: a true convolution, and indices from 1 -----------------------------------------
CONVOLUTION_STEPS = [
    _step("t1.convolution.forward", Y[i, j], total(_sum_ker(product(X[i + u, j + v], W[p - 1 - u, p - 1 - v])), b),
          over=_OUT, kind=Kind.DEFINITION, operation=CONVOLUTION),
    _step("t1.convolution.dX", Partial(L, X), DX_CONVOLUTION, kind=Kind.RESULT, operation=CONVOLUTION,
          gradient=DX.conventions["convolution"]),
    _step("t1.convolution.dW", Partial(L, W), DW_CONVOLUTION, kind=Kind.RESULT, operation=CONVOLUTION,
          gradient=DW.conventions["convolution"]),
    _step("t1.convolution.db", Partial(L, b), DB_FORMULA, kind=Kind.RESULT, operation=CONVOLUTION,
          gradient=DB.conventions["convolution"]),
]

# the form of Goodfellow et al.'s Section 9.1: a true convolution whose outputs, and so delta, are indexed from p - 1
_OUT_9_1 = ((i, p - 1, m - 1), (j, p - 1, n - 1))
SECTION_9_1_STEPS = [
    _step("t1.section9_1.forward", Y_shift[i, j], total(_sum_ker(product(X[i - u, j - v], W[u, v])), b),
          over=_OUT_9_1, kind=Kind.DEFINITION, operation=SECTION_9_1),
    _step("t1.section9_1.dX", Partial(L, X[k, l]),
          Sum(product(delta_shift[i, j], W[i - k, j - l]), (j, Max(p - 1, l), Min(n - 1, l + p - 1)),
              (i, Max(p - 1, k), Min(m - 1, k + p - 1))), over=_IN, operation=SECTION_9_1, boxed=True),
    _step("t1.section9_1.dW", Partial(L, W[u, v]),
          Sum(product(delta_shift[i, j], X[i - u, j - v]), (j, p - 1, n - 1), (i, p - 1, m - 1)), over=_KER,
          operation=SECTION_9_1, boxed=True),
    _step("t1.section9_1.db", Partial(L, b), Sum(delta_shift[i, j], (j, p - 1, n - 1), (i, p - 1, m - 1)),
          operation=SECTION_9_1, boxed=True),
]

_OUT1 = ((i, 1, m - p + 1), (j, 1, n - p + 1))
# the documents write the output and delta indexed from 1 Y^[1] and delta^[1] (review59 a4, review61 c2): Y and delta
# count from 0
_FROM1 = {Y_one: Y, delta_one: delta}
ONE_BASED_STEPS = [
    _step("t1.from1.forward", Y_one[i, j],
          total(_sum_ker(product(X[i + u - 1, j + v - 1], W[u, v]), base=1), b),
          over=_OUT1, kind=Kind.DEFINITION, index_base=1, names=_FROM1),
    _step("t1.from1.dX", Partial(L, X[k, l]),
          Sum(product(delta_one[i, j], W[k - i + 1, l - j + 1]), (j, Max(1, l - p + 1), Min(n - p + 1, l)),
              (i, Max(1, k - p + 1), Min(m - p + 1, k))), over=((k, 1, m), (l, 1, n)), index_base=1, names=_FROM1,
          boxed=True),
    _step("t1.from1.dW", Partial(L, W[u, v]),
          _sum_out(product(delta_one[i, j], X[i + u - 1, j + v - 1]), base=1),
          over=((u, 1, p), (v, 1, p)), index_base=1, names=_FROM1, boxed=True),
    _step("t1.from1.db", Partial(L, b), _sum_out(delta_one[i, j], base=1), index_base=1, names=_FROM1, boxed=True),
]

# a true convolution with indices from 1, and the kernel gradient of a true convolution written with both
# arrays turned: forms graders meet, checked here so that nobody has to verify them by hand
CONVOLUTION_ONE_BASED_STEPS = [
    _step("t1.from1.convolution.forward", Y_one[i, j],
          total(_sum_ker(product(X[i + u - 1, j + v - 1], W[p + 1 - u, p + 1 - v]), base=1), b),
          over=_OUT1, kind=Kind.DEFINITION, operation=CONVOLUTION, index_base=1, names=_FROM1),
    _step("t1.from1.convolution.dX", Partial(L, X[k, l]),
          Sum(product(delta_one[i, j], W[p - k + i, p - l + j]), (j, Max(1, l - p + 1), Min(n - p + 1, l)),
              (i, Max(1, k - p + 1), Min(m - p + 1, k))), over=((k, 1, m), (l, 1, n)), operation=CONVOLUTION,
          index_base=1, names=_FROM1, boxed=True),
    _step("t1.from1.convolution.dW", Partial(L, W[u, v]),
          _sum_out(product(delta_one[i, j], X[i + p - u, j + p - v]), base=1),
          over=((u, 1, p), (v, 1, p)), operation=CONVOLUTION, index_base=1, names=_FROM1, boxed=True),
    _step("t1.convolution.dW_turned", Partial(L, W), Correlate(Rot180(X), Rot180(delta)), operation=CONVOLUTION),
]

# ---- the worked example ------------------------------------------------------------------------------------
EXAMPLE: dict[str, Any] = {
    "X": np.array([[1, 2, 0, -1], [0, 1, 3, 1], [2, -1, 1, 0], [1, 0, 2, 2]], dtype=float),
    "W": np.array([[1, -2], [3, 0]], dtype=float),
    "b": 1.0,
    "delta": np.array([[1, 0, -1], [2, 1, 0], [0, -1, 1]], dtype=float),
}
# what may vary between students (verify.variants): the worked example's numbers, drawn from the course's
# seed (example 0 is the one above); the shapes stay, so the template's words about them hold
VARIES = {"example": tuple(range(5)),
          # the reading of "convolution": under "convolution" the question is solutions/t1_convolution.py
          "reading": {"correlation": "t1", "convolution": "t1_convolution"}}
if variants.chosen(__name__, VARIES)["example"]:
    EXAMPLE = drawn_example(variants.generator(__name__, variants.chosen(__name__, VARIES)["example"]))
FIGURE_ENTRY = (1, 2)     # the entry of dL/dX that the figure works out
DW_ENTRY = (0, 1)         # the entry of dL/dW worked by hand


def _matrix(values) -> sp.ImmutableMatrix:
    """The numbers of an array as displayed (exact: the example's numbers are integers)."""
    arr = np.asarray(values, dtype=object)
    arr = arr.reshape(-1, 1) if arr.ndim == 1 else arr
    return sp.ImmutableMatrix([[shown(entry) for entry in row] for row in arr.tolist()])


def _example_values():
    e = EXAMPLE
    X_, W_, b_, d_ = e["X"], e["W"], e["b"], e["delta"]
    dX = DX.gradient().compiled()(X_, W_, b_, d_)
    dW = DW.gradient().compiled()(X_, W_, b_, d_)
    return {"Y": cross_correlation(X_, W_, b_), "deltapad": ops.pad(d_, W_.shape[0] - 1), "Wrot": ops.rot180(W_),
            "dX": dX, "dW": dW, "db": float(np.sum(d_))}


def _convolution_example_steps() -> list[Step]:
    """The worked example's numbers for a true convolution, for TAs grading such scripts."""
    e = EXAMPLE
    X_, W_, b_, d_ = e["X"], e["W"], e["b"], e["delta"]

    def example(id_, *sides):
        return Step.example(id_, *sides, operation=CONVOLUTION, at=dict(EXAMPLE))
    dX = DX.gradient("convolution").compiled()(X_, W_, b_, d_)
    dW = DW.gradient("convolution").compiled()(X_, W_, b_, d_)
    return [
        example("t1.convolution.example.forward", Y, _matrix(true_convolution(X_, W_, b_))),
        example("t1.convolution.example.dX", Partial(L, X), DX_CONVOLUTION, _matrix(dX)),
        example("t1.convolution.example.dW", Partial(L, W), DW_CONVOLUTION, _matrix(dW)),
    ]


def _worked_sum(left, right, index_pairs):
    """sum of products written out with the numbers of the example: left[...] * right[...]."""
    return total(*[Times(shown(left[r]), shown(right[q])) for r, q in index_pairs])


def _example_steps() -> list[Step]:
    e, values = EXAMPLE, _example_values()
    at = dict(EXAMPLE)

    def example(id_, *sides, relation="="):
        return Step.example(id_, *sides, operation=CORRELATION, at=at, relation=relation)
    k_, l_ = FIGURE_ENTRY
    u_, v_ = DW_ENTRY
    p_ = e["W"].shape[0]
    rows, cols = e["delta"].shape
    figure_pairs = [((k_ + r, l_ + q), (r, q)) for r in range(p_) for q in range(p_)]
    return [
        example("t1.example.inputs", sp.Tuple(X, W, b, delta),
                sp.Tuple(_matrix(e["X"]), _matrix(e["W"]), shown(e["b"]), _matrix(e["delta"]))),
        example("t1.example.forward", Y, total(Correlate(X, W), b), _matrix(values["Y"])),
        example("t1.example.padded", sp.Tuple(delta_pad, W_rot),
                sp.Tuple(_matrix(values["deltapad"]), _matrix(values["Wrot"]))),
        example("t1.example.dX", Partial(L, X), Correlate(delta_pad, W_rot), _matrix(values["dX"])),
        example("t1.example.dX_entry", Partial(L, X[k_, l_]),
                _sum_ker(product(delta_pad[k_ + u, l_ + v], W_rot[u, v])),
                _worked_sum(values["deltapad"], values["Wrot"], figure_pairs), shown(values["dX"][k_, l_])),
        example("t1.example.dW", Partial(L, W), DW_FORMULA, _matrix(values["dW"])),
        example("t1.example.dW_entry", Partial(L, W[u_, v_]), _sum_out(product(delta[i, j], X[i + u_, j + v_])),
                _worked_sum(e["delta"], e["X"], [((r, q), (r + u_, q + v_)) for r in range(rows)
                                                 for q in range(cols)]),
                shown(values["dW"][u_, v_])),
        example("t1.example.db", Partial(L, b), DB_FORMULA, shown(values["db"])),
    ]


# ---- the sample solution the course received, and other common wrong answers ---------------------------------
# The sample reads the layer as y = W . X + b with a squared loss L = (1/N) sum_j (y_j - t_j)^2 over N
# outputs, so its residual (2/N)(y_j - t_j) is exactly dL/dy_j: the question's delta.  Its answers are
# quoted as written and judged with that reading.
# its x_j, never defined, is written chi (x is T2's input vector; rule 8 lists the renamings)
_yj, _tj, _Nn, _xj = sp.IndexedBase("y"), sp.IndexedBase("t"), sp.Symbol("N"), sp.IndexedBase("chi")
_js = sp.Symbol("lambda", integer=True)
_SAMPLE_READING = {
    _Nn: Count(delta),                                     # one output per entry of delta
    _yj: product(Count(delta) / 2, Vec(delta)),            # only y_j - t_j = (N/2) delta_j matters:
    _tj: product(0, Vec(delta)),                           # this choice keeps it free of rounding
}
_RESIDUALS = Sum(_yj[_js] - _tj[_js], (_js, 1, _Nn))

SAMPLE_DX = product(2 / _Nn, Brackets(_RESIDUALS), W)
SAMPLE_DW = product(2 / _Nn, Sum(product(_yj[_js] - _tj[_js], _xj[_js]), (_js, 1, _Nn)))
SAMPLE_DB = product(2 / _Nn, _RESIDUALS)

_DENSE = (r"The sample treats the convolution as a dense layer with a squared loss, and its $\frac{2}{N}(y_\lambda - "
          r"t_\lambda)$ is read as the question's $\delta_\lambda$ (rule~8 at the front). In its quoted line below, "
          r"its $j$, which numbers the outputs one after another, is written $\lambda$, since the solutions name "
          r"an output by its row $i$ and its column $j$.")
_DENSE_AGAIN = (r"As in T1.1, the sample's layer is dense, its $\frac{2}{N}(y_\lambda - t_\lambda)$ is the question's "
                r"$\delta_\lambda$, "
                r"and its $j$, which numbers the outputs one after another, is written $\lambda$.")


def _convolution_twin(formula) -> Case:
    """A border slip of T1.1 as an answer for a true convolution makes it, with the kernel not turned: the same
    error, graded in the true convolution's reading as its note grades it in the cross-correlation's (rule 2(a))."""
    return Case(rf"The same slip with the kernel not turned, the answer above with $W$ in place of "
                rf"${latex(Rot180(W))}$, is read as the true convolution's answer (rule~2(a)), with the same single "
                rf"error, of the border.", (), formula, "convolution")

DX_WRONG = (
    WrongAnswer("sample.dX", "t1.dX", "The sample solution's answer",
                _DENSE + r" Read so, it is one weighted copy of the kernel, with the kernel's shape, where the "
                r"gradient has the image's shape and places a copy of $W$ at every output position.",
                product(SumAll(delta), W), quote=SAMPLE_DX, reading=_SAMPLE_READING,
                decision=r"This is a dense-layer answer. Its chain rule multiplies $\partial y/\partial X$ by "
                         r"$\partial L/\partial y$ written as one number, the sum $\frac{2}{N} \sum_\lambda "
                         r"(y_\lambda - t_\lambda)$ of every output's $\delta_\lambda$ (rule~8), so it weights no "
                         r"output's own derivative by its $\delta_\lambda$: an error of the chain rule, which the "
                         r"deduction for the dense-layer reading does not name. That deduction covers the squared "
                         r"loss the answer assumes, so that rule~9 takes nothing more.",
                charges=("chain",), deductions=("dense",)),
    WrongAnswer("no-flip", "t1.dX", "Kernel not turned",
                r"For the cross-correlation the full correlation needs the kernel turned by $180^\circ$. "
                r"For a true convolution this answer is exactly right (Other conventions, "
                r"page~\pageref{other-conventions}).",
                Correlate(Pad(delta, p - 1), W),
                decision=r"The answer is read as the true convolution's gradient, the reading that gives it the most "
                         r"points (rule~2(a)), whichever forward pass it writes down, or none: it is right.",
                charges=("final",), charges_other=()),
    WrongAnswer("transposed", "t1.dX", "Kernel transposed instead of turned",
                r"A transpose mirrors the kernel across its diagonal; the turn by $180^\circ$ reverses "
                r"its rows and its columns. The two agree only for kernels with special symmetry.",
                Correlate(Pad(delta, p - 1), Transposed(W)),
                decision=r"The error arises in the final form in either reading (rule~2(a)): in the true "
                         r"convolution's the kernel is not turned, and its transpose is just as wrong.",
                charges=("final",)),
    WrongAnswer("valid-not-full", "t1.dX", "Valid instead of full correlation",
                r"Without padding $\delta$ by $p - 1$ zeros the result is $(m - 2p + 2) \times (n - 2p + 2)$, "
                r"not the shape of $X$: the pixels near the border are lost.",
                Correlate(delta, Rot180(W)),
                decision=r"The answer is read as the cross-correlation's, the reading that gives it the most points "
                         r"(rule~2(a)). "
                         r"The error arises at the border; the wrong shape follows from it and is not charged again. "
                         r"It is graded so also when the answer reaches this form by a turn of the kernel that drops "
                         r"the shift by $p - 1$, writes the local derivative without its range, or states a shape for "
                         r"this smaller result, $m \times n$ or its own (rules~5(a) and~5(g)).", charges=("border",),
                charges_other=("border", "final")),
    WrongAnswer("border-skipped", "t1.dX", "Sums without zero padding",
                r"Summing only where the whole kernel fits (the sums not extended by zeros) leaves every "
                r"pixel in the outer $p - 1$ rows and columns at $0$, though each of them reaches some outputs. "
                r"The display below writes this with three operators. First, $\operatorname{crop}_{p-1}$ "
                r"drops those rows and columns; of an array with at most $2(p - 1)$ rows it keeps no row, and "
                r"likewise for the columns. Second, $\operatorname{pad}_{p-1}$ puts zeros back. Third, "
                r"$\operatorname{fit}$ cuts an array, or extends it with zeros at the bottom and the right, to "
                r"the numbers of rows and columns in its subscript. It changes something only for an image "
                r"with fewer than $2(p - 1)$ rows or columns: $\operatorname{pad}_{p-1}$ then gives back "
                r"$2(p - 1)$ of them, and $\operatorname{fit}$ cuts them to $m$ or $n$. On every image the "
                r"display is $m \times n$, the shape of $X$.",
                Fit(Pad(Crop(DX_FORMULA, p - 1), p - 1), m, n),
                decision=r"The answer is read as the cross-correlation's, the reading that gives it the most points "
                         r"(rule~2(a)). "
                         r"The error arises at the border; the shape is right.",
                charges=("border",), charges_other=("border", "final"),
                case=_convolution_twin(Fit(Pad(Crop(DX_CONVOLUTION, p - 1), p - 1), m, n))),
    WrongAnswer("output-size", "t1.dX", r"Output size $m - p$",
                r"The output has $m - p + 1$ rows, not $m - p$. With that count the last row and column "
                r"of $\delta$ are dropped, so the pixels they reach lose their share, and those only they "
                r"reach get nothing. In the display below, the inner $\operatorname{fit}$ (defined in the note on "
                r"sums without zero padding, page~\pageref{note-t1.dX.border-skipped}) keeps the first $m - p$ "
                r"rows and $n - p$ columns of $\delta$, and the outer one puts zeros in place of the last row "
                r"and column, as an answer whose sums stop one output short does.",
                Correlate(Pad(Fit(Fit(delta, m - p, n - p), m - p + 1, n - p + 1), p - 1), Rot180(W)),
                decision=r"The answer is read as the cross-correlation's, the reading that gives it the most points "
                         r"(rule~2(a)). "
                         r"A wrong range of the outputs is an error of the border, also where the result "
                         r"comes out one row and one column short: that shape follows from it, and is not charged "
                         r"again.", charges=("border",), charges_other=("border", "final"),
                case=_convolution_twin(Correlate(Pad(Fit(Fit(delta, m - p, n - p), m - p + 1, n - p + 1), p - 1), W))),
    WrongAnswer("valid-no-flip", "t1.dX", "Valid correlation with the kernel not turned",
                r"Read as the cross-correlation's, this answer makes two of the mistakes above: $\delta$ is not "
                r"padded, and the kernel is not turned. "
                r"Read as the true convolution's, which grades it, it makes only the first, so its counterexample "
                r"sets it against that reading's gradient, $\operatorname{pad}_{p-1}(\delta) \star W$.",
                Correlate(delta, W),
                decision=r"The answer is read as the true convolution's, the reading that gives it the most points "
                         r"(rule~2(a)), whichever forward pass it writes down, or none. The unturned kernel is right "
                         r"there, so the border alone is lost, and the shape follows from it (rule~3(e)). The answer "
                         r"comes from the renaming $k + u$ where $k - u$ belongs in Step~4's sum when the bounds of "
                         r"$k$ and $l$ also shrink to the valid range; with the bounds of Step~4 kept, the same "
                         r"renaming gives an $m \times n$ array, which rule~3(e) grades.",
                charges=("border",), charges_other=("border", "final"), convention="convolution"),
)

DW_WRONG = (
    WrongAnswer("sample.dW", "t1.dW", r"The sample solution's answer, with $\chi_\lambda$ the whole input",
                _DENSE_AGAIN + r" Its $x_j$ is written $\chi_\lambda$ (rule~8). With its layer $y = W \cdot X + b$, "
                r"the $\chi_\lambda$ can only be the whole input, "
                r"and the sum then has the image's shape instead of the kernel's (its line $\partial y/\partial W = "
                r"X^{\mathsf{T}}$ gives the transposed image, an error of the same kind).",
                product(SumAll(delta), X), quote=SAMPLE_DW,
                reading={**_SAMPLE_READING, _xj: Entries(X, _js, 1, _Nn)},
                decision=r"This is a dense-layer answer, graded as the sample's $\partial L/\partial X$ is: its "
                         r"chain rule multiplies $\partial y/\partial W$ by the one number "
                         r"$\partial L/\partial y$, and its sum $\sum_\lambda \delta_\lambda \chi_\lambda$ "
                         r"never states $\chi_\lambda$ as output $\lambda$'s derivative, as the line of the "
                         r"chain rule says.",
                charges=("chain",), deductions=("dense",)),
    WrongAnswer("sample.dW.patches", "t1.dW",
                r"A student's variant: the same sum, with $\chi_\lambda$ defined as a patch",
                r"The sample never says what $\chi_\lambda$ is. A student who writes the chain rule "
                r"$\partial L/\partial W = \frac{2}{N} \sum_\lambda (y_\lambda - t_\lambda)\, "
                r"\partial y_\lambda/\partial W$, with each output's own derivative as a factor, then the same "
                r"sum, and defines "
                r"$\chi_\lambda$ as the $p \times p$ patch of $X$ that output $\lambda$ sees (outputs numbered "
                r"$\lambda "
                r"= 1, \dots, N$) has the right result: every output adds its patch, weighted by its $\delta$. "
                r"The display below shows that sum, the line after this chain rule.",
                DW_FORMULA, quote=SAMPLE_DW, reading={**_SAMPLE_READING, _xj: Patches(X, p)},
                decision=r"This grading is for the variant whose chain rule is the one above, with each output's own "
                         r"$\partial y_\lambda/\partial W$ as a factor, which is the step that rule~1(b) asks for, "
                         r"where the sample's multiplies one $\partial y/\partial W$ by one number. Its local "
                         r"derivative is $\chi_\lambda$, in place of the sample's $\partial y/\partial W = "
                         r"X^{\mathsf{T}}$. "
                         r"The variant scores the same whether or not it writes $\partial y_\lambda/\partial W = "
                         r"\chi_\lambda$ on a line of its own: its sum has $\chi_\lambda$ as a factor in the line "
                         r"after its chain rule, so the value of the local derivative counts as written there "
                         r"(rule~1(f)). Its sum "
                         r"weights each output's own derivative by its $\delta_\lambda$, which earns the chain "
                         r"rule, and only the assumed squared loss is charged.",
                case=Case(r"An answer that also keeps the sample's $\partial y/\partial W = X^{\mathsf{T}}$, with "
                         r"or without its layer $y = W \cdot X + b$ (its chain rule still states each output's own "
                         r"derivative, which differs from output to output, so it is no dense-layer answer), leaves "
                         r"a wrong line standing (rule~4(c)).",
                          ("local",),
                          further=Case(r"An answer that keeps the sample's whole chain rule, with or without its "
                                       r"layer $y = W \cdot X + b$, has the right sum as its result, and so is no "
                                       r"dense-layer answer by the test of the dense-layer deduction; its layer costs "
                                       r"nothing of its own. It multiplies the one number $\partial L/\partial y$ by "
                                       r"$\partial y/\partial W = X^{\mathsf{T}}$, the wrong line of the case above, "
                                       r"and defining $\chi_\lambda$ as the patch never states it as output "
                                       r"$\lambda$'s derivative, as the line of the chain rule asks.", ("chain",))),
                deductions=("loss",), accepted=True),
    WrongAnswer("dW-rotated", "t1.dW", r"Gradient turned by $180^\circ$",
                r"For the cross-correlation $\partial L/\partial W$ is a plain correlation of $X$ with "
                r"$\delta$: nothing is turned. For a true convolution this answer is right (Other conventions, "
                r"page~\pageref{other-conventions}).",
                Rot180(Correlate(X, delta)),
                decision=r"As \emph{Kernel not turned} in T1.1 (page~\pageref{note-t1.dX.no-flip}), the answer is "
                         r"read as the true convolution's gradient, the reading that gives it the most points "
                         r"(rule~2(a)), whichever forward pass it writes down, or none: it is right.",
                charges=("final",), charges_other=()),
    WrongAnswer("dW-delta-turned", "t1.dW", r"The gradient $\delta$ turned instead",
                r"Turning $\delta$ computes a convolution of $X$ with $\delta$; that matches neither "
                r"forward pass.",
                Correlate(X, Rot180(delta)),
                decision=r"The error arises in the final form in either reading (rule~2(a)): in the true "
                         r"convolution's the gradient is the plain correlation turned by $180^\circ$, which turning "
                         r"$\delta$ does not give either.", charges=("final",)),
)

DB_WRONG = (
    WrongAnswer("sample.db", "t1.db", "The sample solution's answer",
                _DENSE_AGAIN + r" Read so, it is the sum of all entries of $\delta$, the value of the gradient; but it "
                r"reaches it only through the squared loss it assumes.",
                DB_FORMULA, quote=SAMPLE_DB, reading=_SAMPLE_READING,
                decision=r"The value is right, but it is derived for a squared loss, while the question gives "
                         r"$\delta$ for any loss.", deductions=("loss",), accepted=True),
    WrongAnswer("db-not-summed", "t1.db", r"The gradient $\delta$ left unsummed",
                r"The bias is one number, so its gradient is one number: every output adds its $\delta_{i,j}$.",
                delta, decision=r"This note scores forms that lose either the result or the chain rule, never both; "
                                r"the forms without the factor~$1$, graded last, also lose the local derivative. This "
                                r"grading is for the form~(A), $\sum_{i,j} \delta_{i,j}\, \partial Y_{i,j} / "
                                r"\partial b = "
                                r"\sum_{i,j} \delta_{i,j} \cdot 1 = \delta$, which writes the local derivative's "
                                r"value~$1$ and errs in the result alone. So does the form~(B), $(\partial L/\partial "
                                r"Y)(\partial Y/\partial b) = \delta \cdot \mathbf{1}_{(m-p+1) \times (n-p+1)} = "
                                r"\delta$, whose $1$ is "
                                r"marked as an array by its size: its product is the sum over every output, which "
                                r"earns the chain rule, "
                                r"and its false last member $\delta$ is its result.",
                case=Case(r"The form~(C), $(\partial L/\partial Y)(\partial Y/\partial b) = \delta \cdot 1 = \delta$ "
                          r"with "
                          r"the number~$1$ and no sum at all errs in the chain rule instead, by the line of that "
                          r"criterion. It keeps the result, which follows from that error (rule~3(c)).",
                          ("chain",), deductions=(),
                          further=Case(r"Without the factor~$1$, form~(A) reads $\sum_{i,j} \delta_{i,j}\, "
                                       r"\partial Y_{i,j} / \partial b = \delta$, and forms~(B) and~(C) both read "
                                       r"$(\partial L/\partial Y)(\partial Y/\partial b) = \delta$, with no value put "
                                       r"in for $\partial Y/\partial b$. An answer that writes either of these two "
                                       r"lines keeps the chain rule by the line of that criterion, since no number~$1$ "
                                       r"follows its product, and loses the result, as form~(A) does; it writes no "
                                       r"value for the local derivative (rule~1(f)).", ("local",), of_note=True)),
                deductions=("not-summed",)),
    WrongAnswer("db-mean", "t1.db", r"The mean of $\delta$",
                r"The contributions of the outputs add up, as the common mistake after Step~3 explains. The "
                r"gradient and this answer depend on $\delta$ alone: the $X$, $W$ and $b$ of the counterexample "
                r"below only fix the shape of $\delta$.",
                Mean(delta),
                decision=r"The division by the number of outputs is one error, charged at the result wherever it "
                         r"appears: also where the student writes the local derivative as one over the number "
                         r"of outputs, which then costs nothing more. Charged at the local derivative instead, it "
                         r"would leave the result its points, and the answer with the extra wrong line would score "
                         r"more than the plain mean.",
                deductions=("not-summed",)),
)

_DX_CRITERIA = ("local", "border", "final", "shape")
_DW_CRITERIA = ("local", "ranges", "final", "shape")


def _dense(lost: tuple[str, ...], patches: bool = True) -> Deduction:
    """The dense-layer reading's deduction; `patches`: the key has the note on the sample's T1.2 read with patches
    (the true-convolution variants do not), which it then points to."""
    return Deduction("dense", "the dense-layer reading",
                     r"A dense-layer answer treats every output as one and the same product of $W$ and $X$, "
                     r"$Y = W \cdot X + b$, whether it reads that product as a product of numbers, as an entry-wise "
                     r"product or as a matrix product, in its forward pass or in its result. Its result for "
                     r"$\partial L/\partial X$ is then $W$ (or "
                     r"$W^{\mathsf{T}}$) times $\delta$ or times the sum of $\delta$, in either order, and for "
                     r"$\partial L/\partial W$ it is $X$ (or $X^{\mathsf{T}}$) times one of them. Examples are one "
                     r"weighted copy of the kernel, $(\sum_{i,j} \delta_{i,j}) W$, the dense layer's textbook "
                     r"gradients $W^{\mathsf{T}} \delta$ and $\delta X^{\mathsf{T}}$ (the sample writes "
                     r"$\partial y/\partial W = X^{\mathsf{T}}$), and their reorderings and transposes, such as "
                     r"$W \delta$, $\delta^{\mathsf{T}} W$ and $X^{\mathsf{T}} \delta$. An answer whose local "
                     r"derivative differs from output to output, or whose result is the right gradient, reads no "
                     r"two outputs as the same product: it is no "
                     r"dense-layer answer, even beside a forward pass written $Y = W \cdot X + b$, which then costs "
                     r"nothing of its own, and its criteria grade it as they grade any other answer. An answer's "
                     r"result is the last member of a chain of equalities for the gradient, or a line set apart as "
                     r"the gradient. A member before it that multiplies $\partial L/\partial y$ by $\partial "
                     r"y/\partial W$ (or $\partial y/\partial X$) with their values put in, such as the sample's "
                     r"$(\sum_{i,j} \delta_{i,j}) X^{\mathsf{T}}$, is a member of the chain rule and no result, "
                     r"whatever its form: when the chain ends in the right gradient, the line of the chain rule and "
                     r"of the local derivative grade that member, and this deduction does not apply. In "
                     r"$\partial L/\partial X$ a local derivative that differs from output to output is, for "
                     r"example, $\operatorname{place}_{i,j}(W)$ stated as "
                     r"$\partial Y_{i,j}/\partial X$: the sum $\sum_{i,j} \delta_{i,j} \operatorname{place}_{i,j}(W)$ "
                     r"after it earns the chain rule and the other criteria by their own lines. In "
                     r"$\partial L/\partial W$ such a local derivative is each output's own patch of $X$ stated as "
                     r"that output's derivative"
                     + (r", as in the student's variant of the sample's T1.2 "
                        r"(page~\pageref{note-t1.dW.sample.dW.patches})"
                        if patches else "")
                     + r". A dense-layer answer has its chain rule graded by the line of that criterion. For the rest "
                     r"it takes this deduction alone, whatever its other lines show (rule~3(d)).",
                     charges=lost, covers=("loss",))


_LOSS, _NO_STEPS = LOSS, NO_STEPS


def _goodfellow(equation: str, gradient: str) -> str:
    # Deep Learning, Section 9.5: eq. 9.11 is the kernel gradient g(G, V, s) and eq. 9.13 the input
    # gradient h(K, G, s) of the strided cross-correlation of eq. 9.8, whose indices start at 1
    return (rf"Goodfellow et~al.'s eq.~{equation} (Section~9.5, the gradient with respect to {gradient} of their "
            r"cross-correlation of eq.~9.8), with stride~$1$, one channel and one kernel; its indices start at~$1$")


def _either(turned: str) -> str:
    return rf"either convention, the part read in the one that makes it right (rule~2(a)): {turned}"


# Deep Learning, Section 9.1, eq. 9.5: S(i, j) = sum_{m,n} I(i - m, j - n) K(m, n), a true convolution whose
# valid outputs start at p - 1 (rule 2 at the front)
_SECTION_9_1 = (r"\label{full-credit-section-9-1}the form of Goodfellow et~al.'s Section~9.1 (eq.~9.5, or eq.~9.4, "
                r"the same convolution summed over the image's index), graded as a "
                r"true convolution, when "
                r"every index and bound of the outputs carries the shift by $p - 1$ of that form, as its forward "
                r"pass and its three results do under Other conventions (page~\pageref{goodfellow-remark})")


# how a loop's indices of delta are read: said in full once, in T1.1's list, to which T1.2's points
_LOOP_DELTA = (r"\label{full-credit-loops}A loop computes the form of its convention when it indexes $\delta$ as "
               r"its forward pass indexes $Y$: from $0$ or from $1$ as its indices start, and from $p - 1$ in the form "
               r"of Section~9.1. The checker indexes $\delta$ from $0$. So a TA runs through the checker a loop whose "
               r"indices start at $1$ after lowering every index by one, and a loop in the form of Section~9.1 that "
               r"reads $\delta_{i,j}$ at its output's own index after putting $\delta_{i - p + 1, j - p + 1}$ in its "
               r"place. A loop from $0$, and one of Section~9.1 that already reads $\delta_{i - p + 1, j - p + 1}$, "
               r"run through the checker as they are")


# a wrong range of the outputs costs T1.3 what it costs T1.1 (the border) and T1.2 (the ranges): one deduction of
# its own, so that the chain rule, which is also the sum itself, keeps its points (review61 b row 4)
_DB_RANGE = Deduction("range", "a wrong range of the outputs",
                      r"A sum over the outputs whose bounds leave out an output or run past the outputs (over the "
                      r"image's $m \times n$), as rule~5(c) at the front charges it", points=1)


QUESTION = Question("T1", 1, "Back propagation of a 2D Convolution Operation", parts=(
    Part("t1.dX", "Gradient with respect to X", 5, (DX,), Rubric(
        criteria=(Criterion("chain", 1, "the chain rule",
                            r"It sums, over every output $Y_{i,j}$, that output's own derivative weighted by "
                            r"$\delta_{i,j}$ (Step~1), written as $\partial Y_{i,j}/\partial X$ whatever value is put "
                            r"in after it. It may also be written with the value of a local derivative that the "
                            r"answer states anywhere, before or after the sum, on a line of its own or in a clause of "
                            r"the line that uses it (``$\partial Y_{i,j}/\partial X_{k,l} = W_{k-i,l-j}$, so $\partial "
                            r"L/\partial X_{k,l} = \sum_{i,j} \delta_{i,j} W_{k-i,l-j}$'', or the same sum followed "
                            r"by ``since $\partial Y_{i,j}/\partial X_{k,l} = W_{k-i,l-j}$''): it is the chain rule "
                            r"with that derivative put in. A wrong local derivative inside it is charged at the local "
                            r"derivative. A product $\partial L/\partial y \cdot \partial y/\partial X$ in which "
                            r"$\partial L/\partial y$ is one number, the sum of the $\delta$'s (as in the dense layer "
                            r"$y = W \cdot X + b$ that the sample writes, rule~8 at the front), weights no output's "
                            r"own derivative. It loses this criterion unless the answer also writes, before it or "
                            r"after it, a sum over the outputs of $\delta_{i,j}\, \partial Y_{i,j}/\partial X$, or "
                            r"such a sum with the value of a local derivative the answer states (as above). Writing "
                            r"that one number out as a sum of "
                            r"the $\delta$'s, such as $\frac{2}{N} \sum_\lambda (y_\lambda - t_\lambda)$, does not "
                            r"keep it. The product $\partial L/\partial Y \cdot \partial Y/\partial X$ whose "
                            r"$\partial L/\partial Y$ is the array $\delta$ (a product of Jacobians) earns it. A "
                            r"$\partial L/\partial Y$ "
                            r"written with the output array $Y$ is read as that array unless the answer makes it one "
                            r"number, in one of two ways only: it writes it equal to one number, such as a sum of "
                            r"the $\delta$'s, or it calls it a number (``the scalar $\partial L/\partial Y$''). What "
                            r"it is multiplied by, and the shape of that product, never make it one number. A "
                            r"lowercase $y$ that the answer never defines, and a letter that a grader cannot tell "
                            r"to be $y$ or $Y$, are read as the output array $Y$: such a $\partial L/\partial y$ "
                            r"is one number only in the same two ways. The sum in matrix form, "
                            r"$\operatorname{vec}(\partial L/\partial X) = (\partial \operatorname{vec} Y/\partial "
                            r"\operatorname{vec} X)^{\mathsf{T}} \operatorname{vec}(\delta)$, with the Jacobian "
                            r"written as a derivative, earns it too. The scatter view and the matrix view with the "
                            r"values already in are final forms (rule~1(e) at the front). In an answer that has its "
                            r"steps (rule~1(b) at the front) they earn the final form, and the border by the line of "
                            r"that criterion, but never this one, which only a chain rule written beside them earns. "
                            r"The sum $\sum_{i,j} \delta_{i,j} \operatorname{place}_{i,j}(W)$ is such a chain "
                            r"rule where the answer states $\operatorname{place}_{i,j}(W)$ as $\partial "
                            r"Y_{i,j}/\partial X$: a sum over the outputs with the value of a local derivative "
                            r"the answer states, as above. Without steps the two views earn "
                            r"nothing (the first deduction below)."),
                  Criterion("local", 1, "the local derivative",
                            r"It is the kernel weight where pixel and output overlap, and $0$ elsewhere (Step~2). "
                            r"Where they overlap is graded at the border: a weight $W_{k-i,l-j}$ written without "
                            r"its range earns this criterion (rule~5(a))."),
                  Criterion("border", 1, "the border",
                            r"The answer says which outputs a pixel reaches, by the bounds of the sums (Step~3), "
                            r"by $\delta$ extended or padded with $p - 1$ zeros (Steps~4 and~5), by the matrix view, "
                            r"whose rows hold zeros outside each output's window, or by the kernel "
                            r"taken as $0$ outside its $p \times p$ positions, stated for a sum over the outputs "
                            r"such as $\sum_{i,j} \delta_{i,j} W_{k-i,l-j}$ (rule~5(a)) or built into "
                            r"$\operatorname{place}_{i,j}(W)$ (the scatter view). Padding $\delta$ with zeros whose "
                            r"number the answer does not give earns it when the answer also gives the result's shape "
                            r"as $m \times n$ (in words, or by the ranges of $k$ and $l$ in an entry-wise result) or "
                            r"names the result a full correlation or a full convolution; with neither, that padding "
                            r"does not earn it. A missing range "
                            r"and a missing border are one error, charged here once, and so is a turn of the kernel "
                            r"that drops the shift by $p - 1$ (the index $k + u$ of $\delta$ where $k - p + 1 + u$ "
                            r"belongs): that shift is the padding. Bounds that run past the entries of $\delta$ "
                            r"lose it, unless the answer states the zeros of $\delta$ for that sum (rule~5(b))."),
                  Criterion("final", 1, "the final form",
                            r"It is the full correlation of $\delta$ with the kernel turned by $180^\circ$ "
                            r"(Step~6), or the same sum written entry by entry (Step~3, 4 or~5)."),
                  Criterion("shape", 1, "the shape",
                            r"It is that of $X$, $m \times n$, stated or visible in the result. An entry-wise result "
                            r"$\partial L/\partial X_{k,l} = \dots$ has it, with or without the ranges of $k$ and "
                            r"$l$ written (rule~5(d)).")),
        deductions=(_NO_STEPS, _dense(_DX_CRITERIA), _LOSS),
        full_credit=(_either(r"for a cross-correlation the kernel is turned in $\partial L/\partial X$, for a "
                             r"true convolution it is not"),
                     r"indices from $1$, in either convention, with every bound shifted by one",
                     _goodfellow("9.13", "the input"), _SECTION_9_1,
                     r"the scatter view or the matrix view, as final forms",
                     r"``the full convolution of $\delta$ with $W$'' (Step~6 writes it out), for the cross-correlation",
                     r"loops, \texttt{einsum}, or SciPy's \texttt{correlate2d} and \texttt{convolve2d} in "
                     r"\texttt{'full'} mode, when they compute the formula of the student's convention, read in "
                     r"the answer's own notation. " + _LOOP_DELTA)),
        DX_WRONG),
    Part("t1.dW", "Gradient with respect to W", 5, (DW,), Rubric(
        criteria=(Criterion("chain", 1, "the chain rule",
                            r"It sums, over every output, that output's own derivative weighted by its $\delta$ "
                            r"(Step~1). The sum $\sum_{i,j} \delta_{i,j}\, \partial Y_{i,j}/\partial W$ earns it "
                            r"whatever value is put in after it. So does the sum written with the value of a local "
                            r"derivative that the answer states anywhere, on a line of its own or in a clause of the "
                            r"line that uses it (as in T1.1). One rule decides every such sum, whatever letters it "
                            r"uses: a sum over the outputs of $\delta$ times a factor keeps the chain rule when the "
                            r"answer states that factor as that output's own derivative, by its symbol "
                            r"($\partial Y_{i,j}/\partial W$, $\partial y_\lambda/\partial W$) or by its value, "
                            r"whatever that value is. A wrong value is charged at the local derivative, and the "
                            r"dense-layer deduction takes it when a result of the answer is the dense layer's "
                            r"(rule~3(d)). A member of a chain that ends in the right gradient is no result, as "
                            r"that deduction says. So $\sum_{i,j} \delta_{i,j} X$ with ``$\partial Y_{i,j}/\partial "
                            r"W = "
                            r"X$'' "
                            r"(the whole image, not the patch) keeps it, and so does $\sum_\lambda \delta_\lambda "
                            r"\chi_\lambda$ with ``$\partial y_\lambda/\partial W = \chi_\lambda$'', whether "
                            r"$\chi_\lambda$ is the patch output $\lambda$ sees (the variant with patches, below) or "
                            r"the whole image. As in T1.1, a product with $\partial L/\partial y$ written as one "
                            r"number loses it, unless such a sum stands before or after it. The sample's T1.2 "
                            r"keeps no such sum: it "
                            r"multiplies one $\partial y/\partial W$ by one number, and its sum $\sum_\lambda "
                            r"\delta_\lambda \chi_\lambda$ never states $\chi_\lambda$ as output $\lambda$'s "
                            r"derivative, so it loses this criterion."),
                  Criterion("local", 1, "the local derivative",
                            r"It is the pixel under kernel position $(u, v)$ (Step~2)."),
                  Criterion("ranges", 1, "the ranges",
                            r"The sums run over all outputs, and no bound changes (Step~3); a sum over every "
                            r"output with no bounds written earns this criterion. A wrong range of the outputs, such "
                            r"as sums that stop one output short, is an error of the ranges alone: the shape that "
                            r"follows from it, such as the $(p + 1) \times (p + 1)$ result of the correlation of $X$ "
                            r"with $\delta$ cut to $(m - p) \times (n - p)$, is not charged again (rule~5(g)), as in "
                            r"T1.1's note \emph{Output size $m - p$} (page~\pageref{note-t1.dX.output-size})."),
                  Criterion("final", 1, "the final form",
                            r"It is the correlation of $X$ with $\delta$ (Step~4), or the same sum written entry "
                            r"by entry (Step~3)."),
                  Criterion("shape", 1, "the shape",
                            r"It is that of $W$, $p \times p$, stated or visible in the result. An entry-wise result "
                            r"$\partial L/\partial W_{u,v} = \dots$ has it, with or without the ranges of $u$ and "
                            r"$v$ written (rule~5(d)).")),
        deductions=(_NO_STEPS, _dense(_DW_CRITERIA), _LOSS),
        full_credit=(_either(r"for a cross-correlation $\partial L/\partial W$ is $X \star \delta$, not turned; "
                             r"for a true convolution it is turned by $180^\circ$, which is also "
                             r"$\operatorname{rot}_{180^\circ}(X) \star \operatorname{rot}_{180^\circ}(\delta)$ "
                             r"(Other conventions)"),
                     r"indices from $1$, in either convention, with every bound shifted by one",
                     _goodfellow("9.11", "the kernel"),
                     r"the form of Goodfellow et~al.'s Section~9.1 (eq.~9.5, or eq.~9.4), on the terms said under T1.1 "
                     r"(page~\pageref{full-credit-section-9-1})",
                     r"the sum over outputs of $\delta_{i,j}$ times the patch under output $(i, j)$, with the "
                     r"patches defined, as a final form (rule~1(e)); it is the chain rule only as that "
                     r"criterion's line says",
                     r"loops, \texttt{einsum}, or SciPy's \texttt{correlate2d} and \texttt{convolve2d} in "
                     r"\texttt{'valid'} mode (the latter with $\delta$ turned by $180^\circ$ for a "
                     r"cross-correlation, or "
                     r"with $X$ turned for a true convolution), when "
                     r"they compute the formula of the student's convention, read in the answer's own notation. "
                     r"The checker reads a loop's $\delta$ as under T1.1 (page~\pageref{full-credit-loops})")),
        DW_WRONG),
    Part("t1.db", "Gradient with respect to b", 5, (DB,), Rubric(
        criteria=(Criterion("chain", 2, "the chain rule",
                            r"The bias enters every output, so the sum runs over all of them (Step~1), written with "
                            r"$\partial Y_{i,j}/\partial b$, or with its value $1$ stated anywhere, on a line of its "
                            r"own or in a clause of the line that uses it: ``$\partial Y_{i,j}/\partial b = 1$, so "
                            r"$\partial L/\partial b = \sum_{i,j} \delta_{i,j}$'' and ``$\partial L/\partial b = "
                            r"\sum_{i,j} \delta_{i,j}$, since $\partial Y_{i,j}/\partial b = 1$'' both earn this "
                            r"criterion and the local derivative (and so, with nothing else wrong, full credit for "
                            r"the part). A sum over the outputs whose bounds leave out an output, or run past the "
                            r"outputs (over the image's $m \times n$), keeps it: its wrong range costs the deduction "
                            r"for a wrong range of the outputs (below), also when a later line has the right bounds, "
                            r"unless words withdraw it (rule~4(b)) or state the zeros of $\delta$ for that sum "
                            r"(rule~5(b)). A wrong range so costs as much here as in T1.1 and T1.2, where it loses "
                            r"the border or the ranges, and never more than a missing sum. "
                            r"Unlike in "
                            r"T1.1 and T1.2, a product $\partial L/\partial y \cdot \partial y/\partial b$ with $y$ "
                            r"the sample's dense output, all outputs taken together (T1.1's line on it), earns it "
                            r"when its $\partial L/\partial y$ is one number, the sum of the $\delta$'s: every "
                            r"output's "
                            r"derivative is the same $1$, so the product is the sum over every output. In T1.1 the "
                            r"product of Jacobians $(\partial L/\partial Y)(\partial Y/\partial X)$ earns the chain "
                            r"rule whatever follows it. Here the product $(\partial L/\partial Y)(\partial Y/\partial "
                            r"b)$, whose $\partial L/\partial Y$ is the array $\delta$, earns it when no value for "
                            r"$\partial Y/\partial b$ is put in after it. When one is put in, that value decides (the "
                            r"line of the result says when a $1$ is an array). The array of ones, marked as that line "
                            r"says, as in $\delta \cdot \mathbf{1}_{(m-p+1) \times (n-p+1)}$, makes the "
                            r"product the sum over every output, and earns this criterion; the number~$1$, $\delta "
                            r"\cdot 1$, makes it the "
                            r"entry-wise product with no sum, and loses it (the note on $\delta$ left unsummed, "
                            r"page~\pageref{note-t1.db.db-not-summed}). This is deliberate, and it costs the number "
                            r"nothing against the array: this criterion and the result have the same points, so "
                            r"$\delta \cdot 1 = \delta$ scores the same with either $1$ (forms~(B) and~(C) of that "
                            r"note), and the mark decides only which of the two criteria is lost. Where the answer "
                            r"stops at $\delta \cdot 1$, the mark decides what it wrote: with the number~$1$, that "
                            r"is $\delta$ itself, not the sum."),
                  Criterion("local", 1, "the local derivative", r"It is $1$ (Step~2)."),
                  Criterion("result", 2, "the result",
                            r"It is the sum of all entries of $\delta$, one number like $b$ (Step~3). A result that "
                            r"follows from an error already charged keeps these points (rule~3(c)). So the answer "
                            r"$(\partial L/\partial Y)(\partial Y/\partial b) = \delta \cdot 1 = \delta$, with the "
                            r"number "
                            r"$1$ and no sum, loses the chain rule and not the result. The "
                            r"answer $\delta \cdot \mathbf{1}_{(m-p+1) \times (n-p+1)}$, with the array of ones of "
                            r"$\delta$'s "
                            r"shape and the dot the sum of the entry-wise products, is the sum over every output, and "
                            r"so is $\mathbf{1}^{\mathsf{T}} \operatorname{vec}(\delta)$, whose transpose makes "
                            r"$\mathbf{1}$ a vector. "
                            r"Either earns this criterion, whether or not a line $\sum_{i,j} \delta_{i,j}$ follows "
                            r"it. A further member that is not the sum, such as $= \delta$, is then the answer's "
                            r"result and loses these points (the note on $\delta$ left unsummed, "
                            r"page~\pageref{note-t1.db.db-not-summed}). Written as "
                            r"$(\partial L/\partial Y)(\partial Y/\partial b)$, the product with the array of ones "
                            r"earns "
                            r"the chain rule as well, by the line of that criterion. Its array of ones is the local "
                            r"derivative too, in an answer that has its steps (rule~1(f)). A $1$ is an array when "
                            r"the answer shows it to be one, by what it does with it next or by a mark beside the "
                            r"digit that any reader sees. What it does next: a sum after it, $\delta \cdot 1 = "
                            r"\sum_{i,j} \delta_{i,j}$, shows an array, since only an array of ones gives that sum, "
                            r"and so does a transpose, as in $1^{\mathsf{T}} \operatorname{vec}(\delta)$. A mark: its "
                            r"size written beside it (as the subscript $(m - p + 1) \times (n - p + 1)$, or in "
                            r"words), words that name it an array, an arrow over it or a line under it, or the "
                            r"typeface that marks an array of ones: a bold $\mathbf{1}$ or a double-struck $1$, "
                            r"typed, and in handwriting a $1$ drawn with a second stroke beside its first, the "
                            r"double-struck $1$ of a blackboard. Words "
                            r"anywhere in the answer that define its symbol as an array of ones are such words, as "
                            r"the solutions define their bold $\mathbf{1}$ in the matrix view "
                            r"(page~\pageref{matrix-view}): that symbol is then an array wherever the answer uses "
                            r"it. A mark is one that any reader sees. A handwritten $1$ that is only drawn heavier "
                            r"than the answer's other digits, or with a foot that is part of the digit, is the "
                            r"number~$1$, as a plain $1$ is; a line under it is a stroke of its own, apart from the "
                            r"digit. What a grader cannot tell from the digit's own strokes is no mark, so that "
                            r"two graders read every $1$ alike.")),
        deductions=(_NO_STEPS, _DB_RANGE,
                    Deduction("not-summed", "a result other than the sum",
                              r"A result other than the sum of the question's $\delta$ is any other value: the mean "
                              r"of $\delta$, however the answer reaches it, also where it writes the local derivative "
                              r"as one over the number of outputs (that local derivative is part of this one error "
                              r"and keeps its points), $\delta$ left unsummed after a chain rule that sums over every "
                              r"output, or any other, such as $p^2 \sum_{i,j} \delta_{i,j}$ or $\delta_{0,0}$. An "
                              r"answer that defines its own $\delta_\lambda$ through a loss is graded by rule~9 at "
                              r"the front, and $\delta$ after a chain rule with no sum by the note on $\delta$ left "
                              r"unsummed.",
                              charges=("result",)),
                    _LOSS),
        full_credit=(r"either convention (the result is the same)", r"indices from $1$",
                     r"in the form of Section~9.1, the sum over its outputs, from $p - 1$ to $m - 1$ and to $n - 1$ "
                     r"(page~\pageref{goodfellow-results})",
                     r"\texttt{delta.sum()} or a loop that adds every entry")),
        DB_WRONG),
), keywords=("backpropagation", "convolution", "cross-correlation"))

# a wrong range costs the same in the three parts of T1 (T1.3's chain rule line says so)
assert _DB_RANGE.points == QUESTION.parts[0].rubric.criterion("border").points \
    == QUESTION.parts[1].rubric.criterion("ranges").points, "t1.db: a wrong range costs what it costs in T1.1 and T1.2"

# the note on the unsummed delta scores two forms, one losing the chain rule and one the result, alike
_DB_RUBRIC = QUESTION.parts[2].rubric
assert _DB_RUBRIC.criterion("chain").points == _DB_RUBRIC.criterion("result").points, \
    "t1.db: the note on the unsummed delta says that both its forms score alike"

# what the template's figure needs besides steps: the entry of dL/dX it works out
CONTEXT = {"figure": {"entry": FIGURE_ENTRY}}

# the grading key's illustrative example: a 3 x 3 image, an unsymmetric 2 x 2 kernel (so that turned,
# transposed and unturned kernels differ) and a 2 x 2 delta; shown whole in T1.1, and in T1.2 and T1.3 only
# what their gradients depend on
ILLUSTRATION: dict[str, Any] = {
    "X": np.array([[1, 2, 0], [0, 1, 3], [2, -1, 1]], dtype=float),
    "W": np.array([[1, -2], [3, 0]], dtype=float),
    "b": 1.0,
    "delta": np.array([[1, -1], [2, 1]], dtype=float),
}

STEPS = [FORWARD, *DX_STEPS, *DW_STEPS, *DB_STEPS, *CONVOLUTION_STEPS, *SECTION_9_1_STEPS, *ONE_BASED_STEPS,
         *CONVOLUTION_ONE_BASED_STEPS,
         *_example_steps(),
         *_convolution_example_steps(),
         *[step for part, variable, shown in zip(QUESTION.parts, (X, W, b), (None, ("X", "delta"), ("delta",)))
           for step in illustrations(part, (X, W, b, delta), variable, ILLUSTRATION, shown)]]
