"""Building blocks of record selection: candidates, record sources, windows, sampling, and span-shaped tasks.

A ``RecordSource`` selects the records of one kind of task (``select``), says why it found none (``why_empty``)
and loads them (``load``). ``SpanSource`` is the span-shaped project task: spans in the window (start time, both
ends inclusive; or, for continuous runs, received in ``[received_from, received_to)``) matching the task's
``query_filter`` AND each evaluator's filters, sampled by a hash of the span ID (``store.db.sample_fraction``,
which the store's connection offers as ``arize_sample``), newest first. The trace and session sources are in
``group_sources``, the dataset source and the selection itself in ``records``.
"""

from __future__ import annotations

import json
import sqlite3
from abc import ABC, abstractmethod
from collections.abc import Callable, Sequence
from dataclasses import dataclass, field
from typing import Any

from ...errors import FilterError
from ...evals.mapping import SpanView, span_value
from ...models._base import iso
from ..query.filters import span_filter_sql
from ..store.db import sql_chunks
from ..store.objects import StoredObject
from ..store.spans import ns_to_datetime, span_key
from .plans import EvaluatorPlan, Record, RunSetupError

__all__ = [
    "SESSION_ID",
    "SPAN_COLUMNS",
    "Candidate",
    "Fragment",
    "ProjectSource",
    "RecordSource",
    "SpanSource",
    "Window",
    "and_all",
    "any_span_received",
    "compile_stored_filter",
    "plan_filter",
    "describe_filters",
    "ns_text",
    "plural",
    "sampled",
    "span_view",
]

SPAN_COLUMNS = (
    "s.row, s.trace_id, s.span_id, s.parent_id, s.name, s.kind, s.start_ns, s.end_ns, s.latency_ms, "
    "s.status_code, s.status_message, s.attributes"
)
SESSION_ID = "CAST(json_extract(s.attributes, '$.\"session.id\"') AS TEXT)"
Fragment = tuple[str, list[Any]]


@dataclass
class Candidate:
    """One record to score and the plans (by index) that score it."""

    ident: str
    key: str
    plans: list[int]
    info: dict[str, Any] = field(default_factory=dict)


def and_all(*parts: Fragment | None) -> Fragment | None:
    """The SQL conjunction of the fragments given (``None`` ones left out; ``None`` when none is left)."""
    present = [p for p in parts if p is not None]
    if not present:
        return None
    return " AND ".join(f"({sql})" for sql, _ in present), [v for _, params in present for v in params]


def compile_stored_filter(
    text: str | None, compiler: Callable[[str], tuple[str, list[Any]]], label: str
) -> Fragment | None:
    """Compile a stored filter, or raise ``RunSetupError`` naming it (``label``) when it no longer compiles."""
    if not text:
        return None
    try:
        return compiler(text)
    except FilterError as exc:
        raise RunSetupError(f'{label} "{text}" no longer compiles: {exc.detail}; fix it on the task') from None


def plan_filter(
    task_filter: str | None, plan: EvaluatorPlan, compiler: Callable[[str], tuple[str, list[Any]]]
) -> Fragment | None:
    """The records ``plan`` scores: the task's filter and the evaluator's own, compiled by ``compiler``."""
    parts = [compile_stored_filter(task_filter, compiler, "the task's query_filter")]
    parts += [compile_stored_filter(f, compiler, f"evaluator '{plan.evaluator_name}' filter") for f in plan.filters()]
    return and_all(*parts)


def sampled(rate: float, column: str) -> Fragment | None:
    """The sampling rule as SQL: the records whose ``arize_sample(column)`` is below ``rate`` (``None``: all)."""
    return (f"arize_sample({column}) < ?", [rate]) if rate < 1 else None


def any_span_received(
    conn: sqlite3.Connection, project_num: int, window: Window, *, task_filter: str | None, rate: float
) -> bool:
    """Whether a span of the project in ``window`` matches the task's filter and sampling: what a continuous tick
    asks before it starts a run.

    Raises:
        RunSetupError: the task's filter no longer compiles.
    """
    where = and_all(
        window.sql("s"),
        compile_stored_filter(task_filter, span_filter_sql, "the task's query_filter"),
        sampled(rate, "s.span_id"),
    )
    assert where is not None
    sql = f"SELECT 1 FROM spans AS s WHERE s.project_num = ? AND {where[0]} LIMIT 1"
    return conn.execute(sql, [project_num, *where[1]]).fetchone() is not None


def describe_filters(task_filter: str | None, plan: EvaluatorPlan, *, task_label: str = "query_filter") -> str:
    """The task-level and evaluator-level filters of ``plan``, as reasons quote them."""
    parts = [f'task {task_label} "{task_filter}"'] if task_filter else []
    parts.extend(plan.describe_filters())
    return " AND ".join(parts) if parts else "no filter"


def plural(count: int, noun: str) -> str:
    """``count`` and ``noun``, with an ``s`` unless the count is one."""
    return f"{count} {noun}{'' if count == 1 else 's'}"


def ns_text(ns: int) -> str:
    """A nanosecond timestamp as ISO 8601 text."""
    return iso(ns_to_datetime(ns))


class RecordSource(ABC):
    """Selects and loads the records of one kind of task."""

    target_kind = "span"
    noun = "span"

    @abstractmethod
    def select(self, conn: sqlite3.Connection, limit: int) -> list[Candidate]:
        """Candidates in processing order, each with the plans that take it (at most ``limit``)."""

    @abstractmethod
    def why_empty(self, conn: sqlite3.Connection) -> str:
        """Why ``select`` found nothing."""

    @abstractmethod
    def load(self, conn: sqlite3.Connection, candidates: Sequence[Candidate]) -> list[Record]:
        """The records of ``candidates``, in the same order (a record gone since selection is left out)."""


# --- project tasks -----------------------------------------------------------------------------------------------


@dataclass
class Window:
    """Either a start-time window (ns, inclusive) or a received-at window (ISO text, half-open)."""

    start_ns: int | None = None
    end_ns: int | None = None
    received_from: str | None = None
    received_to: str | None = None

    def sql(self, alias: str) -> Fragment:
        """The window as SQL over the spans alias ``alias``."""
        if self.received_from is not None or self.received_to is not None:
            return (
                f"{alias}.received_at >= ? AND {alias}.received_at < ?",
                [self.received_from or "", self.received_to or "9999"],
            )
        return f"{alias}.start_ns >= ? AND {alias}.start_ns <= ?", [self.start_ns or 0, self.end_ns or 2**62]

    def describe(self) -> str:
        """The window, as reasons quote it."""
        if self.received_from is not None or self.received_to is not None:
            return f"received from {self.received_from} to {self.received_to}"
        return f"{ns_text(self.start_ns or 0)} .. {ns_text(self.end_ns or 0)}"


class ProjectSource(RecordSource):
    """What the sources of project tasks share: the project, the window, the plans, sampling and the task filter."""

    def __init__(
        self,
        project: StoredObject,
        window: Window,
        plans: Sequence[EvaluatorPlan],
        *,
        sampling_rate: float,
        task_filter: str | None,
    ) -> None:
        self.project = project
        self.window = window
        self.plans = plans
        self.rate = sampling_rate
        self.task_filter = task_filter

    def _project_stats(self, conn: sqlite3.Connection) -> str:
        count, first, last = conn.execute(
            "SELECT COUNT(*), MIN(start_ns), MAX(start_ns) FROM spans WHERE project_num = ?", (self.project.num,)
        ).fetchone()
        name = self.project.name
        if not count:
            return (
                f"project '{name}' has no spans yet; send traces to it (OTLP/HTTP at /v1/traces, with "
                f"openinference.project.name = '{name}') and trigger again"
            )
        if self.window.received_from is not None:
            return f"no span was received in project '{name}' {self.window.describe()}"
        return (
            f"the window {self.window.describe()} holds no spans in project '{name}' (the project has {count} "
            f"span{'s' if count != 1 else ''}, starting from {ns_text(first)} to {ns_text(last)}); trigger again with "
            "data_start_time and data_end_time around them"
        )

    def _in_window(self, conn: sqlite3.Connection) -> int:
        sql, params = self.window.sql("s")
        row = conn.execute(
            f"SELECT COUNT(*) FROM spans AS s WHERE s.project_num = ? AND {sql}", [self.project.num, *params]
        )
        return int(row.fetchone()[0])

    def _sampling(self, column: str) -> Fragment | None:
        return sampled(self.rate, column)


class SpanSource(ProjectSource):
    """Spans of a project (span-shaped tasks)."""

    def _filter(self, plan: EvaluatorPlan) -> Fragment | None:
        return plan_filter(self.task_filter, plan, span_filter_sql)

    def select(self, conn: sqlite3.Connection, limit: int) -> list[Candidate]:
        found: dict[str, tuple[int, int, list[int]]] = {}
        for plan in self.plans:
            where = and_all(self.window.sql("s"), self._filter(plan), self._sampling("s.span_id"))
            assert where is not None
            rows = conn.execute(
                f"SELECT s.span_id, s.start_ns, s.row FROM spans AS s WHERE s.project_num = ? AND {where[0]}"
                " ORDER BY s.start_ns DESC, s.row DESC LIMIT ?",
                [self.project.num, *where[1], limit],
            )
            for span_id, start_ns, row in rows:
                found.setdefault(span_id, (start_ns, row, []))[2].append(plan.index)
        ordered = sorted(found.items(), key=lambda item: (item[1][0], item[1][1]), reverse=True)[:limit]
        return [Candidate(span_id, span_key(self.project.num, span_id), plans) for span_id, (_, _, plans) in ordered]

    def why_empty(self, conn: sqlite3.Connection) -> str:
        total = self._in_window(conn)
        if total == 0:
            return self._project_stats(conn)
        matching = 0
        for plan in self.plans:
            where = and_all(self.window.sql("s"), self._filter(plan))
            assert where is not None
            row = conn.execute(
                f"SELECT COUNT(*) FROM spans AS s WHERE s.project_num = ? AND {where[0]}", [self.project.num, *where[1]]
            ).fetchone()
            matching = max(matching, int(row[0]))
        if matching == 0:
            described = "; ".join(describe_filters(self.task_filter, p) for p in self.plans)
            return (
                f"none of the {total} span{'s' if total != 1 else ''} in the window ({self.window.describe()}) of "
                f"project '{self.project.name}' matches the filter: {described}. Check the filter against real "
                "spans (a filter on a misspelt attribute matches nothing)"
            )
        return (
            f"sampling_rate {self.rate:g} kept none of the {matching} matching span{'s' if matching != 1 else ''}; "
            "raise sampling_rate or widen the window"
        )

    def load(self, conn: sqlite3.Connection, candidates: Sequence[Candidate]) -> list[Record]:
        views: dict[str, SpanView] = {}
        for chunk in sql_chunks([c.ident for c in candidates]):
            rows = conn.execute(
                f"SELECT {SPAN_COLUMNS} FROM spans AS s WHERE s.project_num = ?"
                f" AND s.span_id IN ({','.join('?' * len(chunk))})",
                [self.project.num, *chunk],
            )
            views.update((row["span_id"], span_view(row)) for row in rows)
        records = []
        for candidate in candidates:
            view = views.get(candidate.ident)
            if view is not None:
                records.append(
                    Record(
                        "span",
                        candidate.key,
                        f"span {candidate.ident}",
                        lookup=lambda path, v=view: span_value(v, path),  # type: ignore[misc]
                    )
                )
        return records


def span_view(row: sqlite3.Row) -> SpanView:
    """A stored span row as the ``SpanView`` that mappings read."""
    return SpanView(
        span_id=row["span_id"],
        trace_id=row["trace_id"],
        parent_id=row["parent_id"],
        name=row["name"],
        kind=row["kind"],
        status_code=row["status_code"],
        status_message=row["status_message"],
        start_time=ns_text(row["start_ns"]),
        end_time=ns_text(row["end_ns"]),
        latency_ms=float(row["latency_ms"]),
        attributes=json.loads(row["attributes"]),
    )
