"""Parsing JSON sent by a client, refusing nesting deep enough to exhaust Python's recursion before parsing."""

from __future__ import annotations

import json
import re
from itertools import accumulate
from typing import Any

from ..errors import ProblemError

__all__ = ["MAX_JSON_DEPTH", "parse_json"]

MAX_JSON_DEPTH = 64
"""The deepest nesting of arrays and objects accepted in any JSON read from a client."""

_JSON_STRING = re.compile(rb'"[^"\\]*(?:\\.[^"\\]*)*"')
# Brackets become +1 / -1 (as signed bytes); every other byte is dropped.
_OPENERS, _CLOSERS = b"[{", b"]}"
_DEPTH_STEPS = bytes.maketrans(_OPENERS + _CLOSERS, b"\x01\x01\xff\xff")
_NOT_BRACKETS = bytes(b for b in range(256) if b not in _OPENERS + _CLOSERS)


def _nesting(raw: bytes) -> int:
    """The deepest nesting of brackets outside JSON strings (C-speed passes: strip strings, keep brackets)."""
    if raw.count(b"[") + raw.count(b"{") <= MAX_JSON_DEPTH:
        return 0
    brackets = _JSON_STRING.sub(b"", raw).translate(_DEPTH_STEPS, _NOT_BRACKETS)
    return max(accumulate(memoryview(brackets).cast("b")), default=0)


def parse_json(raw: bytes | str, *, what: str = "request body") -> Any:
    """Parse JSON sent by a client.

    Raises:
        ProblemError: 400 for text that is not JSON or nests deeper than ``MAX_JSON_DEPTH``, naming ``what``.
    """
    data = raw.encode() if isinstance(raw, str) else raw
    if _nesting(data) > MAX_JSON_DEPTH:
        raise ProblemError(400, f"the {what} nests arrays and objects more than {MAX_JSON_DEPTH} deep; flatten it")
    try:
        return json.loads(data)
    except (json.JSONDecodeError, UnicodeDecodeError) as exc:
        raise ProblemError(400, f"the {what} is not valid JSON: {exc}") from None
