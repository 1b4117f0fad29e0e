"""Storage of experiments and their runs.

An experiment is an ``Experiment`` object (parent: its dataset, or none for a standalone experiment; its document
keeps ``dataset_id`` and ``dataset_version_id``). Runs are rows of ``experiment_runs``: ``output``, ``error`` and
``example_id`` have columns, every other custom key sits verbatim (a flat object, dotted keys included) in
``data``, and the ``eval.<name>.*`` keys of an upload go to ``evaluations`` (``target_kind`` ``run``, key: the run
ID), where task runs write their results too. Reading a run flattens both back into one object.
"""

from __future__ import annotations

import json
import sqlite3
from collections.abc import Sequence
from dataclasses import dataclass, field
from typing import Any

from ...models.experiments import ExperimentRunInput, parse_eval_key
from .annotations import annotations_for
from .datasets import VERSION_KIND, new_record_ids
from .db import sql_chunks
from .evaluations import evaluations_for, upsert_uploaded_evaluations
from .objects import StoredObject, delete_object, require_object

__all__ = [
    "EXPERIMENT_KIND",
    "RunRow",
    "SplitRun",
    "delete_experiment",
    "insert_runs",
    "missing_examples",
    "require_experiment",
    "run_payloads",
    "split_run",
]

EXPERIMENT_KIND = "Experiment"


@dataclass
class SplitRun:
    """A run input taken apart into its columns, its custom fields and its evaluation results."""

    example_id: str | None
    output: str | None
    error: str | None
    data: dict[str, Any]
    evaluations: dict[str, dict[str, Any]] = field(default_factory=dict)


@dataclass
class RunRow:
    """One stored run."""

    run_id: str
    example_id: str | None
    output: str | None
    error: str | None
    data: dict[str, Any]

    @classmethod
    def from_row(cls, row: sqlite3.Row) -> RunRow:
        """Read an ``experiment_runs`` row."""
        return cls(row["run_id"], row["example_id"], row["output"], row["error"], json.loads(row["data"]))


def require_experiment(conn: sqlite3.Connection, experiment_id: str) -> StoredObject:
    """Load an experiment by global ID or raise a 404 problem."""
    return require_object(conn, EXPERIMENT_KIND, experiment_id, label="experiment")


def split_run(run: ExperimentRunInput) -> SplitRun:
    """Separate ``eval.<name>.score|label|explanation|metadata.<key>`` results from the run's custom fields."""
    split = SplitRun(run.example_id, run.output, run.error, {})
    for key, value in (run.model_extra or {}).items():
        parsed = parse_eval_key(key)
        if parsed is None:
            split.data[key] = value
            continue
        if value is None:
            continue
        result = split.evaluations.setdefault(parsed.name, {"metadata": {}})
        if parsed.metadata_key is not None:
            result["metadata"][parsed.metadata_key] = value
        else:
            result[parsed.field] = value
    return split


def missing_examples(conn: sqlite3.Connection, dataset_num: int, example_ids: Sequence[str]) -> set[str]:
    """The IDs among ``example_ids`` that are not an example of any version of dataset ``dataset_num``."""
    wanted = sorted(set(example_ids))
    found: set[str] = set()
    for chunk in sql_chunks(wanted):
        rows = conn.execute(
            "SELECT DISTINCT example_id FROM dataset_examples WHERE version_num IN"
            " (SELECT num FROM objects WHERE kind = ? AND parent_num = ?)"
            f" AND example_id IN ({', '.join('?' * len(chunk))})",
            [VERSION_KIND, dataset_num, *chunk],
        ).fetchall()
        found.update(row["example_id"] for row in rows)
    return set(wanted) - found


def insert_runs(conn: sqlite3.Connection, experiment: StoredObject, runs: Sequence[SplitRun], *, now: str) -> list[str]:
    """Store runs and their evaluation results; returns the new run IDs in input order."""
    ids = new_record_ids(len(runs))
    conn.executemany(
        "INSERT INTO experiment_runs (experiment_num, run_id, example_id, output, error, data, created_at)"
        " VALUES (?, ?, ?, ?, ?, ?, ?)",
        [
            (
                experiment.num,
                run_id,
                run.example_id,
                run.output,
                run.error,
                json.dumps(run.data) if run.data else "{}",
                now,
            )
            for run_id, run in zip(ids, runs, strict=True)
        ],
    )
    upsert_uploaded_evaluations(
        conn,
        "run",
        (
            (run_id, name, result)
            for run_id, run in zip(ids, runs, strict=True)
            for name, result in run.evaluations.items()
        ),
        now=now,
    )
    return ids


def run_payloads(conn: sqlite3.Connection, rows: Sequence[RunRow]) -> list[dict[str, Any]]:
    """The wire shape of runs: system fields, ``annotations``, custom fields and ``eval.<name>.*`` flattened."""
    keys = [r.run_id for r in rows]
    notes = annotations_for(conn, "run", keys)
    results = evaluations_for(conn, "run", keys)
    payloads = []
    for row in rows:
        payload: dict[str, Any] = {"id": row.run_id, "example_id": row.example_id, "output": row.output}
        payload["error"] = row.error
        extra: dict[str, Any] = dict(row.data)
        for result in results.get(row.run_id, []):
            prefix = f"eval.{result['name']}."
            for name in ("score", "label", "explanation"):
                if result.get(name) is not None:
                    extra[prefix + name] = result[name]
            for key, value in (result.get("metadata") or {}).items():
                extra[f"{prefix}metadata.{key}"] = value
        payload.update((k, v) for k, v in extra.items() if k not in payload)
        payload["annotations"] = [a.model_dump(mode="json") for a in notes.get(row.run_id, [])]
        payloads.append(payload)
    return payloads


def delete_experiment(conn: sqlite3.Connection, experiment: StoredObject) -> None:
    """Delete an experiment, its runs and the evaluations and annotations on them."""
    for table in ("evaluations", "annotations"):
        conn.execute(
            f"DELETE FROM {table} WHERE target_kind = 'run' AND target_key IN"
            " (SELECT run_id FROM experiment_runs WHERE experiment_num = ?)",
            (experiment.num,),
        )
    conn.execute("DELETE FROM experiment_runs WHERE experiment_num = ?", (experiment.num,))
    delete_object(conn, experiment)
