"""The arize-skills MCP server: workflow tools over the shared client, on Arize AX or the local engine.

``build_server(settings)`` makes the server (nothing happens at import time); ``arize-skills mcp`` runs it over
stdio or streamable HTTP (``serve.py``). The lifespan (``state.py``) opens the backend the settings chose and
yields an ``AppState`` every tool reads with ``app_state(ctx)``.

Adding a tool family
--------------------

Create ``arize_skills/mcp_server/tools/<family>.py`` (no list to edit: every module there that does not start
with ``_`` is registered, in name order). Follow ``tools/status.py``::

    from __future__ import annotations

    from typing import Annotated, Any

    from mcp.server.mcpserver import MCPServer
    from pydantic import Field

    from ..budget import collect, compact, cut, scope_of
    from ..errors import tool_errors
    from ..state import app_state
    from ..types import Cursor, Limit, ListResult, ProjectRef, Ref, ToolContext, ToolResult
    from . import register_tool


    class ThingResult(ToolResult):
        project: Ref = Field(description="The project, by name and ID.")
        count: int = Field(description="How many things were done.")

        def summary_line(self) -> tuple[str, str | None]:
            return f"Did {self.count} things on project '{self.project.name}'.", None


    @tool_errors
    async def do_thing(
        ctx: ToolContext,
        project: ProjectRef,
        how_many: Annotated[int, Field(ge=1, le=500, description="Unit, bounds, default: what the name omits.")] = 10,
    ) -> ThingResult:
        \"\"\"What the tool does and when to use it, in one or two sentences (the skills carry the how-to).\"\"\"
        state = app_state(ctx)                      # .client, .settings, .engine, .require_space(), .clock
        found = await state.client.projects.get(project)     # names resolve in the default space
        return ThingResult(project=Ref(id=found.id, name=found.name), count=how_many)


    def register(server: MCPServer[Any]) -> None:
        register_tool(server, do_thing, title="Do the thing", kind="create")   # read|create|update|delete

Rules every tool keeps:

- **Functions at module level** (annotations are resolved from module globals), ``async``, wrapped with
  ``@tool_errors`` and registered with ``register_tool`` (docstring = description; structured output forced;
  the published schemas are compacted by ``surface.py`` and the arguments checked by ``arguments.py``).
- **Budget**: the whole surface has at most 24 tools and 16,000 model-visible characters
  (``tests/mcp_server/test_surface.py``; ``python benchmarks/tool_surface.py --per-tool``): add an argument to an
  existing tool before adding a tool, and describe only what a name does not say.
- **Arguments** use the aliases of ``types.py`` (``ProjectRef``, ``DatasetRef``, ``Limit``, ``Cursor``,
  ``StartTime``/``EndTime`` + ``parse_time``, ``Confirm``...) or ``Annotated[T, Field(description=..., bounds)]``;
  ``Literal[...]`` for enums (any case or separator is accepted). Every argument has a description. Tools take no
  ``space``: names resolve in the default space, which ``status(space=...)`` switches; IDs work anywhere.
- **Results** subclass ``ToolResult`` (lists: ``ListResult`` with ``items``) and override ``summary_line()``: the
  model reads that line, then the result as compact JSON; no result's text passes 8,000 characters. Every
  resource appears as a ``Ref`` (name and ID). Build list rows with ``budget.compact``/``budget.cut`` and page
  with ``budget.collect`` (character budget, ``has_more``/``next_cursor``); a cut string's marker names the call
  that returns it whole.
- **Errors**: raise nothing special: exceptions of ``arize_skills.errors`` (and ``ValueError`` from argument
  checks) become actionable ``ToolError``s in ``errors.py``. Raise ``ToolError`` yourself for a rule the tool
  checks ("the labels ... do not appear in the prompt: ..."), naming the argument and the fix. Any other
  exception is a bug: the client sees only "Error executing tool <name>".
- **Destructive tools** (``kind="delete"``) take ``confirm: Confirm = False`` and a
  ``confirmed: Annotated[Confirmed, confirmation(question)]`` parameter (``confirm.py``).
- **Progress**: ``await ctx.report_progress(done, total, message)``. Never ``ctx.info()``/``ctx.log()`` (deprecated:
  a warning, which fails the tests) and never ``ctx.elicit()`` (fails in the modern era): log with
  ``logging.getLogger("arize_skills.mcp")``, ask the user through a ``Resolve`` resolver.
- **Secrets**: tools take the *name* of an environment variable holding a key, never a key; no result or
  message carries one.
- **Tests** in ``tests/mcp_server/test_<family>.py`` use the ``mcp_client`` fixture (both protocol eras; or
  ``mcp_client_mode`` + ``Client(mcp_server, mode=..., elicitation_callback=...)`` in the test body) and the
  ``call``/``call_error`` helpers of ``tests/mcp_server/conftest.py``; seed data with the ``client`` fixture; the
  server shares the ``engine`` fixture, whose runner only runs when the test calls
  ``await engine.runner.run_until_idle()``. Then regenerate the shipped ``tools/list``, ``tools_listing.json``
  (the server lists its tools from it until a call needs them, see ``listing.py``):
  ``ARIZE_SKILLS_UPDATE_SNAPSHOT=1 pytest tests/mcp_server/test_tools_snapshot.py``.
"""

from __future__ import annotations

from typing import TYPE_CHECKING, Unpack

from .. import __version__
from ..models._base import utcnow

if TYPE_CHECKING:
    from ..settings import Settings
    from .listing import ToolsOnDemand
    from .state import StateOptions

__all__ = ["SERVER_NAME", "build_server"]

SERVER_NAME = "arize-skills"


def build_server(settings: Settings, **options: Unpack[StateOptions]) -> ToolsOnDemand:
    """The MCP server for ``settings`` (``Settings.resolve()``), with every tool family registered.

    ``options`` are those of its state (``StateOptions``): an engine the caller owns, a clock, more secrets, and
    the HTTP transport's confinement.
    """
    from .files import FilesRootMiddleware
    from .instructions import instructions_from_settings
    from .listing import ToolsOnDemand
    from .state import InstructionsMiddleware, open_state
    from .tools import register_all

    server = ToolsOnDemand(
        register_all,
        name=SERVER_NAME,
        title="arize-skills",
        description="Tasks, backfills, experiments, judges and datasets on Arize AX or the local engine.",
        instructions=instructions_from_settings(settings, options.get("clock", utcnow)()),
        version=__version__,
        lifespan=lambda _server: open_state(settings, **options),
        middleware=[InstructionsMiddleware(), FilesRootMiddleware()],
    )
    return server
