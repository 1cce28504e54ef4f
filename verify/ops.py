"""Array building blocks that work unchanged in every number domain of the checks.

float64 and complex128 arrays (complex input gives the complex-step
derivative), and object arrays holding sympy numbers, sympy symbols or
polynomial-ring elements (exact derivatives).  Forward operations written with
these functions, and NumPy's arithmetic, can be checked by every method.

Comparisons (maximum, max_all, abs) look at real parts only: the imaginary
part of a complex step carries a derivative, never a decision.  On sympy
symbols they build Max and Abs nodes, where the checks find the kinks.
"""
from __future__ import annotations

import operator

import numpy as np
import sympy as sp


def as_index(value) -> int:
    if isinstance(value, (int, np.integer, sp.Integer)):
        return int(value)
    raise TypeError(f"an index evaluated to a non-integer: {value!r}")


def combine(left, right, op=operator.add):
    """op(left, right), letting the array lead: ring elements do not broadcast over arrays."""
    if isinstance(right, np.ndarray) and not isinstance(left, np.ndarray):
        return op(right, left)  # + and * are commutative in every domain used here
    return op(left, right)


def real_part(value):
    if isinstance(value, (complex, np.complexfloating)):
        return value.real
    if isinstance(value, np.ndarray) and np.iscomplexobj(value):
        return value.real
    return value


def _symbolic(value) -> bool:
    return isinstance(value, sp.Basic) and not value.is_number


def maximum(a, b):
    """Entry-wise maximum of a and b (either may be a scalar)."""
    a_arr, b_arr = np.asarray(a), np.asarray(b)
    if a_arr.dtype == object or b_arr.dtype == object:
        pick = np.vectorize(lambda p, q: sp.Max(p, q, evaluate=False) if _symbolic(p) or _symbolic(q)
                            else (p if sp.sympify(p) >= sp.sympify(q) else q), otypes=[object])
        out = pick(a_arr, b_arr)
        return out if out.ndim else out[()]
    a_b, b_b = np.broadcast_arrays(a_arr, b_arr)
    out = np.where(np.real(a_b) >= np.real(b_b), a_b, b_b)
    return out if out.ndim else out[()]


def max_all(x):
    """The largest entry of x (one number)."""
    x = np.asarray(x)
    if x.dtype == object:
        entries = list(x.ravel())
        if any(_symbolic(q) for q in entries):
            return sp.Max(*entries, evaluate=False) if len(entries) > 1 else entries[0]
        return max(entries, key=sp.sympify)
    return x.ravel()[np.argmax(np.real(x).ravel())]


def extreme(values: list, largest: bool = True):
    """max or min of a few numbers of one domain (index bounds, or values such as max(0, x))."""
    if all(isinstance(q, (int, np.integer)) for q in values):
        return int(max(values) if largest else min(values))
    if any(_symbolic(q) for q in values):
        return (sp.Max if largest else sp.Min)(*values, evaluate=False)
    key = (lambda q: sp.sympify(q)) if any(isinstance(q, sp.Basic) for q in values) else real_part
    return max(values, key=key) if largest else min(values, key=key)


def absolute(x):
    """Entry-wise |x|, by the sign of the real part."""
    x = np.asarray(x)
    if x.dtype == object:
        out = np.vectorize(lambda q: sp.Abs(q, evaluate=False) if _symbolic(q) else abs(sp.sympify(q)),
                           otypes=[object])(x)
        return out if out.ndim else out[()]
    out = np.where(np.real(x) < 0, -x, x)
    return out if out.ndim else out[()]


def tanh(x):
    x = np.asarray(x)
    if x.dtype == object:
        out = np.vectorize(sp.tanh, otypes=[object])(x)
        return out if out.ndim else out[()]
    return np.tanh(x)


def exp(x):
    """e^x entry by entry: floats, complex steps and sympy values (a softmax, a cross-entropy)."""
    return _elementwise(x, np.exp, sp.exp)


def log(x):
    """The natural logarithm entry by entry, in every domain (complex steps keep their derivative)."""
    return _elementwise(x, np.log, sp.log)


def _elementwise(x, numeric, symbolic):
    x = np.asarray(x)
    if x.dtype == object:
        out = np.vectorize(symbolic, otypes=[object])(x)
        return out if out.ndim else out[()]
    with np.errstate(over="ignore", invalid="ignore", divide="ignore"):   # exp(1000) at a saturated entry:
        return numeric(x)                                                  # the checks read inf themselves


def first_argmax(a) -> int:
    """The flat position of the first maximizer (real parts)."""
    a = np.asarray(a)
    if a.dtype == object:
        values = [sp.re(sp.sympify(q)) for q in a.ravel()]
        best = max(values)
        return next(q for q, v in enumerate(values) if v == best)
    return int(np.argmax(np.real(a)))


def max_mask(a):
    """1 at every maximizer of a (real parts), 0 elsewhere."""
    a = np.asarray(a)
    if a.dtype == object:
        values = [sp.re(sp.sympify(q)) for q in a.ravel()]
        best = max(values)
        return np.array([1 if v == best else 0 for v in values], dtype=object).reshape(a.shape)
    real = np.real(a)
    return (real == real.max()).astype(float)


def ones_like(a):
    a = np.asarray(a)
    return np.ones(a.shape, dtype=object if a.dtype == object else float)


def correlate_valid(x, k):
    """'Valid' 2D cross-correlation: out[i, j] = sum_{u,v} x[i+u, j+v] k[u, v].

    Python loops run over whichever is fewer, kernel taps or outputs; NumPy does the rest.
    """
    x, k = np.asarray(x), np.asarray(k)
    (m, n), (p, q) = x.shape, k.shape
    rows, cols = m - p + 1, n - q + 1
    if rows < 1 or cols < 1:
        raise ValueError(f"kernel {k.shape} is larger than the input {x.shape}")
    if rows * cols < p * q:
        # a kernel larger than the output (dL/dW = X star delta): loop over the few outputs instead
        each = np.empty((rows, cols), dtype=np.result_type(x, k) if x.dtype != object and k.dtype != object
                        else object)
        for i in range(rows):
            for j in range(cols):
                each[i, j] = (x[i:i + p, j:j + q] * k).sum()
        return each
    out = None
    for u in range(p):
        for v in range(q):
            term = x[u:u + rows, v:v + cols] * k[u, v]
            out = term if out is None else out + term
    return out


def correlate_batch(x, k):
    """out[a, q] = sum_c x[a, c] star k[q, c] for x (N, C, m, n) and k (K, C, p, p): (N, K, m', n')."""
    x, k = np.asarray(x), np.asarray(k)
    p, q = k.shape[-2:]
    rows, cols = x.shape[2] - p + 1, x.shape[3] - q + 1
    if rows < 1 or cols < 1:
        raise ValueError(f"kernel {k.shape[-2:]} is larger than the input {x.shape[-2:]}")
    out = None
    for u in range(p):
        for v in range(q):
            # (N, C, r, c) x (K, C) summed over C -> (N, r, c, K)
            term = np.tensordot(x[:, :, u:u + rows, v:v + cols], k[:, :, u, v], axes=([1], [1]))
            out = term if out is None else out + term
    assert out is not None   # a kernel has at least one tap
    return np.moveaxis(out, -1, 1)


def _zero(x: np.ndarray):
    """The fill value of x's domain: a Python 0 for exact (object) arrays."""
    return 0 if x.dtype == object else x.dtype.type(0)


def pad(x, width: int):
    """Zero padding of `width` rows and columns on every side of the last two axes."""
    x = np.asarray(x)
    spec = [(0, 0)] * (x.ndim - 2) + [(int(width), int(width))] * 2
    return np.pad(x, spec, mode="constant", constant_values=_zero(x))


def crop(x, width: int):
    """The inverse of pad: drop `width` rows and columns on every side of the last two axes."""
    x = np.asarray(x)
    rows, cols = x.shape[-2:]
    return x[..., width:rows - width, width:cols - width]


def rot180(k):
    """The kernel turned by 180 degrees, on the last two axes."""
    return np.asarray(k)[..., ::-1, ::-1]


def dilate(delta, stride: int):
    """Insert stride-1 zeros between adjacent entries (the adjoint of subsampling)."""
    delta = np.asarray(delta)
    rows, cols = delta.shape
    out = np.zeros(((rows - 1) * stride + 1, (cols - 1) * stride + 1), dtype=delta.dtype)
    if delta.dtype == object:
        out[...] = 0
    out[::stride, ::stride] = delta
    return out


def fit(x, rows: int, cols: int):
    """Crop to, or zero-extend at the bottom and right to, exactly rows x cols."""
    x = np.asarray(x)[:rows, :cols]
    return np.pad(x, ((0, rows - x.shape[0]), (0, cols - x.shape[1])), mode="constant", constant_values=_zero(x))


def matvec(matrix, vector):
    """M v, written out so that object arrays of ring elements multiply too."""
    matrix, vector = np.asarray(matrix), np.asarray(vector)
    if matrix.dtype != object and vector.dtype != object:
        return matrix @ vector
    return np.array([sum((a * b for a, b in zip(row, vector)), start=0) for row in matrix], dtype=object)


def correlation_matrix(w, m: int, n: int):
    """C(W): the ((m-p+1)(n-p+1)) x (mn) matrix with vec(X star W) = C(W) vec(X), rows in row-major order."""
    w = np.asarray(w)
    p, q = w.shape
    rows, cols = m - p + 1, n - q + 1
    out = np.zeros((rows * cols, m * n), dtype=w.dtype)
    if w.dtype == object:
        out[...] = 0
    for i in range(rows):
        for j in range(cols):
            for u in range(p):
                for v in range(q):
                    out[i * cols + j, (i + u) * n + (j + v)] = w[u, v]
    return out


def place(k, i: int, j: int, m: int, n: int):
    """The m x n zero array with the kernel k added at rows i..i+p-1 and columns j..j+p-1."""
    k = np.asarray(k)
    out = np.zeros((m, n), dtype=k.dtype)
    if k.dtype == object:
        out[...] = 0
    out[i:i + k.shape[0], j:j + k.shape[1]] = k
    return out


def patches(x, p: int):
    """The p x p windows of x, row by row: shape ((m-p+1)(n-p+1), p, p)."""
    x = np.asarray(x)
    windows = np.lib.stride_tricks.sliding_window_view(x, (p, p))
    return windows.reshape(-1, p, p).copy()
