"""The instructions a session receives, and the backend they name; importable before the MCP SDK is.

``state.instructions_for`` words them from a running server's state (the resolved default space); before the
server runs, ``instructions_from_settings`` words them from the settings alone.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime

from ..settings import Backend, Settings

__all__ = ["BackendInfo", "backend_info", "instructions", "instructions_from_settings"]


@dataclass(frozen=True)
class BackendInfo:
    """Which backend the server talks to, described without secrets."""

    kind: Backend
    base_url: str | None
    label: str


def backend_info(settings: Settings) -> BackendInfo:
    """The backend the settings chose, in words."""
    if settings.backend == "ax":
        return BackendInfo("ax", settings.base_url, f"Arize AX at {settings.base_url}")
    if settings.backend == "engine-url":
        return BackendInfo("engine-url", settings.base_url, f"the local engine at {settings.base_url}")
    return BackendInfo("embedded", None, f"the embedded local engine (state in {settings.home})")


def instructions(backend: str, space: str, today: datetime) -> str:
    """What the server is for, on which backend, with which default space, and today's date."""
    return (
        "arize-skills: LLM evaluation work (tasks, backfills, experiments, judges, datasets, annotations) on "
        f"{backend}. {space} Today is {today.date().isoformat()} (UTC); time windows take ISO 8601 times or offsets "
        "such as '-7d'. Every tool accepts names or IDs and echoes both. Start with status; find lists any kind of "
        "resource by name. Lists are paged: pass next_cursor back as cursor. Destructive tools need the user's "
        "confirmation: ask the user, never assume it."
    )


def instructions_from_settings(settings: Settings, today: datetime) -> str:
    """The instructions before the server runs: the default space as configured, not yet resolved."""
    space = (
        f"Default space: {settings.space!r}; tools use it when space= is omitted."
        if settings.space
        else "Default space: the backend's only space (the status tool names it)."
    )
    return instructions(backend_info(settings).label, space, today)
