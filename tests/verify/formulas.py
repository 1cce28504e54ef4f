"""Candidate gradient formulas for the tests: plausible wrong ones and correct ones written differently."""
import numpy as np
from numpy.lib.stride_tricks import sliding_window_view
from scipy import signal

import verify
from solutions import WRONG_ANSWERS

dX, dW, db = (verify.formula(q) for q in ("t1.dX", "t1.dW", "t1.db"))
tanh_ref, max_ref, avg_ref = (verify.formula(q) for q in ("t2.tanh", "t2.maxpool", "t2.avgpool"))


def _first_pixel_off(X, W, b, delta):
    g = dX(X, W, b, delta)
    g[0, 0] += 1.0
    return g


def _last_row_missing(X, W, b, delta):
    g = dW(X, W, b, delta)
    g[-1, :] = 0.0
    return g


def _argmin(x, delta):
    g = np.zeros_like(x)
    g[np.argmin(x)] = delta
    return g


# (result id, name, function): each must be rejected
WRONG = [
    ("t1.dX", "no kernel flip", lambda X, W, b, d: signal.correlate2d(d, W, mode="full")),
    ("t1.dX", "transposed kernel", lambda X, W, b, d: signal.correlate2d(d, W.T, mode="full")),
    ("t1.dX", "rows flipped only", lambda X, W, b, d: signal.correlate2d(d, W[::-1, :], mode="full")),
    ("t1.dX", "columns flipped only", lambda X, W, b, d: signal.correlate2d(d, W[:, ::-1], mode="full")),
    ("t1.dX", "valid instead of full", lambda X, W, b, d: signal.correlate2d(d, W[::-1, ::-1], mode="valid")),
    ("t1.dX", "same instead of full", lambda X, W, b, d: signal.convolve2d(d, W, mode="same")),
    ("t1.dX", "off by one row", lambda X, W, b, d: np.roll(dX(X, W, b, d), 1, axis=0)),
    ("t1.dX", "off by one column", lambda X, W, b, d: np.roll(dX(X, W, b, d), -1, axis=1)),
    ("t1.dX", "one border pixel wrong", _first_pixel_off),
    ("t1.dX", "delta rotated instead of kernel",
     lambda X, W, b, d: signal.correlate2d(np.pad(d[::-1, ::-1], W.shape[0] - 1), W, mode="valid")),
    ("t1.dX", "bias added", lambda X, W, b, d: dX(X, W, b, d) + b),
    ("t1.dW", "delta flipped", lambda X, W, b, d: signal.convolve2d(X, d, mode="valid")),
    ("t1.dW", "result rotated", lambda X, W, b, d: dW(X, W, b, d)[::-1, ::-1]),
    ("t1.dW", "result transposed", lambda X, W, b, d: dW(X, W, b, d).T),
    ("t1.dW", "last row missing", _last_row_missing),
    ("t1.dW", "times the kernel", lambda X, W, b, d: dW(X, W, b, d) * W),
    ("t1.db", "mean instead of sum", lambda X, W, b, d: d.mean()),
    ("t1.db", "count of outputs", lambda X, W, b, d: np.float64(d.size)),
    ("t1.db", "forgotten sum", lambda X, W, b, d: d),
    ("t1.db", "bias added", lambda X, W, b, d: d.sum() + b),
    ("t2.tanh", "1 - tanh", lambda x, d: d * (1 - np.tanh(x))),
    ("t2.tanh", "1 - x^2", lambda x, d: d * (1 - x ** 2)),
    ("t2.tanh", "forgotten delta", lambda x, d: 1 - np.tanh(x) ** 2),
    ("t2.tanh", "(1 - tanh)^2", lambda x, d: d * (1 - np.tanh(x)) ** 2),
    ("t2.tanh", "sech instead of sech^2", lambda x, d: d / np.cosh(x)),
    ("t2.maxpool", "delta to every tied maximiser", lambda x, d: d * (x == x.max())),
    ("t2.maxpool", "delta to the minimum", _argmin),
    ("t2.maxpool", "delta / d everywhere", lambda x, d: np.full_like(x, d / x.size)),
    ("t2.maxpool", "sign flipped", lambda x, d: -max_ref(x, d)),
    ("t2.avgpool", "missing 1/d", lambda x, d: d * np.ones_like(x)),
    ("t2.avgpool", "1/(d-1)", lambda x, d: np.full_like(x, d / max(x.size - 1, 1))),
    ("t2.avgpool", "1/d^2", lambda x, d: np.full_like(x, d / x.size ** 2)),
    ("t2.avgpool", "only the first entry", lambda x, d: np.eye(x.size)[0] * d / x.size),
] + [(w.result, f"key's wrong answer {w.id}", w.function()) for w in WRONG_ANSWERS]


def _scatter_dX(X, W, b, d):
    """The definition, output by output: each delta_ij spreads W over the pixels it saw."""
    g = np.zeros_like(X)
    p = W.shape[0]
    for i in range(d.shape[0]):
        for j in range(d.shape[1]):
            g[i:i + p, j:j + p] += d[i, j] * W
    return g


def _einsum_dX(X, W, b, d):
    p = W.shape[0]
    windows = sliding_window_view(np.pad(d, p - 1), (p, p))
    return np.einsum("ijuv,uv->ij", windows, W[::-1, ::-1])


def _im2col_dX(X, W, b, d):
    p = W.shape[0]
    cols = sliding_window_view(np.pad(d, p - 1), (p, p)).reshape(X.size, p * p)
    return (cols @ np.rot90(W, 2).ravel()).reshape(X.shape)


def _loops_dW(X, W, b, d):
    p = W.shape[0]
    rows, cols = d.shape
    return np.array([[np.sum(d * X[u:u + rows, v:v + cols]) for v in range(p)] for u in range(p)])


def _even_split(x, d):
    tied = x == x.max()
    return d * tied / tied.sum()


def _last_maximiser(x, d):
    g = np.zeros_like(x)
    g[x.size - 1 - np.argmax(x[::-1])] = d
    return g


# (result id, name, function): each must be accepted
RIGHT = [
    ("t1.dX", "scatter loops", _scatter_dX),
    ("t1.dX", "scipy convolve2d full", lambda X, W, b, d: signal.convolve2d(d, W, mode="full")),
    ("t1.dX", "scipy correlate2d with rot90", lambda X, W, b, d: signal.correlate2d(d, np.rot90(W, 2), mode="full")),
    ("t1.dX", "FFT convolution", lambda X, W, b, d: signal.fftconvolve(d, W, mode="full")),
    ("t1.dX", "einsum over windows", _einsum_dX),
    ("t1.dX", "im2col", _im2col_dX),
    ("t1.dW", "loops over the kernel", _loops_dW),
    ("t1.dW", "scipy correlate2d", lambda X, W, b, d: signal.correlate2d(X, d, mode="valid")),
    ("t1.dW", "einsum over windows", lambda X, W, b, d: np.einsum("uvij,ij->uv", sliding_window_view(X, d.shape), d)),
    ("t1.db", "einsum", lambda X, W, b, d: np.einsum("ij->", d)),
    ("t1.db", "sum with keepdims", lambda X, W, b, d: d.sum(keepdims=True)),
    ("t1.db", "a Python float", lambda X, W, b, d: float(np.sum(d))),
    ("t2.tanh", "sech^2", lambda x, d: d / np.cosh(x) ** 2),
    ("t2.tanh", "exponentials", lambda x, d: d * 4 / (np.exp(x) + np.exp(-x)) ** 2),
    ("t2.maxpool", "first maximiser", lambda x, d: d * (np.arange(x.size) == np.argmax(x))),
    ("t2.maxpool", "last maximiser", _last_maximiser),
    ("t2.maxpool", "even split at ties", _even_split),
    ("t2.maxpool", "the sample's idea (route to the arg max)", lambda x, d: np.where(np.arange(x.size) == np.argmax(x), d, 0.0)),
    ("t2.avgpool", "full_like", lambda x, d: np.full_like(x, d / x.size)),
    ("t2.avgpool", "mean of identity rows", lambda x, d: d * np.eye(x.size).mean(axis=0)),
]
