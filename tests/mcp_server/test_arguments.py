"""What a model sends is taken as it meant it (enum spellings, names in another case) or refused in plain words."""

from __future__ import annotations

from mcp import Client

from arize_skills.client import AsyncArizeClient
from arize_skills.mcp_server.arguments import loosen_enums
from tests.mcp_server.conftest import call, call_error

SCHEMA = {
    "properties": {
        "provider": {"enum": ["OPEN_AI", "AZURE", "ANTHROPIC"], "type": "string"},
        "specs": {"items": {"$ref": "#/$defs/Spec"}, "type": "array"},
        "free": {"type": "string"},
    },
    "$defs": {"Spec": {"properties": {"kind": {"enum": ["TEMPLATE", "CODE"], "type": "string"}}}},
}


def test_enum_values_in_another_case_or_with_other_separators_become_the_allowed_spelling() -> None:
    loosened = loosen_enums(
        {"provider": "openai", "specs": [{"kind": "template"}, {"kind": "Code"}], "free": "openai"}, SCHEMA
    )
    assert loosened == {"provider": "OPEN_AI", "specs": [{"kind": "TEMPLATE"}, {"kind": "CODE"}], "free": "openai"}
    assert loosen_enums({"provider": "open-ai"}, SCHEMA) == {"provider": "OPEN_AI"}


def test_a_value_that_matches_no_allowed_spelling_is_left_for_validation() -> None:
    assert loosen_enums({"provider": "mistral"}, SCHEMA) == {"provider": "mistral"}


async def test_a_tool_takes_an_enum_argument_in_another_case(mcp_client: Client, client: AsyncArizeClient) -> None:
    await client.datasets.create("golden", [{"input": "q"}])
    result = await call(mcp_client, "find", {"kind": "Dataset"})
    assert [item["name"] for item in result["items"]] == ["golden"]


async def test_an_argument_the_tool_does_not_have_is_refused_naming_its_arguments(mcp_client: Client) -> None:
    text = await call_error(mcp_client, "find", {"kind": "dataset", "override_evaluations": True})
    assert text.startswith("override_evaluations: not an argument of find; its arguments are ")
    assert "kind" in text


async def test_a_bad_value_is_one_plain_sentence_per_field(mcp_client: Client) -> None:
    text = await call_error(mcp_client, "search_spans", {"project": "app", "limit": 500, "fields": "input"})
    assert text == "fields: must be a list (got 'input'). limit: must be at most 100 (got 500)."
    text = await call_error(mcp_client, "find", {"kind": "nonsense"})
    assert text.startswith("kind: must be one of ") and text.endswith("(got 'nonsense').")
    assert "pydantic" not in text and "http" not in text and "validation error" not in text


async def test_a_missing_argument_is_named(mcp_client: Client) -> None:
    text = await call_error(mcp_client, "find", {})
    assert text == "kind: is required."


async def test_a_project_named_in_another_case_is_found_and_a_misspelt_one_suggests_the_closest(
    mcp_client: Client, client: AsyncArizeClient
) -> None:
    await client.projects.create("Support Bot")
    found = await call(mcp_client, "search_spans", {"project": "support bot"})
    assert found["project"]["name"] == "Support Bot"
    text = await call_error(mcp_client, "search_spans", {"project": "suport bot"})
    assert "did you mean 'Support Bot'?" in text


async def test_a_tool_error_starts_with_what_went_wrong(mcp_client: Client) -> None:
    text = await call_error(mcp_client, "search_spans", {"project": "nope"})
    assert text.startswith("project 'nope' not found")
