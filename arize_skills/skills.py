"""The skills packaged with arize-skills: where they live and what their frontmatter says.

A source checkout keeps them in the repository's ``skills/`` folder; a built wheel carries the same folder as
``arize_skills/_skills`` (pyproject ``force-include``). ``skills_table()`` lists them for the README and the
``skills install`` command.

Frontmatter is read with a small parser of the YAML subset the skills use: ``key: value`` lines (a plain
scalar, or one quoted in ``"…"`` or ``'…'``) and a ``metadata:`` mapping of indented ``key: value`` lines. Any
other shape is rejected rather than guessed, so a skill that parses here parses the same in a YAML library.
"""

from __future__ import annotations

import json
import re
from dataclasses import dataclass, field
from pathlib import Path

ALLOWED_KEYS = frozenset({"name", "description", "license", "allowed-tools", "metadata", "compatibility"})
"""The frontmatter keys the Agent Skills specification allows."""

NAME_PATTERN = re.compile(r"^[a-z0-9]+(-[a-z0-9]+)*$")
"""A skill name: lowercase letters, digits and single hyphens, no leading or trailing hyphen."""

_KEY_LINE = re.compile(r"^(?P<indent> *)(?P<key>[A-Za-z][A-Za-z0-9_-]*):(?: (?P<value>.*))?$")
_PLAIN_FORBIDDEN_START = tuple("[]{}&*!|>'\"%@`#,?:-")


class SkillFormatError(ValueError):
    """A SKILL.md whose frontmatter is missing or not in the supported YAML subset."""


@dataclass(frozen=True)
class Skill:
    """One packaged skill: its frontmatter and where its SKILL.md is."""

    name: str
    description: str
    path: Path
    frontmatter: dict[str, str | dict[str, str]] = field(repr=False)
    body: str = field(repr=False)


def skills_root() -> Path:
    """The skills shipped with this package: ``arize_skills/_skills`` when installed from a wheel, else the
    repository's ``skills/`` folder next to the package.

    Raises:
        FileNotFoundError: neither holds a skill (a broken install).
    """
    package = Path(__file__).resolve().parent
    for candidate in (package / "_skills", package.parent / "skills"):
        if candidate.is_dir() and any(candidate.glob("*/SKILL.md")):
            return candidate
    raise FileNotFoundError(f"no packaged skills found in {package / '_skills'} or {package.parent / 'skills'}")


def _scalar(raw: str, where: str) -> str:
    value = raw.strip()
    if not value:
        raise SkillFormatError(f"{where}: empty value")
    if value.startswith('"'):
        try:
            parsed = json.loads(value)
        except json.JSONDecodeError as exc:
            raise SkillFormatError(f"{where}: bad double-quoted string ({exc.msg})") from exc
        if not isinstance(parsed, str):
            raise SkillFormatError(f"{where}: a double-quoted value must be one string")
        return parsed
    if value.startswith("'"):
        if len(value) < 2 or not value.endswith("'") or "'" in value[1:-1].replace("''", ""):
            raise SkillFormatError(f"{where}: bad single-quoted string")
        return value[1:-1].replace("''", "'")
    if value.startswith(_PLAIN_FORBIDDEN_START) or ": " in value or " #" in value:
        raise SkillFormatError(f"{where}: quote this value (it starts with or holds a YAML special character)")
    return value


def parse_frontmatter(text: str, where: str = "SKILL.md") -> tuple[dict[str, str | dict[str, str]], str]:
    """Split a SKILL.md into its frontmatter mapping and its Markdown body.

    Raises:
        SkillFormatError: no ``---`` block, a line outside the supported subset, or a repeated key.
    """
    lines = text.split("\n")
    if not lines or lines[0].rstrip() != "---":
        raise SkillFormatError(f"{where}: must start with a '---' frontmatter line")
    try:
        end = next(i for i in range(1, len(lines)) if lines[i].rstrip() == "---")
    except StopIteration:
        raise SkillFormatError(f"{where}: the frontmatter has no closing '---' line") from None
    result: dict[str, str | dict[str, str]] = {}
    mapping: dict[str, str] | None = None
    for number, line in enumerate(lines[1:end], start=2):
        at = f"{where} line {number}"
        if not line.strip():
            continue
        match = _KEY_LINE.match(line.rstrip())
        if match is None:
            raise SkillFormatError(f"{at}: expected 'key: value'")
        key, value, indent = match["key"], match["value"], match["indent"]
        if indent:
            if mapping is None or indent != "  ":
                raise SkillFormatError(f"{at}: unexpected indentation (only a mapping's entries are indented)")
            if key in mapping:
                raise SkillFormatError(f"{at}: {key!r} given twice")
            mapping[key] = _scalar(value or "", at)
            continue
        if key in result:
            raise SkillFormatError(f"{at}: {key!r} given twice")
        if value is None or not value.strip():
            mapping = {}
            result[key] = mapping
        else:
            mapping = None
            result[key] = _scalar(value, at)
    return result, "\n".join(lines[end + 1 :])


def load_skill(skill_file: Path) -> Skill:
    """Read one SKILL.md.

    Raises:
        SkillFormatError: the frontmatter does not parse, or lacks a string ``name`` or ``description``.
    """
    front, body = parse_frontmatter(skill_file.read_text(encoding="utf-8"), str(skill_file))
    name, description = front.get("name"), front.get("description")
    if not isinstance(name, str) or not isinstance(description, str):
        raise SkillFormatError(f"{skill_file}: frontmatter needs a 'name' and a 'description' string")
    return Skill(name=name, description=description, path=skill_file, frontmatter=front, body=body)


def load_skills(root: Path | None = None) -> list[Skill]:
    """Every skill under ``root`` (default: ``skills_root()``), sorted by folder name."""
    base = skills_root() if root is None else root
    return [load_skill(folder / "SKILL.md") for folder in sorted(base.iterdir()) if (folder / "SKILL.md").is_file()]


def skills_table(root: Path | None = None) -> list[tuple[str, str]]:
    """``(name, description)`` of every packaged skill, sorted by name: the README's skill table."""
    return sorted((skill.name, skill.description) for skill in load_skills(root))
