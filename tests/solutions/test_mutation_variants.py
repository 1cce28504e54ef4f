"""Every step a variant shows beyond the base homework's is proved by mutation too (see test_mutation).

One variant per value of each parameter that varies this term (the others combine what those show);
the variants are loaded in the tests, not at collection.
"""
from __future__ import annotations

import pytest

from verify import variants

from .test_mutation import _assert_every_mutant_fails

PACKAGE = "solutions"
EVERY = variants.variants(PACKAGE)
ONE_CHANGE = [v.name for v in EVERY[1:] if sum(value != EVERY[0].values[pid] for pid, value in v.choice) == 1]


def _shown(step) -> tuple:
    return step.id, repr(step.sides), repr(step.at), repr(step.over)


@pytest.mark.parametrize("name", ONE_CHANGE)
def test_every_perturbed_display_of_a_variant_fails_its_check(name):
    base = {_shown(step) for step in variants.load(PACKAGE, EVERY[0]).steps.values()}
    own = {sid: step for sid, step in variants.load(PACKAGE, name).steps.items() if _shown(step) not in base}
    assert own, f"{name} shows nothing the base homework does not"
    for step_id, step in own.items():
        _assert_every_mutant_fails(step_id, step)
