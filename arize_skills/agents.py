"""Where each coding agent reads skills and MCP servers, and installing our skills there.

Skill folders per agent (project scope / global scope):

* ``claude`` — Claude Code: ``<project>/.claude/skills/`` / ``~/.claude/skills/``;
* ``cursor`` — Cursor: ``<project>/.cursor/skills/`` / ``~/.cursor/skills/``;
* ``codex`` — Codex: ``<project>/.agents/skills/`` / ``~/.agents/skills/`` (the Agent Skills locations the Codex
  docs name; Codex still reads the older ``~/.codex/skills/`` too, but no longer documents it).

Installing copies each packaged skill folder (``skills/<name>/`` of this repository, or ``arize_skills/_skills/``
in an installed wheel) over the agent's copy of that one skill; other skills in the folder are left alone.
"""

from __future__ import annotations

import hashlib
import json
import shutil
import sys
import tempfile
from pathlib import Path
from typing import Literal, get_args

from .skills import skills_root

__all__ = [
    "AGENTS",
    "Agent",
    "SkillState",
    "agent_skills_dir",
    "install_skills",
    "mcp_snippet",
    "server_command",
    "skill_names",
    "skill_states",
]

Agent = Literal["claude", "cursor", "codex"]
AGENTS: tuple[Agent, ...] = get_args(Agent)
SkillState = Literal["current", "outdated", "missing"]

_SKILL_FOLDERS: dict[Agent, str] = {"claude": ".claude/skills", "cursor": ".cursor/skills", "codex": ".agents/skills"}
SERVER_NAME = "arize-skills"


def skill_names(source: Path) -> list[str]:
    """The skills in ``source``: its sub-folders that hold a ``SKILL.md``, sorted."""
    return sorted(path.parent.name for path in source.glob("*/SKILL.md"))


def agent_skills_dir(agent: Agent, *, project: Path | None = None, home: Path | None = None) -> Path:
    """Where ``agent`` reads skills: inside ``project`` when given, else in the user's home (global scope)."""
    root = project if project is not None else (home if home is not None else Path.home())
    return root / _SKILL_FOLDERS[agent]


def _digest(folder: Path) -> str:
    """A hash of every file's relative path and bytes, so two copies of a skill compare equal iff identical."""
    digest = hashlib.sha256()
    for path in sorted(p for p in folder.rglob("*") if p.is_file() and "__pycache__" not in p.parts):
        digest.update(path.relative_to(folder).as_posix().encode())
        digest.update(b"\0")
        digest.update(path.read_bytes())
        digest.update(b"\0")
    return digest.hexdigest()


def skill_states(source: Path, target: Path) -> dict[str, SkillState]:
    """Each packaged skill's state in ``target``: ``current`` (identical), ``outdated`` (differs) or ``missing``."""
    states: dict[str, SkillState] = {}
    for name in skill_names(source):
        installed = target / name
        if not (installed / "SKILL.md").is_file():
            states[name] = "missing"
        else:
            states[name] = "current" if _digest(installed) == _digest(source / name) else "outdated"
    return states


def install_skills(target: Path, source: Path | None = None) -> list[str]:
    """Copy every skill of ``source`` (default: the packaged ones) into ``target``, replacing older copies of
    those skills only; returns the names installed."""
    source = source if source is not None else skills_root()
    target.mkdir(parents=True, exist_ok=True)
    names = skill_names(source)
    for name in names:
        # Copy next to the destination first, so an interrupted install never leaves a half-written skill.
        staging = Path(tempfile.mkdtemp(prefix=f".{name}-", dir=target))
        try:
            shutil.copytree(source / name, staging / name, ignore=shutil.ignore_patterns("__pycache__"))
            destination = target / name
            if destination.is_symlink() or destination.is_file():
                destination.unlink()
            elif destination.exists():
                shutil.rmtree(destination)
            (staging / name).rename(destination)
        finally:
            shutil.rmtree(staging, ignore_errors=True)
    return names


def server_command() -> list[str]:
    """The command that starts our MCP server from any working directory: the absolute path of the
    ``arize-skills`` script when it is on ``PATH``, else this interpreter running the package."""
    script = shutil.which("arize-skills")
    if script:
        return [str(Path(script).resolve()), "mcp"]
    return [sys.executable, "-m", "arize_skills", "mcp"]


def mcp_snippet(agent: Agent, *, project: Path | None = None, command: list[str] | None = None) -> str:
    """How to register our MCP server with ``agent``: the file to edit and what to put in it."""
    command = command if command is not None else server_command()
    entry = {"command": command[0], "args": command[1:]}
    if agent == "codex":
        where = str(project / ".codex" / "config.toml") if project is not None else "~/.codex/config.toml"
        # JSON strings are valid TOML basic strings, escapes included.
        args = ", ".join(json.dumps(arg) for arg in entry["args"])
        body = f"[mcp_servers.{SERVER_NAME}]\ncommand = {json.dumps(entry['command'])}\nargs = [{args}]\n"
        note = " (a project file is read only when the project is trusted)" if project is not None else ""
        return f"Add to {where}{note}:\n\n{body}"
    config = json.dumps({"mcpServers": {SERVER_NAME: entry}}, indent=2)
    if agent == "claude":
        scope = "project" if project is not None else "user"
        where = str(project / ".mcp.json") if project is not None else "~/.claude.json (user scope)"
        line = " ".join([f"claude mcp add --scope {scope} {SERVER_NAME} --", *command])
        return f"Run:\n\n  {line}\n\nor merge into {where}:\n\n{config}\n"
    where = str(project / ".cursor" / "mcp.json") if project is not None else "~/.cursor/mcp.json"
    return f"Merge into {where}:\n\n{config}\n"
