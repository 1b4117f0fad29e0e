"""The engine's SQLite store: one connection, one writer, WAL, forward-only migrations; and its private home.

Every access runs in a worker thread behind one lock, so the event loop never blocks on disk and writes are
serialised. ``write`` wraps its function in ``BEGIN IMMEDIATE … COMMIT`` and rolls back on any exception, which
is how "a rejected request writes nothing" holds for every route.

The database holds provider API keys in plain text, so the home is private: ``private_home`` creates it (and any
missing parent) 0700 and tightens an existing one, and every file in it, to owner-only, saying so in the log. The
database file is created 0600; SQLite gives the ``-wal`` and ``-shm`` files it makes later (at any time, e.g. after
a checkpoint or restart) the database file's mode, so they are 0600 too, whatever the umask.
"""

from __future__ import annotations

import hashlib
import logging
import os
import sqlite3
import stat
from collections.abc import Callable, Iterator, Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import TypeVar

import anyio
import anyio.to_thread

from ...foundation.chunks import chunked
from .migrations import apply_migrations

__all__ = ["SQL_CHUNK", "HomePrivacy", "Store", "private_home", "sample_fraction", "sql_chunks"]

T = TypeVar("T")

logger = logging.getLogger("arize_skills.engine")

SQL_CHUNK = 500
"""The most values a statement binds when it names many rows (``IN (?, ?, …)``): SQLite caps bound parameters."""

PRIVATE_FOLDER_MODE = 0o700
PRIVATE_FILE_MODE = 0o600
_OTHERS = 0o077


@dataclass(frozen=True)
class HomePrivacy:
    """What ``private_home`` did: ``tightened`` says what it changed, ``problem`` what it could not and ``fix`` how."""

    tightened: str | None = None
    problem: str | None = None
    fix: str | None = None


def private_home(home: Path | str) -> HomePrivacy:
    """Create ``home`` (and missing parents) 0700, or take group and other access off it and off each file in it.

    Files keep their owner's bits (``0644`` becomes ``0600``, ``0755`` ``0700``); sub-folders are left alone, since
    nobody else can enter the home. Each change, and a change that fails, is logged as a warning.

    Raises:
        OSError: ``home`` cannot be created (say a parent is a file or not writable).
    """
    home = Path(home)
    missing: list[Path] = []
    folder = home
    while not folder.exists() and folder != folder.parent:
        missing.append(folder)
        folder = folder.parent
    for folder in reversed(missing):
        folder.mkdir(mode=PRIVATE_FOLDER_MODE, exist_ok=True)
    if os.name != "posix":
        return HomePrivacy()
    changes: list[str] = []
    try:
        was = stat.S_IMODE(home.stat().st_mode)
        if was & _OTHERS:
            home.chmod(PRIVATE_FOLDER_MODE)
            changes.append(f"the folder was {was:04o}, now {PRIVATE_FOLDER_MODE:04o}")
        loose: list[str] = []
        with os.scandir(home) as entries:
            for entry in entries:
                if not entry.is_file(follow_symlinks=False):
                    continue
                mode = stat.S_IMODE(entry.stat(follow_symlinks=False).st_mode)
                if mode & _OTHERS:
                    os.chmod(entry.path, mode & ~_OTHERS)
                    loose.append(entry.name)
        if loose:
            changes.append(f"now owner-only: {', '.join(sorted(loose))}")
    except OSError as exc:
        problem = f"could not make the engine home {home} private ({exc.strerror or exc}); it holds provider API keys"
        fix = f"run `chmod 700 {home}` and `chmod 600` on the files in it, or use a home you own (--home)"
        logger.warning("%s: %s", problem, fix)
        return HomePrivacy(problem=problem, fix=fix)
    if not changes:
        return HomePrivacy()
    tightened = f"made the engine home {home} private, as it holds provider API keys: {'; '.join(changes)}"
    logger.warning("%s", tightened)
    return HomePrivacy(tightened=tightened)


class Store:
    """An open SQLite database file (or ``:memory:``) with the engine schema applied."""

    def __init__(self, path: Path | str) -> None:
        self.path = str(path)
        if self.path != ":memory:":
            # Created owner-only before SQLite opens it: the -wal and -shm files copy this mode.
            os.close(os.open(self.path, os.O_RDWR | os.O_CREAT, PRIVATE_FILE_MODE))
        self._conn = sqlite3.connect(self.path, check_same_thread=False, isolation_level=None)
        self._conn.row_factory = sqlite3.Row
        self._conn.execute("PRAGMA journal_mode=WAL")
        self._conn.execute("PRAGMA synchronous=NORMAL")
        self._conn.execute("PRAGMA foreign_keys=ON")
        self._conn.execute("PRAGMA busy_timeout=5000")
        self._conn.create_function("arize_sample", 1, sample_fraction, deterministic=True)
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


def sql_chunks(values: Sequence[T]) -> Iterator[list[T]]:
    """``values`` in lists of at most ``SQL_CHUNK``, one statement each."""
    for chunk in chunked(values, SQL_CHUNK):
        yield list(chunk)


def sample_fraction(value: str | None) -> float:
    """Where a record ID falls in [0, 1): the deterministic hash that ``sampling_rate`` is compared with. The store's
    connection offers it to SQL as ``arize_sample(id)``."""
    digest = hashlib.sha256(str(value).encode()).digest()
    return int.from_bytes(digest[:8], "big") / 2**64
