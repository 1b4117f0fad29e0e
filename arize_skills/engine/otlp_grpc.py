"""OTLP over gRPC: the standard ``TraceService/Export``, the receiver OpenTelemetry set-ups default to (port 4317).

Spans are decoded and stored exactly as OTLP/HTTP's are (``ingest.otlp``): the project comes from the resource
attributes, else the ``arize-project-name`` metadata, else the default project; spans that cannot be stored are
counted in ``partial_success``. gzip is gRPC's own (the exporter's ``compression``). The auth rule is the REST
API's: on loopback without a token, anyone on the machine may export; with a token, every call must carry
``authorization: Bearer <token>`` (or the token alone, as Arize's exporters send their key), else
``UNAUTHENTICATED``.
"""

from __future__ import annotations

import hmac
import logging
from typing import TYPE_CHECKING, Any

import grpc
from opentelemetry.proto.collector.trace.v1.trace_service_pb2 import (
    ExportTracePartialSuccess,
    ExportTraceServiceRequest,
    ExportTraceServiceResponse,
)

from ..errors import ProblemError
from .ingest.otlp import MAX_BODY_BYTES, rpc_code, spans_of, store_export

if TYPE_CHECKING:
    from .engine import Engine

__all__ = ["OtlpGrpcServer"]

logger = logging.getLogger(__name__)

SERVICE = "opentelemetry.proto.collector.trace.v1.TraceService"
PROJECT_METADATA = "arize-project-name"
# grpc's status codes by their google.rpc.Code number.
_STATUS_CODES = {code.value[0]: code for code in grpc.StatusCode}


def _metadata(context: grpc.aio.ServicerContext[Any, Any], key: str) -> str | None:
    for name, value in context.invocation_metadata() or ():
        if name.lower() == key and isinstance(value, str):
            return value
    return None


class OtlpGrpcServer:
    """The receiver, bound to ``host:port`` for an open engine; ``start`` returns the bound port."""

    def __init__(self, engine: Engine, host: str, port: int, *, token: str | None) -> None:
        self._engine = engine
        self._address = f"[{host}]:{port}" if ":" in host else f"{host}:{port}"
        self._token = token
        self._server = grpc.aio.server(
            options=[("grpc.max_receive_message_length", MAX_BODY_BYTES), ("grpc.so_reuseport", 0)]
        )
        handler = grpc.unary_unary_rpc_method_handler(
            self._export,
            request_deserializer=ExportTraceServiceRequest.FromString,
            response_serializer=ExportTraceServiceResponse.SerializeToString,
        )
        self._server.add_generic_rpc_handlers([grpc.method_handlers_generic_handler(SERVICE, {"Export": handler})])

    async def start(self) -> int:
        """Bind and serve; returns the port bound.

        Raises:
            OSError: the address cannot be bound (in use, or not this machine's).
        """
        try:
            port = int(self._server.add_insecure_port(self._address))
        except RuntimeError as exc:
            raise OSError(f"cannot listen for OTLP/gRPC on {self._address}: {exc}") from None
        await self._server.start()
        return port

    async def stop(self) -> None:
        """Stop serving; calls in flight get a second to finish."""
        await self._server.stop(grace=1.0)

    def _authorized(self, context: grpc.aio.ServicerContext[Any, Any]) -> bool:
        if self._token is None:
            return True
        given = (_metadata(context, "authorization") or "").strip()
        if given.lower().startswith("bearer "):
            given = given[7:].strip()
        return hmac.compare_digest(given.encode(), self._token.encode())

    async def _export(
        self, request: ExportTraceServiceRequest, context: grpc.aio.ServicerContext[Any, Any]
    ) -> ExportTraceServiceResponse:
        if not self._authorized(context):
            await context.abort(
                grpc.StatusCode.UNAUTHENTICATED, "send the engine's token as metadata authorization: Bearer <token>"
            )
        header_project = (_metadata(context, PROJECT_METADATA) or "").strip() or None
        if header_project is not None and len(header_project) > 255:
            await context.abort(grpc.StatusCode.INVALID_ARGUMENT, f"{PROJECT_METADATA} must be at most 255 characters")
        try:
            decoded = spans_of(request)
            await self._engine.store.write(lambda conn: store_export(conn, self._engine, decoded, header_project))
        except ProblemError as exc:
            await context.abort(_STATUS_CODES[rpc_code(exc.status)], exc.detail)
        if not decoded.rejected:
            return ExportTraceServiceResponse()
        partial = ExportTracePartialSuccess(rejected_spans=decoded.rejected, error_message=decoded.rejection or "")
        return ExportTraceServiceResponse(partial_success=partial)
