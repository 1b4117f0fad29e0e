"""What the task runner needs of the engine it runs in: its store, its clock, and whether it may execute runs."""

from __future__ import annotations

from collections.abc import Callable
from datetime import datetime
from typing import Protocol

from ..store.db import Store

__all__ = ["RunnerHost"]


class RunnerHost(Protocol):
    """The engine as the runner sees it (``arize_skills.engine.Engine`` is one)."""

    store: Store
    clock: Callable[[], datetime]

    def now(self) -> str:
        """The current time as stored (ISO 8601, UTC, milliseconds, ``Z``)."""
        ...

    def claim_runner(self) -> bool:
        """Whether this process may execute the home's task runs (it holds, or just took, the runner lock)."""
        ...
