"""The local AX-compatible engine: the same ``/v2`` API as Arize AX, over SQLite, on any machine."""

from .core import Engine

__all__ = ["Engine"]
