"""arize-skills: LLM evaluation work (tasks, backfills, experiments, judges) from a coding agent.

The public surface: ``AsyncArizeClient`` (Arize AX REST API v2 and the local engine), ``Engine`` (the local
AX-compatible engine), ``Settings`` (backend resolution) and the exception tree in ``arize_skills.errors``.
"""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

from .foundation.version import __version__

__all__ = ["AsyncArizeClient", "Engine", "Settings", "__version__"]

if TYPE_CHECKING:
    from .client import AsyncArizeClient
    from .engine import Engine
    from .settings import Settings


def __getattr__(name: str) -> Any:
    # Lazy, so that importing a submodule (errors, models) never pulls in the HTTP and ASGI stacks.
    if name == "AsyncArizeClient":
        from .client import AsyncArizeClient

        return AsyncArizeClient
    if name == "Engine":
        from .engine import Engine

        return Engine
    if name == "Settings":
        from .settings import Settings

        return Settings
    raise AttributeError(name)
