"""Operations: the kind of checks each gets is found by running it on symbols; domains are checked."""
from __future__ import annotations

import numpy as np
import sympy as sp

from verify import ops
from verify.homework import load
from verify.operation import Operation

HW = load("solutions")
d = sp.Symbol("d", integer=True, positive=True)


def _vector_op(name, forward):
    return Operation(name, forward, ("x",), {"x": (d,)}, "z", ({"d": 1}, {"d": 3}), ({"d": 5},), {"d": (1, 9)},
                     index_base=1)


def test_kinds_are_found_from_the_forward_operation():
    conv = HW.result("t1.dX").gradient().operation
    assert conv.kind.polynomial and conv.kind.affine_in == {"X", "W", "b"} and not conv.kind.piecewise
    tanh = HW.result("t2.tanh").gradient().operation
    assert not tanh.kind.polynomial and not tanh.kind.piecewise and not tanh.kind.affine_in
    maxpool = HW.result("t2.maxpool").gradient().operation
    assert maxpool.kind.piecewise and not maxpool.kind.polynomial
    relu = _vector_op("relu", lambda x: ops.maximum(0, x))
    assert relu.kind.piecewise


def test_sizes_are_read_off_the_inputs():
    conv = HW.result("t1.dX").gradient().operation
    assert conv.sizes_of({"X": np.zeros((4, 5)), "W": np.zeros((3, 3)), "b": 0.0}) == {"m": 4, "n": 5, "p": 3}
    assert conv.output_shape({"m": 4, "n": 5, "p": 3}) == (2, 3)


def test_an_operation_that_cannot_run_on_sympy_values_is_reported_with_the_domain():
    bad = _vector_op("bad", lambda x: np.maximum(0, x))   # numpy's maximum cannot compare symbols
    failures = dict(bad.domain_failures())
    assert "sympy values (exact checks)" in failures
    real_only = _vector_op("real", lambda x: np.real(x) * 2)
    assert any(domain.startswith("complex") for domain, _ in real_only.domain_failures())
    good = _vector_op("good", lambda x: ops.maximum(0, x))
    assert good.domain_failures() == []


def test_the_signature_names_the_arguments_in_order():
    assert HW.result("t1.dX").gradient().signature.startswith("f(X, W, b, delta)")
    assert HW.result("t2.maxpool").gradient().signature.startswith("f(x, delta)")


def test_a_softmax_cross_entropy_with_an_integer_label_runs_in_every_domain_and_is_checked():
    # T3 of the README's recipe: exp and log from verify.ops, the label c an integer setting (after delta)
    from verify.engine import Gradient, check

    def forward(x, c):
        return ops.log(ops.exp(x).sum()) - x[c]
    op = Operation("t3.ce", forward, ("x", "c"), {"x": (d,)}, "f",
                   exact_sizes=({"d": 2, "c": 0}, {"d": 3, "c": 2}), float_sizes=({"d": 5, "c": 1}, {"d": 50, "c": 7}),
                   size_ranges={"d": (2, 9), "c": (0, 1)}, allowed=lambda s: s["c"] < s["d"])
    assert op.domain_failures() == [] and op.candidate_arguments == ("x", "delta", "c")
    gradient = Gradient(op, "x", None)

    def right(x, delta, c):
        e = np.exp(x - x.max())
        return delta * (e / e.sum() - np.eye(len(x))[c])

    def forgets_the_label(x, delta, c):
        e = np.exp(x - x.max())
        return delta * e / e.sum()
    assert check(gradient, right, seed=0).passed
    assert not check(gradient, forgets_the_label, seed=0).passed
