"""Remarks after T1 (no points): stride and zero padding; several channels and a batch.

The generalized forward passes are definitions checked against their NumPy
code; their gradients are checked like the homework's own results.
"""
from __future__ import annotations

import numpy as np
import sympy as sp
from sympy import Sum

from verify import ops
from verify.engine import Gradient
from verify.homework import Remark
from verify.operation import Operation
from verify.steps import Step
from verify.symbolic import (
    BatchCorrelate,
    Correlate,
    Crop,
    Dilate,
    Fit,
    Pad,
    Partial,
    Rot180,
    SizeOf,
    Subsample,
    SumAxes,
    SwapAxes,
    total,
)

from .symbols import B, C, K, L, P, Slice, W, X, Y, b, b_vec, c, delta, m, n, p, q, r, s

REMARK = Remark("T1", 1, "Stride, zero padding, channels and batches")


def strided(X, W, b, s, P):
    """The cross-correlation of the image padded with P zeros, moving s pixels at a time."""
    return ops.correlate_valid(ops.pad(X, P), W)[::s, ::s] + b


def batched(X, W, b):
    """A batch of images with channels, and several kernels: Y[r, q] = sum_c X[r, c] star W[q, c] + b[q]."""
    return ops.correlate_batch(X, W) + np.asarray(b)[None, :, None, None]


def _sizes(names, *rows):
    return tuple(dict(zip(names, row)) for row in rows)


_MNPSP = ("m", "n", "p", "s", "P")
STRIDED = Operation(
    "t1.strided", strided, ("X", "W", "b", "s", "P"), {"X": (m, n), "W": (p, p), "b": ()}, "Y",
    # strides that do and do not divide m + 2P - p; padding as wide as the kernel and wider; strides past the kernel
    # by 2 and 3, which leave pixels between windows (a fresh attacker's loop, wrong only there, passed most seeds);
    # a stride of 2 that divides (a loop that asserts it divides and forgets the stride was "right where it answers")
    exact_sizes=_sizes(_MNPSP, (3, 3, 2, 1, 1), (3, 3, 2, 2, 2), (4, 5, 2, 2, 0), (5, 4, 3, 2, 1), (5, 6, 2, 3, 1),
                       (6, 5, 1, 3, 0), (5, 5, 1, 2, 0)),
    float_sizes=_sizes(_MNPSP, (9, 8, 3, 2, 1), (7, 6, 2, 3, 3), (17, 13, 4, 3, 5), (32, 32, 5, 2, 2),
                       (13, 11, 1, 4, 1)),
    size_ranges={"m": (1, 40), "n": (1, 40), "p": (1, 7), "s": (1, 4), "P": (0, 6)},
    allowed=lambda z: z["p"] <= min(z["m"], z["n"]) + 2 * z["P"])

_NCKMNP = ("B", "C", "K", "m", "n", "p")
BATCH = Operation(
    "t1.batch", batched, ("X", "W", "b"), {"X": (B, C, m, n), "W": (K, C, p, p), "b": (K,)}, "Y",
    # as many filters as channels too: a loop that guesses W's layout from its shape (K, C or C, K) crosses the
    # channels only there, and a fresh attacker's passed wherever C and K differ
    exact_sizes=_sizes(_NCKMNP, (1, 2, 1, 2, 3, 2), (2, 1, 2, 3, 3, 2), (2, 2, 3, 3, 2, 1), (1, 2, 2, 3, 2, 2)),
    # one small enough for the float checks of steps (verify.steps.FLOAT_MAX_ENTRIES); four channels and more
    # with kernels of 4 and 5
    float_sizes=_sizes(_NCKMNP, (2, 2, 3, 3, 3, 2), (2, 3, 4, 8, 7, 3), (2, 4, 3, 12, 10, 4), (3, 5, 4, 16, 16, 5),
                       (2, 3, 3, 9, 8, 3)),
    size_ranges={"B": (1, 4), "C": (1, 5), "K": (1, 5), "m": (1, 16), "n": (1, 16), "p": (1, 5)},
    allowed=lambda z: z["p"] <= min(z["m"], z["n"]))

# dL/dZ for the stride-1 output Z = pad_P(X) star W: delta dilated by s, zero-extended to Z's size
# sizes in the order the prose writes them, m + 2P - p + 1 (the printer keeps an order written so)
def _padded(size, *more):
    return sp.Add(size, 2 * P, -p, *more, evaluate=False)


_DZ = Fit(Dilate(delta, s), _padded(m, 1), _padded(n, 1))
STRIDED_DX = Gradient(STRIDED, "X", Crop(Correlate(Pad(_DZ, p - 1), Rot180(W)), P))
STRIDED_DW = Gradient(STRIDED, "W", Correlate(Pad(X, P), _DZ))
BATCH_DX = Gradient(BATCH, "X", BatchCorrelate(Pad(delta, p - 1), SwapAxes(Rot180(W))))
BATCH_DW = Gradient(BATCH, "W", SwapAxes(BatchCorrelate(SwapAxes(X), SwapAxes(delta))))
BATCH_DB = Gradient(BATCH, "b", SumAxes(delta, 1))


def _result(id_, gradient, name):
    return Step.result(id_, Partial(L, name), gradient.formula, operation=gradient.operation, gradient=gradient)


STEPS = [
    Step.definition("t1.strided.forward", Y, total(Subsample(Correlate(Pad(X, P), W), s), b), operation=STRIDED),
    Step.derivation("t1.strided.size", SizeOf(Y, 0),
                    sp.Add(sp.floor(sp.Mul(_padded(m), 1 / s, evaluate=False), evaluate=False), 1, evaluate=False),
                    operation=STRIDED),
    _result("t1.strided.dX", STRIDED_DX, X),
    _result("t1.strided.dW", STRIDED_DW, W),
    Step.definition("t1.batch.forward", Slice(Y, r, q),
                    total(Sum(Correlate(Slice(X, r, c), Slice(W, q, c)), (c, 0, C - 1)), b_vec[q]),
                    operation=BATCH, over=((r, 0, B - 1), (q, 0, K - 1))),
    # each pair of channels: the single-channel results of parts 1 and 2, added up over what shares the variable
    Step.derivation("t1.batch.dX_pair", Partial(L, Slice(X, r, c)),
                    Sum(Correlate(Pad(Slice(delta, r, q), p - 1), Rot180(Slice(W, q, c))), (q, 0, K - 1)),
                    operation=BATCH, over=((r, 0, B - 1), (c, 0, C - 1))),
    Step.derivation("t1.batch.dW_pair", Partial(L, Slice(W, q, c)),
                    Sum(Correlate(Slice(X, r, c), Slice(delta, r, q)), (r, 0, B - 1)),
                    operation=BATCH, over=((q, 0, K - 1), (c, 0, C - 1))),
    _result("t1.batch.dX", BATCH_DX, X),
    _result("t1.batch.dW", BATCH_DW, W),
    _result("t1.batch.db", BATCH_DB, b_vec),
]
