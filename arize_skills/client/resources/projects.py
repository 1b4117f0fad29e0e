"""``client.projects``."""

from __future__ import annotations

from ...models.ids import is_resource_id
from ...models.projects import CreateProjectRequest, Project, ProjectType, UpdateProjectRequest
from .._paginator import AsyncPaginator
from .._resource import Resource

__all__ = ["Projects", "space_params"]


def space_params(space: str | None) -> dict[str, str]:
    """List parameters for a space given as an ID (``space_id``) or a name (``space_name``, substring)."""
    if space is None:
        return {}
    return {"space_id": space} if is_resource_id(space) else {"space_name": space}


class Projects(Resource):
    """Tracing projects: list, get, create, update, delete."""

    def list(
        self,
        *,
        space: str | None = None,
        name: str | None = None,
        project_type: ProjectType | None = None,
        limit: int = 50,
    ) -> AsyncPaginator[Project]:
        """Projects, optionally in one space (ID, or name as a substring filter) and by name substring."""
        params = {**space_params(space or self._client.space), "name": name, "project_type": project_type}
        return self._paginate("/v2/projects", "projects", Project, params={**params, "limit": limit})

    async def get(self, project: str, *, space: str | None = None) -> Project:
        """One project, by ID or exact name (names need a space); one request either way once the space is known."""
        if is_resource_id(project):
            return await self._get_model(Project, f"/v2/projects/{project}")
        return Project.model_validate(await self._client.resolve.named("project", project, space=space))

    async def create(self, name: str, *, space: str | None = None) -> Project:
        """Create a project in a space."""
        space_id = await self._client.resolve.space_id(space)
        body = CreateProjectRequest(name=name, space_id=space_id).to_body()
        return Project.model_validate(await self._request("POST", "/v2/projects", body=body))

    async def update(self, project: str, *, name: str, space: str | None = None) -> Project:
        """Rename a project."""
        project_id = await self._client.resolve.id_of("project", project, space=space)
        body = UpdateProjectRequest(name=name).to_body()
        return Project.model_validate(await self._request("PATCH", f"/v2/projects/{project_id}", body=body))

    async def delete(self, project: str, *, space: str | None = None) -> None:
        """Delete a project and its spans."""
        project_id = await self._client.resolve.id_of("project", project, space=space)
        await self._request("DELETE", f"/v2/projects/{project_id}")
