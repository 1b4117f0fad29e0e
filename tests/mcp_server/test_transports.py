"""``arize-skills mcp`` as a host runs it: a real subprocess over stdio, and streamable HTTP on loopback."""

from __future__ import annotations

import os
import re
import signal
import subprocess
import sys
from contextlib import AbstractContextManager
from pathlib import Path
from typing import Any

import httpx2
import pytest
from mcp import Client, StdioServerParameters
from mcp.client.streamable_http import streamable_http_client

from tests.served import COMMAND, ServedCommand, served_command

READY = re.compile(r"arize-skills mcp on (http://\S+/mcp)")
TOKEN = "mcp-SECRET-token-5678abcd"
STOPPED = (0, -signal.SIGTERM)


def host_env(tmp_path: Path, **extra: str) -> dict[str, str]:
    """What a host passes: a HOME and a PATH (no ARIZE_* settings), plus ``extra``."""
    home = tmp_path / "home"
    home.mkdir(exist_ok=True)
    return {"HOME": str(home), "PATH": os.environ.get("PATH", ""), "NO_PROXY": "127.0.0.1,localhost", **extra}


@pytest.mark.parametrize("mode", ["legacy", "auto"])
async def test_a_host_launches_the_stdio_server_lists_the_tools_and_calls_them(tmp_path: Path, mode: str) -> None:
    state = tmp_path / "state"
    params = StdioServerParameters(
        command=sys.executable, args=["-m", "arize_skills", "mcp", "--home", str(state)], env=host_env(tmp_path)
    )
    async with Client(params, mode=mode, read_timeout_seconds=60) as mcp:
        names = {tool.name for tool in (await mcp.list_tools()).tools}
        status = await mcp.call_tool("status", {})
        spaces = await mcp.call_tool("find", {"kind": "space"})
        instructions = mcp.instructions or ""

    assert {"status", "find"} <= names
    assert not status.is_error
    report = status.structured_content or {}
    assert report["backend"] == "embedded"
    assert report["engine_home"] == str(state)
    assert report["space"]["name"] == "default"
    assert [row["name"] for row in (spaces.structured_content or {})["items"]] == ["default"]
    assert "embedded local engine" in instructions
    assert (state / "engine.sqlite3").is_file()


def served(args: list[str], env: dict[str, str]) -> AbstractContextManager[ServedCommand]:
    """``arize-skills mcp --transport http`` with ``args``, as a subprocess for the length of the block."""
    return served_command(["mcp", "--transport", "http", *args], env, READY)


async def test_the_http_transport_serves_both_eras_on_loopback(tmp_path: Path) -> None:
    with served(["--port", "0", "--home", str(tmp_path / "state")], host_env(tmp_path)) as server:
        url = server.wait_url()
        assert url.startswith("http://127.0.0.1:")
        for mode in ("legacy", "auto"):
            async with Client(url, mode=mode, read_timeout_seconds=60) as mcp:
                result = await mcp.call_tool("status", {})
                assert not result.is_error, result.content
                assert (result.structured_content or {})["backend"] == "embedded"
        assert server.stop() in STOPPED


async def test_with_a_token_every_http_request_must_carry_it(tmp_path: Path) -> None:
    env = host_env(tmp_path, MCP_TOKEN=TOKEN)
    with served(["--port", "0", "--home", str(tmp_path / "state"), "--token-env", "MCP_TOKEN"], env) as server:
        url = server.wait_url()
        assert "bearer token required" in server.stderr[-1]
        ping = {"jsonrpc": "2.0", "id": 1, "method": "ping"}
        async with httpx2.AsyncClient(timeout=30) as raw:
            refused = await raw.post(url, json=ping)
            wrong = await raw.post(url, json=ping, headers={"Authorization": "Bearer not-the-token"})
        for response in (refused, wrong):
            assert response.status_code == 401
            assert response.headers["www-authenticate"].startswith("Bearer")
            assert TOKEN not in response.text

        headers = {"Authorization": f"Bearer {TOKEN}"}
        async with (
            httpx2.AsyncClient(headers=headers, timeout=60) as http,
            Client(streamable_http_client(url, http_client=http), mode="legacy", read_timeout_seconds=60) as mcp,
        ):
            result = await mcp.call_tool("status", {})
        assert not result.is_error, result.content
        assert TOKEN not in str(result)
        assert server.stop() in STOPPED
    assert all(TOKEN not in line for line in server.stderr)


def run_cli(*args: str, env: dict[str, str]) -> subprocess.CompletedProcess[str]:
    return subprocess.run([*COMMAND, *args], env=env, capture_output=True, text=True, timeout=120, check=False)


def test_binding_http_beyond_loopback_without_a_token_is_refused(tmp_path: Path) -> None:
    result = run_cli("mcp", "--transport", "http", "--host", "0.0.0.0", "--port", "0", env=host_env(tmp_path))
    assert result.returncode == 2
    assert "--token-env" in result.stderr and "0.0.0.0" in result.stderr
    assert "arize-skills mcp on" not in result.stderr


def test_a_token_env_naming_an_unset_variable_or_given_to_stdio_is_refused(tmp_path: Path) -> None:
    unset = run_cli("mcp", "--transport", "http", "--port", "0", "--token-env", "NOT_SET_HERE", env=host_env(tmp_path))
    assert unset.returncode == 2 and "NOT_SET_HERE" in unset.stderr
    stdio = run_cli("mcp", "--token-env", "MCP_TOKEN", env=host_env(tmp_path, MCP_TOKEN=TOKEN))
    assert stdio.returncode == 2 and "--transport http" in stdio.stderr


async def test_a_host_drives_a_backfill_workflow_through_the_stdio_server(tmp_path: Path, live_engine: Any) -> None:
    """Spans arrive over OTLP; through the stdio server alone the agent creates a code evaluator and a task,
    backfills the window and reads the scored spans back — the local engine's runner does the scoring."""
    from tests.engine.otlp_payloads import export_body, span

    outputs = ['{"total": 3}', "not json", '{"items": []}', "also not json", '{"ok": true}']
    spans = [
        span(f"{i + 1:016x}", trace_id=f"{i + 1:032x}", attributes={"input.value": "q", "output.value": out})
        for i, out in enumerate(outputs)
    ]
    async with httpx2.AsyncClient(base_url=live_engine.url) as http:
        sent = await http.post("/v1/traces", json=export_body(spans, project="shop"))
        assert sent.status_code == 200, sent.text

    env = host_env(tmp_path, ARIZE_SKILLS_ENGINE_URL=live_engine.url)
    params = StdioServerParameters(command=sys.executable, args=["-m", "arize_skills", "mcp"], env=env)
    async with Client(params, mode="legacy", read_timeout_seconds=120) as mcp:
        evaluator = await mcp.call_tool(
            "create_code_evaluator",
            {"name": "valid json", "evaluator": "JSON_PARSEABLE", "variables": ["attributes.output.value"]},
        )
        assert not evaluator.is_error, evaluator.content
        task = await mcp.call_tool(
            "create_task", {"name": "json check", "project": "shop", "evaluators": [{"evaluator": "valid json"}]}
        )
        assert not task.is_error, task.content
        backfill = await mcp.call_tool(
            "trigger_backfill", {"task": "json check", "start_time": "-1d", "wait_seconds": 60}
        )
        assert not backfill.is_error, backfill.content
        column = (backfill.structured_content or {})["label_samples"][0]["eval_column"]
        failing = await mcp.call_tool(
            "search_spans", {"project": "shop", "start_time": "-1d", "filter": f"{column}.label = 'false'"}
        )
        misnamed = await mcp.call_tool(
            "search_spans", {"project": "shop", "start_time": "-1d", "filter": "eval.\"valid json\".label = 'false'"}
        )

    result = backfill.structured_content or {}
    assert result["finished"] is True
    assert result["run"]["status"] == "COMPLETED"
    assert (result["run"]["num_successes"], result["run"]["num_errors"]) == (5, 0)
    rows = (failing.structured_content or {})["items"]
    assert sorted(row["span_id"] for row in rows) == [f"{2:016x}", f"{4:016x}"]
    # The evaluator's display name is not its eval column: the empty result says which names exist.
    hints = (misnamed.structured_content or {})["no_match"]["hints"]
    assert any("'valid json'" in hint and "valid_json" in hint for hint in hints), hints
