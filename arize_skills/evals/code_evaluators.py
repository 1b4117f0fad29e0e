"""Managed code evaluators: what each one takes, and how each one decides.

AX names five managed evaluators but does not publish their argument names, so this registry defines them.
The engine checks every ``MANAGED`` code config against it (variable count, static params: names, types,
required, allowed values), and the task runner calls ``run_managed`` with the same entries.

* ``EXACT_MATCH`` — variables ``value``, ``expected``; ``case_sensitive`` STRING ``"true"``/``"false"``
  (default ``"true"``). Surrounding whitespace is ignored.
* ``MATCHES_REGEX`` — variable ``value``; ``pattern`` REGEX (required), searched anywhere in the value.
* ``JSON_PARSEABLE`` — variable ``value``; no params.
* ``CONTAINS_ANY_KEYWORD`` / ``CONTAINS_ALL_KEYWORDS`` — variable ``value``; ``keywords`` STRING_ARRAY
  (required, at least one), ``case_sensitive`` STRING (default ``"false"``).

Variables that are not strings (JSON objects from span attributes) are seen as their JSON text.

Each evaluator answers true or false; the runner turns that into a label and a score.
"""

from __future__ import annotations

import json
import re
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass
from typing import Any, Literal

__all__ = [
    "MANAGED_EVALUATORS",
    "ManagedEvaluatorSpec",
    "ParamSpec",
    "ParamValue",
    "check_managed_config",
    "run_managed",
    "value_text",
]

ParamValue = str | list[str]
"""A resolved static parameter: a string (``STRING``, ``REGEX``) or a list of strings (``STRING_ARRAY``)."""


@dataclass(frozen=True)
class ParamSpec:
    """One static parameter a managed evaluator reads."""

    name: str
    type: Literal["STRING", "STRING_ARRAY", "REGEX"]
    description: str
    required: bool = False
    default: str | None = None
    choices: tuple[str, ...] | None = None


@dataclass(frozen=True)
class ManagedEvaluatorSpec:
    """A managed evaluator: its variables (by role, in order), its static params, and its decision function."""

    name: str
    description: str
    variables: tuple[str, ...]
    params: tuple[ParamSpec, ...]
    decide: Callable[[Sequence[str], Mapping[str, ParamValue]], bool]

    def param(self, name: str) -> ParamSpec | None:
        """The static parameter called ``name``, if this evaluator has one."""
        return next((p for p in self.params if p.name == name), None)


def value_text(value: Any) -> str:
    """The text a managed evaluator sees for a variable: strings as they are, ``None`` as empty, others as JSON."""
    if value is None:
        return ""
    if isinstance(value, str):
        return value
    return json.dumps(value, ensure_ascii=False, default=str)


def _flag(params: Mapping[str, ParamValue], name: str) -> bool:
    return str(params.get(name, "false")).lower() == "true"


def _exact_match(values: Sequence[str], params: Mapping[str, ParamValue]) -> bool:
    value, expected = values[0].strip(), values[1].strip()
    if _flag(params, "case_sensitive"):
        return value == expected
    return value.casefold() == expected.casefold()


def _matches_regex(values: Sequence[str], params: Mapping[str, ParamValue]) -> bool:
    return re.search(str(params["pattern"]), values[0]) is not None


def _json_parseable(values: Sequence[str], params: Mapping[str, ParamValue]) -> bool:
    try:
        json.loads(values[0])
    except ValueError:
        return False
    return True


def _keyword_hits(values: Sequence[str], params: Mapping[str, ParamValue]) -> list[bool]:
    keywords = params["keywords"]
    words = keywords if isinstance(keywords, list) else [keywords]
    text = values[0]
    if _flag(params, "case_sensitive"):
        return [word in text for word in words]
    folded = text.casefold()
    return [word.casefold() in folded for word in words]


def _contains_any(values: Sequence[str], params: Mapping[str, ParamValue]) -> bool:
    return any(_keyword_hits(values, params))


def _contains_all(values: Sequence[str], params: Mapping[str, ParamValue]) -> bool:
    return all(_keyword_hits(values, params))


_CASE_SENSITIVE_TRUE = ParamSpec(
    "case_sensitive", "STRING", 'compare case-sensitively: "true" or "false"', default="true", choices=("true", "false")
)
_CASE_SENSITIVE_FALSE = ParamSpec(
    "case_sensitive", "STRING", 'match case-sensitively: "true" or "false"', default="false", choices=("true", "false")
)
_KEYWORDS = ParamSpec("keywords", "STRING_ARRAY", "the keywords to look for (at least one)", required=True)

MANAGED_EVALUATORS: dict[str, ManagedEvaluatorSpec] = {
    spec.name: spec
    for spec in (
        ManagedEvaluatorSpec(
            "EXACT_MATCH",
            "true when the value equals the expected value (surrounding whitespace ignored)",
            ("value", "expected"),
            (_CASE_SENSITIVE_TRUE,),
            _exact_match,
        ),
        ManagedEvaluatorSpec(
            "MATCHES_REGEX",
            "true when the regular expression matches anywhere in the value",
            ("value",),
            (ParamSpec("pattern", "REGEX", "a Python regular expression, searched anywhere in the value", True),),
            _matches_regex,
        ),
        ManagedEvaluatorSpec(
            "JSON_PARSEABLE",
            "true when the value parses as JSON",
            ("value",),
            (),
            _json_parseable,
        ),
        ManagedEvaluatorSpec(
            "CONTAINS_ANY_KEYWORD",
            "true when the value contains at least one of the keywords",
            ("value",),
            (_KEYWORDS, _CASE_SENSITIVE_FALSE),
            _contains_any,
        ),
        ManagedEvaluatorSpec(
            "CONTAINS_ALL_KEYWORDS",
            "true when the value contains every keyword",
            ("value",),
            (_KEYWORDS, _CASE_SENSITIVE_FALSE),
            _contains_all,
        ),
    )
}


def check_managed_config(
    managed_evaluator: str, variables: Sequence[str], static_params: Sequence[Mapping[str, Any]] | None
) -> dict[str, ParamValue]:
    """Check a ``MANAGED`` code config against the registry and return its params with defaults filled in.

    ``static_params`` are ``{name, type, default_value}`` mappings, as sent and as stored.

    Raises:
        ValueError: with a message naming the field and the fix (the engine answers it with a 400).
    """
    spec = MANAGED_EVALUATORS.get(managed_evaluator)
    if spec is None:
        known = ", ".join(MANAGED_EVALUATORS)
        raise ValueError(f"code_config.managed_evaluator must be one of {known}, got {managed_evaluator!r}")
    if len(variables) != len(spec.variables):
        roles = ", ".join(spec.variables)
        raise ValueError(
            f"code_config.variables: {spec.name} takes {len(spec.variables)} variable"
            f"{'s' if len(spec.variables) != 1 else ''} ({roles}), got {len(variables)}"
        )
    resolved: dict[str, ParamValue] = {}
    for index, given in enumerate(static_params or []):
        name, kind, value = given.get("name"), given.get("type"), given.get("default_value")
        param = spec.param(str(name))
        where = f"code_config.static_params[{index}]"
        if param is None:
            accepted = ", ".join(p.name for p in spec.params) or "none"
            raise ValueError(f"{where}: {spec.name} has no parameter {name!r} (it accepts: {accepted})")
        if kind != param.type:
            raise ValueError(f"{where}: parameter {name!r} of {spec.name} has type {param.type}, not {kind}")
        if param.type == "STRING_ARRAY":
            if not isinstance(value, list) or not value or not all(isinstance(v, str) and v for v in value):
                raise ValueError(f"{where}: {name!r} must be a non-empty list of non-empty strings")
            resolved[param.name] = list(value)
            continue
        if not isinstance(value, str):
            raise ValueError(f"{where}: {name!r} must be a string")
        if param.type == "REGEX":
            try:
                re.compile(value)
            except re.error as exc:
                raise ValueError(f"{where}: {name!r} is not a valid regular expression: {exc}") from None
        if param.choices is not None and value.lower() not in param.choices:
            raise ValueError(f"{where}: {name!r} must be one of {', '.join(param.choices)}, got {value!r}")
        resolved[param.name] = value.lower() if param.choices is not None else value
    for param in spec.params:
        if param.name in resolved:
            continue
        if param.required:
            raise ValueError(
                f"code_config.static_params: {spec.name} needs the {param.type} parameter {param.name!r} "
                f"({param.description})"
            )
        if param.default is not None:
            resolved[param.name] = param.default
    return resolved


def run_managed(managed_evaluator: str, values: Sequence[Any], params: Mapping[str, ParamValue]) -> bool:
    """Decide one record: ``values`` are the variables' values in order, ``params`` from ``check_managed_config``."""
    spec = MANAGED_EVALUATORS[managed_evaluator]
    return spec.decide([value_text(v) for v in values], params)
