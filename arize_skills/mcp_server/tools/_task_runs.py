"""Task runs as the tools show them: a compact view, a bounded wait with progress, a diagnosis, scored labels.

* ``RunInfo`` is a run's status, window, counts, reason and (from the local engine) its sample of per-record
  errors and notes.
* ``wait_for_run`` polls through ``client.tasks.wait_for_run`` in stages — every quarter second for the first
  seconds, then every second, then every ``SLOW_POLL`` seconds — so a short run returns almost at once and a long
  one does not flood the backend. Progress goes to the client as (records done, expected total) and only when
  the count grows, since MCP progress must increase.
* ``diagnose`` turns a run into what happened and what to do, from its status, counts, ``failure_reason`` and
  error sample. A cancelled or failed run with no reason says the backend gave none and lists what to check
  (the silent failure of a run cancelled without a reason).
* ``label_samples`` reads the results the evaluators wrote: ``eval.<name>.label/score/explanation`` on the spans
  of the run's window, or on the experiment runs of a dataset task.
"""

from __future__ import annotations

import time
from collections import Counter
from collections.abc import Sequence
from datetime import datetime
from typing import Any, Literal

from pydantic import BaseModel, ConfigDict, Field

from ...client import AsyncArizeClient
from ...errors import BadRequestError, RunTimeoutError, UnprocessableEntityError
from ...models._base import iso
from ...models.tasks import Task, TaskRun
from ..budget import cut
from ..types import ToolContext
from ._task_checks import EvaluatorInfo, eval_column_path

__all__ = [
    "MAX_WAIT_SECONDS",
    "Diagnosis",
    "LabelSample",
    "RunError",
    "RunInfo",
    "ScoredRecord",
    "diagnose",
    "label_samples",
    "run_info",
    "wait_for_run",
]

MAX_WAIT_SECONDS = 600
SLOW_POLL = 5.0
_STAGES: tuple[tuple[float, float | None], ...] = ((0.25, 3.0), (1.0, 30.0), (SLOW_POLL, None))
"""(poll interval, how long to poll at it); the last stage lasts until the deadline."""

LABEL_SAMPLE_SIZE = 50
EXAMPLES_SHOWN = 3


class _Strict(BaseModel):
    model_config = ConfigDict(extra="forbid")


class RunError(_Strict):
    """One record a run could not score."""

    record: str | None = Field(default=None, description="The record (span or experiment run) that failed.")
    evaluator: str | None = Field(default=None, description="The evaluator that failed on it.")
    message: str = Field(description="Why it failed.")


class RunInfo(_Strict):
    """A task run: status, data window, counts and reason."""

    id: str = Field(description="The run's ID (pass it to get_task_run or cancel_task_run).")
    task_id: str = Field(description="The ID of the run's task.")
    status: str = Field(description="PENDING, RUNNING, COMPLETED, FAILED or CANCELLED.")
    data_start_time: str | None = Field(description="Start of the span window it scores (project tasks).")
    data_end_time: str | None = Field(description="End of the span window it scores (project tasks).")
    num_successes: int = Field(description="Records scored (one per evaluator and record).")
    num_errors: int = Field(description="Records that could not be scored.")
    num_skipped: int = Field(description="Records skipped (already scored, and override was off).")
    run_started_at: str | None = Field(description="When it started running.")
    run_finished_at: str | None = Field(description="When it finished.")
    failure_reason: str | None = Field(description="Why it FAILED or was CANCELLED, as the backend says.")
    experiment_id: str | None = Field(default=None, description="The experiment it made (run-experiment tasks).")
    errors_sample: list[RunError] = Field(
        default_factory=list, description="The last few per-record errors (the local engine keeps them)."
    )
    notes: list[str] = Field(default_factory=list, description="What else happened (e.g. resumed after a restart).")


def _time(value: datetime | None) -> str | None:
    return iso(value) if value is not None else None


def run_info(run: TaskRun) -> RunInfo:
    """The compact view of ``run``."""
    extra = run.model_extra or {}
    errors = []
    for item in extra.get("errors_sample") or []:
        if isinstance(item, dict) and item.get("message"):
            errors.append(
                RunError(
                    record=item.get("record"),
                    evaluator=item.get("evaluator"),
                    message=cut(str(item["message"]), 400, "get_task_run shows the latest errors"),
                )
            )
    notes = [str(n) for n in extra.get("notes") or [] if n]
    return RunInfo(
        id=run.id,
        task_id=run.task_id,
        status=run.status.upper(),
        data_start_time=_time(run.data_start_time),
        data_end_time=_time(run.data_end_time),
        num_successes=run.num_successes or 0,
        num_errors=run.num_errors or 0,
        num_skipped=run.num_skipped or 0,
        run_started_at=_time(run.run_started_at),
        run_finished_at=_time(run.run_finished_at),
        failure_reason=run.failure_reason,
        experiment_id=run.experiment_id,
        errors_sample=errors,
        notes=notes,
    )


def _done(run: TaskRun) -> int:
    return (run.num_successes or 0) + (run.num_errors or 0) + (run.num_skipped or 0)


def _progress_text(run: TaskRun) -> str:
    return (
        f"{run.status.upper()}: {run.num_successes or 0} scored, {run.num_errors or 0} errors, "
        f"{run.num_skipped or 0} skipped"
    )


async def wait_for_run(
    ctx: ToolContext, client: AsyncArizeClient, run: TaskRun, seconds: float, *, total: int | None = None
) -> TaskRun:
    """Poll ``run`` until it is terminal or ``seconds`` passed, reporting progress; the last run seen.

    ``total`` is the number of (evaluator, record) pairs the run is expected to take, when known.
    """
    last = [run]
    reported = [-1]

    async def on_poll(polled: TaskRun) -> None:
        last[0] = polled
        done = _done(polled)
        if done <= reported[0]:
            return
        reported[0] = done
        whole = total if total is not None and total >= done else None
        if polled.is_terminal and done:
            whole = done
        await ctx.report_progress(done, whole, _progress_text(polled))

    deadline = time.monotonic() + seconds
    for interval, length in _STAGES:
        remaining = deadline - time.monotonic()
        if remaining <= 0:
            break
        span = remaining if length is None else min(length, remaining)
        try:
            return await client.tasks.wait_for_run(
                run.id, poll_interval=min(interval, span), timeout=span, on_poll=on_poll
            )
        except RunTimeoutError:
            continue
    return last[0]


# --- diagnosis ---------------------------------------------------------------------------------------------------

Cause = Literal[
    "running",
    "scored",
    "scored_with_errors",
    "nothing_scored",
    "already_scored",
    "empty_window",
    "filter_matched_nothing",
    "sampling_kept_nothing",
    "cancelled_by_user",
    "credentials",
    "provider_unreachable",
    "all_records_failed",
    "setup_problem",
    "no_reason_given",
    "other",
]


class Diagnosis(_Strict):
    """What happened to a run and what to do next."""

    cause: Cause = Field(
        description="running; scored; scored_with_errors; nothing_scored (0/0/0: on AX often index lag); "
        "already_scored (everything had results: re-trigger with override); empty_window; filter_matched_nothing; "
        "sampling_kept_nothing; cancelled_by_user; credentials (the AI integration's key was refused); "
        "provider_unreachable; all_records_failed; setup_problem (a deleted integration, version or project); "
        "no_reason_given (the backend said nothing: see next_steps); other."
    )
    summary: str = Field(description="What happened, in one or two sentences.")
    most_common_error: str | None = Field(default=None, description="The error most records failed with, if any.")
    next_steps: list[str] = Field(description="What to do, in order.")


def _most_common(run: TaskRun, info: RunInfo) -> tuple[str, int] | None:
    messages = Counter(e.message for e in info.errors_sample)
    if messages:
        return messages.most_common(1)[0]
    reason = run.failure_reason or ""
    marker = "the most common error"
    if marker in reason:
        tail = reason.split(marker, 1)[1]
        message = tail.split(":", 1)[1].strip() if ":" in tail else tail.strip()
        return (message, 0) if message else None
    return None


def fix_for(message: str) -> str:
    """What to do about one per-record error message."""
    low = message.lower()
    if "has no value" in low or "no mapping" in low or "column_mappings" in low:
        return (
            "a variable has no value on those records: correct the evaluator's column_mappings with update_task "
            "(search_spans shows the attribute paths real spans carry), or narrow the task's query_filter to "
            "records that carry it; then trigger_backfill again with override=true"
        )
    if "judge call failed" in low or "provider" in low or "rate limit" in low or "timed out" in low:
        return (
            "the LLM calls failed: check the AI integration (key, base URL) and the judge's model name, then "
            "trigger again (with a smaller max_spans if the provider was rate limiting)"
        )
    if "label" in low or "judge's answer" in low or "judge gave no answer" in low:
        return (
            "the judge answered without one of its labels: make the template ask for exactly one of the labels "
            "(update_judge), check it with preview_judge, then trigger again with override=true"
        )
    if "internal error" in low:
        return "the backend failed on these records: see the engine log (arize-skills engine) and report it"
    if "deleted after" in low:
        return "those records were deleted while the run went; nothing to fix"
    return "fix what the error names, then trigger again"


_NO_REASON_CHECKS = [
    "the AI integration's credentials: an integration whose key the provider refuses stops runs within seconds "
    "(find(kind='ai_integration') shows whether a key is stored)",
    "the judge's model name: it must exist for the integration's provider",
    "the column mappings: every template variable must map to a path real spans carry (update_task checks this "
    "against recent spans; search_spans shows the paths)",
    "the window: its start must be a real recent time, not the epoch, and spans must exist in it",
    "the evaluator's data granularity against the filter (a span filter on a trace- or session-level evaluator "
    "selects nothing)",
    "for custom code evaluators: the import path and an evaluate() with named keyword arguments (a wrong one "
    "cancels the run at 0/0/0 within seconds)",
]


def _duration(run: TaskRun) -> float | None:
    if run.run_started_at is None or run.run_finished_at is None:
        return None
    return (run.run_finished_at - run.run_started_at).total_seconds()


def _no_reason(run: TaskRun, status: str, counts: str) -> Diagnosis:
    took = _duration(run)
    hint = ""
    steps = list(_NO_REASON_CHECKS)
    if took is not None and took <= 10:
        hint = (
            f" It ended {took:.0f} s after it started, which usually means the credentials were refused or a code "
            "evaluator failed to load."
        )
    elif took is not None and took >= 120:
        hint = f" It ended after {took / 60:.0f} min, which usually means the LLM calls kept failing."
        steps.insert(0, steps.pop(1))
    return Diagnosis(
        cause="no_reason_given",
        summary=f"The run ended {status} ({counts}) and the backend gave no reason.{hint}",
        next_steps=[f"check {step}" for step in steps] + ["then trigger_backfill again"],
    )


def diagnose(run: TaskRun, *, dataset_task: bool = False) -> Diagnosis:
    """What happened to ``run`` and what to do (see the module docstring)."""
    info = run_info(run)
    status = info.status
    s, e, k = info.num_successes, info.num_errors, info.num_skipped
    counts = f"{s} scored, {e} errors, {k} skipped"
    reason = (run.failure_reason or "").strip()
    low = reason.lower()
    records = "experiment runs" if dataset_task else "spans"
    common = _most_common(run, info)
    common_text = common[0] if common else None
    if status in ("PENDING", "RUNNING"):
        return Diagnosis(
            cause="running",
            summary=f"The run is {status} ({counts} so far).",
            next_steps=[
                f"call get_task_run(run_id='{run.id}', wait_seconds=120) to wait for it, or cancel_task_run to stop it"
            ],
        )
    if status == "COMPLETED":
        if e and s:
            steps = [fix_for(common_text)] if common_text else []
            return Diagnosis(
                cause="scored_with_errors",
                summary=f"The run completed: {s} scored, but {e} could not be scored"
                + (f"; the most common error: {common_text}" if common_text else "")
                + ".",
                most_common_error=common_text,
                next_steps=steps + ["read the labels with search_spans or get_task_run's label sample"],
            )
        if e:
            return Diagnosis(
                cause="all_records_failed",
                summary=f"The run completed but none of its {e} records could be scored"
                + (f"; the most common error: {common_text}" if common_text else "")
                + ".",
                most_common_error=common_text,
                next_steps=[fix_for(common_text or "")],
            )
        if s:
            return Diagnosis(
                cause="scored",
                summary=f"The run completed: {s} scored, no errors"
                + (f", {k} skipped (already scored)" if k else "")
                + ".",
                next_steps=[
                    "read the labels (label_samples here, or search_spans with a filter on eval.<name>.label)",
                    "if they look right, turn on continuous scoring with update_task(is_continuous=true)",
                ],
            )
        if k:
            return Diagnosis(
                cause="already_scored",
                summary=f"The run completed without scoring anything: all {k} records already had results.",
                next_steps=["trigger_backfill again with override=true to score them again"],
            )
        return Diagnosis(
            cause="nothing_scored",
            summary=f"The run completed with 0 {records} scored (0/0/0).",
            next_steps=[
                "on Arize AX, new spans take a while (1-2 h) to be indexed for tasks: wait and trigger again, or "
                "move the window further back",
                "check that the window holds spans (search_spans with the same start_time and end_time)",
            ],
        )
    if not reason:
        return _no_reason(run, status, counts)
    if status == "CANCELLED":
        if "cancelled by user" in low or "canceled by user" in low:
            kept = f"{s} results it stored are kept" if s else "it had stored no results"
            return Diagnosis(
                cause="cancelled_by_user",
                summary=f"The run was cancelled by a user ({counts}); {kept}.",
                next_steps=[
                    "trigger_backfill again when you want the rest scored (already scored records are skipped)"
                ],
            )
        if "override_evaluations" in low:
            return Diagnosis(
                cause="already_scored",
                summary=f"Nothing was scored (0/0/0): every record selected already had results. {reason}",
                next_steps=["trigger_backfill again with override=true to score them again"],
            )
        if "matches the filter" in low or "match the filter" in low:
            return Diagnosis(
                cause="filter_matched_nothing",
                summary=f"Nothing was scored: the filter matched no record. {reason}",
                next_steps=[
                    "fix the task's query_filter (or the evaluator's) with update_task, checking it against real "
                    "spans with search_spans",
                    "then trigger_backfill again",
                ],
            )
        if "sampling_rate" in low:
            return Diagnosis(
                cause="sampling_kept_nothing",
                summary=f"Nothing was scored: the sampling rate kept no record. {reason}",
                next_steps=["raise sampling_rate with update_task, or widen the window, then trigger again"],
            )
        if any(m in low for m in ("holds no spans", "has no spans", "no span was received", "hold no runs")):
            return Diagnosis(
                cause="empty_window",
                summary=f"Nothing was scored: there was nothing to score in the run's data. {reason}",
                next_steps=[
                    "widen the window (an earlier start_time) to where spans are — search_spans shows them — "
                    "and trigger_backfill again"
                    if not dataset_task
                    else "upload runs to the experiments (upload_experiment), then trigger again",
                ],
            )
        return Diagnosis(
            cause="other", summary=f"The run was cancelled ({counts}): {reason}", next_steps=[fix_for(reason)]
        )
    # FAILED
    if any(m in low for m in ("credential", "api key", "api_key", "unauthorized", "401", "403")):
        return Diagnosis(
            cause="credentials",
            summary=f"The run failed because the LLM provider refused the AI integration's credentials. {reason}",
            next_steps=[
                "store a valid key on the AI integration (create_ai_integration takes the NAME of an environment "
                "variable holding the key; on Arize AX you can also update it in the UI)",
                "then trigger_backfill again",
            ],
        )
    if "could not reach" in low or "unreachable" in low:
        return Diagnosis(
            cause="provider_unreachable",
            summary=f"The run failed because the LLM provider could not be reached. {reason}",
            next_steps=["check the AI integration's base URL and that the provider is up, then trigger again"],
        )
    if low.startswith("all ") and "failed" in low:
        return Diagnosis(
            cause="all_records_failed",
            summary=f"Every record failed. {reason}",
            most_common_error=common_text,
            next_steps=[fix_for(common_text or reason)],
        )
    setup = ("no longer exists", "no longer compiles", "does not parse", "pinned version", "has no version", "cannot")
    if any(m in low for m in setup):
        return Diagnosis(
            cause="setup_problem",
            summary=f"The run could not start. {reason}",
            next_steps=["fix what the reason names (update_task can re-point evaluators), then trigger again"],
        )
    return Diagnosis(cause="other", summary=f"The run failed ({counts}): {reason}", next_steps=[fix_for(reason)])


# --- scored labels -----------------------------------------------------------------------------------------------


class ScoredRecord(_Strict):
    """One record's result from an evaluator."""

    record_id: str = Field(description="The span ID (project tasks) or experiment run ID (dataset tasks).")
    label: str | None = Field(description="The label the evaluator gave.")
    score: float | None = Field(description="The score of that label.")
    explanation: str | None = Field(description="The judge's explanation (cut to 200 characters).")


class LabelSample(_Strict):
    """The labels one evaluator wrote, read back from the records."""

    evaluator: str = Field(description="The evaluator's name.")
    eval_column: str = Field(description="The column the results are in (eval.<name>).")
    sampled: int = Field(description="How many scored records were read (the most recent, at most 50).")
    label_counts: dict[str, int] = Field(description="How many of them got each label.")
    mean_score: float | None = Field(description="The mean score over them (null when there are no scores).")
    examples: list[ScoredRecord] = Field(description="A few of them, with explanations.")


def _label_sample(evaluator: EvaluatorInfo, results: Sequence[tuple[str, dict[str, Any]]]) -> LabelSample:
    labels: Counter[str] = Counter()
    scores: list[float] = []
    for _, result in results:
        labels[str(result.get("label"))] += 1
        if isinstance(result.get("score"), int | float):
            scores.append(float(result["score"]))
    examples = [
        ScoredRecord(
            record_id=record_id,
            label=result.get("label"),
            score=result.get("score"),
            explanation=cut(str(result["explanation"]), 200, "search_spans shows it whole")
            if result.get("explanation")
            else None,
        )
        for record_id, result in results[:EXAMPLES_SHOWN]
    ]
    return LabelSample(
        evaluator=evaluator.name,
        eval_column=f"eval.{evaluator.eval_name}",
        sampled=len(results),
        label_counts=dict(labels.most_common()),
        mean_score=round(sum(scores) / len(scores), 4) if scores else None,
        examples=examples,
    )


async def _span_results(
    client: AsyncArizeClient, task: Task, run: TaskRun, evaluator: EvaluatorInfo
) -> list[tuple[str, dict[str, Any]]]:
    assert task.project_id is not None
    columns = [f"eval.{evaluator.eval_name}.{c}" for c in ("label", "score", "explanation")]
    scored_filter: str | None = f"{eval_column_path(evaluator.eval_name, 'label')} IS NOT NULL"
    while True:
        try:
            page = await client.spans.list(
                task.project_id,
                start_time=run.data_start_time,
                end_time=run.data_end_time,
                filter=scored_filter,
                included_columns=columns,
                limit=LABEL_SAMPLE_SIZE,
            )
            break
        except (BadRequestError, UnprocessableEntityError):
            # A backend whose filter language lacks IS NOT NULL: read the newest spans and keep the scored ones.
            if scored_filter is None:
                raise
            scored_filter = None
    found = []
    for span in page.items:
        for evaluation in span.evaluations:
            if evaluation.name == evaluator.eval_name and (
                evaluation.label is not None or evaluation.score is not None
            ):
                found.append((span.context.span_id, evaluation.model_dump()))
    return found


async def _run_results(
    client: AsyncArizeClient, task: Task, evaluator: EvaluatorInfo
) -> list[tuple[str, dict[str, Any]]]:
    found = []
    for experiment_id in task.experiment_ids:
        page = await client.experiments.list_runs(experiment_id, limit=LABEL_SAMPLE_SIZE)
        for item in page.items:
            result = item.evaluation(evaluator.eval_name)
            if result["label"] is not None or result["score"] is not None:
                found.append((item.id, result))
    return found[:LABEL_SAMPLE_SIZE]


async def label_samples(
    client: AsyncArizeClient, task: Task, run: TaskRun, evaluators: Sequence[EvaluatorInfo]
) -> list[LabelSample]:
    """The labels each evaluator wrote on the records of ``run`` (spans of its window, or experiment runs)."""
    samples = []
    for evaluator in evaluators:
        if task.project_id is not None:
            if run.data_start_time is None or run.data_end_time is None:
                continue
            results = await _span_results(client, task, run, evaluator)
        else:
            results = await _run_results(client, task, evaluator)
        samples.append(_label_sample(evaluator, results))
    return samples
