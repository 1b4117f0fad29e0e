"""Judge logic: template variables and rendering, the judge's request, parsing its answer, template checks."""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

import pytest

from arize_skills.evals.judge import (
    JUDGE_TOOL,
    Judgement,
    JudgeParseError,
    JudgeSpec,
    MissingVariableError,
    TemplateSyntaxError,
    check_template,
    judge_request,
    mustache_variables,
    parse_judgement,
    render_mustache,
    render_template,
    template_variables,
)
from arize_skills.evals.providers import ChatResult, ToolCall
from arize_skills.evals.templates import BUILTIN_TEMPLATES, JudgeTemplate

QA = JudgeSpec(
    name="qa_correctness",
    template="Question: {input}\nAnswer: {output}\nIs the answer correct or incorrect?",
    choices={"correct": 1, "incorrect": 0},
    include_explanations=True,
    use_function_calling=True,
    model_name="gpt-4o-mini",
    invocation_parameters={"temperature": 0},
)
QA_NO_EXPLANATION = JudgeSpec(
    name="qa_correctness",
    template=QA.template,
    choices={"correct": 1, "incorrect": 0},
    include_explanations=False,
    use_function_calling=False,
    model_name="gpt-4o-mini",
    invocation_parameters={},
)
TOXICITY = JudgeSpec(
    name="toxicity",
    template="Text: {input}\nIs it toxic or non_toxic?",
    choices={"toxic": 0, "non_toxic": 1},
    include_explanations=True,
    use_function_calling=False,
    model_name="m",
    invocation_parameters={},
)
FREEFORM = JudgeSpec(
    name="topic",
    template="What topic is this about? {input}",
    choices=None,
    include_explanations=True,
    use_function_calling=False,
    model_name="m",
    invocation_parameters={},
)


def text(answer: str | None) -> ChatResult:
    return ChatResult(text=answer, tool_calls=[], prompt_tokens=10, completion_tokens=5, latency_ms=12.0)


def called(*arguments: Mapping[str, Any], name: str = JUDGE_TOOL, answer: str | None = None) -> ChatResult:
    calls = [ToolCall(name=name, arguments=args, id=f"call_{i}") for i, args in enumerate(arguments)]
    return ChatResult(text=answer, tool_calls=calls, prompt_tokens=10, completion_tokens=5, latency_ms=12.0)


# --- single-brace templates ----------------------------------------------------------------------------------------

VARIABLE_CASES = [
    ("in order of first use, once", "{output} vs {input}, again {output}", ["output", "input"]),
    ("AX's usual names", "{input} {output} {reference} {context}", ["input", "output", "reference", "context"]),
    ("dotted and dashed names", "{attributes.input.value} {user-query}", ["attributes.input.value", "user-query"]),
    ("doubled braces are literal", "{{input}} and {output}", ["output"]),
    ("tripled braces hold a variable", "{{{input}}}", ["input"]),
    ("JSON in the prompt is text", 'Reply as {"label": "x"} please', []),
    ("spaces inside braces are text", "{ input }", []),
    ("a name cannot start with a digit", "{1st}", []),
    ("an empty pair is text", "{}", []),
    ("unicode around variables", "Frage: {input} — Antwort: {output} ✓", ["input", "output"]),
    ("no variables", "Just text.", []),
]


@pytest.mark.parametrize(("template", "expected"), [c[1:] for c in VARIABLE_CASES], ids=[c[0] for c in VARIABLE_CASES])
def test_template_variables_are_the_single_brace_names(template: str, expected: list[str]) -> None:
    assert template_variables(template) == expected


RENDER_CASES: list[tuple[str, str, dict[str, str], str]] = [
    ("plain", "Q: {input}\nA: {output}", {"input": "2+2?", "output": "4"}, "Q: 2+2?\nA: 4"),
    ("repeated variable", "{x}-{x}", {"x": "a"}, "a-a"),
    ("doubled braces become single", "{{literal}} {x}", {"x": "v"}, "{literal} v"),
    ("a value holding a placeholder stays literal", "{a} {b}", {"a": "{b}", "b": "B"}, "{b} B"),
    ("a value holding doubled braces stays literal", "{a}", {"a": "{{x}} }}"}, "{{x}} }}"),
    ("regex replacement syntax in a value", "{a}", {"a": r"\1 \g<0> $1"}, r"\1 \g<0> $1"),
    ("unicode values", "{a} / {b}", {"a": "Zürich ✓", "b": "東京"}, "Zürich ✓ / 東京"),
    ("JSON text in the template is untouched", 'As {"k": 1}: {a}', {"a": "x"}, 'As {"k": 1}: x'),
    ("an empty value", "[{a}]", {"a": ""}, "[]"),
    ("extra values are ignored", "{a}", {"a": "1", "b": "2"}, "1"),
    ("a dotted name", "{attributes.input.value}", {"attributes.input.value": "q"}, "q"),
    ("multi-line value", "<doc>{a}</doc>", {"a": "line 1\nline 2"}, "<doc>line 1\nline 2</doc>"),
]


@pytest.mark.parametrize(
    ("template", "values", "expected"), [c[1:] for c in RENDER_CASES], ids=[c[0] for c in RENDER_CASES]
)
def test_render_template_inserts_values_verbatim(template: str, values: dict[str, str], expected: str) -> None:
    assert render_template(template, values) == expected


def test_rendering_without_a_value_names_the_missing_variable() -> None:
    with pytest.raises(MissingVariableError, match="'reference'") as caught:
        render_template("{input} vs {reference}", {"input": "q"})
    assert caught.value.variable == "reference"


# --- Mustache templates ---------------------------------------------------------------------------------------------

MUSTACHE_VARIABLE_CASES = [
    ("plain", "{{input}} then {{output}}", ["input", "output"]),
    ("spaces inside", "{{ input }} {{  output}}", ["input", "output"]),
    ("dataset columns", "{{dataset.question}} {{dataset.answer}}", ["dataset.question", "dataset.answer"]),
    ("repeats once", "{{a}} {{b}} {{a}}", ["a", "b"]),
    ("triple and ampersand forms", "{{{raw}}} {{& amp}}", ["raw", "amp"]),
    ("comments are not variables", "{{! a note }}{{x}}", ["x"]),
    ("single braces are text", "{input} {{output}}", ["output"]),
]


@pytest.mark.parametrize(
    ("template", "expected"), [c[1:] for c in MUSTACHE_VARIABLE_CASES], ids=[c[0] for c in MUSTACHE_VARIABLE_CASES]
)
def test_mustache_variables_are_the_double_brace_names(template: str, expected: list[str]) -> None:
    assert mustache_variables(template) == expected


MUSTACHE_RENDER_CASES: list[tuple[str, str, dict[str, str], str]] = [
    ("plain", "Q: {{input}} A: {{ output }}", {"input": "q", "output": "a"}, "Q: q A: a"),
    ("dataset column", "{{dataset.q}}", {"dataset.q": "why?"}, "why?"),
    ("no HTML escaping", "{{a}}|{{{a}}}", {"a": "<b>&</b>"}, "<b>&</b>|<b>&</b>"),
    ("a value holding a tag stays literal", "{{a}} {{b}}", {"a": "{{b}}", "b": "B"}, "{{b}} B"),
    ("single braces stay", '{input} {"k": {{a}}}', {"a": "1"}, '{input} {"k": 1}'),
    ("comments render as nothing", "x{{! drop me }}y", {}, "xy"),
    ("unicode", "{{a}}", {"a": "naïve ☃"}, "naïve ☃"),
]


@pytest.mark.parametrize(
    ("template", "values", "expected"),
    [c[1:] for c in MUSTACHE_RENDER_CASES],
    ids=[c[0] for c in MUSTACHE_RENDER_CASES],
)
def test_render_mustache_inserts_values_verbatim(template: str, values: dict[str, str], expected: str) -> None:
    assert render_mustache(template, values) == expected


@pytest.mark.parametrize(
    ("template", "message"),
    [
        ("{{#items}}x{{/items}}", "sections"),
        ("{{^empty}}none{{/empty}}", "sections"),
        ("{{> header}}", "partials"),
        ("{{=<% %>=}}", "delimiter"),
        ("{{ two words }}", "not a variable placeholder"),
        ("{{}}", "not a variable placeholder"),
    ],
)
def test_unsupported_mustache_is_refused_with_a_clear_error(template: str, message: str) -> None:
    with pytest.raises(TemplateSyntaxError, match=message):
        mustache_variables(template)
    with pytest.raises(TemplateSyntaxError, match=message):
        render_mustache(template, {"items": "x", "empty": "", "two": "x"})


def test_mustache_rendering_without_a_value_names_the_missing_variable() -> None:
    with pytest.raises(MissingVariableError) as caught:
        render_mustache("{{dataset.question}} {{dataset.answer}}", {"dataset.question": "q"})
    assert caught.value.variable == "dataset.answer"
    assert "dataset.answer" in str(caught.value)


# --- template checks -------------------------------------------------------------------------------------------------


@pytest.mark.parametrize("template", BUILTIN_TEMPLATES, ids=[t.column_name for t in BUILTIN_TEMPLATES])
def test_every_built_in_template_passes_the_template_check(template: JudgeTemplate) -> None:
    check = check_template(template.template, template.classification_choices)
    assert check.problems == []
    assert check.ok
    assert check.variables == template.variables


CHECK_CASES: list[tuple[str, str, dict[str, float] | None, str]] = [
    ("a label the prompt never names", "Is {output} good?", {"good": 1, "bad": 0}, "never names the label(s) 'bad'"),
    (
        "'correct' inside 'incorrect' does not count",
        "Say whether {output} is incorrect.",
        {"correct": 1, "incorrect": 0},
        "never names the label(s) 'correct'",
    ),
    ("labels differing only in case", "{x}: Yes or yes?", {"Yes": 1, "yes": 0}, "differ only in case"),
    ("labels differing only in _ and -", "{x}: non_toxic or non-toxic", {"non_toxic": 1, "non-toxic": 0}, "differ"),
    ("a blank label", "{x}: a or b", {"a": 1, "b": 0, " ": 0}, "empty label"),
    ("Mustache tags in an evaluator template", "{{input}} -> {output}: a or b", {"a": 1, "b": 0}, "single braces"),
    ("no variables at all", "Is it good or bad?", {"good": 1, "bad": 0}, "no {variable} placeholders"),
]


@pytest.mark.parametrize(
    ("template", "choices", "problem"), [c[1:] for c in CHECK_CASES], ids=[c[0] for c in CHECK_CASES]
)
def test_the_template_check_reports_what_would_fail_silently(
    template: str, choices: dict[str, float] | None, problem: str
) -> None:
    check = check_template(template, choices)
    assert not check.ok
    assert any(problem in found for found in check.problems), check.problems


def test_the_template_check_lists_variables_literal_tags_and_label_groups() -> None:
    check = check_template("{input} {{output}} {{ reference }}: Good, BAD or bad", {"good": 1, "bad": 0, "BAD": 0})
    assert check.variables == ["input"]
    assert check.literal_placeholders == ["output", "reference"]
    assert check.duplicate_labels == [["bad", "BAD"]]
    assert check.labels_not_in_prompt == []


def test_a_run_config_template_is_checked_in_mustache_form() -> None:
    check = check_template("Q: {{dataset.q}} A: {{ output }}. Say pass or fail.", {"pass": 1, "fail": 0}, mustache=True)
    assert check.ok and check.variables == ["dataset.q", "output"]
    assert check_template("{{q}}: pass?", {"pass": 1, "fail": 0}, mustache=True).labels_not_in_prompt == ["fail"]
    with pytest.raises(TemplateSyntaxError):
        check_template("{{#q}}x{{/q}}", None, mustache=True)


def test_labels_are_found_in_the_prompt_whatever_their_case_and_freeform_judges_have_none_to_find() -> None:
    assert check_template("{x}: answer HALLUCINATED or Factual", {"hallucinated": 0, "factual": 1}).ok
    assert check_template("Summarise {x} in one word.", None).ok


# --- the judge's request --------------------------------------------------------------------------------------------


def test_a_function_calling_request_forces_one_tool_that_reasons_before_it_labels() -> None:
    request = judge_request(QA, "Question: 2+2?\nAnswer: 4", function_calling=True)
    assert request.model == "gpt-4o-mini"
    assert dict(request.invocation_parameters) == {"temperature": 0}
    system, user = request.messages
    assert system.role == "system" and "correct, incorrect" in (system.content or "")
    assert JUDGE_TOOL in (system.content or "")
    assert user.role == "user" and user.content == "Question: 2+2?\nAnswer: 4"
    (tool,) = request.tools
    assert tool.name == JUDGE_TOOL and request.tool_choice == JUDGE_TOOL
    parameters = dict(tool.parameters)
    assert list(parameters["properties"]) == ["explanation", "label"]
    assert parameters["properties"]["label"]["enum"] == ["correct", "incorrect"]
    assert parameters["required"] == ["explanation", "label"]


def test_a_function_calling_request_without_explanations_asks_only_for_the_label() -> None:
    spec = JudgeSpec("qa", QA.template, QA.choices, False, True, "m", {})
    (tool,) = judge_request(spec, "p", function_calling=True).tools
    assert list(tool.parameters["properties"]) == ["label"]
    assert tool.parameters["required"] == ["label"]


def test_a_text_request_appends_the_answer_format_to_the_prompt() -> None:
    request = judge_request(QA, "Question: 2+2?", function_calling=False)
    assert request.tools == [] and request.tool_choice is None
    user = request.messages[1].content or ""
    assert user.startswith("Question: 2+2?\n\n")
    assert user.endswith("EXPLANATION: <your reasoning, in a few sentences>\nLABEL: <one of: correct, incorrect>")
    bare = judge_request(QA_NO_EXPLANATION, "Question: 2+2?", function_calling=False).messages[1].content or ""
    assert "EXPLANATION" not in bare and bare.endswith("LABEL: <one of: correct, incorrect>")


def test_a_freeform_request_offers_no_fixed_labels() -> None:
    (tool,) = judge_request(FREEFORM, "p", function_calling=True).tools
    assert "enum" not in tool.parameters["properties"]["label"]
    user = judge_request(FREEFORM, "p", function_calling=False).messages[1].content or ""
    assert user.endswith("LABEL: <your verdict, as a short label>")


def test_the_prompt_goes_to_the_model_verbatim_even_with_braces_in_it() -> None:
    prompt = render_template(QA.template, {"input": "What is {x}?", "output": "{{y}}"})
    assert judge_request(QA, prompt, function_calling=True).messages[1].content == prompt


def test_an_answer_in_the_requested_text_format_parses_back() -> None:
    request = judge_request(QA, "p", function_calling=False)
    assert "LABEL: <one of: correct, incorrect>" in (request.messages[1].content or "")
    answer = "EXPLANATION: 2+2 is 4, as the answer says.\nLABEL: correct"
    assert parse_judgement(QA, text(answer)) == Judgement("correct", 1.0, "2+2 is 4, as the answer says.")


# --- parsing ----------------------------------------------------------------------------------------------------------

TEXT_CASES: list[tuple[str, JudgeSpec, str, str, str | None]] = [
    ("LABEL line", QA, "EXPLANATION: Matches the reference.\nLABEL: correct", "correct", "Matches the reference."),
    ("LABEL line, incorrect", QA, "EXPLANATION: Wrong year.\nLABEL: incorrect", "incorrect", "Wrong year."),
    ("multi-line explanation", QA, "EXPLANATION: One.\nTwo.\nLABEL: incorrect", "incorrect", "One.\nTwo."),
    ("markdown bold", QA, "**Explanation:** It fits.\n**Label:** **Correct**", "correct", "It fits."),
    ("quoted label", QA, 'LABEL: "incorrect"', "incorrect", None),
    ("single-quoted, trailing dot", QA, "Label: 'correct'.", "correct", None),
    ("backticks", QA, "LABEL: `incorrect`", "incorrect", None),
    ("label on the next line", QA, "Label:\n\n**correct**", "correct", None),
    ("label then a reason", QA, "LABEL: incorrect - the date is wrong", "incorrect", None),
    ("final label", QA, "I checked every claim.\nFinal label: correct", "correct", "I checked every claim."),
    ("upper case", QA, "LABEL: INCORRECT", "incorrect", None),
    ("a bare label line", QA, "It matches the reference.\n\nCorrect", "correct", "It matches the reference."),
    (
        "bare label first",
        QA,
        "incorrect\nThe capital is Paris, not Lyon.",
        "incorrect",
        "The capital is Paris, not Lyon.",
    ),
    (
        "last line starts with the label",
        QA,
        "Correct - it matches the reference.",
        "correct",
        "Correct - it matches the reference.",
    ),
    ("'incorrect' is not 'correct'", QA, "The answer is incorrect.", "incorrect", "The answer is incorrect."),
    ("'correct' is not inside 'incorrect'", QA, "The answer is correct.", "correct", "The answer is correct."),
    ("JSON answer", QA, '{"explanation": "Fits.", "label": "correct"}', "correct", "Fits."),
    ("fenced JSON answer", QA, '```json\n{"label": "Incorrect", "explanation": "No."}\n```', "incorrect", "No."),
    ("JSON after prose", QA, 'Here you go: {"label": "correct"}', "correct", None),
    (
        "JSON in the explanation, LABEL line wins",
        QA,
        'EXPLANATION: It echoes {"label": "x"}.\nLABEL: incorrect',
        "incorrect",
        'It echoes {"label": "x"}.',
    ),
    (
        "a label in a question does not count",
        QA,
        "Is the answer correct? Yes, it is correct.",
        "correct",
        "Is the answer correct? Yes, it is correct.",
    ),
    ("think block ignored", QA, "<think>correct? incorrect? hmm</think>\nLABEL: correct", "correct", None),
    ("hyphen for underscore", TOXICITY, "EXPLANATION: Polite.\nLABEL: non-toxic", "non_toxic", "Polite."),
    ("space for underscore", TOXICITY, "LABEL: Non Toxic", "non_toxic", None),
    ("'toxic' is not inside 'non-toxic'", TOXICITY, "The text is non-toxic.", "non_toxic", "The text is non-toxic."),
    ("exact underscore label", TOXICITY, "LABEL: toxic", "toxic", None),
    ("no explanation when not asked", QA_NO_EXPLANATION, "EXPLANATION: Fits.\nLABEL: correct", "correct", None),
    ("freeform LABEL line", FREEFORM, "EXPLANATION: About money.\nLABEL: finance", "finance", "About money."),
    ("freeform whole answer", FREEFORM, "  Finance and banking \n", "Finance and banking", None),
    ("freeform JSON", FREEFORM, '{"label": "sports"}', "sports", None),
]


@pytest.mark.parametrize(
    ("spec", "answer", "label", "explanation"), [c[1:] for c in TEXT_CASES], ids=[c[0] for c in TEXT_CASES]
)
def test_a_text_answer_gives_its_label_score_and_explanation(
    spec: JudgeSpec, answer: str, label: str, explanation: str | None
) -> None:
    judgement = parse_judgement(spec, text(answer))
    assert judgement.label == label
    assert judgement.score == (float(spec.choices[label]) if spec.choices else None)
    assert judgement.explanation == explanation


TEXT_ERROR_CASES: list[tuple[str, JudgeSpec, str | None, str]] = [
    ("empty answer", QA, "", "no text and no record_judgement call"),
    ("no answer at all", QA, None, "no text and no record_judgement call"),
    ("whitespace only", QA, "  \n ", "no text"),
    ("only thinking", QA, "<think>correct</think>", "gave no answer"),
    ("two different labels", QA, "Parts are correct, parts are incorrect.", "several labels (correct, incorrect)"),
    ("two bare label lines", QA, "correct\nincorrect", "several labels"),
    ("LABEL lines disagree", QA, "LABEL: correct\nLABEL: incorrect", "LABEL lines name different labels"),
    ("an unknown label", QA, "LABEL: partially correct", "'partially correct', which is not one of the choices"),
    ("a label the choices lack", QA, "LABEL: maybe", "'maybe'"),
    ("no label anywhere", QA, "I cannot tell from this.", "names none of the labels"),
    ("a label only in a question", QA, "Is the answer correct? No.", "names none of the labels"),
    ("a question on its own line", QA, "Is it correct?\nHard to say", "names none of the labels"),
    ("a negated label", TOXICITY, "The text is not toxic.", "negates"),
    ("an unknown JSON label", QA, '{"label": "unsure"}', "JSON label 'unsure'"),
    ("empty LABEL line", QA, "EXPLANATION: hmm\nLABEL:", "not one of the choices"),
    ("freeform empty LABEL", FREEFORM, "LABEL:   ", "LABEL line is empty"),
]


@pytest.mark.parametrize(
    ("spec", "answer", "message"), [c[1:] for c in TEXT_ERROR_CASES], ids=[c[0] for c in TEXT_ERROR_CASES]
)
def test_an_unusable_text_answer_is_an_error_never_a_guess(spec: JudgeSpec, answer: str | None, message: str) -> None:
    with pytest.raises(JudgeParseError) as caught:
        parse_judgement(spec, text(answer))
    assert message in str(caught.value)
    assert caught.value.labels == spec.labels
    if spec.labels:
        assert f"allowed labels: {', '.join(spec.labels)}" in str(caught.value)


def test_a_parse_error_quotes_what_the_model_answered_trimmed() -> None:
    answer = "I am unsure. " + "Let me think more. " * 40
    with pytest.raises(JudgeParseError) as caught:
        parse_judgement(QA, text(answer))
    assert "I am unsure. Let me think more." in str(caught.value)
    assert caught.value.answer.endswith("…") and len(caught.value.answer) <= 301
    assert len(str(caught.value)) < 500


TOOL_CASES: list[tuple[str, JudgeSpec, ChatResult, Judgement]] = [
    (
        "label and explanation",
        QA,
        called({"explanation": "Fits.", "label": "correct"}),
        Judgement("correct", 1.0, "Fits."),
    ),
    ("label only", QA, called({"label": "incorrect"}), Judgement("incorrect", 0.0, None)),
    ("label in another case", QA, called({"explanation": "x", "label": "Incorrect"}), Judgement("incorrect", 0.0, "x")),
    (
        "explanation dropped when not asked",
        QA_NO_EXPLANATION,
        called({"explanation": "x", "label": "correct"}),
        Judgement("correct", 1.0, None),
    ),
    ("the same label twice", QA, called({"label": "correct"}, {"label": "correct"}), Judgement("correct", 1.0, None)),
    (
        "text ignored when the tool was called",
        QA,
        called({"label": "incorrect"}, answer="LABEL: correct"),
        Judgement("incorrect", 0.0, None),
    ),
    (
        "text used when the model did not call",
        QA,
        text("EXPLANATION: ok\nLABEL: correct"),
        Judgement("correct", 1.0, "ok"),
    ),
    (
        "freeform label",
        FREEFORM,
        called({"explanation": "money", "label": " finance "}),
        Judgement("finance", None, "money"),
    ),
]


@pytest.mark.parametrize(("spec", "result", "expected"), [c[1:] for c in TOOL_CASES], ids=[c[0] for c in TOOL_CASES])
def test_a_record_judgement_call_gives_the_label_score_and_explanation(
    spec: JudgeSpec, result: ChatResult, expected: Judgement
) -> None:
    assert parse_judgement(spec, result) == expected


TOOL_ERROR_CASES: list[tuple[str, ChatResult, str]] = [
    (
        "an unknown label",
        called({"label": "mostly correct"}),
        "label 'mostly correct', which is not one of the choices",
    ),
    ("no label", called({"explanation": "x"}), "without a label"),
    ("a blank label", called({"label": "  "}), "without a label"),
    ("two different labels", called({"label": "correct"}, {"label": "incorrect"}), "different labels"),
    ("another tool and no text", called({"q": 1}, name="search"), "called search instead of record_judgement"),
    ("a non-string label", called({"label": ["correct"]}), "not one of the choices"),
]


@pytest.mark.parametrize(("result", "message"), [c[1:] for c in TOOL_ERROR_CASES], ids=[c[0] for c in TOOL_ERROR_CASES])
def test_an_unusable_record_judgement_call_is_an_error_naming_the_choices(result: ChatResult, message: str) -> None:
    with pytest.raises(JudgeParseError) as caught:
        parse_judgement(QA, result)
    assert message in str(caught.value)
    assert "allowed labels: correct, incorrect" in str(caught.value)


def test_scores_come_from_the_choice_map_as_floats() -> None:
    spec = JudgeSpec("grade", "{x}: A, B or C", {"A": 1, "B": 0.5, "C": 0}, False, False, "m", {})
    assert [parse_judgement(spec, text(f"LABEL: {g}")).score for g in ("A", "B", "C")] == [1.0, 0.5, 0.0]
    assert isinstance(parse_judgement(spec, text("LABEL: A")).score, float)
