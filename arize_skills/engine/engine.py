"""The ``Engine``: the local AX-compatible backend's state (store, clock, default space) and its lifecycle."""

from __future__ import annotations

import logging
import secrets
import sqlite3
from collections.abc import AsyncIterator, Callable
from contextlib import asynccontextmanager
from datetime import datetime
from pathlib import Path
from typing import TYPE_CHECKING

import anyio
import httpx2

from ..errors import ProblemError
from ..models._base import iso, utcnow
from ..models.ids import decode_id, encode_id
from .runner.lock import RunnerHolder, RunnerLock
from .store.db import Store, private_home
from .store.documents import OrganizationDoc, ProjectDoc, SpaceDoc
from .store.objects import StoredObject, find_by_name, get_object, insert_object, list_objects

if TYPE_CHECKING:
    from starlette.applications import Starlette

    from .runner.scheduler import Runner

__all__ = ["DATABASE_FILE", "DEFAULT_SPACE_NAME", "Engine"]

logger = logging.getLogger("arize_skills.engine")

DATABASE_FILE = "engine.sqlite3"
DEFAULT_SPACE_NAME = "default"
DEFAULT_ORGANIZATION_NAME = "local"
DEFAULT_PROJECT_NAME = "default"


class Engine:
    """A local AX-compatible engine over one SQLite store.

    Use ``Engine.open(home)`` as an async context manager; ``engine.app`` is its ASGI app and
    ``engine.transport()`` an httpx2 transport that calls the app in-process, so
    ``AsyncArizeClient(transport=engine.transport())`` talks to it with no socket.

    Parameters:
        store: the open store.
        clock: returns the current time (tests pass a fixed clock).
        token: when set, every ``/v2`` and ``/v1`` request must carry ``Authorization: Bearer <token>``.
        home: the directory of the store (``None`` in memory); one process at a time executes its task runs.

    ``engine.runner`` executes task runs; ``Engine.open(home, runner=True)`` (the served engine) runs it in the
    background, otherwise runs wait until someone calls ``await engine.runner.run_until_idle()``. Only the process
    holding the home's runner lock (``claim_runner``) executes runs; elsewhere they stay PENDING for the holder.

    ``engine.default_space_id`` is the global ID of the default space (known once ``start`` ran, as ``open`` does).
    ``engine.credentials_secret`` is what an in-process caller presents to read integration credentials: made at
    random for each engine, kept in memory only, never stored, logged or served, so no network client has it.
    """

    def __init__(
        self,
        store: Store,
        *,
        clock: Callable[[], datetime] = utcnow,
        token: str | None = None,
        home: Path | None = None,
    ) -> None:
        self.store = store
        self.clock = clock
        self.token = token
        self.home = home
        self.runner_holder: RunnerHolder | None = None
        """Who executes this home's task runs when another process does (else ``None``)."""
        self._runner_lock: RunnerLock | None = None
        self.organization_num = 0
        self.space_num = 0
        self.credentials_secret = secrets.token_urlsafe(32)
        """What an in-process caller presents (header ``ENGINE_SECRET_HEADER``) to read integration credentials."""
        self._app: Starlette | None = None
        self._runner: Runner | None = None

    @classmethod
    @asynccontextmanager
    async def open(
        cls,
        home: Path | str | None = None,
        *,
        clock: Callable[[], datetime] = utcnow,
        token: str | None = None,
        runner: bool = False,
        runner_lock: RunnerLock | None = None,
    ) -> AsyncIterator[Engine]:
        """Open (creating if needed) the engine whose state lives in ``home``; ``None`` keeps it in memory.

        With ``runner=True`` the task runner serves in the background (pending runs, continuous schedules) until
        the block ends; a run still going then is left for ``Runner.recover`` at the next open. When another
        process holds the home's runner lock, this engine serves without executing runs (``runner_holder`` says
        who does) and takes the lock over if that process ends. ``runner_lock``: the lock the caller already took
        for ``home`` (``engine serve``, which refuses to start without it); the engine releases it at the end.
        """
        if home is None:
            path: Path | str = ":memory:"
        else:
            private_home(home)
            path = Path(home) / DATABASE_FILE
        store = Store(path)
        engine = cls(store, clock=clock, token=token, home=None if home is None else Path(home))
        engine._runner_lock = runner_lock
        try:
            await engine.start()
            if runner:
                engine.claim_runner()
                async with anyio.create_task_group() as group:
                    group.start_soon(engine.runner.serve)
                    try:
                        yield engine
                    finally:
                        group.cancel_scope.cancel()
            else:
                yield engine
        finally:
            await engine.stop()
            store.close()
            if engine._runner_lock is not None:
                engine._runner_lock.release()

    async def start(self) -> None:
        """Create the default organization and space on first start, and remember them."""
        now = self.now()

        def ensure(conn: sqlite3.Connection) -> tuple[int, int]:
            org = find_by_name(conn, "Organization", DEFAULT_ORGANIZATION_NAME)
            if org is None:
                org = insert_object(
                    conn, "Organization", name=DEFAULT_ORGANIZATION_NAME, body=OrganizationDoc().to_body(), now=now
                )
            space = find_by_name(conn, "Space", DEFAULT_SPACE_NAME, parent_num=org.num)
            if space is None:
                doc = SpaceDoc(description="Created by the local engine on first start.", is_private=False)
                body = doc.to_body()
                space = insert_object(conn, "Space", name=DEFAULT_SPACE_NAME, body=body, now=now, parent_num=org.num)
                conn.execute("UPDATE objects SET space_num = ? WHERE num = ?", (space.num, space.num))
            return org.num, space.num

        self.organization_num, self.space_num = await self.store.write(ensure)

    @property
    def default_space_id(self) -> str:
        """The global ID of the default space (the one ``start`` creates).

        Raises:
            RuntimeError: the engine has not started yet.
        """
        if not self.space_num:
            raise RuntimeError("the engine has not started: open it with Engine.open (or call start) first")
        return encode_id("Space", self.space_num)

    async def stop(self) -> None:
        """Stop background work (close the runner's provider clients); the store is closed by ``open``'s caller."""
        if self._runner is not None:
            await self._runner.aclose()

    def claim_runner(self) -> bool:
        """Whether this engine may execute task runs: it holds its home's runner lock, taking it now if it is free.

        An in-memory engine always may. When another process holds the lock, ``runner_holder`` names it.
        """
        if self.home is None or (self._runner_lock is not None and self._runner_lock.held):
            return True
        taken = RunnerLock.acquire(self.home)
        if isinstance(taken, RunnerHolder):
            if self.runner_holder is None:
                logger.warning(
                    "another process executes the task runs of %s (%s); this one leaves runs to it",
                    self.home,
                    taken.describe(),
                )
            self.runner_holder = taken
            return False
        if self.runner_holder is not None:
            logger.warning("the process that executed the task runs of %s ended; this one executes them now", self.home)
        self._runner_lock, self.runner_holder = taken, None
        return True

    @property
    def runner(self) -> Runner:
        """The task runner of this engine (made on first use with default settings)."""
        if self._runner is None:
            # Imported on first use: a process that only lists tools never loads the runner and its providers.
            from .runner.scheduler import Runner

            self._runner = Runner(self)
        return self._runner

    @runner.setter
    def runner(self, value: Runner) -> None:
        self._runner = value

    def now(self) -> str:
        """The current time as stored: ISO 8601, UTC, milliseconds, ``Z``."""
        return iso(self.clock())

    @property
    def app(self) -> Starlette:
        """The engine's ASGI app (built once)."""
        if self._app is None:
            from .api.app import create_app

            self._app = create_app(self)
        return self._app

    def serve_app(self, app: Starlette) -> None:
        """Make ``app`` (the served app whose lifespan opened this engine) the engine's app."""
        self._app = app

    def transport(self) -> httpx2.ASGITransport:
        """An httpx2 transport that serves requests from ``self.app`` in-process."""
        # The app answers unexpected errors with a 500 problem; the transport must not re-raise them as well.
        return httpx2.ASGITransport(app=self.app, raise_app_exceptions=False)

    def space_scope(self, conn: sqlite3.Connection, space_id: str | None, space_name: str | None) -> list[int] | None:
        """Turn AX's ``space_id`` / ``space_name`` list parameters into space numbers (``None``: every space).

        ``space_id`` must name an existing space (404 otherwise); ``space_name`` is a case-insensitive substring.
        """
        if space_id is not None:
            return [self.require_space(conn, space_id).num]
        if space_name is not None:
            spaces, _ = list_objects(conn, "Space", limit=10_000, name_contains=space_name)
            return [s.num for s in spaces]
        return None

    def require_space(self, conn: sqlite3.Connection, space_id: str) -> StoredObject:
        """Load a space by global ID or raise a 404 problem."""
        decoded = decode_id(space_id)
        space = get_object(conn, "Space", decoded.number) if decoded and decoded.type_name == "Space" else None
        if space is None:
            raise ProblemError(404, f"space '{space_id}' was not found")
        return space

    def default_project(self, conn: sqlite3.Connection, name: str = DEFAULT_PROJECT_NAME) -> StoredObject:
        """The project of this name in the default space, created if missing (used by trace ingest)."""
        project = find_by_name(conn, "Model", name, space_num=self.space_num)
        if project is None:
            body = ProjectDoc(project_type="APPLICATION").to_body()
            project = insert_object(conn, "Model", name=name, body=body, now=self.now(), space_num=self.space_num)
        return project
