"""What each evaluator of a task run does to one record: LLM judges and managed code evaluators.

``load_plans`` (inside a store read) turns a task's evaluator list into ``EvaluatorPlan``s: the evaluator's pinned
version (or its latest), its eval column name, its filters and how its variables are bound to a record. A judge's
plan also carries the ``ProviderConfig`` of its AI integration, key included (read through
``integration_secret``, the only reader of keys); ``ProviderClients`` turns that into one cached ``LlmClient`` per
integration. A plan that cannot run at all (a deleted integration, a provider the engine cannot call, a CUSTOM
code evaluator) raises ``RunSetupError``, which ends the run FAILED with its message.

Variables are bound like this (``bind``):

* span and dataset tasks: a variable's ``column_mappings`` entry names the column path; a variable with no entry is
  looked up under its own name (so ``{output}`` reads a run's ``output`` with no mapping at all). Code evaluators
  list column paths as their variables; a ``column_mappings`` entry keyed by that path, or by the evaluator's role
  for it (``value``, ``expected``), remaps it.
* trace and session tasks: a variable's ``query_mappings`` entry names an attribute path and the queries (A..E)
  whose matching spans feed it (none listed: any declared query; no queries declared: every span). The values of
  those spans, oldest first, make the variable: one value as it is, several as a list.

A value that is missing is a per-record error naming the variable and where it was looked for.
"""

from __future__ import annotations

import json
import sqlite3
from abc import ABC, abstractmethod
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass, field
from typing import Any

from ...errors import JudgeParseError, MissingVariableError, ProviderError
from ...evals.code_evaluators import MANAGED_EVALUATORS, ParamValue, check_managed_config, run_managed
from ...evals.judge import Judgement, JudgeSpec, judge_request, parse_judgement, render_template, template_variables
from ...evals.mapping import MISSING, SpanView, as_text, span_value
from ...evals.providers import LlmClient, ProviderConfig, protocol_of
from ...models.ids import decode_id
from ..store.documents import (
    CodeConfigDoc,
    EvaluatorVersionDoc,
    IntegrationDoc,
    LlmConfigDoc,
    TaskDoc,
    TaskEvaluatorDoc,
    TemplateConfigDoc,
)
from ..store.integrations import LLM_INTEGRATION_KIND, integration_secret
from ..store.objects import StoredObject, document, get_object, list_objects

__all__ = [
    "AUTH_FAILURE_LIMIT",
    "Binding",
    "EvaluatorPlan",
    "ItemError",
    "JudgePlan",
    "ManagedPlan",
    "ProviderClients",
    "Record",
    "RunSetupError",
    "bind",
    "load_integration",
    "load_plans",
]

AUTH_FAILURE_LIMIT = 3
"""A run whose first calls fail this many times on credentials (or on reaching the provider), with no success,
stops early: the same failure would repeat for every record."""


class RunSetupError(Exception):
    """A run cannot start; the message is the run's ``failure_reason``."""


class ItemError(Exception):
    """One record could not be scored; the message says why (never a key).

    ``fatal_reason`` is set when the failure would repeat for every record (bad credentials, an unreachable
    provider): the runner stops the run with that reason after a few of them and no success.
    """

    def __init__(self, message: str, *, fatal_reason: str | None = None) -> None:
        super().__init__(message)
        self.message = message
        self.fatal_reason = fatal_reason


def provider_failure_reason(exc: ProviderError, integration_name: str, integration_id: str) -> str | None:
    """The reason to end a whole run on, when a provider failure will repeat for every record (else ``None``)."""
    if exc.kind == "auth":
        status = f" ({exc.status})" if exc.status else ""
        return (
            f"the AI integration '{integration_name}' rejected its credentials{status} — update its key "
            f"(PATCH /v2/ai-integrations/{integration_id} with a new api_key), then trigger the run again"
        )
    if exc.kind == "connection":
        return (
            f"could not reach the AI integration '{integration_name}': {exc.message} — check its base_url "
            "and that the server is running, then trigger the run again"
        )
    return None


@dataclass
class Record:
    """One thing an evaluator scores.

    ``target_kind`` / ``key`` say where its result is stored (a span, including the root span standing for a
    trace or session, or an experiment run); ``ref`` names it in messages. Column-mapped records read values
    through ``lookup``; trace and session records carry their spans (oldest first) and, per query ID, the IDs of
    the spans that match that query's filter.
    """

    target_kind: str
    key: str
    ref: str
    lookup: Callable[[str], Any] | None = None
    columns: Sequence[str] = ()
    spans: list[SpanView] = field(default_factory=list)
    matches: dict[str, set[str]] = field(default_factory=dict)

    @property
    def noun(self) -> str:
        """What the record is (``span``, ``trace``, ``session``, ``run``), for messages that must not vary per
        record (errors are counted by message)."""
        return self.ref.split(" ", 1)[0]


@dataclass(frozen=True)
class Binding:
    """How an evaluator's variables are read: ``column_mappings`` (span and dataset tasks) or ``query_mappings``
    with the task's declared query IDs (trace and session tasks)."""

    column_mappings: Mapping[str, str] = field(default_factory=dict)
    query_mappings: Sequence[Mapping[str, Any]] | None = None
    declared_queries: Sequence[str] = ()


def _shown(names: Sequence[str], limit: int = 12) -> str:
    listed = ", ".join(names[:limit])
    return listed + (f" and {len(names) - limit} more" if len(names) > limit else "")


def bind(binding: Binding, record: Record, variable: str, *, role: str | None = None) -> tuple[Any, str]:
    """The value of ``variable`` on ``record`` (``MISSING`` when there is none) and, for messages, where it was
    looked for."""
    if binding.query_mappings is not None:
        return _bind_query(binding, record, variable, role)
    mappings = binding.column_mappings
    mapped_from = variable if variable in mappings else role if role is not None and role in mappings else None
    path = mappings[mapped_from] if mapped_from is not None else variable
    value = record.lookup(path) if record.lookup is not None else MISSING
    if value is not MISSING:
        return value, path
    where = f"the {record.noun} has no value there"
    if record.columns:
        where += f" (its columns: {_shown(list(record.columns))})"
    if mapped_from is not None:
        return MISSING, f"column_mappings maps '{mapped_from}' to '{path}', and {where}"
    return MISSING, (
        f"it has no column_mappings entry, so it was read as the column '{variable}', and {where}; add "
        f'"{variable}": "<column path>" to the evaluator\'s column_mappings'
    )


def _bind_query(binding: Binding, record: Record, variable: str, role: str | None) -> tuple[Any, str]:
    mappings = binding.query_mappings or []
    entry = next((m for m in mappings if m.get("variable_name") == variable), None)
    if entry is None and role is not None:
        entry = next((m for m in mappings if m.get("variable_name") == role), None)
    if entry is None:
        return MISSING, (
            f"the evaluator's query_mappings have no entry for it; add {{variable_name: '{variable}', "
            "query_ids: [...], attribute_path: '<path>'}"
        )
    path = str(entry.get("attribute_path") or "")
    query_ids = list(entry.get("query_ids") or []) or list(binding.declared_queries)
    if query_ids:
        chosen: set[str] = set()
        for query_id in query_ids:
            chosen |= record.matches.get(query_id, set())
        spans = [s for s in record.spans if s.span_id in chosen]
        queries = f"quer{'y' if len(query_ids) == 1 else 'ies'} {', '.join(query_ids)}"
        source = f"the spans of the {record.noun} matching {queries}"
    else:
        spans = list(record.spans)
        source = f"the spans of the {record.noun}"
    values = [v for v in (span_value(s, path) for s in spans) if v is not MISSING]
    if not values:
        return MISSING, f"query_mappings reads '{path}' from {source}, and none has a value there"
    return (values[0] if len(values) == 1 else values), path


@dataclass
class EvaluatorPlan(ABC):
    """One evaluator of a run: what it is called, which records it takes and how it reads them."""

    index: int
    evaluator_num: int
    evaluator_name: str
    eval_name: str
    binding: Binding
    query_filter: str | None = None
    code_filter: str | None = None

    @abstractmethod
    async def score(self, record: Record) -> Judgement:
        """Score one record.

        Raises:
            ItemError: the record could not be scored (the message names the cause).
        """

    def describe_filters(self) -> list[str]:
        """The evaluator-level filters, as messages quote them."""
        found = []
        if self.query_filter:
            found.append(f"evaluator '{self.evaluator_name}' query_filter \"{self.query_filter}\"")
        if self.code_filter:
            found.append(f"evaluator '{self.evaluator_name}' code_config.query_filter \"{self.code_filter}\"")
        return found

    def filters(self) -> list[str]:
        """The evaluator-level filter texts (ANDed with the task's)."""
        return [f for f in (self.query_filter, self.code_filter) if f]


def _variable_values(plan: EvaluatorPlan, record: Record, variables: Sequence[tuple[str, str | None]]) -> list[Any]:
    values = []
    for variable, role in variables:
        value, where = bind(plan.binding, record, variable, role=role)
        if value is MISSING:
            raise ItemError(f"variable '{variable}' has no value: {where}")
        values.append(value)
    return values


@dataclass
class JudgePlan(EvaluatorPlan):
    """An LLM-as-judge evaluator (``TEMPLATE``), calling its AI integration through a shared ``LlmClient``."""

    spec: JudgeSpec | None = None
    integration_id: str = ""
    integration_name: str = ""
    config: ProviderConfig | None = None
    client_key: tuple[Any, ...] = ()
    client: LlmClient | None = None
    _variables: tuple[str, list[str]] | None = field(default=None, repr=False, compare=False)

    @property
    def variables(self) -> list[str]:
        """The template's ``{var}`` placeholders."""
        assert self.spec is not None
        if self._variables is None or self._variables[0] != self.spec.template:
            # Read once per plan rather than once per record.
            self._variables = (self.spec.template, template_variables(self.spec.template))
        return list(self._variables[1])

    async def score(self, record: Record) -> Judgement:
        """Render the template with the record's values, ask the judge, and parse its label."""
        assert self.spec is not None and self.client is not None
        names = self.variables
        values = _variable_values(self, record, [(v, None) for v in names])
        try:
            prompt = render_template(self.spec.template, {n: as_text(v) for n, v in zip(names, values, strict=True)})
        except MissingVariableError as exc:
            raise ItemError(f"variable '{exc.variable}' has no value") from None
        function_calling = self.spec.use_function_calling and self.client.supports_function_calling
        request = judge_request(self.spec, prompt, function_calling=function_calling)
        try:
            result = await self.client.complete(request)
        except ProviderError as exc:
            fatal = provider_failure_reason(exc, self.integration_name, self.integration_id)
            raise ItemError(f"the judge call failed: {exc.message}", fatal_reason=fatal) from None
        try:
            return parse_judgement(self.spec, result)
        except JudgeParseError as exc:
            raise ItemError(str(exc)) from None


@dataclass
class ManagedPlan(EvaluatorPlan):
    """A managed code evaluator (``EXACT_MATCH``, ``MATCHES_REGEX``, ...): label ``"true"`` / ``"false"`` with
    score 1.0 / 0.0."""

    managed_evaluator: str = ""
    variables: Sequence[str] = ()
    params: Mapping[str, ParamValue] = field(default_factory=dict)

    async def score(self, record: Record) -> Judgement:
        """Decide the record with the registry's function."""
        roles = MANAGED_EVALUATORS[self.managed_evaluator].variables
        values = _variable_values(self, record, list(zip(self.variables, roles, strict=True)))
        try:
            passed = run_managed(self.managed_evaluator, values, self.params)
        except Exception as exc:  # a user-supplied regex can fail at match time (e.g. catastrophic input)
            raise ItemError(f"{self.managed_evaluator} failed: {type(exc).__name__}: {exc}") from None
        return Judgement(label="true" if passed else "false", score=1.0 if passed else 0.0, explanation=None)


# --- loading -----------------------------------------------------------------------------------------------------


def _version_of(conn: sqlite3.Connection, evaluator: StoredObject, entry: TaskEvaluatorDoc) -> StoredObject:
    version_num = entry.evaluator_version_num
    if version_num is not None:
        version = get_object(conn, "EvaluatorVersion", int(version_num))
        if version is None:
            raise RunSetupError(
                f"the pinned version {entry.evaluator_version_id} of evaluator '{evaluator.name}' no longer "
                "exists; update the task's evaluators to pin another version (or none, for the latest)"
            )
        return version
    versions, _ = list_objects(conn, "EvaluatorVersion", limit=1, parent_num=evaluator.num)
    if not versions:
        raise RunSetupError(f"evaluator '{evaluator.name}' has no version to run; create one")
    return versions[0]


def load_integration(
    conn: sqlite3.Connection, integration_id: str, provider_parameters: Mapping[str, Any], *, owner: str
) -> tuple[StoredObject, ProviderConfig]:
    """The AI integration named by ``integration_id`` and the ``ProviderConfig`` to call it (key included).

    Raises:
        RunSetupError: the integration is gone, or its provider cannot be called by the local engine.
    """
    decoded = decode_id(integration_id)
    integration = None
    if decoded is not None and decoded.type_name == LLM_INTEGRATION_KIND:
        integration = get_object(conn, LLM_INTEGRATION_KIND, decoded.number)
    if integration is None:
        raise RunSetupError(
            f"the AI integration {integration_id} of {owner} no longer exists; point it at an existing integration "
            "(GET /v2/ai-integrations)"
        )
    doc = document(integration, IntegrationDoc)
    try:
        protocol_of(str(doc.provider or ""))
    except ProviderError as exc:
        raise RunSetupError(f"{owner} uses AI integration '{integration.name}': {exc.message}") from None
    config = ProviderConfig(
        provider=str(doc.provider),
        api_key=integration_secret(conn, integration.num),
        base_url=doc.base_url,
        headers=dict(doc.headers or {}),
        provider_parameters=dict(provider_parameters or {}),
        function_calling_enabled=bool(doc.function_calling_enabled),
    )
    return integration, config


def client_key(integration: StoredObject, config: ProviderConfig) -> tuple[Any, ...]:
    """What identifies one cached client: the integration, its last change, and the provider parameters."""
    return (integration.num, integration.updated_at, json.dumps(dict(config.provider_parameters), sort_keys=True))


def _judge_plan(
    conn: sqlite3.Connection,
    base: dict[str, Any],
    evaluator: StoredObject,
    config: TemplateConfigDoc,
) -> JudgePlan:
    llm = config.llm_config or LlmConfigDoc()
    owner = f"evaluator '{evaluator.name}'"
    integration, provider = load_integration(
        conn, str(llm.ai_integration_id or ""), llm.provider_parameters or {}, owner=owner
    )
    spec = JudgeSpec(
        name=str(config.name),
        template=str(config.template),
        choices={str(k): float(v) for k, v in (config.classification_choices or {}).items()} or None,
        include_explanations=bool(config.include_explanations),
        use_function_calling=bool(config.use_function_calling),
        model_name=str(llm.model_name or ""),
        invocation_parameters=dict(llm.invocation_parameters or {}),
    )
    return JudgePlan(
        **base,
        eval_name=spec.name,
        spec=spec,
        integration_id=integration.id,
        integration_name=integration.name or integration.id,
        config=provider,
        client_key=client_key(integration, provider),
    )


def _code_plan(base: dict[str, Any], evaluator: StoredObject, config: CodeConfigDoc) -> ManagedPlan:
    if config.type != "MANAGED":
        raise RunSetupError(
            f"evaluator '{evaluator.name}' is a CUSTOM code evaluator; custom code runs only on Arize AX (the local "
            "engine does not execute user code). Use a MANAGED code evaluator (EXACT_MATCH, MATCHES_REGEX, "
            "JSON_PARSEABLE, CONTAINS_ANY_KEYWORD, CONTAINS_ALL_KEYWORDS) or an LLM judge, or run this task on AX"
        )
    managed = str(config.managed_evaluator)
    variables = [str(v) for v in config.variables or []]
    try:
        params = check_managed_config(managed, variables, config.static_params)
    except ValueError as exc:
        raise RunSetupError(f"evaluator '{evaluator.name}': {exc}") from None
    return ManagedPlan(
        **base,
        eval_name=str(config.name or evaluator.name),
        code_filter=config.query_filter,
        managed_evaluator=managed,
        variables=variables,
        params=params,
    )


def load_plans(conn: sqlite3.Connection, task: StoredObject) -> list[EvaluatorPlan]:
    """The plans of every evaluator of an evaluation task, in the task's order (clients not attached yet).

    Raises:
        RunSetupError: an evaluator, version or integration is gone, or cannot run locally.
    """
    doc = document(task, TaskDoc)
    declared = [f.id for f in doc.query_filters.filters] if doc.query_filters is not None else []
    plans: list[EvaluatorPlan] = []
    for index, entry in enumerate(doc.evaluators or []):
        evaluator = get_object(conn, "Evaluator", int(entry.evaluator_num))
        if evaluator is None:
            raise RunSetupError(
                f"evaluator {entry.evaluator_id} of task '{task.name}' no longer exists; update the task's evaluators"
            )
        version = _version_of(conn, evaluator, entry)
        query_mappings = entry.query_mappings
        binding = Binding(
            column_mappings=dict(entry.column_mappings or {}),
            query_mappings=list(query_mappings) if query_mappings is not None else None,
            declared_queries=declared,
        )
        base: dict[str, Any] = {
            "index": index,
            "evaluator_num": evaluator.num,
            "evaluator_name": evaluator.name or evaluator.id,
            "binding": binding,
            "query_filter": entry.query_filter,
        }
        version_doc = document(version, EvaluatorVersionDoc)
        template, code = version_doc.template_config, version_doc.code_config
        if template is not None:
            plans.append(_judge_plan(conn, base, evaluator, template))
        elif code is not None:
            plans.append(_code_plan(base, evaluator, code))
        else:
            raise RunSetupError(f"evaluator '{evaluator.name}' has a configuration the local engine cannot run")
    names = [p.eval_name for p in plans]
    clashes = sorted({n for n in names if names.count(n) > 1})
    if clashes:
        raise RunSetupError(
            f"several evaluators of task '{task.name}' write the same eval column ({', '.join(clashes)}), so their "
            "results would overwrite each other; give each evaluator's config a distinct name"
        )
    return plans


class ProviderClients:
    """One ``LlmClient`` per AI integration (and provider parameters), reused across runs; closed by ``aclose``.

    A changed integration (a new key, a new base URL) gets a new client the next time a run needs it.
    """

    def __init__(self, factory: Callable[[ProviderConfig], LlmClient]) -> None:
        self._factory = factory
        self._clients: dict[tuple[Any, ...], LlmClient] = {}
        self._retired: list[LlmClient] = []

    def get(self, key: tuple[Any, ...], config: ProviderConfig) -> LlmClient:
        """The client for ``key``, made from ``config`` on first use."""
        found = self._clients.get(key)
        if found is None:
            # A client of an older state of the same integration is closed at the end, not now: a run may use it.
            for old_key in [k for k in self._clients if k[0] == key[0] and k[1] != key[1]]:
                self._retired.append(self._clients.pop(old_key))
            found = self._clients[key] = self._factory(config)
        return found

    def attach(self, plans: Sequence[EvaluatorPlan]) -> list[LlmClient]:
        """Give each judge plan its client; returns the distinct clients the plans use."""
        used: dict[int, LlmClient] = {}
        for plan in plans:
            if isinstance(plan, JudgePlan) and plan.config is not None:
                plan.client = self.get(plan.client_key, plan.config)
                used[id(plan.client)] = plan.client
        return list(used.values())

    async def aclose(self) -> None:
        """Close every client made so far."""
        clients, self._clients = [*self._clients.values(), *self._retired], {}
        self._retired = []
        for client in clients:
            await client.aclose()
