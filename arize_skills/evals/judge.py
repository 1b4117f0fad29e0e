"""LLM-as-judge logic: template variables and rendering, the judge's chat request, and parsing its answer.

Two template syntaxes exist, as on AX (AX_API.md §8 pitfall 1):

* An evaluator's ``template_config.template`` uses single-brace ``{var}`` placeholders, bound by a task's
  ``column_mappings``. ``{{`` and ``}}`` stand for literal braces, as in Python's ``str.format``. A variable name
  is a letter or ``_`` followed by letters, digits, ``_``, ``.`` or ``-`` (``{input}``, ``{attributes.input.value}``);
  any other brace text (``{"label": "x"}``, ``{ input }``) is left as written.
* A run-experiment ``TEMPLATE_EVALUATION`` (or ``LLM_GENERATION`` ``MUSTACHE``) template uses ``{{var}}``,
  ``{{ var }}`` or ``{{dataset.col}}`` (``{{{var}}}`` and ``{{& var}}`` too; nothing is HTML-escaped), bound by
  ``column_mapping``. Comments (``{{! … }}``) are dropped; sections, partials and delimiter changes are refused.

Values are inserted verbatim in one pass: a value that itself contains ``{x}`` stays literal text.

The judge is asked for exactly one label of ``classification_choices``: through a forced ``record_judgement``
function call when function calling is used (its ``explanation`` argument comes first, so the model reasons before
it labels), otherwise through a ``LABEL:`` line appended to the prompt. The evaluator's own template never has to
ask for either. ``parse_judgement`` accepts only a label that is one of the choices; an answer with none, an
unknown one or two different ones is a ``JudgeParseError`` that quotes the answer, never a guess.
"""

from __future__ import annotations

import functools
import json
import re
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from typing import Any

from ..errors import JudgeParseError, MissingVariableError, TemplateSyntaxError
from .providers import ChatMessage, ChatRequest, ChatResult, ToolCall, ToolSpec

__all__ = [
    "JUDGE_TOOL",
    "JudgeParseError",
    "JudgeSpec",
    "Judgement",
    "MissingVariableError",
    "TemplateCheck",
    "TemplateSyntaxError",
    "check_template",
    "judge_request",
    "mustache_variables",
    "parse_judgement",
    "render_mustache",
    "render_template",
    "template_variables",
]

JUDGE_TOOL = "record_judgement"
"""The name of the function a judge calls to record its label when function calling is on."""

_NAME = r"[A-Za-z_][A-Za-z0-9_.\-]*"
_F_TOKEN = re.compile(r"\{\{|\}\}|\{(" + _NAME + r")\}")
_F_LITERAL = re.compile(r"\{\{\s*(" + _NAME + r")\s*\}\}")
_M_TOKEN = re.compile(r"\{\{\{(.*?)\}\}\}|\{\{(.*?)\}\}", re.DOTALL)
_M_NAME = re.compile(_NAME)
_M_UNSUPPORTED = "#^/>="
_ANSWER_PREVIEW = 300


# --- templates ---------------------------------------------------------------------------------------------------


def template_variables(template: str) -> list[str]:
    """The single-brace ``{var}`` names of an evaluator template, in order of first use, without repeats."""
    seen: dict[str, None] = {}
    for match in _F_TOKEN.finditer(template):
        if match.group(1) is not None:
            seen.setdefault(match.group(1), None)
    return list(seen)


def render_template(template: str, values: Mapping[str, str]) -> str:
    """Fill ``{var}`` placeholders with ``values`` verbatim, turning ``{{`` / ``}}`` into ``{`` / ``}``.

    Raises:
        MissingVariableError: for the first placeholder with no entry in ``values``.
    """

    def replace(match: re.Match[str]) -> str:
        name = match.group(1)
        if name is None:
            return match.group(0)[0]
        if name not in values:
            raise MissingVariableError(name)
        return values[name]

    return _F_TOKEN.sub(replace, template)


def _mustache_name(match: re.Match[str]) -> str | None:
    """The variable a Mustache tag names, None for a comment; TemplateSyntaxError for anything else."""
    triple = match.group(1) is not None
    inner = (match.group(1) if triple else match.group(2)).strip()
    tag = match.group(0)
    if not triple and inner.startswith("!"):
        return None
    if not triple and inner and inner[0] in _M_UNSUPPORTED:
        raise TemplateSyntaxError(
            f"{tag!r}: Mustache sections, partials and delimiter changes ({{{{#…}}}}, {{{{^…}}}}, {{{{/…}}}}, "
            "{{>…}}, {{=…=}}) are not supported; use plain {{variable}} placeholders"
        )
    if not triple and inner.startswith("&"):
        inner = inner[1:].strip()
    if not _M_NAME.fullmatch(inner):
        raise TemplateSyntaxError(
            f"{tag!r} is not a variable placeholder: a name is a letter or _ followed by letters, digits, _, . or -"
        )
    return inner


def mustache_variables(template: str) -> list[str]:
    """The ``{{var}}`` names of a Mustache template (run-config form), in order of first use, without repeats.

    Raises:
        TemplateSyntaxError: for a section, partial, delimiter change or a tag that names no variable.
    """
    seen: dict[str, None] = {}
    for match in _M_TOKEN.finditer(template):
        name = _mustache_name(match)
        if name is not None:
            seen.setdefault(name, None)
    return list(seen)


def render_mustache(template: str, values: Mapping[str, str]) -> str:
    """Fill ``{{var}}`` placeholders with ``values`` verbatim (no HTML escaping); comments render as nothing.

    Raises:
        MissingVariableError: for the first placeholder with no entry in ``values``.
        TemplateSyntaxError: for a section, partial, delimiter change or a tag that names no variable.
    """
    mustache_variables(template)  # syntax errors first, whatever the values

    def replace(match: re.Match[str]) -> str:
        name = _mustache_name(match)
        if name is None:
            return ""
        if name not in values:
            raise MissingVariableError(name)
        return values[name]

    return _M_TOKEN.sub(replace, template)


# --- specs, checks and requests ----------------------------------------------------------------------------------


@dataclass(frozen=True)
class JudgeSpec:
    """One judge: built from an evaluator version's ``template_config`` or a run-experiment run config.

    ``template`` is in ``{var}`` form; ``choices`` maps each allowed label to its score (``None`` or empty for a
    freeform judge, whose label is its answer and whose score is ``None``).
    """

    name: str
    template: str
    choices: Mapping[str, float] | None
    include_explanations: bool
    use_function_calling: bool
    model_name: str
    invocation_parameters: Mapping[str, Any] = field(default_factory=dict)

    @property
    def labels(self) -> list[str]:
        """The allowed labels, in the order of ``choices`` (empty for a freeform judge)."""
        return list(self.choices or {})


@dataclass(frozen=True)
class Judgement:
    """A judge's verdict: its label, the score the label maps to, and an explanation when one was asked for."""

    label: str | None
    score: float | None
    explanation: str | None


@dataclass(frozen=True)
class TemplateCheck:
    """What a pre-flight check of a judge template found (empty lists mean nothing to fix).

    ``labels_not_in_prompt``: choices the prompt never names as a whole word (case-insensitive), so the judge is
    not told what they mean. ``duplicate_labels``: groups of labels that differ only in case, spaces, ``_`` or
    ``-``, which no answer can tell apart. ``literal_placeholders``: ``{{name}}`` (Mustache) tags, which an evaluator
    template renders as the literal text ``{name}`` rather than as a variable.
    """

    variables: list[str]
    labels_not_in_prompt: list[str]
    duplicate_labels: list[list[str]]
    literal_placeholders: list[str]
    blank_labels: bool = False

    @property
    def problems(self) -> list[str]:
        """One sentence per problem found, each saying what to change."""
        found: list[str] = []
        if self.literal_placeholders:
            tags = ", ".join("{{" + name + "}}" for name in self.literal_placeholders)
            fixed = ", ".join("{" + name + "}" for name in self.literal_placeholders)
            found.append(
                f"the template uses Mustache placeholders ({tags}), which evaluator templates render as literal "
                f"text; write them with single braces: {fixed}"
            )
        if not self.variables:
            found.append(
                "the template has no {variable} placeholders, so every record gets the same prompt; add placeholders "
                "such as {input} and {output} and map each one to a column"
            )
        if self.blank_labels:
            found.append("classification_choices has an empty label; give every choice a non-blank label")
        for group in self.duplicate_labels:
            found.append(
                f"the labels {', '.join(map(repr, group))} differ only in case, spaces, _ or -, so an answer cannot "
                "tell them apart; keep one"
            )
        if self.labels_not_in_prompt:
            found.append(
                f"the prompt never names the label(s) {', '.join(map(repr, self.labels_not_in_prompt))}; say in "
                "the prompt when to answer each label, spelt exactly as in classification_choices"
            )
        return found

    @property
    def ok(self) -> bool:
        """Whether nothing needs fixing."""
        return not self.problems


def _mentions(text: str, label: str) -> bool:
    return re.search(rf"(?<![\w-]){re.escape(label)}(?![\w-])", text, re.IGNORECASE) is not None


def check_template(template: str, choices: Mapping[str, float] | None, *, mustache: bool = False) -> TemplateCheck:
    """Check a judge template against its classification choices before anything runs.

    Catches the silent failures of AX judges: labels the prompt never names, labels no answer can tell apart,
    Mustache ``{{var}}`` tags that an evaluator template renders as literal text, and a template without
    variables. ``variables`` lists the placeholders, each of which needs a column mapping. The template is in
    evaluator ``{var}`` form, or with ``mustache`` in run-config ``{{var}}`` form (``TemplateSyntaxError`` for
    Mustache the engine does not support).
    """
    labels = list(choices or {})
    groups: dict[str, list[str]] = {}
    for label in labels:
        if label.strip():
            groups.setdefault(_norm(label), []).append(label)
    if mustache:
        variables = mustache_variables(template)
        prose, literal = _M_TOKEN.sub(" ", template), []
    else:
        variables = template_variables(template)
        prose, literal = _F_TOKEN.sub(" ", template), list(dict.fromkeys(_F_LITERAL.findall(template)))
    return TemplateCheck(
        variables=variables,
        labels_not_in_prompt=[label for label in labels if label.strip() and not _mentions(prose, label.strip())],
        duplicate_labels=[group for group in groups.values() if len(group) > 1],
        literal_placeholders=literal,
        blank_labels=any(not label.strip() for label in labels),
    )


def _label_list(labels: Sequence[str]) -> str:
    return ", ".join(labels)


def _tool(spec: JudgeSpec) -> ToolSpec:
    properties: dict[str, Any] = {}
    required: list[str] = []
    if spec.include_explanations:
        properties["explanation"] = {
            "type": "string",
            "description": "Your reasoning, in a few sentences, written before you choose the label.",
        }
        required.append("explanation")
    label: dict[str, Any] = {"type": "string"}
    if spec.labels:
        label["enum"] = spec.labels
        label["description"] = f"Exactly one of: {_label_list(spec.labels)}."
    else:
        label["description"] = "Your verdict, as a short label."
    properties["label"] = label
    required.append("label")
    return ToolSpec(
        name=JUDGE_TOOL,
        description="Record your judgement of the data in the task.",
        parameters={"type": "object", "properties": properties, "required": required, "additionalProperties": False},
    )


def _system(spec: JudgeSpec, function_calling: bool) -> str:
    if spec.labels:
        job = (
            "You are an evaluation judge. Read the evaluation task in the user message, judge the data it "
            f"contains, and answer with exactly one of these labels: {_label_list(spec.labels)}."
        )
    else:
        job = (
            "You are an evaluation judge. Read the evaluation task in the user message, judge the data it "
            "contains, and answer with a short label for your verdict."
        )
    if function_calling:
        how = f" Record your verdict by calling the {JUDGE_TOOL} function"
        how += ", explaining your reasoning before you give the label." if spec.include_explanations else "."
    else:
        how = " Answer in exactly the format the user message asks for."
    return job + how


def _protocol(spec: JudgeSpec) -> str:
    label = f"<one of: {_label_list(spec.labels)}>" if spec.labels else "<your verdict, as a short label>"
    if spec.include_explanations:
        return (
            "\n\nRespond in exactly this format, with nothing after the LABEL line:\n"
            "EXPLANATION: <your reasoning, in a few sentences>\n"
            f"LABEL: {label}"
        )
    return f"\n\nRespond with exactly this one line and nothing else:\nLABEL: {label}"


def judge_request(spec: JudgeSpec, prompt: str, *, function_calling: bool) -> ChatRequest:
    """The chat request that asks the judge for its verdict on one rendered ``prompt``.

    A system message states the job (judge, answer with exactly one of the labels). With ``function_calling`` the
    request offers one tool, ``record_judgement`` (``explanation`` first when explanations are on, then ``label``
    as an enum of the choices), and forces the call; without it the text protocol (``EXPLANATION: …`` /
    ``LABEL: …``) is appended to the prompt. The caller decides ``function_calling`` from the spec and what the
    provider supports.
    """
    system, tool, protocol = _fixed_parts(tuple(spec.choices or ()), spec.include_explanations, function_calling)
    messages = [
        ChatMessage(role="system", content=system),
        ChatMessage(role="user", content=prompt if function_calling else prompt + protocol),
    ]
    return ChatRequest(
        model=spec.model_name,
        messages=messages,
        invocation_parameters=dict(spec.invocation_parameters),
        tools=[tool] if tool is not None else [],
        tool_choice=JUDGE_TOOL if function_calling else None,
    )


@functools.lru_cache(maxsize=64)
def _fixed_parts(
    labels: tuple[str, ...], include_explanations: bool, function_calling: bool
) -> tuple[str, ToolSpec | None, str]:
    """What every request of one judge shares: the system message, the tool (or the text protocol).

    The tool is one object shared by those requests: readers copy it (the providers do), nobody changes it.
    """
    # Only the labels and the explanation setting shape these, so a spec with just those fields stands in.
    spec = JudgeSpec(
        name="",
        template="",
        choices=dict.fromkeys(labels, 0.0),
        include_explanations=include_explanations,
        use_function_calling=function_calling,
        model_name="",
    )
    if function_calling:
        return _system(spec, True), _tool(spec), ""
    return _system(spec, False), None, _protocol(spec)


# --- parsing -----------------------------------------------------------------------------------------------------

_STRIP = " \t\r\n\"'`*_~.,;:!?()[]{}<>“”‘’«»"
_SEPARATORS = re.compile(r"[\s_\-]+")
_INLINE_SEPARATORS = re.compile(r"(?:[^\S\n]|[_\-])+")
_THINK = re.compile(r"<think>.*?(?:</think>|\Z)", re.DOTALL | re.IGNORECASE)
_FENCE = re.compile(r"```[A-Za-z]*\s*\n?(.*?)```", re.DOTALL)
_LABEL_LINE = re.compile(r"^[\s>#*_`\-]*(?:final[ \t]+)?label[\s*_`]*[:=](?P<value>.*)$", re.IGNORECASE)
_EXPLANATION_LINE = re.compile(
    r"^[\s>#*_`\-]*(?:explanation|reasoning|rationale)[\s*_`]*[:=](?P<value>.*)$", re.IGNORECASE
)
_SENTENCE_END = re.compile(r"[.!?\n]")
_NEGATIONS = frozenset({"not", "no", "non", "never", "isn't", "isnt", "nor", "neither", "without", "hardly"})


def _norm(text: str) -> str:
    """Text compared case-insensitively, with runs of spaces, ``_`` and ``-`` as one space, outer marks dropped."""
    return _SEPARATORS.sub(" ", text.casefold().strip(_STRIP)).strip()


def _preview(text: str) -> str:
    text = text.strip()
    return text if len(text) <= _ANSWER_PREVIEW else text[:_ANSWER_PREVIEW] + "…"


class _Labels:
    """The allowed labels and the ways an answer may spell them."""

    def __init__(self, labels: Sequence[str]) -> None:
        self.labels = list(labels)
        self.by_norm: dict[str, list[str]] = {}
        for label in self.labels:
            self.by_norm.setdefault(_norm(label), []).append(label)

    def exact(self, value: str) -> str | None:
        """The label ``value`` spells (ignoring case, quotes, markdown, outer punctuation, ``_`` / ``-``)."""
        if value in self.labels:
            return value
        found = self.by_norm.get(_norm(value), [])
        return found[0] if len(found) == 1 else None

    def leading(self, value: str) -> str | None:
        """The label ``value`` is or starts with, followed by punctuation (``correct - the answer…``)."""
        exact = self.exact(value)
        if exact is not None:
            return exact
        text = value.casefold().lstrip(_STRIP)
        best: tuple[int, str] | None = None
        for norm, labels in self.by_norm.items():
            if len(labels) != 1 or not norm:
                continue
            spelt = r"[\s_\-]+".join(re.escape(word) for word in norm.split(" "))
            match = re.match(rf"{spelt}[*_`'\"”’]*(?=\s*(?:[.,;:!?()\[\]—–]|\s-\s|$))", text)
            if match and (best is None or match.end() > best[0]):
                best = (match.end(), labels[0])
        return best[1] if best else None

    def anywhere(self, text: str) -> tuple[set[str], bool]:
        """Labels named as whole words in ``text``, and whether any of them follows a negation (``not toxic``).

        A name inside a longer label's name does not count, nor does one in a question ("Is it correct? No.").
        """
        haystack = _INLINE_SEPARATORS.sub(" ", text.casefold())
        spans: list[tuple[int, int, str]] = []
        for norm, labels in self.by_norm.items():
            if len(labels) != 1 or not norm:
                continue
            for match in re.finditer(rf"(?<!\w){re.escape(norm)}(?!\w)", haystack):
                sentence_end = _SENTENCE_END.search(haystack, match.end())
                if sentence_end is None or sentence_end.group() != "?":
                    spans.append((match.start(), match.end(), labels[0]))
        kept = [
            (start, end, label)
            for start, end, label in spans
            if not any(s <= start and end <= e and (s, e) != (start, end) for s, e, other in spans if other != label)
        ]
        negated = any(
            (words := haystack[:start].split()) and words[-1].strip(_STRIP) in _NEGATIONS for start, _, _ in kept
        )
        return {label for _, _, label in kept}, negated


def _json_answer(text: str, *, embedded: bool) -> dict[str, Any] | None:
    """A JSON object with a ``label`` key (keys case-folded): the whole answer or a fenced block, or with
    ``embedded`` the text from the first ``{`` to the last ``}``."""
    candidates = [] if embedded else [text, *(m.group(1) for m in _FENCE.finditer(text))]
    start, end = text.find("{"), text.rfind("}")
    if embedded and 0 <= start < end:
        candidates.append(text[start : end + 1])
    for candidate in candidates:
        try:
            parsed = json.loads(candidate.strip())
        except ValueError:
            continue
        if isinstance(parsed, dict):
            keys = {str(key).casefold(): value for key, value in parsed.items()}
            if "label" in keys:
                return keys
    return None


def _fail(reason: str, answer: str, labels: Sequence[str]) -> JudgeParseError:
    allowed = f"; allowed labels: {_label_list(labels)}" if labels else ""
    return JudgeParseError(
        f"{reason}; the judge answered {_preview(answer)!r}{allowed}", answer=_preview(answer), labels=list(labels)
    )


@dataclass
class _Answer:
    label: str
    explanation: str | None


def _label_lines(lines: list[str]) -> list[tuple[set[int], str]]:
    """``(line indexes, value)`` of every ``LABEL:`` line; an empty value is on the next non-empty line."""
    found: list[tuple[set[int], str]] = []
    for index, line in enumerate(lines):
        match = _LABEL_LINE.match(line)
        if match is None:
            continue
        value = match.group("value").strip()
        indexes = {index}
        if not value.strip(_STRIP):
            later = next((i for i in range(index + 1, len(lines)) if lines[i].strip()), None)
            if later is not None:
                value = lines[later].strip()
                indexes.add(later)
        found.append((indexes, value))
    return found


def _explanation_of(lines: list[str], label_indexes: set[int]) -> str | None:
    """The text after an ``EXPLANATION:`` marker (up to the next label line), else every line but the label's."""
    for index, line in enumerate(lines):
        match = _EXPLANATION_LINE.match(line)
        if match is None:
            continue
        end = min((i for i in label_indexes if i > index), default=len(lines))
        body = "\n".join([match.group("value"), *lines[index + 1 : end]]).strip()
        return body.strip("*_ \n") or None
    rest = "\n".join(line for index, line in enumerate(lines) if index not in label_indexes).strip()
    return rest or None


def _from_json(answer: dict[str, Any], text: str, labels: _Labels) -> _Answer:
    raw = answer.get("label")
    explanation = answer.get("explanation", answer.get("reasoning"))
    explanation_text = explanation.strip() if isinstance(explanation, str) and explanation.strip() else None
    if not labels.labels:
        if raw is None or not str(raw).strip():
            raise _fail("the judge's JSON answer has an empty label", text, labels.labels)
        return _Answer(str(raw).strip(), explanation_text)
    label = labels.exact(str(raw)) if isinstance(raw, str | int | float) else None
    if label is None:
        raise _fail(f"the judge's JSON label {raw!r} is not one of the choices", text, labels.labels)
    return _Answer(label, explanation_text)


def _parse_text(text: str, labels: _Labels) -> _Answer:
    allowed = labels.labels
    cleaned = _THINK.sub("", text).strip()
    if not cleaned:
        raise _fail("the judge gave no answer", text, allowed)
    whole = _json_answer(cleaned, embedded=False)
    if whole is not None:
        return _from_json(whole, cleaned, labels)
    lines = cleaned.splitlines()
    label_lines = _label_lines(lines)
    explanation = _explanation_of(lines, {index for indexes, _ in label_lines for index in indexes})
    if not allowed and label_lines:
        value = label_lines[-1][1].strip(_STRIP)
        if not value:
            raise _fail("the judge's LABEL line is empty", cleaned, allowed)
        return _Answer(value, explanation)
    if not label_lines:
        embedded = _json_answer(cleaned, embedded=True)
        if embedded is not None:
            return _from_json(embedded, cleaned, labels)
    if not allowed:
        return _Answer(cleaned, None)
    if label_lines:
        found: set[str] = set()
        for _, value in label_lines:
            label = labels.leading(value)
            if label is None:
                raise _fail(
                    f"the judge's LABEL line says {value.strip()!r}, which is not one of the choices", cleaned, allowed
                )
            found.add(label)
        if len(found) > 1:
            raise _fail("the judge's LABEL lines name different labels", cleaned, allowed)
        return _Answer(found.pop(), explanation)
    bare = {index: label for index, line in enumerate(lines) if (label := labels.exact(line)) is not None}
    if len(set(bare.values())) > 1:
        several = _label_list(sorted(set(bare.values())))
        raise _fail(f"the judge's answer names several labels ({several})", cleaned, allowed)
    if bare:
        return _Answer(next(iter(bare.values())), _explanation_of(lines, set(bare)))
    last = max(index for index, line in enumerate(lines) if line.strip())
    leading = labels.leading(lines[last])
    if leading is not None:
        # The line says more than the label ("correct - it matches"), so it belongs to the explanation too.
        return _Answer(leading, explanation)
    named, negated = labels.anywhere(cleaned)
    if len(named) > 1:
        raise _fail(f"the judge's answer names several labels ({_label_list(sorted(named))})", cleaned, allowed)
    if not named:
        raise _fail("the judge's answer names none of the labels", cleaned, allowed)
    if negated:
        raise _fail("the judge's answer negates the label it names", cleaned, allowed)
    return _Answer(named.pop(), explanation)


@functools.lru_cache(maxsize=64)
def _labels_of(labels: tuple[str, ...]) -> _Labels:
    # A judge's labels are the same for every record it scores; their spellings are worked out once.
    return _Labels(labels)


def _shown(call: ToolCall) -> str:
    return json.dumps(dict(call.arguments), ensure_ascii=False, default=str)


def _from_tool_calls(calls: list[ToolCall], labels: _Labels) -> _Answer | None:
    mine = [call for call in calls if call.name == JUDGE_TOOL]
    if not mine:
        return None
    allowed = labels.labels
    answers: list[_Answer] = []
    for call in mine:
        raw = call.arguments.get("label")
        if raw is None or (isinstance(raw, str) and not raw.strip()):
            raise _fail(f"the judge called {JUDGE_TOOL} without a label", _shown(call), allowed)
        explanation = call.arguments.get("explanation")
        explanation_text = explanation.strip() if isinstance(explanation, str) and explanation.strip() else None
        if not allowed:
            answers.append(_Answer(str(raw).strip(), explanation_text))
            continue
        label = labels.exact(str(raw)) if isinstance(raw, str | int | float) else None
        if label is None:
            reason = f"the judge called {JUDGE_TOOL} with label {raw!r}, which is not one of the choices"
            raise _fail(reason, _shown(call), allowed)
        answers.append(_Answer(label, explanation_text))
    if len({answer.label for answer in answers}) > 1:
        shown = "; ".join(_shown(call) for call in mine)
        raise _fail(f"the judge called {JUDGE_TOOL} several times with different labels", shown, allowed)
    return answers[-1]


def parse_judgement(spec: JudgeSpec, result: ChatResult) -> Judgement:
    """The verdict in a judge's answer.

    A ``record_judgement`` call is read first (its ``label`` must be one of the choices, ignoring case); a model
    that answered in text instead is parsed from the text: an answer that is a JSON object with a ``label`` key
    (fenced or not); else ``LABEL:`` lines (markdown, quotes and trailing punctuation allowed; the value must be a
    label or start with one followed by punctuation, and all such lines must agree); else a JSON object inside the
    text; else lines that are just a label; else a last line that starts with one; else the one label the text
    names as a whole word outside a question (``correct`` is not found inside ``incorrect``, nor ``toxic`` inside
    ``non-toxic``; a negated one, ``not toxic``, is an error). ``<think>`` blocks are ignored.

    The score is the label's choice value; the explanation is kept only when ``include_explanations`` is on. A
    freeform judge (no choices) takes the ``label`` argument, the ``LABEL:`` line or else the whole answer,
    trimmed, as its label, with no score.

    Raises:
        JudgeParseError: when the answer is empty, names no label, an unknown label, or several different labels;
            the message quotes the answer (trimmed) and lists the allowed labels.
    """
    labels = _labels_of(tuple(spec.choices or ()))
    answer = _from_tool_calls(result.tool_calls, labels)
    if answer is None:
        text = result.text or ""
        if not text.strip():
            called = ", ".join(call.name for call in result.tool_calls)
            reason = (
                f"the judge called {called} instead of {JUDGE_TOOL}"
                if called
                else f"the judge returned no text and no {JUDGE_TOOL} call"
            )
            raise _fail(reason, text, labels.labels)
        answer = _parse_text(text, labels)
    score = float(spec.choices[answer.label]) if spec.choices else None
    explanation = answer.explanation if spec.include_explanations else None
    return Judgement(label=answer.label, score=score, explanation=explanation)
