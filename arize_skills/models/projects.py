"""Projects (``/v2/projects``). A project's global ID has the type ``Model``."""

from __future__ import annotations

from typing import Literal

from ._base import Name, Pagination, RequestModel, ResponseModel, Timestamp

__all__ = ["CreateProjectRequest", "Project", "ProjectList", "ProjectType", "UpdateProjectRequest"]

ProjectType = Literal["APPLICATION", "HARNESS", "EXPERIMENT"]


class Project(ResponseModel):
    """A tracing project: the span store a task evaluates."""

    id: str
    name: str
    space_id: str
    created_at: Timestamp
    project_type: ProjectType | None = None


class ProjectList(ResponseModel):
    """``GET /v2/projects``."""

    projects: list[Project]
    pagination: Pagination


class CreateProjectRequest(RequestModel):
    """``POST /v2/projects``."""

    name: Name
    space_id: str


class UpdateProjectRequest(RequestModel):
    """``PATCH /v2/projects/{id}``."""

    name: Name
