"""The stdio transport's answer to a line that is not a JSON-RPC message.

The SDK's stdio reader turns such a line into an ``Exception`` on the read stream, and the server loop only logs
it, so the host waits forever. JSON-RPC 2.0 says to answer: ``-32700`` (parse error) for text that is not JSON,
``-32600`` (invalid request) for JSON that is not a message, both with ``"id": null`` since no ID can be read.
"""

from __future__ import annotations

import contextvars
from types import TracebackType
from typing import Self

import anyio
from mcp.shared._stream_protocols import ReadStream, WriteStream
from mcp.shared.message import SessionMessage
from mcp_types import INVALID_REQUEST, PARSE_ERROR, ErrorData, JSONRPCError
from pydantic import ValidationError

__all__ = ["AnsweringReadStream", "error_for_unreadable_line"]


def error_for_unreadable_line(exc: Exception) -> JSONRPCError:
    """The JSON-RPC error for a line the transport could not read as a message (``exc`` says why)."""
    not_json = not isinstance(exc, ValidationError) or any(e["type"] == "json_invalid" for e in exc.errors())
    if not_json:
        error = ErrorData(
            code=PARSE_ERROR, message="Parse error: the line is not valid JSON; send one JSON-RPC message per line"
        )
    else:
        error = ErrorData(
            code=INVALID_REQUEST,
            message="Invalid Request: the line is JSON but not a JSON-RPC 2.0 request, notification or response",
        )
    return JSONRPCError(jsonrpc="2.0", id=None, error=error)


class AnsweringReadStream:
    """A read stream that answers each unreadable line on ``replies`` and passes only messages on.

    It keeps the inner stream's ``last_context`` visible, which the server reads to restore the sender's context.
    """

    def __init__(self, inner: ReadStream[SessionMessage | Exception], replies: WriteStream[SessionMessage]) -> None:
        self._inner = inner
        self._replies = replies

    @property
    def last_context(self) -> contextvars.Context | None:
        """The sender's context of the last message received (as the SDK's context streams expose it)."""
        context: contextvars.Context | None = getattr(self._inner, "last_context", None)
        return context

    async def receive(self) -> SessionMessage | Exception:
        """The next message; unreadable lines in between are answered and skipped."""
        while True:
            item = await self._inner.receive()
            if not isinstance(item, Exception):
                return item
            await self._replies.send(SessionMessage(error_for_unreadable_line(item)))

    async def aclose(self) -> None:
        """Close the inner stream."""
        await self._inner.aclose()

    def __aiter__(self) -> Self:
        return self

    async def __anext__(self) -> SessionMessage | Exception:
        try:
            return await self.receive()
        except anyio.EndOfStream:
            raise StopAsyncIteration from None

    async def __aenter__(self) -> Self:
        return self

    async def __aexit__(
        self, exc_type: type[BaseException] | None, exc_val: BaseException | None, exc_tb: TracebackType | None
    ) -> bool | None:
        await self.aclose()
        return None
