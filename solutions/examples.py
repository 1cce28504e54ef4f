"""Worked examples drawn from a seed, for the variants of a homework (see verify.variants).

Not a unit (it declares no question, part or remark): the parts that vary their numbers call it.
"""
from __future__ import annotations

from typing import Any

import numpy as np


def drawn_example(rng: np.random.Generator) -> dict[str, Any]:
    """T1's worked example with other numbers: a 4 x 4 image, a 2 x 2 kernel, a bias and a 3 x 3 delta of
    small integers, as the base example has.  The kernel is drawn until it differs from its transpose and
    from its turn by 180 degrees, and those from each other, so that the grading key's turned, transposed and
    unturned kernels give different answers; delta has some entry that is not 0."""
    def small(low, high, shape):
        return rng.integers(low, high + 1, size=shape).astype(float)
    while True:
        W = small(-3, 3, (2, 2))
        turned = W[::-1, ::-1]
        if not (np.array_equal(W, W.T) or np.array_equal(W, turned) or np.array_equal(turned, W.T)):
            break
    delta = small(-2, 2, (3, 3))
    while not delta.any():
        delta = small(-2, 2, (3, 3))
    return {"X": small(-2, 3, (4, 4)), "W": W, "b": float(rng.integers(-2, 3)), "delta": delta}
