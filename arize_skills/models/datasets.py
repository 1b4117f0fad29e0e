"""Datasets, their versions and examples (``/v2/datasets``).

Examples carry any user fields; the system fields ``id``, ``created_at`` and ``updated_at`` are the server's,
so a create or append that sends them is rejected, and an update must send ``id`` (and only ``id``) to say
which example it changes.
"""

from __future__ import annotations

from typing import Annotated, Any

from pydantic import AfterValidator, Field, field_validator
from pydantic_core import PydanticCustomError

from ._base import Name, Pagination, RequestModel, ResponseModel, Timestamp
from .annotations import AnnotateRecordInput, Annotation

__all__ = [
    "MAX_EXAMPLES_PER_REQUEST",
    "AnnotateDatasetExamplesRequest",
    "AppendExamplesRequest",
    "CreateDatasetRequest",
    "Dataset",
    "DatasetExample",
    "DatasetExampleList",
    "DatasetList",
    "DatasetVersion",
    "DatasetVersionWithExampleIds",
    "DeleteDatasetExamplesRequest",
    "DeleteDatasetExamplesResponse",
    "ExampleFields",
    "ExampleUpdate",
    "SearchDatasetExamplesRequest",
    "UpdateDatasetExamplesRequest",
    "UpdateDatasetRequest",
]

MAX_EXAMPLES_PER_REQUEST = 1000
"""AX's cap on examples (and annotation records) in one request; the client chunks above it."""

SYSTEM_FIELDS = ("id", "created_at", "updated_at")


def _check_new_example(example: dict[str, Any]) -> dict[str, Any]:
    if not example:
        raise PydanticCustomError("empty_example", "an example needs at least one field ({} is not an example)")
    for key in SYSTEM_FIELDS:
        if key in example:
            raise PydanticCustomError(
                "system_field",
                "must not contain '{key}': id, created_at and updated_at are assigned by the server "
                "(rename the column, or use PATCH …/examples with ids to update existing examples)",
                {"key": key},
            )
    return example


def _check_example_update(example: dict[str, Any]) -> dict[str, Any]:
    example_id = example.get("id")
    if not isinstance(example_id, str) or not example_id:
        raise PydanticCustomError(
            "missing_id", "needs 'id' (the ID of the example to update, as listed by GET …/examples)"
        )
    for key in ("created_at", "updated_at"):
        if key in example:
            raise PydanticCustomError(
                "system_field", "must not contain '{key}': it is assigned by the server", {"key": key}
            )
    return example


ExampleFields = Annotated[dict[str, Any], AfterValidator(_check_new_example)]
"""A new example: any user fields, at least one, none of ``id`` / ``created_at`` / ``updated_at``."""

ExampleUpdate = Annotated[dict[str, Any], AfterValidator(_check_example_update)]
"""An example update: ``id`` plus the fields to set or add."""


class DatasetVersion(ResponseModel):
    """One version of a dataset: a snapshot of its examples."""

    id: str
    name: str
    dataset_id: str
    created_at: Timestamp
    updated_at: Timestamp


class Dataset(ResponseModel):
    """A dataset; ``versions`` (newest first) is present on ``GET /v2/datasets/{id}`` only."""

    id: str
    name: str
    space_id: str
    created_at: Timestamp
    updated_at: Timestamp
    versions: list[DatasetVersion] | None = None


class DatasetList(ResponseModel):
    """``GET /v2/datasets``."""

    datasets: list[Dataset]
    pagination: Pagination


class DatasetExample(ResponseModel):
    """A dataset example: system fields, its human annotations, and the user fields at the top level."""

    id: str
    created_at: Timestamp
    updated_at: Timestamp
    annotations: list[Annotation] | None = None

    @property
    def fields(self) -> dict[str, Any]:
        """The example's user fields (everything but ``id``, the timestamps and ``annotations``)."""
        return dict(self.model_extra or {})


class DatasetExampleList(ResponseModel):
    """``GET /v2/datasets/{id}/examples`` and ``POST …/examples/search``."""

    examples: list[DatasetExample]
    pagination: Pagination


class DatasetVersionWithExampleIds(ResponseModel):
    """The dataset, the version examples were written to, and the IDs written (in input order)."""

    id: str
    name: str
    space_id: str
    created_at: Timestamp
    updated_at: Timestamp
    dataset_version_id: str
    example_ids: list[str]


class DeleteDatasetExamplesResponse(ResponseModel):
    """``DELETE /v2/datasets/{id}/examples``: what was deleted and what was not (not found in the version)."""

    completed: bool
    deleted_example_ids: list[str]
    not_deleted_example_ids: list[str]


def _not_blank(value: str) -> str:
    if not value.strip():
        raise PydanticCustomError("blank_name", "must not be empty or only whitespace")
    return value


class CreateDatasetRequest(RequestModel):
    """``POST /v2/datasets``."""

    name: Annotated[Name, AfterValidator(_not_blank)]
    space_id: str = Field(min_length=1)
    examples: list[ExampleFields] = Field(min_length=1, max_length=MAX_EXAMPLES_PER_REQUEST)


class UpdateDatasetRequest(RequestModel):
    """``PATCH /v2/datasets/{id}``."""

    name: Annotated[Name, AfterValidator(_not_blank)]


class AppendExamplesRequest(RequestModel):
    """``POST /v2/datasets/{id}/examples``: new examples; the server assigns their IDs."""

    examples: list[ExampleFields] = Field(min_length=1, max_length=MAX_EXAMPLES_PER_REQUEST)


class UpdateDatasetExamplesRequest(RequestModel):
    """``PATCH /v2/datasets/{id}/examples``: a non-empty ``new_version`` writes into a new version."""

    examples: list[ExampleUpdate] = Field(min_length=1, max_length=MAX_EXAMPLES_PER_REQUEST)
    new_version: str | None = Field(default=None, max_length=255)


class DeleteDatasetExamplesRequest(RequestModel):
    """``DELETE /v2/datasets/{id}/examples``: IDs to remove from one version (no duplicates, none empty)."""

    dataset_version_id: str = Field(min_length=1)
    example_ids: list[Annotated[str, Field(min_length=1)]] = Field(min_length=1, max_length=MAX_EXAMPLES_PER_REQUEST)

    @field_validator("example_ids")
    @classmethod
    def _no_duplicates(cls, value: list[str]) -> list[str]:
        seen: set[str] = set()
        for example_id in value:
            if example_id in seen:
                raise PydanticCustomError(
                    "duplicate_id", "'{example_id}' appears more than once", {"example_id": example_id}
                )
            seen.add(example_id)
        return value


class SearchDatasetExamplesRequest(RequestModel):
    """``POST /v2/datasets/{id}/examples/search``: paging lives in the body on this endpoint."""

    filter: str | None = None
    limit: int | None = Field(default=None, ge=1, le=500, strict=True)
    cursor: str | None = None
    dataset_version_id: str | None = None


class AnnotateDatasetExamplesRequest(RequestModel):
    """``POST /v2/datasets/{id}/examples/annotate``: ``record_id`` is the example ID."""

    annotations: list[AnnotateRecordInput] = Field(min_length=1, max_length=MAX_EXAMPLES_PER_REQUEST)
