"""The experiment tools end to end against the engine: uploads (CSV, JSON, JSONL, Parquet; bad rows; eval columns),
server-side runs with the stub LLM, summaries and comparisons."""

from __future__ import annotations

import csv
import json
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import anyio
import pyarrow as pa
import pyarrow.parquet as pq
import pytest
from mcp import Client

from arize_skills.client import AsyncArizeClient
from arize_skills.engine import Engine
from arize_skills.models.experiments import ExperimentRun
from tests.engine.runner_support import judge_integration
from tests.mcp_server.conftest import call, call_error
from tests.stubs.llm_server import RecordedRequest, Reply, StubServer, Text, serve_stub


async def make_dataset(client: AsyncArizeClient, name: str, count: int) -> list[str]:
    """A dataset of ``count`` examples; their IDs in order."""
    rows = [{"question": f"q{i}", "expected": str(i * 2)} for i in range(count)]
    await client.datasets.create(name, rows)
    return [e.id async for e in client.datasets.list_examples(name, space=client.space, limit=500)]


async def runs_of(client: AsyncArizeClient, experiment_id: str) -> list[ExperimentRun]:
    return [run async for run in client.experiments.list_runs(experiment_id, limit=500)]


async def experiment_names(client: AsyncArizeClient) -> list[str]:
    return [e.name async for e in client.experiments.list()]


def write_csv(path: Path, header: list[str], rows: list[list[Any]]) -> Path:
    with path.open("w", newline="", encoding="utf-8") as handle:
        writer = csv.writer(handle)
        writer.writerow(header)
        writer.writerows(rows)
    return path


# --- upload_experiment ----------------------------------------------------------------------------------------


async def test_a_2500_row_csv_uploads_in_chunks_with_eval_columns_attached_and_numbers_kept_as_text(
    mcp_client: Client, client: AsyncArizeClient, tmp_path: Path
) -> None:
    ids = await make_dataset(client, "qa", 2500)
    header = ["example_id", "output", "model", "eval.correctness.score", "eval.correctness.label", "eval.tone.label"]
    rows = [
        [eid, f"{i:04d}", "gpt", "1" if i % 4 else "0.0", "correct" if i % 4 else "wrong", "polite"]
        for i, eid in enumerate(ids)
    ]
    path = write_csv(tmp_path / "runs.csv", header, rows)

    result = await call(mcp_client, "upload_experiment", {"name": "baseline", "dataset": "qa", "file": str(path)})

    assert result["run_count"] == 2500
    assert result["dataset"]["name"] == "qa" and result["experiment"]["name"] == "baseline"
    assert result["evaluators"] == [
        {"name": "correctness", "scores": 2500, "labels": 2500, "explanations": 0, "metadata_keys": []},
        {"name": "tone", "scores": 0, "labels": 2500, "explanations": 0, "metadata_keys": []},
    ]
    assert result["columns"] == ["model"]
    runs = await runs_of(client, result["experiment"]["id"])
    assert len(runs) == 2500
    assert [r.example_id for r in runs] == ids
    assert runs[7].output == "0007" and runs[7].fields["model"] == "gpt"
    assert runs[8].evaluation("correctness") == {"score": 0.0, "label": "wrong", "explanation": None, "metadata": {}}
    assert runs[9].evaluation("tone")["label"] == "polite"


async def test_jsonl_and_parquet_uploads_encode_structured_outputs_and_keep_explanations(
    mcp_client: Client, client: AsyncArizeClient, tmp_path: Path
) -> None:
    ids = await make_dataset(client, "qa", 3)
    rows = [
        {"example_id": ids[0], "output": {"answer": 0}, "eval.judge.score": 1, "eval.judge.explanation": "ok"},
        {"example_id": ids[1], "output": "plain", "eval.judge.label": "good", "eval.judge.metadata.model": "m"},
        {"example_id": ids[2], "output": 42, "latency_ms": 12.5},
    ]
    jsonl = tmp_path / "runs.jsonl"
    jsonl.write_text("\n".join(json.dumps(r) for r in rows))
    parquet = tmp_path / "runs.parquet"
    pq.write_table(pa.Table.from_pylist([{"example_id": i, "output": f"p{n}"} for n, i in enumerate(ids)]), parquet)

    from_jsonl = await call(mcp_client, "upload_experiment", {"name": "j", "dataset": "qa", "file": str(jsonl)})
    from_parquet = await call(mcp_client, "upload_experiment", {"name": "p", "dataset": "qa", "file": str(parquet)})

    assert from_jsonl["evaluators"] == [
        {"name": "judge", "scores": 1, "labels": 1, "explanations": 1, "metadata_keys": ["model"]}
    ]
    assert any("2 outputs were not text" in note for note in from_jsonl["notes"])
    runs = await runs_of(client, from_jsonl["experiment"]["id"])
    assert [r.output for r in runs] == ['{"answer": 0}', "plain", "42"]
    assert runs[0].evaluation("judge")["explanation"] == "ok"
    assert runs[1].evaluation("judge")["metadata"] == {"model": "m"}
    assert from_parquet["run_count"] == 3
    assert [r.output for r in await runs_of(client, from_parquet["experiment"]["id"])] == ["p0", "p1", "p2"]
    assert any("no eval.<name>.* columns" in note for note in from_parquet["notes"])


async def test_every_bad_row_is_reported_by_number_and_column_and_nothing_is_written(
    mcp_client: Client, client: AsyncArizeClient, tmp_path: Path
) -> None:
    ids = await make_dataset(client, "qa", 5)
    header = ["example_id", "output", "eval.correctness.score", "eval.correctness.scroe"]
    rows = [
        [ids[0], "fine", "1", ""],
        ["", "no example", "1", ""],
        ["not-an-example", "x", "1", ""],
        [ids[1], "", "1", ""],
        [ids[2], "y", "high", ""],
        [ids[3], "z", "0", "0.5"],
        *[["ghost", "w", "1", ""] for _ in range(4)],
    ]
    path = write_csv(tmp_path / "runs.csv", header, rows)

    error = await call_error(mcp_client, "upload_experiment", {"name": "bad", "dataset": "qa", "file": str(path)})

    assert "nothing was written: 10 rows checked" in error
    assert "row 2, column 'example_id': missing" in error
    assert "rows 3, 7-10 (5 rows), column 'example_id': is not an example of dataset 'qa'" in error
    assert "'not-an-example'" in error and "'ghost'" in error
    assert "row 4, column 'output': missing" in error
    assert "row 5, column 'eval.correctness.score': is not a number" in error and "'high'" in error
    assert "column 'eval.correctness.scroe': is not an evaluation column" in error and "first seen in row 6" in error
    assert await experiment_names(client) == []


async def test_nested_evaluations_and_reserved_columns_are_refused_and_look_alikes_are_flagged(
    mcp_client: Client, client: AsyncArizeClient
) -> None:
    ids = await make_dataset(client, "qa", 2)
    nested = await call_error(
        mcp_client,
        "upload_experiment",
        {
            "name": "n",
            "dataset": "qa",
            "rows": [{"example_id": ids[0], "output": "a", "evaluations": {"correctness": {"score": 1}}}],
        },
    )
    assert "column 'evaluations'" in nested and "eval.<name>.score" in nested
    reserved = await call_error(
        mcp_client,
        "upload_experiment",
        {"name": "n", "dataset": "qa", "rows": [{"example_id": ids[0], "output": "a", "id": "r1"}]},
    )
    assert "column 'id'" in reserved
    only_explanation = await call_error(
        mcp_client,
        "upload_experiment",
        {"name": "n", "dataset": "qa", "rows": [{"example_id": ids[0], "output": "a", "eval.j.explanation": "why"}]},
    )
    assert "neither a score nor a label" in only_explanation
    assert await experiment_names(client) == []

    loose = await call(
        mcp_client,
        "upload_experiment",
        {"name": "loose", "dataset": "qa", "rows": [{"example_id": ids[0], "output": "a", "correctness.score": 1}]},
    )
    assert any("'correctness.score' was stored as a plain column" in note for note in loose["notes"])


async def test_runs_with_an_error_and_no_output_are_kept_and_standalone_experiments_need_no_dataset(
    mcp_client: Client, client: AsyncArizeClient
) -> None:
    ids = await make_dataset(client, "qa", 2)
    errored = await call(
        mcp_client,
        "upload_experiment",
        {
            "name": "e",
            "dataset": "qa",
            "rows": [{"example_id": ids[0], "error": "timeout"}, {"example_id": ids[1], "output": "b"}],
        },
    )
    runs = await runs_of(client, errored["experiment"]["id"])
    assert [(r.output, r.error) for r in runs] == [("", "timeout"), ("b", None)]

    needs = await call_error(mcp_client, "upload_experiment", {"name": "s", "rows": [{"output": "a"}]})
    assert "dataset: required" in needs and "standalone=true" in needs
    standalone = await call(
        mcp_client, "upload_experiment", {"name": "s", "standalone": True, "rows": [{"output": "a"}, {"output": "b"}]}
    )
    assert standalone["dataset"] is None and standalone["run_count"] == 2
    taken = await call_error(
        mcp_client, "upload_experiment", {"name": "e", "dataset": "qa", "rows": [{"example_id": ids[0], "output": "a"}]}
    )
    assert "already has an experiment named 'e'" in taken


# --- get_experiment and compare_experiments --------------------------------------------------------------------


async def _two_experiments(client: AsyncArizeClient) -> list[str]:
    ids = await make_dataset(client, "qa", 4)
    base = [(1.0, "correct"), (0.0, "wrong"), (1.0, "correct"), (0.0, "wrong")]
    new = [(1.0, "correct"), (1.0, "correct"), (0.0, "wrong"), (0.0, "wrong")]
    for name, scores in (("base", base), ("new", new)):
        await client.experiments.create(
            name,
            [
                {
                    "example_id": eid,
                    "output": f"{name} answer {i}",
                    "model": name,
                    "eval.correctness.score": score,
                    "eval.correctness.label": label,
                    "eval.correctness.explanation": "because",
                    **({"error": "boom", "output": ""} if name == "new" and i == 3 else {}),
                }
                for i, (eid, (score, label)) in enumerate(zip(ids, scores, strict=True))
            ],
            dataset="qa",
        )
    return ids


async def test_get_experiment_summarises_scores_labels_errors_and_samples_runs(
    mcp_client: Client, client: AsyncArizeClient
) -> None:
    await _two_experiments(client)

    result = await call(mcp_client, "get_experiment", {"experiment": "new", "dataset": "qa", "sample": 2})

    assert result["experiment"]["name"] == "new" and result["dataset"]["name"] == "qa"
    assert (result["run_count"], result["error_count"]) == (4, 1)
    assert result["errors"] == [{"error": "boom", "runs": 1}]
    assert result["evaluators"] == [
        {
            "name": "correctness",
            "runs": 4,
            "score_count": 4,
            "score_mean": 0.5,
            "score_min": 0.0,
            "score_max": 1.0,
            "labels": {"correct": 2, "wrong": 2},
            "explanations": 4,
        }
    ]
    assert result["columns"] == {"model": 4}
    assert [s["output"] for s in result["sample"]] == ["new answer 0", "new answer 1"]
    assert result["sample"][0]["evaluations"]["correctness"]["label"] == "correct"
    missing = await call_error(mcp_client, "get_experiment", {"experiment": "nope"})
    assert "nope" in missing and "find" in missing


async def test_compare_experiments_counts_wins_losses_and_lists_changed_labels(
    mcp_client: Client, client: AsyncArizeClient
) -> None:
    ids = await _two_experiments(client)

    result = await call(mcp_client, "compare_experiments", {"experiments": ["base", "new"], "dataset": "qa"})

    assert result["evaluator"] == "correctness" and result["baseline"]["name"] == "base"
    assert [e["means"] for e in result["experiments"]] == [{"correctness": 0.5}, {"correctness": 0.5}]
    (pair,) = result["comparisons"]
    assert (pair["wins"], pair["losses"], pair["ties"], pair["not_compared"]) == (1, 1, 2, 0)
    assert result["changed_total"] == 2
    assert [c["example_id"] for c in result["changed"]] == [ids[1], ids[2]]
    first = result["changed"][0]
    assert first["example"] == {"question": "q1", "expected": "2"}
    assert [(r["experiment"], r["label"], r["output"]) for r in first["results"]] == [
        ("base", "wrong", "base answer 1"),
        ("new", "correct", "new answer 1"),
    ]
    reverse = await call(
        mcp_client, "compare_experiments", {"experiments": ["base", "new"], "higher_is_better": False, "limit": 1}
    )
    assert (reverse["comparisons"][0]["wins"], reverse["comparisons"][0]["losses"]) == (1, 1)
    assert len(reverse["changed"]) == 1 and any("1 more changed" in n for n in reverse["notes"])


async def test_compare_experiments_refuses_other_datasets_and_unknown_evaluators(
    mcp_client: Client, client: AsyncArizeClient
) -> None:
    await _two_experiments(client)
    other_ids = await make_dataset(client, "other", 1)
    await client.experiments.create("elsewhere", [{"example_id": other_ids[0], "output": "x"}], dataset="other")
    assert "same dataset" in await call_error(mcp_client, "compare_experiments", {"experiments": ["base", "elsewhere"]})
    unknown = await call_error(
        mcp_client, "compare_experiments", {"experiments": ["base", "new"], "evaluator": "fluency"}
    )
    assert "'base': correctness" in unknown


# --- run_experiment -------------------------------------------------------------------------------------------


def _answer(request: RecordedRequest) -> Reply:
    return Text(f"reply to <{request.body['messages'][-1]['content']}>")


@pytest.fixture
def stub() -> Iterator[StubServer]:
    with serve_stub(responder=_answer) as served:
        yield served


async def test_run_experiment_generates_one_run_per_example_on_the_server(
    mcp_client: Client, client: AsyncArizeClient, engine: Engine, stub: StubServer
) -> None:
    ids = await make_dataset(client, "qa", 4)
    await judge_integration(client, stub, name="stub-llm")

    result = await call(
        mcp_client,
        "run_experiment",
        {
            "dataset": "qa",
            "experiment_name": "gen-1",
            "ai_integration": "stub-llm",
            "template": "Q: {question}",
            "system_prompt": "Be terse.",
            "max_examples": 3,
            "invocation_parameters": {"temperature": 0},
        },
    )

    assert result["status"] == "PENDING" and result["task_created"] is True
    assert (result["variable_format"], result["variables"], result["examples_selected"]) == (
        "F_STRING",
        ["question"],
        3,
    )
    assert result["task"]["name"] == "generate: qa" and result["ai_integration"]["name"] == "stub-llm"
    await engine.runner.run_until_idle()
    summary = await call(mcp_client, "get_experiment", {"experiment": "gen-1", "dataset": "qa", "sample": 3})
    assert summary["run_count"] == 3 and summary["error_count"] == 0
    runs = await runs_of(client, summary["experiment"]["id"])
    assert sorted(r.example_id or "" for r in runs) == sorted(ids[:3])
    assert {r.output for r in runs} == {f"reply to <Q: q{i}>" for i in range(3)}
    assert stub.requests[0].body["messages"][0] == {"role": "system", "content": "Be terse."}

    again = await call(
        mcp_client,
        "run_experiment",
        {
            "dataset": "qa",
            "experiment_name": "gen-2",
            "ai_integration": "stub-llm",
            "messages": [{"role": "user", "content": "A: {{expected}}"}],
            "example_ids": [ids[3]],
        },
    )
    assert again["task_created"] is False and again["variable_format"] == "MUSTACHE"
    assert any("reused and its prompt replaced" in n for n in again["notes"])
    await engine.runner.run_until_idle()
    task = await client.tasks.get("generate: qa")
    assert task.run_configuration and task.run_configuration["messages"] == [
        {"role": "USER", "content": "A: {{expected}}"}
    ]
    (only,) = await runs_of(client, (await client.experiments.get("gen-2", dataset="qa")).id)
    assert only.output == "reply to <A: 6>"
    taken = await call_error(
        mcp_client,
        "run_experiment",
        {"dataset": "qa", "experiment_name": "gen-1", "ai_integration": "stub-llm", "template": "{question}"},
    )
    assert "experiment_name: dataset 'qa' already has an experiment named 'gen-1'" in taken


async def test_run_experiment_waits_with_progress_while_the_background_runner_works(
    mcp_client_mode: str, mcp_server: Any, client: AsyncArizeClient, engine: Engine, stub: StubServer
) -> None:
    await make_dataset(client, "qa", 2)
    await judge_integration(client, stub, name="stub-llm")
    progress: list[tuple[float, float | None, str | None]] = []

    async def on_progress(done: float, total: float | None, message: str | None) -> None:
        progress.append((done, total, message))

    async with Client(mcp_server, mode=mcp_client_mode) as mcp, anyio.create_task_group() as group:
        group.start_soon(engine.runner.serve)
        result = await mcp.call_tool(
            "run_experiment",
            {
                "dataset": "qa",
                "experiment_name": "waited",
                "ai_integration": "stub-llm",
                "template": "{question}",
                "wait_seconds": 30,
            },
            progress_callback=on_progress,
        )
        group.cancel_scope.cancel()

    assert not result.is_error, result.content
    data = result.structured_content or {}
    assert (data["status"], data["num_successes"], data["num_errors"]) == ("COMPLETED", 2, 0)
    assert data["experiment"]["name"] == "waited"
    assert progress and progress[-1][:2] == (2, 2)


async def test_run_experiment_checks_placeholders_examples_and_model_before_starting(
    mcp_client: Client, client: AsyncArizeClient, stub: StubServer
) -> None:
    await make_dataset(client, "qa", 2)
    await judge_integration(client, stub, name="stub-llm")
    base = {"dataset": "qa", "experiment_name": "x", "ai_integration": "stub-llm"}

    unknown = await call_error(mcp_client, "run_experiment", {**base, "template": "Q: {query} {question}"})
    assert "'query' name no column of dataset 'qa'" in unknown and "expected, question" in unknown
    bad_ids = await call_error(
        mcp_client, "run_experiment", {**base, "template": "{question}", "example_ids": ["nope"]}
    )
    assert "not examples of dataset 'qa'" in bad_ids
    both = await call_error(
        mcp_client, "run_experiment", {**base, "template": "a", "messages": [{"role": "user", "content": "b"}]}
    )
    assert "give exactly one" in both
    raw = await call(mcp_client, "run_experiment", {**base, "template": "Say {question}", "variable_format": "NONE"})
    assert any("will not be filled" in note for note in raw["notes"])
    busy = await call_error(mcp_client, "run_experiment", {**base, "experiment_name": "y", "template": "{question}"})
    assert "still has a PENDING run" in busy
    assert await experiment_names(client) == []

    await client.ai_integrations.create(name="no-models", provider="OPEN_AI", api_key="sk-test-key-123")
    no_model = await call_error(
        mcp_client,
        "run_experiment",
        {**base, "experiment_name": "z", "ai_integration": "no-models", "template": "{question}"},
    )
    assert "model_name" in no_model and "lists no models" in no_model
