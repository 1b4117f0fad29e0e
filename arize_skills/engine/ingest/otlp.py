"""OTLP/HTTP trace decoding: protobuf and JSON ``ExportTraceServiceRequest`` bodies → ``SpanRecord``s.

Both encodings go through the ``opentelemetry-proto`` message. OTLP/JSON is the protobuf JSON mapping with
OTLP's changes: trace and span IDs are hex strings (base64 is accepted too — the lengths tell them apart: 32/16
hex characters against 24/12 base64 ones), field names may be lowerCamelCase or snake_case, enums are integers,
64-bit integers may be strings, and unknown fields are ignored.

Mapping of one OTLP span (OpenInference conventions):

* IDs → lowercase hex; an empty parent ID → no parent.
* ``kind`` ← the ``openinference.span.kind`` attribute, upper-cased; missing or not an AX ``SpanKind`` → UNKNOWN.
* status code 0/1/2 → UNSET/OK/ERROR; an empty message → none.
* attributes → one flat JSON object keyed exactly as sent; arrays become JSON arrays, kvlists JSON objects,
  bytes base64 text, NaN and infinities null.
* events → ``{name, timestamp (ISO 8601, UTC), attributes}``; resource attributes are kept with the span.

Spans without a valid 16-byte trace ID and 8-byte span ID, or with a time SQLite cannot store, are rejected
and counted in the response's ``partial_success``, as OTLP prescribes, while the rest of the batch is stored.
"""

from __future__ import annotations

import base64
import binascii
import json
import math
import string
import zlib
from collections.abc import Mapping
from dataclasses import dataclass, field
from typing import Any, Literal

from google.protobuf import json_format
from google.protobuf.message import DecodeError
from opentelemetry.proto.collector.trace.v1.trace_service_pb2 import (
    ExportTraceServiceRequest,
    ExportTraceServiceResponse,
)
from opentelemetry.proto.common.v1.common_pb2 import AnyValue, KeyValue
from opentelemetry.proto.trace.v1.trace_pb2 import Span as OtlpSpan

from ...errors import ProblemError
from ...foundation.bounded_json import parse_json
from ...models._base import iso
from ...models.spans import SPAN_KINDS
from ..store.spans import MAX_SPAN_NS, SpanRecord, ns_to_datetime

__all__ = [
    "MAX_BODY_BYTES",
    "PROJECT_ATTRIBUTE",
    "DecodedExport",
    "ResourceBatch",
    "WireFormat",
    "decode_request",
    "decompress",
    "encode_attributes",
    "encode_response",
    "encode_value",
    "encode_rpc_status",
    "spans_of",
    "wire_format",
]

MAX_BODY_BYTES = 32 * 1024 * 1024
"""The largest body accepted, both as sent and once decompressed (32 MiB)."""

PROJECT_ATTRIBUTE = "openinference.project.name"
KIND_ATTRIBUTE = "openinference.span.kind"

WireFormat = Literal["protobuf", "json"]

_STATUS = {0: "UNSET", 1: "OK", 2: "ERROR"}
_ID_KEYS = {"traceId": 32, "trace_id": 32, "spanId": 16, "span_id": 16, "parentSpanId": 16, "parent_span_id": 16}
_HEX = frozenset(string.hexdigits)


@dataclass
class ResourceBatch:
    """The spans of one OTLP ``ResourceSpans``: its resource attributes, its project name if it names one."""

    resource: dict[str, Any]
    project_name: str | None
    spans: list[SpanRecord] = field(default_factory=list)


@dataclass
class DecodedExport:
    """A decoded export request: its batches, and the spans rejected with the reason for the first one."""

    batches: list[ResourceBatch]
    rejected: int = 0
    rejection: str | None = None


def wire_format(content_type: str | None) -> WireFormat:
    """The OTLP encoding named by a ``Content-Type`` header.

    Raises:
        ProblemError: 415 for anything but ``application/x-protobuf`` or ``application/json``.
    """
    media = (content_type or "").split(";", 1)[0].strip().lower()
    if media in ("application/x-protobuf", "application/protobuf"):
        return "protobuf"
    if media == "application/json":
        return "json"
    raise ProblemError(
        415,
        f"Content-Type {media or '(none)'!r} is not an OTLP encoding; send application/x-protobuf or application/json",
    )


def decompress(body: bytes, content_encoding: str | None, *, limit: int = MAX_BODY_BYTES) -> bytes:
    """Undo ``Content-Encoding: gzip`` (or ``deflate``) without letting the result grow past ``limit`` bytes.

    Raises:
        ProblemError: 400 for a body that does not decompress, 413 past the limit, 415 for other encodings.
    """
    encoding = (content_encoding or "identity").strip().lower()
    if encoding in ("", "identity"):
        return body
    if encoding not in ("gzip", "x-gzip", "deflate"):
        raise ProblemError(415, f"Content-Encoding {encoding!r} is not supported; send gzip or no encoding")
    # wbits 47 (32 + 15) reads both gzip and zlib headers.
    inflater = zlib.decompressobj(wbits=47 if encoding != "deflate" else 15)
    try:
        data = inflater.decompress(body, limit + 1)
        if len(data) > limit or inflater.unconsumed_tail:
            raise ProblemError(413, f"the decompressed body is larger than the {limit // (1024 * 1024)} MiB limit")
        data += inflater.flush()
    except zlib.error as exc:
        raise ProblemError(400, f"the body is not valid {encoding} data: {exc}") from None
    if len(data) > limit:
        raise ProblemError(413, f"the decompressed body is larger than the {limit // (1024 * 1024)} MiB limit")
    return data


def decode_request(body: bytes, fmt: WireFormat) -> ExportTraceServiceRequest:
    """Parse an ``ExportTraceServiceRequest`` from protobuf bytes or OTLP/JSON text.

    Raises:
        ProblemError: 400 naming what did not decode.
    """
    message = ExportTraceServiceRequest()
    if fmt == "protobuf":
        try:
            message.ParseFromString(body)
        except DecodeError as exc:
            raise ProblemError(400, f"the body is not a protobuf ExportTraceServiceRequest: {exc}") from None
        return message
    document = parse_json(body, what="body")
    if not isinstance(document, dict):
        raise ProblemError(400, "the body must be a JSON object with a resourceSpans array")
    try:
        json_format.ParseDict(_hex_ids_to_base64(document), message, ignore_unknown_fields=True)
    except (json_format.ParseError, ValueError, TypeError) as exc:
        raise ProblemError(400, f"the body is not an OTLP/JSON ExportTraceServiceRequest: {exc}") from None
    return message


def _hex_ids_to_base64(node: Any) -> Any:
    # The protobuf JSON mapping reads bytes as base64; OTLP/JSON sends IDs as hex.
    if isinstance(node, list):
        return [_hex_ids_to_base64(item) for item in node]
    if not isinstance(node, dict):
        return node
    converted: dict[str, Any] = {}
    for key, value in node.items():
        width = _ID_KEYS.get(key)
        if width is not None and isinstance(value, str) and len(value) == width and _HEX.issuperset(value):
            converted[key] = base64.b64encode(binascii.unhexlify(value)).decode()
        else:
            converted[key] = _hex_ids_to_base64(value)
    return converted


def any_value(value: AnyValue) -> Any:
    """An OTLP ``AnyValue`` as a JSON-ready Python value."""
    which = value.WhichOneof("value")
    if which is None:
        return None
    if which == "string_value":
        return value.string_value
    if which == "bool_value":
        return value.bool_value
    if which == "int_value":
        return value.int_value
    if which == "double_value":
        number = value.double_value
        return number if math.isfinite(number) else None
    if which == "array_value":
        return [any_value(item) for item in value.array_value.values]
    if which == "kvlist_value":
        return attributes_of(value.kvlist_value.values)
    return base64.b64encode(value.bytes_value).decode()


def attributes_of(pairs: Any) -> dict[str, Any]:
    """A repeated ``KeyValue`` field as a dict (a repeated key keeps its last value)."""
    pair: KeyValue
    found: dict[str, Any] = {}
    for pair in pairs:
        found[pair.key] = any_value(pair.value)
    return found


def _hex_id(raw: bytes, size: int) -> str | None:
    if len(raw) != size or not any(raw):
        return None
    return raw.hex()


def _record(span: OtlpSpan, resource: dict[str, Any]) -> SpanRecord | str:
    trace_id = _hex_id(span.trace_id, 16)
    span_id = _hex_id(span.span_id, 8)
    if trace_id is None or span_id is None:
        return f"span {span.name!r} has no valid {'trace_id' if trace_id is None else 'span_id'}"
    if max(span.start_time_unix_nano, span.end_time_unix_nano) > MAX_SPAN_NS:
        return f"span {span.name!r} has a time past 2262-04-11 (beyond a signed 64-bit nanosecond count)"
    attributes = attributes_of(span.attributes)
    kind = attributes.get(KIND_ATTRIBUTE)
    kind = kind.upper() if isinstance(kind, str) and kind.upper() in SPAN_KINDS else "UNKNOWN"
    start_ns = span.start_time_unix_nano
    end_ns = span.end_time_unix_nano if span.end_time_unix_nano >= start_ns else start_ns
    events = [
        {
            "name": event.name,
            "timestamp": iso(ns_to_datetime(event.time_unix_nano)) if event.time_unix_nano else None,
            "attributes": attributes_of(event.attributes),
        }
        for event in span.events
    ]
    return SpanRecord(
        trace_id=trace_id,
        span_id=span_id,
        parent_id=span.parent_span_id.hex() if any(span.parent_span_id) else None,
        name=span.name,
        kind=kind,
        start_ns=start_ns,
        end_ns=end_ns,
        status_code=_STATUS.get(span.status.code, "UNSET"),
        status_message=span.status.message or None,
        attributes=attributes,
        events=events,
        resource=resource,
    )


def spans_of(message: ExportTraceServiceRequest) -> DecodedExport:
    """The spans of a decoded request, grouped by resource, with the invalid ones counted out."""
    decoded = DecodedExport(batches=[])
    for resource_spans in message.resource_spans:
        resource = attributes_of(resource_spans.resource.attributes)
        project = resource.get(PROJECT_ATTRIBUTE)
        batch = ResourceBatch(resource, project.strip() if isinstance(project, str) and project.strip() else None)
        for scope_spans in resource_spans.scope_spans:
            for span in scope_spans.spans:
                record = _record(span, resource)
                if isinstance(record, str):
                    decoded.rejected += 1
                    decoded.rejection = decoded.rejection or record
                else:
                    batch.spans.append(record)
        decoded.batches.append(batch)
    return decoded


def encode_response(fmt: WireFormat, *, rejected: int = 0, message: str | None = None) -> bytes:
    """An ``ExportTraceServiceResponse`` (with ``partial_success`` when spans were rejected) in ``fmt``."""
    response = ExportTraceServiceResponse()
    if rejected:
        response.partial_success.rejected_spans = rejected
        response.partial_success.error_message = message or ""
    if fmt == "protobuf":
        return bytes(response.SerializeToString())
    return json.dumps(json_format.MessageToDict(response)).encode()


def _varint(value: int) -> bytes:
    out = bytearray()
    while True:
        byte = value & 0x7F
        value >>= 7
        if value:
            out.append(byte | 0x80)
        else:
            out.append(byte)
            return bytes(out)


def encode_rpc_status(code: int, message: str) -> bytes:
    """A protobuf ``google.rpc.Status`` with ``code`` (field 1) and ``message`` (field 2).

    OTLP/HTTP says error responses to protobuf requests carry this message; it is encoded by hand because the
    package that defines it (``googleapis-common-protos``) is not one of our dependencies.
    """
    text = message.encode()
    return b"\x08" + _varint(code) + b"\x12" + _varint(len(text)) + text


def encode_value(value: Any) -> dict[str, Any]:
    """A Python value as an OTLP/JSON ``AnyValue`` (for the bundled traces and for tests that send OTLP/JSON)."""
    if isinstance(value, bool):
        return {"boolValue": value}
    if isinstance(value, int):
        return {"intValue": str(value)}
    if isinstance(value, float):
        return {"doubleValue": value}
    if isinstance(value, list):
        return {"arrayValue": {"values": [encode_value(v) for v in value]}}
    if isinstance(value, dict):
        return {"kvlistValue": {"values": encode_attributes(value)}}
    return {"stringValue": str(value)}


def encode_attributes(attributes: Mapping[str, Any]) -> list[dict[str, Any]]:
    """A mapping as an OTLP/JSON ``KeyValue`` list."""
    return [{"key": key, "value": encode_value(value)} for key, value in attributes.items()]
