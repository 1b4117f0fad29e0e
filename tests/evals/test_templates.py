"""The built-in judge templates: well-formed, consistent, and accepted by the engine as evaluators."""

from __future__ import annotations

import re

import pytest

from arize_skills.client import AsyncArizeClient
from arize_skills.evals.templates import (
    BUILTIN_TEMPLATES,
    JudgeTemplate,
    get_template,
    template_config_for,
    template_variables,
)
from arize_skills.models.evaluators import CreateEvaluatorRequest, check_eval_name

REQUIRED = {
    "hallucination",
    "qa_correctness",
    "document_relevance",
    "toxicity",
    "helpfulness",
    "user_frustration",
    "tool_call_correctness",
    "summarization",
}
IDS = [t.column_name for t in BUILTIN_TEMPLATES]


def _words(label: str) -> re.Pattern[str]:
    return re.compile(rf"(?<![\w-]){re.escape(label)}(?![\w-])")


def test_the_catalogue_has_every_required_judge_once_with_valid_column_names() -> None:
    assert set(IDS) >= REQUIRED
    assert len(IDS) == len(set(IDS))
    for name in IDS:
        assert check_eval_name(name) == name


@pytest.mark.parametrize("template", BUILTIN_TEMPLATES, ids=IDS)
def test_a_template_offers_two_labels_named_exactly_in_its_prompt(template: JudgeTemplate) -> None:
    assert len(template.rails) == 2
    assert template.rails == list(template.classification_choices)
    last_line = template.template.strip().splitlines()[-1]
    assert last_line == f"Answer with one label: {template.rails[0]} or {template.rails[1]}."
    for label in template.rails:
        assert re.fullmatch(r"[a-z_]+", label)
        assert f'- "{label}":' in template.template, f"{label} has no definition line"
        assert _words(label).search(template.template)


@pytest.mark.parametrize("template", BUILTIN_TEMPLATES, ids=IDS)
def test_no_label_can_be_mistaken_for_the_other(template: JudgeTemplate) -> None:
    first, second = template.rails
    assert not _words(first).search(second) and not _words(second).search(first)


@pytest.mark.parametrize("template", BUILTIN_TEMPLATES, ids=IDS)
def test_variables_are_single_brace_identifiers_and_the_only_braces(template: JudgeTemplate) -> None:
    variables = template_variables(template.template)
    assert variables and variables == template.variables
    assert all(v.isidentifier() for v in variables)
    remainder = re.sub(r"\{[A-Za-z_][A-Za-z0-9_]*\}", "", template.template)
    assert "{" not in remainder and "}" not in remainder


@pytest.mark.parametrize("template", BUILTIN_TEMPLATES, ids=IDS)
def test_a_template_never_asks_for_an_explanation(template: JudgeTemplate) -> None:
    lowered = template.template.lower()
    for word in ("explain", "explanation", "reasoning", "justify", "justification", "step by step"):
        assert word not in lowered


@pytest.mark.parametrize("template", BUILTIN_TEMPLATES, ids=IDS)
def test_scores_agree_with_the_direction(template: JudgeTemplate) -> None:
    scores = template.classification_choices
    if template.direction == "NONE":
        assert template.good_label is None
        return
    assert template.good_label in scores
    other = next(label for label in scores if label != template.good_label)
    if template.direction == "MAXIMIZE":
        assert scores[template.good_label] > scores[other]
    else:
        assert scores[template.good_label] < scores[other]


def test_granularity_is_null_for_spans_and_session_for_user_frustration() -> None:
    assert get_template("user_frustration").data_granularity in ("SESSION", "TRACE")
    assert get_template("hallucination").data_granularity is None
    assert {t.data_granularity for t in BUILTIN_TEMPLATES} <= {None, "TRACE", "SESSION"}


def test_an_unknown_template_name_lists_the_known_ones() -> None:
    with pytest.raises(KeyError, match="hallucination"):
        get_template("halucination")


@pytest.mark.parametrize("template", BUILTIN_TEMPLATES, ids=IDS)
def test_the_documented_mapping_gives_a_valid_create_request(template: JudgeTemplate) -> None:
    config = template_config_for(template, ai_integration_id="TGxtSW50ZWdyYXRpb246MTphYmNk", model_name="gpt-4o")
    assert config.name == template.column_name and config.template == template.template
    assert config.classification_choices == dict(template.classification_choices)
    assert config.direction == template.direction and config.data_granularity == template.data_granularity
    request = CreateEvaluatorRequest(
        space_id="U3BhY2U6MTphYmNk",
        name=template.display_name,
        type="TEMPLATE",
        version={"commit_message": "from the catalogue", "template_config": config},  # type: ignore[arg-type]
    )
    body = request.to_body()["version"]["template_config"]
    assert "data_granularity" not in body or body["data_granularity"] == template.data_granularity


async def test_every_template_becomes_an_evaluator_on_the_engine(client: AsyncArizeClient) -> None:
    await client.ai_integrations.create("judge-model", provider="OPEN_AI", api_key="sk-test")
    served = {t.column_name: t for t in await client.evaluators.list_templates()}
    assert list(served) == IDS
    for template in BUILTIN_TEMPLATES:
        created = await client.evaluators.create_from_template(
            template.column_name, ai_integration="judge-model", model_name="gpt-4o-mini"
        )
        assert created.name == template.display_name
        config = created.version.template_config  # type: ignore[union-attr]
        assert config is not None and config.template == template.template
        assert config.classification_choices == dict(template.classification_choices)
        assert config.direction == template.direction
        assert config.data_granularity == (template.data_granularity or "SPAN")
        assert config.include_explanations is True
    assert len(await client.evaluators.list().to_list()) == len(BUILTIN_TEMPLATES)
