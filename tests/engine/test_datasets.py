"""Datasets, versions and examples on the engine, through the client (and raw HTTP for bad input)."""

from __future__ import annotations

import math
import re
from typing import Any

import pytest

from arize_skills.client import AsyncArizeClient
from arize_skills.engine import Engine
from arize_skills.errors import BadRequestError, ConflictError, NameNotFoundError, NotFoundError
from arize_skills.models.ids import decode_id

from .records_support import RecordingTransport, create_annotation_config, row_counts

QUESTIONS = [
    {"question": "What is 2+2?", "answer": "4", "topic": "math"},
    {"question": "Capital of France?", "answer": "Paris", "topic": "geography"},
    {"question": "What is 3*3?", "answer": "9", "topic": "math"},
]


async def _examples(client: AsyncArizeClient, dataset: str, version: str | None = None) -> list[Any]:
    return [e async for e in client.datasets.list_examples(dataset, version=version, limit=500)]


async def test_a_dataset_is_created_read_renamed_and_deleted_by_name(client: AsyncArizeClient) -> None:
    created = await client.datasets.create("qa-golden", QUESTIONS)
    decoded = decode_id(created.id)
    assert decoded is not None and decoded.type_name == "Dataset"
    assert created.versions is not None and len(created.versions) == 1

    fetched = await client.datasets.get("qa-golden")
    assert fetched.id == created.id and fetched.space_id == client.space
    assert fetched.versions is not None and fetched.versions[0].dataset_id == created.id
    listed = await client.datasets.list()
    assert [d.id for d in listed.items] == [created.id] and listed.items[0].versions is None

    examples = await _examples(client, "qa-golden")
    assert [e.fields for e in examples] == QUESTIONS
    assert all(e.annotations == [] and e.created_at == created.created_at for e in examples)

    renamed = await client.datasets.update("qa-golden", name="qa")
    assert renamed.name == "qa"
    await client.datasets.delete("qa")
    with pytest.raises(NameNotFoundError, match="qa"):
        await client.datasets.get("qa")
    with pytest.raises(NotFoundError):
        await client.datasets.get(created.id)


async def test_names_resolve_exactly_not_by_substring(client: AsyncArizeClient) -> None:
    large = await client.datasets.create("qa-large", QUESTIONS)
    small = await client.datasets.create("qa", QUESTIONS[:1])
    assert (await client.datasets.get("qa")).id == small.id
    assert (await client.datasets.get("qa-large")).id == large.id
    assert sorted([d.name async for d in client.datasets.list(name="QA")]) == ["qa", "qa-large"]


async def test_a_duplicate_dataset_name_is_a_409_on_create_and_rename_and_writes_nothing(
    client: AsyncArizeClient, engine: Engine
) -> None:
    await client.datasets.create("one", QUESTIONS)
    other = await client.datasets.create("two", QUESTIONS)
    before = await row_counts(engine)
    with pytest.raises(ConflictError, match="already exists"):
        await client.datasets.create("one", QUESTIONS)
    with pytest.raises(ConflictError, match="already exists"):
        await client.datasets.update(other.id, name="one")
    assert await row_counts(engine) == before


async def test_more_than_1000_examples_are_uploaded_in_chunks_and_listed_back_in_order(engine: Engine) -> None:
    transport = RecordingTransport(engine.transport())
    async with AsyncArizeClient(transport=transport) as client:
        client.space = (await client.spaces.list()).items[0].id
        transport.calls.clear()
        rows = [{"n": i, "text": f"example {i}"} for i in range(2500)]
        dataset = await client.datasets.create("big", rows)

        posts = [call for call in transport.calls if call[0] == "POST"]
        assert posts == [
            ("POST", "/v2/datasets"),
            ("POST", f"/v2/datasets/{dataset.id}/examples"),
            ("POST", f"/v2/datasets/{dataset.id}/examples"),
        ]
        assert dataset.versions is not None and len(dataset.versions) == 1
        examples = await _examples(client, dataset.id)
        assert [e.fields["n"] for e in examples] == list(range(2500))
        assert len({e.id for e in examples}) == 2500


async def test_nan_and_infinity_become_null_in_lists_and_dataframes(client: AsyncArizeClient) -> None:
    await client.datasets.create("gaps", [{"q": "a", "score": math.nan}, {"q": "b", "score": math.inf}])
    assert [e.fields for e in await _examples(client, "gaps")] == [{"q": "a", "score": None}, {"q": "b", "score": None}]

    pandas = pytest.importorskip("pandas")
    frame = pandas.DataFrame({"q": ["x", "y"], "score": [1.5, float("nan")], "n": [1, 2]})
    await client.datasets.create("frame", frame)
    fields = [e.fields for e in await _examples(client, "frame")]
    assert fields == [{"q": "x", "score": 1.5, "n": 1}, {"q": "y", "score": None, "n": 2}]


async def test_appending_writes_into_the_latest_version_in_place_and_returns_every_new_id(
    client: AsyncArizeClient,
) -> None:
    dataset = await client.datasets.create("growing", QUESTIONS[:1])
    appended = await client.datasets.append_examples("growing", QUESTIONS[1:])
    assert dataset.versions is not None
    assert appended.dataset_version_id == dataset.versions[0].id and len(appended.example_ids) == 2
    fetched = await client.datasets.get("growing")
    assert fetched.versions is not None and len(fetched.versions) == 1
    assert fetched.updated_at > dataset.updated_at
    examples = await _examples(client, "growing")
    assert [e.fields for e in examples] == QUESTIONS
    assert [e.id for e in examples[1:]] == appended.example_ids


async def test_an_update_with_new_version_copies_every_example_and_leaves_the_old_version_alone(
    client: AsyncArizeClient,
) -> None:
    dataset = await client.datasets.create("versioned", QUESTIONS)
    assert dataset.versions is not None
    v1 = dataset.versions[0].id
    original = await _examples(client, "versioned")

    result = await client.datasets.update_examples(
        "versioned", [{"id": original[0].id, "answer": "four", "difficulty": "easy"}], new_version="v2"
    )
    assert result.dataset_version_id != v1 and result.example_ids == [original[0].id]
    versions = (await client.datasets.get("versioned")).versions or []
    assert [v.name for v in versions] == ["v2", "v1"] and versions[0].id == result.dataset_version_id

    new = await _examples(client, "versioned")
    assert [e.id for e in new] == [e.id for e in original]
    assert new[0].fields == {"question": "What is 2+2?", "answer": "four", "topic": "math", "difficulty": "easy"}
    assert new[0].updated_at >= original[0].updated_at and new[0].created_at == original[0].created_at
    assert [e.fields for e in await _examples(client, "versioned", version=v1)] == QUESTIONS


async def test_an_update_without_new_version_changes_the_version_in_place_and_ignores_unknown_ids(
    client: AsyncArizeClient,
) -> None:
    dataset = await client.datasets.create("in-place", QUESTIONS)
    original = await _examples(client, "in-place")
    result = await client.datasets.update_examples(
        dataset.id, [{"id": original[1].id, "answer": "Paris, France"}, {"id": "no-such-example", "answer": "x"}]
    )
    assert dataset.versions is not None
    assert result.dataset_version_id == dataset.versions[0].id and result.example_ids == [original[1].id]
    assert len((await client.datasets.get(dataset.id)).versions or []) == 1
    after = await _examples(client, "in-place")
    # Columns are added or changed, never removed: the fields not sent keep their values.
    assert after[1].fields == {"question": "Capital of France?", "answer": "Paris, France", "topic": "geography"}
    assert len(after) == 3 and "no-such-example" not in {e.id for e in after}


async def test_deleting_examples_reports_what_was_and_was_not_deleted_and_can_be_repeated(
    client: AsyncArizeClient,
) -> None:
    dataset = await client.datasets.create("shrinking", QUESTIONS)
    ids = [e.id for e in await _examples(client, "shrinking")]
    result = await client.datasets.delete_examples("shrinking", [ids[0], "missing", ids[0]])
    assert result.completed and result.deleted_example_ids == [ids[0]] and result.not_deleted_example_ids == ["missing"]
    again = await client.datasets.delete_examples(dataset.id, [ids[0]])
    assert again.deleted_example_ids == [] and again.not_deleted_example_ids == [ids[0]]
    assert [e.id for e in await _examples(client, "shrinking")] == ids[1:]
    assert len((await client.datasets.get(dataset.id)).versions or []) == 1


async def test_deleting_from_a_new_version_keeps_the_example_in_the_old_one(client: AsyncArizeClient) -> None:
    dataset = await client.datasets.create("branch", QUESTIONS)
    assert dataset.versions is not None
    ids = [e.id for e in await _examples(client, "branch")]
    v2 = await client.datasets.update_examples("branch", [{"id": ids[0], "tag": "x"}], new_version="v2")
    await client.datasets.delete_examples("branch", [ids[0]], version=v2.dataset_version_id)
    assert [e.id for e in await _examples(client, "branch")] == ids[1:]
    assert [e.id for e in await _examples(client, "branch", version=dataset.versions[0].id)] == ids


async def test_search_filters_examples_and_pages_with_the_cursor_in_the_body(client: AsyncArizeClient) -> None:
    rows = [{"topic": "math" if i % 2 else "geo", "n": i} for i in range(7)]
    await client.datasets.create("searchable", rows)
    math_rows = [e.fields["n"] async for e in client.datasets.search_examples("searchable", filter="topic = 'math'")]
    assert math_rows == [1, 3, 5]

    first = await client.datasets.search_examples("searchable", filter="n >= 2", limit=2)
    assert [e.fields["n"] for e in first.items] == [2, 3] and first.has_more and first.next_cursor
    paged = [e.fields["n"] async for e in client.datasets.search_examples("searchable", filter="n >= 2", limit=2)]
    assert paged == [2, 3, 4, 5, 6]
    everything = [e.fields["n"] async for e in client.datasets.search_examples("searchable", filter="   ")]
    assert everything == list(range(7))


async def test_examples_are_annotated_unknown_ids_are_ignored_and_annotations_are_searchable(
    client: AsyncArizeClient, engine: Engine
) -> None:
    await create_annotation_config(client, "quality")
    await client.datasets.create("labelled", QUESTIONS)
    ids = [e.id for e in await _examples(client, "labelled")]
    await client.datasets.annotate_examples(
        "labelled",
        [
            {"record_id": ids[0], "values": [{"name": "quality", "label": "good", "score": 1.0}]},
            {"record_id": "not-an-example", "values": [{"name": "quality", "label": "bad"}]},
        ],
    )
    examples = await _examples(client, "labelled")
    notes = examples[0].annotations or []
    assert [(a.name, a.label, a.score) for a in notes] == [("quality", "good", 1.0)]
    assert all(not e.annotations for e in examples[1:])
    assert (await row_counts(engine))["annotations"] == 1

    found = client.datasets.search_examples("labelled", filter="annotation.quality.label = 'good'")
    assert [e.id async for e in found] == [ids[0]]

    with pytest.raises(NotFoundError, match="no annotation config named 'missing'"):
        await client.datasets.annotate_examples("labelled", [{"record_id": ids[0], "values": [{"name": "missing"}]}])


async def test_an_annotation_set_back_to_nothing_is_removed_and_a_partial_one_keeps_its_other_fields(
    client: AsyncArizeClient, engine: Engine
) -> None:
    await create_annotation_config(client, "quality")
    await client.datasets.create("labelled", QUESTIONS)
    first, second = [e.id for e in await _examples(client, "labelled")][:2]
    await client.datasets.annotate_examples(
        "labelled",
        [
            {"record_id": first, "values": [{"name": "quality", "label": "good", "text": "clear"}]},
            {"record_id": second, "values": [{"name": "quality", "label": "bad", "text": "vague"}]},
        ],
    )
    await client.datasets.annotate_examples(
        "labelled",
        [
            {"record_id": first, "values": [{"name": "quality", "label": None, "score": None, "text": None}]},
            {"record_id": second, "values": [{"name": "quality", "label": None}]},
        ],
    )

    by_id = {e.id: e.annotations or [] for e in await _examples(client, "labelled")}
    assert by_id[first] == []
    assert [(a.label, a.text) for a in by_id[second]] == [(None, "vague")]
    assert (await row_counts(engine))["annotations"] == 1


@pytest.mark.parametrize(
    ("examples", "detail"),
    [
        ([{"q": "a"}, {"id": "x", "q": "b"}], "examples[1]: must not contain 'id'"),
        ([{"q": "a", "created_at": "2024-01-01"}], "examples[0]: must not contain 'created_at'"),
        ([{"q": "a"}, {}], "examples[1]: an example needs at least one field"),
        ([{"q": i} for i in range(1001)], "examples: List should have at most 1000 items"),
        ([], "examples: List should have at least 1 item"),
    ],
)
async def test_bad_examples_on_create_are_a_400_naming_the_example_and_write_nothing(
    client: AsyncArizeClient, engine: Engine, examples: list[dict[str, Any]], detail: str
) -> None:
    before = await row_counts(engine)
    body = {"name": "bad", "space_id": client.space, "examples": examples}
    with pytest.raises(BadRequestError, match=re.escape(detail)):
        await client.request("POST", "/v2/datasets", json_body=body)
    assert await row_counts(engine) == before


async def test_bad_bodies_on_example_routes_are_400s_that_write_nothing(
    client: AsyncArizeClient, engine: Engine
) -> None:
    dataset = await client.datasets.create("strict", QUESTIONS)
    assert dataset.versions is not None
    version = dataset.versions[0].id
    ids = [e.id for e in await _examples(client, "strict")]
    path = f"/v2/datasets/{dataset.id}"
    before = await row_counts(engine)
    cases: list[tuple[str, str, dict[str, Any], str]] = [
        ("POST", "", {"name": "x", "space_id": client.space, "examples": [{"q": 1}], "tags": []}, "tags: unknown"),
        ("POST", "/examples", {"examples": [{"q": "a"}, {"id": ids[0]}]}, r"examples\[1\]: must not contain 'id'"),
        ("PATCH", "/examples", {"examples": [{"answer": "x"}]}, r"examples\[0\]: needs 'id'"),
        ("PATCH", "/examples", {"examples": [{"id": ids[0], "updated_at": "x"}]}, "must not contain 'updated_at'"),
        ("DELETE", "/examples", {"example_ids": [ids[0]]}, "dataset_version_id: Field required"),
        ("DELETE", "/examples", {"dataset_version_id": version, "example_ids": [ids[0], ids[0]]}, "more than once"),
        ("DELETE", "/examples", {"dataset_version_id": version, "example_ids": [""]}, r"example_ids\[0\]"),
        ("POST", "/examples/search", {"filter": "  "}, "filter must not be empty"),
        ("POST", "/examples/search", {"limit": 501}, "limit"),
        ("POST", "/examples/search", {"filter": "topic = "}, "invalid filter"),
        ("PATCH", "", {"name": "   "}, "name: must not be empty"),
    ]
    for method, suffix, body, detail in cases:
        target = "/v2/datasets" if method == "POST" and suffix == "" else path + suffix
        with pytest.raises(BadRequestError, match=detail):
            await client.request(method, target, json_body=body)
    assert await row_counts(engine) == before


async def test_a_version_of_another_dataset_is_a_404(client: AsyncArizeClient) -> None:
    first = await client.datasets.create("first", QUESTIONS)
    second = await client.datasets.create("second", QUESTIONS)
    assert second.versions is not None
    with pytest.raises(NotFoundError, match="dataset version"):
        await client.datasets.append_examples(first.id, [{"q": "x"}], version=second.versions[0].id)


async def test_a_cursor_from_another_dataset_is_rejected(client: AsyncArizeClient) -> None:
    first = await client.datasets.create("first", QUESTIONS)
    second = await client.datasets.create("second", QUESTIONS)
    page = await client.datasets.list_examples(first.id, limit=1)
    with pytest.raises(BadRequestError, match="cursor"):
        await client.request("GET", f"/v2/datasets/{second.id}/examples", params={"cursor": page.next_cursor})


async def test_deleting_a_dataset_removes_its_examples_annotations_and_experiments(
    client: AsyncArizeClient, engine: Engine
) -> None:
    await create_annotation_config(client, "quality")
    before = await row_counts(engine)
    dataset = await client.datasets.create("doomed", QUESTIONS)
    ids = [e.id for e in await _examples(client, "doomed")]
    await client.datasets.annotate_examples("doomed", [{"record_id": ids[0], "values": [{"name": "quality"}]}])
    await client.datasets.update_examples("doomed", [{"id": ids[0], "x": 1}], new_version="v2")
    experiment = await client.experiments.create(
        "baseline", [{"example_id": ids[0], "output": "4", "eval.c.score": 1.0}], dataset="doomed"
    )
    await client.datasets.delete(dataset.id)
    assert await row_counts(engine) == before
    with pytest.raises(NotFoundError):
        await client.experiments.get(experiment.id)
