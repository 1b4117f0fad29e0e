"""Annotation queues on the engine, through the client: queues, records from every source, labels and people."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta
from typing import Any

import pytest

from arize_skills.client import AsyncArizeClient
from arize_skills.engine import Engine
from arize_skills.errors import BadRequestError, ConflictError, NotFoundError, UnprocessableEntityError
from arize_skills.models.ids import decode_id

from .otlp_payloads import ingest, span

NOW = datetime.now(UTC).replace(microsecond=0)
WINDOW = {"start_time": (NOW - timedelta(days=1)).isoformat(), "end_time": (NOW + timedelta(minutes=1)).isoformat()}


def sid(n: int) -> str:
    return f"{n:016x}"


def tid(n: int) -> str:
    return f"{n:032x}"


async def seed(engine: Engine, client: AsyncArizeClient) -> dict[str, Any]:
    """Three traces (root + child) in project 'app', two in session 's1'; a dataset of three examples; configs."""
    spans = []
    for n in (1, 2, 3):
        session = {"session.id": "s1"} if n < 3 else {"session.id": "s2"}
        start = NOW - timedelta(hours=n)
        spans.append(
            span(
                sid(n * 10),
                trace_id=tid(n),
                name="agent",
                start=start,
                attributes={"input.value": f"question {n}", "output.value": f"answer {n}", **session},
            )
        )
        spans.append(span(sid(n * 10 + 1), trace_id=tid(n), parent_id=sid(n * 10), name="tool", start=start))
    await ingest(engine, "app", spans)
    project = await client.projects.get("app")
    dataset = await client.datasets.create("replies", [{"question": f"q{i}", "answer": f"a{i}"} for i in range(3)])
    examples = [e async for e in client.datasets.list_examples(dataset.id)]
    correctness = await client.annotation_configs.create_categorical("correctness", [("correct", 1), ("wrong", 0)])
    quality = await client.annotation_configs.create_continuous("quality", minimum_score=0, maximum_score=5)
    notes = await client.annotation_configs.create_freeform("notes")
    return {
        "project": project,
        "dataset": dataset,
        "examples": examples,
        "configs": [correctness, quality, notes],
    }


async def test_a_queue_is_created_with_records_from_spans_and_examples_read_updated_and_deleted(
    engine: Engine, client: AsyncArizeClient
) -> None:
    seeded = await seed(engine, client)
    queue = await client.annotation_queues.create(
        "review",
        annotation_configs=["correctness", "notes"],
        annotator_emails=["Reviewer@Example.com", "local@arize-skills"],
        instructions="Is the answer correct?",
        record_sources=[
            {"record_type": "SPAN", "project_id": seeded["project"].id, "span_ids": [sid(10), sid(20)], **WINDOW},
            {"record_type": "EXAMPLE", "dataset_id": seeded["dataset"].id},
        ],
    )
    assert decode_id(queue.id).type_name == "AnnotationQueue"  # type: ignore[union-attr]
    assert [c.name for c in queue.annotation_configs] == ["correctness", "notes"]
    assert [a.email for a in queue.annotators] == ["reviewer@example.com", "local@arize-skills"]
    assert queue.instructions == "Is the answer correct?" and queue.space_id == client.space

    records = [r async for r in client.annotation_queues.list_records(queue.id)]
    assert [(r.source_type, r.granularity) for r in records] == [("SPANS", "SPAN")] * 2 + [("DATASET", None)] * 3
    first = records[0]
    assert first.data["context.span_id"] == sid(10) and first.data["attributes.input.value"] == "question 1"
    assert records[2].data["question"] == "q0" and records[2].data["id"] == seeded["examples"][0].id
    assert [u.user.email for u in first.assigned_users if u.user] == ["reviewer@example.com", "local@arize-skills"]
    assert {u.completion_status for u in first.assigned_users} == {"PENDING"}

    assert (await client.annotation_queues.get("review")).id == queue.id
    assert [q.name async for q in client.annotation_queues.list(name="REV")] == ["review"]
    renamed = await client.annotation_queues.update(queue.id, name="review 2", instructions=None)
    assert renamed.name == "review 2" and renamed.instructions is None
    assert renamed.updated_at is not None and queue.updated_at is not None and renamed.updated_at > queue.updated_at

    await client.annotation_queues.delete(queue.id)
    with pytest.raises(NotFoundError):
        await client.annotation_queues.get(queue.id)


async def test_labels_written_through_a_queue_land_on_the_records_and_complete_the_engines_own_assignment(
    engine: Engine, client: AsyncArizeClient
) -> None:
    seeded = await seed(engine, client)
    queue = await client.annotation_queues.create(
        "labels",
        annotation_configs=["correctness", "quality", "notes"],
        annotator_emails=["local@arize-skills"],
        record_sources=[
            {"record_type": "SPAN", "project_id": seeded["project"].id, "span_ids": [sid(10)], **WINDOW},
            {"record_type": "EXAMPLE", "dataset_id": seeded["dataset"].id, "example_ids": [seeded["examples"][1].id]},
        ],
    )
    span_record, example_record = [r async for r in client.annotation_queues.list_records(queue.id)]
    answer = await client.annotation_queues.annotate_record(
        queue.id, span_record.id, [{"name": "correctness", "label": "wrong"}, {"name": "notes", "text": "off topic"}]
    )
    assert [(a.name, a.label, a.text) for a in answer.annotations] == [
        ("correctness", "wrong", None),
        ("notes", None, "off topic"),
    ]
    # An upsert by name: a later label replaces the earlier one, and an omitted field stays.
    await client.annotation_queues.annotate_record(
        queue.id, span_record.id, [{"name": "correctness", "label": "correct"}]
    )
    await client.annotation_queues.annotate_record(queue.id, example_record.id, [{"name": "quality", "score": 4}])

    spans = [s async for s in client.spans.list("app", filter=f"context.span_id = '{sid(10)}'")]
    assert {(a.name, a.label, a.text) for a in spans[0].annotations} == {
        ("correctness", "correct", None),
        ("notes", None, "off topic"),
    }
    examples = [e async for e in client.datasets.list_examples(seeded["dataset"].id)]
    labelled = next(e for e in examples if e.id == seeded["examples"][1].id)
    assert labelled.model_dump()["annotations"][0]["score"] == 4  # type: ignore[index]

    records = [r async for r in client.annotation_queues.list_records(queue.id)]
    assert [u.completion_status for r in records for u in r.assigned_users] == ["COMPLETED", "COMPLETED"]
    assert {a.name for a in records[0].annotations} == {"correctness", "notes"}

    # Deleting the queue leaves the labels on the records: they are the user's data.
    await client.annotation_queues.delete(queue.id)
    spans = [s async for s in client.spans.list("app", filter=f"context.span_id = '{sid(10)}'")]
    assert len(spans[0].annotations) == 2


async def test_trace_and_session_records_resolve_to_root_spans_and_label_at_their_granularity(
    engine: Engine, client: AsyncArizeClient
) -> None:
    seeded = await seed(engine, client)
    project_id = seeded["project"].id
    queue = await client.annotation_queues.create(
        "traces",
        annotation_configs=["correctness"],
        annotator_emails=["local@arize-skills"],
        record_sources=[
            {"record_type": "TRACE", "project_id": project_id, "trace_ids": [tid(1)], **WINDOW},
            {"record_type": "SESSION", "project_id": project_id, "session_ids": ["s1"], **WINDOW},
        ],
    )
    trace_record, session_record = [r async for r in client.annotation_queues.list_records(queue.id)]
    assert trace_record.granularity == "TRACE" and trace_record.data["context.span_id"] == sid(10)
    # A session's record is its earliest trace's root span: trace 2 started before trace 1.
    assert session_record.granularity == "SESSION" and session_record.data["context.span_id"] == sid(20)
    await client.annotation_queues.annotate_record(
        queue.id, trace_record.id, [{"name": "correctness", "label": "correct"}]
    )
    await client.annotation_queues.annotate_record(
        queue.id, session_record.id, [{"name": "correctness", "label": "wrong"}]
    )
    trace_record, session_record = [r async for r in client.annotation_queues.list_records(queue.id)]
    assert [a.label for a in trace_record.trace_annotations] == ["correct"] and not trace_record.annotations
    assert [a.label for a in session_record.session_annotations] == ["wrong"]


async def test_adding_records_passes_over_those_present_and_deleting_them_keeps_the_rest(
    engine: Engine, client: AsyncArizeClient
) -> None:
    seeded = await seed(engine, client)
    source = {"record_type": "SPAN", "project_id": seeded["project"].id, "span_ids": [sid(10), sid(20)], **WINDOW}
    queue = await client.annotation_queues.create(
        "adds", annotation_configs=["correctness"], annotator_emails=["a@example.com"]
    )
    added = await client.annotation_queues.add_records(queue.id, [source])
    assert len(added) == 2
    raw = await client.request(
        "POST", f"/v2/annotation-queues/{queue.id}/records", json_body={"record_sources": [source]}
    )
    assert raw == {"record_sources": []}
    again = {**source, "span_ids": [sid(20), sid(30)]}
    assert [r.data["context.span_id"] for r in await client.annotation_queues.add_records(queue.id, [again])] == [
        sid(30)
    ]
    await client.annotation_queues.delete_records(queue.id, [added[0].id, "not-a-record-id"])
    left = [r.data["context.span_id"] async for r in client.annotation_queues.list_records(queue.id)]
    assert left == [sid(20), sid(30)]


async def test_people_are_replaced_per_record_and_random_assignment_gives_each_record_one_person(
    engine: Engine, client: AsyncArizeClient
) -> None:
    seeded = await seed(engine, client)
    queue = await client.annotation_queues.create(
        "people",
        annotation_configs=["correctness"],
        annotator_emails=["a@example.com", "b@example.com"],
        assignment_method="RANDOM",
        record_sources=[{"record_type": "EXAMPLE", "dataset_id": seeded["dataset"].id}],
    )
    records = [r async for r in client.annotation_queues.list_records(queue.id)]
    assert all(len(r.assigned_users) == 1 for r in records)
    assert {u.user.email for r in records for u in r.assigned_users if u.user} <= {"a@example.com", "b@example.com"}
    answer = await client.annotation_queues.assign_record(queue.id, records[0].id, ["c@example.com", "C@example.com"])
    assert [(u.user.email if u.user else None, u.completion_status) for u in answer.assigned_users] == [
        ("c@example.com", "PENDING")
    ]
    # The same email always has the same user ID.
    assert answer.assigned_users[0].user is not None
    again = await client.annotation_queues.assign_record(queue.id, records[1].id, ["c@example.com"])
    assert again.assigned_users[0].user is not None
    assert again.assigned_users[0].user.id == answer.assigned_users[0].user.id
    cleared = await client.annotation_queues.assign_record(queue.id, records[0].id, [])
    assert cleared.assigned_users == []


async def test_bad_requests_are_refused_with_what_to_fix_and_nothing_written(
    engine: Engine, client: AsyncArizeClient
) -> None:
    seeded = await seed(engine, client)
    project_id = seeded["project"].id
    await client.annotation_queues.create("taken", annotation_configs=["correctness"], annotator_emails=["a@b.c"])
    with pytest.raises(ConflictError, match="already exists"):
        await client.annotation_queues.create("taken", annotation_configs=["correctness"], annotator_emails=["a@b.c"])
    with pytest.raises(NotFoundError, match=r"1 of 2 IDs match no span .*'ffffffffffffffff'; nothing was added"):
        await client.annotation_queues.create(
            "missing",
            annotation_configs=["correctness"],
            annotator_emails=["a@b.c"],
            record_sources=[
                {"record_type": "SPAN", "project_id": project_id, "span_ids": [sid(10), "f" * 16], **WINDOW}
            ],
        )
    assert [q.name async for q in client.annotation_queues.list()] == ["taken"], "the failed create left nothing"
    too_long = {"start_time": (NOW - timedelta(days=8)).isoformat(), "end_time": NOW.isoformat()}
    with pytest.raises(BadRequestError, match="must not exceed 7 days"):
        await client.request(
            "POST",
            "/v2/annotation-queues",
            json_body={
                "name": "window",
                "space_id": client.space,
                "annotation_config_ids": [seeded["configs"][0].id],
                "annotator_emails": ["a@b.c"],
                "record_sources": [
                    {"record_type": "SPAN", "project_id": project_id, "span_ids": [sid(10)], **too_long}
                ],
            },
        )
    queue = await client.annotation_queues.create(
        "checks",
        annotation_configs=["correctness", "quality"],
        annotator_emails=["a@b.c"],
        record_sources=[{"record_type": "SPAN", "project_id": project_id, "span_ids": [sid(10)], **WINDOW}],
    )
    record = [r async for r in client.annotation_queues.list_records(queue.id)][0]
    with pytest.raises(BadRequestError, match="'notes' is not an annotation config of this queue"):
        await client.annotation_queues.annotate_record(queue.id, record.id, [{"name": "notes", "text": "x"}])
    with pytest.raises(BadRequestError, match="label 'maybe' is not one of 'correct', 'wrong'"):
        await client.annotation_queues.annotate_record(queue.id, record.id, [{"name": "correctness", "label": "maybe"}])
    with pytest.raises(BadRequestError, match="outside 0..5"):
        await client.annotation_queues.annotate_record(queue.id, record.id, [{"name": "quality", "score": 9}])
    with pytest.raises(BadRequestError, match="cannot be null"):
        await client.request(
            "POST",
            f"/v2/annotation-queues/{queue.id}/records/{record.id}/annotate",
            json_body={"annotations": [{"name": "correctness", "label": None}]},
        )
    with pytest.raises(NotFoundError, match="record"):
        await client.annotation_queues.annotate_record(
            queue.id, seeded["configs"][0].id, [{"name": "quality", "score": 1}]
        )
    home = await client.spaces.get(client.space or "")
    other = await client.spaces.create(name="elsewhere", organization_id=home.organization_id)
    foreign = await client.annotation_configs.create_freeform("foreign", space=other.id)
    with pytest.raises(UnprocessableEntityError, match="another space"):
        await client.annotation_queues.update(queue.id, annotation_configs=[foreign.id])
    with pytest.raises(BadRequestError, match="at least one of"):
        await client.request("PATCH", f"/v2/annotation-queues/{queue.id}", json_body={})
    spans = [s async for s in client.spans.list("app", filter=f"context.span_id = '{sid(10)}'")]
    assert spans[0].annotations == [], "no refused label was written"
