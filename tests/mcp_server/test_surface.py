"""The tool surface fits its budgets, its published schemas stay true to the tools, and results read compactly."""

from __future__ import annotations

import json
from typing import Any

from mcp import Client
from pydantic import BaseModel, Field

from arize_skills.mcp_server.surface import (
    MAX_TOOLS,
    MAX_VISIBLE_CHARS,
    MAX_WHOLE_CHARS,
    compact_input_schema,
    compact_output_schema,
    listing_size,
    result_text,
)
from arize_skills.mcp_server.types import ListResult, ToolResult


async def listing(mcp_client: Client) -> list[dict[str, Any]]:
    tools = (await mcp_client.list_tools()).tools
    return [tool.model_dump(mode="json", by_alias=True, exclude_none=True) for tool in tools]


async def test_the_tool_listing_fits_its_budgets(mcp_client: Client) -> None:
    tools = await listing(mcp_client)
    visible, whole = listing_size(tools)
    assert len(tools) <= MAX_TOOLS, f"{len(tools)} tools (budget {MAX_TOOLS})"
    assert visible <= MAX_VISIBLE_CHARS, f"model-visible listing is {visible:,} chars (budget {MAX_VISIBLE_CHARS:,})"
    assert whole <= MAX_WHOLE_CHARS, f"whole listing is {whole:,} chars (budget {MAX_WHOLE_CHARS:,})"


async def test_every_tool_keeps_its_annotations_an_output_schema_and_described_arguments(mcp_client: Client) -> None:
    for tool in await listing(mcp_client):
        name = tool["name"]
        assert tool["outputSchema"]["type"] == "object", name
        hints = tool["annotations"]
        assert {"readOnlyHint", "destructiveHint", "idempotentHint", "openWorldHint"} <= hints.keys(), name
        assert 0 < len(tool["description"]) <= 400, f"{name}: say what it does and when, in one or two sentences"
        for argument, schema in tool["inputSchema"].get("properties", {}).items():
            assert schema.get("description"), f"{name}.{argument} has no description"
            assert "title" not in schema, f"{name}.{argument}"


class Nested(BaseModel):
    kind: str = Field(description="A kind.")
    deeper: Nested | None = None


class Arguments(BaseModel):
    name: str = Field(min_length=1, max_length=20, description="Some name.")
    mode: str | None = Field(default=None, description="How.")
    level: int = Field(default=3, ge=1, le=5, description="How much.")
    spec: Nested | None = Field(default=None, description="A nested spec.")


def test_an_input_schema_loses_titles_nulls_and_length_limits_but_keeps_bounds_defaults_and_descriptions() -> None:
    schema = compact_input_schema(Arguments.model_json_schema())
    assert "title" not in json.dumps(schema).replace('"Nested"', "")
    properties = schema["properties"]
    assert properties["name"] == {"description": "Some name.", "type": "string"}
    assert properties["mode"] == {"description": "How.", "type": "string"}
    assert properties["level"] == {
        "default": 3,
        "description": "How much.",
        "maximum": 5,
        "minimum": 1,
        "type": "integer",
    }
    assert properties["spec"]["$ref"] == "#/$defs/Nested"
    assert schema["required"] == ["name"]


class Row(BaseModel):
    id: str
    nested: Nested | None = None


class Listed(ListResult):
    items: list[Row] = Field(description="The rows.")
    note: str | None = None


def test_an_output_schema_stays_a_schema_of_every_result_with_nested_objects_given_by_type() -> None:
    import jsonschema

    schema = compact_output_schema(Listed.model_json_schema())
    assert "description" not in json.dumps(schema) and "title" not in json.dumps(schema)
    assert "$defs" not in schema
    assert schema["properties"]["items"] == {"type": "array"}
    assert schema["properties"]["next_cursor"] == {"type": ["string", "null"]}
    result = Listed(items=[Row(id="a", nested=Nested(kind="k", deeper=Nested(kind="j")))], has_more=False)
    jsonschema.validate(result.model_dump(mode="json"), schema)
    jsonschema.validate(Listed(items=[Row(id="b")], has_more=True, next_cursor="c").model_dump(mode="json"), schema)


class Made(ToolResult):
    summary: str
    count: int
    empty: list[str] = Field(default_factory=list)
    missing: str | None = None


def test_result_text_is_the_summary_line_then_compact_json_without_empty_values_or_the_summary_again() -> None:
    made = Made(summary="Made 2 things.", count=2)
    line, said = made.summary_line()
    assert result_text(made, line, said=said) == 'Made 2 things.\n{"count":2}'
    listed = Listed(items=[Row(id="a")], has_more=True, next_cursor="c")
    line, said = listed.summary_line()
    assert line == "1 row; more follow: call again with cursor=next_cursor."
    assert (
        result_text(listed, line, said=said).splitlines()[1]
        == '{"has_more":true,"next_cursor":"c","items":[{"id":"a"}]}'
    )


async def test_a_tool_result_reads_as_its_summary_then_compact_json(mcp_client: Client) -> None:
    result = await mcp_client.call_tool("status", {})
    text = result.content[0].text if result.content[0].type == "text" else ""
    first, _, rest = text.partition("\n")
    assert first and not first.startswith("{")
    assert rest.startswith("{") and "\n" not in rest and ": " not in rest.split('"backend_description"')[0]


class Waits(BaseModel):
    wait_seconds: int = Field(default=0, ge=0, description="How long.")
    strict: bool = Field(default=False, description="How strict.")


def test_a_zero_default_is_published_and_only_null_and_false_ones_are_dropped() -> None:
    properties = compact_input_schema(Waits.model_json_schema())["properties"]
    assert properties["wait_seconds"]["default"] == 0
    assert "default" not in properties["strict"]
