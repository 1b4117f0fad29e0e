"""Judges: create LLM-as-judge and managed code evaluators, version a judge, preview it on real records, and
measure how well it agrees with human labels.

* ``create_judge`` / ``update_judge`` check a judge before anything is stored: every label named in the prompt,
  no ``{{var}}`` (Mustache) placeholders in a ``{var}`` prompt, no labels that only differ in case or spacing, at
  least one variable. They return the template variables, each of which needs a column mapping in a task.
  ``create_judge``'s ``prompt`` is a prompt, or (no ``{`` in it) the name of a built-in template whose prompt,
  labels, direction, granularity and eval column it takes. Rarely changed settings travel in one ``settings``
  object, checked here against ``JudgeSettings`` (enum spellings loosened as for every argument).
* The eval column (``template_config.name``; ``eval.<column>.*`` on spans and runs) comes from the template or the
  judge's name unless given; ``update_judge(eval_column=...)`` moves it for later results (AX versions carry it).
  Creating a judge or code evaluator, or moving the column, looks for values already under it
  (``judge_common.eval_column_holders``): the result warns in its summary line and names the way out.
* ``create_code_evaluator`` checks the variables and the typed static parameters of a managed evaluator against
  the registry of ``arize_skills.evals.code_evaluators`` before sending anything.
* ``preview_judge`` (``judge_preview.py``) runs a judge on a few real spans or examples without writing anything.
* ``align_judge`` (``judge_alignment.py``) runs a judge server-side over labelled dataset examples and reports
  its agreement with the humans.
"""

from __future__ import annotations

import re
from collections.abc import Mapping, Sequence
from typing import Annotated, Any, Literal

from mcp.server.mcpserver import MCPServer
from mcp.server.mcpserver.exceptions import ToolError
from pydantic import BaseModel, BeforeValidator, ConfigDict, Field, ValidationError

from ...client.resources.evaluators import column_name_for
from ...evals.code_evaluators import MANAGED_EVALUATORS, ParamSpec, check_managed_config
from ...evals.judge import check_template, template_variables
from ...models.ai_integrations import AiIntegration
from ...models.evaluators import (
    EvaluatorTemplate,
    InvocationParamsRequest,
    ManagedEvaluatorName,
    ProviderParamsRequest,
    check_eval_name,
)
from ..arguments import loosen_enums
from ..budget import cut
from ..errors import plain_validation, tool_errors
from ..state import AppState, app_state
from ..types import AiIntegrationRef, Ref, ToolContext, ToolResult
from . import register_tool
from .judge_alignment import align_judge
from .judge_common import (
    HOLDERS_SHOWN,
    JudgeRef,
    eval_column_holders,
    match_name,
    norm,
    request_fields,
    template_judge,
)
from .judge_preview import preview_judge

__all__ = [
    "CodeEvaluatorCreated",
    "JudgeCreated",
    "JudgeSettings",
    "JudgeUpdated",
    "align_judge",
    "create_code_evaluator",
    "create_judge",
    "labels_to_choices",
    "preview_judge",
    "register",
    "require_judge_checks",
    "update_judge",
]

Direction = Literal["MAXIMIZE", "MINIMIZE", "NONE"]
Granularity = Literal["SPAN", "TRACE", "SESSION"]


class JudgeSettings(BaseModel):
    """Settings a judge rarely changes (the ``settings`` argument, checked here: its schema is not published)."""

    model_config = ConfigDict(extra="forbid")

    model: str | None = Field(default=None, min_length=1, max_length=255)
    eval_column: str | None = Field(default=None, min_length=1, max_length=255)
    direction: Direction | None = None
    data_granularity: Granularity | None = None
    temperature: float | None = Field(default=None, ge=0, le=2)
    include_explanations: bool | None = None
    use_function_calling: bool | None = None


class _SettingsArgument(BaseModel):
    settings: JudgeSettings


def _settings(given: Mapping[str, Any] | None) -> JudgeSettings:
    """The ``settings`` argument checked, enum spellings loosened as for every argument.

    Raises:
        ToolError: naming each bad setting, or the settings there are.
    """
    unknown = sorted(set(given or {}) - set(JudgeSettings.model_fields))
    if unknown:
        raise ToolError(
            f"settings: {', '.join(unknown)} {'is' if len(unknown) == 1 else 'are'} not a setting here; the settings "
            f"are {', '.join(JudgeSettings.model_fields)}"
        )
    wrapped = {"settings": dict(given or {})}
    try:
        checked = _SettingsArgument.model_validate(loosen_enums(wrapped, _SettingsArgument.model_json_schema()))
    except ValidationError as exc:
        raise ToolError(plain_validation(exc)) from None
    return checked.settings


def _as_choices(value: Any) -> Any:
    """A list of labels as the object it stands for (see ``labels_to_choices``)."""
    if isinstance(value, list):
        try:
            return labels_to_choices(value)
        except ToolError as exc:
            raise ValueError(str(exc).removeprefix("labels: ")) from None
    return value


LabelsArg = Annotated[
    dict[str, float] | None,
    BeforeValidator(_as_choices),
    Field(description="{label: score} or [good, bad]."),
]
NameArg = Annotated[str, Field(min_length=1, max_length=255, description="Unique per space.")]
_SETTINGS = "model, direction, data_granularity, temperature…"
SettingsArg = Annotated[dict[str, Any] | None, Field(description=f"Eval_column, {_SETTINGS}.")]
UpdateSettingsArg = Annotated[dict[str, Any] | None, Field(description=f"Labels, ai_integration, {_SETTINGS}.")]

_VARIABLE_NOTE = "each needs a column mapping (create_task column_mappings)"


# --- shared checks -----------------------------------------------------------------------------------------------


def labels_to_choices(labels: Mapping[str, float] | Sequence[str] | None, field: str = "labels") -> dict[str, float]:
    """The ``classification_choices`` for a ``labels`` argument: two listed labels score 1 and 0, a mapping is
    taken as is.

    Raises:
        ToolError: no labels, a list that is not two labels, a blank or repeated label.
    """
    if labels is None:
        raise ToolError(
            f"{field}: a judge needs its labels — pass two labels, good one first (['correct', 'incorrect']), or an "
            "object of label → score; without them the judge's answers cannot be scored"
        )
    if isinstance(labels, Mapping):
        choices = {str(label): float(score) for label, score in labels.items()}
        if len(choices) < 2:
            raise ToolError(f"{field}: give at least two labels, each with its score")
    else:
        listed = list(labels)
        if len(listed) != 2:
            raise ToolError(
                f"{field}: a list gives the two labels of a binary judge, good one first (scored 1 and 0); for "
                f"{len(listed)} labels pass an object of label → score instead"
            )
        if listed[0] == listed[1]:
            raise ToolError(f"{field}: the two labels are both {listed[0]!r}; give two different labels")
        choices = {listed[0]: 1.0, listed[1]: 0.0}
    blank = [label for label in choices if not label.strip()]
    if blank:
        raise ToolError(f"{field}: a label is empty; give every label some text")
    return choices


def require_judge_checks(prompt: str, choices: Mapping[str, float]) -> list[str]:
    """The prompt's variables, once the prompt passes every pre-flight check of ``check_template``.

    Raises:
        ToolError: listing every problem found (labels the prompt never names, ``{{var}}`` placeholders, labels
            no answer can tell apart, no variables), each with its fix.
    """
    check = check_template(prompt, choices)
    if check.labels_not_in_prompt:
        missing = ", ".join(repr(label) for label in check.labels_not_in_prompt)
        head = (
            f"classification labels not in the prompt: {missing} — the judge is never told when to answer them, so "
            "it answers them rarely or never; name each label in the prompt, spelt exactly as in labels"
        )
        others = [p for p in check.problems if not p.startswith("the prompt never names")]
        raise ToolError("; ".join([head, *others]))
    if check.problems:
        raise ToolError("prompt: " + "; ".join(check.problems))
    return check.variables


def _eval_column(value: str | None, default: str, field: str = "eval_column") -> str:
    column = value if value is not None else default
    try:
        return check_eval_name(column)
    except ValueError as exc:
        raise ToolError(f"{field}: {exc}") from None


def _model_for(integration: AiIntegration, model: str | None) -> str:
    if model is not None:
        return model
    names = integration.model_names or []
    if not names:
        raise ToolError(
            f"settings.model: AI integration '{integration.name}' lists no models, so there is no default; pass "
            "settings={'model': <the model name the provider uses>}"
        )
    return names[0]


def _model_note(integration: AiIntegration, model: str) -> list[str]:
    names = integration.model_names or []
    if names and model not in names and not integration.enable_default_models:
        return [
            f"model '{model}' is not one of the models AI integration '{integration.name}' lists "
            f"({', '.join(names)}); check the spelling before running the judge"
        ]
    return []


async def _template_of(state: AppState, name: str) -> EvaluatorTemplate | None:
    """The built-in template ``name`` names (loosely: case, spaces, ``_``, ``-``), or None when it names none."""
    templates = await state.client.evaluators.list_templates()
    wanted = name.strip()
    exact = [t for t in templates if wanted in (t.column_name, t.display_name)]
    loose = [t for t in templates if norm(wanted) in (norm(t.column_name), norm(t.display_name))]
    found = exact or loose
    return found[0] if len(found) == 1 else None


def _with_in_use_warning(line: str, column: str, holders: Sequence[str], fix: str) -> str:
    """``line``, warned when the eval column already holds values (or another evaluator writes it), with the way
    out."""
    if not holders:
        return line
    more = len(holders) - HOLDERS_SHOWN
    shown = ", ".join(holders[:HOLDERS_SHOWN]) + (f" and {more} more" if more > 0 else "")
    return (
        f"{line} Warning: eval.{column} is already in use ({shown}): a task running it there collides with the "
        f"values there (trigger_backfill override replaces them); to write elsewhere, {fix}."
    )


def _judge_fix(judge: str, column: str) -> str:
    return f"update_judge(judge='{judge}', eval_column='{column}_2', commit_message=…)"


# --- create_judge --------------------------------------------------------------------------------------------------


class JudgeCreated(ToolResult):
    """The judge created: its name and ID, its first version, and what a task needs to run it."""

    judge: Ref = Field(description="The new evaluator.")
    version_id: str = Field(description="Its first version.")
    eval_column: str = Field(description="Results go to eval.<eval_column>.label / .score / .explanation.")
    labels: dict[str, float] = Field(description="Each label with its score.")
    template_variables: list[str] = Field(description=f"The prompt's variables: {_VARIABLE_NOTE}.")
    from_template: str | None = Field(description="The built-in template it was made from.")
    ai_integration: Ref = Field(description="The AI integration it calls.")
    model: str = Field(description="The model it calls.")
    eval_column_in_use: list[str] = Field(description="Where eval.<eval_column> is already in use.")
    notes: list[str] = Field(description="Things to check before it runs.")
    next_step: str = Field(description="What to do next.")

    def summary_line(self) -> tuple[str, str | None]:
        """What was created, where it writes, what it needs, and any collision."""
        line = (
            f"Created judge '{self.judge.name}': it writes eval.{self.eval_column}.label/score/explanation; "
            f"map {', '.join(self.template_variables)} in a task."
        )
        fix = _judge_fix(self.judge.name, self.eval_column)
        return _with_in_use_warning(line, self.eval_column, self.eval_column_in_use, fix), None


@tool_errors
async def create_judge(
    ctx: ToolContext,
    name: NameArg,
    ai_integration: AiIntegrationRef,
    prompt: Annotated[
        str,
        Field(
            min_length=1,
            max_length=100_000,
            description="{var} prompt naming every label, or a template name.",
        ),
    ],
    labels: LabelsArg = None,
    settings: SettingsArg = None,
) -> JudgeCreated:
    """Create an LLM judge from a prompt or template, checked first."""
    state = app_state(ctx)
    client = state.client
    base = await _template_of(state, prompt) if "{" not in prompt and len(prompt) <= 255 else None
    if base is None and "{" not in prompt:
        known = ", ".join(t.column_name for t in await client.evaluators.list_templates())
        raise ToolError(
            f"prompt: no built-in judge template is named {cut(prompt, 80)!r} (they are: {known}), and as a prompt "
            "it has no {variable} placeholders; name a template, or write the prompt with {input}, {output}…"
        )
    text = base.template if base is not None else prompt
    if labels is not None or base is None:
        choices = labels_to_choices(labels)
    else:
        choices = {label: float(score) for label, score in base.classification_choices.items()}
    variables = require_judge_checks(text, choices)
    options = _settings(settings)
    default_column = base.column_name if base is not None else column_name_for(name)
    column = _eval_column(options.eval_column, default_column, "settings.eval_column")
    integration = await client.ai_integrations.get(ai_integration)
    model_name = _model_for(integration, options.model)
    holders = await eval_column_holders(state, column)
    created = await client.evaluators.create_judge(
        name,
        template=text,
        ai_integration=integration.id,
        model_name=model_name,
        classification_choices=choices,
        column_name=column,
        include_explanations=options.include_explanations is not False,
        use_function_calling=options.use_function_calling is not False,
        direction=options.direction or (base.direction if base is not None else "MAXIMIZE"),
        data_granularity=options.data_granularity or (base.data_granularity if base is not None else None),
        invocation_parameters={"temperature": options.temperature if options.temperature is not None else 0.0},
    )
    return JudgeCreated(
        judge=Ref(id=created.id, name=created.name),
        version_id=created.version.id if created.version is not None else "",
        eval_column=column,
        labels=choices,
        template_variables=variables,
        from_template=base.column_name if base is not None else None,
        ai_integration=Ref(id=integration.id, name=integration.name),
        model=model_name,
        eval_column_in_use=holders,
        notes=_model_note(integration, model_name),
        next_step=(
            f"preview_judge(judge='{created.name}', source=…, column_mappings={{…}}) on a few real spans or "
            "examples, then create_task"
        ),
    )


# --- create_code_evaluator -----------------------------------------------------------------------------------------

ParamValueArg = str | bool | list[str]


class CodeEvaluatorCreated(ToolResult):
    """The managed code evaluator created, and how it decides."""

    evaluator: Ref = Field(description="The new evaluator.")
    version_id: str = Field(description="Its first version.")
    decides: str = Field(description="When it writes 'true' (score 1), else 'false' (0).")
    eval_column: str = Field(description="Results go to eval.<eval_column>.label / .score.")
    variables: dict[str, str] = Field(description="Each role (value, expected) and the path or column it reads.")
    params: dict[str, ParamValueArg] = Field(description="Its static parameters, defaults included.")
    eval_column_in_use: list[str] = Field(description="Where eval.<eval_column> is already in use.")
    next_step: str = Field(description="What to do next.")

    def summary_line(self) -> tuple[str, str | None]:
        """What was created, when it says true, where it writes, and any collision."""
        line = (
            f"Created code evaluator '{self.evaluator.name}' writing eval.{self.eval_column}.label/score: "
            f"{self.decides.rstrip('.')} (score 1), else 'false' (0)."
        )
        fix = f"delete(kind='evaluator', name='{self.evaluator.name}') and create it under another name"
        return _with_in_use_warning(line, self.eval_column, self.eval_column_in_use, fix), "decides"


def _param_value(check: str, spec: ParamSpec, value: ParamValueArg) -> str | list[str]:
    where = f"params.{spec.name}"
    if spec.type == "STRING_ARRAY":
        if isinstance(value, str):
            value = [value]
        if not isinstance(value, list) or not value or not all(isinstance(v, str) and v.strip() for v in value):
            raise ToolError(f"{where}: {check} takes a list of one or more non-empty strings ({spec.description})")
        return list(value)
    if isinstance(value, bool):
        value = "true" if value else "false"
    if not isinstance(value, str):
        raise ToolError(f"{where}: {check} takes a string here ({spec.description}), not a list")
    if spec.choices is not None:
        if value.lower() not in spec.choices:
            raise ToolError(f"{where}: must be one of {', '.join(spec.choices)} ({spec.description}), got {value!r}")
        return value.lower()
    if spec.type == "REGEX":
        try:
            re.compile(value)
        except re.error as exc:
            raise ToolError(f"{where}: {value!r} is not a valid regular expression ({exc})") from None
    return value


def _static_params(
    check: str, given: Mapping[str, ParamValueArg] | None
) -> tuple[list[dict[str, Any]], dict[str, ParamValueArg]]:
    spec = MANAGED_EVALUATORS[check]
    sent: list[dict[str, Any]] = []
    resolved: dict[str, ParamValueArg] = {}
    for given_name, value in (given or {}).items():
        name = match_name(given_name, [p.name for p in spec.params]) or given_name
        param = spec.param(name)
        if param is None:
            accepted = ", ".join(f"{p.name} ({p.type})" for p in spec.params) or "none"
            raise ToolError(f"params.{name}: {check} has no parameter {name!r}; it takes: {accepted}")
        converted = _param_value(check, param, value)
        sent.append({"name": name, "type": param.type, "default_value": converted})
        resolved[name] = converted
    for param in spec.params:
        if param.name in resolved:
            continue
        if param.required:
            raise ToolError(f"params.{param.name}: {check} needs {param.name!r} ({param.type}: {param.description})")
        if param.default is not None:
            resolved[param.name] = param.default
    return sent, resolved


@tool_errors
async def create_code_evaluator(
    ctx: ToolContext,
    name: NameArg,
    evaluator: Annotated[ManagedEvaluatorName, Field(description="The check.")],
    variables: Annotated[list[str], Field(description="Paths or columns read, in order.")],
    params: Annotated[dict[str, Any] | None, Field(description="pattern, keywords (list), case_sensitive.")] = None,
) -> CodeEvaluatorCreated:
    """Create a deterministic check (no LLM): true (1) or false (0)."""
    state = app_state(ctx)
    spec = MANAGED_EVALUATORS[evaluator]
    roles = spec.variables
    if len(variables) != len(roles):
        raise ToolError(
            f"variables: {evaluator} takes {len(roles)} variable{'s' if len(roles) != 1 else ''} "
            f"({', '.join(roles)}) — the span attribute path{'s' if len(roles) != 1 else ''} or dataset "
            f"column{'s' if len(roles) != 1 else ''} to check, in that order; got {len(variables)}"
        )
    for index, variable in enumerate(variables):
        if not variable.strip():
            raise ToolError(
                f"variables[{index}]: the {roles[index]} path is empty; give a span attribute path or column"
            )
    sent, resolved = _static_params(evaluator, params)
    try:
        check_managed_config(evaluator, variables, sent)
    except ValueError as exc:
        raise ToolError(str(exc)) from None
    column = _eval_column(None, column_name_for(name))
    holders = await eval_column_holders(state, column)
    created = await state.client.evaluators.create_code_evaluator(
        name,
        managed_evaluator=evaluator,
        variables=[v.strip() for v in variables],
        static_params=sent or None,
        column_name=column,
    )
    return CodeEvaluatorCreated(
        evaluator=Ref(id=created.id, name=created.name),
        version_id=created.version.id if created.version is not None else "",
        decides=spec.description,
        eval_column=column,
        variables={role: path.strip() for role, path in zip(roles, variables, strict=True)},
        params=resolved,
        eval_column_in_use=holders,
        next_step=f"attach it with create_task (column_mappings may remap its roles: {', '.join(roles)})",
    )


# --- update_judge --------------------------------------------------------------------------------------------------


class JudgeUpdated(ToolResult):
    """The judge's new version and what changed from the previous one."""

    judge: Ref = Field(description="The evaluator.")
    version_id: str = Field(description="The new version; it is now the latest.")
    previous_version_id: str = Field(description="The version it was based on.")
    eval_column: str = Field(description="Results go to eval.<eval_column>.label / .score / .explanation.")
    changes: list[str] = Field(description="What changed, field by field.")
    template_variables: list[str] = Field(description=f"The prompt's variables: {_VARIABLE_NOTE}.")
    labels: dict[str, float] = Field(description="Each label with its score.")
    model: str = Field(description="The model it calls.")
    eval_column_in_use: list[str] = Field(description="Where a new eval.<eval_column> is already in use.")
    notes: list[str] = Field(description="Things to check before it runs.")
    next_step: str = Field(description="What to do next.")

    def summary_line(self) -> tuple[str, str | None]:
        """The new version, what changed, where it writes, and any collision."""
        line = (
            f"Saved a new version of judge '{self.judge.name}' (now latest): {'; '.join(self.changes)}. It writes "
            f"eval.{self.eval_column}.label/score/explanation."
        )
        fix = _judge_fix(self.judge.name, self.eval_column)
        return _with_in_use_warning(line, self.eval_column, self.eval_column_in_use, fix), "changes"


def _word_diff(old: Sequence[str], new: Sequence[str]) -> str:
    added = [v for v in new if v not in old]
    removed = [v for v in old if v not in new]
    parts = []
    if added:
        parts.append("added " + ", ".join(map(repr, added)))
    if removed:
        parts.append("removed " + ", ".join(map(repr, removed)))
    return " and ".join(parts)


@tool_errors
async def update_judge(
    ctx: ToolContext,
    judge: JudgeRef,
    commit_message: Annotated[str, Field(min_length=1, max_length=1000, description="What and why.")],
    prompt: Annotated[str | None, Field(min_length=1, max_length=100_000, description="New prompt.")] = None,
    eval_column: Annotated[str | None, Field(min_length=1, max_length=255, description="Its new column.")] = None,
    settings: UpdateSettingsArg = None,
) -> JudgeUpdated:
    """Save a new judge version; what is not given stays."""
    state = app_state(ctx)
    client = state.client
    found, config = await template_judge(state, judge, None)
    assert found.version is not None
    given = dict(settings or {})
    ai_integration = given.pop("ai_integration", None)
    if ai_integration is not None and not (isinstance(ai_integration, str) and ai_integration.strip()):
        raise ToolError("settings.ai_integration: give the AI integration's name or ID")
    labels = given.pop("labels", None)
    if labels is not None and not isinstance(labels, dict | list):
        raise ToolError("settings.labels: give {label: score} or two labels, good first")
    options = _settings(given)
    llm = config.llm_config
    old_prompt = config.template or ""
    old_choices = {k: float(v) for k, v in (config.classification_choices or {}).items()}
    old_model = (llm.model_name if llm else None) or ""
    old_integration_id = (llm.ai_integration_id if llm else None) or ""
    old_column = config.name or column_name_for(found.name)
    invocation = request_fields(llm.invocation_parameters if llm else None, InvocationParamsRequest)
    changes: list[str] = []

    new_prompt = prompt if prompt is not None else old_prompt
    if new_prompt != old_prompt:
        diff = _word_diff(template_variables(old_prompt), template_variables(new_prompt))
        changes.append(
            f"prompt: {len(old_prompt):,} → {len(new_prompt):,} characters"
            + (f", variables {diff}" if diff else ", same variables")
        )
    new_choices = labels_to_choices(labels, "settings.labels") if labels is not None else old_choices
    if new_choices != old_choices:
        diff = _word_diff(list(old_choices), list(new_choices))
        rescored = [label for label in new_choices if label in old_choices and new_choices[label] != old_choices[label]]
        detail = " and ".join(filter(None, [diff, f"rescored {', '.join(map(repr, rescored))}" if rescored else ""]))
        changes.append(f"labels: {detail}")
    if not (ai_integration or old_integration_id):
        raise ToolError(
            f"settings.ai_integration: '{found.name}' names no AI integration; pass settings={{'ai_integration': …}}"
        )
    integration = await client.ai_integrations.get(ai_integration or old_integration_id)
    if integration.id != old_integration_id:
        changes.append(f"ai_integration: {old_integration_id or 'none'} → '{integration.name}' ({integration.id})")
    new_model = options.model or old_model or _model_for(integration, None)
    if new_model != old_model:
        changes.append(f"model: {old_model or 'none'} → {new_model}")
    eval_column = eval_column or options.eval_column
    new_column = _eval_column(eval_column, old_column) if eval_column is not None else old_column
    if new_column != old_column:
        changes.append(f"eval_column: {old_column} → {new_column} (results written before stay in eval.{old_column})")
    settled: dict[str, Any] = {}
    for field, old in (
        ("include_explanations", bool(config.include_explanations)),
        ("use_function_calling", bool(config.use_function_calling)),
        ("direction", config.direction),
        ("data_granularity", config.data_granularity),
        ("temperature", invocation.get("temperature")),
    ):
        new = getattr(options, field)
        settled[field] = old if new is None else new
        if new is not None and new != old:
            changes.append(f"{field}: {'default' if old is None else old} → {new}")
    if settled["temperature"] is not None:
        invocation["temperature"] = settled["temperature"]
    if not changes:
        raise ToolError(
            f"nothing to change: the arguments match the latest version of '{found.name}'; pass a new prompt, "
            "labels, model, ai_integration, eval_column or settings"
        )
    variables = require_judge_checks(new_prompt, new_choices)
    holders = await eval_column_holders(state, new_column, evaluator_id=found.id) if new_column != old_column else []
    template_config: dict[str, Any] = {
        "name": new_column,
        "template": new_prompt,
        "include_explanations": settled["include_explanations"],
        "use_function_calling": settled["use_function_calling"],
        "classification_choices": new_choices,
        "llm_config": {
            "ai_integration_id": integration.id,
            "model_name": new_model,
            "invocation_parameters": invocation,
            "provider_parameters": request_fields(llm.provider_parameters if llm else None, ProviderParamsRequest),
        },
    }
    if config.use_structured_output is not None:
        template_config["use_structured_output"] = config.use_structured_output
    for field in ("direction", "data_granularity"):
        if settled[field] is not None:
            template_config[field] = settled[field]
    created = await client.evaluators.create_version(
        found.id, {"commit_message": commit_message, "template_config": template_config}
    )
    return JudgeUpdated(
        judge=Ref(id=found.id, name=found.name),
        version_id=created.id,
        previous_version_id=found.version.id,
        eval_column=new_column,
        changes=changes,
        template_variables=variables,
        labels=new_choices,
        model=new_model,
        eval_column_in_use=holders,
        notes=_model_note(integration, new_model),
        next_step=(
            "preview_judge or align_judge the new version; tasks pinned to an older version keep it until "
            "update_task pins this one"
        ),
    )


def register(server: MCPServer[Any]) -> None:
    """Register the judge tools."""
    register_tool(server, create_judge, title="Create an LLM judge", kind="create")
    register_tool(server, create_code_evaluator, title="Create a code evaluator", kind="create")
    register_tool(server, update_judge, title="Save a new judge version", kind="create")
    register_tool(server, preview_judge, title="Preview a judge on real records", kind="read", calls_llm=True)
    register_tool(server, align_judge, title="Measure a judge against human labels", kind="create", calls_llm=True)
