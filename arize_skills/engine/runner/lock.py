"""One home, one runner: the lock a process holds on ``<home>/runner.lock`` while it executes task runs.

Two processes executing the runs of one home would judge the same records twice, and the second one's start-up
recovery (``Runner.recover``) would take over runs the first one is still executing. So the process that runs
tasks holds an exclusive ``flock`` on the home's lock file for as long as it runs them. The OS releases the lock
when that process ends, however it ends: a crashed holder's lock is free at once, with no stale pid to guess about.
The holder writes its pid, URL and start time into the file, so that a second process can say who holds the home.

The lock belongs to one open file description: a second engine in the same process does not hold it either. The
descriptor is not inherited (PEP 446), so a subprocess the runner starts never keeps a dead holder's lock. On
Windows a byte past the holder's note is locked with ``msvcrt.locking`` instead, which the OS also releases.
"""

from __future__ import annotations

import json
import os
import sys
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from ...models._base import iso, utcnow
from ..store.db import private_home

__all__ = ["LOCK_FILE", "RunnerHolder", "RunnerLock"]

LOCK_FILE = "runner.lock"
NOTE_BYTES = 4096
"""The most of the holder's note that is read; on Windows the lock is the byte after it."""

if sys.platform == "win32":
    import msvcrt

    def _try_lock(fd: int) -> bool:
        os.lseek(fd, NOTE_BYTES, os.SEEK_SET)
        try:
            msvcrt.locking(fd, msvcrt.LK_NBLCK, 1)
        except OSError:
            return False
        return True

else:
    import fcntl

    def _try_lock(fd: int) -> bool:
        try:
            fcntl.flock(fd, fcntl.LOCK_EX | fcntl.LOCK_NB)
        except BlockingIOError:
            return False
        return True


@dataclass(frozen=True)
class RunnerHolder:
    """Who holds a home's runner lock, as the holder wrote it (each part ``None`` when it is not known).

    Attributes:
        pid: the holder's process ID.
        url: where the holder serves the engine over HTTP (``None`` for an engine embedded in another program).
        started: when it took the lock (ISO 8601, UTC).
    """

    pid: int | None = None
    url: str | None = None
    started: str | None = None

    def describe(self) -> str:
        """The holder in words, for a message: ``pid 123, serving http://127.0.0.1:8765, since …``."""
        parts = [f"pid {self.pid}" if self.pid is not None else "pid unknown"]
        parts.append(f"serving {self.url}" if self.url else "embedded, no HTTP port")
        if self.started:
            parts.append(f"since {self.started}")
        return ", ".join(parts)


def _read_holder(fd: int) -> RunnerHolder:
    try:
        os.lseek(fd, 0, os.SEEK_SET)
        data: Any = json.loads(os.read(fd, NOTE_BYTES) or b"{}")
    except (OSError, ValueError):
        # The holder may be between truncating the file and writing it.
        return RunnerHolder()
    if not isinstance(data, dict):
        return RunnerHolder()
    pid, url, started = data.get("pid"), data.get("url"), data.get("started")
    return RunnerHolder(
        pid=pid if isinstance(pid, int) else None,
        url=url if isinstance(url, str) else None,
        started=started if isinstance(started, str) else None,
    )


class RunnerLock:
    """The runner lock of one home, held by this process until ``release`` (or until the process ends).

    Use ``RunnerLock.acquire(home)``; it returns the lock, or the ``RunnerHolder`` of the process that has it.
    """

    def __init__(self, path: Path, fd: int) -> None:
        self.path = path
        self._fd: int | None = fd

    @classmethod
    def acquire(cls, home: Path | str, *, url: str | None = None) -> RunnerLock | RunnerHolder:
        """Take the runner lock of ``home`` (created if missing) without waiting, writing this process's pid,
        ``url`` and the time into it.

        Returns:
            The lock, or who holds it when another process (or another engine in this one) does.

        Raises:
            OSError: the lock file cannot be created or opened (say the home is not writable).
        """
        private_home(home)
        path = Path(home) / LOCK_FILE
        fd = os.open(path, os.O_RDWR | os.O_CREAT, 0o600)
        try:
            if not _try_lock(fd):
                holder = _read_holder(fd)
                os.close(fd)
                return holder
            note = json.dumps({"pid": os.getpid(), "url": url, "started": iso(utcnow())}).encode()
            os.ftruncate(fd, 0)
            os.lseek(fd, 0, os.SEEK_SET)
            os.write(fd, note[:NOTE_BYTES])
        except BaseException:
            os.close(fd)
            raise
        return cls(path, fd)

    @property
    def held(self) -> bool:
        """Whether this process still holds the lock."""
        return self._fd is not None

    def release(self) -> None:
        """Let the lock go (idempotent). The file stays: removing it would race with a process taking it."""
        if self._fd is not None:
            fd, self._fd = self._fd, None
            os.close(fd)
