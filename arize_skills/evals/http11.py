"""A small keep-alive HTTP/1.1 client for provider calls: anyio streams, ``h11`` for the protocol, ``ssl`` for TLS.

``HttpPool`` sends one request at a time per connection and keeps finished connections for reuse, per origin
(scheme, host, port), most recently used first. Its callers bound their own concurrency (``LlmClient`` holds a
``CapacityLimiter``), so the pool opens a connection whenever no idle one is at hand and keeps at most
``max_idle`` of them per origin.

* **Reuse.** An idle connection is dropped, unused, when it has been idle longer than ``keepalive_expiry`` or when
  its socket is readable (the server closed it, or sent something no request asked for).
* **A server closing an idle connection** can still race a new request. When a reused connection ends before a
  single byte of the response arrived, the request is sent once more on a fresh connection, but only if the
  caller said it is ``replayable`` (safe to repeat: it changes nothing on the server); otherwise that is an
  ``HttpConnectionError``.
* **Timeouts.** ``timeout`` bounds the whole exchange (connecting, TLS, sending, the full response) as one
  deadline; past it the request fails with ``HttpTimeout`` and its connection is closed.
* **TLS** for ``https`` URLs with ``httpx2.create_ssl_context()`` by default (the same trust store, and the same
  ``SSL_CERT_FILE`` / ``SSL_CERT_DIR`` handling, as the engine's other HTTP clients), HTTP/1.1 only.
* **Bodies** delimited by ``Content-Length``, chunked, or the connection closing; ``gzip`` and ``deflate``
  content encodings are decoded (the pool asks for none, but an integration's own headers may).
* **Not supported:** proxies (callers that must honour ``HTTP_PROXY`` and the like use another client; see
  ``uses_proxy``), HTTP/2, redirects, cookies, streaming responses.

Error messages name the origin and what went wrong, never a header value.
"""

from __future__ import annotations

import contextlib
import json
import select
import ssl
import time
import urllib.request
import zlib
from collections.abc import Sequence
from dataclasses import dataclass
from typing import Any

import anyio
import anyio.abc
import h11
import httpx2
from anyio.abc import SocketAttribute

__all__ = [
    "HttpConnectionError",
    "HttpError",
    "HttpPool",
    "HttpRequestError",
    "HttpResponse",
    "HttpTimeout",
    "uses_proxy",
]

_READ_SIZE = 65536
_DEFAULT_PORTS = {"http": 80, "https": 443}
_MAX_TARGETS = 64
_RECEIVE_ERRORS = (OSError, anyio.BrokenResourceError, anyio.ClosedResourceError, ssl.SSLError)


class HttpError(Exception):
    """A request that got no usable HTTP response; the message never holds a header value."""


class HttpTimeout(HttpError, TimeoutError):
    """The exchange did not finish within its timeout."""


class HttpConnectionError(HttpError):
    """The server could not be reached, the connection broke, or the server's answer was not valid HTTP/1.1."""


class HttpRequestError(HttpError):
    """The request itself cannot be sent (an unsupported URL, a header that is not valid HTTP)."""


@dataclass
class HttpResponse:
    """A complete response: ``headers`` has lower-case names (repeated headers joined with ``", "``)."""

    status_code: int
    reason_phrase: str
    headers: dict[str, str]
    content: bytes

    @property
    def text(self) -> str:
        """The body decoded with the ``Content-Type`` charset (UTF-8 if none), undecodable bytes replaced."""
        charset = "utf-8"
        for part in self.headers.get("content-type", "").split(";")[1:]:
            name, _, value = part.strip().partition("=")
            if name.lower() == "charset" and value:
                charset = value.strip("\"'")
        try:
            return self.content.decode(charset, errors="replace")
        except LookupError:
            return self.content.decode("utf-8", errors="replace")

    def json(self) -> Any:
        """The body parsed as JSON.

        Raises:
            json.JSONDecodeError, UnicodeDecodeError: the body is not JSON.
        """
        return json.loads(self.content)


@dataclass(frozen=True)
class _Origin:
    scheme: str
    host: str
    port: int

    def __str__(self) -> str:
        return f"{self.scheme}://{self.host}:{self.port}"


class _Stale(Exception):
    """A reused connection ended before any byte of the response arrived."""


class _Connection:
    __slots__ = ("stream", "protocol", "fileno", "idle_since")

    def __init__(self, stream: anyio.abc.ByteStream, fileno: int) -> None:
        self.stream = stream
        self.protocol = h11.Connection(h11.CLIENT)
        self.fileno = fileno
        self.idle_since = 0.0

    def readable(self) -> bool:
        """Whether the idle socket has something to read: an end of stream, a reset, or bytes never asked for."""
        if self.fileno < 0:
            return True
        poller = select.poll()
        poller.register(self.fileno, select.POLLIN | select.POLLPRI)
        return bool(poller.poll(0))

    async def aclose(self) -> None:
        with anyio.CancelScope(shield=True), contextlib.suppress(*_RECEIVE_ERRORS):
            await self.stream.aclose()


def uses_proxy(url: str) -> bool:
    """Whether the environment (``HTTP_PROXY``, ``HTTPS_PROXY``, ``ALL_PROXY``, less ``NO_PROXY``) sends ``url``
    through a proxy, which ``HttpPool`` does not support."""
    proxies = urllib.request.getproxies()
    parsed = httpx2.URL(url)
    if not (proxies.get(parsed.scheme) or proxies.get("all")):
        return False
    return not urllib.request.proxy_bypass(parsed.host)


class HttpPool:
    """Keep-alive HTTP/1.1 connections, per origin, for requests with small bodies and complete responses."""

    def __init__(
        self,
        *,
        max_idle: int = 32,
        keepalive_expiry: float = 5.0,
        ssl_context: ssl.SSLContext | None = None,
    ) -> None:
        self.max_idle = max(1, max_idle)
        self.keepalive_expiry = keepalive_expiry
        self._ssl_context = ssl_context
        self._idle: dict[_Origin, list[_Connection]] = {}
        self._targets: dict[str, tuple[_Origin, bytes, bytes]] = {}
        self._closed = False
        self.connections_opened = 0
        """How many connections the pool has opened so far."""

    async def __aenter__(self) -> HttpPool:
        return self

    async def __aexit__(self, *exc_info: object) -> None:
        await self.aclose()

    async def aclose(self) -> None:
        """Close every idle connection; the pool opens no more."""
        self._closed = True
        idle = [c for conns in self._idle.values() for c in conns]
        self._idle.clear()
        for connection in idle:
            await connection.aclose()

    async def request(
        self,
        method: str,
        url: str,
        *,
        headers: Sequence[tuple[str, str]] = (),
        content: bytes = b"",
        timeout: float | None = None,
        replayable: bool = False,
    ) -> HttpResponse:
        """Send one request and read its whole response.

        ``headers`` are sent as given, after ``Host`` and before ``Content-Length`` (both set here). ``replayable``
        says the request may be sent again when a reused connection turns out to be closed by the server before
        answering.

        Raises:
            HttpTimeout: past ``timeout`` seconds.
            HttpConnectionError: the server is unreachable, the connection broke, or the answer is not HTTP/1.1.
            HttpRequestError: the URL or a header cannot be sent.
        """
        if self._closed:
            raise HttpRequestError("the HTTP pool is closed")
        origin, target, host = self._target(url)
        try:
            wire = [(b"host", host)]
            wire.extend((name.encode("ascii"), value.encode("ascii")) for name, value in headers)
        except UnicodeEncodeError:
            raise HttpRequestError("a request header holds characters that are not ASCII") from None
        wire.append((b"content-length", str(len(content)).encode()))
        if timeout is None:
            return await self._exchange(origin, method.encode("ascii"), target, wire, content, replayable)
        try:
            with anyio.fail_after(timeout):
                return await self._exchange(origin, method.encode("ascii"), target, wire, content, replayable)
        except TimeoutError as exc:
            if isinstance(exc, HttpTimeout):
                raise
            raise HttpTimeout(f"{origin} did not answer within {timeout:g}s") from None

    def _target(self, url: str) -> tuple[_Origin, bytes, bytes]:
        found = self._targets.get(url)
        if found is not None:
            return found
        try:
            parsed = httpx2.URL(url)
        except httpx2.InvalidURL:
            raise HttpRequestError("the URL is not valid") from None
        scheme = parsed.scheme
        if scheme not in _DEFAULT_PORTS or not parsed.host:
            raise HttpRequestError(f"only http:// and https:// URLs with a host can be called, not {scheme!r}")
        port = parsed.port or _DEFAULT_PORTS[scheme]
        host = parsed.raw_host
        if parsed.port is not None and parsed.port != _DEFAULT_PORTS[scheme]:
            host += f":{parsed.port}".encode()
        found = (_Origin(scheme, parsed.host, port), parsed.raw_path or b"/", host)
        if len(self._targets) >= _MAX_TARGETS:
            self._targets.clear()
        self._targets[url] = found
        return found

    async def _exchange(
        self,
        origin: _Origin,
        method: bytes,
        target: bytes,
        headers: list[tuple[bytes, bytes]],
        content: bytes,
        replayable: bool,
    ) -> HttpResponse:
        connection = await self._take_idle(origin)
        reused = connection is not None
        if connection is None:
            connection = await self._connect(origin)
        try:
            try:
                response = await self._send(connection, origin, method, target, headers, content, reused)
            except _Stale:
                await connection.aclose()
                if not replayable:
                    raise HttpConnectionError(
                        f"{origin} closed a kept-alive connection without answering the request"
                    ) from None
                # The server closed the connection while it was idle; once more on a fresh one.
                connection = await self._connect(origin)
                response = await self._send(connection, origin, method, target, headers, content, False)
        except BaseException:
            await connection.aclose()
            raise
        state = connection.protocol
        if state.our_state is h11.DONE and state.their_state is h11.DONE and not self._closed:
            state.start_next_cycle()
            await self._release(origin, connection)
        else:
            await connection.aclose()
        return response

    async def _take_idle(self, origin: _Origin) -> _Connection | None:
        idle = self._idle.get(origin)
        while idle:
            connection = idle.pop()
            if time.monotonic() - connection.idle_since <= self.keepalive_expiry and not connection.readable():
                return connection
            await connection.aclose()
        return None

    async def _release(self, origin: _Origin, connection: _Connection) -> None:
        idle = self._idle.setdefault(origin, [])
        if len(idle) >= self.max_idle:
            await idle.pop(0).aclose()
        connection.idle_since = time.monotonic()
        idle.append(connection)

    async def _connect(self, origin: _Origin) -> _Connection:
        try:
            if origin.scheme == "https":
                if self._ssl_context is None:
                    self._ssl_context = httpx2.create_ssl_context()
                    self._ssl_context.set_alpn_protocols(["http/1.1"])
                stream: anyio.abc.ByteStream = await anyio.connect_tcp(
                    origin.host,
                    origin.port,
                    ssl_context=self._ssl_context,
                    tls_hostname=origin.host,
                    tls_standard_compatible=False,
                )
            else:
                stream = await anyio.connect_tcp(origin.host, origin.port)
        except ssl.SSLError as exc:
            raise HttpConnectionError(f"TLS with {origin} failed ({exc.reason or type(exc).__name__})") from None
        except OSError as exc:
            reason = exc.strerror or type(exc).__name__
            raise HttpConnectionError(f"could not connect to {origin} ({reason})") from None
        sock = stream.extra(SocketAttribute.raw_socket, None)
        self.connections_opened += 1
        return _Connection(stream, sock.fileno() if sock is not None else -1)

    async def _send(
        self,
        connection: _Connection,
        origin: _Origin,
        method: bytes,
        target: bytes,
        headers: list[tuple[bytes, bytes]],
        content: bytes,
        reused: bool,
    ) -> HttpResponse:
        state = connection.protocol
        try:
            data = state.send(h11.Request(method=method, target=target, headers=headers)) or b""
        except h11.LocalProtocolError:
            # h11's message would quote the offending value, which may be a credential.
            raise HttpRequestError("a request header is not valid HTTP (a line break or a bad name)") from None
        if content:
            data += state.send(h11.Data(data=content)) or b""
        data += state.send(h11.EndOfMessage()) or b""
        # One write for the request line, headers and body: one syscall, one packet for a small request.
        try:
            await connection.stream.send(data)
        except _RECEIVE_ERRORS as exc:
            if reused:
                raise _Stale from None
            raise HttpConnectionError(f"the connection to {origin} broke while sending ({_reason(exc)})") from None
        received = False
        status, reason = 0, ""
        response_headers: dict[str, str] = {}
        parts: list[bytes] = []
        stream = connection.stream
        while True:
            try:
                event = state.next_event()
            except h11.RemoteProtocolError as exc:
                raise HttpConnectionError(f"{origin} answered with something that is not HTTP/1.1 ({exc})") from None
            if event is h11.NEED_DATA:
                try:
                    chunk = await stream.receive(_READ_SIZE)
                except anyio.EndOfStream:
                    chunk = b""
                except _RECEIVE_ERRORS as exc:
                    if reused and not received:
                        raise _Stale from None
                    raise HttpConnectionError(f"the connection to {origin} broke ({_reason(exc)})") from None
                if not chunk and not received:
                    if reused:
                        raise _Stale
                    raise HttpConnectionError(f"{origin} closed the connection without answering")
                received = True
                state.receive_data(chunk)
            elif type(event) is h11.Response:
                status, reason = event.status_code, event.reason.decode("latin-1")
                for name, value in event.headers:
                    key = name.decode("latin-1")
                    text = value.decode("latin-1")
                    response_headers[key] = f"{response_headers[key]}, {text}" if key in response_headers else text
            elif type(event) is h11.Data:
                parts.append(bytes(event.data))
            elif type(event) is h11.EndOfMessage:
                break
            elif type(event) is h11.InformationalResponse:
                continue
            else:
                raise HttpConnectionError(f"{origin} closed the connection in the middle of its answer")
        body = b"".join(parts)
        encoding = response_headers.get("content-encoding", "").strip().lower()
        if encoding and encoding != "identity":
            body = _decode(body, encoding, origin)
        return HttpResponse(status, reason, response_headers, body)


def _decode(body: bytes, encoding: str, origin: _Origin) -> bytes:
    try:
        if encoding in ("gzip", "x-gzip"):
            return zlib.decompress(body, zlib.MAX_WBITS | 16)
        if encoding == "deflate":
            try:
                return zlib.decompress(body)
            except zlib.error:
                return zlib.decompress(body, -zlib.MAX_WBITS)
    except zlib.error:
        raise HttpConnectionError(f"{origin} sent a {encoding} body that does not decompress") from None
    raise HttpConnectionError(f"{origin} sent a body in the {encoding!r} content encoding, which is not supported")


def _reason(exc: BaseException) -> str:
    cause = exc.__cause__ or exc.__context__
    if isinstance(cause, OSError) and cause.strerror:
        return cause.strerror
    if isinstance(exc, OSError) and exc.strerror:
        return exc.strerror
    return type(cause or exc).__name__
