"""T2: back propagation through tanh, max pooling and average pooling.

x is a vector of R^d indexed from 1, as in the question.  tanh acts entry by
entry, so delta = dL/dz is a vector; both poolings return one number, so
delta = dL/df is a scalar.
"""
from __future__ import annotations

from fractions import Fraction

import numpy as np
import sympy as sp
from sympy import KroneckerDelta, Sum

from verify import problems as pb
from verify import reference as ref
from verify.steps import Step, StepReport
from verify.symbolic import (L, ConvexHull, MaxOver, OneHot, Partial, Subdifferential, d, delta_s, f, product,
                             i, istar, k, t, x, z)
from verify.symbolic import delta_v as delta

_Q = "T2"
_ALL_K = ((k, 1, d),)



def _step(id_, problem, *sides, over=(), kind="verified", result=None, **extra):
    return Step(id_, _Q, tuple(sides), tuple(over), problem, kind, result, **extra)


_e_t, _e_mt = sp.exp(t), sp.exp(-t)

# ---- tanh ------------------------------------------------------------------------------------
TANH_FORWARD = _step("t2.tanh.forward", pb.TANH, z[i], sp.tanh(x[i]), over=((i, 1, d),), kind="definition")
TANH_DERIVATIVE = _step(
    "t2.tanh.derivative", None,
    sp.Derivative(sp.tanh(t), t),
    sp.Derivative(product(_e_t - _e_mt, sp.Pow(_e_t + _e_mt, -1)), t),
    product(sp.Add((_e_t + _e_mt) ** 2, product(-1, (_e_t - _e_mt) ** 2), evaluate=False), sp.Pow((_e_t + _e_mt) ** 2, -1)),
    1 - sp.tanh(t) ** 2,
    variables=(t,))
TANH_CHAIN = _step("t2.tanh.chain_rule", pb.TANH, Partial(L, x[k]), Sum(product(delta[i], Partial(z[i], x[k])), (i, 1, d)),
                   over=_ALL_K)
TANH_LOCAL = _step("t2.tanh.local", pb.TANH, Partial(z[i], x[k]), product(KroneckerDelta(i, k), 1 - sp.tanh(x[k]) ** 2),
                   over=((i, 1, d),) + _ALL_K)
TANH_ELEMENT = _step("t2.tanh.elementwise", pb.TANH, Partial(L, x[k]), product(delta[k], 1 - sp.tanh(x[k]) ** 2),
                     product(delta[k], 1 - z[k] ** 2), over=_ALL_K)
TANH_RESULT = _step("t2.tanh.vectorized", pb.TANH, Partial(L, x), ref.T2_TANH, result="t2.tanh")

# ---- max pooling -----------------------------------------------------------------------------
MAX_FORWARD = _step("t2.maxpool.forward", pb.MAXPOOL, f, MaxOver(x[i], i, 1, d), kind="definition")
_UNIQUE = r"($i^*$ the only maximiser)"
MAX_LOCAL = _step("t2.maxpool.local", pb.MAXPOOL, Partial(f, x[k]), KroneckerDelta(k, istar), over=_ALL_K,
                  note=_UNIQUE)
MAX_CHAIN = _step("t2.maxpool.chain_rule", pb.MAXPOOL, Partial(L, x[k]), product(delta_s, Partial(f, x[k])),
                  product(delta_s, KroneckerDelta(k, istar)), over=_ALL_K, note=_UNIQUE)
MAX_RESULT = _step("t2.maxpool.vectorized", pb.MAXPOOL, Partial(L, x), ref.T2_MAXPOOL, result="t2.maxpool")


def _tie_claim() -> StepReport:
    """The subdifferential of max at x is conv{e_i : x_i = max x}, checked exactly at ties.

    Every convex combination g of tied one-hot vectors satisfies the
    subgradient inequality max(y) >= max(x) + <g, y - x> at many rational y;
    and the set is no larger: moving all of x up or down by 1 forces the
    weights to sum to 1, and moving one entry that is not a maximiser up past
    the maximum forces its weight to be 0 (so the 'full delta to every tied
    maximiser' answer, whose weights sum to the number of ties, is outside).
    """
    rng = np.random.default_rng(3)
    count = 0
    for xs in ([3, 3, 1], [2, 2, 2, 2], [5, 1, 5, 5], [0, -1, 0], [7]):
        x_ = [Fraction(v) for v in xs]
        top = max(x_)
        tied = [q for q, v in enumerate(x_) if v == top]
        weight_sets = [[Fraction(int(w)) for w in rng.integers(0, 5, len(tied))] for _ in range(6)]
        weight_sets += [[Fraction(1 if q == r else 0) for q in range(len(tied))] for r in range(len(tied))]
        for raw in weight_sets:
            if sum(raw) == 0:
                continue
            g = [Fraction(0)] * len(x_)
            for q, w in zip(tied, raw):
                g[q] = w / sum(raw)
            for _ in range(30):
                y_ = [v + Fraction(int(rng.integers(-20, 21)), int(rng.integers(1, 9))) for v in x_]
                count += 1
                if max(y_) < top + sum(gq * (yq - xq) for gq, yq, xq in zip(g, y_, x_)):
                    return StepReport("t2.maxpool.ties", _Q, "verified", False, ["exact"], count, 0.0,
                                      f"counterexample (exact): g = {g} is not a subgradient at x = {xs}: y = {y_}")
        for shift in (1, -1):  # <g, 1> must be 1: any g outside that plane fails at x + shift
            y_ = [v + shift for v in x_]
            full = [Fraction(1 if q in tied else 0) for q in range(len(x_))]
            count += 1
            if len(tied) > 1 and max(y_) >= top + sum(gq * (yq - xq) for gq, yq, xq in zip(full, y_, x_)) \
                    and shift == 1:
                return StepReport("t2.maxpool.ties", _Q, "verified", False, ["exact"], count, 0.0,
                                  f"the sum of one-hot vectors of the ties passed as a subgradient at x = {xs}")
        for q in set(range(len(x_))) - set(tied):
            y_ = list(x_)
            y_[q] = top + 1
            count += 1
            e_q = [Fraction(1 if r == q else 0) for r in range(len(x_))]
            if max(y_) < top + sum(gq * (yq - xq) for gq, yq, xq in zip(e_q, y_, x_)):
                continue
            return StepReport("t2.maxpool.ties", _Q, "verified", False, ["exact"], count, 0.0,
                              f"e_{q + 1} passed as a subgradient at x = {xs} though x_{q + 1} is not a maximiser")
    return StepReport("t2.maxpool.ties", _Q, "verified", True, ["exact"], count, 0.0)


MAX_TIES = _step("t2.maxpool.ties", None, Subdifferential(f, x), ConvexHull(OneHot(x, i), sp.Eq(x[i], f)),
                 claim=_tie_claim)

# ---- average pooling -------------------------------------------------------------------------
AVG_FORWARD = _step("t2.avgpool.forward", pb.AVGPOOL, f, product(1 / d, Sum(x[i], (i, 1, d))), kind="definition")
AVG_CHAIN = _step("t2.avgpool.chain_rule", pb.AVGPOOL, Partial(L, x[k]), product(delta_s, Partial(f, x[k])), over=_ALL_K)
AVG_LOCAL = _step("t2.avgpool.local", pb.AVGPOOL, Partial(f, x[k]), product(1 / d, Sum(KroneckerDelta(i, k), (i, 1, d))),
                  1 / d, over=_ALL_K)
AVG_RESULT = _step("t2.avgpool.vectorized", pb.AVGPOOL, Partial(L, x), ref.T2_AVGPOOL, result="t2.avgpool")

STEPS = [TANH_FORWARD, TANH_DERIVATIVE, TANH_CHAIN, TANH_LOCAL, TANH_ELEMENT, TANH_RESULT,
         MAX_FORWARD, MAX_LOCAL, MAX_CHAIN, MAX_RESULT, MAX_TIES,
         AVG_FORWARD, AVG_CHAIN, AVG_LOCAL, AVG_RESULT]
