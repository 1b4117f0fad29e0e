"""Shared argument helpers: time window parsing and the annotation presets."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

import pytest
from mcp.server.mcpserver.exceptions import ToolError

from arize_skills.mcp_server.types import parse_time, tool_annotations

NOW = datetime(2026, 8, 10, 12, 30, tzinfo=UTC)


@pytest.mark.parametrize(
    "text,expected",
    [
        ("2026-08-01T09:30:00Z", datetime(2026, 8, 1, 9, 30, tzinfo=UTC)),
        ("2026-08-01T09:30:00z", datetime(2026, 8, 1, 9, 30, tzinfo=UTC)),
        ("2026-08-01T11:30:00+02:00", datetime(2026, 8, 1, 9, 30, tzinfo=UTC)),
        ("2026-08-01T09:30:00", datetime(2026, 8, 1, 9, 30, tzinfo=UTC)),
        ("2026-08-01", datetime(2026, 8, 1, tzinfo=UTC)),
        ("now", NOW),
        (" NOW ", NOW),
        ("-7d", NOW - timedelta(days=7)),
        ("-24h", NOW - timedelta(hours=24)),
        ("-30m", NOW - timedelta(minutes=30)),
        ("-2w", NOW - timedelta(weeks=2)),
    ],
)
def test_time_arguments_accept_iso_times_dates_now_and_offsets(text: str, expected: datetime) -> None:
    parsed = parse_time(text, "start_time", now=NOW)
    assert parsed == expected
    assert parsed.tzinfo is not None and parsed.utcoffset() == timedelta(0)


@pytest.mark.parametrize("text", ["yesterday", "7d", "-7y", "-d", "2026-13-01", "08/01/2026"])
def test_a_time_that_is_none_of_those_forms_is_refused_naming_the_field_and_the_forms(text: str) -> None:
    with pytest.raises(ToolError) as caught:
        parse_time(text, "end_time", now=NOW)
    message = str(caught.value)
    assert message.startswith(f"end_time: {text!r} is not a time.")
    assert "ISO 8601" in message and "'-7d'" in message


def test_annotation_presets_follow_what_each_kind_of_tool_does() -> None:
    read = tool_annotations("Read", "read")
    assert (read.read_only_hint, read.destructive_hint, read.idempotent_hint, read.open_world_hint) == (
        True,
        False,
        True,
        False,
    )
    create = tool_annotations("Create", "create")
    assert (create.read_only_hint, create.destructive_hint, create.idempotent_hint) == (False, False, False)
    update = tool_annotations("Update", "update")
    assert (update.read_only_hint, update.destructive_hint, update.idempotent_hint) == (False, True, True)
    delete = tool_annotations("Delete", "delete", calls_llm=False)
    assert (delete.destructive_hint, delete.idempotent_hint, delete.open_world_hint) == (True, True, False)
    assert tool_annotations("Backfill", "create", calls_llm=True).open_world_hint is True
    assert read.title == "Read"
