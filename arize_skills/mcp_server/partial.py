"""What a tool does with an object it created but could not finish writing: delete it, and say what happened.

An import that takes several requests (a dataset over 1,000 examples, an experiment over 1,000 runs) creates its
object with the first one; when a later one fails, ``discard`` deletes the object and returns the words the error
ends with, so nothing half-written is left behind, or, when even the delete fails, the error names the object and
the call that removes it. ``discard_quietly`` is for a cancelled call: it deletes what it can, shielded from the
cancellation, and says nothing. ``discarded_on_failure`` wraps an import's requests and applies both.
"""

from __future__ import annotations

import contextlib
from collections.abc import AsyncIterator, Awaitable, Callable
from typing import Protocol

import anyio
from mcp.server.mcpserver.exceptions import ToolError

from ..errors import ArizeSkillsError

__all__ = ["Created", "discard", "discard_quietly", "discarded_on_failure"]


class Created(Protocol):
    """An object an import created: a dataset or an experiment."""

    @property
    def id(self) -> str:
        """Its ID."""
        ...

    @property
    def name(self) -> str:
        """Its name."""
        ...


async def discard(kind: str, name: str, object_id: str, delete: Callable[[str], Awaitable[None]]) -> str:
    """Delete the partial ``kind`` (``dataset``, ``experiment``) ``object_id``; the words for the error that follows."""
    try:
        await delete(object_id)
    except ArizeSkillsError as exc:
        return (
            f"the partial {kind} '{name}' ({object_id}) could not be deleted ({exc}) — remove it with "
            f"delete(kind='{kind}', name='{object_id}') before calling again"
        )
    return f"the partial {kind} ({object_id}) was deleted, so nothing was kept — fix the cause and call again"


async def discard_quietly(object_id: str, delete: Callable[[str], Awaitable[None]]) -> None:
    """Delete ``object_id`` if it can be done, even while the call is being cancelled; never raise."""
    with anyio.CancelScope(shield=True), contextlib.suppress(Exception):
        await delete(object_id)


@contextlib.asynccontextmanager
async def discarded_on_failure(
    kind: str,
    created: Callable[[], Created | None],
    delete: Callable[[str], Awaitable[None]],
    stopped: Callable[[Exception], str],
) -> AsyncIterator[None]:
    """Delete the partial ``kind`` that ``created()`` returns when the block fails, then let the failure out.

    A request, tool or file error becomes a ``ToolError``: ``stopped(exc)`` followed by what ``discard`` says. Any
    other (a cancellation) deletes with ``discard_quietly`` and propagates. Before anything was created, the error
    propagates unchanged.
    """
    try:
        yield
    except (ArizeSkillsError, ToolError, OSError) as exc:
        partial = created()
        if partial is None:
            raise
        raise ToolError(stopped(exc) + await discard(kind, partial.name, partial.id, delete)) from None
    except BaseException:
        partial = created()
        if partial is not None:
            await discard_quietly(partial.id, delete)
        raise
