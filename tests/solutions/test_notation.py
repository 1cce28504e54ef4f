"""The house notation: exact LaTeX strings, as sympy's printer tests assert them."""
import numpy as np
import sympy as sp

from solutions.notation import latex, numeric_matrix
from verify import reference as ref
from verify.symbolic import L, Partial, W, X, delta, i, j, k, l, m, p


def test_indices_are_comma_separated_and_in_textbook_order():
    assert latex(W[k - i, l - j]) == "W_{k - i,l - j}"
    assert latex(m - p + 1) == "m - p + 1"
    assert latex(1 - p) == "1 - p"


def test_partial_derivatives():
    assert latex(Partial(L, X[k, l])) == r"\frac{\partial L}{\partial X_{k,l}}"


def test_reference_formulas():
    assert latex(ref.T1_DX) == (r"\operatorname{pad}_{p - 1}\!\left(\delta\right) \star "
                                r"\operatorname{rot}_{180^\circ}\!\left(W\right)")
    assert latex(ref.T1_DW) == r"X \star \delta"
    assert latex(ref.T2_AVGPOOL) == r"\frac{\delta}{d} \mathbf{1}"


def test_sums_print_one_sign_per_index_in_written_order():
    expr = sp.Sum(sp.Mul(delta[i, j], X[i, j], evaluate=False), (j, 0, 2), (i, 0, 1))
    assert latex(expr) == r"\sum_{i=0}^{1} \sum_{j=0}^{2} \delta_{i,j} X_{i,j}"


def test_numeric_matrices_print_integers_without_decimals():
    assert numeric_matrix(np.array([[1.0, -2.0], [0.5, 3.0]])) == "\\begin{bmatrix}\n1&-2\\\\\n0.5&3\n\\end{bmatrix}"
    assert numeric_matrix(np.array([1.0, 2.0])).count("\\\\") == 1  # a column
