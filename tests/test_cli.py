"""The ``arize-skills`` command, run as a real subprocess."""

from __future__ import annotations

import json
import os
import re
import signal
import socket
import subprocess
from contextlib import AbstractContextManager
from pathlib import Path

import anyio
import pytest

from arize_skills.client import AsyncArizeClient
from arize_skills.errors import AuthenticationError
from tests.engine.otlp_payloads import export_with_the_sdk
from tests.served import COMMAND, ServedCommand, served_command

READY = re.compile(r"arize-skills engine on (http://\S+)")
TOKEN = "tok-SECRET-engine-xyz"
STOPPED = (0, -signal.SIGTERM)


def cli_env(tmp_path: Path, **extra: str) -> dict[str, str]:
    """The test's environment (already free of ARIZE_* settings) with HOME and the engine home in ``tmp_path``."""
    env = dict(os.environ)
    env.update({"HOME": str(tmp_path / "home"), "ARIZE_SKILLS_HOME": str(tmp_path / "state"), **extra})
    (tmp_path / "home").mkdir(exist_ok=True)
    return env


def run_cli(*args: str, env: dict[str, str]) -> subprocess.CompletedProcess[str]:
    return subprocess.run([*COMMAND, *args], env=env, capture_output=True, text=True, timeout=120, check=False)


def served(args: list[str], env: dict[str, str]) -> AbstractContextManager[ServedCommand]:
    """``arize-skills engine serve`` with ``args``, as a subprocess for the length of the block."""
    return served_command(["engine", "serve", "--otlp-grpc-port", "0", *args], env, READY)


def test_status_on_the_embedded_default_lists_the_default_space(tmp_path: Path) -> None:
    result = run_cli("status", env=cli_env(tmp_path))
    assert result.returncode == 0, result.stderr
    lines = dict(line.split(": ", 1) for line in result.stdout.splitlines())
    assert lines["backend"] == "embedded"
    assert lines["spaces"] == "['default']"
    assert lines["ok"] == "True"
    assert lines["home"] == str(tmp_path / "state")
    assert (tmp_path / "state" / "engine.sqlite3").is_file()


def test_status_json_reports_the_backend_its_sources_and_the_spaces(tmp_path: Path) -> None:
    result = run_cli("status", "--json", env=cli_env(tmp_path))
    assert result.returncode == 0, result.stderr
    report = json.loads(result.stdout)
    assert report["backend"] == "embedded"
    assert report["has_api_key"] is False
    assert report["spaces"] == ["default"]
    assert report["projects"] == []
    assert report["ok"] is True
    assert report["source.home"] == "env ARIZE_SKILLS_HOME"
    assert report["source.base_url"] == "embedded local engine"


def test_status_with_a_conflicting_environment_fails_with_a_message_and_no_traceback(tmp_path: Path) -> None:
    env = cli_env(tmp_path, ARIZE_REGION="eu-west-1a", ARIZE_BASE_DOMAIN="privatelink.example.com")
    result = run_cli("status", env=env)
    assert result.returncode == 1
    assert result.stderr.startswith("error: ")
    assert "ARIZE_REGION" in result.stderr
    assert "Traceback" not in result.stderr


async def test_engine_serve_answers_the_client_and_keeps_its_data_across_restarts(tmp_path: Path) -> None:
    env = cli_env(tmp_path)
    home = tmp_path / "served"
    with served(["--port", "0", "--home", str(home)], env) as engine:
        url = engine.wait_url()
        assert url.startswith("http://127.0.0.1:")
        async with AsyncArizeClient(base_url=url) as client:
            spaces = await client.spaces.list()
            assert [s.name for s in spaces.items] == ["default"]
            project = await client.projects.create("survives-restart", space=spaces.items[0].id)
        status = run_cli("status", "--json", env={**env, "ARIZE_SKILLS_ENGINE_URL": url})
        assert status.returncode == 0, status.stderr
        assert json.loads(status.stdout)["backend"] == "engine-url"
        assert json.loads(status.stdout)["projects"] == ["survives-restart"]
        assert engine.stop() in STOPPED
        # The last connection to close checkpoints the WAL and removes it: the engine shut down cleanly.
        assert not (home / "engine.sqlite3-wal").exists()

    with served(["--port", "0", "--home", str(home)], env) as engine:
        url = engine.wait_url()
        async with AsyncArizeClient(base_url=url, space="default") as client:
            names = [p.name async for p in client.projects.list()]
            assert names == ["survives-restart"]
            assert (await client.projects.get("survives-restart")).id == project.id
        assert engine.stop() in STOPPED


def test_binding_beyond_loopback_without_a_token_is_refused(tmp_path: Path) -> None:
    result = run_cli("engine", "serve", "--host", "0.0.0.0", "--port", "0", env=cli_env(tmp_path))
    assert result.returncode == 2
    assert "--token-env" in result.stderr
    assert "0.0.0.0" in result.stderr
    assert "arize-skills engine on" not in result.stderr


def test_a_token_env_naming_an_unset_variable_is_refused(tmp_path: Path) -> None:
    result = run_cli("engine", "serve", "--port", "0", "--token-env", "NOT_SET_ANYWHERE", env=cli_env(tmp_path))
    assert result.returncode == 2
    assert "NOT_SET_ANYWHERE" in result.stderr


def test_a_port_already_in_use_is_an_error_not_a_traceback(tmp_path: Path) -> None:
    with socket.socket() as taken:
        taken.bind(("127.0.0.1", 0))
        taken.listen()
        port = taken.getsockname()[1]
        result = run_cli("engine", "serve", "--port", str(port), "--home", str(tmp_path / "x"), env=cli_env(tmp_path))
    assert result.returncode == 1
    assert f"cannot listen on 127.0.0.1:{port}" in result.stderr
    assert "Traceback" not in result.stderr


def test_engine_serve_receives_otlp_over_grpc_on_the_port_it_prints(tmp_path: Path) -> None:
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        grpc_port = probe.getsockname()[1]
    env = cli_env(tmp_path)
    args = ["engine", "serve", "--port", "0", "--otlp-grpc-port", str(grpc_port), "--home", str(tmp_path / "grpc")]
    ready = re.compile(r"OTLP/gRPC traces on (\S+)")
    with served_command(args, env, ready) as engine:
        assert engine.wait_url() == f"127.0.0.1:{grpc_port}"
        assert export_with_the_sdk(grpc_port, "cli-grpc", ["via-cli"])
        url = next(m.group(1) for line in engine.stderr if (m := READY.search(line)))
        listed = anyio.run(_span_names, url, "cli-grpc")
    assert listed == ["via-cli"]


def test_a_grpc_port_in_use_is_an_error_that_names_the_flag(tmp_path: Path) -> None:
    with socket.socket() as taken:
        taken.bind(("127.0.0.1", 0))
        taken.listen()
        port = taken.getsockname()[1]
        result = run_cli(
            "engine",
            "serve",
            "--port",
            "0",
            "--otlp-grpc-port",
            str(port),
            "--home",
            str(tmp_path / "x"),
            env=cli_env(tmp_path),
        )
    assert result.returncode == 1
    assert f"cannot listen for OTLP/gRPC on 127.0.0.1:{port}" in result.stderr and "--otlp-grpc-port" in result.stderr


async def _span_names(url: str, project: str) -> list[str]:
    async with AsyncArizeClient(base_url=url) as client:
        client.space = (await client.spaces.list()).items[0].id
        return [s.name async for s in client.spans.list(project)]


async def test_with_a_token_requests_without_it_get_401_and_requests_with_it_succeed(tmp_path: Path) -> None:
    env = cli_env(tmp_path, ENGINE_TOKEN=TOKEN)
    with served(["--port", "0", "--home", str(tmp_path / "guarded"), "--token-env", "ENGINE_TOKEN"], env) as engine:
        url = engine.wait_url()
        for key in (None, "tok-wrong"):
            async with AsyncArizeClient(base_url=url, api_key=key) as client:
                with pytest.raises(AuthenticationError) as caught:
                    await client.spaces.list()
            assert caught.value.status == 401
            assert TOKEN not in json.dumps(caught.value.body)
            assert TOKEN not in str(caught.value)
            if key is not None:
                assert key not in json.dumps(caught.value.body)

        async with AsyncArizeClient(base_url=url, api_key=TOKEN) as client:
            spaces = await client.spaces.list()
            assert [s.name for s in spaces.items] == ["default"]

        status = run_cli("status", "--json", env={**env, "ARIZE_SKILLS_ENGINE_URL": url, "ARIZE_API_KEY": TOKEN})
        assert status.returncode == 0, status.stderr
        assert TOKEN not in status.stdout
        assert json.loads(status.stdout)["has_api_key"] is True

        assert engine.stop() in STOPPED
        assert TOKEN not in "".join(engine.stderr)
