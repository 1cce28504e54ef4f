"""verify.check: wrong formulas are rejected with a small counterexample, right ones accepted."""
import numpy as np
import pytest
from hypothesis import given, settings, strategies as st

import verify
from solutions import WRONG_ANSWERS

from .formulas import RIGHT, WRONG, dX, max_ref


@pytest.mark.parametrize("result_id, name, fn", WRONG, ids=[f"{r}:{n}" for r, n, _ in WRONG])
def test_wrong_formula_is_rejected_with_a_counterexample(result_id, name, fn):
    outcome = verify.check(result_id, fn)
    assert not outcome.passed, f"{name} was accepted"
    assert outcome.counterexample is not None
    assert outcome.reason


@pytest.mark.parametrize("result_id, name, fn", RIGHT, ids=[f"{r}:{n}" for r, n, _ in RIGHT])
def test_correct_formula_written_differently_is_accepted(result_id, name, fn):
    outcome = verify.check(result_id, fn)
    assert outcome.passed, str(outcome)
    assert outcome.worst_error < 1e-12


def test_catalogue_sizes_meet_the_issue():
    assert len([w for w in WRONG if not w[1].startswith("key's")]) >= 20
    assert len(RIGHT) >= 8


def test_every_flawed_sample_answer_is_rejected():
    samples = {w.id: w for w in WRONG_ANSWERS if w.from_sample}
    assert {"sample.dX", "sample.dW", "sample.db", "sample.tanh", "sample.avgpool"} <= set(samples)
    for answer in samples.values():
        assert not verify.check(answer.result, answer.function()).passed, answer.id


def test_the_samples_dense_layer_dX_fails_on_shape():
    outcome = verify.check("t1.dX", next(w for w in WRONG_ANSWERS if w.id == "sample.dX").function())
    assert outcome.counterexample.method == "contract"
    assert "shape" in outcome.reason


def test_counterexample_is_the_smallest_instance_with_small_integers():
    outcome = verify.check("t1.dX", WRONG[0][2])  # no kernel flip
    ce = outcome.counterexample
    assert ce.method == "exact"
    # (2, 2, 1) passes (a 1x1 kernel needs no flip); the next smallest shape fails
    assert ce.inputs["X"].shape == (2, 3) and ce.inputs["W"].shape == (2, 2)
    assert all(np.all(np.abs(v) <= 3) and np.all(v == np.round(v)) for v in ce.inputs.values())
    assert ce.differing and ce.expected.shape == ce.got.shape == (2, 3)
    text = str(outcome)
    assert "WRONG" in text and "expected gradient" in text and "entries that differ" in text


def test_a_single_pixel_of_a_64x64_image_off_by_one_part_in_a_million_fails():
    def almost(X, W, b, delta):
        g = dX(X, W, b, delta)
        if X.shape == (64, 64):
            g[37, 21] *= 1 + 1e-6
        return g
    outcome = verify.check("t1.dX", almost)
    assert not outcome.passed
    assert outcome.counterexample.inputs["X"].shape == (64, 64)


@pytest.mark.parametrize("bad, reason", [
    (lambda X, W, b, d: 1 / 0, "raised ZeroDivisionError"),
    (lambda X, W, b, d: np.zeros((1, 1)), "shape"),
    (lambda X, W, b, d: np.full_like(X, np.nan), "NaN or inf"),
    (lambda X, W, b, d: np.full_like(X, np.inf), "NaN or inf"),
    (lambda X, W, b, d: X.astype(complex), "dtype"),
    (lambda X, W, b, d: "not an array", "dtype"),
])
def test_a_broken_candidate_fails_with_its_reason_instead_of_crashing(bad, reason):
    outcome = verify.check("t1.dX", bad)
    assert not outcome.passed
    assert reason in outcome.reason
    assert outcome.counterexample.method == "contract"


def test_candidates_get_float64_arrays_and_cannot_corrupt_the_checks():
    seen = []

    def mutating(X, W, b, delta):
        seen.append({type(q) for q in (X, W, b, delta)})
        assert X.dtype == W.dtype == delta.dtype == np.float64 and np.asarray(b).dtype == np.float64
        g = dX(X, W, b, delta)
        X[...] = 0.0
        delta[...] = 0.0
        return g
    assert verify.check("t1.dX", mutating).passed
    assert seen and all(s == {np.ndarray} for s in seen)


def test_unknown_result_id_names_the_known_ones():
    with pytest.raises(KeyError, match="t1.dX"):
        verify.check("t3.dQ", lambda: None)


# ---- max pooling at ties ------------------------------------------------------------------
def _first(x, d):
    return max_ref(x, np.array(d))


def _last(x, d):
    g = np.zeros_like(x)
    g[x.size - 1 - np.argmax(x[::-1])] = d
    return g


def _split(x, d):
    tied = x == x.max()
    return d * tied / tied.sum()


def _uneven(x, d):
    """Weights 1/4 and 3/4 (then 0) on the first two tied entries: still a convex combination."""
    tied = np.flatnonzero(x == x.max())
    g = np.zeros_like(x)
    if tied.size == 1:
        g[tied[0]] = d
    else:
        g[tied[0]], g[tied[1]] = 0.25 * d, 0.75 * d
    return g


@pytest.mark.parametrize("fn", [_first, _last, _split, _uneven])
def test_every_element_of_the_subdifferential_is_accepted_at_ties(fn):
    assert verify.check("t2.maxpool", fn).passed


@pytest.mark.parametrize("x", [[1.0, 3.0, 3.0], [3.0, 3.0, 3.0, 0.0], [2.0, 2.0, 2.0, 2.0],
                               [5.0, 5.0 - 1e-12, 0.0]])
def test_full_delta_to_every_tied_maximiser_is_rejected(x):
    x = np.array(x)
    both = lambda x_, d: d * (x_ == x_.max()) if not np.array_equal(x_, x) else d * (x_ >= x_.max() - 1e-9)
    assert not verify.check("t2.maxpool", both).passed


def test_near_ties_have_a_unique_gradient():
    """x = (1, 1 + 2^-30, 0): the maximiser is unique, so splitting delta is wrong there."""
    def split_near_ties(x, d):
        near = x >= x.max() - 1e-6
        return d * near / near.sum()
    outcome = verify.check("t2.maxpool", split_near_ties)
    assert not outcome.passed


# ---- shapes from hypothesis ---------------------------------------------------------------
@st.composite
def conv_shapes(draw):
    m = draw(st.integers(1, 12))
    n = draw(st.integers(1, 12))
    p = draw(st.integers(1, min(m, n)))
    return m, n, p


@settings(max_examples=25, deadline=None)
@given(conv_shapes())
def test_reference_formulas_pass_at_any_shape(shape):
    for result_id in ("t1.dX", "t1.dW", "t1.db"):
        outcome = verify.check(result_id, verify.formula(result_id), exact=False, float_shapes=[shape])
        assert outcome.passed, str(outcome)


@settings(max_examples=25, deadline=None)
@given(conv_shapes().filter(lambda s: s[2] >= 2))
def test_a_missing_flip_fails_at_any_shape_with_a_real_kernel(shape):
    flip = WRONG[0][2]
    assert not verify.check("t1.dX", flip, exact=False, float_shapes=[shape]).passed


@settings(max_examples=20, deadline=None)
@given(st.integers(1, 300), st.floats(-5, 5).filter(lambda q: abs(q) > 1e-3))
def test_pooling_references_pass_for_any_size_and_delta(d, delta):
    rng = np.random.default_rng(d)
    x = rng.standard_normal(d)
    assert np.isclose(verify.formula("t2.avgpool")(x, np.array(delta)).sum(), delta)
    g = verify.formula("t2.maxpool")(x, np.array(delta))
    assert g[np.argmax(x)] == delta and np.count_nonzero(g) == 1
