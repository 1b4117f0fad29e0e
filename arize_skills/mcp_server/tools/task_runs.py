"""Task runs as the tools show them: a compact view, a bounded wait with progress, a tally, a diagnosis, labels.

* ``RunInfo`` is a run's status, window, counts, reason and (from the local engine) its sample of per-record
  errors and notes. Reasons and errors come from AX or the engine in REST terms; ``tool_terms`` rewrites the REST
  fields they name (``override_evaluations``, ``data_start_time``…) as the tool parameters that set them.
* ``wait_for_run`` polls through ``client.tasks.wait_for_run`` in stages — every quarter second for the first
  seconds, then every second, then every ``SLOW_POLL`` seconds — so a short run returns almost at once and a long
  one does not flood the backend. Progress goes to the client as (records done, expected total) and only when
  the count grows, since MCP progress must increase.
* ``Tally`` says where every matching record of a run's window went: scored, errors, skipped (already scored),
  left out by the task's ``sampling_rate``, beyond ``max_spans`` — estimated before the run ends, exact after.
* ``diagnose`` turns a run into what happened and what to do, from its status, counts, ``failure_reason`` and
  error sample, and from a ``RunContext`` of what is true of its task and data (continuous or not, spans or
  experiment runs, its sampling rate, a filter fix that was checked to parse and match, the end of the window
  that excluded the spans): advice that does not hold for the task is never given. A cancelled or failed run
  with no reason says the backend gave none and lists what to check.
* ``label_samples`` reads the results the evaluators wrote: ``eval.<name>.label/score/explanation`` on the spans
  of the run's window, or on the experiment runs of a dataset task.
"""

from __future__ import annotations

import re
import time
from collections import Counter
from collections.abc import Sequence
from dataclasses import dataclass
from datetime import datetime, timedelta
from typing import Annotated, Any, Literal, get_args

from pydantic import AfterValidator, BaseModel, ConfigDict, Field

from ...client import AsyncArizeClient
from ...errors import BadRequestError, RunTimeoutError, UnprocessableEntityError
from ...models._base import iso
from ...models.tasks import Task, TaskRun
from ..budget import cut
from ..types import Ref, ToolContext
from .task_checks import EvaluatorInfo, eval_column_path, newest_span

__all__ = [
    "MAX_WAIT_SECONDS",
    "NEWEST_SPAN_LOOKBACK",
    "Cause",
    "Diagnosis",
    "LabelSample",
    "RunContext",
    "RunError",
    "RunInfo",
    "ScoredRecord",
    "Tally",
    "diagnose",
    "label_samples",
    "run_info",
    "tool_terms",
    "wait_for_run",
    "window_hint",
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

    id: str = Field(description="The run's ID.")
    status: str = Field(description="PENDING, RUNNING, COMPLETED, FAILED or CANCELLED.")
    window: str | None = Field(default=None, description="The span window it scores, 'start .. end'.")
    num_successes: int = Field(description="Scored (one per evaluator and record).")
    num_errors: int = Field(description="Could not be scored.")
    num_skipped: int = Field(description="Skipped: they already had results and override was off.")
    finished_at: str | None = Field(default=None, description="When it ended.")
    failure_reason: str | None = Field(default=None, description="Why it FAILED or was CANCELLED.")
    experiment_id: str | None = Field(default=None, description="The experiment it made (run-experiment tasks).")
    errors_sample: list[RunError] = Field(default_factory=list, description="The last per-record errors.")
    notes: list[str] = Field(default_factory=list, description="What else happened.")


_REST_TERMS: tuple[tuple[re.Pattern[str], str], ...] = (
    (re.compile(r"\boverride_evaluations\b"), "override"),
    (re.compile(r"\bdata_start_time\b"), "start_time"),
    (re.compile(r"\bdata_end_time\b"), "end_time"),
    (re.compile(r"\bexperiment_ids\b"), "experiments"),
    (re.compile(r"\(POST /v2/experiments/\S+/runs\)"), "(upload_experiment)"),
    (
        re.compile(r"\(PATCH /v2/ai-integrations/\S+ with a new api_key\)"),
        "(create_ai_integration with the NAME of an environment variable holding it, or the AX UI)",
    ),
    (re.compile(r"\bfix it on the task\b"), "fix it with update_task"),
)


def tool_terms(text: str) -> str:
    """``text`` (a reason or an error from AX or the engine) naming the tool parameters instead of REST fields."""
    for pattern, replacement in _REST_TERMS:
        text = pattern.sub(replacement, text)
    return text


def _time(value: datetime | None) -> str | None:
    return iso(value) if value is not None else None


def window_of(run: TaskRun) -> str | None:
    """The run's span window as ``'start .. end'`` (``None`` for runs over experiments)."""
    if run.data_start_time is None or run.data_end_time is None:
        return None
    return f"{iso(run.data_start_time)} .. {iso(run.data_end_time)}"


def run_info(run: TaskRun, *, full: bool = True) -> RunInfo:
    """The compact view of ``run``; not ``full``: a list row (no error sample or notes, the reason cut)."""
    extra = run.model_extra or {}
    errors = []
    notes: list[str] = []
    if full:
        for item in extra.get("errors_sample") or []:
            if isinstance(item, dict) and item.get("message"):
                errors.append(
                    RunError(
                        record=item.get("record"),
                        evaluator=item.get("evaluator"),
                        message=cut(tool_terms(str(item["message"])), 400, "get_task_runs(run_id=...) shows it"),
                    )
                )
        notes = [tool_terms(str(n)) for n in extra.get("notes") or [] if n]
    reason = tool_terms(run.failure_reason) if run.failure_reason else None
    if reason and not full:
        reason = cut(reason, 300, f"get_task_runs(run_id='{run.id}') shows it whole")
    return RunInfo(
        id=run.id,
        status=run.status.upper(),
        window=window_of(run),
        num_successes=run.num_successes or 0,
        num_errors=run.num_errors or 0,
        num_skipped=run.num_skipped or 0,
        finished_at=_time(run.run_finished_at),
        failure_reason=reason,
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


# --- tally -------------------------------------------------------------------------------------------------------


class Tally(_Strict):
    """Where the matching records of a run's window go, as (evaluator, record) pairs when there are several
    evaluators: scored + errors + skipped + sampled_out + beyond_max_spans (+ unaccounted) = matching once the run
    ended; before, to_score and sampled_out are estimates."""

    in_window: int = Field(description="Records in the window (or the experiments).")
    matching: int = Field(description="Of those, matching the task's and each evaluator's filters.")
    complete: bool = Field(default=True, description="False: counting stopped at 2,000; counts are lower bounds.")
    already_scored: int | None = Field(default=None, description="Matching records that already have results.")
    to_score: int | None = Field(default=None, description="About how many the run scores (before it ends).")
    sampled_out: int | None = Field(default=None, description="Matching records the task's sampling_rate leaves out.")
    beyond_max_spans: int | None = Field(default=None, description="Matching records past max_spans.")
    unaccounted: int | None = Field(default=None, description="Matching records the run neither scored nor skipped.")


@dataclass(frozen=True)
class EvaluatorCount:
    """One evaluator's matching records in a run's window, and how many of them already hold its results."""

    matching: int
    labelled: int


def make_tally(
    in_window: int,
    counts: Sequence[EvaluatorCount],
    *,
    complete: bool,
    limit: int,
    rate: float | None,
    override: bool,
    run: TaskRun | None = None,
) -> Tally:
    """The tally of a run over records counted as ``counts`` (see ``Tally``); after the run when it ended.

    ``rate`` is the sampling rate the run applies (``None``: every record); per-record counts are only known for
    span-shaped tasks and dataset tasks, so callers with other shapes pass the matching total as one count.
    """
    matching = sum(c.matching for c in counts)
    if not complete:
        return Tally(in_window=in_window, matching=matching, complete=False)
    share = rate if rate is not None else 1.0
    kept = [c.matching * share for c in counts]
    beyond = round(sum(max(k - limit, 0.0) for k in kept))
    tally = Tally(
        in_window=in_window,
        matching=matching,
        already_scored=sum(c.labelled for c in counts),
        beyond_max_spans=beyond or None,
        sampled_out=round(sum(c.matching - k for c in counts for k in [c.matching * share])),
    )
    if run is None or not run.is_terminal:
        todo = [(c.matching - (0 if override else c.labelled)) * share for c in counts]
        tally.to_score = round(sum(min(t, limit) for t in todo))
        return tally
    # After the run, the values it wrote count as "already scored" too: the run's own counts say what it skipped.
    tally.already_scored = None
    left = max(matching - beyond - _done(run), 0)
    if rate is not None:
        tally.sampled_out = left
    else:
        tally.sampled_out = 0
        tally.unaccounted = left or None
    return tally


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


def _known_cause(value: str) -> str:
    if value not in get_args(Cause):
        raise ValueError(f"not a Cause: {value!r}")
    return value


class Diagnosis(_Strict):
    """What happened to a run and what to do next."""

    # A plain string in the published schema (the causes are listed in ``Cause``); the text explains itself.
    cause: Annotated[str, AfterValidator(_known_cause)] = Field(description="What kind of outcome (``Cause``).")
    summary: str = Field(description="What happened.")
    most_common_error: str | None = Field(default=None, description="The error most records failed with.")
    next_steps: list[str] = Field(description="What to do, in order.")


@dataclass(frozen=True)
class RunContext:
    """What is true of a run's task and data, so that a diagnosis gives only advice that holds for them."""

    task_name: str | None = None
    dataset_task: bool = False
    is_continuous: bool = False
    sampling_rate: float | None = None
    """The task's rate when below 1 and the run applied it."""
    matching: int | None = None
    """Matching records of the run's window (per evaluator), when counted."""
    beyond_max_spans: int = 0
    filter_fix: str | None = None
    """A task query_filter that was checked to parse and match, for a filter that matched nothing."""
    filter_fix_matches: int = 0
    window_hint: str | None = None
    """Which end of the window excluded the spans and how to move it, for an empty window."""
    window: tuple[str, str] | None = None
    """The run's span window (ISO start and end), so that a step scoring the same spans again names it."""

    @property
    def records(self) -> str:
        """The records the task scores, for messages."""
        return "experiment runs" if self.dataset_task else "spans"

    def call(self, tool: str, **arguments: str) -> str:
        """``tool(task='<name>', k='v'…)`` as the agent would write it (values given already rendered)."""
        parts = ([f"task='{self.task_name}'"] if self.task_name else []) + [f"{k}={v}" for k, v in arguments.items()]
        return f"{tool}({', '.join(parts)})"

    def again(self, **arguments: str) -> str:
        """``trigger_backfill(...)`` over the run's own window (another window would score other records)."""
        if self.window is not None:
            arguments = {"start_time": f"'{self.window[0]}'", "end_time": f"'{self.window[1]}'", **arguments}
        return self.call("trigger_backfill", **arguments)

    def read_labels(self) -> str:
        """Where to read the labels a run wrote."""
        if self.dataset_task:
            return "read the labels in the label sample here (get_experiment shows every run's)"
        return "read the labels in the label sample here (search_spans with a filter on eval.<name>.label lists them)"

    def where_paths_are(self) -> str:
        """Which tool shows what the records carry."""
        return (
            "get_experiment shows the columns the runs carry"
            if self.dataset_task
            else ("search_spans shows the attribute paths real spans carry")
        )


def _most_common(run: TaskRun, info: RunInfo) -> tuple[str, int] | None:
    messages = Counter(e.message for e in info.errors_sample)
    if messages:
        return messages.most_common(1)[0]
    reason = tool_terms(run.failure_reason or "")
    marker = "the most common error"
    if marker in reason:
        tail = reason.split(marker, 1)[1]
        message = tail.split(":", 1)[1].strip() if ":" in tail else tail.strip()
        return (message, 0) if message else None
    return None


def fix_for(message: str, context: RunContext) -> str:
    """What to do about one per-record error message."""
    low = message.lower()
    again = context.again(override="true")
    if "has no value" in low or "no mapping" in low or "column_mappings" in low:
        return (
            "a variable has no value on those records: correct the evaluator's column_mappings with update_task "
            f"({context.where_paths_are()}), or narrow the task's query_filter to records that carry it; then "
            f"{again}"
        )
    if "judge call failed" in low or "provider" in low or "rate limit" in low or "timed out" in low:
        return (
            "the LLM calls failed: check the AI integration (key, base URL) and the judge's model name, then "
            "trigger again (with a smaller max_spans if the provider was rate limiting)"
        )
    if "label" in low or "judge's answer" in low or "judge gave no answer" in low:
        return (
            "the judge answered without one of its labels: make the template ask for exactly one of the labels "
            f"(update_judge), check it with preview_judge, then {again}"
        )
    if "internal error" in low:
        return "the backend failed on these records: see the engine log (arize-skills engine) and report it"
    if "deleted after" in low:
        return "those records were deleted while the run went; nothing to fix"
    return "fix what the error names, then trigger again"


def _no_reason_checks(context: RunContext) -> list[str]:
    checks = [
        "the AI integration's credentials: an integration whose key the provider refuses stops runs within seconds "
        "(find(kind='ai_integration') shows whether a key is stored)",
        "the judge's model name: it must exist for the integration's provider",
    ]
    if context.dataset_task:
        checks.append(
            "the column mappings: every template variable must map to a column the experiment runs or their "
            "examples carry (get_experiment shows them)"
        )
    else:
        checks += [
            "the column mappings: every template variable must map to a path real spans carry (update_task checks "
            "this against recent spans; search_spans shows the paths)",
            "the window: its start must be a real recent time, not the epoch, and spans must exist in it",
            "the evaluator's data granularity against the filter (a span filter on a trace- or session-level "
            "evaluator selects nothing)",
        ]
    checks.append(
        "for custom code evaluators: the import path and an evaluate() with named keyword arguments (a wrong one "
        "cancels the run at 0/0/0 within seconds)"
    )
    return checks


def _duration(run: TaskRun) -> float | None:
    if run.run_started_at is None or run.run_finished_at is None:
        return None
    return (run.run_finished_at - run.run_started_at).total_seconds()


def _no_reason(run: TaskRun, status: str, counts: str, context: RunContext) -> Diagnosis:
    took = _duration(run)
    hint = ""
    steps = _no_reason_checks(context)
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
        next_steps=[f"check {step}" for step in steps] + [f"then {context.call('trigger_backfill')} again"],
    )


def _left_out(run: TaskRun, context: RunContext) -> int:
    """Matching records the task's sampling left out of a finished run (0 when it does not sample)."""
    if context.sampling_rate is None or context.matching is None:
        return 0
    return max(context.matching - context.beyond_max_spans - _done(run), 0)


def _scored(s: int, k: int, run: TaskRun, context: RunContext) -> Diagnosis:
    left = _left_out(run, context)
    summary = f"The run completed: {s} scored, no errors" + (f", {k} skipped (already scored)" if k else "")
    steps = [context.read_labels()]
    if left:
        summary += (
            f"; sampling_rate {context.sampling_rate:g} left out {left} of the {context.matching} matching "
            f"{context.records}"
        )
        steps.append(f"{context.again(ignore_sampling='true')} scores the {left} left out")
    if not context.dataset_task and not context.is_continuous:
        steps.append(
            f"if they look right, {context.call('update_task', is_continuous='true')} scores new spans as they arrive"
        )
    return Diagnosis(cause="scored", summary=summary + ".", next_steps=steps)


def _completed(run: TaskRun, info: RunInfo, context: RunContext, common: str | None) -> Diagnosis:
    s, e, k = info.num_successes, info.num_errors, info.num_skipped
    most = f"; the most common error: {common}" if common else ""
    if e and s:
        return Diagnosis(
            cause="scored_with_errors",
            summary=f"The run completed: {s} scored, but {e} could not be scored{most}.",
            most_common_error=common,
            next_steps=([fix_for(common, context)] if common else []) + [context.read_labels()],
        )
    if e:
        return Diagnosis(
            cause="all_records_failed",
            summary=f"The run completed but none of its {e} records could be scored{most}.",
            most_common_error=common,
            next_steps=[fix_for(common or "", context)],
        )
    if s:
        return _scored(s, k, run, context)
    if k:
        return Diagnosis(
            cause="already_scored",
            summary=f"The run completed without scoring anything: all {k} records already had results.",
            next_steps=[_override_step(context)],
        )
    if _left_out(run, context):
        return _sampled_nothing(f"The run completed with 0 {context.records} scored.", context)
    if context.dataset_task:
        steps = [
            "get_experiment shows whether the experiments hold runs (upload_experiment adds them)",
            f"then {context.call('trigger_backfill')} again",
        ]
    else:
        steps = [
            "on Arize AX, new spans take a while (1-2 h) to be indexed for tasks: trigger again later, or move the "
            "window further back",
            "search_spans with the run's start_time and end_time shows whether the window holds spans",
        ]
    return Diagnosis(
        cause="nothing_scored", summary=f"The run completed with 0 {context.records} scored (0/0/0).", next_steps=steps
    )


def _override_step(context: RunContext) -> str:
    return (
        f"{context.again(override='true')} scores them again (it asks first when they hold "
        "values this task did not write)"
    )


def _sampled_nothing(summary: str, context: RunContext) -> Diagnosis:
    rate = f"sampling_rate {context.sampling_rate:g}" if context.sampling_rate is not None else "the sampling rate"
    matching = f" of the {context.matching} matching {context.records}" if context.matching else ""
    return Diagnosis(
        cause="sampling_kept_nothing",
        summary=f"{summary} {rate} kept none{matching}.",
        next_steps=[
            f"{context.again(ignore_sampling='true')} scores every matching span of the window once",
            "or raise sampling_rate with update_task, or widen the window",
        ],
    )


def _cancelled(reason: str, counts: str, s: int, context: RunContext) -> Diagnosis:
    low = reason.lower()
    again = context.call("trigger_backfill")
    if "cancelled by user" in low or "canceled by user" in low:
        kept = f"{s} results it stored are kept" if s else "it had stored no results"
        return Diagnosis(
            cause="cancelled_by_user",
            summary=f"The run was cancelled by a user ({counts}); {kept}.",
            next_steps=[f"{again} again when you want the rest scored (records already scored are skipped)"],
        )
    if "override" in low and "already" in low:
        return Diagnosis(
            cause="already_scored",
            summary=f"Nothing was scored: every record selected already had results. {reason}",
            next_steps=[_override_step(context)],
        )
    if "match the filter" in low or "matches the filter" in low or "matches the task's query_filters" in low:
        if context.filter_fix:
            fix = (
                f"{context.call('update_task', query_filter=chr(34) + context.filter_fix + chr(34))} — that filter "
                f"parses and matches {context.filter_fix_matches} {context.records} in the run's window; then "
                f"{again} again"
            )
        else:
            fix = (
                f"fix the task's query_filter (or the evaluator's) with update_task — {context.where_paths_are()} — "
                f"then {again} again"
            )
        return Diagnosis(
            cause="filter_matched_nothing",
            summary=f"Nothing was scored: the filter matched no record. {reason}",
            next_steps=[fix],
        )
    if "sampling_rate" in low:
        return _sampled_nothing("Nothing was scored:", context)
    if any(m in low for m in ("holds no spans", "has no spans", "no span was received", "hold no runs")):
        if context.dataset_task:
            step = f"upload runs to the experiments (upload_experiment), then {again} again"
        else:
            step = context.window_hint or (
                f"search_spans shows where the project's spans are: move the window onto them and {again} again"
            )
        return Diagnosis(
            cause="empty_window",
            summary=f"Nothing was scored: there was nothing to score in the run's data. {reason}",
            next_steps=[step],
        )
    return Diagnosis(
        cause="other", summary=f"The run was cancelled ({counts}): {reason}", next_steps=[fix_for(reason, context)]
    )


def _failed(reason: str, counts: str, context: RunContext, common: str | None) -> Diagnosis:
    low = reason.lower()
    again = f"then {context.call('trigger_backfill')} again"
    if any(m in low for m in ("credential", "api key", "api_key", "unauthorized", "401", "403")):
        return Diagnosis(
            cause="credentials",
            summary=f"The run failed because the LLM provider refused the AI integration's credentials. {reason}",
            next_steps=[
                "store a valid key on the AI integration (create_ai_integration takes the NAME of an environment "
                "variable holding the key; on Arize AX you can also update it in the UI)",
                again,
            ],
        )
    if "could not reach" in low or "unreachable" in low:
        return Diagnosis(
            cause="provider_unreachable",
            summary=f"The run failed because the LLM provider could not be reached. {reason}",
            next_steps=[f"check the AI integration's base URL and that the provider is up, {again}"],
        )
    if low.startswith("all ") and "failed" in low:
        return Diagnosis(
            cause="all_records_failed",
            summary=f"Every record failed. {reason}",
            most_common_error=common,
            next_steps=[fix_for(common or reason, context)],
        )
    setup = ("no longer exists", "no longer compiles", "does not parse", "pinned version", "has no version", "cannot")
    if any(m in low for m in setup):
        return Diagnosis(
            cause="setup_problem",
            summary=f"The run could not start. {reason}",
            next_steps=[f"fix what the reason names (update_task can re-point evaluators), {again}"],
        )
    return Diagnosis(
        cause="other", summary=f"The run failed ({counts}): {reason}", next_steps=[fix_for(reason, context)]
    )


def diagnose(run: TaskRun, context: RunContext | None = None) -> Diagnosis:
    """What happened to ``run`` and what to do, true of the task and data ``context`` describes."""
    context = context or RunContext()
    info = run_info(run)
    status = info.status
    s, e, k = info.num_successes, info.num_errors, info.num_skipped
    counts = f"{s} scored, {e} errors, {k} skipped"
    reason = tool_terms((run.failure_reason or "").strip())
    common = _most_common(run, info)
    common_text = common[0] if common else None
    if status in ("PENDING", "RUNNING"):
        return Diagnosis(
            cause="running",
            summary=f"The run is {status} ({counts} so far).",
            next_steps=[
                f"get_task_runs(run_id='{run.id}', wait_seconds=120) waits for it; cancel_task_run(run_id='{run.id}') "
                "stops it"
            ],
        )
    if status == "COMPLETED":
        return _completed(run, info, context, common_text)
    if not reason:
        return _no_reason(run, status, counts, context)
    if status == "CANCELLED":
        return _cancelled(reason, counts, s, context)
    return _failed(reason, counts, context, common_text)


NEWEST_SPAN_LOOKBACK = timedelta(days=90)


async def window_hint(
    client: AsyncArizeClient, project: Ref, start: datetime, end: datetime, now: datetime, task_name: str
) -> str:
    """Where a project's newest span is against an empty window ``start`` .. ``end``, naming the end to move."""
    newest = await newest_span(client, project.id, now - NEWEST_SPAN_LOOKBACK, now)
    days = NEWEST_SPAN_LOOKBACK.days
    if newest is None:
        return (
            f"project '{project.name}' has no spans in the last {days} days: send traces to it first (search_spans "
            "shows what arrived)"
        )
    head = f"the newest span of the last {days} days started at {iso(newest)}"
    if newest < start:
        earlier = iso(newest - timedelta(hours=1))
        return f"{head}, before the window: trigger_backfill(task='{task_name}', start_time='{earlier}') covers it"
    return (
        f"{head}, after the window: move end_time past it (or omit end_time to end the window now) in "
        f"trigger_backfill(task='{task_name}', ...)"
    )


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
