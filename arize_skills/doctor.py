"""``arize-skills doctor``: check the backend, the local engine, AI providers and installed skills; say what to fix.

Every check yields a ``Check``; ``ok=False`` means something needs fixing and carries a ``fix``. Nothing here
prints or returns an API key: settings are reported through ``Settings.describe()`` and errors by their class and
status only.
"""

from __future__ import annotations

import os
import sqlite3
import tempfile
from dataclasses import dataclass
from pathlib import Path

import httpx2

from .agents import AGENTS, agent_skills_dir, skill_states
from .errors import APIConnectionError, APIStatusError, ArizeSkillsError, AuthenticationError, ConfigError
from .settings import Settings
from .skills import skills_root

__all__ = ["Check", "run_doctor"]

PROBE_TIMEOUT = 5.0


@dataclass(frozen=True)
class Check:
    """One finding: its area (backend, engine, provider, skills), what was checked, the result and the fix."""

    area: str
    name: str
    ok: bool
    detail: str
    fix: str | None = None


def _settings_check(home: Path | None) -> tuple[Settings | None, Check]:
    try:
        settings = Settings.resolve(home=home)
    except ConfigError as exc:
        return None, Check("backend", "settings", False, str(exc), "fix the environment variables named above")
    facts = settings.describe()
    where = settings.base_url or f"embedded engine in {settings.home}"
    detail = f"{settings.backend} backend at {where} (endpoint from {facts.get('source.base_url')}"
    if settings.api_key is not None:
        detail += f", API key from {facts.get('source.api_key')}"
    return settings, Check("backend", "settings", True, detail + ")")


def _home_checks(home: Path) -> list[Check]:
    from .engine import private_home

    checks: list[Check] = []
    try:
        privacy = private_home(home)
        with tempfile.NamedTemporaryFile(dir=home, prefix=".doctor-"):
            pass
    except OSError as exc:
        fix = "set ARIZE_SKILLS_HOME (or --home) to a folder you can write"
        return [Check("engine", "home writable", False, f"{home}: {exc.strerror or exc}", fix)]
    checks.append(Check("engine", "home writable", True, str(home)))
    if privacy.problem is not None:
        return [*checks, Check("engine", "home private", False, privacy.problem, privacy.fix)]
    detail = privacy.tightened or "0700, files owner-only (it holds provider API keys)"
    checks.append(Check("engine", "home private", True, detail))
    from .engine.engine import DATABASE_FILE
    from .engine.store.migrations import MIGRATIONS

    database = home / DATABASE_FILE
    if not database.exists():
        checks.append(Check("engine", "migrations", True, "no database yet; it is created at first start"))
        return checks
    try:
        with sqlite3.connect(f"file:{database}?mode=ro", uri=True) as conn:
            tables = {row[0] for row in conn.execute("SELECT name FROM sqlite_master WHERE type = 'table'")}
            applied = (
                {row[0] for row in conn.execute("SELECT name FROM _migrations")} if "_migrations" in tables else set()
            )
    except sqlite3.Error as exc:
        fix = f"move {database} aside (it holds the local engine's data) and start again"
        return [*checks, Check("engine", "database opens", False, f"{database}: {exc}", fix)]
    known = [migration[0] for migration in MIGRATIONS]
    unknown = sorted(applied - set(known))
    pending = [name for name in known if name not in applied]
    if unknown:
        detail = f"the database has migrations this version does not know ({', '.join(unknown)})"
        checks.append(Check("engine", "migrations", False, detail, "upgrade arize-skills to the version that wrote it"))
    elif pending:
        checks.append(Check("engine", "migrations", True, f"{len(pending)} pending, applied at the next start"))
    else:
        checks.append(Check("engine", "migrations", True, f"current ({len(known)} applied)"))
    return checks


async def _backend_checks(settings: Settings) -> tuple[list[Check], list[tuple[str, str]]]:
    """Reachability and auth of the backend, the engine when embedded, and the AI integrations with a base URL."""
    from .client import AsyncArizeClient
    from .engine import Engine

    checks: list[Check] = []
    integrations: list[tuple[str, str]] = []

    async def probe(client: AsyncArizeClient) -> None:
        spaces = await client.spaces.list(limit=10)
        names = ", ".join(space.name for space in spaces.items) or "none"
        checks.append(Check("backend", "reachable and authorized", True, f"spaces: {names}"))
        space = settings.space or (spaces.items[0].id if spaces.items else None)
        if space is None:
            return
        async for integration in client.ai_integrations.list(space=space):
            if integration.base_url:
                integrations.append((integration.name, integration.base_url))
            else:
                detail = f"{integration.provider} at the provider's default endpoint (not probed)"
                checks.append(Check("provider", integration.name, True, detail))

    if settings.backend == "embedded":
        try:
            async with Engine.open(settings.home) as engine:
                checks.append(Check("engine", "database opens", True, "schema current"))
                engine.runner  # noqa: B018 -- building the runner is the check: it fails on a broken configuration
                checks.append(Check("engine", "runner", True, "ready; runs execute while `arize-skills mcp` serves"))
                async with AsyncArizeClient(transport=engine.transport()) as client:
                    await probe(client)
        except (OSError, sqlite3.Error) as exc:
            fix = "check the engine home (ARIZE_SKILLS_HOME or --home) or move its database aside"
            checks.append(Check("engine", "database opens", False, f"{type(exc).__name__}: {exc}", fix))
        return checks, integrations
    try:
        client = AsyncArizeClient(
            api_key=settings.api_key, base_url=settings.base_url, space=settings.space, timeout=10.0, max_retries=0
        )
        async with client:
            await probe(client)
    except AuthenticationError:
        fix = "set a valid key in ARIZE_API_KEY (or your ax profile)"
        if settings.backend == "engine-url":
            fix = "set ARIZE_API_KEY to the engine's bearer token (engine serve --token-env)"
        checks.append(Check("backend", "reachable and authorized", False, "the backend rejected the key (401)", fix))
    except APIConnectionError as exc:
        fix = "check the URL and your network, or unset it to use the embedded engine"
        checks.append(
            Check("backend", "reachable and authorized", False, f"cannot reach {settings.base_url}: {exc}", fix)
        )
    except APIStatusError as exc:
        fix = "check the space and that the key may read it"
        checks.append(Check("backend", "reachable and authorized", False, f"HTTP {exc.status}", fix))
    except ArizeSkillsError as exc:
        checks.append(Check("backend", "reachable and authorized", False, type(exc).__name__, "see `status -v`"))
    return checks, integrations


async def _probe_provider(name: str, base_url: str) -> Check:
    """Any HTTP answer from the configured base URL means it is reachable; only that URL is contacted."""
    try:
        async with httpx2.AsyncClient(timeout=PROBE_TIMEOUT, follow_redirects=False) as http:
            response = await http.get(base_url)
    except httpx2.HTTPError as exc:
        fix = f"start the provider at {base_url} or correct the integration's base_url (update it with the tools)"
        return Check("provider", name, False, f"{base_url} unreachable ({type(exc).__name__})", fix)
    return Check("provider", name, True, f"{base_url} answers (HTTP {response.status_code})")


def _skills_checks(project: Path, home: Path) -> list[Check]:
    try:
        source = skills_root()
    except FileNotFoundError as exc:
        return [Check("skills", "packaged skills", False, str(exc), "reinstall arize-skills")]
    checks: list[Check] = []
    for agent in AGENTS:
        found = False
        for scope, flag in ((project, f"--project {project}"), (None, "--global")):
            target = agent_skills_dir(agent, project=scope, home=home)
            states = skill_states(source, target)
            present = [name for name, state in states.items() if state != "missing"]
            if not present:
                continue
            found = True
            stale = sorted(name for name, state in states.items() if state != "current")
            label = f"{agent} ({target})"
            if stale:
                fix = f"arize-skills skills install --agent {agent} {flag}"
                checks.append(Check("skills", label, False, f"outdated or missing: {', '.join(stale)}", fix))
            else:
                checks.append(Check("skills", label, True, f"{len(states)} skills, current"))
        if not found:
            detail = f"not installed (to add them: arize-skills skills install --agent {agent})"
            checks.append(Check("skills", agent, True, detail))
    return checks


async def run_doctor(*, home: Path | None = None, project: Path | None = None) -> list[Check]:
    """Run every check; ``home`` overrides the engine home, ``project`` the project whose skills are checked."""
    settings, first = _settings_check(home)
    checks = [first]
    if settings is not None:
        if settings.backend == "embedded":
            checks.extend(_home_checks(settings.home))
        if all(check.ok for check in checks):
            found, integrations = await _backend_checks(settings)
            checks.extend(found)
            for name, base_url in integrations:
                checks.append(await _probe_provider(name, base_url))
    checks.extend(_skills_checks(project if project is not None else Path.cwd(), Path(os.path.expanduser("~"))))
    return checks
