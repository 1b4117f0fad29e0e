"""``preview_judge``: a judge run on a few real spans or dataset examples, with nothing written anywhere.

The judge's model is called from this server's process, the way the task runner would call it: the prompt is
filled through the column mapping, sent with the judge's settings, and the answer parsed into a label. The key
comes from one of three places, and never appears in a result:

* ``api_key_env``: the name of an environment variable of this process holding the provider key (on any backend;
  over HTTP a key-like name, see ``setup.sendable_env``);
* the embedded local engine: the key (and unmasked headers) the engine stores for the AI integration, asked of
  its in-process credentials route with the engine's in-memory secret (``client.ai_integrations.credentials``);
* an integration that stores no key (a local model server): no key at all;
* on Arize AX or a local engine over HTTP, whose stored key never leaves the backend: the environment variable
  ``create_ai_integration(api_key_env=...)`` read the key from, when this server created the integration.

Otherwise the key cannot leave the backend, so the tool says how to go on instead. Long values and explanations
are cut to keep the result under ``surface.MAX_RESULT_CHARS`` however many records are judged.
"""

from __future__ import annotations

import json
import os
import re
from collections import Counter
from collections.abc import Callable, Mapping
from dataclasses import dataclass, replace
from datetime import timedelta
from typing import Annotated, Any, Literal

import anyio
from mcp.server.mcpserver.exceptions import ToolError
from pydantic import BaseModel, Field

from ...errors import JudgeParseError, NameNotFoundError, NotFoundError, ProviderError
from ...evals.judge import JudgeSpec, judge_request, parse_judgement, render_template, template_variables
from ...evals.mapping import MISSING, as_text, record_value, span_value, span_view_of
from ...evals.providers import LlmClient, ProviderConfig, protocol_of
from ...models.ai_integrations import HEADER_MASK, AiIntegration
from ...models.datasets import Dataset
from ...models.evaluators import InvocationParamsRequest, TemplateConfig
from ...models.projects import Project
from ...models.spans import Span
from ..budget import cut, json_size
from ..errors import redact, tool_errors
from ..state import AppState, app_state
from ..types import (
    Ref,
    ToolContext,
    ToolResult,
)
from .judge_common import (
    ColumnMappingsArg,
    JudgeRef,
    match_mappings,
    match_name,
    request_fields,
    template_judge,
)
from .setup import sendable_env

__all__ = ["JudgePreview", "PreviewRecord", "preview_judge"]

MAX_RECORDS = 20
VALUE_CHARS = 300
EXPLANATION_CHARS = 600
ERROR_CHARS = 300
MIN_CHARS = 20
CUT_HOW = "the judge gets it whole"
RECORDS_CHARS = 4_500
"""The records' share of the result text, split between them (values and explanations cut to fit)."""
PATHS_SHOWN = 20
LOOKBACK_DAYS = 30
"""How far back the newest spans are looked for."""
CONCURRENCY = 4
CALL_TIMEOUT = 60.0


class PreviewRecord(BaseModel):
    """One record judged (or not): its filled variables and the judge's verdict."""

    record_id: str = Field(description="The span or dataset example ID.")
    values: dict[str, str] = Field(description="Each variable's value as the prompt gets it (long values cut).")
    missing: list[str] = Field(description="Variables with no value here: the judge was not called.")
    label: str | None = Field(description="The judge's label.")
    score: float | None = Field(description="The label's score.")
    explanation: str | None = Field(description="The judge's explanation (cut if long).")
    error: str | None = Field(description="Why there is no label.")


class JudgePreview(ToolResult):
    """What the judge said on a few real records, and every variable that found no value."""

    judge: Ref = Field(description="The judge.")
    version_id: str = Field(description="The version previewed (the latest).")
    kind: Literal["project", "dataset"] = Field(description="What source is.")
    source: Ref = Field(description="The project or dataset.")
    model: str = Field(description="The model called.")
    key_source: str = Field(description="Where the provider key came from (never the key).")
    variables: dict[str, str] = Field(description="Each template variable and the path or column it is read from.")
    records: list[PreviewRecord] = Field(description="The records, newest span or first example first.")
    label_counts: dict[str, int] = Field(description="How many records got each label.")
    problems: list[str] = Field(description="What would make the judge fail or mislead on a task, and the fix.")
    paths_seen: list[str] = Field(description="Paths or columns the records have, to fix a mapping with.")
    next_step: str = Field(description="What to do next.")

    def summary_line(self) -> tuple[str, str | None]:
        """How many records were judged with what labels (nothing written), and the first problem."""
        noun = "examples of dataset" if self.kind == "dataset" else "spans of project"
        counts = ", ".join(f"{label} {count}" for label, count in self.label_counts.items()) or "no label"
        line = (
            f"Previewed judge '{self.judge.name}' on {len(self.records)} {noun} '{self.source.name}' "
            f"(nothing written): {counts}."
        )
        if self.problems:
            more = f" (+{len(self.problems) - 1} more in problems)" if len(self.problems) > 1 else ""
            return f"{line} Fix first: {self.problems[0]}{more}.", None
        return f"{line} Every variable found a value; next: {self.next_step}.", "next_step"


@dataclass
class _Record:
    record_id: str
    lookup: Callable[[str], Any]
    paths: list[str]


def _span_record(span: Span) -> _Record:
    # Unlike a run, the preview keeps the client's own time format and only a latency the backend sent.
    view = replace(
        span_view_of(span),
        start_time=span.start_time.isoformat(),
        end_time=span.end_time.isoformat() if span.end_time is not None else "",
        latency_ms=span.latency_ms or 0.0,
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
    remembered = state.key_envs.get(integration.id) if state.engine is None else None
    variable = api_key_env or (remembered if integration.has_api_key else None)
    if variable is not None:
        key = os.environ.get(variable) or None
        if key is None:
            raise ToolError(
                f"api_key_env: the environment variable {variable} is not set (or is empty) in the MCP server's "
                "environment; ask the user to set it where the server runs and restart it, or pass the name of "
                "another variable"
            )
        source = f"the environment variable {variable} of the MCP server" + (
            " (create_ai_integration read the key from it)" if api_key_env is None else ""
        )
    elif state.engine is not None:
        credentials = await state.client.ai_integrations.credentials(
            integration.id, engine_secret=state.engine.credentials_secret
        )
        key = credentials.api_key.get_secret_value() if credentials.api_key is not None else None
        headers = dict(credentials.headers)
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
    return verdict.label, verdict.score, verdict.explanation or None, None


async def _source(state: AppState, source: str) -> tuple[Project | None, Dataset | None]:
    """The project or the dataset ``source`` names (``project:`` or ``dataset:`` in front settles a name both
    have).

    Raises:
        ToolError: it names neither, or both.
    """
    kind, _, rest = source.partition(":")
    forced = kind.strip() if kind.strip() in ("project", "dataset") and rest.strip() else None
    name = rest.strip() if forced else source.strip()
    client = state.client
    project: Project | None = None
    dataset: Dataset | None = None
    if forced != "dataset":
        try:
            project = await client.projects.get(name)
        except (NameNotFoundError, NotFoundError):
            project = None
    if forced != "project":
        try:
            dataset = await client.datasets.get(name)
        except (NameNotFoundError, NotFoundError):
            dataset = None
    if project is not None and dataset is not None:
        raise ToolError(f"source: '{name}' is both a project and a dataset; pass 'project:{name}' or 'dataset:{name}'")
    if project is None and dataset is None:
        raise ToolError(
            f"source: no project or dataset is named '{name}' — call find(kind='project') or find(kind='dataset') "
            "to list them, then pass the exact name or the ID"
        )
    return project, dataset


def _fit(records: list[PreviewRecord], budget: int) -> list[PreviewRecord]:
    """``records`` with long values, explanations and errors cut, shorter and shorter until their JSON fits
    ``budget`` (or every cut is down to ``MIN_CHARS``), however many records and variables there are."""
    value_limit, text_limit = VALUE_CHARS, EXPLANATION_CHARS
    while True:
        shown = [
            r.model_copy(
                update={
                    "values": {k: cut(v, value_limit, CUT_HOW) for k, v in r.values.items()},
                    "explanation": cut(r.explanation, text_limit, CUT_HOW) if r.explanation else None,
                    "error": cut(r.error, text_limit, CUT_HOW) if r.error else None,
                }
            )
            for r in records
        ]
        if json_size([r.model_dump() for r in shown]) <= budget or max(value_limit, text_limit) <= MIN_CHARS:
            return shown
        value_limit, text_limit = max(MIN_CHARS, value_limit * 2 // 3), max(MIN_CHARS, text_limit * 2 // 3)


@tool_errors
async def preview_judge(
    ctx: ToolContext,
    judge: JudgeRef,
    source: Annotated[
        str, Field(min_length=1, max_length=512, description="Project (newest spans) or dataset (first examples).")
    ],
    column_mappings: ColumnMappingsArg = None,
    n: Annotated[int, Field(ge=1, le=MAX_RECORDS, description="Records.")] = 5,
    filter: Annotated[str | None, Field(min_length=1, max_length=2000, description="Span or example filter.")] = None,
    api_key_env: Annotated[
        str | None,
        Field(min_length=1, max_length=256, description="Env var NAME of the key (AX)."),
    ] = None,
) -> JudgePreview:
    """Try a judge on a few real spans or examples; nothing is written."""
    state = app_state(ctx)
    client = state.client
    if api_key_env is not None:
        api_key_env = sendable_env(state, api_key_env, "api_key_env")
    found, config = await template_judge(state, judge, None)
    assert found.version is not None
    spec = _spec(found.name, config)
    variables = template_variables(spec.template)
    llm = config.llm_config
    if llm is None or not llm.ai_integration_id:
        raise ToolError(
            f"judge: '{found.name}' names no AI integration; set one with update_judge(settings="
            "{'ai_integration': …})"
        )
    integration = await client.ai_integrations.get(llm.ai_integration_id)
    provider, secrets, key_source = await _provider(state, integration, config, api_key_env)
    secrets += list(state.secrets)

    records: list[_Record]
    noun: str
    project, dataset = await _source(state, source)
    if project is not None:
        now = state.clock()
        start = now - timedelta(days=LOOKBACK_DAYS)
        proj = project
        page = await client.spans.list(proj.id, start_time=start, end_time=now, filter=filter, limit=n)
        records = [_span_record(span) for span in page.items[:n]]
        origin = Ref(id=proj.id, name=proj.name)
        noun = "span"
        empty = (
            f"no span of project '{proj.name}' in the last {LOOKBACK_DAYS} days"
            + (f" matches the filter {filter!r}; loosen the filter" if filter else "")
            + " — a task with these settings would judge nothing"
        )
    else:
        assert dataset is not None
        found_dataset = dataset
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

    columns = {path for record in records for path in record.paths} if noun == "example" else set()
    mappings, unknown = match_mappings(column_mappings or {}, variables, columns)
    sources = {v: mappings.get(v, match_name(v, columns) or v) for v in variables}
    results: list[PreviewRecord | None] = [None] * len(records)
    missing_count: Counter[str] = Counter()
    missing_why: dict[str, str] = {}

    async with LlmClient(provider, concurrency=CONCURRENCY, timeout=CALL_TIMEOUT, max_retries=2) as llm_client:

        async def judge_one(index: int, record: _Record) -> None:
            values: dict[str, str] = {}
            missing: list[str] = []
            for variable, path in sources.items():
                value = record.lookup(path)
                if value is MISSING:
                    missing.append(variable)
                    missing_count[variable] += 1
                    missing_why[variable] = _why_missing(noun, variable, path, variable in mappings)
                    continue
                values[variable] = as_text(value)
            label = score = explanation = error = None
            if not missing:
                prompt = render_template(spec.template, values)
                label, score, explanation, error = await _judge(llm_client, spec, prompt, secrets)
            results[index] = PreviewRecord(
                record_id=record.record_id,
                values=values,
                missing=missing,
                label=label,
                score=score,
                explanation=explanation,
                error=error,
            )

        async with anyio.create_task_group() as group:
            for index, record in enumerate(records):
                group.start_soon(judge_one, index, record)

    complete = [r for r in results if r is not None]
    judged = _fit(complete, RECORDS_CHARS)
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
    errors = Counter(cut(r.error, ERROR_CHARS, CUT_HOW) for r in complete if r.error)
    for message, count in errors.items():
        problems.append(f"{count} of {len(records)} {noun}s got no label: {message}")
    paths = sorted({path for record in records for path in record.paths}) if missing_count else []
    mapping = json.dumps(sources, ensure_ascii=False)
    next_step = (
        "fix the problems and preview again"
        if problems
        else f"create_task with this judge and column_mappings={mapping}"
        if noun == "span"
        else f"align_judge or create_task with column_mappings={mapping}"
    )
    return JudgePreview(
        judge=Ref(id=found.id, name=found.name),
        version_id=found.version.id,
        kind="project" if noun == "span" else "dataset",
        source=origin,
        model=spec.model_name,
        key_source=key_source,
        variables=sources,
        records=judged,
        label_counts=dict(Counter(r.label for r in judged if r.label is not None)),
        problems=problems,
        paths_seen=paths[:PATHS_SHOWN] + ([f"…[{len(paths) - PATHS_SHOWN} more]"] if len(paths) > PATHS_SHOWN else []),
        next_step=next_step,
    )
