"""A stub LLM provider on 127.0.0.1 that speaks OpenAI chat completions, Azure OpenAI and Anthropic messages.

Routes: ``POST /v1/chat/completions`` (and ``/chat/completions``) — OpenAI; ``POST
/openai/deployments/{deployment}/chat/completions`` — Azure OpenAI; ``POST /v1/messages`` — Anthropic;
``GET /health``.

Per test, control:

* what it answers: ``responder(request) -> Reply`` (``Text``, ``ToolUse``, ``Raw`` or a plain string); by default
  it calls the forced (or first) tool with arguments built from the tool's schema around ``label``, or answers
  ``label`` as text when the request has no tools;
* how long it takes: ``latency`` seconds, awaited on the server (simulated provider latency);
* scripted failures, one per request in order: ``Failure.rate_limited(retry_after)``, ``Failure.error(500)``,
  ``Failure.malformed()``, ``Failure.hang()`` (holds the request until the client gives up),
  ``Failure.unauthorized(echo_key=...)``;
* ``expected_key``: requests without it get a 401 in the provider's error shape.

It records every request (``RecordedRequest``: protocol, path, query, JSON body, headers with credential values
masked, which header carried the credential and whether it matched ``expected_key``) — the key itself is never
stored — with the client's port (one port: one kept-alive connection), and gauges the most requests it ever held
at once (``max_in_flight``).

From another process (for benchmarks): ``python -m tests.stubs.llm_server --port N --latency-ms L --label LABEL``
prints ``stub LLM server listening on http://127.0.0.1:PORT`` once the port is bound (``--port 0`` picks one). That
process serves the same app with ``tests/stubs/lite_server.py`` rather than uvicorn (``--server uvicorn`` for
uvicorn), so that the stub's own CPU per request stays well below the engine's.
"""

from __future__ import annotations

import argparse
import asyncio
import contextlib
import itertools
import json
import signal
import socket
import sys
import threading
import time
from collections import deque
from collections.abc import Callable, Iterator, Mapping
from contextlib import contextmanager
from dataclasses import dataclass, field
from typing import Any, Literal

import anyio
import uvicorn
from starlette.applications import Starlette
from starlette.requests import Request
from starlette.responses import JSONResponse, Response
from starlette.routing import Route

__all__ = [
    "Failure",
    "Raw",
    "RecordedRequest",
    "Reply",
    "StubServer",
    "Text",
    "ToolUse",
    "default_arguments",
    "serve_stub",
]

Protocol = Literal["openai", "azure", "anthropic"]
CREDENTIAL_HEADERS = ("authorization", "api-key", "x-api-key")
MASK = "***"


@dataclass(frozen=True)
class Text:
    """Answer with this text."""

    text: str


@dataclass(frozen=True)
class ToolUse:
    """Answer with a call of tool ``name``; a ``str`` ``arguments`` is sent verbatim (to test malformed JSON)."""

    name: str
    arguments: Mapping[str, Any] | str


@dataclass(frozen=True)
class Raw:
    """Answer with exactly this status, body and headers."""

    body: str | bytes
    status: int = 200
    headers: Mapping[str, str] = field(default_factory=dict)
    content_type: str = "application/json"


Reply = Text | ToolUse | Raw | str


@dataclass(frozen=True)
class Failure:
    """One scripted failure, consumed by the next request."""

    kind: Literal["status", "malformed", "hang"]
    status: int = 500
    retry_after: str | None = None
    echo_key: bool = False

    @classmethod
    def rate_limited(cls, retry_after: str | None = "1") -> Failure:
        """429 with ``Retry-After`` (seconds or an HTTP date; ``None`` for no header)."""
        return cls("status", 429, retry_after)

    @classmethod
    def error(cls, status: int, retry_after: str | None = None) -> Failure:
        """An error status (500, 502, 503, 400...) in the provider's error shape."""
        return cls("status", status, retry_after)

    @classmethod
    def unauthorized(cls, *, echo_key: bool = False) -> Failure:
        """401; with ``echo_key`` the error message repeats the key the client sent, as some providers do."""
        return cls("status", 401, None, echo_key)

    @classmethod
    def malformed(cls) -> Failure:
        """200 with a body that is not JSON."""
        return cls("malformed", 200)

    @classmethod
    def hang(cls) -> Failure:
        """Hold the request until the client disconnects (or the server's hang limit passes)."""
        return cls("hang", 200)


@dataclass
class RecordedRequest:
    """What the stub saw; credential header values are masked and the key is never kept."""

    protocol: Protocol
    path: str
    query: dict[str, str]
    headers: dict[str, str]
    body: Any
    auth_header: str | None
    key_matches: bool | None
    deployment: str | None = None
    client_port: int | None = None

    def forced_tool(self) -> str | None:
        """The tool the request forces (OpenAI or Anthropic ``tool_choice`` shape), if any."""
        choice = self.body.get("tool_choice") if isinstance(self.body, dict) else None
        if not isinstance(choice, dict):
            return None
        if isinstance(choice.get("function"), dict):
            name = choice["function"].get("name")
            return name if isinstance(name, str) else None
        name = choice.get("name")
        return name if isinstance(name, str) else None

    def tools(self) -> list[tuple[str, dict[str, Any]]]:
        """``(name, JSON schema)`` of each tool the request offers, in either protocol's shape."""
        raw = self.body.get("tools") if isinstance(self.body, dict) else None
        out: list[tuple[str, dict[str, Any]]] = []
        for tool in raw or []:
            spec = tool.get("function", tool)
            schema = spec.get("parameters") or spec.get("input_schema") or {}
            out.append((str(spec.get("name")), schema))
        return out


Responder = Callable[[RecordedRequest], Reply]


def default_arguments(schema: Mapping[str, Any], label: str) -> dict[str, Any]:
    """Arguments that satisfy a simple object schema: ``label`` for enums that hold it (else their first value)
    and for string properties named like a label, a short explanation for other strings."""
    out: dict[str, Any] = {}
    for name, prop in (schema.get("properties") or {}).items():
        if not isinstance(prop, Mapping):
            continue
        enum = prop.get("enum")
        kind = prop.get("type")
        if isinstance(enum, list) and enum:
            out[name] = label if label in enum else enum[0]
        elif kind == "string":
            out[name] = label if "label" in name.lower() else f"stub explanation for {label}"
        elif kind in ("number", "integer"):
            out[name] = 1
        elif kind == "boolean":
            out[name] = True
    return out


class StubServer:
    """The stub's state and controls; ``url`` is its root (``openai_url`` adds ``/v1`` for OpenAI clients)."""

    def __init__(
        self,
        *,
        label: str = "correct",
        latency: float = 0.0,
        responder: Responder | None = None,
        expected_key: str | None = None,
        record: bool = True,
        hang_limit: float = 30.0,
    ) -> None:
        self.url = ""
        self.label = label
        self.latency = latency
        self.responder = responder
        self.expected_key = expected_key
        self.record = record
        self.hang_limit = hang_limit
        self._lock = threading.Lock()
        self._failures: deque[Failure] = deque()
        self._requests: list[RecordedRequest] = []
        self._in_flight = 0
        self._max_in_flight = 0
        self._served = 0
        self._ids = itertools.count(1)
        self.app = Starlette(
            routes=[
                Route("/v1/chat/completions", self._openai, methods=["POST"]),
                Route("/chat/completions", self._openai, methods=["POST"]),
                Route("/openai/deployments/{deployment}/chat/completions", self._azure, methods=["POST"]),
                Route("/v1/messages", self._anthropic, methods=["POST"]),
                Route("/health", self._health, methods=["GET"]),
            ]
        )

    @property
    def openai_url(self) -> str:
        """Base URL for OpenAI-compatible clients."""
        return f"{self.url}/v1"

    def fail(self, *failures: Failure) -> None:
        """Queue failures; each is used by one request, in order, before normal answers resume."""
        with self._lock:
            self._failures.extend(failures)

    @property
    def pending_failures(self) -> int:
        """How many queued failures have not been used yet."""
        with self._lock:
            return len(self._failures)

    @property
    def requests(self) -> list[RecordedRequest]:
        """Every request received so far, in arrival order."""
        with self._lock:
            return list(self._requests)

    @property
    def served(self) -> int:
        """How many requests reached a handler (recorded or not)."""
        with self._lock:
            return self._served

    @property
    def max_in_flight(self) -> int:
        """The most requests the stub was handling at the same moment."""
        with self._lock:
            return self._max_in_flight

    @property
    def in_flight(self) -> int:
        """Requests being handled right now."""
        with self._lock:
            return self._in_flight

    def reset(self) -> None:
        """Forget recorded requests, queued failures and the gauge."""
        with self._lock:
            self._requests.clear()
            self._failures.clear()
            self._max_in_flight = self._in_flight
            self._served = 0

    async def _health(self, request: Request) -> Response:
        return JSONResponse({"ok": True})

    async def _openai(self, request: Request) -> Response:
        return await self._handle(request, "openai")

    async def _azure(self, request: Request) -> Response:
        return await self._handle(request, "azure")

    async def _anthropic(self, request: Request) -> Response:
        return await self._handle(request, "anthropic")

    async def _handle(self, request: Request, protocol: Protocol) -> Response:
        with self._lock:
            self._in_flight += 1
            self._served += 1
            self._max_in_flight = max(self._max_in_flight, self._in_flight)
        try:
            raw = await request.body()
            try:
                body: Any = json.loads(raw)
            except (json.JSONDecodeError, UnicodeDecodeError):
                body = None
            sent_key, recorded = self._record(request, protocol, body)
            with self._lock:
                failure = self._failures.popleft() if self._failures else None
                if self.record:
                    self._requests.append(recorded)
            if failure is not None:
                return await self._failure(request, protocol, failure, sent_key)
            if recorded.key_matches is False:
                return _error(protocol, 401, "Incorrect API key provided", "authentication_error")
            if self.latency > 0:
                await anyio.sleep(self.latency)
            reply = self.responder(recorded) if self.responder else self._default_reply(recorded)
            return self._render(protocol, recorded, reply)
        finally:
            with self._lock:
                self._in_flight -= 1

    def _record(self, request: Request, protocol: Protocol, body: Any) -> tuple[str | None, RecordedRequest]:
        headers: dict[str, str] = {}
        auth_header: str | None = None
        sent_key: str | None = None
        for name, value in request.headers.items():
            lowered = name.lower()
            if lowered in CREDENTIAL_HEADERS:
                auth_header = lowered
                scheme, _, token = value.partition(" ")
                if lowered == "authorization" and token:
                    headers[lowered] = f"{scheme} {MASK}"
                    sent_key = token.strip()
                else:
                    headers[lowered] = MASK
                    sent_key = value.strip()
            else:
                headers[lowered] = value
        matches = None if self.expected_key is None else sent_key == self.expected_key
        recorded = RecordedRequest(
            protocol=protocol,
            path=request.url.path,
            query=dict(request.query_params),
            headers=headers,
            body=body,
            auth_header=auth_header,
            key_matches=matches,
            deployment=request.path_params.get("deployment"),
            client_port=request.client.port if request.client else None,
        )
        return sent_key, recorded

    async def _failure(self, request: Request, protocol: Protocol, failure: Failure, sent_key: str | None) -> Response:
        if failure.kind == "hang":
            with anyio.move_on_after(self.hang_limit):
                # After the body is read, the next ASGI message is the client's disconnect.
                while (await request.receive())["type"] != "http.disconnect":
                    pass
            return _error(protocol, 504, "the stub stopped hanging", "timeout")
        if failure.kind == "malformed":
            return Response(b'{"choices": [ this is not json', status_code=200, media_type="application/json")
        if failure.status == 429:
            response = _error(protocol, 429, "Rate limit reached for requests", "rate_limit_error")
        elif failure.status == 401:
            shown = sent_key if failure.echo_key and sent_key else "sk-****"
            response = _error(protocol, 401, f"Incorrect API key provided: {shown}", "authentication_error")
        elif failure.status >= 500:
            response = _error(protocol, failure.status, "The server had an error processing your request", "api_error")
        else:
            response = _error(protocol, failure.status, "Invalid request", "invalid_request_error")
        if failure.retry_after is not None:
            response.headers["retry-after"] = failure.retry_after
        return response

    def _default_reply(self, recorded: RecordedRequest) -> Reply:
        tools = recorded.tools()
        if not tools:
            return Text(self.label)
        wanted = recorded.forced_tool()
        name, schema = next(((n, s) for n, s in tools if n == wanted), tools[0])
        return ToolUse(name, default_arguments(schema, self.label))

    def _render(self, protocol: Protocol, recorded: RecordedRequest, reply: Reply) -> Response:
        if isinstance(reply, Raw):
            return Response(
                reply.body, status_code=reply.status, headers=dict(reply.headers), media_type=reply.content_type
            )
        if isinstance(reply, str):
            reply = Text(reply)
        body = recorded.body if isinstance(recorded.body, dict) else {}
        model = str(body.get("model") or recorded.deployment or "stub-model")
        prompt_tokens = _count_tokens(body.get("messages")) + _count_tokens(body.get("system"))
        number = next(self._ids)
        if isinstance(reply, Text):
            completion_tokens = _count_tokens(reply.text)
        else:
            arguments = reply.arguments if isinstance(reply.arguments, str) else json.dumps(dict(reply.arguments))
            completion_tokens = _count_tokens(arguments)
        if protocol == "anthropic":
            if isinstance(reply, Text):
                blocks: list[dict[str, Any]] = [{"type": "text", "text": reply.text}]
                stop_reason = "end_turn"
            else:
                tool_input = dict(reply.arguments) if isinstance(reply.arguments, Mapping) else reply.arguments
                blocks = [{"type": "tool_use", "id": f"toolu_stub_{number}", "name": reply.name, "input": tool_input}]
                stop_reason = "tool_use"
            return JSONResponse(
                {
                    "id": f"msg_stub_{number}",
                    "type": "message",
                    "role": "assistant",
                    "model": model,
                    "content": blocks,
                    "stop_reason": stop_reason,
                    "stop_sequence": None,
                    "usage": {"input_tokens": prompt_tokens, "output_tokens": completion_tokens},
                }
            )
        message: dict[str, Any] = {"role": "assistant", "content": None, "refusal": None}
        if isinstance(reply, Text):
            message["content"] = reply.text
            finish = "stop"
        else:
            message["tool_calls"] = [
                {
                    "id": f"call_stub_{number}",
                    "type": "function",
                    "function": {
                        "name": reply.name,
                        "arguments": reply.arguments
                        if isinstance(reply.arguments, str)
                        else json.dumps(dict(reply.arguments)),
                    },
                }
            ]
            finish = "tool_calls"
        return JSONResponse(
            {
                "id": f"chatcmpl-stub-{number}",
                "object": "chat.completion",
                "created": int(time.time()),
                "model": model,
                "choices": [{"index": 0, "message": message, "finish_reason": finish, "logprobs": None}],
                "usage": {
                    "prompt_tokens": prompt_tokens,
                    "completion_tokens": completion_tokens,
                    "total_tokens": prompt_tokens + completion_tokens,
                },
            }
        )


def _error(protocol: Protocol, status: int, message: str, kind: str) -> JSONResponse:
    if protocol == "anthropic":
        return JSONResponse({"type": "error", "error": {"type": kind, "message": message}}, status_code=status)
    return JSONResponse({"error": {"message": message, "type": kind, "param": None, "code": None}}, status_code=status)


def _count_tokens(value: Any) -> int:
    """A rough token count: whitespace-separated words of the text inside ``value`` (message ``content``, block
    ``text``), not of roles and block types."""
    if isinstance(value, str):
        return len(value.split())
    if isinstance(value, Mapping):
        return sum(_count_tokens(value.get(k)) for k in ("content", "text"))
    if isinstance(value, list):
        return sum(_count_tokens(v) for v in value)
    return 0


def _bind_loopback(port: int = 0) -> socket.socket:
    # proto=IPPROTO_TCP makes asyncio set TCP_NODELAY on accepted connections; with proto 0 it does not, and
    # Nagle plus delayed ACKs add ~40 ms to every response.
    sock = socket.socket(socket.AF_INET, socket.SOCK_STREAM, socket.IPPROTO_TCP)
    sock.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
    sock.bind(("127.0.0.1", port))
    return sock


def _uvicorn_server(stub: StubServer) -> uvicorn.Server:
    config = uvicorn.Config(
        stub.app,
        log_level="warning",
        access_log=False,
        lifespan="off",
        timeout_graceful_shutdown=2,
        backlog=4096,
    )
    return uvicorn.Server(config)


@contextmanager
def serve_stub(
    *,
    label: str = "correct",
    latency: float = 0.0,
    responder: Responder | None = None,
    expected_key: str | None = None,
    startup_timeout: float = 20.0,
) -> Iterator[StubServer]:
    """Serve a ``StubServer`` with uvicorn on a free 127.0.0.1 port in a background thread until the block ends."""
    stub = StubServer(label=label, latency=latency, responder=responder, expected_key=expected_key)
    sock = _bind_loopback()
    port = sock.getsockname()[1]
    server = _uvicorn_server(stub)
    thread = threading.Thread(target=server.run, kwargs={"sockets": [sock]}, daemon=True, name="stub-llm-server")
    thread.start()
    deadline = time.monotonic() + startup_timeout
    started = threading.Event()
    while not server.started and thread.is_alive() and time.monotonic() < deadline:
        started.wait(0.01)
    if not server.started:
        server.should_exit = True
        thread.join(timeout=5)
        sock.close()
        raise RuntimeError(f"the stub LLM server did not start within {startup_timeout:g}s")
    stub.url = f"http://127.0.0.1:{port}"
    try:
        yield stub
    finally:
        server.should_exit = True
        thread.join(timeout=20)
        sock.close()


def main(argv: list[str] | None = None) -> None:
    """Run the stub in the foreground (Ctrl-C or SIGTERM stops it)."""
    parser = argparse.ArgumentParser(description="Stub OpenAI/Anthropic provider on 127.0.0.1 for tests and benchmarks")
    parser.add_argument("--port", type=int, default=0, help="port on 127.0.0.1 (0 picks a free one)")
    parser.add_argument("--latency-ms", type=float, default=0.0, help="simulated provider latency per request")
    parser.add_argument("--label", default="correct", help="label every answer carries")
    parser.add_argument(
        "--server",
        choices=["lite", "uvicorn"],
        default="lite",
        help="lite (default): tests/stubs/lite_server.py, a fraction of uvicorn's CPU per request",
    )
    args = parser.parse_args(argv)
    stub = StubServer(label=args.label, latency=args.latency_ms / 1000, record=False)
    sock = _bind_loopback(args.port)
    stub.url = f"http://127.0.0.1:{sock.getsockname()[1]}"
    print(f"stub LLM server listening on {stub.url}", flush=True)
    try:
        if args.server == "uvicorn":
            _uvicorn_server(stub).run(sockets=[sock])
        else:
            from .lite_server import serve_lite

            with contextlib.suppress(KeyboardInterrupt):
                asyncio.run(_serve_until_terminated(stub, sock, serve_lite))
    finally:
        sock.close()


async def _serve_until_terminated(stub: StubServer, sock: socket.socket, serve: Any) -> None:
    loop = asyncio.get_running_loop()
    task = asyncio.current_task()
    assert task is not None
    # SIGTERM (what benchmarks send) ends the server as Ctrl-C does.
    loop.add_signal_handler(signal.SIGTERM, task.cancel)
    with contextlib.suppress(asyncio.CancelledError):
        await serve(stub.app, sock)


if __name__ == "__main__":
    main(sys.argv[1:])
