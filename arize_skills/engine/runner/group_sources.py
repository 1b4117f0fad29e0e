"""Trace- and session-shaped project tasks: records that are groups of spans, stored on a root span.

* TRACE: one record per trace whose root span is in the window; the task's ``query_filters`` expression (``"A AND
  B"``…) holds for a trace when, for each query ID, some span of the trace matches that query's filter. Sampling
  hashes the trace ID; ``max_spans`` caps the number of traces; the result is stored on the root span.
* SESSION: one record per ``session.id`` found on spans in the window; a session's spans are the spans in the
  window that carry its ``session.id`` (a simplification: spans of the same traces without the attribute are not
  part of it), and the expression holds when each query matches one of them. The result is stored on the root span
  of the session's earliest trace in the window (else on its earliest span). Sampling hashes the session ID.

Each loaded record carries its spans (oldest first) and, per query ID, the spans matching that query, which is
what ``query_mappings`` read (``plans.bind``).
"""

from __future__ import annotations

import re
import sqlite3
from collections import defaultdict
from collections.abc import Callable, Mapping, Sequence
from typing import Any

from ...evals.mapping import SpanView
from ..query.filters import span_filter_sql
from ..store.db import sql_chunks
from ..store.documents import QueryFiltersDoc
from ..store.spans import session_root_spans, span_key
from .plans import Record, RunSetupError
from .sources import (
    SESSION_ID,
    SPAN_COLUMNS,
    Candidate,
    Fragment,
    ProjectSource,
    and_all,
    compile_stored_filter,
    span_view,
)

__all__ = ["SessionSource", "TraceSource", "compile_expression"]

_EXPRESSION_TOKEN = re.compile(r"\s*(?:(\()|(\))|([A-Za-z_][A-Za-z0-9_]*))")


def compile_expression(expression: str, atom: Callable[[str], Fragment]) -> Fragment:
    """Compile a ``query_filters`` expression (query IDs with AND, OR, NOT and parentheses) to SQL.

    Raises:
        RunSetupError: the expression does not parse or names an undeclared query.
    """
    tokens: list[str] = []
    position = 0
    text = expression.strip()
    while position < len(text):
        match = _EXPRESSION_TOKEN.match(text, position)
        if match is None or match.end() == position:
            raise RunSetupError(f'query_filters.expression "{expression}" does not parse near "{text[position:]}"')
        tokens.append(match.group(1) or match.group(2) or match.group(3))
        position = match.end()
        while position < len(text) and text[position].isspace():
            position += 1
    index = 0

    def peek() -> str | None:
        return tokens[index] if index < len(tokens) else None

    def take() -> str:
        nonlocal index
        if index >= len(tokens):
            raise RunSetupError(f'query_filters.expression "{expression}" ends too early')
        index += 1
        return tokens[index - 1]

    def or_expr() -> Fragment:
        left = and_expr()
        while (peek() or "").upper() == "OR":
            take()
            right = and_expr()
            left = (f"({left[0]} OR {right[0]})", [*left[1], *right[1]])
        return left

    def and_expr() -> Fragment:
        left = not_expr()
        while (peek() or "").upper() == "AND":
            take()
            right = not_expr()
            left = (f"({left[0]} AND {right[0]})", [*left[1], *right[1]])
        return left

    def not_expr() -> Fragment:
        token = take()
        if token.upper() == "NOT":
            inner = not_expr()
            return f"(NOT {inner[0]})", inner[1]
        if token == "(":
            inner = or_expr()
            if take() != ")":
                raise RunSetupError(f'query_filters.expression "{expression}" misses a closing parenthesis')
            return inner
        return atom(token)

    result = or_expr()
    if index != len(tokens):
        raise RunSetupError(f'query_filters.expression "{expression}" has extra text: {" ".join(tokens[index:])}')
    return result


class _GroupSource(ProjectSource):
    """Shared by trace and session tasks: the task's named queries and the spans each one matches."""

    def __init__(self, *args: Any, query_filters: QueryFiltersDoc | None, **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        given = query_filters or QueryFiltersDoc()
        self.queries: dict[str, str] = {f.id: f.filter for f in given.filters}
        self.expression: str | None = given.expression or None
        self.compiled = {
            qid: compile_stored_filter(text, span_filter_sql, f"query_filters {qid}")
            for qid, text in self.queries.items()
        }

    def _query(self, query_id: str) -> Fragment:
        found = self.compiled.get(query_id)
        if found is None:
            declared = ", ".join(self.queries) or "none"
            raise RunSetupError(f"query_filters.expression names query {query_id}, which is not declared ({declared})")
        return found

    def _describe_queries(self) -> str:
        listed = "; ".join(f'{qid}: "{text}"' for qid, text in self.queries.items())
        return f"expression {self.expression or ' AND '.join(self.queries)} over {listed}"

    def _records(
        self,
        conn: sqlite3.Connection,
        candidates: Sequence[Candidate],
        spans: Mapping[str, list[SpanView]],
        describe: Callable[[str], str],
    ) -> list[Record]:
        """One record per candidate that still has spans, with the spans each named query matched inside it."""
        matches = self._matches(conn, [s.span_id for group in spans.values() for s in group])
        records = []
        for candidate in candidates:
            group = spans.get(candidate.ident)
            if not group:
                continue
            ids = {s.span_id for s in group}
            scoped = {q: found & ids for q, found in matches.items()}
            records.append(Record("span", candidate.key, describe(candidate.ident), spans=group, matches=scoped))
        return records

    def _matches(self, conn: sqlite3.Connection, span_ids: Sequence[str]) -> dict[str, set[str]]:
        matches: dict[str, set[str]] = defaultdict(set)
        for query_id, compiled in self.compiled.items():
            assert compiled is not None
            for chunk in sql_chunks(span_ids):
                rows = conn.execute(
                    f"SELECT s.span_id FROM spans AS s WHERE s.project_num = ? AND s.span_id IN "
                    f"({','.join('?' * len(chunk))}) AND ({compiled[0]})",
                    [self.project.num, *chunk, *compiled[1]],
                )
                matches[query_id].update(row[0] for row in rows)
        return matches

    def _all_plans(self) -> list[int]:
        return [plan.index for plan in self.plans]


class TraceSource(_GroupSource):
    """Traces of a project, each stored on its root span (TRACE granularity)."""

    noun = "trace"

    def _where(self) -> Fragment | None:
        if not self.queries:
            return None

        def atom(query_id: str) -> Fragment:
            sql, params = self._query(query_id)
            return (
                "EXISTS (SELECT 1 FROM spans AS s WHERE s.project_num = r.project_num AND s.trace_id = r.trace_id"
                f" AND ({sql}))",
                list(params),
            )

        return compile_expression(self.expression or " AND ".join(self.queries), atom)

    def select(self, conn: sqlite3.Connection, limit: int) -> list[Candidate]:
        where = and_all(self.window.sql("r"), self._where(), self._sampling("r.trace_id"))
        assert where is not None
        rows = conn.execute(
            f"SELECT r.span_id, r.trace_id FROM spans AS r WHERE r.project_num = ? AND r.parent_id IS NULL"
            f" AND {where[0]} ORDER BY r.start_ns DESC, r.row DESC LIMIT ?",
            [self.project.num, *where[1], limit],
        )
        return [
            Candidate(trace_id, span_key(self.project.num, root), self._all_plans(), {"root": root})
            for root, trace_id in rows
        ]

    def why_empty(self, conn: sqlite3.Connection) -> str:
        if self._in_window(conn) == 0:
            return self._project_stats(conn)
        sql, params = self.window.sql("r")
        roots = conn.execute(
            f"SELECT COUNT(*) FROM spans AS r WHERE r.project_num = ? AND r.parent_id IS NULL AND {sql}",
            [self.project.num, *params],
        ).fetchone()[0]
        if roots == 0:
            return (
                f"the window {self.window.describe()} of project '{self.project.name}' has spans but no root span "
                "(a span without parent), so it holds no whole trace to evaluate; widen the window to include the "
                "traces' root spans"
            )
        where = and_all(self.window.sql("r"), self._where())
        assert where is not None
        matching = conn.execute(
            f"SELECT COUNT(*) FROM spans AS r WHERE r.project_num = ? AND r.parent_id IS NULL AND {where[0]}",
            [self.project.num, *where[1]],
        ).fetchone()[0]
        if matching == 0:
            return (
                f"none of the {roots} trace{'s' if roots != 1 else ''} in the window ({self.window.describe()}) of "
                f"project '{self.project.name}' matches the task's query_filters: {self._describe_queries()}"
            )
        return f"sampling_rate {self.rate:g} kept none of the {matching} matching traces; raise sampling_rate"

    def load(self, conn: sqlite3.Connection, candidates: Sequence[Candidate]) -> list[Record]:
        spans: dict[str, list[SpanView]] = defaultdict(list)
        for chunk in sql_chunks([c.ident for c in candidates]):
            rows = conn.execute(
                f"SELECT {SPAN_COLUMNS} FROM spans AS s WHERE s.project_num = ?"
                f" AND s.trace_id IN ({','.join('?' * len(chunk))}) ORDER BY s.start_ns, s.row",
                [self.project.num, *chunk],
            )
            for row in rows:
                spans[row["trace_id"]].append(span_view(row))
        return self._records(conn, candidates, spans, lambda ident: f"trace {ident}")


class SessionSource(_GroupSource):
    """Sessions of a project (spans sharing ``session.id``), each stored on its earliest trace's root span."""

    noun = "session"

    def _having(self) -> Fragment | None:
        if not self.queries:
            return None

        def atom(query_id: str) -> Fragment:
            sql, params = self._query(query_id)
            return f"(MAX(CASE WHEN ({sql}) THEN 1 ELSE 0 END) = 1)", list(params)

        return compile_expression(self.expression or " AND ".join(self.queries), atom)

    def _sessions(self, conn: sqlite3.Connection, limit: int, *, sampled: bool, filtered: bool) -> list[str]:
        where = and_all(self.window.sql("s"), (f"{SESSION_ID} IS NOT NULL", []))
        if sampled:
            where = and_all(where, self._sampling(SESSION_ID))
        assert where is not None
        having = self._having() if filtered else None
        sql = f"SELECT {SESSION_ID} AS sid FROM spans AS s WHERE s.project_num = ? AND {where[0]} GROUP BY sid"
        params = [self.project.num, *where[1]]
        if having is not None:
            sql += f" HAVING {having[0]}"
            params.extend(having[1])
        sql += " ORDER BY MAX(s.start_ns) DESC LIMIT ?"
        return [row[0] for row in conn.execute(sql, [*params, limit])]

    def select(self, conn: sqlite3.Connection, limit: int) -> list[Candidate]:
        sessions = self._sessions(conn, limit, sampled=True, filtered=True)
        if not sessions:
            return []
        start_ns, end_ns = self.window.start_ns or 0, self.window.end_ns or 2**62
        if self.window.received_from is not None:
            start_ns, end_ns = 0, 2**62
        roots = session_root_spans(conn, self.project.num, sessions, start_ns, end_ns)
        candidates = []
        for session_id in sessions:
            anchor = roots.get(session_id)
            if anchor is None:
                where = self.window.sql("s")
                row = conn.execute(
                    f"SELECT s.span_id FROM spans AS s WHERE s.project_num = ? AND {where[0]} AND {SESSION_ID} = ?"
                    " ORDER BY s.start_ns, s.row LIMIT 1",
                    [self.project.num, *where[1], session_id],
                ).fetchone()
                anchor = row[0]
            candidates.append(
                Candidate(session_id, span_key(self.project.num, anchor), self._all_plans(), {"root": anchor})
            )
        return candidates

    def why_empty(self, conn: sqlite3.Connection) -> str:
        if self._in_window(conn) == 0:
            return self._project_stats(conn)
        every = self._sessions(conn, 2**31, sampled=False, filtered=False)
        if not every:
            return (
                f"no span in the window ({self.window.describe()}) of project '{self.project.name}' carries a "
                "session.id attribute, so there is no session to evaluate; instrument the app with session IDs "
                "(OpenInference using_session) or use a TRACE evaluator"
            )
        matching = self._sessions(conn, 2**31, sampled=False, filtered=True)
        if not matching:
            return (
                f"none of the {len(every)} session{'s' if len(every) != 1 else ''} in the window "
                f"({self.window.describe()}) matches the task's query_filters: {self._describe_queries()}"
            )
        return f"sampling_rate {self.rate:g} kept none of the {len(matching)} matching sessions; raise sampling_rate"

    def load(self, conn: sqlite3.Connection, candidates: Sequence[Candidate]) -> list[Record]:
        spans: dict[str, list[SpanView]] = defaultdict(list)
        window_sql, window_params = self.window.sql("s")
        for chunk in sql_chunks([c.ident for c in candidates]):
            rows = conn.execute(
                f"SELECT {SPAN_COLUMNS}, {SESSION_ID} AS sid FROM spans AS s WHERE s.project_num = ?"
                f" AND {window_sql} AND {SESSION_ID} IN ({','.join('?' * len(chunk))}) ORDER BY s.start_ns, s.row",
                [self.project.num, *window_params, *chunk],
            )
            for row in rows:
                spans[row["sid"]].append(span_view(row))
        return self._records(conn, candidates, spans, lambda ident: f"session '{ident}'")
