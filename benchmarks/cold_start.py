"""Cold start of ``arize-skills mcp`` over stdio: from spawning the process to the ``tools/list`` answer.

    python benchmarks/cold_start.py [--runs 7] [--bound-ms 400]

Each run starts a fresh process on a throw-away engine home and speaks JSON-RPC on its pipes (``initialize``,
``notifications/initialized``, ``tools/list``, then a first ``tools/call`` of ``status``), as a coding-agent
host does when it launches the server. Prints, for the default start (the stdio front answers the handshake while
the SDK loads) and for the SDK's own start (``ARIZE_SKILLS_FAST_START=0``): the median and slowest time to the
``tools/list`` answer with its ratio to the bound (aim: <= 1.0), and the median time to the first tool call's
answer (a host's model takes seconds before its first call, so that cost is mostly hidden). For scale, measured in
the same run: a process that only imports the MCP SDK's server, and a bare ``python -c pass``.
"""

from __future__ import annotations

import argparse
import json
import os
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path
from typing import IO, Any

ROOT = Path(__file__).resolve().parents[1]

INITIALIZE = {
    "jsonrpc": "2.0",
    "id": 1,
    "method": "initialize",
    "params": {
        "protocolVersion": "2025-06-18",
        "capabilities": {},
        "clientInfo": {"name": "cold-start-benchmark", "version": "1"},
    },
}
INITIALIZED = {"jsonrpc": "2.0", "method": "notifications/initialized"}
LIST_TOOLS = {"jsonrpc": "2.0", "id": 2, "method": "tools/list", "params": {}}
STATUS = {"jsonrpc": "2.0", "id": 3, "method": "tools/call", "params": {"name": "status", "arguments": {}}}


def _send(stream: IO[str], message: dict[str, Any]) -> None:
    stream.write(json.dumps(message) + "\n")
    stream.flush()


def _answer(stream: IO[str], request_id: int) -> dict[str, Any]:
    """The next response with ``request_id`` (notifications and log lines in between are passed over)."""
    while True:
        line = stream.readline()
        if not line:
            raise RuntimeError("the server closed stdout before answering")
        message = json.loads(line)
        if message.get("id") == request_id:
            if "error" in message:
                raise RuntimeError(f"the server answered an error: {message['error']}")
            return message


def one_start(home: Path, *, fast: bool) -> tuple[float, float, int]:
    """Seconds from spawn to the ``tools/list`` answer and to the first tool call's, and how many tools it listed."""
    env = {k: v for k, v in os.environ.items() if not k.startswith("ARIZE")}
    env["ARIZE_SKILLS_HOME"] = str(home)
    env["ARIZE_SKILLS_FAST_START"] = "1" if fast else "0"
    started = time.perf_counter()
    process = subprocess.Popen(
        [sys.executable, "-m", "arize_skills", "mcp"],
        cwd=ROOT,
        env=env,
        stdin=subprocess.PIPE,
        stdout=subprocess.PIPE,
        stderr=subprocess.DEVNULL,
        text=True,
    )
    assert process.stdin is not None and process.stdout is not None
    try:
        _send(process.stdin, INITIALIZE)
        _answer(process.stdout, 1)
        _send(process.stdin, INITIALIZED)
        _send(process.stdin, LIST_TOOLS)
        tools = _answer(process.stdout, 2)["result"]["tools"]
        listed = time.perf_counter() - started
        _send(process.stdin, STATUS)
        _answer(process.stdout, 3)
        called = time.perf_counter() - started
    finally:
        process.stdin.close()
        try:
            process.wait(timeout=20)
        except subprocess.TimeoutExpired:
            process.kill()
    return listed, called, len(tools)


def bare_python() -> float:
    """Seconds for ``python -c pass``: the floor no server can start under."""
    started = time.perf_counter()
    subprocess.run([sys.executable, "-c", "pass"], check=True)
    return time.perf_counter() - started


def sdk_import() -> float:
    """Seconds for a process that only imports the MCP SDK's server: what any server on this SDK pays first."""
    started = time.perf_counter()
    subprocess.run([sys.executable, "-c", "import mcp.server.mcpserver, mcp.server.stdio"], check=True)
    return time.perf_counter() - started


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--runs", type=int, default=7, help="starts to measure in each mode (default 7)")
    parser.add_argument("--bound-ms", type=float, default=400.0, help="the goal for the median (default 400 ms)")
    args = parser.parse_args()
    listed: dict[bool, list[float]] = {True: [], False: []}
    called: dict[bool, list[float]] = {True: [], False: []}
    floors: list[float] = []
    sdk: list[float] = []
    tools = 0
    with tempfile.TemporaryDirectory() as scratch:
        one_start(Path(scratch) / "warm-up", fast=True)  # the first start also compiles bytecode; it is not counted
        for n in range(args.runs):
            for fast in (True, False):
                to_list, to_call, tools = one_start(Path(scratch) / f"home-{n}-{fast}", fast=fast)
                listed[fast].append(to_list)
                called[fast].append(to_call)
            floors.append(bare_python())
            sdk.append(sdk_import())
    for fast, label in ((True, "default start (stdio front)"), (False, "the SDK's start             ")):
        median_ms = statistics.median(listed[fast]) * 1000
        print(
            f"{label}  initialize + tools/list ({tools} tools): median {median_ms:.0f} ms, slowest "
            f"{max(listed[fast]) * 1000:.0f} ms, bound {args.bound_ms:.0f} ms, ratio {median_ms / args.bound_ms:.2f}; "
            f"first tool call answered: median {statistics.median(called[fast]) * 1000:.0f} ms"
        )
    print(f"import of the MCP SDK's server alone: median {statistics.median(sdk) * 1000:.0f} ms")
    print(f"python -c pass: median {statistics.median(floors) * 1000:.0f} ms")


if __name__ == "__main__":
    main()
