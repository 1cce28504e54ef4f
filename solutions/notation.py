"""The house notation of the key: a sympy LaTeX printer.

One `_print_<Node>` method per kind of object, so a change of notation is a
change in one place.  Indices are separated by commas (X_{i+u,j+v}); 0-based
for T1 (as in NumPy), 1-based for T2 (as in the question).
"""
from __future__ import annotations

import numpy as np
import sympy as sp
from pylatex import Matrix
from sympy.printing.latex import LatexPrinter
from sympy.printing.precedence import PRECEDENCE

from verify import symbolic as sy

NAMES = {
    "delta": r"\delta",
    "deltaext": r"\bar{\delta}",
    "deltapad": r"\hat{\delta}",
    "Wrot": r"\widetilde{W}",
    "istar": r"i^{*}",
    "P": "P",
}


class HouseLatexPrinter(LatexPrinter):
    @staticmethod
    def _written(expr) -> bool:
        """True for an Add or Mul built with evaluate=False, whose order the author chose."""
        return expr.args != expr.func(*expr.args).args

    def _print_Add(self, expr, order=None):
        terms = list(expr.args) if self._written(expr) else self._textbook_order(expr)
        out = ""
        for q, term in enumerate(terms):
            text = self._print(term)
            if isinstance(term, sp.Add):
                text = rf"\left({text}\right)"
            if q == 0:
                out = text
            elif text.startswith("-"):
                out += " - " + text[1:].lstrip()
            else:
                out += " + " + text
        return out

    @staticmethod
    def _textbook_order(expr):
        """k - i, m - p + 1, 1 - p: positive terms, then negative ones, then the constant."""
        terms = expr.as_ordered_terms()
        const = [q for q in terms if q.is_Number]
        pos = [q for q in terms if not q.is_Number and not q.could_extract_minus_sign()]
        neg = [q for q in terms if not q.is_Number and q.could_extract_minus_sign()]
        if not pos and const and const[0] > 0:
            return const + neg
        return pos + neg + const

    def _print_Mul(self, expr):
        # Quotients, and products sympy built with a numeric factor, print the sympy way;
        # other products keep their stored order: sympy's own would put a derivative
        # before delta_{i,j}.
        quotient = any(q.is_Pow and q.exp.is_negative for q in expr.args)
        if quotient or (not self._written(expr) and any(q.is_Number for q in expr.args)):
            return super()._print_Mul(expr)
        factors = list(expr.args)
        sign = ""
        if factors[0] == -1:
            sign, factors = "-", factors[1:]
        return sign + " ".join(self.parenthesize(q, PRECEDENCE["Mul"], strict=True) for q in factors)

    def _print_Symbol(self, expr, style="plain"):
        return NAMES.get(expr.name, super()._print_Symbol(expr))

    def _print_IndexedBase(self, expr):
        return NAMES.get(expr.label.name, self._print(expr.label))

    def _print_Indexed(self, expr):
        indices = ",".join(self._print(q) for q in expr.indices)
        return f"{self._print(expr.base)}_{{{indices}}}"

    def _print_Sum(self, expr):
        body = self._print(expr.function)
        if isinstance(expr.function, sp.Add):
            body = rf"\left({body}\right)"
        sums = "".join(rf"\sum_{{{self._print(i)}={self._print(lo)}}}^{{{self._print(hi)}}} "
                       for i, lo, hi in reversed(expr.limits))
        return sums + body

    def _print_Partial(self, expr):
        F, V = expr.args
        return rf"\frac{{\partial {self._print(F)}}}{{\partial {self._print(V)}}}"

    def _print_KroneckerDelta(self, expr, exp=None):
        a, b = expr.args
        return rf"[{self._print(a)} = {self._print(b)}]"

    def _print_ImmutableDenseMatrix(self, expr):
        return numeric_matrix(np.array(expr.tolist(), dtype=object))

    _print_MutableDenseMatrix = _print_ImmutableDenseMatrix

    def _print_Subdifferential(self, expr):
        return rf"\partial {self._print(expr.args[0])}\!\left({self._print(expr.args[1])}\right)"

    def _print_ConvexHull(self, expr):
        vec, cond = expr.args
        return rf"\operatorname{{conv}}\left\{{ {self._print(vec)} : {self._print(cond)} \right\}}"

    def _print_Iverson(self, expr):
        return rf"[{self._print(expr.args[0])}]"

    def _operand(self, expr):
        text = self._print(expr)
        compound = (sp.Add, sp.Mul, sy.Correlate, sy.BatchCorrelate, sy.Hadamard)
        return rf"\left({text}\right)" if isinstance(expr, compound) else text

    def _print_Correlate(self, expr):
        return rf"{self._operand(expr.args[0])} \star {self._operand(expr.args[1])}"

    def _print_Pad(self, expr):
        return rf"\operatorname{{pad}}_{{{self._print(expr.args[1])}}}\!\left({self._print(expr.args[0])}\right)"

    def _print_Rot180(self, expr):
        return rf"\operatorname{{rot}}_{{180^\circ}}\!\left({self._print(expr.args[0])}\right)"

    def _print_Dilate(self, expr):
        return rf"\operatorname{{dil}}_{{{self._print(expr.args[1])}}}\!\left({self._print(expr.args[0])}\right)"

    def _print_Fit(self, expr):
        a, r, c = expr.args
        return (rf"\operatorname{{fit}}_{{({self._print(r)}) \times ({self._print(c)})}}"
                rf"\!\left({self._print(a)}\right)")

    def _print_Crop(self, expr):
        return rf"\operatorname{{crop}}_{{{self._print(expr.args[1])}}}\!\left({self._print(expr.args[0])}\right)"

    def _print_Subsample(self, expr):
        return rf"\left[{self._print(expr.args[0])}\right]_{{\downarrow {self._print(expr.args[1])}}}"

    def _print_SwapAxes(self, expr):
        return rf"{self._operand(expr.args[0])}^{{\mathsf{{T}}_{{12}}}}"

    def _print_Transposed(self, expr):
        return rf"{self._operand(expr.args[0])}^{{\mathsf{{T}}}}"

    def _print_BatchCorrelate(self, expr):
        return rf"{self._operand(expr.args[0])} \circledast {self._operand(expr.args[1])}"

    def _print_SumAxes(self, expr):
        return rf"\textstyle\sum_{{a,i,j}} {self._print(expr.args[0])}_{{a,\cdot,i,j}}"

    def _print_Hadamard(self, expr):
        return rf"{self._operand(expr.args[0])} \odot {self._operand(expr.args[1])}"

    def _print_Ones(self, expr):
        return r"\mathbf{1}"

    def _print_OneHot(self, expr):
        a, q = expr.args
        where = r"i^{*}" if isinstance(q, sy.ArgMax) else self._print(q)
        return rf"\mathbf{{e}}_{{{where}}}"

    def _print_ArgMax(self, expr):
        return rf"\operatorname{{arg\,max}}_i {self._print(expr.args[0])}_i"

    def _print_MaxMask(self, expr):
        return rf"\left[{self._print(expr.args[0])} = \max {self._print(expr.args[0])}\right]"

    def _print_MaxOver(self, expr):
        body, i, lo, hi = expr.args
        return rf"\max_{{{self._print(lo)} \le {self._print(i)} \le {self._print(hi)}}} {self._print(body)}"

    def _print_SumAll(self, expr):
        a = expr.args[0]
        name = self._print(a)
        rank = len(a.shape) if isinstance(a, sp.IndexedBase) and a.shape is not None else 0
        index = {1: "i", 2: "i,j"}.get(rank)
        return rf"\textstyle\sum_{{{index}}} {name}_{{{index}}}" if index else rf"\textstyle\sum {name}"

    def _print_tanh(self, expr, exp=None):
        arg = self._print(expr.args[0])
        return rf"\tanh^{{{exp}}}\!\left({arg}\right)" if exp else rf"\tanh\!\left({arg}\right)"

    def _print_Piecewise(self, expr):
        rows = []
        for value, cond in expr.args:
            when = r"\text{otherwise}" if cond is sp.true else rf"\text{{if }} {self._print_condition(cond)}"
            rows.append(rf"{self._print(value)} & {when}")
        return r"\begin{cases} " + r" \\ ".join(rows) + r" \end{cases}"

    def _print_condition(self, cond):
        """Conditions as chains: lo <= e and e <= hi print as lo <= e <= hi."""
        parts = list(cond.args) if isinstance(cond, sp.And) else [cond]
        pairs = [(q.lhs, q.rhs) if isinstance(q, sp.Le) else (q.rhs, q.lhs) for q in parts
                 if isinstance(q, (sp.Le, sp.Ge))]
        others = [q for q in parts if not isinstance(q, (sp.Le, sp.Ge))]
        chains, used = [], set()
        for lo, mid in pairs:
            for q, (lhs, hi) in enumerate(pairs):
                if lhs == mid and q not in used and (lo, mid) != (lhs, hi):
                    used |= {q, pairs.index((lo, mid))}
                    chains.append(rf"{self._print(lo)} \le {self._print(mid)} \le {self._print(hi)}")
                    break
        chains += [rf"{self._print(lo)} \le {self._print(hi)}" for q, (lo, hi) in enumerate(pairs) if q not in used]
        return r",\ ".join(sorted(chains) + [self._print(q) for q in others])

    def _print_Relational(self, expr):
        ops = {"<=": r"\le", ">=": r"\ge", "<": "<", ">": ">", "==": "=", "!=": r"\ne"}
        return f"{self._print(expr.lhs)} {ops[expr.rel_op]} {self._print(expr.rhs)}"


_PRINTER = HouseLatexPrinter()


def number(value, digits: int = 4) -> str:
    """A number as the key prints it: integers without decimals, others with 4 significant digits."""
    value = float(value)
    if value == round(value):
        return f"{int(round(value))}"
    return f"{value:.{digits}g}"


def row_vector(values, digits: int = 4) -> str:
    """A vector for running text: a transposed row, one line high."""
    entries = ", ".join(number(q, digits) for q in np.ravel(values))
    return rf"({entries})^{{\mathsf{{T}}}}"


def numeric_matrix(values, digits: int = 4) -> str:
    """A NumPy array as a bracketed matrix (PyLaTeX); a vector is a column."""
    arr = np.asarray(values, dtype=float)
    arr = arr.reshape(-1, 1) if arr.ndim == 1 else np.atleast_2d(arr)
    cells = np.vectorize(lambda q: number(q, digits), otypes=[object])(arr)
    return Matrix(cells, mtype="b").dumps().replace("%\n", "\n")


def latex(expr) -> str:
    """LaTeX of a formula in the house notation."""
    return _PRINTER.doprint(expr)


def index_range(sym, lo, hi) -> str:
    return rf"{latex(lo)} \le {latex(sym)} \le {latex(hi)}"
