"""``/v2/projects``. A project's global ID has the type ``Model``, as on AX."""

from __future__ import annotations

import sqlite3
from typing import Any

from starlette.requests import Request
from starlette.responses import Response

from ....errors import ProblemError
from ....models.projects import CreateProjectRequest, Project, UpdateProjectRequest
from ...store.documents import ProjectDoc
from ...store.objects import (
    StoredObject,
    check_name_free,
    delete_object,
    document,
    insert_object,
    require_object,
    space_id_of,
)
from ...store.spans import delete_project_spans
from ..context import engine_of
from ..http import query_str, read_body, read_limit
from ..object_routes import (
    delete_route,
    object_route,
    rename_route,
    resource_routes,
    space_list_params,
    space_objects_response,
    write_response,
)

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
    limit, spaces = read_limit(request), space_list_params(request)
    project_type = query_str(request, "project_type")
    if project_type is not None and project_type not in PROJECT_TYPES:
        raise ProblemError(400, f"project_type must be one of {', '.join(PROJECT_TYPES)}, got {project_type!r}")
    where: list[tuple[str, Any]] = []
    if project_type is not None:
        where.append(("json_extract(body, '$.project_type') = ?", project_type))
    return await space_objects_response(
        request,
        PROJECT_KIND,
        "projects",
        scope="projects",
        render=project_model,
        limit=limit,
        spaces=spaces,
        where=lambda conn: where,
        scope_params=(project_type,),
    )


get_project = object_route("project_id", require_project, project_model)


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

    return await write_response(request, run, 201)


update_project = rename_route(
    UpdateProjectRequest, "project_id", require_project, project_model, kind=PROJECT_KIND, label="a project"
)


def _delete_project(conn: sqlite3.Connection, project: StoredObject) -> None:
    keys = [f"{project.num}:%"]
    conn.execute("DELETE FROM evaluations WHERE target_kind = 'span' AND target_key LIKE ?", keys)
    conn.execute("DELETE FROM annotations WHERE target_kind = 'span' AND target_key LIKE ?", keys)
    delete_project_spans(conn, project.num)
    delete_object(conn, project)


delete_project = delete_route("project_id", require_project, _delete_project)


routes = resource_routes(
    "/v2/projects", "project_id", list_projects, create_project, get_project, update_project, delete_project
)
