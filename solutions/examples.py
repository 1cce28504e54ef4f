"""The worked examples of the key.

The inputs are chosen here (small integers, and a tie for max pooling); every
output is computed by the verified formulas at build time.  Each displayed
example is a step whose claim recomputes its numbers independently: sympy
differentiates L at that instance, and the numbers as printed (rounded to 4
significant digits where they are not exact) must match.
"""
from __future__ import annotations

from fractions import Fraction

import numpy as np
import sympy as sp

import verify
from verify import engine, ops
from verify import reference as ref
from verify.steps import Step, StepReport
from verify.symbolic import L, Correlate, Partial, W, W_rot, X, Y, b, delta, delta_pad, x

from .notation import number


def t1_example() -> dict[str, np.ndarray]:
    """A 4x4 image and a 2x2 kernel with small integers, so every number can be checked by hand."""
    X_ = np.array([[1, 2, 0, -1], [0, 1, 3, 1], [2, -1, 1, 0], [1, 0, 2, 2]], dtype=float)
    W_ = np.array([[1, -2], [3, 0]], dtype=float)
    b_ = 1.0
    delta_ = np.array([[1, 0, -1], [2, 1, 0], [0, -1, 1]], dtype=float)
    return {
        "X": X_, "W": W_, "b": b_, "delta": delta_,
        "Y": ops.conv2d(X_, W_, b_),
        "delta_pad": ops.pad(delta_, W_.shape[0] - 1),
        "W_rot": ops.rot180(W_),
        "dX": verify.formula("t1.dX")(X_, W_, b_, delta_),
        "dW": verify.formula("t1.dW")(X_, W_, b_, delta_),
        "db": verify.formula("t1.db")(X_, W_, b_, delta_),
    }


def t2_example() -> dict[str, np.ndarray]:
    """One vector with a tie at its maximum, so that the tie rule shows."""
    x_ = np.array([0.5, 2.0, -1.0, 2.0])
    delta_vec = np.array([1.0, -2.0, 0.5, 1.0])
    delta_ = 3.0
    return {
        "x": x_, "delta_vec": delta_vec, "delta": delta_,
        "tanh": np.tanh(x_),
        "d_tanh": verify.formula("t2.tanh")(x_, delta_vec),
        "d_max": verify.formula("t2.maxpool")(x_, np.array(delta_)),
        "d_avg": verify.formula("t2.avgpool")(x_, np.array(delta_)),
    }


def _shown(values) -> np.ndarray:
    """The numbers exactly as the key prints them."""
    return np.vectorize(lambda q: Fraction(number(q)), otypes=[object])(np.atleast_1d(values))


def _matrix(values):
    """A sympy matrix of the numbers, for the printer; a vector becomes a column."""
    arr = np.asarray(values, dtype=float)
    return sp.ImmutableMatrix((arr if arr.ndim == 2 else arr.reshape(-1, 1)).tolist())


def _gradient_claim(step_id: str, question: str, result_id: str, inputs: dict, shown, rtol: float = 0.0):
    """The printed numbers equal dL/d(variable) as sympy differentiates it at these inputs."""
    def claim() -> StepReport:
        exact = engine.exact_gradient(verify.RESULTS[result_id], inputs)
        printed = _shown(shown)
        exact_flat = list(np.atleast_1d(exact).ravel())
        worst = 0.0
        for position, (p_, e_) in enumerate(zip(printed.ravel(), exact_flat)):
            value = float(sp.N(e_, 30))
            err = abs(float(p_) - value)
            worst = max(worst, err)
            wrong = sp.Rational(p_.numerator, p_.denominator) != e_ if rtol == 0 else err > rtol * max(1.0, abs(value))
            if wrong:
                return StepReport(step_id, question, "verified", False, ["exact"], position + 1, worst,
                                  f"counterexample (exact): entry {position} is printed as {p_} but "
                                  f"dL/d{verify.RESULTS[result_id].wrt} there is {e_}")
        return StepReport(step_id, question, "verified", True, ["exact"], len(printed.ravel()), worst)
    return claim


def _subgradient_claim(step_id: str, values: dict):
    """At a tie the printed vector must be delta times a convex combination of the tied one-hot vectors."""
    def claim() -> StepReport:
        x_, g = values["x"], _shown(values["d_max"])
        tied = x_ == x_.max()
        weights = [Fraction(q) / Fraction(values["delta"]) for q in g[tied]]
        ok = all(q == 0 for q in g[~tied]) and all(w >= 0 for w in weights) and sum(weights) == 1
        return StepReport(step_id, "T2", "verified", ok, ["exact"], len(g), 0.0,
                          "" if ok else f"counterexample (exact): {list(g)} is not in delta * conv{{e_i : i tied}}")
    return claim


def _same_claim(step_id: str, question: str, kind: str, shown: list, truth: list, what: str):
    """The printed arrays are exactly `truth` (the arrays the other checks of the example used)."""
    def claim() -> StepReport:
        for a_, t_ in zip(shown, truth):
            printed, exact = _shown(a_), np.atleast_1d(np.vectorize(Fraction, otypes=[object])(np.asarray(t_)))
            if printed.shape != exact.shape or any(p_ != e_ for p_, e_ in zip(printed.ravel(), exact.ravel())):
                return StepReport(step_id, question, kind, False, ["exact"], 1, 0.0,
                                  f"counterexample (exact): the printed {what} differ from the example's")
        return StepReport(step_id, question, kind, True, ["exact"], sum(np.size(q) for q in shown), 0.0)
    return claim


def _steps() -> list[Step]:
    e1, e2 = t1_example(), t2_example()
    t1_in = {q: e1[q] for q in ("X", "W", "b", "delta")}
    t2_tanh_in = {"x": e2["x"], "delta": e2["delta_vec"]}
    t2_pool_in = {"x": e2["x"], "delta": e2["delta"]}

    def step(id_, question, *sides, claim, kind="verified", relation="="):
        return Step(id_, question, tuple(sides), kind=kind, claim=claim, relation=relation)

    inputs = [e1["X"], e1["W"], e1["delta"]]
    padded = [e1["delta_pad"], e1["W_rot"]]
    # Y again, in exact fractions: the printed numbers must be exactly these
    exact = [np.vectorize(Fraction, otypes=[object])(np.asarray(t1_in[q])) if q != "b" else Fraction(t1_in[q])
             for q in ("X", "W", "b")]
    return [
        step("t1.example.inputs", "T1", sp.Tuple(X, W, b, delta), sp.Tuple(*map(_matrix, inputs[:2]),
             sp.Integer(int(e1["b"])), _matrix(inputs[2])), kind="definition",
             claim=_same_claim("t1.example.inputs", "T1", "definition", [*inputs[:2], e1["b"], inputs[2]],
                               [t1_in["X"], t1_in["W"], t1_in["b"], t1_in["delta"]], "inputs")),
        step("t1.example.padded", "T1", sp.Tuple(delta_pad, W_rot), sp.Tuple(*map(_matrix, padded)),
             claim=_same_claim("t1.example.padded", "T1", "verified", padded,
                               [np.pad(t1_in["delta"], 1), t1_in["W"][::-1, ::-1]], "padded delta and turned kernel")),
        step("t1.example.forward", "T1", Y, sp.Add(Correlate(X, W), b, evaluate=False), _matrix(e1["Y"]),
             claim=_same_claim("t1.example.forward", "T1", "definition", [e1["Y"]], [ops.conv2d(*exact)],
                               "entries of Y"), kind="definition"),
        step("t1.example.dX", "T1", Partial(L, X), Correlate(delta_pad, W_rot), _matrix(e1["dX"]),
             claim=_gradient_claim("t1.example.dX", "T1", "t1.dX", t1_in, e1["dX"])),
        step("t1.example.dW", "T1", Partial(L, W), ref.T1_DW, _matrix(e1["dW"]),
             claim=_gradient_claim("t1.example.dW", "T1", "t1.dW", t1_in, e1["dW"])),
        step("t1.example.db", "T1", Partial(L, b), ref.T1_DB, sp.Integer(int(e1["db"])),
             claim=_gradient_claim("t1.example.db", "T1", "t1.db", t1_in, e1["db"])),
        step("t2.example.tanh", "T2", Partial(L, x), ref.T2_TANH, _matrix(e2["d_tanh"]),
             claim=_gradient_claim("t2.example.tanh", "T2", "t2.tanh", t2_tanh_in, e2["d_tanh"], rtol=5e-4),
             relation="approx"),
        step("t2.example.maxpool", "T2", Partial(L, x), ref.T2_MAXPOOL,
             _matrix(e2["d_max"]), claim=_subgradient_claim("t2.example.maxpool", e2)),
        step("t2.example.avgpool", "T2", Partial(L, x), ref.T2_AVGPOOL,
             _matrix(e2["d_avg"]),
             claim=_gradient_claim("t2.example.avgpool", "T2", "t2.avgpool", t2_pool_in, e2["d_avg"])),
    ]


STEPS = _steps()
