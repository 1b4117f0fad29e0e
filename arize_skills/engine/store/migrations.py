"""Forward-only, named schema migrations, recorded in ``_migrations``.

Add a migration by appending to ``MIGRATIONS``; never edit one that has shipped.

Layout: configuration-like resources (spaces, projects, datasets and their versions, experiments, evaluators and
their versions, tasks, task runs, AI integrations, annotation configs) are rows of ``objects`` holding their
JSON document; high-volume records (spans, dataset examples, experiment runs) and the results attached to them
(evaluations, annotations) have tables of their own. Evaluations and annotations point at their record by a text
key: ``<project number>:<span id>`` for spans, the example ID for examples, the run ID for experiment runs.
"""

from __future__ import annotations

import sqlite3
from collections.abc import Callable

from .span_index import backfill_span_index

__all__ = ["MIGRATIONS", "Migration", "apply_migrations"]

M001_INITIAL = """
CREATE TABLE objects (
    num INTEGER PRIMARY KEY AUTOINCREMENT,
    kind TEXT NOT NULL,
    suffix TEXT NOT NULL,
    space_num INTEGER,
    parent_num INTEGER,
    name TEXT,
    body TEXT NOT NULL,
    created_at TEXT NOT NULL,
    updated_at TEXT NOT NULL
);
CREATE INDEX objects_kind_space ON objects(kind, space_num, num);
CREATE INDEX objects_kind_parent ON objects(kind, parent_num, num);
CREATE INDEX objects_kind_name ON objects(kind, name);

CREATE TABLE spans (
    row INTEGER PRIMARY KEY,
    project_num INTEGER NOT NULL,
    trace_id TEXT NOT NULL,
    span_id TEXT NOT NULL,
    parent_id TEXT,
    name TEXT NOT NULL,
    kind TEXT NOT NULL,
    start_ns INTEGER NOT NULL,
    end_ns INTEGER NOT NULL,
    latency_ms REAL GENERATED ALWAYS AS ((end_ns - start_ns) / 1000000.0) VIRTUAL,
    status_code TEXT NOT NULL,
    status_message TEXT,
    attributes TEXT NOT NULL,
    events TEXT NOT NULL,
    resource TEXT NOT NULL,
    received_at TEXT NOT NULL,
    UNIQUE (project_num, span_id)
);
CREATE INDEX spans_project_start ON spans(project_num, start_ns);
CREATE INDEX spans_project_trace ON spans(project_num, trace_id);

CREATE TABLE dataset_examples (
    row INTEGER PRIMARY KEY,
    dataset_num INTEGER NOT NULL,
    version_num INTEGER NOT NULL,
    example_id TEXT NOT NULL,
    position INTEGER NOT NULL,
    data TEXT NOT NULL,
    created_at TEXT NOT NULL,
    updated_at TEXT NOT NULL,
    UNIQUE (version_num, example_id)
);
CREATE INDEX dataset_examples_version ON dataset_examples(version_num, position);

CREATE TABLE experiment_runs (
    row INTEGER PRIMARY KEY,
    experiment_num INTEGER NOT NULL,
    run_id TEXT NOT NULL UNIQUE,
    example_id TEXT,
    output TEXT,
    error TEXT,
    data TEXT NOT NULL,
    created_at TEXT NOT NULL
);
CREATE INDEX experiment_runs_experiment ON experiment_runs(experiment_num, row);

CREATE TABLE evaluations (
    target_kind TEXT NOT NULL,
    target_key TEXT NOT NULL,
    name TEXT NOT NULL,
    label TEXT,
    score REAL,
    explanation TEXT,
    metadata TEXT,
    task_num INTEGER,
    task_run_num INTEGER,
    evaluator_num INTEGER,
    updated_at TEXT NOT NULL,
    PRIMARY KEY (target_kind, target_key, name)
);

CREATE TABLE annotations (
    target_kind TEXT NOT NULL,
    target_key TEXT NOT NULL,
    granularity TEXT NOT NULL DEFAULT 'SPAN',
    name TEXT NOT NULL,
    label TEXT,
    score REAL,
    text TEXT,
    annotator_id TEXT,
    annotator_email TEXT,
    updated_at TEXT NOT NULL,
    PRIMARY KEY (target_kind, target_key, granularity, name)
);
"""

# AI integration API keys live apart from the integration's JSON document, so no response path can reach them;
# only ``store.integrations.integration_secret`` reads this table.
M002_LLM_INTEGRATION_SECRETS = """
CREATE TABLE llm_integration_secrets (
    integration_num INTEGER PRIMARY KEY,
    api_key TEXT NOT NULL
);
"""

# Records of annotation queues: each points at what it puts in front of people (a span at SPAN, TRACE or SESSION
# granularity, keyed like its annotations, or a dataset example), with the people assigned to it. Granularity is
# ``EXAMPLE`` for examples, so the unique key holds no NULL (SQLite's UNIQUE lets NULLs repeat).
M003_ANNOTATION_QUEUE_RECORDS = """
CREATE TABLE annotation_queue_records (
    row INTEGER PRIMARY KEY AUTOINCREMENT,
    queue_num INTEGER NOT NULL,
    suffix TEXT NOT NULL,
    granularity TEXT NOT NULL,
    target_kind TEXT NOT NULL,
    target_key TEXT NOT NULL,
    source_num INTEGER NOT NULL,
    created_at TEXT NOT NULL,
    UNIQUE (queue_num, target_kind, target_key, granularity)
);
CREATE INDEX annotation_queue_records_queue ON annotation_queue_records(queue_num, row);

CREATE TABLE annotation_queue_assignments (
    record_row INTEGER NOT NULL,
    email TEXT NOT NULL,
    completion_status TEXT NOT NULL,
    position INTEGER NOT NULL,
    PRIMARY KEY (record_row, email)
);
"""

# Span search indexes (engine/store/span_index.py): attribute values by path, a trigram table of string values,
# span evaluations by label and by score (partial indexes, so reads of a record's evaluations keep the primary
# key), spans by name, status and kind in start order, and by latency. The data step indexes the spans already
# stored, in the same transaction.
M004_SPAN_SEARCH_INDEX = """
CREATE TABLE span_attr_keys (
    id INTEGER PRIMARY KEY,
    key TEXT NOT NULL UNIQUE
);
CREATE TABLE span_attrs (
    project_num INTEGER NOT NULL,
    key_id INTEGER NOT NULL,
    value,
    span_row INTEGER NOT NULL,
    PRIMARY KEY (project_num, key_id, value, span_row)
) WITHOUT ROWID;
CREATE VIRTUAL TABLE span_text USING fts5(body, content='', tokenize='trigram', detail='none', columnsize=0);
CREATE INDEX evaluations_span_label ON evaluations(name, label, target_key) WHERE target_kind = 'span';
CREATE INDEX evaluations_span_score ON evaluations(name, score, target_key) WHERE target_kind = 'span';
CREATE INDEX spans_project_name_start ON spans(project_num, name, start_ns);
CREATE INDEX spans_project_status_start ON spans(project_num, status_code, start_ns);
CREATE INDEX spans_project_kind_start ON spans(project_num, kind, start_ns);
CREATE INDEX spans_project_latency ON spans(project_num, latency_ms)
"""

Migration = tuple[str, str] | tuple[str, str, Callable[[sqlite3.Connection], None]]
"""``(name, SQL script)`` or ``(name, SQL script, data step)``; the data step runs after the script, in its
transaction."""

MIGRATIONS: list[Migration] = [
    ("m001_initial", M001_INITIAL),
    ("m002_llm_integration_secrets", M002_LLM_INTEGRATION_SECRETS),
    ("m003_annotation_queue_records", M003_ANNOTATION_QUEUE_RECORDS),
    ("m004_span_search_index", M004_SPAN_SEARCH_INDEX, backfill_span_index),
]


def apply_migrations(conn: sqlite3.Connection) -> list[str]:
    """Apply every migration not yet recorded, each in its own transaction; return the names applied."""
    conn.execute("CREATE TABLE IF NOT EXISTS _migrations (name TEXT PRIMARY KEY, applied_at TEXT NOT NULL)")
    done = {row[0] for row in conn.execute("SELECT name FROM _migrations")}
    applied: list[str] = []
    for name, script, *data_step in MIGRATIONS:
        if name in done:
            continue
        conn.execute("BEGIN IMMEDIATE")
        try:
            for statement in filter(str.strip, script.split(";")):
                conn.execute(statement)
            for step in data_step:
                step(conn)
            conn.execute("INSERT INTO _migrations (name, applied_at) VALUES (?, datetime('now'))", (name,))
        except BaseException:
            conn.execute("ROLLBACK")
            raise
        conn.execute("COMMIT")
        applied.append(name)
    return applied
