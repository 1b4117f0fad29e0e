"""OTLP over gRPC: a real OpenTelemetry gRPC exporter's spans are stored and searchable like OTLP/HTTP ones."""

from __future__ import annotations

import base64
import socket
from collections.abc import AsyncIterator, Callable
from contextlib import asynccontextmanager
from typing import Any

import anyio
import grpc
import pytest
from google.protobuf import json_format
from opentelemetry.proto.collector.trace.v1.trace_service_pb2 import (
    ExportTraceServiceRequest,
    ExportTraceServiceResponse,
)

from arize_skills.client import AsyncArizeClient
from arize_skills.engine import Engine
from arize_skills.engine.otlp_grpc import OtlpGrpcServer

from .otlp_payloads import export_body, export_with_the_sdk, span

TOKEN = "tok-grpc-receiver-5d1e"
EXPORT = "/opentelemetry.proto.collector.trace.v1.TraceService/Export"


def free_port() -> int:
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        return int(probe.getsockname()[1])


@asynccontextmanager
async def receiver(engine: Engine, *, token: str | None = None) -> AsyncIterator[int]:
    server = OtlpGrpcServer(engine, "127.0.0.1", free_port(), token=token)
    port = await server.start()
    try:
        yield port
    finally:
        await server.stop()


async def raw_export(
    port: int, request: ExportTraceServiceRequest, metadata: tuple[tuple[str, str], ...] = ()
) -> ExportTraceServiceResponse:
    async with grpc.aio.insecure_channel(f"127.0.0.1:{port}") as channel:
        call: Callable[..., object] = channel.unary_unary(
            EXPORT,
            request_serializer=ExportTraceServiceRequest.SerializeToString,
            response_deserializer=ExportTraceServiceResponse.FromString,
        )
        response = await call(request, metadata=metadata, timeout=10)  # type: ignore[misc]
    assert isinstance(response, ExportTraceServiceResponse)
    return response


def request_of(spans: list[dict[str, Any]], project: str | None = None) -> ExportTraceServiceRequest:
    body = export_body(spans, project=project)
    for resource in body["resourceSpans"]:
        for scope in resource["scopeSpans"]:
            for item in scope["spans"]:
                # The protobuf JSON mapping reads IDs as base64; OTLP/JSON's hex is the HTTP route's concern.
                for key in ("traceId", "spanId", "parentSpanId"):
                    if key in item:
                        item[key] = base64.b64encode(bytes.fromhex(item[key])).decode()
    return json_format.ParseDict(body, ExportTraceServiceRequest())


async def test_a_real_grpc_exporters_spans_are_searchable_in_the_project_its_resource_names(
    engine: Engine, client: AsyncArizeClient
) -> None:
    async with receiver(engine) as port:
        flushed = await anyio.to_thread.run_sync(export_with_the_sdk, port, "grpc-app", ["plan", "answer"])
    assert flushed
    spans = [s async for s in client.spans.list("grpc-app")]
    assert sorted(s.name for s in spans) == ["answer", "plan"]
    assert {s.attributes["input.value"] for s in spans} == {"question for plan", "question for answer"}
    assert all(s.kind == "LLM" for s in spans)
    found = [s async for s in client.spans.list("grpc-app", filter="name = 'plan'")]
    assert [s.name for s in found] == ["plan"]


async def test_the_project_metadata_names_the_project_when_the_resource_does_not(
    engine: Engine, client: AsyncArizeClient
) -> None:
    async with receiver(engine) as port:
        await raw_export(port, request_of([span("a" * 16)]), metadata=(("arize-project-name", "from-metadata"),))
    assert [s.context.span_id async for s in client.spans.list("from-metadata")] == ["a" * 16]


async def test_with_a_token_a_call_without_it_is_unauthenticated_and_stores_nothing(
    engine: Engine, client: AsyncArizeClient
) -> None:
    async with receiver(engine, token=TOKEN) as port:
        for metadata in ((), (("authorization", "Bearer wrong"),)):
            with pytest.raises(grpc.aio.AioRpcError) as caught:
                await raw_export(port, request_of([span("b" * 16)], project="guarded"), metadata=metadata)
            assert caught.value.code() == grpc.StatusCode.UNAUTHENTICATED
            assert TOKEN not in (caught.value.details() or "")
        await raw_export(port, request_of([span("c" * 16)], project="guarded"), (("authorization", f"Bearer {TOKEN}"),))
        flushed = await anyio.to_thread.run_sync(
            export_with_the_sdk, port, "guarded", ["sdk"], {"authorization": TOKEN}
        )
    assert flushed
    assert sorted([s.name async for s in client.spans.list("guarded")]) == ["sdk", "span"]


async def test_spans_that_cannot_be_stored_are_counted_as_partial_success_and_the_rest_stored(
    engine: Engine, client: AsyncArizeClient
) -> None:
    request = request_of([span("d" * 16), span("e" * 16)], project="partial")
    request.resource_spans[0].scope_spans[0].spans[1].span_id = b"\x01\x02"  # not 8 bytes
    async with receiver(engine) as port:
        response = await raw_export(port, request)
    assert response.partial_success.rejected_spans == 1
    assert "span" in response.partial_success.error_message
    assert [s.context.span_id async for s in client.spans.list("partial")] == ["d" * 16]


async def test_a_port_in_use_is_an_os_error_naming_the_address(engine: Engine) -> None:
    with socket.socket() as taken:
        taken.bind(("127.0.0.1", 0))
        taken.listen()
        port = taken.getsockname()[1]
        server = OtlpGrpcServer(engine, "127.0.0.1", port, token=None)
        with pytest.raises(OSError, match=f"cannot listen for OTLP/gRPC on 127.0.0.1:{port}"):
            await server.start()
