"""The grading key's arithmetic lives in the rubric's data: criteria with ids and points, deductions and
common answers that name the criteria they charge.  The scores below are the key's decisions, agreed
with the course; a change of a criterion's points that changes any of them must be deliberate."""
from __future__ import annotations

import dataclasses
import itertools
import re

import pytest

from verify.homework import Deduction, Homework, HomeworkError, Part, Rubric, WrongAnswer, load

HW = load("solutions")
PARTS = {p.id: p for p in HW.parts}

# the scores the key decided for Homework 4's common answers (issue 14): pinned, so that a change of the
# criteria's points that moves one is caught; an answer an instructor adds is pinned by adding it here
SCORES = {
    "sample.dX": 0, "no-flip": 5, "transposed": 4, "valid-not-full": 4, "border-skipped": 4, "output-size": 4,
    "sample.dW": 0, "sample.dW.patches": 4, "dW-rotated": 5, "dW-delta-turned": 4,
    "sample.db": 4, "db-not-summed": 3, "db-mean": 3,
    "sample.tanh": 4, "tanh-inner-product": 3, "tanh-no-delta": 3, "tanh-prime": 3, "tanh-squared": 3,
    "sample.maxpool": 3, "max-all-ties": 4, "max-as-mean": 2, "max-every-entry": 2, "max-no-delta": 3,
    "max-mask-no-delta": 2,
    "sample.avgpool": 3, "avg-missing-d": 3, "avg-no-delta": 3,
}
# the same answers in the other convention than their note's, forced (the checker's --convention; the key's rule
# 2(a): a part is read in the reading that gives it the most points unless one is forced for a class): T1.1's border
# answers turn the kernel, a second error in a true convolution, and the valid correlation with the kernel not
# turned keeps its kernel right there.  "no-flip" and "dW-rotated" score 5 in SCORES too: right in the reading of a
# true convolution, which gives them the most (review58 b rows 1-3; before, 4 after a cross-correlation written down).
# "valid-no-flip" is judged in the true convolution's reading (report b row 2: its note's gradient is that reading's),
# so its other convention is the cross-correlation, which charges the final form too
SCORES_OTHER = {"valid-not-full": 3, "border-skipped": 3, "output-size": 3, "valid-no-flip": 3,
                "no-flip": 5, "dW-rotated": 5}   # right in a true convolution: full credit (review57 b row 1)
# an answer whose one error is charged at one criterion of T1.3 (a wrong sum, a wrong local
# derivative such as 1/N, a wrong result after a right chain rule)
T1_3_ONE_ERROR = {"chain": 3, "local": 4, "result": 3}
# answers two TAs graded from the key (review of 2026-12-06) where the key had to decide a point, each written
# with the registry's ids: (part, criteria charged, deductions incurred) -> the score the key now decides
DECIDED = {
    "a weight W[k-i,l-j] without its range and no padding (the border only)": ("t1.dX", ("border",), (), 4),
    "T1.1 bounds k-p+1..k, not clipped, then a right padded form": ("t1.dX", ("border",), (), 4),
    "T1.2 an entry-wise sum and X star delta, nothing before them": ("t1.dW", (), ("no-steps",), 0),
    # review61 b row 4: a wrong range costs T1.3 what it costs T1.1 and T1.2, a deduction of one criterion's worth
    "T1.3 a chain rule over the image's m x n, then the right final line": ("t1.db", (), ("range",), 4),
    "T2.3 the sample's sum, expanded but never equal to dL/dz_j": ("t2.avgpool", (), ("other-setting",), 3),
    "T2.2 a wrong routing with a true statement about ties": ("t2.maxpool", (), ("routing",), 2),
    "T2.2 a wrong routing, nothing said of ties": ("t2.maxpool", ("ties",), ("routing",), 2),
    "T2.3 average pooling routed as a maximum": ("t2.avgpool", (), ("routing",), 2),
    # page review of 2026-12-06 (D03, D07/D11, D10)
    "T2.2 the mask [x_k = max x], nothing said of ties": ("t2.maxpool", (), ("all-ties",), 4),
    "T1.1 a dense-layer answer whose chain rule weights each output's derivative by its delta":
        ("t1.dX", (), ("dense",), 1),
    "T1.1 a dense-layer answer whose dL/dy is one number, the sum of the deltas": ("t1.dX", ("chain",), ("dense",), 0),
    "T1.1 the kernel not turned, no forward pass shown (right in the reading of a true convolution)":
        ("t1.dX", (), (), 5),
    # second grading and page review of 2026-12-06 (answers D05, D10, D16; review D01-D09, D12)
    "T2.1 1 - tanh, then after 'Hmm, more carefully' 1 - tanh^2, the first line not withdrawn":
        ("t2.tanh", ("derivative",), (), 3),
    "T2.3 the chain rule, then (delta/d) times the ones: delta/d shows the local derivative": ("t2.avgpool", (), (), 5),
    "T1.2 a dense reading: sum of delta_ij dy_ij/dW, then dy_ij/dW = X": ("t1.dW", (), ("dense",), 1),
    "T1.3 sum of delta_ij * 1 = sum of delta_ij, nothing else (the factor 1 is the local derivative)":
        ("t1.db", (), (), 5),
    "T1.3 delta * 1 = delta, no sum (steps shown, the chain rule lost)": ("t1.db", ("chain",), (), 3),
    "T1.3 a bare sum of delta_ij, nothing before it": ("t1.db", (), ("no-steps",), 0),
    "T1.3 (sum of the deltas) * dy/db, no loss assumed: every output's derivative is 1": ("t1.db", (), (), 5),
    "T1.1 the scatter view alone, one line (a final form)": ("t1.dX", (), ("no-steps",), 0),
    "T1.1 the chain rule with dY_ij/dX, then the scatter view": ("t1.dX", (), (), 5),
    "T1.1 a cross-correlation written, then the true convolution's local derivative and result":
        ("t1.dX", ("local", "final"), (), 3),
    "T1.1 no forward pass, the true convolution's local derivative and result (as the grader judges code)":
        ("t1.dX", (), (), 5),
    "T1.1 a true convolution written, then its local derivative and result": ("t1.dX", (), (), 5),
    "T1.2 Goodfellow's Section 9.1 form, outputs from p - 1, every bound shifted": ("t1.dW", (), (), 5),
    "T1.2 the sample's sum with x_j the patch and dy/dW = X^T kept": ("t1.dW", ("local",), ("loss",), 3),
    "T1.2 the sample's sum with x_j the patch and no local derivative": ("t1.dW", ("local",), ("loss",), 3),
    "T2.2 max pooling in words alone (the switch description)": ("t2.maxpool", (), (), 5),
    "T2.2 the mask [x_k = max x] and 'f is not differentiable at a tie'": ("t2.maxpool", (), (), 5),
    "T2.2 the mask [x_k = max x] and 'ties are rare'": ("t2.maxpool", (), (), 5),
    "T2.2 the mask, and words that give every tied entry delta": ("t2.maxpool", (), ("all-ties",), 4),
}


def _answer(part: Part, charges=(), deductions=()) -> WrongAnswer:
    return WrongAnswer("probe", part.results[0].id, "probe", "", None, charges=tuple(charges),
                       deductions=tuple(deductions))


def _disagreements(parts: dict[str, Part]) -> list[str]:
    """Where the rubric's data no longer gives the key's decided scores."""
    found = [f"{a.id}: {part.points_for(a)}, decided {SCORES[a.id]}"
             for part in parts.values() for a in part.wrong_answers
             if a.id in SCORES and part.points_for(a) != SCORES[a.id]]
    for part in parts.values():
        for a in part.wrong_answers:
            result = next(r for r in part.results if r.id == a.result)
            for other in [c for c in result.conventions if c != (a.convention or result.default)]:
                got = part.points_for(a, forced=other)
                if got != SCORES_OTHER.get(a.id, SCORES.get(a.id, got)):
                    found.append(f"{a.id} in the {other} convention: {got}, decided "
                                 f"{SCORES_OTHER.get(a.id, SCORES.get(a.id))}")
    db = parts["t1.db"]
    found += [f"t1.db with one error at {c}: {db.points_for(_answer(db, [c]))}, decided {score}"
              for c, score in T1_3_ONE_ERROR.items() if db.points_for(_answer(db, [c])) != score]
    for case, (part_id, charges, deductions, score) in DECIDED.items():
        part = parts[part_id]
        for id_ in charges:
            part.rubric.criterion(id_)          # an id the registry does not list is an error, never ignored
        got = part.points_for(_answer(part, charges, deductions))
        if got != score:
            found.append(f"{case}: {got}, decided {score}")
    return found


def test_every_common_answer_scores_as_the_key_decides():
    assert _disagreements(PARTS) == []


_T1_3 = PARTS["t1.db"].rubric.criteria


@pytest.mark.parametrize("first, second", [(x, y) for x, y in itertools.combinations(range(len(_T1_3)), 2)
                                           if _T1_3[x].points != _T1_3[y].points])   # others change nothing
def test_swapping_the_points_of_two_t1_3_criteria_is_caught(first, second):
    db = PARTS["t1.db"]
    criteria = list(db.rubric.criteria)
    a, b = criteria[first], criteria[second]
    criteria[first], criteria[second] = (dataclasses.replace(a, points=b.points),
                                         dataclasses.replace(b, points=a.points))
    swapped = dataclasses.replace(db, rubric=dataclasses.replace(db.rubric, criteria=tuple(criteria)))
    assert _disagreements({**PARTS, "t1.db": swapped})


def test_an_error_named_twice_is_charged_once_and_a_cap_or_zero_bounds_the_score():
    dx = PARTS["t1.dX"]
    dense = dx.rubric.deduction("dense")
    twice = _answer(dx, charges=dense.charges[:1], deductions=("dense",))
    assert dx.points_for(twice) == dx.points - sum(dx.rubric.criterion(c).points for c in dense.charges)
    assert dx.points_for(_answer(dx, deductions=("no-steps",))) == 0
    everything = _answer(dx, charges=[c.id for c in dx.rubric.criteria], deductions=("loss",))
    assert dx.points_for(everything) == 0
    capped = dataclasses.replace(dx, rubric=dataclasses.replace(
        dx.rubric, deductions=(*dx.rubric.deductions, Deduction("cap", "capped", "capped", cap=2))))
    assert capped.points_for(_answer(capped, deductions=("cap",))) == 2
    assert capped.points_for(_answer(capped, charges=["chain", "local", "border", "final"], deductions=("cap",))) == 1


def test_the_dense_layer_reading_covers_the_assumed_loss_which_elsewhere_comes_on_top_of_the_criteria_lost():
    # review50 b row 3, c row 2: the assumed loss is a point of its own, on top of every criterion lost (in T2 the
    # missing delta's chain rule too), but nothing beside T1's dense-layer reading, whose deduction covers it
    for part in (PARTS["t1.dX"], PARTS["t1.dW"]):
        dense = _answer(part, deductions=("dense",))
        assert part.points_for(_answer(part, deductions=("dense", "loss"))) == part.points_for(dense)
    tanh = PARTS["t2.tanh"]
    missing = _answer(tanh, deductions=("no-delta",))
    assert tanh.points_for(_answer(tanh, deductions=("no-delta", "loss"))) == (
        tanh.points_for(missing) - tanh.rubric.deduction("loss").points)


def test_a_note_that_charges_no_criterion_of_its_part_is_refused_naming_the_module():
    part = PARTS["t2.tanh"]
    wrong = dataclasses.replace(part.wrong_answers[1], charges=("derivatve",))
    broken = dataclasses.replace(part, wrong_answers=(wrong,))
    units = [dataclasses.replace(u, declares=broken) if u.part is part else u for u in HW.units]
    with pytest.raises(HomeworkError, match=rf"solutions/t2_tanh.py: part t2.tanh: wrong answer {wrong.id} "
                                            r"charges 'derivatve'.*did you mean 'derivative'"):
        Homework.assemble("solutions", units)


def test_a_deduction_without_its_criterion_is_refused():
    part = PARTS["t1.db"]
    rubric = Rubric(part.rubric.criteria, (Deduction("odd", "odd", "odd", charges=("sum",)),), part.rubric.full_credit)
    broken = dataclasses.replace(part, rubric=rubric, wrong_answers=())
    t1 = next(u for u in HW.units if u.question is not None and u.question.id == "T1")
    question = dataclasses.replace(t1.question, parts=tuple(broken if p.id == "t1.db" else p
                                                            for p in t1.question.parts))
    units = [dataclasses.replace(u, declares=question) if u is t1 else u for u in HW.units]
    with pytest.raises(HomeworkError, match="deduction odd charges 'sum', which is no criterion"):
        Homework.assemble("solutions", units)


# a point count in prose ("keeps its 2", "3 of 5 points", "2 points off", "one point"): the documents
# print every count from the data, so the prose must not state one
_COUNT = re.compile(r"\b(\d+|one|two|three|four|five)\s+(of\s+\d+\s+)?points?\b|\bkeeps its \d|\bits \d+\b",
                    re.IGNORECASE)


def _prose(part: Part):
    rubric = part.rubric
    yield from ((f"criterion {c.id}", c.name + " " + c.text) for c in rubric.criteria)
    yield from ((f"criterion {c.id}: {kind}", " ".join((kind, *said))) for c in rubric.criteria
                for kind, said in c.statements)
    yield from ((f"deduction {d.id}", d.text) for d in rubric.deductions)
    yield from ((f"full credit {n}", text) for n, text in enumerate(rubric.full_credit))
    yield from ((f"note {a.id}", a.title + " " + a.why + " " + a.decision) for a in part.wrong_answers)


@pytest.mark.parametrize("part", HW.parts, ids=lambda p: p.label)
def test_the_rubric_prose_states_no_point_count(part):
    stated = [f"{where}: {_COUNT.search(text).group(0)!r}" for where, text in _prose(part) if _COUNT.search(text)]
    assert stated == []


def test_the_prose_check_finds_a_stated_count():
    assert _COUNT.search("a chain rule written as a sum keeps its 2.")
    assert _COUNT.search("3 of 5 points") and _COUNT.search("Lose 2 points") and _COUNT.search("one point")
    assert not _COUNT.search("the sum of Step 2 over 2 outputs")


def test_rubric_lookups_suggest_the_nearest_id():
    with pytest.raises(KeyError, match="did you mean 'chain'"):
        Rubric(PARTS["t1.db"].rubric.criteria).criterion("chian")


def test_a_wrong_routing_in_max_pooling_earns_the_chain_rule_alone_whatever_it_says_of_ties():
    """Rule 3 at the front: routing delta as a mean (or a sum) is the gradient of another function, one error
    whose deduction names every criterion it takes, the tie point included (such a formula is wrong at a tie
    too): the points the note says the deduction takes are exactly those, words on ties change nothing, and a
    wrong routing scores below a wrong tie rule."""
    part = PARTS["t2.maxpool"]
    answers = {a.id: a for a in part.wrong_answers}
    routing = part.rubric.deduction("routing")
    assert routing.charges == ("local", "result", "ties")
    for id_ in ("max-as-mean", "max-every-entry"):
        answer = answers[id_]
        assert answer.charges == () and answer.deductions == ("routing",), id_
        assert part.points_for(answer) == part.rubric.criterion("chain").points
        assert part.points_for(answer) < part.points_for(answers["max-all-ties"])


def test_routing_one_pooling_as_the_other_costs_the_same_in_both():
    """Max pooling answered as a mean, and average pooling answered as a maximum, are both a wrong routing: the
    key charges them alike, so that treating a max as a mean never costs less than the reverse."""
    scores = {"t2.maxpool": PARTS["t2.maxpool"].points_for(_answer(PARTS["t2.maxpool"], (), ("routing",))),
              "t2.avgpool": PARTS["t2.avgpool"].points_for(_answer(PARTS["t2.avgpool"], (), ("routing",)))}
    assert len(set(scores.values())) == 1, scores
    assert all(score == PARTS[id_].rubric.criterion("chain").points for id_, score in scores.items())


def test_an_extra_wrong_line_never_raises_a_score():
    """The 1/d left out in average pooling, and the mean of delta in T1.3, are charged at the result (in average
    pooling with the share) wherever they appear: a wrong local derivative written before them costs nothing more
    (rule 3 at the front)."""
    for part_id, deduction in (("t2.avgpool", "missing-d"), ("t1.db", "not-summed")):
        part = PARTS[part_id]
        alone = part.points_for(_answer(part, deductions=(deduction,)))
        assert "result" in part.rubric.deduction(deduction).charges
        assert "local" not in part.rubric.deduction(deduction).charges
        assert alone <= part.points_for(_answer(part, charges=("local",)))


def test_no_long_sentence_of_the_rubrics_prose_is_repeated_in_another_part():
    """A paragraph is said once (issue 14: the loop's reading of delta stood word for word in the full-credit
    lists of T1.1 and T1.2): a sentence of thirty-five words or more, in a criterion, a list of statements or a
    full-credit form, appears in one part alone; a later part points to it.  Shared deductions are one object,
    said once by the key (tests/pipeline/test_render.py)."""
    seen: dict[str, str] = {}
    repeated = []
    for part in HW.parts:
        for where, text in _prose(part):
            if where.startswith("deduction"):
                continue
            for sentence in {q.strip() for q in re.split(r"(?<=[.;])\s+", text)}:
                if len(sentence.split()) >= 35 and seen.setdefault(sentence, part.label) != part.label:
                    repeated.append(f"{part.label} {where} repeats {seen[sentence]}: {sentence[:60]}")
    assert repeated == []
