"""Remarks after T1: stride and zero padding; several channels and a batch.

The generalised forward operations are definitions checked against NumPy;
their gradients are results checked like the homework's own.
"""
from __future__ import annotations

import sympy as sp
from sympy import Sum

from verify import problems as pb
from verify import reference as ref
from verify.steps import Step
from verify.symbolic import (L, C, Correlate, K, N, P, Pad, Partial, Subsample, W, X, Y, a, b,
                             b_vec, c, delta, q, s)

_Q = "T1"


def _step(id_, problem, *sides, over=(), kind="verified", result=None):
    return Step(id_, _Q, tuple(sides), tuple(over), problem, kind, result)


STRIDED_FORWARD = _step("t1.strided.forward", pb.STRIDED, Y,
                        sp.Add(Subsample(Correlate(Pad(X, P), W), s), b, evaluate=False), kind="definition")
STRIDED_DZ = _step("t1.strided.dZ", pb.STRIDED, Partial(L, Y), delta)  # the name of dL/dY, checked like the rest
STRIDED_DX = _step("t1.strided.dX", pb.STRIDED, Partial(L, X), ref.STRIDED_DX, result="t1.strided.dX")
STRIDED_DW = _step("t1.strided.dW", pb.STRIDED, Partial(L, W), ref.STRIDED_DW, result="t1.strided.dW")

BATCH_FORWARD = _step("t1.batch.forward", pb.BATCH, Y[a, q],
                      sp.Add(Sum(Correlate(X[a, c], W[q, c]), (c, 0, C - 1)), b_vec[q], evaluate=False),
                      over=((a, 0, N - 1), (q, 0, K - 1)), kind="definition")
BATCH_DX = _step("t1.batch.dX", pb.BATCH, Partial(L, X), ref.BATCH_DX, result="t1.batch.dX")
BATCH_DW = _step("t1.batch.dW", pb.BATCH, Partial(L, W), ref.BATCH_DW, result="t1.batch.dW")
BATCH_DB = _step("t1.batch.db", pb.BATCH, Partial(L, b_vec), ref.BATCH_DB, result="t1.batch.db")

STEPS = [STRIDED_FORWARD, STRIDED_DX, STRIDED_DW, BATCH_FORWARD, BATCH_DX, BATCH_DW, BATCH_DB]
