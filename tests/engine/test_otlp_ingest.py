"""OTLP/HTTP trace ingest (``POST /v1/traces``): a real OpenTelemetry exporter, OTLP/JSON, gzip, bad bodies."""

from __future__ import annotations

import base64
import gzip
import json
import sqlite3
from datetime import UTC, datetime, timedelta

import anyio
import anyio.to_thread
import pytest
from google.rpc import status_pb2
from opentelemetry.exporter.otlp.proto.http.trace_exporter import OTLPSpanExporter
from opentelemetry.proto.collector.trace.v1.trace_service_pb2 import (
    ExportTraceServiceRequest,
    ExportTraceServiceResponse,
)
from opentelemetry.proto.common.v1.common_pb2 import AnyValue, KeyValue
from opentelemetry.proto.resource.v1.resource_pb2 import Resource as ProtoResource
from opentelemetry.proto.trace.v1.trace_pb2 import ResourceSpans, ScopeSpans
from opentelemetry.proto.trace.v1.trace_pb2 import Span as ProtoSpan
from opentelemetry.sdk.resources import Resource
from opentelemetry.sdk.trace import ReadableSpan, TracerProvider
from opentelemetry.sdk.trace.export import BatchSpanProcessor, SimpleSpanProcessor
from opentelemetry.sdk.trace.export.in_memory_span_exporter import InMemorySpanExporter
from opentelemetry.trace import Status, StatusCode

from arize_skills.client import AsyncArizeClient
from arize_skills.engine import Engine
from arize_skills.engine.ingest.otlp import MAX_BODY_BYTES
from arize_skills.engine.store.evaluations import upsert_evaluation
from arize_skills.models.spans import Span
from tests.conftest import LiveEngine

from .otlp_payloads import export_body, ingest, ns, post_traces, span

START = datetime.now(UTC) - timedelta(hours=1)


def _export_with_the_sdk(url: str, project: str) -> list[ReadableSpan]:
    """Trace a small OpenInference app with the OpenTelemetry SDK, exporting over OTLP/HTTP protobuf."""
    provider = TracerProvider(resource=Resource.create({"openinference.project.name": project, "service.name": "app"}))
    provider.add_span_processor(BatchSpanProcessor(OTLPSpanExporter(endpoint=f"{url}/v1/traces", timeout=10)))
    memory = InMemorySpanExporter()
    provider.add_span_processor(SimpleSpanProcessor(memory))
    tracer = provider.get_tracer("tests")
    with tracer.start_as_current_span("agent") as root:
        root.set_attribute("openinference.span.kind", "CHAIN")
        root.set_attribute("input.value", "What is 2+2?")
        root.set_attribute("output.value", "4")
        root.set_status(Status(StatusCode.OK))
        with tracer.start_as_current_span("ChatCompletion") as llm:
            llm.set_attribute("openinference.span.kind", "llm")
            llm.set_attribute("llm.model_name", "gpt-4o")
            llm.set_attribute("llm.output_messages.0.message.role", "assistant")
            llm.set_attribute("llm.output_messages.0.message.content", "4")
            llm.set_attribute("llm.token_count.total", 42)
            llm.set_attribute("llm.token_count.prompt", 30)
            llm.set_attribute("tag.tags", ["math", "short"])
            llm.add_event("first_token", {"latency.ms": 12.5})
        with tracer.start_as_current_span("cheap-call") as small:
            small.set_attribute("openinference.span.kind", "LLM")
            small.set_attribute("llm.token_count.total", 5)
        with tracer.start_as_current_span("calculator") as tool:
            tool.set_attribute("openinference.span.kind", "TOOL")
            tool.set_status(Status(StatusCode.ERROR, "division by zero"))
    assert provider.force_flush(timeout_millis=15_000), "the exporter did not flush within 15 s"
    provider.shutdown()
    return list(memory.get_finished_spans())


def _hex(value: int, width: int) -> str:
    return format(value, f"0{width}x")


def _ms(value: int) -> datetime:
    """A nanosecond timestamp as the API renders it (milliseconds)."""
    moment = datetime(1970, 1, 1, tzinfo=UTC) + timedelta(microseconds=value // 1000)
    return moment.replace(microsecond=moment.microsecond // 1000 * 1000)


async def test_spans_from_the_opentelemetry_otlp_http_exporter_are_listed_with_every_field_mapped(
    live_engine: LiveEngine,
) -> None:
    sent = await anyio.to_thread.run_sync(_export_with_the_sdk, live_engine.url, "math-agent")
    by_name = {s.name: s for s in sent}
    async with AsyncArizeClient(base_url=live_engine.url) as client:
        client.space = (await client.spaces.list()).items[0].id
        page = await client.spans.list(
            "math-agent", filter="span_kind = 'LLM' AND attributes.llm.token_count.total > 10"
        )
        everything = [s async for s in client.spans.list("math-agent")]
    assert [s.name for s in page.items] == ["ChatCompletion"]
    llm: Span = page.items[0]
    source = by_name["ChatCompletion"]
    assert source.context is not None and source.parent is not None
    assert llm.context.trace_id == _hex(source.context.trace_id, 32)
    assert llm.context.span_id == _hex(source.context.span_id, 16)
    assert llm.parent_id == _hex(source.parent.span_id, 16)
    assert llm.kind == "LLM"
    assert source.start_time is not None and source.end_time is not None
    assert llm.start_time == _ms(source.start_time)
    assert llm.end_time == _ms(source.end_time)
    assert llm.latency_ms == pytest.approx((source.end_time - source.start_time) / 1e6)
    assert llm.status_code == "UNSET" and llm.status_message is None
    assert llm.attributes == {
        "openinference.span.kind": "llm",
        "llm.model_name": "gpt-4o",
        "llm.output_messages.0.message.role": "assistant",
        "llm.output_messages.0.message.content": "4",
        "llm.token_count.total": 42,
        "llm.token_count.prompt": 30,
        "tag.tags": ["math", "short"],
    }
    assert [(e.name, e.attributes) for e in llm.events] == [("first_token", {"latency.ms": 12.5})]
    assert llm.events[0].timestamp == _ms(source.events[0].timestamp)
    assert llm.evaluations == [] and llm.annotations == [] and llm.trace_annotations == []

    listed = {s.name: s for s in everything}
    assert set(listed) == {"agent", "ChatCompletion", "cheap-call", "calculator"}
    assert listed["agent"].parent_id is None and listed["agent"].kind == "CHAIN"
    assert listed["agent"].status_code == "OK"
    assert listed["agent"].attributes["input.value"] == "What is 2+2?"
    assert listed["calculator"].kind == "TOOL"
    assert (listed["calculator"].status_code, listed["calculator"].status_message) == ("ERROR", "division by zero")
    starts = [s.start_time for s in everything]
    assert starts == sorted(starts, reverse=True)


async def test_otlp_json_with_hex_ids_string_int64_arrays_and_kvlists_is_decoded(
    engine: Engine, client: AsyncArizeClient
) -> None:
    body = export_body(
        [
            span(
                "00000000000000aa",
                trace_id="0af7651916cd43dd8448eb211c80319c",
                name="retrieve",
                kind="retriever",
                start=START,
                attributes={
                    "retrieval.documents": [{"document.content": "a", "document.score": 0.5}],
                    "metadata": {"env": "staging", "n": 3},
                    "flag": True,
                },
                status=2,
                message="timeout",
                events=[
                    {
                        "name": "exception",
                        "timeUnixNano": str(ns(START) + 5_000_000),
                        "attributes": [{"key": "exception.type", "value": {"stringValue": "TimeoutError"}}],
                    }
                ],
            )
        ],
        project="json-app",
    )
    response = await post_traces(engine, body)
    assert response.status_code == 200
    assert response.headers["content-type"].startswith("application/json")
    assert response.json() == {}
    (listed,) = (await client.spans.list("json-app", start_time=START - timedelta(minutes=1))).items
    assert listed.context.trace_id == "0af7651916cd43dd8448eb211c80319c"
    assert listed.context.span_id == "00000000000000aa"
    assert listed.kind == "RETRIEVER"
    assert (listed.status_code, listed.status_message) == ("ERROR", "timeout")
    assert listed.latency_ms == pytest.approx(100.0)
    assert listed.attributes["retrieval.documents"] == [{"document.content": "a", "document.score": 0.5}]
    assert listed.attributes["metadata"] == {"env": "staging", "n": 3}
    assert listed.attributes["flag"] is True
    assert listed.events[0].name == "exception"
    assert listed.events[0].attributes == {"exception.type": "TimeoutError"}
    assert listed.events[0].timestamp == START.replace(microsecond=START.microsecond // 1000 * 1000) + timedelta(
        milliseconds=5
    )


async def test_otlp_json_also_accepts_snake_case_fields_and_base64_ids(
    engine: Engine, client: AsyncArizeClient
) -> None:
    trace_id, span_id = bytes(range(1, 17)), bytes(range(1, 9))
    body = {
        "resource_spans": [
            {
                "resource": {"attributes": [{"key": "openinference.project.name", "value": {"string_value": "snake"}}]},
                "scope_spans": [
                    {
                        "spans": [
                            {
                                "trace_id": base64.b64encode(trace_id).decode(),
                                "span_id": base64.b64encode(span_id).decode(),
                                "name": "old-style",
                                "start_time_unix_nano": ns(START),
                                "end_time_unix_nano": ns(START) + 1_000_000,
                                "status": {"code": "STATUS_CODE_OK"},
                            }
                        ]
                    }
                ],
            }
        ]
    }
    assert (await post_traces(engine, body)).status_code == 200
    (listed,) = (await client.spans.list("snake", start_time=START - timedelta(minutes=1))).items
    assert (listed.context.trace_id, listed.context.span_id) == (trace_id.hex(), span_id.hex())
    assert (listed.kind, listed.status_code) == ("UNKNOWN", "OK")


def _protobuf_export(project: str, span_id: bytes, name: str) -> ExportTraceServiceRequest:
    attribute = KeyValue(key="openinference.project.name", value=AnyValue(string_value=project))
    kind = KeyValue(key="openinference.span.kind", value=AnyValue(string_value="EMBEDDING"))
    proto_span = ProtoSpan(
        trace_id=bytes(range(16, 32)),
        span_id=span_id,
        name=name,
        start_time_unix_nano=ns(START),
        end_time_unix_nano=ns(START) + 2_000_000,
        attributes=[kind],
    )
    return ExportTraceServiceRequest(
        resource_spans=[
            ResourceSpans(resource=ProtoResource(attributes=[attribute]), scope_spans=[ScopeSpans(spans=[proto_span])])
        ]
    )


async def test_gzip_compressed_protobuf_and_json_bodies_are_accepted(engine: Engine, client: AsyncArizeClient) -> None:
    packed = gzip.compress(_protobuf_export("zipped", b"\x01" * 8, "pb").SerializeToString())
    response = await post_traces(
        engine, packed, headers={"content-type": "application/x-protobuf", "content-encoding": "gzip"}
    )
    assert response.status_code == 200
    assert response.headers["content-type"] == "application/x-protobuf"
    assert not ExportTraceServiceResponse.FromString(response.content).HasField("partial_success")
    as_json = gzip.compress(json.dumps(export_body([span("00000000000000bb", start=START)], project="zipped")).encode())
    response = await post_traces(engine, as_json, headers={"content-encoding": "gzip"})
    assert response.status_code == 200 and response.json() == {}
    listed = (await client.spans.list("zipped", start_time=START - timedelta(minutes=1))).items
    assert sorted(s.context.span_id for s in listed) == ["00000000000000bb", "0101010101010101"]
    assert {s.kind for s in listed} == {"EMBEDDING", "LLM"}


async def test_a_body_that_does_not_decode_is_a_400_and_stores_nothing(
    engine: Engine, client: AsyncArizeClient
) -> None:
    response = await post_traces(
        engine, b"\xff\xff\xff\xff not protobuf", headers={"content-type": "application/x-protobuf"}
    )
    assert response.status_code == 400
    assert response.headers["content-type"] == "application/x-protobuf"
    status = status_pb2.Status.FromString(response.content)
    assert status.code == 3 and "protobuf" in status.message

    response = await post_traces(engine, b'{"resourceSpans": [{"scopeSpans": 7}]}')
    assert response.status_code == 400
    problem = response.json()
    assert problem["status"] == 400 and problem["code"] == 3 and "OTLP/JSON" in problem["detail"]

    response = await post_traces(engine, b"{not json")
    assert response.status_code == 400 and "not valid JSON" in response.json()["detail"]

    response = await post_traces(
        engine, b"\x1f\x8b garbage", headers={"content-type": "application/x-protobuf", "content-encoding": "gzip"}
    )
    assert response.status_code == 400

    assert [p.name async for p in client.projects.list()] == []


async def test_unknown_content_types_and_encodings_are_415(engine: Engine) -> None:
    response = await post_traces(engine, b"hello", headers={"content-type": "text/plain"})
    assert response.status_code == 415 and "application/x-protobuf" in response.json()["detail"]
    response = await post_traces(engine, b"{}", headers={"content-encoding": "br"})
    assert response.status_code == 415 and "gzip" in response.json()["detail"]


async def test_a_body_that_decompresses_past_the_size_limit_is_a_413(engine: Engine) -> None:
    bomb = gzip.compress(b" " * (MAX_BODY_BYTES + 1024))
    response = await post_traces(engine, bomb, headers={"content-encoding": "gzip"})
    assert response.status_code == 413
    assert "32 MiB" in response.json()["detail"]


async def test_spans_without_valid_ids_are_rejected_as_partial_success_and_the_rest_stored(
    engine: Engine, client: AsyncArizeClient
) -> None:
    good = span("00000000000000cc", start=START, name="good")
    no_id = span("", start=START, name="no-id")
    response = await post_traces(engine, export_body([good, no_id], project="partial"))
    assert response.status_code == 200
    partial = response.json()["partialSuccess"]
    assert partial["rejectedSpans"] == "1" and "no-id" in partial["errorMessage"]
    listed = (await client.spans.list("partial", start_time=START - timedelta(minutes=1))).items
    assert [s.name for s in listed] == ["good"]


async def test_the_project_comes_from_the_resource_then_the_header_then_the_default_project(
    engine: Engine, client: AsyncArizeClient
) -> None:
    header = {"arize-project-name": "from-header"}
    await post_traces(
        engine, export_body([span("0000000000000001", start=START)], project="from-resource"), headers=header
    )
    await post_traces(engine, export_body([span("0000000000000002", start=START)]), headers=header)
    await post_traces(engine, export_body([span("0000000000000003", start=START)]))
    names = sorted([p.name async for p in client.projects.list()])
    assert names == ["default", "from-header", "from-resource"]
    since = START - timedelta(minutes=1)
    for project, span_id in (("from-resource", "0000000000000001"), ("from-header", "0000000000000002")):
        assert [s.context.span_id for s in (await client.spans.list(project, start_time=since)).items] == [span_id]
    assert [s.context.span_id for s in (await client.spans.list("default", start_time=since)).items] == [
        "0000000000000003"
    ]


async def test_resending_a_span_replaces_it_and_keeps_its_evaluations(engine: Engine, client: AsyncArizeClient) -> None:
    await ingest(engine, "upsert", [span("00000000000000dd", start=START, name="v1", attributes={"n": 1})])
    project = await client.projects.get("upsert")

    def evaluate(conn: sqlite3.Connection) -> None:
        num = conn.execute("SELECT project_num FROM spans WHERE span_id = '00000000000000dd'").fetchone()[0]
        upsert_evaluation(conn, "span", f"{num}:00000000000000dd", "correctness", now=engine.now(), label="ok")

    await engine.store.write(evaluate)
    await ingest(engine, "upsert", [span("00000000000000dd", start=START, name="v2", attributes={"n": 2})])
    (listed,) = (await client.spans.list(project.id, start_time=START - timedelta(minutes=1))).items
    assert (listed.name, listed.attributes["n"]) == ("v2", 2)
    assert [(e.name, e.label) for e in listed.evaluations] == [("correctness", "ok")]
