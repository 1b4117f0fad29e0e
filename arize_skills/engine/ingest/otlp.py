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
import sqlite3
import string
import zlib
from collections.abc import Callable, Mapping
from dataclasses import dataclass, field
from typing import Any, Literal, Protocol

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
from ..store.objects import StoredObject
from ..store.spans import MAX_SPAN_NS, SpanRecord, ns_to_datetime, upsert_spans

__all__ = [
    "DecodedExport",
    "ExportTarget",
    "MAX_BODY_BYTES",
    "PROJECT_ATTRIBUTE",
    "ResourceBatch",
    "WireFormat",
    "decode_export",
    "decode_request",
    "decompress",
    "encode_attributes",
    "encode_response",
    "encode_rpc_status",
    "encode_value",
    "rpc_code",
    "spans_of",
    "store_export",
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

    def add(self, batch: ResourceBatch, record: SpanRecord | str) -> None:
        """Add a decoded span to ``batch``, or count it rejected when decoding gave a reason instead."""
        if isinstance(record, str):
            self.rejected += 1
            self.rejection = self.rejection or record
        else:
            batch.spans.append(record)


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
    return _make_record(
        span.trace_id,
        span.span_id,
        span.parent_span_id,
        span.name,
        span.start_time_unix_nano,
        span.end_time_unix_nano,
        lambda: attributes_of(span.attributes),
        lambda: [(event.name, event.time_unix_nano, attributes_of(event.attributes)) for event in span.events],
        span.status.code,
        span.status.message,
        resource,
    )


def _make_record(
    trace_raw: bytes,
    span_raw: bytes,
    parent_raw: bytes,
    name: str,
    start_ns: int,
    end_ns: int,
    attributes_of_span: Callable[[], dict[str, Any]],
    events_of_span: Callable[[], list[tuple[str, int, dict[str, Any]]]],
    status_code: int,
    status_message: str,
    resource: dict[str, Any],
) -> SpanRecord | str:
    """One span as stored, or why it is rejected (shared by the protobuf message and the OTLP/JSON fast path)."""
    trace_id = _hex_id(trace_raw, 16)
    span_id = _hex_id(span_raw, 8)
    if trace_id is None or span_id is None:
        return f"span {name!r} has no valid {'trace_id' if trace_id is None else 'span_id'}"
    if max(start_ns, end_ns) > MAX_SPAN_NS:
        return f"span {name!r} has a time past 2262-04-11 (beyond a signed 64-bit nanosecond count)"
    attributes = attributes_of_span()
    kind = attributes.get(KIND_ATTRIBUTE)
    kind = kind.upper() if isinstance(kind, str) and kind.upper() in SPAN_KINDS else "UNKNOWN"
    events = [
        {
            "name": event_name,
            "timestamp": iso(ns_to_datetime(event_ns)) if event_ns else None,
            "attributes": event_attributes,
        }
        for event_name, event_ns, event_attributes in events_of_span()
    ]
    return SpanRecord(
        trace_id=trace_id,
        span_id=span_id,
        parent_id=parent_raw.hex() if any(parent_raw) else None,
        name=name,
        kind=kind,
        start_ns=start_ns,
        end_ns=end_ns if end_ns >= start_ns else start_ns,
        status_code=_STATUS.get(status_code, "UNSET"),
        status_message=status_message or None,
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
                decoded.add(batch, _record(span, resource))
        decoded.batches.append(batch)
    return decoded


def decode_export(body: bytes, fmt: WireFormat) -> DecodedExport:
    """``spans_of(decode_request(body, fmt))``, reading common OTLP/JSON bodies without the protobuf JSON parser.

    The fast path takes only the fields and value types an exporter sends; any other shape (base64 IDs, enum
    names, string doubles, links, unknown fields…) goes the general way, so both read a body the same.

    Raises:
        ProblemError: 400 naming what did not decode.
    """
    if fmt == "json":
        document = parse_json(body, what="body")
        if isinstance(document, dict):
            try:
                return _fast_export(document)
            except _Unusual:
                pass
    return spans_of(decode_request(body, fmt))


class _Unusual(Exception):
    """The OTLP/JSON body has a shape the fast path leaves to the protobuf JSON parser."""


_UINT32 = 2**32
_UINT64 = 2**64
_INT64 = 2**63
_INT32 = 2**31


def _names(*fields: str) -> dict[str, str]:
    """Each field's lowerCamelCase and snake_case spellings → its snake_case name."""
    names: dict[str, str] = {}
    for snake in fields:
        head, *rest = snake.split("_")
        names[snake] = snake
        names[head + "".join(part.title() for part in rest)] = snake
    return names


_EXPORT = _names("resource_spans")
_RESOURCE_SPANS = _names("resource", "scope_spans", "schema_url")
_RESOURCE = _names("attributes", "dropped_attributes_count")
_SCOPE_SPANS = _names("scope", "spans", "schema_url")
_SCOPE = _names("name", "version", "attributes", "dropped_attributes_count")
_SPAN = _names(
    "trace_id",
    "span_id",
    "trace_state",
    "parent_span_id",
    "flags",
    "name",
    "kind",
    "start_time_unix_nano",
    "end_time_unix_nano",
    "attributes",
    "dropped_attributes_count",
    "events",
    "dropped_events_count",
    "links",
    "dropped_links_count",
    "status",
)
_EVENT = _names("time_unix_nano", "name", "attributes", "dropped_attributes_count")
_STATUS_FIELDS = _names("message", "code")
_KEY_VALUE = _names("key", "value")
_ANY_VALUE = _names("string_value", "bool_value", "int_value", "double_value", "array_value", "kvlist_value")
_VALUES = _names("values")


def _fields(node: Any, names: dict[str, str]) -> dict[str, Any]:
    if not isinstance(node, dict):
        raise _Unusual
    found: dict[str, Any] = {}
    for key, value in node.items():
        name = names.get(key)
        if name is None or name in found or value is None:
            raise _Unusual
        found[name] = value
    return found


def _list(value: Any) -> list[Any]:
    if not isinstance(value, list):
        raise _Unusual
    return value


def _text(value: Any) -> str:
    if not isinstance(value, str):
        raise _Unusual
    return value


def _integer(value: Any, low: int, high: int) -> int:
    if isinstance(value, str) and value.isascii() and value.isdigit():
        value = int(value)
    if not isinstance(value, int) or isinstance(value, bool) or not low <= value < high:
        raise _Unusual
    return value


def _id_bytes(value: Any, width: int) -> bytes:
    text = _text(value)
    if text and not (len(text) == width and _HEX.issuperset(text)):
        raise _Unusual
    return bytes.fromhex(text)


def _fast_value(node: Any) -> Any:
    fields = _fields(node, _ANY_VALUE)
    if not fields:
        return None
    if len(fields) > 1:
        raise _Unusual
    ((which, value),) = fields.items()
    if which == "string_value":
        return _text(value)
    if which == "bool_value":
        if not isinstance(value, bool):
            raise _Unusual
        return value
    if which == "int_value":
        if isinstance(value, str) and value.startswith("-") and value[1:].isascii() and value[1:].isdigit():
            value = int(value)
        return _integer(value, -_INT64, _INT64)
    if which == "double_value":
        if not isinstance(value, int | float) or isinstance(value, bool):
            raise _Unusual
        try:
            number = float(value)
        except OverflowError:
            raise _Unusual from None
        return number if math.isfinite(number) else None
    values = _list(_fields(value, _VALUES).get("values", []))
    if which == "array_value":
        return [_fast_value(item) for item in values]
    return _fast_attributes(values)


def _fast_attributes(pairs: Any) -> dict[str, Any]:
    found: dict[str, Any] = {}
    for pair in _list(pairs):
        fields = _fields(pair, _KEY_VALUE)
        found[_text(fields.get("key", ""))] = _fast_value(fields.get("value", {}))
    return found


def _fast_scope(node: Any) -> None:
    fields = _fields(node, _SCOPE)
    _text(fields.get("name", ""))
    _text(fields.get("version", ""))
    _fast_attributes(fields.get("attributes", []))
    _integer(fields.get("dropped_attributes_count", 0), 0, _UINT32)


def _fast_span(node: Any, resource: dict[str, Any]) -> SpanRecord | str:
    fields = _fields(node, _SPAN)
    if _list(fields.get("links", [])):
        raise _Unusual
    _text(fields.get("trace_state", ""))
    for count in ("flags", "dropped_attributes_count", "dropped_events_count", "dropped_links_count"):
        _integer(fields.get(count, 0), 0, _UINT32)
    _integer(fields.get("kind", 0), 0, _INT32)
    status = _fields(fields.get("status", {}), _STATUS_FIELDS)
    # Every field is checked before the span is judged, as the protobuf parser rejects the whole body first.
    attributes = _fast_attributes(fields.get("attributes", []))
    events: list[tuple[str, int, dict[str, Any]]] = []
    for event in _list(fields.get("events", [])):
        event_fields = _fields(event, _EVENT)
        _integer(event_fields.get("dropped_attributes_count", 0), 0, _UINT32)
        events.append(
            (
                _text(event_fields.get("name", "")),
                _integer(event_fields.get("time_unix_nano", 0), 0, _UINT64),
                _fast_attributes(event_fields.get("attributes", [])),
            )
        )
    return _make_record(
        _id_bytes(fields.get("trace_id", ""), 32),
        _id_bytes(fields.get("span_id", ""), 16),
        _id_bytes(fields.get("parent_span_id", ""), 16),
        _text(fields.get("name", "")),
        _integer(fields.get("start_time_unix_nano", 0), 0, _UINT64),
        _integer(fields.get("end_time_unix_nano", 0), 0, _UINT64),
        lambda: attributes,
        lambda: events,
        _integer(status.get("code", 0), 0, _INT32),
        _text(status.get("message", "")),
        resource,
    )


def _fast_export(document: dict[str, Any]) -> DecodedExport:
    decoded = DecodedExport(batches=[])
    for resource_spans in _list(_fields(document, _EXPORT).get("resource_spans", [])):
        fields = _fields(resource_spans, _RESOURCE_SPANS)
        _text(fields.get("schema_url", ""))
        resource_fields = _fields(fields.get("resource", {}), _RESOURCE)
        _integer(resource_fields.get("dropped_attributes_count", 0), 0, _UINT32)
        resource = _fast_attributes(resource_fields.get("attributes", []))
        project = resource.get(PROJECT_ATTRIBUTE)
        batch = ResourceBatch(resource, project.strip() if isinstance(project, str) and project.strip() else None)
        for scope_spans in _list(fields.get("scope_spans", [])):
            scope_fields = _fields(scope_spans, _SCOPE_SPANS)
            _text(scope_fields.get("schema_url", ""))
            _fast_scope(scope_fields.get("scope", {}))
            for span in _list(scope_fields.get("spans", [])):
                decoded.add(batch, _fast_span(span, resource))
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


_RPC_CODES = {400: 3, 401: 16, 404: 5, 413: 8, 415: 3, 422: 3}
"""The ``google.rpc.Code`` an OTLP receiver answers for each problem status (13, INTERNAL, for any other)."""


def rpc_code(status: int) -> int:
    """The ``google.rpc.Code`` of a problem status, for OTLP's error answers over HTTP and gRPC alike."""
    return _RPC_CODES.get(status, 13)


class ExportTarget(Protocol):
    """What storing an export needs of the engine: its clock and its projects by name."""

    def now(self) -> str:
        """The current time as stored."""
        ...

    def default_project(self, conn: sqlite3.Connection, name: str = ...) -> StoredObject:
        """The project of this name in the default space, created if missing."""
        ...


def store_export(
    conn: sqlite3.Connection, engine: ExportTarget, decoded: DecodedExport, header_project: str | None
) -> None:
    """Store a decoded export, whichever transport brought it: each resource's spans in the project it names, else
    ``header_project``, else the default project (made when missing)."""
    now = engine.now()
    project_nums: dict[str | None, int] = {}
    for batch in decoded.batches:
        if not batch.spans:
            continue
        name = batch.project_name or header_project
        if name not in project_nums:
            project = engine.default_project(conn, name) if name else engine.default_project(conn)
            project_nums[name] = project.num
        upsert_spans(conn, project_nums[name], batch.spans, now=now)
