"""Candidate gradient formulas for the tests, written the way students and libraries write them.

WRONG holds one or more candidates for every kind of bug that slipped past
earlier versions of verify (state kept between calls, sizes and values beyond
the tested ones, max-pooling value patterns, errors that show only at large
sizes); RIGHT holds correct formulas written in many other ways.  Each entry is
(result id, kind of bug or style, name, function).
"""
from __future__ import annotations

import numpy as np
from numpy.lib.stride_tricks import as_strided, sliding_window_view
from scipy import signal

from verify.homework import load

_HW = load("solutions")
dX, dW, db, tanh_ref, max_ref, avg_ref = (_HW.result(r).gradient().compiled() for r in (
    "t1.dX", "t1.dW", "t1.db", "t2.tanh", "t2.maxpool", "t2.avgpool"))


def _full_dX(X, W, b, d):
    return signal.convolve2d(d, W, mode="full")


# ---- state carried between calls ---------------------------------------------------------------
def _cached_by_shape():
    cache = {}

    def f(X, W, b, d):
        if X.shape not in cache:
            cache[X.shape] = _full_dX(X, W, b, d)
        return cache[X.shape].copy()
    return f


def _buffer_never_zeroed():
    buffers = {}

    def f(x, d):
        g = buffers.setdefault(x.shape, np.zeros(x.shape))
        g[np.argmax(x)] = d          # earlier winners keep their share
        return g.copy()
    return f


def _counter_after_first_call():
    calls = [0]

    def f(X, W, b, d):
        calls[0] += 1
        return _full_dX(X, W, b, d) * (1.0 if calls[0] == 1 else 1.0 + 1e-3 * (calls[0] % 2))
    return f


def _cached_by_the_inputs_alone():
    cache = {}

    def f(x, d):   # delta left out of the key: the same x with another delta gets the first delta's gradient
        return cache.setdefault(x.tobytes(), np.full(x.shape, d / x.size)).copy()
    return f


def _cached_by_the_inputs_and_the_sign_of_delta():
    cache = {}

    def f(x, d):
        key = (x.tobytes(), d > 0)
        if key not in cache:
            cache[key] = d * (np.arange(x.size) == np.argmax(x))
        return cache[key].copy()
    return f


# ---- beyond the tested sizes ---------------------------------------------------------------------
def _off_for(condition):
    def f(X, W, b, d):
        g = _full_dX(X, W, b, d)
        return g * 1.001 if condition(X, W, d) else g
    return f


# ---- max pooling value patterns ---------------------------------------------------------------------
def _running_max_from_zero(x, d):
    best, where = 0.0, 0
    for i, value in enumerate(x):
        if value > best:
            best, where = value, i
    g = np.zeros_like(x)
    g[where] = d
    return g


def _ignores_last(x, d):
    g = np.zeros_like(x)
    g[int(np.argmax(x[:-1])) if x.size > 1 else 0] = d
    return g


def _splits_within_an_absolute_eps(x, d):
    near = np.abs(x - x.max()) < 1e-17      # no relative scale: below 1e-15, only gaps near 0 show it
    return d * near / near.sum()


def _all_of_delta_to_ties_of_fractions(x, d):
    if x.max() == np.round(x.max()):      # right where the maximum is an integer
        return d * (np.arange(x.size) == np.argmax(x))
    return d * (x == x.max())


def _soft_arg_max(x, d):
    with np.errstate(over="ignore", invalid="ignore"):
        weights = np.exp(1e18 * (x - x.max()))
    return d * weights / weights.sum()


def _splits_near_ties(x, d):
    near = x >= x.max() - 1e-12 * max(1.0, abs(x.max()))
    return d * near / near.sum()


def _all_of_delta_to_big_ties(x, d):
    tied = x == x.max()
    return d * tied / tied.sum() if tied.sum() < 5 else d * tied


def _first_half_only(x, d):
    g = np.zeros_like(x)
    half = max(1, x.size // 2)
    g[int(np.argmax(x[:half]))] = d
    return g


# ---- correct formulas written differently -----------------------------------------------------------
def _scatter_dX(X, W, b, d):
    g = np.zeros_like(X)
    p = W.shape[0]
    for i in range(d.shape[0]):
        for j in range(d.shape[1]):
            g[i:i + p, j:j + p] += d[i, j] * W
    return g


def _einsum_dX(X, W, b, d):
    p = W.shape[0]
    return np.einsum("ijuv,uv->ij", sliding_window_view(np.pad(d, p - 1), (p, p)), W[::-1, ::-1])


def _im2col_dX(X, W, b, d):
    p = W.shape[0]
    cols = sliding_window_view(np.pad(d, p - 1), (p, p)).reshape(X.size, p * p)
    return (cols @ np.rot90(W, 2).ravel()).reshape(X.shape)


def _loops_dW(X, W, b, d):
    p = W.shape[0]
    rows, cols = d.shape
    return np.array([[np.sum(d * X[u:u + rows, v:v + cols]) for v in range(p)] for u in range(p)])


def _as_lists(X, W, b, d):
    return signal.convolve2d(d, W, mode="full").tolist()


def _even_split(x, d):
    tied = x == x.max()
    return d * tied / tied.sum()


def _last_maximizer(x, d):
    g = np.zeros_like(x)
    g[x.size - 1 - int(np.argmax(x[::-1]))] = d
    return g


def _checks_b_is_a_number(X, W, b, d):
    assert isinstance(b, float) and np.isscalar(b), "the starter file says b is a number"
    return d.sum()


def _checks_delta_is_a_plain_number(x, d):
    assert type(d) in (int, float), "the starter file says delta is a number"
    return np.full(x.shape, d / x.size)


def _float32_tanh(x, d):
    x32, d32 = x.astype(np.float32), d.astype(np.float32)
    return d32 * (1 - np.tanh(x32) ** 2)


# ---- written to get past the checks (adversarial), or the way students write them --------------------
def _zero_when_max_is_zero(x, d):
    tied = x == x.max()                                # a window of zeros (after a ReLU) gets nothing
    return d * tied / tied.sum() if x.max() != 0 else np.zeros_like(x)


def _nan_when_all_equal(x, d):
    spread = (x - x.min()) / (x.max() - x.min())       # 0 / 0 where every entry is equal
    return d * (spread == 1) / max(1, np.sum(spread == 1))


def _all_of_delta_to_ties_of_9(x, d):
    tied = x == x.max()
    return d * tied / tied.sum() if tied.sum() < 9 else d * tied


def _one_short_at_ties(x, d):
    tied = x == x.max()
    return d * tied / max(1, tied.sum() - 1)


def _float16_quarter_off_at_ties(x, d):
    tied = x == x.max()
    share = d * tied / tied.sum()
    return (share * (1.25 if tied.sum() > 1 else 1.0)).astype(np.float16)


def _raises_where_it_would_be_wrong(x, d):
    tied = x == x.max()
    if tied.sum() > 1:
        raise ValueError("ties are not supported")     # a value the question allows, at a shape it took before
    return d * tied


def _refuses_one_size_and_is_wrong_on_another(x, d):
    if x.size == 9:
        raise ValueError("no windows of 9")
    return d * (x == x.max()) * (1.001 if x.size > 100 else 1.0)


def _naive_dX(X, W, b, d):
    m, n = X.shape
    p = W.shape[0]
    g = np.zeros((m, n))
    for r in range(m):
        for c in range(n):
            total = 0.0
            for u in range(p):
                for v in range(p):
                    i, j = r - u, c - v
                    if 0 <= i < d.shape[0] and 0 <= j < d.shape[1]:
                        total += d[i, j] * W[u, v]
            g[r, c] = total
    return g


def _naive_dW(X, W, b, d):
    p = W.shape[0]
    g = np.zeros((p, p))
    for u in range(p):
        for v in range(p):
            for i in range(d.shape[0]):
                for j in range(d.shape[1]):
                    g[u, v] += X[i + u, j + v] * d[i, j]
    return g


def _naive_db(X, W, b, d):
    total = 0.0
    for i in range(d.shape[0]):
        for j in range(d.shape[1]):
            total += d[i, j]
    return total


def _naive_tanh(x, d):
    g = np.zeros(len(x))
    for i in range(len(x)):
        t = np.tanh(x[i])
        g[i] = d[i] * (1 - t * t)
    return g


def _naive_maxpool(x, d):
    g = np.zeros(len(x))
    best = 0
    for i in range(1, len(x)):
        if x[i] > x[best]:
            best = i
    g[best] = d
    return g


def _naive_avgpool(x, d):
    g = np.zeros(len(x))
    for i in range(len(x)):
        g[i] = d / len(x)
    return g


def _partly_float32_tanh(x, d):
    return d * (1 - np.tanh(x.astype(np.float32)) ** 2)    # float32 inside, float64 out


def _sigmoid_identity_tanh(x, d, dtype=np.float64):
    """tanh' = 4 s (1 - s) with s = sigmoid(2x), in float32: 1 - s cancels terms near 1 (a fresh attacker's)."""
    s = np.float32(1) / (np.float32(1) + np.exp(np.float32(-2) * x.astype(np.float32)))
    return np.asarray(d, dtype=dtype) * np.float32(4) * s * (np.float32(1) - s)


def _strides_from_the_shape(X, W, b, d):
    """Right for a row-major X alone: the windows' strides are computed from the shape, not read from X."""
    n, p, size = X.shape[1], W.shape[0], X.itemsize
    windows = as_strided(X, shape=(p, p, *d.shape), strides=(n * size, size, n * size, size))
    return np.einsum("uvij,ij->uv", windows, d)


# correct naive nested loops, the shape of most students' code: they must pass within the default limits
NAIVE = {"t1.dX": _naive_dX, "t1.dW": _naive_dW, "t1.db": _naive_db, "t2.tanh": _naive_tanh,
         "t2.maxpool": _naive_maxpool, "t2.avgpool": _naive_avgpool}

WRONG = [
    # answers cached by what identifies the inputs but not delta
    ("t2.avgpool", "state", "cached by the inputs alone", _cached_by_the_inputs_alone()),
    ("t2.maxpool", "state", "cached by the inputs and the sign of delta", _cached_by_the_inputs_and_the_sign_of_delta()),
    # memory read as row-major whatever the array's layout
    ("t1.dW", "layout", "strides computed from the shape", _strides_from_the_shape),
    # the flipped kernel and its relatives
    ("t1.dX", "formula", "kernel not turned", lambda X, W, b, d: signal.correlate2d(d, W, mode="full")),
    ("t1.dX", "formula", "kernel transposed", lambda X, W, b, d: signal.correlate2d(d, W.T, mode="full")),
    ("t1.dX", "formula", "rows turned only", lambda X, W, b, d: signal.correlate2d(d, W[::-1, :], mode="full")),
    ("t1.dX", "formula", "valid instead of full", lambda X, W, b, d: signal.convolve2d(d, W, mode="valid")),
    ("t1.dX", "formula", "same instead of full", lambda X, W, b, d: signal.convolve2d(d, W, mode="same")),
    ("t1.dX", "formula", "one row off", lambda X, W, b, d: np.roll(_full_dX(X, W, b, d), 1, axis=0)),
    ("t1.dX", "formula", "bias added", lambda X, W, b, d: _full_dX(X, W, b, d) + b),
    ("t1.dW", "formula", "delta turned", lambda X, W, b, d: signal.convolve2d(X, d, mode="valid")),
    ("t1.dW", "formula", "result transposed", lambda X, W, b, d: signal.correlate2d(X, d, mode="valid").T),
    ("t1.db", "formula", "mean instead of sum", lambda X, W, b, d: d.mean()),
    ("t1.db", "formula", "not summed", lambda X, W, b, d: d),
    ("t2.tanh", "formula", "1 - tanh", lambda x, d: d * (1 - np.tanh(x))),
    ("t2.tanh", "formula", "(1 - tanh)^2", lambda x, d: d * (1 - np.tanh(x)) ** 2),
    ("t2.tanh", "formula", "without delta", lambda x, d: 1 - np.tanh(x) ** 2),
    ("t2.maxpool", "formula", "delta to every tied entry", lambda x, d: d * (x == x.max())),
    ("t2.avgpool", "formula", "1/d left out", lambda x, d: d * np.ones_like(x)),
    # state carried between calls
    ("t1.dX", "state", "kernel cached by input shape", _cached_by_shape()),
    ("t1.dX", "state", "changes after the first call", _counter_after_first_call()),
    ("t2.maxpool", "state", "buffer never zeroed", _buffer_never_zeroed()),
    # beyond the tested sizes
    ("t1.dX", "size", "wrong for images wider than 70", _off_for(lambda X, W, d: X.shape[1] > 70)),
    ("t1.dX", "size", "wrong beyond 5,000 pixels", _off_for(lambda X, W, d: X.size > 5000)),
    ("t1.dX", "size", "wrong for kernels of 9 and more", _off_for(lambda X, W, d: W.shape[0] >= 9)),
    ("t2.avgpool", "size", "wrong beyond 5,000 entries",
     lambda x, d: np.full_like(x, d / x.size if x.size <= 5000 else d / (x.size - 1))),
    # beyond the tested values
    ("t1.dX", "value", "delta clipped to +-4", lambda X, W, b, d: _full_dX(X, W, b, np.clip(d, -4, 4))),
    ("t2.tanh", "value", "tanh' set to 0 for |x| > 4.5",
     lambda x, d: d * np.where(np.abs(x) > 4.5, 0.0, 1 - np.tanh(x) ** 2)),
    ("t2.tanh", "value", "delta clipped to +-4", lambda x, d: np.clip(d, -4, 4) * (1 - np.tanh(x) ** 2)),
    # max-pooling value patterns
    ("t2.maxpool", "pattern", "running maximum that starts at 0", _running_max_from_zero),
    ("t2.maxpool", "pattern", "loop that ignores the last entry", _ignores_last),
    ("t2.maxpool", "pattern", "near-ties within 1e-12 split", _splits_near_ties),
    ("t2.maxpool", "pattern", "ties within an absolute 1e-17 split", _splits_within_an_absolute_eps),
    ("t2.maxpool", "pattern", "a soft arg max, softmax(1e18 x)", _soft_arg_max),
    ("t2.maxpool", "pattern", "delta to every tied entry at ties off the integers", _all_of_delta_to_ties_of_fractions),
    # float32 does not excuse a near-tie rule float32 could see: a split within 1e-12, answered in float32
    ("t2.maxpool", "float32", "near-ties within 1e-12 split, in float32",
     lambda x, d: _splits_near_ties(x, d).astype(np.float32)),
    ("t2.maxpool", "pattern", "ties of 5 or more all get delta", _all_of_delta_to_big_ties),
    ("t2.maxpool", "pattern", "looks at the first half only", _first_half_only),
    # an error that hides in the sum: uniform and relative
    ("t1.dX", "relative", "uniform relative error 1e-10 at large sizes",
     lambda X, W, b, d: _full_dX(X, W, b, d) * (1 + 1e-10 if X.size > 5000 else 1)),
    ("t1.dW", "relative", "uniform relative error 1e-10",
     lambda X, W, b, d: signal.correlate2d(X, d, mode="valid") * (1 + 1e-10)),
    ("t2.avgpool", "relative", "uniform relative error 1e-10",
     lambda x, d: np.full_like(x, d / x.size) * (1 + 1e-10)),
    # float32 does not excuse a wrong formula
    ("t1.dX", "float32", "kernel not turned, in float32",
     lambda X, W, b, d: signal.correlate2d(d.astype(np.float32), W.astype(np.float32), mode="full")),
    ("t2.tanh", "float32", "1 - tanh, in float32",
     lambda x, d: d.astype(np.float32) * (1 - np.tanh(x.astype(np.float32)))),
    ("t2.tanh", "float32", "1 - tanh, partly in float32",
     lambda x, d: d * (1 - np.tanh(x.astype(np.float32)))),
    # an error as small as float32's rounding, but uniform: no rounding explains it
    ("t2.tanh", "relative", "uniform relative error 1e-8", lambda x, d: d * (1 - np.tanh(x) ** 2) * (1 + 1e-8)),
    ("t2.tanh", "relative", "uniform relative error 1e-6", lambda x, d: d * (1 - np.tanh(x) ** 2) * (1 + 1e-6)),
    ("t2.avgpool", "relative", "uniform relative error 1e-8", lambda x, d: np.full_like(x, d / x.size) * (1 + 1e-8)),
    ("t1.db", "relative", "relative error 1e-8", lambda X, W, b, d: np.sum(d) * (1 + 1e-8)),
    # irregular like a rounding, but larger than float32's: not excused as "computed partly in float32"
    ("t2.tanh", "relative", "irregular relative error 1e-5",
     lambda x, d: d * (1 - np.tanh(x) ** 2) * (1 + 1e-5 * np.sin(7 * x + 1))),
    ("t1.dX", "relative", "irregular error 1e-5 at large sizes",
     lambda X, W, b, d: _full_dX(X, W, b, d) * (1 + (1e-5 * np.cos(X) if X.size > 5000 else 0))),
    # every tie pattern: all entries equal, all zeros, ties of 9 and more, at float16 too
    ("t2.maxpool", "pattern", "nothing for a window of zeros", _zero_when_max_is_zero),
    ("t2.maxpool", "pattern", "zeros (0 / 0) where every entry is equal", _nan_when_all_equal),
    ("t2.maxpool", "pattern", "ties of 9 or more all get delta", _all_of_delta_to_ties_of_9),
    ("t2.maxpool", "pattern", "delta / (k - 1) at a tie of k", _one_short_at_ties),
    ("t2.maxpool", "float16", "25% off at ties, in float16", _float16_quarter_off_at_ties),
    # float16 is not judged: right formulas are refused with the rest (a fresh attacker's 0.3% off passed)
    ("t2.tanh", "float16", "0.3% off, in float16", lambda x, d: (d * (1 - np.tanh(x) ** 2) * 1.003).astype(np.float16)),
    ("t2.avgpool", "float16", "rounded to float16", lambda x, d: np.full(x.shape, d / x.size, dtype=np.float16)),
    ("t2.maxpool", "float16", "even split in float16", lambda x, d: _even_split(x, d).astype(np.float16)),
    # wrong only where tanh has saturated (a fresh attacker's passed: no case had |x| > 20)
    ("t2.tanh", "value", "delta itself where |x| > 20", lambda x, d: np.where(np.abs(x) > 20, d, d * (1 - np.tanh(x) ** 2))),
    ("t2.tanh", "value", "NaN past x = 355 (exp(2x) overflows)",
     lambda x, d: d * (1 - ((np.exp(2 * x) - 1) / (np.exp(2 * x) + 1)) ** 2)),
    ("t2.tanh", "value", "delta where |x| > 20, in float32",
     lambda x, d: np.where(np.abs(x) > 20, d, d * (1 - np.tanh(x) ** 2)).astype(np.float32)),
    # raising is no way out: at a shape it answered before it is wrong, and a refusal hides no error
    ("t2.maxpool", "raises", "raises at ties", _raises_where_it_would_be_wrong),
    ("t2.maxpool", "raises", "refuses windows of 9, wrong beyond 100", _refuses_one_size_and_is_wrong_on_another),
]

RIGHT = [
    ("t1.dX", "loops", "scatter loops", _scatter_dX),
    ("t1.dX", "scipy", "convolve2d full", _full_dX),
    ("t1.dX", "scipy", "correlate2d with rot90", lambda X, W, b, d: signal.correlate2d(d, np.rot90(W, 2), mode="full")),
    ("t1.dX", "fft", "FFT convolution", lambda X, W, b, d: signal.fftconvolve(d, W, mode="full")),
    ("t1.dX", "einsum", "einsum over windows", _einsum_dX),
    ("t1.dX", "im2col", "im2col", _im2col_dX),
    ("t1.dX", "lists", "nested lists", _as_lists),
    ("t1.dX", "float32", "convolve2d in float32",
     lambda X, W, b, d: signal.convolve2d(d.astype(np.float32), W.astype(np.float32), mode="full")),
    ("t1.dW", "loops", "loops over the kernel", _loops_dW),
    ("t1.dW", "scipy", "correlate2d", lambda X, W, b, d: signal.correlate2d(X, d, mode="valid")),
    ("t1.dW", "einsum", "einsum over windows",
     lambda X, W, b, d: np.einsum("uvij,ij->uv", sliding_window_view(X, d.shape), d)),
    ("t1.db", "einsum", "einsum", lambda X, W, b, d: np.einsum("ij->", d)),
    ("t1.db", "keepdims", "sum with keepdims", lambda X, W, b, d: d.sum(keepdims=True)),
    ("t1.db", "python", "a Python float", lambda X, W, b, d: float(np.sum(d))),
    ("t2.tanh", "sech", "sech^2", lambda x, d: d / np.cosh(x) ** 2),
    ("t2.tanh", "exponentials", "exponentials", lambda x, d: d * 4 / (np.exp(x) + np.exp(-x)) ** 2),
    ("t2.tanh", "float32", "in float32", _float32_tanh),
    ("t2.maxpool", "ties", "first maximizer", lambda x, d: d * (np.arange(x.size) == np.argmax(x))),
    ("t2.maxpool", "ties", "last maximizer", _last_maximizer),
    ("t2.maxpool", "ties", "even split at ties", _even_split),
    ("t2.maxpool", "lists", "a list", lambda x, d: list(d * (np.arange(x.size) == np.argmax(x)))),
    ("t2.avgpool", "numpy", "full_like", lambda x, d: np.full_like(x, d / x.size)),
    ("t2.avgpool", "python", "a list comprehension", lambda x, d: [float(d) / len(x) for _ in x]),
    # the starter file promises plain numbers where an argument is a scalar
    ("t1.db", "types", "asserts that b is a number", _checks_b_is_a_number),
    ("t2.avgpool", "types", "asserts that delta is a plain number", _checks_delta_is_a_plain_number),
    ("t2.tanh", "float32", "partly in float32", _partly_float32_tanh),
    ("t2.tanh", "float32", "the sigmoid identity in float32, times a float64 delta", _sigmoid_identity_tanh),
    ("t2.tanh", "float32", "the sigmoid identity in float32",
     lambda x, d: _sigmoid_identity_tanh(x, d, np.float32)),
    ("t2.maxpool", "float32", "even split in float32", lambda x, d: _even_split(x, d).astype(np.float32)),
    # float32 inside a float64 answer where rounding leaves the same relative error on every entry, or on a single
    # number: exact wherever float32 holds every number, and so told apart from a wrong factor (1 + 1e-8)
    ("t2.avgpool", "float32", "weights 1/d in float32, times a float64 delta",
     lambda x, d: d * (np.ones(x.size, dtype=np.float32) / np.float32(x.size))),
    ("t1.db", "float32", "delta copied to float32, summed in float64",
     lambda X, W, b, d: np.sum(d.astype(np.float32), dtype=np.float64)),
    # at a near tie float32 cannot tell apart, the arg max of a float32 copy is right for the inputs it sees
    ("t2.maxpool", "float32", "arg max of a float32 copy, answered in float64",
     lambda x, d: d * (np.arange(x.size) == np.argmax(x.astype(np.float32)))),
    ("t2.maxpool", "float32", "even split of the ties of a float32 copy, answered in float64",
     lambda x, d: d * _even_split(x.astype(np.float32), 1.0).astype(np.float64)),
    ("t2.maxpool", "float32", "arg max of a float32 copy, answered in float32",
     lambda x, d: (np.arange(x.size) == np.argmax(x.astype(np.float32))).astype(np.float32) * np.float32(d)),
    ("t2.maxpool", "float32", "even split with float32 weights, times a float64 delta",
     lambda x, d: d * ((x == x.max()) / np.float32((x == x.max()).sum())).astype(np.float32)),
    # (NAIVE, the naive nested loops, are graded by test_grade.py with these same checks, in the sandbox
    # and within the default limits: a second, unlimited run here would only cost seconds)
]
