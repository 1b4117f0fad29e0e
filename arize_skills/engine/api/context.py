"""What a route may use of the engine serving it: ``engine_of(request)``, typed by the ``EngineContext`` protocol.

The engine (``arize_skills.engine.Engine``) satisfies the protocol; the API layer never imports it, so the layers
below the engine's entry do not depend on it.
"""

from __future__ import annotations

import sqlite3
from collections.abc import Callable
from datetime import datetime
from typing import Protocol

from starlette.requests import Request

from ..store.db import Store
from ..store.objects import StoredObject

__all__ = ["EngineContext", "RunControl", "engine_of"]


class RunControl(Protocol):
    """What routes ask of the task runner."""

    def notify(self) -> None:
        """Wake the runner: a run was triggered."""
        ...

    def request_cancel(self, run_num: int) -> None:
        """Stop the workers of a run being cancelled."""
        ...


class EngineContext(Protocol):
    """The engine as routes see it: its store, clock, token, default organization and space, its runner, and the
    in-memory secret an in-process caller presents to read integration credentials (``credentials_secret``)."""

    store: Store
    clock: Callable[[], datetime]
    token: str | None
    organization_num: int
    space_num: int
    credentials_secret: str

    @property
    def runner(self) -> RunControl:
        """The task runner."""
        ...

    def now(self) -> str:
        """The current time as stored (ISO 8601, UTC, milliseconds, ``Z``)."""
        ...

    def space_scope(self, conn: sqlite3.Connection, space_id: str | None, space_name: str | None) -> list[int] | None:
        """AX's ``space_id`` / ``space_name`` list parameters as space numbers (``None``: every space)."""
        ...

    def require_space(self, conn: sqlite3.Connection, space_id: str) -> StoredObject:
        """A space by global ID, or a 404 problem."""
        ...

    def default_project(self, conn: sqlite3.Connection, name: str = ...) -> StoredObject:
        """The project of this name in the default space, created if missing."""
        ...


def engine_of(request: Request) -> EngineContext:
    """The engine serving this request."""
    engine: EngineContext = request.app.state.engine
    return engine
