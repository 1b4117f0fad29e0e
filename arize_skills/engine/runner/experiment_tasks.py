"""``RUN_EXPERIMENT`` task runs: an LLM over every selected dataset example, each answer one experiment run.

* ``LLM_GENERATION``: the run configuration's messages, with variables filled from the example's columns
  (``F_STRING`` ``{var}``, ``MUSTACHE`` ``{{var}}``, ``NONE`` sent as written), go to the AI integration; the
  experiment run's ``output`` is the answer's text (or, when the model only called tools, the JSON list of its
  ``{name, arguments}`` calls), and its columns carry ``latency_ms``, ``prompt_tokens``, ``completion_tokens``,
  ``total_tokens`` and ``model``. A failure stores a run with ``error`` set and no output.
* ``TEMPLATE_EVALUATION``: the ``{{var}}`` template, with each variable read through ``column_mapping`` (a
  variable without an entry is read as the column of its own name), is judged like an evaluator's template
  (labels from ``classification_choices``, explanations when ``provide_explanation``). The run's ``output`` is the
  label, and ``eval.<name>.label / .score / .explanation`` are stored on the run, where ``<name>`` is the
  ``template_config.name`` of ``evaluator_version_id`` when given, else ``evaluation``.

Examples come from the trigger's dataset version (latest by default) in dataset order: only ``example_ids`` when
given, only those matching ``query_filter`` when given (both: the intersection), at most ``max_examples``. The
experiment (named ``experiment_name``, on that version) is created when the run starts scoring and its ID is set
on the task run at once. A run resumed after an engine restart skips the examples that already have a run in its
experiment. When the run COMPLETES, each of ``evaluation_task_ids`` gets a PENDING run over the new experiment.
"""

from __future__ import annotations

import json
import sqlite3
from collections.abc import Mapping
from dataclasses import dataclass
from typing import Any

from ...errors import FilterError, JudgeParseError, MissingVariableError, ProviderError, TemplateSyntaxError
from ...evals.judge import (
    JudgeSpec,
    judge_request,
    mustache_variables,
    parse_judgement,
    render_mustache,
    render_template,
    template_variables,
)
from ...evals.mapping import MISSING, as_text, record_value
from ...evals.providers import ChatMessage, ChatRequest, ChatResult, LlmClient, ProviderConfig, ToolCall, ToolSpec
from ...models.ids import decode_id
from ...models.tasks import DEFAULT_MAX_SPANS
from ..query.filters import example_filter_sql
from ..store.datasets import ExampleRow
from ..store.documents import (
    EvaluationRunParameters,
    EvaluatorVersionDoc,
    ExperimentRunParameters,
    IntegrationDoc,
    RunConfigurationDoc,
    TaskDoc,
    TaskRunDoc,
)
from ..store.evaluations import upsert_evaluation
from ..store.experiments import EXPERIMENT_KIND, SplitRun, insert_runs
from ..store.objects import StoredObject, document, find_by_name, get_object, insert_object, update_document
from ..store.tasks import TASK_KIND, TASK_RUN_KIND, active_run, insert_run, save_run
from .plans import ItemError, RunSetupError, client_key, load_integration, provider_failure_reason

__all__ = ["ExperimentPlan", "GeneratedRun", "chain_evaluation_tasks", "ensure_experiment", "load_experiment_plan"]

DEFAULT_EVAL_NAME = "evaluation"
_ROLES = {"USER": "user", "ASSISTANT": "assistant", "SYSTEM": "system", "TOOL": "tool"}


@dataclass
class GeneratedRun:
    """One example's experiment run: output or error, its columns, and the judge's verdict when there is one."""

    example_id: str
    output: str | None
    error: str | None
    data: dict[str, Any]
    label: str | None = None
    score: float | None = None
    explanation: str | None = None


@dataclass
class ExperimentPlan:
    """Everything a ``RUN_EXPERIMENT`` run needs, loaded once at its start."""

    experiment_type: str
    config: RunConfigurationDoc
    dataset: StoredObject
    version: StoredObject
    examples: list[ExampleRow]
    selected: int
    integration_name: str
    integration_id: str
    provider: ProviderConfig
    client_key: tuple[Any, ...]
    model: str
    eval_name: str = DEFAULT_EVAL_NAME
    empty_reason: str | None = None
    client: LlmClient | None = None

    async def generate(self, example: ExampleRow) -> GeneratedRun:
        """Run the model on one example.

        Raises:
            ItemError: the example could not be run; the caller stores a run with the error.
        """
        assert self.client is not None
        columns: dict[str, Any] = {"example_id": example.example_id, **example.data}
        if self.experiment_type == "LLM_GENERATION":
            result = await self._call(self._generation_request(example, columns))
            return GeneratedRun(example.example_id, _output_text(result), None, _usage(result))
        return await self._judge(example, columns)

    async def _call(self, request: ChatRequest) -> ChatResult:
        assert self.client is not None
        try:
            return await self.client.complete(request)
        except ProviderError as exc:
            fatal = provider_failure_reason(exc, self.integration_name, self.integration_id)
            raise ItemError(f"the model call failed: {exc.message}", fatal_reason=fatal) from None

    def _value(self, columns: Mapping[str, Any], variable: str, path: str, mapped: bool) -> str:
        value = record_value(columns, path)
        if value is MISSING:
            listed = ", ".join(sorted(columns)) or "none"
            how = f"column_mapping maps it to '{path}'" if mapped else f"it was read as the column '{path}'"
            raise ItemError(
                f"variable '{variable}' has no value: {how}, which the example does not have (its columns: {listed})"
            )
        return as_text(value)

    def _render(self, text: str, columns: Mapping[str, Any], style: str) -> str:
        try:
            if style == "F_STRING":
                values = {v: self._value(columns, v, v, False) for v in template_variables(text)}
                return render_template(text, values)
            if style == "MUSTACHE":
                values = {v: self._value(columns, v, v, False) for v in mustache_variables(text)}
                return render_mustache(text, values)
        except MissingVariableError as exc:
            raise ItemError(f"variable '{exc.variable}' has no value in the example") from None
        except TemplateSyntaxError as exc:
            raise ItemError(f"the prompt template cannot be rendered: {exc}") from None
        return text

    def _generation_request(self, example: ExampleRow, columns: Mapping[str, Any]) -> ChatRequest:
        style = str(self.config.input_variable_format or "NONE")
        messages = []
        for message in self.config.messages or []:
            content = message.get("content")
            calls = [
                ToolCall(
                    name=str(call["function"]["name"]),
                    arguments=json.loads(call["function"].get("arguments") or "{}"),
                    id=call.get("id"),
                )
                for call in message.get("tool_calls") or []
            ]
            messages.append(
                ChatMessage(
                    role=_ROLES[str(message.get("role", "USER")).upper()],  # type: ignore[arg-type]
                    content=self._render(content, columns, style) if isinstance(content, str) else None,
                    tool_calls=calls,
                    tool_call_id=message.get("tool_call_id"),
                )
            )
        tools, choice = _tools(self.config.tool_config)
        return ChatRequest(
            model=self.model,
            messages=messages,
            invocation_parameters=dict(self.config.invocation_parameters or {}),
            tools=tools,
            tool_choice=choice,
        )

    async def _judge(self, example: ExampleRow, columns: Mapping[str, Any]) -> GeneratedRun:
        assert self.client is not None
        template = str(self.config.template or "")
        mapping = dict(self.config.column_mapping or {})
        try:
            names = mustache_variables(template)
        except TemplateSyntaxError as exc:
            raise ItemError(f"the template cannot be rendered: {exc}") from None
        values = {v: self._value(columns, v, mapping.get(v, v), v in mapping) for v in names}
        prompt = render_mustache(template, values)
        choices = self.config.classification_choices or {}
        spec = JudgeSpec(
            name=self.eval_name,
            template=template,
            choices={str(k): float(v) for k, v in choices.items()} or None,
            include_explanations=bool(self.config.provide_explanation),
            use_function_calling=True,
            model_name=self.model,
            invocation_parameters=dict(self.config.invocation_parameters or {}),
        )
        result = await self._call(judge_request(spec, prompt, function_calling=self.client.supports_function_calling))
        try:
            verdict = parse_judgement(spec, result)
        except JudgeParseError as exc:
            raise ItemError(str(exc)) from None
        return GeneratedRun(
            example.example_id,
            verdict.label,
            None,
            _usage(result),
            label=verdict.label,
            score=verdict.score,
            explanation=verdict.explanation,
        )


def _tools(tool_config: Any) -> tuple[list[ToolSpec], str | None]:
    if not isinstance(tool_config, Mapping):
        return [], None
    tools = []
    for raw in tool_config.get("tools") or []:
        spec = raw.get("function", raw) if isinstance(raw, Mapping) else {}
        if spec.get("name"):
            tools.append(
                ToolSpec(
                    name=str(spec["name"]),
                    description=str(spec.get("description") or ""),
                    parameters=spec.get("parameters") or spec.get("input_schema") or {"type": "object"},
                )
            )
    choice = tool_config.get("tool_choice")
    name: str | None = None
    if isinstance(choice, Mapping):
        inner = choice.get("function", choice)
        name = inner.get("name") if isinstance(inner, Mapping) else None
    elif isinstance(choice, str) and choice.lower() not in ("auto", "none", "required", "any"):
        name = choice
    return tools, name if name in {t.name for t in tools} else None


def _output_text(result: ChatResult) -> str:
    if result.text is not None and (result.text.strip() or not result.tool_calls):
        return result.text
    calls = [{"name": call.name, "arguments": dict(call.arguments)} for call in result.tool_calls]
    return json.dumps(calls, ensure_ascii=False)


def _usage(result: ChatResult) -> dict[str, Any]:
    prompt, completion = result.prompt_tokens, result.completion_tokens
    total = prompt + completion if prompt is not None and completion is not None else None
    return {
        "latency_ms": round(result.latency_ms, 3),
        "prompt_tokens": prompt,
        "completion_tokens": completion,
        "total_tokens": total,
        "model": result.model,
    }


def _example_rows(conn: sqlite3.Connection, version: StoredObject, params: ExperimentRunParameters) -> list[ExampleRow]:
    sql = "SELECT * FROM dataset_examples AS e WHERE e.version_num = ?"
    args: list[Any] = [version.num]
    text = params.query_filter
    if text:
        try:
            where, where_params = example_filter_sql(text)
        except FilterError as exc:
            raise RunSetupError(f'query_filter "{text}" no longer compiles: {exc.detail}') from None
        sql += f" AND ({where})"
        args.extend(where_params)
    rows = [ExampleRow.from_row(r) for r in conn.execute(sql + " ORDER BY e.position", args)]
    wanted = params.example_ids
    if wanted is not None:
        keep = set(wanted)
        rows = [r for r in rows if r.example_id in keep]
    if params.max_examples is not None:
        rows = rows[: int(params.max_examples)]
    return rows


def _why_no_examples(
    conn: sqlite3.Connection, dataset: StoredObject, version: StoredObject, params: ExperimentRunParameters
) -> str:
    total = conn.execute("SELECT COUNT(*) FROM dataset_examples WHERE version_num = ?", (version.num,)).fetchone()[0]
    where = f"dataset '{dataset.name}' (version '{version.name}')"
    if total == 0:
        return f"{where} has no examples; add examples and trigger again"
    chosen = []
    if params.example_ids is not None:
        chosen.append(f"the {len(params.example_ids)} example_ids given")
    if params.query_filter:
        chosen.append(f'query_filter "{params.query_filter}"')
    return f"{' AND '.join(chosen)} select{'s' if len(chosen) == 1 else ''} none of the {total} examples of {where}"


def load_experiment_plan(conn: sqlite3.Connection, task: StoredObject, run: StoredObject) -> ExperimentPlan:
    """Load the run configuration, the integration and the examples still to run.

    Raises:
        RunSetupError: the dataset, version, integration or model is missing, or the experiment name is taken.
    """
    task_doc, run_doc = document(task, TaskDoc), document(run, TaskRunDoc)
    config = task_doc.run_configuration or RunConfigurationDoc()
    params = run_doc.experiment_parameters()
    experiment_type = str(config.experiment_type)
    if experiment_type not in ("LLM_GENERATION", "TEMPLATE_EVALUATION"):
        raise RunSetupError(
            f"run_configuration {experiment_type} calls an agent integration of Arize AX; the local engine runs "
            "LLM_GENERATION and TEMPLATE_EVALUATION only"
        )
    dataset = get_object(conn, "Dataset", int(params.dataset_num or task_doc.dataset_num or 0))
    if dataset is None:
        raise RunSetupError(f"the dataset of task '{task.name}' no longer exists; delete the task")
    version_num = params.dataset_version_num
    version = get_object(conn, "DatasetVersion", int(version_num)) if version_num is not None else None
    if version is None:
        raise RunSetupError(
            f"dataset version {params.dataset_version_id} of dataset '{dataset.name}' no longer exists; "
            "trigger again (the latest version is used by default)"
        )
    integration, provider = load_integration(
        conn,
        str(config.ai_integration_id or ""),
        config.provider_parameters or {},
        owner=f"task '{task.name}'",
    )
    model = config.model_name or next(iter(document(integration, IntegrationDoc).model_names or []), None)
    if not model:
        raise RunSetupError(
            f"run_configuration has no model_name and AI integration '{integration.name}' lists no model_names; set "
            "model_name on the task's run_configuration"
        )
    eval_name = DEFAULT_EVAL_NAME
    version_id = config.evaluator_version_id
    if experiment_type == "TEMPLATE_EVALUATION" and version_id:
        decoded = decode_id(version_id)
        evaluator_version = get_object(conn, "EvaluatorVersion", decoded.number) if decoded else None
        version_doc = document(evaluator_version, EvaluatorVersionDoc) if evaluator_version else None
        template_config = version_doc.template_config if version_doc is not None else None
        if template_config is not None and template_config.name:
            eval_name = str(template_config.name)
    examples = _example_rows(conn, version, params)
    selected = len(examples)
    experiment_num = run_doc.experiment_num
    if experiment_num is not None:
        done = {
            row[0]
            for row in conn.execute(
                "SELECT example_id FROM experiment_runs WHERE experiment_num = ?", (experiment_num,)
            )
        }
        examples = [e for e in examples if e.example_id not in done]
    plan = ExperimentPlan(
        experiment_type=experiment_type,
        config=config,
        dataset=dataset,
        version=version,
        examples=examples,
        selected=selected,
        integration_name=integration.name or integration.id,
        integration_id=integration.id,
        provider=provider,
        client_key=client_key(integration, provider),
        model=str(model),
        eval_name=eval_name,
    )
    if selected == 0:
        plan.empty_reason = _why_no_examples(conn, dataset, version, params)
    return plan


def ensure_experiment(conn: sqlite3.Connection, plan: ExperimentPlan, run_num: int, *, now: str) -> StoredObject:
    """The run's experiment, created (named ``experiment_name``, on the plan's version) if it does not exist yet;
    the task run's ``experiment_id`` is set in the same transaction.

    Raises:
        RunSetupError: another experiment of the dataset took the name since the trigger.
    """
    run = get_object(conn, TASK_RUN_KIND, run_num)
    assert run is not None
    doc = document(run, TaskRunDoc)
    if doc.experiment_num is not None:
        existing = get_object(conn, EXPERIMENT_KIND, int(doc.experiment_num))
        if existing is not None:
            return existing
    name = str(doc.experiment_parameters().experiment_name)
    taken = find_by_name(conn, EXPERIMENT_KIND, name, parent_num=plan.dataset.num)
    if taken is not None:
        raise RunSetupError(
            f"dataset '{plan.dataset.name}' already has an experiment named '{name}' ({taken.id}), created after this "
            "run was triggered; trigger again with another experiment_name"
        )
    experiment = insert_object(
        conn,
        EXPERIMENT_KIND,
        name=name,
        body={"dataset_id": plan.dataset.id, "dataset_version_id": plan.version.id, "task_run_id": run.id},
        now=now,
        space_num=plan.dataset.space_num,
        parent_num=plan.dataset.num,
    )
    doc.experiment_id, doc.experiment_num = experiment.id, experiment.num
    save_run(conn, run, doc, now=now)
    return experiment


def store_generated(
    conn: sqlite3.Connection,
    experiment: StoredObject,
    generated: GeneratedRun,
    *,
    eval_name: str,
    now: str,
    task_num: int,
    run_num: int,
) -> None:
    """Store one example's experiment run (and its verdict, for template evaluation)."""
    (run_id,) = insert_runs(
        conn,
        experiment,
        [SplitRun(generated.example_id, generated.output, generated.error, generated.data)],
        now=now,
    )
    if generated.label is not None or generated.score is not None:
        upsert_evaluation(
            conn,
            "run",
            run_id,
            eval_name,
            now=now,
            label=generated.label,
            score=generated.score,
            explanation=generated.explanation,
            task_num=task_num,
            task_run_num=run_num,
        )


def chain_evaluation_tasks(
    conn: sqlite3.Connection, run: StoredObject, experiment: StoredObject, *, now: str
) -> list[str]:
    """Give each of the run's ``evaluation_task_ids`` a PENDING run over ``experiment``; returns notes saying
    what was triggered (or why not)."""
    notes = []
    for task_num in document(run, TaskRunDoc).experiment_parameters().evaluation_task_nums or []:
        task = get_object(conn, TASK_KIND, int(task_num))
        if task is None:
            notes.append(f"Evaluation task {task_num} was deleted, so it was not triggered.")
            continue
        busy = active_run(conn, task)
        if busy is not None:
            busy_status = document(busy, TaskRunDoc).status
            notes.append(
                f"Evaluation task '{task.name}' already had a {busy_status} run ({busy.id}), so it was not "
                f"triggered on experiment '{experiment.name}'; trigger it with experiment_ids=[{experiment.id}]."
            )
            continue
        parameters = EvaluationRunParameters(
            max_spans=DEFAULT_MAX_SPANS,
            override_evaluations=False,
            experiment_ids=[experiment.id],
            experiment_nums=[experiment.num],
        )
        chained = insert_run(conn, task, now=now, parameters=parameters)
        task_doc = document(task, TaskDoc)
        task_doc.last_run_at = now
        update_document(conn, task, task_doc, now=task.updated_at)
        notes.append(f"Triggered evaluation task '{task.name}' on experiment '{experiment.name}' (run {chained.id}).")
    return notes
