"""The one retry rule: Retry-After honoured up to the cap, otherwise jittered exponential backoff."""

from __future__ import annotations

import email.utils
import random
import time

import httpx2
import pytest

from arize_skills.foundation.retry import RetryPolicy, parse_retry_after, retry_after_seconds


def test_the_defaults_are_the_documented_policy() -> None:
    policy = RetryPolicy()
    assert (policy.max_retries, policy.initial_delay, policy.max_delay) == (2, 0.5, 8.0)
    assert (policy.max_retry_after, policy.jitter) == (60.0, 0.25)


def test_a_retry_after_within_the_cap_is_waited_exactly() -> None:
    assert RetryPolicy().delay(1, 2.5) == 2.5
    assert RetryPolicy().delay(1, 0.0) == 0.0


def test_a_retry_after_above_the_cap_waits_the_cap() -> None:
    assert RetryPolicy().delay(1, 120.0) == 60.0
    assert RetryPolicy(max_retry_after=5.0).delay(3, 3600.0) == 5.0


def test_a_negative_retry_after_waits_nothing() -> None:
    assert RetryPolicy().delay(1, -3.0) == 0.0


@pytest.mark.parametrize(("draw", "factor"), [(0.0, 1.0), (0.5, 0.875), (0.999999, 0.75)])
def test_backoff_doubles_to_the_maximum_and_jitter_shortens_it_to_at_most_one_minus_jitter(
    monkeypatch: pytest.MonkeyPatch, draw: float, factor: float
) -> None:
    monkeypatch.setattr(random, "random", lambda: draw)
    policy = RetryPolicy(initial_delay=0.5, max_delay=4.0, jitter=0.25)
    delays = [policy.delay(attempt) for attempt in range(1, 7)]
    assert delays == pytest.approx([base * factor for base in (0.5, 1.0, 2.0, 4.0, 4.0, 4.0)], rel=1e-5)


def test_jitter_stays_within_its_bounds_over_many_draws(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr(random, "random", random.Random(1234).random)
    policy = RetryPolicy(initial_delay=1.0, max_delay=8.0, jitter=0.5)
    delays = [policy.delay(3) for _ in range(500)]
    assert all(2.0 < d <= 4.0 for d in delays)
    assert min(delays) < 2.1 and max(delays) > 3.9


def test_no_jitter_waits_the_base_exactly() -> None:
    assert RetryPolicy(initial_delay=1.0, jitter=0.0).delay(2) == 2.0


def test_retry_after_is_read_as_seconds_or_an_http_date() -> None:
    assert parse_retry_after("7") == 7.0
    assert parse_retry_after("1.5") == 1.5
    when = email.utils.formatdate(time.time() + 30, usegmt=True)
    seconds = parse_retry_after(when)
    assert seconds is not None and 27.0 <= seconds <= 30.0


def test_retry_after_is_never_negative() -> None:
    assert parse_retry_after("-5") == 0.0
    assert parse_retry_after(email.utils.formatdate(time.time() - 3600, usegmt=True)) == 0.0


@pytest.mark.parametrize("value", [None, "", "soon", "Tue, 99 Foo 2024"])
def test_a_missing_or_unreadable_retry_after_is_none(value: str | None) -> None:
    assert parse_retry_after(value) is None


def test_retry_after_ms_wins_over_retry_after() -> None:
    assert retry_after_seconds({"retry-after-ms": "1500", "Retry-After": "9"}) == 1.5
    assert retry_after_seconds(httpx2.Headers({"Retry-After-Ms": "250", "retry-after": "9"})) == 0.25


def test_an_unreadable_retry_after_ms_falls_back_to_retry_after() -> None:
    assert retry_after_seconds({"retry-after-ms": "later", "Retry-After": "3"}) == 3.0
    assert retry_after_seconds({"retry-after-ms": "-20"}) == 0.0


def test_headers_without_a_wait_give_none() -> None:
    assert retry_after_seconds({}) is None
    assert retry_after_seconds(httpx2.Headers({"content-type": "application/json"})) is None
