"""``arize-skills doctor``: each check passes on a healthy setup and names the fix when something is wrong."""

from __future__ import annotations

import json
import socket
import sqlite3
from pathlib import Path

import pytest

from arize_skills.agents import install_skills, skill_names
from arize_skills.cli import main
from arize_skills.client import AsyncArizeClient
from arize_skills.doctor import Check, run_doctor
from arize_skills.engine import Engine
from arize_skills.skills import skills_root
from tests.conftest import serve_engine
from tests.stubs.llm_server import serve_stub

SECRET = "ak-doctor-secret-0123456789"


def run(capsys: pytest.CaptureFixture[str], *argv: str) -> tuple[int, dict[str, object], str]:
    with pytest.raises(SystemExit) as exited:
        main(["doctor", "--json", *argv])
    out = capsys.readouterr()
    return int(exited.value.code or 0), json.loads(out.out), out.out + out.err


def failed(checks: list[Check]) -> list[Check]:
    return [check for check in checks if not check.ok]


def dead_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return int(sock.getsockname()[1])


def test_a_fresh_machine_with_the_embedded_engine_is_all_good(
    capsys: pytest.CaptureFixture[str], tmp_path: Path
) -> None:
    code, report, _ = run(capsys, "--home", str(tmp_path / "home"), "--project", str(tmp_path))
    assert code == 0
    assert report["ok"] is True
    names = {(c["area"], c["name"]) for c in report["checks"]}  # type: ignore[attr-defined]
    assert {("engine", "home writable"), ("engine", "database opens"), ("engine", "runner")} <= names
    assert ("backend", "reachable and authorized") in names


def test_an_unreachable_backend_fails_with_a_fix_and_never_prints_the_key(
    capsys: pytest.CaptureFixture[str], monkeypatch: pytest.MonkeyPatch, tmp_path: Path
) -> None:
    monkeypatch.setenv("ARIZE_API_KEY", SECRET)
    monkeypatch.setenv("ARIZE_SKILLS_ENGINE_URL", f"http://127.0.0.1:{dead_port()}")
    code, report, printed = run(capsys, "--project", str(tmp_path))
    assert code == 1
    (bad,) = [c for c in report["checks"] if not c["ok"]]  # type: ignore[attr-defined]
    assert bad["name"] == "reachable and authorized" and bad["fix"]
    assert SECRET not in printed


async def test_a_wrong_key_for_a_running_engine_is_reported_as_rejected(
    monkeypatch: pytest.MonkeyPatch, tmp_path: Path
) -> None:
    with serve_engine(tmp_path / "served", token="right-token") as served:
        monkeypatch.setenv("ARIZE_SKILLS_ENGINE_URL", served.url)
        monkeypatch.setenv("ARIZE_API_KEY", SECRET)
        (bad,) = failed(await run_doctor(project=tmp_path))
        assert "401" in bad.detail and "bearer token" in (bad.fix or "")
        assert SECRET not in repr(bad)
        monkeypatch.setenv("ARIZE_API_KEY", "right-token")
        assert failed(await run_doctor(project=tmp_path)) == []


async def test_each_ai_integration_base_url_is_probed_and_an_unreachable_one_fails(tmp_path: Path) -> None:
    home = tmp_path / "home"
    with serve_stub() as stub:
        async with Engine.open(home) as engine, AsyncArizeClient(transport=engine.transport()) as client:
            for name, url in (("stub", stub.openai_url), ("gone", f"http://127.0.0.1:{dead_port()}/v1")):
                body = {"name": name, "provider": "OPEN_AI", "base_url": url, "model_names": ["m"], "api_key": SECRET}
                await client.request("POST", "/v2/ai-integrations", json_body=body)
        checks = await run_doctor(home=home, project=tmp_path)
        served = stub.served
    providers = {c.name: c for c in checks if c.area == "provider"}
    assert providers["stub"].ok and stub.url in providers["stub"].detail
    assert not providers["gone"].ok and providers["gone"].fix
    assert failed(checks) == [providers["gone"]]
    assert served == 0, "a GET of the base URL is not a completion request"
    assert SECRET not in repr(checks)


async def test_a_database_from_a_newer_version_fails_the_migration_check(tmp_path: Path) -> None:
    home = tmp_path / "home"
    async with Engine.open(home):
        pass
    with sqlite3.connect(home / "engine.sqlite3") as conn:
        conn.execute("INSERT INTO _migrations (name, applied_at) VALUES ('m999_future', datetime('now'))")
    (bad,) = failed(await run_doctor(home=home, project=tmp_path))
    assert bad.name == "migrations" and "m999_future" in bad.detail


async def test_an_unwritable_engine_home_fails_with_a_fix(tmp_path: Path) -> None:
    blocker = tmp_path / "file"
    blocker.write_text("not a folder", encoding="utf-8")
    (bad,) = failed(await run_doctor(home=blocker / "home", project=tmp_path))
    assert bad.name == "home writable" and "ARIZE_SKILLS_HOME" in (bad.fix or "")


async def test_outdated_installed_skills_fail_with_the_install_command_that_fixes_them(tmp_path: Path) -> None:
    target = tmp_path / ".cursor" / "skills"
    install_skills(target)
    assert failed(await run_doctor(home=tmp_path / "home", project=tmp_path)) == []
    name = skill_names(skills_root())[-1]
    (target / name / "SKILL.md").write_text("an older version", encoding="utf-8")
    (bad,) = failed(await run_doctor(home=tmp_path / "home", project=tmp_path))
    assert bad.area == "skills" and name in bad.detail
    assert bad.fix == f"arize-skills skills install --agent cursor --project {tmp_path}"
    install_skills(target)
    assert failed(await run_doctor(home=tmp_path / "home", project=tmp_path)) == []
