"""A minimal HTTP/1.1 server for an ASGI app, for the stub LLM server's own process (benchmarks).

uvicorn's h11 protocol (no ``httptools`` here) and its two writes per response cost the stub more CPU per request
than the engine spends on the call it answers; on a two-core machine that stole the engine's time and made the
stub's own queueing part of the measured latency. This server parses what the stub's clients send (a request
line, headers, a ``Content-Length`` body; keep-alive), hands each request to the app as an ASGI ``http`` scope,
and writes each response in one write. Requests on one connection are served one after another; ``receive``
reports ``http.disconnect`` once the client has gone, as ``Failure.hang`` waits for.

It is not a general server: no chunked request bodies, no ``Expect: 100-continue``, no streaming responses (the
body is sent when the app finishes), no lifespan.
"""

from __future__ import annotations

import asyncio
import socket
from typing import Any
from urllib.parse import unquote

from starlette.types import ASGIApp, Message

__all__ = ["serve_lite"]

_MAX_HEAD = 65536
_REASONS = {200: "OK", 400: "Bad Request", 401: "Unauthorized", 404: "Not Found", 429: "Too Many Requests"}


class _Connection(asyncio.Protocol):
    def __init__(self, app: ASGIApp) -> None:
        self.app = app
        self.buffer = bytearray()
        self.transport: asyncio.Transport | None = None
        self.closed = asyncio.Event()
        self.data = asyncio.Event()
        self.task: asyncio.Task[None] | None = None

    def connection_made(self, transport: asyncio.BaseTransport) -> None:
        assert isinstance(transport, asyncio.Transport)
        self.transport = transport
        sock = transport.get_extra_info("socket")
        if sock is not None:
            sock.setsockopt(socket.IPPROTO_TCP, socket.TCP_NODELAY, 1)
        self.task = asyncio.get_running_loop().create_task(self._serve())

    def data_received(self, data: bytes) -> None:
        self.buffer += data
        self.data.set()

    def eof_received(self) -> bool:
        self.closed.set()
        self.data.set()
        return False

    def connection_lost(self, exc: Exception | None) -> None:
        self.closed.set()
        self.data.set()

    async def _more(self) -> bool:
        if self.closed.is_set():
            return False
        self.data.clear()
        await self.data.wait()
        return not self.closed.is_set() or bool(self.buffer)

    async def _serve(self) -> None:
        try:
            while True:
                request = await self._request()
                if request is None:
                    break
                await self._respond(*request)
        finally:
            if self.transport is not None:
                self.transport.close()

    async def _request(self) -> tuple[dict[str, Any], bytes] | None:
        while (end := self.buffer.find(b"\r\n\r\n")) < 0:
            if len(self.buffer) > _MAX_HEAD or not await self._more():
                return None
        head = bytes(self.buffer[:end]).decode("latin-1")
        del self.buffer[: end + 4]
        line, *lines = head.split("\r\n")
        method, target, version = line.split(" ", 2)
        headers = []
        length = 0
        for raw in lines:
            name, _, value = raw.partition(":")
            name, value = name.strip().lower(), value.strip()
            headers.append((name.encode("latin-1"), value.encode("latin-1")))
            if name == "content-length":
                length = int(value)
        while len(self.buffer) < length:
            if not await self._more():
                return None
        body = bytes(self.buffer[:length])
        del self.buffer[:length]
        path, _, query = target.partition("?")
        assert self.transport is not None
        peer = self.transport.get_extra_info("peername") or ("127.0.0.1", 0)
        scope = {
            "type": "http",
            "asgi": {"version": "3.0"},
            "http_version": version.removeprefix("HTTP/"),
            "method": method,
            "scheme": "http",
            "path": unquote(path),
            "raw_path": path.encode("latin-1"),
            "query_string": query.encode("latin-1"),
            "root_path": "",
            "headers": headers,
            "client": (peer[0], peer[1]),
            "server": self.transport.get_extra_info("sockname"),
        }
        return scope, body

    async def _respond(self, scope: dict[str, Any], body: bytes) -> None:
        sent_body = False
        status = 500
        response_headers: list[tuple[bytes, bytes]] = []
        chunks: list[bytes] = []

        async def receive() -> Message:
            nonlocal sent_body
            if not sent_body:
                sent_body = True
                return {"type": "http.request", "body": body, "more_body": False}
            await self.closed.wait()
            return {"type": "http.disconnect"}

        async def send(message: Message) -> None:
            nonlocal status
            if message["type"] == "http.response.start":
                status = int(message["status"])
                response_headers.extend(message.get("headers", []))
            elif message["type"] == "http.response.body":
                chunks.append(message.get("body", b""))

        await self.app(scope, receive, send)
        if self.transport is None or self.transport.is_closing():
            return
        content = b"".join(chunks)
        lines = [f"HTTP/1.1 {status} {_REASONS.get(status, 'Status')}".encode()]
        lines += [name + b": " + value for name, value in response_headers if name.lower() != b"content-length"]
        lines.append(b"content-length: %d" % len(content))
        self.transport.write(b"\r\n".join(lines) + b"\r\n\r\n" + content)


async def serve_lite(app: ASGIApp, sock: socket.socket) -> None:
    """Serve ``app`` on the bound socket ``sock`` until cancelled."""
    loop = asyncio.get_running_loop()
    sock.listen(4096)
    server = await loop.create_server(lambda: _Connection(app), sock=sock)
    async with server:
        await server.serve_forever()
