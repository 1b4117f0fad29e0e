"""CODE_EVALUATION tasks: the five managed evaluators with their static params, variable remapping, CUSTOM code."""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from typing import Any

import pytest

from arize_skills.client import AsyncArizeClient
from arize_skills.engine import Engine
from tests.engine.runner_support import (
    add_spans,
    backfill,
    code_evaluator,
    get_run,
    project_task,
    qa_span,
    span_evals,
)

OUTPUTS = {
    1: '{"answer": 42}',
    2: "The Answer is 42.",
    3: "no digits here, only words",
    4: "the answer",
}


async def _run_code(
    engine: Engine,
    client: AsyncArizeClient,
    managed: str,
    variables: Sequence[str],
    static_params: Sequence[Mapping[str, Any]] = (),
    column_mappings: Mapping[str, str] | None = None,
) -> tuple[dict[str, Any], dict[int, tuple[str, float]]]:
    spans = [qa_span(n, **{"output.value": text, "expected": "the answer"}) for n, text in OUTPUTS.items()]
    await add_spans(engine, "app", spans)
    evaluator = await code_evaluator(client, "check", managed, variables, static_params)
    entry: dict[str, Any] = {"evaluator_id": evaluator}
    if column_mappings is not None:
        entry["column_mappings"] = dict(column_mappings)
    task = await project_task(client, "app", [entry], task_type="CODE_EVALUATION", name="code task")
    run = await backfill(client, task)
    await engine.runner.run_until_idle()
    results = {
        int(span_id, 16): (evals["check"]["label"], evals["check"]["score"])
        for span_id, evals in (await span_evals(client, "app")).items()
        if "check" in evals
    }
    return await get_run(client, run["id"]), results


def _passing(results: dict[int, tuple[str, float]]) -> set[int]:
    for label, score in results.values():
        assert (label, score) in (("true", 1.0), ("false", 0.0))
    return {n for n, (label, _) in results.items() if label == "true"}


@pytest.mark.parametrize(
    ("managed", "params", "passing"),
    [
        ("JSON_PARSEABLE", [], {1}),
        ("MATCHES_REGEX", [{"name": "pattern", "type": "REGEX", "default_value": r"\d+"}], {1, 2}),
        (
            "CONTAINS_ANY_KEYWORD",
            [{"name": "keywords", "type": "STRING_ARRAY", "default_value": ["answer", "words"]}],
            {1, 2, 3, 4},
        ),
        (
            "CONTAINS_ALL_KEYWORDS",
            [{"name": "keywords", "type": "STRING_ARRAY", "default_value": ["answer", "42"]}],
            {1, 2},
        ),
        (
            "CONTAINS_ALL_KEYWORDS",
            [
                {"name": "keywords", "type": "STRING_ARRAY", "default_value": ["Answer", "42"]},
                {"name": "case_sensitive", "type": "STRING", "default_value": "true"},
            ],
            {2},
        ),
    ],
)
async def test_a_managed_evaluator_labels_each_span_true_or_false_with_score_one_or_zero(
    engine: Engine,
    client: AsyncArizeClient,
    managed: str,
    params: list[dict[str, Any]],
    passing: set[int],
) -> None:
    run, results = await _run_code(engine, client, managed, ["attributes.output.value"], params)

    assert (run["status"], run["num_successes"], run["num_errors"]) == ("COMPLETED", 4, 0)
    assert _passing(results) == passing


async def test_exact_match_compares_two_columns_and_honours_case_sensitive(
    engine: Engine, client: AsyncArizeClient
) -> None:
    params = [{"name": "case_sensitive", "type": "STRING", "default_value": "false"}]
    run, results = await _run_code(
        engine, client, "EXACT_MATCH", ["attributes.output.value", "attributes.expected"], params
    )

    assert run["num_successes"] == 4
    assert _passing(results) == {4}


async def test_column_mappings_remap_a_code_variable_by_its_path_or_its_role(
    engine: Engine, client: AsyncArizeClient
) -> None:
    run, results = await _run_code(
        engine,
        client,
        "EXACT_MATCH",
        ["attributes.output.value", "reference"],
        column_mappings={"attributes.output.value": "attributes.input.value", "expected": "attributes.input.value"},
    )

    assert run["num_successes"] == 4
    assert _passing(results) == {1, 2, 3, 4}


async def test_a_code_variable_with_no_value_is_a_counted_error_naming_it(
    engine: Engine, client: AsyncArizeClient
) -> None:
    run, results = await _run_code(engine, client, "JSON_PARSEABLE", ["attributes.llm.output_messages"])

    assert (run["status"], run["num_errors"]) == ("FAILED", 4)
    assert "variable 'attributes.llm.output_messages' has no value" in run["failure_reason"]
    assert results == {}


async def test_a_custom_code_evaluator_fails_the_run_saying_custom_code_runs_only_on_arize_ax(
    engine: Engine, client: AsyncArizeClient
) -> None:
    await add_spans(engine, "app", [qa_span(1)])
    code = "class Evaluator:\n    def evaluate(self, *, output):\n        return 1.0\n"
    created = await client.request(
        "POST",
        "/v2/evaluators",
        json_body={
            "space_id": client.space,
            "name": "custom check",
            "type": "CODE",
            "version": {
                "commit_message": "v1",
                "code_config": {"type": "CUSTOM", "name": "custom", "code": code, "variables": ["output"]},
            },
        },
    )
    task = await project_task(
        client, "app", [{"evaluator_id": created["id"]}], task_type="CODE_EVALUATION", name="custom task"
    )

    run = await backfill(client, task)
    await engine.runner.run_until_idle()

    done = await get_run(client, run["id"])
    assert done["status"] == "FAILED"
    assert "custom code runs only on Arize AX" in done["failure_reason"]
    assert (done["num_successes"], done["num_errors"], done["num_skipped"]) == (0, 0, 0)
