"""Kinks of piecewise-smooth forward operations, found from the operation itself.

Run on sympy symbols, a forward operation written with `verify.ops` shows its
kinks as Max, Min and Abs nodes ("atoms").  At a point where an atom has
several tied branches (a tie of Max, a zero of Abs) the operation has no
derivative; its generalized (Clarke) gradient is the convex hull of the
gradients of the pieces that meet there.  This module finds the atoms, the
pieces active at a point, that hull, and points where atoms are tied, so that
max, ReLU, abs and max pooling are all checked by one method.

Ties are constructed for atoms whose branches are constants or affine in one
input entry (max(0, x), max_i x_i, |x - c|, ...).  Other atoms are still
handled at any point given to `generalized_gradient`; only the search for
their tie points skips them.
"""
from __future__ import annotations

import functools
import itertools
from collections.abc import Mapping, Sequence
from fractions import Fraction

import numpy as np
import sympy as sp

ATOMS = (sp.Max, sp.Min, sp.Abs)
MAX_PIECES = 256


def atoms_of(expressions: Sequence) -> list:
    """Every Max, Min and Abs node in the expressions, innermost first, each once."""
    found: dict = {}
    for expr in expressions:
        for node in sp.postorder_traversal(sp.sympify(expr)):
            if isinstance(node, ATOMS):
                found.setdefault(node, None)
    return list(found)


def branches(atom) -> list:
    """The smooth expressions an atom can select."""
    if isinstance(atom, sp.Abs):
        return [atom.args[0], -atom.args[0]]
    return list(atom.args)


def _value(expr, point: Mapping):
    if isinstance(expr, sp.Symbol):   # most branches (max pooling's entries): a lookup, not a tree walk
        return point.get(expr, expr)
    return sp.sympify(expr).xreplace(point)


def _ordered(values: list) -> list:
    """The values as keys that compare like them: Python fractions where all are rational (sympy's
    comparison of two Rationals costs ~100 times more, and a max of 64 entries makes thousands)."""
    if all(isinstance(v, sp.Rational) for v in values):
        return [Fraction(int(v.p), int(v.q)) for v in values]
    return values


def winners(atom, point: Mapping) -> list:
    """The branches of an atom that attain its value at `point` (one unless the atom is tied there)."""
    if isinstance(atom, sp.Abs):
        arg = _value(atom.args[0], point)
        if arg == 0:
            return branches(atom)
        return [atom.args[0] if arg > 0 else -atom.args[0]]
    values = _ordered([_value(b, point) for b in atom.args])
    best = max(values) if isinstance(atom, sp.Max) else min(values)
    return [b for b, v in zip(atom.args, values) if v == best]


def gap(atom, point: Mapping):
    """How far the point is from this atom's kink: the margin of its winner (0 at a tie)."""
    if isinstance(atom, sp.Abs):
        return abs(_value(atom.args[0], point))
    values = sorted((_value(b, point) for b in atom.args), reverse=isinstance(atom, sp.Max))
    return abs(values[0] - values[1]) if len(values) > 1 else sp.oo


def is_kink(expressions: Sequence, point: Mapping) -> bool:
    return any(len(winners(a, point)) > 1 for a in atoms_of(expressions))


def _select(expr, selection: Mapping):
    """expr with every atom replaced by its selected branch (inner atoms first)."""
    return _selected(sp.sympify(expr), tuple(selection.items()))


@functools.lru_cache(maxsize=4096)
def _selected(expr, selection: tuple):
    # a loss written with symbols alone (the engine's) has the same pieces at every point of its size: each is
    # selected once
    out = expr
    for _ in range(8):  # nested atoms need a few rounds; eight levels is far beyond any operation here
        replaced = out.xreplace(dict(selection))
        if replaced == out:
            return out
        out = replaced
    return out


def pieces(expressions: Sequence, symbols: Sequence, point: Mapping) -> list[dict]:
    """The selections (atom -> branch) of the pieces of the operation that meet at `point`.

    Every combination of tied branches is tried by stepping a little in a
    direction that favors it; the selection found there is kept, so only
    pieces that really exist near the point count.
    """
    atoms = atoms_of(expressions)
    tied = {a: winners(a, point) for a in atoms}
    active = [a for a in atoms if len(tied[a]) > 1]
    if not active:
        return [{a: tied[a][0] for a in atoms}]
    known = set(symbols)
    if len(atoms) == 1 and not isinstance(atoms[0], sp.Abs) and all(b.is_Symbol and b in known for b in tied[atoms[0]]):
        # one maximum (or minimum) of entries, as max pooling is: the piece that favours a tied entry is that entry's,
        # so no step is taken (stepping toward each of 192 tied entries cost half a second)
        return [{atoms[0]: b} for b in tied[atoms[0]][:MAX_PIECES]]
    margins = [gap(a, point) for a in atoms if a not in active]
    room = min([sp.Rational(1)] + [g for g in margins if g != 0])
    found: dict[tuple, dict] = {}
    zero = sp.Integer(0)
    for combo in itertools.islice(itertools.product(*[tied[a] for a in active]), MAX_PIECES):
        direction: dict = {}   # the symbols that move; every other one stays where it is
        for atom, chosen in zip(active, combo):
            sign = -1 if isinstance(atom, sp.Min) else 1
            branches = tied[atom]
            if all(b.is_Symbol for b in branches):
                # the common case (max pooling, ReLU): toward the chosen entry, away from the mean
                share = sp.Rational(sign, len(branches))
                for b in branches:
                    if b in known:
                        direction[b] = direction.get(b, zero) + (sign if b == chosen else 0) - share
                continue
            mean = sum((b for b in branches), sp.Integer(0)) / len(branches)
            for s, slope in _slopes(sign * (chosen - mean)).items():
                if s in known:
                    direction[s] = direction.get(s, zero) + slope
        size = max([abs(q) for q in direction.values()] + [sp.Integer(1)])
        step = room / (8 * size * max(1, len(symbols)))
        moved = dict(point)
        moved.update({s: point[s] + step * q for s, q in direction.items() if q != 0})
        selection = {}
        for atom in atoms:
            options = winners(atom, moved)
            selection[atom] = options[0]
        key = tuple(selection[a] for a in atoms)
        found.setdefault(key, selection)
    return list(found.values())


@functools.lru_cache(maxsize=4096)
def _slopes(expr) -> dict:
    """The constant slopes of an expression affine in its symbols (the branches of max, ReLU, abs)."""
    expr = sp.sympify(expr)
    # An expanded affine expression is a sum of number * symbol terms: its coefficients are the
    # slopes, read without sympy's diff (the kinks of a 9-entry max take a few hundred of these).
    terms = expr.as_coefficients_dict()   # most pieces are sums of number * symbol already: no expand
    if not all(term == 1 or term.is_Symbol for term in terms):
        terms = sp.expand(expr).as_coefficients_dict()
    if all(term == 1 or term.is_Symbol for term in terms):
        slopes = {term: coefficient for term, coefficient in terms.items() if term != 1}
        return {s: slopes.get(s, sp.Integer(0)) for s in expr.free_symbols}
    return {s: sp.diff(expr, s) for s in expr.free_symbols}


def gradient_of_piece(loss, symbols: np.ndarray, point: Mapping, selection: Mapping) -> np.ndarray:
    """The exact gradient of one piece of `loss` with respect to the array of symbols, at `point`."""
    smooth = _select(loss, selection)
    # a piece of a max reads few entries (the rest have slope 0), and is most often affine in them, its
    # slopes read off its terms without sympy's diff (the ties of a check's fresh seed take a thousand pieces)
    slopes = _slopes(smooth)
    zero = sp.Integer(0)
    grad = np.empty(symbols.size, dtype=object)
    grad[:] = [zero if (slope := slopes.get(s)) is None else sp.sympify(slope).xreplace(point) for s in symbols.ravel()]
    return grad.reshape(symbols.shape)


def generalized_gradient(loss, outputs: Sequence, symbols: np.ndarray, point: Mapping) -> list[np.ndarray]:
    """The generating points of the Clarke gradient of `loss` w.r.t. `symbols` at `point`.

    `outputs` are the expressions in which the atoms are looked for (the forward
    output); `loss` is built from them.  One point when `point` is not a kink.
    """
    flat = [s for s in np.asarray(symbols).ravel()]
    known = [s for s in point if s not in flat]
    everything = flat + known
    grads = [gradient_of_piece(loss, np.asarray(symbols), point, sel)
             for sel in pieces(list(outputs), everything, point)]
    unique: dict[tuple, np.ndarray] = {}
    for g in grads:
        unique.setdefault(tuple(g.ravel()), g)
    return list(unique.values())


# ---- constructing tie points ----------------------------------------------------------------
@functools.lru_cache(maxsize=4096)
def _affine_in_one(expr):
    """(symbol, slope, intercept) when expr = slope * symbol + intercept; (None, 0, expr) for constants."""
    expr = sp.sympify(expr)
    free = list(expr.free_symbols)
    if not free:
        return None, sp.Integer(0), expr
    if len(free) != 1:
        return None
    s = free[0]
    slope = sp.diff(expr, s)
    if slope.free_symbols or slope == 0 or sp.diff(slope, s) != 0:
        return None
    return s, slope, sp.expand(expr - slope * s)


def tie_points(expressions: Sequence, base: Mapping, rng: np.random.Generator, *, sizes=None,
               values=(0, 2, -3), per_size: int = 1, ends: bool = True,
               spread: tuple[float, float] | None = None) -> list[tuple[dict, str]]:
    """Points near `base` at which one atom is tied, with a description of each tie.

    For a Max or Min atom: ties of every size in `sizes` that the atom allows
    (by default every size from 2 to all of its branches: k tied of d for every
    k, and all of them equal, at 0 (all zeros, as after a ReLU) and at other values),
    including (with `ends`) one that takes its last branch and one that takes its first; for
    an Abs atom: its argument at 0.  For atoms with several siblings (ReLU on a
    vector) also ties of two and three atoms at once.
    """
    atoms = [a for a in atoms_of(expressions) if all(_affine_in_one(b) is not None for b in a.args)]
    out = []
    for atom in atoms[:1] if len(atoms) > 8 else atoms:
        out += _atom_ties(atom, base, rng, sizes, values, per_size, ends, spread)
    if len(atoms) > 1:
        for count in (2, 3):
            chosen = [atoms[int(q)] for q in rng.choice(len(atoms), size=min(count, len(atoms)), replace=False)]
            point = dict(base)
            ok = True
            for atom in chosen:
                tied = _tie(atom, list(range(len(branches(atom)) if isinstance(atom, sp.Abs) else len(atom.args))),
                            point, rng, value=0)
                if tied is None:
                    ok = False
                    break
                point = tied
            if ok and all(len(winners(a, point)) > 1 for a in chosen):
                out.append((point, f"{len(chosen)} kinks at once"))
    return out


def _atom_ties(atom, base, rng, sizes, values, per_size, ends=True, spread=None):
    out = []
    if isinstance(atom, sp.Abs):
        tied = _tie(atom, [0, 1], dict(base), rng, value=0)
        return [(tied, "|.| at 0")] if tied is not None else []
    k = len(atom.args)
    for t in (sizes if sizes is not None else range(2, k + 1)):
        if t > k:
            break
        layouts = [sorted(rng.choice(k, size=t, replace=False).tolist()) for _ in range(per_size)]
        if ends:
            layouts.append(list(range(k - t, k)))   # the tie ends with the last branch
            layouts.append(list(range(t)))          # and starts with the first
        if t == k:   # every branch equal: at each value (0, as after a ReLU, and others)
            layouts = [list(range(k))] * len(values)
        for layout, value in zip(layouts, itertools.cycle(values)):
            tied = _tie(atom, layout, dict(base), rng, value=value, spread=spread)
            if tied is not None and sorted(atom.args.index(b) for b in winners(atom, tied)) == layout:
                out.append((tied, f"{t}-way tie"))
    return out


def _tie(atom, layout: list[int], point: dict, rng, value, spread=None):
    """Set the branches in `layout` equal to `value` and keep the other branches strictly behind: by 1 to 3, or by
    an exact float drawn from the range `spread`."""
    if isinstance(atom, sp.Abs):
        solved = _affine_in_one(atom.args[0])
        if solved is None or solved[0] is None:
            return None
        s, slope, intercept = solved
        point[s] = -intercept / slope
        return point
    args = list(atom.args)
    constants = {sp.sympify(args[q]) for q in layout if not sp.sympify(args[q]).free_symbols}
    if len(constants) > 1:
        return None
    target = sp.Rational(value) if not constants else constants.pop()   # exact: 0.375 is 3/8
    behind = -1 if isinstance(atom, sp.Max) else 1
    for q, arg in enumerate(args):
        solved = _affine_in_one(arg)
        if solved is None:
            return None
        s, slope, intercept = solved
        gap = int(rng.integers(1, 4)) if spread is None else sp.Rational(float(rng.uniform(*spread)))
        want = target if q in layout else target + behind * gap
        if s is None:
            if (q in layout and intercept != target) or (q not in layout and (intercept - target) * behind <= 0):
                return None
            continue
        point[s] = (want - intercept) / slope
    return point


def near_tie(atom_point: Mapping, expressions: Sequence, relative_gap: float) -> dict | None:
    """A float point next to a tie: one tied branch moved ahead by `relative_gap` (its maximizer is unique)."""
    for atom in atoms_of(expressions):
        tied = winners(atom, atom_point)
        if len(tied) < 2 or isinstance(atom, sp.Abs):
            continue
        solved = _affine_in_one(tied[-1])
        if solved is None or solved[0] is None:
            continue
        s, slope, _ = solved
        value = float(atom_point[s])
        ahead = 1 if isinstance(atom, sp.Max) else -1
        bump = relative_gap * max(abs(value), 1.0) * ahead * (1 if slope > 0 else -1)
        point = {q: float(v) for q, v in atom_point.items()}
        point[s] = value + bump
        if point[s] == value:
            continue
        return point
    return None
