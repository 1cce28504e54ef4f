"""Steps of a derivation: correct ones pass, mutated ones fail with a counterexample."""
import dataclasses

import pytest
import sympy as sp
from sympy import Min, Sum

import solutions
from solutions import t1, t2
from verify.steps import check_step
from verify.symbolic import L, Partial, W, X, Y, delta, delta_pad, i, j, k, l, m, n, p, u, v, x


def mutate(step, *sides):
    return dataclasses.replace(step, sides=tuple(sides))


MUTATIONS = {
    "flipped sign": mutate(t1.DX_CHAIN, Partial(L, X[k, l]),
                           -Sum(delta[i, j] * Partial(Y[i, j], X[k, l]), (j, 0, n - p), (i, 0, m - p))),
    "missing rotation": mutate(t1.DX_FLIP, Partial(L, X[k, l]),
                               Sum(delta_pad[k + u, l + v] * W[u, v], (v, 0, p - 1), (u, 0, p - 1))),
    "wrong bound": mutate(t1.DX_BOUNDS, Partial(L, X[k, l]),
                          Sum(delta[i, j] * W[k - i, l - j], (j, sp.Max(0, l - p + 1), Min(n - p, l)),
                              (i, sp.Max(0, k - p + 1), Min(m - p, k - 1)))),
    "tanh' = 1 - tanh": mutate(t2.TANH_LOCAL, Partial(t2.z[i], x[k]), sp.KroneckerDelta(i, k) * (1 - sp.tanh(x[k]))),
    "shape off by one": mutate(t1.DW_SHAPE, m - (m - p + 1), p),
    "wrong tanh derivative": mutate(t2.TANH_DERIVATIVE, sp.Derivative(sp.tanh(t2.t), t2.t), 1 - sp.tanh(t2.t)),
}


@pytest.mark.parametrize("name", MUTATIONS)
def test_a_mutated_step_fails_with_a_counterexample(name):
    report = check_step(MUTATIONS[name])
    assert not report.passed, name
    assert "counterexample" in report.counterexample


def test_a_wrong_bound_is_caught_exactly_at_the_border_pixel():
    report = check_step(MUTATIONS["wrong bound"])
    assert "exact" in report.counterexample and "k = " in report.counterexample


def test_every_step_of_the_key_passes():
    failures = [str(r) for r in map(check_step, solutions.STEPS.values()) if not r.passed]
    assert not failures, "\n".join(failures)


def test_result_steps_also_run_the_independent_result_check():
    report = check_step(solutions.STEPS["t1.dX.vectorized"])
    assert report.result["id"] == "t1.dX" and report.result["passed"]
    assert "check(t1.dX)" in report.methods


def test_a_step_whose_formula_cannot_be_evaluated_fails_instead_of_crashing():
    report = check_step(mutate(t1.DW_LOCAL, Partial(Y[i, j], W[u, v]), X[i + u + m, j + v]))
    assert not report.passed and "cannot be evaluated" in report.counterexample


def test_a_claim_that_raises_fails_with_its_reason():
    def broken():
        raise ZeroDivisionError("division by zero in the claim")
    report = check_step(dataclasses.replace(solutions.STEPS["t2.maxpool.ties"], claim=broken))
    assert not report.passed and "ZeroDivisionError" in report.counterexample
