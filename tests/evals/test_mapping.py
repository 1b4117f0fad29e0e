"""Reading mapped values out of spans and records: every path form, on spans shaped like real OpenInference ones."""

from __future__ import annotations

import json
import sqlite3
from collections.abc import Mapping
from datetime import UTC, datetime, timedelta
from typing import Any

import pytest

from arize_skills.client import AsyncArizeClient
from arize_skills.engine import Engine
from arize_skills.engine.ingest.otlp import decode_request, spans_of
from arize_skills.evals.mapping import MISSING, SpanView, as_text, record_value, span_value
from arize_skills.models._base import iso

from ..engine.otlp_payloads import export_body, ingest, span

NOW = datetime.now(UTC).replace(microsecond=0)
TRACE = "5" * 32

LLM_ID, RETRIEVER_ID, TOOL_ID, CHAIN_ID, AGENT_ID = (format(n, "016x") for n in range(1, 6))

# Attributes as OpenInference instrumentors send them: flat keys, lists flattened by index, JSON-encoded strings
# for structured values (input/output with a JSON mime type, invocation parameters, metadata, tool parameters).
LLM_ATTRIBUTES: dict[str, Any] = {
    "input.value": json.dumps(
        {
            "messages": [
                {"role": "system", "content": "Answer briefly."},
                {"role": "user", "content": "Capital of France?"},
            ]
        }
    ),
    "input.mime_type": "application/json",
    "output.value": "Paris.",
    "output.mime_type": "text/plain",
    "llm.model_name": "gpt-4o-mini",
    "llm.provider": "openai",
    "llm.invocation_parameters": json.dumps({"temperature": 0.2, "max_tokens": 256}),
    "llm.input_messages.0.message.role": "system",
    "llm.input_messages.0.message.content": "Answer briefly.",
    "llm.input_messages.1.message.role": "user",
    "llm.input_messages.1.message.content": "Capital of France?",
    "llm.output_messages.0.message.role": "assistant",
    "llm.output_messages.0.message.content": "Paris.",
    "llm.token_count.prompt": 21,
    "llm.token_count.completion": 3,
    "llm.token_count.total": 24,
    "llm.prompt_template.template": "Answer briefly: {question}",
    "llm.prompt_template.variables": json.dumps({"question": "Capital of France?"}),
    "metadata": json.dumps({"environment": "staging", "experiment": {"arm": "b"}}),
    "session.id": "sess-1",
    "user.id": "user-7",
    "tag.tags": ["geo", "faq"],
}
RETRIEVER_ATTRIBUTES: dict[str, Any] = {
    "input.value": "Capital of France?",
    "retrieval.documents.0.document.id": "doc-1",
    "retrieval.documents.0.document.content": "Paris is the capital of France.",
    "retrieval.documents.0.document.score": 0.92,
    "retrieval.documents.0.document.metadata": json.dumps({"source": "wiki"}),
    "retrieval.documents.1.document.id": "doc-2",
    "retrieval.documents.1.document.content": "Lyon is a city in France.",
    "retrieval.documents.1.document.score": 0.41,
}
TOOL_ATTRIBUTES: dict[str, Any] = {
    "tool.name": "get_weather",
    "tool.description": "Current weather for a city",
    "tool.parameters": json.dumps({"type": "object", "properties": {"city": {"type": "string"}}}),
    "input.value": json.dumps({"city": "Zürich"}, ensure_ascii=False),
    "input.mime_type": "application/json",
    "output.value": "12°C, cloudy",
}
CHAIN_ATTRIBUTES: dict[str, Any] = {
    "input.value": json.dumps(
        {"question": "Who wrote Faust?", "context": ["Goethe wrote Faust.", "Faust has 2 parts."]}
    ),
    "input.mime_type": "application/json",
    "output.value": json.dumps({"answer": "Goethe", "confidence": 0.9, "cited": True}),
    "output.mime_type": "application/json",
}
AGENT_ATTRIBUTES: dict[str, Any] = {
    "llm.output_messages.0.message.role": "assistant",
    "llm.output_messages.0.message.tool_calls.0.tool_call.id": "call_1",
    "llm.output_messages.0.message.tool_calls.0.tool_call.function.name": "get_weather",
    "llm.output_messages.0.message.tool_calls.0.tool_call.function.arguments": json.dumps(
        {"city": "Zürich"}, ensure_ascii=False
    ),
    "llm.input_messages.0.message.role": "user",
    "llm.input_messages.0.message.contents.0.message_content.type": "text",
    "llm.input_messages.0.message.contents.0.message_content.text": "What is in this picture?",
    "llm.input_messages.0.message.contents.1.message_content.type": "image",
    "llm.input_messages.0.message.contents.1.message_content.image.image.url": "https://example.test/cat.png",
    # A kvlist-valued attribute: arrives as a nested JSON object, not as flat keys.
    "retrieval.documents": [{"document.content": "kv doc one"}, {"document.content": "kv doc two"}],
}

OTLP_SPANS = [
    span(LLM_ID, trace_id=TRACE, parent_id=CHAIN_ID, name="ChatCompletion", kind="LLM", attributes=LLM_ATTRIBUTES),
    span(
        RETRIEVER_ID,
        trace_id=TRACE,
        parent_id=CHAIN_ID,
        name="retrieve",
        kind="RETRIEVER",
        attributes=RETRIEVER_ATTRIBUTES,
    ),
    span(
        TOOL_ID,
        trace_id=TRACE,
        parent_id=CHAIN_ID,
        name="get_weather",
        kind="TOOL",
        attributes=TOOL_ATTRIBUTES,
        status=2,
        message="timeout calling weather API",
    ),
    span(CHAIN_ID, trace_id=TRACE, name="rag_chain", kind="CHAIN", attributes=CHAIN_ATTRIBUTES, duration_ms=1500.0),
    span(AGENT_ID, trace_id=TRACE, parent_id=CHAIN_ID, name="agent", kind="AGENT", attributes=AGENT_ATTRIBUTES),
]


def _views_from_ingest() -> dict[str, SpanView]:
    """The spans as OTLP ingest decodes them and the store keeps them (attributes round-tripped through JSON)."""
    decoded = spans_of(decode_request(json.dumps(export_body(OTLP_SPANS, project="app")).encode(), "json"))
    views: dict[str, SpanView] = {}
    for record in decoded.batches[0].spans:
        start = datetime(1970, 1, 1, tzinfo=UTC) + timedelta(microseconds=record.start_ns // 1000)
        end = datetime(1970, 1, 1, tzinfo=UTC) + timedelta(microseconds=record.end_ns // 1000)
        views[record.span_id] = SpanView(
            span_id=record.span_id,
            trace_id=record.trace_id,
            parent_id=record.parent_id,
            name=record.name,
            kind=record.kind,
            status_code=record.status_code,
            status_message=record.status_message,
            start_time=iso(start),
            end_time=iso(end),
            latency_ms=(record.end_ns - record.start_ns) / 1e6,
            attributes=json.loads(json.dumps(record.attributes, ensure_ascii=False)),
        )
    return views


VIEWS = _views_from_ingest()
LLM, RETRIEVER, TOOL, CHAIN, AGENT = (VIEWS[i] for i in (LLM_ID, RETRIEVER_ID, TOOL_ID, CHAIN_ID, AGENT_ID))

SPAN_CASES: list[tuple[str, SpanView, str, Any]] = [
    # fixed columns
    ("name", LLM, "name", "ChatCompletion"),
    ("span_kind", RETRIEVER, "span_kind", "RETRIEVER"),
    ("kind alias", TOOL, "kind", "TOOL"),
    ("status_code", TOOL, "status_code", "ERROR"),
    ("status_message", TOOL, "status_message", "timeout calling weather API"),
    ("no status message", LLM, "status_message", MISSING),
    ("latency_ms", CHAIN, "latency_ms", 1500.0),
    ("span id", LLM, "context.span_id", LLM_ID),
    ("trace id", LLM, "context.trace_id", TRACE),
    ("parent id", LLM, "parent_id", CHAIN_ID),
    ("root has no parent", CHAIN, "parent_id", MISSING),
    # whole flat keys, prefixed and bare
    ("output text", LLM, "attributes.output.value", "Paris."),
    ("bare key", LLM, "output.value", "Paris."),
    ("int attribute", LLM, "attributes.llm.token_count.total", 24),
    ("array attribute", LLM, "attributes.tag.tags", ["geo", "faq"]),
    ("indexed flat key", LLM, "attributes.llm.output_messages.0.message.content", "Paris."),
    ("JSON text kept as text", TOOL, "attributes.input.value", '{"city": "Zürich"}'),
    (
        "document content by index",
        RETRIEVER,
        "attributes.retrieval.documents.1.document.content",
        "Lyon is a city in France.",
    ),
    # inside JSON values
    ("field of JSON input", CHAIN, "attributes.input.value.question", "Who wrote Faust?"),
    ("array element of JSON input", CHAIN, "attributes.input.value.context.1", "Faust has 2 parts."),
    ("number in JSON output", CHAIN, "attributes.output.value.confidence", 0.9),
    ("bool in JSON output", CHAIN, "attributes.output.value.cited", True),
    ("nested JSON messages", LLM, "attributes.input.value.messages.1.content", "Capital of France?"),
    ("field of JSON messages", LLM, "attributes.input.value.messages.role", ["system", "user"]),
    ("invocation parameter", LLM, "attributes.llm.invocation_parameters.temperature", 0.2),
    ("template variable", LLM, "attributes.llm.prompt_template.variables.question", "Capital of France?"),
    ("metadata shorthand", LLM, "metadata.environment", "staging"),
    ("nested metadata", LLM, "metadata.experiment.arm", "b"),
    ("metadata through attributes", LLM, "attributes.metadata.experiment.arm", "b"),
    ("JSON inside a document", RETRIEVER, "attributes.retrieval.documents.0.document.metadata.source", "wiki"),
    ("non-ASCII inside JSON", TOOL, "attributes.input.value.city", "Zürich"),
    ("tool schema", TOOL, "attributes.tool.parameters.properties.city.type", "string"),
    # rebuilt from flat indexed keys
    (
        "input messages",
        LLM,
        "attributes.llm.input_messages",
        [{"role": "system", "content": "Answer briefly."}, {"role": "user", "content": "Capital of France?"}],
    ),
    ("one message", LLM, "attributes.llm.input_messages.1", {"role": "user", "content": "Capital of France?"}),
    ("field of one message", LLM, "attributes.llm.input_messages.1.content", "Capital of France?"),
    ("roles of every message", LLM, "attributes.llm.input_messages.roles", ["system", "user"]),
    (
        "message contents",
        LLM,
        "attributes.llm.input_messages.message.content",
        ["Answer briefly.", "Capital of France?"],
    ),
    (
        "documents",
        RETRIEVER,
        "attributes.retrieval.documents",
        [
            {
                "id": "doc-1",
                "content": "Paris is the capital of France.",
                "score": 0.92,
                "metadata": '{"source": "wiki"}',
            },
            {"id": "doc-2", "content": "Lyon is a city in France.", "score": 0.41},
        ],
    ),
    (
        "document contents (plural)",
        RETRIEVER,
        "attributes.retrieval.documents.contents",
        ["Paris is the capital of France.", "Lyon is a city in France."],
    ),
    (
        "document content (last segment)",
        RETRIEVER,
        "attributes.retrieval.documents.content",
        ["Paris is the capital of France.", "Lyon is a city in France."],
    ),
    (
        "document content (whole suffix)",
        RETRIEVER,
        "attributes.retrieval.documents.document.content",
        ["Paris is the capital of France.", "Lyon is a city in France."],
    ),
    ("document scores", RETRIEVER, "attributes.retrieval.documents.scores", [0.92, 0.41]),
    ("a field only some items have", RETRIEVER, "attributes.retrieval.documents.metadata", ['{"source": "wiki"}']),
    ("token counts", LLM, "attributes.llm.token_count", {"prompt": 21, "completion": 3, "total": 24}),
    (
        "tool calls",
        AGENT,
        "attributes.llm.output_messages.0.message.tool_calls",
        [{"id": "call_1", "function": {"name": "get_weather", "arguments": '{"city": "Zürich"}'}}],
    ),
    (
        "tool call argument",
        AGENT,
        "attributes.llm.output_messages.0.message.tool_calls.0.tool_call.function.arguments.city",
        "Zürich",
    ),
    (
        "multimodal contents",
        AGENT,
        "attributes.llm.input_messages.0.message.contents",
        [
            {"type": "text", "text": "What is in this picture?"},
            {"type": "image", "image": {"image": {"url": "https://example.test/cat.png"}}},
        ],
    ),
    ("kvlist documents", AGENT, "attributes.retrieval.documents.contents", ["kv doc one", "kv doc two"]),
    ("kvlist document by index", AGENT, "attributes.retrieval.documents.1.document.content", "kv doc two"),
    # missing
    ("absent attribute", LLM, "attributes.llm.tools", MISSING),
    ("absent field inside JSON", CHAIN, "attributes.input.value.nope", MISSING),
    ("index past the end", CHAIN, "attributes.input.value.context.5", MISSING),
    ("message past the end", LLM, "attributes.llm.input_messages.7", MISSING),
    ("field of plain text", LLM, "attributes.output.value.answer", MISSING),
    ("field no document has", RETRIEVER, "attributes.retrieval.documents.titles", MISSING),
    ("attributes alone", LLM, "attributes", MISSING),
    ("empty path", LLM, "  ", MISSING),
    ("unknown bare column", LLM, "no_such_column", MISSING),
]


@pytest.mark.parametrize(("span_view", "path", "expected"), [c[1:] for c in SPAN_CASES], ids=[c[0] for c in SPAN_CASES])
def test_a_span_path_reads_the_value_an_openinference_span_holds_there(
    span_view: SpanView, path: str, expected: Any
) -> None:
    assert span_value(span_view, path) == expected


def test_a_mapping_path_is_read_with_surrounding_spaces_trimmed() -> None:
    assert span_value(LLM, "  attributes.output.value ") == "Paris."


def test_a_json_null_attribute_is_missing_not_none() -> None:
    view = SpanView(LLM_ID, TRACE, None, "x", "LLM", "OK", None, "t", "t", 1.0, {"output.value": None, "a": "{}"})
    assert span_value(view, "attributes.output.value") is MISSING
    assert span_value(view, "attributes.a.b") is MISSING


def test_the_flat_key_wins_over_the_same_path_inside_json() -> None:
    view = SpanView(LLM_ID, TRACE, None, "x", "LLM", "OK", None, "t", "t", 1.0, {"a.b": "flat", "a": '{"b": "json"}'})
    assert span_value(view, "attributes.a.b") == "flat"
    assert span_value(view, "attributes.a") == '{"b": "json"}'


RECORD: dict[str, Any] = {
    "example_id": "ex-1",
    "output": json.dumps({"answer": "Paris", "sources": ["wiki", "atlas"]}),
    "input": "Capital of France?",
    "expected": {"label": "correct", "score": 1},
    "attributes.input.value": "from a span",
    "turns": [{"role": "user", "content": "hi"}, {"role": "assistant", "content": "hello"}],
    "rating": 4.5,
    "flagged": False,
    "blank": "",
    "empty": None,
}
RECORD_CASES: list[tuple[str, str, Any]] = [
    ("run output", "output", RECORD["output"]),
    ("field of JSON output", "output.answer", "Paris"),
    ("element of JSON output", "output.sources.1", "atlas"),
    ("example id", "example_id", "ex-1"),
    ("plain column", "input", "Capital of France?"),
    ("dotted column name", "attributes.input.value", "from a span"),
    ("field of an object column", "expected.label", "correct"),
    ("mustache dataset prefix", "dataset.input", "Capital of France?"),
    ("dataset prefix and a field", "dataset.output.answer", "Paris"),
    ("number column", "rating", 4.5),
    ("false is a value", "flagged", False),
    ("empty string is a value", "blank", ""),
    ("list column field", "turns.content", ["hi", "hello"]),
    ("null is missing", "empty", MISSING),
    ("absent column", "reference", MISSING),
    ("absent dataset column", "dataset.reference", MISSING),
    ("field of plain text", "input.value", MISSING),
    ("empty path", "", MISSING),
]


@pytest.mark.parametrize(("path", "expected"), [c[1:] for c in RECORD_CASES], ids=[c[0] for c in RECORD_CASES])
def test_a_record_path_reads_a_column_or_a_value_inside_one(path: str, expected: Any) -> None:
    assert record_value(RECORD, path) == expected


def test_a_rebuilt_record_list_comes_from_flat_indexed_columns() -> None:
    columns = {"docs.0.document.content": "one", "docs.1.document.content": "two", "docs.1.document.id": "d2"}
    assert record_value(columns, "docs.contents") == ["one", "two"]
    assert record_value(columns, "docs") == [{"content": "one"}, {"content": "two", "id": "d2"}]


TEXT_CASES: list[tuple[str, Any, str]] = [
    ("string as is", "line one\n  {not a var}", "line one\n  {not a var}"),
    ("empty string", "", ""),
    ("int", 42, "42"),
    ("float", 0.25, "0.25"),
    ("true", True, "true"),
    ("false", False, "false"),
    ("none", None, "null"),
    ("dict as compact JSON", {"city": "Zürich", "n": [1, 2]}, '{"city":"Zürich","n":[1,2]}'),
    ("list of strings", ["doc one", "doc two"], '["doc one","doc two"]'),
    ("list of numbers", [0.92, 0.41], "[0.92,0.41]"),
    (
        "messages as a transcript",
        span_value(LLM, "attributes.llm.input_messages"),
        "system: Answer briefly.\nuser: Capital of France?",
    ),
    ("one message", span_value(LLM, "attributes.llm.input_messages.1"), "user: Capital of France?"),
    (
        "OpenAI-shaped JSON messages",
        span_value(LLM, "attributes.input.value.messages"),
        "system: Answer briefly.\nuser: Capital of France?",
    ),
    ("flat-keyed message items", [{"message.role": "user", "message.content": "hi"}], "user: hi"),
    ("wrapped message items", [{"message": {"role": "assistant", "content": "yo"}}], "assistant: yo"),
    (
        "tool calls",
        span_value(AGENT, "attributes.llm.output_messages"),
        'assistant: [tool calls: get_weather({"city": "Zürich"})]',
    ),
    (
        "multimodal contents",
        span_value(AGENT, "attributes.llm.input_messages"),
        'user: What is in this picture?\n{"type":"image","image":{"image":{"url":"https://example.test/cat.png"}}}',
    ),
    ("a role with no content", [{"role": "assistant"}], "assistant:"),
    (
        "not every item a message",
        [{"role": "user", "content": "a"}, {"x": 1}],
        '[{"role":"user","content":"a"},{"x":1}]',
    ),
    ("documents stay JSON", [{"content": "a", "id": "1"}], '[{"content":"a","id":"1"}]'),
]


@pytest.mark.parametrize(("value", "expected"), [c[1:] for c in TEXT_CASES], ids=[c[0] for c in TEXT_CASES])
def test_a_value_renders_as_prompt_text(value: Any, expected: str) -> None:
    assert as_text(value) == expected


def test_missing_never_renders_as_empty_text() -> None:
    with pytest.raises(ValueError, match="MISSING"):
        as_text(MISSING)


# --- agreement with the filter language, through the engine -------------------------------------------------------

AGREEMENT_PATHS = [
    "name",
    "span_kind",
    "status_code",
    "parent_id",
    "context.span_id",
    "attributes.output.value",
    "attributes.llm.model_name",
    "attributes.llm.token_count.total",
    "attributes.llm.output_messages.0.message.content",
    "attributes.retrieval.documents.1.document.content",
    "attributes.retrieval.documents.0.document.metadata.source",
    "attributes.input.value.question",
    "attributes.input.value.context.0",
    "attributes.input.value.city",
    "attributes.output.value.answer",
    "attributes.output.value.confidence",
    "attributes.llm.invocation_parameters.max_tokens",
    "metadata.environment",
    "metadata.experiment.arm",
    "attributes.session.id",
    "attributes.llm.tools",
]


def _stored_views(conn: sqlite3.Connection) -> list[SpanView]:
    rows = conn.execute(
        "SELECT span_id, trace_id, parent_id, name, kind, status_code, status_message, start_ns, end_ns, latency_ms,"
        " attributes FROM spans"
    ).fetchall()
    epoch = datetime(1970, 1, 1, tzinfo=UTC)
    return [
        SpanView(
            span_id=row["span_id"],
            trace_id=row["trace_id"],
            parent_id=row["parent_id"],
            name=row["name"],
            kind=row["kind"],
            status_code=row["status_code"],
            status_message=row["status_message"],
            start_time=iso(epoch + timedelta(microseconds=row["start_ns"] // 1000)),
            end_time=iso(epoch + timedelta(microseconds=row["end_ns"] // 1000)),
            latency_ms=row["latency_ms"],
            attributes=json.loads(row["attributes"]),
        )
        for row in rows
    ]


def _literal(value: Any) -> str:
    if isinstance(value, str):
        return "'" + value.replace("'", "''") + "'"
    return repr(value)


async def test_a_mapping_reads_every_value_a_filter_on_the_same_path_reads(
    engine: Engine, client: AsyncArizeClient
) -> None:
    # The mapping reads more than the filter (lists rebuilt from flat keys, flat keys inside kvlist items), never
    # less, and never something else.
    await ingest(engine, "app", OTLP_SPANS)
    views = await engine.store.read(_stored_views)
    assert {v.span_id for v in views} == set(VIEWS)
    compared = 0
    for path in AGREEMENT_PATHS:
        values: Mapping[str, Any] = {view.span_id: span_value(view, path) for view in views}
        null = {s.context.span_id async for s in client.spans.list("app", filter=f"{path} IS NULL")}
        assert {span_id for span_id, value in values.items() if value is MISSING} <= null, path
        read_by_filter = {span_id: value for span_id, value in values.items() if span_id not in null}
        for value in set(read_by_filter.values()):
            literal = _literal(value)
            matched = {s.context.span_id async for s in client.spans.list("app", filter=f"{path} = {literal}")}
            assert matched == {span_id for span_id, v in read_by_filter.items() if v == value}, (path, value)
            compared += 1
    assert compared >= len(AGREEMENT_PATHS)
