"""Checking a gradient formula (a NumPy function) against the forward operation.

Methods, each independent of any gradient formula:
- contract: shape, dtype and finiteness of what the candidate returns;
- exact: sympy differentiates L = <delta, f(inputs)> on small integer instances;
- adjoint: <g, V> = <delta, J V> for maps affine in the variable;
- complex-step: <g, V> = Im <delta, f(w + ihV)> / h for analytic maps;
- central-difference: <g, V> = (L(w + hV) - L(w - hV)) / 2h;
- subdifferential: at ties of max pooling, g must be delta times a convex
  combination of the one-hot vectors of the tied maximisers.
Cases run smallest first, so the first failure is the smallest counterexample.
"""
from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any, Callable

import numpy as np
import sympy as sp
from sympy.polys.rings import ring

from . import problems as pb

EPS = np.finfo(float).eps

# Exact cases have integer inputs |.| <= 3 and at most a few dozen entries, so
# every true gradient entry is a rational of magnitude < 1e3 whose denominator
# divides d.  Any float64 evaluation order of a correct formula lands within
# 1e3 * 64 * eps ~ 1.4e-11 of it (FFT-based ones included), while a wrong
# formula is off by at least 1/d of an integer step on some entry.  1e-9
# relative sits orders of magnitude above the first floor and below the second.
EXACT_RTOL = 1e-9

# Directional methods compare <g, V> with a number computed from the forward
# operation.  Both sides are sums of n rounded products; rounding errors add up
# like a random walk, so the error floor is about sqrt(n) * eps times the sum of
# absolute values.  16 * sqrt(n) * eps sits 16x above that floor (the largest
# error measured on correct formulas, in the README, is far below it) and still
# rejects a 64x64 image whose gradient is off by one part in a million in one pixel.
DIRECTIONAL_FACTOR = 16.0


@dataclass(frozen=True)
class Result:
    """A gradient the homework asks for: the derivative of L with respect to `wrt`."""
    id: str
    problem: pb.Problem
    wrt: str
    signature: str

    @property
    def question(self) -> str:
        return self.problem.question


RESULTS: dict[str, Result] = {r.id: r for r in [
    Result("t1.dX", pb.CONV, "X", "f(X, W, b, delta) -> array shaped like X"),
    Result("t1.dW", pb.CONV, "W", "f(X, W, b, delta) -> array shaped like W"),
    Result("t1.db", pb.CONV, "b", "f(X, W, b, delta) -> scalar"),
    Result("t2.tanh", pb.TANH, "x", "f(x, delta) -> array shaped like x (delta shaped like x)"),
    Result("t2.maxpool", pb.MAXPOOL, "x", "f(x, delta) -> array shaped like x (scalar delta)"),
    Result("t2.avgpool", pb.AVGPOOL, "x", "f(x, delta) -> array shaped like x (scalar delta)"),
    Result("t1.strided.dX", pb.STRIDED, "X", "f(X, W, b, delta, s, P)"),
    Result("t1.strided.dW", pb.STRIDED, "W", "f(X, W, b, delta, s, P)"),
    Result("t1.batch.dX", pb.BATCH, "X", "f(X, W, b, delta)"),
    Result("t1.batch.dW", pb.BATCH, "W", "f(X, W, b, delta)"),
    Result("t1.batch.db", pb.BATCH, "b", "f(X, W, b, delta)"),
]}


@dataclass
class Counterexample:
    """The smallest instance on which a candidate failed, ready to check by hand."""
    method: str
    inputs: dict[str, Any]
    expected: Any = None
    got: Any = None
    differing: list[tuple[int, ...]] = field(default_factory=list)
    detail: str = ""

    def __str__(self) -> str:
        lines = [f"counterexample ({self.method}):"]
        with np.printoptions(precision=6, suppress=True, threshold=64, linewidth=100):
            for name, value in self.inputs.items():
                lines.append(f"  {name} = {_show(value)}")
            if self.expected is not None:
                lines.append(f"  expected gradient = {_show(self.expected)}")
            if self.got is not None:
                lines.append(f"  candidate returned = {_show(self.got)}")
        if self.differing:
            shown = ", ".join(str(q) for q in self.differing[:8])
            more = f" and {len(self.differing) - 8} more" if len(self.differing) > 8 else ""
            lines.append(f"  entries that differ: {shown}{more}")
        if self.detail:
            lines.append(f"  {self.detail}")
        return "\n".join(lines)


def _show(value) -> str:
    arr = np.asarray(value)
    if arr.ndim == 0:
        return f"{float(arr):g}" if arr.dtype != object else str(arr[()])
    return "\n      ".join(str(np.asarray(arr, dtype=float)).splitlines()) if arr.size <= 64 \
        else f"array of shape {arr.shape}"


@dataclass
class CheckResult:
    result_id: str
    passed: bool
    methods: list[str]
    cases: int
    worst_error: float
    counterexample: Counterexample | None = None
    reason: str = ""

    def __str__(self) -> str:
        verdict = "correct" if self.passed else "WRONG"
        head = (f"{self.result_id}: {verdict} ({self.cases} cases; methods: {', '.join(self.methods)}; "
                f"worst relative error {self.worst_error:.1e})")
        if self.passed:
            return head
        method = self.counterexample.method if self.counterexample else "contract"
        return "\n".join(q for q in [head, f"  reason ({method}): {self.reason}",
                                     str(self.counterexample) if self.counterexample else ""] if q)


class _Failed(Exception):
    def __init__(self, reason: str, counterexample: Counterexample):
        super().__init__(reason)
        self.reason = reason
        self.counterexample = counterexample


class _Run:
    """Bookkeeping of one check: methods used, cases run, worst error seen."""

    def __init__(self, result: Result, candidate: Callable):
        self.result, self.candidate = result, candidate
        self.methods: list[str] = []
        self.cases = 0
        self.worst = 0.0

    def used(self, method: str) -> None:
        if method not in self.methods:
            self.methods.append(method)

    def call(self, values: dict[str, Any]) -> np.ndarray:
        """Call the candidate with float64 copies of the inputs and enforce its contract."""
        prob, wrt = self.result.problem, self.result.wrt
        args = [values[q] if q in prob.params else np.array(values[q], dtype=np.float64) for q in prob.arguments]
        shown = _shown_inputs(prob, values)
        self.used("contract")
        try:
            got = self.candidate(*args)
        except Exception as exc:  # the candidate's failure is a verdict, not a crash
            raise _Failed(f"the candidate raised {type(exc).__name__}: {exc}",
                          Counterexample("contract", shown)) from None
        arr = np.asarray(got)
        want = np.shape(values[wrt])
        if want == () and arr.size == 1:
            arr = arr.reshape(())  # a one-element array holds a scalar result as well (keepdims=True)
        if arr.dtype == object or not (np.issubdtype(arr.dtype, np.floating) or np.issubdtype(arr.dtype, np.integer)):
            raise _Failed(f"the candidate returned dtype {arr.dtype}, not a real float array",
                          Counterexample("contract", shown))
        if arr.shape != want:
            what = "a scalar" if want == () else f"shape {want} (the shape of {wrt})"
            raise _Failed(f"the candidate returned shape {arr.shape}, expected {what}",
                          Counterexample("contract", shown))
        if not np.all(np.isfinite(arr)):
            raise _Failed("the candidate returned NaN or inf", Counterexample("contract", shown, got=arr))
        return arr.astype(float)

    def compare(self, method, values, expected, got, tol, scale):
        err = np.abs(np.asarray(got, dtype=float) - np.asarray(expected, dtype=float))
        self.worst = max(self.worst, float(np.max(err)) / max(scale, 1e-300))
        bad = err > tol
        if np.any(bad):
            differing = [tuple(int(q) for q in ix) for ix in np.argwhere(bad)] if np.ndim(bad) else []
            raise _Failed(f"the candidate's gradient differs from the exact one in {int(np.sum(bad))} "
                          f"of {np.size(bad)} entries",
                          Counterexample(method, _shown_inputs(self.result.problem, values),
                                         expected=expected, got=got, differing=differing))


def _shown_inputs(prob, values):
    return {q: values[q] for q in (*prob.inputs, "delta")}


def check(result_id: str, candidate: Callable, *, exact: bool = True,
          float_shapes: tuple | None = None, seed: int = 0) -> CheckResult:
    """Check a candidate gradient formula for one result of the homework.

    `result_id` is one of `RESULTS` (e.g. "t1.dX"); `candidate` is called with
    float64 NumPy arrays as described by that result's signature.  Returns a
    CheckResult; a candidate that raises or returns a wrong shape, NaN or inf
    fails with that reason.
    """
    try:
        result = RESULTS[result_id]
    except KeyError:
        raise KeyError(f"unknown result id {result_id!r}; known: {', '.join(RESULTS)}") from None
    run = _Run(result, candidate)
    prob = result.problem
    try:
        if exact:
            for _, values in pb.cases(prob, exact=True, seed=seed):
                _exact_case(run, values)
            if prob is pb.MAXPOOL:
                for values in _tie_cases():
                    _subdifferential_case(run, values)
        rng = np.random.default_rng([seed, 7])
        for values in _float_cases(prob, float_shapes, seed):
            _float_case(run, values, rng)
    except _Failed as failure:
        return CheckResult(result_id, False, run.methods, run.cases, run.worst,
                           failure.counterexample, failure.reason)
    return CheckResult(result_id, True, run.methods, run.cases, run.worst)


def _float_cases(prob, shapes, seed):
    if shapes is None:
        yield from (values for _, values in pb.cases(prob, exact=False, seed=seed))
        return
    for number, shape in enumerate(shapes):
        yield prob.draw(tuple(shape), np.random.default_rng([seed, 99, number]), False)


# ---- exact --------------------------------------------------------------------------------
def exact_gradient(result: Result, values: dict[str, Any]) -> np.ndarray:
    """dL/d(wrt) at `values`, exactly: sympy differentiates the forward operation."""
    prob, wrt = result.problem, result.wrt
    shape = np.shape(values[wrt])
    entries = list(np.ndindex(shape)) if shape else [()]
    exact = {q: (w if q in prob.params else
                 np.vectorize(sp.Rational, otypes=[object])(np.asarray(w)) if np.ndim(w) else sp.Rational(w))
             for q, w in values.items()}
    out = np.empty(shape, dtype=object)
    if prob.polynomial:
        R, *gens = ring(",".join(f"g{q}" for q in range(len(entries))), sp.QQ)
        var = np.array(gens, dtype=object).reshape(shape) if shape else gens[0]
        L = R(prob.loss(prob.run({**exact, wrt: var}), exact["delta"]))
        point = [(g, exact[wrt][ix] if shape else exact[wrt]) for g, ix in zip(gens, entries)]
        for g, ix in zip(gens, entries):
            deriv = L.diff(g)
            out[ix] = R.domain.to_sympy(deriv.evaluate(point)) if not deriv.is_ground else \
                R.domain.to_sympy(deriv.LC if deriv else R.domain.zero)
        return out
    g = sp.Symbol("g", real=True)
    for ix in entries:
        # one entry symbolic, the others at their values: differentiating Max of d symbols is slow
        var = exact[wrt].copy() if shape else g
        if shape:
            var[ix] = g
        L = prob.loss(prob.run({**exact, wrt: var}), exact["delta"])
        out[ix] = sp.diff(L, g).subs(g, exact[wrt][ix] if shape else exact[wrt])
    return out


def _exact_case(run: _Run, values):
    run.cases += 1
    got = run.call(values)
    expected = exact_gradient(run.result, values)
    expected_f = np.vectorize(lambda e: float(sp.N(e, 30)), otypes=[float])(expected)
    scale = max(1.0, float(np.max(np.abs(expected_f))))
    run.used("exact")
    run.compare("exact", values, expected_f if np.ndim(expected_f) else float(expected_f), got,
                EXACT_RTOL * scale, scale)


# ---- max pooling at ties ------------------------------------------------------------------
def _tie_cases():
    """Two-, three- and all-way ties, and near-ties, with both signs of delta."""
    for x_ in ([1.0, 3.0, 3.0], [3.0, -1.0, 3.0, 0.5], [2.0, 5.0, 5.0, 0.0, 5.0],
               [4.0, 4.0, 4.0, 4.0], [7.0], [1.0, 1.0 + 2.0 ** -30, 0.0], [-2.0 ** -30, 0.0, -1.0]):
        for delta_ in (2.0, -3.0):
            yield {"x": np.array(x_), "delta": delta_}


def _subdifferential_case(run: _Run, values):
    run.cases += 1
    got = run.call(values)
    x_, delta_ = values["x"], values["delta"]
    tied = x_ == x_.max()
    run.used("subdifferential")
    # weights relative to delta: a correct formula rounds each at most once, a sum of d of them d times
    tol = 8 * EPS * x_.size
    shown = _shown_inputs(run.result.problem, values)
    off = np.abs(got[~tied]) / abs(delta_)
    weights = got[tied] / delta_
    run.worst = max(run.worst, float(abs(weights.sum() - 1.0)), float(off.max(initial=0.0)))
    if np.any(off > tol) or np.any(weights < -tol) or abs(weights.sum() - 1.0) > tol:
        members = ", ".join(str(int(q)) for q in np.flatnonzero(tied))
        raise _Failed(
            "at a tie the gradient must be delta times a convex combination "
            f"of the one-hot vectors of the maximisers (entries {members}): weights >= 0 summing to 1, "
            "zero elsewhere",
            Counterexample("subdifferential", shown, got=got,
                           differing=[(int(q),) for q in np.flatnonzero((~tied & (np.abs(got) > tol * abs(delta_))) |
                                                                        (tied & (got / delta_ < -tol)))],
                           detail=f"weights on the maximisers: {np.round(weights, 6).tolist()} "
                                  f"(sum {weights.sum():.6g})"))


# ---- float64 directional methods ----------------------------------------------------------
def _float_case(run: _Run, values, rng):
    """One float64 instance: methods chosen per operation, each along its own random direction.

    Affine maps get the adjoint test (a complex step would only recompute the same J V);
    analytic non-affine maps the complex step; every map central differences.  One
    magnitude bound serves all: the forward operation is monotone on non-negative
    inputs, so <|delta|, F(|w| + c)> bounds every sum the methods form (c >= |V|, h <= 1).
    """
    run.cases += 1
    result, prob = run.result, run.result.problem
    wrt = result.wrt
    g = run.call(values)
    w = np.asarray(values[wrt], dtype=float)
    delta_ = np.asarray(values["delta"])
    n = w.size + delta_.size
    tol_factor = DIRECTIONAL_FACTOR * np.sqrt(n) * EPS
    directions = [_direction(rng, w) for _ in range(2)]
    c = max(float(np.max(np.abs(V))) for V in directions)
    absvals = {q: (v if q in prob.params else np.abs(v)) for q, v in values.items()}
    bound = float(np.sum(np.abs(delta_) * np.abs(prob.run({**absvals, wrt: np.abs(w) + c}))))

    def L(at):
        return prob.loss(prob.run({**values, wrt: at}), values["delta"])

    def verdict(method, V, want, scale, extra_tol=0.0, h=None):
        got = float(np.sum(g * V))
        scale += float(np.sum(np.abs(g) * np.abs(V)))
        err = abs(got - want)
        tol = tol_factor * scale + extra_tol
        run.used(method)
        run.worst = max(run.worst, err / max(scale, 1e-300))
        if err > tol:
            step = f" with h = {h:.3g}" if h is not None else ""
            raise _Failed(
                f"<g, V> = {got:.17g} but the forward operation gives {want:.17g}{step} "
                f"(difference {err:.3g}, tolerance {tol:.3g})",
                Counterexample(method, _shown_inputs(prob, values), got=g,
                               detail=f"along a random direction V of shape {np.shape(w)}"))

    V = directions[0]
    if wrt in prob.affine_in:
        change = prob.run({**values, wrt: V}) - prob.run({**values, wrt: np.zeros_like(w)})
        verdict("adjoint", V, float(np.sum(delta_ * change)), bound)
    elif prob.smooth:
        h = pb.COMPLEX_STEP
        verdict("complex-step", V, float(np.imag(L(w + 1j * h * V))) / h, bound)

    V = directions[1]
    trunc = 0.0
    if wrt in prob.affine_in:
        h = 1.0  # affine in the variable: the difference quotient is exact up to rounding
    elif prob.smooth:
        # truncation h^2/6 |f'''| |V|^3 per entry against rounding eps |L| / h: h = eps^(1/3) balances them
        h = EPS ** (1 / 3)
        trunc = h * h / 6 * prob.third_derivative * float(np.sum(np.abs(delta_) * np.abs(V) ** 3))
    else:
        # max pooling is linear while no step crosses a tie: stay within a quarter of the gap
        srt = np.sort(w.ravel())
        gap = srt[-1] - srt[-2] if srt.size > 1 else 1.0
        h = min(1.0, gap / (4 * np.max(np.abs(V))))
    want = float((L(w + h * V) - L(w - h * V)) / (2 * h))
    verdict("central-difference", V, want, bound / h, extra_tol=trunc, h=h)


def _direction(rng, w):
    return rng.standard_normal(np.shape(w)) if np.ndim(w) else float(rng.standard_normal())
