"""The engine home holds provider keys: it is private (0700) and every file in it is owner-only (0600).

Every test runs under the common umask 022, with which files would otherwise come out 0644 and folders 0755.
"""

from __future__ import annotations

import logging
import os
import re
import sqlite3
import stat
from collections.abc import Iterator
from pathlib import Path

import pytest

from arize_skills.client import AsyncArizeClient
from arize_skills.doctor import run_doctor
from arize_skills.engine import Engine
from tests.conftest import serve_engine
from tests.served import served_command

pytestmark = pytest.mark.skipif(os.name != "posix", reason="POSIX file modes")

KEY = "sk-at-rest-0123456789abcdef"


@pytest.fixture(autouse=True)
def loose_umask() -> Iterator[None]:
    """Files and folders are created under umask 022 (the usual default), in this process and its children."""
    previous = os.umask(0o022)
    try:
        yield
    finally:
        os.umask(previous)


def mode(path: Path) -> int:
    return stat.S_IMODE(path.lstat().st_mode)


def modes(home: Path) -> dict[str, int]:
    """The mode of the home (``"."``) and of each file in it."""
    return {".": mode(home), **{entry.name: mode(entry) for entry in home.iterdir()}}


def private(home: Path) -> dict[str, int]:
    return {name: 0o700 if name == "." else 0o600 for name in modes(home)}


async def store_a_key(client: AsyncArizeClient, name: str = "at-rest") -> None:
    await client.ai_integrations.create(name, provider="OPEN_AI", api_key=KEY)


async def test_a_new_home_and_its_database_wal_and_shm_files_are_owner_only(tmp_path: Path) -> None:
    home = tmp_path / "state"
    async with Engine.open(home) as engine, AsyncArizeClient(transport=engine.transport()) as client:
        await store_a_key(client)
        assert {"engine.sqlite3", "engine.sqlite3-wal", "engine.sqlite3-shm"} <= set(modes(home))
        assert modes(home) == private(home)

        def checkpoint(conn: sqlite3.Connection) -> None:
            conn.execute("PRAGMA wal_checkpoint(TRUNCATE)")

        await engine.store.read(checkpoint)
        await store_a_key(client, "after-checkpoint")
        assert modes(home) == private(home)
    assert modes(home) == private(home)


async def test_missing_parent_folders_of_a_new_home_are_created_private(tmp_path: Path) -> None:
    async with Engine.open(tmp_path / "dot-arize-skills" / "quickstart"):
        pass
    assert mode(tmp_path / "dot-arize-skills") == 0o700
    assert mode(tmp_path / "dot-arize-skills" / "quickstart") == 0o700


async def test_a_loose_existing_home_is_tightened_on_start_and_the_log_says_so(
    tmp_path: Path, caplog: pytest.LogCaptureFixture
) -> None:
    home = tmp_path / "state"
    async with Engine.open(home) as engine, AsyncArizeClient(transport=engine.transport()) as client:
        await store_a_key(client)
    home.chmod(0o755)
    (home / "engine.sqlite3").chmod(0o644)
    (home / "notes.txt").write_text("left here by hand", encoding="utf-8")
    (home / "tool.sh").write_text("#!/bin/sh\n", encoding="utf-8")
    (home / "tool.sh").chmod(0o755)

    with caplog.at_level(logging.WARNING, logger="arize_skills.engine"):
        async with Engine.open(home) as engine, AsyncArizeClient(transport=engine.transport()) as client:
            assert [i.name async for i in client.ai_integrations.list()] == ["at-rest"]
            assert mode(home) == 0o700
            assert mode(home / "engine.sqlite3") == 0o600
            assert mode(home / "engine.sqlite3-wal") == 0o600
            assert mode(home / "notes.txt") == 0o600
            # Tightening takes access away from others only: the owner keeps what it had.
            assert mode(home / "tool.sh") == 0o700

    (said,) = [r.getMessage() for r in caplog.records if "private" in r.getMessage()]
    assert str(home) in said and "0755" in said and "engine.sqlite3" in said and "notes.txt" in said
    assert KEY not in caplog.text

    caplog.clear()
    with caplog.at_level(logging.WARNING, logger="arize_skills.engine"):
        async with Engine.open(home):
            pass
    assert not [r for r in caplog.records if "private" in r.getMessage()], "a private home is left as it is, quietly"


async def test_the_served_engine_keeps_its_home_private(tmp_path: Path) -> None:
    home = tmp_path / "served"
    with serve_engine(home) as live:
        async with AsyncArizeClient(base_url=live.url) as client:
            client.space = (await client.spaces.list()).items[0].id
            await store_a_key(client)
            assert modes(home) == private(home)
    assert modes(home) == private(home)


async def test_engine_serve_home_is_created_private(tmp_path: Path) -> None:
    home = tmp_path / "by-cli"
    env = {**os.environ, "HOME": str(tmp_path), "ARIZE_SKILLS_HOME": str(tmp_path / "unused")}
    ready = re.compile(r"arize-skills engine on (http://\S+)")
    args = ["engine", "serve", "--port", "0", "--otlp-grpc-port", "0", "--home", str(home)]
    with served_command(args, env, ready) as served:
        async with AsyncArizeClient(base_url=served.wait_url()) as client:
            client.space = (await client.spaces.list()).items[0].id
            await store_a_key(client)
        assert served.stop() in (0, -15)
    assert modes(home) == private(home)
    assert "engine.sqlite3" in modes(home)


async def test_doctor_tightens_a_loose_home_and_reports_it(tmp_path: Path) -> None:
    home = tmp_path / "state"
    async with Engine.open(home):
        pass
    home.chmod(0o755)
    (home / "engine.sqlite3").chmod(0o644)
    checks = await run_doctor(home=home, project=tmp_path)
    (check,) = [c for c in checks if c.name == "home private"]
    assert check.ok and "0755" in check.detail and "engine.sqlite3" in check.detail
    assert modes(home) == private(home)

    again = await run_doctor(home=home, project=tmp_path)
    (check,) = [c for c in again if c.name == "home private"]
    assert check.ok and "0700" in check.detail
