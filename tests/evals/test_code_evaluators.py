"""The managed code evaluator registry: what each evaluator accepts, and what it decides."""

from __future__ import annotations

from typing import Any

import pytest

from arize_skills.evals.code_evaluators import MANAGED_EVALUATORS, check_managed_config, run_managed
from arize_skills.models.evaluators import ManagedEvaluatorName


def test_the_registry_covers_exactly_the_managed_evaluators_of_the_contract() -> None:
    assert set(MANAGED_EVALUATORS) == set(ManagedEvaluatorName.__args__)  # type: ignore[attr-defined]


def test_defaults_fill_in_the_optional_params() -> None:
    assert check_managed_config("EXACT_MATCH", ["a", "b"], None) == {"case_sensitive": "true"}
    keywords = [{"name": "keywords", "type": "STRING_ARRAY", "default_value": ["x"]}]
    assert check_managed_config("CONTAINS_ANY_KEYWORD", ["a"], keywords) == {
        "keywords": ["x"],
        "case_sensitive": "false",
    }
    assert check_managed_config("JSON_PARSEABLE", ["a"], []) == {}


CASES: list[tuple[str, list[Any], dict[str, Any], bool]] = [
    ("EXACT_MATCH", ["Paris ", "paris"], {"case_sensitive": "false"}, True),
    ("EXACT_MATCH", ["Paris", "paris"], {"case_sensitive": "true"}, False),
    ("MATCHES_REGEX", ["order #12345 shipped"], {"pattern": r"#\d{5}\b"}, True),
    ("MATCHES_REGEX", ["no order here"], {"pattern": r"#\d{5}\b"}, False),
    ("JSON_PARSEABLE", ['{"a": 1}'], {}, True),
    ("JSON_PARSEABLE", ["{'a': 1}"], {}, False),
    ("JSON_PARSEABLE", [{"already": "parsed"}], {}, True),
    ("CONTAINS_ANY_KEYWORD", ["Your REFUND is on its way"], {"keywords": ["refund", "credit"]}, True),
    ("CONTAINS_ANY_KEYWORD", ["Your REFUND"], {"keywords": ["refund"], "case_sensitive": "true"}, False),
    ("CONTAINS_ALL_KEYWORDS", ["refund and credit"], {"keywords": ["refund", "credit"]}, True),
    ("CONTAINS_ALL_KEYWORDS", ["refund only"], {"keywords": ["refund", "credit"]}, False),
]


@pytest.mark.parametrize(("name", "values", "params", "expected"), CASES)
def test_a_managed_evaluator_decides_as_documented(
    name: str, values: list[Any], params: dict[str, Any], expected: bool
) -> None:
    static = [
        {"name": k, "type": MANAGED_EVALUATORS[name].param(k).type, "default_value": v}  # type: ignore[union-attr]
        for k, v in params.items()
    ]
    resolved = check_managed_config(name, [f"v{i}" for i in range(len(values))], static)
    assert run_managed(name, values, resolved) is expected
