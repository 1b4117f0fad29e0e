"""Spans and traces on the engine, through the client: list, filters, columns, delete, annotate, traces."""

from __future__ import annotations

import sqlite3
from datetime import UTC, datetime, timedelta
from typing import Any

import pytest

from arize_skills.client import AsyncArizeClient
from arize_skills.engine import Engine
from arize_skills.engine.store.evaluations import upsert_evaluation
from arize_skills.errors import BadRequestError, NotFoundError, UnprocessableEntityError
from arize_skills.models.spans import Span

from .otlp_payloads import ingest, span
from .records_support import create_annotation_config

NOW = datetime.now(UTC).replace(microsecond=0)
HOUR = timedelta(hours=1)
TRACE_A, TRACE_B, TRACE_C = "a" * 32, "b" * 32, "c" * 32


def sid(n: int) -> str:
    """A span ID."""
    return format(n, "016x")


async def project_id(client: AsyncArizeClient, name: str) -> str:
    return (await client.projects.get(name)).id


async def evaluate(engine: Engine, project: str, span_id: str, name: str, **values: Any) -> None:
    """Store an evaluation result on a span, as a task run would."""

    def write(conn: sqlite3.Connection) -> None:
        num = conn.execute(
            "SELECT s.project_num FROM spans AS s JOIN objects AS o ON o.num = s.project_num"
            " WHERE o.name = ? AND s.span_id = ?",
            (project, span_id),
        ).fetchone()[0]
        upsert_evaluation(conn, "span", f"{num}:{span_id}", name, now=engine.now(), **values)

    await engine.store.write(write)


async def list_spans(client: AsyncArizeClient, project: str, **kwargs: Any) -> list[Span]:
    return [s async for s in client.spans.list(project, **kwargs)]


# --- list: order, paging, window -------------------------------------------------------------------------


async def test_spans_are_listed_newest_first_across_pages_with_opaque_cursors(
    engine: Engine, client: AsyncArizeClient
) -> None:
    spans = [span(sid(i), start=NOW - i * HOUR, name=f"s{i}") for i in range(1, 8)]
    spans += [span(sid(100 + i), start=NOW - 4 * HOUR, name=f"tie{i}") for i in range(3)]
    await ingest(engine, "app", spans)
    first = await client.spans.list("app", limit=3)
    assert len(first.items) == 3 and first.has_more and first.next_cursor
    walked = await list_spans(client, "app", limit=3)
    assert len(walked) == 10 and len({s.context.span_id for s in walked}) == 10
    starts = [s.start_time for s in walked]
    assert starts == sorted(starts, reverse=True)
    assert [s.name for s in walked][:3] == ["s1", "s2", "s3"]
    assert sorted(s.name for s in walked[3:7]) == ["s4", "tie0", "tie1", "tie2"]
    last = await client.spans.list("app", limit=10)
    assert not last.has_more and last.next_cursor is None


async def test_a_cursor_is_bound_to_its_query_and_garbage_cursors_are_400(
    engine: Engine, client: AsyncArizeClient
) -> None:
    await ingest(engine, "app", [span(sid(i), start=NOW - i * HOUR) for i in range(1, 4)])
    pid = await project_id(client, "app")
    page = await client.request("POST", "/v2/spans", params={"limit": 1}, json_body={"project_id": pid})
    cursor = page["pagination"]["next_cursor"]
    second = await client.request(
        "POST", "/v2/spans", params={"limit": 1, "cursor": cursor}, json_body={"project_id": pid}
    )
    assert second["spans"][0]["context"]["span_id"] == sid(2)
    with pytest.raises(BadRequestError, match="cursor"):
        await client.request(
            "POST", "/v2/spans", params={"cursor": cursor}, json_body={"project_id": pid, "filter": "name = 'x'"}
        )
    with pytest.raises(BadRequestError, match="cursor"):
        await client.request("POST", "/v2/spans", params={"cursor": "not-a-cursor"}, json_body={"project_id": pid})


async def test_limit_above_500_is_a_400(engine: Engine, client: AsyncArizeClient) -> None:
    await ingest(engine, "app", [span(sid(1), start=NOW - HOUR)])
    pid = await project_id(client, "app")
    with pytest.raises(BadRequestError, match="between 1 and 500"):
        await client.request("POST", "/v2/spans", params={"limit": 501}, json_body={"project_id": pid})
    assert len((await client.spans.list("app", limit=500)).items) == 1


async def test_the_default_window_is_the_last_seven_days_and_both_ends_are_inclusive(
    engine: Engine, client: AsyncArizeClient
) -> None:
    recent, old = NOW - timedelta(days=1), NOW - timedelta(days=8)
    await ingest(engine, "app", [span(sid(1), start=recent, name="recent"), span(sid(2), start=old, name="old")])
    assert [s.name for s in await list_spans(client, "app")] == ["recent"]
    exact = await list_spans(client, "app", start_time=old, end_time=old)
    assert [s.name for s in exact] == ["old"]
    both = await list_spans(client, "app", start_time=old, end_time=recent)
    assert [s.name for s in both] == ["recent", "old"]
    naive = old.replace(tzinfo=None).isoformat()
    assert [s.name for s in await list_spans(client, "app", start_time=naive, end_time=naive)] == ["old"]


async def test_bad_times_and_windows_are_rejected_naming_the_field(engine: Engine, client: AsyncArizeClient) -> None:
    await ingest(engine, "app", [span(sid(1), start=NOW - HOUR)])
    pid = await project_id(client, "app")
    with pytest.raises(BadRequestError, match="start_time"):
        await client.request("POST", "/v2/spans", json_body={"project_id": pid, "start_time": "yesterday"})
    with pytest.raises(UnprocessableEntityError, match="after end_time"):
        await client.request(
            "POST",
            "/v2/spans",
            json_body={"project_id": pid, "start_time": NOW.isoformat(), "end_time": (NOW - HOUR).isoformat()},
        )
    with pytest.raises(BadRequestError, match="unknown field"):
        await client.request("POST", "/v2/spans", json_body={"project_id": pid, "limit": 5})


async def test_an_unknown_project_is_a_404(client: AsyncArizeClient) -> None:
    with pytest.raises(NotFoundError, match="project"):
        await client.request("POST", "/v2/spans", json_body={"project_id": "TW9kZWw6OTk5OmFCY0Q="})


# --- filters ---------------------------------------------------------------------------------------------


async def test_filters_select_on_fixed_columns_attributes_and_evaluations(
    engine: Engine, client: AsyncArizeClient
) -> None:
    await ingest(
        engine,
        "app",
        [
            span(sid(1), start=NOW - HOUR, kind="LLM", attributes={"llm.model_name": "gpt-4o"}, duration_ms=2000),
            span(sid(2), start=NOW - 2 * HOUR, kind="LLM", attributes={"llm.model_name": "haiku"}, status=2),
            span(sid(3), start=NOW - 3 * HOUR, kind="TOOL"),
        ],
    )
    await evaluate(engine, "app", sid(1), "correctness", label="correct", score=1.0)
    await evaluate(engine, "app", sid(2), "correctness", label="incorrect", score=0.0)

    async def ids(text: str) -> list[str]:
        return [s.context.span_id for s in await list_spans(client, "app", filter=text)]

    assert await ids("span_kind = 'LLM'") == [sid(1), sid(2)]
    assert await ids("status_code = 'ERROR'") == [sid(2)]
    assert await ids("latency_ms > 1000") == [sid(1)]
    assert await ids("attributes.llm.model_name = 'haiku'") == [sid(2)]
    assert await ids("eval.correctness.label = 'correct' AND eval.correctness.score >= 0.5") == [sid(1)]
    assert await ids("span_kind = 'TOOL' OR eval.correctness.score < 0.5") == [sid(2), sid(3)]
    (listed,) = (await client.spans.list("app", filter="eval.correctness.label = 'correct'")).items
    assert [(e.name, e.label, e.score) for e in listed.evaluations] == [("correctness", "correct", 1.0)]


async def test_a_broken_filter_is_a_400_pointing_at_the_token_and_an_empty_one_is_rejected(
    engine: Engine, client: AsyncArizeClient
) -> None:
    await ingest(engine, "app", [span(sid(1), start=NOW - HOUR)])
    with pytest.raises(BadRequestError) as caught:
        await client.spans.list("app", filter="span_kind = = 'LLM'")
    assert caught.value.detail is not None and "^" in caught.value.detail
    with pytest.raises(BadRequestError, match="must not be empty"):
        await client.spans.list("app", filter="   ")
    with pytest.raises(BadRequestError) as caught:
        await client.traces.list("app", filter="span_kind = = 'LLM'")
    assert caught.value.detail is not None and "^" in caught.value.detail


# --- columns and truncation ------------------------------------------------------------------------------


async def test_included_and_excluded_columns_project_attributes_and_evaluations_but_never_fixed_fields(
    engine: Engine, client: AsyncArizeClient
) -> None:
    attributes = {
        "input.value": "question",
        "output.value": "answer",
        "llm.model_name": "gpt-4o",
        "llm.token_count.total": 12,
        "llm.token_count.prompt": 10,
    }
    await ingest(engine, "app", [span(sid(1), start=NOW - HOUR, attributes=attributes, name="call")])
    await evaluate(engine, "app", sid(1), "hallucination", label="factual", score=1.0, explanation="grounded")
    await evaluate(engine, "app", sid(1), "tone", label="polite", score=1.0)

    (included,) = await list_spans(
        client,
        "app",
        included_columns=["attributes.llm.token_count", "attributes.input.value", "eval.hallucination.score", "nope"],
    )
    assert included.attributes == {"input.value": "question", "llm.token_count.total": 12, "llm.token_count.prompt": 10}
    assert [(e.name, e.score, e.label) for e in included.evaluations] == [("hallucination", 1.0, None)]
    assert (included.name, included.kind, included.context.span_id) == ("call", "LLM", sid(1))
    assert included.start_time is not None and included.latency_ms == pytest.approx(100.0)

    (excluded,) = await list_spans(client, "app", excluded_columns=["attributes.llm", "eval.tone"])
    assert excluded.attributes == {
        "input.value": "question",
        "output.value": "answer",
        "openinference.span.kind": "LLM",
    }
    assert [e.name for e in excluded.evaluations] == ["hallucination"]
    assert excluded.evaluations[0].explanation == "grounded"


async def test_included_and_excluded_columns_together_are_a_422(engine: Engine, client: AsyncArizeClient) -> None:
    await ingest(engine, "app", [span(sid(1), start=NOW - HOUR)])
    with pytest.raises(UnprocessableEntityError, match="mutually exclusive"):
        await client.spans.list("app", included_columns=["attributes.input.value"], excluded_columns=["eval.x"])


async def test_truncate_string_length_cuts_strings_inside_attributes_with_an_ellipsis(
    engine: Engine, client: AsyncArizeClient
) -> None:
    attributes = {"input.value": "abcdefghij", "short": "abc", "nested": {"doc": "0123456789"}, "n": 12345678}
    await ingest(engine, "app", [span(sid(1), start=NOW - HOUR, attributes=attributes, name="a-very-long-name")])
    (listed,) = await list_spans(client, "app", truncate_string_length=4)
    assert listed.attributes["input.value"] == "abcd…"
    assert listed.attributes["short"] == "abc"
    assert listed.attributes["nested"] == {"doc": "0123…"}
    assert listed.attributes["n"] == 12345678
    assert listed.name == "a-very-long-name"
    pid = await project_id(client, "app")
    with pytest.raises(BadRequestError, match="truncate_string_length"):
        await client.request("POST", "/v2/spans", json_body={"project_id": pid, "truncate_string_length": 0})


# --- delete ----------------------------------------------------------------------------------------------


async def test_delete_removes_spans_in_the_window_with_an_exclusive_end_and_reports_the_rest(
    engine: Engine, client: AsyncArizeClient
) -> None:
    edge = NOW - 2 * HOUR
    await ingest(
        engine, "app", [span(sid(1), start=NOW - 3 * HOUR), span(sid(2), start=edge), span(sid(3), start=edge)]
    )
    await evaluate(engine, "app", sid(1), "correctness", label="correct")
    result = await client.spans.delete("app", [sid(1), sid(2), sid(9), sid(1)], end_time=edge)
    assert result.completed
    assert result.deleted_span_ids == [sid(1)]
    assert result.not_deleted_span_ids == [sid(2), sid(9)]
    assert sorted(s.context.span_id for s in await list_spans(client, "app")) == [sid(2), sid(3)]
    again = await client.spans.delete("app", [sid(2)])
    assert again.deleted_span_ids == [sid(2)]

    await ingest(engine, "app", [span(sid(1), start=NOW - 3 * HOUR)])
    (revived,) = await list_spans(client, "app", filter=f"context.span_id = '{sid(1)}'")
    assert revived.evaluations == []


async def test_delete_validates_its_body(engine: Engine, client: AsyncArizeClient) -> None:
    await ingest(engine, "app", [span(sid(1), start=NOW - HOUR)])
    pid = await project_id(client, "app")
    with pytest.raises(BadRequestError, match="span_ids"):
        await client.request("DELETE", "/v2/spans", json_body={"project_id": pid, "span_ids": []})
    with pytest.raises(BadRequestError, match="span_ids"):
        await client.request("DELETE", "/v2/spans", json_body={"project_id": pid, "span_ids": ["x"] * 5001})
    assert len(await list_spans(client, "app")) == 1


# --- annotate --------------------------------------------------------------------------------------------


async def test_span_annotations_are_upserts_read_back_on_the_span(engine: Engine, client: AsyncArizeClient) -> None:
    await create_annotation_config(client, "quality")
    await create_annotation_config(client, "tone")
    await ingest(engine, "app", [span(sid(1), start=NOW - HOUR), span(sid(2), start=NOW - 2 * HOUR)])
    await client.spans.annotate(
        "app", [{"record_id": sid(1), "values": [{"name": "quality", "label": "good", "score": 1, "text": "ok"}]}]
    )
    await client.spans.annotate("app", [{"record_id": sid(1), "values": [{"name": "quality", "label": "bad"}]}])
    await client.spans.annotate("app", [{"record_id": sid(1), "values": [{"name": "tone", "label": "good"}]}])
    by_id = {s.context.span_id: s for s in await list_spans(client, "app")}
    annotations = {a.name: a for a in by_id[sid(1)].annotations}
    assert (annotations["quality"].label, annotations["quality"].score, annotations["quality"].text) == (
        "bad",
        1.0,
        "ok",
    )
    assert annotations["quality"].annotator is not None and annotations["quality"].updated_at is not None
    assert annotations["tone"].label == "good"
    assert by_id[sid(2)].annotations == [] and by_id[sid(1)].trace_annotations == []
    filtered = await list_spans(client, "app", filter="annotation.quality.label = 'bad'")
    assert [s.context.span_id for s in filtered] == [sid(1)]


async def test_annotating_any_span_outside_the_window_is_a_404_listing_it_and_writes_nothing(
    engine: Engine, client: AsyncArizeClient
) -> None:
    await create_annotation_config(client, "quality")
    await ingest(engine, "app", [span(sid(1), start=NOW - HOUR), span(sid(2), start=NOW - timedelta(days=40))])
    records = [
        {"record_id": sid(1), "values": [{"name": "quality", "label": "good"}]},
        {"record_id": sid(2), "values": [{"name": "quality", "label": "good"}]},
        {"record_id": sid(3), "values": [{"name": "quality", "label": "good"}]},
    ]
    with pytest.raises(NotFoundError) as caught:
        await client.spans.annotate("app", records)
    assert caught.value.detail is not None
    assert sid(2) in caught.value.detail and sid(3) in caught.value.detail and sid(1) not in caught.value.detail
    assert caught.value.body["not_found_record_ids"] == [sid(2), sid(3)]
    (listed,) = await list_spans(client, "app")
    assert listed.annotations == []


async def test_annotate_rejects_unknown_configs_repeated_records_and_bad_windows(
    engine: Engine, client: AsyncArizeClient
) -> None:
    await create_annotation_config(client, "quality")
    await ingest(engine, "app", [span(sid(1), start=NOW - HOUR)])
    record = {"record_id": sid(1), "values": [{"name": "quality", "label": "good"}]}
    with pytest.raises(NotFoundError, match="no annotation config named 'missing'"):
        await client.spans.annotate("app", [{"record_id": sid(1), "values": [{"name": "missing", "label": "x"}]}])
    with pytest.raises(BadRequestError, match="more than once"):
        await client.spans.annotate("app", [record, record])
    with pytest.raises(UnprocessableEntityError, match="future"):
        await client.spans.annotate("app", [record], end_time=NOW + timedelta(days=1))
    with pytest.raises(UnprocessableEntityError, match="31 days"):
        await client.spans.annotate("app", [record], start_time=NOW - timedelta(days=40))
    with pytest.raises(UnprocessableEntityError, match="7 days"):
        await client.spans.annotate(
            "app", [{**record, "record_id": "s"}], granularity="SESSION", start_time=NOW - timedelta(days=8)
        )
    pid = await project_id(client, "app")
    too_many = [{"record_id": f"s{i}", "values": [{"name": "quality", "label": "good"}]} for i in range(101)]
    with pytest.raises(BadRequestError, match="at most 100"):
        await client.request(
            "POST",
            "/v2/spans/annotate",
            json_body={"project_id": pid, "granularity": "SESSION", "annotations": too_many},
        )
    (listed,) = await list_spans(client, "app")
    assert listed.annotations == []


async def test_trace_annotations_need_a_root_span_and_show_on_every_span_of_the_trace(
    engine: Engine, client: AsyncArizeClient
) -> None:
    await create_annotation_config(client, "quality")
    await ingest(
        engine,
        "app",
        [
            span(sid(1), trace_id=TRACE_A, start=NOW - HOUR, kind="CHAIN"),
            span(sid(2), trace_id=TRACE_A, parent_id=sid(1), start=NOW - HOUR + timedelta(seconds=1)),
            span(sid(3), trace_id=TRACE_B, start=NOW - 2 * HOUR, kind="CHAIN"),
        ],
    )
    with pytest.raises(BadRequestError, match="root span"):
        await client.spans.annotate(
            "app", [{"record_id": sid(2), "values": [{"name": "quality", "label": "bad"}]}], granularity="TRACE"
        )
    await client.spans.annotate(
        "app", [{"record_id": sid(1), "values": [{"name": "quality", "label": "good"}]}], granularity="TRACE"
    )
    by_id = {s.context.span_id: s for s in await list_spans(client, "app")}
    assert [a.label for a in by_id[sid(1)].trace_annotations] == ["good"]
    assert [a.label for a in by_id[sid(2)].trace_annotations] == ["good"]
    assert by_id[sid(3)].trace_annotations == []
    assert all(s.annotations == [] for s in by_id.values())


async def test_session_annotations_land_on_the_root_of_the_sessions_earliest_trace(
    engine: Engine, client: AsyncArizeClient
) -> None:
    await create_annotation_config(client, "satisfaction")
    session = {"session.id": "chat-42"}
    await ingest(
        engine,
        "app",
        [
            span(sid(1), trace_id=TRACE_A, start=NOW - 3 * HOUR, kind="CHAIN", attributes=session),
            span(sid(2), trace_id=TRACE_A, parent_id=sid(1), start=NOW - 3 * HOUR, attributes=session),
            span(sid(3), trace_id=TRACE_B, start=NOW - HOUR, kind="CHAIN", attributes=session),
            span(sid(4), trace_id=TRACE_C, start=NOW - 2 * HOUR, kind="CHAIN", attributes={"session.id": "other"}),
        ],
    )
    values = [{"name": "satisfaction", "label": "good", "score": 1}]
    await client.spans.annotate("app", [{"record_id": "chat-42", "values": values}], granularity="SESSION")
    by_id = {s.context.span_id: s for s in await list_spans(client, "app")}
    assert [a.label for a in by_id[sid(1)].trace_annotations] == ["good"]
    assert [a.label for a in by_id[sid(2)].trace_annotations] == ["good"]
    assert by_id[sid(3)].trace_annotations == [] and by_id[sid(4)].trace_annotations == []
    with pytest.raises(NotFoundError, match="no-such-session"):
        await client.spans.annotate("app", [{"record_id": "no-such-session", "values": values}], granularity="SESSION")


async def test_the_client_splits_more_than_1000_annotations_into_several_requests(
    engine: Engine, client: AsyncArizeClient
) -> None:
    await create_annotation_config(client, "quality")
    await ingest(engine, "bulk", [span(sid(i), start=NOW - HOUR) for i in range(1, 1002)])
    records = [{"record_id": sid(i), "values": [{"name": "quality", "label": "good"}]} for i in range(1, 1002)]
    await client.spans.annotate("bulk", records)
    listed = await list_spans(client, "bulk", limit=500)
    assert len(listed) == 1001
    assert all([a.label for a in s.annotations] == ["good"] for s in listed)


# --- traces ----------------------------------------------------------------------------------------------


async def test_traces_match_when_any_span_matches_and_are_anchored_on_root_spans_in_the_window(
    engine: Engine, client: AsyncArizeClient
) -> None:
    await ingest(
        engine,
        "app",
        [
            span(sid(1), trace_id=TRACE_A, start=NOW - 2 * HOUR, kind="CHAIN", duration_ms=5000),
            span(sid(2), trace_id=TRACE_A, parent_id=sid(1), start=NOW - 2 * HOUR + timedelta(seconds=1), kind="LLM"),
            span(sid(3), trace_id=TRACE_B, start=NOW - HOUR, kind="CHAIN"),
            span(sid(4), trace_id=TRACE_C, start=NOW - timedelta(days=9), kind="CHAIN"),
            span(sid(5), trace_id=TRACE_C, parent_id=sid(4), start=NOW - HOUR, kind="LLM"),
            span(sid(6), trace_id="d" * 32, parent_id=sid(99), start=NOW - HOUR, kind="LLM"),
        ],
    )
    everything = [t async for t in client.traces.list("app")]
    assert [t.trace_id for t in everything] == [TRACE_B, TRACE_A]
    matching = [t async for t in client.traces.list("app", filter="span_kind = 'LLM'")]
    assert [t.trace_id for t in matching] == [TRACE_A]
    (trace,) = matching
    assert trace.root_span_id == sid(1)
    assert [s.context.span_id for s in trace.spans] == [sid(1), sid(2)]
    assert not trace.spans_truncated
    assert trace.start_time == NOW - 2 * HOUR
    assert trace.end_time == NOW - 2 * HOUR + timedelta(seconds=5)
    first = await client.traces.list("app", limit=1)
    assert [t.trace_id for t in first.items] == [TRACE_B] and first.has_more
    wide = [t.trace_id async for t in client.traces.list("app", start_time=NOW - timedelta(days=10))]
    assert wide == [TRACE_B, TRACE_A, TRACE_C]


async def test_a_trace_carries_at_most_1000_spans_and_says_when_it_was_cut(
    engine: Engine, client: AsyncArizeClient
) -> None:
    root = span(sid(1), trace_id=TRACE_A, start=NOW - HOUR, kind="CHAIN")
    children = [
        span(sid(i), trace_id=TRACE_A, parent_id=sid(1), start=NOW - HOUR + timedelta(milliseconds=i))
        for i in range(2, 1003)
    ]
    await ingest(engine, "app", [root, *children])
    (trace,) = (await client.traces.list("app")).items
    assert len(trace.spans) == 1000 and trace.spans_truncated
    assert trace.spans[0].context.span_id == sid(1)


async def test_trace_limit_above_50_is_a_400(engine: Engine, client: AsyncArizeClient) -> None:
    await ingest(engine, "app", [span(sid(1), start=NOW - HOUR)])
    pid = await project_id(client, "app")
    with pytest.raises(BadRequestError, match="between 1 and 50"):
        await client.request("POST", "/v2/traces", params={"limit": 51}, json_body={"project_id": pid})
    with pytest.raises(BadRequestError, match="unknown field"):
        await client.request("POST", "/v2/traces", json_body={"project_id": pid, "included_columns": ["x"]})
