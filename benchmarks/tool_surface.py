"""The size of the tool surface as a host receives it: ``arize-skills mcp`` over stdio, ``tools/list``.

    python benchmarks/tool_surface.py [--per-tool]

Prints the tool count, the model-visible characters (names, descriptions and input schemas, compact JSON) and
the whole listing's characters, each with its budget and the ratio to it (aim: <= 1.0). ``--per-tool`` adds a
line per tool, largest first. The server runs as a real subprocess on a throw-away engine home.
"""

from __future__ import annotations

import argparse
import os
import sys
import tempfile
from pathlib import Path
from typing import Any

import anyio

ROOT = Path(__file__).resolve().parents[1]
if str(ROOT) not in sys.path:
    sys.path.insert(0, str(ROOT))

from mcp import ClientSession, StdioServerParameters  # noqa: E402
from mcp.client.stdio import stdio_client  # noqa: E402

from arize_skills.mcp_server.surface import MAX_TOOLS, MAX_VISIBLE_CHARS, MAX_WHOLE_CHARS, listing_size  # noqa: E402


async def listed_tools(home: Path) -> list[dict[str, Any]]:
    """The ``tools/list`` of a fresh ``arize-skills mcp`` subprocess, in wire form."""
    env = {k: v for k, v in os.environ.items() if not k.startswith("ARIZE")}
    env["ARIZE_SKILLS_HOME"] = str(home)
    params = StdioServerParameters(command=sys.executable, args=["-m", "arize_skills", "mcp"], env=env, cwd=str(ROOT))
    with anyio.fail_after(60):
        async with stdio_client(params) as (read, write), ClientSession(read, write) as session:
            await session.initialize()
            tools = (await session.list_tools()).tools
    return [tool.model_dump(mode="json", by_alias=True, exclude_none=True) for tool in tools]


async def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--per-tool", action="store_true", help="also print each tool's sizes")
    args = parser.parse_args()
    with tempfile.TemporaryDirectory() as home:
        tools = await listed_tools(Path(home))
    visible, whole = listing_size(tools)
    print(f"tools          {len(tools):>7}  budget {MAX_TOOLS:>7}  ratio {len(tools) / MAX_TOOLS:.2f}")
    print(f"visible chars  {visible:>7,}  budget {MAX_VISIBLE_CHARS:>7,}  ratio {visible / MAX_VISIBLE_CHARS:.2f}")
    print(f"whole chars    {whole:>7,}  budget {MAX_WHOLE_CHARS:>7,}  ratio {whole / MAX_WHOLE_CHARS:.2f}")
    if args.per_tool:
        sizes = sorted(((*listing_size([tool]), tool["name"]) for tool in tools), reverse=True)
        for tool_visible, tool_whole, name in sizes:
            print(f"  {name:<28} visible {tool_visible:>6,}  whole {tool_whole:>6,}")


if __name__ == "__main__":
    anyio.run(main)
