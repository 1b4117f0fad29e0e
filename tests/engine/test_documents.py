"""Typed stored documents: old bodies load, and a load → dump round trip writes the JSON that was stored."""

from __future__ import annotations

import json
import sqlite3
from typing import Any

import pytest

from arize_skills.engine.store.documents import (
    AnnotationConfigDoc,
    Document,
    EvaluationRunParameters,
    EvaluatorDoc,
    EvaluatorVersionDoc,
    ExperimentRunParameters,
    IntegrationDoc,
    IntegrationScopingDoc,
    OrganizationDoc,
    ProjectDoc,
    SpaceDoc,
    TaskDoc,
    TaskRunDoc,
)
from arize_skills.engine.store.objects import document, insert_object, update_document

TASK_BODY: dict[str, Any] = {
    "type": "TEMPLATE_EVALUATION",
    "project_id": "TW9kZWw6MTp4",
    "project_num": 1,
    "dataset_id": None,
    "dataset_num": None,
    "sampling_rate": 1,
    "is_continuous": True,
    "query_filter": None,
    "query_filters": {"filters": [{"id": "A", "filter": "span_kind = 'LLM'"}], "expression": "A"},
    "data_granularity": "TRACE",
    "evaluators": [
        {
            "evaluator_id": "RXZhbHVhdG9yOjI6eQ==",
            "evaluator_num": 2,
            "evaluator_version_id": None,
            "evaluator_version_num": None,
            "query_filter": None,
            "column_mappings": None,
            "query_mappings": [{"variable_name": "input", "query_ids": ["A"], "path": "attributes.input.value"}],
            "legacy_entry_key": 7,
        }
    ],
    "experiment_ids": [],
    "experiment_nums": [],
    "run_configuration": None,
    "last_run_at": None,
    "created_by_user_id": "local",
    "continuous_cursor": "2026-01-01T00:00:00.000+00:00",
    "a_key_from_an_older_engine": {"kept": True},
}

RUN_BODY: dict[str, Any] = {
    "task_id": "VGFzazozOno=",
    "task_type": "RUN_EXPERIMENT",
    "status": "COMPLETED",
    "experiment_id": None,
    "experiment_num": None,
    "run_started_at": None,
    "run_finished_at": None,
    "data_start_time": None,
    "data_end_time": None,
    "num_successes": 3,
    "num_errors": 0,
    "num_skipped": 0,
    "failure_reason": None,
    "created_by_user_id": "local",
    "parameters": {
        "experiment_name": "exp",
        "dataset_num": 4,
        "dataset_version_id": None,
        "dataset_version_num": None,
        "example_ids": None,
        "max_examples": None,
        "query_filter": None,
        "tracing_metadata": None,
        "evaluation_task_ids": ["VGFzazo1OnY="],
        "evaluation_task_nums": [5],
    },
    "notes": ["resumed"],
    "unknown": 1,
}

VERSION_BODY: dict[str, Any] = {
    "type": "TEMPLATE",
    "commit_message": None,
    "created_by_user_id": "local",
    "template_config": {
        "name": "quality",
        "template": "Rate {{input}}",
        "include_explanations": True,
        "use_function_calling": True,
        "classification_choices": {"good": 1, "bad": 0.0},
        "llm_config": {"ai_integration_id": "TGxtOjE6eg==", "model_name": "m", "invocation_parameters": {}},
        "use_structured_output": True,
        "direction": "MAXIMIZE",
        "data_granularity": "SPAN",
    },
    "ai_integration_num": 1,
    "commit_hash": "abc",
}

INTEGRATION_BODY: dict[str, Any] = {
    "provider": "openAI",
    "base_url": None,
    "model_names": ["gpt"],
    "headers": None,
    "enable_default_models": None,
    "function_calling_enabled": True,
    "auth_type": "DEFAULT",
    "provider_metadata": None,
    "created_by_user_id": "local",
    "scopings": [{"organization_num": 1, "space_num": None}],
}

SPACE_BODY: dict[str, Any] = {
    "description": None,
    "is_private": False,
    "default_llm_integration": {"integration_id": "TGxtSW50ZWdyYXRpb246MTp6", "model_name": "gpt"},
    "ml_models_enabled": True,
    "gradient_start_color": "#000000",
    "gradient_end_color": None,
    "default_agent_runtime": None,
    "from_an_older_engine": [1, 2],
}

CATEGORICAL_BODY: dict[str, Any] = {
    "type": "CATEGORICAL",
    "values": [{"label": "good", "score": 1}, {"label": "bad", "score": 0.5}, {"label": "meh", "score": None}],
    "optimization_direction": "MAXIMIZE",
}

CONTINUOUS_BODY: dict[str, Any] = {
    "type": "CONTINUOUS",
    "minimum_score": 0,
    "maximum_score": 1.5,
    "optimization_direction": "NONE",
    "legacy": True,
}


@pytest.mark.parametrize(
    ("model", "body"),
    [
        (TaskDoc, TASK_BODY),
        (TaskRunDoc, RUN_BODY),
        (EvaluatorVersionDoc, VERSION_BODY),
        (EvaluatorDoc, {"type": "CODE", "description": None, "created_by_user_id": "local"}),
        (IntegrationDoc, INTEGRATION_BODY),
        (TaskDoc, {"type": "CODE_EVALUATION"}),
        (SpaceDoc, SPACE_BODY),
        (SpaceDoc, {"description": "Created by the local engine on first start.", "is_private": False}),
        (SpaceDoc, {}),
        (OrganizationDoc, {"description": ""}),
        (OrganizationDoc, {"description": None, "old": 1}),
        (OrganizationDoc, {}),
        (ProjectDoc, {"project_type": "APPLICATION"}),
        (ProjectDoc, {"project_type": None, "old": {"x": 1}}),
        (ProjectDoc, {}),
        (AnnotationConfigDoc, CATEGORICAL_BODY),
        (AnnotationConfigDoc, CONTINUOUS_BODY),
        (AnnotationConfigDoc, {"type": "FREEFORM"}),
    ],
)
def test_round_trip_writes_the_stored_json(model: type[Document], body: dict[str, Any]) -> None:
    # Same keys, same nulls, same number types (1 stays 1, not 1.0), extras kept.
    assert json.dumps(model.load(body).to_body(), sort_keys=True) == json.dumps(body, sort_keys=True)


def test_old_bodies_with_unknown_keys_load() -> None:
    task = TaskDoc.load(TASK_BODY)
    assert task.extra("a_key_from_an_older_engine") == {"kept": True}
    assert task.evaluators is not None and task.evaluators[0].extra("legacy_entry_key") == 7
    assert task.query_filters is not None and task.query_filters.filters[0].id == "A"
    run = TaskRunDoc.load(RUN_BODY)
    assert run.experiment_parameters().evaluation_task_nums == [5]
    assert run.extra("unknown") == 1


def test_absent_keys_stay_absent_and_assigned_ones_are_written() -> None:
    doc = TaskDoc.load({"type": "TEMPLATE_EVALUATION", "is_continuous": False})
    assert "last_run_at" not in doc.to_body()
    doc.last_run_at = "2026-01-02T00:00:00.000+00:00"
    doc.query_filter = None
    assert doc.to_body() == {
        "type": "TEMPLATE_EVALUATION",
        "is_continuous": False,
        "last_run_at": "2026-01-02T00:00:00.000+00:00",
        "query_filter": None,
    }


def test_unset_removes_a_key() -> None:
    doc = TaskDoc.load(TASK_BODY)
    doc.unset("continuous_cursor")
    body = doc.to_body()
    assert "continuous_cursor" not in body
    assert doc.continuous_cursor is None
    assert body == {k: v for k, v in TASK_BODY.items() if k != "continuous_cursor"}


def test_run_parameters_write_only_what_was_given() -> None:
    chained = EvaluationRunParameters(max_spans=10, override_evaluations=False, experiment_ids=[], experiment_nums=[])
    assert chained.to_body() == {
        "max_spans": 10,
        "override_evaluations": False,
        "experiment_ids": [],
        "experiment_nums": [],
    }
    assert ExperimentRunParameters(experiment_name="e", example_ids=None).to_body() == {
        "experiment_name": "e",
        "example_ids": None,
    }


def test_stored_object_accessors() -> None:
    conn = sqlite3.connect(":memory:")
    conn.execute(
        "CREATE TABLE objects (num INTEGER PRIMARY KEY, kind TEXT, suffix TEXT, space_num INTEGER,"
        " parent_num INTEGER, name TEXT, body TEXT, created_at TEXT, updated_at TEXT)"
    )
    obj = insert_object(conn, "TaskRun", body=RUN_BODY, now="2026-01-01T00:00:00+00:00")
    doc = document(obj, TaskRunDoc)
    doc.status, doc.num_errors = "FAILED", 2
    update_document(conn, obj, doc, now="2026-01-01T00:00:01+00:00")
    stored = json.loads(conn.execute("SELECT body FROM objects WHERE num = ?", (obj.num,)).fetchone()[0])
    assert stored == {**RUN_BODY, "status": "FAILED", "num_errors": 2}
    assert obj.body == stored


def test_space_organization_and_project_defaults_read_as_before() -> None:
    # What ``body.get(key, default)`` gave: the default when absent, the stored value (even null) when present.
    space = SpaceDoc.load({"from_an_older_engine": 1})
    assert (space.is_private, space.ml_models_enabled, space.description, space.default_llm_integration) == (
        False,
        False,
        None,
        None,
    )
    assert space.to_body() == {"from_an_older_engine": 1}
    assert OrganizationDoc.load({}).description == ""
    assert OrganizationDoc.load({"description": None}).description is None
    assert ProjectDoc.load({}).project_type is None
    # The bodies the routes and the engine write, as the dict literals they replace wrote them.
    assert OrganizationDoc().to_body() == {}
    assert OrganizationDoc(description="").to_body() == {"description": ""}
    assert SpaceDoc(description=None, is_private=False).to_body() == {"description": None, "is_private": False}
    assert ProjectDoc(project_type="APPLICATION").to_body() == {"project_type": "APPLICATION"}


def test_space_update_assigns_the_sent_fields() -> None:
    doc = SpaceDoc.load(SPACE_BODY)
    for field, value in {"description": "d", "default_llm_integration": None}.items():
        setattr(doc, field, value)
    assert doc.to_body() == {**SPACE_BODY, "description": "d", "default_llm_integration": None}


def test_annotation_config_documents() -> None:
    created = AnnotationConfigDoc(type="CONTINUOUS")
    created.minimum_score, created.maximum_score = 0, 10
    created.optimization_direction = "NONE"
    assert json.dumps(created.to_body()) == json.dumps(
        {"type": "CONTINUOUS", "minimum_score": 0, "maximum_score": 10, "optimization_direction": "NONE"}
    )
    assert AnnotationConfigDoc(type="FREEFORM").to_body() == {"type": "FREEFORM"}
    doc = AnnotationConfigDoc.load(CONTINUOUS_BODY)
    assert isinstance(doc.minimum_score, int) and doc.maximum_score == 1.5
    assert doc.extra("legacy") is True
    doc.maximum_score = 2
    assert doc.to_body() == {**CONTINUOUS_BODY, "maximum_score": 2}
    categorical = AnnotationConfigDoc.load(CATEGORICAL_BODY)
    assert categorical.values is not None and categorical.values[0] == {"label": "good", "score": 1}


def test_integration_scopings_compare_by_value() -> None:
    # ``_resolve_scopings`` drops a repeated scoping by equality, as it did with dicts.
    a = IntegrationScopingDoc(organization_num=1, space_num=None)
    assert a == IntegrationScopingDoc(organization_num=1, space_num=None)
    assert a != IntegrationScopingDoc(organization_num=1, space_num=2)
    doc = IntegrationDoc.load(INTEGRATION_BODY)
    doc.scopings = [a, IntegrationScopingDoc(organization_num=None, space_num=3)]
    assert doc.to_body()["scopings"] == [
        {"organization_num": 1, "space_num": None},
        {"organization_num": None, "space_num": 3},
    ]
