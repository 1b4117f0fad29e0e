"""``annotate``: write human labels on spans, dataset examples or experiment runs.

Spans, examples and runs behave the same way: every record is looked up first, the ones found are written and the
others reported by ID with the reason (AX silently ignores unknown example and run IDs, and rejects a whole span
batch over one unknown span). Labels are the user's data, so two rules guard them:

- Replacing values the records already hold for the config (a person's labels, say) needs the user's yes
  (``confirm`` + elicitation); writing where there was nothing, or the same values again, does not.
- A write is all or nothing as far as the tool can see: when a request fails after earlier ones landed, the
  records already written are put back as they were (their prior values, read during the look-up; records that
  held none are set back to nothing). TRACE and SESSION values cannot be told apart on a span read, so there (and
  when putting back fails too) the error names how many records were written and that the same call, retried,
  completes the write — annotating is an upsert, and the retry writes the same values.
"""

from __future__ import annotations

from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass
from datetime import datetime, timedelta
from typing import Annotated, Any, Literal

from mcp.server.mcpserver import MCPServer, Resolve
from mcp.server.mcpserver.exceptions import ToolError
from pydantic import BaseModel, ConfigDict, Field

from ...client import AsyncArizeClient
from ...errors import ArizeSkillsError
from ...evals.mapping import MISSING, span_value, span_view_of
from ...foundation.chunks import chunked
from ...models.annotation_configs import AnnotationConfig
from ...models.annotations import (
    ANNOTATE_BATCH,
    SESSION_ANNOTATE_BATCH,
    SESSION_ANNOTATE_WINDOW,
    SPAN_ANNOTATE_WINDOW,
    Annotation,
)
from ...models.filters import any_of
from ...models.spans import Span
from ..confirm import Approval, approval
from ..errors import tool_errors
from ..state import AppState, app_state
from ..types import Confirm, Ref, ToolContext, ToolResult, parse_time
from . import register_tool
from .setup import existing_config
from .traces import TimeWindow

__all__ = ["AnnotateResult", "UnmatchedRecords", "annotate", "register"]

LOOKUP_CHUNK = 50
"""Record IDs looked up per filter query (``id = 'a' OR id = 'b' ...``)."""
LOOKUP_PAGE = 500
CLEARED: dict[str, Any] = {"label": None, "score": None, "text": None}
"""What puts back a record that held no value for the config: every field null (the engine then drops it)."""
UNMATCHED_ID_CHARS = 4000
"""Unmatched record IDs are listed up to about this many characters (with the count of all of them)."""
CLOCK_MARGIN = timedelta(minutes=5)
"""Kept off AX's window limit, so a server clock a little behind AX's does not make the window too long."""

Target = Literal["spans", "examples", "runs"]
Granularity = Literal["SPAN", "TRACE", "SESSION"]
Prior = dict[str, dict[str, Any]]
"""Record ID → the values (``label``, ``score``, ``text``) it held for the config before the write; a record
absent from it held none."""


class UnmatchedRecords(BaseModel):
    """Record IDs that matched nothing, for one reason."""

    model_config = ConfigDict(extra="forbid")

    reason: str = Field(description="Why they matched nothing.")
    count: int = Field(description="How many record IDs matched nothing for this reason.")
    ids: list[str] = Field(description="The first of them (all, unless the list is long).")


class AnnotateResult(ToolResult):
    """What was annotated, and which record IDs matched nothing."""

    target: Literal["spans", "examples", "runs"] = Field(description="What was annotated.")
    project: Ref | None = Field(default=None, description="The project (spans).")
    dataset: Ref | None = Field(default=None, description="The dataset (examples).")
    experiment: Ref | None = Field(default=None, description="The experiment (runs).")
    granularity: str | None = Field(default=None, description="SPAN, TRACE or SESSION (spans).")
    window: TimeWindow | None = Field(default=None, description="The window spans were looked up in (spans).")
    annotation_config: Ref = Field(description="The annotation config written.")
    records: int = Field(description="How many record IDs were given.")
    matched: int = Field(description="How many of them were found and annotated (upserted).")
    replaced: int = Field(default=0, description="How many of those held another value, replaced once approved.")
    unmatched_count: int = Field(description="How many record IDs matched nothing (none of these were written).")
    unmatched: list[UnmatchedRecords] = Field(description="The unmatched IDs, by reason.")
    note: str | None = Field(default=None, description="What happened and what to do next.")

    def summary_line(self) -> tuple[str, str | None]:
        """How many records of what were annotated, and how many IDs matched nothing."""
        owner = self.project or self.dataset or self.experiment
        kind = {"spans": "project", "examples": "dataset", "runs": "experiment"}[self.target]
        line = (
            f"Annotated {self.matched:,} of {self.records:,} {self.target} of {kind} '{owner.name if owner else ''}' "
            f"with '{self.annotation_config.name}'"
        )
        if self.replaced:
            line += f"; {self.replaced:,} of them held other values, replaced as the user approved"
        if self.unmatched_count:
            line += f"; {self.unmatched_count:,} IDs matched nothing and were not written (see unmatched)"
        return line + ".", "note"


def _annotation_values(
    records: Mapping[str, str | float], notes: Mapping[str, str] | None, config: AnnotationConfig
) -> dict[str, dict[str, Any]]:
    """``{record ID: values}`` for ``config``: a CATEGORICAL record's value is one of its labels, a CONTINUOUS
    one's a score in its range, a FREEFORM one's its text; a note is the text kept with a label or score.

    Raises:
        ToolError: naming the record whose value does not fit, or a note for no record.
    """
    name = config.name
    allowed = [v.label for v in config.values or []]
    low, high = config.minimum_score, config.maximum_score
    values: dict[str, dict[str, Any]] = {}
    for given_id, given in records.items():
        record_id = given_id.strip()
        at = f"records[{given_id!r}]"
        if not record_id or record_id in values:
            raise ToolError(f"{at}: each record ID must be given once and not be empty")
        if config.type == "CATEGORICAL":
            if not isinstance(given, str):
                raise ToolError(f"{at}: '{name}' is CATEGORICAL; give a label: one of {', '.join(allowed)}")
            if given not in allowed:
                raise ToolError(f"{at}: label {given!r} is not a label of '{name}'; use one of {', '.join(allowed)}")
            values[record_id] = {"label": given}
        elif config.type == "CONTINUOUS":
            if isinstance(given, str):
                raise ToolError(f"{at}: '{name}' is CONTINUOUS; give a score between {low:g} and {high:g}")
            if low is not None and high is not None and not low <= given <= high:
                raise ToolError(f"{at}: score {given:g} is outside '{name}' ({low:g} to {high:g})")
            values[record_id] = {"score": float(given)}
        else:
            if not isinstance(given, str) or not given.strip():
                raise ToolError(f"{at}: '{name}' is FREEFORM; give its text")
            values[record_id] = {"text": given}
    for given_id, note in (notes or {}).items():
        if config.type == "FREEFORM":
            raise ToolError(f"notes: '{name}' is FREEFORM; its text goes in records, drop notes")
        if given_id.strip() not in values:
            raise ToolError(f"notes[{given_id!r}]: no such record in records; a note goes with a record's value")
        values[given_id.strip()]["text"] = note
    return values


def _prior(record_id: str, annotations: Sequence[Annotation] | None, name: str, into: Prior) -> None:
    for annotation in annotations or []:
        if annotation.name == name:
            into[record_id] = {"label": annotation.label, "score": annotation.score, "text": annotation.text}


def _shown_value(value: Mapping[str, Any]) -> str:
    shown = value.get("label") or value.get("text")
    if shown is None and value.get("score") is not None:
        return f"{value['score']:g}"
    return repr(shown)


async def _spans_found(
    state: AppState,
    project_id: str,
    ids: Sequence[str],
    config: str,
    granularity: str,
    start: datetime,
    end: datetime | None,
) -> tuple[dict[str, str], Prior | None]:
    """Which record IDs name spans (or sessions) of the project in the window: ``{id: reason}`` for those that
    do not; and, for SPAN granularity, what the found spans held for ``config`` (``None`` for TRACE and SESSION,
    whose values a span read does not tell apart)."""
    unmatched: dict[str, str] = {}
    prior: Prior = {}
    session = granularity == "SESSION"
    column = "attributes.session.id" if session else "context.span_id"
    held = [] if granularity != "SPAN" else [f"annotation.{config}.{field}" for field in ("label", "score", "text")]
    for chunk in chunked(ids, LOOKUP_CHUNK):
        listing = state.client.spans.list(
            project_id,
            start_time=start,
            end_time=end,
            filter=any_of(column, chunk if session else [i.lower() for i in chunk]),
            included_columns=[column] if session else ["context.span_id", *held],
            limit=LOOKUP_PAGE,
        )
        spans: list[Span] = [span async for span in listing]
        if session:
            seen = {str(span_value(span_view_of(s), column)) for s in spans} - {str(MISSING)}
            for record_id in chunk:
                if record_id not in seen:
                    unmatched[record_id] = "no span of the project has this session.id in the window"
            continue
        by_id = {s.context.span_id.lower(): s for s in spans}
        for record_id in chunk:
            span = by_id.get(record_id.lower())
            if span is None:
                unmatched[record_id] = "no span of the project has this ID in the window"
            elif granularity == "TRACE" and span.parent_id:
                unmatched[record_id] = "not a root span: TRACE annotations need the trace's root span ID"
            else:
                _prior(record_id, span.annotations, config, prior)
    return unmatched, prior if granularity == "SPAN" else None


async def _examples_found(
    state: AppState, dataset_id: str, version_ids: Sequence[str], ids: Sequence[str], config: str
) -> tuple[set[str], Prior]:
    """The record IDs that name examples of the dataset (in any version), and what they held for ``config``."""
    found: set[str] = set()
    prior: Prior = {}
    versions: list[str | None] = [*version_ids] or [None]
    for version in versions:
        missing = [i for i in ids if i not in found]
        if not missing:
            break
        for chunk in chunked(missing, LOOKUP_CHUNK):
            listing = state.client.datasets.search_examples(
                dataset_id, filter=any_of("id", chunk), version=version, limit=LOOKUP_PAGE
            )
            async for example in listing:
                found.add(example.id)
                _prior(example.id, example.annotations, config, prior)
    return found, prior


async def _runs_found(state: AppState, experiment_id: str, ids: Sequence[str], config: str) -> tuple[set[str], Prior]:
    """The record IDs that name runs of the experiment, and what they held for ``config``."""
    found: set[str] = set()
    prior: Prior = {}
    for chunk in chunked(ids, LOOKUP_CHUNK):
        listing = state.client.experiments.search_runs(experiment_id, filter=any_of("id", chunk), limit=LOOKUP_PAGE)
        async for run in listing:
            found.add(run.id)
            _prior(run.id, run.annotations, config, prior)
    return found, prior


def _span_window(
    state: AppState, granularity: str, start_time: str | None
) -> tuple[datetime, datetime | None, TimeWindow]:
    """The look-up and write window of span annotations: AX's longest (31 days, 7 for SESSION) ending now, or
    that long from ``start_time`` (ending now at the latest). ``None`` as the end means now."""
    now = state.clock()
    limit = SESSION_ANNOTATE_WINDOW if granularity == "SESSION" else SPAN_ANNOTATE_WINDOW
    if start_time is None:
        return _shown(now - limit + CLOCK_MARGIN, None, now)
    start = parse_time(start_time, "start_time", now=now)
    if start >= now:
        raise ToolError("start_time: it must be in the past; spans can be annotated up to now")
    last = start + limit - CLOCK_MARGIN
    return _shown(start, last if last < now else None, now)


def _shown(start: datetime, end: datetime | None, now: datetime) -> tuple[datetime, datetime | None, TimeWindow]:
    shown = TimeWindow(
        start=start.isoformat().replace("+00:00", "Z"), end=(end or now).isoformat().replace("+00:00", "Z")
    )
    return start, end, shown


def _grouped(unmatched: dict[str, str]) -> list[UnmatchedRecords]:
    """The unmatched IDs by reason, listed up to ``UNMATCHED_ID_CHARS`` in all."""
    groups: dict[str, UnmatchedRecords] = {}
    room = UNMATCHED_ID_CHARS
    for record_id, reason in unmatched.items():
        group = groups.setdefault(reason, UnmatchedRecords(reason=reason, count=0, ids=[]))
        group.count += 1
        if room >= len(record_id) + 3:
            group.ids.append(record_id)
            room -= len(record_id) + 3
    return list(groups.values())


@dataclass
class _AnnotatePlan:
    """What an ``annotate`` call will write, worked out before anything is written."""

    target: Target
    owner: Ref
    granularity: Granularity
    window: tuple[datetime, datetime | None] | None
    shown_window: TimeWindow | None
    config: AnnotationConfig
    values: dict[str, dict[str, Any]]
    unmatched: dict[str, str]
    prior: Prior | None
    """``None`` where the values held before cannot be read (TRACE, SESSION)."""

    @property
    def matched(self) -> list[str]:
        return [i for i in self.values if i not in self.unmatched]

    def replaced(self) -> list[str]:
        """The matched records holding another value for the config than the one this call writes."""
        if self.prior is None:
            return []
        return [
            i
            for i in self.matched
            if (held := self.prior.get(i)) is not None
            and any(held[field] is not None and held[field] != value for field, value in self.values[i].items())
        ]

    def question(self) -> str | None:
        """What to ask before replacing values the records hold (``None``: nothing would be replaced)."""
        replaced = self.replaced()
        if not replaced:
            return None
        first = replaced[0]
        assert self.prior is not None
        kind = {"spans": "project", "examples": "dataset", "runs": "experiment"}[self.target]
        return (
            f"Replace the '{self.config.name}' values already on {len(replaced):,} of the {len(self.matched):,} "
            f"{self.target} of {kind} '{self.owner.name}' (for example {first!r}: {_shown_value(self.prior[first])} "
            f"→ {_shown_value(self.values[first])})? They were written before, by a person or an earlier call, and "
            "cannot be restored afterwards. To keep them, write to another annotation config instead."
        )

    async def write(
        self, client: AsyncArizeClient, chunk: Sequence[str], chosen: Callable[[str], Mapping[str, Any]]
    ) -> None:
        """Write ``chosen(record ID)`` as the config's values of the records in ``chunk`` (one request)."""
        bodies = [{"record_id": i, "values": [{"name": self.config.name, **chosen(i)}]} for i in chunk]
        if self.target == "spans":
            assert self.window is not None
            start, end = self.window
            await client.spans.annotate(
                self.owner.id,
                bodies,
                granularity=self.granularity,
                start_time=start,
                end_time=end,
            )
        elif self.target == "examples":
            await client.datasets.annotate_examples(self.owner.id, bodies)
        else:
            await client.experiments.annotate_runs(self.owner.id, bodies)


@tool_errors
async def _plan_annotate(
    ctx: ToolContext,
    name: str,
    records: dict[str, str | float],
    notes: dict[str, str] | None,
    project: str | None,
    dataset: str | None,
    experiment: str | None,
    granularity: Granularity,
    start_time: str | None,
) -> _AnnotatePlan:
    """Find the owner, the config and every record; refuse (writing nothing) what is wrong."""
    state = app_state(ctx)
    target: Target
    if project is not None and dataset is None and experiment is None:
        target, argument, given = "spans", "project", project
    elif experiment is not None and project is None:
        target, argument, given = "runs", "experiment", experiment
    elif dataset is not None and project is None:
        target, argument, given = "examples", "dataset", dataset
    else:
        raise ToolError(
            "project, dataset, experiment: give the project (its spans), the dataset (its examples) or the "
            "experiment (its runs; add dataset= when its name is not unique)"
        )
    if target != "spans" and (start_time is not None or granularity != "SPAN"):
        raise ToolError("start_time / granularity: only spans (project=) take them; drop them")
    space_id = (await state.require_space()).id
    client = state.client
    window: tuple[datetime, datetime | None] | None = None
    shown_window: TimeWindow | None = None
    if target == "spans":
        found_project = await client.projects.get(given, space=space_id)
        owner, owner_space = Ref(id=found_project.id, name=found_project.name), found_project.space_id
        start, end, shown_window = _span_window(state, granularity, start_time)
        window = (start, end)
    elif target == "examples":
        found_dataset = await client.datasets.get(given, space=space_id)
        owner, owner_space = Ref(id=found_dataset.id, name=found_dataset.name), found_dataset.space_id
    else:
        found_experiment = await client.experiments.get(given, dataset=dataset, space=space_id)
        owner, owner_space = Ref(id=found_experiment.id, name=found_experiment.name), found_experiment.space_id

    config = await existing_config(state, name, owner_space)
    if config is None:
        raise ToolError(
            f"name: no annotation config named {name!r} in the {argument}'s space — create it first with "
            f"create_annotation_config(name={name!r}, type=...), or check the name with find(kind='annotation_config')"
        )
    values = _annotation_values(records, notes, config)
    ids = list(values)

    await ctx.report_progress(0, len(ids), "looking up record IDs")
    prior: Prior | None
    if window is not None:
        unmatched, prior = await _spans_found(state, owner.id, ids, config.name, granularity, *window)
    elif target == "examples":
        versions = [v.id for v in found_dataset.versions or []]
        found, prior = await _examples_found(state, owner.id, versions, ids, config.name)
        unmatched = {i: "the dataset has no example with this ID" for i in ids if i not in found}
    else:
        found, prior = await _runs_found(state, owner.id, ids, config.name)
        unmatched = {i: "the experiment has no run with this ID" for i in ids if i not in found}
    if len(unmatched) == len(ids):
        some = "; ".join(f"{i!r} ({reason})" for i, reason in list(unmatched.items())[:20])
        more = f" and {len(unmatched) - 20} more" if len(unmatched) > 20 else ""
        where = f" between {shown_window.start} and {shown_window.end}" if shown_window else ""
        raise ToolError(
            f"records: {len(unmatched)} of {len(ids)} record IDs match nothing{where}: {some}{more}; nothing was "
            "written. Check the IDs"
            + (" (search_spans lists span IDs) or move the window with start_time" if target == "spans" else "")
        )
    return _AnnotatePlan(
        target=target,
        owner=owner,
        granularity=granularity,
        window=window,
        shown_window=shown_window,
        config=config,
        values=values,
        unmatched=unmatched,
        prior=prior,
    )


async def _write_all(ctx: ToolContext, plan: _AnnotatePlan) -> None:
    """Write every matched record, a request at a time; on a failure after some landed, put those back.

    Raises:
        ToolError: saying what was written and what was put back, when a request failed midway.
    """
    client = app_state(ctx).client
    matched = plan.matched
    size = SESSION_ANNOTATE_BATCH if plan.granularity == "SESSION" else ANNOTATE_BATCH
    written: list[str] = []
    try:
        for chunk in chunked(matched, size):
            await plan.write(client, chunk, plan.values.__getitem__)
            written.extend(chunk)
            await ctx.report_progress(len(written), len(matched), f"annotated {len(written)} of {len(matched)} records")
    except ArizeSkillsError as exc:
        if not written:
            raise
        stopped = f"records: the write stopped after {len(written):,} of {len(matched):,} records ({exc})"
        prior = plan.prior
        if prior is not None:
            try:
                for chunk in chunked(written, size):
                    await plan.write(client, chunk, lambda i: prior.get(i, CLEARED))
            except ArizeSkillsError:
                pass
            else:
                raise ToolError(
                    f"{stopped}; the {len(written):,} already written were put back as they were, so nothing "
                    "changed. Fix the cause and call annotate again"
                ) from exc
        raise ToolError(
            f"{stopped}; the first {len(written):,} keep the new values and the rest were not written. The same "
            "call, retried, writes them all (annotating is an upsert: records already written get the same values)"
        ) from exc


@tool_errors
async def annotate(
    ctx: ToolContext,
    plan: Annotated[_AnnotatePlan, Resolve(_plan_annotate)],
    # Resolved before the body runs: asks the user when the plan would replace values (see confirm.approval).
    approved: Annotated[Approval, approval(Resolve(_plan_annotate))],
    name: Annotated[str, Field(min_length=1, max_length=255, description="The annotation config.")],
    records: Annotated[
        dict[str, str | float],
        Field(min_length=1, max_length=10_000, description="ID → label, score or text."),
    ],
    notes: Annotated[dict[str, str] | None, Field(min_length=1, max_length=10_000, description="ID → reason.")] = None,
    project: Annotated[str | None, Field(min_length=1, max_length=512, description="Annotate its spans.")] = None,
    dataset: Annotated[str | None, Field(min_length=1, max_length=512, description="Annotate its examples.")] = None,
    experiment: Annotated[str | None, Field(min_length=1, max_length=512, description="Annotate its runs.")] = None,
    granularity: Annotated[
        Literal["SPAN", "TRACE", "SESSION"],
        Field(description="TRACE: root span IDs; SESSION: session IDs."),
    ] = "SPAN",
    start_time: Annotated[
        str | None,
        Field(min_length=1, max_length=64, description="Default -31d (31-day window)."),
    ] = None,
    confirm: Confirm = False,
) -> AnnotateResult:
    """Write human labels on spans, examples or runs; IDs that match nothing are reported."""
    await _write_all(ctx, plan)
    matched, unmatched = plan.matched, plan.unmatched
    note = None
    if unmatched:
        note = (
            f"{len(unmatched)} of {len(plan.values)} record IDs matched nothing and were not written (see "
            f"unmatched); the other {len(matched)} were annotated"
        )
    return AnnotateResult(
        target=plan.target,
        project=plan.owner if plan.target == "spans" else None,
        dataset=plan.owner if plan.target == "examples" else None,
        experiment=plan.owner if plan.target == "runs" else None,
        granularity=plan.granularity if plan.target == "spans" else None,
        window=plan.shown_window,
        annotation_config=Ref(id=plan.config.id, name=plan.config.name),
        records=len(plan.values),
        matched=len(matched),
        replaced=len(plan.replaced()),
        unmatched_count=len(unmatched),
        unmatched=_grouped(unmatched),
        note=note,
    )


def register(server: MCPServer[Any]) -> None:
    """Register ``annotate``."""
    register_tool(server, annotate, title="Annotate spans, examples or runs", kind="update")
