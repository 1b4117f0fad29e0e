"""``/v2/annotation-configs``: the label sets humans annotate spans, examples and runs with.

A config is an ``AnnotationConfig`` object (name unique in its space) whose document holds ``type`` and, by
type, ``values`` (CATEGORICAL), ``minimum_score``/``maximum_score`` (CONTINUOUS) and ``optimization_direction``.
Requests name the type ``annotation_config_type``; a PATCH must name the stored type.
"""

from __future__ import annotations

import sqlite3
from typing import Any, Literal

from starlette.requests import Request
from starlette.responses import Response

from ....errors import ProblemError
from ....models._base import ResponseModel
from ....models.annotation_configs import (
    CREATE_REQUEST_MODELS,
    UPDATE_REQUEST_MODELS,
    AnnotationConfig,
    CreateCategoricalAnnotationConfigRequest,
    CreateContinuousAnnotationConfigRequest,
    CreateFreeformAnnotationConfigRequest,
    UpdateCategoricalAnnotationConfigRequest,
    UpdateContinuousAnnotationConfigRequest,
)
from ...store.documents import AnnotationConfigDoc
from ...store.objects import (
    StoredObject,
    check_name_free,
    delete_object,
    document,
    insert_object,
    require_object,
    space_id_of,
    update_document,
)
from ..context import engine_of
from ..http import read_body
from ..object_routes import delete_route, object_route, resource_routes, space_objects_response, write_response

__all__ = ["ANNOTATION_CONFIG_KIND", "annotation_config_model", "routes"]

ANNOTATION_CONFIG_KIND = "AnnotationConfig"


class _TypeProbe(ResponseModel):
    """Reads only the discriminator, so the body can then be checked against the one model it names."""

    annotation_config_type: Literal["CATEGORICAL", "CONTINUOUS", "FREEFORM"]


def annotation_config_model(
    conn: sqlite3.Connection, config: StoredObject, space_id: str | None = None
) -> AnnotationConfig:
    """The wire model of a stored annotation config."""
    doc = document(config, AnnotationConfigDoc)
    return AnnotationConfig(
        id=config.id,
        name=config.name or "",
        created_at=config.created,
        space_id=space_id or space_id_of(conn, config.space_num),
        type=doc.type,
        values=doc.values,
        minimum_score=doc.minimum_score,
        maximum_score=doc.maximum_score,
        optimization_direction=doc.optimization_direction,
    )


def _require_config(conn: sqlite3.Connection, config_id: str) -> StoredObject:
    return require_object(conn, ANNOTATION_CONFIG_KIND, config_id, label="annotation config")


def _config_wire(conn: sqlite3.Connection, config: StoredObject) -> dict[str, Any]:
    return annotation_config_model(conn, config).to_wire()


def _check_range(minimum: float, maximum: float) -> None:
    if not minimum < maximum:
        raise ProblemError(
            422, f"minimum_score ({minimum}) must be less than maximum_score ({maximum}); swap or widen the range"
        )


def _check_name_free(conn: sqlite3.Connection, name: str, space_num: int | None, own_num: int | None = None) -> None:
    check_name_free(
        conn, ANNOTATION_CONFIG_KIND, name, label="an annotation config", space_num=space_num, own_num=own_num
    )


async def list_configs(request: Request) -> Response:
    return await space_objects_response(
        request, ANNOTATION_CONFIG_KIND, "annotation_configs", scope="annotation-configs", render=_config_wire
    )


get_config = object_route("config_id", _require_config, _config_wire)


async def create_config(request: Request) -> Response:
    engine = engine_of(request)
    probe = await read_body(request, _TypeProbe)
    body = await read_body(request, CREATE_REQUEST_MODELS[probe.annotation_config_type])
    assert isinstance(
        body,
        CreateCategoricalAnnotationConfigRequest
        | CreateContinuousAnnotationConfigRequest
        | CreateFreeformAnnotationConfigRequest,
    )
    doc = AnnotationConfigDoc(type=probe.annotation_config_type)
    if isinstance(body, CreateCategoricalAnnotationConfigRequest):
        doc.values = [v.model_dump(mode="json") for v in body.values]
        doc.optimization_direction = body.optimization_direction or "NONE"
    elif isinstance(body, CreateContinuousAnnotationConfigRequest):
        _check_range(body.minimum_score, body.maximum_score)
        doc.minimum_score, doc.maximum_score = body.minimum_score, body.maximum_score
        doc.optimization_direction = body.optimization_direction or "NONE"

    def run(conn: sqlite3.Connection) -> dict[str, Any]:
        space = engine.require_space(conn, body.space_id)
        _check_name_free(conn, body.name, space.num)
        config = insert_object(
            conn, ANNOTATION_CONFIG_KIND, name=body.name, body=doc.to_body(), now=engine.now(), space_num=space.num
        )
        return annotation_config_model(conn, config, space.id).to_wire()

    return await write_response(request, run, 201)


async def update_config(request: Request) -> Response:
    engine = engine_of(request)
    probe = await read_body(request, _TypeProbe)
    body = await read_body(request, UPDATE_REQUEST_MODELS[probe.annotation_config_type])
    given = body.model_fields_set

    def run(conn: sqlite3.Connection) -> dict[str, Any]:
        config = _require_config(conn, request.path_params["config_id"])
        doc = document(config, AnnotationConfigDoc)
        stored_type = doc.type
        if stored_type != probe.annotation_config_type:
            raise ProblemError(
                400,
                f"annotation_config_type is {probe.annotation_config_type}, but this config is {stored_type}; the "
                f"type cannot change, so send annotation_config_type {stored_type} (or create a new config)",
            )
        # A field sent is never null (the update models refuse nulls), and only the stored type's model is read.
        if isinstance(body, UpdateCategoricalAnnotationConfigRequest):
            if "values" in given and body.values is not None:
                doc.values = [v.model_dump(mode="json") for v in body.values]
            doc.copy_sent(body, "optimization_direction")
        elif isinstance(body, UpdateContinuousAnnotationConfigRequest):
            doc.copy_sent(body, "minimum_score", "maximum_score", "optimization_direction")
        if stored_type == "CONTINUOUS":
            if doc.minimum_score is None or doc.maximum_score is None:
                raise ProblemError(500, f"stored annotation config {config.id} is CONTINUOUS but lacks its score range")
            _check_range(doc.minimum_score, doc.maximum_score)
        name = getattr(body, "name", None)
        if name is not None:
            _check_name_free(conn, name, config.space_num, config.num)
        return _config_wire(conn, update_document(conn, config, doc, now=engine.now(), name=name))

    return await write_response(request, run)


delete_config = delete_route("config_id", _require_config, delete_object)


routes = resource_routes(
    "/v2/annotation-configs", "config_id", list_configs, create_config, get_config, update_config, delete_config
)
