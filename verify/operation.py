"""Forward operations, and the number domains in which their formulas are evaluated.

An Operation is the forward pass of a question: NumPy code written once (with
`verify.ops` for comparisons and tanh) that runs on floats, complex numbers
and sympy values.  Everything the checks need is derived from it:

- its kind, by running it on sympy symbols at a small size: polynomial (exact
  checks in a polynomial ring), affine in an input (the adjoint test),
  piecewise (Max, Min or Abs appear: generalized gradients at the kinks),
  otherwise analytic (complex-step derivatives);
- its output shape, and so the shape of delta = dL/d(output);
- environments (`verify.symbolic.Env`) in which formulas are evaluated, with
  Partial nodes taken as derivatives of the forward operation itself:
  exactly (ring generators or sympy symbols, or a rational point) or in
  float64 by complex steps.

Every check uses the loss L = <delta, f(inputs)>, whose gradient with respect
to the output is exactly delta.
"""
from __future__ import annotations

import functools
from collections.abc import Callable, Mapping
from dataclasses import dataclass, field
from typing import Any

import numpy as np
import sympy as sp
from sympy.polys.rings import ring

from . import kinks
from .symbolic import Env, Hull, ZeroExtend, evaluate, name_of

# Complex step: Im f(x + ih v) / h = f'(x) v up to a relative O(h^2) term and one
# rounding; h this small makes the O(h^2) term vanish below float64 resolution.
COMPLEX_STEP = 1e-30

Sizes = Mapping[str, int]


@dataclass(frozen=True)
class OperationKind:
    """What the forward operation is, as found by running it on symbols (not a step's Kind, verify.steps)."""
    polynomial: bool
    affine_in: frozenset[str]
    piecewise: bool


@dataclass(frozen=True, eq=False)
class Operation:
    """A forward operation and the sizes it is checked at.

    name: a short id (used in reports and cache keys).
    forward: the NumPy function; it is called with the arguments in `arguments` order.
    arguments: names of the forward's arguments: the differentiable inputs listed in
        `inputs`, and integer settings (stride, padding) taken from the sizes by name.
    inputs: input name -> shape, a tuple of size symbols (the symbols of the formulas).
    output: the name of the forward's output in formulas (Y, z, f).
    exact_sizes / float_sizes: the sizes of exact and float64 checks, small to large.
    size_ranges: size name -> (lowest, highest), for a random size drawn by a fresh seed.
    allowed: which sizes make sense (e.g. p <= m); a predicate on a sizes dict.
    index_base: the first index of the arrays in formulas (0, or 1 as in T2).
    names: notation defined from the inputs (a padded delta, a turned kernel), evaluated
        wherever a formula uses it.
    """
    name: str
    forward: Callable[..., Any]
    arguments: tuple[str, ...]
    inputs: Mapping[str, tuple]
    output: str
    exact_sizes: tuple[Sizes, ...]
    float_sizes: tuple[Sizes, ...]
    size_ranges: Mapping[str, tuple[int, int]]
    allowed: Callable[[Sizes], bool] = lambda sizes: True
    index_base: int = 0
    names: Mapping[Any, Any] = field(default_factory=dict)

    def __post_init__(self):
        unknown = [a for a in self.inputs if a not in self.arguments]
        if unknown:
            raise ValueError(f"operation {self.name}: inputs {unknown} are not arguments of its forward")

    def __repr__(self) -> str:
        return f"Operation({self.name})"

    # ---- arguments and sizes ---------------------------------------------------------------
    @property
    def settings(self) -> tuple[str, ...]:
        return tuple(a for a in self.arguments if a not in self.inputs)

    @property
    def candidate_arguments(self) -> tuple[str, ...]:
        """How a gradient formula takes its arguments: the inputs, delta, then the settings."""
        return tuple(a for a in self.arguments if a in self.inputs) + ("delta",) + self.settings

    def signature(self, wrt: str) -> str:
        shape = "a scalar" if not self.inputs[wrt] else f"an array shaped like {wrt}"
        delta = "a scalar" if self.scalar_output else f"shaped like {self.output}"
        return f"f({', '.join(self.candidate_arguments)}) -> {shape} (delta {delta})"

    def shape_of(self, name: str, sizes: Sizes) -> tuple[int, ...]:
        shape = [sp.sympify(dim) for dim in self.inputs[name]]
        subs = {s: sizes[s.name] for dim in shape for s in dim.free_symbols}
        return tuple(int(dim.xreplace(subs)) for dim in shape)

    def sizes_of(self, values: Mapping[str, Any]) -> dict[str, int]:
        """The sizes (m, n, p, ...) read off the shapes of the inputs, and the settings."""
        sizes: dict[str, int] = {}
        for name, shape in self.inputs.items():
            for dim, actual in zip(shape, np.shape(values[name])):
                if isinstance(dim, sp.Symbol):
                    sizes[dim.name] = int(actual)
        for name in self.settings:
            if name in values:
                sizes[name] = int(values[name])
        return sizes

    def run(self, values: Mapping[str, Any]):
        return self.forward(*[values[a] for a in self.arguments])

    def loss(self, out, delta):
        """L = <delta, f(inputs)>, so that dL/d(output) = delta for any delta."""
        if np.ndim(out) == 0:
            return delta * out
        return (np.asarray(delta) * np.asarray(out)).sum()

    @functools.cached_property
    def scalar_output(self) -> bool:
        smallest = self.exact_sizes[0]
        return np.ndim(self.run(self.zeros(smallest))) == 0

    def output_shape(self, sizes: Sizes) -> tuple[int, ...]:
        return np.shape(self.run(self.zeros(sizes)))

    def zeros(self, sizes: Sizes) -> dict[str, Any]:
        values: dict[str, Any] = {name: np.zeros(self.shape_of(name, sizes)) if self.inputs[name] else 0.0
                                  for name in self.inputs}
        values.update({name: int(sizes[name]) for name in self.settings})
        return values

    def domain_failures(self) -> list[tuple[str, str]]:
        """(domain, reason) for each number domain the forward operation cannot run in (none, normally)."""
        sizes = self.exact_sizes[0]
        rng = np.random.default_rng(0)
        floats = {name: rng.standard_normal(self.shape_of(name, sizes)) if self.inputs[name] else 0.5
                  for name in self.inputs}
        floats.update({name: int(sizes[name]) for name in self.settings})
        complexes = {name: (np.asarray(v) + 1e-30j if name in self.inputs else v) for name, v in floats.items()}
        failures = []
        for domain, values in (("float64 arrays", floats), ("complex arrays (complex steps)", complexes)):
            try:
                out = np.asarray(self.run(values))
                if domain.startswith("complex") and not np.iscomplexobj(out):
                    failures.append((domain, "the output is real: the imaginary part of the input was dropped"))
            except Exception as exc:  # noqa: BLE001 - the reason is the report
                failures.append((domain, f"{type(exc).__name__}: {exc}"))
        try:
            self.kind  # noqa: B018 - runs the forward operation on sympy symbols
        except Exception as exc:  # noqa: BLE001
            failures.append(("sympy values (exact checks)", f"{type(exc).__name__}: {exc}"))
        return failures

    # ---- what kind of operation this is -------------------------------------------------------
    @functools.cached_property
    def symbolic(self) -> tuple[dict[str, Any], Any]:
        """The inputs as arrays of sympy symbols at the largest exact size, and the output there.

        The largest: at the smallest sizes an operation can degenerate (the max of one number).
        """
        return self.symbolic_at(max(self.exact_sizes, key=lambda s: sum(
            int(np.prod(self.shape_of(name, s))) for name in self.inputs)))

    def symbolic_at(self, sizes: Sizes) -> tuple[dict[str, Any], Any]:
        values: dict[str, Any] = {}
        for name in self.inputs:
            shape = self.shape_of(name, sizes)
            values[name] = (np.array([sp.Symbol(f"{name}_{'_'.join(map(str, ix))}", real=True)
                                      for ix in np.ndindex(shape)], dtype=object).reshape(shape)
                            if shape else sp.Symbol(name, real=True))
        values.update({name: int(sizes[name]) for name in self.settings})
        return values, self.run(values)

    @functools.cached_property
    def kind(self) -> OperationKind:
        values, out = self.symbolic
        entries = [sp.sympify(q) for q in np.asarray(out, dtype=object).ravel()]
        symbols = {name: list(np.asarray(values[name], dtype=object).ravel()) for name in self.inputs}
        everything = [s for group in symbols.values() for s in group]
        piecewise = any(e.has(*kinks.ATOMS) for e in entries)
        polynomial = not piecewise and all(e.is_polynomial(*everything) for e in entries)
        affine = set()
        for name, group in symbols.items():
            if all(e.is_polynomial(*group) and sp.Poly(e, *group).total_degree() <= 1 for e in entries
                   if not e.has(*kinks.ATOMS)) and not piecewise:
                affine.add(name)
        return OperationKind(polynomial, frozenset(affine), piecewise)

    # ---- the names of formulas ---------------------------------------------------------------------
    def offsets(self, base: int | None = None) -> dict[str, int]:
        first = self.index_base if base is None else base
        names = [*self.inputs, self.output, "delta", *(name_of(k) for k in self.names)]
        return {name: first for name in names}

    def bind(self, values: Mapping[str, Any], env: Env) -> None:
        """Inputs, output, sizes and the notation of `names`, under the names formulas use."""
        env.values.update(values)
        env.values[self.output] = self.run(values)
        env.values.update(self.sizes_of(values))
        zero_outside = set(env.zero_outside)
        for key, definition in self.names.items():
            env.values[name_of(key)] = evaluate(definition, env)
            if isinstance(definition, ZeroExtend):
                zero_outside.add(name_of(key))
        env.zero_outside = frozenset(zero_outside)

    # ---- environments -----------------------------------------------------------------------------
    def float_env(self, values: Mapping[str, Any], base: int | None = None) -> Env:
        """Float64 values; Partial nodes by complex steps through the forward operation."""
        values = {q: w if q in self.settings else np.asarray(w, dtype=float) if np.ndim(w) else float(w)
                  for q, w in values.items()}

        @functools.cache
        def partial_at(var, idx):
            bumped: dict[str, Any] = {q: w if q in self.settings else np.array(w, dtype=complex) if np.ndim(w)
                                      else complex(w) for q, w in values.items()}
            if idx == ():
                bumped[var] = bumped[var] + 1j * COMPLEX_STEP
            else:
                bumped[var][idx] += 1j * COMPLEX_STEP
            out = self.run(bumped)
            return {self.output: np.imag(out) / COMPLEX_STEP,
                    "L": np.imag(self.loss(out, values["delta"])) / COMPLEX_STEP}

        env = Env({}, offsets=self.offsets(base), number=float)
        env.partial = self._partial(partial_at, values, 0.0, lambda F, var: None)
        self.bind(values, env)
        return env

    def exact_env(self, values: Mapping[str, Any], base: int | None = None) -> tuple[Env, Callable[[Any, Any], bool]]:
        """An exact environment for checking an equality for all values of the inputs.

        Polynomial operations: every entry is a ring generator (the numbers in
        `values` only give the shapes), so an equality that holds is a
        polynomial identity.  Analytic ones: every entry a sympy symbol.
        Piecewise ones: the rational point `values` itself (it must not be a kink).
        """
        if self.kind.polynomial:
            return self._ring_env(values, base)
        if not self.kind.piecewise:
            return self._symbol_env(values, base)
        return self.point_env(values, base), _sympy_equal

    def _ring_env(self, values, base):
        names, shapes = [], {}
        for q, w in values.items():
            if q in self.settings:
                continue
            shapes[q] = np.shape(w)
            names += [f"{q}_{'_'.join(map(str, ix))}" for ix in np.ndindex(shapes[q])]
        R, *gens = ring(",".join(names), sp.QQ)
        it = iter(gens)
        sym = {q: (np.array([next(it) for _ in range(int(np.prod(shape)))], dtype=object).reshape(shape)
                   if shape else next(it)) for q, shape in shapes.items()}
        sym.update({q: values[q] for q in self.settings})
        out = self.run(sym)
        L = self.loss(out, sym["delta"])

        @functools.cache
        def partial_at(var, idx):
            gen = sym[var][idx] if idx != () else sym[var]
            outs = np.asarray(out, dtype=object)
            deriv = np.vectorize(lambda e: R(e).diff(gen), otypes=[object])(outs)
            return {self.output: deriv if np.ndim(out) else deriv[()], "L": R(L).diff(gen)}

        env = Env({}, offsets=self.offsets(base), number=lambda q: R(q))
        env.partial = self._partial(partial_at, sym, R(0), lambda F, var: None)
        self.bind(sym, env)
        return env, lambda a, b_: R(a) == R(b_)

    def _symbol_env(self, values, base):
        point = {q: values[q] if q in self.settings else
                 np.array([sp.Symbol(f"{q}_{'_'.join(map(str, ix))}", real=True)
                           for ix in np.ndindex(np.shape(w))], dtype=object).reshape(np.shape(w))
                 if np.ndim(w) else sp.Symbol(q, real=True)
                 for q, w in values.items()}
        out = self.run(point)
        L = self.loss(out, point["delta"])

        @functools.cache
        def partial_at(var, idx):
            gen = point[var][idx] if idx != () else point[var]
            deriv = np.vectorize(lambda e: sp.diff(e, gen), otypes=[object])(np.asarray(out, dtype=object))
            return {self.output: deriv if np.ndim(out) else deriv[()], "L": sp.diff(L, gen)}

        env = Env({}, offsets=self.offsets(base), number=lambda q: q)
        env.partial = self._partial(partial_at, point, sp.Integer(0), lambda F, var: None)
        self.bind(point, env)
        return env, _sympy_equal

    def point_env(self, values: Mapping[str, Any], base: int | None = None) -> Env:
        """Exact values at one point (rationals, from floats exactly); derivatives there.

        At a kink, a Partial has no value and a Subdifferential is the Clarke
        gradient: the hull of the gradients of the pieces that meet there.
        """
        exact = {q: w if q in self.settings else to_rational(w) for q, w in values.items()}
        sizes = self.sizes_of(values)
        sym, out = self.symbolic_at(sizes)
        point = {}
        for name in self.inputs:
            for s, v in zip(np.asarray(sym[name], dtype=object).ravel(), np.asarray(exact[name], dtype=object).ravel()):
                point[s] = v
        outputs = [sp.sympify(q) for q in np.asarray(out, dtype=object).ravel()]
        delta = exact["delta"]
        loss = sp.sympify(self.loss(out, delta))
        at_kink = kinks.is_kink(outputs, point)

        @functools.cache
        def partial_at(var, idx):
            if at_kink:
                raise ValueError("the operation has no derivative at this point (a kink); "
                                 "only its generalized gradient exists here")
            gen = sym[var][idx] if idx != () else sym[var]
            selection = kinks.pieces(outputs, list(point), point)[0]
            outs = np.asarray(out, dtype=object)
            deriv = np.vectorize(lambda e: sp.diff(kinks._select(e, selection), gen).xreplace(point),
                                 otypes=[object])(outs)
            return {self.output: deriv if np.ndim(out) else deriv[()],
                    "L": sp.diff(kinks._select(loss, selection), gen).xreplace(point)}

        def hull(which, var):
            if which == "L":
                function = loss
            elif np.ndim(out) == 0:
                function = sp.sympify(out)
            else:
                raise ValueError("a generalized gradient of an array-valued output is not defined")
            return Hull(kinks.generalized_gradient(function, outputs, np.asarray(sym[var], dtype=object), point))

        env = Env({}, offsets=self.offsets(base), number=lambda q: q)
        env.partial = self._partial(partial_at, exact, sp.Integer(0), hull)
        self.bind(exact, env)
        return env

    def _partial(self, partial_at, values, zero, hull):
        """The Partial(F, V) and Subdifferential(F, V) callback: F is L or an output; V an input."""
        output = self.output

        def partial(F, V, env, generalized):
            differentiated = F.base.label.name if isinstance(F, sp.Indexed) else getattr(F, "name", None)
            if differentiated not in (None, "L", output):
                # the checks differentiate the forward pass only (L and the output), never a quantity of names=
                raise ValueError(f"a Partial differentiates L or the operation's output {output}, not "
                                 f"{differentiated}; to differentiate {differentiated}, give the step an "
                                 f"Operation of its own whose output is {differentiated} (an Operation "
                                 f"with no Result is allowed)")
            var, idx = _target(V, env)
            which = "L" if sp.Symbol("L") == F else output
            if generalized:
                found = hull(which, var)
                if found is not None:
                    return found
                return Hull([_gradient_array(partial_at, values, var, which, zero)])
            if idx is None:  # a whole array: the gradient, entry by entry
                return _gradient_array(partial_at, values, var, which, zero)
            if idx != () and any(q < 0 or q >= size for q, size in zip(idx, np.shape(values[var]))):
                return zero
            if len(idx) < np.ndim(values[var]):   # a sub-array, X_{r,c} of a batch: the gradient's entries there
                return _gradient_array(partial_at, values, var, which, zero)[idx]
            table = partial_at(var, idx)
            if isinstance(F, sp.Symbol):
                return table[which]
            _, fidx = _target(F, env)
            return table[output][fidx]
        return partial


def _gradient_array(partial_at, values, var, which, zero):
    arr = values[var]
    grad = np.empty(np.shape(arr), dtype=object)
    for ix in np.ndindex(np.shape(arr)):
        grad[ix] = partial_at(var, ix)[which]
    return grad.astype(float) if isinstance(zero, float) else grad


def _sympy_equal(a, b_) -> bool:
    difference = sp.expand(sp.sympify(a) - sp.sympify(b_))
    return difference == 0 or sp.simplify(difference) == 0


def _target(V, env):
    """(name, index tuple) of an entry, (name, ()) of a scalar, (name, None) of a whole array."""
    from . import ops
    if isinstance(V, sp.Indexed):
        name = V.base.label.name
        return name, tuple(ops.as_index(evaluate(q, env)) - env.offset(name) for q in V.indices)
    if isinstance(V, sp.IndexedBase):
        return V.label.name, None
    return V.name, ()


def to_rational(value):
    """Floats, ints and arrays of them as exact sympy rationals (a float is a binary fraction)."""
    if np.ndim(value):
        return np.vectorize(lambda q: sp.Rational(q) if not isinstance(q, sp.Basic) else q,
                            otypes=[object])(np.asarray(value))
    return sp.Rational(value) if not isinstance(value, sp.Basic) else value
