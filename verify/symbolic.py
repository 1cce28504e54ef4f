"""The symbolic vocabulary of the key, and the one evaluator that gives it meaning.

A formula is a sympy expression built from the symbols and node classes below.
The same expression is typeset in the key (see `solutions.notation`) and
evaluated here, at concrete instances, so the formula a student reads is the
formula that was checked.  `evaluate` works in three number domains chosen by
the environment: polynomial-ring or sympy elements (exact) and floats.
"""
from __future__ import annotations

import operator
from typing import Any, Callable, Mapping

import numpy as np
import sympy as sp

from . import ops

# ---- symbols ----------------------------------------------------------------------------
_int = dict(integer=True)
m, n, p, d = sp.symbols("m n p d", integer=True, positive=True)
s, P = sp.symbols("s P", integer=True, positive=True)  # stride and zero padding (remarks)
i, j, k, l, u, v, a, c = sp.symbols("i j k l u v a c", **_int)
istar = sp.Symbol("istar", integer=True)  # the maximiser in max pooling
N, C, K = sp.symbols("N C K", integer=True, positive=True)  # batch, channels, filters (remarks)
q = sp.Symbol("q", integer=True)                            # the filter index (remarks)

X = sp.IndexedBase("X")
W = sp.IndexedBase("W")
Y = sp.IndexedBase("Y")
delta = sp.IndexedBase("delta", shape=(m - p + 1, n - p + 1))  # T1: dL/dY, a matrix
delta_v = sp.IndexedBase("delta", shape=(d,))                   # T2 tanh: dL/dz, a vector
delta_ext = sp.IndexedBase("deltaext")   # delta extended by zeros outside its range
delta_pad = sp.IndexedBase("deltapad")   # delta padded by p-1 zeros on every side
W_rot = sp.IndexedBase("Wrot")           # the kernel turned by 180 degrees
x = sp.IndexedBase("x")
z = sp.IndexedBase("z")
b = sp.Symbol("b")
b_vec = sp.IndexedBase("b")              # one bias per filter (remarks)
L = sp.Symbol("L")
f = sp.Symbol("f")
delta_s = sp.Symbol("delta")             # the scalar dL/df of the pooling questions
t = sp.Symbol("t", real=True)            # a real variable for one-variable identities


def product(*factors):
    """A product in the order written: sympy would sort the factors (and the key would print them so)."""
    return sp.Mul(*factors, evaluate=False)


# ---- node classes -----------------------------------------------------------------------
class Node(sp.Function):
    """A named operation: printed by the house printer, evaluated by `evaluate`."""
    is_commutative = True

    @classmethod
    def eval(cls, *args):
        return None  # never auto-simplify: the printed form must stay as written


class Partial(Node):
    """Partial(F, V): the partial derivative dF/dV (V an entry, a scalar or a whole array)."""
    nargs = 2


class Correlate(Node):
    """Valid cross-correlation of two arrays (the star of deep learning)."""
    nargs = 2


class Pad(Node):
    """Pad(A, w): A with w zero rows and columns on every side."""
    nargs = 2


class Rot180(Node):
    nargs = 1


class Dilate(Node):
    """Dilate(A, s): s-1 zeros inserted between neighbouring entries."""
    nargs = 2


class Fit(Node):
    """Fit(A, r, c): A cropped, or zero-extended at the bottom/right, to r x c."""
    nargs = 3


class Crop(Node):
    """Crop(A, w): A without its outer w rows and columns on every side (undoes Pad)."""
    nargs = 2


class SwapAxes(Node):
    """SwapAxes(A): the first two axes exchanged (samples and channels, filters and channels)."""
    nargs = 1


class BatchCorrelate(Node):
    """BatchCorrelate(A, B)[a, q] = sum_c A[a, c] star B[q, c]: the batched forward without bias."""
    nargs = 2


class SumAxes(Node):
    """SumAxes(A, 1): the sum over every axis of A except axis 1."""
    nargs = 2


class Subsample(Node):
    """Subsample(A, s): every s-th row and column, starting with the first."""
    nargs = 2


class Hadamard(Node):
    """The elementwise product of two arrays of one shape."""
    nargs = 2


class Ones(Node):
    """Ones(A): the all-ones array shaped like A."""
    nargs = 1


class OneHot(Node):
    """OneHot(A, q): the array shaped like A with 1 at flat position q (0-based) and 0 elsewhere."""
    nargs = 2


class ArgMax(Node):
    """ArgMax(A): the position (0-based) of the first maximiser of A."""
    nargs = 1


class SumAll(Node):
    """The sum of every entry of an array."""
    nargs = 1


class MaxOver(Node):
    """MaxOver(body, i, lo, hi): the largest value of body for lo <= i <= hi."""
    nargs = 4


class Transposed(Node):
    nargs = 1


class MaxMask(Node):
    """MaxMask(A): 1 at every maximiser of A, 0 elsewhere."""
    nargs = 1


class Subdifferential(Node):
    """Subdifferential(f, x): the set of subgradients of f at x (printed only; checked by a claim)."""
    nargs = 2


class ConvexHull(Node):
    """ConvexHull(e_i, condition on i): the convex hull of the vectors e_i that satisfy it (printed only)."""
    nargs = 2


class Iverson(Node):
    """Iverson(condition): 1 where the condition holds, else 0."""
    nargs = 1


# ---- evaluation -------------------------------------------------------------------------
class Env:
    """What the names of a formula stand for at one concrete instance.

    values: name -> int, scalar or array.  offsets: name -> first index of an
    array (1 for the 1-based vectors of T2).  zero_outside: array names read as
    0 outside their range.  partial: callback (F, V) -> value for Partial
    nodes, given by the problem model.  number: converts a sympy number into the
    domain in use (ring element, sympy number or float).
    """

    def __init__(self, values: Mapping[str, Any], *, offsets: Mapping[str, int] | None = None,
                 zero_outside: frozenset[str] = frozenset(),
                 partial: Callable[[sp.Expr, sp.Expr, "Env"], Any] | None = None,
                 number: Callable[[sp.Expr], Any] = lambda q: q):
        self.values = dict(values)
        self.offsets = dict(offsets or {})
        self.zero_outside = zero_outside
        self.partial = partial
        self.number = number

    def bind(self, name: str, value: Any) -> None:
        self.values[name] = value


def _name(base) -> str:
    return base.label.name if isinstance(base, sp.IndexedBase) else base.name


def as_index(value) -> int:
    if isinstance(value, (int, np.integer)):
        return int(value)
    if isinstance(value, sp.Integer):
        return int(value)
    raise TypeError(f"an index evaluated to a non-integer: {value!r}")


# Conditions compare integers: Python's operators, not sympy relationals (far slower).
_RELATIONS = {"<=": operator.le, ">=": operator.ge, "<": operator.lt, ">": operator.gt,
              "==": operator.eq, "!=": operator.ne}


def _combine(left, right, op):
    """op(left, right), letting the array lead: ring elements do not broadcast over arrays."""
    if isinstance(right, np.ndarray) and not isinstance(left, np.ndarray):
        return op(right, left)  # + and * are commutative in every domain used here
    return op(left, right)


def _evaluate_sum(body, limits, env: Env):
    (index, lo, hi), rest = limits[0], limits[1:]
    lo, hi = as_index(evaluate(lo, env)), as_index(evaluate(hi, env))
    name = index.name
    saved = env.values.get(name)
    total = env.number(sp.Integer(0))
    for q in range(lo, hi + 1):
        env.values[name] = q
        total = _combine(total, _evaluate_sum(body, rest, env) if rest else evaluate(body, env),
                         lambda p_, q_: p_ + q_)
    if saved is None:
        env.values.pop(name, None)
    else:
        env.values[name] = saved
    return total


def _apply(arg, env, numeric, symbolic):
    """A function of one argument: NumPy's for numbers and numeric arrays, sympy's for the exact domains."""
    value = evaluate(arg, env)
    if isinstance(value, np.ndarray):
        return np.vectorize(symbolic, otypes=[object])(value) if value.dtype == object else numeric(value)
    if isinstance(value, (float, complex, np.floating, np.complexfloating)):
        return numeric(value)
    return symbolic(value)


def _ones(a):
    a = np.asarray(a)
    return np.ones(a.shape, dtype=object if a.dtype == object else float)


def _one_hot(a, q):
    a = np.asarray(a)
    out = np.zeros(a.shape, dtype=object if a.dtype == object else float)
    out.flat[as_index(q)] = 1
    return out


def _argmax(a):
    a = np.asarray(a)
    if a.dtype == object:
        return int(np.argmax(np.array([float(sp.re(q)) for q in a.ravel()])))
    return int(np.argmax(np.real(a)))


_ARRAY_NODES: dict[type, Callable] = {
    Correlate: ops.correlate_valid,
    Pad: lambda a, w: ops.pad(a, as_index(w)),
    Rot180: ops.rot180,
    Dilate: lambda a, st: ops.dilate(a, as_index(st)),
    Fit: lambda a, r, c_: ops.fit(a, as_index(r), as_index(c_)),
    Subsample: lambda a, st: np.asarray(a)[::as_index(st), ::as_index(st)],
    Crop: lambda a, w: np.asarray(a)[as_index(w):np.shape(a)[0] - as_index(w),
                                     as_index(w):np.shape(a)[1] - as_index(w)],
    SwapAxes: lambda a: np.swapaxes(np.asarray(a), 0, 1),
    Transposed: lambda a: np.asarray(a).T,
    MaxMask: lambda a: (np.asarray(a) == np.max(a)).astype(float),
    BatchCorrelate: lambda a, b_: ops.conv2d_batch(a, b_, np.zeros(np.shape(b_)[0])),
    SumAxes: lambda a, keep: np.asarray(a).sum(axis=tuple(q for q in range(np.ndim(a)) if q != as_index(keep))),
    Hadamard: lambda a, b_: a * b_,
    Ones: _ones,
    OneHot: _one_hot,
    ArgMax: _argmax,
    SumAll: lambda a: np.asarray(a).sum(),
}


def evaluate(expr, env: Env):
    """The value of `expr` in `env` (a scalar, an array or a truth value)."""
    kind = type(expr)
    handler = _HANDLERS.get(kind)
    if handler is None:
        handler = _handler_for(kind)
    return handler(expr, env)


def _handler_for(kind):
    """The handler of the nearest class in the MRO (cached per class, as sympy's printers do)."""
    for cls in kind.__mro__:
        if cls in _HANDLERS:
            _HANDLERS[kind] = _HANDLERS[cls]
            return _HANDLERS[kind]
    if kind in _ARRAY_NODES:
        array_op = _ARRAY_NODES[kind]
        _HANDLERS[kind] = lambda expr, env: array_op(*[evaluate(q, env) for q in expr.args])
        return _HANDLERS[kind]
    raise TypeError(f"cannot evaluate a {kind.__name__}")


def _number(expr, env):
    if expr.is_Integer:
        return int(expr)  # integers index arrays; every number domain accepts Python ints
    return env.number(expr)


def _lookup(expr, env):
    try:
        return env.values[_name(expr)]
    except KeyError:
        raise KeyError(f"no value for '{_name(expr)}' in this check") from None


def _indexed(expr, env):
    name = _name(expr.base)
    offset = env.offsets.get(name, 0)
    idx = tuple(as_index(evaluate(q, env)) - offset for q in expr.indices)
    array = env.values[name]
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
            result = value if result is None else _combine(result, value, op)
        return result
    return handler


def _pow(expr, env):
    base = evaluate(expr.base, env)
    exponent = int(expr.exp) if expr.exp.is_Integer else evaluate(expr.exp, env)
    if isinstance(base, int) and isinstance(exponent, int) and exponent < 0:
        return env.number(sp.Rational(1, base ** -exponent))  # keep 1/d exact
    return base ** exponent


def _piecewise(expr, env):
    for value, cond in expr.args:
        if cond is sp.true or evaluate(cond, env):
            return evaluate(value, env)
    raise ValueError(f"no branch of {expr} applies")


def _kronecker(expr, env):
    same = as_index(evaluate(expr.args[0], env)) == as_index(evaluate(expr.args[1], env))
    return env.number(sp.Integer(int(same)))


def _partial(expr, env):
    if env.partial is None:
        raise ValueError("this formula takes a derivative but the check has no model")
    return env.partial(expr.args[0], expr.args[1], env)


def _max_over(expr, env):
    body, index, lo, hi = expr.args
    best = None
    for q in range(as_index(evaluate(lo, env)), as_index(evaluate(hi, env)) + 1):
        env.values[index.name] = q
        value = evaluate(body, env)
        best = value if best is None or value > best else best
    env.values.pop(index.name, None)
    return best


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
    sp.Max: lambda expr, env: max(as_index(evaluate(q, env)) for q in expr.args),
    sp.Min: lambda expr, env: min(as_index(evaluate(q, env)) for q in expr.args),
    sp.Rel: lambda expr, env: _RELATIONS[expr.rel_op](evaluate(expr.lhs, env), evaluate(expr.rhs, env)),
    sp.And: lambda expr, env: all(evaluate(q, env) for q in expr.args),
    sp.Or: lambda expr, env: any(evaluate(q, env) for q in expr.args),
    type(sp.true): lambda expr, env: True,
    sp.tanh: lambda expr, env: _apply(expr.args[0], env, np.tanh, sp.tanh),
    sp.exp: lambda expr, env: _apply(expr.args[0], env, np.exp, sp.exp),
    Partial: _partial,
    MaxOver: _max_over,
    Iverson: lambda expr, env: env.number(sp.Integer(int(bool(evaluate(expr.args[0], env))))),
}


def to_numpy(expr, args: tuple[str, ...], dims: Callable[..., dict[str, int]]):
    """Compile an array formula into a NumPy function of the named arrays.

    `dims` maps the arguments to the sizes the formula mentions (e.g. p from W).
    """
    def function(*values):
        named = dict(zip(args, values))
        return evaluate(expr, Env({**named, **dims(**named)}, number=float))
    function.__name__ = "formula"
    function.__doc__ = f"NumPy evaluation of {expr}"
    return function
