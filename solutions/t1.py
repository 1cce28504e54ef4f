"""T1: back propagation through a 2D convolution, step by step.

Convention: Y = X star W + b, the cross-correlation of deep learning, 'valid',
stride 1, indices from 0.  Every step is an equality that verify checks.
"""
from __future__ import annotations

import sympy as sp
from sympy import And, KroneckerDelta, Max, Min, Piecewise, Sum

from verify import problems as pb
from verify import reference as ref
from verify.steps import Step
from verify.symbolic import (L, Correlate, Partial, W, W_rot, X, Y, a, b, c, delta, delta_ext, delta_pad, i, j,
                             k, l, m, n, p, product, u, v)

_Q = "T1"
_OUT = ((i, 0, m - p), (j, 0, n - p))      # every output entry
_IN = ((k, 0, m - 1), (l, 0, n - 1))       # every input pixel
_KER = ((u, 0, p - 1), (v, 0, p - 1))      # every kernel weight


def _sum_out(body):
    return Sum(body, (j, 0, n - p), (i, 0, m - p))


def _sum_ker(body):
    return Sum(body, (v, 0, p - 1), (u, 0, p - 1))


def _within(row, last_row, col, last_col):
    """0 <= row <= last_row and 0 <= col <= last_col, kept as written for the key."""
    return And(sp.Le(0, row, evaluate=False), sp.Le(row, last_row, evaluate=False),
               sp.Le(0, col, evaluate=False), sp.Le(col, last_col, evaluate=False), evaluate=False)


def _step(id_, *sides, over=(), kind="verified", result=None, problem=pb.CONV, **extra):
    return Step(id_, _Q, tuple(sides), tuple(over), problem, kind, result, **extra)



FORWARD = _step("t1.forward", Y[i, j], sp.Add(_sum_ker(product(X[i + u, j + v], W[u, v])), b, evaluate=False),
                over=_OUT, kind="definition")

# ---- dL/dX ------------------------------------------------------------------------------
DX_CHAIN = _step("t1.dX.chain_rule", Partial(L, X[k, l]), _sum_out(product(delta[i, j], Partial(Y[i, j], X[k, l]))),
                 over=_IN)
DX_LOCAL = _step(
    "t1.dX.local",
    Partial(Y[i, j], X[k, l]),
    _sum_ker(product(W[u, v], KroneckerDelta(i + u, k), KroneckerDelta(j + v, l))),
    Piecewise((W[k - i, l - j], _within(k - i, p - 1, l - j, p - 1)), (0, True), evaluate=False),
    over=_OUT + _IN)
DX_BOUNDS = _step(
    "t1.dX.bounds",
    Partial(L, X[k, l]),
    Sum(product(delta[i, j], W[k - i, l - j]), (j, Max(0, l - p + 1), Min(n - p, l)), (i, Max(0, k - p + 1), Min(m - p, k))),
    over=_IN)
DELTA_EXT = _step(
    "t1.delta_ext", delta_ext[a, c],
    Piecewise((delta[a, c], _within(a, m - p, c, n - p)), (0, True), evaluate=False),
    over=((a, 1 - p, m - 1), (c, 1 - p, n - 1)), kind="definition")
DX_SHIFT = _step("t1.dX.shift", Partial(L, X[k, l]), _sum_ker(product(delta_ext[k - u, l - v], W[u, v])), over=_IN)
DELTA_PAD = _step("t1.delta_pad", delta_pad[a, c], delta_ext[a - p + 1, c - p + 1],
                  over=((a, 0, m + p - 2), (c, 0, n + p - 2)), kind="definition")
W_ROT = _step("t1.W_rot", W_rot[u, v], W[p - 1 - u, p - 1 - v], over=_KER, kind="definition")
DX_FLIP = _step("t1.dX.flip", Partial(L, X[k, l]), _sum_ker(product(delta_pad[k + u, l + v], W_rot[u, v])), over=_IN)
DX_RESULT = _step("t1.dX.vectorized", Partial(L, X), Correlate(delta_pad, W_rot), ref.T1_DX, result="t1.dX")
DX_SHAPE = _step("t1.dX.shape",
                 sp.Add(m - p + 1, product(2, p - 1), -p, 1, evaluate=False), m,
                 problem=None, variables=(m, p))

# ---- dL/dW ------------------------------------------------------------------------------
DW_CHAIN = _step("t1.dW.chain_rule", Partial(L, W[u, v]), _sum_out(product(delta[i, j], Partial(Y[i, j], W[u, v]))),
                 over=_KER)
DW_LOCAL = _step("t1.dW.local", Partial(Y[i, j], W[u, v]), X[i + u, j + v], over=_OUT + _KER)
DW_ELEMENT = _step("t1.dW.elementwise", Partial(L, W[u, v]), _sum_out(product(delta[i, j], X[i + u, j + v])), over=_KER)
DW_RESULT = _step("t1.dW.vectorized", Partial(L, W), ref.T1_DW, result="t1.dW")
DW_SHAPE = _step("t1.dW.shape", sp.Add(m, product(-1, m - p + 1), 1, evaluate=False), p, problem=None, variables=(m, p))

# ---- dL/db ------------------------------------------------------------------------------
DB_CHAIN = _step("t1.db.chain_rule", Partial(L, b), _sum_out(product(delta[i, j], Partial(Y[i, j], b))))
DB_LOCAL = _step("t1.db.local", Partial(Y[i, j], b), sp.Integer(1), over=_OUT)
DB_RESULT = _step("t1.db.vectorized", Partial(L, b), _sum_out(delta[i, j]), ref.T1_DB, result="t1.db")

STEPS = [FORWARD, DX_CHAIN, DX_LOCAL, DX_BOUNDS, DELTA_EXT, DX_SHIFT, DELTA_PAD, W_ROT, DX_FLIP, DX_RESULT,
         DX_SHAPE, DW_CHAIN, DW_LOCAL, DW_ELEMENT, DW_RESULT, DW_SHAPE, DB_CHAIN, DB_LOCAL, DB_RESULT]
