"""The README's route table is generated from the engine's routes and kept current."""

from __future__ import annotations

import re
from pathlib import Path

from starlette.routing import Route

from arize_skills.engine.routes import all_routes

README = Path(__file__).resolve().parents[1] / "README.md"
BLOCK = re.compile(r"<!-- routes:start -->\n(.*?)<!-- routes:end -->", re.S)


def route_table() -> str:
    """The Markdown table of every engine route, grouped by path in routing order."""
    by_path: dict[str, list[str]] = {}
    for route in all_routes():
        assert isinstance(route, Route)
        methods = sorted(m for m in route.methods or () if m != "HEAD")
        by_path.setdefault(route.path, []).extend(methods)
    rows = ["| Path | Methods |", "|---|---|"]
    rows += [f"| `{path}` | {', '.join(methods)} |" for path, methods in by_path.items()]
    return "\n".join(rows) + "\n"


def test_the_readme_lists_every_engine_route() -> None:
    match = BLOCK.search(README.read_text())
    assert match is not None, "README.md lacks the <!-- routes:start --> / <!-- routes:end --> markers"
    assert match.group(1) == route_table(), "README route table is stale; replace the block with:\n" + route_table()
