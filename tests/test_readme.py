"""The README's generated tables (engine routes, MCP tools, skills) match the code."""

from __future__ import annotations

import json
import re
from collections.abc import Callable
from pathlib import Path

import pytest
from starlette.routing import Route

from arize_skills.engine.api.routes import all_routes
from arize_skills.skills import skills_table

ROOT = Path(__file__).resolve().parents[1]
README = ROOT / "README.md"
SNAPSHOT = ROOT / "arize_skills" / "mcp_server" / "tools_listing.json"


def _first_sentence(text: str) -> str:
    text = " ".join(text.split())
    match = re.match(r"(.+?\.)(\s|$)", text)
    return (match.group(1) if match else text).replace("|", "\\|")


def route_table() -> str:
    """Every engine route, grouped by path in routing order."""
    by_path: dict[str, list[str]] = {}
    for route in all_routes():
        assert isinstance(route, Route)
        methods = sorted(m for m in route.methods or () if m != "HEAD")
        by_path.setdefault(route.path, []).extend(methods)
    rows = ["| Path | Methods |", "|---|---|"]
    rows += [f"| `{path}` | {', '.join(methods)} |" for path, methods in by_path.items()]
    return "\n".join(rows) + "\n"


def tool_table() -> str:
    """Every MCP tool with the first sentence of its description (from the checked-in tools/list snapshot, which
    ``tests/mcp_server/test_tools_snapshot.py`` keeps equal to the server's)."""
    data = json.loads(SNAPSHOT.read_text())
    tools = data if isinstance(data, list) else data["tools"]
    rows = ["| Tool | What it does |", "|---|---|"]
    for tool in sorted(tools, key=lambda t: t["name"]):
        rows.append(f"| `{tool['name']}` | {_first_sentence(tool.get('description') or '')} |")
    return "\n".join(rows) + "\n"


def skill_table() -> str:
    """Every packaged skill with the first sentence of its description."""
    rows = ["| Skill | Use it to |", "|---|---|"]
    rows += [f"| `{name}` | {_first_sentence(description)} |" for name, description in skills_table()]
    return "\n".join(rows) + "\n"


TABLES: dict[str, Callable[[], str]] = {"routes": route_table, "tools": tool_table, "skills": skill_table}


def regenerate(text: str) -> str:
    """``text`` with every generated block replaced by its current content."""
    for name, make in TABLES.items():
        block = re.compile(rf"<!-- {name}:start -->\n.*?<!-- {name}:end -->", re.S)
        text = block.sub(lambda _m, n=name, f=make: f"<!-- {n}:start -->\n{f()}<!-- {n}:end -->", text)
    return text


@pytest.mark.parametrize("name", sorted(TABLES))
def test_the_readme_table_is_generated_from_the_code(name: str) -> None:
    text = README.read_text()
    block = re.search(rf"<!-- {name}:start -->\n(.*?)<!-- {name}:end -->", text, re.S)
    assert block is not None, f"README.md lacks the <!-- {name}:start --> / <!-- {name}:end --> markers"
    assert block.group(1) == TABLES[name](), (
        f"README {name} table is stale; run: python -c 'import tests.test_readme as t; t.write_readme()'"
    )


def write_readme() -> None:
    """Regenerate every table in README.md in place."""
    README.write_text(regenerate(README.read_text()))
