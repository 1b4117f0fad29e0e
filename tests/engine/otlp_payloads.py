"""Builders of OTLP/JSON trace export bodies, and a poster for them, shared by the span and ingest tests."""

from __future__ import annotations

import json
from collections.abc import Mapping, Sequence
from datetime import UTC, datetime, timedelta
from typing import Any

import httpx2
from opentelemetry.exporter.otlp.proto.grpc.trace_exporter import Compression, OTLPSpanExporter
from opentelemetry.sdk.resources import Resource
from opentelemetry.sdk.trace import TracerProvider
from opentelemetry.sdk.trace.export import SimpleSpanProcessor

from arize_skills.engine import Engine
from arize_skills.engine.ingest.otlp import encode_attributes


def ns(moment: datetime) -> int:
    """Nanoseconds since the epoch."""
    delta = moment - datetime(1970, 1, 1, tzinfo=UTC)
    return (delta.days * 86_400 + delta.seconds) * 10**9 + delta.microseconds * 1000


def span(
    span_id: str,
    *,
    trace_id: str = "0" * 31 + "1",
    parent_id: str | None = None,
    name: str = "span",
    kind: str | None = "LLM",
    start: datetime | None = None,
    duration_ms: float = 100.0,
    attributes: Mapping[str, Any] | None = None,
    status: int = 0,
    message: str = "",
    events: Sequence[dict[str, Any]] = (),
) -> dict[str, Any]:
    """One OTLP/JSON span with hex IDs; ``kind`` becomes the ``openinference.span.kind`` attribute."""
    start = start or datetime.now(UTC) - timedelta(minutes=5)
    attrs = dict(attributes or {})
    if kind is not None:
        attrs["openinference.span.kind"] = kind
    doc: dict[str, Any] = {
        "traceId": trace_id,
        "spanId": span_id,
        "name": name,
        "kind": 1,
        "startTimeUnixNano": str(ns(start)),
        "endTimeUnixNano": str(ns(start) + int(duration_ms * 1_000_000)),
        "attributes": encode_attributes(attrs),
        "status": {"code": status, "message": message},
        "events": list(events),
    }
    if parent_id is not None:
        doc["parentSpanId"] = parent_id
    return doc


def export_body(spans: Sequence[dict[str, Any]], *, project: str | None = None) -> dict[str, Any]:
    """An ``ExportTraceServiceRequest`` with one resource (naming ``project`` when given)."""
    resource = {"openinference.project.name": project} if project else {}
    return {
        "resourceSpans": [
            {
                "resource": {"attributes": encode_attributes({"service.name": "tests", **resource})},
                "scopeSpans": [{"scope": {"name": "tests"}, "spans": list(spans)}],
            }
        ]
    }


async def post_traces(
    engine: Engine, body: bytes | dict[str, Any], *, headers: Mapping[str, str] | None = None
) -> httpx2.Response:
    """POST an OTLP body to the engine's ``/v1/traces`` in-process (JSON unless headers say otherwise)."""
    content = json.dumps(body).encode() if isinstance(body, dict) else body
    sent = {"content-type": "application/json", **(headers or {})}
    async with httpx2.AsyncClient(transport=engine.transport(), base_url="http://engine.test") as http:
        return await http.post("/v1/traces", content=content, headers=sent)


async def ingest(engine: Engine, project: str, spans: Sequence[dict[str, Any]]) -> None:
    """Ingest OTLP/JSON spans into ``project`` and check the engine accepted them all."""
    response = await post_traces(engine, export_body(spans, project=project))
    assert response.status_code == 200, response.text
    assert response.json() == {}


def export_with_the_sdk(port: int, project: str, names: list[str], headers: dict[str, str] | None = None) -> bool:
    """Spans made by the OpenTelemetry SDK and sent by its gRPC exporter (gzip); whether the flush succeeded."""
    provider = TracerProvider(resource=Resource.create({"openinference.project.name": project}))
    exporter = OTLPSpanExporter(
        endpoint=f"127.0.0.1:{port}", insecure=True, compression=Compression.Gzip, headers=headers, timeout=10
    )
    provider.add_span_processor(SimpleSpanProcessor(exporter))
    tracer = provider.get_tracer("grpc-test")
    for name in names:
        with tracer.start_as_current_span(name) as current:
            current.set_attribute("openinference.span.kind", "LLM")
            current.set_attribute("input.value", f"question for {name}")
    flushed = provider.force_flush(10_000)
    provider.shutdown()
    return flushed
