"""Opaque cursors: a small JSON payload sealed as URL-safe base64, and the fingerprint that binds one to its query.

Every layer that pages (the engine's list routes, the MCP server's budgeted lists) makes its cursors here, so a
cursor is always the same kind of token and a malformed one is refused the same way.
"""

from __future__ import annotations

import base64
import binascii
import hashlib
import json
from collections.abc import Mapping
from typing import Any

from ..errors import ProblemError
from .bounded_json import parse_json

__all__ = ["fingerprint", "seal", "unseal"]


def seal(payload: Mapping[str, Any]) -> str:
    """``payload`` (JSON values) as an opaque cursor."""
    raw = json.dumps(payload, separators=(",", ":"), ensure_ascii=False)
    return base64.urlsafe_b64encode(raw.encode()).decode().rstrip("=")


def unseal(cursor: str) -> dict[str, Any]:
    """The payload of a cursor made by ``seal``.

    Raises:
        ValueError: the text is not such a cursor (not base64, not JSON, nested too deep, or not an object).
    """
    try:
        payload = parse_json(base64.urlsafe_b64decode(cursor + "=" * (-len(cursor) % 4)), what="cursor")
    except (binascii.Error, ValueError, ProblemError):
        raise ValueError("not a cursor") from None
    if not isinstance(payload, dict):
        raise ValueError("not a cursor")
    return payload


def fingerprint(*parts: Any, length: int = 16) -> str:
    """A short fingerprint of a query's arguments; a cursor carrying one is refused for other arguments."""
    text = json.dumps(parts, sort_keys=True, default=str)
    return hashlib.sha256(text.encode()).hexdigest()[:length]
