"""The experiment tools end to end against the engine: uploads (CSV, JSON, JSONL, Parquet; bad rows; eval columns),
server-side runs with the stub LLM, summaries and comparisons."""

from __future__ import annotations

import csv
import json
from collections.abc import Iterator
from pathlib import Path
from typing import Any

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

    result = await call(mcp_client, "upload_experiment", {"name": "baseline", "dataset": "qa", "runs": str(path)})

    assert result["run_count"] == 2500
    assert result["dataset"]["name"] == "qa" and result["experiment"]["name"] == "baseline"
    assert result["eval_columns"] == {
        "eval.correctness.score": 2500,
        "eval.correctness.label": 2500,
        "eval.tone.label": 2500,
    }
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

    from_jsonl = await call(mcp_client, "upload_experiment", {"name": "j", "dataset": "qa", "runs": str(jsonl)})
    from_parquet = await call(mcp_client, "upload_experiment", {"name": "p", "dataset": "qa", "runs": str(parquet)})

    assert from_jsonl["eval_columns"] == {
        "eval.judge.score": 1,
        "eval.judge.explanation": 1,
        "eval.judge.label": 1,
        "eval.judge.metadata.model": 1,
    }
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

    error = await call_error(mcp_client, "upload_experiment", {"name": "bad", "dataset": "qa", "runs": str(path)})

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
            "runs": [{"example_id": ids[0], "output": "a", "evaluations": {"correctness": {"score": 1}}}],
        },
    )
    assert "column 'evaluations'" in nested and "eval.<name>.score" in nested
    reserved = await call_error(
        mcp_client,
        "upload_experiment",
        {"name": "n", "dataset": "qa", "runs": [{"example_id": ids[0], "output": "a", "id": "r1"}]},
    )
    assert "column 'id'" in reserved
    only_explanation = await call_error(
        mcp_client,
        "upload_experiment",
        {"name": "n", "dataset": "qa", "runs": [{"example_id": ids[0], "output": "a", "eval.j.explanation": "why"}]},
    )
    assert "neither a score nor a label" in only_explanation
    assert await experiment_names(client) == []

    loose = await call(
        mcp_client,
        "upload_experiment",
        {"name": "loose", "dataset": "qa", "runs": [{"example_id": ids[0], "output": "a", "correctness.score": 1}]},
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
            "runs": [{"example_id": ids[0], "error": "timeout"}, {"example_id": ids[1], "output": "b"}],
        },
    )
    runs = await runs_of(client, errored["experiment"]["id"])
    assert [(r.output, r.error) for r in runs] == [("", "timeout"), ("b", None)]

    needs = await call_error(
        mcp_client, "upload_experiment", {"name": "s", "runs": [{"example_id": ids[0], "output": "a"}]}
    )
    assert "column 'example_id': is set but no dataset was given" in needs
    standalone = await call(mcp_client, "upload_experiment", {"name": "s", "runs": [{"output": "a"}, {"output": "b"}]})
    assert standalone["dataset"] is None and standalone["run_count"] == 2
    taken = await call_error(
        mcp_client, "upload_experiment", {"name": "e", "dataset": "qa", "runs": [{"example_id": ids[0], "output": "a"}]}
    )
    assert "already has an experiment named 'e'" in taken


async def test_inline_runs_that_are_not_objects_are_refused_by_row_and_nothing_is_written(
    mcp_client: Client, client: AsyncArizeClient
) -> None:
    ids = await make_dataset(client, "qa", 2)

    error = await call_error(
        mcp_client,
        "upload_experiment",
        {"name": "x", "dataset": "qa", "runs": [{"example_id": ids[0], "output": "a"}, "b", 3]},
    )

    assert "runs: row(s) 2, 3 are not objects" in error
    assert await experiment_names(client) == []


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

    result = await call(mcp_client, "get_experiment", {"experiment": "new", "sample": 2})

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
    assert "experiment 'nope' not found" in missing


async def test_compare_experiments_counts_wins_losses_and_lists_changed_labels(
    mcp_client: Client, client: AsyncArizeClient
) -> None:
    ids = await _two_experiments(client)

    result = await call(mcp_client, "compare_experiments", {"experiments": ["base", "new"]})

    assert result["evaluator"] == "correctness" and result["experiments"][0]["experiment"]["name"] == "base"
    assert [e["means"] for e in result["experiments"]] == [{"correctness": 0.5}, {"correctness": 0.5}]
    (pair,) = result["comparisons"]
    assert (pair["wins"], pair["losses"], pair["ties"], pair["not_compared"]) == (1, 1, 2, 0)
    assert (result["changed_total"], result["missing_total"], result["compared_by"]) == (2, 0, "label")
    assert [c["example_id"] for c in result["changed"]] == [ids[1], ids[2]]
    first = result["changed"][0]
    assert first["example"] == {"question": "q1", "expected": "2"}
    assert [(r["experiment"], r["label"], r["output"]) for r in first["results"]] == [
        ("base", "wrong", "base answer 1"),
        ("new", "correct", "new answer 1"),
    ]
    reverse = await call(mcp_client, "compare_experiments", {"experiments": ["base", "new"], "higher_is_better": False})
    assert (reverse["comparisons"][0]["wins"], reverse["comparisons"][0]["losses"]) == (1, 1)


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


async def _text_and_result(mcp_client: Client, tool: str, arguments: dict[str, Any]) -> tuple[str, dict[str, Any]]:
    """The text a model reads of a successful call, and its structured result."""
    result = await mcp_client.call_tool(tool, arguments)
    assert not result.is_error, result.content
    assert result.structured_content is not None
    return "\n".join(b.text for b in result.content if b.type == "text"), result.structured_content


async def test_compare_counts_a_result_missing_on_one_side_apart_from_the_real_changes(
    mcp_client: Client, client: AsyncArizeClient
) -> None:
    ids = await make_dataset(client, "qa", 6)
    base = {0: "correct", 1: "wrong", 2: "correct", 3: "correct", 5: "wrong"}
    new = {0: "correct", 1: "correct", 4: "correct", 5: "wrong"}
    new_runs_without_label = {2}
    for name, labels, bare in (("base", base, {4}), ("new", new, new_runs_without_label)):
        runs = [
            {"example_id": ids[i], "output": f"{name} {i}", **({} if i in bare else {"eval.c.label": labels[i]})}
            for i in range(6)
            if i in labels or i in bare
        ]
        await client.experiments.create(name, runs, dataset="qa")

    text, result = await _text_and_result(mcp_client, "compare_experiments", {"experiments": ["base", "new"]})

    assert result["changed_total"] == 1 and [c["example_id"] for c in result["changed"]] == [ids[1]]
    assert result["missing_total"] == 3
    assert text.splitlines()[0].count("1 changed") == 1 and "3 missing" in text.splitlines()[0]


async def test_compare_experiments_text_stays_under_8000_chars_and_pages_the_changed_examples(
    mcp_client: Client, client: AsyncArizeClient
) -> None:
    rows = [{"question": f"q{i} " + "context " * 200, "expected": "x" * 500} for i in range(40)]
    await client.datasets.create("long", rows)
    ids = [e.id async for e in client.datasets.list_examples("long", space=client.space, limit=500)]
    for name, label in (("a", "yes"), ("b", "no")):
        await client.experiments.create(
            name,
            [
                {"example_id": eid, "output": f"{name} " + "word " * 400, "eval.j.label": label, "eval.j.score": 1}
                for eid in ids
            ],
            dataset="long",
        )

    seen: list[str] = []
    cursor = None
    for _ in range(40):
        arguments: dict[str, Any] = {"experiments": ["a", "b"], **({"cursor": cursor} if cursor else {})}
        text, result = await _text_and_result(mcp_client, "compare_experiments", arguments)
        assert len(text) <= 8000, len(text)
        assert result["changed"] and result["changed_total"] == 40
        seen += [c["example_id"] for c in result["changed"]]
        cursor = result.get("next_cursor")
        if cursor is None:
            break
        assert "next_cursor" in text.splitlines()[0]
    assert seen == ids


async def test_get_experiment_text_stays_under_8000_chars_with_long_values(
    mcp_client: Client, client: AsyncArizeClient
) -> None:
    ids = await make_dataset(client, "qa", 30)
    await client.experiments.create(
        "long",
        [
            {
                "example_id": eid,
                "output": "word " * 2000,
                "error": f"failure {i} " * 100,
                **{f"col{c}": "v" * 1000 for c in range(30)},
                **{f"eval.e{c}.label": f"label {i}" for c in range(8)},
                **{f"eval.e{c}.explanation": "because " * 100 for c in range(8)},
            }
            for i, eid in enumerate(ids)
        ],
        dataset="qa",
    )

    text, result = await _text_and_result(mcp_client, "get_experiment", {"experiment": "long"})

    assert len(text) <= 8000, len(text)
    assert result["run_count"] == 30 and result["sample"]


async def test_upload_lists_the_eval_columns_it_stored_in_its_summary_line(
    mcp_client: Client, client: AsyncArizeClient
) -> None:
    ids = await make_dataset(client, "qa", 2)
    rows = [
        {"example_id": ids[0], "output": "a", "eval.correctness.score": 1, "eval.correctness.label": "ok"},
        {"example_id": ids[1], "output": "b", "eval.correctness.label": "bad", "eval.tone.label": "polite"},
    ]

    text, result = await _text_and_result(
        mcp_client, "upload_experiment", {"name": "up", "dataset": "qa", "runs": rows}
    )

    assert result["eval_columns"] == {"eval.correctness.score": 1, "eval.correctness.label": 2, "eval.tone.label": 1}
    first = text.splitlines()[0]
    assert "2 runs" in first and "'up'" in first
    assert "eval.correctness.score" in first and "eval.tone.label" in first


async def test_a_csv_with_an_unclosed_quote_uploads_nothing_and_names_the_row(
    mcp_client: Client, client: AsyncArizeClient, tmp_path: Path
) -> None:
    ids = await make_dataset(client, "qa", 4)
    path = tmp_path / "runs.csv"
    path.write_text(
        f'example_id,output\n{ids[0]},one\n{ids[1]},"two\n{ids[2]},three\n{ids[3]},four\n', encoding="utf-8"
    )

    error = await call_error(mcp_client, "upload_experiment", {"name": "q", "dataset": "qa", "runs": str(path)})

    assert "row 2 (line 3)" in error and "quote" in error
    assert await experiment_names(client) == []


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
    await make_dataset(client, "qa", 4)
    await judge_integration(client, stub, name="stub-llm")

    text, result = await _text_and_result(
        mcp_client,
        "run_experiment",
        {
            "dataset": "qa",
            "experiment_name": "gen-1",
            "ai_integration": "stub-llm",
            "prompt": [{"role": "system", "content": "Be terse."}, {"role": "user", "content": "Q: {question}"}],
            "max_examples": 3,
        },
    )

    assert result["status"] == "PENDING" and result["task"]["name"] == "generate: qa"
    assert (result["variable_format"], result["variables"], result["examples_selected"]) == (
        "F_STRING",
        ["question"],
        3,
    )
    assert f"Run {result['run_id']} is PENDING" in text.splitlines()[0] and "'gen-1'" in text.splitlines()[0]
    assert any("get_task_runs" in n for n in result["notes"])
    await engine.runner.run_until_idle()
    summary = await call(mcp_client, "get_experiment", {"experiment": "gen-1", "sample": 3})
    assert summary["run_count"] == 3 and summary["error_count"] == 0
    runs = await runs_of(client, summary["experiment"]["id"])
    assert {r.output for r in runs} == {f"reply to <Q: q{i}>" for i in range(3)}
    assert stub.requests[0].body["messages"][0] == {"role": "system", "content": "Be terse."}

    again = await call(
        mcp_client,
        "run_experiment",
        {"dataset": "qa", "experiment_name": "gen-2", "ai_integration": "stub-llm", "prompt": "A: {{expected}}"},
    )
    assert again["task"] == result["task"] and again["variable_format"] == "MUSTACHE"
    alongside = await call(
        mcp_client,
        "run_experiment",
        {"dataset": "qa", "experiment_name": "gen-3", "ai_integration": "stub-llm", "prompt": "{question}"},
    )
    assert alongside["task"]["name"] == "generate: qa #2"
    await engine.runner.run_until_idle()
    task = await client.tasks.get("generate: qa")
    assert task.run_configuration and task.run_configuration["messages"] == [
        {"role": "USER", "content": "A: {{expected}}"}
    ]
    second = await runs_of(client, (await client.experiments.get("gen-2", dataset="qa")).id)
    assert sorted(r.output for r in second) == sorted(f"reply to <A: {i * 2}>" for i in range(4))
    taken = await call_error(
        mcp_client,
        "run_experiment",
        {"dataset": "qa", "experiment_name": "gen-1", "ai_integration": "stub-llm", "prompt": "{question}"},
    )
    assert "experiment_name: dataset 'qa' already has an experiment named 'gen-1'" in taken


async def test_run_experiment_checks_placeholders_messages_and_model_before_starting(
    mcp_client: Client, client: AsyncArizeClient, stub: StubServer
) -> None:
    await make_dataset(client, "qa", 2)
    await judge_integration(client, stub, name="stub-llm")
    base = {"dataset": "qa", "experiment_name": "x", "ai_integration": "stub-llm"}

    unknown = await call_error(mcp_client, "run_experiment", {**base, "prompt": "Q: {query} {question}"})
    assert "'query' name no column of dataset 'qa'" in unknown and "expected, question" in unknown
    malformed = await call_error(mcp_client, "run_experiment", {**base, "prompt": [{"role": "user"}]})
    assert "prompt[0]: a chat message is" in malformed
    assert await experiment_names(client) == []
    raw = await call(mcp_client, "run_experiment", {**base, "prompt": "Say hello"})
    assert any("every example gets the same prompt" in note for note in raw["notes"])

    await client.ai_integrations.create(name="no-models", provider="OPEN_AI", api_key="sk-test-key-123")
    no_model = await call_error(
        mcp_client,
        "run_experiment",
        {**base, "experiment_name": "z", "ai_integration": "no-models", "prompt": "{question}"},
    )
    assert "model_name" in no_model and "lists no models" in no_model
