"""The official SDK lists spans and traces that an OpenTelemetry OTLP/HTTP exporter sent to the engine."""

from __future__ import annotations

from arize import ArizeClient

from tests.conformance.conftest import SpanSender


def test_spans_are_listed_newest_first_and_paged_with_query_cursors(
    sdk: ArizeClient, space_id: str, send_spans: SpanSender
) -> None:
    sent = send_spans.send("paged-app", [f"step-{i}" for i in range(5)])

    first = sdk.spans.list(project="paged-app", space=space_id, limit=2)
    assert first.pagination is not None and first.pagination.has_more and first.pagination.next_cursor
    seen = [s.name for s in first.spans or []]
    cursor: str | None = first.pagination.next_cursor
    while cursor:
        page = sdk.spans.list(project="paged-app", space=space_id, limit=2, cursor=cursor)
        assert page.pagination is not None
        seen.extend(s.name for s in page.spans or [])
        cursor = page.pagination.next_cursor if page.pagination.has_more else None
    assert seen == [s.name for s in reversed(sent)]


def test_a_span_filter_and_column_projection_reach_the_engine(
    sdk: ArizeClient, space_id: str, send_spans: SpanSender
) -> None:
    send_spans.send("filtered-app", ["keep", "drop"])
    listed = sdk.spans.list(
        project="filtered-app",
        space=space_id,
        filter="name = 'keep' AND attributes.input.value LIKE 'question%'",
        included_columns=["attributes.output.value"],
    )
    [span] = listed.spans or []
    assert span.name == "keep" and span.start_time is not None and span.end_time is not None
    assert span.attributes == {"output.value": "answer for keep"}


def test_traces_are_listed_with_their_root_span(sdk: ArizeClient, space_id: str, send_spans: SpanSender) -> None:
    sent = send_spans.send("traced-app", ["alpha", "beta"])
    listed = sdk.traces.list(project="traced-app", space=space_id)
    assert listed.pagination is not None and listed.pagination.has_more is False
    by_trace = {t.trace_id: t for t in listed.traces or []}
    assert set(by_trace) == {s.trace_id for s in sent}
    alpha = by_trace[sent[0].trace_id]
    assert alpha.root_span_id == sent[0].span_id and alpha.spans_truncated is False
    assert [s.name for s in alpha.spans or []] == ["alpha"]
