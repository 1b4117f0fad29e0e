"""Base classes of the wire contract shared by the client, the engine and the tools."""

from __future__ import annotations

import unicodedata
from datetime import UTC, datetime
from typing import Annotated, Any

from pydantic import AfterValidator, AwareDatetime, BaseModel, BeforeValidator, ConfigDict, Field, PlainSerializer
from pydantic_core import PydanticCustomError

__all__ = ["NAME_MAX_LENGTH", "Name", "Pagination", "RequestModel", "ResponseModel", "Timestamp", "iso", "utcnow"]

NAME_MAX_LENGTH = 255
"""AX's limit on the name of every named resource (1–255 characters)."""


class RequestModel(BaseModel):
    """A request body: unknown keys are rejected, as AX rejects them."""

    model_config = ConfigDict(extra="forbid", populate_by_name=True)

    def to_body(self) -> dict[str, Any]:
        """The JSON body to send: unset fields are omitted, explicitly set ``None`` is sent as ``null``."""
        return self.model_dump(mode="json", exclude_unset=True, by_alias=True)


class ResponseModel(BaseModel):
    """A response body: unknown keys are kept, so a newer server never breaks an older client."""

    model_config = ConfigDict(extra="allow", populate_by_name=True)


def _as_aware(value: Any) -> Any:
    # AX accepts naive datetimes as UTC (the CLI stamps them so); we do the same instead of failing.
    if isinstance(value, datetime) and value.tzinfo is None:
        return value.replace(tzinfo=UTC)
    if isinstance(value, str) and value and value[-1] not in "Zz" and "+" not in value[10:] and "-" not in value[10:]:
        try:
            return datetime.fromisoformat(value).replace(tzinfo=UTC)
        except ValueError:
            return value
    return value


def _no_control_characters(value: str) -> str:
    # A NUL or newline in a name breaks every table, filter and log line that shows it.
    for index, char in enumerate(value):
        if unicodedata.category(char) == "Cc":
            raise PydanticCustomError(
                "control_character",
                "must not contain control characters (found {char} at position {index}); use printable text",
                {"char": f"U+{ord(char):04X}", "index": index},
            )
    return value


Name = Annotated[str, Field(min_length=1, max_length=NAME_MAX_LENGTH), AfterValidator(_no_control_characters)]
"""The name of a resource in a create or update request: 1–255 characters, none of them control characters."""


def iso(value: datetime) -> str:
    """Render a datetime as AX does: ISO 8601 in UTC with a ``Z`` suffix and millisecond precision."""
    return value.astimezone(UTC).isoformat(timespec="milliseconds").replace("+00:00", "Z")


Timestamp = Annotated[AwareDatetime, BeforeValidator(_as_aware), PlainSerializer(iso, return_type=str)]
"""A timezone-aware datetime; naive input is taken as UTC; serialised as ``2026-01-02T03:04:05.000Z``."""


def utcnow() -> datetime:
    """The current time, timezone-aware, in UTC."""
    return datetime.now(UTC)


class Pagination(ResponseModel):
    """The ``pagination`` object of every list response; ``next_cursor`` is absent when ``has_more`` is false."""

    has_more: bool = False
    next_cursor: str | None = None
