"""The vocabulary of formulas, and the one evaluator that gives them meaning.

A formula is a sympy expression built from sympy's own classes (Add, Mul,
Sum, Indexed, Piecewise, ...) and the nodes below.  Each node is one class
that holds both sides of a concept: `numeric` says what it computes and
`_latex` how it is written (sympy's printers call `_latex`).  A formula shown
in a document and the formula that is checked are therefore the same object.

`evaluate` works in every number domain the checks use: polynomial-ring or
sympy elements (exact), floats and complex numbers.  Homework modules may
define nodes of their own in the same way; nothing here needs to change.
"""
from __future__ import annotations

import operator
from collections.abc import Callable, Mapping
from typing import Any, ClassVar

import numpy as np
import sympy as sp

from . import ops


def product(*factors):
    """A product in the order written: sympy would sort the factors (and the documents would print them so)."""
    return sp.Mul(*factors, evaluate=False)


def total(*terms):
    """A sum in the order written."""
    return sp.Add(*terms, evaluate=False)


def operand(printer, expr) -> str:
    """An argument of an infix operator, in parentheses when it is itself a sum, product or infix node."""
    text = printer._print(expr)
    compound = isinstance(expr, (sp.Add, sp.Mul)) or (isinstance(expr, Node) and expr.infix)
    return rf"\left({text}\right)" if compound else text


def named(printer, name: str, *args, sub=None) -> str:
    r"""\operatorname{name}_{sub}(args): the notation of a named array operation."""
    index = f"_{{{printer._print(sub)}}}" if sub is not None else ""
    inner = ", ".join(printer._print(a) for a in args)
    return rf"\operatorname{{{name}}}{index}\!\left({inner}\right)"


# ---- nodes ------------------------------------------------------------------------------
class Node(sp.Function):
    """A named operation on arrays: evaluated by `numeric`, printed by `_latex`.

    Subclasses set `nargs`, and `numeric` (a function of the evaluated
    arguments, valid in every number domain) unless the evaluator treats them
    specially (Partial, sets).  `infix` nodes are parenthesized as operands.
    """
    is_commutative = True
    infix: ClassVar[bool] = False
    numeric: ClassVar[Callable[..., Any] | None] = None

    @classmethod
    def eval(cls, *args):
        return None  # never auto-simplify: the printed form must stay as written

    def _latex(self, printer):  # pragma: no cover - every node defines its own
        raise NotImplementedError(f"{type(self).__name__} has no notation")


class Partial(Node):
    """Partial(F, V): the partial derivative dF/dV (V an entry, a scalar or a whole array)."""
    nargs = 2

    def _latex(self, printer):
        F, V = self.args
        return rf"\frac{{\partial {printer._print(F)}}}{{\partial {printer._print(V)}}}"


class Correlate(Node):
    """Valid cross-correlation of two arrays (the star of deep learning)."""
    nargs = 2
    infix = True
    numeric = staticmethod(ops.correlate_valid)

    def _latex(self, printer):
        return rf"{operand(printer, self.args[0])} \star {operand(printer, self.args[1])}"


class Pad(Node):
    """Pad(A, w): A with w zero rows and columns on every side."""
    nargs = 2
    numeric = staticmethod(lambda a, w: ops.pad(a, ops.as_index(w)))

    def _latex(self, printer):
        return named(printer, "pad", self.args[0], sub=self.args[1])


class Rot180(Node):
    """The kernel turned by 180 degrees."""
    nargs = 1
    numeric = staticmethod(ops.rot180)

    def _latex(self, printer):
        return rf"\operatorname{{rot}}_{{180^\circ}}\!\left({printer._print(self.args[0])}\right)"


class Dilate(Node):
    """Dilate(A, s): s-1 zeros inserted between adjacent entries."""
    nargs = 2
    numeric = staticmethod(lambda a, st: ops.dilate(a, ops.as_index(st)))

    def _latex(self, printer):
        return named(printer, "dil", self.args[0], sub=self.args[1])


class Fit(Node):
    """Fit(A, r, c): A cropped, or zero-extended at the bottom and right, to r x c."""
    nargs = 3
    numeric = staticmethod(lambda a, r, c: ops.fit(a, ops.as_index(r), ops.as_index(c)))

    def _latex(self, printer):
        a, r, c = self.args

        def size(n):   # m - p, not m: parentheses only where the count is a sum
            return printer._print(n) if n.is_Atom else f"({printer._print(n)})"
        return rf"\operatorname{{fit}}_{{{size(r)} \times {size(c)}}}\!\left({printer._print(a)}\right)"


class Crop(Node):
    """Crop(A, w): A without its outer w rows and columns on every side (undoes Pad)."""
    nargs = 2
    numeric = staticmethod(lambda a, w: ops.crop(a, ops.as_index(w)))

    def _latex(self, printer):
        return named(printer, "crop", self.args[0], sub=self.args[1])


class Subsample(Node):
    """Subsample(A, s): every s-th row and column, starting with the first."""
    nargs = 2
    numeric = staticmethod(lambda a, st: np.asarray(a)[..., ::ops.as_index(st), ::ops.as_index(st)])

    def _latex(self, printer):
        # an operator of its own name, like pad and crop: square brackets also hold an indicator, I[condition] (1 or 0)
        return named(printer, "sub", self.args[0], sub=self.args[1])


class SwapAxes(Node):
    """SwapAxes(A): the first two axes exchanged (samples and channels, filters and channels)."""
    nargs = 1
    numeric = staticmethod(lambda a: np.swapaxes(np.asarray(a), 0, 1))

    def _latex(self, printer):
        # an operator before its argument: a superscript names a slice (X^(r,c)) and ^T the transpose
        return named(printer, "swap", self.args[0], sub=12)


class Transposed(Node):
    """The transpose of a matrix."""
    nargs = 1
    numeric = staticmethod(lambda a: np.asarray(a).T)

    def _latex(self, printer):
        return rf"{operand(printer, self.args[0])}^{{\mathsf{{T}}}}"


class BatchCorrelate(Node):
    """BatchCorrelate(A, B)[a, q] = sum_c A[a, c] star B[q, c]: the batched forward without bias."""
    nargs = 2
    infix = True
    numeric = staticmethod(ops.correlate_batch)

    def _latex(self, printer):
        return rf"{operand(printer, self.args[0])} \circledast {operand(printer, self.args[1])}"


class SumAxes(Node):
    """SumAxes(A, 1): the sum over every axis of A except axis 1 (one entry per channel)."""
    nargs = 2
    numeric = staticmethod(lambda a, keep: np.asarray(a).sum(
        axis=tuple(q for q in range(np.ndim(a)) if q != ops.as_index(keep))))

    def _latex(self, printer):
        name = printer._print(self.args[0])
        # entry (i, j) of the slice of image r and filter q: a superscript names the slice, a subscript the entry
        return rf"\left(\sum_{{r,i,j}} {name}^{{(r,q)}}_{{i,j}}\right)_{{q}}"


class SumAll(Node):
    """The sum of every entry of an array."""
    nargs = 1
    numeric = staticmethod(lambda a: np.asarray(a).sum())

    def _latex(self, printer):
        a = self.args[0]
        name = printer._print(a)
        rank = len(a.shape) if isinstance(a, sp.IndexedBase) and a.shape is not None else 0
        index = {1: "i", 2: "i,j"}.get(rank)
        return rf"\sum_{{{index}}} {name}_{{{index}}}" if index else rf"\sum {name}"


class Hadamard(Node):
    """The entry-wise product of two arrays of one shape."""
    nargs = 2
    infix = True
    numeric = staticmethod(lambda a, b: ops.combine(a, b, operator.mul))

    def _latex(self, printer):
        return rf"{operand(printer, self.args[0])} \odot {operand(printer, self.args[1])}"


class Ones(Node):
    """Ones(A): the all-ones array shaped like A."""
    nargs = 1
    numeric = staticmethod(ops.ones_like)

    def _latex(self, printer):
        return r"\mathbf{1}"


class OneHot(Node):
    """OneHot(A, q): the array shaped like A with 1 at position q (in A's own indexing) and 0 elsewhere."""
    nargs = 2

    def _latex(self, printer):
        a, q = self.args
        where = r"i^{*}" if isinstance(q, ArgMax) else printer._print(q)
        return rf"\mathbf{{e}}_{{{where}}}"


class ArgMax(Node):
    """ArgMax(A): the position (in A's own indexing) of the first maximizer of A."""
    nargs = 1

    def _latex(self, printer):
        return rf"\operatorname{{arg\,max}}_i {printer._print(self.args[0])}_i"


class MaxMask(Node):
    """MaxMask(A): 1 at every maximizer of A, 0 elsewhere."""
    nargs = 1
    numeric = staticmethod(ops.max_mask)

    def _latex(self, printer):
        a = printer._print(self.args[0])
        return rf"\mathbb{{I}}[{a} = \max {a}]"


class MaxOver(Node):
    """MaxOver(body, i, lo, hi): the largest value of body for lo <= i <= hi."""
    nargs = 4

    def _latex(self, printer):
        body, i, lo, hi = self.args
        return rf"\max_{{{printer._print(lo)} \le {printer._print(i)} \le {printer._print(hi)}}} {printer._print(body)}"


class ZeroExtend(Node):
    """ZeroExtend(A): A read as 0 outside its index range (binds a name; printed as its argument)."""
    nargs = 1

    def _latex(self, printer):
        return printer._print(self.args[0])


class Vec(Node):
    """Vec(A): the entries of A in one column, row by row."""
    nargs = 1
    numeric = staticmethod(lambda a: np.asarray(a).reshape(-1))

    def _latex(self, printer):
        return named(printer, "vec", self.args[0])


class MatVec(Node):
    """MatVec(M, v): the matrix-vector product M v."""
    nargs = 2
    infix = True
    numeric = staticmethod(ops.matvec)

    def _latex(self, printer):
        return rf"{operand(printer, self.args[0])} \, {operand(printer, self.args[1])}"


class ConvMatrix(Node):
    """ConvMatrix(W, m, n): the sparse, weight-shared matrix C(W) with vec(X star W) = C(W) vec(X) for X m x n."""
    nargs = 3
    numeric = staticmethod(lambda w, m, n: ops.correlation_matrix(w, ops.as_index(m), ops.as_index(n)))

    def _latex(self, printer):
        return rf"\mathcal{{M}}\!\left({printer._print(self.args[0])}\right)"


class Place(Node):
    """Place(K, i, j, m, n): the m x n zero array with K added at rows i.., columns j.. (the scatter view)."""
    nargs = 5
    numeric = staticmethod(lambda k, i, j, m, n: ops.place(k, *(ops.as_index(q) for q in (i, j, m, n))))

    def _latex(self, printer):
        k, i, j = self.args[:3]
        return rf"\operatorname{{place}}_{{{printer._print(i)},{printer._print(j)}}}\!\left({printer._print(k)}\right)"


class Times(Node):
    """Times(a, b): a product of two numbers written out, as in a sum worked by hand."""
    nargs = 2
    numeric = staticmethod(lambda a, b: ops.combine(a, b, operator.mul))

    def _latex(self, printer):
        return r" \cdot ".join(_signed(printer, q) for q in self.args)


def _signed(printer, expr) -> str:
    text = printer._print(expr)
    return rf"({text})" if text.startswith("-") else text


class SizeOf(Node):
    """SizeOf(A, axis): the number of rows (axis 0) or columns (axis 1) of A."""
    nargs = 2
    numeric = staticmethod(lambda a, axis: int(np.shape(a)[ops.as_index(axis)]))

    def _latex(self, printer):
        what = {0: "rows", 1: "cols"}[int(self.args[1])]
        return rf"\operatorname{{{what}}}\!\left({printer._print(self.args[0])}\right)"


class Entries(Node):
    """Entries(body, j, lo, hi): the vector whose j-th entry is body, for lo <= j <= hi."""
    nargs = 4

    def _latex(self, printer):
        body, index, lo, hi = self.args
        return (rf"\left({printer._print(body)}\right)_{{{printer._print(index)}={printer._print(lo)}}}"
                rf"^{{{printer._print(hi)}}}")


class Patches(Node):
    """Patches(A, p): the p x p windows of an image, row by row (one per output of a valid correlation)."""
    nargs = 2
    numeric = staticmethod(lambda a, p: ops.patches(a, ops.as_index(p)))

    def _latex(self, printer):
        return named(printer, "patches", self.args[0], sub=self.args[1])


class Count(Node):
    """Count(A): the number of entries of A."""
    nargs = 1
    numeric = staticmethod(lambda a: int(np.size(a)))

    def _latex(self, printer):
        return rf"\lvert {printer._print(self.args[0])} \rvert"


class Mean(Node):
    """Mean(A): the mean of the entries of A."""
    nargs = 1
    numeric = staticmethod(lambda a: np.asarray(a).sum() * sp.Rational(1, np.size(a))
                           if np.asarray(a).dtype == object else np.asarray(a).mean())

    def _latex(self, printer):
        return named(printer, "mean", self.args[0])


class Identity(Node):
    """Identity(n): the n x n identity matrix."""
    nargs = 1
    numeric = staticmethod(lambda size: np.eye(ops.as_index(size), dtype=int).astype(object))

    def _latex(self, printer):
        return rf"I_{{{printer._print(self.args[0])}}}"


class SumOver(Node):
    """SumOver(body, k, lo, hi): a sum written without its bounds, as \\sum_k body (bounds kept for evaluation)."""
    nargs = 4

    def _latex(self, printer):
        body, index = self.args[:2]
        text = printer._print(body)
        if isinstance(body, sp.Add):
            text = rf"\left({text}\right)"
        return rf"\sum_{{{printer._print(index)}}} {text}"


class Brackets(Node):
    """Brackets(A): A itself, written in square brackets (as a quoted solution writes it)."""
    nargs = 1
    numeric = staticmethod(lambda a: a)

    def _latex(self, printer):
        return rf"\left[{printer._print(self.args[0])}\right]"


class Subdifferential(Node):
    """Subdifferential(F, V): the generalized (Clarke) gradient of F with respect to V, a convex set."""
    nargs = 2

    def _latex(self, printer):
        # not the partial derivative's symbol: a document gives each symbol one meaning
        return rf"\mathcal{{G}} {printer._print(self.args[0])}\!\left({printer._print(self.args[1])}\right)"


class ConvexHull(Node):
    """ConvexHull(e_i, condition on i, i, lo, hi): the convex hull of the vectors e_i, lo <= i <= hi, that meet it."""
    nargs = 5

    def _latex(self, printer):
        vec, cond = self.args[:2]
        return rf"\operatorname{{hull}}\left\{{ {printer._print(vec)} : {printer._print(cond)} \right\}}"


class Shown(Node):
    """Shown(value, digits, exact): a number as a document shows it, a decimal of at most `digits` decimals.

    Integers print without decimals; a number that is exactly its decimal (exact = 1)
    without trailing zeros; a rounded one with all `digits` decimals.  The value is
    the decimal shown, so a check compares exactly what the reader sees (rounding is
    allowed only where a step says "approx").
    """
    nargs = 3
    numeric = staticmethod(lambda value, digits, exact: value)

    def _latex(self, printer):
        return decimal_text(self.args[0], int(self.args[1]), exact=bool(self.args[2]))


def decimal_text(value, digits: int = 4, exact: bool = False) -> str:
    """The text of a number shown with at most `digits` decimals: integers without decimals, a value
    that those decimals hold exactly (0.5, 1.5, 0.75) as it is, a rounded one with all `digits`."""
    value = sp.Rational(value)
    if value.q == 1:
        return str(int(value))
    text = f"{float(value):.{digits}f}"
    if text.startswith("-") and not text.strip("-0."):
        text = text[1:]          # -0.00001 rounds to 0.0000: a zero has no sign
    return text.rstrip("0") if exact else text


def shown(value, digits: int = 4) -> Shown:
    """The number a document shows for `value`: rounded to `digits` decimals (ties away from zero)."""
    if isinstance(value, (int, np.integer)):
        exact = sp.Integer(int(value))
    elif isinstance(value, (float, np.floating)):
        exact = sp.Rational(float(value))     # the float's exact binary value
    else:
        value = sp.sympify(value)
        exact = value if value.is_Rational else sp.Rational(sp.N(value, 40))
    scaled = exact * 10 ** digits
    rounded = sp.sign(scaled) * sp.floor(abs(scaled) + sp.Rational(1, 2))
    decimal = sp.Rational(rounded, 10 ** digits)
    return Shown(decimal, sp.Integer(digits), sp.Integer(int(decimal == exact)))


# ---- values that are sets ----------------------------------------------------------------
class Hull:
    """A convex set given by its generating points (arrays of one shape), e.g. a generalized gradient."""

    def __init__(self, points):
        self.points = [np.asarray(q) for q in points]
        if not self.points:
            raise ValueError("an empty convex hull")

    def scaled(self, factor) -> Hull:
        return Hull([q * factor for q in self.points])

    def __repr__(self) -> str:
        return "conv{" + ", ".join(str(q.tolist()) for q in self.points) + "}"


# ---- evaluation -------------------------------------------------------------------------
class Env:
    """What the names of a formula stand for at one concrete instance.

    values: name -> int, scalar or array.  offsets: name -> the first index of an
    array (1 for the vectors of a question indexed from 1).  zero_outside: array
    names read as 0 outside their range.  partial: callback (F, V, env) -> value
    for Partial and Subdifferential nodes, given by the operation.  number:
    converts a sympy number into the domain in use (ring element, sympy number
    or float).
    """

    def __init__(self, values: Mapping[str, Any], *, offsets: Mapping[str, int] | None = None,
                 zero_outside: frozenset[str] = frozenset(),
                 partial: Callable[..., Any] | None = None,
                 number: Callable[[sp.Expr], Any] = lambda q: q):
        self.values = dict(values)
        self.offsets = dict(offsets or {})
        self.zero_outside = zero_outside
        self.partial = partial
        self.number = number

    def bind(self, name: str, value: Any) -> None:
        self.values[name] = value

    def offset(self, name: str) -> int:
        return self.offsets.get(name, 0)


def name_of(base) -> str:
    return base.label.name if isinstance(base, sp.IndexedBase) else base.name


_INDEX_NAMES: dict[Any, str] = {}


def _base_name(base) -> str:
    """name_of for the bases of Indexed nodes, remembered: evaluation looks them up very often."""
    name = _INDEX_NAMES.get(base)
    if name is None:
        name = _INDEX_NAMES[base] = name_of(base)
    return name


_RELATIONS = {"<=": operator.le, ">=": operator.ge, "<": operator.lt, ">": operator.gt,
              "==": operator.eq, "!=": operator.ne}


def _evaluate_sum(body, limits, env: Env):
    (index, lo, hi), rest = limits[0], limits[1:]
    lo, hi = ops.as_index(evaluate(lo, env)), ops.as_index(evaluate(hi, env))
    name = index.name
    saved = env.values.get(name)
    result = env.number(sp.Integer(0))
    for q in range(lo, hi + 1):
        env.values[name] = q
        result = ops.combine(result, _evaluate_sum(body, rest, env) if rest else evaluate(body, env), operator.add)
    if saved is None:
        env.values.pop(name, None)
    else:
        env.values[name] = saved
    return result


def _apply(arg, env, numeric, symbolic):
    """A function of one argument: NumPy's for numbers and numeric arrays, sympy's for the exact domains."""
    value = evaluate(arg, env)
    if isinstance(value, np.ndarray):
        return np.vectorize(symbolic, otypes=[object])(value) if value.dtype == object else numeric(value)
    if isinstance(value, (float, complex, np.floating, np.complexfloating)):
        return numeric(value)
    return symbolic(value)


def evaluate(expr, env: Env):
    """The value of `expr` in `env`: a number, an array, a truth value or a Hull."""
    kind = type(expr)
    handler = _HANDLERS.get(kind) or _handler_for(kind)
    return handler(expr, env)


def _handler_for(kind):
    """The handler of the nearest class in the MRO (cached per class, as sympy's printers do)."""
    if issubclass(kind, Node) and kind.numeric is not None:
        numeric = kind.numeric
        _HANDLERS[kind] = lambda expr, env: numeric(*[evaluate(q, env) for q in expr.args])
        return _HANDLERS[kind]
    for cls in kind.__mro__:
        if cls in _HANDLERS:
            _HANDLERS[kind] = _HANDLERS[cls]
            return _HANDLERS[kind]
    raise TypeError(f"cannot evaluate a {kind.__name__}")


def _number(expr, env):
    if expr.is_Integer:
        return int(expr)  # integers index arrays; every number domain accepts Python ints
    return env.number(expr)


def _lookup(expr, env):
    try:
        return env.values[name_of(expr)]
    except KeyError:
        raise KeyError(f"no value for '{name_of(expr)}' in this check") from None


def _indexed(expr, env):
    name = _base_name(expr.base)
    offset = env.offset(name)
    idx = tuple(ops.as_index(evaluate(q, env)) - offset for q in expr.indices)
    array = _lookup(expr.base, env)
    if len(idx) > np.ndim(array):
        raise IndexError(f"{expr} has {len(idx)} indices but {name} has {np.ndim(array)} axes")
    if any(q < 0 or q >= size for q, size in zip(idx, np.shape(array))):
        if name in env.zero_outside:
            return env.number(sp.Integer(0))
        raise IndexError(f"{expr} reads outside the array (index {idx}, shape {np.shape(array)})")
    return array[idx]


def _fold(op):
    """Add and Mul: combine the values of the arguments with op, left to right."""
    def handler(expr, env):
        result = None
        for arg in expr.args:
            value = evaluate(arg, env)
            if isinstance(value, Hull):
                raise TypeError("a set cannot be added or multiplied")
            result = value if result is None else ops.combine(result, value, op)
        return result
    return handler


def _pow(expr, env):
    base = evaluate(expr.base, env)
    exponent = int(expr.exp) if expr.exp.is_Integer else evaluate(expr.exp, env)
    if isinstance(base, int) and isinstance(exponent, int) and exponent < 0:
        return env.number(sp.Rational(1, base ** -exponent))  # keep 1/d exact in the exact domains
    return base ** exponent


def _piecewise(expr, env):
    for value, cond in expr.args:
        if cond is sp.true or evaluate(cond, env):
            return evaluate(value, env)
    raise ValueError(f"no branch of {expr} applies")


def _floor(expr, env):
    """floor of an expression in the sizes: evaluated with exact rationals whatever the domain."""
    exact = Env(env.values, offsets=env.offsets, zero_outside=env.zero_outside, partial=env.partial,
                number=lambda q: q)
    return int(sp.floor(evaluate(expr.args[0], exact)))


def _kronecker(expr, env):
    same = ops.as_index(evaluate(expr.args[0], env)) == ops.as_index(evaluate(expr.args[1], env))
    return env.number(sp.Integer(int(same)))


def _partial(expr, env):
    if env.partial is None:
        raise ValueError("this formula takes a derivative but the check has no operation")
    return env.partial(expr.args[0], expr.args[1], env, False)


def _subdifferential(expr, env):
    if env.partial is None:
        raise ValueError("this formula takes a generalized gradient but the check has no operation")
    return env.partial(expr.args[0], expr.args[1], env, True)


def _max_over(expr, env):
    body, index, lo, hi = expr.args
    best = None
    saved = env.values.get(index.name)
    for q in range(ops.as_index(evaluate(lo, env)), ops.as_index(evaluate(hi, env)) + 1):
        env.values[index.name] = q
        value = evaluate(body, env)
        best = value if best is None or ops.real_part(value) > ops.real_part(best) else best
    if saved is None:
        env.values.pop(index.name, None)
    else:
        env.values[index.name] = saved
    return best


def _array_and_base(arg, env):
    """An array argument and the first index its formulas use (1 for the vectors of T2)."""
    base = env.offset(name_of(arg)) if isinstance(arg, (sp.IndexedBase, sp.Symbol)) else 0
    return np.asarray(evaluate(arg, env)), base


def _one_hot(expr, env):
    a, base = _array_and_base(expr.args[0], env)
    position = ops.as_index(evaluate(expr.args[1], env)) - base
    out = np.zeros(a.shape, dtype=object if a.dtype == object else float)
    out.flat[position] = 1
    return out


def _argmax(expr, env):
    a, base = _array_and_base(expr.args[0], env)
    return ops.first_argmax(a) + base


def _convex_hull(expr, env):
    vec, cond, index, lo, hi = expr.args
    points = []
    saved = env.values.get(index.name)
    for q in range(ops.as_index(evaluate(lo, env)), ops.as_index(evaluate(hi, env)) + 1):
        env.values[index.name] = q
        if evaluate(cond, env):
            points.append(evaluate(vec, env))
    if saved is None:
        env.values.pop(index.name, None)
    else:
        env.values[index.name] = saved
    return Hull(points)


def _entries(expr, env):
    body, index, lo, hi = expr.args
    saved = env.values.get(index.name)
    out = []
    for q in range(ops.as_index(evaluate(lo, env)), ops.as_index(evaluate(hi, env)) + 1):
        env.values[index.name] = q
        out.append(evaluate(body, env))
    if saved is None:
        env.values.pop(index.name, None)
    else:
        env.values[index.name] = saved
    return np.array(out, dtype=object if any(isinstance(q, sp.Basic) or type(q).__module__.startswith("sympy")
                                              for q in out) else None)


def _relation(expr, env):
    left, right = evaluate(expr.lhs, env), evaluate(expr.rhs, env)
    if expr.rel_op in ("==", "!="):
        return _RELATIONS[expr.rel_op](left, right)
    return _RELATIONS[expr.rel_op](ops.real_part(left), ops.real_part(right))


def _matrix(expr, env):
    """A matrix of numbers as displayed (a column stands for a vector: comparisons allow that)."""
    return np.array([[evaluate(entry, env) for entry in row] for row in expr.tolist()], dtype=object)


def _tuple(expr, env):
    return tuple(evaluate(q, env) for q in expr.args)


_HANDLERS: dict[type, Callable] = {
    int: lambda expr, env: expr,
    float: lambda expr, env: expr,
    sp.Number: _number,
    sp.Symbol: _lookup,
    sp.IndexedBase: _lookup,
    sp.Indexed: _indexed,
    sp.Add: _fold(operator.add),
    sp.Mul: _fold(operator.mul),
    sp.Pow: _pow,
    sp.Sum: lambda expr, env: _evaluate_sum(expr.function, list(expr.limits), env),
    sp.Piecewise: _piecewise,
    sp.KroneckerDelta: _kronecker,
    sp.Max: lambda expr, env: ops.extreme([evaluate(q, env) for q in expr.args], largest=True),
    sp.Min: lambda expr, env: ops.extreme([evaluate(q, env) for q in expr.args], largest=False),
    sp.floor: lambda expr, env: _floor(expr, env),
    sp.Rel: _relation,
    sp.And: lambda expr, env: all(evaluate(q, env) for q in expr.args),
    sp.Or: lambda expr, env: any(evaluate(q, env) for q in expr.args),
    type(sp.true): lambda expr, env: True,
    type(sp.false): lambda expr, env: False,
    sp.tanh: lambda expr, env: _apply(expr.args[0], env, np.tanh, sp.tanh),
    sp.exp: lambda expr, env: _apply(expr.args[0], env, np.exp, sp.exp),
    sp.log: lambda expr, env: _apply(expr.args[0], env, np.log, sp.log),
    sp.cosh: lambda expr, env: _apply(expr.args[0], env, np.cosh, sp.cosh),
    sp.MatrixBase: _matrix,
    sp.Tuple: _tuple,
    Partial: _partial,
    Subdifferential: _subdifferential,
    MaxOver: _max_over,
    OneHot: _one_hot,
    ArgMax: _argmax,
    ConvexHull: _convex_hull,
    Entries: _entries,
    SumOver: lambda expr, env: _evaluate_sum(expr.args[0], [tuple(expr.args[1:])], env),
    ZeroExtend: lambda expr, env: evaluate(expr.args[0], env),
}


def to_numpy(expr, arguments: tuple[str, ...], sizes: Callable[..., dict[str, int]],
             offsets: Mapping[str, int] | None = None):
    """Compile an array formula into a NumPy function of the named arguments.

    `sizes` maps the arguments to the sizes the formula mentions (e.g. p from W).
    """
    def function(*values):
        named_values = dict(zip(arguments, values))
        return evaluate(expr, Env({**named_values, **sizes(**named_values)}, offsets=offsets, number=float))
    function.__name__ = "formula"
    function.__doc__ = f"NumPy evaluation of {expr}"
    return function
