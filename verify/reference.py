"""The reference gradient formulas, written once as symbolic formulas.

Each formula below is both what the solution key typesets and, compiled by
`to_numpy`, the vectorized NumPy function that `verify.check` tests.  Nothing
else in the project restates them.
"""
from __future__ import annotations

import sympy as sp

from .symbolic import (ArgMax, BatchCorrelate, Correlate, Crop, Dilate, Fit, Hadamard, OneHot, Ones, P,
                       Pad, Rot180, SumAll, SumAxes, SwapAxes, W, X, d, delta, delta_s, delta_v, m, n, p, product, s,
                       to_numpy, x)

# T1: Y = X star W + b (valid cross-correlation, stride 1)
T1_DX = Correlate(Pad(delta, p - 1), Rot180(W))
T1_DW = Correlate(X, delta)
T1_DB = SumAll(delta)

# T2 (tanh elementwise; max and average pooling give a scalar, so delta is a scalar)
T2_TANH = Hadamard(delta_v, Ones(x) - Hadamard(sp.tanh(x), sp.tanh(x)))
T2_MAXPOOL = delta_s * OneHot(x, ArgMax(x))   # the first maximiser takes all of delta at a tie
T2_AVGPOOL = product(delta_s / d, Ones(x))

# Remarks: stride s and zero padding P.  Z = pad_P(X) star W has
# (m + 2P - p + 1) rows; Y keeps every s-th of them, so dL/dZ is delta dilated
# by s and zero-extended to Z's size.
_rows, _cols = m + 2 * P - p + 1, n + 2 * P - p + 1
DZ = Fit(Dilate(delta, s), _rows, _cols)
STRIDED_DX = Crop(Correlate(Pad(DZ, p - 1), Rot180(W)), P)
STRIDED_DW = Correlate(Pad(X, P), DZ)

# Remarks: a batch of N images with C channels and K filters of C channels each.
BATCH_DX = BatchCorrelate(Pad(delta, p - 1), SwapAxes(Rot180(W)))
BATCH_DW = SwapAxes(BatchCorrelate(SwapAxes(X), SwapAxes(delta)))
BATCH_DB = SumAxes(delta, 1)


def _conv_dims(X, W, b, delta):
    return {"m": X.shape[0], "n": X.shape[1], "p": W.shape[0]}


def _vector_dims(x, delta):
    return {"d": x.shape[0]}


def _strided_dims(X, W, b, delta, s, P):
    return {"m": X.shape[0], "n": X.shape[1], "p": W.shape[0]}


def _batch_dims(X, W, b, delta):
    return {"p": W.shape[-1]}


_T1 = ("X", "W", "b", "delta")
_T2 = ("x", "delta")

# result id -> (formula, argument names, sizes the formula mentions)
FORMULAS = {
    "t1.dX": (T1_DX, _T1, _conv_dims),
    "t1.dW": (T1_DW, _T1, _conv_dims),
    "t1.db": (T1_DB, _T1, _conv_dims),
    "t2.tanh": (T2_TANH, _T2, _vector_dims),
    "t2.maxpool": (T2_MAXPOOL, _T2, _vector_dims),
    "t2.avgpool": (T2_AVGPOOL, _T2, _vector_dims),
    "t1.strided.dX": (STRIDED_DX, _T1 + ("s", "P"), _strided_dims),
    "t1.strided.dW": (STRIDED_DW, _T1 + ("s", "P"), _strided_dims),
    "t1.batch.dX": (BATCH_DX, _T1, _batch_dims),
    "t1.batch.dW": (BATCH_DW, _T1, _batch_dims),
    "t1.batch.db": (BATCH_DB, _T1, _batch_dims),
}


def formula(result_id: str):
    """The NumPy function of a result's reference formula."""
    expr, args, dims = FORMULAS[result_id]
    return to_numpy(expr, args, dims)


def compile_formula(result_id: str, expr):
    """A NumPy function of another formula with the signature of `result_id` (for wrong answers)."""
    _, args, dims = FORMULAS[result_id]
    return to_numpy(expr, args, dims)
