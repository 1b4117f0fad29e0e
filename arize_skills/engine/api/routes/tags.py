"""``/v2/tags``, and the tag lists of the resources that carry tags (prompts, for now).

A tag is a ``Tag`` object of its space, its name unique there but for case (409). A resource's document holds
the numbers of its tags (``tag_nums``); attaching checks that each tag exists (404) and belongs to the resource's
space (422), and is idempotent; detaching reports the IDs that were not attached. Deleting a tag detaches it from
every resource of its space.
"""

from __future__ import annotations

import sqlite3
from typing import Protocol

from starlette.requests import Request
from starlette.responses import Response
from starlette.routing import Route

from ....errors import ProblemError
from ....models.tags import CreateTagRequest, RemoveTagsResponse, Tag, UpdateTagRequest
from ...store.documents import PromptDoc, TagDoc
from ...store.objects import (
    StoredObject,
    delete_object,
    document,
    get_object,
    insert_object,
    list_objects,
    require_object,
    space_id_of,
    update_document,
)
from ..context import engine_of
from ..http import page_response, read_body, read_patch
from ..object_routes import delete_response, write_response

__all__ = [
    "TAG_KIND",
    "TaggedDoc",
    "attach_tags",
    "detach_tags",
    "require_tag",
    "routes",
    "tag_list",
    "tag_list_response",
]

TAG_KIND = "Tag"
PROMPT_KIND = "Prompt"
ALL_ROWS = 1_000_000


class TaggedDoc(Protocol):
    """A document that carries tags."""

    tag_nums: list[int] | None


def require_tag(conn: sqlite3.Connection, tag_id: str) -> StoredObject:
    """Load a tag by global ID or raise a 404 problem."""
    return require_object(conn, TAG_KIND, tag_id, label="tag")


def tag_model(conn: sqlite3.Connection, tag: StoredObject) -> Tag:
    """The wire shape of a stored tag."""
    doc = document(tag, TagDoc)
    return Tag(
        id=tag.id,
        name=tag.name or "",
        description=doc.description,
        color=doc.color,
        space_id=space_id_of(conn, tag.space_num),
        created_at=tag.created,
        updated_at=tag.updated,
    )


def _check_tag_name_free(conn: sqlite3.Connection, name: str, space_num: int | None, own_num: int = 0) -> None:
    row = conn.execute(
        "SELECT name FROM objects WHERE kind = ? AND space_num = ? AND lower(name) = lower(?) AND num != ? LIMIT 1",
        (TAG_KIND, space_num, name, own_num),
    ).fetchone()
    if row is not None:
        raise ProblemError(409, f"a tag named '{row['name']}' already exists in this space (names differ only by case)")


def tag_list(conn: sqlite3.Connection, doc: TaggedDoc) -> list[Tag]:
    """The tags a document carries, most recently updated first."""
    tags = [tag for num in doc.tag_nums or [] if (tag := get_object(conn, TAG_KIND, num)) is not None]
    tags.sort(key=lambda tag: (tag.updated_at, tag.num), reverse=True)
    return [tag_model(conn, tag) for tag in tags]


def tag_list_response(tags: list[Tag]) -> Response:
    """A resource's tag list as AX answers it: never paginated, so ``has_more`` is false and no cursor."""
    return page_response("tags", tags, None)


def attach_tags(conn: sqlite3.Connection, owner: StoredObject, doc: TaggedDoc, tag_ids: list[str]) -> None:
    """Attach the tags to ``doc`` (``owner``'s document); already attached ones are left as they are."""
    attached = list(doc.tag_nums or [])
    for tag_id in dict.fromkeys(tag_ids):
        tag = require_tag(conn, tag_id)
        if tag.space_num != owner.space_num:
            raise ProblemError(422, f"tag '{tag_id}' belongs to another space; use a tag of the resource's own space")
        if tag.num not in attached:
            attached.append(tag.num)
    doc.tag_nums = attached


def detach_tags(conn: sqlite3.Connection, doc: TaggedDoc, tag_ids: list[str]) -> RemoveTagsResponse:
    """Detach the tags from ``doc``; an ID that was not attached is reported in ``not_deleted``."""
    attached = list(doc.tag_nums or [])
    deleted: list[str] = []
    not_deleted: list[str] = []
    for tag_id in dict.fromkeys(tag_ids):
        try:
            tag = require_tag(conn, tag_id)
        except ProblemError:
            not_deleted.append(tag_id)
            continue
        if tag.num in attached:
            attached.remove(tag.num)
            deleted.append(tag_id)
        else:
            not_deleted.append(tag_id)
    doc.tag_nums = attached
    return RemoveTagsResponse(completed=not not_deleted, deleted=deleted, not_deleted=not_deleted)


async def create_tag(request: Request) -> Response:
    engine = engine_of(request)
    body = await read_body(request, CreateTagRequest)
    now = engine.now()

    def run(conn: sqlite3.Connection) -> Tag:
        space = engine.require_space(conn, body.space_id)
        _check_tag_name_free(conn, body.name, space.num)
        doc = TagDoc(description=body.description, color=body.color)
        tag = insert_object(conn, TAG_KIND, name=body.name, body=doc.to_body(), now=now, space_num=space.num)
        return tag_model(conn, tag)

    return await write_response(request, run, 201)


async def update_tag(request: Request) -> Response:
    engine = engine_of(request)
    body = await read_patch(request, UpdateTagRequest, clearable=frozenset({"description", "color"}))

    def run(conn: sqlite3.Connection) -> Tag:
        tag = require_tag(conn, request.path_params["tag_id"])
        if body.name is not None:
            _check_tag_name_free(conn, body.name, tag.space_num, tag.num)
        doc = document(tag, TagDoc)
        doc.copy_sent(body, "description", "color")
        return tag_model(conn, update_document(conn, tag, doc, now=engine.now(), name=body.name))

    return await write_response(request, run)


def _delete_tag(conn: sqlite3.Connection, tag: StoredObject, now: str) -> None:
    prompts, _ = list_objects(conn, PROMPT_KIND, limit=ALL_ROWS, space_nums=[tag.space_num or 0])
    for prompt in prompts:
        doc = document(prompt, PromptDoc)
        if tag.num in (doc.tag_nums or []):
            doc.tag_nums = [num for num in doc.tag_nums or [] if num != tag.num]
            update_document(conn, prompt, doc, now=now)
    delete_object(conn, tag)


async def delete_tag(request: Request) -> Response:
    now = engine_of(request).now()

    def remove(conn: sqlite3.Connection, tag: StoredObject) -> None:
        _delete_tag(conn, tag, now)

    return await delete_response(request, request.path_params["tag_id"], require_tag, remove)


routes = [
    Route("/v2/tags", create_tag, methods=["POST"]),
    Route("/v2/tags/{tag_id}", update_tag, methods=["PATCH"]),
    Route("/v2/tags/{tag_id}", delete_tag, methods=["DELETE"]),
]
