"""``/v2/prompts`` and ``/v2/prompt-versions``: versioned prompts, their labels and tags.

A prompt is a ``Prompt`` object (name unique in its space, fixed at creation); each version is a
``PromptVersion`` object whose parent is the prompt, immutable once created. The latest version is the one with
the highest number. Labels live in the prompt's document (``PromptDoc.labels``: label name → version number), so
a label names exactly one version of its prompt and setting it on another version moves it; tags live there too
(``tag_nums``, see ``routes/tags.py``). Every write to a prompt, its versions, labels or tags moves the prompt's
``updated_at``, which the official SDK caches by. Deleting a prompt deletes its versions.
"""

from __future__ import annotations

import sqlite3
from typing import Any

from starlette.requests import Request
from starlette.responses import Response
from starlette.routing import Route

from ....errors import ProblemError
from ....models.prompts import (
    DEFAULT_INPUT_VARIABLE_FORMAT,
    CreatePromptRequest,
    CreatePromptVersionRequest,
    Prompt,
    PromptVersion,
    PromptWithVersion,
    SetPromptVersionLabelsRequest,
    UpdatePromptRequest,
)
from ....models.tags import AddTagsRequest, RemoveTagsRequest, RemoveTagsResponse, Tag
from ...store.annotations import LOCAL_ANNOTATOR
from ...store.documents import PromptDoc, PromptVersionDoc
from ...store.objects import (
    StoredObject,
    check_name_free,
    commit_hash,
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
from ..http import empty_response, query_str, read_body, read_patch
from ..object_routes import (
    children_page_response,
    delete_route,
    read_response,
    resource_routes,
    space_objects_response,
    write_response,
)
from .tags import attach_tags, detach_tags, tag_list, tag_list_response

__all__ = ["PROMPT_KIND", "PROMPT_VERSION_KIND", "require_prompt", "require_prompt_version", "routes"]

PROMPT_KIND = "Prompt"
PROMPT_VERSION_KIND = "PromptVersion"
ALL_ROWS = 1_000_000


def require_prompt(conn: sqlite3.Connection, prompt_id: str) -> StoredObject:
    """Load a prompt by global ID or raise a 404 problem."""
    return require_object(conn, PROMPT_KIND, prompt_id, label="prompt")


def require_prompt_version(conn: sqlite3.Connection, version_id: str) -> tuple[StoredObject, StoredObject]:
    """Load a prompt version by global ID, with its prompt, or raise a 404 problem."""
    version = require_object(conn, PROMPT_VERSION_KIND, version_id, label="prompt version")
    prompt = get_object(conn, PROMPT_KIND, version.parent_num) if version.parent_num is not None else None
    if prompt is None:
        raise ProblemError(404, f"prompt version '{version_id}' was not found")
    return version, prompt


def _latest_version(conn: sqlite3.Connection, prompt: StoredObject) -> StoredObject | None:
    versions, _ = list_objects(conn, PROMPT_VERSION_KIND, limit=1, parent_num=prompt.num)
    return versions[0] if versions else None


def _prompt_model(conn: sqlite3.Connection, prompt: StoredObject, doc: PromptDoc | None = None) -> Prompt:
    doc = doc if doc is not None else document(prompt, PromptDoc)
    return Prompt(
        id=prompt.id,
        name=prompt.name or "",
        description=doc.description,
        space_id=space_id_of(conn, prompt.space_num),
        created_at=prompt.created,
        updated_at=prompt.updated,
        created_by_user_id=doc.created_by_user_id,
    )


def _version_model(version: StoredObject, prompt: StoredObject, prompt_doc: PromptDoc) -> PromptVersion:
    doc = document(version, PromptVersionDoc)
    return PromptVersion.model_validate(
        {
            "id": version.id,
            "prompt_id": prompt.id,
            "commit_hash": doc.commit_hash,
            "commit_message": doc.commit_message,
            "messages": doc.messages or [],
            "input_variable_format": doc.input_variable_format,
            "provider": doc.provider,
            "model": doc.model,
            "invocation_params": doc.invocation_params,
            "provider_params": doc.provider_params,
            "created_at": version.created,
            "created_by_user_id": doc.created_by_user_id,
            "labels": prompt_doc.labels_of(version.num),
        }
    )


def _version_wire(version: StoredObject, prompt: StoredObject, prompt_doc: PromptDoc | None = None) -> dict[str, Any]:
    doc = prompt_doc if prompt_doc is not None else document(prompt, PromptDoc)
    return _version_model(version, prompt, doc).to_wire()


def _with_version_wire(conn: sqlite3.Connection, prompt: StoredObject, version: StoredObject | None) -> dict[str, Any]:
    doc = document(prompt, PromptDoc)
    base = _prompt_model(conn, prompt, doc)
    resolved = _version_model(version, prompt, doc) if version is not None else None
    return PromptWithVersion(**base.model_dump(), version=resolved).to_wire()


def _insert_version(
    conn: sqlite3.Connection, prompt: StoredObject, body: CreatePromptVersionRequest, now: str
) -> StoredObject:
    doc = PromptVersionDoc(
        commit_message=body.commit_message,
        input_variable_format=body.input_variable_format or DEFAULT_INPUT_VARIABLE_FORMAT,
        provider=body.provider,
        model=body.model,
        messages=[message.to_body() for message in body.messages],
        invocation_params=body.invocation_params.to_body() if body.invocation_params is not None else None,
        provider_params=body.provider_params.to_body() if body.provider_params is not None else None,
        created_by_user_id=LOCAL_ANNOTATOR["id"],
    )
    version = insert_object(
        conn, PROMPT_VERSION_KIND, body=doc.to_body(), now=now, space_num=prompt.space_num, parent_num=prompt.num
    )
    # A commit hash names the version: its content, prompt, position and time.
    doc.commit_hash = commit_hash({"prompt": prompt.id, "version": version.id, "content": doc.to_body(), "at": now})
    return update_document(conn, version, doc, now=now)


async def list_prompts(request: Request) -> Response:
    return await space_objects_response(
        request, PROMPT_KIND, "prompts", scope="prompts", render=_prompt_model, by_updated=True
    )


async def create_prompt(request: Request) -> Response:
    engine = engine_of(request)
    body = await read_body(request, CreatePromptRequest)
    now = engine.now()

    def run(conn: sqlite3.Connection) -> dict[str, Any]:
        space = engine.require_space(conn, body.space_id)
        check_name_free(conn, PROMPT_KIND, body.name, label="a prompt", space_num=space.num)
        doc = PromptDoc(description=body.description, created_by_user_id=LOCAL_ANNOTATOR["id"], labels={})
        prompt = insert_object(conn, PROMPT_KIND, name=body.name, body=doc.to_body(), now=now, space_num=space.num)
        version = _insert_version(conn, prompt, body.version, now)
        return _with_version_wire(conn, prompt, version)

    return await write_response(request, run, 201)


async def get_prompt(request: Request) -> Response:
    version_id = query_str(request, "version_id", max_length=1000)
    label = query_str(request, "label")
    if version_id is not None and label is not None:
        raise ProblemError(400, "give version_id or label, not both")

    def run(conn: sqlite3.Connection) -> dict[str, Any]:
        prompt = require_prompt(conn, request.path_params["prompt_id"])
        if label is not None:
            return _with_version_wire(conn, prompt, _labelled_version(conn, prompt, label))
        if version_id is None:
            return _with_version_wire(conn, prompt, _latest_version(conn, prompt))
        version, owner = require_prompt_version(conn, version_id)
        if owner.num != prompt.num:
            raise ProblemError(404, f"prompt version '{version_id}' is not a version of prompt '{prompt.name}'")
        return _with_version_wire(conn, prompt, version)

    return await read_response(request, run)


async def update_prompt(request: Request) -> Response:
    engine = engine_of(request)
    body = await read_patch(request, UpdatePromptRequest, clearable=frozenset({"description"}))

    def run(conn: sqlite3.Connection) -> Prompt:
        prompt = require_prompt(conn, request.path_params["prompt_id"])
        doc = document(prompt, PromptDoc)
        doc.copy_sent(body, "description")
        return _prompt_model(conn, update_document(conn, prompt, doc, now=engine.now()), doc)

    return await write_response(request, run)


def _delete_prompt(conn: sqlite3.Connection, prompt: StoredObject) -> None:
    versions, _ = list_objects(conn, PROMPT_VERSION_KIND, limit=ALL_ROWS, parent_num=prompt.num)
    for version in versions:
        delete_object(conn, version)
    delete_object(conn, prompt)


delete_prompt = delete_route("prompt_id", require_prompt, _delete_prompt)


async def create_version(request: Request) -> Response:
    engine = engine_of(request)
    body = await read_body(request, CreatePromptVersionRequest)
    now = engine.now()

    def run(conn: sqlite3.Connection) -> dict[str, Any]:
        prompt = require_prompt(conn, request.path_params["prompt_id"])
        version = _insert_version(conn, prompt, body, now)
        doc = document(prompt, PromptDoc)
        return _version_wire(version, update_document(conn, prompt, doc, now=now), doc)

    return await write_response(request, run, 201)


async def list_versions(request: Request) -> Response:
    return await children_page_response(
        request,
        "prompt_versions",
        parent_param="prompt_id",
        require_parent=require_prompt,
        kind=PROMPT_VERSION_KIND,
        render=_version_wire,
    )


async def get_version(request: Request) -> Response:
    def run(conn: sqlite3.Connection) -> dict[str, Any]:
        version, prompt = require_prompt_version(conn, request.path_params["version_id"])
        return _version_wire(version, prompt)

    return await read_response(request, run)


def _labelled_version(conn: sqlite3.Connection, prompt: StoredObject, label: str) -> StoredObject:
    num = (document(prompt, PromptDoc).labels or {}).get(label)
    version = get_object(conn, PROMPT_VERSION_KIND, num) if num is not None else None
    if version is None:
        raise ProblemError(404, f"prompt '{prompt.name}' has no label '{label}' (labels are case-sensitive)")
    return version


async def get_label(request: Request) -> Response:
    def run(conn: sqlite3.Connection) -> dict[str, Any]:
        prompt = require_prompt(conn, request.path_params["prompt_id"])
        return _version_wire(_labelled_version(conn, prompt, request.path_params["label_name"]), prompt)

    return await read_response(request, run)


async def set_labels(request: Request) -> Response:
    engine = engine_of(request)
    body = await read_body(request, SetPromptVersionLabelsRequest)
    now = engine.now()

    def run(conn: sqlite3.Connection) -> dict[str, Any]:
        version, prompt = require_prompt_version(conn, request.path_params["version_id"])
        doc = document(prompt, PromptDoc)
        # The version's labels are replaced; a requested label naming another version moves here.
        labels = {name: num for name, num in (doc.labels or {}).items() if num != version.num}
        labels.update(dict.fromkeys(body.labels, version.num))
        doc.labels = labels
        return _version_wire(version, update_document(conn, prompt, doc, now=now), doc)

    return await write_response(request, run)


async def delete_label(request: Request) -> Response:
    engine = engine_of(request)
    label = request.path_params["label_name"]

    def run(conn: sqlite3.Connection) -> None:
        version, prompt = require_prompt_version(conn, request.path_params["version_id"])
        doc = document(prompt, PromptDoc)
        labels = dict(doc.labels or {})
        if labels.get(label) != version.num:
            raise ProblemError(404, f"prompt version '{version.id}' has no label '{label}' (labels are case-sensitive)")
        del labels[label]
        doc.labels = labels
        update_document(conn, prompt, doc, now=engine.now())

    await engine.store.write(run)
    return empty_response()


async def list_tags(request: Request) -> Response:
    def run(conn: sqlite3.Connection) -> list[Tag]:
        prompt = require_prompt(conn, request.path_params["prompt_id"])
        return tag_list(conn, document(prompt, PromptDoc))

    return tag_list_response(await engine_of(request).store.read(run))


async def add_tags(request: Request) -> Response:
    engine = engine_of(request)
    body = await read_body(request, AddTagsRequest)

    def run(conn: sqlite3.Connection) -> list[Tag]:
        prompt = require_prompt(conn, request.path_params["prompt_id"])
        doc = document(prompt, PromptDoc)
        attach_tags(conn, prompt, doc, body.tag_ids)
        update_document(conn, prompt, doc, now=engine.now())
        return tag_list(conn, doc)

    return tag_list_response(await engine.store.write(run))


async def remove_tags(request: Request) -> Response:
    engine = engine_of(request)
    body = await read_body(request, RemoveTagsRequest)

    def run(conn: sqlite3.Connection) -> RemoveTagsResponse:
        prompt = require_prompt(conn, request.path_params["prompt_id"])
        doc = document(prompt, PromptDoc)
        removed = detach_tags(conn, doc, body.tag_ids)
        update_document(conn, prompt, doc, now=engine.now())
        return removed

    return await write_response(request, run)


routes = [
    *resource_routes("/v2/prompts", "prompt_id", list_prompts, create_prompt, get_prompt, update_prompt, delete_prompt),
    Route("/v2/prompts/{prompt_id}/versions", list_versions, methods=["GET"]),
    Route("/v2/prompts/{prompt_id}/versions", create_version, methods=["POST"]),
    Route("/v2/prompts/{prompt_id}/labels/{label_name:path}", get_label, methods=["GET"]),
    Route("/v2/prompts/{prompt_id}/tags", list_tags, methods=["GET"]),
    Route("/v2/prompts/{prompt_id}/tags", add_tags, methods=["POST"]),
    Route("/v2/prompts/{prompt_id}/tags", remove_tags, methods=["DELETE"]),
    Route("/v2/prompt-versions/{version_id}", get_version, methods=["GET"]),
    Route("/v2/prompt-versions/{version_id}/labels", set_labels, methods=["PUT"]),
    Route("/v2/prompt-versions/{version_id}/labels/{label_name:path}", delete_label, methods=["DELETE"]),
]
