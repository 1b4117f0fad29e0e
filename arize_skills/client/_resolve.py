"""Name → ID resolution, as the official SDK does it.

A value that decodes as a global ID is used as is. A name is looked up with the server's case-insensitive
substring filter (``name=``) and then matched on our side, paging through every page the server returns: an exact
match wins; failing that, a match that differs only in case is taken when it is the only one (several raise
``AmbiguousNameError`` listing them). Spaces: every exact match is collected, and several raise
``AmbiguousNameError``. Other resources need a space (their names are unique inside one).

When nothing matches, ``NameNotFoundError.suggestions`` holds up to five of the closest names of that kind
(from the first pages of an unfiltered listing), so the error can say "did you mean ...".
"""

from __future__ import annotations

import difflib
from collections.abc import AsyncIterator
from typing import TYPE_CHECKING, Any, Protocol

from ..errors import AmbiguousNameError, NameNotFoundError
from ..models.ids import is_resource_id

if TYPE_CHECKING:
    from ._http import HttpCore

__all__ = ["RESOURCE_LISTS", "Resolver", "ResolverClient"]

RESOURCE_LISTS: dict[str, tuple[str, str]] = {
    "project": ("/v2/projects", "projects"),
    "dataset": ("/v2/datasets", "datasets"),
    "task": ("/v2/tasks", "tasks"),
    "evaluator": ("/v2/evaluators", "evaluators"),
    "ai_integration": ("/v2/ai-integrations", "ai_integrations"),
    "annotation_config": ("/v2/annotation-configs", "annotation_configs"),
    "annotation_queue": ("/v2/annotation-queues", "annotation_queues"),
    "prompt": ("/v2/prompts", "prompts"),
}

PAGE = 100
SUGGESTION_PAGES = 5
"""How many pages of names are read to suggest the closest ones when a name is not found."""
MAX_SUGGESTIONS = 5


def closest_names(value: str, names: list[str]) -> list[str]:
    """Up to five of ``names`` closest to ``value`` (case-insensitive similarity), best first."""
    by_folded: dict[str, str] = {}
    for name in names:
        by_folded.setdefault(name.casefold(), name)
    close = difflib.get_close_matches(value.casefold(), list(by_folded), n=MAX_SUGGESTIONS, cutoff=0.4)
    containing = [f for f in by_folded if value.casefold() in f or f in value.casefold()]
    ordered = list(dict.fromkeys([*close, *containing]))[:MAX_SUGGESTIONS]
    return [by_folded[f] for f in ordered]


class ResolverClient(Protocol):
    """What a ``Resolver`` uses of its client (``AsyncArizeClient``), so this module need not import it."""

    @property
    def space(self) -> str | None: ...

    @property
    def _core(self) -> HttpCore: ...


def _named(items: list[Any], value: str) -> list[Any]:
    """The items named ``value`` exactly, else those named ``value`` but for case."""
    return [item for item in items if item.get("name") == value] or [
        item for item in items if str(item.get("name", "")).casefold() == value.casefold()
    ]


class Resolver:
    """Resolves names to IDs for one client."""

    def __init__(self, client: ResolverClient) -> None:
        self._client = client

    async def _walk(
        self, path: str, key: str, params: dict[str, Any], *, pages: int | None = None
    ) -> AsyncIterator[Any]:
        """Every item of the listing (or of its first ``pages`` pages)."""
        cursor: str | None = None
        read = 0
        while pages is None or read < pages:
            read += 1
            query = {**params, "limit": PAGE, **({"cursor": cursor} if cursor else {})}
            data = await self._client._core.request("GET", path, params=query)
            for item in data.get(key, []):
                yield item
            pagination = data.get("pagination") or {}
            cursor = pagination.get("next_cursor")
            if not pagination.get("has_more") or not cursor:
                return

    async def _suggestable_names(self, path: str, key: str, params: dict[str, Any]) -> list[str]:
        """The names of the listing's first pages, to suggest from when a name is not found."""
        return [str(item["name"]) async for item in self._walk(path, key, params, pages=SUGGESTION_PAGES)]

    async def _match(self, kind: str, path: str, key: str, params: dict[str, Any], value: str) -> str:
        """The ID of the one item named ``value`` (exactly, else but for case) among the listing's items."""
        return str((await self._matching_item(kind, path, key, params, value))["id"])

    async def _matching_item(self, kind: str, path: str, key: str, params: dict[str, Any], value: str) -> Any:
        """The one item named ``value`` (exactly, else but for case) among the listing's items, as listed."""
        folded: list[Any] = []
        async for item in self._walk(path, key, {**params, "name": value}):
            name = item.get("name")
            if name == value:
                return item
            if isinstance(name, str) and name.casefold() == value.casefold():
                folded.append(item)
        label = kind.replace("_", " ")
        if len(folded) == 1:
            return folded[0]
        if folded:
            candidates = [(str(m["id"]), str(m["name"])) for m in folded]
            raise AmbiguousNameError(
                f"{len(folded)} {label}s are named {value!r} but for case: "
                + ", ".join(f"{n!r} ({i})" for i, n in candidates),
                kind=kind,
                name=value,
                candidates=candidates,
            )
        unfiltered = {k: v for k, v in params.items() if k != "name"}
        names = await self._suggestable_names(path, key, unfiltered)
        where = " ".join(f"{k.removesuffix('_id')} {v}" for k, v in unfiltered.items())
        raise NameNotFoundError(
            f"no {label} is named {value!r} in {where}",
            kind=kind,
            name=value,
            suggestions=closest_names(value, names),
        )

    async def _sole_named(
        self,
        kind: str,
        path: str,
        params: dict[str, Any],
        value: str,
        *,
        owner: str,
        where: str,
        choose: str,
        list_candidates: bool = True,
    ) -> str:
        """The ID of the one ``kind`` named ``value`` where names may repeat across ``owner``s (exactly, else but
        for case); the listing's key is ``kind`` + "s", and ``choose`` tells how to pick among several."""
        key = f"{kind}s"
        listed = [item async for item in self._walk(path, key, {**params, "name": value})]
        matches = _named(listed, value)
        if not matches:
            names = await self._suggestable_names(path, key, params)
            raise NameNotFoundError(
                f"no {kind} is named {value!r}{where}", kind=kind, name=value, suggestions=closest_names(value, names)
            )
        if len(matches) > 1:
            candidates = [(m["id"], f"{owner} {m.get(f'{owner}_id')}") for m in matches]
            described = ": " + ", ".join(f"{i} ({d})" for i, d in candidates) if list_candidates else ""
            raise AmbiguousNameError(
                f"{len(matches)} {kind}s are named {value!r}{described}; {choose}",
                kind=kind,
                name=value,
                candidates=candidates,
            )
        return str(matches[0]["id"])

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
        return await self._sole_named(
            "space", "/v2/spaces", {}, value, owner="organization", where="", choose="pass the space ID instead"
        )

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
        return await self._match(kind, path, key, {"space_id": space_id}, value)

    async def named(self, kind: str, value: str, *, space: str | None = None) -> dict[str, Any]:
        """The listed item of the ``kind`` resource named ``value`` (a name, not an ID), read from the name listing
        itself, so it costs no request beyond the look-up.

        Raises:
            NameNotFoundError: nothing of this kind has exactly this name in the space, or no space is known.
        """
        if kind not in RESOURCE_LISTS:
            raise ValueError(f"cannot resolve names of kind {kind!r}: use one of {', '.join(RESOURCE_LISTS)}")
        path, key = RESOURCE_LISTS[kind]
        space_id = await self.space_id(space)
        item = await self._matching_item(kind, path, key, {"space_id": space_id}, value)
        return dict(item)

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
            return await self._match("experiment", "/v2/experiments", "experiments", {"dataset_id": dataset_id}, value)
        space_id = await self.space_id(space)
        return await self._sole_named(
            "experiment",
            "/v2/experiments",
            {"space_id": space_id},
            value,
            owner="dataset",
            where=f" in space {space_id}",
            choose="pass dataset= or the experiment ID",
            list_candidates=False,
        )
