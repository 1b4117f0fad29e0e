"""The judge tools' safeguards: the eval column a judge writes (and changing it), what align_judge leaves
behind, a preview that reuses the key variable of an integration just created, a labelled confusion matrix with
a small-sample warning, names matched loosely when unambiguous, and results that stay under 8,000 characters."""

from __future__ import annotations

from collections.abc import Iterator
from typing import Any

import pytest
from mcp import Client

from arize_skills.client import AsyncArizeClient
from arize_skills.engine import Engine
from arize_skills.mcp_server import build_server
from arize_skills.mcp_server.surface import MAX_RESULT_CHARS
from arize_skills.settings import Settings
from tests.conftest import LiveEngine
from tests.engine.runner_support import PROVIDER_KEY, judge_integration
from tests.mcp_server.conftest import call, call_error
from tests.mcp_server.test_judges import (
    MATRIX,
    PROMPT,
    add_chat_spans,
    labelled_dataset,
    make_judge,
    runner_serving,
    verdict,
)
from tests.stubs.llm_server import StubServer, serve_stub


async def call_text(mcp: Client, tool: str, arguments: dict[str, Any]) -> tuple[dict[str, Any], str]:
    """Call a tool that must succeed: its structured result and the text the model reads."""
    outcome = await mcp.call_tool(tool, arguments)
    assert not outcome.is_error, outcome.content
    assert outcome.structured_content is not None
    texts = [block.text for block in outcome.content if block.type == "text"]
    return outcome.structured_content, "\n".join(texts)


@pytest.fixture
def stub() -> Iterator[StubServer]:
    """The stub judge of test_judges ('pass' when the prompt holds GOOD), expecting the provider key."""
    with serve_stub(responder=verdict, expected_key=PROVIDER_KEY) as served:
        yield served


ALIGN = {"judge": "answer check", "dataset": "graded", "human_labels": "review", "column_mappings": {"answer": "reply"}}


# --- d: the eval column ------------------------------------------------------------------------------------------


async def test_create_judge_says_in_its_summary_which_eval_column_it_writes(
    mcp_client: Client, client: AsyncArizeClient, stub: StubServer
) -> None:
    await judge_integration(client, stub, name="stub-judge")
    result, text = await call_text(
        mcp_client,
        "create_judge",
        {"name": "Answer check", "ai_integration": "stub-judge", "prompt": PROMPT, "labels": ["pass", "fail"]},
    )
    assert result["eval_column"] == "answer_check" and result["eval_column_in_use"] == []
    first = text.splitlines()[0]
    assert "writes eval.answer_check.label/score/explanation" in first and "Warning" not in first


async def test_create_judge_named_like_an_uploaded_eval_column_warns_and_names_the_way_out(
    mcp_client: Client, client: AsyncArizeClient, stub: StubServer
) -> None:
    await client.datasets.create("qa", [{"question": "2+2", "answer": "4"}])
    example = (await client.datasets.list_examples("qa")).items[0]
    await client.experiments.create(
        "uploaded scores",
        [{"example_id": example.id, "output": "4", "eval.answer_check.label": "pass", "eval.answer_check.score": 1}],
        dataset="qa",
    )
    await call(
        mcp_client,
        "create_code_evaluator",
        {"name": "Answer-check", "evaluator": "JSON_PARSEABLE", "variables": ["output"]},
    )

    await judge_integration(client, stub, name="stub-judge")
    result, text = await call_text(
        mcp_client,
        "create_judge",
        {"name": "answer check", "ai_integration": "stub-judge", "prompt": PROMPT, "labels": ["pass", "fail"]},
    )

    assert result["eval_column_in_use"] == ["evaluator 'Answer-check'", "experiment 'uploaded scores'"]
    first = text.splitlines()[0]
    assert "writes eval.answer_check.label/score/explanation" in first
    assert "Warning: eval.answer_check is already in use (evaluator 'Answer-check', experiment 'uploaded" in first
    assert "update_judge(judge='answer check', eval_column='answer_check_2'" in first


async def test_update_judge_changes_the_eval_column_and_the_next_results_go_there(
    mcp_client: Client, client: AsyncArizeClient, engine: Engine, stub: StubServer
) -> None:
    created = await make_judge(mcp_client, client, stub)
    await labelled_dataset(client)

    result, text = await call_text(
        mcp_client,
        "update_judge",
        {"judge": "answer check", "commit_message": "own column", "eval_column": "answer check v2"},
    )

    assert result["eval_column"] == "answer check v2"
    assert result["changes"] == [
        "eval_column: answer_check → answer check v2 (results written before stay in eval.answer_check)"
    ]
    assert "It writes eval.answer check v2.label/score/explanation" in text.splitlines()[0]
    stored = await client.evaluators.get(created["judge"]["id"])
    assert stored.version is not None and stored.version.template_config is not None
    assert stored.version.template_config.name == "answer check v2"
    async with runner_serving(engine):
        aligned = await call(mcp_client, "align_judge", {**ALIGN, "timeout_seconds": 30})
    assert aligned["confusion_matrix"] == MATRIX
    runs = await client.experiments.list_runs(aligned["experiment"]["id"]).to_list()
    assert runs and all(run.evaluation("answer check v2")["label"] in ("pass", "fail") for run in runs)
    assert all(run.evaluation("answer_check")["label"] is None for run in runs)


async def test_update_judge_takes_settings_in_any_case_and_names_a_setting_it_does_not_have(
    mcp_client: Client, client: AsyncArizeClient, stub: StubServer
) -> None:
    await make_judge(mcp_client, client, stub)
    text = await call_error(
        mcp_client, "update_judge", {"judge": "answer check", "commit_message": "x", "settings": {"strictness": 1}}
    )
    assert "settings: strictness is not a setting here" in text and "direction" in text
    result = await call(
        mcp_client,
        "update_judge",
        {"judge": "answer check", "commit_message": "lower is better", "settings": {"direction": "minimize"}},
    )
    assert result["changes"] == ["direction: MAXIMIZE → MINIMIZE"]


# --- g: what align_judge leaves behind --------------------------------------------------------------------------


async def test_align_judge_reuses_its_task_removes_earlier_experiments_and_says_which(
    mcp_client: Client, client: AsyncArizeClient, engine: Engine, stub: StubServer
) -> None:
    await make_judge(mcp_client, client, stub)
    await labelled_dataset(client)

    async with runner_serving(engine):
        first = await call(mcp_client, "align_judge", {**ALIGN, "timeout_seconds": 30})
        second = await call(mcp_client, "align_judge", {**ALIGN, "timeout_seconds": 30})

    assert first["housekeeping"].startswith("made task 'align answer check on graded'")
    assert f"kept this run's experiment '{first['experiment']['name']}'" in first["housekeeping"]
    assert second["housekeeping"].startswith(
        "reused task 'align answer check on graded'; removed 1 experiment of its earlier runs"
    )
    assert second["task"] == first["task"]
    experiments = (await client.experiments.list(dataset="graded")).items
    assert [e.id for e in experiments] == [second["experiment"]["id"]], "one alignment experiment is left"
    assert [t.id for t in (await client.tasks.list()).items] == [first["task"]["id"]]


# --- i: preview with an integration just created from a key variable -----------------------------------------------


async def judge_keyed_by_variable(mcp: Client, stub: StubServer) -> None:
    """Through the tools: an integration whose key comes from ``STUB_JUDGE_KEY``, and a pass/fail judge on it."""
    await call(
        mcp,
        "create_ai_integration",
        {
            "name": "stub",
            "provider": "OPEN_AI",
            "api_key_env": "STUB_JUDGE_KEY",
            "base_url": stub.openai_url,
            "model_names": ["stub-model"],
        },
    )
    await call(
        mcp,
        "create_judge",
        {"name": "answer check", "ai_integration": "stub", "prompt": PROMPT, "labels": ["pass", "fail"]},
    )


async def test_preview_on_the_embedded_engine_works_with_an_integration_just_created_from_a_key_variable(
    mcp_client: Client, client: AsyncArizeClient, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv("STUB_JUDGE_KEY", PROVIDER_KEY)
    with serve_stub(responder=verdict, expected_key=PROVIDER_KEY) as stub:
        await judge_keyed_by_variable(mcp_client, stub)
        await client.datasets.create("qa", [{"question": "2+2", "answer": "GOOD 4"}])
        result = await call(mcp_client, "preview_judge", {"judge": "answer check", "source": "qa"})
    assert [r["label"] for r in result["records"]] == ["pass"]
    assert all(r.key_matches for r in stub.requests)


async def test_preview_on_an_engine_over_http_reads_the_key_variable_the_integration_was_created_with(
    live_engine: LiveEngine, monkeypatch: pytest.MonkeyPatch, stub: StubServer
) -> None:
    settings = Settings.resolve(environ={"ARIZE_SKILLS_ENGINE_URL": live_engine.url}, home=live_engine.home)
    assert settings.backend == "engine-url"
    monkeypatch.setenv("STUB_JUDGE_KEY", PROVIDER_KEY)
    async with AsyncArizeClient.from_settings(settings) as seed:
        seed.space = await seed.resolve.space_id("default")
        await seed.datasets.create("qa", [{"question": "2+2", "answer": "GOOD 4"}])
    async with Client(build_server(settings), mode="legacy") as mcp:
        await judge_keyed_by_variable(mcp, stub)
        result = await call(mcp, "preview_judge", {"judge": "answer check", "source": "qa"})
    assert [r["label"] for r in result["records"]] == ["pass"]
    assert "STUB_JUDGE_KEY" in result["key_source"] and "create_ai_integration" in result["key_source"]
    assert all(r.key_matches for r in stub.requests)
    assert PROVIDER_KEY not in str(result)


# --- j: the confusion matrix and small samples ---------------------------------------------------------------------


async def test_align_judge_labels_the_matrix_axes_and_warns_under_50_labelled_examples(
    mcp_client: Client, client: AsyncArizeClient, engine: Engine, stub: StubServer
) -> None:
    await make_judge(mcp_client, client, stub)
    await labelled_dataset(client)
    async with runner_serving(engine):
        result, text = await call_text(mcp_client, "align_judge", {**ALIGN, "timeout_seconds": 30})

    assert result["confusion_matrix"] == MATRIX
    first = text.splitlines()[0]
    assert (
        "confusion (rows human, columns judge) human pass: judge pass 4, judge fail 1; human fail: judge pass 2, "
        "judge fail 3" in first
    )
    assert "accuracy 0.70, kappa 0.40" in first
    assert "Warning: only 10 labelled examples compared, fewer than 50" in first
    assert not any("fewer than 50" in note for note in result.get("notes", [])), "the summary line says it"


# --- e: names matched loosely when unambiguous ------------------------------------------------------------------


async def test_align_judge_matches_label_source_variables_and_columns_ignoring_case(
    mcp_client: Client, client: AsyncArizeClient, engine: Engine, stub: StubServer
) -> None:
    await make_judge(mcp_client, client, stub)
    await labelled_dataset(client)
    async with runner_serving(engine):
        result = await call(
            mcp_client,
            "align_judge",
            {
                "judge": "Answer Check",
                "dataset": "graded",
                "human_labels": "Review",
                "column_mappings": {"ANSWER": "Reply"},
                "timeout_seconds": 30,
            },
        )
    assert result["human_labels"] == "annotation 'review'"
    assert result["confusion_matrix"] == MATRIX


async def test_a_name_that_is_both_a_column_and_an_annotation_is_refused_until_prefixed(
    mcp_client: Client, client: AsyncArizeClient, engine: Engine, stub: StubServer
) -> None:
    await make_judge(mcp_client, client, stub)
    ids = await labelled_dataset(client, annotate=False)
    await client.annotation_configs.create_categorical("verdict", ["pass", "fail"])
    await client.datasets.annotate_examples(
        "graded", [{"record_id": ids[0], "values": [{"name": "verdict", "label": "fail"}]}]
    )
    arguments = {**ALIGN, "human_labels": "Verdict", "timeout_seconds": 30}
    text = await call_error(mcp_client, "align_judge", arguments)
    assert "'Verdict' is both a column and an annotation" in text and "'column:verdict'" in text
    async with runner_serving(engine):
        result = await call(mcp_client, "align_judge", {**arguments, "human_labels": "column:verdict"})
    assert result["human_labels"] == "the column 'verdict'" and result["confusion_matrix"] == MATRIX


async def test_code_evaluator_parameters_and_template_names_match_ignoring_case(
    mcp_client: Client, client: AsyncArizeClient, stub: StubServer
) -> None:
    result = await call(
        mcp_client,
        "create_code_evaluator",
        {
            "name": "exact",
            "evaluator": "exact_match",
            "variables": ["output", "expected"],
            "params": {"Case-Sensitive": False},
        },
    )
    assert result["params"] == {"case_sensitive": "false"}

    await judge_integration(client, stub, name="stub-judge")
    created = await call(
        mcp_client, "create_judge", {"name": "rag", "ai_integration": "stub-judge", "prompt": "HALLUCINATION"}
    )
    assert created["from_template"] == "hallucination"


# --- results stay under 8,000 characters -------------------------------------------------------------------------


async def test_a_preview_of_twenty_long_records_stays_under_8000_chars(
    mcp_client: Client, client: AsyncArizeClient, stub: StubServer
) -> None:
    await make_judge(mcp_client, client, stub)
    await client.datasets.create(
        "long", [{"question": "why? " * 1000, "answer": f"GOOD {i} " + "x" * 5000} for i in range(20)]
    )
    result, text = await call_text(mcp_client, "preview_judge", {"judge": "answer check", "source": "long", "n": 20})
    assert len(text) <= MAX_RESULT_CHARS
    assert result["label_counts"] == {"pass": 20}
    assert all("…[cut" in r["values"]["answer"] for r in result["records"])
    assert text.splitlines()[0].startswith(
        "Previewed judge 'answer check' on 20 examples of dataset 'long' (nothing written): pass 20."
    )


async def test_align_judge_pages_many_disagreements_with_a_cursor_under_8000_chars(
    mcp_client: Client, client: AsyncArizeClient, engine: Engine, stub: StubServer
) -> None:
    await make_judge(mcp_client, client, stub)
    rows = [
        {"question": f"q{i} " + "?" * 500, "answer": f"GOOD {i} " + "y" * 800, "verdict": "fail"} for i in range(60)
    ]
    await client.datasets.create("strict", rows)
    arguments: dict[str, Any] = {"judge": "answer check", "dataset": "strict", "human_labels": "verdict"}
    async with runner_serving(engine):
        result, text = await call_text(mcp_client, "align_judge", {**arguments, "timeout_seconds": 60})
    first_cursor = result["next_cursor"]
    seen: list[str] = []
    pages = 0
    while True:
        pages += 1
        assert len(text) <= MAX_RESULT_CHARS
        assert result["disagreements_total"] == 60 and result["compared"] == 60
        assert "fewer than 50" not in text
        seen += [d["example_id"] for d in result["disagreements"]]
        if not result.get("next_cursor"):
            break
        assert "more with resume=next_cursor" in text.splitlines()[0]
        result, text = await call_text(mcp_client, "align_judge", {**arguments, "resume": result["next_cursor"]})
    assert pages > 1 and len(seen) == len(set(seen)) == 60
    text = await call_error(
        mcp_client, "align_judge", {**arguments, "human_labels": "column:verdict", "resume": first_cursor}
    )
    assert "it belongs to a call with other arguments" in text


async def test_preview_source_is_a_project_or_dataset_by_name_or_id_and_a_shared_name_needs_a_prefix(
    mcp_client: Client, client: AsyncArizeClient, engine: Engine, stub: StubServer
) -> None:
    await make_judge(mcp_client, client, stub)
    await add_chat_spans(engine, ["GOOD: four"])
    dataset = await client.datasets.create("chat-app", [{"question": "2+2", "answer": "GOOD 4"}])
    mappings = {"question": "attributes.input.value", "answer": "attributes.output.value"}

    text = await call_error(mcp_client, "preview_judge", {"judge": "answer check", "source": "chat-app"})
    assert "'chat-app' is both a project and a dataset" in text and "'dataset:chat-app'" in text
    by_id = await call(mcp_client, "preview_judge", {"judge": "answer check", "source": dataset.id})
    spans = await call(
        mcp_client,
        "preview_judge",
        {"judge": "answer check", "source": "project:chat-app", "column_mappings": mappings},
    )
    assert (by_id["kind"], by_id["label_counts"]) == ("dataset", {"pass": 1})
    assert (spans["kind"], spans["label_counts"]) == ("project", {"pass": 1})
