"""``POST /v1/traces``: OTLP/HTTP trace ingest (protobuf or JSON, optionally gzip-compressed).

The project of each resource's spans is, in order: the resource attribute ``openinference.project.name`` (what
OpenInference's ``register`` sets); else the ``arize-project-name`` request header; else the ``default``
project. A named project missing from the default space is created there. Re-sending a span replaces it.

Success is 200 with an ``ExportTraceServiceResponse`` in the request's encoding. Errors follow OTLP/HTTP:
400 for a body that does not decode (nothing is stored), 413 past ``MAX_BODY_BYTES``, 415 for an unknown
content type or encoding; protobuf requests get a ``google.rpc.Status`` body, JSON requests a problem document
that also carries the Status fields ``code`` and ``message``.
"""

from __future__ import annotations

from starlette.requests import Request
from starlette.responses import Response
from starlette.routing import Route

from ....errors import ProblemError
from ...ingest.otlp import (
    MAX_BODY_BYTES,
    WireFormat,
    decode_export,
    decompress,
    encode_response,
    encode_rpc_status,
    rpc_code,
    store_export,
    wire_format,
)
from ..context import engine_of
from ..http import problem_response

__all__ = ["PROJECT_HEADER", "routes"]

PROJECT_HEADER = "arize-project-name"

_MEDIA_TYPES: dict[WireFormat, str] = {"protobuf": "application/x-protobuf", "json": "application/json"}
_TOO_LARGE = f"the body is larger than the {MAX_BODY_BYTES // (1024 * 1024)} MiB limit; export smaller batches"


async def _read_limited(request: Request) -> bytes:
    declared = request.headers.get("content-length", "")
    if declared.isdigit() and int(declared) > MAX_BODY_BYTES:
        raise ProblemError(413, _TOO_LARGE)
    body = bytearray()
    async for chunk in request.stream():
        body += chunk
        if len(body) > MAX_BODY_BYTES:
            raise ProblemError(413, _TOO_LARGE)
    return bytes(body)


def _header_project(request: Request) -> str | None:
    value = request.headers.get(PROJECT_HEADER, "").strip()
    if len(value) > 255:
        raise ProblemError(400, f"the {PROJECT_HEADER} header must be at most 255 characters")
    return value or None


def _error(request: Request, fmt: WireFormat, exc: ProblemError) -> Response:
    code = rpc_code(exc.status)
    if fmt == "protobuf":
        return Response(encode_rpc_status(code, exc.detail), status_code=exc.status, media_type=_MEDIA_TYPES[fmt])
    request_id = getattr(request.state, "request_id", None)
    return problem_response(exc.status, exc.detail, request_id=request_id, extra={"code": code, "message": exc.detail})


async def export_traces(request: Request) -> Response:
    engine = engine_of(request)
    fmt = wire_format(request.headers.get("content-type"))
    try:
        header_project = _header_project(request)
        raw = await _read_limited(request)
        body = decompress(raw, request.headers.get("content-encoding"))
        decoded = decode_export(body, fmt)

        await engine.store.write(lambda conn: store_export(conn, engine, decoded, header_project))
    except ProblemError as exc:
        return _error(request, fmt, exc)
    payload = encode_response(fmt, rejected=decoded.rejected, message=decoded.rejection)
    return Response(payload, status_code=200, media_type=_MEDIA_TYPES[fmt])


routes = [Route("/v1/traces", export_traces, methods=["POST"])]
