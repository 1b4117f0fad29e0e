"""The OTLP/JSON fast path (``decode_export``) reads every body exactly as the protobuf JSON parser path does."""

from __future__ import annotations

import base64
import copy
import json
from collections.abc import Callable
from datetime import UTC, datetime
from typing import Any

import pytest

from arize_skills.engine.ingest.otlp import DecodedExport, _fast_export, decode_export, decode_request, spans_of
from arize_skills.errors import ProblemError

from .otlp_payloads import export_body, span

START = datetime(2024, 5, 1, 12, tzinfo=UTC)


def _typical() -> dict[str, Any]:
    events = [{"name": "exception", "timeUnixNano": "1714564800005000000", "attributes": []}]
    spans = [
        span(
            "00000000000000aa",
            trace_id="0af7651916cd43dd8448eb211c80319c",
            start=START,
            attributes={
                "input.value": "What is 2+2?",
                "llm.token_count.total": 42,
                "score": 0.5,
                "flag": True,
                "tags": ["a", 1, 2.5, False],
                "metadata": {"env": "staging", "nested": {"n": [1, {"k": "v"}]}},
            },
            status=2,
            message="boom",
            events=events,
        ),
        span("00000000000000ab", trace_id="0af7651916cd43dd8448eb211c80319c", parent_id="00000000000000aa", kind=None),
        span("", start=START, name="no-id"),
    ]
    body = export_body(spans, project="fast")
    body["resourceSpans"][0]["scopeSpans"][0]["scope"] = {"name": "lib", "version": "1.0"}
    body["resourceSpans"][0]["schemaUrl"] = "https://opentelemetry.io/schemas/1.21.0"
    return body


def _slow(document: dict[str, Any]) -> DecodedExport:
    return spans_of(decode_request(json.dumps(document).encode(), "json"))


def _outcome(read: Callable[[], DecodedExport]) -> DecodedExport | tuple[int, str]:
    try:
        return read()
    except ProblemError as exc:
        return exc.status, exc.detail


def _same(document: Any) -> None:
    body = json.dumps(document).encode()
    fast = _outcome(lambda: decode_export(body, "json"))
    slow = _outcome(lambda: spans_of(decode_request(body, "json")))
    assert fast == slow


def test_a_typical_exporter_body_takes_the_fast_path_and_reads_the_same() -> None:
    document = _typical()
    fast = _fast_export(copy.deepcopy(document))
    assert fast == _slow(document)
    assert fast.rejected == 1 and len(fast.batches[0].spans) == 2
    record = fast.batches[0].spans[0]
    assert record.attributes["tags"] == ["a", 1, 2.5, False]
    assert record.attributes["metadata"] == {"env": "staging", "nested": {"n": [1, {"k": "v"}]}}
    assert (record.status_code, record.status_message, record.kind) == ("ERROR", "boom", "LLM")


def _edit(path: list[Any], value: Any, *, delete: bool = False) -> dict[str, Any]:
    document = _typical()
    node: Any = document
    for step in path[:-1]:
        node = node[step]
    if delete:
        del node[path[-1]]
    else:
        node[path[-1]] = value
    return document


SPAN = ["resourceSpans", 0, "scopeSpans", 0, "spans", 0]
VALUE = [*SPAN, "attributes", 1, "value"]

VARIANTS: list[tuple[str, Any]] = [
    ("base64 ids", _edit([*SPAN, "spanId"], base64.b64encode(bytes(range(1, 9))).decode())),
    ("short hex id", _edit([*SPAN, "spanId"], "abcd")),
    ("all-zero trace id", _edit([*SPAN, "traceId"], "0" * 32)),
    ("enum name status", _edit([*SPAN, "status", "code"], "STATUS_CODE_OK")),
    ("unknown status code", _edit([*SPAN, "status", "code"], 7)),
    ("enum name kind", _edit([*SPAN, "kind"], "SPAN_KIND_SERVER")),
    ("bad enum name", _edit([*SPAN, "kind"], "NOPE")),
    ("int as string", _edit(VALUE, {"intValue": "-42"})),
    ("int as number", _edit(VALUE, {"intValue": 42})),
    ("int with a plus", _edit(VALUE, {"intValue": "+42"})),
    ("int out of range", _edit(VALUE, {"intValue": str(2**63)})),
    ("int as float", _edit(VALUE, {"intValue": 4.0})),
    ("double as string", _edit(VALUE, {"doubleValue": "1.5"})),
    ("double as int", _edit(VALUE, {"doubleValue": 3})),
    ("double NaN", _edit(VALUE, {"doubleValue": "NaN"})),
    ("bool as string", _edit(VALUE, {"boolValue": "true"})),
    ("bytes value", _edit(VALUE, {"bytesValue": base64.b64encode(b"\x00\x01").decode()})),
    ("two values", _edit(VALUE, {"stringValue": "a", "intValue": 1})),
    ("empty value", _edit(VALUE, {})),
    ("null value", _edit(VALUE, None)),
    ("missing value", _edit(VALUE, None, delete=True)),
    ("snake case value", _edit(VALUE, {"string_value": "x"})),
    ("empty array", _edit(VALUE, {"arrayValue": {}})),
    ("times as numbers", _edit([*SPAN, "startTimeUnixNano"], 1714564800000000000)),
    ("time past 2262", _edit([*SPAN, "endTimeUnixNano"], str(2**63 + 5))),
    ("negative time", _edit([*SPAN, "startTimeUnixNano"], -1)),
    ("time with a space", _edit([*SPAN, "startTimeUnixNano"], "1 2")),
    ("end before start", _edit([*SPAN, "endTimeUnixNano"], "5")),
    ("links", _edit([*SPAN, "links"], [{"traceId": "0af7651916cd43dd8448eb211c80319c", "spanId": "00000000000000aa"}])),
    ("empty links", _edit([*SPAN, "links"], [])),
    ("unknown field", _edit([*SPAN, "somethingNew"], 1)),
    ("camel and snake twice", _edit([*SPAN, "span_id"], "00000000000000ac")),
    ("flags", _edit([*SPAN, "flags"], 257)),
    ("trace state", _edit([*SPAN, "traceState"], "k=v")),
    ("dropped counts as strings", _edit([*SPAN, "droppedAttributesCount"], "3")),
    ("name not a string", _edit([*SPAN, "name"], 5)),
    ("scopeSpans not a list", _edit(["resourceSpans", 0, "scopeSpans"], 7)),
    ("spans null", _edit(["resourceSpans", 0, "scopeSpans", 0, "spans"], None)),
    ("resource entity refs", _edit(["resourceSpans", 0, "resource", "entityRefs"], [])),
    ("scope attributes", _edit(["resourceSpans", 0, "scopeSpans", 0, "scope", "attributes"], [{"key": "k"}])),
    ("event without time", _edit([*SPAN, "events", 0, "timeUnixNano"], None, delete=True)),
    ("key not a string", _edit([*SPAN, "attributes", 0, "key"], 3)),
    ("repeated key", _edit([*SPAN, "attributes", 1, "key"], "input.value")),
    ("no resourceSpans", {}),
    ("snake case top level", {"resource_spans": _typical()["resourceSpans"]}),
    ("both top-level spellings", {"resource_spans": [], **_typical()}),
]


@pytest.mark.parametrize(("label", "document"), VARIANTS, ids=[label for label, _ in VARIANTS])
def test_every_shape_reads_as_the_protobuf_json_parser_reads_it(label: str, document: Any) -> None:
    _same(document)


def test_a_body_that_is_not_an_object_is_refused_the_same_way() -> None:
    for document in ([], "text", 3):
        _same(document)
