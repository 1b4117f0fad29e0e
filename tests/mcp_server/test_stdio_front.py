"""``arize-skills mcp`` on stdio answers the handshake and ``tools/list`` before the SDK loads, and a host sees the
same session as without the front: each conversation here runs twice, as real subprocesses, with the front
(the default) and without it (``ARIZE_SKILLS_FAST_START=0``), and the answers must agree.

After a deliberate change to the server's capabilities or identity, regenerate the shipped handshake::

    ARIZE_SKILLS_UPDATE_SNAPSHOT=1 pytest tests/mcp_server/test_stdio_front.py
"""

from __future__ import annotations

import json
import os
import subprocess
from pathlib import Path
from typing import Any

from mcp_types.version import HANDSHAKE_PROTOCOL_VERSIONS

from arize_skills import __version__
from arize_skills.mcp_server.shipped import HANDSHAKE_FILE, LISTING_FILE
from arize_skills.mcp_server.stdio_front import LineReader
from tests.served import COMMAND, TIMEOUT, StdioHost

UPDATE = os.environ.get("ARIZE_SKILLS_UPDATE_SNAPSHOT") == "1"
Message = dict[str, Any]


def initialize(request_id: int = 1, version: str = "2025-06-18") -> Message:
    params = {"protocolVersion": version, "capabilities": {}, "clientInfo": {"name": "raw-host", "version": "1"}}
    return {"jsonrpc": "2.0", "id": request_id, "method": "initialize", "params": params}


INITIALIZED: Message = {"jsonrpc": "2.0", "method": "notifications/initialized"}


def request(request_id: int, method: str, params: dict[str, Any] | None = None) -> Message:
    return {"jsonrpc": "2.0", "id": request_id, "method": method, **({"params": params} if params is not None else {})}


def converse(tmp_path: Path, lines: list[Message | str], *, fast: bool) -> list[Message]:
    """Send each line (waiting for the answer of each request) to a fresh server; every message it wrote, in order.

    Notifications and raw lines are not waited for; the server's output is read until it has answered every
    request, then stdin is closed and the server must exit.
    """
    state = tmp_path / ("fast" if fast else "sdk")
    env = {"HOME": str(tmp_path), "PATH": os.environ.get("PATH", ""), "ARIZE_SKILLS_FAST_START": "1" if fast else "0"}
    process = subprocess.Popen(
        [*COMMAND, "mcp", "--home", str(state)],
        env=env,
        stdin=subprocess.PIPE,
        stdout=subprocess.PIPE,
        stderr=subprocess.DEVNULL,
        text=True,
    )
    host = StdioHost(process)
    written: list[Message] = []
    try:
        for line in lines:
            host.send(line if isinstance(line, str) else json.dumps(line))
            waiting = isinstance(line, str) or "id" in line
            while waiting:
                reply = host.reply()
                written.append(reply)
                waiting = "method" in reply or (isinstance(line, dict) and reply.get("id") != line["id"])
    finally:
        assert process.stdin is not None
        process.stdin.close()
        assert process.wait(timeout=TIMEOUT) == 0
    host.reader.join(timeout=TIMEOUT)
    assert process.stdout is not None
    process.stdout.close()
    while not host.lines.empty():
        rest = host.lines.get()
        if rest is not None:
            written.append(json.loads(rest))
    return written


def without_instructions(messages: list[Message]) -> list[Message]:
    for message in messages:
        message.get("result", {}).pop("instructions", None)
    return messages


def test_the_shipped_handshake_is_the_sdks_for_every_protocol_version(tmp_path: Path) -> None:
    answers = converse(tmp_path, [initialize(1, "2025-06-18")], fast=False)
    result = answers[0]["result"]
    current = {
        "protocol_versions": list(HANDSHAKE_PROTOCOL_VERSIONS),
        "capabilities": result["capabilities"],
        "server_info": {k: v for k, v in result["serverInfo"].items() if k != "version"},
    }
    assert result["serverInfo"]["version"] == __version__
    if UPDATE:
        HANDSHAKE_FILE.write_text(json.dumps(current, indent=2, sort_keys=True) + "\n", encoding="utf-8")
    assert json.loads(HANDSHAKE_FILE.read_text(encoding="utf-8")) == current, (
        "the SDK's handshake changed: run ARIZE_SKILLS_UPDATE_SNAPSHOT=1 pytest tests/mcp_server/test_stdio_front.py"
    )
    # The oldest version is echoed, an unknown one answered with the latest: the two branches of the negotiation.
    for version in [HANDSHAKE_PROTOCOL_VERSIONS[0], "1999-01-01"]:
        fast = without_instructions(converse(tmp_path / version, [initialize(1, version)], fast=True))
        sdk = without_instructions(converse(tmp_path / version, [initialize(1, version)], fast=False))
        assert fast == sdk, version


def test_a_whole_session_behind_the_front_answers_as_the_sdk_does(tmp_path: Path) -> None:
    lines: list[Message | str] = [
        initialize(),
        INITIALIZED,
        request(2, "tools/list", {}),
        request(3, "ping"),
        request(4, "resources/list", {}),
        request(5, "tools/call", {"name": "find", "arguments": {"kind": "judge_template"}}),
        request(6, "tools/list"),
        "not json {",
        request(7, "ping"),
    ]
    fast = converse(tmp_path, lines, fast=True)
    sdk = converse(tmp_path, lines, fast=False)
    assert [m.get("id") for m in fast] == [1, 2, 3, 4, 5, 6, None, 7], "one answer each, none repeated"
    instructions = fast[0]["result"]["instructions"]
    assert "the embedded local engine" in instructions and "Default space: the backend's only space" in instructions
    assert without_instructions(fast) == without_instructions(sdk)
    assert fast[1]["result"]["tools"] == json.loads(LISTING_FILE.read_text(encoding="utf-8"))
    assert fast[1] == {**fast[5], "id": 2}, "the front's listing is the server's"
    assert not fast[4]["result"]["isError"], fast[4]


def test_a_session_that_does_not_open_with_initialize_goes_straight_to_the_server(tmp_path: Path) -> None:
    lines: list[Message | str] = ["{oops", initialize(), INITIALIZED, request(2, "ping")]
    fast = converse(tmp_path, lines, fast=True)
    assert without_instructions(fast) == without_instructions(converse(tmp_path, lines, fast=False))
    assert fast[0]["error"]["code"] == -32700


def test_requests_the_sdk_would_refuse_are_left_to_the_server(tmp_path: Path) -> None:
    incomplete = {"jsonrpc": "2.0", "id": 1, "method": "initialize", "params": {"protocolVersion": "2025-06-18"}}
    bad_list = json.dumps({"jsonrpc": "2.0", "id": 3, "method": "tools/list", "params": ["not", "an", "object"]})
    lines: list[Message | str] = [incomplete, initialize(2), bad_list, request(4, "ping")]
    fast = converse(tmp_path, lines, fast=True)
    assert without_instructions(fast) == without_instructions(converse(tmp_path, lines, fast=False))
    assert fast[0]["error"]["code"] == -32602 and fast[2]["error"]["code"] == -32600


def test_a_host_that_leaves_after_the_handshake_ends_the_server_without_opening_the_engine(tmp_path: Path) -> None:
    answers = converse(tmp_path, [initialize(), INITIALIZED, request(2, "tools/list")], fast=True)
    assert [a["id"] for a in answers] == [1, 2]
    assert not (tmp_path / "fast").exists(), "the engine's home was never opened"


def test_the_line_reader_splits_lines_across_reads_and_keeps_a_last_line_without_newline() -> None:
    read_end, write_end = os.pipe()
    os.write(write_end, b'{"a":1}\n{"b"')
    os.write(write_end, b':2}\n\n{"c":3}')
    os.close(write_end)
    reader = LineReader(read_end)
    assert [reader.readline() for _ in range(5)] == [b'{"a":1}\n', b'{"b":2}\n', b"\n", b'{"c":3}', b""]
    os.close(read_end)
