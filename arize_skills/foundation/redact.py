"""The one redactor: which headers hold credentials, which values to keep out of text, and how to mask them.

``redact`` removes known secrets (the API key, credential header values) from a string or a JSON-like value;
``redact_patterns`` removes what merely looks like a credential (an ``Authorization:`` line, a bearer token,
``api_key=…``, an ``sk-…`` key) from text whose secrets are not all known.
"""

from __future__ import annotations

import re
from collections.abc import Iterable, Mapping
from typing import Any, overload

__all__ = [
    "CREDENTIAL_HEADER",
    "MASK",
    "MIN_SECRET_CHARS",
    "is_credential_header",
    "redact",
    "redact_patterns",
    "secrets_of",
]

MASK = "[redacted]"
"""What a redacted secret is replaced by."""

MIN_SECRET_CHARS = 4
"""Shorter values are never treated as secrets: masking every ``"a"`` would garble text and hide nothing."""

CREDENTIAL_HEADER = re.compile(r"auth|key|token|secret|cookie|session|password|signature|credential", re.IGNORECASE)
"""Matches (``search``) a header name whose value is a credential."""

_CREDENTIAL_PATTERNS = [
    re.compile(r"(?i)\b(authorization\s*[:=]\s*)(?:bearer\s+)?\S+"),
    re.compile(r"(?i)\b(bearer\s+)[A-Za-z0-9._~+/=-]{4,}"),
    re.compile(r"(?i)\b((?:api[_-]?key|token|secret|password)\s*[=:]\s*['\"]?)[^\s'\",;]{4,}"),
    re.compile(r"\b()sk-[A-Za-z0-9_-]{8,}"),
]


def is_credential_header(name: str) -> bool:
    """Whether a header called ``name`` carries a credential (its value must never be shown)."""
    return CREDENTIAL_HEADER.search(name) is not None


def secrets_of(api_key: str | None, headers: Mapping[str, str] | None) -> list[str]:
    """The credentials a request sends, longest first: ``api_key`` and each credential header's value, with the
    token after a scheme (``Bearer abc`` also gives ``abc``); values shorter than ``MIN_SECRET_CHARS`` are left out.
    """
    found: set[str] = set()
    if api_key:
        found.add(api_key)
    for name, value in (headers or {}).items():
        if value and is_credential_header(str(name)):
            found.add(str(value))
            _, _, token = str(value).partition(" ")
            if token.strip():
                found.add(token.strip())
    return _longest_first(found)


@overload
def redact(value: str, secrets: Iterable[str], *, mask: str = MASK) -> str: ...


@overload
def redact(value: Any, secrets: Iterable[str], *, mask: str = MASK) -> Any: ...


def redact(value: Any, secrets: Iterable[str], *, mask: str = MASK) -> Any:
    """``value`` with every one of ``secrets`` replaced by ``mask``, inside strings, dicts (values), lists and tuples.

    Secrets shorter than ``MIN_SECRET_CHARS`` are ignored; other values (numbers, ``None``) pass unchanged.
    """
    ordered = _longest_first(secrets)
    return _redact(value, ordered, mask) if ordered else value


def redact_patterns(text: str, *, mask: str = MASK) -> str:
    """``text`` without anything shaped like a credential; a label such as ``Authorization:`` is kept."""
    for pattern in _CREDENTIAL_PATTERNS:
        text = pattern.sub(lambda m: f"{m.group(1)}{mask}", text)
    return text


def _longest_first(secrets: Iterable[str]) -> list[str]:
    # Longest first, so that a secret holding another is masked whole rather than leaving its rest readable.
    return sorted({s for s in secrets if s and len(s) >= MIN_SECRET_CHARS}, key=lambda s: (-len(s), s))


def _redact(value: Any, secrets: list[str], mask: str) -> Any:
    if isinstance(value, str):
        for secret in secrets:
            value = value.replace(secret, mask)
        return value
    if isinstance(value, Mapping):
        return {k: _redact(v, secrets, mask) for k, v in value.items()}
    if isinstance(value, list):
        return [_redact(v, secrets, mask) for v in value]
    if isinstance(value, tuple):
        return tuple(_redact(v, secrets, mask) for v in value)
    return value
