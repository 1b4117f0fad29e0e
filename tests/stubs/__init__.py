"""Stub servers that stand in for external services in tests and benchmarks (loopback only).

``from tests.stubs import serve_stub, Failure, ...`` re-exports ``tests.stubs.llm_server`` lazily, so that
``python -m tests.stubs.llm_server`` does not import the module twice.
"""

from __future__ import annotations

import importlib
from typing import Any

__all__ = ["Failure", "Raw", "RecordedRequest", "Reply", "StubServer", "Text", "ToolUse", "serve_stub"]


def __getattr__(name: str) -> Any:
    if name in __all__:
        return getattr(importlib.import_module(".llm_server", __name__), name)
    raise AttributeError(f"module {__name__!r} has no attribute {name!r}")
