"""The worked examples of the key: inputs chosen here, every output computed
by the verified formulas at build time."""
from __future__ import annotations

import numpy as np

import verify
from verify import ops


def t1_example() -> dict[str, np.ndarray]:
    """A 4x4 image and a 2x2 kernel with small integers, so every number can be checked by hand."""
    X = np.array([[1, 2, 0, -1], [0, 1, 3, 1], [2, -1, 1, 0], [1, 0, 2, 2]], dtype=float)
    W = np.array([[1, -2], [3, 0]], dtype=float)
    b = 1.0
    delta = np.array([[1, 0, -1], [2, 1, 0], [0, -1, 1]], dtype=float)
    return {
        "X": X, "W": W, "b": b, "delta": delta,
        "Y": ops.conv2d(X, W, b),
        "delta_pad": ops.pad(delta, W.shape[0] - 1),
        "W_rot": ops.rot180(W),
        "dX": verify.formula("t1.dX")(X, W, b, delta),
        "dW": verify.formula("t1.dW")(X, W, b, delta),
        "db": verify.formula("t1.db")(X, W, b, delta),
    }


def t2_example() -> dict[str, np.ndarray]:
    """One vector with a tie at its maximum, so the tie rule shows."""
    x = np.array([0.5, 2.0, -1.0, 2.0])
    delta_vec = np.array([1.0, -2.0, 0.5, 1.0])
    delta = 3.0
    return {
        "x": x, "delta_vec": delta_vec, "delta": delta,
        "tanh": np.tanh(x),
        "d_tanh": verify.formula("t2.tanh")(x, delta_vec),
        "d_max": verify.formula("t2.maxpool")(x, np.array(delta)),
        "d_avg": verify.formula("t2.avgpool")(x, np.array(delta)),
    }
