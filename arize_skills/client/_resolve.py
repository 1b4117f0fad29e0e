"""Name → ID resolution, as the official SDK does it.

A value that decodes as a global ID is used as is. A name is looked up with the server's case-insensitive
substring filter (``name=``) and then matched *exactly* on our side, paging through every page the server
returns. Spaces: every exact match is collected, and several raise ``AmbiguousNameError`` listing them. Other
resources need a space (their names are unique inside one) and take the first exact match.
"""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

from ..errors import AmbiguousNameError, NameNotFoundError
from ..models.ids import is_resource_id

if TYPE_CHECKING:
    from ._client import AsyncArizeClient

__all__ = ["RESOURCE_LISTS", "Resolver"]

RESOURCE_LISTS: dict[str, tuple[str, str]] = {
    "project": ("/v2/projects", "projects"),
    "dataset": ("/v2/datasets", "datasets"),
    "task": ("/v2/tasks", "tasks"),
    "evaluator": ("/v2/evaluators", "evaluators"),
    "ai_integration": ("/v2/ai-integrations", "ai_integrations"),
    "annotation_config": ("/v2/annotation-configs", "annotation_configs"),
}

PAGE = 100


class Resolver:
    """Resolves names to IDs for one client."""

    def __init__(self, client: AsyncArizeClient) -> None:
        self._client = client

    async def _walk(self, path: str, key: str, params: dict[str, Any]) -> Any:
        cursor: str | None = None
        while True:
            query = {**params, "limit": PAGE, **({"cursor": cursor} if cursor else {})}
            data = await self._client._core.request("GET", path, params=query)
            for item in data.get(key, []):
                yield item
            pagination = data.get("pagination") or {}
            cursor = pagination.get("next_cursor")
            if not pagination.get("has_more") or not cursor:
                return

    async def space_id(self, space: str | None = None) -> str:
        """The ID of ``space`` (a name or an ID), or of the client's default space.

        Raises:
            NameNotFoundError: no space given and no default, or no space has exactly this name.
            AmbiguousNameError: several spaces (in different organizations) have this name.
        """
        value = space or self._client.space
        if not value:
            raise NameNotFoundError(
                "no space given: pass space= (a name or an ID) or set ARIZE_SPACE_ID / ARIZE_SPACE",
                kind="space",
                name="",
            )
        if is_resource_id(value):
            return value
        matches = [item async for item in self._walk("/v2/spaces", "spaces", {"name": value}) if item["name"] == value]
        if not matches:
            raise NameNotFoundError(f"no space is named exactly {value!r}", kind="space", name=value)
        if len(matches) > 1:
            candidates = [(m["id"], f"organization {m.get('organization_id')}") for m in matches]
            listed = ", ".join(f"{i} ({d})" for i, d in candidates)
            raise AmbiguousNameError(
                f"{len(matches)} spaces are named {value!r}: {listed}; pass the space ID instead",
                kind="space",
                name=value,
                candidates=candidates,
            )
        return str(matches[0]["id"])

    async def id_of(self, kind: str, value: str, *, space: str | None = None) -> str:
        """The ID of the ``kind`` resource named ``value`` (or ``value`` itself when it is an ID).

        Raises:
            NameNotFoundError: nothing of this kind has exactly this name in the space, or no space is known.
        """
        if kind not in RESOURCE_LISTS:
            raise ValueError(f"cannot resolve names of kind {kind!r}: use one of {', '.join(RESOURCE_LISTS)}")
        if is_resource_id(value):
            return value
        path, key = RESOURCE_LISTS[kind]
        space_id = await self.space_id(space)
        async for item in self._walk(path, key, {"space_id": space_id, "name": value}):
            if item.get("name") == value:
                return str(item["id"])
        label = kind.replace("_", " ")
        raise NameNotFoundError(f"no {label} is named exactly {value!r} in space {space_id}", kind=kind, name=value)

    async def experiment_id(self, value: str, *, dataset: str | None = None, space: str | None = None) -> str:
        """The ID of an experiment by name: inside a dataset when given, else across the space.

        Raises:
            NameNotFoundError: no experiment of that name.
            AmbiguousNameError: without a dataset, several experiments in the space share the name.
        """
        if is_resource_id(value):
            return value
        if dataset is not None:
            dataset_id = await self.id_of("dataset", dataset, space=space)
            async for item in self._walk("/v2/experiments", "experiments", {"dataset_id": dataset_id}):
                if item.get("name") == value:
                    return str(item["id"])
            raise NameNotFoundError(
                f"no experiment is named exactly {value!r} in dataset {dataset_id}", kind="experiment", name=value
            )
        space_id = await self.space_id(space)
        matches = [
            item
            async for item in self._walk("/v2/experiments", "experiments", {"space_id": space_id, "name": value})
            if item.get("name") == value
        ]
        if not matches:
            raise NameNotFoundError(
                f"no experiment is named exactly {value!r} in space {space_id}", kind="experiment", name=value
            )
        if len(matches) > 1:
            candidates = [(m["id"], f"dataset {m.get('dataset_id')}") for m in matches]
            raise AmbiguousNameError(
                f"{len(matches)} experiments are named {value!r}; pass dataset= or the experiment ID",
                kind="experiment",
                name=value,
                candidates=candidates,
            )
        return str(matches[0]["id"])
