"""Annotation configs (``/v2/annotation-configs``): the named label sets humans annotate with.

Requests are discriminated by ``annotation_config_type``; responses by ``type`` (AX names the two differently).
"""

from __future__ import annotations

from typing import Annotated, Any, Literal

from pydantic import Field, field_validator, model_validator

from ..foundation.repeats import repeated
from ._base import Name, Pagination, RequestModel, ResponseModel, Timestamp
from .evaluators import OptimizationDirection

__all__ = [
    "CREATE_REQUEST_MODELS",
    "MAX_CATEGORICAL_VALUES",
    "UPDATE_REQUEST_MODELS",
    "AnnotationConfig",
    "AnnotationConfigList",
    "AnnotationConfigType",
    "CategoricalAnnotationValue",
    "CategoricalAnnotationValueRequest",
    "CreateAnnotationConfigRequest",
    "CreateCategoricalAnnotationConfigRequest",
    "CreateContinuousAnnotationConfigRequest",
    "CreateFreeformAnnotationConfigRequest",
    "UpdateAnnotationConfigRequest",
    "UpdateCategoricalAnnotationConfigRequest",
    "UpdateContinuousAnnotationConfigRequest",
    "UpdateFreeformAnnotationConfigRequest",
]

AnnotationConfigType = Literal["CATEGORICAL", "CONTINUOUS", "FREEFORM"]
MAX_CATEGORICAL_VALUES = 500


class CategoricalAnnotationValueRequest(RequestModel):
    """One label of a categorical config, with an optional score."""

    label: str = Field(min_length=1, max_length=255)
    score: int | float | None = None


def _unique_labels(
    values: list[CategoricalAnnotationValueRequest] | None,
) -> list[CategoricalAnnotationValueRequest] | None:
    labels = [v.label for v in values or []]
    if twice := repeated(labels):
        raise ValueError(f"labels must be unique; repeated: {', '.join(twice)}")
    return values


class _CreateBase(RequestModel):
    name: Name
    space_id: str = Field(min_length=1)


class CreateCategoricalAnnotationConfigRequest(_CreateBase):
    """A categorical config: 1–500 labels (unique), each with an optional score."""

    annotation_config_type: Literal["CATEGORICAL"]
    values: list[CategoricalAnnotationValueRequest] = Field(min_length=1, max_length=MAX_CATEGORICAL_VALUES)
    optimization_direction: OptimizationDirection | None = None

    @field_validator("values")
    @classmethod
    def _values(cls, value: list[CategoricalAnnotationValueRequest]) -> list[CategoricalAnnotationValueRequest]:
        _unique_labels(value)
        return value


class CreateContinuousAnnotationConfigRequest(_CreateBase):
    """A continuous config: a score between ``minimum_score`` and ``maximum_score`` (minimum < maximum)."""

    annotation_config_type: Literal["CONTINUOUS"]
    minimum_score: int | float
    maximum_score: int | float
    optimization_direction: OptimizationDirection | None = None


class CreateFreeformAnnotationConfigRequest(_CreateBase):
    """A freeform config: free text, no score."""

    annotation_config_type: Literal["FREEFORM"]


CreateAnnotationConfigRequest = Annotated[
    CreateCategoricalAnnotationConfigRequest
    | CreateContinuousAnnotationConfigRequest
    | CreateFreeformAnnotationConfigRequest,
    Field(discriminator="annotation_config_type"),
]
"""``POST /v2/annotation-configs``, discriminated by ``annotation_config_type``."""


class _UpdateBase(RequestModel):
    name: Name | None = None

    @model_validator(mode="after")
    def _no_nulls(self) -> _UpdateBase:
        nulls = [k for k in self.model_fields_set if getattr(self, k) is None]
        if nulls:
            raise ValueError(f"{', '.join(sorted(nulls))} cannot be null; omit a field to keep its value")
        if not self.model_fields_set - {"annotation_config_type"}:
            raise ValueError("give at least one field to change besides annotation_config_type")
        return self


class UpdateCategoricalAnnotationConfigRequest(_UpdateBase):
    """Rename, replace the labels (2–500, the full new set), or change the direction."""

    annotation_config_type: Literal["CATEGORICAL"]
    values: list[CategoricalAnnotationValueRequest] | None = Field(
        default=None, min_length=2, max_length=MAX_CATEGORICAL_VALUES
    )
    optimization_direction: OptimizationDirection | None = None

    @field_validator("values")
    @classmethod
    def _values(
        cls, value: list[CategoricalAnnotationValueRequest] | None
    ) -> list[CategoricalAnnotationValueRequest] | None:
        return _unique_labels(value)


class UpdateContinuousAnnotationConfigRequest(_UpdateBase):
    """Rename, move the score bounds, or change the direction."""

    annotation_config_type: Literal["CONTINUOUS"]
    minimum_score: int | float | None = None
    maximum_score: int | float | None = None
    optimization_direction: OptimizationDirection | None = None


class UpdateFreeformAnnotationConfigRequest(_UpdateBase):
    """Rename a freeform config."""

    annotation_config_type: Literal["FREEFORM"]


UpdateAnnotationConfigRequest = Annotated[
    UpdateCategoricalAnnotationConfigRequest
    | UpdateContinuousAnnotationConfigRequest
    | UpdateFreeformAnnotationConfigRequest,
    Field(discriminator="annotation_config_type"),
]
"""``PATCH /v2/annotation-configs/{id}``; ``annotation_config_type`` must match the stored type."""

CREATE_REQUEST_MODELS: dict[
    str,
    type[
        CreateCategoricalAnnotationConfigRequest
        | CreateContinuousAnnotationConfigRequest
        | CreateFreeformAnnotationConfigRequest
    ],
] = {
    "CATEGORICAL": CreateCategoricalAnnotationConfigRequest,
    "CONTINUOUS": CreateContinuousAnnotationConfigRequest,
    "FREEFORM": CreateFreeformAnnotationConfigRequest,
}
"""The create request model of each ``annotation_config_type``."""

UPDATE_REQUEST_MODELS: dict[
    str,
    type[
        UpdateCategoricalAnnotationConfigRequest
        | UpdateContinuousAnnotationConfigRequest
        | UpdateFreeformAnnotationConfigRequest
    ],
] = {
    "CATEGORICAL": UpdateCategoricalAnnotationConfigRequest,
    "CONTINUOUS": UpdateContinuousAnnotationConfigRequest,
    "FREEFORM": UpdateFreeformAnnotationConfigRequest,
}
"""The update request model of each ``annotation_config_type``."""


class CategoricalAnnotationValue(ResponseModel):
    """A label and its score."""

    label: str
    score: int | float | None = None


class AnnotationConfig(ResponseModel):
    """An annotation config; ``type`` tells which of the optional fields apply."""

    id: str
    name: str
    created_at: Timestamp
    space_id: str
    type: AnnotationConfigType
    values: list[CategoricalAnnotationValue] | None = None
    minimum_score: int | float | None = None
    maximum_score: int | float | None = None
    optimization_direction: OptimizationDirection | None = None

    def to_wire(self) -> dict[str, Any]:
        """The JSON shape AX sends: only the fields of this config's type."""
        data = self.model_dump(mode="json", by_alias=True)
        drop = {
            "CATEGORICAL": ("minimum_score", "maximum_score"),
            "CONTINUOUS": ("values",),
            "FREEFORM": ("values", "minimum_score", "maximum_score", "optimization_direction"),
        }[self.type]
        for key in drop:
            data.pop(key, None)
        return data


class AnnotationConfigList(ResponseModel):
    """``GET /v2/annotation-configs``."""

    annotation_configs: list[AnnotationConfig]
    pagination: Pagination
