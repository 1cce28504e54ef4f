"""The operations of Homework 4 as checkable problems.

A Problem knows its forward operation, the shapes it is checked at, how to
draw inputs, and how to give the names of a formula concrete values (an
`Env`) in exact or float arithmetic, with partial derivatives taken by
differentiating the forward operation itself:
- exact, polynomial problems: every input entry is a generator of a sympy
  polynomial ring, so an equality that holds is a polynomial identity;
- exact, other problems: sympy symbols differentiated by sympy; max pooling is
  taken at a rational point with only the differentiated entry symbolic (Max
  has no derivative at a tie, and all-symbolic Max is slow);
- float64: complex-step derivatives of the same forward code.
"""
from __future__ import annotations

import functools
import itertools
from dataclasses import dataclass, field
from typing import Any, Callable

import numpy as np
import sympy as sp
from sympy.polys.rings import ring

from . import ops
from .symbolic import Env, as_index, evaluate

# Complex step: Im f(x + ih v) / h = f'(x) v up to a relative O(h^2) term and one
# rounding; h this small makes the O(h^2) term vanish below float64 resolution.
COMPLEX_STEP = 1e-30


@dataclass(frozen=True)
class Problem:
    name: str
    question: str
    inputs: tuple[str, ...]            # argument names of the forward, in order
    forward: Callable[..., Any]
    output: str                        # the name of the forward's output in formulas
    dims: Callable[..., dict[str, int]]
    exact_shapes: tuple[tuple[int, ...], ...]
    float_shapes: tuple[tuple[int, ...], ...]
    draw: Callable[[tuple[int, ...], np.random.Generator, bool], dict[str, Any]]
    derived: Callable[[dict[str, Any]], dict[str, Any]] = lambda values: {}
    polynomial: bool = True            # exact checks in a polynomial ring
    smooth: bool = True                # has a complex-step derivative everywhere checked
    affine_in: frozenset[str] = frozenset()
    offsets: dict[str, int] = field(default_factory=dict)
    zero_outside: frozenset[str] = frozenset()
    scalar_delta: bool = False
    params: frozenset[str] = frozenset()   # integer settings (stride, padding): never differentiated
    third_derivative: float = 0.0          # bound on |f'''| of the scalar map, for central differences
    step_shapes: tuple[tuple[int, ...], ...] | None = None  # exact shapes for steps (default: exact_shapes)

    @property
    def arguments(self) -> tuple[str, ...]:
        """The order in which a candidate formula takes its arguments: inputs, delta, settings."""
        return tuple(q for q in self.inputs if q not in self.params) + ("delta",) + \
            tuple(q for q in self.inputs if q in self.params)

    # ---- forward and loss --------------------------------------------------------------
    def run(self, values: dict[str, Any]):
        return self.forward(*[values[q] for q in self.inputs])

    def loss(self, out, delta):
        """L = <delta, f(inputs)>, so that dL/d(output) = delta for any delta."""
        if self.scalar_delta:
            return delta * out
        return (np.asarray(delta) * np.asarray(out)).sum()

    # ---- environments for formulas -----------------------------------------------------
    def float_env(self, values: dict[str, Any]) -> Env:
        values = {q: w if q in self.params else np.asarray(w, dtype=float) if np.ndim(w) else float(w)
                  for q, w in values.items()}
        base = self._names(values)

        @functools.cache
        def partial_at(var, idx):
            bumped = {q: w if q in self.params else np.array(w, dtype=complex) if np.ndim(w) else complex(w)
                      for q, w in values.items()}
            if idx == ():
                bumped[var] = bumped[var] + 1j * COMPLEX_STEP
            else:
                bumped[var][idx] += 1j * COMPLEX_STEP
            out = self.run(bumped)
            return {self.output: np.imag(out) / COMPLEX_STEP,
                    "L": np.imag(self.loss(out, values["delta"])) / COMPLEX_STEP}

        return Env(base, offsets=self.offsets, zero_outside=self.zero_outside,
                   partial=self._partial(partial_at, values, zero=0.0), number=float)

    def exact_env(self, values: dict[str, Any]) -> tuple[Env, Callable[[Any, Any], bool]]:
        """An exact environment at `values` and the equality test for its values.

        Polynomial problems ignore the numbers in `values` (only their shapes
        count): every entry is a free generator.
        """
        if self.polynomial:
            return self._ring_env(values)
        return self._sympy_env(values)

    def _ring_env(self, values):
        names, shapes = [], {}
        for q, w in values.items():
            if q in self.params:
                continue
            shapes[q] = np.shape(w)
            names += [f"{q}_{'_'.join(map(str, ix))}" for ix in np.ndindex(shapes[q])]
        R, *gens = ring(",".join(names), sp.QQ)
        it = iter(gens)
        sym = {q: (np.array([next(it) for _ in range(int(np.prod(shape)))], dtype=object).reshape(shape)
                   if shape else next(it)) for q, shape in shapes.items()}
        sym.update({q: values[q] for q in self.params})
        out = self.run(sym)
        L = self.loss(out, sym["delta"])

        @functools.cache
        def partial_at(var, idx):
            gen = sym[var][idx] if idx != () else sym[var]
            outs = np.asarray(out, dtype=object)
            deriv = np.vectorize(lambda e: R(e).diff(gen), otypes=[object])(outs)
            return {self.output: deriv if np.ndim(out) else deriv[()], "L": R(L).diff(gen)}

        env = Env(self._names(sym), offsets=self.offsets, zero_outside=self.zero_outside,
                  partial=self._partial(partial_at, sym, zero=R(0)), number=lambda q: R(q))
        return env, lambda a, b_: R(a) == R(b_)

    def _sympy_env(self, values):
        """Smooth problems: every entry a symbol, so equalities are identities.  Non-smooth
        ones (max): the rational point `values`, each derivative taken with only the
        differentiated entry symbolic (Max has no derivative at a tie anyway)."""
        g = sp.Symbol("g", real=True)
        if self.smooth:
            point = {q: values[q] if q in self.params else
                     np.array([sp.Symbol(f"{q}_{'_'.join(map(str, ix))}", real=True)
                               for ix in np.ndindex(np.shape(w))], dtype=object).reshape(np.shape(w))
                     if np.ndim(w) else sp.Symbol(q, real=True)
                     for q, w in values.items()}
        else:
            point = {q: values[q] if q in self.params else
                     np.vectorize(sp.Rational, otypes=[object])(np.asarray(w)) if np.ndim(w) else sp.Rational(w)
                     for q, w in values.items()}
            point["delta"] = (np.array([sp.Symbol(f"delta_{'_'.join(map(str, ix))}", real=True)
                                        for ix in np.ndindex(np.shape(values["delta"]))],
                                       dtype=object).reshape(np.shape(values["delta"]))
                              if np.ndim(values["delta"]) else sp.Symbol("delta", real=True))

        @functools.cache
        def partial_at(var, idx):
            mixed = dict(point)
            at = (point[var][idx] if idx != () else point[var])
            if self.smooth:
                gen, sub = at, {}
            else:
                arr = np.array(point[var], dtype=object) if idx != () else None
                if arr is not None:
                    arr[idx] = g
                mixed[var] = arr if arr is not None else g
                gen, sub = g, {g: at}
            out = self.run(mixed)
            L = self.loss(out, mixed["delta"])
            deriv = np.vectorize(lambda e: sp.diff(e, gen).subs(sub), otypes=[object])(np.asarray(out, dtype=object))
            return {self.output: deriv if np.ndim(out) else deriv[()], "L": sp.diff(L, gen).subs(sub)}

        env = Env(self._names(point), offsets=self.offsets, zero_outside=self.zero_outside,
                  partial=self._partial(partial_at, point, zero=sp.Integer(0)), number=lambda q: q)
        return env, _sympy_equal

    def _names(self, values):
        """Inputs, forward output and derived arrays under the names formulas use."""
        out = self.run(values)
        names = dict(values)
        names[self.output] = out
        names.update(self.dims(*[values[q] for q in self.inputs]))
        names.update({q: values[q] for q in self.params})
        names.update(self.derived(values))
        return names

    def _partial(self, partial_at, values, zero):
        """The Partial(F, V) callback: F is L or an output entry; V an input entry or array."""
        def partial(F, V, env):
            var, idx = _target(V, env, self.offsets)
            if idx is None:  # a whole array: the gradient, entry by entry
                arr = values[var]
                grad = np.empty(np.shape(arr), dtype=object)
                for ix in np.ndindex(np.shape(arr)):
                    grad[ix] = partial_at(var, ix)["L" if F == sp.Symbol("L") else self.output]
                return grad.astype(float) if isinstance(zero, float) else grad
            if idx != () and any(q < 0 or q >= size for q, size in zip(idx, np.shape(values[var]))):
                return zero
            table = partial_at(var, idx)
            if isinstance(F, sp.Symbol):
                return table["L"] if F.name == "L" else table[self.output]
            fvar, fidx = _target(F, env, self.offsets)
            return table[self.output][fidx]
        return partial


def _sympy_equal(a, b_) -> bool:
    difference = sp.expand(sp.sympify(a) - sp.sympify(b_))
    return difference == 0 or sp.simplify(difference) == 0


def _target(V, env, offsets):
    """(name, index tuple) of an entry, (name, ()) of a scalar, (name, None) of an array."""
    if isinstance(V, sp.Indexed):
        name = V.base.label.name
        return name, tuple(as_index(evaluate(q, env)) - offsets.get(name, 0) for q in V.indices)
    if isinstance(V, sp.IndexedBase):
        return V.label.name, None
    return V.name, ()


# ---- drawing inputs ---------------------------------------------------------------------------
def _ints(rng, shape, lo=-3, hi=3, nonzero=False):
    values = rng.integers(lo, hi + 1, size=shape).astype(float)
    if nonzero:
        values[values == 0] = 1.0
    return values


def _draw_conv(shape, rng, exact):
    m_, n_, p_ = shape
    out = (m_ - p_ + 1, n_ - p_ + 1)
    if exact:
        return {"X": _ints(rng, (m_, n_)), "W": _ints(rng, (p_, p_), nonzero=True),
                "b": float(rng.integers(-3, 4)), "delta": _ints(rng, out, nonzero=True)}
    return {"X": rng.standard_normal((m_, n_)), "W": rng.standard_normal((p_, p_)),
            "b": float(rng.standard_normal()), "delta": rng.standard_normal(out)}


def _draw_vector(shape, rng, exact, scalar_delta):
    (d_,) = shape
    if exact:
        # distinct integers, so that max pooling has one maximiser
        x_ = rng.permutation(np.arange(-d_, d_ + 1))[:d_].astype(float)
        delta_ = float(rng.choice([-3, -2, -1, 1, 2, 3])) if scalar_delta else _ints(rng, (d_,), nonzero=True)
        return {"x": x_, "delta": delta_}
    x_ = rng.standard_normal(d_)
    return {"x": x_, "delta": float(rng.standard_normal()) if scalar_delta else rng.standard_normal(d_)}


def _conv_derived(values):
    p_ = np.shape(values["W"])[0]
    return {"deltaext": values["delta"], "deltapad": ops.pad(values["delta"], p_ - 1),
            "Wrot": ops.rot180(values["W"])}


def _conv_dims(X, W, b):
    return {"m": X.shape[0], "n": X.shape[1], "p": W.shape[0]}


def _vector_dims(x):
    return {"d": np.shape(x)[0]}


CONV = Problem(
    name="t1", question="T1", inputs=("X", "W", "b"), forward=ops.conv2d, output="Y",
    dims=_conv_dims,
    # non-square, p = 1, p = m, p = n, a 1x1 output
    exact_shapes=((2, 2, 1), (2, 3, 2), (3, 2, 2), (3, 3, 3), (3, 4, 2), (4, 3, 1), (4, 5, 3)),
    float_shapes=((5, 7, 3), (8, 8, 8), (16, 11, 4), (33, 20, 5), (64, 64, 3)),
    # steps must hold symbolically on: p = m = n, p = 1 with m > n, and n > m with interior
    # pixels that p^2 outputs see (3 x 4 image, 2 x 2 kernel)
    step_shapes=((3, 3, 3), (4, 3, 1), (3, 4, 2)),
    draw=_draw_conv, derived=_conv_derived, affine_in=frozenset({"X", "W", "b"}),
    zero_outside=frozenset({"deltaext"}))

TANH = Problem(
    name="t2.tanh", question="T2", inputs=("x",), forward=ops.tanh, output="z",
    dims=_vector_dims, exact_shapes=((1,), (2,), (3,), (4,)),
    float_shapes=((5,), (16,), (100,), (4096,)),
    draw=lambda shape, rng, exact: _draw_vector(shape, rng, exact, False),
    polynomial=False, offsets={"x": 1, "z": 1, "delta": 1}, third_derivative=2.0)

MAXPOOL = Problem(
    name="t2.maxpool", question="T2", inputs=("x",), forward=ops.maxpool, output="f",
    dims=_vector_dims, exact_shapes=((1,), (2,), (3,), (5,)),
    float_shapes=((5,), (16,), (100,), (4096,)),
    draw=lambda shape, rng, exact: _draw_vector(shape, rng, exact, True),
    derived=lambda values: {"istar": int(np.argmax(np.asarray(values["x"]))) + 1},
    polynomial=False, smooth=False, offsets={"x": 1}, scalar_delta=True)

AVGPOOL = Problem(
    name="t2.avgpool", question="T2", inputs=("x",), forward=ops.avgpool, output="f",
    dims=_vector_dims, exact_shapes=((1,), (2,), (3,), (5,)),
    float_shapes=((5,), (16,), (100,), (4096,)),
    draw=lambda shape, rng, exact: _draw_vector(shape, rng, exact, True),
    affine_in=frozenset({"x"}), offsets={"x": 1}, scalar_delta=True)


def _draw_general(shape, rng, exact):
    m_, n_, p_, s_, P_ = shape
    rows = (m_ + 2 * P_ - p_) // s_ + 1
    cols = (n_ + 2 * P_ - p_) // s_ + 1
    gen = (lambda sh: _ints(rng, sh)) if exact else rng.standard_normal
    nz = (lambda sh: _ints(rng, sh, nonzero=True)) if exact else rng.standard_normal
    return {"X": gen((m_, n_)), "W": nz((p_, p_)), "b": float(gen(())),
            "delta": nz((rows, cols)), "s": s_, "P": P_}


STRIDED = Problem(
    name="t1.strided", question="T1", inputs=("X", "W", "b", "s", "P"),
    forward=ops.conv2d_general, output="Y",
    dims=lambda X, W, b, s, P: {"m": X.shape[0], "n": X.shape[1], "p": W.shape[0]},
    # (m, n, p, stride, padding); strides that do and do not divide m + 2P - p
    exact_shapes=((3, 3, 2, 1, 1), (4, 5, 2, 2, 0), (5, 4, 3, 2, 1), (5, 6, 2, 3, 1)),
    float_shapes=((9, 8, 3, 2, 1), (17, 13, 4, 3, 2), (32, 32, 5, 2, 2)),
    draw=_draw_general, affine_in=frozenset({"X", "W", "b"}), params=frozenset({"s", "P"}))


def _draw_batch(shape, rng, exact):
    N_, C_, K_, m_, n_, p_ = shape
    out = (N_, K_, m_ - p_ + 1, n_ - p_ + 1)
    gen = (lambda sh: _ints(rng, sh)) if exact else rng.standard_normal
    nz = (lambda sh: _ints(rng, sh, nonzero=True)) if exact else rng.standard_normal
    return {"X": gen((N_, C_, m_, n_)), "W": nz((K_, C_, p_, p_)), "b": gen((K_,)), "delta": nz(out)}


BATCH = Problem(
    name="t1.batch", question="T1", inputs=("X", "W", "b"), forward=ops.conv2d_batch, output="Y",
    dims=lambda X, W, b: {"N": X.shape[0], "C": X.shape[1], "K": W.shape[0], "p": W.shape[-1]},
    # (N, C, K, m, n, p)
    exact_shapes=((1, 2, 1, 2, 3, 2), (2, 1, 2, 3, 3, 2), (2, 2, 3, 3, 2, 1)),
    float_shapes=((2, 3, 4, 8, 7, 3), (4, 3, 8, 16, 16, 3)),
    draw=_draw_batch, affine_in=frozenset({"X", "W", "b"}))


def cases(problem: Problem, exact: bool, seed: int = 0, steps: bool = False):
    """Deterministic inputs at every checked shape, smallest first."""
    shapes = problem.exact_shapes if exact else problem.float_shapes
    if steps and exact and problem.step_shapes is not None:
        shapes = problem.step_shapes
    for number, shape in enumerate(sorted(shapes, key=lambda sh: (int(np.prod(sh)), sh))):
        rng = np.random.default_rng([seed, number, int(exact), len(problem.name)])
        yield shape, problem.draw(shape, rng, exact)


def index_tuples(ranges, limit=None, rng=None):
    """All tuples of a product of integer ranges, or a sample that keeps every corner."""
    spaces = [range(lo, hi + 1) for lo, hi in ranges]
    total = int(np.prod([len(q) for q in spaces])) if spaces else 1
    if limit is None or total <= limit:
        return list(itertools.product(*spaces))
    corners = list(itertools.product(*[(q[0], q[-1]) for q in spaces]))
    picks = [tuple(int(rng.integers(q.start, q.stop)) for q in spaces) for _ in range(limit)]
    return list(dict.fromkeys(corners + picks))
