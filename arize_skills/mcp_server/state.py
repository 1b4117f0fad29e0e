"""What the MCP server holds while it runs (``AppState``), the lifespan that opens it, and the instructions.

The lifespan picks the backend the settings chose (see ``arize_skills.settings``):

- ``ax``: an API key (and usually a space) → Arize AX, or any AX-compatible URL given with the key;
- ``engine-url``: ``ARIZE_SKILLS_ENGINE_URL`` → a running local engine over HTTP;
- ``embedded``: nothing set → the local engine in-process, its state under ``settings.home``, its task runner
  serving in the background for as long as the server runs.

The default space is resolved once at start (a failure there is remembered, not fatal: ``status`` reports it and
tools that need a space say what to set). The instructions each session receives are written when the session
opens (``initialize`` in the handshake era, ``server/discover`` in the modern one), so they carry the date of that
day, the backend and the default space.
"""

from __future__ import annotations

import logging
from collections.abc import AsyncIterator, Callable
from contextlib import AsyncExitStack, asynccontextmanager
from dataclasses import dataclass, field
from datetime import datetime
from pathlib import Path
from typing import TYPE_CHECKING, Any, TypedDict, Unpack

from mcp.server.context import CallNext, HandlerResult, ServerRequestContext
from mcp.server.mcpserver import Context

from .. import __version__
from ..errors import ArizeSkillsError, NameNotFoundError
from ..models._base import utcnow
from ..settings import Settings
from .errors import redact
from .instructions import BackendInfo, backend_info, instructions

if TYPE_CHECKING:
    from ..client import AsyncArizeClient
    from ..engine import Engine

__all__ = [
    "AppState",
    "InstructionsMiddleware",
    "SpaceInfo",
    "app_state",
    "instructions_for",
    "open_state",
]

logger = logging.getLogger("arize_skills.mcp")


@dataclass(frozen=True)
class SpaceInfo:
    """A space named by both its name and its ID."""

    id: str
    name: str


@dataclass
class AppState:
    """The server's state for its whole run, shared by every session and every tool.

    Attributes:
        settings: the resolved settings (``settings.api_key`` is never shown; use ``client.has_api_key``).
        client: the one ``AsyncArizeClient`` every tool talks through (its ``space`` is the default space's ID).
        backend: which backend, for ``status`` and the instructions.
        engine: the in-process engine when the backend is ``embedded`` (else ``None``).
        space: the default space, when one could be resolved.
        space_problem: why no default space is set (shown by ``status`` and in errors), else ``None``.
        secrets: values no tool message may contain (the API key, the HTTP bearer token, the embedded engine's
            ``credentials_secret``).
        clock: the current time (tests pass a fixed one).
        key_envs: AI integration ID → the environment variable its key was read from when this server created it
            (``create_ai_integration(api_key_env=...)``), so a preview can read the key again; names only.
        files_root: the only folder tools read files from (the HTTP transport's ``--files-root``, resolved);
            ``None``: any file (stdio). Enforced by ``files.py``.
        allow_env: environment variables that may be sent as keys besides key-like names (``--allow-env``);
            ``None``: any variable (stdio). Enforced by ``tools/setup.py::sendable_env``.
    """

    settings: Settings
    client: AsyncArizeClient
    backend: BackendInfo
    engine: Engine | None = None
    space: SpaceInfo | None = None
    space_problem: str | None = None
    secrets: tuple[str, ...] = field(default=(), repr=False)
    clock: Callable[[], datetime] = utcnow
    version: str = __version__
    key_envs: dict[str, str] = field(default_factory=dict[str, str])
    files_root: Path | None = None
    allow_env: frozenset[str] | None = None

    def backend_label(self) -> str:
        """The backend in words; for an embedded engine whose home another process runs the tasks of, says so."""
        holder = self.engine.runner_holder if self.engine is not None else None
        if holder is None:
            return self.backend.label
        return (
            f"{self.backend.label}, whose task runs another arize-skills process executes ({holder.describe()}): "
            "runs triggered here stay PENDING until that process picks them up"
        )

    async def require_space(self) -> SpaceInfo:
        """The default space, resolving it again if it could not be resolved at start.

        Raises:
            NameNotFoundError: no space is configured and the backend has several; the message says what to set.
            ArizeSkillsError: the backend failed while resolving it.
        """
        if self.space is None:
            await self.resolve_space()
        if self.space is None:
            raise NameNotFoundError(self.space_problem or "no default space", kind="space", name="")
        return self.space

    async def resolve_space(self) -> None:
        """Resolve the default space from the settings (or the backend's only space) and remember it."""
        configured = self.settings.space
        client = self.client
        if configured:
            space_id = await client.resolve.space_id(configured)
            space = await client.spaces.get(space_id)
        elif self.engine is not None:
            space = await client.spaces.get(self.engine.default_space_id)
        else:
            page = await client.spaces.list(limit=2)
            if len(page.items) != 1:
                self.space_problem = (
                    "the API key sees no space"
                    if not page.items
                    else "several spaces are visible and none is configured: call status(space=...) with one of "
                    "find(kind='space'), or set ARIZE_SPACE_ID (or ARIZE_SPACE to a name)"
                )
                return
            space = page.items[0]
        self.space = SpaceInfo(id=space.id, name=space.name)
        self.space_problem = None
        client.space = space.id

    async def use_space(self, value: str) -> SpaceInfo:
        """Make the space ``value`` (a name or an ID) the default every tool uses from now on, in this server.

        Raises:
            NameNotFoundError, AmbiguousNameError: no space, or several, answer to ``value``.
        """
        space = await self.client.spaces.get(await self.client.resolve.space_id(value))
        self.space = SpaceInfo(id=space.id, name=space.name)
        self.space_problem = None
        self.client.space = space.id
        return self.space


def app_state(ctx: Context[AppState, Any]) -> AppState:
    """The ``AppState`` of the server handling this tool call."""
    return ctx.request_context.lifespan_context


class StateOptions(TypedDict, total=False):
    """What a server's state takes besides its settings; each is optional.

    ``engine``: for the ``embedded`` backend, an engine the caller already opened (and keeps running and
    closes); without it, the engine in ``settings.home`` is opened with its background task runner.
    ``clock``: the current time, for the date in the instructions and in ``status`` (default: now, UTC).
    ``secrets``: values no tool message may contain besides the API key (the HTTP transport's bearer token).
    ``files_root``: the only folder tools read files from (the HTTP transport); unset or ``None``: any (stdio).
    ``allow_env``: variables sent as keys besides key-like names (the HTTP transport); unset or ``None``: any.
    """

    engine: Engine | None
    clock: Callable[[], datetime]
    secrets: tuple[str, ...]
    files_root: Path | None
    allow_env: frozenset[str] | None


@asynccontextmanager
async def open_state(settings: Settings, **options: Unpack[StateOptions]) -> AsyncIterator[AppState]:
    """Open the backend the settings chose and yield the server's ``AppState`` until the block ends."""
    engine = options.get("engine")
    files_root = options.get("files_root")
    # Imported here, not at the top: the client and the engine are not needed until a session opens, and a
    # server's cold start should not pay for them.
    from ..client import AsyncArizeClient
    from ..engine import Engine

    keep_out = tuple(s for s in (settings.api_key, *options.get("secrets", ())) if s)
    async with AsyncExitStack() as stack:
        if settings.backend == "embedded":
            if engine is None:
                engine = await stack.enter_async_context(Engine.open(settings.home, runner=True))
            client = AsyncArizeClient(transport=engine.transport(), space=settings.space)
            keep_out = (*keep_out, engine.credentials_secret)
        else:
            engine = None
            client = AsyncArizeClient.from_settings(settings)
        await stack.enter_async_context(client)
        state = AppState(
            settings=settings,
            client=client,
            backend=backend_info(settings),
            engine=engine,
            secrets=keep_out,
            clock=options.get("clock", utcnow),
            files_root=files_root.resolve() if files_root is not None else None,
            allow_env=options.get("allow_env"),
        )
        try:
            await state.resolve_space()
        except ArizeSkillsError as exc:
            # Not fatal: a host shows a server that fails to start as merely "broken"; status explains instead.
            state.space_problem = redact(f"the default space could not be resolved: {exc}", keep_out)
            logger.warning("%s", state.space_problem)
        logger.info("arize-skills MCP server on %s", state.backend.label)
        yield state


def instructions_for(state: AppState) -> str:
    """The instructions a session of a running server receives: its backend, resolved default space and date."""
    if state.space is not None:
        space = f"Default space: '{state.space.name}' (id {state.space.id}); tools use it when space= is omitted."
    else:
        space = f"No default space: {state.space_problem or 'pass space= to each tool'}."
    return instructions(state.backend_label(), space, state.clock())


class InstructionsMiddleware:
    """Writes each session's instructions when it opens (``initialize`` or ``server/discover``).

    The SDK's instructions are a constant fixed at construction; this rewrites them per session, from the
    running server's state (backend, resolved default space) and the current date.
    """

    async def __call__(self, ctx: ServerRequestContext[Any, Any], call_next: CallNext) -> HandlerResult:
        result = await call_next(ctx)
        state = ctx.lifespan_context
        if ctx.method in ("initialize", "server/discover") and isinstance(result, dict) and isinstance(state, AppState):
            result = {**result, "instructions": instructions_for(state)}
        return result
