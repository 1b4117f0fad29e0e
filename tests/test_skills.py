"""The packaged skills follow the Agent Skills rules and name only tools and arguments the server has.

Convention the skills follow (and this test enforces):

- A tool is named as a backticked call, ``tool_name(arg=…, other=…)``: every top-level ``name=`` in it must be
  an argument of that tool, and the tool must exist. ``tool_name()`` names a tool without arguments. ``…``
  stands for a value the agent fills in; positional arguments are not used.
- A backticked bare snake_case word must be a tool name, a tool argument (top-level or inside an argument's
  object schema), or one of the data words in ``DATA_WORDS`` (span columns, result fields). A misspelt or
  invented tool name therefore fails as well.
- No shell or HTTP: no fenced ``bash``/``sh``/``shell``/``console`` block, no ``curl``, no ``/v2/`` API path.
- Every relative Markdown link resolves to a file inside the skill.
"""

from __future__ import annotations

import re
from pathlib import Path
from typing import Any

import pytest
from mcp import Client

from arize_skills.engine import Engine
from arize_skills.mcp_server import build_server
from arize_skills.settings import Settings
from arize_skills.skills import (
    ALLOWED_KEYS,
    NAME_PATTERN,
    Skill,
    SkillFormatError,
    load_skills,
    parse_frontmatter,
    skills_root,
    skills_table,
)

REPO_SKILLS = Path(__file__).resolve().parents[1] / "skills"
REQUIRED_SKILLS = {
    "arize-setup",
    "arize-traces",
    "arize-evaluators",
    "arize-experiments",
    "arize-datasets-annotation",
    "arize-judge-alignment",
}
MAX_SKILL_LINES = 300

DATA_WORDS = frozenset(
    {
        # span filter columns and span identity
        "span_kind",
        "status_code",
        "status_message",
        "latency_ms",
        "start_time",
        "parent_id",
        "span_id",
        "trace_id",
        # experiment and result fields
        "example_id",
        "created_at",
        "updated_at",
        "expected_label",
        "has_api_key",
        "no_match",
        "next_cursor",
        "model_suggested",
    }
)
"""Backticked snake_case words that are data (columns, result fields), not tools or arguments."""

CALL = re.compile(r"^([a-z][a-z0-9_]*)\((.*)\)$", re.S)
SNAKE = re.compile(r"^[a-z][a-z0-9]*(?:_[a-z0-9]+)+$")
INLINE_CODE = re.compile(r"(?<!`)`([^`\n]+)`(?!`)")
LINK = re.compile(r"(?<!!)\[[^\]]*\]\(([^)\s]+)\)")
FENCE = re.compile(r"^```([A-Za-z0-9_-]*)", re.M)


def skill_files() -> list[Path]:
    """Every Markdown file of every skill: SKILL.md and its references."""
    return sorted(REPO_SKILLS.glob("*/**/*.md"))


def split_top_level(text: str) -> list[str]:
    """``text`` split on commas outside brackets, braces, parentheses and quotes."""
    parts: list[str] = []
    depth, quote, start = 0, "", 0
    for index, char in enumerate(text):
        if quote:
            if char == quote:
                quote = ""
        elif char in "'\"":
            quote = char
        elif char in "([{":
            depth += 1
        elif char in ")]}":
            depth -= 1
        elif char == "," and depth == 0:
            parts.append(text[start:index])
            start = index + 1
    parts.append(text[start:])
    return [part.strip() for part in parts if part.strip()]


def tool_calls(text: str) -> list[tuple[str, list[str]]]:
    """The backticked ``tool(arg=…)`` calls of a Markdown text: (tool, argument names)."""
    calls = []
    for span in INLINE_CODE.findall(text):
        match = CALL.match(span.strip())
        if match is None:
            continue
        names = []
        for part in split_top_level(match[2]):
            if part in ("…", "..."):
                continue
            key = re.match(r"^([A-Za-z_][A-Za-z0-9_]*)\s*=", part)
            names.append(key[1] if key else f"<positional {part!r}>")
        calls.append((match[1], names))
    return calls


def nested_property_names(schema: dict[str, Any]) -> set[str]:
    """Property names of every object schema under ``$defs`` (e.g. an evaluator entry's ``column_mappings``)."""
    return {name for definition in schema.get("$defs", {}).values() for name in definition.get("properties", {})}


@pytest.fixture
async def server_tools(engine: Engine, tmp_path: Path) -> dict[str, dict[str, Any]]:
    """Each tool of the real server (built over the test's engine) by name, with its input schema."""
    settings = Settings.resolve(home=tmp_path / "engine", environ={}, profile_dir=tmp_path / "no-ax-profile")
    async with Client(build_server(settings, engine=engine)) as mcp:
        tools = (await mcp.list_tools()).tools
    return {tool.name: tool.model_dump(mode="json", by_alias=True)["inputSchema"] for tool in tools}


def test_the_required_skills_are_all_present() -> None:
    present = {path.parent.name for path in REPO_SKILLS.glob("*/SKILL.md")}
    assert present >= REQUIRED_SKILLS, f"missing skills: {sorted(REQUIRED_SKILLS - present)}"


@pytest.mark.parametrize("skill", load_skills(REPO_SKILLS), ids=lambda skill: skill.name)
def test_every_skill_follows_the_agent_skills_frontmatter_rules(skill: Skill) -> None:
    front = skill.frontmatter
    assert set(front) <= ALLOWED_KEYS, f"{skill.path}: keys not allowed: {sorted(set(front) - ALLOWED_KEYS)}"
    assert 1 <= len(skill.name) <= 64 and NAME_PATTERN.match(skill.name), f"{skill.path}: bad name {skill.name!r}"
    assert skill.name == skill.path.parent.name, f"{skill.path}: name {skill.name!r} differs from its folder"
    assert 1 <= len(skill.description) <= 1024, f"{skill.path}: description is {len(skill.description)} chars"
    assert re.search(r"\bUse (it )?when\b", skill.description), f"{skill.path}: description must say when to use it"
    metadata = front.get("metadata", {})
    assert isinstance(metadata, dict), f"{skill.path}: metadata must be a mapping of strings"
    compatibility = front.get("compatibility", "")
    assert isinstance(compatibility, str) and len(compatibility) <= 500
    for key in ("license", "allowed-tools"):
        assert isinstance(front.get(key, ""), str), f"{skill.path}: {key} must be a string"


@pytest.mark.parametrize("skill", load_skills(REPO_SKILLS), ids=lambda skill: skill.name)
def test_every_skill_stays_under_the_line_budget(skill: Skill) -> None:
    lines = skill.path.read_text(encoding="utf-8").count("\n")
    assert lines <= MAX_SKILL_LINES, f"{skill.path}: {lines} lines; move detail into references/"


async def test_every_tool_and_argument_a_skill_names_exists_on_the_server(
    server_tools: dict[str, dict[str, Any]],
) -> None:
    arguments = {name: set(schema.get("properties", {})) for name, schema in server_tools.items()}
    known_words = set(server_tools) | DATA_WORDS
    for schema in server_tools.values():
        known_words |= set(schema.get("properties", {})) | nested_property_names(schema)
    problems = []
    seen_calls = 0
    for path in skill_files():
        text = path.read_text(encoding="utf-8")
        for tool, names in tool_calls(text):
            seen_calls += 1
            if tool not in server_tools:
                problems.append(f"{path}: names tool {tool!r}, which the server does not have")
                continue
            problems += [f"{path}: {tool}() has no argument {n!r}" for n in names if n not in arguments[tool]]
        for span in INLINE_CODE.findall(text):
            word = span.strip()
            if SNAKE.match(word) and word not in known_words:
                problems.append(f"{path}: `{word}` is neither a tool, a tool argument nor a known data word")
    assert seen_calls > 50, "the skills should name tools as backticked calls: tool_name(arg=…)"
    assert not problems, "\n".join(problems)


async def test_the_skills_cover_most_of_the_tool_surface(server_tools: dict[str, dict[str, Any]]) -> None:
    named = {tool for path in skill_files() for tool, _ in tool_calls(path.read_text(encoding="utf-8"))}
    unnamed = set(server_tools) - named
    assert not unnamed, f"tools no skill teaches: {sorted(unnamed)}"


@pytest.mark.parametrize("path", skill_files(), ids=lambda path: str(path.relative_to(REPO_SKILLS)))
def test_skills_hold_no_shell_commands_or_raw_api_calls(path: Path) -> None:
    text = path.read_text(encoding="utf-8")
    shells = [lang for lang in FENCE.findall(text) if lang in {"bash", "sh", "shell", "console", "zsh", "powershell"}]
    assert not shells, f"{path}: shell code blocks {shells}; name tools instead"
    assert "curl " not in text and "/v2/" not in text, f"{path}: a hand-written API call; name tools instead"


@pytest.mark.parametrize("path", skill_files(), ids=lambda path: str(path.relative_to(REPO_SKILLS)))
def test_every_relative_link_in_a_skill_resolves(path: Path) -> None:
    skill_dir = REPO_SKILLS / path.relative_to(REPO_SKILLS).parts[0]
    for target in LINK.findall(path.read_text(encoding="utf-8")):
        if re.match(r"^[a-z][a-z0-9+.-]*:", target) or target.startswith("#"):
            continue
        resolved = (path.parent / target.split("#", 1)[0]).resolve()
        assert resolved.is_file(), f"{path}: link {target!r} does not resolve"
        assert resolved.is_relative_to(skill_dir.resolve()), f"{path}: link {target!r} leaves the skill folder"


def test_every_reference_file_is_linked_from_its_skill() -> None:
    for skill_file in REPO_SKILLS.glob("*/SKILL.md"):
        linked = {(skill_file.parent / t).resolve() for t in LINK.findall(skill_file.read_text(encoding="utf-8"))}
        for reference in (skill_file.parent / "references").glob("*.md"):
            assert reference.resolve() in linked, f"{reference} is not linked from {skill_file}"


def test_skills_table_lists_every_skill_with_its_description() -> None:
    table = dict(skills_table(REPO_SKILLS))
    assert set(table) == {path.parent.name for path in REPO_SKILLS.glob("*/SKILL.md")}
    assert all(description.strip() for description in table.values())
    assert skills_table() == skills_table(skills_root())


def test_the_frontmatter_parser_rejects_what_yaml_would_read_differently() -> None:
    with pytest.raises(SkillFormatError, match="quote this value"):
        parse_frontmatter("---\nname: x\ndescription: Does x: and y\n---\n")
    with pytest.raises(SkillFormatError, match="given twice"):
        parse_frontmatter("---\nname: x\nname: y\n---\n")
    with pytest.raises(SkillFormatError, match="closing"):
        parse_frontmatter("---\nname: x\n")
    front, body = parse_frontmatter('---\nname: x\ndescription: "a: b"\nmetadata:\n  version: "1.0"\n---\nBody')
    assert front == {"name": "x", "description": "a: b", "metadata": {"version": "1.0"}}
    assert body == "Body"


def test_the_rule_checker_catches_unknown_tools_and_arguments() -> None:
    text = "Call `trigger_run(task=…)` then `create_task(name=…, projct=…)` and `find(…)`."
    assert tool_calls(text) == [("trigger_run", ["task"]), ("create_task", ["name", "projct"]), ("find", [])]
