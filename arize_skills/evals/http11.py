"""A small keep-alive HTTP/1.1 client for provider calls: asyncio transports, ``ssl`` for TLS.

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
* **Bodies** delimited by ``Content-Length``, chunked, or the connection closing (RFC 9112 §6.3; ``1xx``
  answers are skipped); ``gzip`` and ``deflate`` content encodings are decoded (the pool asks for none, but an
  integration's own headers may). Heads over 64 KiB and bodies over 64 MiB are refused.
* **The codec is written here** rather than taken from ``h11``: a judge's exchange is a few hundred bytes each way,
  and h11's general state machine and per-header validation were the largest cost left on the backfill's profile.
  Request headers are checked once per distinct header list (token names, values without control characters).
* **Sockets** are asyncio protocols (the engine runs on anyio's asyncio backend; another backend gets an
  ``HttpRequestError``). They read as bytes arrive instead of asking for each read: anyio's streams pause and resume
  reading around every receive (two ``epoll_ctl`` calls) and yield to the loop on every send, about a sixth of
  the client's CPU per call on the backfill benchmark. Timeouts and cancellation still come from anyio's scopes.
* **Not supported:** proxies (callers that must honour ``HTTP_PROXY`` and the like use another client; see
  ``uses_proxy``), HTTP/2, redirects, cookies, streaming responses.

Error messages name the origin and what went wrong, never a header value.
"""

from __future__ import annotations

import asyncio
import contextlib
import errno
import json
import re
import select
import ssl
import time
import urllib.request
import zlib
from collections.abc import Sequence
from dataclasses import dataclass
from typing import Any

import anyio
import httpx2

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
_MAX_HEADER_SETS = 16
_MAX_HEAD = 65536
_MAX_BODY = 64 * 1024 * 1024
_MAX_BUFFER = _MAX_BODY + 2 * _MAX_HEAD
_TOKEN = re.compile(rb"[!#$%&'*+\-.^_`|~0-9A-Za-z]+")
_CONTROL = re.compile(rb"[\x00-\x08\x0a-\x1f\x7f]")
_HEAD_END = re.compile(rb"\r?\n\r?\n")
_LINE_END = re.compile(rb"\r?\n")
_HEX = re.compile(rb"[0-9A-Fa-f]{1,16}")
_DIGITS = re.compile(rb"[0-9]{1,19}")
_OWN_HEADERS = frozenset({b"content-length", b"transfer-encoding"})
_RECEIVE_ERRORS = (OSError, ssl.SSLError)


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
        host = f"[{self.host}]" if ":" in self.host else self.host
        return f"{self.scheme}://{host}:{self.port}"


class _Stale(Exception):
    """A reused connection ended before any byte of the response arrived."""


class _Connection(asyncio.Protocol):
    """One socket as an asyncio protocol: what arrives is appended to ``buffer`` as it comes, with no reads to ask
    for (an idle connection learns of the server closing it as the loop reads; ``readable`` also asks the socket,
    for what came in since). More than a whole answer's worth of unread bytes aborts the connection."""

    def __init__(self) -> None:
        self.transport: asyncio.Transport | None = None
        self.fileno = -1
        self.buffer = bytearray()
        self.idle_since = 0.0
        self.at_end = False
        self.error: BaseException | None = None
        self._waiter: asyncio.Future[None] | None = None
        self._can_write = True

    def connection_made(self, transport: asyncio.BaseTransport) -> None:
        assert isinstance(transport, asyncio.Transport)
        self.transport = transport
        sock = transport.get_extra_info("socket")
        self.fileno = sock.fileno() if sock is not None else -1

    def data_received(self, data: bytes) -> None:
        self.buffer += data
        if len(self.buffer) > _MAX_BUFFER and self.transport is not None:
            # Reading never pauses, so a server that keeps sending is cut off here rather than held in memory.
            self.error = HttpConnectionError("the server sent more than any answer may hold (64 MiB)")
            self.transport.abort()
        self._wake()

    def eof_received(self) -> bool:
        self.at_end = True
        self._wake()
        return False

    def connection_lost(self, exc: Exception | None) -> None:
        self.at_end = True
        if self.error is None:
            self.error = exc
        self._can_write = True
        self._wake()

    def pause_writing(self) -> None:
        self._can_write = False

    def resume_writing(self) -> None:
        self._can_write = True
        self._wake()

    def _wake(self) -> None:
        waiter = self._waiter
        if waiter is not None and not waiter.done():
            waiter.set_result(None)

    async def _wait(self) -> None:
        self._waiter = asyncio.get_running_loop().create_future()
        try:
            await self._waiter
        finally:
            self._waiter = None

    def readable(self) -> bool:
        """Whether the idle connection has ended or holds bytes no request asked for."""
        if self.at_end or self.buffer:
            return True
        # What came in since the loop last read (a server's FIN just now) shows on the socket, not yet here.
        if self.fileno < 0:
            return False
        poller = select.poll()
        poller.register(self.fileno, select.POLLIN | select.POLLPRI)
        return bool(poller.poll(0))

    async def send(self, data: bytes) -> None:
        """Write ``data``, waiting while the transport's buffer is full."""
        transport = self.transport
        if transport is None or self.at_end or transport.is_closing():
            raise ConnectionResetError(errno.ECONNRESET, "the connection is closed")
        transport.write(data)
        while not self._can_write and not self.at_end:
            await self._wait()
        if self.error is not None:
            raise self.error

    async def more(self) -> bool:
        """Wait for more bytes in ``buffer``; ``False`` once the connection ended with nothing more.

        Raises:
            OSError: the connection broke.
        """
        size = len(self.buffer)
        while len(self.buffer) == size:
            if self.at_end:
                if self.error is not None:
                    raise self.error
                return False
            await self._wait()
        return True

    async def aclose(self) -> None:
        """Close the socket (at once: nothing is left to send on a connection being dropped)."""
        if self.transport is not None:
            self.transport.abort()
        self.at_end = True


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
        self._header_blocks: dict[tuple[Any, ...], bytes] = {}
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
            verb = method.encode("ascii")
        except UnicodeEncodeError:
            verb = b""
        if not _TOKEN.fullmatch(verb):
            raise HttpRequestError("the request method is not an HTTP token")
        block = self._header_block(headers, host)
        head = b"%s %s HTTP/1.1\r\n%scontent-length: %d\r\n\r\n" % (verb, target, block, len(content))
        wire = head + content
        if timeout is None:
            return await self._exchange(origin, wire, verb == b"HEAD", replayable)
        try:
            with anyio.fail_after(timeout):
                return await self._exchange(origin, wire, verb == b"HEAD", replayable)
        except TimeoutError as exc:
            if isinstance(exc, HttpTimeout):
                raise
            raise HttpTimeout(f"{origin} did not answer within {timeout:g}s") from None

    def _header_block(self, headers: Sequence[tuple[str, str]], host: bytes) -> bytes:
        """``headers`` (with ``Host``) as they go on the wire, checked once per distinct list."""
        key = (host, *headers)
        found = self._header_blocks.get(key)
        if found is not None:
            return found
        lines = []
        own_host = False
        for name, value in headers:
            try:
                raw_name, raw_value = name.encode("ascii"), value.encode("ascii")
            except UnicodeEncodeError:
                raise HttpRequestError("a request header holds characters that are not ASCII") from None
            # The values are not quoted: one may be a credential.
            if not _TOKEN.fullmatch(raw_name):
                raise HttpRequestError("a request header name is not an HTTP token")
            if _CONTROL.search(raw_value):
                raise HttpRequestError("a request header value holds a line break or another control character")
            lowered = raw_name.lower()
            if lowered in _OWN_HEADERS:
                continue
            own_host = own_host or lowered == b"host"
            lines.append(b"%s: %s\r\n" % (raw_name, raw_value.strip()))
        if not own_host:
            lines.insert(0, b"host: %s\r\n" % host)
        found = b"".join(lines)
        if len(self._header_blocks) >= _MAX_HEADER_SETS:
            self._header_blocks.clear()
        self._header_blocks[key] = found
        return found

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
        # The ASCII (IDNA) form is what DNS, TLS and the Host header take; an IPv6 literal is bracketed there.
        name = parsed.raw_host.decode("ascii")
        host = f"[{name}]" if ":" in name else name
        if parsed.port is not None and parsed.port != _DEFAULT_PORTS[scheme]:
            host += f":{parsed.port}"
        found = (_Origin(scheme, name, port), parsed.raw_path or b"/", host.encode("ascii"))
        if len(self._targets) >= _MAX_TARGETS:
            self._targets.clear()
        self._targets[url] = found
        return found

    async def _exchange(self, origin: _Origin, wire: bytes, head_only: bool, replayable: bool) -> HttpResponse:
        connection = await self._take_idle(origin)
        reused = connection is not None
        if connection is None:
            connection = await self._connect(origin)
        try:
            try:
                response, keep = await self._send(connection, origin, wire, head_only, reused)
            except _Stale:
                await connection.aclose()
                if not replayable:
                    raise HttpConnectionError(
                        f"{origin} closed a kept-alive connection without answering the request"
                    ) from None
                # The server closed the connection while it was idle; once more on a fresh one.
                connection = await self._connect(origin)
                response, keep = await self._send(connection, origin, wire, head_only, False)
        except BaseException:
            await connection.aclose()
            raise
        if keep and not self._closed:
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
        context: ssl.SSLContext | None = None
        if origin.scheme == "https":
            if self._ssl_context is None:
                self._ssl_context = httpx2.create_ssl_context()
                with contextlib.suppress(NotImplementedError, AttributeError):
                    self._ssl_context.set_alpn_protocols(["http/1.1"])
            context = self._ssl_context
        try:
            loop = asyncio.get_running_loop()
        except RuntimeError:
            raise HttpRequestError("the provider HTTP pool runs on anyio's asyncio backend only") from None
        try:
            _, connection = await loop.create_connection(
                _Connection,
                origin.host,
                origin.port,
                ssl=context,
                server_hostname=origin.host if context is not None else None,
                happy_eyeballs_delay=0.25,
            )
        except ssl.SSLError as exc:
            raise HttpConnectionError(f"TLS with {origin} failed ({exc.reason or type(exc).__name__})") from None
        except OSError as exc:
            raise HttpConnectionError(f"could not connect to {origin} ({_reason(exc)})") from None
        self.connections_opened += 1
        return connection

    async def _send(
        self, connection: _Connection, origin: _Origin, wire: bytes, head_only: bool, reused: bool
    ) -> tuple[HttpResponse, bool]:
        """Send the request and read its response; returns it and whether the connection may carry another."""
        # One write for the request line, headers and body: one syscall, one packet for a small request.
        try:
            await connection.send(wire)
        except _RECEIVE_ERRORS as exc:
            if reused:
                raise _Stale from None
            raise HttpConnectionError(f"the connection to {origin} broke while sending ({_reason(exc)})") from None
        reader = _Reader(connection, origin, reused)
        while True:
            version, status, reason, headers = await reader.head()
            if status >= 200 or status == 101:
                break
        if status == 101:
            raise HttpConnectionError(f"{origin} switched protocols, which no request asked for")
        keep = version == b"HTTP/1.1" and "close" not in _tokens(headers.get("connection", ""))
        coding = headers.get("transfer-encoding")
        length = headers.get("content-length")
        if head_only or status in (204, 304):
            body = b""
        elif coding is not None:
            if length is not None:
                keep = False  # both framings at once (RFC 9112 §6.3): the chunking wins, the connection is not kept
            if _tokens(coding)[-1:] == ["chunked"]:
                body = await reader.chunked()
            else:
                body, keep = await reader.until_closed(), False
        elif length is not None:
            body = await reader.exactly(_content_length(length, origin))
        else:
            body, keep = await reader.until_closed(), False
        if connection.buffer:
            keep = False  # bytes past the end of the answer: the connection is out of step
        encoding = headers.get("content-encoding", "").strip().lower()
        if encoding and encoding != "identity":
            body = _decode(body, encoding, origin)
        return HttpResponse(status, reason, headers, body), keep


class _Reader:
    """Reads one response off a connection, through the connection's buffer."""

    __slots__ = ("connection", "origin", "reused", "received")

    def __init__(self, connection: _Connection, origin: _Origin, reused: bool) -> None:
        self.connection = connection
        self.origin = origin
        self.reused = reused
        self.received = False

    async def _fill(self) -> bool:
        """Wait for more in the buffer; ``False`` at the end of the stream."""
        try:
            more = await self.connection.more()
        except _RECEIVE_ERRORS as exc:
            if self.reused and not self.received:
                raise _Stale from None
            raise HttpConnectionError(f"the connection to {self.origin} broke ({_reason(exc)})") from None
        if not more:
            if self.received:
                return False
            if self.reused:
                raise _Stale
            raise HttpConnectionError(f"{self.origin} closed the connection without answering")
        self.received = True
        return True

    def _broken(self, what: str) -> HttpConnectionError:
        return HttpConnectionError(f"{self.origin} answered with something that is not HTTP/1.1 ({what})")

    def _cut(self) -> HttpConnectionError:
        return HttpConnectionError(f"{self.origin} closed the connection in the middle of its answer")

    async def head(self) -> tuple[bytes, int, str, dict[str, str]]:
        """The status line and headers of the next response (headers with lower-case names)."""
        buffer = self.connection.buffer
        while True:
            found = _HEAD_END.search(buffer)
            if found is not None:
                break
            if len(buffer) > _MAX_HEAD:
                raise self._broken("a head over 64 KiB")
            if not await self._fill():
                raise self._cut()
        head = bytes(buffer[: found.start()])
        del buffer[: found.end()]
        lines = _LINE_END.split(head)
        version, _, rest = lines[0].partition(b" ")
        code = rest[:3]
        if not version.startswith(b"HTTP/1.") or len(code) != 3 or not code.isdigit() or rest[3:4] not in (b"", b" "):
            raise self._broken(f"status line {_trim(lines[0])!r}")
        headers: dict[str, str] = {}
        last = ""
        for line in lines[1:]:
            if line[:1] in (b" ", b"\t") and last:
                headers[last] += " " + line.strip().decode("latin-1")  # an obsolete folded line
                continue
            name, colon, value = line.partition(b":")
            if not colon or not _TOKEN.fullmatch(name):
                raise self._broken(f"header line {_trim(line)!r}")
            key = name.decode("latin-1").lower()
            text = value.strip().decode("latin-1")
            headers[key] = f"{headers[key]}, {text}" if key in headers else text
            last = key
        return version, int(code), rest[4:].decode("latin-1"), headers

    async def exactly(self, length: int) -> bytes:
        """The next ``length`` bytes."""
        buffer = self.connection.buffer
        while len(buffer) < length:
            if not await self._fill():
                raise self._cut()
        body = bytes(buffer[:length])
        del buffer[:length]
        return body

    async def _line(self) -> bytes:
        buffer = self.connection.buffer
        while True:
            found = _LINE_END.search(buffer)
            if found is not None:
                line = bytes(buffer[: found.start()])
                del buffer[: found.end()]
                return line
            if len(buffer) > _MAX_HEAD:
                raise self._broken("a chunk line over 64 KiB")
            if not await self._fill():
                raise self._cut()

    async def chunked(self) -> bytes:
        """A chunked body, trailers read and dropped."""
        parts: list[bytes] = []
        total = 0
        while True:
            size_text = (await self._line()).split(b";", 1)[0].strip()
            if not _HEX.fullmatch(size_text):
                raise self._broken(f"chunk size {_trim(size_text)!r}")
            size = int(size_text, 16)
            if size == 0:
                while await self._line():
                    pass
                return b"".join(parts)
            total += size
            if total > _MAX_BODY:
                raise self._broken("a body over 64 MiB")
            parts.append(await self.exactly(size))
            if await self._line():
                raise self._broken("a chunk longer than its size")

    async def until_closed(self) -> bytes:
        """Everything until the server closes the connection."""
        buffer = self.connection.buffer
        while await self._fill():
            if len(buffer) > _MAX_BODY:
                raise self._broken("a body over 64 MiB")
        body = bytes(buffer)
        buffer.clear()
        return body


def _tokens(value: str) -> list[str]:
    return [t.strip().lower() for t in value.split(",") if t.strip()]


def _content_length(value: str, origin: _Origin) -> int:
    # Several Content-Length headers (joined with commas) are allowed only when they agree.
    values = {v.strip() for v in value.split(",")}
    if len(values) != 1:
        raise HttpConnectionError(f"{origin} answered with conflicting Content-Length headers")
    (text,) = values
    if not _DIGITS.fullmatch(text.encode("latin-1")):
        raise HttpConnectionError(f"{origin} answered with a Content-Length that is not a number")
    length = int(text)
    if length > _MAX_BODY:
        raise HttpConnectionError(f"{origin} answered with a body over 64 MiB")
    return length


def _trim(raw: bytes) -> str:
    text = raw[:80].decode("latin-1")
    return text + "…" if len(raw) > 80 else text


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
