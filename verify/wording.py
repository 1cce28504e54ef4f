"""Words that follow a number: messages and documents say "1 point" and "2 points"."""
from __future__ import annotations


def plural(count: float, noun: str, nouns: str | None = None) -> str:
    """'1 point', '0 points', '5 points' ('1 entry', '2 entries' with nouns="entries")."""
    return f"{count} {noun if count == 1 else nouns or noun + 's'}"
