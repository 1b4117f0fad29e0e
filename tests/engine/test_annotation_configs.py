"""Annotation configs on the engine, through the client."""

from __future__ import annotations

from typing import Any

import pytest

from arize_skills.client import AsyncArizeClient
from arize_skills.errors import (
    APIStatusError,
    BadRequestError,
    ConflictError,
    NameNotFoundError,
    NotFoundError,
    UnprocessableEntityError,
)
from arize_skills.models.ids import decode_id


async def test_the_three_kinds_are_created_read_listed_and_deleted(client: AsyncArizeClient) -> None:
    categorical = await client.annotation_configs.create_categorical(
        "correctness", [("correct", 1), ("incorrect", 0)], optimization_direction="MAXIMIZE"
    )
    continuous = await client.annotation_configs.create_continuous("quality", minimum_score=0, maximum_score=10)
    freeform = await client.annotation_configs.create_freeform("notes")
    assert decode_id(categorical.id).type_name == "AnnotationConfig"  # type: ignore[union-attr]
    assert categorical.type == "CATEGORICAL" and categorical.optimization_direction == "MAXIMIZE"
    assert [(v.label, v.score) for v in categorical.values or []] == [("correct", 1), ("incorrect", 0)]
    assert continuous.type == "CONTINUOUS" and (continuous.minimum_score, continuous.maximum_score) == (0, 10)
    assert continuous.optimization_direction == "NONE"
    assert freeform.type == "FREEFORM" and freeform.space_id == client.space

    assert [c.name async for c in client.annotation_configs.list()] == ["notes", "quality", "correctness"]
    assert (await client.annotation_configs.get("quality")).id == continuous.id
    assert [c.name async for c in client.annotation_configs.list(name="CORR")] == ["correctness"]

    for config in (categorical, continuous, freeform):
        await client.annotation_configs.delete(config.id)
    with pytest.raises(NotFoundError):
        await client.annotation_configs.get(categorical.id)
    with pytest.raises(NameNotFoundError):
        await client.annotation_configs.get("notes")


async def test_responses_are_discriminated_by_type_and_carry_only_that_types_fields(client: AsyncArizeClient) -> None:
    body = {
        "name": "tone",
        "space_id": client.space,
        "annotation_config_type": "CATEGORICAL",
        "values": [{"label": "ok"}],
    }
    categorical = await client.request("POST", "/v2/annotation-configs", json_body=body)
    assert categorical["type"] == "CATEGORICAL" and "annotation_config_type" not in categorical
    assert "minimum_score" not in categorical and categorical["values"] == [{"label": "ok", "score": None}]
    freeform = await client.request(
        "POST",
        "/v2/annotation-configs",
        json_body={"name": "free", "space_id": client.space, "annotation_config_type": "FREEFORM"},
    )
    assert set(freeform) == {"id", "name", "created_at", "space_id", "type"}
    listed = await client.request("GET", "/v2/annotation-configs")
    assert {item["type"] for item in listed["annotation_configs"]} == {"CATEGORICAL", "FREEFORM"}


async def test_updates_keep_the_type_and_replace_categorical_values_whole(client: AsyncArizeClient) -> None:
    created = await client.annotation_configs.create_categorical("label", ["a", "b", "c"])
    updated = await client.annotation_configs.update("label", name="verdict", values=[("yes", 1), ("no", 0)])
    assert updated.name == "verdict" and [v.label for v in updated.values or []] == ["yes", "no"]
    continuous = await client.annotation_configs.create_continuous("score", minimum_score=0, maximum_score=1)
    moved = await client.annotation_configs.update(continuous.id, maximum_score=5, optimization_direction="MAXIMIZE")
    assert (moved.minimum_score, moved.maximum_score, moved.optimization_direction) == (0, 5, "MAXIMIZE")

    with pytest.raises(BadRequestError, match="this config is CATEGORICAL"):
        await client.request(
            "PATCH",
            f"/v2/annotation-configs/{created.id}",
            json_body={"annotation_config_type": "FREEFORM", "name": "x"},
        )
    assert (await client.annotation_configs.get(created.id)).name == "verdict"


BAD_CREATES = [
    ("no type", {"name": "x"}, BadRequestError, "annotation_config_type"),
    ("an unknown type", {"name": "x", "annotation_config_type": "BINARY"}, BadRequestError, "must be one of"),
    ("no values", {"name": "x", "annotation_config_type": "CATEGORICAL", "values": []}, BadRequestError, "values"),
    (
        "repeated labels",
        {"name": "x", "annotation_config_type": "CATEGORICAL", "values": [{"label": "a"}, {"label": "a"}]},
        BadRequestError,
        "repeated: a",
    ),
    (
        "a field of another type",
        {"name": "x", "annotation_config_type": "FREEFORM", "minimum_score": 0},
        BadRequestError,
        "minimum_score: unknown field",
    ),
    (
        "an inverted range",
        {"name": "x", "annotation_config_type": "CONTINUOUS", "minimum_score": 5, "maximum_score": 1},
        UnprocessableEntityError,
        "must be less than maximum_score",
    ),
    (
        "a wrong direction",
        {
            "name": "x",
            "annotation_config_type": "CONTINUOUS",
            "minimum_score": 0,
            "maximum_score": 1,
            "optimization_direction": "UP",
        },
        BadRequestError,
        "optimization_direction",
    ),
]


@pytest.mark.parametrize(("case", "body", "error", "detail"), BAD_CREATES, ids=[c[0] for c in BAD_CREATES])
async def test_a_bad_create_names_the_field_and_writes_nothing(
    client: AsyncArizeClient, case: str, body: dict[str, Any], error: type[APIStatusError], detail: str
) -> None:
    with pytest.raises(error) as caught:
        await client.request("POST", "/v2/annotation-configs", json_body={"space_id": client.space, **body})
    assert detail in (caught.value.detail or "")
    assert await client.annotation_configs.list().to_list() == []


async def test_bad_updates_are_refused_and_change_nothing(client: AsyncArizeClient) -> None:
    categorical = await client.annotation_configs.create_categorical("c", ["a", "b"])
    continuous = await client.annotation_configs.create_continuous("n", minimum_score=0, maximum_score=1)
    cases = [
        (categorical.id, {"annotation_config_type": "CATEGORICAL", "values": [{"label": "only"}]}, "at least 2"),
        (categorical.id, {"annotation_config_type": "CATEGORICAL"}, "at least one field"),
        (categorical.id, {"annotation_config_type": "CATEGORICAL", "name": None}, "cannot be null"),
        (continuous.id, {"annotation_config_type": "CONTINUOUS", "minimum_score": 3}, "must be less than"),
        (continuous.id, {"annotation_config_type": "CATEGORICAL", "name": "x"}, "this config is CONTINUOUS"),
    ]
    for config_id, body, detail in cases:
        with pytest.raises(APIStatusError) as caught:
            await client.request("PATCH", f"/v2/annotation-configs/{config_id}", json_body=body)
        assert detail in (caught.value.detail or ""), caught.value.detail
    assert [v.label for v in (await client.annotation_configs.get("c")).values or []] == ["a", "b"]
    assert (await client.annotation_configs.get("n")).minimum_score == 0


async def test_names_are_unique_within_a_space(client: AsyncArizeClient) -> None:
    await client.annotation_configs.create_freeform("notes")
    with pytest.raises(ConflictError, match="already exists"):
        await client.annotation_configs.create_categorical("notes", ["a"])
    await client.annotation_configs.create_freeform("other")
    with pytest.raises(ConflictError):
        await client.annotation_configs.update("other", name="notes")
    default_space = await client.spaces.get(client.space or "")
    elsewhere = await client.spaces.create(name="elsewhere", organization_id=default_space.organization_id)
    assert (await client.annotation_configs.create_freeform("notes", space=elsewhere.id)).space_id == elsewhere.id
