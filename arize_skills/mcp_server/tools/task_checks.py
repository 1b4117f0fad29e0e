"""What ``create_task``, ``update_task`` and ``trigger_backfill`` check against real data before they write.

The silent failures they prevent (SKILLS_ANCHOR §5): a template variable with no mapping, a mapping whose path no
span carries, and a filter that matches nothing. Each check reads the backend through the client only:

* ``load_evaluator`` reads an evaluator's pinned (or latest) version: its type, eval column, variables (a judge's
  ``{var}`` placeholders; a code evaluator's variable paths and the role each plays) and its own filter.
* A ``Source`` is where a task's records live: a project's spans in a time window (``ProjectSource``) or the runs
  of some experiments (``DatasetSource``). It counts records matching a filter (up to ``COUNT_CAP``, so a count
  says whether it is complete) and samples the most recent ``SAMPLE_SIZE`` of them, caching both per filter.
* ``check_attachments`` resolves every variable of every evaluator to a path (the mapping given, the variable's
  own name when records carry it, or a default such as ``input`` → ``attributes.input.value`` when records
  carry that) and counts on how many sampled records each path has a value, using the same path rules as the
  engine's runner (``evals.mapping``). Unmapped variables and paths no sampled record has become *problems*
  (the tool refuses, listing each with the paths records do carry); filters that match no record become
  *empty* findings (refused unless the caller allows it); paths only some records have become warnings. It also
  counts, per evaluator, the matching records whose eval column already holds a value (``CheckOutcome.existing``),
  so the tools can say when a task would meet values it did not write.
* ``suggest_filter`` turns a filter that matches nothing into one that does, when a comparison in it names a value
  (or a path) the sampled records spell a little differently; the suggestion is counted against the backend, so
  it is only offered when it parses and matches.
"""

from __future__ import annotations

import difflib
import re
from collections import Counter
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass, field
from datetime import datetime
from typing import Any, Literal

from mcp.server.mcpserver.exceptions import ToolError
from pydantic import BaseModel, ConfigDict, Field

from ...client import AsyncArizeClient
from ...errors import BadRequestError, UnprocessableEntityError
from ...evals.code_evaluators import MANAGED_EVALUATORS
from ...evals.judge import template_variables
from ...evals.mapping import MISSING, record_value, span_value, span_view_of
from ...models._base import iso
from ..types import Ref

__all__ = [
    "BLIND_DEFAULTS",
    "COUNT_CAP",
    "DEFAULT_PATHS",
    "SAMPLE_SIZE",
    "Attachment",
    "CheckOutcome",
    "Count",
    "DatasetSource",
    "EvaluatorCheck",
    "EvaluatorInfo",
    "ProjectSource",
    "RecordCount",
    "Source",
    "VariableCheck",
    "and_filters",
    "check_attachments",
    "eval_column_path",
    "load_evaluator",
    "newest_span",
    "suggest_filter",
]

SAMPLE_SIZE = 50
"""How many of the most recent matching records the mapping checks read."""

COUNT_CAP = 2000
"""Counting stops at this many records (four pages of 500); a count that stopped there is a lower bound."""

_COUNT_PAGE = 500

DEFAULT_PATHS: dict[str, str] = {
    **dict.fromkeys(("input", "query", "question", "user_input", "user_query", "prompt"), "attributes.input.value"),
    **dict.fromkeys(("output", "response", "answer", "completion", "model_response"), "attributes.output.value"),
    **dict.fromkeys(
        ("context", "documents", "reference", "retrieved_documents"), "attributes.retrieval.documents.contents"
    ),
}
"""Span paths an unmapped variable of these names gets, when the sampled spans carry the path (OpenInference)."""

BLIND_DEFAULTS = frozenset({"input", "output"})
"""Variables that get their default path even when no span could be sampled to confirm it."""

_FIXED_COLUMNS = frozenset(
    {
        "name",
        "span_kind",
        "kind",
        "status_code",
        "status_message",
        "latency_ms",
        "start_time",
        "end_time",
        "context.span_id",
        "context.trace_id",
        "parent_id",
    }
)


class _Strict(BaseModel):
    model_config = ConfigDict(extra="forbid")


class RecordCount(_Strict):
    """How many records (spans or experiment runs) matched; a lower bound when ``complete`` is false."""

    count: int = Field(description="How many were counted.")
    complete: bool = Field(description=f"False when counting stopped at {COUNT_CAP:,} (there are at least that many).")


class VariableCheck(_Strict):
    """One evaluator variable: where it is read from and how many sampled records have a value there."""

    variable: str = Field(description="The template variable (a judge's {placeholder}) or code evaluator variable.")
    path: str | None = Field(description="The attribute path or column it reads (null: no mapping could be found).")
    source: Literal["given", "own_name", "default", "none"] = Field(
        description="given: your column_mappings; own_name: the variable names a path records carry; default: a "
        "standard path applied for you (input → attributes.input.value, …); none: unmapped."
    )
    present: int = Field(description="How many of the sampled records have a value at the path.")
    sampled: int = Field(description="How many recent matching records were sampled (0: nothing to check against).")


class EvaluatorCheck(_Strict):
    """An evaluator as attached to the task, with the checks of its variables."""

    evaluator: Ref = Field(description="The evaluator, by name and ID.")
    version_id: str | None = Field(description="The pinned version (null: the task always runs the latest version).")
    eval_column: str = Field(description="Where results go: eval.<name>.label / .score / .explanation.")
    query_filter: str | None = Field(description="The evaluator's own filter, ANDed with the task's.")
    column_mappings: dict[str, str] = Field(description="Variable → path, as stored on the task.")
    variables: list[VariableCheck] = Field(description="Each variable, its path and how often records have it.")
    matching: RecordCount | None = Field(
        description="Recent records matching the task's and this evaluator's filters (null when not counted)."
    )


@dataclass
class EvaluatorInfo:
    """What a task needs to know of one evaluator version."""

    id: str
    name: str
    type: Literal["TEMPLATE", "CODE"]
    version_id: str
    eval_name: str
    variables: list[tuple[str, str | None]]
    granularity: str
    code_filter: str | None = None
    managed: str | None = None
    labels: list[str] = field(default_factory=list)

    @property
    def ref(self) -> Ref:
        """The evaluator by name and ID."""
        return Ref(id=self.id, name=self.name)


async def load_evaluator(
    client: AsyncArizeClient, evaluator: str, version: str | None, *, field_name: str
) -> EvaluatorInfo:
    """The evaluator ``evaluator`` (name or ID) at version ``version`` (default: its latest).

    Raises:
        ToolError: a remote evaluator, or a version without a configuration (names ``field_name``).
    """
    found = await client.evaluators.get(evaluator, version_id=version)
    stored = found.version
    if stored is None:
        raise ToolError(f"{field_name}: evaluator '{found.name}' has no version to run — create one first")
    if found.type == "TEMPLATE" and stored.template_config is not None:
        config = stored.template_config
        return EvaluatorInfo(
            id=found.id,
            name=found.name,
            type="TEMPLATE",
            version_id=stored.id,
            eval_name=config.name or found.name,
            variables=[(v, None) for v in template_variables(config.template or "")],
            granularity=(config.data_granularity or "SPAN").upper(),
            labels=list(config.classification_choices or {}),
        )
    if found.type == "CODE" and stored.code_config is not None:
        code = stored.code_config
        roles: Sequence[str | None] = ()
        if code.type == "MANAGED" and code.managed_evaluator in MANAGED_EVALUATORS:
            roles = MANAGED_EVALUATORS[code.managed_evaluator].variables
        names = list(code.variables or [])
        return EvaluatorInfo(
            id=found.id,
            name=found.name,
            type="CODE",
            version_id=stored.id,
            eval_name=code.name or found.name,
            variables=[(v, roles[i] if i < len(roles) else None) for i, v in enumerate(names)],
            granularity=(code.data_granularity or "SPAN").upper(),
            code_filter=code.query_filter or None,
            managed=code.managed_evaluator,
        )
    raise ToolError(
        f"{field_name}: evaluator '{found.name}' is a {found.type} evaluator; tasks here run LLM judges (TEMPLATE) "
        "and code evaluators (CODE) only"
    )


def and_filters(*filters: str | None) -> str | None:
    """The filters that are set, ANDed (each in parentheses when there are several)."""
    present = [f.strip() for f in filters if f is not None and f.strip()]
    if len(present) <= 1:
        return present[0] if present else None
    return " AND ".join(f"({f})" for f in present)


def eval_column_path(eval_name: str, column: str) -> str:
    """``eval.<name>.<column>`` as a filter path, the name quoted when it is not one plain word."""
    plain = eval_name.replace("_", "a").replace("-", "a").isalnum() and not eval_name[:1].isdigit()
    return f"eval.{eval_name}.{column}" if plain else f'eval."{eval_name}".{column}'


@dataclass
class Count:
    """A count of matching records and, when eval names were given, how many already have all those evals."""

    count: int
    complete: bool
    labelled: int = 0

    @property
    def public(self) -> RecordCount:
        """The count as tools show it."""
        return RecordCount(count=self.count, complete=self.complete)

    def text(self) -> str:
        """``"1,234"`` or ``"at least 2,000"``."""
        return f"{self.count:,}" if self.complete else f"at least {self.count:,}"


@dataclass
class Sample:
    """The most recent records matching a filter: a value reader per record and the paths they carry."""

    lookups: list[Callable[[str], Any]]
    paths: Counter[str]


class Source:
    """Where a task's records live; counts and samples are cached per filter."""

    noun = "record"
    nouns = "records"

    def __init__(self, client: AsyncArizeClient) -> None:
        self.client = client
        self._counts: dict[tuple[str | None, tuple[str, ...]], Count] = {}
        self._samples: dict[str | None, Sample] = {}

    def where(self) -> str:
        """Where the records are, for messages (``"project 'app' from … to …"``)."""
        raise NotImplementedError

    def own_path(self, variable: str) -> str:
        """The path a variable read under its own name is stored as (span tasks prefix attribute keys)."""
        return variable

    def default_path(self, variable: str) -> str | None:
        """The standard path for a variable of this name, if there is one."""
        return None

    async def _count(self, query: str | None, eval_names: Sequence[str]) -> Count:
        raise NotImplementedError

    async def _sample(self, query: str | None) -> Sample:
        raise NotImplementedError

    async def count(self, query: str | None, *, field_name: str, eval_names: Sequence[str] = ()) -> Count:
        """How many records match ``query`` (all records when ``None``), up to ``COUNT_CAP``.

        Raises:
            ToolError: the backend refused the filter (names ``field_name``).
        """
        key = (query, tuple(eval_names))
        if key not in self._counts:
            self._counts[key] = await _filter_guard(self._count(query, eval_names), query, field_name)
        return self._counts[key]

    async def sample(self, query: str | None, *, field_name: str) -> Sample:
        """The ``SAMPLE_SIZE`` most recent records matching ``query``.

        Raises:
            ToolError: the backend refused the filter (names ``field_name``).
        """
        if query not in self._samples:
            self._samples[query] = await _filter_guard(self._sample(query), query, field_name)
        return self._samples[query]


async def _filter_guard(pending: Any, query: str | None, field_name: str) -> Any:
    try:
        return await pending
    except (BadRequestError, UnprocessableEntityError) as exc:
        if query is None:
            raise
        raise ToolError(
            f"{field_name}: the backend refused the filter {query!r}: {exc.detail or exc.title} — fix the filter "
            "(SQL-like: attributes.<path> = 'value', span_kind = 'LLM', latency_ms > 1000, joined with AND / OR)"
        ) from None


def _attribute_paths(attributes: Mapping[str, Any], prefix: str = "attributes") -> set[str]:
    """The paths a span's attributes offer: flat keys, list prefixes of indexed keys, nested dict keys."""
    found: set[str] = set()
    for key, value in attributes.items():
        if value is None:
            continue
        parts = str(key).split(".")
        index = next((i for i, part in enumerate(parts) if part.isdigit()), None)
        if index is not None and index > 0:
            found.add(f"{prefix}.{'.'.join(parts[:index])}")
        elif isinstance(value, Mapping) and value:
            found |= _attribute_paths(value, f"{prefix}.{key}")
        else:
            found.add(f"{prefix}.{key}")
    return found


class ProjectSource(Source):
    """A project's spans from ``start`` to ``end`` (both inclusive)."""

    noun = "span"
    nouns = "spans"

    def __init__(self, client: AsyncArizeClient, project: Ref, start: datetime, end: datetime) -> None:
        super().__init__(client)
        self.project = project
        self.start = start
        self.end = end

    def where(self) -> str:
        return f"project '{self.project.name}' from {iso(self.start)} to {iso(self.end)}"

    def own_path(self, variable: str) -> str:
        if variable in _FIXED_COLUMNS or variable.startswith(("attributes.", "metadata.", "eval.", "annotation.")):
            return variable
        return f"attributes.{variable}"

    def default_path(self, variable: str) -> str | None:
        return DEFAULT_PATHS.get(variable.lower())

    async def _count(self, query: str | None, eval_names: Sequence[str]) -> Count:
        columns = [f"eval.{n}.label" for n in eval_names] or ["context.span_id"]
        pages = self.client.spans.list(
            self.project.id,
            start_time=self.start,
            end_time=self.end,
            filter=query,
            included_columns=columns,
            limit=_COUNT_PAGE,
        )
        counted = labelled = 0
        async for page in pages.pages():
            for span in page.items:
                counted += 1
                names = {e.name for e in span.evaluations if e.label is not None or e.score is not None}
                if eval_names and all(n in names for n in eval_names):
                    labelled += 1
            if counted >= COUNT_CAP and page.has_more:
                return Count(counted, False, labelled)
        return Count(counted, True, labelled)

    async def _sample(self, query: str | None) -> Sample:
        page = await self.client.spans.list(
            self.project.id, start_time=self.start, end_time=self.end, filter=query, limit=SAMPLE_SIZE
        )
        paths: Counter[str] = Counter()
        lookups: list[Callable[[str], Any]] = []
        for span in page.items:
            view = span_view_of(span)
            lookups.append(lambda path, v=view: span_value(v, path))  # type: ignore[misc]
            paths.update(_attribute_paths(span.attributes))
        return Sample(lookups, paths)


class DatasetSource(Source):
    """The runs of some experiments of a dataset, with their examples' columns."""

    noun = "run"
    nouns = "experiment runs"

    def __init__(self, client: AsyncArizeClient, dataset: Ref, experiments: Sequence[Ref]) -> None:
        super().__init__(client)
        self.dataset = dataset
        self.experiments = list(experiments)
        self._examples: dict[str, dict[str, Any]] | None = None

    def where(self) -> str:
        names = ", ".join(f"'{e.name}'" for e in self.experiments)
        return f"experiment{'s' if len(self.experiments) != 1 else ''} {names} of dataset '{self.dataset.name}'"

    async def _count(self, query: str | None, eval_names: Sequence[str]) -> Count:
        counted = labelled = 0
        for experiment in self.experiments:
            pages = self.client.experiments.search_runs(experiment.id, filter=query, limit=_COUNT_PAGE)
            async for page in pages.pages():
                for run in page.items:
                    counted += 1
                    if eval_names and all(run.evaluation(n)["label"] is not None for n in eval_names):
                        labelled += 1
                if counted >= COUNT_CAP and page.has_more:
                    return Count(counted, False, labelled)
        return Count(counted, True, labelled)

    async def _example_columns(self) -> dict[str, dict[str, Any]]:
        if self._examples is None:
            page = await self.client.datasets.list_examples(self.dataset.id, limit=_COUNT_PAGE)
            self._examples = {example.id: example.fields for example in page.items}
        return self._examples

    async def _sample(self, query: str | None) -> Sample:
        examples = await self._example_columns()
        lookups: list[Callable[[str], Any]] = []
        paths: Counter[str] = Counter()
        for experiment in self.experiments:
            page = await self.client.experiments.search_runs(experiment.id, filter=query, limit=SAMPLE_SIZE)
            for run in page.items:
                example = examples.get(run.example_id or "", {})
                columns: dict[str, Any] = dict(example)
                columns.update(run.fields)
                columns.update({"id": run.id, "example_id": run.example_id, "output": run.output})
                columns = {k: v for k, v in columns.items() if v is not None}
                paths.update(k for k in columns if not k.startswith("eval."))
                columns.setdefault("dataset", example)
                lookups.append(lambda path, c=columns: record_value(c, path))  # type: ignore[misc]
        return Sample(lookups, paths)


async def newest_span(client: AsyncArizeClient, project_id: str, start: datetime, end: datetime) -> datetime | None:
    """When the newest span of a project between ``start`` and ``end`` started, if there is one."""
    page = await client.spans.list(
        project_id, start_time=start, end_time=end, included_columns=["context.span_id"], limit=1
    )
    return page.items[0].start_time if page.items else None


@dataclass
class Attachment:
    """An evaluator as the task will hold it: its version pin, its own filter and the mappings asked for."""

    info: EvaluatorInfo
    pinned: str | None
    query_filter: str | None
    mappings: dict[str, str]
    field_name: str


@dataclass
class CheckOutcome:
    """What the checks found: the evaluators as they will be stored, and what is wrong or worth saying."""

    evaluators: list[EvaluatorCheck]
    mappings: list[dict[str, str]]
    problems: list[str] = field(default_factory=list)
    empty: list[str] = field(default_factory=list)
    warnings: list[str] = field(default_factory=list)
    applied_defaults: list[str] = field(default_factory=list)
    in_window: Count | None = None
    matching: Count | None = None
    existing: list[tuple[EvaluatorInfo, str | None, Count]] = field(default_factory=list)
    """Per evaluator: its filter (the task's ANDed with its own) and its matching records, ``labelled`` those whose
    eval column already holds a value."""


def _similarity(variable: str, path: str) -> float:
    tail = path.removeprefix("attributes.").lower()
    name = variable.lower().removeprefix("attributes.")
    score = difflib.SequenceMatcher(None, name, tail).ratio()
    head = tail.split(".")[0]
    if name == head or name in tail.split("."):
        score += 1.0
    elif name in tail:
        score += 0.5
    return score


def suggestions(variable: str, sample: Sample, *, limit: int = 8) -> str:
    """The paths sampled records carry, closest to ``variable`` first, with how many records carry each."""
    if not sample.paths:
        return "the sampled records carry no attributes"
    ranked = sorted(sample.paths, key=lambda p: (-_similarity(variable, p), -sample.paths[p], p))
    shown = ", ".join(f"{p} ({sample.paths[p]})" for p in ranked[:limit])
    more = f" and {len(ranked) - limit} more" if len(ranked) > limit else ""
    return f"paths the sampled records carry (how many have each): {shown}{more}"


def _present(sample: Sample, path: str) -> int:
    return sum(1 for lookup in sample.lookups if lookup(path) is not MISSING)


async def check_attachments(
    source: Source,
    task_filter: str | None,
    attachments: Sequence[Attachment],
    *,
    trace_shape: bool,
    filter_field: str = "query_filter",
) -> CheckOutcome:
    """Check every attachment's variables and filters against ``source`` (see the module docstring).

    Raises:
        ToolError: the backend refused a filter.
    """
    outcome = CheckOutcome(evaluators=[], mappings=[])
    outcome.in_window = await source.count(None, field_name=filter_field)
    outcome.matching = (
        await source.count(task_filter, field_name=filter_field) if task_filter is not None else outcome.in_window
    )
    where = source.where()
    if outcome.in_window.count == 0:
        outcome.empty.append(f"there are no {source.nouns} in {where}")
    elif outcome.matching.count == 0:
        outcome.empty.append(
            f"{filter_field} {task_filter!r} matches none of the {outcome.in_window.text()} {source.nouns} of {where}"
        )
    for attachment in attachments:
        outcome.evaluators.append(await _check_one(source, task_filter, attachment, outcome, trace_shape=trace_shape))
    return outcome


async def _check_one(
    source: Source, task_filter: str | None, attachment: Attachment, outcome: CheckOutcome, *, trace_shape: bool
) -> EvaluatorCheck:
    info = attachment.info
    label = f"{attachment.field_name} (evaluator '{info.name}')"
    own_filters = and_filters(attachment.query_filter, info.code_filter)
    combined = task_filter if trace_shape else and_filters(task_filter, own_filters)
    matching = await source.count(
        combined, field_name=f"{attachment.field_name}.query_filter", eval_names=[info.eval_name]
    )
    outcome.existing.append((info, combined, matching))
    sample = await source.sample(combined, field_name=f"{attachment.field_name}.query_filter")
    sampled = len(sample.lookups)
    selected = outcome.matching.count if outcome.matching is not None else 0
    if own_filters and not trace_shape and matching is not None and matching.count == 0 and selected > 0:
        assert outcome.matching is not None
        outcome.empty.append(
            f"{label}: its filter {own_filters!r} matches none of the {outcome.matching.text()} {source.nouns} "
            f"the task selects in {source.where()}, so it would never score anything"
        )
    mappings: dict[str, str] = {}
    checks: list[VariableCheck] = []
    for variable, role in info.variables:
        given_key = variable if variable in attachment.mappings else role if role in attachment.mappings else None
        if given_key is not None:
            path: str | None = attachment.mappings[given_key]
            how: Literal["given", "own_name", "default", "none"] = "given"
        else:
            path, how = _unmapped_path(source, info, variable, sample)
        if path is None:
            checks.append(VariableCheck(variable=variable, path=None, source="none", present=0, sampled=sampled))
            example = source.default_path(variable) or (
                "attributes.input.value" if isinstance(source, ProjectSource) else "<column>"
            )
            outcome.problems.append(
                f"{label}: variable '{variable}' has no mapping"
                + (f" and no {source.noun} carries a value named '{variable}'" if sampled else "")
                + f' — add it to column_mappings, e.g. {{"{variable}": "{example}"}}'
                + (f"; {suggestions(variable, sample)}" if sampled else "")
            )
            continue
        key = given_key or variable
        present = _present(sample, path) if sampled else 0
        checks.append(VariableCheck(variable=variable, path=path, source=how, present=present, sampled=sampled))
        if how == "default":
            outcome.applied_defaults.append(f"{info.name}: {variable} → {path}")
        if how != "own_name" or info.type == "TEMPLATE" or trace_shape:
            mappings[key] = path
        if not sampled:
            if how != "own_name":
                outcome.warnings.append(
                    f"{label}: variable '{variable}' → '{path}' could not be checked (no {source.noun} to sample)"
                )
        elif present == 0:
            outcome.problems.append(
                f"{label}: variable '{variable}' is mapped to '{path}', which none of the {sampled} most recent "
                f"matching {source.nouns} has — map it to a path they carry; {suggestions(variable, sample)}"
            )
        elif present < sampled:
            outcome.warnings.append(
                f"{label}: variable '{variable}' → '{path}' has a value on only {present} of {sampled} sampled "
                f"{source.nouns}; the others will count as errors — narrow the filter to {source.nouns} that carry "
                "it (for example span_kind = 'LLM')"
            )
    # Mappings given for names the evaluator does not use would be ignored silently: say so.
    used = {v for v, _ in info.variables} | {r for _, r in info.variables if r}
    for extra in sorted(set(attachment.mappings) - used):
        outcome.warnings.append(
            f"{label}: column_mappings has '{extra}', which is not one of its variables "
            f"({', '.join(v for v, _ in info.variables) or 'none'}); it is ignored"
        )
    outcome.mappings.append(mappings)
    return EvaluatorCheck(
        evaluator=info.ref,
        version_id=attachment.pinned,
        eval_column=f"eval.{info.eval_name}",
        query_filter=attachment.query_filter,
        column_mappings=mappings,
        variables=checks,
        matching=matching.public if matching is not None else None,
    )


def _unmapped_path(
    source: Source, info: EvaluatorInfo, variable: str, sample: Sample
) -> tuple[str | None, Literal["own_name", "default", "none"]]:
    """Where an unmapped variable can be read: a default path, then its own name (when records carry them)."""
    own = source.own_path(variable) if info.type == "TEMPLATE" else variable
    default = source.default_path(variable)
    if sample.lookups:
        # The standard path first: ``attributes.input`` alone would read the whole ``input.*`` subtree as JSON.
        if default is not None and _present(sample, default):
            return default, "default"
        if _present(sample, own):
            return own, "own_name"
        return None, "none"
    # Nothing to sample: trust only a path the variable spells out, or the standard input/output defaults.
    if isinstance(source, DatasetSource):
        return variable, "own_name"
    if info.type == "CODE" or variable.startswith("attributes."):
        return own, "own_name"
    if default is not None and variable.lower() in BLIND_DEFAULTS:
        return default, "default"
    return None, "none"


_COMPARISON = re.compile(r"^\s*(?P<path>[A-Za-z_][\w.]*)\s*(?P<op>==?)\s*'(?P<value>(?:[^']|'')*)'\s*$")
_AND = re.compile(r"\s+AND\s+", re.IGNORECASE)
_SUGGESTED_COLUMNS = ("name", "span_kind", "status_code")


def _closest(wanted: str, candidates: Sequence[str]) -> str | None:
    """The candidate ``wanted`` most likely misspells: the same but for case, else the nearest by letters."""
    for candidate in candidates:
        if candidate.casefold() == wanted.casefold():
            return candidate
    near = difflib.get_close_matches(wanted, list(candidates), n=1, cutoff=0.6)
    return near[0] if near else None


def _fixed_comparison(path: str, value: str, sample: Sample) -> tuple[str, str] | None:
    """``(path, value)`` respelt as the sampled records spell them, if they spell one of the two a little otherwise."""
    values = sorted({str(v) for lookup in sample.lookups if isinstance(v := lookup(path), str) and v} - {value})
    respelt = _closest(value, values)
    if respelt is not None:
        return path, respelt
    paths = [*_SUGGESTED_COLUMNS, *sample.paths]
    carrying = [p for p in paths if p != path and any(lookup(p) == value for lookup in sample.lookups)]
    near = _closest(path, carrying)
    return (near, value) if near is not None else None


async def suggest_filter(source: Source, failing: str, *, field_name: str) -> tuple[str, int] | None:
    """A filter like ``failing`` (which matches none of ``source``'s records) that matches some, with how many.

    Only ``AND``-joined ``path = 'value'`` comparisons are respelt; anything else gets no suggestion.
    """
    parts = _AND.split(failing.strip())
    if any("(" in part or " OR " in part.upper() for part in parts):
        return None
    sample = await source.sample(None, field_name=field_name)
    if not sample.lookups:
        return None
    fixed: list[str] = []
    changed = False
    for part in parts:
        match = _COMPARISON.match(part)
        if match is None:
            fixed.append(part.strip())
            continue
        path, value = match["path"], match["value"].replace("''", "'")
        found = await source.count(part.strip(), field_name=field_name)
        respelt = _fixed_comparison(path, value, sample) if found.count == 0 else None
        if respelt is None:
            fixed.append(part.strip())
            continue
        changed = True
        fixed.append(f"{respelt[0]} = '{respelt[1].replace(chr(39), chr(39) * 2)}'")
    if not changed:
        return None
    suggestion = " AND ".join(fixed)
    try:
        counted = await source.count(suggestion, field_name=field_name)
    except ToolError:
        return None
    return (suggestion, counted.count) if counted.count else None
