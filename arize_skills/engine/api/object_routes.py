"""Route bodies shared by the stored-object resources: a keyset page as a list response, one object, a delete,
a rename and an annotation of an object's records, and the answer of a route's read or write transaction.

A list route reads its own parameters (``limit`` first) and checks them, names its query in a scope string that
includes every filter parameter (so a cursor replayed against another query is a 400), and gives a ``fetch`` that
returns one keyset page of at most ``limit`` objects after a position; ``object_page_response`` decodes the
cursor, runs the fetch in one read, renders the items and makes the next cursor from the last object of the page.
``space_objects_response`` is the whole list route of a kind filtered by space and name (and by the route's
own conditions). ``object_route``, ``delete_route`` and ``rename_route`` make the whole GET, DELETE and
name-only PATCH routes of one object named by a path parameter; ``resource_routes`` mounts a resource's five.
"""

from __future__ import annotations

import sqlite3
from collections.abc import Awaitable, Callable, Sequence
from typing import Any, TypeVar

from starlette.requests import Request
from starlette.responses import Response
from starlette.routing import Route

from ...errors import ProblemError
from ...models._base import ResponseModel
from ...models.datasets import AnnotateDatasetExamplesRequest, UpdateDatasetRequest
from ...models.experiments import AnnotateExperimentRunsRequest
from ...models.projects import UpdateProjectRequest
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
    "Conditions",
    "Fetch",
    "Render",
    "annotate_route",
    "delete_response",
    "delete_route",
    "object_page_response",
    "object_response",
    "object_route",
    "page_read_response",
    "read_response",
    "rename_route",
    "resource_routes",
    "space_list_params",
    "space_objects_response",
    "write_response",
]

T = TypeVar("T", bound=ResponseModel | dict[str, Any])
Handler = Callable[[Request], Awaitable[Response]]

Item = ResponseModel | dict[str, Any]

Fetch = Callable[[sqlite3.Connection, Any], tuple[list[StoredObject], bool]]
"""``fetch(conn, after)``: one page of objects after the cursor position ``after`` (``None`` on the first page),
and whether more follow."""

Render = Callable[[sqlite3.Connection, StoredObject], Item]
"""The wire shape of one stored object (a response model, or a dict already in wire form)."""

Require = Callable[[sqlite3.Connection, str], StoredObject]
"""Load an object by global ID or raise a 404 problem."""

Remove = Callable[[sqlite3.Connection, StoredObject], None]
"""Delete a stored object with whatever belongs to it, or refuse with a problem."""

Conditions = Callable[[sqlite3.Connection], list[tuple[str, Any]]]
"""A list route's own ``(sql, param)`` conditions for ``list_objects``, read inside the page's transaction."""


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

    return await page_read_response(request, key, run)


async def page_read_response(
    request: Request, key: str, run: Callable[[sqlite3.Connection], tuple[Sequence[Item], str | None]]
) -> Response:
    """A list response ``{key: [...], pagination}`` of the page and next cursor that ``run`` reads in one read."""
    items, cursor = await engine_of(request).store.read(run)
    return page_response(key, items, cursor)


async def space_objects_response(
    request: Request,
    kind: str,
    key: str,
    *,
    scope: str,
    render: Render,
    limit: int | None = None,
    spaces: tuple[str | None, str | None, str | None] | None = None,
    where: Conditions | None = None,
    scope_params: tuple[str | None, ...] = (),
    by_updated: bool = False,
) -> Response:
    """A list response of the ``kind`` objects in the spaces the request names, newest first.

    The request's ``space_id``/``space_name`` pick the spaces and ``name`` is a substring to match; ``where``
    adds the route's own conditions. ``scope`` and ``scope_params`` (the route's own parameters) name the listing
    in its cursors. A route that checks parameters of its own reads ``limit`` and then ``spaces``
    (``space_list_params``) before them, as every list route does, and passes them on. ``by_updated``: most
    recently updated first instead of newest first.
    """
    engine = engine_of(request)
    limit = read_limit(request) if limit is None else limit
    space_id, space_name, name = space_list_params(request) if spaces is None else spaces

    def fetch(conn: sqlite3.Connection, after: Any) -> tuple[list[StoredObject], bool]:
        conditions = where(conn) if where is not None else None
        space_nums = engine.space_scope(conn, space_id, space_name)
        if not by_updated:
            return list_objects(
                conn, kind, limit=limit, after=after, space_nums=space_nums, name_contains=name, where=conditions
            )
        # The keyset position is then (updated_at, num), not num alone.
        if after is not None and not (isinstance(after, list) and len(after) == 2):
            raise ProblemError(400, "cursor is not valid for this request; start again without a cursor")
        position = (str(after[0]), int(after[1])) if after is not None else None
        return list_objects(
            conn,
            kind,
            limit=limit,
            space_nums=space_nums,
            name_contains=name,
            where=conditions,
            by_updated=True,
            updated_after=position,
        )

    cursor_scope = "|".join([scope, str(space_id), str(space_name), str(name), *map(str, scope_params)])
    return await object_page_response(
        request, key, scope=cursor_scope, fetch=fetch, render=render, position=_updated if by_updated else _num
    )


def _updated(obj: StoredObject) -> list[Any]:
    return [obj.updated_at, obj.num]


async def children_page_response(
    request: Request,
    key: str,
    *,
    parent_param: str,
    require_parent: Require,
    kind: str,
    render: Callable[[StoredObject, StoredObject], Item],
) -> Response:
    """A list response of the ``kind`` children of the object the path names (a 404 when it is missing), newest
    first; ``render`` gets each child with its parent."""
    limit = read_limit(request)
    parent_id = request.path_params[parent_param]

    def fetch(conn: sqlite3.Connection, after: Any) -> tuple[list[StoredObject], bool]:
        return list_objects(conn, kind, limit=limit, after=after, parent_num=require_parent(conn, parent_id).num)

    def render_child(conn: sqlite3.Connection, child: StoredObject) -> Item:
        return render(child, require_parent(conn, parent_id))

    scope = f"{key}|{parent_id}"
    return await object_page_response(request, key, scope=scope, fetch=fetch, render=render_child)


async def object_response(request: Request, object_id: str, require: Require, render: Render) -> Response:
    """One stored object as a JSON response; ``require`` answers a missing one with a 404 problem."""

    def run(conn: sqlite3.Connection) -> Item:
        return render(conn, require(conn, object_id))

    return await read_response(request, run)


def object_route(id_param: str, require: Require, render: Render) -> Handler:
    """The GET route of one stored object named by the path parameter ``id_param``."""

    async def get(request: Request) -> Response:
        return await object_response(request, request.path_params[id_param], require, render)

    return get


async def delete_response(
    request: Request,
    object_id: str,
    require: Require,
    remove: Remove,
) -> Response:
    """Delete one stored object in one transaction and answer 204.

    ``remove`` deletes the object with whatever belongs to it, or refuses with a problem (nothing is written then).
    """

    def run(conn: sqlite3.Connection) -> None:
        remove(conn, require(conn, object_id))

    await engine_of(request).store.write(run)
    return empty_response()


def delete_route(id_param: str, require: Require, remove: Remove) -> Handler:
    """The DELETE route of one stored object named by the path parameter ``id_param`` (see ``delete_response``)."""

    async def delete(request: Request) -> Response:
        return await delete_response(request, request.path_params[id_param], require, remove)

    return delete


def rename_route(
    request_model: type[UpdateDatasetRequest] | type[UpdateProjectRequest],
    id_param: str,
    require: Require,
    render: Render,
    *,
    kind: str,
    label: str,
) -> Handler:
    """The PATCH route of one stored object named by the path parameter ``id_param`` whose request's only field
    is ``name``: it renames the object in one transaction and answers with it. Another ``kind`` of the same space
    with that name is a 409 problem naming it as ``label``."""

    async def rename(request: Request) -> Response:
        body = await read_body(request, request_model)
        engine, object_id = engine_of(request), request.path_params[id_param]

        def run(conn: sqlite3.Connection) -> Item:
            obj = require(conn, object_id)
            check_name_free(conn, kind, body.name, label=label, space_num=obj.space_num, own_num=obj.num)
            return render(conn, update_object(conn, obj, now=engine.now(), name=body.name))

        return await write_response(request, run)

    return rename


async def read_response(request: Request, run: Callable[[sqlite3.Connection], T]) -> Response:
    """Run ``run`` in one read of the request's engine and answer with what it returns as JSON."""
    return json_response(await engine_of(request).store.read(run))


async def write_response(request: Request, run: Callable[[sqlite3.Connection], T], status: int = 200) -> Response:
    """Run ``run`` in one write transaction of the request's engine and answer with what it returns as JSON."""
    return json_response(await engine_of(request).store.write(run), status)


def annotate_route(
    request_model: type[AnnotateDatasetExamplesRequest] | type[AnnotateExperimentRunsRequest],
    id_param: str,
    require: Require,
    target_kind: str,
) -> Handler:
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


def resource_routes(
    path: str, id_param: str, list_: Handler, create: Handler, get: Handler, update: Handler, delete: Handler
) -> list[Route]:
    """A resource's five routes: list and create at ``path``, get, update and delete at ``path/{id_param}``."""
    one = f"{path}/{{{id_param}}}"
    return [
        Route(path, list_, methods=["GET"]),
        Route(path, create, methods=["POST"]),
        Route(one, get, methods=["GET"]),
        Route(one, update, methods=["PATCH"]),
        Route(one, delete, methods=["DELETE"]),
    ]
