"""The house notation, tested as sympy tests its printers: one exact string per print method.

Every `_print_<Class>` of the house printer and every node's own `_latex` has
cases here; `test_every_print_method_has_a_case` fails when one is added
without them.
"""
from __future__ import annotations

import pytest
import sympy as sp

from solutions.notation import HouseLatexPrinter, latex, number
from solutions.symbols import (
    C,
    L,
    P,
    Slice,
    W,
    W_rot,
    X,
    Y,
    b,
    c,
    d,
    delta,
    delta_pad,
    delta_s,
    delta_v,
    f,
    i,
    j,
    k,
    l,
    m,
    n,
    p,
    q,
    r,
    s,
    u,
    v,
    x,
)
from verify import symbolic as sy
from verify.symbolic import (
    ArgMax,
    BatchCorrelate,
    ConvexHull,
    ConvMatrix,
    Correlate,
    Count,
    Crop,
    Dilate,
    Entries,
    Fit,
    Hadamard,
    Identity,
    MatVec,
    MaxMask,
    MaxOver,
    Mean,
    OneHot,
    Ones,
    Pad,
    Partial,
    Patches,
    Place,
    Rot180,
    SizeOf,
    Subdifferential,
    Subsample,
    SumAll,
    SumAxes,
    SumOver,
    SwapAxes,
    Times,
    Transposed,
    Vec,
    ZeroExtend,
    product,
    shown,
    total,
)

_w = sp.IndexedBase("w")
a = sp.Symbol("a", integer=True)   # a generic index for the printer's conditions
_chain = sp.And(sp.Le(0, a, evaluate=False), sp.Le(a, m - p, evaluate=False), sp.Le(0, c, evaluate=False),
                sp.Le(c, n - p, evaluate=False), evaluate=False)

CASES = {
    "_print_Add": [(total(k, -i), "k - i"), (m - p + 1, "m - p + 1"), (1 - p, "1 - p")],
    "_print_Mul": [(product(delta[i, j], Partial(Y[i, j], X[k, l])),
                    r"\delta_{i,j} \frac{\partial Y_{i,j}}{\partial X_{k,l}}"),
                   (product(-1, W[u, v]), "- W_{u,v}"), (2 * k, "2 k"), (delta_s / d, r"\frac{\delta}{d}"),
                   (product(1 / d, sp.Sum(x[i], (i, 1, d))), r"\frac{1}{d} \sum_{i=1}^{d} x_{i}"),
                   (product(2 / n, SumAll(delta), W), r"\frac{2}{n} \sum_{i,j} \delta_{i,j} W"),
                   (product(sp.exp(k) - 1, sp.Pow(sp.exp(k) + 1, -1)), r"\frac{e^{k} - 1}{e^{k} + 1}")],
    "_print_Symbol": [(delta_s, r"\delta"), (sp.Symbol("istar"), "i^{*}"), (m, "m")],
    "_print_IndexedBase": [(delta_pad, r"\hat{\delta}"), (W_rot, r"\widetilde{W}"), (X, "X")],
    "_print_Indexed": [(W[k - i, l - j], "W_{k - i,l - j}"), (x[k], "x_{k}"), (_w[k, j], "w_{kj}"),
                       (_w[sp.Symbol("mu", integer=True), j], r"w_{\mu j}")],
    "_print_Slice": [(Slice(X, r, c), "X^{(r,c)}"), (Slice(delta, r, q), r"\delta^{(r,q)}")],
    "_print_Sum": [(sp.Sum(product(delta[i, j], X[i, j]), (j, 0, 2), (i, 0, 1)),
                    r"\sum_{i=0}^{1} \sum_{j=0}^{2} \delta_{i,j} X_{i,j}"),
                   (sp.Sum(x[i] + 1, (i, 1, d)), r"\sum_{i=1}^{d} \left(x_{i} + 1\right)")],
    "_print_KroneckerDelta": [(sp.KroneckerDelta(i + u, k), r"\mathbb{I}[k = i + u]")],
    "_print_ImmutableDenseMatrix": [(sp.ImmutableMatrix([[shown(1), shown(-2)], [shown(0.5), shown(3)]]),
                                     r"\begin{bmatrix} 1 & -2 \\ 0.5 & 3 \end{bmatrix}")],
    "_print_MutableDenseMatrix": [(sp.Matrix([[1], [2]]), r"\begin{bmatrix} 1 \\ 2 \end{bmatrix}")],
    "_print_Tuple": [(sp.Tuple(X, W, b), r"\left(X,\ W,\ b\right)")],
    "_print_tanh": [(sp.tanh(x[k]), r"\tanh\!\left(x_{k}\right)"), (sp.tanh(x[k]) ** 2, r"\tanh^{2}\!\left(x_{k}\right)")],
    "_print_Piecewise": [(sp.Piecewise((W[k - i, l - j], sp.And(sp.Le(0, k - i, evaluate=False),
                                                                  sp.Le(k - i, p - 1, evaluate=False), evaluate=False)),
                                       (0, True), evaluate=False),
                          r"\begin{dcases} W_{k - i,l - j} & \text{if } 0 \le k - i \le p - 1 \\ 0 & \text{otherwise} "
                          r"\end{dcases}")],
    "_print_condition": [(sp.Piecewise((1, _chain), (0, True), evaluate=False),
                          r"\begin{dcases} 1 & \text{if } 0 \le a \le m - p,\ 0 \le c \le n - p \\ 0 & \text{otherwise} "
                          r"\end{dcases}")],
    "_print_Relational": [(sp.Eq(x[i], f), "x_{i} = f"), (sp.Le(0, k, evaluate=False), r"0 \le k")],
    "_print_Rational": [(sp.Rational(3, 4), r"\frac{3}{4}"), (sp.Integer(5), "5")],
    "_print_Float": [(sp.Float(0.5), "0.5"), (sp.Float(2.0), "2")],
    "ArgMax": [(ArgMax(x), r"\operatorname{arg\,max}_i x_i")],
    "Brackets": [(sy.Brackets(m - p), r"\left[m - p\right]")],
    "BatchCorrelate": [(BatchCorrelate(X, W), r"X \circledast W")],
    "ConvMatrix": [(ConvMatrix(W, m, n), r"\mathcal{M}\!\left(W\right)")],
    "ConvexHull": [(ConvexHull(OneHot(x, i), sp.Eq(x[i], f), i, 1, d),
                    r"\operatorname{hull}\left\{ \mathbf{e}_{i} : x_{i} = f \right\}")],
    "Correlate": [(Correlate(Pad(delta, p - 1), Rot180(W)),
                   r"\operatorname{pad}_{p - 1}\!\left(\delta\right) \star \operatorname{rot}_{180^\circ}\!\left(W\right)"),
                  (Correlate(X + 1, W), r"\left(X + 1\right) \star W")],
    "Count": [(Count(delta), r"\lvert \delta \rvert")],
    "Crop": [(Crop(X, P), r"\operatorname{crop}_{P}\!\left(X\right)")],
    "Dilate": [(Dilate(delta, s), r"\operatorname{dil}_{s}\!\left(\delta\right)")],
    "Entries": [(Entries(x[i], i, 1, d), r"\left(x_{i}\right)_{i=1}^{d}")],
    "Fit": [(Fit(delta, m - p + 1, n - p + 1), r"\operatorname{fit}_{(m - p + 1) \times (n - p + 1)}\!\left(\delta\right)"),
            (Fit(delta, m, n), r"\operatorname{fit}_{m \times n}\!\left(\delta\right)")],
    "Hadamard": [(Hadamard(delta_v, Ones(x) - sp.tanh(x)), r"\delta \odot \left(\mathbf{1} - \tanh\!\left(x\right)\right)")],
    "Identity": [(Identity(d), "I_{d}")],
    "MatVec": [(MatVec(Transposed(ConvMatrix(W, m, n)), Vec(delta)),
                r"\mathcal{M}\!\left(W\right)^{\mathsf{T}} \, \operatorname{vec}\!\left(\delta\right)")],
    "MaxMask": [(MaxMask(x), r"\mathbb{I}[x = \max x]")],   # plain brackets, as I[x_k = max x] in the prose
    "MaxOver": [(MaxOver(x[i], i, 1, d), r"\max_{1 \le i \le d} x_{i}")],
    "Mean": [(Mean(delta), r"\operatorname{mean}\!\left(\delta\right)")],
    "OneHot": [(OneHot(x, ArgMax(x)), r"\mathbf{e}_{i^{*}}"), (OneHot(x, i), r"\mathbf{e}_{i}")],
    "Ones": [(Ones(x), r"\mathbf{1}")],
    "Pad": [(Pad(delta, p - 1), r"\operatorname{pad}_{p - 1}\!\left(\delta\right)")],
    "Partial": [(Partial(L, X[k, l]), r"\frac{\partial L}{\partial X_{k,l}}"), (Partial(L, b), r"\frac{\partial L}{\partial b}")],
    "Patches": [(Patches(X, p), r"\operatorname{patches}_{p}\!\left(X\right)")],
    "Place": [(Place(W, i, j, m, n), r"\operatorname{place}_{i,j}\!\left(W\right)")],
    "Rot180": [(Rot180(W), r"\operatorname{rot}_{180^\circ}\!\left(W\right)")],
    "Shown": [(shown(0.0707), "0.0707"), (shown(3), "3"), (shown(-1.5), "-1.5"), (shown(sp.Rational(2, 3)), "0.6667")],
    "SizeOf": [(SizeOf(Y, 0), r"\operatorname{rows}\!\left(Y\right)"), (SizeOf(Y, 1), r"\operatorname{cols}\!\left(Y\right)")],
    "Subdifferential": [(Subdifferential(f, x), r"\mathcal{G} f\!\left(x\right)")],
    "Subsample": [(Subsample(X, s), r"\operatorname{sub}_{s}\!\left(X\right)")],
    "SumAll": [(SumAll(delta), r"\sum_{i,j} \delta_{i,j}"), (SumAll(delta_v), r"\sum_{i} \delta_{i}"),
               (SumAll(Y), r"\sum Y")],
    "SumAxes": [(SumAxes(delta, 1), r"\left(\sum_{r,i,j} \delta^{(r,q)}_{i,j}\right)_{q}")],
    "SumOver": [(SumOver(product(_w[k, j], delta_v[k]), k, 1, d), r"\sum_{k} w_{kj} \delta_{k}")],
    "SwapAxes": [(SwapAxes(X), r"\operatorname{swap}_{12}\!\left(X\right)")],
    "Times": [(Times(shown(2), shown(-3)), r"2 \cdot (-3)")],
    "Transposed": [(Transposed(W), r"W^{\mathsf{T}}")],
    "Vec": [(Vec(X), r"\operatorname{vec}\!\left(X\right)")],
    "ZeroExtend": [(sy.ZeroExtend(delta), r"\delta")],
}


def _all_nodes(cls=sy.Node):
    for sub in cls.__subclasses__():
        yield sub
        yield from _all_nodes(sub)


def test_every_print_method_has_a_case():
    methods = {name for name in vars(HouseLatexPrinter) if name.startswith("_print_")}
    # the shared vocabulary; a part's own notation (a Node in its module) is covered by its golden file
    nodes = {node.__name__ for node in _all_nodes() if "_latex" in vars(node) and node.__module__ == sy.__name__}
    assert methods | nodes == set(CASES)


@pytest.mark.parametrize("expr, expected", [case for cases in CASES.values() for case in cases],
                         ids=[f"{name}-{q}" for name, cases in CASES.items() for q in range(len(cases))])
def test_exact_latex(expr, expected):
    assert latex(expr) == expected


def test_numbers_print_integers_bare_exact_decimals_as_they_are_and_rounded_ones_with_four_decimals():
    assert [number(q) for q in (3.0, -2.0, 0.070650824, 1 / 3)] == ["3", "-2", "0.0707", "0.3333"]
    assert [latex(shown(q)) for q in (0.5, 0.75, 1.5, sp.Rational(21, 50), 2 / 3, 0.42)] == \
        ["0.5", "0.75", "1.5", "0.42", "0.6667", "0.4200"]   # the float 0.42 is not 21/50: it is rounded


def test_used_symbols_print_as_the_documents_write_them():
    assert latex(C) == "C" and latex(ZeroExtend(delta)) == r"\delta"


def test_a_number_that_rounds_to_zero_has_no_sign():
    assert [number(q) for q in (-0.00001, -0.0, 0.00001)] == ["0.0000", "0", "0.0000"]


def test_a_derivative_is_written_with_an_upright_d_since_the_italic_d_is_a_dimension():
    xi = sp.Symbol("xi")
    assert latex(sp.Derivative(sp.tanh(xi), xi)) == r"\frac{\mathrm{d}}{\mathrm{d} \xi} \tanh\!\left(\xi\right)"
