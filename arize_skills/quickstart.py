"""``arize-skills quickstart``: the whole evaluation loop on bundled traces, through the MCP tools.

It opens the embedded engine (its task runner in the background), sends the bundled customer-support traces
(``data/quickstart_traces.jsonl.gz``) to its OTLP endpoint, then drives the tools over an in-process MCP client
session exactly as a coding agent would: find failures, build a dataset from spans, label it, run a code-evaluator
task over the project with a backfill, upload two experiments and compare them; with an LLM provider configured it
also creates a judge, previews it, aligns it against the labels and turns on a continuous task. Every name carries
a fresh run suffix, so running it again in the same home adds a new run beside the old ones.

Progress lines go to stderr; the report goes to stdout.
"""

from __future__ import annotations

import gzip
import hashlib
import json
import os
import secrets
import sys
from collections import Counter
from collections.abc import Mapping
from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta
from importlib.resources import files
from pathlib import Path
from typing import Any, NamedTuple, TextIO

import anyio
import httpx2

from .client import AsyncArizeClient
from .engine import Engine
from .settings import Settings

__all__ = [
    "LlmProvider",
    "QuickstartError",
    "llm_provider",
    "load_traces",
    "prepare_traces",
    "run_quickstart",
    "send_traces",
]

DATA_FILE = "quickstart_traces.jsonl.gz"
LIVE_TRACES = 5
LIVE_TIMEOUT = 300.0
FRUSTRATION_KEYWORDS = ["third time", "ridiculous", "already told you", "talk to a human"]
ENABLE_LLM_HINT = (
    "LLM judge steps skipped: no LLM provider configured — set OPENAI_API_KEY or ANTHROPIC_API_KEY "
    "(or ARIZE_SKILLS_LLM_BASE_URL for an OpenAI-compatible server) and run it again."
)


class QuickstartError(Exception):
    """A step of the quickstart failed; the message names the step and what the tool said."""


@dataclass(frozen=True)
class LlmProvider:
    """The LLM provider the judge steps use, read from the environment (keys by variable name only)."""

    provider: str
    model: str
    api_key_env: str | None
    base_url: str | None = None

    def describe(self) -> str:
        """One line naming the provider and model, never a key."""
        where = f" at {self.base_url}" if self.base_url else ""
        return f"{self.provider}{where}, model {self.model}"


def llm_provider(environ: Mapping[str, str] | None = None) -> LlmProvider | None:
    """The provider the environment configures: an OpenAI-compatible base URL, then OpenAI, then Anthropic."""
    env = os.environ if environ is None else environ
    base_url = (env.get("ARIZE_SKILLS_LLM_BASE_URL") or "").strip()
    if base_url:
        key_env = "ARIZE_SKILLS_LLM_API_KEY" if (env.get("ARIZE_SKILLS_LLM_API_KEY") or "").strip() else None
        return LlmProvider("CUSTOM", env.get("ARIZE_SKILLS_LLM_MODEL") or "gpt-4o-mini", key_env, base_url)
    if (env.get("OPENAI_API_KEY") or "").strip():
        return LlmProvider("OPEN_AI", env.get("ARIZE_SKILLS_LLM_MODEL") or "gpt-4o-mini", "OPENAI_API_KEY")
    if (env.get("ANTHROPIC_API_KEY") or "").strip():
        model = env.get("ARIZE_SKILLS_LLM_MODEL") or "claude-3-5-haiku-latest"
        return LlmProvider("ANTHROPIC", model, "ANTHROPIC_API_KEY")
    return None


def load_traces() -> list[dict[str, Any]]:
    """The bundled traces (see ``data/make_quickstart_traces.py`` for their shape)."""
    raw = files("arize_skills.data").joinpath(DATA_FILE).read_bytes()
    return [json.loads(line) for line in gzip.decompress(raw).decode().splitlines() if line]


def _rekey(value: str, suffix: str) -> str:
    """A hex ID of the same length, unique to this run (re-runs in one home never collide)."""
    return hashlib.sha256(f"{suffix}:{value}".encode()).hexdigest()[: len(value)]


def prepare_traces(traces: list[dict[str, Any]], suffix: str, project: str, now: datetime) -> list[dict[str, Any]]:
    """Re-key IDs for this run, name the project, and shift the times so the last span ends a minute ago."""
    ends = [int(s["endTimeUnixNano"]) for t in traces for s in t["body"]["resourceSpans"][0]["scopeSpans"][0]["spans"]]
    target = int((now - timedelta(minutes=1) - datetime(1970, 1, 1, tzinfo=UTC)).total_seconds()) * 10**9
    # The file's times count from BASE_TIME: shifting them makes the newest span end a minute before now.
    shift = target - max(ends)
    prepared = []
    for trace in traces:
        body = json.loads(json.dumps(trace["body"]))
        resource = body["resourceSpans"][0]
        resource["resource"]["attributes"].append(
            {"key": "openinference.project.name", "value": {"stringValue": project}}
        )
        for span in resource["scopeSpans"][0]["spans"]:
            span["traceId"] = _rekey(span["traceId"], suffix)
            span["spanId"] = _rekey(span["spanId"], suffix)
            if "parentSpanId" in span:
                span["parentSpanId"] = _rekey(span["parentSpanId"], suffix)
            for key in ("startTimeUnixNano", "endTimeUnixNano"):
                span[key] = str(int(span[key]) + shift)
            for attribute in span["attributes"]:
                if attribute["key"] == "session.id":
                    attribute["value"] = {"stringValue": f"{attribute['value']['stringValue']}-{suffix}"}
        prepared.append({**trace, "reply_span_id": _rekey(trace["reply_span_id"], suffix), "body": body})
    return prepared


class Progress:
    """Numbered step lines on stderr: ``[3/9] Building a dataset ... done (60 examples)``."""

    def __init__(self, total: int, stream: TextIO) -> None:
        self.total = total
        self.step = 0
        self.stream = stream

    def start(self, what: str) -> None:
        self.step += 1
        self.stream.write(f"[{self.step}/{self.total}] {what} ... ")
        self.stream.flush()

    def done(self, note: str = "done") -> None:
        self.stream.write(f"{note}\n")
        self.stream.flush()

    def line(self, text: str) -> None:
        self.stream.write(f"{text}\n")
        self.stream.flush()


@dataclass
class Report:
    """What the run found, printed at the end."""

    sections: list[tuple[str, list[str]]] = field(default_factory=list)

    def add(self, title: str, *lines: str) -> None:
        self.sections.append((title, list(lines)))

    def render(self) -> str:
        out: list[str] = []
        for title, lines in self.sections:
            out.append(f"\n== {title}")
            out.extend(f"  {line}" for line in lines)
        return "\n".join(out).lstrip("\n") + "\n"


class Tools:
    """Calls MCP tools and returns their structured results, turning a tool error into ``QuickstartError``."""

    def __init__(self, session: Any) -> None:
        self.session = session

    async def __call__(self, tool: str, /, **arguments: Any) -> dict[str, Any]:
        result = await self.session.call_tool(tool, arguments)
        if result.is_error:
            text = " ".join(getattr(block, "text", "") for block in result.content)
            raise QuickstartError(f"{tool} failed: {text}")
        structured: dict[str, Any] = result.structured_content or {}
        return structured

    async def search_all(self, **arguments: Any) -> list[dict[str, Any]]:
        """Every row of a search_spans query, following next_cursor."""
        rows: list[dict[str, Any]] = []
        cursor = None
        while True:
            page = await self("search_spans", limit=100, **arguments, **({"cursor": cursor} if cursor else {}))
            rows.extend(page.get("items") or [])
            cursor = page.get("next_cursor")
            if not page.get("has_more") or not cursor:
                return rows


async def send_traces(engine: Engine, traces: list[dict[str, Any]]) -> int:
    sent = 0
    async with httpx2.AsyncClient(transport=engine.transport(), base_url="http://engine.local") as http:
        for trace in traces:
            response = await http.post("/v1/traces", json=trace["body"])
            if response.status_code != 200:
                raise QuickstartError(f"sending traces failed: HTTP {response.status_code} {response.text[:300]}")
            sent += len(trace["body"]["resourceSpans"][0]["scopeSpans"][0]["spans"])
    return sent


def _pct(part: int, whole: int) -> str:
    return f"{100 * part / whole:.0f}%" if whole else "n/a"


async def run_quickstart(
    home: Path, *, stdout: TextIO = sys.stdout, stderr: TextIO = sys.stderr, environ: Mapping[str, str] | None = None
) -> int:
    """Run the quickstart with the engine state in ``home``; returns the exit code."""
    from mcp import Client

    from .mcp_server import build_server

    env = os.environ if environ is None else environ
    provider = llm_provider(env)
    now = datetime.now(UTC)
    suffix = f"{now:%Y%m%d-%H%M%S}-{secrets.token_hex(2)}"
    project = f"support-agent {suffix}"
    progress = Progress(10 if provider else 6, stderr)
    report = Report()
    traces = prepare_traces(load_traces(), suffix, project, now)
    settings = Settings.resolve(home=home, environ={}, profile_dir=home / "no-ax-profile")

    progress.line(f"arize-skills quickstart: local engine in {home} (run {suffix})")
    failures: list[QuickstartError] = []
    try:
        async with Engine.open(home, runner=True) as engine:
            progress.start(f"Sending {len(traces)} bundled support-agent traces over OTLP")
            spans_sent = await send_traces(engine, traces)
            progress.done(f"{spans_sent} spans")
            server = build_server(settings, engine=engine)
            async with Client(server, mode="legacy", read_timeout_seconds=300) as mcp:
                tools = Tools(mcp)
                await _loop(tools, progress, report, traces, project, suffix, spans_sent)
                if provider is not None:
                    await _judge_loop(tools, progress, report, provider, project, suffix, engine)
    except* QuickstartError as group:
        failures.extend(e for e in group.exceptions if isinstance(e, QuickstartError))
    if failures:
        progress.line("failed")
        for failure in failures:
            stderr.write(f"error: {failure}\n")
        return 1
    if provider is None:
        report.add("LLM judge", ENABLE_LLM_HINT)
    report.add(
        "Next",
        f"Everything above lives in {home}; serve it to your agent with: arize-skills mcp --home {home}",
        "Then ask your agent, e.g. 'find the hallucinated replies in the support-agent project and fix the prompt'.",
    )
    stdout.write(report.render())
    stdout.flush()
    return 0


def _replies_dataset(suffix: str) -> str:
    """The dataset of the agents' final replies: ``_loop`` builds it, ``_judge_loop`` aligns the judge on it."""
    return f"support replies {suffix}"


def _human_labels(suffix: str) -> str:
    """The annotation config the human labels are written under, and that the judge is aligned with."""
    return f"hallucination (human) {suffix}"


async def _loop(
    tools: Tools,
    progress: Progress,
    report: Report,
    traces: list[dict[str, Any]],
    project: str,
    suffix: str,
    spans_sent: int,
) -> None:
    window = {"project": project, "start_time": "-1d"}

    progress.start("Finding failures with search_spans")
    errors = await tools.search_all(**window, filter="status_code = 'ERROR'", fields=["attributes.tool.name"])
    slow = await tools.search_all(**window, filter="span_kind = 'TOOL' AND latency_ms > 5000", fields=["input"])
    progress.done(f"{len(errors)} errors, {len(slow)} slow tool calls")
    error_names = Counter(row.get("name", "?") for row in errors)
    report.add(
        "Traces",
        f"project '{project}': {len(traces)} traces, {spans_sent} spans "
        "(AGENT, CHAIN, LLM, TOOL and RETRIEVER spans of a customer-support agent)",
        f"errored spans: {len(errors)} ({', '.join(f'{n} x{c}' for n, c in sorted(error_names.items()))})",
        f"slow tool calls (> 5 s): {len(slow)}",
    )

    progress.start("Building a dataset from the agents' final replies (create_dataset from spans)")
    dataset_name = _replies_dataset(suffix)
    dataset = await tools(
        "create_dataset",
        name=dataset_name,
        project=project,
        start_time="-1d",
        filter="name = 'compose_reply'",
        columns={
            "input": "attributes.input.value",
            "output": "attributes.output.value",
            "context": "attributes.metadata.context",
        },
        max_spans=1000,
    )
    examples = await _all_examples(tools, dataset_name)
    progress.done(f"{len(examples)} examples")

    progress.start("Adding human labels (create_annotation_config + annotate)")
    truth_by_span = {t["reply_span_id"]: t for t in traces}
    config = _human_labels(suffix)
    await tools(
        "create_annotation_config",
        name=config,
        type="CATEGORICAL",
        labels={"factual": 1, "hallucinated": 0},
        optimization_direction="MAXIMIZE",
    )
    records = {
        ex["id"]: truth_by_span[ex["values"]["span_id"]]["truth"]
        for ex in examples
        if ex["values"].get("span_id") in truth_by_span
    }
    annotated = await tools("annotate", dataset=dataset_name, name=config, records=records)
    labels = Counter(records.values())
    progress.done(f"{len(records)} labelled")
    report.add(
        "Dataset and labels",
        f"dataset '{dataset_name}': {len(examples)} examples from compose_reply spans "
        f"(columns input, output, context, span_id, trace_id; {dataset.get('dataset', {}).get('id', '')})",
        f"human labels '{config}': {labels['factual']} factual, {labels['hallucinated']} hallucinated "
        f"({annotated.get('matched', len(records))} written)",
    )

    progress.start("Code-evaluator task with a backfill (create_code_evaluator, create_task, trigger_backfill)")
    json_eval = f"tool output is JSON {suffix}"
    frustration_eval = f"user frustration keywords {suffix}"
    json_made = await tools(
        "create_code_evaluator",
        name=json_eval,
        evaluator="JSON_PARSEABLE",
        variables=["attributes.output.value"],
    )
    frustration_made = await tools(
        "create_code_evaluator",
        name=frustration_eval,
        evaluator="CONTAINS_ANY_KEYWORD",
        variables=["attributes.input.value"],
        params={"keywords": FRUSTRATION_KEYWORDS},
    )
    task_name = f"code checks {suffix}"
    await tools(
        "create_task",
        name=task_name,
        project=project,
        evaluators=[
            {"evaluator": json_eval, "query_filter": "span_kind = 'TOOL'"},
            {"evaluator": frustration_eval, "query_filter": "span_kind = 'AGENT'"},
        ],
    )
    backfill = await tools("trigger_backfill", task=task_name, start_time="-1d", wait_seconds=240)
    run = backfill.get("run") or {}
    if not backfill.get("finished"):
        raise QuickstartError(f"the backfill did not finish in time (run {run.get('id')}, status {run.get('status')})")
    json_column = _eval_column(json_made, json_eval)
    frustration_column = _eval_column(frustration_made, frustration_eval)
    bad_json = await tools.search_all(**window, filter=f"eval.{json_column}.label = 'false'", fields=["output"])
    frustrated = await tools.search_all(
        **window, filter=f"eval.{frustration_column}.label = 'true'", fields=["attributes.session.id"]
    )
    sessions = {_session_of(row) for row in frustrated}
    progress.done(f"run {run.get('status', '?').lower()}")
    report.add(
        "Code evaluators (backfilled)",
        f"task '{task_name}': {run.get('num_successes', 0)} spans scored, {run.get('num_errors', 0)} errors",
        f"tool outputs that are not JSON: {len(bad_json)} of the TOOL spans",
        f"user messages with frustration keywords: {len(frustrated)} (in {len(sessions)} sessions)",
    )

    progress.start("Uploading a baseline and a candidate experiment, then comparing them")
    rows_by_span = {ex["values"].get("span_id"): ex for ex in examples}
    baseline_rows, candidate_rows = [], []
    for trace in traces:
        example = rows_by_span.get(trace["reply_span_id"])
        if example is None:
            continue
        baseline_rows.append(_run_row(example["id"], example["values"].get("output", ""), trace["truth"]))
        candidate_rows.append(_run_row(example["id"], trace["candidate_output"], trace["candidate_truth"]))
    baseline, candidate = f"production prompt {suffix}", f"grounded prompt {suffix}"
    await tools("upload_experiment", name=baseline, dataset=dataset_name, runs=baseline_rows)
    await tools("upload_experiment", name=candidate, dataset=dataset_name, runs=candidate_rows)
    compared = await tools("compare_experiments", experiments=[baseline, candidate])
    progress.done()
    report.add("Experiments", *_comparison_lines(compared, baseline_rows, candidate_rows, baseline, candidate))


def _session_of(row: Mapping[str, Any]) -> str:
    attributes = row.get("attributes") or {}
    session = attributes.get("attributes.session.id") or attributes.get("session.id")
    return str(session or row.get("trace_id"))


def _eval_column(made: Mapping[str, Any], name: str) -> str:
    column = made.get("eval_column")
    if isinstance(column, str) and column:
        return column if column.replace("_", "").isalnum() else f'"{column}"'
    return f'"{name}"'


def _run_row(example_id: str, output: str, truth: str) -> dict[str, Any]:
    return {
        "example_id": example_id,
        "output": output,
        "eval.hallucination.label": truth,
        "eval.hallucination.score": 1.0 if truth == "factual" else 0.0,
    }


def _comparison_lines(
    compared: Mapping[str, Any],
    baseline_rows: list[dict[str, Any]],
    candidate_rows: list[dict[str, Any]],
    baseline: str,
    candidate: str,
) -> list[str]:
    def factual(rows: list[dict[str, Any]]) -> int:
        return sum(1 for row in rows if row["eval.hallucination.label"] == "factual")

    lines = [
        f"'{baseline}': {factual(baseline_rows)}/{len(baseline_rows)} factual "
        f"({_pct(factual(baseline_rows), len(baseline_rows))})",
        f"'{candidate}': {factual(candidate_rows)}/{len(candidate_rows)} factual "
        f"({_pct(factual(candidate_rows), len(candidate_rows))})",
    ]
    pairs = [
        (b["eval.hallucination.score"], c["eval.hallucination.score"])
        for b, c in zip(baseline_rows, candidate_rows, strict=True)
    ]
    wins = sum(1 for b, c in pairs if c > b)
    losses = sum(1 for b, c in pairs if c < b)
    lines.append(f"candidate vs baseline: {wins} better, {losses} worse, {len(pairs) - wins - losses} unchanged")
    for versus in compared.get("versus_baseline") or compared.get("comparisons") or []:
        if isinstance(versus, Mapping) and {"wins", "losses"} <= set(versus):
            lines.append(f"compare_experiments agrees: wins {versus['wins']}, losses {versus['losses']}")
            break
    return lines


async def _all_examples(tools: Tools, dataset: str) -> list[dict[str, Any]]:
    examples: list[dict[str, Any]] = []
    cursor = None
    while True:
        page = await tools(
            "get_dataset_examples",
            dataset=dataset,
            **({"cursor": cursor} if cursor else {}),
        )
        for row in page.get("items") or []:
            examples.append({"id": row["id"], "values": row.get("values") or row})
        cursor = page.get("next_cursor")
        if not page.get("has_more") or not cursor:
            return examples


async def _judge_loop(
    tools: Tools, progress: Progress, report: Report, provider: LlmProvider, project: str, suffix: str, engine: Engine
) -> None:
    progress.start(f"Creating an LLM judge ({provider.describe()})")
    integration = f"quickstart {provider.provider.lower()} {suffix}"
    await tools(
        "create_ai_integration",
        name=integration,
        provider=provider.provider,
        model_names=[provider.model],
        **({"api_key_env": provider.api_key_env} if provider.api_key_env else {}),
        **({"base_url": provider.base_url} if provider.base_url else {}),
    )
    judge = f"hallucination judge {suffix}"
    await tools("create_judge", name=judge, ai_integration=integration, prompt="hallucination")
    mappings = {
        "input": "attributes.input.value",
        "output": "attributes.output.value",
        "context": "attributes.metadata.context",
    }
    preview = await tools(
        "preview_judge",
        judge=judge,
        source=project,
        filter="name = 'compose_reply'",
        column_mappings=mappings,
        n=3,
    )
    previewed = preview.get("records") or preview.get("items") or []
    preview_labels = Counter(str(r.get("label")) for r in previewed if isinstance(r, Mapping))
    progress.done(f"previewed {len(previewed)} spans")

    progress.start("Aligning the judge with the human labels (align_judge)")
    dataset_name = _replies_dataset(suffix)
    aligned = await tools(
        "align_judge",
        judge=judge,
        dataset=dataset_name,
        human_labels=_human_labels(suffix),
        column_mappings={"input": "input", "output": "output", "context": "context"},
        timeout_seconds=300,
    )
    progress.done()

    progress.start("Turning on continuous scoring (create_task is_continuous=true)")
    task = f"hallucination (continuous) {suffix}"
    made = await tools(
        "create_task",
        name=task,
        project=project,
        is_continuous=True,
        query_filter="name = 'compose_reply'",
        evaluators=[{"evaluator": judge, "column_mappings": mappings}],
    )
    progress.done()

    progress.start("Sending new traffic and letting the continuous task score it")
    fresh = prepare_traces(load_traces()[:LIVE_TRACES], f"{suffix}-live", project, datetime.now(UTC))
    await send_traces(engine, fresh)
    live = await _score_new_traffic(engine, made["task"]["id"])
    progress.done(f"{live.scored} new spans scored")
    report.add(
        "LLM judge",
        f"judge '{judge}' from the built-in hallucination template on {provider.describe()}",
        f"preview on {len(previewed)} real spans: "
        + (", ".join(f"{label} x{count}" for label, count in sorted(preview_labels.items())) or "no labels"),
        _alignment_line(aligned),
        f"continuous task '{task}' scores every new compose_reply span: {len(fresh)} new traces arrived, "
        f"{live.scored} spans scored ({live.status})" + (f" in {live.runs} runs" if live.runs > 1 else ""),
    )


class LiveScore(NamedTuple):
    """What a continuous task scored of the traffic sent to it."""

    scored: int
    status: str
    runs: int


async def _score_new_traffic(engine: Engine, task_id: str) -> LiveScore:
    """Let the continuous task ``task_id`` score every span it received, then count what its runs scored.

    The runner's own ticks may have split the traffic over several runs (a tick can fall in the middle of the
    send), so this settles the task and counts them all: every run of a task made just before the traffic was sent.
    """
    try:
        with anyio.fail_after(LIVE_TIMEOUT):
            await engine.runner.settle_continuous(task_id)
    except TimeoutError as exc:
        raise QuickstartError(
            f"the continuous task's runs did not finish within {LIVE_TIMEOUT:.0f} s; see get_task_runs"
        ) from exc
    async with AsyncArizeClient(transport=engine.transport()) as client:
        runs = [run async for run in client.tasks.list_runs(task_id)]
    if not runs:
        raise QuickstartError("the continuous task made no run for the new traces")
    status = ", ".join(sorted({run.status.upper() for run in runs}))
    return LiveScore(sum(run.num_successes or 0 for run in runs), status, len(runs))


def _alignment_line(aligned: Mapping[str, Any]) -> str:
    agreement = aligned.get("agreement")
    if isinstance(agreement, Mapping):
        parts = [
            f"{k} {v:.2f}" if isinstance(v, float) else f"{k} {v}"
            for k, v in agreement.items()
            if isinstance(v, int | float) and not isinstance(v, bool)
        ]
        return "alignment with the human labels: " + ", ".join(parts)
    keys = ("accuracy", "agreement_rate", "cohen_kappa", "compared", "agreed")
    parts = [f"{k} {aligned[k]}" for k in keys if k in aligned]
    return "alignment with the human labels: " + (", ".join(parts) or json.dumps(aligned)[:200])
