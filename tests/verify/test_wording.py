"""Counts in messages and documents agree with their nouns."""
from __future__ import annotations

from verify.wording import plural


def test_one_is_singular_and_every_other_count_plural():
    assert [plural(n, "point") for n in (0, 1, 2)] == ["0 points", "1 point", "2 points"]
    assert plural(1, "entry", "entries") == "1 entry" and plural(3, "entry", "entries") == "3 entries"
