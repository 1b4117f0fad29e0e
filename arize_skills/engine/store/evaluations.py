"""Evaluation results (``eval.<name>.label / .score / .explanation``) attached to spans and experiment runs.

Keyed by ``(target_kind, target_key, name)`` with ``target_kind`` ``span`` (key ``<project number>:<span id>``)
or ``run`` (key: the run ID). Task runs record which task, run and evaluator produced each result.
"""

from __future__ import annotations

import json
import sqlite3
from collections import defaultdict
from collections.abc import Iterable, Sequence
from typing import Any

from .db import sql_chunks

__all__ = ["EvaluationResult", "evaluations_for", "upsert_evaluation", "upsert_uploaded_evaluations"]

EvaluationResult = dict[str, Any]
"""``{"name", "label", "score", "explanation", "metadata"}`` as read back."""


def upsert_evaluation(
    conn: sqlite3.Connection,
    target_kind: str,
    target_key: str,
    name: str,
    *,
    now: str,
    label: str | None = None,
    score: float | None = None,
    explanation: str | None = None,
    metadata: dict[str, Any] | None = None,
    task_num: int | None = None,
    task_run_num: int | None = None,
    evaluator_num: int | None = None,
) -> None:
    """Store (or replace) the result of evaluator ``name`` on one record."""
    conn.execute(
        "INSERT OR REPLACE INTO evaluations (target_kind, target_key, name, label, score, explanation, metadata,"
        " task_num, task_run_num, evaluator_num, updated_at) VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?)",
        (
            target_kind,
            target_key,
            name,
            label,
            score,
            explanation,
            json.dumps(metadata) if metadata else None,
            task_num,
            task_run_num,
            evaluator_num,
            now,
        ),
    )


def upsert_uploaded_evaluations(
    conn: sqlite3.Connection, target_kind: str, results: Iterable[tuple[str, str, dict[str, Any]]], *, now: str
) -> None:
    """Store (or replace) uploaded results — ``(target_key, name, {"score", "label", "explanation", "metadata"})``,
    no task behind them — in one statement, as ``upsert_evaluation`` would one by one."""
    conn.executemany(
        "INSERT OR REPLACE INTO evaluations (target_kind, target_key, name, label, score, explanation, metadata,"
        " task_num, task_run_num, evaluator_num, updated_at) VALUES (?, ?, ?, ?, ?, ?, ?, NULL, NULL, NULL, ?)",
        [
            (
                target_kind,
                key,
                name,
                result.get("label"),
                result.get("score"),
                result.get("explanation"),
                json.dumps(result["metadata"]) if result.get("metadata") else None,
                now,
            )
            for key, name, result in results
        ],
    )


def evaluations_for(
    conn: sqlite3.Connection, target_kind: str, keys: Sequence[str]
) -> dict[str, list[EvaluationResult]]:
    """The evaluation results of each key (keys with none are absent), ordered by name."""
    found: dict[str, list[EvaluationResult]] = defaultdict(list)
    for chunk in sql_chunks(keys):
        rows = conn.execute(
            "SELECT target_key, name, label, score, explanation, metadata FROM evaluations WHERE target_kind = ? "
            f"AND target_key IN ({','.join('?' * len(chunk))}) ORDER BY name",
            [target_kind, *chunk],
        )
        for row in rows:
            result: EvaluationResult = {
                "name": row["name"],
                "label": row["label"],
                "score": row["score"],
                "explanation": row["explanation"],
            }
            if row["metadata"]:
                result["metadata"] = json.loads(row["metadata"])
            found[row["target_key"]].append(result)
    return dict(found)
