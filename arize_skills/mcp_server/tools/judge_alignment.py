"""``align_judge``: how well a judge agrees with human labels on a dataset.

The judge runs server-side, on Arize AX or the local engine alike: a ``RUN_EXPERIMENT`` task of type
``TEMPLATE_EVALUATION`` (one per judge and dataset, named ``align <judge> on <dataset>``, its run configuration
replaced on each call) is triggered over the examples that carry a human label. Its run configuration is the
judge's version in run-config form: the ``{var}`` prompt rewritten as ``{{var}}``, ``column_mapping`` from the
tool's ``column_mappings``, explanations on, and ``evaluator_version_id`` so the results carry the judge's eval
column. The wait is bounded; a wait that runs out returns the run ID, and calling again with ``run_id`` picks the
same run up. Once the run is over, the judge's labels (``eval.<column>.label`` of each experiment run) are joined
with the human labels by example ID and scored with ``arize_skills.evals.agreement``.

Human labels come from annotations on the dataset's examples or from a dataset column (``human_labels`` names
either, matched loosely; ``annotation:`` or ``column:`` in front settles a name that is both). A human label is
matched to the judge's label it spells ignoring case, spaces, ``_`` and ``-``; a numeric or score-only human
label becomes the judge label with that score when exactly one label has it.

Housekeeping: the task is made once and reused. Each run makes an experiment (the judge's labels); starting a
new run removes the experiments of the task's earlier runs, so one judge and dataset leave one task and one
experiment behind, and the result says what was made, reused and removed. The latest experiment stays so that
its disagreements can be paged (``next_cursor``) and compared.
"""

from __future__ import annotations

import base64
import binascii
import json
import re
import secrets
from collections import Counter
from collections.abc import Mapping, Sequence
from datetime import UTC, datetime
from typing import Annotated, Any

from mcp.server.mcpserver.exceptions import ToolError
from pydantic import BaseModel, Field

from ...errors import MissingVariableError, NameNotFoundError, NotFoundError, RunTimeoutError, TemplateSyntaxError
from ...evals.agreement import agreement, sample_warning
from ...evals.judge import render_mustache, render_template, template_variables
from ...evals.mapping import MISSING, as_text, record_value
from ...models.datasets import Dataset, DatasetExample
from ...models.evaluators import EvaluatorWithVersion, InvocationParamsRequest, TemplateConfig
from ...models.experiments import ExperimentRun
from ...models.tasks import Task, TaskRun
from ..budget import Position, cut, decode_cursor, encode_cursor, json_size, scope_of
from ..errors import tool_errors
from ..state import AppState, app_state
from ..types import DatasetRef, Ref, ToolContext, ToolResult
from .judge_common import (
    ColumnMappingsArg,
    JudgeRef,
    match_mappings,
    match_name,
    norm,
    request_fields,
    template_judge,
)

__all__ = ["ConfusionRow", "Disagreement", "JudgeAlignment", "LabelRates", "align_judge", "mustache_template"]

MAX_EXAMPLES = 10_000
POLL_INTERVAL = 1.0
INPUT_CHARS = 160
EXPLANATION_CHARS = 300
ERRORS_SHOWN = 5
ERROR_CHARS = 300
_F_TOKEN = re.compile(r"\{\{|\}\}|\{([A-Za-z_][A-Za-z0-9_.\-]*)\}")
DISAGREEMENTS_CHARS = 4_000
"""The disagreements' share of the result text; the rest page on with ``next_cursor``."""


class LabelRates(BaseModel):
    """How the judge did on one label (the humans' labels are the truth)."""

    label: str = Field(description="The label.")
    human_count: int = Field(description="Examples the humans gave it.")
    judge_count: int = Field(description="Examples the judge gave it.")
    precision: float | None = Field(description="Share of the judge's uses that the humans agree with.")
    recall: float | None = Field(description="Share of the humans' uses the judge found.")
    f1: float | None = Field(description="Harmonic mean of precision and recall.")


class ConfusionRow(BaseModel):
    """One row of the confusion matrix: a human label, and what the judge said on those examples."""

    human: str = Field(description="The human label.")
    judge: dict[str, int] = Field(description="Examples with this human label, by the judge's label.")


class Disagreement(BaseModel):
    """An example where the judge and the humans differ."""

    example_id: str = Field(description="The dataset example.")
    inputs: dict[str, str] = Field(description="The judge's variables on it (cut).")
    human_label: str = Field(description="What the humans said.")
    judge_label: str = Field(description="What the judge said.")
    judge_explanation: str | None = Field(description="Why the judge said it (cut).")


class JudgeAlignment(ToolResult):
    """The judge's agreement with human labels, or where its still-running alignment run is."""

    judge: Ref = Field(description="The judge.")
    version_id: str = Field(description="The judge version run.")
    dataset: Ref = Field(description="The dataset.")
    human_labels: str = Field(description="Where the human labels come from.")
    task: Ref = Field(description="The RUN_EXPERIMENT task that runs the judge.")
    run_id: str = Field(description="The task run.")
    experiment: Ref | None = Field(description="The experiment holding the judge's labels.")
    housekeeping: str = Field(description="What this call made, reused and removed.")
    status: str = Field(description="The run's status.")
    complete: bool = Field(description="False when the wait ran out: see resume.")
    failure_reason: str | None = Field(description="Why the run failed or was cancelled.")
    resume: str | None = Field(description="The call that picks the unfinished run up.")
    examples: int = Field(description="Examples in the dataset.")
    labelled: int = Field(description="Examples with a human label.")
    without_human_label: int = Field(description="Examples skipped: no human label.")
    judge_errors: int = Field(description="Examples the judge gave no label.")
    compared: int = Field(description="Examples with both labels: the basis of every figure.")
    accuracy: float | None = Field(description="Share of compared examples with equal labels.")
    kappa: float | None = Field(description="Cohen's kappa: agreement beyond chance (1 perfect, 0 chance).")
    kappa_note: str | None = Field(description="Why kappa is undefined.")
    confusion_matrix: list[ConfusionRow] = Field(description="Rows: human labels; columns: the judge's.")
    per_label: list[LabelRates] = Field(description="Precision, recall and F1 of each label.")
    disagreements: list[Disagreement] = Field(description="Examples where the judge and the humans differ.")
    disagreements_total: int = Field(description="How many disagreements there are in all.")
    next_cursor: str | None = Field(description="Pass as resume for the next disagreements.")
    error_samples: list[str] = Field(description="The most frequent judge errors, with counts.")
    notes: list[str] = Field(description="Things that affect how to read the figures.")
    next_step: str = Field(description="What to do next.")

    def summary_line(self) -> tuple[str, str | None]:
        """The figures in one line (or where the run is), with the small-sample warning."""
        if not self.complete:
            return f"Alignment run {self.run_id} is still {self.status}; it keeps going: {self.next_step}.", "next_step"
        matrix = "; ".join(
            f"human {row.human}: " + ", ".join(f"judge {label} {count}" for label, count in row.judge.items())
            for row in self.confusion_matrix
        )
        kappa = f"{self.kappa:.2f}" if self.kappa is not None else "undefined"
        accuracy = f"{self.accuracy:.2f}" if self.accuracy is not None else "none"
        shown = len(self.disagreements)
        line = (
            f"Judge '{self.judge.name}' vs human labels on {self.compared} examples of '{self.dataset.name}': "
            f"accuracy {accuracy}, kappa {kappa}; confusion (rows human, columns judge) {matrix}; "
            f"{self.disagreements_total} disagreements ({shown} shown"
            + ("; more with resume=next_cursor)." if self.next_cursor else ").")
        )
        warning = sample_warning(self.compared)
        return (f"{line} Warning: {warning}." if warning else line), None


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
    return match_name(text, choices) or text


def _columns(example: DatasetExample) -> dict[str, Any]:
    return {"id": example.id, "example_id": example.id, **example.fields}


def _human_label(
    example: DatasetExample, annotation: str | None, column: str | None, choices: Mapping[str, float]
) -> str | None:
    if column is not None:
        return _to_judge_label(record_value(_columns(example), column), choices)
    for given in example.annotations or []:
        if annotation is not None and norm(given.name) == norm(annotation):
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
    state: AppState, judge: Ref, dataset: Dataset, run_config: dict[str, Any]
) -> tuple[Task, str]:
    """The judge's alignment task on this dataset, made or given ``run_config``, with the experiments of its
    earlier runs removed; and what was made, reused and removed.

    Raises:
        ToolError: a run of it is still going (its configuration must not change under it).
    """
    client = state.client
    name = f"align {judge.name} on {dataset.name}"
    listed = client.tasks.list(name=name, dataset=dataset.id, type="RUN_EXPERIMENT", limit=100)
    existing = [task for task in await listed.to_list(limit=500) if task.name == name]
    if not existing:
        task = await client.tasks.create(
            name=name, type="RUN_EXPERIMENT", dataset=dataset.id, run_configuration=run_config
        )
        return task, f"made task '{name}' (reused by later alignments of this judge on this dataset)"
    task = existing[0]
    earlier = await client.tasks.list_runs(task.id, limit=100).to_list(limit=1000)
    busy = [run for run in earlier if run.status.upper() in ("PENDING", "RUNNING")]
    if busy:
        raise ToolError(
            f"an alignment run of '{judge.name}' on '{dataset.name}' is still {busy[0].status} (run {busy[0].id}); "
            f"pick it up with align_judge(..., resume='{busy[0].id}'), or cancel it, then call again"
        )
    removed = 0
    for experiment_id in dict.fromkeys(run.experiment_id for run in earlier if run.experiment_id):
        try:
            await client.experiments.delete(experiment_id)
            removed += 1
        except NotFoundError:
            continue
    task = await client.tasks.update(task.id, run_configuration=run_config)
    gone = f"; removed {removed} experiment{'s' if removed != 1 else ''} of its earlier runs" if removed else ""
    return task, f"reused task '{name}'{gone}"


def _check_variables(
    variables: Sequence[str], mappings: Mapping[str, str], examples: Sequence[DatasetExample]
) -> list[str]:
    """Notes on variables some examples lack.

    Raises:
        ToolError: a variable has no value on any labelled example.
    """
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


def _mappings(
    given: Mapping[str, str] | None, variables: Sequence[str], examples: Sequence[DatasetExample]
) -> dict[str, str]:
    """``column_mappings`` with names matched loosely to the variables and the dataset's columns (a variable
    without an entry reads the column spelt like it).

    Raises:
        ToolError: a mapping names no variable.
    """
    columns = sorted({key for example in examples for key in example.fields})
    mappings, unknown = match_mappings(given or {}, variables, columns)
    if unknown:
        raise ToolError(
            f"column_mappings: {', '.join(map(repr, unknown))} {'is' if len(unknown) == 1 else 'are'} not a variable "
            f"of the judge's prompt (its variables: {', '.join(variables) or 'none'}); fix the spelling or remove it"
        )
    for variable in variables:
        column = match_name(variable, columns)
        if variable not in mappings and column is not None and column != variable:
            mappings[variable] = column
    return mappings


async def _label_source(
    state: AppState, examples: Sequence[DatasetExample], human_labels: str, dataset: str
) -> tuple[str | None, str | None]:
    """``(annotation name, column)``, one of them set: what ``human_labels`` names on these examples (or the
    annotation config it names by name or ID, when no example carries it yet).

    Raises:
        ToolError: it names neither, or both (without an ``annotation:`` / ``column:`` prefix).
    """
    kind, _, rest = human_labels.partition(":")
    wanted = rest.strip() if kind.strip() in ("annotation", "column") and rest.strip() else human_labels.strip()
    forced = kind.strip() if wanted != human_labels.strip() else None
    columns = sorted({key for example in examples for key in example.fields})
    annotations = sorted({given.name for example in examples for given in example.annotations or []})
    column = match_name(wanted, columns) if forced != "annotation" else None
    annotation = match_name(wanted, annotations) if forced != "column" else None
    if column is not None and annotation is not None:
        raise ToolError(
            f"human_labels: '{wanted}' is both a column and an annotation of dataset '{dataset}'; pass "
            f"'column:{column}' or 'annotation:{annotation}'"
        )
    if column is None and annotation is None and forced != "column":
        try:
            annotation = (await state.client.annotation_configs.get(wanted)).name
        except (NameNotFoundError, NotFoundError):
            annotation = None
    if column is None and annotation is None:
        raise ToolError(
            f"human_labels: no example of dataset '{dataset}' has a column or an annotation named '{wanted}' "
            f"(columns: {', '.join(columns) or 'none'}; annotations: {', '.join(annotations) or 'none'}); "
            "annotate examples first (annotate), or name the right one"
        )
    return annotation, column


def _resume_point(resume: str | None, scope: str) -> tuple[str | None, int]:
    """The run ``resume`` names and how many disagreements were already shown: a ``next_cursor`` of this
    tool, else a run ID.

    Raises:
        ToolError: a cursor made for other arguments.
    """
    if resume is None:
        return None, 0
    try:
        raw = json.loads(base64.urlsafe_b64decode(resume + "=" * (-len(resume) % 4)))
    except (ValueError, binascii.Error):
        raw = None
    if not (isinstance(raw, dict) and "s" in raw):
        return resume.strip(), 0
    position = decode_cursor(scope, resume)
    return position.backend_cursor, position.skip


@tool_errors
async def align_judge(
    ctx: ToolContext,
    judge: JudgeRef,
    dataset: DatasetRef,
    human_labels: Annotated[str, Field(min_length=1, max_length=512, description="Annotation or column.")],
    column_mappings: ColumnMappingsArg = None,
    timeout_seconds: Annotated[float, Field(ge=1, le=600, description="Max wait.")] = 60,
    resume: Annotated[
        str | None, Field(min_length=1, max_length=2048, description="An earlier run_id or next_cursor.")
    ] = None,
) -> JudgeAlignment:
    """Score a judge against human labels: kappa, confusion matrix, disagreements."""
    state = app_state(ctx)
    client = state.client
    found_dataset = await client.datasets.get(dataset)
    dataset_ref = Ref(id=found_dataset.id, name=found_dataset.name)
    fetched = await client.datasets.list_examples(found_dataset.id, limit=500).to_list(limit=MAX_EXAMPLES + 1)
    notes: list[str] = []
    if len(fetched) > MAX_EXAMPLES:
        notes.append(f"the dataset has more than {MAX_EXAMPLES:,} examples; only the first {MAX_EXAMPLES:,} were read")
    examples = fetched[:MAX_EXAMPLES]
    by_id = {example.id: example for example in examples}
    annotation, label_column = await _label_source(state, examples, human_labels, found_dataset.name)
    source = f"annotation '{annotation}'" if annotation is not None else f"the column '{label_column}'"
    scope = scope_of("align_judge", judge, found_dataset.id, human_labels)
    run_id, shown_before = _resume_point(resume, scope)

    submitted: int | None
    if run_id is None:
        found, config = await template_judge(state, judge, None)
        choices = {k: float(v) for k, v in (config.classification_choices or {}).items()}
        human = {e.id: label for e in examples if (label := _human_label(e, annotation, label_column, choices))}
        if not human:
            raise ToolError(
                f"no example of dataset '{found_dataset.name}' has a human label in {source} ({len(examples)} "
                "examples read); annotate examples first (annotate), or name the right human_labels"
            )
        labelled = [e for e in examples if e.id in human]
        variables = template_variables(config.template or "")
        mappings = _mappings(column_mappings, variables, labelled)
        notes += _check_variables(variables, mappings, labelled)
        if config.llm_config is None or not config.llm_config.ai_integration_id:
            raise ToolError(
                f"judge: '{found.name}' names no AI integration; set one with update_judge(settings="
                "{'ai_integration': …})"
            )
        run_config = _run_configuration(found, config, mappings)
        task, housekeeping = await _alignment_task(state, Ref(id=found.id, name=found.name), found_dataset, run_config)
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
                f"resume: run {run_id} is not an alignment run of a judge on dataset '{found_dataset.name}'; omit "
                "resume to start one"
            )
        found, config = await template_judge(state, judge, str(pinned))
        assert found.version is not None
        if found.version.evaluator_id != found.id:
            raise ToolError(f"resume: run {run_id} aligned another judge, not '{found.name}'")
        choices = {k: float(v) for k, v in (config.classification_choices or {}).items()}
        human = {e.id: label for e in examples if (label := _human_label(e, annotation, label_column, choices))}
        mappings = dict(run_config.get("column_mapping") or {})
        submitted = None
        housekeeping = f"picked up run {run.id} of task '{task.name}'"
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
        return _unfinished(
            base,
            status=exc.last_status or "RUNNING",
            resume=f"align_judge(judge='{found.name}', dataset='{found_dataset.name}', human_labels="
            f"'{human_labels}', resume='{run.id}')",
            housekeeping=housekeeping + "; the task and its experiment stay while the run goes on",
            notes=notes,
        )

    experiment: Ref | None = None
    runs: list[ExperimentRun] = []
    if run.experiment_id:
        found_experiment = await client.experiments.get(run.experiment_id)
        experiment = Ref(id=found_experiment.id, name=found_experiment.name)
        runs = await client.experiments.list_runs(run.experiment_id, limit=500).to_list()
        housekeeping += (
            f"; kept this run's experiment '{found_experiment.name}' (the judge's labels) until the next alignment"
        )
    eval_name = config.name or ""
    reference: list[str] = []
    predicted: list[str] = []
    pairs: list[tuple[str, str, str, str | None]] = []
    errors: Counter[str] = Counter()
    for item in runs:
        label, explanation = _verdict(item, eval_name, choices)
        if label is None:
            errors[cut(item.error, ERROR_CHARS) if item.error else "the judge gave no label"] += 1
            continue
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
    differing = [pair for pair in pairs if pair[1] != pair[2]]
    page: list[Disagreement] = []
    used = 0
    for example_id, human_label, judge_label, explanation in differing[shown_before:]:
        row = Disagreement(
            example_id=example_id,
            inputs=_inputs(by_id.get(example_id), config.template or "", mappings),
            human_label=human_label,
            judge_label=judge_label,
            judge_explanation=explanation,
        )
        used += json_size(row)
        if page and used > DISAGREEMENTS_CHARS:
            break
        page.append(row)
    shown = shown_before + len(page)
    more = shown < len(differing)
    return JudgeAlignment(
        **base,
        experiment=experiment,
        housekeeping=housekeeping,
        status=run.status,
        complete=True,
        failure_reason=run.failure_reason,
        resume=None,
        judge_errors=sum(errors.values()),
        compared=result.count,
        accuracy=result.accuracy,
        kappa=result.kappa,
        kappa_note=result.kappa_note,
        confusion_matrix=[
            ConfusionRow(human=label, judge=dict(zip(result.labels, row, strict=True)))
            for label, row in zip(result.labels, result.matrix, strict=True)
        ],
        per_label=[
            LabelRates(
                label=row.label,
                human_count=row.support,
                judge_count=row.predicted,
                precision=row.precision,
                recall=row.recall,
                f1=row.f1,
            )
            for row in result.per_label
        ],
        disagreements=page,
        disagreements_total=len(differing),
        next_cursor=encode_cursor(scope, Position(run.id, shown)) if more else None,
        error_samples=[f"{message} ({count}×)" for message, count in errors.most_common(ERRORS_SHOWN)],
        notes=notes,
        next_step=(
            "read the disagreements and the judge's explanations, sharpen the prompt with update_judge, then call "
            "align_judge again to compare"
            if differing
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


def _unfinished(
    base: dict[str, Any], *, status: str, resume: str, housekeeping: str, notes: list[str]
) -> JudgeAlignment:
    return JudgeAlignment(
        **base,
        experiment=None,
        housekeeping=housekeeping,
        status=status,
        complete=False,
        failure_reason=None,
        resume=resume,
        judge_errors=0,
        compared=0,
        accuracy=None,
        kappa=None,
        kappa_note=None,
        confusion_matrix=[],
        per_label=[],
        disagreements=[],
        disagreements_total=0,
        next_cursor=None,
        error_samples=[],
        notes=notes,
        next_step=f"call {resume} later for the figures",
    )
