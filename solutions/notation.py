"""The house notation of Homework 4: a sympy LaTeX printer.

sympy's own classes get one `_print_<Class>` method each here; the nodes of
`verify.symbolic` carry their own notation (`_latex`), so a new node needs no
change here.  Indices are separated by commas (X_{i+u,j+v}); T1 counts from
0 (as NumPy does), T2 from 1 (as the question does).  Numbers that the
documents show are printed with a fixed number of decimals.
"""
from __future__ import annotations

import functools

import numpy as np
import sympy as sp
from sympy.printing.latex import LatexPrinter
from sympy.printing.precedence import PRECEDENCE

from verify import symbolic as sy
from verify.symbolic import decimal_text

NAMES = {
    "delta": r"\delta",
    "deltasample": "g",            # the sample solution's delta_k, a next unit's gradient: g_k as rule 7 of the key
                                   # writes it, so that delta keeps the one meaning the question gives it
    "deltaext": r"\bar{\delta}",
    "deltapad": r"\hat{\delta}",
    "Wrot": r"\widetilde{W}",
    "fullconv": r"[\operatorname{conv}_{\mathrm{full}}(\delta, W)]",
    "istar": r"i^{*}",
    # T1's output indexed from p - 1 (Goodfellow et al.), and its delta; then both indexed from 1.  A square
    # bracket marks an index form (review61 a2/a3, c1/c2): a prime means a derivative (f', tanh') and nothing else
    "Yshift": r"Y^{[\mathrm{G}]}",
    "deltashift": r"\delta^{[\mathrm{G}]}",
    "Yone": r"Y^{[1]}",
    "deltaone": r"\delta^{[1]}",
}


# names of a quoted sample solution, whose indices it writes run together (w_{kj})
QUOTED = {"w"}


class HouseLatexPrinter(LatexPrinter):
    @staticmethod
    def _written(expr) -> bool:
        """True for an Add or Mul built with evaluate=False, whose order the author chose."""
        return expr.args != expr.func(*expr.args).args

    def _print_Add(self, expr, order=None):
        terms = list(expr.args) if self._written(expr) else self._textbook_order(expr)
        out = ""
        for position, term in enumerate(terms):
            text = self._print(term)
            if isinstance(term, sp.Add):
                text = rf"\left({text}\right)"
            if position == 0:
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
        const = [term for term in terms if term.is_Number]
        pos = [term for term in terms if not term.is_Number and not term.could_extract_minus_sign()]
        neg = [term for term in terms if not term.is_Number and term.could_extract_minus_sign()]
        if not pos and const and const[0] > 0:
            return const + neg
        return pos + neg + const

    def _print_Mul(self, expr):
        # A coefficient in front of a large factor (a sum, an array operation) prints as one
        # fraction before it, as the question writes (1/d) sum_i x_i.  Products sympy built
        # print the sympy way when they are quotients or have a numeric factor; others keep
        # their stored order (sympy's own would put a derivative before delta_{i,j}).
        factors = list(expr.args)
        reciprocal = [factor.base for factor in factors if factor.is_Pow and factor.exp == -1]
        if reciprocal and any(isinstance(factor, (sp.Sum, sp.Add, sy.Node)) for factor in factors):
            numbers = [factor for factor in factors if factor.is_Number]
            rest = [factor for factor in factors if not factor.is_Number and not (factor.is_Pow and factor.exp == -1)]
            denominator = " ".join(self.parenthesize(q, PRECEDENCE["Mul"], strict=True) for q in reciprocal)
            if not numbers and not any(isinstance(factor, (sp.Sum, sy.Node)) for factor in rest):
                # a plain quotient of sums, (e^t - e^-t) / (e^t + e^-t), is one fraction
                numerator = " ".join(self.parenthesize(factor, PRECEDENCE["Mul"], strict=True) if len(rest) > 1
                                     else self._print(factor) for factor in rest)
                below = self._print(reciprocal[0]) if len(reciprocal) == 1 else denominator
                return rf"\frac{{{numerator}}}{{{below}}}"
            numerator = self._print(sp.Mul(*numbers)) if numbers else "1"
            return rf"\frac{{{numerator}}}{{{denominator}}} " + " ".join(
                self.parenthesize(factor, PRECEDENCE["Mul"], strict=True) for factor in rest)
        quotient = any(factor.is_Pow and factor.exp.is_negative for factor in factors)
        if quotient or (not self._written(expr) and any(factor.is_Number for factor in factors)):
            return super()._print_Mul(expr)
        sign = ""
        if factors[0] == -1:
            sign, factors = "-", factors[1:]
        return sign + " ".join(self.parenthesize(factor, PRECEDENCE["Mul"], strict=True) for factor in factors)

    def _print_Symbol(self, expr, style="plain"):
        return NAMES.get(expr.name, super()._print_Symbol(expr))

    def _print_IndexedBase(self, expr):
        return NAMES.get(expr.label.name, self._print(expr.label))

    def _print_Indexed(self, expr):
        separator = "" if expr.base.label.name in QUOTED else ","
        printed = [self._print(index) for index in expr.indices]
        # w_{\mu j}: a command before a letter needs a space, or \muj is one (unknown) command
        indices = "".join(text + (" " if not separator and text[-1].isalpha() and text.startswith("\\")
                                   and after[:1].isalpha() else separator)
                          for text, after in zip(printed, printed[1:])) + printed[-1]
        return f"{self._print(expr.base)}_{{{indices}}}"

    def _print_Slice(self, expr):
        # a slice of a batched array, X^{(r,c)}: the subscript stays for single entries (X_{k,l})
        return f"{self._print(expr.base)}^{{({','.join(self._print(index) for index in expr.indices)})}}"

    def _print_Sum(self, expr):
        body = self._print(expr.function)
        if isinstance(expr.function, sp.Add):
            body = rf"\left({body}\right)"
        sums = "".join(rf"\sum_{{{self._print(index)}={self._print(lo)}}}^{{{self._print(hi)}}} "
                       for index, lo, hi in reversed(expr.limits))
        return sums + body

    def _print_KroneckerDelta(self, expr, exp=None):
        first, second = expr.args
        return rf"\mathbb{{I}}[{self._print(first)} = {self._print(second)}]"

    def _print_ImmutableDenseMatrix(self, expr):
        rows = [" & ".join(self._print(entry) for entry in row) for row in expr.tolist()]
        return r"\begin{bmatrix} " + r" \\ ".join(rows) + r" \end{bmatrix}"

    _print_MutableDenseMatrix = _print_ImmutableDenseMatrix

    def _print_Tuple(self, expr):
        return r"\left(" + r",\ ".join(self._print(item) for item in expr.args) + r"\right)"

    def _print_tanh(self, expr, exp=None):
        arg = self._print(expr.args[0])
        return rf"\tanh^{{{exp}}}\!\left({arg}\right)" if exp else rf"\tanh\!\left({arg}\right)"

    def _print_Piecewise(self, expr):
        rows = []
        for value, cond in expr.args:
            when = r"\text{otherwise}" if cond is sp.true else rf"\text{{if }} {self._print_condition(cond)}"
            rows.append(rf"{self._print(value)} & {when}")
        # dcases (mathtools): the entries are set in display style, as every sum in a display is
        return r"\begin{dcases} " + r" \\ ".join(rows) + r" \end{dcases}"

    def _print_condition(self, cond):
        """Conditions as chains: lo <= e and e <= hi print as lo <= e <= hi."""
        parts = list(cond.args) if isinstance(cond, sp.And) else [cond]
        pairs = [(part.lhs, part.rhs) if isinstance(part, sp.Le) else (part.rhs, part.lhs) for part in parts
                 if isinstance(part, (sp.Le, sp.Ge))]
        others = [part for part in parts if not isinstance(part, (sp.Le, sp.Ge))]
        chains, used = [], set()
        for lo, mid in pairs:
            for position, (lhs, hi) in enumerate(pairs):
                if lhs == mid and position not in used and (lo, mid) != (lhs, hi):
                    used |= {position, pairs.index((lo, mid))}
                    chains.append(rf"{self._print(lo)} \le {self._print(mid)} \le {self._print(hi)}")
                    break
        chains += [rf"{self._print(lo)} \le {self._print(hi)}" for position, (lo, hi) in enumerate(pairs)
                   if position not in used]
        return r",\ ".join(sorted(chains) + [self._print(other) for other in others])

    def _print_Relational(self, expr):
        symbols = {"<=": r"\le", ">=": r"\ge", "<": "<", ">": ">", "==": "=", "!=": r"\ne"}
        return f"{self._print(expr.lhs)} {symbols[expr.rel_op]} {self._print(expr.rhs)}"

    def _print_Rational(self, expr):
        if expr.q == 1:
            return str(expr.p)
        return super()._print_Rational(expr)

    def _print_Float(self, expr):
        return decimal_text(sp.Rational(expr), exact=True)


# an upright d for a derivative, d/dxi: the italic d is the dimension of x in T2
_PRINTER = HouseLatexPrinter({"diff_operator": "rd"})


def latex(expr) -> str:
    """LaTeX of a formula in the house notation."""
    try:
        return _cached_latex(f"{type(expr).__module__}.{type(expr).__qualname__}", expr)
    except TypeError:   # unhashable (a mutable matrix, a list): printed each time
        return _PRINTER.doprint(expr)


@functools.lru_cache(maxsize=65536)
def _cached_latex(kind: str, expr) -> str:
    # The documents print the same steps in three PDFs and every variant: printing is most of rendering.
    # `kind` keeps 1 and 1.0 (equal, with equal hashes) apart; sympy tells 1 from 1.0 inside a formula itself.
    return _PRINTER.doprint(expr)


def index_range(sym, lo, hi) -> str:
    return rf"{latex(lo)} \le {latex(sym)} \le {latex(hi)}"


def number(value, digits: int = 4) -> str:
    """A number as the documents print it: integers without decimals, others with `digits` decimals."""
    return decimal_text(sp.Rational(float(value)) if isinstance(value, (float, np.floating)) else value, digits)
