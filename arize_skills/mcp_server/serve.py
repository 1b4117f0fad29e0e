"""Running the MCP server: stdio (what coding-agent hosts launch) and streamable HTTP (loopback by default).

Over HTTP the server is at ``http://HOST:PORT/mcp``. When a bearer token is given, every request must carry
``Authorization: Bearer <token>`` (``BearerTokenMiddleware``); binding beyond loopback without one is refused by
the CLI. Over HTTP, tools read files only under ``files_root`` and send as keys only key-like environment variables
(``*_KEY``, ``*_TOKEN``) or those in ``allow_env``; stdio keeps the freedom of the user's own shell, which the agent
already has. Logs go to stderr; on stdio, stdout carries only the protocol.
"""

from __future__ import annotations

import hmac
import json
import socket
import sys
from pathlib import Path

import anyio
from starlette.types import ASGIApp, Receive, Scope, Send

from ..settings import Settings
from . import build_server

__all__ = ["MCP_PATH", "BearerTokenMiddleware", "serve_http", "serve_stdio"]

MCP_PATH = "/mcp"


class BearerTokenMiddleware:
    """Refuses (401) every HTTP request that does not carry ``Authorization: Bearer <token>``.

    The comparison takes constant time, and the refusal says nothing about the token.
    """

    def __init__(self, app: ASGIApp, token: str) -> None:
        self.app = app
        self._expected = f"Bearer {token}".encode()

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http":
            await self.app(scope, receive, send)
            return
        given = next((value for name, value in scope["headers"] if name == b"authorization"), b"")
        if hmac.compare_digest(given, self._expected):
            await self.app(scope, receive, send)
            return
        body = json.dumps(
            {"error": "unauthorized", "detail": "send Authorization: Bearer <the token this server was given>"}
        ).encode()
        await send(
            {
                "type": "http.response.start",
                "status": 401,
                "headers": [
                    (b"content-type", b"application/json"),
                    (b"content-length", str(len(body)).encode()),
                    (b"www-authenticate", b'Bearer realm="arize-skills"'),
                ],
            }
        )
        await send({"type": "http.response.body", "body": body})


def serve_stdio(settings: Settings) -> None:
    """Serve over stdin/stdout until the host closes stdin; a line that is not JSON-RPC gets a JSON-RPC error."""
    from .stdio_front import serve_with_front

    if serve_with_front(settings, lambda: build_server(settings)):
        return

    from mcp.server.stdio import stdio_server

    from .stdio import AnsweringReadStream

    server = build_server(settings)
    # MCPServer.run_stdio_async, with the read stream wrapped: the SDK drops unreadable lines without a reply.
    lowlevel = server._lowlevel_server

    async def run() -> None:
        async with stdio_server() as (read_stream, write_stream):
            await lowlevel.run(
                AnsweringReadStream(read_stream, write_stream),
                write_stream,
                lowlevel.create_initialization_options(),
            )

    anyio.run(run)


def serve_http(
    settings: Settings,
    *,
    host: str,
    port: int,
    token: str | None,
    files_root: Path,
    allow_env: frozenset[str] = frozenset(),
) -> int:
    """Serve streamable HTTP on ``host:port`` (0 picks a free port) until interrupted; return the exit code.

    Tools read files only under ``files_root`` and send as keys only key-like variables and those in ``allow_env``.

    Prints ``arize-skills mcp on http://HOST:PORT/mcp`` to stderr once the socket listens (a readiness line).
    """
    import uvicorn

    server = build_server(settings, secrets=(token,) if token else (), files_root=files_root, allow_env=allow_env)
    # DNS-rebinding protection comes on for loopback hosts (the SDK checks Host and Origin).
    app: ASGIApp = server.streamable_http_app(streamable_http_path=MCP_PATH, host=host)
    if token is not None:
        app = BearerTokenMiddleware(app, token)
    # IPPROTO_TCP (not the default 0) makes asyncio set TCP_NODELAY on accepted connections.
    sock = socket.socket(socket.AF_INET6 if ":" in host else socket.AF_INET, socket.SOCK_STREAM, socket.IPPROTO_TCP)
    sock.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
    try:
        sock.bind((host, port))
        # Listening before the line below is printed makes that line a readiness signal.
        sock.listen(2048)
    except OSError as exc:
        sock.close()
        sys.stderr.write(f"error: cannot listen on {host}:{port}: {exc.strerror or exc}\n")
        return 1
    bound = sock.getsockname()[1]
    shown = f"[{host}]" if ":" in host else host
    auth = "bearer token required" if token else "no token"
    sys.stderr.write(f"arize-skills mcp on http://{shown}:{bound}{MCP_PATH} ({auth})\n")
    sys.stderr.flush()
    config = uvicorn.Config(app, log_level="warning", lifespan="on")
    runner = uvicorn.Server(config)
    runner.run(sockets=[sock])
    return 0 if runner.started else 1
