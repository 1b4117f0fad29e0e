"""The one check for repeated values that names, labels and filter IDs share."""

from __future__ import annotations

from arize_skills.foundation.repeats import repeated


def test_repeated_lists_each_value_seen_twice_once_and_sorted() -> None:
    assert repeated(["b", "a", "b", "c", "a", "b"]) == ["a", "b"]


def test_repeated_is_empty_when_every_value_is_unique() -> None:
    assert repeated(iter(["x", "y"])) == []
