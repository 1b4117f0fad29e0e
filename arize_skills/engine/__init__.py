"""The local AX-compatible engine: the same ``/v2`` API as Arize AX, over SQLite, on any machine.

This package's entry is all that code outside the engine uses: ``Engine`` (open one, in-process or served),
``create_served_app`` (what ``engine serve`` runs) and the home's runner lock. The layers inside (``store``,
``query``, ``ingest``, ``api``, ``runner``) are described in docs/ARCHITECTURE.md.
"""

from .engine import DATABASE_FILE, Engine
from .runner.lock import RunnerHolder, RunnerLock
from .serve import create_served_app
from .store.db import private_home

__all__ = ["DATABASE_FILE", "Engine", "RunnerHolder", "RunnerLock", "create_served_app", "private_home"]
