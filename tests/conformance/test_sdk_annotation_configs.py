"""The official SDK creates, lists, updates and deletes annotation configs of the three types on the engine."""

from __future__ import annotations

import pytest
from arize import ArizeClient
from arize._generated.api_client.exceptions import ConflictException, NotFoundException
from arize.annotation_configs.types import (
    CategoricalAnnotationConfig,
    CategoricalAnnotationValueRequest,
    ContinuousAnnotationConfig,
    FreeformAnnotationConfig,
    OptimizationDirection,
)


def test_the_three_config_types_are_created_and_listed_unwrapped(sdk: ArizeClient, space_id: str) -> None:
    categorical = sdk.annotation_configs.create_categorical(
        name="Correctness",
        space=space_id,
        values=[
            CategoricalAnnotationValueRequest(label="correct", score=1),
            CategoricalAnnotationValueRequest(label="incorrect", score=0),
        ],
        optimization_direction=OptimizationDirection.MAXIMIZE,
    )
    assert isinstance(categorical, CategoricalAnnotationConfig)
    assert categorical.type == "CATEGORICAL" and categorical.space_id == space_id and categorical.id
    assert [(v.label, v.score) for v in categorical.values or []] == [("correct", 1), ("incorrect", 0)]
    assert categorical.optimization_direction == OptimizationDirection.MAXIMIZE

    continuous = sdk.annotation_configs.create_continuous(
        name="Helpfulness", space=space_id, minimum_score=0, maximum_score=10
    )
    assert isinstance(continuous, ContinuousAnnotationConfig)
    assert continuous.type == "CONTINUOUS" and continuous.minimum_score == 0 and continuous.maximum_score == 10

    freeform = sdk.annotation_configs.create_freeform(name="Reviewer notes", space=space_id)
    assert isinstance(freeform, FreeformAnnotationConfig) and freeform.type == "FREEFORM"

    listed = sdk.annotation_configs.list(space=space_id)
    assert listed.pagination is not None
    by_name = {c.name: c for c in listed.annotation_configs or []}
    assert set(by_name) == {"Correctness", "Helpfulness", "Reviewer notes"}
    assert isinstance(by_name["Correctness"], CategoricalAnnotationConfig)
    assert isinstance(by_name["Helpfulness"], ContinuousAnnotationConfig)
    assert isinstance(by_name["Reviewer notes"], FreeformAnnotationConfig)

    fetched = sdk.annotation_configs.get(annotation_config="Helpfulness", space=space_id)
    assert isinstance(fetched, ContinuousAnnotationConfig) and fetched.id == continuous.id


def test_a_duplicate_config_name_in_the_space_is_a_conflict(sdk: ArizeClient, space_id: str) -> None:
    sdk.annotation_configs.create_freeform(name="Notes", space=space_id)
    with pytest.raises(ConflictException):
        sdk.annotation_configs.create_freeform(name="Notes", space=space_id)


def test_configs_are_updated_by_type_and_deleted(sdk: ArizeClient, space_id: str) -> None:
    config = sdk.annotation_configs.create_categorical(
        name="Tone",
        space=space_id,
        values=[CategoricalAnnotationValueRequest(label="polite"), CategoricalAnnotationValueRequest(label="rude")],
    )
    updated = sdk.annotation_configs.update_categorical(
        annotation_config="Tone",
        space=space_id,
        values=[
            CategoricalAnnotationValueRequest(label="polite", score=1),
            CategoricalAnnotationValueRequest(label="neutral", score=0.5),
            CategoricalAnnotationValueRequest(label="rude", score=0),
        ],
    )
    assert isinstance(updated, CategoricalAnnotationConfig) and updated.id == config.id
    assert [v.label for v in updated.values or []] == ["polite", "neutral", "rude"]

    scale = sdk.annotation_configs.create_continuous(name="Scale", space=space_id, minimum_score=1, maximum_score=5)
    widened = sdk.annotation_configs.update_continuous(annotation_config=scale.id or "", maximum_score=7)
    assert isinstance(widened, ContinuousAnnotationConfig) and widened.maximum_score == 7 and widened.minimum_score == 1

    sdk.annotation_configs.delete(annotation_config="Tone", space=space_id)
    with pytest.raises(NotFoundException):
        sdk.annotation_configs.get(annotation_config=config.id or "")
