"""Shared set-up for the dataset, experiment and span tests: request counting, store row counts, annotation configs."""

from __future__ import annotations

import sqlite3
from dataclasses import dataclass, field

import httpx2

from arize_skills.client import AsyncArizeClient
from arize_skills.engine import Engine

TABLES = ("objects", "dataset_examples", "experiment_runs", "evaluations", "annotations")


@dataclass
class RecordingTransport(httpx2.AsyncBaseTransport):
    """Passes every request to the engine and remembers its method and path."""

    inner: httpx2.AsyncBaseTransport
    calls: list[tuple[str, str]] = field(default_factory=list)

    async def handle_async_request(self, request: httpx2.Request) -> httpx2.Response:
        self.calls.append((request.method, request.url.path))
        return await self.inner.handle_async_request(request)


async def row_counts(engine: Engine) -> dict[str, int]:
    """How many rows each table of the store holds."""

    def count(conn: sqlite3.Connection) -> dict[str, int]:
        return {table: conn.execute(f"SELECT COUNT(*) FROM {table}").fetchone()[0] for table in TABLES}

    return await engine.store.read(count)


async def create_annotation_config(client: AsyncArizeClient, name: str) -> None:
    """A categorical annotation config (good / bad) in the client's space, created over HTTP."""
    body = {
        "name": name,
        "space_id": client.space,
        "annotation_config_type": "CATEGORICAL",
        "values": [{"label": "good"}, {"label": "bad"}],
    }
    await client.request("POST", "/v2/annotation-configs", json_body=body)
