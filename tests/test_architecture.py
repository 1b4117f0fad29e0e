"""The package's dependency rules (docs/ARCHITECTURE.md), read from the code: every ``import`` anywhere in a module
(top level, inside functions, under ``TYPE_CHECKING``) is an edge, and the edges must keep to the layers and form
no cycle. A planted violation must be caught, so the checker itself is tested too."""

from __future__ import annotations

import ast
import re
import shutil
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path

import pytest

PACKAGE = Path(__file__).resolve().parents[1] / "arize_skills"
ROOT_NAME = "arize_skills"
ENGINE = "arize_skills.engine"

# Who may import whom, by the importer's area (the longest prefix that names it). Every area may import its own
# modules, ``arize_skills.errors`` and ``arize_skills.foundation``.
ALLOWED: dict[str, tuple[str, ...]] = {
    "arize_skills.foundation": (),
    "arize_skills.models": (),
    "arize_skills.client": ("arize_skills.models",),
    "arize_skills.evals": ("arize_skills.models",),
    f"{ENGINE}.store": ("arize_skills.models",),
    f"{ENGINE}.query": ("arize_skills.models", f"{ENGINE}.store"),
    f"{ENGINE}.ingest": ("arize_skills.models", f"{ENGINE}.store", f"{ENGINE}.query"),
    f"{ENGINE}.runner": ("arize_skills.models", "arize_skills.evals", f"{ENGINE}.store", f"{ENGINE}.query"),
    f"{ENGINE}.api": (
        "arize_skills.models",
        "arize_skills.evals",
        f"{ENGINE}.store",
        f"{ENGINE}.query",
        f"{ENGINE}.ingest",
    ),
    # The engine's entry (``Engine``, serving) puts the layers together.
    ENGINE: ("arize_skills.models", "arize_skills.evals", ENGINE),
}
ALWAYS = ("arize_skills.errors", "arize_skills.foundation")
# Above the layers: anything but the engine's insides, which only the engine's entry package may be used for.
TOP_AREAS = ("arize_skills.mcp_server",)
ENGINE_ENTRY = (ENGINE, f"{ENGINE}.engine")


@dataclass(frozen=True)
class Edge:
    """One import: ``source`` imports ``target`` at ``where``."""

    source: str
    target: str
    where: str


def module_name(path: Path, root: Path) -> str:
    parts = list(path.relative_to(root.parent).with_suffix("").parts)
    return ".".join(parts[:-1] if parts[-1] == "__init__" else parts)


def edges(root: Path) -> Iterator[Edge]:
    """Every import of a module of ours by a module of ours under ``root`` (the package folder)."""
    modules = {module_name(p, root): p for p in root.rglob("*.py")}
    for name, path in sorted(modules.items()):
        package = name if path.name == "__init__.py" else name.rpartition(".")[0]
        for node in ast.walk(ast.parse(path.read_text(encoding="utf-8"))):
            targets: list[str] = []
            if isinstance(node, ast.Import):
                targets = [alias.name for alias in node.names]
            elif isinstance(node, ast.ImportFrom):
                base = node.module or ""
                if node.level:
                    anchor = package.split(".")[: len(package.split(".")) - (node.level - 1)]
                    base = ".".join([*anchor, *([base] if base else [])])
                # ``from pkg import sub`` imports the module ``pkg.sub`` when there is one.
                subs = [f"{base}.{alias.name}" for alias in node.names if f"{base}.{alias.name}" in modules]
                targets = subs or [base]
            for target in targets:
                if target.split(".")[0] == ROOT_NAME:
                    yield Edge(name, _known(target, modules), f"{path.relative_to(root.parent)}:{node.lineno}")


def _known(target: str, modules: dict[str, Path]) -> str:
    while target not in modules and "." in target:
        target = target.rpartition(".")[0]
    return target


def _within(name: str, area: str) -> bool:
    return name == area or name.startswith(area + ".")


def _area(name: str) -> str | None:
    matches = [area for area in ALLOWED if _within(name, area)]
    return max(matches, key=len) if matches else None


def violations(root: Path) -> list[str]:
    """The imports that break a dependency rule, one line each."""
    found: list[str] = []
    for edge in edges(root):
        area = _area(edge.source)
        if any(_within(edge.source, top) for top in TOP_AREAS):
            if _within(edge.target, ENGINE) and edge.target not in ENGINE_ENTRY:
                found.append(f"{edge.where}: {edge.source} reaches into the engine ({edge.target})")
            continue
        if area is None or _within(edge.target, area) and (area != ENGINE or _within(edge.target, ENGINE)):
            continue
        allowed = (*ALLOWED[area], *ALWAYS)
        if not any(_within(edge.target, a) for a in allowed):
            found.append(f"{edge.where}: {edge.source} imports {edge.target}")
    return found


def cycles(root: Path) -> list[list[str]]:
    """The groups of modules that import each other (strongly connected, more than one module)."""
    graph: dict[str, set[str]] = {}
    for edge in edges(root):
        if edge.source != edge.target:
            graph.setdefault(edge.source, set()).add(edge.target)
    index: dict[str, int] = {}
    low: dict[str, int] = {}
    stack: list[str] = []
    on_stack: set[str] = set()
    groups: list[list[str]] = []

    def visit(node: str) -> None:
        index[node] = low[node] = len(index)
        stack.append(node)
        on_stack.add(node)
        for nxt in sorted(graph.get(node, ())):
            if nxt not in index:
                visit(nxt)
                low[node] = min(low[node], low[nxt])
            elif nxt in on_stack:
                low[node] = min(low[node], index[nxt])
        if low[node] == index[node]:
            group: list[str] = []
            while True:
                member = stack.pop()
                on_stack.discard(member)
                group.append(member)
                if member == node:
                    break
            if len(group) > 1:
                groups.append(sorted(group))

    for node in sorted(graph):
        if node not in index:
            visit(node)
    return groups


def test_every_import_keeps_to_the_layers() -> None:
    assert violations(PACKAGE) == []


def test_no_modules_import_each_other_even_in_functions_or_for_types() -> None:
    assert cycles(PACKAGE) == []


@pytest.mark.parametrize(
    ("module", "planted", "expected"),
    [
        ("engine/store/objects.py", "from ..query import filters", "arize_skills.engine.store.objects imports"),
        ("engine/api/http.py", "from ..runner import scheduler", "arize_skills.engine.api.http imports"),
        ("client/_http.py", "from ..engine import Engine", "arize_skills.client._http imports arize_skills.engine"),
        ("evals/judge.py", "from ..client import AsyncArizeClient", "arize_skills.evals.judge imports"),
        ("models/spans.py", "from ..settings import Settings", "arize_skills.models.spans imports"),
        ("mcp_server/state.py", "from ..engine.store import objects", "reaches into the engine"),
    ],
)
def test_a_planted_violation_is_caught(tmp_path: Path, module: str, planted: str, expected: str) -> None:
    copy = tmp_path / ROOT_NAME
    shutil.copytree(PACKAGE, copy, ignore=shutil.ignore_patterns("__pycache__"))
    target = copy / module
    target.write_text(target.read_text(encoding="utf-8") + f"\n\ndef _planted() -> None:\n    {planted}\n")

    assert any(expected in line for line in violations(copy)), violations(copy)


def test_a_planted_cycle_is_caught_even_when_deferred(tmp_path: Path) -> None:
    copy = tmp_path / ROOT_NAME
    shutil.copytree(PACKAGE, copy, ignore=shutil.ignore_patterns("__pycache__"))
    target = copy / "engine/store/objects.py"
    target.write_text(target.read_text(encoding="utf-8") + "\n\ndef _planted() -> None:\n    from . import datasets\n")

    assert any("arize_skills.engine.store.objects" in group for group in cycles(copy))


def test_every_module_the_architecture_page_names_exists() -> None:
    page = (PACKAGE.parent / "docs" / "ARCHITECTURE.md").read_text(encoding="utf-8")
    named = set(re.findall(r"`((?:[a-z_]+/)*[a-z_]+\.py)", page))
    missing = sorted(path for path in named if not (PACKAGE / path).exists() and not (PACKAGE.parent / path).exists())

    assert len(named) > 30
    assert missing == []
