"""The symbols of Homework 4, shared by its modules: one name, one meaning.

Sizes are positive integers; indices are integers.  An IndexedBase is an
array: the same object is printed in the documents and bound to values in
the checks (by its name).
"""
from __future__ import annotations

import sympy as sp

_size = dict(integer=True, positive=True)
_index = dict(integer=True)

# sizes: image m x n, kernel p x p, vector length d; stride s and zero padding P (remarks);
# batch B, channels C, filters K (remarks)
m, n, p, d = sp.symbols("m n p d", **_size)
s, P = sp.symbols("s P", **_size)
B, C, K = sp.symbols("B C K", **_size)

# indices: outputs (i, j) (and their extension by zeros), pixels (k, l), kernel taps (u, v), images of a
# batch r, channels c, filters q
i, j, k, l, u, v, r, c, q = sp.symbols("i j k l u v r c q", **_index)
istar = sp.Symbol("istar", integer=True)      # the maximizer in max pooling



class Slice(sp.Indexed):
    """A whole slice of an array with more axes than its indices, such as channel c of image r of a batch: an
    m x n array, written X^{(r,c)}.  It is evaluated as an Indexed (NumPy's X[r, c] is that slice) and printed
    with its indices as a superscript (solutions.notation), so that a subscript always names one entry."""


# T1: the image, the kernel, the output and the gradient of the loss with respect to it
X = sp.IndexedBase("X")
W = sp.IndexedBase("W")
Y = sp.IndexedBase("Y")
b = sp.Symbol("b")
delta = sp.IndexedBase("delta", shape=(m - p + 1, n - p + 1))
delta_ext = sp.IndexedBase("deltaext")     # delta extended by zeros outside its range
delta_pad = sp.IndexedBase("deltapad")     # delta padded by p-1 zeros on every side
W_rot = sp.IndexedBase("Wrot")             # the kernel turned by 180 degrees
delta_full = sp.IndexedBase("fullconv")    # the full convolution of delta with W (T1.1, Step 6)
# the output and delta in the other indexings of T1 (its "other conventions"), marked so that Y and delta keep
# their one meaning, indexed from 0: Goodfellow et al.'s, indexed from p - 1 (marked [G]), and from 1 (marked [1])
Y_shift = sp.IndexedBase("Yshift")
delta_shift = sp.IndexedBase("deltashift")
Y_one = sp.IndexedBase("Yone")
delta_one = sp.IndexedBase("deltaone")
b_vec = sp.IndexedBase("b")                # one bias per filter (remarks)

# T2: the input vector, the function f, and its output z = f(x): a vector for tanh, one number for a pooling
# (f names the function alone, as in the generalized gradient of f; the value is always z)
x = sp.IndexedBase("x")
z = sp.IndexedBase("z")
z_s = sp.Symbol("z")                             # a pooling's output, one number
f = sp.Symbol("f")
delta_v = sp.IndexedBase("delta", shape=(d,))   # dL/dz, a vector (tanh)
delta_s = sp.Symbol("delta")                     # dL/dz, a scalar (pooling)

L = sp.Symbol("L")
t = sp.Symbol("xi", real=True)                   # a real variable for one-variable identities (t_j are targets)
