"""``preview_judge``: a judge run on a few real spans or dataset examples, with nothing written anywhere.

The judge's model is called from this server's process, the way the task runner would call it: the prompt is
filled through the column mapping, sent with the judge's settings, and the answer parsed into a label. The key
comes from one of three places, and never appears in a result:

* ``api_key_env``: the name of an environment variable of this process holding the provider key (on any backend);
* the embedded local engine: the key the engine stores for the AI integration, read in-process;
* an integration that stores no key (a local model server): no key at all.

On Arize AX (or a local engine over HTTP) with a stored key and no ``api_key_env``, the key cannot leave the
server, so the tool says how to go on instead.
"""

from __future__ import annotations

import os
import re
import sqlite3
from collections import Counter
from collections.abc import Callable, Mapping
from dataclasses import dataclass
from typing import Annotated, Any, Literal

import anyio
from mcp.server.mcpserver.exceptions import ToolError
from pydantic import BaseModel, Field

from ...engine.integrations import HEADER_MASK, integration_secret, require_integration
from ...errors import JudgeParseError, ProviderError
from ...evals.judge import JudgeSpec, judge_request, parse_judgement, render_template, template_variables
from ...evals.mapping import MISSING, SpanView, as_text, record_value, span_value
from ...evals.providers import LlmClient, ProviderConfig, protocol_of
from ...models.ai_integrations import AiIntegration
from ...models.evaluators import InvocationParamsRequest, TemplateConfig
from ...models.spans import Span
from ..budget import cut
from ..errors import redact, tool_errors
from ..state import AppState, app_state
from ..types import (
    DatasetRef,
    EndTime,
    EvaluatorRef,
    ProjectRef,
    Ref,
    SpaceArg,
    StartTime,
    ToolContext,
    ToolResult,
    parse_time,
)
from ._judge_common import ColumnMappingsArg, VersionIdArg, request_fields, template_judge

__all__ = ["JudgePreview", "MissingValue", "PreviewRecord", "preview_judge"]

MAX_RECORDS = 20
VALUE_CHARS = 300
EXPLANATION_CHARS = 600
PATHS_SHOWN = 40
CONCURRENCY = 4
CALL_TIMEOUT = 60.0
_ENV_NAME = re.compile(r"^[A-Za-z_][A-Za-z0-9_]{0,127}$")


class MissingValue(BaseModel):
    """A template variable that has no value on a record."""

    variable: str = Field(description="The template variable.")
    path: str = Field(description="The path or column it was read from.")
    why: str = Field(description="Why it has no value, and how to fix the mapping.")


class PreviewRecord(BaseModel):
    """One record judged (or not): its filled variables and the judge's verdict."""

    record_id: str = Field(description="The span ID, or the dataset example ID.")
    values: dict[str, str] = Field(description="Each variable's value as the prompt gets it (long values cut).")
    missing: list[MissingValue] = Field(description="Variables with no value here; the judge was not called then.")
    label: str | None = Field(description="The judge's label.")
    score: float | None = Field(description="The label's score.")
    explanation: str | None = Field(description="The judge's explanation (when explanations are on; cut if long).")
    error: str | None = Field(description="Why there is no label: the model call or its answer failed.")


class VariableSource(BaseModel):
    """Where one template variable is read from."""

    variable: str = Field(description="The template variable.")
    path: str = Field(description="The path or column it is read from.")
    mapped: bool = Field(description="False when column_mappings has no entry and the variable's own name is used.")


class JudgePreview(ToolResult):
    """What the judge said on a few real records, and every variable that found no value."""

    judge: Ref = Field(description="The judge, by name and ID.")
    version_id: str = Field(description="The judge version previewed.")
    source: Literal["project", "dataset"] = Field(description="Where the records came from.")
    records_from: Ref = Field(description="The project or dataset, by name and ID.")
    ai_integration: Ref = Field(description="The AI integration whose model was called.")
    model: str = Field(description="The model called.")
    key_source: str = Field(description="Where the provider key came from (never the key itself).")
    variables: list[VariableSource] = Field(description="Each template variable and the path it is read from.")
    unknown_mappings: list[str] = Field(description="column_mappings keys that are not variables of the prompt.")
    records: list[PreviewRecord] = Field(description="The records, newest span or first example first.")
    label_counts: dict[str, int] = Field(description="How many records got each label.")
    problems: list[str] = Field(description="What would make the judge fail or mislead on a task, and the fix.")
    paths_seen: list[str] = Field(description="Paths or columns the records do have, to fix a mapping with.")
    written: bool = Field(description="Always false: a preview stores no result anywhere.")
    next_step: str = Field(description="What to do next.")


@dataclass
class _Record:
    record_id: str
    lookup: Callable[[str], Any]
    paths: list[str]


def _span_record(span: Span) -> _Record:
    view = SpanView(
        span_id=span.context.span_id,
        trace_id=span.context.trace_id,
        parent_id=span.parent_id,
        name=span.name,
        kind=span.kind,
        status_code=span.status_code,
        status_message=span.status_message,
        start_time=span.start_time.isoformat(),
        end_time=span.end_time.isoformat() if span.end_time is not None else "",
        latency_ms=span.latency_ms or 0.0,
        attributes=span.attributes,
    )
    return _Record(
        view.span_id,
        lambda path: span_value(view, path),
        ["attributes." + key for key in span.attributes],
    )


def _example_record(example_id: str, fields: Mapping[str, Any]) -> _Record:
    columns = {"id": example_id, "example_id": example_id, **fields}
    return _Record(example_id, lambda path: record_value(columns, path), list(fields))


async def _provider(
    state: AppState, integration: AiIntegration, config: TemplateConfig, api_key_env: str | None
) -> tuple[ProviderConfig, list[str], str]:
    """How to call the judge's provider from here: the config, the secrets to keep out of messages, and where
    the key came from."""
    llm = config.llm_config
    provider_parameters = {k: v for k, v in ((llm.provider_parameters if llm else None) or {}).items() if v is not None}
    try:
        protocol_of(integration.provider)
    except ProviderError as exc:
        raise ToolError(
            f"{exc.message} — this server cannot call it for a preview; run the judge server-side instead: "
            "align_judge on a labelled dataset, or create_task + trigger_backfill with a small max_spans"
        ) from None
    headers = {k: v for k, v in (integration.headers or {}).items() if v != HEADER_MASK}
    masked = [k for k, v in (integration.headers or {}).items() if v == HEADER_MASK]
    key: str | None
    if api_key_env is not None:
        key = os.environ.get(api_key_env) or None
        if key is None:
            raise ToolError(
                f"api_key_env: the environment variable {api_key_env} is not set (or is empty) in the MCP server's "
                "environment; ask the user to set it where the server runs and restart it, or pass the name of "
                "another variable"
            )
        source = f"the environment variable {api_key_env} of the MCP server"
    elif state.engine is not None:
        engine = state.engine

        def read(conn: sqlite3.Connection) -> tuple[str | None, dict[str, str]]:
            stored = require_integration(conn, integration.id)
            return integration_secret(conn, stored.num), dict(stored.body.get("headers") or {})

        key, headers = await engine.store.read(read)
        source = (
            "the key the local engine stores for the AI integration"
            if key
            else "no key: the AI integration stores none"
        )
    elif not integration.has_api_key and not masked:
        key, source = None, "no key: the AI integration stores none"
    else:
        where = "Arize AX" if state.backend.kind == "ax" else "the local engine this server reaches over HTTP"
        raise ToolError(
            f"api_key_env: AI integration '{integration.name}' keeps its credentials on {where}, which never "
            "returns them, so this server cannot call the model for a preview. Either pass api_key_env=<NAME of an "
            "environment variable of the MCP server holding the provider key> (read here, never shown), or judge "
            "server-side: align_judge on a labelled dataset, or create_task + trigger_backfill with a small "
            "max_spans"
        )
    provider = ProviderConfig(
        provider=integration.provider,
        api_key=key,
        base_url=integration.base_url,
        headers=headers,
        provider_parameters=provider_parameters,
        function_calling_enabled=integration.function_calling_enabled,
    )
    secrets = [key] if key else []
    secrets += [v for k, v in headers.items() if re.search(r"auth|token|secret|key|cookie|password", k, re.I)]
    return provider, secrets, source


def _spec(name: str, config: TemplateConfig) -> JudgeSpec:
    llm = config.llm_config
    choices = config.classification_choices or {}
    return JudgeSpec(
        name=config.name or name,
        template=config.template or "",
        choices={str(k): float(v) for k, v in choices.items()} or None,
        include_explanations=bool(config.include_explanations),
        use_function_calling=bool(config.use_function_calling),
        model_name=(llm.model_name if llm else None) or "",
        invocation_parameters=request_fields(llm.invocation_parameters if llm else None, InvocationParamsRequest),
    )


def _why_missing(noun: str, variable: str, path: str, mapped: bool) -> str:
    if mapped:
        return f"column_mappings maps '{variable}' to '{path}', which this {noun} has no value at"
    return (
        f"column_mappings has no entry for '{variable}', so it was read from the path '{variable}', which this "
        f"{noun} does not have; add {{'{variable}': '<path>'}} to column_mappings"
    )


async def _judge(
    client: LlmClient, spec: JudgeSpec, prompt: str, secrets: list[str]
) -> tuple[str | None, float | None, str | None, str | None]:
    function_calling = spec.use_function_calling and client.supports_function_calling
    try:
        result = await client.complete(judge_request(spec, prompt, function_calling=function_calling))
        verdict = parse_judgement(spec, result)
    except ProviderError as exc:
        return None, None, None, redact(f"the model call failed ({exc.kind}): {exc.message}", secrets)
    except JudgeParseError as exc:
        return None, None, None, redact(str(exc), secrets)
    explanation = cut(verdict.explanation, EXPLANATION_CHARS) if verdict.explanation else None
    return verdict.label, verdict.score, explanation, None


@tool_errors
async def preview_judge(
    ctx: ToolContext,
    judge: EvaluatorRef,
    project: Annotated[
        ProjectRef | None, Field(description="Judge recent spans of this project (name or ID); or give dataset.")
    ] = None,
    dataset: Annotated[
        DatasetRef | None, Field(description="Judge the first examples of this dataset (name or ID); or give project.")
    ] = None,
    column_mappings: ColumnMappingsArg = None,
    n: Annotated[int, Field(ge=1, le=MAX_RECORDS, description=f"How many records to judge (1-{MAX_RECORDS}).")] = 5,
    start_time: StartTime = None,
    end_time: EndTime = None,
    filter: Annotated[
        str | None,
        Field(
            min_length=1,
            max_length=2000,
            description="Only records matching this filter: a span filter (\"span_kind = 'LLM'\") for a project, "
            "an example filter (\"topic = 'billing'\") for a dataset.",
        ),
    ] = None,
    api_key_env: Annotated[
        str | None,
        Field(
            min_length=1,
            max_length=256,
            description="The NAME of an environment variable of the MCP server that holds the provider key "
            "(OPENAI_API_KEY), never the key. Needed on Arize AX, where the AI integration's key cannot be read; "
            "the embedded local engine uses its stored key without it.",
        ),
    ] = None,
    version_id: VersionIdArg = None,
    space: SpaceArg = None,
) -> JudgePreview:
    """Run a judge on a few (1-20) real spans of a project (time window start_time..end_time, default the last 7
    days, plus filter) or the first examples of a dataset, WITHOUT writing any result. For each record it shows
    the filled variables, the label, score and explanation, and names every variable that found no value and the
    mapping that failed — the check that catches template variables without a mapping before a task or backfill
    runs on thousands of spans. Use it after create_judge or update_judge and before create_task; then fix
    column_mappings or the prompt and preview again."""
    state = app_state(ctx)
    client = state.client
    if (project is None) == (dataset is None):
        raise ToolError("project / dataset: give exactly one — project to judge spans, dataset to judge examples")
    if api_key_env is not None and not _ENV_NAME.match(api_key_env):
        raise ToolError(
            "api_key_env: give the NAME of an environment variable of the MCP server (like OPENAI_API_KEY), never a "
            "key itself"
        )
    found, config = await template_judge(state, judge, version_id, space)
    assert found.version is not None
    spec = _spec(found.name, config)
    variables = template_variables(spec.template)
    mappings = dict(column_mappings or {})
    sources = [VariableSource(variable=v, path=mappings.get(v, v), mapped=v in mappings) for v in variables]
    unknown = [key for key in mappings if key not in variables]
    llm = config.llm_config
    if llm is None or not llm.ai_integration_id:
        raise ToolError(f"judge: '{found.name}' names no AI integration; set one with update_judge(ai_integration=...)")
    integration = await client.ai_integrations.get(llm.ai_integration_id, space=space)
    provider, secrets, key_source = await _provider(state, integration, config, api_key_env)
    secrets += list(state.secrets)

    records: list[_Record]
    noun: str
    if project is not None:
        if start_time is None and end_time is not None:
            raise ToolError("start_time: give the start of the window too, or omit both for the last 7 days")
        now = state.clock()
        start = parse_time(start_time or "-7d", "start_time", now=now)
        end = parse_time(end_time, "end_time", now=now) if end_time is not None else now
        if start >= end:
            raise ToolError("start_time: the window's start must come before its end")
        proj = await client.projects.get(project, space=space)
        page = await client.spans.list(proj.id, start_time=start, end_time=end, filter=filter, limit=n)
        records = [_span_record(span) for span in page.items[:n]]
        origin = Ref(id=proj.id, name=proj.name)
        noun = "span"
        empty = (
            f"no span of project '{proj.name}' between {start.isoformat()} and {end.isoformat()}"
            + (f" matches the filter {filter!r}" if filter else "")
            + "; widen the window (start_time='-30d') or loosen the filter — a task with these settings would "
            "judge nothing"
        )
    else:
        assert dataset is not None
        if start_time is not None or end_time is not None:
            raise ToolError("start_time / end_time: a time window applies to project spans, not to dataset examples")
        found_dataset = await client.datasets.get(dataset, space=space)
        lister = (
            client.datasets.search_examples(found_dataset.id, filter=filter, limit=n)
            if filter
            else client.datasets.list_examples(found_dataset.id, limit=n)
        )
        examples = (await lister).items[:n]
        records = [_example_record(example.id, example.fields) for example in examples]
        origin = Ref(id=found_dataset.id, name=found_dataset.name)
        noun = "example"
        empty = f"dataset '{found_dataset.name}' has no examples" + (f" matching {filter!r}" if filter else "")

    results: list[PreviewRecord | None] = [None] * len(records)
    missing_count: Counter[str] = Counter()
    missing_why: dict[str, str] = {}

    async with LlmClient(provider, concurrency=CONCURRENCY, timeout=CALL_TIMEOUT, max_retries=2) as llm_client:

        async def judge_one(index: int, record: _Record) -> None:
            values: dict[str, str] = {}
            shown: dict[str, str] = {}
            missing: list[MissingValue] = []
            for source in sources:
                value = record.lookup(source.path)
                if value is MISSING:
                    why = _why_missing(noun, source.variable, source.path, source.mapped)
                    missing.append(MissingValue(variable=source.variable, path=source.path, why=why))
                    missing_count[source.variable] += 1
                    missing_why[source.variable] = why
                    continue
                values[source.variable] = as_text(value)
                shown[source.variable] = cut(values[source.variable], VALUE_CHARS)
            label = score = explanation = error = None
            if not missing:
                prompt = render_template(spec.template, values)
                label, score, explanation, error = await _judge(llm_client, spec, prompt, secrets)
            results[index] = PreviewRecord(
                record_id=record.record_id,
                values=shown,
                missing=missing,
                label=label,
                score=score,
                explanation=explanation,
                error=error,
            )

        async with anyio.create_task_group() as group:
            for index, record in enumerate(records):
                group.start_soon(judge_one, index, record)

    judged = [r for r in results if r is not None]
    problems: list[str] = []
    if not records:
        problems.append(empty)
    for variable, count in missing_count.items():
        problems.append(
            f"variable '{variable}' has no value on {count} of {len(records)} {noun}s: {missing_why[variable]}"
        )
    for key in unknown:
        problems.append(
            f"column_mappings has '{key}', which is not a variable of the prompt (its variables: "
            f"{', '.join(variables) or 'none'}); remove it or fix the spelling"
        )
    errors = Counter(r.error for r in judged if r.error)
    for message, count in errors.items():
        problems.append(f"{count} of {len(records)} {noun}s got no label: {message}")
    paths = sorted({path for record in records for path in record.paths})
    next_step = (
        "fix the problems above and preview again"
        if problems
        else "the mapping works: attach the judge with create_task using these column_mappings"
        if noun == "span"
        else "the mapping works: measure the judge against human labels with align_judge, or run it with create_task"
    )
    return JudgePreview(
        judge=Ref(id=found.id, name=found.name),
        version_id=found.version.id,
        source="project" if noun == "span" else "dataset",
        records_from=origin,
        ai_integration=Ref(id=integration.id, name=integration.name),
        model=spec.model_name,
        key_source=key_source,
        variables=sources,
        unknown_mappings=unknown,
        records=judged,
        label_counts=dict(Counter(r.label for r in judged if r.label is not None)),
        problems=problems,
        paths_seen=paths[:PATHS_SHOWN] + ([f"…[{len(paths) - PATHS_SHOWN} more]"] if len(paths) > PATHS_SHOWN else []),
        written=False,
        next_step=next_step,
    )
