"""Judges: create LLM-as-judge and managed code evaluators, version a judge, preview it on real records, and
measure how well it agrees with human labels.

* ``create_judge`` / ``update_judge`` check a judge before anything is stored: every label named in the prompt,
  no ``{{var}}`` (Mustache) placeholders in a ``{var}`` prompt, no labels that only differ in case or spacing, at
  least one variable. They return the template variables, each of which needs a column mapping in a task.
* ``create_code_evaluator`` checks the variables and the typed static parameters of a managed evaluator against
  the registry of ``arize_skills.evals.code_evaluators`` before sending anything.
* ``preview_judge`` (``_judge_preview.py``) runs a judge on a few real spans or examples without writing anything.
* ``align_judge`` (``_judge_alignment.py``) runs a judge server-side over labelled dataset examples and reports
  its agreement with the humans.
"""

from __future__ import annotations

import re
from collections.abc import Mapping, Sequence
from typing import Annotated, Any, Literal

from mcp.server.mcpserver import MCPServer
from mcp.server.mcpserver.exceptions import ToolError
from pydantic import BaseModel, Field

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
from ..errors import tool_errors
from ..state import AppState, app_state
from ..types import AiIntegrationRef, EvaluatorRef, Ref, SpaceArg, ToolContext, ToolResult
from . import register_tool
from ._judge_alignment import align_judge
from ._judge_common import request_fields, template_judge
from ._judge_preview import preview_judge

__all__ = [
    "CodeEvaluatorCreated",
    "JudgeCreated",
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

LabelsArg = Annotated[
    dict[str, float] | list[str] | None,
    Field(
        description=(
            "The labels the judge may answer. Two labels as a list, good one first (['correct', 'incorrect'] scores "
            "correct 1 and incorrect 0; binary labels are the recommended default), or an object mapping each "
            "label to its score ({'relevant': 1, 'partially_relevant': 0.5, 'irrelevant': 0}). Every label must "
            "appear in the prompt, spelt the same way."
        )
    ),
]
PromptArg = Annotated[
    str | None,
    Field(
        min_length=1,
        max_length=100_000,
        description=(
            "The judge prompt with single-brace {variable} placeholders ({input}, {output}, {context}); each "
            "variable gets its value from a column mapping of the task that runs the judge. Name every label and "
            "say when to answer it. Do not ask for an explanation or an answer format: that is added at run time. "
            "Write literal braces as {{ and }}."
        ),
    ),
]
ModelArg = Annotated[
    str | None,
    Field(
        min_length=1,
        max_length=255,
        description="The model the judge calls, as the provider names it ('gpt-4o-mini'). Omit to use the AI "
        "integration's first model.",
    ),
]
TemperatureArg = Annotated[
    float,
    Field(
        ge=0, le=2, description="Sampling temperature of the judge model; 0 (the default) makes judgements repeatable."
    ),
]
EvalColumnArg = Annotated[
    str | None,
    Field(
        min_length=1,
        max_length=255,
        description="The eval column results are written to (eval.<column>.label/score/explanation): letters, "
        "digits, spaces, _ - & ( ). Omit to derive it from the name.",
    ),
]
DescriptionArg = Annotated[
    str | None, Field(max_length=2000, description="A description shown with the evaluator; omit for none.")
]
NameArg = Annotated[
    str,
    Field(
        min_length=1, max_length=255, description="The evaluator's name, unique in the space ('Answer correctness')."
    ),
]

_VARIABLE_NOTE = (
    "each template variable needs a column mapping (variable → span attribute path or dataset column) in create_task"
)


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


def _eval_column(value: str | None, default: str) -> str:
    column = value if value is not None else default
    try:
        return check_eval_name(column)
    except ValueError as exc:
        raise ToolError(f"eval_column: {exc}") from None


def _model_for(integration: AiIntegration, model: str | None) -> str:
    if model is not None:
        return model
    names = integration.model_names or []
    if not names:
        raise ToolError(
            f"model: AI integration '{integration.name}' lists no models, so there is no default; pass model= "
            "with the model name the provider uses"
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


async def _template_of(state: AppState, template: str) -> EvaluatorTemplate:
    templates = await state.client.evaluators.list_templates()
    wanted = template.strip().lower()
    for found in templates:
        if found.column_name.lower() == wanted or found.display_name.lower() == wanted:
            return found
    known = ", ".join(t.column_name for t in templates)
    raise ToolError(
        f"template: no built-in judge template named {template!r}; the templates are: {known} — "
        "list_judge_templates describes them"
    )


# --- create_judge --------------------------------------------------------------------------------------------------


class JudgeCreated(ToolResult):
    """The judge created: its name and ID, its first version, and what a task needs to run it."""

    judge: Ref = Field(description="The new evaluator, by name and ID.")
    version_id: str = Field(description="The ID of its first version.")
    commit_message: str = Field(description="The first version's commit message.")
    eval_column: str = Field(description="Results are written as eval.<eval_column>.label / .score / .explanation.")
    labels: dict[str, float] = Field(description="Each label the judge may answer, with its score.")
    direction: Direction = Field(description="Which scores are better: MAXIMIZE (high), MINIMIZE (low) or NONE.")
    template_variables: list[str] = Field(description=f"The prompt's variables: {_VARIABLE_NOTE}.")
    from_template: str | None = Field(description="The built-in template it was made from, if any.")
    ai_integration: Ref = Field(description="The AI integration the judge calls, by name and ID.")
    model: str = Field(description="The model the judge calls.")
    include_explanations: bool = Field(description="Whether the judge explains each label.")
    use_function_calling: bool = Field(description="Whether the judge answers through a function call.")
    notes: list[str] = Field(description="Things worth checking before the judge runs.")
    next_step: str = Field(description="What to do next.")


@tool_errors
async def create_judge(
    ctx: ToolContext,
    name: NameArg,
    ai_integration: AiIntegrationRef,
    prompt: PromptArg = None,
    template: Annotated[
        str | None,
        Field(
            min_length=1,
            max_length=255,
            description="A built-in judge template to start from, by name ('hallucination', 'qa_correctness'; "
            "list_judge_templates lists them). Any of prompt, labels, direction, eval_column, "
            "data_granularity given as well override the template's.",
        ),
    ] = None,
    labels: LabelsArg = None,
    model: ModelArg = None,
    include_explanations: Annotated[
        bool, Field(description="Ask the judge to explain each label (recommended while validating a judge).")
    ] = True,
    use_function_calling: Annotated[
        bool, Field(description="Let the judge answer through a forced function call when the model supports it.")
    ] = True,
    direction: Annotated[
        Direction | None,
        Field(description="Which scores are better: MAXIMIZE (default), MINIMIZE or NONE; the template's if omitted."),
    ] = None,
    temperature: TemperatureArg = 0.0,
    eval_column: EvalColumnArg = None,
    data_granularity: Annotated[
        Granularity | None,
        Field(description="What one judgement covers: SPAN (default), TRACE or SESSION; the template's if omitted."),
    ] = None,
    description: DescriptionArg = None,
    space: SpaceArg = None,
) -> JudgeCreated:
    """Create an LLM-as-judge evaluator from your own prompt, or from a built-in template (template=...) with
    optional overrides. Before anything is stored it checks that every label appears in the prompt (labels the
    prompt never names are the classic silent failure: the judge never answers them), that the prompt uses
    {var} placeholders (not {{var}}), that no two labels differ only in case or spacing, and that there is at
    least one variable. Returns the evaluator's name, ID and version, its eval column, and the template variables
    — each needs a column mapping in create_task. Use binary labels unless the user needs more; call
    preview_judge next to see it judge real spans or examples."""
    state = app_state(ctx)
    client = state.client
    if prompt is None and template is None:
        raise ToolError("prompt: give the judge's prompt, or template= to start from a built-in template")
    base = await _template_of(state, template) if template is not None else None
    text = prompt if prompt is not None else base.template if base is not None else ""
    if labels is not None or base is None:
        choices = labels_to_choices(labels)
    else:
        choices = {label: float(score) for label, score in base.classification_choices.items()}
    variables = require_judge_checks(text, choices)
    column = _eval_column(eval_column, base.column_name if base is not None else column_name_for(name))
    integration = await client.ai_integrations.get(ai_integration, space=space)
    model_name = _model_for(integration, model)
    chosen_direction: Direction = direction or (base.direction if base is not None else "MAXIMIZE")
    granularity = data_granularity or (base.data_granularity if base is not None else None)
    created = await client.evaluators.create_judge(
        name,
        template=text,
        ai_integration=integration.id,
        model_name=model_name,
        classification_choices=choices,
        column_name=column,
        include_explanations=include_explanations,
        use_function_calling=use_function_calling,
        direction=chosen_direction,
        data_granularity=granularity,
        invocation_parameters={"temperature": temperature},
        description=description,
        space=space,
    )
    version = created.version
    return JudgeCreated(
        judge=Ref(id=created.id, name=created.name),
        version_id=version.id if version is not None else "",
        commit_message=(version.commit_message or "") if version is not None else "",
        eval_column=column,
        labels=choices,
        direction=chosen_direction,
        template_variables=variables,
        from_template=base.column_name if base is not None else None,
        ai_integration=Ref(id=integration.id, name=integration.name),
        model=model_name,
        include_explanations=include_explanations,
        use_function_calling=use_function_calling,
        notes=_model_note(integration, model_name),
        next_step=(
            f"call preview_judge(judge='{created.name}', ...) with a column mapping for "
            f"{', '.join(variables)} to see it judge a few real spans or examples, then create_task"
        ),
    )


# --- create_code_evaluator -----------------------------------------------------------------------------------------

ParamValueArg = str | bool | list[str]


class VariableRole(BaseModel):
    """One variable of a code evaluator: the role it plays and the path or column it reads."""

    role: str = Field(description="What the evaluator uses it as (value, expected).")
    path: str = Field(description="The span attribute path or dataset column it reads.")


class CodeEvaluatorCreated(ToolResult):
    """The managed code evaluator created, and how it decides."""

    evaluator: Ref = Field(description="The new evaluator, by name and ID.")
    version_id: str = Field(description="The ID of its first version.")
    managed_evaluator: ManagedEvaluatorName = Field(description="The managed check it runs.")
    decides: str = Field(description="When it answers true.")
    eval_column: str = Field(description="Results are written as eval.<eval_column>.label ('true'/'false') / .score.")
    variables: list[VariableRole] = Field(description="Its variables, in order, with their roles.")
    params: dict[str, ParamValueArg] = Field(description="Its static parameters, defaults included.")
    labels: dict[str, float] = Field(description="The labels it writes, with their scores.")
    next_step: str = Field(description="What to do next.")


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
    for name, value in (given or {}).items():
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
    evaluator: Annotated[
        ManagedEvaluatorName,
        Field(
            description="The managed check: EXACT_MATCH (value equals expected; variables value, expected; param "
            "case_sensitive 'true'/'false', default 'true'), MATCHES_REGEX (param pattern, required), "
            "JSON_PARSEABLE (no params), CONTAINS_ANY_KEYWORD / CONTAINS_ALL_KEYWORDS (param keywords: a list, "
            "required; case_sensitive default 'false'). All but EXACT_MATCH take one variable."
        ),
    ],
    variables: Annotated[
        list[str],
        Field(
            min_length=1,
            max_length=2,
            description="What the check reads, in order: span attribute paths ('attributes.output.value') for a "
            "project task, or dataset / run columns ('output', 'expected') for a dataset task.",
        ),
    ],
    params: Annotated[
        dict[str, ParamValueArg] | None,
        Field(
            description="Static parameters by name: {'pattern': '^[0-9]+$'}, {'keywords': ['refund', 'cancel']}, "
            "{'case_sensitive': false}. Omitted optional ones take their defaults."
        ),
    ] = None,
    eval_column: EvalColumnArg = None,
    query_filter: Annotated[
        str | None,
        Field(
            min_length=1,
            max_length=2000,
            description="Only score records matching this filter (\"span_kind = 'LLM'\"); omit to score every one.",
        ),
    ] = None,
    description: DescriptionArg = None,
    space: SpaceArg = None,
) -> CodeEvaluatorCreated:
    """Create a managed code evaluator — a deterministic check that needs no LLM: EXACT_MATCH, MATCHES_REGEX,
    JSON_PARSEABLE, CONTAINS_ANY_KEYWORD or CONTAINS_ALL_KEYWORDS. The variables (span attribute paths or dataset
    columns) and the typed static parameters are checked here, each error naming the argument to fix, before
    anything is stored. It writes label 'true' (score 1) or 'false' (score 0). Use it for format and keyword
    checks; use create_judge when the question needs judgement."""
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
    column = _eval_column(eval_column, column_name_for(name))
    created = await state.client.evaluators.create_code_evaluator(
        name,
        managed_evaluator=evaluator,
        variables=[v.strip() for v in variables],
        static_params=sent or None,
        column_name=column,
        query_filter=query_filter,
        description=description,
        space=space,
    )
    return CodeEvaluatorCreated(
        evaluator=Ref(id=created.id, name=created.name),
        version_id=created.version.id if created.version is not None else "",
        managed_evaluator=evaluator,
        decides=spec.description,
        eval_column=column,
        variables=[VariableRole(role=role, path=path.strip()) for role, path in zip(roles, variables, strict=True)],
        params=resolved,
        labels={"true": 1.0, "false": 0.0},
        next_step=(
            "attach it with create_task; its variables are read as the paths given here (a task's column_mappings "
            f"may remap them by role: {', '.join(roles)})"
        ),
    )


# --- update_judge --------------------------------------------------------------------------------------------------


class JudgeUpdated(ToolResult):
    """The judge's new version and what changed from the previous one."""

    judge: Ref = Field(description="The evaluator, by name and ID.")
    version_id: str = Field(description="The new version's ID; it is now the latest.")
    previous_version_id: str = Field(description="The version it was based on.")
    commit_message: str = Field(description="The new version's commit message.")
    changes: list[str] = Field(description="What changed, field by field.")
    template_variables: list[str] = Field(description=f"The prompt's variables: {_VARIABLE_NOTE}.")
    labels: dict[str, float] = Field(description="Each label the judge may answer, with its score.")
    ai_integration: Ref = Field(description="The AI integration the judge calls.")
    model: str = Field(description="The model the judge calls.")
    notes: list[str] = Field(description="Things worth checking before the judge runs.")
    next_step: str = Field(description="What to do next.")


def _word_diff(old: Sequence[str], new: Sequence[str]) -> str:
    added = [v for v in new if v not in old]
    removed = [v for v in old if v not in new]
    parts = []
    if added:
        parts.append("added " + ", ".join(map(repr, added)))
    if removed:
        parts.append("removed " + ", ".join(map(repr, removed)))
    return "; ".join(parts)


@tool_errors
async def update_judge(
    ctx: ToolContext,
    judge: EvaluatorRef,
    commit_message: Annotated[
        str, Field(min_length=1, max_length=1000, description="What this version changes and why (kept with it).")
    ],
    prompt: PromptArg = None,
    labels: LabelsArg = None,
    model: Annotated[
        str | None, Field(min_length=1, max_length=255, description="A new model for the judge; omit to keep it.")
    ] = None,
    ai_integration: Annotated[
        str | None,
        Field(
            min_length=1,
            max_length=512,
            description="A new AI integration, by name or ID (find(kind='ai_integration')); omit to keep it.",
        ),
    ] = None,
    include_explanations: Annotated[
        bool | None, Field(description="Turn explanations on or off; omit to keep the setting.")
    ] = None,
    use_function_calling: Annotated[
        bool | None, Field(description="Turn function calling on or off; omit to keep the setting.")
    ] = None,
    direction: Annotated[Direction | None, Field(description="MAXIMIZE, MINIMIZE or NONE; omit to keep it.")] = None,
    temperature: Annotated[
        float | None, Field(ge=0, le=2, description="A new sampling temperature; omit to keep it.")
    ] = None,
    space: SpaceArg = None,
) -> JudgeUpdated:
    """Save a new version of an LLM judge with a commit message: a new prompt, labels, model, AI integration or
    settings; everything not given is kept from the latest version. The same checks as create_judge run again on
    the result (every label in the prompt, {var} placeholders, distinct labels, at least one variable). Returns
    the new version ID and what changed. Tasks that use the judge's latest version pick it up on their next run;
    tasks pinned to a version keep theirs. Use it to iterate on a judge after preview_judge or align_judge."""
    state = app_state(ctx)
    client = state.client
    found, config = await template_judge(state, judge, None, space)
    assert found.version is not None
    llm = config.llm_config
    old_prompt = config.template or ""
    old_choices = {k: float(v) for k, v in (config.classification_choices or {}).items()}
    old_model = (llm.model_name if llm else None) or ""
    old_integration_id = (llm.ai_integration_id if llm else None) or ""
    invocation = request_fields(llm.invocation_parameters if llm else None, InvocationParamsRequest)
    changes: list[str] = []

    new_prompt = prompt if prompt is not None else old_prompt
    if new_prompt != old_prompt:
        diff = _word_diff(template_variables(old_prompt), template_variables(new_prompt))
        changes.append(
            f"prompt: {len(old_prompt):,} → {len(new_prompt):,} characters"
            + (f"; variables {diff}" if diff else "; same variables")
        )
    new_choices = labels_to_choices(labels) if labels is not None else old_choices
    if new_choices != old_choices:
        diff = _word_diff(list(old_choices), list(new_choices))
        rescored = [label for label in new_choices if label in old_choices and new_choices[label] != old_choices[label]]
        detail = "; ".join(filter(None, [diff, f"rescored {', '.join(map(repr, rescored))}" if rescored else ""]))
        changes.append(f"labels: {detail}")
    if not (ai_integration or old_integration_id):
        raise ToolError(f"ai_integration: '{found.name}' names no AI integration; pass ai_integration=<name or ID>")
    integration = await client.ai_integrations.get(ai_integration or old_integration_id, space=space)
    if integration.id != old_integration_id:
        changes.append(f"ai_integration: {old_integration_id or 'none'} → '{integration.name}' ({integration.id})")
    new_model = model or old_model
    if not new_model:
        new_model = _model_for(integration, None)
    if new_model != old_model:
        changes.append(f"model: {old_model or 'none'} → {new_model}")
    explanations = include_explanations if include_explanations is not None else bool(config.include_explanations)
    if explanations != bool(config.include_explanations):
        changes.append(f"include_explanations: {bool(config.include_explanations)} → {explanations}")
    calling = use_function_calling if use_function_calling is not None else bool(config.use_function_calling)
    if calling != bool(config.use_function_calling):
        changes.append(f"use_function_calling: {bool(config.use_function_calling)} → {calling}")
    new_direction = direction or config.direction
    if direction is not None and direction != config.direction:
        changes.append(f"direction: {config.direction or 'MAXIMIZE'} → {direction}")
    if temperature is not None and invocation.get("temperature") != temperature:
        changes.append(f"temperature: {invocation.get('temperature', 'default')} → {temperature:g}")
        invocation["temperature"] = temperature
    if not changes:
        raise ToolError(
            f"nothing to change: the arguments match the latest version of '{found.name}'; pass a new prompt, "
            "labels, model, ai_integration or setting"
        )
    variables = require_judge_checks(new_prompt, new_choices)
    template_config: dict[str, Any] = {
        "name": config.name or column_name_for(found.name),
        "template": new_prompt,
        "include_explanations": explanations,
        "use_function_calling": calling,
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
    if new_direction is not None:
        template_config["direction"] = new_direction
    if config.data_granularity is not None:
        template_config["data_granularity"] = config.data_granularity
    created = await client.evaluators.create_version(
        found.id, {"commit_message": commit_message, "template_config": template_config}
    )
    return JudgeUpdated(
        judge=Ref(id=found.id, name=found.name),
        version_id=created.id,
        previous_version_id=found.version.id,
        commit_message=commit_message,
        changes=changes,
        template_variables=variables,
        labels=new_choices,
        ai_integration=Ref(id=integration.id, name=integration.name),
        model=new_model,
        notes=_model_note(integration, new_model),
        next_step=(
            "check the new version with preview_judge, or measure it against human labels with align_judge; tasks "
            "pinned to an older version keep it until update_task pins this one"
        ),
    )


def register(server: MCPServer[Any]) -> None:
    """Register the judge tools."""
    register_tool(server, create_judge, title="Create an LLM judge", kind="create")
    register_tool(server, create_code_evaluator, title="Create a code evaluator", kind="create")
    register_tool(server, update_judge, title="Save a new judge version", kind="create")
    register_tool(server, preview_judge, title="Preview a judge on real records", kind="read", calls_llm=True)
    register_tool(server, align_judge, title="Measure a judge against human labels", kind="create", calls_llm=True)
