"""``/v2/annotation-queues``: queues of records for people to label, their records, labelling and assignment.

A queue is an ``AnnotationQueue`` object (name unique in its space) whose document names its annotation configs
and its people (by email); its records are rows of ``annotation_queue_records`` (``store.annotation_queues``).
Labels written through a queue are upserted on the records themselves, as ``annotate`` does; deleting a queue or
a record leaves them there. Tags (``/tags``) are not served: the engine has no tags resource.
"""

from __future__ import annotations

import sqlite3
from typing import Any

from starlette.requests import Request
from starlette.responses import Response
from starlette.routing import Route

from ....errors import ProblemError
from ....models.annotation_queues import (
    AddAnnotationQueueRecordsRequest,
    AnnotateAnnotationQueueRecordRequest,
    AnnotateAnnotationQueueRecordResponse,
    AnnotationQueue,
    AssignAnnotationQueueRecordRequest,
    AssignAnnotationQueueRecordResponse,
    CreateAnnotationQueueRecordsResponse,
    CreateAnnotationQueueRequest,
    DeleteAnnotationQueueRecordsRequest,
    UpdateAnnotationQueueRequest,
)
from ....models.annotations import AnnotationInput
from ...store.annotation_queues import (
    QUEUE_KIND,
    add_queue_records,
    assign_record,
    assigned_users,
    delete_queue_records,
    delete_queue_rows,
    mark_completed,
    queue_record_page,
    render_records,
    require_queue_record,
    user_for,
)
from ...store.annotations import annotations_for, upsert_annotations
from ...store.documents import AnnotationConfigDoc, AnnotationQueueDoc
from ...store.objects import (
    StoredObject,
    check_name_free,
    delete_object,
    document,
    get_object,
    insert_object,
    require_object,
    space_id_of,
    update_document,
    update_object,
)
from ..context import engine_of
from ..http import decode_cursor, empty_response, encode_cursor, json_response, read_body, read_limit, read_patch
from ..object_routes import (
    delete_route,
    object_route,
    page_read_response,
    resource_routes,
    space_objects_response,
    write_response,
)
from .annotation_configs import ANNOTATION_CONFIG_KIND, annotation_config_model

__all__ = ["routes"]

RECORDS_MAX_LIMIT = 500


def require_queue(conn: sqlite3.Connection, queue_id: str) -> StoredObject:
    """Load a queue by global ID or raise a 404 problem."""
    return require_object(conn, QUEUE_KIND, queue_id, label="annotation queue")


def queue_model(conn: sqlite3.Connection, queue: StoredObject) -> AnnotationQueue:
    """The wire shape of a stored queue, with its annotation configs and people."""
    doc = document(queue, AnnotationQueueDoc)
    configs = [get_object(conn, ANNOTATION_CONFIG_KIND, num) for num in doc.annotation_config_nums]
    return AnnotationQueue(
        id=queue.id,
        name=queue.name or "",
        space_id=space_id_of(conn, queue.space_num),
        instructions=doc.instructions,
        annotation_configs=[annotation_config_model(conn, c) for c in configs if c is not None],
        annotators=[user_for(email) for email in doc.annotator_emails],
        created_at=queue.created,
        updated_at=queue.updated,
        column_allowlist=doc.column_allowlist,
    )


def _queue_wire(conn: sqlite3.Connection, queue: StoredObject) -> dict[str, Any]:
    model = queue_model(conn, queue)
    wire = model.model_dump(mode="json", by_alias=True)
    # Each config as AX sends it: only the fields of its type.
    wire["annotation_configs"] = [c.to_wire() for c in model.annotation_configs]
    return wire


def _config_nums(conn: sqlite3.Connection, config_ids: list[str], space_num: int) -> list[int]:
    nums: list[int] = []
    for config_id in dict.fromkeys(config_ids):
        config = require_object(conn, ANNOTATION_CONFIG_KIND, config_id, label="annotation config")
        if config.space_num != space_num:
            raise ProblemError(422, f"annotation config '{config_id}' belongs to another space than the queue")
        nums.append(config.num)
    return nums


def _emails(emails: list[str]) -> list[str]:
    return list(dict.fromkeys(email.lower() for email in emails))


def _check_name_free(conn: sqlite3.Connection, name: str, space_num: int | None, own_num: int | None = None) -> None:
    check_name_free(conn, QUEUE_KIND, name, label="an annotation queue", space_num=space_num, own_num=own_num)


async def list_queues(request: Request) -> Response:
    return await space_objects_response(
        request, QUEUE_KIND, "annotation_queues", scope="annotation-queues", render=_queue_wire
    )


get_queue = object_route("queue_id", require_queue, _queue_wire)


async def create_queue(request: Request) -> Response:
    engine = engine_of(request)
    body = await read_body(request, CreateAnnotationQueueRequest)

    def run(conn: sqlite3.Connection) -> dict[str, Any]:
        space = engine.require_space(conn, body.space_id)
        _check_name_free(conn, body.name, space.num)
        doc = AnnotationQueueDoc(
            instructions=body.instructions,
            annotation_config_nums=_config_nums(conn, body.annotation_config_ids, space.num),
            annotator_emails=_emails(body.annotator_emails),
            assignment_method=body.assignment_method or "ALL",
            column_allowlist=body.column_allowlist or None,
        )
        now = engine.now()
        queue = insert_object(conn, QUEUE_KIND, name=body.name, body=doc.to_body(), now=now, space_num=space.num)
        if body.record_sources:
            add_queue_records(conn, queue, body.record_sources, now=now)
        return _queue_wire(conn, queue)

    return await write_response(request, run, 201)


async def update_queue(request: Request) -> Response:
    engine = engine_of(request)
    body = await read_patch(
        request, UpdateAnnotationQueueRequest, clearable=frozenset({"instructions", "column_allowlist"})
    )

    def run(conn: sqlite3.Connection) -> dict[str, Any]:
        queue = require_queue(conn, request.path_params["queue_id"])
        assert queue.space_num is not None
        doc = document(queue, AnnotationQueueDoc)
        if body.name is not None:
            _check_name_free(conn, body.name, queue.space_num, queue.num)
        doc.copy_sent(body, "instructions")
        if body.column_allowlist is not None or "column_allowlist" in body.model_fields_set:
            doc.column_allowlist = body.column_allowlist or None
        if body.annotation_config_ids is not None:
            doc.annotation_config_nums = _config_nums(conn, body.annotation_config_ids, queue.space_num)
        if body.annotator_emails is not None:
            doc.annotator_emails = _emails(body.annotator_emails)
        updated = update_document(conn, queue, doc, now=engine.now(), name=body.name)
        return _queue_wire(conn, updated)

    return await write_response(request, run)


def _delete_queue(conn: sqlite3.Connection, queue: StoredObject) -> None:
    delete_queue_rows(conn, queue)
    delete_object(conn, queue)


delete_queue = delete_route("queue_id", require_queue, _delete_queue)


# --- records ---------------------------------------------------------------------------------------------------


async def list_records(request: Request) -> Response:
    queue_id = request.path_params["queue_id"]
    limit = read_limit(request, maximum=RECORDS_MAX_LIMIT)
    scope = f"annotation-queue-records|{queue_id}"
    after = decode_cursor(request.query_params.get("cursor"), scope)
    if after is not None and not isinstance(after, int):
        raise ProblemError(400, "cursor is not valid for this request; start again without a cursor")

    def run(conn: sqlite3.Connection) -> tuple[list[dict[str, Any]], str | None]:
        queue = require_queue(conn, queue_id)
        rows, more = queue_record_page(conn, queue.num, limit=limit, after=after)
        records = render_records(conn, queue, queue.id, rows)
        cursor = encode_cursor(rows[-1].row, scope) if more else None
        return [r.model_dump(mode="json", by_alias=True) for r in records], cursor

    return await page_read_response(request, "records", run)


async def add_records(request: Request) -> Response:
    engine = engine_of(request)
    body = await read_body(request, AddAnnotationQueueRecordsRequest)

    def run(conn: sqlite3.Connection) -> CreateAnnotationQueueRecordsResponse:
        queue = require_queue(conn, request.path_params["queue_id"])
        added = add_queue_records(conn, queue, body.record_sources, now=engine.now())
        if added:
            # Records are part of what a reader of the queue caches, so changing them moves its updated_at.
            update_object(conn, queue, now=engine.now())
        return CreateAnnotationQueueRecordsResponse(record_sources=render_records(conn, queue, queue.id, added))

    result = await engine.store.write(run)
    return json_response(result, 201 if result.record_sources else 200)


async def remove_records(request: Request) -> Response:
    engine = engine_of(request)
    body = await read_body(request, DeleteAnnotationQueueRecordsRequest)

    def run(conn: sqlite3.Connection) -> None:
        queue = require_queue(conn, request.path_params["queue_id"])
        delete_queue_records(conn, queue, body.record_ids)
        update_object(conn, queue, now=engine.now())

    await engine.store.write(run)
    return empty_response(204)


def _check_against_configs(conn: sqlite3.Connection, queue: StoredObject, values: list[AnnotationInput]) -> None:
    doc = document(queue, AnnotationQueueDoc)
    configs = [get_object(conn, ANNOTATION_CONFIG_KIND, num) for num in doc.annotation_config_nums]
    by_name = {c.name: c for c in configs if c is not None}
    unknown = sorted({v.name for v in values} - by_name.keys())
    if unknown:
        raise ProblemError(
            400,
            f"{', '.join(repr(n) for n in unknown)} is not an annotation config of this queue; its configs are "
            + (", ".join(repr(n) for n in by_name) or "none"),
        )
    for value in values:
        config = document(by_name[value.name], AnnotationConfigDoc)
        labels = [str(v.get("label")) for v in config.values or []]
        if config.type == "CATEGORICAL" and value.label is not None and value.label not in labels:
            raise ProblemError(
                400, f"annotation {value.name!r}: label {value.label!r} is not one of {', '.join(map(repr, labels))}"
            )
        low, high = config.minimum_score, config.maximum_score
        in_range = low is None or high is None or value.score is None or low <= value.score <= high
        if config.type == "CONTINUOUS" and not in_range:
            raise ProblemError(400, f"annotation {value.name!r}: score {value.score} is outside {low}..{high}")


async def annotate_record(request: Request) -> Response:
    engine = engine_of(request)
    body = await read_body(request, AnnotateAnnotationQueueRecordRequest)

    def run(conn: sqlite3.Connection) -> AnnotateAnnotationQueueRecordResponse:
        queue = require_queue(conn, request.path_params["queue_id"])
        assert queue.space_num is not None
        record = require_queue_record(conn, queue, request.path_params["record_id"])
        _check_against_configs(conn, queue, body.annotations)
        names = {v.name for v in body.annotations}
        now = engine.now()
        if record.target_kind == "example":
            upsert_annotations(conn, "example", [(record.target_key, body.annotations)], now=now)
            written = annotations_for(conn, "example", [record.target_key])
        else:
            upsert_annotations(
                conn, "span", [(record.target_key, body.annotations)], now=now, granularity=record.granularity
            )
            written = annotations_for(conn, "span", [record.target_key], granularity=record.granularity)
        mark_completed(conn, record)
        update_object(conn, queue, now=now)
        return AnnotateAnnotationQueueRecordResponse(
            id=record.id,
            annotation_queue_id=queue.id,
            source_type=record.source_type,
            granularity=None if record.target_kind == "example" else record.granularity,
            annotations=[a for a in written.get(record.target_key, []) if a.name in names],
        )

    return await write_response(request, run)


async def assign_to_record(request: Request) -> Response:
    engine = engine_of(request)
    body = await read_body(request, AssignAnnotationQueueRecordRequest)

    def run(conn: sqlite3.Connection) -> AssignAnnotationQueueRecordResponse:
        queue = require_queue(conn, request.path_params["queue_id"])
        record = require_queue_record(conn, queue, request.path_params["record_id"])
        assign_record(conn, record, _emails(body.assigned_user_emails))
        update_object(conn, queue, now=engine.now())
        return AssignAnnotationQueueRecordResponse(
            id=record.id,
            annotation_queue_id=queue.id,
            source_type=record.source_type,
            granularity=None if record.target_kind == "example" else record.granularity,
            assigned_users=assigned_users(conn, record),
        )

    return await write_response(request, run)


routes = [
    *resource_routes(
        "/v2/annotation-queues", "queue_id", list_queues, create_queue, get_queue, update_queue, delete_queue
    ),
    Route("/v2/annotation-queues/{queue_id}/records", list_records, methods=["GET"]),
    Route("/v2/annotation-queues/{queue_id}/records", add_records, methods=["POST"]),
    Route("/v2/annotation-queues/{queue_id}/records", remove_records, methods=["DELETE"]),
    Route("/v2/annotation-queues/{queue_id}/records/{record_id}/annotate", annotate_record, methods=["POST"]),
    Route("/v2/annotation-queues/{queue_id}/records/{record_id}/assign", assign_to_record, methods=["POST"]),
]
