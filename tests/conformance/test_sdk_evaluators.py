"""The official SDK creates template (LLM-judge) and managed code evaluators and their versions on the engine."""

from __future__ import annotations

import pytest
from arize import ArizeClient
from arize._generated.api_client.exceptions import ApiException, NotFoundException
from arize.evaluators.types import (
    CodeConfigRequest,
    EvaluatorType,
    EvaluatorVersionCode,
    EvaluatorVersionTemplate,
    ManagedCodeConfig,
    ManagedCodeConfigRequest,
    ManagedCodeEvaluator,
    OptimizationDirection,
    StaticParamDefaultValue,
    StaticParamRequest,
    StaticParamType,
)

from tests.conformance.conftest import judge_template


def test_a_template_evaluator_round_trips_its_judge_config(
    sdk: ArizeClient, space_id: str, ai_integration_id: str
) -> None:
    created = sdk.evaluators.create_template_evaluator(
        name="Hallucination judge",
        space=space_id,
        commit_message="Initial version",
        template_config=judge_template(ai_integration_id),
        description="Flags answers not supported by the question",
    )
    assert created.type == EvaluatorType.TEMPLATE and created.space_id == space_id
    assert created.description == "Flags answers not supported by the question"
    version = created.version
    assert isinstance(version, EvaluatorVersionTemplate)
    assert version.evaluator_id == created.id and version.commit_message == "Initial version"
    assert version.commit_hash and version.created_at is not None
    config = version.template_config
    assert config is not None and config.name == "hallucination"
    assert config.classification_choices == {"hallucinated": 0, "factual": 1}
    assert config.include_explanations is True and config.use_function_calling is True
    assert config.direction == OptimizationDirection.MAXIMIZE
    assert config.llm_config is not None
    assert config.llm_config.ai_integration_id == ai_integration_id and config.llm_config.model_name == "gpt-4o-mini"

    fetched = sdk.evaluators.get(evaluator="Hallucination judge", space=space_id)
    assert fetched.id == created.id and isinstance(fetched.version, EvaluatorVersionTemplate)
    assert fetched.version.id == version.id

    listed = sdk.evaluators.list(space=space_id, name="hallucination")
    assert [e.id for e in listed.evaluators or []] == [created.id]


def test_a_new_template_version_becomes_latest_and_old_versions_stay_readable(
    sdk: ArizeClient, space_id: str, ai_integration_id: str
) -> None:
    created = sdk.evaluators.create_template_evaluator(
        name="versioned-judge",
        space=space_id,
        commit_message="v1",
        template_config=judge_template(ai_integration_id),
    )
    first = created.version
    stricter = judge_template(ai_integration_id, template="Q: {input}\nA: {output}\nhallucinated or factual?")
    second = sdk.evaluators.create_template_version(
        evaluator="versioned-judge", space=space_id, commit_message="v2: shorter prompt", template_config=stricter
    )
    assert isinstance(second, EvaluatorVersionTemplate) and second.id != first.id
    assert second.template_config is not None and second.template_config.template.startswith("Q: {input}")

    latest = sdk.evaluators.get(evaluator=created.id)
    assert latest.version.id == second.id
    pinned = sdk.evaluators.get(evaluator=created.id, version_id=first.id)
    assert pinned.version.id == first.id

    versions = sdk.evaluators.list_versions(evaluator=created.id)
    assert {v.id for v in versions.evaluator_versions} == {first.id, second.id}
    assert versions.pagination.has_more is False

    by_id = sdk.evaluators.get_version(version_id=first.id or "")
    assert isinstance(by_id, EvaluatorVersionTemplate) and by_id.commit_message == "v1"


def test_a_managed_code_evaluator_round_trips_its_code_config(sdk: ArizeClient, space_id: str) -> None:
    created = sdk.evaluators.create_code_evaluator(
        name="exact-answer",
        space=space_id,
        commit_message="exact match on the expected answer",
        code_config=CodeConfigRequest(
            ManagedCodeConfigRequest(
                type="MANAGED",
                name="exact_answer",
                managed_evaluator=ManagedCodeEvaluator.EXACT_MATCH,
                variables=["output", "answer"],
            )
        ),
    )
    assert created.type == EvaluatorType.CODE
    version = created.version
    assert isinstance(version, EvaluatorVersionCode)
    assert isinstance(version.code_config, ManagedCodeConfig)
    assert version.code_config.managed_evaluator == ManagedCodeEvaluator.EXACT_MATCH
    assert version.code_config.variables == ["output", "answer"] and version.code_config.name == "exact_answer"

    keywords = CodeConfigRequest(
        ManagedCodeConfigRequest(
            type="MANAGED",
            name="mentions_refund",
            managed_evaluator=ManagedCodeEvaluator.CONTAINS_ANY_KEYWORD,
            variables=["attributes.output.value"],
            static_params=[
                StaticParamRequest(
                    name="keywords",
                    type=StaticParamType.STRING_ARRAY,
                    default_value=StaticParamDefaultValue(["refund", "reimburse"]),
                )
            ],
        )
    )
    second = sdk.evaluators.create_code_version(
        evaluator="exact-answer", space=space_id, commit_message="keywords instead", code_config=keywords
    )
    assert isinstance(second.code_config, ManagedCodeConfig)
    assert second.code_config.managed_evaluator == ManagedCodeEvaluator.CONTAINS_ANY_KEYWORD
    params = second.code_config.static_params or []
    assert [(p.name, p.default_value.actual_instance if p.default_value else None) for p in params] == [
        ("keywords", ["refund", "reimburse"])
    ]
    assert isinstance(sdk.evaluators.get_version(version_id=second.id), EvaluatorVersionCode)


def test_an_evaluator_is_renamed_versions_deleted_and_then_deleted(
    sdk: ArizeClient, space_id: str, ai_integration_id: str
) -> None:
    created = sdk.evaluators.create_template_evaluator(
        name="to-prune", space=space_id, commit_message="v1", template_config=judge_template(ai_integration_id)
    )
    second = sdk.evaluators.create_template_version(
        evaluator=created.id, commit_message="v2", template_config=judge_template(ai_integration_id)
    )
    renamed = sdk.evaluators.update(evaluator=created.id, name="pruned", description=None)
    assert renamed.name == "pruned" and renamed.description is None

    result = sdk.evaluators.delete_versions(evaluator=created.id, version_ids=[created.version.id or ""])
    assert result.completed is True and result.deleted_version_ids == [created.version.id]
    assert [v.id for v in sdk.evaluators.list_versions(evaluator=created.id).evaluator_versions] == [second.id]

    sdk.evaluators.delete(evaluator="pruned", space=space_id)
    with pytest.raises(NotFoundException):
        sdk.evaluators.get(evaluator=created.id)


def test_an_unwrapped_managed_config_is_sent_as_null_by_the_sdk_and_rejected_naming_code_config(
    sdk: ArizeClient, space_id: str
) -> None:
    # SDK 8.61.0 quirk: _coerce_code_config puts a bare ManagedCodeConfigRequest in oneof_schema_1_validator,
    # leaving actual_instance None, so the body carries "code_config": null. The engine must refuse it, say why,
    # and store nothing.
    with pytest.raises(ApiException) as caught:
        sdk.evaluators.create_code_evaluator(
            name="null-config",
            space=space_id,
            commit_message="v1",
            code_config=ManagedCodeConfigRequest(
                type="MANAGED", name="x", managed_evaluator=ManagedCodeEvaluator.JSON_PARSEABLE, variables=["output"]
            ),
        )
    assert caught.value.status in (400, 422)
    assert "code_config" in (caught.value.body or "")
    assert sdk.evaluators.list(space=space_id, name="null-config").evaluators == []
