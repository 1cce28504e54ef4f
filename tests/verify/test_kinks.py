"""Kinks found from the operation itself: ties of max, zeros of abs and ReLU, and the hull of gradients there."""
from __future__ import annotations

import numpy as np
import sympy as sp

from verify import kinks, ops

x = sp.symbols("x0:4", real=True)


def _hull(loss, outputs, point):
    points = kinks.generalized_gradient(loss, outputs, np.array(x, dtype=object), point)
    return sorted(tuple(int(v) for v in q) for q in points)


def test_a_tie_of_max_gives_the_one_hot_vectors_of_the_tied_entries():
    f = ops.max_all(np.array(x, dtype=object))
    point = {x[0]: 3, x[1]: 5, x[2]: 5, x[3]: -1}
    assert kinks.is_kink([f], point)
    assert _hull(f, [f], point) == [(0, 0, 1, 0), (0, 1, 0, 0)]


def test_away_from_a_tie_there_is_one_gradient():
    f = ops.max_all(np.array(x, dtype=object))
    point = {x[0]: 3, x[1]: 5, x[2]: 4, x[3]: -1}
    assert not kinks.is_kink([f], point)
    assert _hull(f, [f], point) == [(0, 1, 0, 0)]


def test_relu_at_zero_gives_both_sides_and_two_zeros_give_four_pieces():
    out = ops.maximum(0, np.array(x, dtype=object))
    loss = sum(out)
    one = {x[0]: 0, x[1]: 2, x[2]: -1, x[3]: 3}
    assert _hull(loss, list(out), one) == [(0, 1, 0, 1), (1, 1, 0, 1)]
    two = {x[0]: 0, x[1]: 0, x[2]: -1, x[3]: 3}
    assert len(_hull(loss, list(out), two)) == 4


def test_abs_at_zero_gives_minus_one_and_one():
    out = ops.absolute(np.array(x[:1], dtype=object))
    points = kinks.generalized_gradient(out[0], list(out), np.array(x[:1], dtype=object), {x[0]: 0})
    assert sorted(int(q[0]) for q in points) == [-1, 1]


def test_tie_points_cover_every_tie_size_and_the_last_entry():
    xs = sp.symbols("y0:9", real=True)
    f = ops.max_all(np.array(xs, dtype=object))
    base = {s: sp.Integer(v) for s, v in zip(xs, range(-9, 0))}
    found = kinks.tie_points([f], base, np.random.default_rng(0))
    sizes = {len(kinks.winners(f, point)) for point, _ in found}
    assert set(range(2, 9)) <= sizes
    assert any(xs[-1] in kinks.winners(f, point) for point, _ in found)


def test_a_near_tie_has_a_unique_maximizer_at_the_gap_asked_for():
    xs = sp.symbols("z0:3", real=True)
    f = ops.max_all(np.array(xs, dtype=object))
    tied = {xs[0]: sp.Integer(4), xs[1]: sp.Integer(4), xs[2]: sp.Integer(1)}
    near = kinks.near_tie(tied, [f], 1e-13)
    assert near is not None
    values = sorted(near.values())
    assert 0 < values[-1] - values[-2] <= 1e-12 * 4
    assert not kinks.is_kink([f], {s: sp.Rational(v) for s, v in near.items()})


def test_complex_steps_see_the_derivative_of_the_active_piece():
    values = np.array([1.0, 3.0, 2.0]) + 1e-30j * np.array([5.0, 7.0, 11.0])
    assert np.imag(ops.max_all(values)) / 1e-30 == 7.0
    assert np.allclose(np.imag(ops.maximum(0, np.array([-1.0, 2.0]) + 1e-30j)) / 1e-30, [0.0, 1.0])
    assert np.allclose(np.imag(ops.absolute(np.array([-2.0, 2.0]) + 1e-30j)) / 1e-30, [-1.0, 1.0])


def test_the_non_negative_least_squares_agree_with_scipys():
    from scipy.optimize import nnls as scipy_nnls

    from verify.engine import nnls
    rng = np.random.default_rng(0)
    for _ in range(200):
        rows, cols = int(rng.integers(2, 12)), int(rng.integers(1, 10))
        A, b = rng.standard_normal((rows, cols)), rng.standard_normal(rows)
        ours, theirs = nnls(A, b), scipy_nnls(A, b)[0]
        assert np.all(ours >= 0)
        assert np.linalg.norm(A @ ours - b) <= np.linalg.norm(A @ theirs - b) + 1e-9


def test_ties_of_every_size_up_to_all_branches_including_all_zeros_and_all_equal():
    for d in (2, 3, 9, 12):
        entries = sp.symbols(f"y0:{d}", real=True)
        f = ops.max_all(np.array(entries, dtype=object))
        base = {s: 0 for s in entries}
        points = kinks.tie_points([f], base, np.random.default_rng(0))
        tied = {}
        for point, _ in points:
            values = [point[s] for s in entries]
            k = sum(v == max(values) for v in values)
            tied.setdefault(k, set()).add(max(values) if k == d else None)
        assert set(tied) == set(range(2, d + 1)), d
        assert 0 in tied[d] and len(tied[d] - {0}) >= 1, d      # all zeros, and all equal to another value


def test_every_tie_of_a_window_of_nine_and_more_has_the_hull_of_its_tied_entries():
    for d in (9, 12):
        entries = sp.symbols(f"y0:{d}", real=True)
        f = ops.max_all(np.array(entries, dtype=object))
        for k in range(1, d + 1):
            point = {s: (4 if q < k else q - d) for q, s in enumerate(entries)}
            hull = kinks.generalized_gradient(f, [f], np.array(entries, dtype=object), point)
            assert sorted(tuple(int(v) for v in g) for g in hull) == sorted(
                tuple(int(q == t) for q in range(d)) for t in range(k)), (d, k)
