"""Imports are all or nothing: a killed or failed ``create_dataset`` / ``upload_experiment`` leaves nothing behind,
or a clearly marked partial object that the same call, retried, replaces; an ``annotate`` refused midway puts
back what it wrote, or says exactly what it left and that the same call, retried, completes it."""

from __future__ import annotations

import csv
import json
import re
import sqlite3
import subprocess
import sys
import time
from collections.abc import AsyncIterator, Callable
from contextlib import asynccontextmanager
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

import httpx2
import pyarrow as pa
import pyarrow.parquet as pq
from mcp import Client
from starlette.responses import JSONResponse
from starlette.types import ASGIApp, Receive, Scope, Send

from arize_skills.client import AsyncArizeClient
from arize_skills.engine import Engine
from arize_skills.engine.engine import DATABASE_FILE
from arize_skills.engine.store.datasets import DATASET_KIND
from arize_skills.engine.store.experiments import EXPERIMENT_KIND
from arize_skills.mcp_server import build_server
from arize_skills.mcp_server.tools.experiments import READ_AHEAD
from arize_skills.models.experiments import MAX_RUNS_PER_REQUEST
from arize_skills.settings import Settings
from tests.conftest import serve_engine
from tests.engine.otlp_payloads import export_body, span
from tests.mcp_server.conftest import call, call_error

MARKED = " (incomplete import "

IMPORT_SCRIPT = """
import asyncio, json, sys
from pathlib import Path
import httpx2
from mcp import Client
from arize_skills.engine import Engine
from arize_skills.mcp_server import build_server
from arize_skills.settings import Settings

async def main(home: Path, tool: str, arguments: str) -> None:
    async with Engine.open(home) as engine:
        settings = Settings.resolve(home=home, environ={}, profile_dir=home.parent / "no-ax-profile")
        async with Client(build_server(settings, engine=engine), mode="legacy") as client:
            await client.call_tool(tool, json.loads(arguments))

asyncio.run(main(Path(sys.argv[1]), sys.argv[2], sys.argv[3]))
"""


def write_jsonl(path: Path, rows: list[dict[str, Any]]) -> Path:
    path.write_text("".join(json.dumps(row) + "\n" for row in rows), encoding="utf-8")
    return path


def nested(depth: int) -> Any:
    value: Any = "deep"
    for _ in range(depth):
        value = [value]
    return value


def stored_datasets(home: Path) -> dict[str, int]:
    """Dataset name → example count, read straight from the engine's SQLite file."""
    with sqlite3.connect(home / DATABASE_FILE, timeout=30) as conn:
        rows = conn.execute(
            "SELECT o.name, COUNT(e.row) FROM objects o LEFT JOIN dataset_examples e ON e.dataset_num = o.num "
            "WHERE o.kind = ? GROUP BY o.num",
            (DATASET_KIND,),
        ).fetchall()
    return dict(rows)


def stored_so_far(home: Path) -> dict[str, int]:
    """``stored_datasets`` while another process may still be creating the file and its tables."""
    try:
        return stored_datasets(home) if (home / DATABASE_FILE).exists() else {}
    except sqlite3.OperationalError:
        return {}


def kill_when(home: Path, log: Path, tool: str, arguments: dict[str, Any], landed: Callable[[], bool]) -> None:
    """Run ``tool`` in a process of its own over the engine in ``home`` and ``kill -9`` it once ``landed()``."""
    with log.open("wb") as stderr:
        process = subprocess.Popen(
            [sys.executable, "-c", IMPORT_SCRIPT, str(home), tool, json.dumps(arguments)],
            stdout=subprocess.DEVNULL,
            stderr=stderr,
        )
    try:
        deadline = time.monotonic() + 120
        while not landed():
            assert time.monotonic() < deadline, "the import did not get far enough within 120 s"
            try:
                process.wait(timeout=0.05)
            except subprocess.TimeoutExpired:
                continue
            raise AssertionError(f"the import ended before it was killed: {log.read_text()[-2000:]}")
    finally:
        process.kill()
        process.wait(timeout=30)


def stored_runs(home: Path) -> dict[str, int]:
    """Experiment name → run count, read straight from the engine's SQLite file (empty while it is being made)."""
    try:
        with sqlite3.connect(home / DATABASE_FILE, timeout=30) as conn:
            rows = conn.execute(
                "SELECT o.name, COUNT(r.row) FROM objects o LEFT JOIN experiment_runs r ON r.experiment_num = o.num "
                "WHERE o.kind = ? GROUP BY o.num",
                (EXPERIMENT_KIND,),
            ).fetchall()
    except sqlite3.OperationalError:
        return {}
    return dict(rows)


async def dataset_names(client: AsyncArizeClient) -> list[str]:
    return sorted([d.name async for d in client.datasets.list()])


async def test_a_chunk_the_engine_refuses_midway_leaves_no_dataset_and_the_error_says_it_was_removed(
    mcp_client: Client, client: AsyncArizeClient, tmp_path: Path
) -> None:
    rows: list[dict[str, Any]] = [{"question": f"q{i}", "answer": str(i)} for i in range(2500)]
    # The tool's checks let a deeply nested value through; the engine refuses the body that carries it.
    rows[2400]["context"] = nested(80)
    error = await call_error(
        mcp_client, "create_dataset", {"name": "big", "file": str(write_jsonl(tmp_path / "d.jsonl", rows))}
    )

    assert "stopped after 2,000 of 2,500 examples" in error
    assert "was deleted, so nothing was kept" in error
    assert await dataset_names(client) == []


async def test_a_retried_import_deletes_the_marked_leftovers_of_an_interrupted_one_and_writes_every_row(
    mcp_client: Client, client: AsyncArizeClient
) -> None:
    await client.datasets.create("big (incomplete import 0a1b2c3d)", [{"q": "left"}] * 3)
    await client.datasets.create("big (incomplete import notes)", [{"q": "kept: not a mark"}])
    await client.datasets.create("bigger (incomplete import 0a1b2c3d)", [{"q": "kept: another name"}])
    rows = [{"question": f"q{i}"} for i in range(2500)]

    result = await call(mcp_client, "create_dataset", {"name": "big", "rows": rows})

    assert result["example_count"] == 2500
    assert any("deleted 'big (incomplete import 0a1b2c3d)'" in note for note in result["notes"])
    assert await dataset_names(client) == [
        "big",
        "big (incomplete import notes)",
        "bigger (incomplete import 0a1b2c3d)",
    ]
    stored = await client.datasets.get(result["dataset"]["id"])
    assert stored.name == "big"


async def test_an_import_of_one_request_uses_the_name_from_the_start(
    mcp_client: Client, client: AsyncArizeClient
) -> None:
    result = await call(mcp_client, "create_dataset", {"name": "small", "rows": [{"q": str(i)} for i in range(1000)]})

    assert result["example_count"] == 1000
    assert await dataset_names(client) == ["small"]


async def test_an_import_killed_midway_leaves_only_a_marked_dataset_and_the_retry_replaces_it(tmp_path: Path) -> None:
    total = 30_000
    file = tmp_path / "big.csv"
    with file.open("w", newline="", encoding="utf-8") as handle:
        writer = csv.writer(handle)
        writer.writerow(["question", "answer"])
        writer.writerows([f"question {i}", str(i)] for i in range(total))
    home = tmp_path / "home"

    def landed() -> bool:
        return any(MARKED in name and count >= 2000 for name, count in stored_so_far(home).items())

    kill_when(home, tmp_path / "import.log", "create_dataset", {"name": "big", "file": str(file)}, landed)

    left = stored_datasets(home)
    assert "big" not in left, left
    (marked, partial), *others = left.items()
    assert not others and marked.startswith("big" + MARKED) and 2000 <= partial < total

    async with Engine.open(home) as engine:
        settings = Settings.resolve(home=home, environ={}, profile_dir=tmp_path / "no-ax-profile")
        async with Client(build_server(settings, engine=engine), mode="legacy") as mcp_client:
            result = await call(mcp_client, "create_dataset", {"name": "big", "file": str(file)})

    assert result["example_count"] == total
    assert any(f"deleted '{marked}'" in note for note in result["notes"])
    assert stored_datasets(home) == {"big": total}


async def test_an_upload_the_engine_refuses_midway_deletes_the_partial_experiment_and_says_so(
    mcp_client: Client, client: AsyncArizeClient, tmp_path: Path
) -> None:
    created = await client.datasets.create("qa", [{"question": f"q{i}"} for i in range(2500)])
    ids = [e.id async for e in client.datasets.list_examples(created.id, limit=500)]
    runs: list[dict[str, Any]] = [{"example_id": eid, "output": f"a{i}"} for i, eid in enumerate(ids)]
    runs[2400]["trace"] = nested(80)
    file = write_jsonl(tmp_path / "runs.jsonl", runs)

    error = await call_error(mcp_client, "upload_experiment", {"name": "baseline", "dataset": "qa", "runs": str(file)})

    assert "the upload stopped after 2,000 of 2,500 runs" in error
    assert "was deleted, so nothing was kept" in error
    assert [e.name async for e in client.experiments.list(dataset=created.id)] == []


async def test_a_retried_upload_replaces_the_partial_experiment_an_interrupted_one_left_and_nothing_else(
    mcp_client: Client, client: AsyncArizeClient
) -> None:
    created = await client.datasets.create("qa", [{"question": f"q{i}"} for i in range(2500)])
    ids = [e.id async for e in client.datasets.list_examples(created.id, limit=500)]
    runs = [{"example_id": eid, "output": f"a{i}"} for i, eid in enumerate(ids)]
    await client.experiments.create("baseline", runs[:2000], dataset=created.id)
    await client.experiments.create("shuffled", runs[1000:2000] + runs[:1000], dataset=created.id)
    await client.experiments.create("odd", runs[:1500], dataset=created.id)

    result = await call(mcp_client, "upload_experiment", {"name": "baseline", "dataset": "qa", "runs": runs})

    assert result["run_count"] == 2500
    assert any("it held only the first 2,000 of these 2,500 runs" in note for note in result["notes"])
    stored = [r.example_id async for r in client.experiments.list_runs(result["experiment"]["id"], limit=500)]
    assert stored == ids
    for other in ("shuffled", "odd"):
        error = await call_error(mcp_client, "upload_experiment", {"name": other, "dataset": "qa", "runs": runs})
        assert f"already has an experiment named '{other}'" in error
    names = sorted([e.name async for e in client.experiments.list(dataset=created.id)])
    assert names == ["baseline", "odd", "shuffled"]


async def test_an_upload_killed_midway_is_replaced_by_the_same_upload_retried(tmp_path: Path) -> None:
    total = 20_000
    home = tmp_path / "home"
    settings = Settings.resolve(home=home, environ={}, profile_dir=tmp_path / "no-ax-profile")
    async with Engine.open(home) as engine, AsyncArizeClient(transport=engine.transport()) as client:
        client.space = (await client.spaces.list()).items[0].id
        created = await client.datasets.create("qa", [{"question": f"q{i}"} for i in range(total)])
        ids = [e.id async for e in client.datasets.list_examples(created.id, limit=500)]
    file = write_jsonl(tmp_path / "runs.jsonl", [{"example_id": eid, "output": f"a{i}"} for i, eid in enumerate(ids)])
    arguments = {"name": "baseline", "dataset": "qa", "runs": str(file)}

    def landed() -> bool:
        return stored_runs(home).get("baseline", 0) >= 2000

    kill_when(home, tmp_path / "upload.log", "upload_experiment", arguments, landed)

    partial = stored_runs(home)["baseline"]
    assert 2000 <= partial < total and partial % 1000 == 0
    async with Engine.open(home) as engine, Client(build_server(settings, engine=engine), mode="legacy") as mcp:
        result = await call(mcp, "upload_experiment", arguments)

    assert result["run_count"] == total
    assert any(f"it held only the first {partial:,} of these {total:,} runs" in note for note in result["notes"])
    assert stored_runs(home) == {"baseline": total}


# --- annotations -------------------------------------------------------------------------------------------------


class RefusingAnnotations:
    """A network in front of the engine that answers the annotate requests numbered in ``refused`` (from 1) with
    a 400 problem, as a server that turns down one batch of a long write would."""

    def __init__(self, refused: range) -> None:
        self.refused = refused
        self.seen = 0

    def __call__(self, app: ASGIApp) -> ASGIApp:
        async def refusing(scope: Scope, receive: Receive, send: Send) -> None:
            if scope["type"] == "http" and scope["method"] == "POST" and scope["path"].endswith("/annotate"):
                self.seen += 1
                if self.seen in self.refused:
                    problem = {"status": 400, "title": "Bad Request", "detail": "this batch was turned down"}
                    response = JSONResponse(problem, status_code=400, media_type="application/problem+json")
                    await response(scope, receive, send)
                    return
            await app(scope, receive, send)

        return refusing


SERVED: dict[Path, str] = {}
"""The URL of the engine ``ax_behind`` serves from a home."""


@asynccontextmanager
async def ax_behind(refusing: RefusingAnnotations, home: Path) -> AsyncIterator[tuple[Client, AsyncArizeClient]]:
    """The MCP server on the Arize AX backend, and a client of that backend, both talking to an engine on loopback
    behind ``refusing``."""
    with serve_engine(home, run_tasks=False, wrap=refusing) as live:
        SERVED[home] = live.url
        settings = Settings.resolve(
            environ={
                "ARIZE_API_KEY": "ak-atomicity-test",
                "ARIZE_SINGLE_HOST": "127.0.0.1",
                "ARIZE_SINGLE_PORT": str(live.port),
                "ARIZE_API_SCHEME": "http",
                "ARIZE_SPACE": "default",
            },
            home=home,
            profile_dir=home.parent / "no-ax-profile",
        )
        async with AsyncArizeClient.from_settings(settings) as client, Client(build_server(settings)) as mcp:
            client.space = await client.resolve.space_id("default")
            yield mcp, client


def send_spans(home: Path, spans: list[dict[str, Any]]) -> None:
    """Send ``spans`` of project "chat" over OTLP/HTTP to the engine ``ax_behind`` serves from ``home``."""
    response = httpx2.post(f"{SERVED[home]}/v1/traces", json=export_body(spans, project="chat"), timeout=60)
    assert response.status_code == 200 and response.json() == {}, response.text


def stored_annotations(home: Path) -> dict[str, tuple[str | None, float | None, str | None]]:
    """Record key → (label, score, text) of every stored annotation, straight from the SQLite file."""
    with sqlite3.connect(home / DATABASE_FILE, timeout=30) as conn:
        rows = conn.execute("SELECT target_key, label, score, text FROM annotations").fetchall()
    return {key: (label, score, text) for key, label, score, text in rows}


async def test_annotations_refused_midway_are_put_back_as_they_were_on_spans(tmp_path: Path) -> None:
    home = tmp_path / "engine"
    refusing = RefusingAnnotations(range(3, 4))
    now = datetime.now(UTC)
    span_ids = [format(n, "016x") for n in range(1, 1501)]
    async with ax_behind(refusing, home) as (mcp, client):
        send_spans(home, [span(i, start=now - timedelta(seconds=n + 1)) for n, i in enumerate(span_ids)])
        await client.annotation_configs.create_categorical("quality", ["good", "bad"])
        kept = span_ids[:200]
        await client.spans.annotate(
            "chat",
            [{"record_id": i, "values": [{"name": "quality", "label": "good", "text": "kept"}]} for i in kept],
            start_time=now - timedelta(days=1),
        )
        before = stored_annotations(home)
        records = dict.fromkeys(span_ids, "bad")
        error = await call_error(
            mcp, "annotate", {"project": "chat", "name": "quality", "records": records, "confirm": True}
        )

    assert "the write stopped after 1,000 of 1,500 records" in error and "this batch was turned down" in error
    assert "the 1,000 already written were put back as they were, so nothing changed" in error
    assert refusing.seen == 1 + 3
    assert len(before) == 200 and stored_annotations(home) == before


async def test_annotations_that_cannot_be_put_back_say_what_was_written_and_the_retry_completes_them(
    tmp_path: Path,
) -> None:
    home = tmp_path / "engine"
    refusing = RefusingAnnotations(range(2, 4))
    async with ax_behind(refusing, home) as (mcp, client):
        await client.datasets.create("big", [{"input": f"q{i}"} for i in range(2500)])
        ids = [e.id async for e in client.datasets.list_examples("big", limit=500)]
        await client.annotation_configs.create_categorical("quality", ["good", "bad"])
        arguments = {"dataset": "big", "name": "quality", "records": dict.fromkeys(ids, "good")}
        error = await call_error(mcp, "annotate", arguments)
        left = stored_annotations(home)
        result = await call(mcp, "annotate", arguments)

    assert "the write stopped after 1,000 of 2,500 records" in error
    assert "the first 1,000 keep the new values and the rest were not written" in error
    assert "The same call, retried, writes them all" in error
    assert len(left) == 1000
    assert refusing.seen == 3 + 3
    assert result["matched"] == 2500
    assert set(stored_annotations(home).values()) == {("good", None, None)}
    assert len(stored_annotations(home)) == 2500


async def test_a_trace_annotation_refused_midway_is_not_guessed_back(tmp_path: Path) -> None:
    home = tmp_path / "engine"
    now = datetime.now(UTC)
    roots = [format(n, "016x") for n in range(1, 1201)]
    async with ax_behind(RefusingAnnotations(range(2, 3)), home) as (mcp, client):
        send_spans(
            home,
            [span(i, trace_id=format(n, "032x"), start=now - timedelta(seconds=n)) for n, i in enumerate(roots, 1)],
        )
        await client.annotation_configs.create_categorical("quality", ["good", "bad"])
        error = await call_error(
            mcp,
            "annotate",
            {"project": "chat", "name": "quality", "granularity": "TRACE", "records": dict.fromkeys(roots, "bad")},
        )

    assert "the write stopped after 1,000 of 1,200 records" in error
    assert "the first 1,000 keep the new values" in error
    assert len(stored_annotations(home)) == 1000


# --- uploads streamed: runs are sent while the file is still being read --------------------------------------------

STREAMED = (READ_AHEAD + 4) * MAX_RUNS_PER_REQUEST
"""Runs in the streamed-upload files: by the time the reader is in the last request's rows, the reader can be at
most ``READ_AHEAD`` requests ahead of the one being sent, so at least two requests have been written."""


async def experiment_names(client: AsyncArizeClient) -> list[str]:
    return [e.name async for e in client.experiments.list()]


async def dataset_ids(client: AsyncArizeClient, count: int) -> list[str]:
    created = await client.datasets.create("qa", [{"question": f"q{i}"} for i in range(count)])
    return [e.id async for e in client.datasets.list_examples(created.id, limit=500)]


def write_runs_csv(path: Path, rows: list[list[str]]) -> Path:
    with path.open("w", newline="", encoding="utf-8") as handle:
        writer = csv.writer(handle)
        writer.writerow(["example_id", "output", "eval.q.score"])
        writer.writerows(rows)
    return path


async def test_a_bad_row_in_the_last_request_deletes_the_runs_already_sent_and_names_the_row(
    mcp_client: Client, client: AsyncArizeClient, tmp_path: Path
) -> None:
    ids = await dataset_ids(client, STREAMED)
    rows = [[eid, f"a{i}", "1"] for i, eid in enumerate(ids)]
    rows[STREAMED - 10][2] = "high"
    file = write_runs_csv(tmp_path / "runs.csv", rows)

    error = await call_error(mcp_client, "upload_experiment", {"name": "b", "dataset": "qa", "runs": str(file)})

    sent = re.search(r"the upload stopped after ([\d,]+) runs had been sent", error)
    assert sent is not None and int(sent[1].replace(",", "")) >= 2 * MAX_RUNS_PER_REQUEST, error
    assert f"{STREAMED:,} rows checked, 1 with problems" in error
    assert "was deleted, so nothing was kept" in error
    assert f"row {STREAMED - 9}, column 'eval.q.score': is not a number" in error and "'high'" in error
    assert await experiment_names(client) == []


async def test_bad_rows_found_mid_stream_stop_the_writes_and_every_later_one_is_still_reported(
    mcp_client: Client, client: AsyncArizeClient, tmp_path: Path
) -> None:
    ids = await dataset_ids(client, STREAMED)
    rows = [[eid, f"a{i}", "1"] for i, eid in enumerate(ids)]
    rows[5000][0] = "ghost"
    rows[STREAMED - 1][1] = ""
    file = write_runs_csv(tmp_path / "runs.csv", rows)

    error = await call_error(mcp_client, "upload_experiment", {"name": "m", "dataset": "qa", "runs": str(file)})

    assert f"{STREAMED:,} rows checked, 2 with problems" in error
    assert "row 5001, column 'example_id': is not an example of dataset 'qa'" in error and "'ghost'" in error
    assert f"row {STREAMED}, column 'output': missing" in error
    assert await experiment_names(client) == []


async def test_a_file_that_breaks_mid_stream_deletes_the_runs_already_sent_and_names_the_line(
    mcp_client: Client, client: AsyncArizeClient, tmp_path: Path
) -> None:
    ids = await dataset_ids(client, STREAMED)
    file = write_runs_csv(tmp_path / "runs.csv", [[eid, f"a{i}", "1"] for i, eid in enumerate(ids)])
    lines = file.read_text(encoding="utf-8").splitlines(keepends=True)
    lines[7000] = f'{ids[6999]},"closed"then more,1\n'
    file.write_text("".join(lines), encoding="utf-8")

    error = await call_error(mcp_client, "upload_experiment", {"name": "q", "dataset": "qa", "runs": str(file)})

    assert "runs.csv row 7000 (line 7001)" in error and "quote" in error
    assert re.search(r"the upload stopped after [\d,]+ of [\d,]+ runs read so far", error), error
    assert "was deleted, so nothing was kept" in error
    assert await experiment_names(client) == []


async def test_a_request_the_engine_refuses_while_the_file_is_being_read_deletes_the_partial_experiment(
    mcp_client: Client, client: AsyncArizeClient, tmp_path: Path
) -> None:
    ids = await dataset_ids(client, STREAMED)
    runs: list[dict[str, Any]] = [{"example_id": eid, "output": f"a{i}"} for i, eid in enumerate(ids)]
    # The tool's checks let a deeply nested value through; the engine refuses the seventh request, which carries it.
    runs[6500]["trace"] = nested(80)
    file = write_jsonl(tmp_path / "runs.jsonl", runs)

    error = await call_error(mcp_client, "upload_experiment", {"name": "r", "dataset": "qa", "runs": str(file)})

    assert f"the upload stopped after 6,000 of {STREAMED:,} runs: 400" in error
    assert "was deleted, so nothing was kept" in error
    assert await experiment_names(client) == []


async def test_runs_in_another_order_than_the_dataset_are_sent_while_its_ids_are_paged_and_keep_the_file_order(
    mcp_client: Client, client: AsyncArizeClient, tmp_path: Path
) -> None:
    ids = await dataset_ids(client, 5000)
    backwards = ids[::-1]
    file = write_runs_csv(tmp_path / "runs.csv", [[eid, f"a{i}", "0.5"] for i, eid in enumerate(backwards)])

    result = await call(mcp_client, "upload_experiment", {"name": "rev", "dataset": "qa", "runs": str(file)})

    assert result["run_count"] == 5000 and result["eval_columns"] == {"eval.q.score": 5000}
    stored = [r.example_id async for r in client.experiments.list_runs(result["experiment"]["id"], limit=500)]
    assert stored == backwards


async def test_an_id_that_no_page_of_the_dataset_holds_deletes_the_runs_sent_before_the_paging_ended(
    mcp_client: Client, client: AsyncArizeClient, tmp_path: Path
) -> None:
    ids = await dataset_ids(client, 5000)
    rows = [[eid, f"a{i}", "1"] for i, eid in enumerate(ids[::-1])]
    rows[0][0] = "not-in-qa"
    file = write_runs_csv(tmp_path / "runs.csv", rows)

    error = await call_error(mcp_client, "upload_experiment", {"name": "late", "dataset": "qa", "runs": str(file)})

    assert "row 1, column 'example_id': is not an example of dataset 'qa'" in error and "'not-in-qa'" in error
    assert "5,000 rows checked, 1 with problems" in error
    assert await experiment_names(client) == []


async def test_parquet_is_read_in_batches_across_row_groups_with_rows_numbered_through(
    mcp_client: Client, client: AsyncArizeClient, tmp_path: Path
) -> None:
    ids = await dataset_ids(client, 2500)
    scores = [float("nan") if i == 4 else i / 2500 for i in range(2500)]
    table = pa.table(
        {
            "example_id": ids,
            "output": [f"a{i}" for i in range(2500)],
            "eval.q.score": scores,
            "tokens": list(range(2500)),
        }
    )
    good = tmp_path / "good.parquet"
    pq.write_table(table, good, row_group_size=700)
    bad = tmp_path / "bad.parquet"
    labels = pa.array(["ok"] * 1799 + [None] + ["ok"] * 700)
    pq.write_table(
        table.append_column("eval.q.label", labels).set_column(
            0, "example_id", pa.array([*ids[:1999], "ghost", *ids[2000:]])
        ),
        bad,
        row_group_size=700,
    )

    result = await call(mcp_client, "upload_experiment", {"name": "pq", "dataset": "qa", "runs": str(good)})
    error = await call_error(mcp_client, "upload_experiment", {"name": "pq2", "dataset": "qa", "runs": str(bad)})

    assert pq.ParquetFile(good).num_row_groups == 4
    assert result["run_count"] == 2500 and result["eval_columns"] == {"eval.q.score": 2499}
    runs = [r async for r in client.experiments.list_runs(result["experiment"]["id"], limit=500)]
    assert [r.example_id for r in runs] == ids
    assert runs[4].evaluation("q")["score"] is None and runs[5].evaluation("q")["score"] == 5 / 2500
    assert runs[2499].fields["tokens"] == 2499
    assert "row 2000, column 'example_id': is not an example of dataset 'qa'" in error
    assert "2,500 rows checked, 1 with problems" in error
    assert await experiment_names(client) == ["pq"]
