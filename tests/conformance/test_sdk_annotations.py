"""The official SDK annotates spans (sent through an OTLP/HTTP exporter), dataset examples and experiment runs."""

from __future__ import annotations

import pytest
from arize import ArizeClient
from arize._generated.api_client.exceptions import NotFoundException
from arize.annotation_configs.types import CategoricalAnnotationValueRequest
from arize.experiments.types import ExperimentTaskFieldNames
from arize.spans.types import AnnotateRecordInput, AnnotationInput

from tests.conformance.conftest import SpanSender
from tests.conformance.test_sdk_datasets import QUESTIONS


def _correctness_configs(sdk: ArizeClient, space_id: str) -> None:
    sdk.annotation_configs.create_categorical(
        name="Correctness",
        space=space_id,
        values=[
            CategoricalAnnotationValueRequest(label="correct", score=1),
            CategoricalAnnotationValueRequest(label="incorrect", score=0),
        ],
    )
    sdk.annotation_configs.create_freeform(name="Notes", space=space_id)


def _by_name(annotations: object) -> dict[str, tuple[object, object, object]]:
    assert isinstance(annotations, list)
    return {a.name: (a.label, a.score, a.text) for a in annotations}


def test_spans_sent_by_an_otlp_exporter_are_listed_and_annotated(
    sdk: ArizeClient, space_id: str, send_spans: SpanSender
) -> None:
    sent = send_spans.send("otel-app", ["first", "second", "third"])

    listed = sdk.spans.list(project="otel-app", space=space_id)
    assert listed.spans is not None and listed.pagination is not None
    by_id = {s.context.span_id: s for s in listed.spans if s.context is not None}
    assert set(by_id) == {s.span_id for s in sent}
    first = by_id[sent[0].span_id]
    assert first.name == "first" and first.context is not None and first.context.trace_id == sent[0].trace_id
    assert first.kind is not None and first.kind.value == "LLM"
    assert (first.attributes or {}).get("input.value") == "question for first"

    _correctness_configs(sdk, space_id)
    sdk.spans.annotate(
        project="otel-app",
        space=space_id,
        annotations=[
            AnnotateRecordInput(
                record_id=sent[0].span_id,
                values=[
                    AnnotationInput(name="Correctness", label="correct", score=1),
                    AnnotationInput(name="Notes", text="checked by hand"),
                ],
            ),
            AnnotateRecordInput(
                record_id=sent[1].span_id, values=[AnnotationInput(name="Correctness", label="incorrect")]
            ),
        ],
    )
    annotated = sdk.spans.list(project="otel-app", space=space_id, filter="annotation.Correctness.label = 'correct'")
    assert [s.context.span_id for s in annotated.spans or [] if s.context] == [sent[0].span_id]
    [span] = annotated.spans or []
    values = _by_name(span.annotations)
    assert values["Correctness"][:2] == ("correct", 1) and values["Notes"][2] == "checked by hand"


def test_annotating_an_unknown_span_is_a_404_for_the_whole_batch(
    sdk: ArizeClient, space_id: str, send_spans: SpanSender
) -> None:
    [sent] = send_spans.send("strict-app", ["only"])
    _correctness_configs(sdk, space_id)
    with pytest.raises(NotFoundException):
        sdk.spans.annotate(
            project="strict-app",
            space=space_id,
            annotations=[
                AnnotateRecordInput(
                    record_id=sent.span_id, values=[AnnotationInput(name="Correctness", label="correct")]
                ),
                AnnotateRecordInput(
                    record_id="00000000deadbeef", values=[AnnotationInput(name="Correctness", label="correct")]
                ),
            ],
        )
    [span] = sdk.spans.list(project="strict-app", space=space_id).spans or []
    assert not span.annotations


def test_dataset_examples_are_annotated_and_unknown_ids_are_ignored(sdk: ArizeClient, space_id: str) -> None:
    _correctness_configs(sdk, space_id)
    dataset = sdk.datasets.create(name="labelled", space=space_id, examples=QUESTIONS)
    examples = sdk.datasets.list_examples(dataset=dataset.id or "").examples or []
    target = examples[0].id or ""

    sdk.datasets.annotate_examples(
        dataset="labelled",
        space=space_id,
        annotations=[
            AnnotateRecordInput(
                record_id=target, values=[AnnotationInput(name="Correctness", label="incorrect", score=0)]
            ),
            AnnotateRecordInput(record_id="not-an-example", values=[AnnotationInput(name="Notes", text="ignored")]),
        ],
    )
    after = {e.id: e for e in sdk.datasets.list_examples(dataset=dataset.id or "").examples or []}
    assert _by_name(after[target].annotations)["Correctness"][:2] == ("incorrect", 0)
    assert all(not e.annotations for i, e in after.items() if i != target)
    assert after[target].annotations and after[target].annotations[0].updated_at is not None


def test_experiment_runs_are_annotated_and_read_back_through_run_search(sdk: ArizeClient, space_id: str) -> None:
    _correctness_configs(sdk, space_id)
    dataset = sdk.datasets.create(name="run-labels", space=space_id, examples=QUESTIONS)
    examples = sdk.datasets.list_examples(dataset=dataset.id or "").examples or []
    experiment = sdk.experiments.create(
        name="labelled-runs",
        dataset=dataset.id,
        experiment_runs=[{"example_id": e.id, "output": "42"} for e in examples],
        task_fields=ExperimentTaskFieldNames(output="output", example_id="example_id"),
    )
    runs = sdk.experiments.list_runs(experiment=experiment.id or "").experiment_runs or []
    target = runs[0].id or ""

    sdk.experiments.annotate_runs(
        experiment="labelled-runs",
        dataset=dataset.id,
        annotations=[
            AnnotateRecordInput(
                record_id=target,
                values=[
                    AnnotationInput(name="Correctness", label="incorrect"),
                    AnnotationInput(name="Notes", text="wrong"),
                ],
            )
        ],
    )
    after = {r.id: r for r in sdk.experiments.list_runs(experiment=experiment.id or "").experiment_runs or []}
    values = _by_name(after[target].annotations)
    assert values["Correctness"][0] == "incorrect" and values["Notes"][2] == "wrong"
    flagged = sdk.experiments.list_runs(
        experiment=experiment.id or "", filter="annotation.Correctness.label = 'incorrect'"
    )
    assert [r.id for r in flagged.experiment_runs or []] == [target]
