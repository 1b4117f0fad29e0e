"""The engine's SQLite store: one connection, one writer, WAL, forward-only migrations.

Every access runs in a worker thread behind one lock, so the event loop never blocks on disk and writes are
serialised. ``write`` wraps its function in ``BEGIN IMMEDIATE … COMMIT`` and rolls back on any exception, which
is how "a rejected request writes nothing" holds for every route.
"""

from __future__ import annotations

import sqlite3
from collections.abc import Callable
from pathlib import Path
from typing import TypeVar

import anyio
import anyio.to_thread

from .migrations import apply_migrations

__all__ = ["Store"]

T = TypeVar("T")


class Store:
    """An open SQLite database file (or ``:memory:``) with the engine schema applied."""

    def __init__(self, path: Path | str) -> None:
        self.path = str(path)
        self._conn = sqlite3.connect(self.path, check_same_thread=False, isolation_level=None)
        self._conn.row_factory = sqlite3.Row
        self._conn.execute("PRAGMA journal_mode=WAL")
        self._conn.execute("PRAGMA synchronous=NORMAL")
        self._conn.execute("PRAGMA foreign_keys=ON")
        self._conn.execute("PRAGMA busy_timeout=5000")
        self._lock = anyio.Lock()
        apply_migrations(self._conn)

    async def read(self, fn: Callable[[sqlite3.Connection], T]) -> T:
        """Run ``fn(conn)`` in a worker thread; use it for queries that write nothing."""
        async with self._lock:
            return await anyio.to_thread.run_sync(fn, self._conn)

    async def write(self, fn: Callable[[sqlite3.Connection], T]) -> T:
        """Run ``fn(conn)`` in one transaction; any exception rolls the whole of it back and propagates."""

        def run() -> T:
            self._conn.execute("BEGIN IMMEDIATE")
            try:
                result = fn(self._conn)
            except BaseException:
                self._conn.execute("ROLLBACK")
                raise
            self._conn.execute("COMMIT")
            return result

        async with self._lock:
            return await anyio.to_thread.run_sync(run)

    def close(self) -> None:
        """Close the connection (a checkpoint of the WAL happens on close)."""
        self._conn.close()
