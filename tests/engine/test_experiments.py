"""Experiments and their runs on the engine, through the client (and raw HTTP for bad input)."""

from __future__ import annotations

import json
import re
from typing import Any

import pytest

from arize_skills.client import AsyncArizeClient
from arize_skills.engine import Engine
from arize_skills.errors import (
    AmbiguousNameError,
    BadRequestError,
    ConflictError,
    NameNotFoundError,
    NotFoundError,
    UnprocessableEntityError,
)
from arize_skills.models.ids import decode_id

from .records_support import RecordingTransport, create_annotation_config, row_counts

QUESTIONS = [
    {"question": "What is 2+2?", "answer": "4"},
    {"question": "Capital of France?", "answer": "Paris"},
    {"question": "What is 3*3?", "answer": "9"},
]


async def _dataset(client: AsyncArizeClient, name: str = "qa") -> list[str]:
    """Create a dataset of QUESTIONS; return its example IDs."""
    await client.datasets.create(name, QUESTIONS)
    return [e.id async for e in client.datasets.list_examples(name)]


def _runs(example_ids: list[str]) -> list[dict[str, Any]]:
    return [
        {
            "example_id": example_id,
            "output": answer,
            "model": "gpt-4o",
            "latency_ms": 120 + i,
            "eval.correctness.score": score,
            "eval.correctness.label": "correct" if score else "incorrect",
            "eval.correctness.explanation": "compared with the answer",
            "eval.correctness.metadata.judge": "exact",
        }
        for i, (example_id, answer, score) in enumerate(
            zip(example_ids, ["4", "Lyon", "9"], [1.0, 0.0, 1.0], strict=True)
        )
    ]


async def test_an_experiment_on_a_dataset_is_created_listed_read_and_deleted_by_name(client: AsyncArizeClient) -> None:
    example_ids = await _dataset(client)
    dataset = await client.datasets.get("qa")
    created = await client.experiments.create("baseline", _runs(example_ids), dataset="qa")
    decoded = decode_id(created.id)
    assert decoded is not None and decoded.type_name == "Experiment"
    assert created.dataset_id == dataset.id and created.space_id == client.space
    assert dataset.versions is not None and created.dataset_version_id == dataset.versions[0].id
    assert created.experiment_traces_project_id is None and created.integration_id is None

    assert (await client.experiments.get("baseline", dataset="qa")).id == created.id
    assert [e.id async for e in client.experiments.list(dataset="qa")] == [created.id]
    runs = [r async for r in client.experiments.list_runs("baseline", dataset="qa")]
    assert [r.example_id for r in runs] == example_ids and [r.output for r in runs] == ["4", "Lyon", "9"]
    assert all(r.error is None and r.annotations == [] for r in runs)

    await client.experiments.delete("baseline", dataset="qa")
    with pytest.raises(NameNotFoundError, match="baseline"):
        await client.experiments.get("baseline", dataset="qa")
    with pytest.raises(NotFoundError):
        await client.experiments.get(created.id)


async def test_eval_columns_round_trip_as_flat_keys_and_are_stored_as_evaluations(
    client: AsyncArizeClient, engine: Engine
) -> None:
    example_ids = await _dataset(client)
    await client.experiments.create("scored", _runs(example_ids), dataset="qa")
    runs = [r async for r in client.experiments.list_runs("scored", dataset="qa")]
    assert runs[1].fields == {
        "model": "gpt-4o",
        "latency_ms": 121,
        "eval.correctness.score": 0.0,
        "eval.correctness.label": "incorrect",
        "eval.correctness.explanation": "compared with the answer",
        "eval.correctness.metadata.judge": "exact",
    }
    assert runs[0].evaluation("correctness") == {
        "score": 1.0,
        "label": "correct",
        "explanation": "compared with the answer",
        "metadata": {"judge": "exact"},
    }
    assert (await row_counts(engine))["evaluations"] == 3


async def test_run_search_filters_on_eval_results_and_custom_columns(client: AsyncArizeClient) -> None:
    example_ids = await _dataset(client)
    await client.experiments.create("searchable", _runs(example_ids), dataset="qa")

    async def outputs(query: str) -> list[str | None]:
        return [r.output async for r in client.experiments.search_runs("searchable", dataset="qa", filter=query)]

    assert await outputs("eval.correctness.score >= 0.5") == ["4", "9"]
    assert await outputs("eval.correctness.label = 'incorrect' AND model = 'gpt-4o'") == ["Lyon"]
    assert await outputs("latency_ms > 120") == ["Lyon", "9"]
    assert await outputs("   ") == ["4", "Lyon", "9"]


async def test_more_than_1000_runs_are_created_then_appended_in_chunks_and_read_back_in_order(engine: Engine) -> None:
    transport = RecordingTransport(engine.transport())
    async with AsyncArizeClient(transport=transport) as client:
        client.space = (await client.spaces.list()).items[0].id
        transport.calls.clear()
        runs = [{"output": f"answer {i}", "n": i} for i in range(2500)]
        experiment = await client.experiments.create("bulk", runs)
        posts = [call for call in transport.calls if call[0] == "POST"]
        assert posts == [
            ("POST", "/v2/experiments"),
            ("POST", f"/v2/experiments/{experiment.id}/runs"),
            ("POST", f"/v2/experiments/{experiment.id}/runs"),
        ]
        listed = [r.fields["n"] async for r in client.experiments.list_runs(experiment.id, limit=500)]
        assert listed == list(range(2500))
        # Run IDs are time-ordered, so search's id order is upload order too.
        searched = [r.fields["n"] async for r in client.experiments.search_runs(experiment.id, limit=500)]
        assert searched == list(range(2500))


async def test_append_runs_returns_every_run_id_in_input_order(client: AsyncArizeClient) -> None:
    experiment = await client.experiments.create("standalone", [{"output": "first"}])
    result = await client.experiments.append_runs(experiment.id, [{"output": f"o{i}"} for i in range(1200)])
    assert len(result.run_ids) == 1200 and result.id == experiment.id
    runs = [r async for r in client.experiments.list_runs(experiment.id, limit=500)]
    assert [r.id for r in runs[1:]] == result.run_ids
    assert [r.output for r in runs[1:3]] == ["o0", "o1"]
    assert (await client.experiments.get(experiment.id)).updated_at >= experiment.updated_at


async def test_standalone_and_dataset_experiments_may_share_a_name_and_resolve_by_scope(
    client: AsyncArizeClient,
) -> None:
    example_ids = await _dataset(client)
    standalone = await client.experiments.create("gpt-4o", [{"output": "hello"}])
    assert standalone.dataset_id is None and standalone.dataset_version_id is None
    on_dataset = await client.experiments.create("gpt-4o", _runs(example_ids)[:1], dataset="qa")

    assert (await client.experiments.get("gpt-4o", dataset="qa")).id == on_dataset.id
    with pytest.raises(AmbiguousNameError, match="gpt-4o"):
        await client.experiments.get("gpt-4o")
    assert sorted([e.id async for e in client.experiments.list()]) == sorted([standalone.id, on_dataset.id])
    with pytest.raises(ConflictError, match="already exists in this space"):
        await client.experiments.create("gpt-4o", [{"output": "again"}])
    with pytest.raises(ConflictError, match="already exists on this dataset"):
        await client.experiments.create("gpt-4o", _runs(example_ids)[:1], dataset="qa")


async def test_the_client_json_encodes_structured_outputs_and_refuses_missing_or_numeric_ones(
    client: AsyncArizeClient, engine: Engine
) -> None:
    experiment = await client.experiments.create("structured", [{"output": {"answer": 4}}, {"output": ["a", "b"]}])
    outputs = [r.output async for r in client.experiments.list_runs(experiment.id)]
    assert [json.loads(o or "") for o in outputs] == [{"answer": 4}, ["a", "b"]]

    before = await row_counts(engine)
    with pytest.raises(ValueError, match=r"run row 1: output is a int \(4\)"):
        await client.experiments.create("numbers", [{"output": "ok"}, {"output": 4}])
    with pytest.raises(ValueError, match="run row 0: output is missing"):
        await client.experiments.create("nan", [{"output": float("nan")}])
    with pytest.raises(ValueError, match="run row 0 has no 'output'"):
        await client.experiments.create("none", [{"answer": "x"}])
    with pytest.raises(ValueError, match="run row 0: example_id"):
        await client.experiments.create("no-example", [{"output": "x"}], dataset="anything")
    assert await row_counts(engine) == before


async def test_bad_create_bodies_are_400s_naming_the_run_and_write_nothing(
    client: AsyncArizeClient, engine: Engine
) -> None:
    example_ids = await _dataset(client)
    dataset = await client.datasets.get("qa")
    ok = {"example_id": example_ids[0], "output": "4"}
    before = await row_counts(engine)
    cases: list[tuple[dict[str, Any], str]] = [
        ({"dataset_id": dataset.id, "experiment_runs": [ok, {**ok, "output": 4}]}, "experiment_runs[1].output"),
        ({"dataset_id": dataset.id, "experiment_runs": [{**ok, "output": None}]}, "experiment_runs[0].output"),
        ({"dataset_id": dataset.id, "experiment_runs": [{"example_id": example_ids[0]}]}, "experiment_runs[0].output"),
        (
            {"dataset_id": dataset.id, "experiment_runs": [ok, {"output": "x"}]},
            "experiment_runs[1].example_id is required",
        ),
        (
            {"dataset_id": dataset.id, "experiment_runs": [{**ok, "eval.c.score": "high"}]},
            "'eval.c.score' must be a number",
        ),
        ({"dataset_id": dataset.id, "experiment_runs": [{**ok, "eval.c.label": 1}]}, "'eval.c.label' must be a string"),
        ({"dataset_id": dataset.id, "experiment_runs": [{**ok, "id": "mine"}]}, "'id' is assigned by the server"),
        ({"dataset_id": dataset.id, "space_id": client.space, "experiment_runs": [ok]}, "exactly one of dataset_id"),
        ({"experiment_runs": [ok]}, "exactly one of dataset_id"),
        ({"dataset_id": dataset.id, "experiment_runs": [ok] * 1001}, "at most 1000 items"),
        ({"dataset_id": dataset.id, "experiment_runs": []}, "at least 1 item"),
    ]
    for body, detail in cases:
        with pytest.raises(BadRequestError, match=re.escape(detail)):
            await client.request("POST", "/v2/experiments", json_body={"name": "bad", **body})
    for name in ['say "hi"', "back\\slash", ""]:
        with pytest.raises(BadRequestError, match="name"):
            await client.request(
                "POST", "/v2/experiments", json_body={"name": name, "space_id": client.space, "experiment_runs": [ok]}
            )
    with pytest.raises(NotFoundError, match="dataset"):
        await client.request(
            "POST",
            "/v2/experiments",
            json_body={"name": "x", "dataset_id": "RGF0YXNldDo5OTk=", "experiment_runs": [ok]},
        )
    assert await row_counts(engine) == before


async def test_bad_run_bodies_and_filters_are_rejected_and_write_nothing(
    client: AsyncArizeClient, engine: Engine
) -> None:
    example_ids = await _dataset(client)
    experiment = await client.experiments.create("strict", _runs(example_ids), dataset="qa")
    path = f"/v2/experiments/{experiment.id}/runs"
    before = await row_counts(engine)
    with pytest.raises(BadRequestError, match=re.escape("experiment_runs[0].example_id is required")):
        await client.request("POST", path, json_body={"experiment_runs": [{"output": "x"}]})
    with pytest.raises(BadRequestError, match="page: unknown field"):
        await client.request("POST", path + "/search", json_body={"page": 2})
    with pytest.raises(BadRequestError, match="filter must not be empty"):
        await client.request("POST", path + "/search", json_body={"filter": " "})
    with pytest.raises(UnprocessableEntityError, match="invalid filter"):
        await client.request("POST", path + "/search", json_body={"filter": "eval.correctness.score >="})
    with pytest.raises(BadRequestError, match="send dataset_id or space_id, not both"):
        await client.request(
            "GET", "/v2/experiments", params={"dataset_id": experiment.dataset_id, "space_id": client.space}
        )
    assert await row_counts(engine) == before


async def test_runs_are_annotated_unknown_ids_are_ignored_and_annotations_are_searchable(
    client: AsyncArizeClient, engine: Engine
) -> None:
    await create_annotation_config(client, "quality")
    example_ids = await _dataset(client)
    experiment = await client.experiments.create("reviewed", _runs(example_ids), dataset="qa")
    run_ids = [r.id async for r in client.experiments.list_runs(experiment.id)]
    await client.experiments.annotate_runs(
        "reviewed",
        [
            {"record_id": run_ids[1], "values": [{"name": "quality", "label": "bad", "text": "wrong city"}]},
            {"record_id": "not-a-run", "values": [{"name": "quality", "label": "good"}]},
        ],
        dataset="qa",
    )
    runs = [r async for r in client.experiments.list_runs(experiment.id)]
    assert [(a.name, a.label, a.text) for a in runs[1].annotations] == [("quality", "bad", "wrong city")]
    assert runs[0].annotations == [] and (await row_counts(engine))["annotations"] == 1
    found = client.experiments.search_runs(experiment.id, filter="annotation.quality.label = 'bad'")
    assert [r.id async for r in found] == [run_ids[1]]


async def test_deleting_an_experiment_removes_its_runs_evaluations_and_annotations(
    client: AsyncArizeClient, engine: Engine
) -> None:
    await create_annotation_config(client, "quality")
    example_ids = await _dataset(client)
    before = await row_counts(engine)
    experiment = await client.experiments.create("temporary", _runs(example_ids), dataset="qa")
    run_ids = [r.id async for r in client.experiments.list_runs(experiment.id)]
    await client.experiments.annotate_runs(experiment.id, [{"record_id": run_ids[0], "values": [{"name": "quality"}]}])
    await client.experiments.delete(experiment.id)
    assert await row_counts(engine) == before
