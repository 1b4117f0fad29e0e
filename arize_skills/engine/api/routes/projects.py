"""``/v2/projects``. A project's global ID has the type ``Model``, as on AX."""

from __future__ import annotations

import sqlite3
from typing import Any

from starlette.requests import Request
from starlette.responses import Response
from starlette.routing import Route

from ....errors import ProblemError
from ....models.projects import CreateProjectRequest, Project, UpdateProjectRequest
from ...store.documents import ProjectDoc
from ...store.objects import (
    StoredObject,
    check_name_free,
    delete_object,
    document,
    insert_object,
    list_objects,
    require_object,
    space_id_of,
)
from ..context import engine_of
from ..http import json_response, query_str, read_body, read_limit
from ..object_routes import delete_response, object_page_response, object_response, rename_response, space_list_params

__all__ = ["PROJECT_KIND", "project_model", "require_project", "routes"]

PROJECT_KIND = "Model"
PROJECT_TYPES = ("APPLICATION", "HARNESS", "EXPERIMENT")


def require_project(conn: sqlite3.Connection, project_id: str) -> StoredObject:
    """Load a project by global ID or raise a 404 problem."""
    return require_object(conn, PROJECT_KIND, project_id, label="project")


def project_model(conn: sqlite3.Connection, project: StoredObject, space_id: str | None = None) -> Project:
    """The wire shape of a stored project."""
    return Project(
        id=project.id,
        name=project.name or "",
        space_id=space_id or space_id_of(conn, project.space_num),
        created_at=project.created,
        project_type=document(project, ProjectDoc).project_type,
    )


async def list_projects(request: Request) -> Response:
    engine = engine_of(request)
    limit = read_limit(request)
    space_id, space_name, name = space_list_params(request)
    project_type = query_str(request, "project_type")
    if project_type is not None and project_type not in PROJECT_TYPES:
        raise ProblemError(400, f"project_type must be one of {', '.join(PROJECT_TYPES)}, got {project_type!r}")
    where: list[tuple[str, Any]] = []
    if project_type is not None:
        where.append(("json_extract(body, '$.project_type') = ?", project_type))

    def fetch(conn: sqlite3.Connection, after: Any) -> tuple[list[StoredObject], bool]:
        space_nums = engine.space_scope(conn, space_id, space_name)
        return list_objects(
            conn, PROJECT_KIND, limit=limit, after=after, space_nums=space_nums, name_contains=name, where=where
        )

    scope = f"projects|{space_id}|{space_name}|{name}|{project_type}"
    return await object_page_response(request, "projects", scope=scope, fetch=fetch, render=project_model)


async def get_project(request: Request) -> Response:
    return await object_response(request, request.path_params["project_id"], require_project, project_model)


async def create_project(request: Request) -> Response:
    engine = engine_of(request)
    body = await read_body(request, CreateProjectRequest)

    def run(conn: sqlite3.Connection) -> Project:
        space = engine.require_space(conn, body.space_id)
        check_name_free(conn, PROJECT_KIND, body.name, label="a project", space_num=space.num)
        doc = ProjectDoc(project_type="APPLICATION")
        project = insert_object(
            conn, PROJECT_KIND, name=body.name, body=doc.to_body(), now=engine.now(), space_num=space.num
        )
        return project_model(conn, project, space.id)

    return json_response(await engine.store.write(run), 201)


async def update_project(request: Request) -> Response:
    body = await read_body(request, UpdateProjectRequest)
    return await rename_response(
        request,
        request.path_params["project_id"],
        body.name,
        require_project,
        project_model,
        kind=PROJECT_KIND,
        label="a project",
    )


def _delete_project(conn: sqlite3.Connection, project: StoredObject) -> None:
    keys = [f"{project.num}:%"]
    conn.execute("DELETE FROM evaluations WHERE target_kind = 'span' AND target_key LIKE ?", keys)
    conn.execute("DELETE FROM annotations WHERE target_kind = 'span' AND target_key LIKE ?", keys)
    conn.execute("DELETE FROM spans WHERE project_num = ?", (project.num,))
    delete_object(conn, project)


async def delete_project(request: Request) -> Response:
    return await delete_response(request, request.path_params["project_id"], require_project, _delete_project)


routes = [
    Route("/v2/projects", list_projects, methods=["GET"]),
    Route("/v2/projects", create_project, methods=["POST"]),
    Route("/v2/projects/{project_id}", get_project, methods=["GET"]),
    Route("/v2/projects/{project_id}", update_project, methods=["PATCH"]),
    Route("/v2/projects/{project_id}", delete_project, methods=["DELETE"]),
]
