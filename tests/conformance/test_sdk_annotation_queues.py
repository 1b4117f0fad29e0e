"""The official SDK drives annotation queues on the engine: records from spans and examples, labels, people."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

import pytest
from arize import ArizeClient
from arize._generated.api_client.exceptions import ConflictException, NotFoundException
from arize.annotation_configs.types import CategoricalAnnotationValueRequest
from arize.annotation_queues.types import (
    AnnotationInput,
    AnnotationQueueExampleRecordInput,
    AnnotationQueueSpanRecordInput,
)

from tests.conformance.conftest import SpanSender
from tests.conformance.test_sdk_datasets import QUESTIONS


def test_a_queue_of_spans_and_examples_is_labelled_through_the_sdk_and_the_labels_land_on_the_records(
    sdk: ArizeClient, space_id: str, send_spans: SpanSender
) -> None:
    sent = send_spans.send("queued-app", ["first", "second"])
    project = sdk.projects.get(project="queued-app", space=space_id)
    config = sdk.annotation_configs.create_categorical(
        name="Correctness",
        space=space_id,
        values=[
            CategoricalAnnotationValueRequest(label="correct", score=1),
            CategoricalAnnotationValueRequest(label="incorrect", score=0),
        ],
    )
    dataset = sdk.datasets.create(name="to-review", space=space_id, examples=QUESTIONS)
    now = datetime.now(UTC)
    queue = sdk.annotation_queues.create(
        name="Review",
        space=space_id,
        annotation_config_ids=[config.id or ""],
        annotator_emails=["local@arize-skills", "reviewer@example.com"],
        instructions="Label each answer.",
        record_sources=[
            AnnotationQueueSpanRecordInput(
                record_type="SPAN",
                project_id=project.id or "",
                start_time=now - timedelta(hours=1),
                end_time=now + timedelta(minutes=1),
                span_ids=[s.span_id for s in sent],
            ),
            AnnotationQueueExampleRecordInput(record_type="EXAMPLE", dataset_id=dataset.id or ""),
        ],
    )
    assert queue.id and queue.name == "Review" and queue.space_id == space_id
    assert [c.actual_instance.name for c in queue.annotation_configs or [] if c.actual_instance] == ["Correctness"]
    assert [a.email for a in queue.annotators or []] == ["local@arize-skills", "reviewer@example.com"]

    fetched = sdk.annotation_queues.get(annotation_queue="Review", space=space_id)
    assert fetched.id == queue.id and fetched.instructions == "Label each answer."
    listed = sdk.annotation_queues.list(space=space_id)
    assert [q.name for q in listed.annotation_queues or []] == ["Review"]

    records = sdk.annotation_queues.list_records(annotation_queue=queue.id, limit=10).records or []
    assert [r.source_type for r in records] == ["SPANS", "SPANS", "DATASET", "DATASET", "DATASET"]
    span_record = records[0]
    assert span_record.data is not None and span_record.data["attributes.input.value"] == "question for first"

    answer = sdk.annotation_queues.annotate_record(
        annotation_queue=queue.id,
        record_id=span_record.id or "",
        annotations=[AnnotationInput(name="Correctness", label="incorrect")],
    )
    assert [(a.name, a.label) for a in answer.annotations or []] == [("Correctness", "incorrect")]
    spans = sdk.spans.list(project="queued-app", space=space_id).spans or []
    labelled = next(s for s in spans if s.context is not None and s.context.span_id == sent[0].span_id)
    assert [(a.name, a.label) for a in labelled.annotations or []] == [("Correctness", "incorrect")]

    assigned = sdk.annotation_queues.assign_record(
        annotation_queue=queue.id, record_id=records[1].id or "", assigned_user_emails=["reviewer@example.com"]
    )
    assert [(u.user.email if u.user else None) for u in assigned.assigned_users or []] == ["reviewer@example.com"]

    sdk.annotation_queues.delete_records(annotation_queue=queue.id, record_ids=[records[4].id or ""])
    assert len(sdk.annotation_queues.list_records(annotation_queue=queue.id).records or []) == 4
    updated = sdk.annotation_queues.update(annotation_queue=queue.id, name="Review (done)")
    assert updated.name == "Review (done)"

    with pytest.raises(ConflictException):
        sdk.annotation_queues.create(
            name="Review (done)", space=space_id, annotation_config_ids=[config.id or ""], annotator_emails=["a@b.c"]
        )
    sdk.annotation_queues.delete(annotation_queue=queue.id)
    with pytest.raises(NotFoundException):
        sdk.annotation_queues.get(annotation_queue=queue.id)
