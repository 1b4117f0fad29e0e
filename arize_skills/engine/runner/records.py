"""Which records an evaluation task run scores, in which order, and how they are loaded.

* **Project tasks, span shape.** Spans whose ``start_time`` is inside the run's window (both ends inclusive) —
  or, for a continuous run, spans *received* in ``[received_from, received_to)`` — matching the task's
  ``query_filter`` AND the evaluator's ``query_filter`` (AND a code evaluator's own ``code_config.query_filter``).
  ``sampling_rate`` keeps a span when a hash of its span ID falls below the rate, so a re-run samples the same
  spans. ``max_spans`` keeps the newest spans (by start time) and records are scored newest first.
* **Project tasks, trace shape** (``data_granularity`` TRACE). One record per trace whose root span is in the
  window; the task's ``query_filters`` expression (``"A AND B"``…) holds for a trace when, for each query ID, some
  span of the trace matches that query's filter. The result is stored on the root span. Sampling hashes the trace
  ID; ``max_spans`` caps the number of traces.
* **Project tasks, session shape** (SESSION). One record per ``session.id`` found on spans in the window; a
  session's spans are the spans in the window that carry its ``session.id``, and the expression holds when each
  query matches one of them. The result is stored on the root span of the session's earliest trace in the window
  (else on its earliest span). Sampling hashes the session ID; ``max_spans`` caps the number of sessions.
* **Dataset tasks.** The runs of the run's experiments, in upload order, matching the task's and evaluator's
  filters (experiment-run filter language), capped at ``max_spans``. A run's columns are its example's columns
  (joined by ``example_id``; also under ``dataset.<col>``) overlaid with the run's own (``output``, ``example_id``,
  custom fields).

Before anything is scored, ``select_records`` removes the (evaluator, record) pairs this run already scored (a run
resumed after an engine restart) and, unless ``override_evaluations`` is set, counts as skipped the pairs whose
record already has ``eval.<name>`` from elsewhere. When nothing is selected it says why: an empty window (with the
project's span count and time range), a filter that matches nothing (quoting it), sampling that kept nothing, or
everything already labelled.
"""

from __future__ import annotations

import json
import sqlite3
from collections import defaultdict
from collections.abc import Sequence
from dataclasses import dataclass, field
from typing import Any

from ...evals.mapping import record_value
from ...models.ids import decode_id
from ..query.filters import run_filter_sql
from ..store.db import sql_chunks
from ..store.documents import ExperimentDoc, TaskDoc, TaskRunDoc
from ..store.objects import StoredObject, document, get_object
from ..store.spans import datetime_to_ns
from ..store.tasks import parse_time
from .group_sources import SessionSource, TraceSource
from .plans import EvaluatorPlan, Record, RunSetupError
from .sources import (
    Candidate,
    Fragment,
    RecordSource,
    SpanSource,
    Window,
    and_all,
    describe_filters,
    plan_filter,
    plural,
)

__all__ = ["RunSource", "Selection", "select_records"]


@dataclass
class Selection:
    """What a run will score: candidates in order, how many pairs were skipped, and why nothing is left if so."""

    source: RecordSource
    candidates: list[Candidate]
    skipped: int = 0
    already_done: int = 0
    empty_reason: str | None = None
    skipped_names: list[str] = field(default_factory=list)

    @property
    def items(self) -> int:
        """The (evaluator, record) pairs left to score."""
        return sum(len(c.plans) for c in self.candidates)


# --- dataset tasks -----------------------------------------------------------------------------------------------


class RunSource(RecordSource):
    """Experiment runs of a dataset task, with their examples' columns."""

    target_kind = "run"
    noun = "run"

    def __init__(self, experiments: Sequence[StoredObject], plans: Sequence[EvaluatorPlan], task_filter: str | None):
        self.experiments = experiments
        self.plans = plans
        self.task_filter = task_filter

    def _nums(self) -> tuple[str, list[Any]]:
        return f"r.experiment_num IN ({','.join('?' * len(self.experiments))})", [e.num for e in self.experiments]

    def _filter(self, plan: EvaluatorPlan) -> Fragment | None:
        return plan_filter(self.task_filter, plan, run_filter_sql)

    def _names(self) -> str:
        return ", ".join(f"'{e.name}'" for e in self.experiments)

    def select(self, conn: sqlite3.Connection, limit: int) -> list[Candidate]:
        if not self.experiments:
            return []
        found: dict[str, tuple[int, list[int]]] = {}
        for plan in self.plans:
            where = and_all(self._nums(), self._filter(plan))
            assert where is not None
            rows = conn.execute(
                f"SELECT r.run_id, r.row FROM experiment_runs AS r WHERE {where[0]} ORDER BY r.row LIMIT ?",
                [*where[1], limit],
            )
            for run_id, row in rows:
                found.setdefault(run_id, (row, []))[1].append(plan.index)
        ordered = sorted(found.items(), key=lambda item: item[1][0])[:limit]
        return [Candidate(run_id, run_id, plans) for run_id, (_, plans) in ordered]

    def why_empty(self, conn: sqlite3.Connection) -> str:
        if not self.experiments:
            return "the task has no experiments to evaluate; trigger with experiment_ids"
        sql, params = self._nums()
        total = conn.execute(f"SELECT COUNT(*) FROM experiment_runs AS r WHERE {sql}", params).fetchone()[0]
        if total == 0:
            return (
                f"the experiment{'s' if len(self.experiments) > 1 else ''} {self._names()} hold no runs; upload runs "
                "(POST /v2/experiments/{id}/runs) or run the experiment, then trigger again"
            )
        described = "; ".join(describe_filters(self.task_filter, p) for p in self.plans)
        experiments = "experiments" if len(self.experiments) > 1 else "experiment"
        return f"none of the {plural(total, 'run')} of {experiments} {self._names()} matches the filter: {described}"

    def load(self, conn: sqlite3.Connection, candidates: Sequence[Candidate]) -> list[Record]:
        runs: dict[str, sqlite3.Row] = {}
        for chunk in sql_chunks([c.ident for c in candidates]):
            rows = conn.execute(
                f"SELECT * FROM experiment_runs WHERE run_id IN ({','.join('?' * len(chunk))})", chunk
            ).fetchall()
            runs.update((row["run_id"], row) for row in rows)
        examples = self._examples(conn, [r["example_id"] for r in runs.values() if r["example_id"]], runs)
        records = []
        for candidate in candidates:
            row = runs.get(candidate.ident)
            if row is None:
                continue
            example = examples.get((row["experiment_num"], row["example_id"]), {})
            columns: dict[str, Any] = dict(example)
            columns.update(json.loads(row["data"]))
            columns.update({"id": row["run_id"], "example_id": row["example_id"], "output": row["output"]})
            if row["error"] is not None:
                columns["error"] = row["error"]
            columns.setdefault("dataset", example)
            records.append(
                Record(
                    "run",
                    candidate.key,
                    f"run {candidate.ident}",
                    lookup=lambda path, c=columns: record_value(c, path),  # type: ignore[misc]
                    columns=sorted(k for k in columns if k != "dataset"),
                )
            )
        return records

    def _examples(
        self, conn: sqlite3.Connection, example_ids: Sequence[str], runs: dict[str, sqlite3.Row]
    ) -> dict[tuple[int, str], dict[str, Any]]:
        """Example columns per (experiment, example): the experiment's dataset version first, else the latest."""
        versions = {e.num: _version_num(e) for e in self.experiments}
        datasets = {e.num: e.parent_num for e in self.experiments}
        by_example: dict[str, list[sqlite3.Row]] = defaultdict(list)
        for chunk in sql_chunks(sorted(set(example_ids))):
            rows = conn.execute(
                "SELECT dataset_num, version_num, example_id, data FROM dataset_examples"
                f" WHERE example_id IN ({','.join('?' * len(chunk))}) ORDER BY version_num DESC",
                chunk,
            )
            for row in rows:
                by_example[row["example_id"]].append(row)
        found: dict[tuple[int, str], dict[str, Any]] = {}
        for row in runs.values():
            candidates = list(by_example.get(row["example_id"] or "", []))
            experiment_num = row["experiment_num"]
            same_dataset = [r for r in candidates if r["dataset_num"] == datasets.get(experiment_num)] or candidates
            pinned = [r for r in same_dataset if r["version_num"] == versions.get(experiment_num)]
            chosen = next(iter(pinned or same_dataset), None)
            if chosen is not None:
                found[(experiment_num, row["example_id"])] = json.loads(chosen["data"])
        return found


def _version_num(experiment: StoredObject) -> int | None:
    version_id = document(experiment, ExperimentDoc).dataset_version_id
    decoded = decode_id(version_id) if version_id else None
    return decoded.number if decoded is not None else None


# --- selection ---------------------------------------------------------------------------------------------------


def _source(
    conn: sqlite3.Connection, task: StoredObject, run: StoredObject, plans: Sequence[EvaluatorPlan]
) -> RecordSource:
    doc, run_doc = document(task, TaskDoc), document(run, TaskRunDoc)
    params = run_doc.evaluation_parameters()
    if doc.dataset_num is not None:
        experiments = [get_object(conn, "Experiment", int(n)) for n in params.experiment_nums or []]
        present = [e for e in experiments if e is not None]
        if len(present) < len(experiments):
            raise RunSetupError(
                "an experiment this run was asked to evaluate has been deleted; trigger again with existing "
                "experiment_ids"
            )
        return RunSource(present, plans, doc.query_filter)
    project = get_object(conn, "Model", int(doc.project_num or 0))
    if project is None:
        raise RunSetupError(f"the project of task '{task.name}' no longer exists; delete the task")
    if params.received_to is not None:
        window = Window(received_from=params.received_from, received_to=params.received_to)
    else:
        start, end = parse_time(run_doc.data_start_time), parse_time(run_doc.data_end_time)
        window = Window(start_ns=datetime_to_ns(start) if start else None, end_ns=datetime_to_ns(end) if end else None)
    rate = doc.sampling_rate
    common: dict[str, Any] = {
        "sampling_rate": 1.0 if rate is None else float(rate),
        "task_filter": doc.query_filter,
    }
    granularity = str(doc.data_granularity or "SPAN").upper()
    if granularity == "TRACE":
        return TraceSource(project, window, plans, query_filters=doc.query_filters, **common)
    if granularity == "SESSION":
        return SessionSource(project, window, plans, query_filters=doc.query_filters, **common)
    return SpanSource(project, window, plans, **common)


def select_records(
    conn: sqlite3.Connection,
    task: StoredObject,
    run: StoredObject,
    plans: Sequence[EvaluatorPlan],
    *,
    limit: int,
    override: bool,
) -> Selection:
    """Choose what ``run`` scores (see the module docstring).

    Raises:
        RunSetupError: the task's data source is gone or a filter no longer compiles.
    """
    source = _source(conn, task, run, plans)
    candidates = source.select(conn, limit)
    if not candidates:
        return Selection(source, [], empty_reason=source.why_empty(conn))
    names = {plan.index: plan.eval_name for plan in plans}
    existing: dict[tuple[str, str], int | None] = {}
    for chunk in sql_chunks([c.key for c in candidates]):
        rows = conn.execute(
            "SELECT target_key, name, task_run_num FROM evaluations WHERE target_kind = ?"
            f" AND name IN ({','.join('?' * len(names))}) AND target_key IN ({','.join('?' * len(chunk))})",
            [source.target_kind, *names.values(), *chunk],
        )
        existing.update(((row[0], row[1]), row[2]) for row in rows)
    selection = Selection(source, [])
    skipped_names: set[str] = set()
    for candidate in candidates:
        kept = []
        for index in candidate.plans:
            found = (candidate.key, names[index])
            if found not in existing:
                kept.append(index)
            elif existing[found] == run.num:
                selection.already_done += 1
            elif override:
                kept.append(index)
            else:
                selection.skipped += 1
                skipped_names.add(names[index])
        if kept:
            candidate.plans = kept
            selection.candidates.append(candidate)
    selection.skipped_names = sorted(skipped_names)
    if not selection.candidates and selection.skipped:
        columns = " / ".join(f"eval.{n}" for n in selection.skipped_names)
        selection.empty_reason = (
            f"all {selection.skipped} {source.noun}{'s' if selection.skipped != 1 else ''} selected already have "
            f"{columns} from an earlier run and override_evaluations is false, so nothing was scored; trigger again "
            "with override_evaluations=true to score them again"
        )
    return selection
