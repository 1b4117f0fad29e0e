"""``client.datasets``: datasets, versions and examples, with uploads of any size.

AX takes at most 1000 examples per request; ``create``, ``append_examples``, ``update_examples``,
``delete_examples`` and ``annotate_examples`` split larger inputs into requests of ≤1000 and return one merged
result. Rows may be a list of mappings or a DataFrame-like object (anything with ``to_dict(orient="records")``);
NumPy scalars become Python values, datetimes ISO strings, and NaN / ±Inf / missing values ``null``.
"""

from __future__ import annotations

import math
from collections.abc import AsyncIterator, Iterable, Mapping, Sequence
from datetime import date, datetime
from typing import Any

from ...foundation.chunks import chunked
from ...models.annotations import AnnotateRecordInput
from ...models.datasets import (
    MAX_EXAMPLES_PER_REQUEST,
    Dataset,
    DatasetExample,
    DatasetVersionWithExampleIds,
    DeleteDatasetExamplesResponse,
    UpdateDatasetRequest,
)
from .._paginator import AsyncPaginator
from .._resource import Resource
from .projects import space_params

__all__ = ["Datasets", "Rows", "annotation_records", "json_records", "json_value"]

EXAMPLE_PAGE = 500
"""The largest page of examples AX serves."""

Rows = Iterable[Mapping[str, Any]] | Any
"""A list of mappings, or a DataFrame-like object with ``to_dict(orient="records")``."""


def json_value(value: Any) -> Any:
    """``value`` as plain JSON data: NumPy/pandas scalars unwrapped, datetimes as ISO text, NaN and NA as None."""
    if value is None or isinstance(value, str | bool | int):
        return value
    if isinstance(value, float):
        return value if math.isfinite(value) else None
    if isinstance(value, Mapping):
        return {str(k): json_value(v) for k, v in value.items()}
    if isinstance(value, list | tuple):
        return [json_value(v) for v in value]
    if isinstance(value, datetime | date):
        return value.isoformat()
    kind = type(value)
    if kind.__name__ in ("NAType", "NaTType"):
        return None
    if kind.__module__.split(".")[0] == "numpy":
        if hasattr(value, "tolist"):
            return json_value(value.tolist())
        if hasattr(value, "item"):
            return json_value(value.item())
    return value


def json_records(rows: Rows) -> list[dict[str, Any]]:
    """Rows as a list of JSON-ready dicts (a DataFrame is read with ``to_dict(orient="records")``)."""
    if hasattr(rows, "to_dict") and not isinstance(rows, Sequence | Mapping):
        rows = rows.to_dict(orient="records")
    records = []
    for index, row in enumerate(rows):
        if not isinstance(row, Mapping):
            raise TypeError(f"row {index} is a {type(row).__name__}, not a mapping of field names to values")
        records.append({str(k): json_value(v) for k, v in row.items()})
    return records


def annotation_records(annotations: Iterable[AnnotateRecordInput | Mapping[str, Any]]) -> list[dict[str, Any]]:
    """Annotation inputs (models or plain dicts, validated here) as request bodies."""
    return [
        (a if isinstance(a, AnnotateRecordInput) else AnnotateRecordInput.model_validate(a)).to_body()
        for a in annotations
    ]


class Datasets(Resource):
    """Datasets: list, get, create (any size), rename, delete; examples: list, append, update, delete, search,
    annotate."""

    async def _id(self, dataset: str, space: str | None) -> str:
        return await self._client.resolve.id_of("dataset", dataset, space=space)

    def list(self, *, space: str | None = None, name: str | None = None, limit: int = 50) -> AsyncPaginator[Dataset]:
        """Datasets (newest first, without versions), in a space (ID, or name as a substring filter)."""
        params = {**space_params(space or self._client.space), "name": name, "limit": limit}
        return self._paginate("/v2/datasets", "datasets", Dataset, params=params)

    async def get(self, dataset: str, *, space: str | None = None) -> Dataset:
        """One dataset with its versions (newest first), by ID or exact name (names need a space)."""
        return await self._get_model(Dataset, f"/v2/datasets/{await self._id(dataset, space)}")

    async def create(self, name: str, examples: Rows, *, space: str | None = None) -> Dataset:
        """Create a dataset from examples of any number: the first 1000 create it, the rest are appended to its
        first version in requests of ≤1000. Returns the dataset as stored at the end (with its versions).

        Not atomic above 1000 examples: if an append fails, the dataset exists with the examples sent so far.
        """
        records = json_records(examples)
        if not records:
            raise ValueError("a dataset needs at least one example")
        space_id = await self._client.resolve.space_id(space)
        first, rest = records[:MAX_EXAMPLES_PER_REQUEST], records[MAX_EXAMPLES_PER_REQUEST:]
        body = {"name": name, "space_id": space_id, "examples": first}
        created = Dataset.model_validate(await self._request("POST", "/v2/datasets", body=body))
        if not rest:
            return created
        version = created.versions[0].id if created.versions else None
        await self._append(created.id, rest, version)
        return await self.get(created.id)

    async def update(self, dataset: str, *, name: str, space: str | None = None) -> Dataset:
        """Rename a dataset."""
        body = UpdateDatasetRequest(name=name).to_body()
        data = await self._request("PATCH", f"/v2/datasets/{await self._id(dataset, space)}", body=body)
        return Dataset.model_validate(data)

    async def delete(self, dataset: str, *, space: str | None = None) -> None:
        """Delete a dataset with its versions, examples and experiments."""
        await self._request("DELETE", f"/v2/datasets/{await self._id(dataset, space)}")

    def list_examples(
        self, dataset: str, *, version: str | None = None, space: str | None = None, limit: int = 50
    ) -> AsyncPaginator[DatasetExample]:
        """Examples of a version (default: the latest) in insertion order; ``limit`` is the page size (≤500)."""

        async def path() -> str:
            return f"/v2/datasets/{await self._id(dataset, space)}/examples"

        params = {"dataset_version_id": version, "limit": limit}
        return self._paginate(path, "examples", DatasetExample, params=params)

    async def example_ids(
        self, dataset: str, *, version: str | None = None, space: str | None = None
    ) -> AsyncIterator[tuple[str, ...]]:
        """The IDs of a version's examples (default: the latest) in insertion order, a page of up to 500 at a time,
        read straight from the responses (no example model is built: for callers that need only the IDs)."""
        path = f"/v2/datasets/{await self._id(dataset, space)}/examples"
        cursor: str | None = None
        while True:
            params = {"dataset_version_id": version, "limit": EXAMPLE_PAGE, "cursor": cursor}
            data = await self._request("GET", path, params=params, idempotent=True)
            yield tuple(item["id"] for item in data.get("examples", []))
            pagination = data.get("pagination") or {}
            cursor = pagination.get("next_cursor") if pagination.get("has_more") else None
            if cursor is None:
                return

    def search_examples(
        self,
        dataset: str,
        *,
        filter: str | None = None,
        version: str | None = None,
        space: str | None = None,
        limit: int = 50,
    ) -> AsyncPaginator[DatasetExample]:
        """Examples matching a filter such as ``"topic = 'math' AND annotation.quality.label = 'good'"``.

        A blank filter is dropped (every example matches), as the official SDK does.
        """

        async def path() -> str:
            return f"/v2/datasets/{await self._id(dataset, space)}/examples/search"

        body: dict[str, Any] = {"limit": limit}
        if filter is not None and filter.strip():
            body["filter"] = filter
        if version is not None:
            body["dataset_version_id"] = version
        return self._paginate(path, "examples", DatasetExample, method="POST", body=body, cursor_in_body=True)

    async def _append(self, dataset_id: str, records: Sequence[dict[str, Any]], version: str | None) -> Any:
        merged: dict[str, Any] = {}
        ids: list[str] = []
        for chunk in chunked(records, MAX_EXAMPLES_PER_REQUEST):
            params = {"dataset_version_id": version}
            merged = await self._request(
                "POST", f"/v2/datasets/{dataset_id}/examples", params=params, body={"examples": list(chunk)}
            )
            # Later chunks go to the version the first one landed in, even if another version appears meanwhile.
            version = merged["dataset_version_id"]
            ids.extend(merged["example_ids"])
        return {**merged, "example_ids": ids}

    async def append_examples(
        self, dataset: str, examples: Rows, *, version: str | None = None, space: str | None = None
    ) -> DatasetVersionWithExampleIds:
        """Append examples (any number) to a version (default: the latest), in place.

        Returns the version written to and the new example IDs of *all* chunks, in input order.
        """
        records = json_records(examples)
        if not records:
            raise ValueError("append_examples needs at least one example")
        merged = await self._append(await self._id(dataset, space), records, version)
        return DatasetVersionWithExampleIds.model_validate(merged)

    async def update_examples(
        self,
        dataset: str,
        examples: Rows,
        *,
        version: str | None = None,
        new_version: str | None = None,
        space: str | None = None,
    ) -> DatasetVersionWithExampleIds:
        """Update examples by ``id`` (unknown IDs are ignored; fields are added or changed, never removed).

        With ``new_version``, the first request creates that version from ``version`` (default: the latest) and
        every later chunk updates the new version in place. Returns the version written to and every updated ID.
        """
        records = json_records(examples)
        if not records:
            raise ValueError("update_examples needs at least one example")
        for index, record in enumerate(records):
            if not isinstance(record.get("id"), str) or not record["id"]:
                raise ValueError(f"row {index} has no 'id': updates match existing examples by their ID")
        dataset_id = await self._id(dataset, space)
        merged: dict[str, Any] = {}
        ids: dict[str, None] = {}
        for chunk in chunked(records, MAX_EXAMPLES_PER_REQUEST):
            body: dict[str, Any] = {"examples": list(chunk)}
            if new_version:
                body["new_version"] = new_version
            merged = await self._request(
                "PATCH", f"/v2/datasets/{dataset_id}/examples", params={"dataset_version_id": version}, body=body
            )
            version, new_version = merged["dataset_version_id"], None
            ids.update(dict.fromkeys(merged["example_ids"]))
        return DatasetVersionWithExampleIds.model_validate({**merged, "example_ids": list(ids)})

    async def delete_examples(
        self, dataset: str, example_ids: Iterable[str], *, version: str | None = None, space: str | None = None
    ) -> DeleteDatasetExamplesResponse:
        """Remove examples from a version (default: the latest) in place; IDs not in it are reported, not errors.

        Repeated IDs are sent once; each request of ≤1000 IDs is safe to retry, so it is retried like any delete.
        """
        ids = list(dict.fromkeys(example_ids))
        if not ids or any(not isinstance(i, str) or not i for i in ids):
            raise ValueError("example_ids must be one or more non-empty example ID strings")
        dataset_id = await self._id(dataset, space)
        if version is None:
            found = await self.get(dataset_id)
            if not found.versions:
                raise ValueError(f"dataset {dataset_id} has no version to delete examples from")
            version = found.versions[0].id
        result = DeleteDatasetExamplesResponse(completed=True, deleted_example_ids=[], not_deleted_example_ids=[])
        for chunk in chunked(ids, MAX_EXAMPLES_PER_REQUEST):
            body = {"dataset_version_id": version, "example_ids": list(chunk)}
            part = DeleteDatasetExamplesResponse.model_validate(
                await self._request("DELETE", f"/v2/datasets/{dataset_id}/examples", body=body)
            )
            result.completed = result.completed and part.completed
            result.deleted_example_ids.extend(part.deleted_example_ids)
            result.not_deleted_example_ids.extend(part.not_deleted_example_ids)
        return result

    async def annotate_examples(
        self,
        dataset: str,
        annotations: Iterable[AnnotateRecordInput | Mapping[str, Any]],
        *,
        space: str | None = None,
    ) -> None:
        """Upsert human annotations on examples (``record_id`` = example ID), in requests of ≤1000 records.

        Every name must be an annotation config of the dataset's space. Record IDs the dataset does not hold
        are ignored by the server, as on AX.
        """
        records = annotation_records(annotations)
        if not records:
            raise ValueError("annotate_examples needs at least one annotation record")
        dataset_id = await self._id(dataset, space)
        for chunk in chunked(records, MAX_EXAMPLES_PER_REQUEST):
            await self._request(
                "POST",
                f"/v2/datasets/{dataset_id}/examples/annotate",
                body={"annotations": list(chunk)},
                idempotent=True,
            )
