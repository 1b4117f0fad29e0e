"""The judge tools end to end against the engine: create_judge, create_code_evaluator, update_judge, preview_judge
and align_judge, with a stub LLM that answers from the prompt it reads."""

from __future__ import annotations

import asyncio
import contextlib
from collections.abc import AsyncIterator, Iterator
from datetime import timedelta
from fractions import Fraction
from typing import Any

import pytest
from mcp import Client

from arize_skills.client import AsyncArizeClient
from arize_skills.engine import Engine
from arize_skills.mcp_server import build_server
from arize_skills.settings import Settings
from tests.conftest import LiveEngine
from tests.engine.otlp_payloads import ingest, span
from tests.engine.runner_support import PROVIDER_KEY, judge_integration
from tests.mcp_server.conftest import FIXED_NOW, call, call_error
from tests.stubs.llm_server import RecordedRequest, Reply, StubServer, Text, ToolUse, serve_stub

PROMPT = "Question: {question}\nAnswer: {answer}\nReply pass if the answer is right, fail if it is wrong."
ENV_KEY = "sk-env-preview-key-7d2a9c"


def verdict(request: RecordedRequest) -> Reply:
    """The stub judge: 'pass' when the prompt it was sent holds GOOD, else 'fail'."""
    prompt = request.body["messages"][-1]["content"]
    label = "pass" if "GOOD" in prompt else "fail"
    if request.tools():
        return ToolUse("record_judgement", {"explanation": f"the answer looks {label}", "label": label})
    return Text(f"EXPLANATION: the answer looks {label}\nLABEL: {label}")


@pytest.fixture
def stub() -> Iterator[StubServer]:
    with serve_stub(responder=verdict, expected_key=PROVIDER_KEY) as served:
        yield served


@contextlib.asynccontextmanager
async def runner_serving(engine: Engine) -> AsyncIterator[None]:
    """The engine's task runner serving in the background (as in the embedded server) until the block ends."""
    task = asyncio.create_task(engine.runner.serve())
    try:
        yield
    finally:
        task.cancel()
        with contextlib.suppress(asyncio.CancelledError):
            await task


async def make_judge(mcp: Client, client: AsyncArizeClient, stub: StubServer, **extra: Any) -> dict[str, Any]:
    """A pass/fail judge of question and answer, through create_judge, calling the stub."""
    await judge_integration(client, stub, name="stub-judge")
    arguments = {"name": "answer check", "ai_integration": "stub-judge", "prompt": PROMPT, "labels": ["pass", "fail"]}
    arguments.update(extra)
    return await call(mcp, "create_judge", arguments)


# --- create_judge --------------------------------------------------------------------------------------------------


async def test_create_judge_stores_a_checked_judge_and_returns_its_variables_and_version(
    mcp_client: Client, client: AsyncArizeClient, stub: StubServer
) -> None:
    result = await make_judge(mcp_client, client, stub)

    stored = await client.evaluators.get(result["judge"]["id"])
    assert result["judge"]["name"] == "answer check" == stored.name
    assert stored.version is not None and result["version_id"] == stored.version.id
    assert result["template_variables"] == ["question", "answer"]
    assert result["labels"] == {"pass": 1.0, "fail": 0.0}
    assert result["eval_column"] == "answer_check"
    assert result["model"] == "stub-model", "the integration's first model is the default"
    assert result["ai_integration"]["name"] == "stub-judge"
    config = stored.version.template_config
    assert config is not None and config.template == PROMPT
    assert config.classification_choices == {"pass": 1.0, "fail": 0.0}
    assert (config.include_explanations, config.use_function_calling) == (True, True)
    assert config.llm_config is not None and config.llm_config.invocation_parameters == {"temperature": 0.0}
    assert config.llm_config.ai_integration_id == result["ai_integration"]["id"]
    assert "create_task" in " ".join(result["template_variables"] + [result["next_step"]])


async def test_labels_missing_from_the_prompt_are_refused_by_name_and_nothing_is_created(
    mcp_client: Client, client: AsyncArizeClient, stub: StubServer
) -> None:
    await judge_integration(client, stub, name="stub-judge")
    text = await call_error(
        mcp_client,
        "create_judge",
        {
            "name": "tone",
            "ai_integration": "stub-judge",
            "prompt": "Is the reply {output} polite? Answer polite or rude.",
            "labels": {"polite": 1, "rude": 0, "sarcastic": 0.5, "hostile": 0},
        },
    )
    assert "classification labels not in the prompt: 'sarcastic', 'hostile'" in text
    assert (await client.evaluators.list()).items == []


@pytest.mark.parametrize(
    ("prompt", "labels", "expected"),
    [
        ("Is {{output}} right? Say pass or fail.", ["pass", "fail"], "{output}"),
        ("Is {output} right? Say Pass or pass.", {"Pass": 1, "pass": 0}, "differ only in case"),
        ("Is the sky blue? Say pass or fail.", ["pass", "fail"], "no {variable} placeholders"),
        ("Is {output} right? Say pass or fail.", None, "a judge needs its labels"),
        ("Is {output} right? Say pass or fail.", ["pass", "fail", "meh"], "pass an object of label → score"),
    ],
)
async def test_create_judge_refuses_prompts_that_would_fail_silently(
    mcp_client: Client,
    client: AsyncArizeClient,
    stub: StubServer,
    prompt: str,
    labels: Any,
    expected: str,
) -> None:
    await judge_integration(client, stub, name="stub-judge")
    arguments: dict[str, Any] = {"name": "j", "ai_integration": "stub-judge", "prompt": prompt}
    if labels is not None:
        arguments["labels"] = labels
    text = await call_error(mcp_client, "create_judge", arguments)
    assert expected in text
    assert (await client.evaluators.list()).items == []


async def test_create_judge_from_a_built_in_template_keeps_its_prompt_and_applies_overrides(
    mcp_client: Client, client: AsyncArizeClient, stub: StubServer
) -> None:
    await judge_integration(client, stub, name="stub-judge")
    result = await call(
        mcp_client,
        "create_judge",
        {
            "name": "RAG hallucination",
            "ai_integration": "stub-judge",
            "prompt": "Hallucination",
            "settings": {"eval_column": "halluc", "model": "gpt-4o-mini"},
        },
    )
    assert result["from_template"] == "hallucination"
    assert result["template_variables"] == ["input", "context", "output"]
    assert result["labels"] == {"factual": 1.0, "hallucinated": 0.0}
    assert result["eval_column"] == "halluc"
    assert any("gpt-4o-mini" in note and "stub-model" in note for note in result["notes"])
    stored = await client.evaluators.get(result["judge"]["id"])
    assert stored.version is not None and stored.version.template_config is not None
    assert "hallucinated" in (stored.version.template_config.template or "")
    assert stored.version.template_config.name == "halluc"


async def test_an_unknown_template_or_integration_is_refused_with_what_to_call(
    mcp_client: Client, client: AsyncArizeClient, stub: StubServer
) -> None:
    await judge_integration(client, stub, name="stub-judge")
    text = await call_error(
        mcp_client, "create_judge", {"name": "x", "ai_integration": "stub-judge", "prompt": "nonsense"}
    )
    assert "no built-in judge template is named 'nonsense'" in text and "hallucination" in text
    text = await call_error(
        mcp_client,
        "create_judge",
        {"name": "x", "ai_integration": "nope", "prompt": "Is {output} ok? ok or bad", "labels": ["ok", "bad"]},
    )
    assert "ai integration 'nope' not found" in text and "find(kind='ai_integration'" in text


# --- create_code_evaluator -----------------------------------------------------------------------------------------


async def test_create_code_evaluator_checks_and_stores_typed_params_with_defaults(
    mcp_client: Client, client: AsyncArizeClient
) -> None:
    result = await call(
        mcp_client,
        "create_code_evaluator",
        {
            "name": "Mentions refund",
            "evaluator": "CONTAINS_ANY_KEYWORD",
            "variables": ["attributes.output.value"],
            "params": {"keywords": ["refund", "money back"]},
        },
    )
    assert result["params"] == {"keywords": ["refund", "money back"], "case_sensitive": "false"}
    assert result["variables"] == {"value": "attributes.output.value"}
    assert result["eval_column"] == "mentions_refund"
    stored = await client.evaluators.get(result["evaluator"]["id"])
    assert stored.version is not None and stored.version.code_config is not None
    code = stored.version.code_config
    assert code.managed_evaluator == "CONTAINS_ANY_KEYWORD"
    assert code.static_params is not None
    assert [(p.name, p.type, p.default_value) for p in code.static_params] == [
        ("keywords", "STRING_ARRAY", ["refund", "money back"])
    ]


async def test_exact_match_takes_a_boolean_case_flag_as_its_string_form(mcp_client: Client) -> None:
    result = await call(
        mcp_client,
        "create_code_evaluator",
        {
            "name": "exact",
            "evaluator": "EXACT_MATCH",
            "variables": ["output", "expected"],
            "params": {"case_sensitive": False},
        },
    )
    assert result["params"] == {"case_sensitive": "false"}
    assert list(result["variables"]) == ["value", "expected"]


@pytest.mark.parametrize(
    ("arguments", "expected"),
    [
        (
            {"evaluator": "EXACT_MATCH", "variables": ["output"]},
            "variables: EXACT_MATCH takes 2 variables (value, expected)",
        ),
        ({"evaluator": "MATCHES_REGEX", "variables": ["output"]}, "params.pattern: MATCHES_REGEX needs 'pattern'"),
        (
            {"evaluator": "MATCHES_REGEX", "variables": ["output"], "params": {"pattern": "(unclosed"}},
            "params.pattern: '(unclosed' is not a valid regular expression",
        ),
        (
            {"evaluator": "JSON_PARSEABLE", "variables": ["output"], "params": {"strict": "true"}},
            "params.strict: JSON_PARSEABLE has no parameter 'strict'",
        ),
        (
            {"evaluator": "CONTAINS_ALL_KEYWORDS", "variables": ["output"], "params": {"keywords": []}},
            "params.keywords: CONTAINS_ALL_KEYWORDS takes a list of one or more non-empty strings",
        ),
        (
            {
                "evaluator": "CONTAINS_ANY_KEYWORD",
                "variables": ["output"],
                "params": {"keywords": ["a"], "case_sensitive": "maybe"},
            },
            "params.case_sensitive: must be one of true, false",
        ),
    ],
)
async def test_code_evaluator_mistakes_are_refused_naming_the_field(
    mcp_client: Client, client: AsyncArizeClient, arguments: dict[str, Any], expected: str
) -> None:
    text = await call_error(mcp_client, "create_code_evaluator", {"name": "check", **arguments})
    assert expected in text
    assert (await client.evaluators.list()).items == []


# --- update_judge --------------------------------------------------------------------------------------------------


async def test_update_judge_saves_a_checked_version_and_says_what_changed(
    mcp_client: Client, client: AsyncArizeClient, stub: StubServer
) -> None:
    created = await make_judge(mcp_client, client, stub)
    new_prompt = PROMPT.replace("Answer: {answer}", "Answer: {answer}\nReference: {reference}")

    result = await call(
        mcp_client,
        "update_judge",
        {
            "judge": "answer check",
            "commit_message": "compare with the reference",
            "prompt": new_prompt,
            "settings": {"model": "m2"},
        },
    )

    assert result["previous_version_id"] == created["version_id"]
    assert result["version_id"] != created["version_id"]
    assert result["template_variables"] == ["question", "answer", "reference"]
    assert any(change.startswith("prompt:") and "added 'reference'" in change for change in result["changes"])
    assert "model: stub-model → m2" in result["changes"]
    latest = await client.evaluators.get(created["judge"]["id"])
    assert latest.version is not None and latest.version.id == result["version_id"]
    assert latest.version.commit_message == "compare with the reference"
    config = latest.version.template_config
    assert config is not None and config.template == new_prompt
    assert config.name == "answer_check" and config.classification_choices == {"pass": 1.0, "fail": 0.0}
    assert config.llm_config is not None and config.llm_config.model_name == "m2"


async def test_update_judge_reruns_the_checks_and_refuses_a_change_that_changes_nothing(
    mcp_client: Client, client: AsyncArizeClient, stub: StubServer
) -> None:
    created = await make_judge(mcp_client, client, stub)
    text = await call_error(
        mcp_client,
        "update_judge",
        {
            "judge": "answer check",
            "commit_message": "three labels",
            "settings": {"labels": {"pass": 1, "fail": 0, "unsure": 0.5}},
        },
    )
    assert "classification labels not in the prompt: 'unsure'" in text
    text = await call_error(
        mcp_client,
        "update_judge",
        {"judge": "answer check", "commit_message": "same", "settings": {"model": "stub-model"}},
    )
    assert "nothing to change" in text
    versions = await client.evaluators.list_versions(created["judge"]["id"]).to_list()
    assert [v.id for v in versions] == [created["version_id"]]


async def test_update_judge_refuses_a_code_evaluator(mcp_client: Client) -> None:
    await call(
        mcp_client, "create_code_evaluator", {"name": "json", "evaluator": "JSON_PARSEABLE", "variables": ["output"]}
    )
    text = await call_error(
        mcp_client, "update_judge", {"judge": "json", "commit_message": "x", "settings": {"model": "m"}}
    )
    assert "is a CODE evaluator, not an LLM judge" in text


# --- preview_judge -------------------------------------------------------------------------------------------------


async def add_chat_spans(engine: Engine, answers: list[str]) -> None:
    """Spans of project 'chat-app', one an hour before FIXED_NOW per answer (newest last)."""
    spans = [
        span(
            f"{index + 1:016x}",
            trace_id=f"{index + 1:032x}",
            start=FIXED_NOW - timedelta(hours=len(answers) - index),
            attributes={"input.value": f"question {index}", "output.value": answer},
            name="llm",
        )
        for index, answer in enumerate(answers)
    ]
    await ingest(engine, "chat-app", spans)


async def test_preview_judges_real_spans_with_the_engines_stored_key_and_writes_nothing(
    mcp_client: Client, client: AsyncArizeClient, engine: Engine, stub: StubServer
) -> None:
    await make_judge(mcp_client, client, stub)
    await add_chat_spans(engine, ["GOOD: four", "BAD: five", "GOOD: Paris"])

    result = await call(
        mcp_client,
        "preview_judge",
        {
            "judge": "answer check",
            "source": "chat-app",
            "column_mappings": {"question": "attributes.input.value", "answer": "attributes.output.value"},
            "n": 3,
        },
    )

    assert result["problems"] == []
    assert result["key_source"] == "the key the local engine stores for the AI integration"
    by_answer = {r["values"]["answer"]: r for r in result["records"]}
    assert {answer: r["label"] for answer, r in by_answer.items()} == {
        "GOOD: four": "pass",
        "BAD: five": "fail",
        "GOOD: Paris": "pass",
    }
    assert by_answer["BAD: five"]["score"] == 0.0
    assert by_answer["BAD: five"]["explanation"] == "the answer looks fail"
    assert by_answer["GOOD: four"]["values"]["question"] == "question 0"
    assert result["label_counts"] == {"pass": 2, "fail": 1}
    assert len(stub.requests) == 3 and all(r.key_matches for r in stub.requests)
    assert PROVIDER_KEY not in str(result)
    page = await client.spans.list("chat-app", start_time=FIXED_NOW - timedelta(days=1), end_time=FIXED_NOW)
    assert all(item.evaluations == [] for item in page.items), "a preview writes no evaluation"


async def test_preview_names_each_variable_without_a_value_and_the_mapping_to_fix(
    mcp_client: Client, client: AsyncArizeClient, engine: Engine, stub: StubServer
) -> None:
    await make_judge(mcp_client, client, stub)
    await add_chat_spans(engine, ["GOOD: four", "BAD: five"])

    result = await call(
        mcp_client,
        "preview_judge",
        {
            "judge": "answer check",
            "source": "chat-app",
            "column_mappings": {"question": "attributes.input.value", "anwser": "attributes.output.value"},
        },
    )

    assert stub.requests == [], "a record with a missing variable is not sent to the judge"
    assert result["variables"] == {"question": "attributes.input.value", "answer": "answer"}
    for record in result["records"]:
        assert record["label"] is None
        assert record["missing"] == ["answer"]
    assert any(
        "variable 'answer' has no value on 2 of 2 spans" in p and "column_mappings has no entry for 'answer'" in p
        for p in result["problems"]
    )
    assert any("'anwser', which is not a variable of the prompt" in p for p in result["problems"])
    assert "attributes.output.value" in result["paths_seen"]


async def test_preview_on_dataset_examples_with_a_key_from_an_environment_variable(
    mcp_client: Client, client: AsyncArizeClient, monkeypatch: pytest.MonkeyPatch
) -> None:
    with serve_stub(responder=verdict, expected_key=ENV_KEY) as stub:
        await judge_integration(client, stub, name="keyless", api_key=None)
        await call(
            mcp_client,
            "create_judge",
            {"name": "answer check", "ai_integration": "keyless", "prompt": PROMPT, "labels": ["pass", "fail"]},
        )
        await client.datasets.create(
            "qa", [{"question": "2+2", "answer": "GOOD 4"}, {"question": "1+1", "answer": "3"}]
        )

        text = await call_error(
            mcp_client, "preview_judge", {"judge": "answer check", "source": "qa", "api_key_env": "JUDGE_KEY"}
        )
        assert "JUDGE_KEY is not set" in text
        monkeypatch.setenv("JUDGE_KEY", ENV_KEY)
        result = await call(
            mcp_client, "preview_judge", {"judge": "answer check", "source": "qa", "api_key_env": "JUDGE_KEY"}
        )

    assert [r["label"] for r in result["records"]] == ["pass", "fail"]
    assert result["kind"] == "dataset" and result["source"]["name"] == "qa"
    assert result["key_source"] == "the environment variable JUDGE_KEY of the MCP server"
    assert all(r.key_matches for r in stub.requests)
    assert ENV_KEY not in str(result)


async def test_preview_of_a_filter_that_matches_nothing_says_so_and_calls_no_model(
    mcp_client: Client, client: AsyncArizeClient, engine: Engine, stub: StubServer
) -> None:
    await make_judge(mcp_client, client, stub)
    await add_chat_spans(engine, ["GOOD"])
    result = await call(
        mcp_client, "preview_judge", {"judge": "answer check", "source": "chat-app", "filter": "name = 'nope'"}
    )
    assert result["records"] == []
    assert "no span of project 'chat-app' in the last 30 days matches the filter" in result["problems"][0]
    assert "loosen the filter" in result["problems"][0]
    assert stub.requests == []


async def test_preview_argument_mistakes_are_refused(
    mcp_client: Client, client: AsyncArizeClient, stub: StubServer
) -> None:
    await make_judge(mcp_client, client, stub)
    text = await call_error(mcp_client, "preview_judge", {"judge": "answer check"})
    assert "source: is required" in text
    text = await call_error(mcp_client, "preview_judge", {"judge": "nope", "source": "x"})
    assert "evaluator 'nope' not found" in text
    text = await call_error(mcp_client, "preview_judge", {"judge": "answer check", "source": "x"})
    assert "no project or dataset is named 'x'" in text
    text = await call_error(
        mcp_client, "preview_judge", {"judge": "answer check", "source": "x", "api_key_env": "sk-not a name"}
    )
    assert "NAME of an environment variable" in text and "sk-not a name" not in text
    text = await call_error(mcp_client, "preview_judge", {"judge": "answer check", "source": "p", "n": 50})
    assert "at most 20" in text


async def test_on_an_ax_backend_preview_needs_a_key_variable_and_never_sees_the_stored_key(
    live_engine: LiveEngine, monkeypatch: pytest.MonkeyPatch, stub: StubServer
) -> None:
    settings = Settings.resolve(
        environ={
            "ARIZE_API_KEY": "ak-ax-backend-123456",
            "ARIZE_SINGLE_HOST": "127.0.0.1",
            "ARIZE_SINGLE_PORT": str(live_engine.port),
            "ARIZE_API_SCHEME": "http",
            "ARIZE_SPACE": "default",
        },
        home=live_engine.home,
    )
    assert settings.backend == "ax"
    async with AsyncArizeClient.from_settings(settings) as seed:
        seed.space = await seed.resolve.space_id("default")
        await judge_integration(seed, stub, name="stub-judge")
        await seed.datasets.create("qa", [{"question": "2+2", "answer": "GOOD 4"}])
    server = build_server(settings)
    async with Client(server, mode="legacy") as mcp:
        await call(
            mcp,
            "create_judge",
            {"name": "answer check", "ai_integration": "stub-judge", "prompt": PROMPT, "labels": ["pass", "fail"]},
        )
        text = await call_error(mcp, "preview_judge", {"judge": "answer check", "source": "qa"})
        monkeypatch.setenv("OPENAI_KEY_FOR_PREVIEW", PROVIDER_KEY)
        result = await call(
            mcp, "preview_judge", {"judge": "answer check", "source": "qa", "api_key_env": "OPENAI_KEY_FOR_PREVIEW"}
        )
    assert "keeps its credentials on Arize AX" in text
    assert "api_key_env=" in text and "align_judge" in text
    assert [r["label"] for r in result["records"]] == ["pass"]
    assert PROVIDER_KEY not in text + str(result)


# --- align_judge ---------------------------------------------------------------------------------------------------

# (human label, answer quality the stub judge sees): 4 pass/pass, 1 pass/fail, 2 fail/pass, 3 fail/fail, 2 unlabelled.
ALIGN_ROWS = (
    [("pass", "GOOD")] * 4
    + [("pass", "BAD")]
    + [("fail", "GOOD")] * 2
    + [("fail", "BAD")] * 3
    + [(None, "GOOD"), (None, "BAD")]
)


MATRIX = [{"human": "pass", "judge": {"pass": 4, "fail": 1}}, {"human": "fail", "judge": {"pass": 2, "fail": 3}}]
"""The confusion matrix of ALIGN_ROWS: rows are the human labels, each counting the judge's labels."""


async def labelled_dataset(client: AsyncArizeClient, *, annotate: bool = True) -> list[str]:
    """Dataset 'graded' of ALIGN_ROWS (human label also in column 'verdict'); with ``annotate`` the labels are
    annotations of config 'review' too. Returns the example IDs in order."""
    rows = [
        {"question": f"q{i}", "reply": f"{quality} reply {i}", **({"verdict": human} if human else {})}
        for i, (human, quality) in enumerate(ALIGN_ROWS)
    ]
    await client.datasets.create("graded", rows)
    ids = [example.id for example in await client.datasets.list_examples("graded", limit=100).to_list()]
    if annotate:
        await client.annotation_configs.create_categorical("review", ["pass", "fail"])
        await client.datasets.annotate_examples(
            "graded",
            [
                {"record_id": ids[i], "values": [{"name": "review", "label": human}]}
                for i, (human, _) in enumerate(ALIGN_ROWS)
                if human
            ],
        )
    return ids


async def test_align_judge_reports_the_hand_computed_kappa_matrix_and_disagreements(
    mcp_client: Client, client: AsyncArizeClient, engine: Engine, stub: StubServer
) -> None:
    await make_judge(mcp_client, client, stub)
    ids = await labelled_dataset(client)
    reports: list[tuple[float, float | None, str | None]] = []

    async def on_progress(progress: float, total: float | None, message: str | None) -> None:
        reports.append((progress, total, message))

    async with runner_serving(engine):
        outcome = await mcp_client.call_tool(
            "align_judge",
            {
                "judge": "answer check",
                "dataset": "graded",
                "human_labels": "review",
                "column_mappings": {"answer": "reply"},
                "timeout_seconds": 30,
            },
            progress_callback=on_progress,
        )
    assert not outcome.is_error, outcome.content
    result = outcome.structured_content
    assert result is not None

    # Humans: pass 5, fail 5. Judge: pass 6 (4 + 2), fail 4. Agreement 4 + 3 of 10.
    observed = Fraction(4 + 3, 10)
    chance = Fraction(5, 10) * Fraction(6, 10) + Fraction(5, 10) * Fraction(4, 10)
    kappa = (observed - chance) / (1 - chance)
    assert kappa == Fraction(2, 5)
    assert result["kappa"] == float(kappa)
    assert result["accuracy"] == float(observed)
    assert result["confusion_matrix"] == MATRIX
    rates = {row["label"]: row for row in result["per_label"]}
    assert (rates["pass"]["precision"], rates["pass"]["recall"]) == (4 / 6, 4 / 5)
    assert (rates["fail"]["precision"], rates["fail"]["recall"]) == (3 / 4, 3 / 5)
    assert (result["examples"], result["labelled"], result["without_human_label"]) == (12, 10, 2)
    assert (result["judge_errors"], result["compared"]) == (0, 10)
    assert result["complete"] is True and result["status"] == "COMPLETED"
    assert result["disagreements_total"] == 3
    disagreements = {d["example_id"]: d for d in result["disagreements"]}
    assert set(disagreements) == {ids[4], ids[5], ids[6]}
    assert disagreements[ids[4]]["human_label"] == "pass" and disagreements[ids[4]]["judge_label"] == "fail"
    assert disagreements[ids[4]]["judge_explanation"] == "the answer looks fail"
    assert disagreements[ids[5]]["inputs"] == {"question": "q5", "answer": "GOOD reply 5"}
    assert len(stub.requests) == 10, "only the labelled examples are judged"
    assert result["task"]["name"] == "align answer check on graded"
    assert result["experiment"] is not None
    assert reports and reports[0][1] == 10 and "started on 10 labelled examples" in (reports[0][2] or "")


async def test_align_judge_picks_up_a_run_that_outlived_its_wait_with_labels_from_a_column(
    mcp_client: Client, client: AsyncArizeClient, engine: Engine, stub: StubServer
) -> None:
    await make_judge(mcp_client, client, stub)
    await labelled_dataset(client, annotate=False)
    arguments: dict[str, Any] = {
        "judge": "answer check",
        "dataset": "graded",
        "human_labels": "verdict",
        "column_mappings": {"answer": "reply"},
        "timeout_seconds": 1,
    }

    first = await call(mcp_client, "align_judge", arguments)
    assert first["complete"] is False and first["status"] == "PENDING"
    assert f"resume='{first['run_id']}'" in first["resume"]
    assert first["kappa"] is None and first["confusion_matrix"] == []

    text = await call_error(mcp_client, "align_judge", arguments)
    assert "still PENDING" in text and first["run_id"] in text, "a second alignment does not replace a running one"

    await engine.runner.run_until_idle()
    resumed = await call(mcp_client, "align_judge", {**arguments, "resume": first["run_id"]})
    assert resumed["complete"] is True and resumed["run_id"] == first["run_id"]
    assert resumed["confusion_matrix"] == MATRIX
    assert resumed["kappa"] == float(Fraction(2, 5))
    assert resumed["without_human_label"] == 2

    updated = await call(
        mcp_client,
        "update_judge",
        {"judge": "answer check", "commit_message": "stricter", "prompt": PROMPT + " Be strict."},
    )
    async with runner_serving(engine):
        again = await call(mcp_client, "align_judge", {**arguments, "timeout_seconds": 30})
    assert again["task"] == first["task"], "the judge's alignment task on the dataset is reused"
    assert again["run_id"] != first["run_id"]
    assert again["version_id"] == updated["version_id"] != first["version_id"]
    assert again["complete"] is True and again["compared"] == 10


async def test_align_judge_refuses_when_there_is_nothing_to_compare_or_a_variable_has_no_column(
    mcp_client: Client, client: AsyncArizeClient, stub: StubServer
) -> None:
    await make_judge(mcp_client, client, stub)
    await labelled_dataset(client)
    text = await call_error(
        mcp_client, "align_judge", {"judge": "answer check", "dataset": "graded", "human_labels": "no_such_column"}
    )
    assert "no example of dataset 'graded' has a column or an annotation named 'no_such_column'" in text
    assert "verdict" in text and "review" in text
    text = await call_error(
        mcp_client, "align_judge", {"judge": "answer check", "dataset": "graded", "human_labels": "review"}
    )
    assert "variable 'answer' has no value on any labelled example" in text and "question" in text
    assert (await client.tasks.list()).items == [], "nothing is created when a check fails"


async def test_align_judge_reports_kappa_as_undefined_when_everyone_used_one_label(
    mcp_client: Client, client: AsyncArizeClient, engine: Engine, stub: StubServer
) -> None:
    await make_judge(mcp_client, client, stub)
    await client.datasets.create("easy", [{"question": f"q{i}", "answer": "GOOD", "verdict": "PASS"} for i in range(3)])
    async with runner_serving(engine):
        result = await call(
            mcp_client,
            "align_judge",
            {"judge": "answer check", "dataset": "easy", "human_labels": "verdict", "timeout_seconds": 30},
        )
    assert result["accuracy"] == 1.0
    assert result["kappa"] is None and "undefined" in result["kappa_note"]
    assert result["confusion_matrix"] == [
        {"human": "pass", "judge": {"pass": 3, "fail": 0}},
        {"human": "fail", "judge": {"pass": 0, "fail": 0}},
    ], "'PASS' is matched to the judge's 'pass'"
    assert result["disagreements"] == []
