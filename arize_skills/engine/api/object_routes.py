"""Route bodies shared by the stored-object resources: a keyset page as a list response, one object, a delete,
a rename and an annotation of an object's records.

A list route reads its own parameters (``limit`` first) and checks them, names its query in a scope string that
includes every filter parameter (so a cursor replayed against another query is a 400), and gives a ``fetch`` that
returns one keyset page of at most ``limit`` objects after a position; ``object_page_response`` decodes the
cursor, runs the fetch in one read, renders the items and makes the next cursor from the last object of the page.
``space_objects_response`` is the whole list route of a kind filtered only by space and name.
"""

from __future__ import annotations

import sqlite3
from collections.abc import Awaitable, Callable
from typing import Any

from starlette.requests import Request
from starlette.responses import Response

from ...models._base import ResponseModel
from ...models.datasets import AnnotateDatasetExamplesRequest
from ...models.experiments import AnnotateExperimentRunsRequest
from ..store.annotations import annotate_records
from ..store.objects import StoredObject, check_name_free, list_objects, update_object
from .context import engine_of
from .http import (
    decode_cursor,
    empty_response,
    encode_cursor,
    json_response,
    page_response,
    query_str,
    read_body,
    read_limit,
)

__all__ = [
    "Fetch",
    "Render",
    "annotate_route",
    "delete_response",
    "object_page_response",
    "object_response",
    "rename_response",
    "space_list_params",
    "space_objects_response",
]

Item = ResponseModel | dict[str, Any]

Fetch = Callable[[sqlite3.Connection, Any], tuple[list[StoredObject], bool]]
"""``fetch(conn, after)``: one page of objects after the cursor position ``after`` (``None`` on the first page),
and whether more follow."""

Render = Callable[[sqlite3.Connection, StoredObject], Item]
"""The wire shape of one stored object (a response model, or a dict already in wire form)."""

Require = Callable[[sqlite3.Connection, str], StoredObject]
AnnotateRequest = type[AnnotateDatasetExamplesRequest] | type[AnnotateExperimentRunsRequest]
"""Load an object by global ID or raise a 404 problem."""


def space_list_params(request: Request) -> tuple[str | None, str | None, str | None]:
    """AX's ``space_id``, ``space_name`` and ``name`` list parameters, each optional, in that order."""
    return query_str(request, "space_id"), query_str(request, "space_name"), query_str(request, "name")


def _num(obj: StoredObject) -> int:
    return obj.num


async def object_page_response(
    request: Request,
    key: str,
    *,
    scope: str,
    fetch: Fetch,
    render: Render,
    position: Callable[[StoredObject], Any] = _num,
) -> Response:
    """A list response ``{key: [...], pagination}`` of one keyset page of stored objects.

    The request's ``cursor`` must have been made for the same ``scope`` (400 otherwise); the next cursor holds
    ``position`` of the page's last object (its ``num`` unless the route orders by something else).
    """
    after = decode_cursor(request.query_params.get("cursor"), scope)

    def run(conn: sqlite3.Connection) -> tuple[list[Item], str | None]:
        objects, more = fetch(conn, after)
        cursor = encode_cursor(position(objects[-1]), scope) if more else None
        return [render(conn, obj) for obj in objects], cursor

    items, cursor = await engine_of(request).store.read(run)
    return page_response(key, items, cursor)


async def space_objects_response(request: Request, kind: str, key: str, *, scope: str, render: Render) -> Response:
    """A list response of the ``kind`` objects in the spaces the request names, newest first.

    The request's ``space_id``/``space_name`` pick the spaces and ``name`` is a substring to match; ``scope``
    names the listing in its cursors.
    """
    engine = engine_of(request)
    limit = read_limit(request)
    space_id, space_name, name = space_list_params(request)

    def fetch(conn: sqlite3.Connection, after: Any) -> tuple[list[StoredObject], bool]:
        space_nums = engine.space_scope(conn, space_id, space_name)
        return list_objects(conn, kind, limit=limit, after=after, space_nums=space_nums, name_contains=name)

    cursor_scope = f"{scope}|{space_id}|{space_name}|{name}"
    return await object_page_response(request, key, scope=cursor_scope, fetch=fetch, render=render)


async def object_response(request: Request, object_id: str, require: Require, render: Render) -> Response:
    """One stored object as a JSON response; ``require`` answers a missing one with a 404 problem."""

    def run(conn: sqlite3.Connection) -> Item:
        return render(conn, require(conn, object_id))

    return json_response(await engine_of(request).store.read(run))


async def delete_response(
    request: Request,
    object_id: str,
    require: Require,
    remove: Callable[[sqlite3.Connection, StoredObject], None],
) -> Response:
    """Delete one stored object in one transaction and answer 204.

    ``remove`` deletes the object with whatever belongs to it, or refuses with a problem (nothing is written then).
    """

    def run(conn: sqlite3.Connection) -> None:
        remove(conn, require(conn, object_id))

    await engine_of(request).store.write(run)
    return empty_response()


async def rename_response(
    request: Request, object_id: str, name: str, require: Require, render: Render, *, kind: str, label: str
) -> Response:
    """Rename one stored object in one transaction and answer with it (a PATCH whose only field is ``name``).

    Another ``kind`` of the same space with that name is a 409 problem naming it as ``label``.
    """
    engine = engine_of(request)

    def run(conn: sqlite3.Connection) -> Item:
        obj = require(conn, object_id)
        check_name_free(conn, kind, name, label=label, space_num=obj.space_num, own_num=obj.num)
        return render(conn, update_object(conn, obj, now=engine.now(), name=name))

    return json_response(await engine.store.write(run))


def annotate_route(
    request_model: type[AnnotateDatasetExamplesRequest] | type[AnnotateExperimentRunsRequest],
    id_param: str,
    require: Require,
    target_kind: str,
) -> Callable[[Request], Awaitable[Response]]:
    """The route that annotates the ``target_kind`` records (``example`` or ``run``) of the stored object named by
    the path parameter ``id_param``, answering 202."""

    async def annotate(request: Request) -> Response:
        engine = engine_of(request)
        body = await read_body(request, request_model)
        object_id = request.path_params[id_param]

        def run(conn: sqlite3.Connection) -> None:
            annotate_records(conn, target_kind, require(conn, object_id), body.annotations, now=engine.now())

        await engine.store.write(run)
        return empty_response(202)

    return annotate
