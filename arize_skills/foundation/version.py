"""The package version, defined once here (``arize_skills.__version__`` re-exports it).

``pyproject.toml`` and the MCPB manifests carry the same string; ``tests/test_packaging.py`` checks they agree.
"""

from __future__ import annotations

__all__ = ["__version__"]

__version__ = "0.1.0"
