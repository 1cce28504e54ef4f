"""Steps: each kind is checked by reading what it displays; a wrong display fails with a counterexample."""
from __future__ import annotations

import dataclasses

import numpy as np
import pytest
import sympy as sp
from sympy import Min, Sum

from solutions.symbols import W, X, Y, delta, delta_pad, i, j, k, l, m, n, p, u, v, x
from verify.homework import load
from verify.steps import Kind, Step, check_step
from verify.symbolic import Hull, Partial, shown

HW = load("solutions")


def mutate(step, *sides, **changes):
    return dataclasses.replace(step, sides=tuple(sides) if sides else step.sides, **changes)


def test_every_step_of_the_homework_passes(verification):
    # every step is checked once per test run, with check_step, by the shared fixture (tests/conftest.py),
    # which stops at a failure with the step and its counterexample
    assert set(verification.steps) == set(HW.steps)
    failures = [f"{sid}: {v.reason}" for sid, v in verification.steps.items() if not v.passed]
    assert not failures, "\n".join(failures)


def test_a_wrong_bound_is_caught_exactly_at_the_border_pixel():
    step = HW.steps["t1.dX.bounds"]
    wrong = mutate(step, step.sides[0], Sum(delta[i, j] * W[k - i, l - j], (j, sp.Max(0, l - p + 1), Min(n - p, l)),
                                           (i, sp.Max(0, k - p + 1), Min(m - p, k - 1))))
    verdict = check_step(wrong)
    assert not verdict.passed and verdict.counterexample.method == "exact" and "k = " in verdict.reason


def test_a_missing_turn_of_the_kernel_is_caught():
    step = HW.steps["t1.dX.flip"]
    wrong = mutate(step, step.sides[0], Sum(delta_pad[k + u, l + v] * W[u, v], (v, 0, p - 1), (u, 0, p - 1)))
    assert not check_step(wrong).passed


def test_a_partial_with_respect_to_a_channel_of_a_batch_is_the_gradient_there():
    # dL/dX^{(r,c)}, a sub-array: exact and float64 alike read the gradient's entries at image r and channel c
    step = HW.steps["t1.batch.dX_pair"]
    verdict = check_step(step)
    assert verdict.passed and verdict.methods == ["exact", "float64"]
    over_filters = step.sides[1]
    (q, first, last), = over_filters.limits
    for wrong in (Sum(over_filters.function, (q, first, last - 1)), 2 * over_filters):   # a filter left out; doubled
        failed = check_step(mutate(step, step.sides[0], wrong))
        assert not failed.passed and failed.counterexample.method == "exact"


def test_an_identity_is_proved_for_all_values_or_fails_with_its_residue():
    step = HW.steps["t2.tanh.derivative"]
    t = step.variables[0]
    verdict = check_step(mutate(step, sp.Derivative(sp.tanh(t), t), 1 - sp.tanh(t)))
    assert not verdict.passed and "simplifies to" in verdict.reason


def test_an_example_reads_the_numbers_it_shows():
    step = HW.steps["t1.example.dX"]
    matrix = step.sides[-1]
    changed = matrix.as_mutable()
    changed[0, 0] = shown(int(matrix[0, 0].args[0]) + 1)
    verdict = check_step(mutate(step, *step.sides[:-1], sp.ImmutableMatrix(changed)))
    assert not verdict.passed and "differ" in verdict.reason


def test_rounded_numbers_need_approx_and_stay_within_the_rounding():
    step = HW.steps["t2.tanh.example.slope"]
    assert check_step(step).passed
    assert not check_step(mutate(step, relation="=")).passed
    off = step.sides[-1].as_mutable()
    off[2, 0] = shown(sp.Rational(off[2, 0].args[0]) + sp.Rational(1, 10 ** 4))
    assert not check_step(mutate(step, *step.sides[:-1], sp.ImmutableMatrix(off))).passed


def test_membership_in_the_generalized_gradient_is_checked_both_ways():
    step = HW.steps["t2.maxpool.example.split"]
    assert check_step(step).passed
    all_of_delta = sp.ImmutableMatrix([[shown(0)], [shown(3)], [shown(0)], [shown(3)]])
    assert not check_step(mutate(step, all_of_delta, step.sides[-1])).passed
    assert check_step(mutate(step, all_of_delta, step.sides[-1], relation="notin")).passed


def test_a_subdifferential_with_another_condition_fails():
    step = HW.steps["t2.maxpool.ties"]
    hull = step.sides[1]
    wider = type(hull)(hull.args[0], sp.Ge(x[hull.args[2]], step.sides[0].args[0] - 1), *hull.args[2:])
    verdict = check_step(mutate(step, step.sides[0], wider))
    assert not verdict.passed


def test_a_result_step_also_runs_the_independent_check_of_its_formula():
    verdict = check_step(HW.steps["t1.dX.vectorized"])
    assert verdict.passed and any(m.startswith("result: adjoint") for m in verdict.methods)


def test_a_result_whose_last_side_is_not_its_formula_is_refused_at_once():
    step = HW.steps["t1.dW.vectorized"]
    with pytest.raises(ValueError, match="reference formula"):
        mutate(step, step.sides[0], sp.Mul(step.gradient.formula, 1, evaluate=False))


def test_a_step_that_cannot_be_evaluated_fails_instead_of_crashing():
    step = HW.steps["t1.dW.local"]
    verdict = check_step(mutate(step, Partial(Y[i, j], W[u, v]), X[i + u + m, j + v]))
    assert not verdict.passed and "cannot be evaluated" in verdict.reason


def test_a_step_needs_what_its_kind_checks():
    with pytest.raises(ValueError, match="names the variables"):
        Step("s", (1, 1), Kind.IDENTITY)
    with pytest.raises(ValueError, match="gives its instance"):
        Step("s", (1, 1), Kind.EXAMPLE, HW.result("t1.dX").gradient().operation)
    assert isinstance(Hull([np.zeros(2)]), Hull)


def test_an_example_whose_sides_are_equal_in_forms_sympy_does_not_cancel_passes():
    # tanh(2) and 2 tanh(1) / (1 + tanh(1)^2) are equal; comparing |a - b| unsimplified raised
    # "cannot determine truth value of Relational"
    step = HW.steps["t1.example.dX"]
    t1, t2 = sp.tanh(1), sp.tanh(sp.Rational(1, 2))
    equal = sp.ImmutableMatrix([[sp.tanh(2)], [t1]])
    same = sp.ImmutableMatrix([[2 * t1 / (1 + t1 ** 2)], [2 * t2 / (1 + t2 ** 2)]])
    assert check_step(mutate(step, equal, same)).passed
    off = sp.ImmutableMatrix([[2 * t1 / (1 + t1 ** 2)], [2 * t2 / (1 + t2 ** 2) + sp.Rational(1, 10 ** 6)]])
    verdict = check_step(mutate(step, equal, off))
    assert not verdict.passed and "differ by 1e-06" in verdict.reason


def test_each_kind_has_a_constructor_that_takes_only_what_its_check_reads():
    op = HW.result("t1.dX").gradient().operation
    derivation = Step.derivation("s.d", X[k, l], X[k, l], operation=op, over=((k, 0, m - 1), (l, 0, n - 1)))
    assert derivation.kind is Kind.DERIVATION and check_step(derivation).passed
    assert Step.identity("s.i", sp.Integer(2), sp.Integer(1) + 1, variables=(m,)).kind is Kind.IDENTITY
    assert Step.of(Kind.EXAMPLE) == Step.example
    with pytest.raises(TypeError):
        Step.derivation("s.d", X[k, l], X[k, l], operation=op, at={})       # an example's instance
    with pytest.raises(TypeError):
        Step.identity("s.i", m, m, variables=(m,), operation=op)             # an identity has no operation
    gradient = HW.result("t1.db").gradient()
    result = Step.result("s.r", sp.Symbol("g"), gradient.formula, gradient=gradient)
    assert result.operation is gradient.operation and result.kind is Kind.RESULT


@pytest.mark.parametrize("kind, field, value", [(Kind.DERIVATION, "at", {}), (Kind.DERIVATION, "relation", "in"),
                                                (Kind.EXAMPLE, "over", ((k, 0, 1),)),
                                                (Kind.SUBDIFFERENTIAL, "names", {x: x}),
                                                (Kind.DEFINITION, "variables", (m,))])
def test_a_step_refuses_a_field_its_kind_ignores(kind, field, value):
    op = HW.result("t1.dX").gradient().operation
    extra = {"at": {"X": np.zeros((2, 2))}} if kind is Kind.EXAMPLE else {}
    with pytest.raises(ValueError, match=f"a {kind.value} step takes no {field}"):
        Step("s", (X[0, 0], X[0, 0]), kind, op, **{**extra, field: value})


def _cross_entropy(names=None):
    from verify import ops
    from verify.operation import Operation
    d = sp.Symbol("d", integer=True, positive=True)
    return Operation("ce", lambda z, c: ops.log(ops.exp(z).sum()) - z[c], ("z", "c"), {"z": (d,)}, "ell",
                     exact_sizes=({"d": 2, "c": 0},), float_sizes=({"d": 3, "c": 1},),
                     size_ranges={"d": (2, 5), "c": (0, 1)}, allowed=lambda s: s["c"] < s["d"], names=names or {})


def test_a_partial_of_a_quantity_of_names_says_what_to_write_instead():
    from sympy import KroneckerDelta

    from verify.operation import Operation
    from verify.symbolic import Hadamard
    z, square = sp.IndexedBase("z"), sp.IndexedBase("square")
    d = sp.Symbol("d", integer=True, positive=True)
    over = ((i, 0, d - 1), (k, 0, d - 1))
    sides = (Partial(square[i], z[k]), 2 * z[i] * KroneckerDelta(i, k))
    verdict = check_step(Step.derivation("s", *sides, operation=_cross_entropy({square: Hadamard(z, z)}), over=over))
    assert verdict.reason == ("the step cannot be evaluated: ValueError: a Partial differentiates L or the operation's "
                              "output ell, not square; to differentiate square, give the step an Operation of its own "
                              "whose output is square (an Operation with no Result is allowed)")
    # what the message says to write works
    own = Operation("square", lambda z: z * z, ("z",), {"z": (d,)}, "square", exact_sizes=({"d": 2},),
                    float_sizes=({"d": 3},), size_ranges={"d": (1, 5)})
    assert check_step(Step.derivation("s", *sides, operation=own, over=over)).passed


def test_an_example_input_not_exact_in_binary_is_told_how_to_write_it():
    z = sp.IndexedBase("z")
    at = {"z": np.array([0.1, 0.5]), "delta": 1.0, "c": 0}
    shown_z = sp.ImmutableMatrix([[shown(0.1)], [shown(0.5)]])
    verdict = check_step(Step.example("s", z, shown_z, operation=_cross_entropy(), at=at))
    assert not verdict.passed and verdict.reason.endswith(
        "; z holds 0.1, which a float holds only approximately: give the example inputs exact in binary (such as "
        "0.5, 0.25, -1.5), or relation=\"approx\" (the last side then compared rounded to digits=4)")
    assert check_step(Step.example("s", z, shown_z, operation=_cross_entropy(), at=at, relation="approx")).passed
    exact = {**at, "z": np.array([0.25, 0.5])}
    wrong = check_step(Step.example("s", z, sp.ImmutableMatrix([[shown(0.25)], [shown(1)]]), operation=_cross_entropy(),
                                    at=exact))
    assert not wrong.passed and "exact in binary" not in wrong.reason    # no hint where it would not help
