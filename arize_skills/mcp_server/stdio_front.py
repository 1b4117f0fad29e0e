"""The stdio server's first answers, given before the MCP SDK is imported.

A host launches ``arize-skills mcp`` and waits for ``initialize`` and ``tools/list`` before it lets the model use
the tools. Importing the SDK alone takes longer than a cold start should, so this front answers those two (and
``ping``) from shipped files while the SDK, the server and its tools load on a second thread; the first request it
does not answer hands the connection over. The server then sees the session from its start: the ``initialize``
request and the ``initialized`` notification are replayed to it, and its own answer to that ``initialize``,
already given, is dropped. What the front answers is what the server would: ``tools_listing.json`` and
``stdio_handshake.json`` are kept equal to the SDK's answers by ``tests/mcp_server/test_stdio_front.py``.

While it serves, fd 0 reads the null device and fd 1 writes to stderr, so a stray read or print in a tool cannot
touch the wire (as the SDK's own stdio transport arranges). Off POSIX, or when a shipped file is missing, or with
``ARIZE_SKILLS_FAST_START=0``, the server starts the SDK's way.
"""

from __future__ import annotations

import json
import os
import threading
from collections.abc import AsyncIterator, Callable
from datetime import UTC, datetime
from typing import TYPE_CHECKING, Any

from .. import __version__
from ..settings import Settings
from .instructions import instructions_from_settings
from .shipped import HANDSHAKE_FILE, LISTING_FILE, read_shipped

if TYPE_CHECKING:
    from .listing import ToolsOnDemand

__all__ = ["FrontAnswers", "LineReader", "serve_with_front"]

FAST_START_ENV = "ARIZE_SKILLS_FAST_START"


class LineReader:
    """Lines (bytes, newline included) read from a file descriptor; ``b""`` at end of file."""

    def __init__(self, fd: int) -> None:
        self._fd = fd
        self._buffer = b""
        self._eof = False

    def readline(self) -> bytes:
        """The next line; the last one may lack its newline; ``b""`` once the writer closed its end."""
        while b"\n" not in self._buffer and not self._eof:
            chunk = os.read(self._fd, 65536)
            if not chunk:
                self._eof = True
            self._buffer += chunk
        line, newline, rest = self._buffer.partition(b"\n")
        self._buffer = rest
        return line + newline


class FrontAnswers:
    """What the front answers, from the shipped files: the handshake, the tool listing, and ``ping``."""

    def __init__(self, handshake: dict[str, Any], tools: list[Any], instructions: str) -> None:
        self._versions: list[str] = list(handshake["protocol_versions"])
        self._capabilities: dict[str, Any] = handshake["capabilities"]
        self._server_info: dict[str, Any] = {**handshake["server_info"], "version": __version__}
        self._tools = tools
        self._instructions = instructions

    @classmethod
    def load(cls, settings: Settings, today: datetime) -> FrontAnswers | None:
        """The answers for ``settings``, or ``None`` when a shipped file is missing or unreadable."""
        try:
            handshake = read_shipped(HANDSHAKE_FILE)
            tools = read_shipped(LISTING_FILE)
        except (OSError, ValueError):
            return None
        if not isinstance(handshake, dict) or not isinstance(tools, list):
            return None
        return cls(handshake, tools, instructions_from_settings(settings, today))

    def initialize(self, params: Any) -> dict[str, Any]:
        """The ``initialize`` result, the protocol version negotiated as the SDK does it."""
        requested = params.get("protocolVersion") if isinstance(params, dict) else None
        version = requested if requested in self._versions else self._versions[-1]
        return {
            "capabilities": self._capabilities,
            "instructions": self._instructions,
            "protocolVersion": version,
            "serverInfo": self._server_info,
        }

    def tools_list(self) -> dict[str, Any]:
        """The ``tools/list`` result."""
        return {"tools": self._tools}


def _message(line: bytes) -> dict[str, Any] | None:
    try:
        message = json.loads(line)
    except ValueError:
        return None
    return message if isinstance(message, dict) and message.get("jsonrpc") == "2.0" else None


def _is_request(message: dict[str, Any], method: str) -> bool:
    return message.get("method") == method and isinstance(message.get("id"), int | str)


def _valid_initialize(params: Any) -> bool:
    """Whether ``params`` has what the SDK requires of ``initialize``; the server answers any other itself."""
    if not isinstance(params, dict):
        return False
    client = params.get("clientInfo")
    return (
        isinstance(params.get("protocolVersion"), str)
        and isinstance(params.get("capabilities"), dict)
        and isinstance(client, dict)
        and isinstance(client.get("name"), str)
        and isinstance(client.get("version"), str)
    )


def front(reader: LineReader, write: Callable[[bytes], None], answers: FrontAnswers) -> tuple[list[bytes], Any, bool]:
    """Answer what can be answered before the server runs; return the lines to replay, the ``initialize`` ID whose
    answer the server must not send again (``None`` when the front answered none), and whether the host is gone.

    The replayed lines are the ``initialize`` request and ``initialized`` notification the front saw, then the
    first line it did not answer (the server answers that one).
    """
    replay: list[bytes] = []
    answered_id: Any = None
    while True:
        line = reader.readline()
        if not line:
            return replay, answered_id, True
        if not line.strip():
            continue
        message = _message(line)
        params = message.get("params") if message is not None else None
        first_page = params is None or (isinstance(params, dict) and not params.get("cursor"))
        if message is not None and not replay and _is_request(message, "initialize") and _valid_initialize(params):
            write(_response(message["id"], answers.initialize(params)))
            answered_id = message["id"]
            replay.append(line)
        elif message is not None and replay and message.get("method") == "notifications/initialized":
            replay.append(line)
        elif message is not None and replay and _is_request(message, "tools/list") and first_page:
            write(_response(message["id"], answers.tools_list()))
        elif message is not None and replay and _is_request(message, "ping"):
            write(_response(message["id"], {}))
        else:
            replay.append(line)
            return replay, answered_id, False


def _response(request_id: Any, result: dict[str, Any]) -> bytes:
    return json.dumps({"jsonrpc": "2.0", "id": request_id, "result": result}, separators=(",", ":")).encode() + b"\n"


def _claim_std_fds() -> tuple[int, int]:
    """Private copies of stdin and stdout for the wire; fd 0 then reads the null device and fd 1 writes to stderr."""
    wire_in, wire_out = os.dup(0), os.dup(1)
    null = os.open(os.devnull, os.O_RDONLY)
    os.dup2(null, 0)
    os.close(null)
    try:
        os.dup2(2, 1)
    except OSError:
        # No usable stderr (a host may close it): stray output goes nowhere rather than onto the wire.
        null = os.open(os.devnull, os.O_WRONLY)
        os.dup2(null, 1)
        os.close(null)
    return wire_in, wire_out


def _write_all(fd: int, data: bytes) -> None:
    view = memoryview(data)
    while view:
        view = view[os.write(fd, view) :]


def fast_start_enabled() -> bool:
    """Whether ``arize-skills mcp`` on stdio starts behind the front (POSIX, and not turned off)."""
    return os.name == "posix" and os.environ.get(FAST_START_ENV, "1") != "0"


def serve_with_front(settings: Settings, build: Callable[[], ToolsOnDemand]) -> bool:
    """Serve stdio behind the front until the host closes stdin; ``False`` (nothing done) when it cannot be used.

    ``build`` makes the server; it runs on a second thread together with the imports it needs, and registers the
    tools, while the front answers.
    """
    answers = FrontAnswers.load(settings, datetime.now(UTC))
    if answers is None or not fast_start_enabled():
        return False
    built: list[ToolsOnDemand] = []
    failed: list[BaseException] = []

    def load() -> None:
        try:
            server = build()
            server.ensure_tools()
            built.append(server)
        except BaseException as exc:  # re-raised on the main thread at hand-over
            failed.append(exc)

    loader = threading.Thread(target=load, name="arize-skills-server-load", daemon=True)
    loader.start()
    wire_in, wire_out = _claim_std_fds()
    reader = LineReader(wire_in)
    replay, answered_id, closed = front(reader, lambda data: _write_all(wire_out, data), answers)
    if closed:
        # The host left having asked only what the front answered: no session to hand over, nothing was opened.
        return True
    loader.join()
    if failed:
        raise failed[0]
    _serve_handed_over(built[0], reader, wire_out, replay, answered_id)
    return True


def _serve_handed_over(
    server: ToolsOnDemand, reader: LineReader, wire_out: int, replay: list[bytes], answered_id: Any
) -> None:
    import anyio
    from mcp.server.stdio import stdio_server

    from .stdio import AnsweringReadStream

    class WireIn:
        """The replayed lines, then the rest of the wire, as the SDK's stdio transport reads its stdin."""

        async def __aiter__(self) -> AsyncIterator[str]:
            for line in replay:
                yield line.decode("utf-8", errors="replace")
            while True:
                line = await anyio.to_thread.run_sync(reader.readline)
                if not line:
                    return
                yield line.decode("utf-8", errors="replace")

    class WireOut:
        """The wire, as the SDK's stdio transport writes its stdout; drops its answer to the replayed initialize."""

        def __init__(self) -> None:
            self.dropping = answered_id is not None

        async def write(self, text: str) -> None:
            if self.dropping:
                message = _message(text.encode())
                if message is not None and message.get("id") == answered_id and "method" not in message:
                    self.dropping = False
                    return
            await anyio.to_thread.run_sync(_write_all, wire_out, text.encode())

        async def flush(self) -> None:
            return None

    lowlevel = server._lowlevel_server  # pyright: ignore[reportPrivateUsage]

    async def run() -> None:
        async with stdio_server(WireIn(), WireOut()) as (read_stream, write_stream):  # type: ignore[arg-type]
            await lowlevel.run(
                AnsweringReadStream(read_stream, write_stream),
                write_stream,
                lowlevel.create_initialization_options(),
            )

    anyio.run(run)
