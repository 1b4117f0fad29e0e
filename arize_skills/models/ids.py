"""AX-style global IDs: base64 of ``Type:number:suffix``.

The official SDK tells an ID from a name by decoding it (``is_resource_id``), so the engine issues IDs of the
same form and the client applies the same test.
"""

from __future__ import annotations

import base64
import binascii
import secrets
import string
from typing import NamedTuple

__all__ = ["GlobalId", "decode_id", "encode_id", "is_resource_id", "new_suffix"]

# Numbers are SQLite row numbers: signed 64-bit, so no ID holds a longer one.
_MAX_NUMBER = 2**63 - 1

_SUFFIX_ALPHABET = string.ascii_letters + string.digits


class GlobalId(NamedTuple):
    """A decoded global ID."""

    type_name: str
    number: int
    suffix: str


def new_suffix() -> str:
    """A random four-character suffix, as AX puts on most IDs."""
    return "".join(secrets.choice(_SUFFIX_ALPHABET) for _ in range(4))


def encode_id(type_name: str, number: int, suffix: str = "") -> str:
    """Encode ``Type:number[:suffix]`` as standard base64 with padding."""
    raw = f"{type_name}:{number}" + (f":{suffix}" if suffix else "")
    return base64.b64encode(raw.encode()).decode()


def decode_id(value: str) -> GlobalId | None:
    """Decode a global ID; ``None`` when ``value`` is not one (including a number no row can have)."""
    try:
        text = base64.b64decode(value, validate=True).decode("utf-8")
    except (binascii.Error, UnicodeDecodeError, ValueError):
        return None
    parts = text.split(":")
    if len(parts) not in (2, 3) or not parts[0] or not (parts[1].isascii() and parts[1].isdigit()):
        return None
    # Checking the length first keeps int() off digit strings past its conversion limit.
    number = int(parts[1]) if len(parts[1]) <= 19 else _MAX_NUMBER + 1
    if number > _MAX_NUMBER:
        return None
    return GlobalId(parts[0], number, parts[2] if len(parts) == 3 else "")


def is_resource_id(value: str) -> bool:
    """True when ``value`` looks like a global ID by the official SDK's rule (base64 of UTF-8 text with ``:``)."""
    try:
        text = base64.b64decode(value, validate=True).decode("utf-8")
    except (binascii.Error, UnicodeDecodeError, ValueError):
        return False
    return ":" in text
