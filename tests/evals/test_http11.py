"""The provider's keep-alive HTTP/1.1 pool over real sockets on 127.0.0.1: connection reuse, a server closing idle
connections, timeouts, response framing, TLS, and Retry-After through ``LlmClient``'s shared retry policy.

Most tests script a raw server byte by byte (``raw_server``) so that exactly when a connection closes is under the
test's control; reuse is also checked against the stub LLM server, which tells each request's client port.
"""

from __future__ import annotations

import email.utils
import gzip
import ipaddress
import json
import ssl
import time
from collections.abc import AsyncIterator, Awaitable, Callable
from contextlib import asynccontextmanager
from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta
from typing import Any

import anyio
import pytest
from anyio.abc import ByteStream, SocketAttribute
from anyio.streams.tls import TLSListener

from arize_skills.evals.http11 import (
    HttpConnectionError,
    HttpPool,
    HttpRequestError,
    HttpTimeout,
    uses_proxy,
)
from arize_skills.evals.providers import ChatMessage, ChatRequest, LlmClient, ProviderConfig
from tests.stubs import serve_stub

KEY = "sk-test-SECRET-0123456789"
WAIT = 10.0
"""The bound on any wait in these tests (a test that needs it has failed)."""


@dataclass
class Seen:
    """One request the raw server read."""

    connection: int
    line: bytes
    headers: dict[str, str]
    body: bytes


class Reader:
    """Reads whole requests (head and ``Content-Length`` body) off one server-side connection."""

    def __init__(self, stream: ByteStream) -> None:
        self.stream = stream
        self.buffer = b""

    async def request(self, connection: int) -> Seen | None:
        """The next request, or ``None`` when the client closed the connection."""
        while b"\r\n\r\n" not in self.buffer:
            chunk = await self._receive()
            if not chunk:
                return None
            self.buffer += chunk
        head, self.buffer = self.buffer.split(b"\r\n\r\n", 1)
        line, *lines = head.split(b"\r\n")
        headers = {}
        for raw in lines:
            name, _, value = raw.decode("latin-1").partition(":")
            headers[name.strip().lower()] = value.strip()
        length = int(headers.get("content-length", "0"))
        while len(self.buffer) < length:
            chunk = await self._receive()
            if not chunk:
                return None
            self.buffer += chunk
        body, self.buffer = self.buffer[:length], self.buffer[length:]
        return Seen(connection, line, headers, body)

    async def until_closed(self) -> None:
        """Wait until the client closes the connection (what it sends meanwhile is dropped)."""
        while await self._receive():
            pass

    async def _receive(self) -> bytes:
        try:
            return await self.stream.receive()
        except (anyio.EndOfStream, anyio.BrokenResourceError, anyio.ClosedResourceError, OSError):
            return b""


Handler = Callable[["RawServer", int, Reader], Awaitable[None]]


@dataclass
class RawServer:
    """A scripted server: ``handler(server, connection_number, reader)`` serves each accepted connection."""

    url: str
    requests: list[Seen] = field(default_factory=list)
    connections: int = 0
    closed: list[anyio.Event] = field(default_factory=list)

    async def read(self, number: int, reader: Reader) -> Seen | None:
        """Read one request on connection ``number`` and record it."""
        seen = await reader.request(number)
        if seen is not None:
            self.requests.append(seen)
        return seen


def response(body: bytes = b'{"ok": true}', *, status: str = "200 OK", headers: dict[str, str] | None = None) -> bytes:
    """A ``Content-Length`` response."""
    lines = [f"HTTP/1.1 {status}", f"content-length: {len(body)}", "content-type: application/json"]
    lines += [f"{k}: {v}" for k, v in (headers or {}).items()]
    return ("\r\n".join(lines) + "\r\n\r\n").encode() + body


def chunked(*parts: bytes, status: str = "200 OK", headers: dict[str, str] | None = None) -> bytes:
    """A chunked response of ``parts``, with a trailer."""
    lines = [f"HTTP/1.1 {status}", "transfer-encoding: chunked", "content-type: application/json"]
    lines += [f"{k}: {v}" for k, v in (headers or {}).items()]
    out = ("\r\n".join(lines) + "\r\n\r\n").encode()
    for part in parts:
        out += f"{len(part):x}\r\n".encode() + part + b"\r\n"
    return out + b"0\r\nx-trailer: done\r\n\r\n"


@asynccontextmanager
async def raw_server(handler: Handler, *, tls: ssl.SSLContext | None = None) -> AsyncIterator[RawServer]:
    """Serve ``handler`` on a free 127.0.0.1 port (``https`` with ``tls``) until the block ends."""
    listener = await anyio.create_tcp_listener(local_host="127.0.0.1")
    port = listener.extra(SocketAttribute.local_port)
    server = RawServer(f"{'https' if tls else 'http'}://127.0.0.1:{port}")
    serving: Any = listener if tls is None else TLSListener(listener, tls, standard_compatible=False)

    async def serve(stream: ByteStream) -> None:
        number = server.connections
        server.connections += 1
        done = anyio.Event()
        server.closed.append(done)
        try:
            async with stream:
                await handler(server, number, Reader(stream))
        finally:
            done.set()

    async with serving, anyio.create_task_group() as group:
        group.start_soon(serving.serve, serve)
        try:
            yield server
        finally:
            group.cancel_scope.cancel()


async def post(pool: HttpPool, server: RawServer, **options: Any) -> Any:
    """POST a small JSON body to the raw server."""
    options.setdefault("timeout", WAIT)
    return await pool.request(
        "POST",
        f"{server.url}/v1/chat/completions",
        headers=[("content-type", "application/json")],
        content=b"{}",
        **options,
    )


async def answer_each(server: RawServer, number: int, reader: Reader) -> None:
    """Answer every request on the connection, keeping it alive."""
    while await server.read(number, reader) is not None:
        await reader.stream.send(response(json.dumps({"n": len(server.requests)}).encode()))


# --- keep-alive ---------------------------------------------------------------------------------------------------


async def test_one_connection_carries_sequential_requests_to_the_stub() -> None:
    with serve_stub(label="factual", expected_key=KEY) as stub:
        config = ProviderConfig(provider="OPEN_AI", api_key=KEY, base_url=stub.openai_url)
        request = ChatRequest(model="m", messages=[ChatMessage(role="user", content="Is it factual?")])
        async with LlmClient(config) as llm:
            texts = [(await llm.complete(request)).text for _ in range(5)]

    assert texts == ["factual"] * 5
    ports = {r.client_port for r in stub.requests}
    assert len(stub.requests) == 5 and len(ports) == 1 and None not in ports


async def test_a_kept_alive_connection_is_reused_and_the_answer_is_read_whole() -> None:
    async with raw_server(answer_each) as server, HttpPool() as pool:
        first = await post(pool, server)
        second = await post(pool, server)

    assert (first.status_code, first.json()) == (200, {"n": 1})
    assert (second.status_code, second.json()) == (200, {"n": 2})
    assert server.connections == 1 and pool.connections_opened == 1
    seen = server.requests[0]
    assert seen.line == b"POST /v1/chat/completions HTTP/1.1"
    assert seen.headers["host"] == server.url.removeprefix("http://")
    assert seen.headers["content-length"] == "2" and seen.body == b"{}"


async def test_concurrent_requests_each_get_a_connection_and_all_are_kept() -> None:
    release = anyio.Event()

    async def held(server: RawServer, number: int, reader: Reader) -> None:
        while await server.read(number, reader) is not None:
            if len(server.requests) == 3:
                release.set()
            with anyio.fail_after(WAIT):
                await release.wait()
            await reader.stream.send(response())

    async with raw_server(held) as server, HttpPool(max_idle=2) as pool:
        with anyio.fail_after(WAIT):
            async with anyio.create_task_group() as group:
                for _ in range(3):
                    group.start_soon(post, pool, server)
        opened = pool.connections_opened
        for _ in range(2):
            await post(pool, server)

    assert opened == 3 and server.connections == 3
    # Only two idle connections were kept (max_idle), and they carried the later requests.
    assert pool.connections_opened == 3
    assert {r.connection for r in server.requests[3:]} <= {0, 1, 2}


async def test_a_connection_the_server_closed_while_idle_is_not_used_again() -> None:
    async def one_then_close(server: RawServer, number: int, reader: Reader) -> None:
        if await server.read(number, reader) is not None:
            await reader.stream.send(response())

    async with raw_server(one_then_close) as server, HttpPool() as pool:
        await post(pool, server)
        with anyio.fail_after(WAIT):
            await server.closed[0].wait()
        second = await post(pool, server, replayable=False)

    assert second.status_code == 200
    assert server.connections == 2
    # Nothing was sent on the closed connection: each request reached the server once.
    assert [r.connection for r in server.requests] == [0, 1]


async def test_a_connection_the_server_closes_as_the_request_arrives_is_retried_once_when_replayable() -> None:
    async def drop_second(server: RawServer, number: int, reader: Reader) -> None:
        while await server.read(number, reader) is not None:
            if len(server.requests) == 2:
                return  # closes the kept-alive connection with the request unanswered
            await reader.stream.send(response(json.dumps({"n": len(server.requests)}).encode()))

    async with raw_server(drop_second) as server, HttpPool() as pool:
        await post(pool, server)
        again = await post(pool, server, replayable=True)

    assert again.json() == {"n": 3}
    assert [r.connection for r in server.requests] == [0, 0, 1]


async def test_a_request_that_is_not_replayable_is_not_sent_twice() -> None:
    async def drop_second(server: RawServer, number: int, reader: Reader) -> None:
        while await server.read(number, reader) is not None:
            if len(server.requests) == 2:
                return
            await reader.stream.send(response())

    async with raw_server(drop_second) as server, HttpPool() as pool:
        await post(pool, server)
        with pytest.raises(HttpConnectionError) as caught:
            await post(pool, server, replayable=False)

    assert "without answering" in str(caught.value)
    assert len(server.requests) == 2 and server.connections == 1


async def test_a_fresh_connection_closed_without_an_answer_is_an_error_even_when_replayable() -> None:
    async def drop(server: RawServer, number: int, reader: Reader) -> None:
        await server.read(number, reader)

    async with raw_server(drop) as server, HttpPool() as pool:
        with pytest.raises(HttpConnectionError) as caught:
            await post(pool, server, replayable=True)

    assert "closed the connection without answering" in str(caught.value)
    assert len(server.requests) == 1


async def test_a_connection_closed_in_the_middle_of_an_answer_is_an_error_and_not_retried() -> None:
    async def cut(server: RawServer, number: int, reader: Reader) -> None:
        while await server.read(number, reader) is not None:
            if len(server.requests) == 2:
                await reader.stream.send(response(b'{"half": "an answ')[:-4])
                return
            await reader.stream.send(response())

    async with raw_server(cut) as server, HttpPool() as pool:
        await post(pool, server)
        with pytest.raises(HttpConnectionError):
            await post(pool, server, replayable=True)

    assert len(server.requests) == 2


# --- timeouts -----------------------------------------------------------------------------------------------------


async def test_a_server_that_never_answers_times_out_and_its_connection_is_dropped() -> None:
    async def hang_first(server: RawServer, number: int, reader: Reader) -> None:
        if number == 0:
            await server.read(number, reader)
            with anyio.fail_after(WAIT):
                await reader.until_closed()
            return
        await answer_each(server, number, reader)

    async with raw_server(hang_first) as server, HttpPool() as pool:
        started = time.monotonic()
        with pytest.raises(HttpTimeout) as caught:
            await post(pool, server, timeout=0.3)
        took = time.monotonic() - started
        with anyio.fail_after(WAIT):
            await server.closed[0].wait()
        after = await post(pool, server)

    assert 0.3 <= took < 5
    assert "did not answer within 0.3s" in str(caught.value)
    assert isinstance(caught.value, TimeoutError)
    assert after.status_code == 200 and server.connections == 2


async def test_the_timeout_bounds_a_slow_trickle_of_the_body_too() -> None:
    async def trickle(server: RawServer, number: int, reader: Reader) -> None:
        await server.read(number, reader)
        whole = response(b'{"slow": true}')
        await reader.stream.send(whole[:-5])
        with anyio.fail_after(WAIT):
            await reader.until_closed()

    async with raw_server(trickle) as server, HttpPool() as pool:
        with pytest.raises(HttpTimeout):
            await post(pool, server, timeout=0.3)


# --- framing --------------------------------------------------------------------------------------------------------


async def test_chunked_and_content_length_answers_on_one_connection() -> None:
    async def mixed(server: RawServer, number: int, reader: Reader) -> None:
        await server.read(number, reader)
        await reader.stream.send(chunked(b'{"parts": ', b'["a", ', b'"b"]}'))
        await server.read(number, reader)
        await reader.stream.send(response(b'{"framed": "by length"}'))
        await server.read(number, reader)
        await reader.stream.send(b"HTTP/1.1 100 Continue\r\n\r\n" + response(b'{"after": "100"}'))

    async with raw_server(mixed) as server, HttpPool() as pool:
        first = await post(pool, server)
        second = await post(pool, server)
        third = await post(pool, server)

    assert first.json() == {"parts": ["a", "b"]}
    assert first.headers["transfer-encoding"] == "chunked"
    assert second.json() == {"framed": "by length"}
    assert third.json() == {"after": "100"}
    assert server.connections == 1


async def test_an_answer_delimited_by_closing_is_read_whole_and_the_connection_not_kept() -> None:
    async def close_delimited(server: RawServer, number: int, reader: Reader) -> None:
        await server.read(number, reader)
        await reader.stream.send(b'HTTP/1.1 200 OK\r\ncontent-type: application/json\r\n\r\n{"until": "close"}')

    async with raw_server(close_delimited) as server, HttpPool() as pool:
        first = await post(pool, server)
        second = await post(pool, server)

    assert first.json() == second.json() == {"until": "close"}
    assert server.connections == 2


async def test_repeated_headers_are_joined_and_gzip_bodies_decoded() -> None:
    body = gzip.compress(b'{"zipped": true}')

    async def zipped(server: RawServer, number: int, reader: Reader) -> None:
        await server.read(number, reader)
        raw = response(body, headers={"content-encoding": "gzip", "x-seen": "a"})
        await reader.stream.send(raw.replace(b"x-seen: a\r\n", b"x-seen: a\r\nX-Seen: b\r\n"))

    async with raw_server(zipped) as server, HttpPool() as pool:
        answer = await post(pool, server)

    assert answer.json() == {"zipped": True}
    assert answer.headers["x-seen"] == "a, b"


async def test_lenient_heads_chunk_extensions_and_empty_answers_keep_the_connection_in_step() -> None:
    async def unusual(server: RawServer, number: int, reader: Reader) -> None:
        await server.read(number, reader)
        # Bare LF line ends, a folded header line and chunk extensions.
        await reader.stream.send(
            b"HTTP/1.1 200 OK\ntransfer-encoding: chunked\nx-folded: one\n  two\n\n"
            b"5;name=value\r\nhello\r\n1\r\n!\r\n0\r\n\r\n"
        )
        await server.read(number, reader)
        await reader.stream.send(b"HTTP/1.1 204 No Content\r\n\r\n")
        await server.read(number, reader)
        await reader.stream.send(response(b"{}", status="200"))

    async with raw_server(unusual) as server, HttpPool() as pool:
        first = await post(pool, server)
        second = await post(pool, server)
        third = await post(pool, server)

    assert first.content == b"hello!" and first.headers["x-folded"] == "one two"
    assert (second.status_code, second.content) == (204, b"")
    assert (third.status_code, third.reason_phrase, third.content) == (200, "", b"{}")
    assert server.connections == 1


async def test_bytes_past_the_end_of_an_answer_retire_the_connection() -> None:
    async def overlong(server: RawServer, number: int, reader: Reader) -> None:
        while await server.read(number, reader) is not None:
            await reader.stream.send(response(b'{"n": 1}') + b"unasked-for bytes")

    async with raw_server(overlong) as server, HttpPool() as pool:
        first = await post(pool, server)
        second = await post(pool, server)

    assert first.json() == second.json() == {"n": 1}
    assert server.connections == 2


async def test_an_answer_with_both_framings_is_read_chunked_and_its_connection_retired() -> None:
    async def both(server: RawServer, number: int, reader: Reader) -> None:
        while await server.read(number, reader) is not None:
            await reader.stream.send(
                chunked(b'{"chunked": ', b"true}").replace(b"\r\n\r\n", b"\r\ncontent-length: 3\r\n\r\n", 1)
            )

    async with raw_server(both) as server, HttpPool() as pool:
        first = await post(pool, server)
        second = await post(pool, server)

    assert first.json() == second.json() == {"chunked": True}
    assert server.connections == 2


async def test_conflicting_content_lengths_are_refused() -> None:
    async def conflicting(server: RawServer, number: int, reader: Reader) -> None:
        await server.read(number, reader)
        await reader.stream.send(b"HTTP/1.1 200 OK\r\ncontent-length: 2\r\ncontent-length: 3\r\n\r\n{}")

    async with raw_server(conflicting) as server, HttpPool() as pool:
        with pytest.raises(HttpConnectionError) as caught:
            await post(pool, server)

    assert "Content-Length" in str(caught.value)


async def test_an_answer_declaring_a_body_over_the_limit_is_refused_before_it_is_read() -> None:
    async def huge(server: RawServer, number: int, reader: Reader) -> None:
        await server.read(number, reader)
        await reader.stream.send(b"HTTP/1.1 200 OK\r\ncontent-length: 100000000000\r\n\r\n{")
        with anyio.fail_after(WAIT):
            await reader.until_closed()

    async with raw_server(huge) as server, HttpPool() as pool:
        with pytest.raises(HttpConnectionError) as caught:
            await post(pool, server)

    assert "64 MiB" in str(caught.value)


async def test_a_body_larger_than_the_socket_buffers_is_sent_whole() -> None:
    big = bytes(range(256)) * (16 * 1024)  # 4 MiB: the transport pauses writing until the server reads

    async def measure(server: RawServer, number: int, reader: Reader) -> None:
        while (seen := await server.read(number, reader)) is not None:
            await reader.stream.send(response(json.dumps({"bytes": len(seen.body), "same": seen.body == big}).encode()))

    async with raw_server(measure) as server, HttpPool() as pool:
        answer = await pool.request("POST", f"{server.url}/upload", content=big, timeout=WAIT)
        again = await pool.request("POST", f"{server.url}/upload", content=big, timeout=WAIT)

    assert answer.json() == again.json() == {"bytes": len(big), "same": True}
    assert server.connections == 1


async def test_an_answer_that_is_not_http_is_a_connection_error() -> None:
    async def garbage(server: RawServer, number: int, reader: Reader) -> None:
        await server.read(number, reader)
        await reader.stream.send(b"SSH-2.0-OpenSSH_9.6\r\n\r\n")

    async with raw_server(garbage) as server, HttpPool() as pool:
        with pytest.raises(HttpConnectionError) as caught:
            await post(pool, server)

    assert "not HTTP/1.1" in str(caught.value)


async def test_a_header_with_a_line_break_is_refused_without_quoting_it() -> None:
    async with raw_server(answer_each) as server, HttpPool() as pool:
        with pytest.raises(HttpRequestError) as caught:
            await pool.request(
                "POST", f"{server.url}/v1", headers=[("authorization", f"Bearer {KEY}\r\nx-injected: 1")], timeout=WAIT
            )

    assert KEY not in str(caught.value) and "x-injected" not in str(caught.value)
    assert server.requests == []


async def test_only_http_and_https_urls_are_called() -> None:
    async with HttpPool() as pool:
        with pytest.raises(HttpRequestError):
            await pool.request("GET", "ftp://127.0.0.1/file", timeout=WAIT)


async def test_a_refused_connection_is_a_connection_error_naming_the_origin() -> None:
    listener = await anyio.create_tcp_listener(local_host="127.0.0.1")
    port = listener.extra(SocketAttribute.local_port)
    await listener.aclose()
    async with HttpPool() as pool:
        with pytest.raises(HttpConnectionError) as caught:
            await pool.request("GET", f"http://127.0.0.1:{port}/", timeout=WAIT)

    assert f"127.0.0.1:{port}" in str(caught.value)


# --- through LlmClient: the shared retry policy -------------------------------------------------------------------


class RecordingSleep:
    """Stands in for ``anyio.sleep``: records each requested delay and returns at once."""

    def __init__(self) -> None:
        self.delays: list[float] = []

    async def __call__(self, delay: float) -> None:
        self.delays.append(delay)


def chat_answer(text: str) -> bytes:
    """An OpenAI chat completion body answering ``text``."""
    return json.dumps({"choices": [{"index": 0, "message": {"role": "assistant", "content": text}}]}).encode()


async def test_429_and_503_with_retry_after_are_retried_through_the_shared_policy() -> None:
    when = email.utils.format_datetime(datetime.now(UTC) + timedelta(seconds=30), usegmt=True)
    error = json.dumps({"error": {"message": "slow down", "type": "rate_limit_error"}}).encode()

    async def limited(server: RawServer, number: int, reader: Reader) -> None:
        while await server.read(number, reader) is not None:
            count = len(server.requests)
            if count == 1:
                await reader.stream.send(chunked(error, status="429 Too Many Requests", headers={"retry-after": "2"}))
            elif count == 2:
                await reader.stream.send(
                    response(error, status="503 Service Unavailable", headers={"retry-after": when})
                )
            elif count == 3:
                await reader.stream.send(
                    response(error, status="429 Too Many Requests", headers={"retry-after-ms": "250"})
                )
            else:
                await reader.stream.send(response(chat_answer("finally")))

    sleep = RecordingSleep()
    async with raw_server(limited) as server:
        config = ProviderConfig(provider="CUSTOM", api_key=KEY, base_url=f"{server.url}/v1")
        async with LlmClient(config, sleep=sleep, max_retries=3) as llm:
            result = await llm.complete(ChatRequest(model="m", messages=[ChatMessage(role="user", content="hi")]))

    assert result.text == "finally"
    assert sleep.delays[0] == 2.0 and 25 <= sleep.delays[1] <= 30 and sleep.delays[2] == 0.25
    assert len(server.requests) == 4 and server.connections == 1


# --- proxies --------------------------------------------------------------------------------------------------------


def test_uses_proxy_reads_the_environment_and_no_proxy(monkeypatch: pytest.MonkeyPatch) -> None:
    assert uses_proxy("https://api.openai.com/v1") is False
    monkeypatch.setenv("HTTPS_PROXY", "http://127.0.0.1:9")
    monkeypatch.setenv("NO_PROXY", "127.0.0.1,localhost")
    assert uses_proxy("https://api.openai.com/v1") is True
    assert uses_proxy("http://api.openai.com/v1") is False
    assert uses_proxy("https://127.0.0.1:8443/v1") is False


async def test_a_proxied_provider_is_called_through_the_proxy(monkeypatch: pytest.MonkeyPatch) -> None:
    async def proxy(server: RawServer, number: int, reader: Reader) -> None:
        while await server.read(number, reader) is not None:
            await reader.stream.send(response(chat_answer("via proxy")))

    async with raw_server(proxy) as server:
        monkeypatch.setenv("HTTP_PROXY", server.url)
        monkeypatch.setenv("NO_PROXY", "localhost")
        config = ProviderConfig(provider="CUSTOM", api_key=KEY, base_url="http://provider.invalid/v1")
        async with LlmClient(config, max_retries=0) as llm:
            result = await llm.complete(ChatRequest(model="m", messages=[ChatMessage(role="user", content="hi")]))

    assert result.text == "via proxy"
    # A proxy gets the absolute URL on the request line.
    assert server.requests[0].line == b"POST http://provider.invalid/v1/chat/completions HTTP/1.1"


# --- TLS --------------------------------------------------------------------------------------------------------------


def self_signed() -> tuple[ssl.SSLContext, ssl.SSLContext]:
    """A server context with a fresh self-signed certificate for 127.0.0.1, and a client context that trusts it."""
    pytest.importorskip("cryptography")
    from cryptography import x509
    from cryptography.hazmat.primitives import hashes, serialization
    from cryptography.hazmat.primitives.asymmetric import ec
    from cryptography.x509.oid import NameOID

    key = ec.generate_private_key(ec.SECP256R1())
    name = x509.Name([x509.NameAttribute(NameOID.COMMON_NAME, "arize-skills test")])
    now = datetime.now(UTC)
    certificate = (
        x509.CertificateBuilder()
        .subject_name(name)
        .issuer_name(name)
        .public_key(key.public_key())
        .serial_number(x509.random_serial_number())
        .not_valid_before(now - timedelta(minutes=5))
        .not_valid_after(now + timedelta(hours=1))
        .add_extension(x509.SubjectAlternativeName([x509.IPAddress(ipaddress.ip_address("127.0.0.1"))]), False)
        .add_extension(x509.BasicConstraints(ca=True, path_length=None), True)
        .add_extension(x509.SubjectKeyIdentifier.from_public_key(key.public_key()), False)
        .add_extension(x509.AuthorityKeyIdentifier.from_issuer_public_key(key.public_key()), False)
        .sign(key, hashes.SHA256())
    )
    cert_pem = certificate.public_bytes(serialization.Encoding.PEM)
    key_pem = key.private_bytes(
        serialization.Encoding.PEM, serialization.PrivateFormat.PKCS8, serialization.NoEncryption()
    )
    server = ssl.SSLContext(ssl.PROTOCOL_TLS_SERVER)
    # load_cert_chain reads files only; a pipe-free way is a temporary file per part.
    import tempfile

    with tempfile.NamedTemporaryFile() as cert_file, tempfile.NamedTemporaryFile() as key_file:
        cert_file.write(cert_pem)
        key_file.write(key_pem)
        cert_file.flush()
        key_file.flush()
        server.load_cert_chain(cert_file.name, key_file.name)
    client = ssl.create_default_context(cadata=cert_pem.decode())
    return server, client


async def test_https_with_a_trusted_certificate_keeps_its_connection_alive() -> None:
    server_context, client_context = self_signed()
    async with raw_server(answer_each, tls=server_context) as server, HttpPool(ssl_context=client_context) as pool:
        first = await post(pool, server)
        second = await post(pool, server)

    assert server.url.startswith("https://")
    assert (first.json(), second.json()) == ({"n": 1}, {"n": 2})
    assert server.connections == 1 and pool.connections_opened == 1


async def test_https_to_an_untrusted_certificate_fails_as_a_connection_error() -> None:
    server_context, _ = self_signed()

    async def ignore(server: RawServer, number: int, reader: Reader) -> None:
        await reader.until_closed()

    async with raw_server(ignore, tls=server_context) as server, HttpPool() as pool:
        with pytest.raises(HttpConnectionError) as caught:
            await post(pool, server)

    assert "TLS" in str(caught.value)
    assert server.requests == []
