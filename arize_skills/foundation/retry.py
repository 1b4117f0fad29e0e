"""The one HTTP retry policy: how long to wait before retrying, and what the server asked for.

Which failures are worth retrying is each caller's own knowledge (the AX client and an LLM provider classify
statuses differently); how long to wait is decided here, by one rule:

* a server's ``Retry-After`` (or ``retry-after-ms``) is honoured, capped at ``max_retry_after``;
* otherwise exponential backoff ``min(initial_delay * 2 ** (attempt - 1), max_delay)``, shortened by jitter to
  between ``1 - jitter`` and 100 % of that base.
"""

from __future__ import annotations

import email.utils
import random
import time
from collections.abc import Mapping
from dataclasses import dataclass

import httpx2

__all__ = ["RetryPolicy", "parse_retry_after", "retry_after_seconds"]


@dataclass(frozen=True)
class RetryPolicy:
    """How many times to retry a failed request, and how long to wait before each retry."""

    max_retries: int = 2
    initial_delay: float = 0.5
    max_delay: float = 8.0
    max_retry_after: float = 60.0
    jitter: float = 0.25

    def delay(self, attempt: int, retry_after: float | None = None) -> float:
        """Seconds to wait before retry number ``attempt`` (1-based), given the server's ``retry_after``."""
        if retry_after is not None:
            return float(min(max(0.0, retry_after), self.max_retry_after))
        base = min(self.initial_delay * 2 ** (attempt - 1), self.max_delay)
        return float(base * (1 - self.jitter * random.random()))


def parse_retry_after(value: str | None) -> float | None:
    """A ``Retry-After`` value as seconds from now (never negative): a number of seconds or an HTTP date."""
    if not value:
        return None
    try:
        return max(0.0, float(value))
    except ValueError:
        pass
    try:
        when = email.utils.parsedate_to_datetime(value)
    except (TypeError, ValueError):
        return None
    return max(0.0, when.timestamp() - time.time())


def retry_after_seconds(headers: Mapping[str, str] | httpx2.Headers) -> float | None:
    """The wait a response asks for: ``retry-after-ms`` (OpenAI, Anthropic) first, else ``Retry-After``."""
    lowered = headers if isinstance(headers, httpx2.Headers) else {k.lower(): v for k, v in headers.items()}
    milliseconds = lowered.get("retry-after-ms")
    if milliseconds:
        try:
            return max(0.0, float(milliseconds) / 1000)
        except ValueError:
            pass
    return parse_retry_after(lowered.get("retry-after"))
