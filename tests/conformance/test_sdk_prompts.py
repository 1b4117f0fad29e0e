"""The official SDK creates prompts and versions on the engine, labels one, and loads it back by name and label."""

from __future__ import annotations

import pytest
from arize import ArizeClient
from arize._generated.api_client.api.prompts_api import PromptsApi
from arize._generated.api_client.api.tags_api import TagsApi
from arize._generated.api_client.exceptions import ApiException, NotFoundException
from arize._generated.api_client.models.add_tags_request import AddTagsRequest
from arize._generated.api_client.models.create_tag_request import CreateTagRequest
from arize._generated.api_client.models.remove_tags_request import RemoveTagsRequest
from arize._generated.api_client.models.tag_color import TagColor
from arize.prompts.types import (
    InputVariableFormat,
    InvocationParamsRequest,
    LLMMessageRequest,
    LlmProvider,
    MessageRole,
    PromptVersion,
    PromptWithVersion,
)

SYSTEM = "You answer questions about {topic} in one sentence."


def messages(question: str = "{question}") -> list[LLMMessageRequest]:
    """A system and a user message with F-string variables, as the SDK builds them."""
    return [
        LLMMessageRequest(role=MessageRole.SYSTEM, content=SYSTEM),
        LLMMessageRequest(role=MessageRole.USER, content=question),
    ]


def create_prompt(sdk: ArizeClient, space: str, name: str = "qa-prompt") -> PromptWithVersion:
    return sdk.prompts.create(
        space=space,
        name=name,
        commit_message="Initial version",
        input_variable_format=InputVariableFormat.F_STRING,
        provider=LlmProvider.OPEN_AI,
        messages=messages(),
        description="Answers questions",
        model="gpt-4o-mini",
        invocation_params=InvocationParamsRequest(temperature=0, max_tokens=200),
    )


def test_a_prompt_round_trips_its_first_version(sdk: ArizeClient, space_id: str) -> None:
    created = create_prompt(sdk, space_id)
    assert isinstance(created, PromptWithVersion)
    assert created.name == "qa-prompt" and created.space_id == space_id and created.description == "Answers questions"
    assert created.created_at is not None and created.updated_at is not None
    version = created.version
    assert version is not None and version.prompt_id == created.id
    assert version.commit_message == "Initial version" and version.commit_hash
    assert version.provider == LlmProvider.OPEN_AI and version.model == "gpt-4o-mini"
    assert version.input_variable_format == InputVariableFormat.F_STRING
    assert [(m.role, m.content) for m in version.messages or []] == [
        (MessageRole.SYSTEM, SYSTEM),
        (MessageRole.USER, "{question}"),
    ]
    assert version.invocation_params is not None
    assert version.invocation_params.temperature == 0 and version.invocation_params.max_tokens == 200
    assert version.labels == []

    by_name = sdk.prompts.get(prompt="qa-prompt", space=space_id)
    assert by_name.id == created.id and by_name.version is not None and by_name.version.id == version.id


def test_an_experiment_task_loads_the_production_version_by_prompt_name_and_label(
    sdk: ArizeClient, space_id: str
) -> None:
    created = create_prompt(sdk, space_id)
    assert created.version is not None
    first = created.version
    second = sdk.prompts.create_version(
        prompt="qa-prompt",
        space=space_id,
        commit_message="v2: ask for sources",
        input_variable_format=InputVariableFormat.F_STRING,
        provider=LlmProvider.ANTHROPIC,
        messages=messages("{question} Cite a source."),
        model="claude-sonnet-4",
    )
    assert isinstance(second, PromptVersion) and second.id != first.id and second.prompt_id == created.id

    labelled = sdk.prompts.set_labels(version_id=first.id, labels=["production", "staging"])
    assert labelled.id == first.id and sorted(labelled.labels or []) == ["production", "staging"]

    latest = sdk.prompts.get(prompt="qa-prompt", space=space_id)
    assert latest.version is not None and latest.version.id == second.id
    production = sdk.prompts.get(prompt="qa-prompt", space=space_id, label="production")
    assert production.id == created.id and production.version is not None
    assert production.version.id == first.id and production.version.provider == LlmProvider.OPEN_AI
    assert sdk.prompts.get(prompt=created.id, version_id=second.id).version.id == second.id  # type: ignore[union-attr]

    # Promoting v2 moves the label: it names one version at a time.
    sdk.prompts.set_labels(version_id=second.id, labels=["production"])
    promoted = sdk.prompts.get(prompt="qa-prompt", space="default", label="production")
    assert promoted.version is not None and promoted.version.id == second.id
    assert sdk.prompts.get_version(version_id=first.id).labels == ["staging"]
    resolved = sdk.prompts.get_version_by_label(prompt="qa-prompt", space=space_id, label_name="production")
    assert resolved.id == second.id

    sdk.prompts.delete_label(version_id=first.id, label_name="staging")
    with pytest.raises(NotFoundException):
        sdk.prompts.get(prompt=created.id, label="staging")


def test_prompts_are_listed_updated_and_deleted_with_their_versions(sdk: ArizeClient, space_id: str) -> None:
    created = create_prompt(sdk, space_id)
    create_prompt(sdk, space_id, "summarizer")
    sdk.prompts.create_version(
        prompt=created.id,
        commit_message="v2",
        input_variable_format=InputVariableFormat.MUSTACHE,
        provider=LlmProvider.OPEN_AI,
        messages=[LLMMessageRequest(role=MessageRole.USER, content="{{question}}")],
    )

    listed = sdk.prompts.list(space=space_id)
    assert [p.name for p in listed.prompts or []] == ["qa-prompt", "summarizer"]
    assert [p.name for p in sdk.prompts.list(space="default", name="QA").prompts or []] == ["qa-prompt"]
    versions = sdk.prompts.list_versions(prompt="qa-prompt", space=space_id)
    assert [v.commit_message for v in versions.prompt_versions or []] == ["v2", "Initial version"]
    assert versions.prompt_versions is not None
    assert versions.prompt_versions[0].input_variable_format == InputVariableFormat.MUSTACHE

    updated = sdk.prompts.update(prompt="qa-prompt", space=space_id, description=None)
    assert updated.description is None and updated.updated_at is not None and created.updated_at is not None
    assert updated.updated_at > created.updated_at

    sdk.prompts.delete(prompt="qa-prompt", space=space_id)
    with pytest.raises(NotFoundException):
        sdk.prompts.get(prompt=created.id)
    assert created.version is not None
    with pytest.raises(NotFoundException):
        sdk.prompts.get_version(version_id=created.version.id)
    assert [p.name for p in sdk.prompts.list(space=space_id).prompts or []] == ["summarizer"]


def test_a_duplicate_name_in_the_space_is_a_409(sdk: ArizeClient, space_id: str) -> None:
    create_prompt(sdk, space_id)
    with pytest.raises(ApiException) as caught:
        create_prompt(sdk, space_id)
    assert caught.value.status == 409


def test_the_generated_client_attaches_lists_and_detaches_a_prompts_tags(sdk: ArizeClient, space_id: str) -> None:
    # The SDK wraps no tag calls, so this drives its generated API client (the one sdk.prompts holds).
    prompts_api: PromptsApi = sdk.prompts._api
    tags_api = TagsApi(prompts_api.api_client)
    created = create_prompt(sdk, space_id)
    assert created.id is not None
    tag = tags_api.create_tag(CreateTagRequest(name="team-a", space_id=space_id, color=TagColor.GREEN))
    assert tag.id is not None and tag.color == TagColor.GREEN and tag.space_id == space_id

    attached = prompts_api.add_prompt_tags(created.id, AddTagsRequest(tag_ids=[tag.id]))
    assert [t.id for t in attached.tags or []] == [tag.id]
    assert attached.pagination is not None and attached.pagination.has_more is False
    listed = prompts_api.list_prompt_tags(created.id)
    assert [t.name for t in listed.tags or []] == ["team-a"]

    removed = prompts_api.remove_prompt_tags(created.id, RemoveTagsRequest(tag_ids=[tag.id, tag.id]))
    assert removed.completed is True and removed.deleted == [tag.id] and removed.not_deleted == []
    assert prompts_api.list_prompt_tags(created.id).tags == []
    tags_api.delete_tag(tag.id)
