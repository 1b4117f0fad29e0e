"""``client.annotation_configs``: the label sets humans annotate with (categorical, continuous, freeform)."""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from typing import Any

from pydantic import BaseModel

from ...models.annotation_configs import (
    CREATE_REQUEST_MODELS,
    UPDATE_REQUEST_MODELS,
    AnnotationConfig,
    AnnotationConfigType,
    CategoricalAnnotationValueRequest,
    CreateCategoricalAnnotationConfigRequest,
    CreateContinuousAnnotationConfigRequest,
    CreateFreeformAnnotationConfigRequest,
)
from ...models.evaluators import OptimizationDirection
from .._paginator import AsyncPaginator
from .._resource import Resource, given
from .projects import space_params
from .tasks import NOT_GIVEN, NotGiven

__all__ = ["AnnotationConfigs", "LabelInput"]

CreateRequest = (
    CreateCategoricalAnnotationConfigRequest
    | CreateContinuousAnnotationConfigRequest
    | CreateFreeformAnnotationConfigRequest
)
LabelInput = str | tuple[str, float] | CategoricalAnnotationValueRequest | Mapping[str, Any]
"""A categorical label: ``"good"``, ``("good", 1)``, ``{"label": "good", "score": 1}`` or the request model."""


def _value(label: LabelInput) -> dict[str, Any]:
    if isinstance(label, str):
        return {"label": label}
    if isinstance(label, tuple):
        return {"label": label[0], "score": label[1]}
    if isinstance(label, CategoricalAnnotationValueRequest):
        return label.to_body()
    return dict(label)


class AnnotationConfigs(Resource):
    """Annotation configs: list, get, create (by type), update, delete; given by ID or exact name."""

    def list(
        self, *, space: str | None = None, name: str | None = None, limit: int = 50
    ) -> AsyncPaginator[AnnotationConfig]:
        """Annotation configs, newest first, optionally in one space and by name substring."""
        params = {**space_params(space or self._client.space), "name": name, "limit": limit}
        return self._paginate("/v2/annotation-configs", "annotation_configs", AnnotationConfig, params=params)

    async def get(self, config: str, *, space: str | None = None) -> AnnotationConfig:
        """One annotation config by ID or exact name."""
        config_id = await self._client.resolve.id_of("annotation_config", config, space=space)
        return await self._get_model(AnnotationConfig, f"/v2/annotation-configs/{config_id}")

    async def create(self, request: CreateRequest | Mapping[str, Any]) -> AnnotationConfig:
        """``POST /v2/annotation-configs`` with exactly this body (keyed on ``annotation_config_type``)."""
        body = request.to_body() if isinstance(request, BaseModel) else dict(request)
        return AnnotationConfig.model_validate(await self._request("POST", "/v2/annotation-configs", body=body))

    async def create_categorical(
        self,
        name: str,
        values: Sequence[LabelInput],
        *,
        optimization_direction: OptimizationDirection | None = None,
        space: str | None = None,
    ) -> AnnotationConfig:
        """A categorical config: labels with optional scores, e.g. ``[("correct", 1), ("incorrect", 0)]``."""
        values_body = [_value(v) for v in values]
        direction = given(optimization_direction=optimization_direction)
        return await self._create_of_type("CATEGORICAL", name, space, values=values_body, **direction)

    async def create_continuous(
        self,
        name: str,
        *,
        minimum_score: float,
        maximum_score: float,
        optimization_direction: OptimizationDirection | None = None,
        space: str | None = None,
    ) -> AnnotationConfig:
        """A continuous config: a score between ``minimum_score`` and ``maximum_score``."""
        direction = given(optimization_direction=optimization_direction)
        return await self._create_of_type(
            "CONTINUOUS", name, space, minimum_score=minimum_score, maximum_score=maximum_score, **direction
        )

    async def create_freeform(self, name: str, *, space: str | None = None) -> AnnotationConfig:
        """A freeform (free-text) config."""
        return await self._create_of_type("FREEFORM", name, space)

    async def _create_of_type(
        self, config_type: AnnotationConfigType, name: str, space: str | None, **fields: Any
    ) -> AnnotationConfig:
        body = {
            "name": name,
            "space_id": await self._client.resolve.space_id(space),
            "annotation_config_type": config_type,
            **fields,
        }
        return await self.create(CREATE_REQUEST_MODELS[config_type].model_validate(body))

    async def update(
        self,
        config: str,
        *,
        name: str | NotGiven = NOT_GIVEN,
        values: Sequence[LabelInput] | NotGiven = NOT_GIVEN,
        minimum_score: float | NotGiven = NOT_GIVEN,
        maximum_score: float | NotGiven = NOT_GIVEN,
        optimization_direction: OptimizationDirection | NotGiven = NOT_GIVEN,
        annotation_config_type: AnnotationConfigType | None = None,
        space: str | None = None,
    ) -> AnnotationConfig:
        """Change a config. ``values`` replaces every label (2–500). The type cannot change; when
        ``annotation_config_type`` is not given it is read from the config first, as the SDK does for tasks."""
        config_id = await self._client.resolve.id_of("annotation_config", config, space=space)
        config_type = annotation_config_type or (await self.get(config_id)).type
        given: dict[str, Any] = {
            "name": name,
            "values": [_value(v) for v in values] if not isinstance(values, NotGiven) else values,
            "minimum_score": minimum_score,
            "maximum_score": maximum_score,
            "optimization_direction": optimization_direction,
        }
        fields = {k: v for k, v in given.items() if not isinstance(v, NotGiven)}
        request = UPDATE_REQUEST_MODELS[config_type].model_validate({"annotation_config_type": config_type, **fields})
        body = request.model_dump(mode="json", by_alias=True, exclude_unset=True)
        data = await self._request("PATCH", f"/v2/annotation-configs/{config_id}", body=body)
        return AnnotationConfig.model_validate(data)

    async def delete(self, config: str, *, space: str | None = None) -> None:
        """Delete an annotation config (annotations already written keep their values)."""
        config_id = await self._client.resolve.id_of("annotation_config", config, space=space)
        await self._request("DELETE", f"/v2/annotation-configs/{config_id}")
