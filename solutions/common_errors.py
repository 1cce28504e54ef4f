"""Common wrong answers, for the grader's notes and the tests.

Each is a formula in the key's vocabulary: the key typesets it and verify
rejects its NumPy compilation, with the smallest counterexample it finds.
The first ones transcribe the flawed sample solution the course received
(see shared/seed/hw4-original.md): it treats the convolution as a dense layer
with a squared loss, so its residual (y_j - t_j) plays the part of delta.
"""
from __future__ import annotations

from dataclasses import dataclass

import sympy as sp

from verify.reference import compile_formula
from verify.symbolic import (Correlate, Hadamard, MaxMask, Ones, Pad, Rot180, SumAll, Transposed, W, X, delta,
                             delta_s, delta_v, m, n, p, product, x)


@dataclass(frozen=True)
class WrongAnswer:
    id: str
    result: str
    title: str
    why: str            # LaTeX (inline math allowed), shown in the grader's notes
    formula: sp.Expr
    from_sample: bool = False

    def function(self):
        return compile_formula(self.result, self.formula)



_tanh_prime = Ones(x) - Hadamard(sp.tanh(x), sp.tanh(x))

WRONG_ANSWERS = [
    WrongAnswer("sample.dX", "t1.dX", "The sample's dense-layer answer",
                "the sliding kernel never appears, and the result has the kernel's shape instead of the image's",
                product(SumAll(delta), W), from_sample=True),
    WrongAnswer("sample.dW", "t1.dW", "The sample's dense-layer answer",
                "residuals times the whole input: the result has the image's shape instead of the kernel's",
                product(SumAll(delta), X), from_sample=True),
    WrongAnswer("sample.db", "t1.db", "The sample's squared-loss factor",
                r"the factor $2/N$ of a squared loss that the question does not have",
                product(2 / ((m - p + 1) * (n - p + 1)), SumAll(delta)), from_sample=True),
    WrongAnswer("sample.tanh", "t2.tanh", "The sample's dense-layer weights",
                r"every output $k$ feeds every input $j$ through weights $w_{kj}$ that the question does not have "
                r"(here all $1$): the entries of $\delta$ are summed instead of matched",
                Hadamard(_tanh_prime, product(SumAll(delta_v), Ones(x))), from_sample=True),
    WrongAnswer("sample.avgpool", "t2.avgpool", "The sample's dense-layer weights",
                r"summing $\delta$ over $d$ outputs through unit weights $w_{kj}$ cancels the $1/d$",
                product(delta_s, Ones(x)), from_sample=True),
    WrongAnswer("no-flip", "t1.dX", "Kernel not rotated",
                r"the full correlation needs the kernel turned by $180^\circ$",
                Correlate(Pad(delta, p - 1), W)),
    WrongAnswer("transposed", "t1.dX", "Kernel transposed instead of rotated",
                "a transpose mirrors across the diagonal; the rotation reverses rows and columns",
                Correlate(Pad(delta, p - 1), Transposed(W))),
    WrongAnswer("valid-not-full", "t1.dX", "Valid instead of full correlation",
                r"without padding $\delta$ by $p - 1$ the result is smaller than $X$",
                Correlate(delta, Rot180(W))),
    WrongAnswer("dW-rotated", "t1.dW", "Rotated kernel gradient",
                r"$\partial L/\partial W$ is a plain correlation of $X$ with $\delta$: nothing is rotated",
                Rot180(Correlate(X, delta))),
    WrongAnswer("tanh-prime", "t2.tanh", "tanh' = 1 - tanh",
                r"the derivative of $\tanh$ is $1 - \tanh^2$",
                Hadamard(delta_v, Ones(x) - sp.tanh(x))),
    WrongAnswer("max-all-ties", "t2.maxpool", "All of delta to every tied maximiser",
                r"the weights on the maximisers must add up to $1$; this gives all of $\delta$ to each of them",
                product(delta_s, MaxMask(x))),
]
