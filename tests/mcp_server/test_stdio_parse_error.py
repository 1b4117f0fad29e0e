"""``arize-skills mcp`` on stdio answers a line that is not JSON-RPC with a JSON-RPC error, and keeps serving.

A real subprocess: the host writes raw lines to its stdin and reads its stdout line by line (bounded waits).
"""

from __future__ import annotations

import os
import subprocess
from collections.abc import Iterator
from pathlib import Path

import pytest

from tests.served import COMMAND, TIMEOUT, StdioHost


@pytest.fixture
def host(tmp_path: Path) -> Iterator[StdioHost]:
    home = tmp_path / "home"
    home.mkdir()
    env = {"HOME": str(home), "PATH": os.environ.get("PATH", "")}
    process = subprocess.Popen(
        [*COMMAND, "mcp", "--home", str(tmp_path / "state")],
        env=env,
        stdin=subprocess.PIPE,
        stdout=subprocess.PIPE,
        stderr=subprocess.DEVNULL,
        text=True,
    )
    served = StdioHost(process)
    served.request(
        {
            "jsonrpc": "2.0",
            "id": 0,
            "method": "initialize",
            "params": {
                "protocolVersion": "2025-06-18",
                "capabilities": {},
                "clientInfo": {"name": "raw-host", "version": "1"},
            },
        }
    )
    assert served.reply()["id"] == 0
    served.request({"jsonrpc": "2.0", "method": "notifications/initialized"})
    try:
        yield served
    finally:
        assert process.stdin is not None
        process.stdin.close()
        try:
            process.wait(timeout=TIMEOUT)
        except subprocess.TimeoutExpired:
            process.kill()
            process.wait(timeout=TIMEOUT)
        served.reader.join(timeout=TIMEOUT)
        assert process.stdout is not None
        process.stdout.close()


def test_a_line_that_is_not_json_gets_a_parse_error_with_a_null_id_and_the_server_keeps_serving(
    host: StdioHost,
) -> None:
    host.send("this is not json {")
    error = host.reply()
    assert error["jsonrpc"] == "2.0"
    assert error["id"] is None
    assert error["error"]["code"] == -32700
    assert "not valid JSON" in error["error"]["message"]

    host.request({"jsonrpc": "2.0", "id": 7, "method": "ping"})
    assert host.reply() == {"jsonrpc": "2.0", "id": 7, "result": {}}


def test_json_that_is_not_a_json_rpc_message_gets_an_invalid_request_error(host: StdioHost) -> None:
    host.send('{"hello": "world"}')
    error = host.reply()
    assert error["id"] is None
    assert error["error"]["code"] == -32600
    assert "JSON-RPC 2.0" in error["error"]["message"]

    host.request({"jsonrpc": "2.0", "id": 8, "method": "ping"})
    assert host.reply()["id"] == 8
