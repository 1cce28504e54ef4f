"""NumPy building blocks and the forward operations of Homework 4.

Every function here works unchanged on float64, complex128 and object arrays.
Complex input gives the complex-step derivative; object arrays holding sympy
symbols or polynomial-ring elements give exact symbolic derivatives.  All
checks therefore differentiate the very same forward code.

Loops run over kernel taps (p*p iterations) or channels, never over pixels.
"""
from __future__ import annotations

import numpy as np
import sympy as sp


def correlate_valid(x: np.ndarray, k: np.ndarray) -> np.ndarray:
    """'Valid' 2D cross-correlation: out[i, j] = sum_{u,v} x[i+u, j+v] k[u, v]."""
    x = np.asarray(x)
    k = np.asarray(k)
    (m, n), (p, q) = x.shape, k.shape
    rows, cols = m - p + 1, n - q + 1
    if rows < 1 or cols < 1:
        raise ValueError(f"kernel {k.shape} is larger than the input {x.shape}")
    out = None
    for u in range(p):
        for v in range(q):
            term = x[u:u + rows, v:v + cols] * k[u, v]
            out = term if out is None else out + term
    return out


def _zero(x: np.ndarray):
    """The fill value of x's domain: a Python 0 for exact (object) arrays."""
    return 0 if x.dtype == object else x.dtype.type(0)


def pad(x: np.ndarray, width: int) -> np.ndarray:
    """Zero padding of `width` rows and columns on every side of the last two axes (images, or batches of them)."""
    x = np.asarray(x)
    spec = [(0, 0)] * (x.ndim - 2) + [(int(width), int(width))] * 2
    return np.pad(x, spec, mode="constant", constant_values=_zero(x))


def rot180(k: np.ndarray) -> np.ndarray:
    """The kernel turned by 180 degrees: rot180(k)[u, v] = k[p-1-u, q-1-v] (on the last two axes)."""
    return np.asarray(k)[..., ::-1, ::-1]


def dilate(delta: np.ndarray, stride: int) -> np.ndarray:
    """Insert stride-1 zeros between neighbouring entries (the adjoint of subsampling)."""
    delta = np.asarray(delta)
    rows, cols = delta.shape
    out = np.zeros(((rows - 1) * stride + 1, (cols - 1) * stride + 1), dtype=delta.dtype)
    out[::stride, ::stride] = delta
    return out


def fit(x: np.ndarray, rows: int, cols: int) -> np.ndarray:
    """Crop to, or zero-extend at the bottom/right to, exactly rows x cols."""
    x = np.asarray(x)[:rows, :cols]
    return np.pad(x, ((0, rows - x.shape[0]), (0, cols - x.shape[1])), mode="constant", constant_values=_zero(x))


def tanh(x: np.ndarray) -> np.ndarray:
    x = np.asarray(x)
    if x.dtype == object:
        return np.vectorize(sp.tanh, otypes=[object])(x)
    return np.tanh(x)


# ---- forward operations -------------------------------------------------------------------

def conv2d(X, W, b):
    """T1: Y = X star W + b, valid cross-correlation with stride 1."""
    return correlate_valid(X, W) + b


def conv2d_general(X, W, b, stride: int = 1, padding: int = 0):
    """Cross-correlation of the zero-padded image with stride s (remarks of the key)."""
    return correlate_valid(pad(X, padding), W)[::stride, ::stride] + b


def conv2d_batch(X, W, b):
    """Batch and channels: X is (N, C, m, n), W is (K, C, p, p), b is (K,); Y is (N, K, m', n').

    Y[n, k] = sum_c X[n, c] star W[k, c] + b[k].
    """
    X, W, b = np.asarray(X), np.asarray(W), np.asarray(b)
    p, q = W.shape[-2:]
    rows, cols = X.shape[2] - p + 1, X.shape[3] - q + 1
    out = None
    for u in range(p):
        for v in range(q):
            # (N, C, r, c) x (K, C) summed over C -> (N, r, c, K)
            term = np.tensordot(X[:, :, u:u + rows, v:v + cols], W[:, :, u, v], axes=([1], [1]))
            out = term if out is None else out + term
    return np.moveaxis(out, -1, 1) + b[None, :, None, None]


def maxpool(x):
    """T2: f(x) = max_i x_i (a scalar). Complex input compares by real part."""
    x = np.asarray(x)
    if x.dtype == object:
        return sp.Max(*x.ravel())
    if np.iscomplexobj(x):
        return x[np.argmax(x.real)]
    return np.max(x)


def avgpool(x):
    """T2: f(x) = (1/d) sum_i x_i (a scalar)."""
    x = np.asarray(x)
    if x.dtype == object:
        return x.sum() * sp.Rational(1, x.size)
    return x.sum() / x.size
