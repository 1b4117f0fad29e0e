"""Nine plain-language requests, replayed as the tool calls an agent makes, with what each costs in context.

    python benchmarks/agent_workflows.py [--json]

Each workflow runs against the embedded engine (a throw-away home, its task runner in the background) holding the
bundled quickstart traces, through the MCP server over an in-process MCP session, with a stub OpenAI-compatible
judge on 127.0.0.1. For each request it prints the number of tool calls, the characters of result text the model
reads (total and the largest single result) and the budget of one result (``MAX_RESULT_CHARS``): a largest result
over it fails the run. ``tests/test_agent_workflows.py`` replays the same workflows in the test suite.
"""

from __future__ import annotations

import argparse
import asyncio
import hashlib
import json
import os
import sys
import tempfile
from collections.abc import Awaitable, Callable
from dataclasses import dataclass, field
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

ROOT = Path(__file__).resolve().parents[1]
if str(ROOT) not in sys.path:
    sys.path.insert(0, str(ROOT))

from mcp import Client  # noqa: E402

from arize_skills.engine import Engine  # noqa: E402
from arize_skills.mcp_server import build_server  # noqa: E402
from arize_skills.mcp_server.surface import MAX_RESULT_CHARS  # noqa: E402
from arize_skills.quickstart import load_traces, prepare_traces, send_traces  # noqa: E402
from arize_skills.settings import Settings  # noqa: E402
from tests.stubs.llm_server import RecordedRequest, Reply, Text, ToolUse, serve_stub  # noqa: E402

KEY_ENV = "ARIZE_SKILLS_BENCH_LLM_KEY"
KEY = "sk-bench-stub-key-0c1d2e"
PROJECT = "support-agent"


def _judgement(request: RecordedRequest) -> Reply:
    """The stub judge: a label that depends only on the prompt, so runs are repeatable."""
    prompt = json.dumps(request.body.get("messages", []))
    label = "hallucinated" if hashlib.sha256(prompt.encode()).digest()[0] % 3 == 0 else "factual"
    if request.tools():
        return ToolUse(request.tools()[0][0], {"explanation": f"judged {label}", "label": label})
    return Text(f"EXPLANATION: judged {label}\nLABEL: {label}")


@dataclass
class Call:
    tool: str
    chars: int
    is_error: bool


@dataclass
class Agent:
    """Calls tools as an agent would, keeping what each result cost in characters of text."""

    mcp: Client
    calls: list[Call] = field(default_factory=list)

    async def __call__(self, tool: str, /, **arguments: Any) -> dict[str, Any]:
        result = await self.mcp.call_tool(tool, arguments)
        text = "".join(getattr(block, "text", "") for block in result.content)
        self.calls.append(Call(tool, len(text), bool(result.is_error)))
        if result.is_error:
            raise RuntimeError(f"{tool}({arguments}) failed: {text}")
        return result.structured_content or {}


@dataclass
class Outcome:
    request: str
    calls: list[Call]

    @property
    def total(self) -> int:
        return sum(c.chars for c in self.calls)

    @property
    def largest(self) -> Call:
        return max(self.calls, key=lambda c: c.chars)


Workflow = Callable[[Agent, Engine], Awaitable[None]]


async def find_failures(agent: Agent, engine: Engine) -> None:
    errors = await agent("search_spans", project=PROJECT, start_time="-1d", filter="status_code = 'ERROR'")
    await agent("get_trace", project=PROJECT, trace_id=errors["items"][0]["trace_id"])


async def judge_them(agent: Agent, engine: Engine) -> None:
    await agent("find", kind="ai_integration")
    await agent(
        "create_ai_integration",
        name="stub llm",
        provider="openai",
        base_url=os.environ["ARIZE_SKILLS_BENCH_LLM_URL"],
        model_names=["stub-model"],
        api_key_env=KEY_ENV,
    )
    await agent("find", kind="judge_template", name="hallucination")
    await agent("create_judge", name="hallucination", ai_integration="stub llm", prompt="hallucination")
    await agent(
        "preview_judge",
        judge="hallucination",
        source=PROJECT,
        filter="name = 'compose_reply'",
        column_mappings=MAPPINGS,
        n=5,
    )


MAPPINGS = {
    "input": "attributes.input.value",
    "output": "attributes.output.value",
    "context": "attributes.metadata.context",
}


async def backfill(agent: Agent, engine: Engine) -> None:
    await agent(
        "create_task",
        name="hallucination on replies",
        project=PROJECT,
        query_filter="name = 'compose_reply'",
        evaluators=[{"evaluator": "hallucination", "column_mappings": MAPPINGS}],
    )
    await agent("trigger_backfill", task="hallucination on replies", start_time="-1d", wait_seconds=120)


async def continuous(agent: Agent, engine: Engine) -> None:
    await agent("update_task", task="hallucination on replies", is_continuous=True)
    await send_traces(engine, prepare_traces(load_traces()[:5], "live", PROJECT, datetime.now(UTC)))
    await engine.runner.tick_continuous()
    await engine.runner.run_until_idle()
    await agent("get_task_runs", task="hallucination on replies")


async def dataset_from_spans(agent: Agent, engine: Engine) -> None:
    await agent(
        "create_dataset",
        name="support replies",
        project=PROJECT,
        start_time="-1d",
        filter="name = 'compose_reply'",
        columns={
            "input": "attributes.input.value",
            "output": "attributes.output.value",
            "context": "attributes.metadata.context",
        },
    )
    await agent("get_dataset_examples", dataset="support replies")


async def upload_experiments(agent: Agent, engine: Engine) -> None:
    examples = await _all_examples(agent, "support replies")
    for name, flip in (("baseline", 0), ("candidate", 1)):
        rows = [
            {
                "example_id": example["id"],
                "output": f"{name} answer {n}",
                "eval.correctness.label": "correct" if (n + flip) % 3 else "incorrect",
            }
            for n, example in enumerate(examples)
        ]
        await agent("upload_experiment", name=name, dataset="support replies", runs=rows)


async def run_an_experiment(agent: Agent, engine: Engine) -> None:
    started = await agent(
        "run_experiment",
        dataset="support replies",
        experiment_name="stub model",
        ai_integration="stub llm",
        prompt="Answer the customer: {input}",
        max_examples=20,
    )
    await agent("get_task_runs", run_id=started["run_id"], wait_seconds=120)
    await agent("get_experiment", experiment="stub model")


async def compare(agent: Agent, engine: Engine) -> None:
    await agent("compare_experiments", experiments=["baseline", "candidate"])


async def align(agent: Agent, engine: Engine) -> None:
    await agent(
        "create_annotation_config",
        name="hallucination (human)",
        type="CATEGORICAL",
        labels={"factual": 1, "hallucinated": 0},
    )
    examples = await _all_examples(agent, "support replies")
    records = {e["id"]: "factual" if n % 4 else "hallucinated" for n, e in enumerate(examples)}
    await agent("annotate", dataset="support replies", name="hallucination (human)", records=records)
    await agent(
        "align_judge",
        judge="hallucination",
        dataset="support replies",
        human_labels="hallucination (human)",
        column_mappings={"input": "input", "output": "output", "context": "context"},
        timeout_seconds=120,
    )


async def _all_examples(agent: Agent, dataset: str) -> list[dict[str, Any]]:
    rows: list[dict[str, Any]] = []
    cursor: str | None = None
    while True:
        page = await agent("get_dataset_examples", dataset=dataset, **({"cursor": cursor} if cursor else {}))
        rows.extend(page.get("items") or [])
        cursor = page.get("next_cursor")
        if not page.get("has_more") or not cursor:
            return rows


WORKFLOWS: list[tuple[str, Workflow]] = [
    ("find the failures in my agent's traces", find_failures),
    ("judge the replies for hallucination", judge_them),
    ("backfill that judge over the last day", backfill),
    ("score new traffic continuously", continuous),
    ("make a dataset of the replies", dataset_from_spans),
    ("upload my two experiments' results", upload_experiments),
    ("run a prompt over the dataset", run_an_experiment),
    ("compare the two experiments", compare),
    ("check the judge against my labels", align),
]


async def run_workflows(home: Path) -> list[Outcome]:
    """Replay every workflow in order on a fresh engine in ``home``; what each cost."""
    outcomes: list[Outcome] = []
    with serve_stub(responder=_judgement, expected_key=KEY) as stub:
        os.environ[KEY_ENV] = KEY
        os.environ["ARIZE_SKILLS_BENCH_LLM_URL"] = stub.openai_url
        try:
            settings = Settings.resolve(home=home, environ={}, profile_dir=home / "no-ax-profile")
            async with Engine.open(home, runner=True) as engine:
                now = datetime.now(UTC)
                await send_traces(engine, prepare_traces(load_traces(), "bench", PROJECT, now))
                server = build_server(settings, engine=engine)
                async with Client(server, mode="legacy", read_timeout_seconds=300) as mcp:
                    for request, workflow in WORKFLOWS:
                        agent = Agent(mcp)
                        await workflow(agent, engine)
                        outcomes.append(Outcome(request, agent.calls))
        finally:
            os.environ.pop(KEY_ENV, None)
            os.environ.pop("ARIZE_SKILLS_BENCH_LLM_URL", None)
    return outcomes


def table(outcomes: list[Outcome]) -> str:
    """The outcomes as a Markdown table (the README shows it)."""
    rows = ["| Request | Tool calls | Result chars (total) | Largest result |", "|---|---:|---:|---|"]
    for o in outcomes:
        rows.append(f"| {o.request} | {len(o.calls)} | {o.total:,} | {o.largest.chars:,} ({o.largest.tool}) |")
    calls = sum(len(o.calls) for o in outcomes)
    rows.append(f"| **all nine** | {calls} | {sum(o.total for o in outcomes):,} | |")
    return "\n".join(rows)


async def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--json", action="store_true", help="print the outcomes as JSON instead of a table")
    args = parser.parse_args()
    with tempfile.TemporaryDirectory() as home:
        outcomes = await run_workflows(Path(home))
    if args.json:
        print(json.dumps([{"request": o.request, "calls": [c.__dict__ for c in o.calls]} for o in outcomes]))
    else:
        print(table(outcomes))
    largest = max((o.largest for o in outcomes), key=lambda c: c.chars)
    print(
        f"largest result {largest.chars:,} chars ({largest.tool}); budget {MAX_RESULT_CHARS:,}; "
        f"ratio {largest.chars / MAX_RESULT_CHARS:.2f}"
    )
    return 0 if largest.chars <= MAX_RESULT_CHARS else 1


if __name__ == "__main__":
    raise SystemExit(asyncio.run(main()))
