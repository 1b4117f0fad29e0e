"""``align_judge``: how well a judge agrees with human labels on a dataset.

The judge runs server-side, on Arize AX or the local engine alike: a ``RUN_EXPERIMENT`` task of type
``TEMPLATE_EVALUATION`` (one per judge and dataset, named ``align <judge> on <dataset>``, its run configuration
replaced on each call) is triggered over the examples that carry a human label. Its run configuration is the
judge's version in run-config form: the ``{var}`` prompt rewritten as ``{{var}}``, ``column_mapping`` from the
tool's ``column_mappings``, explanations on, and ``evaluator_version_id`` so the results carry the judge's eval
column. The wait is bounded; a wait that runs out returns the run ID, and calling again with ``run_id`` picks the
same run up. Once the run is over, the judge's labels (``eval.<column>.label`` of each experiment run) are joined
with the human labels by example ID and scored with ``arize_skills.evals.agreement``.

Human labels come from an annotation config (annotations on the dataset's examples) or from a dataset column.
A human label is matched to the judge's label it spells ignoring case, spaces, ``_`` and ``-``; a numeric or
score-only human label becomes the judge label with that score when exactly one label has it.
"""

from __future__ import annotations

import re
import secrets
from collections import Counter
from collections.abc import Mapping, Sequence
from datetime import UTC, datetime
from typing import Annotated, Any

from mcp.server.mcpserver.exceptions import ToolError
from pydantic import BaseModel, Field

from ...errors import MissingVariableError, RunTimeoutError, TemplateSyntaxError
from ...evals.agreement import agreement
from ...evals.judge import render_mustache, render_template, template_variables
from ...evals.mapping import MISSING, as_text, record_value
from ...models.datasets import Dataset, DatasetExample
from ...models.evaluators import EvaluatorWithVersion, InvocationParamsRequest, TemplateConfig
from ...models.experiments import ExperimentRun
from ...models.tasks import Task, TaskRun, TaskRunStatus
from ..budget import cut
from ..errors import tool_errors
from ..state import AppState, app_state
from ..types import DatasetRef, EvaluatorRef, Ref, SpaceArg, ToolContext, ToolResult
from ._judge_common import ColumnMappingsArg, VersionIdArg, request_fields, template_judge

__all__ = ["Disagreement", "JudgeAlignment", "LabelRates", "align_judge", "mustache_template"]

MAX_EXAMPLES = 10_000
POLL_INTERVAL = 1.0
INPUT_CHARS = 200
EXPLANATION_CHARS = 500
ERRORS_SHOWN = 5
_F_TOKEN = re.compile(r"\{\{|\}\}|\{([A-Za-z_][A-Za-z0-9_.\-]*)\}")
_SEPARATORS = re.compile(r"[\s_\-]+")


class LabelRates(BaseModel):
    """How the judge did on one label (the humans' labels are the truth)."""

    label: str = Field(description="The label.")
    human_count: int = Field(description="Examples the humans gave this label (support).")
    judge_count: int = Field(description="Examples the judge gave this label.")
    agreed: int = Field(description="Examples both gave this label.")
    precision: float | None = Field(description="agreed / judge_count; null when the judge never gave it.")
    recall: float | None = Field(
        description="agreed / human_count (this label's hit rate); null when no human gave it."
    )
    f1: float | None = Field(description="Harmonic mean of precision and recall; null when neither rater gave it.")


class Disagreement(BaseModel):
    """An example where the judge and the humans differ."""

    example_id: str = Field(description="The dataset example's ID.")
    inputs: dict[str, str] = Field(description="The judge's variables on this example (long values cut).")
    human_label: str = Field(description="What the humans said.")
    judge_label: str = Field(description="What the judge said.")
    judge_explanation: str | None = Field(description="Why the judge said it (cut if long).")


class JudgeAlignment(ToolResult):
    """The judge's agreement with human labels, or where its still-running alignment run is."""

    judge: Ref = Field(description="The judge, by name and ID.")
    version_id: str = Field(description="The judge version that was run.")
    dataset: Ref = Field(description="The dataset, by name and ID.")
    human_labels: str = Field(description="Where the human labels come from.")
    task: Ref = Field(description="The RUN_EXPERIMENT task that runs the judge over the examples.")
    run_id: str = Field(description="The task run that judged the examples.")
    experiment: Ref | None = Field(description="The experiment holding the judge's labels, once the run made it.")
    status: str = Field(description="The run's status: COMPLETED, FAILED, CANCELLED, or PENDING/RUNNING if unfinished.")
    complete: bool = Field(description="False when the wait ran out before the run finished: see resume.")
    failure_reason: str | None = Field(description="Why the run failed or was cancelled.")
    resume: str | None = Field(description="The call that picks this run up again when it is unfinished.")
    examples: int = Field(description="Examples in the dataset (latest version).")
    labelled: int = Field(description="Examples with a human label.")
    without_human_label: int = Field(description="Examples skipped because they have no human label.")
    judged: int = Field(description="Examples the judge labelled.")
    judge_errors: int = Field(description="Examples the judge failed on (no label).")
    compared: int = Field(description="Examples with both a human and a judge label: the basis of every figure.")
    accuracy: float | None = Field(description="Share of compared examples where both labels are equal.")
    kappa: float | None = Field(description="Cohen's kappa: agreement beyond chance (1 perfect, 0 chance, <0 worse).")
    kappa_note: str | None = Field(description="Why kappa is undefined, when it is.")
    expected_agreement: float | None = Field(description="The agreement these label frequencies give by chance.")
    labels: list[str] = Field(description="The labels, in the order of the confusion matrix and per_label.")
    confusion_matrix: list[list[int]] = Field(
        description="confusion_matrix[i][j]: examples the humans labelled labels[i] and the judge labels[j]."
    )
    per_label: list[LabelRates] = Field(description="Precision, recall and F1 of each label.")
    disagreements: list[Disagreement] = Field(description="Examples where the judge and the humans differ.")
    disagreements_total: int = Field(description="How many disagreements there are in all.")
    error_samples: list[str] = Field(description="The most frequent judge errors, with their counts.")
    notes: list[str] = Field(description="Things that affect how to read the figures.")
    next_step: str = Field(description="What to do next.")


def mustache_template(template: str) -> str:
    """An evaluator's ``{var}`` prompt in run-config ``{{var}}`` form (``{{``/``}}`` literal braces as ``{``/``}``).

    Raises:
        ToolError: literal braces next to a placeholder would change meaning in Mustache (``{{{x}}}``), so the
            converted prompt would not render the same text.
    """

    def swap(match: re.Match[str]) -> str:
        name = match.group(1)
        return match.group(0)[0] if name is None else "{{" + name + "}}"

    converted = _F_TOKEN.sub(swap, template)
    probe = {name: f"\x00{index}\x00" for index, name in enumerate(template_variables(template))}
    try:
        same = render_mustache(converted, probe) == render_template(template, probe)
    except (MissingVariableError, TemplateSyntaxError):
        same = False
    if not same:
        raise ToolError(
            "judge: its prompt has literal braces ({{ or }}) right next to a placeholder, which a server-side "
            "run-experiment template ({{var}}) cannot express; put a space between them with update_judge"
        )
    return converted


def _norm(text: str) -> str:
    return _SEPARATORS.sub(" ", text.casefold()).strip()


def _to_judge_label(value: Any, choices: Mapping[str, float]) -> str | None:
    """A human value as a label: the judge label it spells or scores as, else its own text (None when blank)."""
    if value is MISSING or value is None:
        return None
    if isinstance(value, bool):
        value = "true" if value else "false"
    if isinstance(value, int | float):
        scored = [label for label, score in choices.items() if score == value]
        if len(scored) == 1:
            return scored[0]
    text = as_text(value).strip()
    if not text:
        return None
    spelt = [label for label in choices if _norm(label) == _norm(text)]
    return spelt[0] if len(spelt) == 1 else text


def _columns(example: DatasetExample) -> dict[str, Any]:
    return {"id": example.id, "example_id": example.id, **example.fields}


def _human_label(
    example: DatasetExample, annotation: str | None, column: str | None, choices: Mapping[str, float]
) -> str | None:
    if column is not None:
        return _to_judge_label(record_value(_columns(example), column), choices)
    for given in example.annotations or []:
        if given.name == annotation:
            if given.label is not None and given.label.strip():
                return _to_judge_label(given.label, choices)
            return _to_judge_label(given.score, choices) if given.score is not None else None
    return None


def _verdict(run: ExperimentRun, eval_name: str, choices: Mapping[str, float]) -> tuple[str | None, str | None]:
    """The judge's label and explanation on one experiment run (its eval column, else the one eval there is)."""
    found = run.evaluation(eval_name)
    if found["label"] is None:
        names = {key.split(".")[1] for key in run.fields if key.startswith("eval.") and key.endswith(".label")}
        if len(names) == 1:
            found = run.evaluation(names.pop())
    label = found["label"]
    if label is None and run.output is not None and run.output in choices:
        label = run.output
    explanation = found["explanation"]
    return (
        str(label) if label is not None else None,
        cut(str(explanation), EXPLANATION_CHARS) if explanation else None,
    )


def _run_configuration(
    found: EvaluatorWithVersion, config: TemplateConfig, mappings: Mapping[str, str]
) -> dict[str, Any]:
    assert found.version is not None
    llm = config.llm_config
    assert llm is not None and llm.ai_integration_id
    run_config: dict[str, Any] = {
        "experiment_type": "TEMPLATE_EVALUATION",
        "ai_integration_id": llm.ai_integration_id,
        "template": mustache_template(config.template or ""),
        "provide_explanation": True,
        "classification_choices": {k: float(v) for k, v in (config.classification_choices or {}).items()},
        "evaluator_version_id": found.version.id,
        "invocation_parameters": request_fields(llm.invocation_parameters, InvocationParamsRequest),
        "provider_parameters": {k: v for k, v in (llm.provider_parameters or {}).items() if v is not None},
    }
    if llm.model_name:
        run_config["model_name"] = llm.model_name
    if mappings:
        run_config["column_mapping"] = dict(mappings)
    return run_config


async def _alignment_task(
    state: AppState, judge: Ref, dataset: Dataset, run_config: dict[str, Any], space: str | None
) -> Task:
    """The judge's alignment task on this dataset, made or given ``run_config``.

    Raises:
        ToolError: a run of it is still going (its configuration must not change under it).
    """
    client = state.client
    name = f"align {judge.name} on {dataset.name}"
    listed = client.tasks.list(name=name, dataset=dataset.id, type="RUN_EXPERIMENT", space=space, limit=100)
    existing = [task for task in await listed.to_list(limit=500) if task.name == name]
    if not existing:
        return await client.tasks.create(
            name=name, type="RUN_EXPERIMENT", dataset=dataset.id, run_configuration=run_config, space=space
        )
    task = existing[0]
    statuses: tuple[TaskRunStatus, ...] = ("PENDING", "RUNNING")
    for status in statuses:
        busy = (await client.tasks.list_runs(task.id, status=status, limit=1)).items
        if busy:
            raise ToolError(
                f"an alignment run of '{judge.name}' on '{dataset.name}' is still {status} (run {busy[0].id}); pick "
                f"it up with align_judge(..., run_id='{busy[0].id}'), or cancel it, then call again"
            )
    return await client.tasks.update(task.id, run_configuration=run_config)


def _check_variables(
    variables: Sequence[str], mappings: Mapping[str, str], examples: Sequence[DatasetExample]
) -> list[str]:
    """Notes on variables some examples lack.

    Raises:
        ToolError: a mapping names no variable, or a variable has no value on any labelled example.
    """
    unknown = [key for key in mappings if key not in variables]
    if unknown:
        raise ToolError(
            f"column_mappings: {', '.join(map(repr, unknown))} {'is' if len(unknown) == 1 else 'are'} not a variable "
            f"of the judge's prompt (its variables: {', '.join(variables) or 'none'}); fix the spelling or remove it"
        )
    notes = []
    columns = sorted({key for example in examples for key in example.fields})
    for variable in variables:
        path = mappings.get(variable, variable)
        absent = sum(1 for example in examples if record_value(_columns(example), path) is MISSING)
        how = f"column_mappings maps it to '{path}'" if variable in mappings else f"it is read from the column '{path}'"
        if absent == len(examples):
            raise ToolError(
                f"column_mappings: the judge's variable '{variable}' has no value on any labelled example ({how}); "
                f"the dataset's columns are: {', '.join(columns)} — pass column_mappings={{'{variable}': '<column>'}}"
            )
        if absent:
            notes.append(
                f"variable '{variable}' has no value on {absent} of {len(examples)} labelled examples ({how}); the "
                "judge fails on those"
            )
    return notes


@tool_errors
async def align_judge(
    ctx: ToolContext,
    judge: EvaluatorRef,
    dataset: DatasetRef,
    annotation: Annotated[
        str | None,
        Field(
            min_length=1,
            max_length=512,
            description="The annotation config (name or ID) whose labels on the dataset's examples are the human "
            "truth. Give this or label_column.",
        ),
    ] = None,
    label_column: Annotated[
        str | None,
        Field(
            min_length=1,
            max_length=512,
            description="The dataset column holding the human label ('expected_label'). Give this or annotation.",
        ),
    ] = None,
    column_mappings: ColumnMappingsArg = None,
    max_examples: Annotated[
        int | None,
        Field(ge=1, le=MAX_EXAMPLES, description="Judge at most this many labelled examples (the first ones)."),
    ] = None,
    timeout_seconds: Annotated[
        float,
        Field(
            ge=1,
            le=600,
            description="How long to wait for the judge to finish (1-600 s). If it runs out, the result says how "
            "to pick the run up again; the run keeps going.",
        ),
    ] = 60.0,
    run_id: Annotated[
        str | None,
        Field(
            min_length=1,
            max_length=512,
            description="Pick up an alignment run this tool started before (its run_id) instead of starting one; "
            "its own version and column mapping are used.",
        ),
    ] = None,
    version_id: VersionIdArg = None,
    max_disagreements: Annotated[
        int, Field(ge=0, le=100, description="How many disagreeing examples to list (0-100).")
    ] = 20,
    space: SpaceArg = None,
) -> JudgeAlignment:
    """Measure an LLM judge against human labels on a dataset: the human labels come from an annotation config
    (labels on the dataset's examples) or a dataset column. The judge runs server-side over the labelled examples
    (a RUN_EXPERIMENT task; this costs one model call per example), then the tool reports accuracy, Cohen's kappa,
    per-label precision / recall / F1, the confusion matrix, and the disagreeing examples with the judge's
    explanations; examples without a human label are skipped and counted. Waits at most timeout_seconds, with
    progress; if the run is not done by then, call again with the returned run_id. Use it to decide whether a
    judge can be trusted, and after each update_judge to see whether a prompt change helped."""
    state = app_state(ctx)
    client = state.client
    if (annotation is None) == (label_column is None):
        raise ToolError("annotation / label_column: give exactly one source of human labels")
    found_dataset = await client.datasets.get(dataset, space=space)
    dataset_ref = Ref(id=found_dataset.id, name=found_dataset.name)
    config_name: str | None = None
    if annotation is not None:
        config_name = (await client.annotation_configs.get(annotation, space=space)).name
        source = f"annotation '{config_name}' on the dataset's examples"
    else:
        source = f"the dataset column '{label_column}'"
    fetched = await client.datasets.list_examples(found_dataset.id, limit=500).to_list(limit=MAX_EXAMPLES + 1)
    notes: list[str] = []
    if len(fetched) > MAX_EXAMPLES:
        notes.append(f"the dataset has more than {MAX_EXAMPLES:,} examples; only the first {MAX_EXAMPLES:,} were read")
    examples = fetched[:MAX_EXAMPLES]
    by_id = {example.id: example for example in examples}

    submitted: int | None
    if run_id is None:
        found, config = await template_judge(state, judge, version_id, space)
        choices = {k: float(v) for k, v in (config.classification_choices or {}).items()}
        human = {e.id: label for e in examples if (label := _human_label(e, config_name, label_column, choices))}
        if not human:
            raise ToolError(
                f"no example of dataset '{found_dataset.name}' has a human label in {source} ({len(examples)} "
                "examples read); annotate examples first (annotate), or name the right annotation or label_column"
            )
        labelled = [e for e in examples if e.id in human][: max_examples or MAX_EXAMPLES]
        mappings = dict(column_mappings or {})
        notes += _check_variables(template_variables(config.template or ""), mappings, labelled)
        if config.llm_config is None or not config.llm_config.ai_integration_id:
            raise ToolError(f"judge: '{found.name}' names no AI integration; set one with update_judge")
        run_config = _run_configuration(found, config, mappings)
        task = await _alignment_task(state, Ref(id=found.id, name=found.name), found_dataset, run_config, space)
        stamp = datetime.now(UTC).strftime("%Y%m%dT%H%M%S")
        experiment_name = f"align {config.name or 'judge'} {stamp} {secrets.token_hex(2)}"
        run = await client.tasks.trigger_run(
            task.id, experiment_name=experiment_name, example_ids=[e.id for e in labelled]
        )
        submitted = len(labelled)
        await ctx.report_progress(0, submitted, f"alignment run {run.id} started on {submitted} labelled examples")
    else:
        run = await client.tasks.get_run(run_id)
        task = await client.tasks.get(run.task_id)
        run_config = dict(task.run_configuration or {})
        pinned = run_config.get("evaluator_version_id")
        if task.type != "RUN_EXPERIMENT" or task.dataset_id != found_dataset.id or not pinned:
            raise ToolError(
                f"run_id: run {run_id} is not an alignment run of a judge on dataset '{found_dataset.name}'; omit "
                "run_id to start one"
            )
        found, config = await template_judge(state, judge, str(pinned), space)
        assert found.version is not None
        if found.version.evaluator_id != found.id:
            raise ToolError(f"run_id: run {run_id} aligned another judge, not '{found.name}'")
        choices = {k: float(v) for k, v in (config.classification_choices or {}).items()}
        human = {e.id: label for e in examples if (label := _human_label(e, config_name, label_column, choices))}
        mappings = dict(run_config.get("column_mapping") or {})
        submitted = None
    assert found.version is not None
    judge_ref = Ref(id=found.id, name=found.name)
    task_ref = Ref(id=task.id, name=task.name)

    async def on_poll(polled: TaskRun) -> None:
        done = (polled.num_successes or 0) + (polled.num_errors or 0) + (polled.num_skipped or 0)
        total = f" of {submitted}" if submitted is not None else ""
        await ctx.report_progress(done, submitted, f"alignment run {polled.status}: {done}{total} examples judged")

    base: dict[str, Any] = {
        "judge": judge_ref,
        "version_id": found.version.id,
        "dataset": dataset_ref,
        "human_labels": source,
        "task": task_ref,
        "run_id": run.id,
        "examples": len(examples),
        "labelled": len(human),
        "without_human_label": len(examples) - len(human),
    }
    try:
        run = await client.tasks.wait_for_run(
            run.id, poll_interval=POLL_INTERVAL, timeout=timeout_seconds, on_poll=on_poll
        )
    except RunTimeoutError as exc:
        where = f"annotation='{config_name}'" if config_name else f"label_column='{label_column}'"
        return _unfinished(
            base,
            status=exc.last_status or "RUNNING",
            resume=f"align_judge(judge='{found.name}', dataset='{found_dataset.name}', {where}, run_id='{run.id}')",
            notes=notes,
        )

    experiment: Ref | None = None
    runs: list[ExperimentRun] = []
    if run.experiment_id:
        found_experiment = await client.experiments.get(run.experiment_id)
        experiment = Ref(id=found_experiment.id, name=found_experiment.name)
        runs = await client.experiments.list_runs(run.experiment_id, limit=500).to_list()
    eval_name = config.name or ""
    reference: list[str] = []
    predicted: list[str] = []
    pairs: list[tuple[str, str, str, str | None]] = []
    errors: Counter[str] = Counter()
    judged = 0
    for item in runs:
        label, explanation = _verdict(item, eval_name, choices)
        if label is None:
            errors[item.error or "the judge gave no label"] += 1
            continue
        judged += 1
        example_id = item.example_id or ""
        if example_id in human:
            reference.append(human[example_id])
            predicted.append(label)
            pairs.append((example_id, human[example_id], label, explanation))
    if not pairs:
        reason = f": {run.failure_reason}" if run.failure_reason else ""
        top = "; ".join(f"{message} ({count}×)" for message, count in errors.most_common(ERRORS_SHOWN))
        raise ToolError(
            f"the alignment run {run.id} ended {run.status}{reason} with no example judged"
            + (f"; judge errors: {top}" if top else "")
            + " — fix the cause (preview_judge on this dataset shows it per example) and call align_judge again"
        )
    judge_labels = list(choices)
    extra = sorted({label for label in reference if label not in choices})
    if extra:
        notes.append(
            f"human labels {', '.join(map(repr, extra))} are none of the judge's labels ({', '.join(judge_labels)}); "
            "every such example counts as a disagreement — fix the spelling of the human labels or the judge's"
        )
    order = judge_labels + extra + sorted({label for label in predicted if label not in choices and label not in extra})
    result = agreement(reference, predicted, order)
    if run.status.upper() != "COMPLETED":
        notes.append(f"the run ended {run.status}: the figures cover only the {len(pairs)} examples judged before")
    disagreements = [
        Disagreement(
            example_id=example_id,
            inputs=_inputs(by_id.get(example_id), config.template or "", mappings),
            human_label=human_label,
            judge_label=judge_label,
            judge_explanation=explanation,
        )
        for example_id, human_label, judge_label, explanation in pairs
        if human_label != judge_label
    ]
    return JudgeAlignment(
        **base,
        experiment=experiment,
        status=run.status,
        complete=True,
        failure_reason=run.failure_reason,
        resume=None,
        judged=judged,
        judge_errors=sum(errors.values()),
        compared=result.count,
        accuracy=result.accuracy,
        kappa=result.kappa,
        kappa_note=result.kappa_note,
        expected_agreement=result.expected_agreement,
        labels=list(result.labels),
        confusion_matrix=[list(row) for row in result.matrix],
        per_label=[
            LabelRates(
                label=row.label,
                human_count=row.support,
                judge_count=row.predicted,
                agreed=row.agreed,
                precision=row.precision,
                recall=row.recall,
                f1=row.f1,
            )
            for row in result.per_label
        ],
        disagreements=disagreements[:max_disagreements],
        disagreements_total=len(disagreements),
        error_samples=[f"{message} ({count}×)" for message, count in errors.most_common(ERRORS_SHOWN)],
        notes=notes,
        next_step=(
            "read the disagreements and the judge's explanations, sharpen the prompt with update_judge, then call "
            "align_judge again to compare"
            if disagreements
            else "the judge agrees with every human label compared; run it on live traffic with create_task"
        ),
    )


def _inputs(example: DatasetExample | None, template: str, mappings: Mapping[str, str]) -> dict[str, str]:
    if example is None:
        return {}
    columns = _columns(example)
    shown: dict[str, str] = {}
    for variable in template_variables(template):
        value = record_value(columns, mappings.get(variable, variable))
        if value is not MISSING:
            shown[variable] = cut(as_text(value), INPUT_CHARS)
    return shown


def _unfinished(base: dict[str, Any], *, status: str, resume: str, notes: list[str]) -> JudgeAlignment:
    return JudgeAlignment(
        **base,
        experiment=None,
        status=status,
        complete=False,
        failure_reason=None,
        resume=resume,
        judged=0,
        judge_errors=0,
        compared=0,
        accuracy=None,
        kappa=None,
        kappa_note=None,
        expected_agreement=None,
        labels=[],
        confusion_matrix=[],
        per_label=[],
        disagreements=[],
        disagreements_total=0,
        error_samples=[],
        notes=notes,
        next_step=f"the run is still {status} and keeps going; call {resume} later for the figures",
    )
