"""Files shipped with the MCP server that stand in for answers the MCP SDK would give, and their one reader.

``tools_listing.json`` is ``tools/list`` as a host receives it (``listing.py`` serves it until the tools are
registered); ``stdio_handshake.json`` is the SDK's ``initialize`` answer but for the version and instructions
(``stdio_front.py``). Tests keep both equal to the SDK's own answers. Importing this module imports no SDK.
"""

from __future__ import annotations

import functools
import json
from pathlib import Path
from typing import Any

__all__ = ["HANDSHAKE_FILE", "LISTING_FILE", "read_shipped"]

LISTING_FILE = Path(__file__).with_name("tools_listing.json")
HANDSHAKE_FILE = Path(__file__).with_name("stdio_handshake.json")


@functools.cache
def read_shipped(path: Path) -> Any:
    """The JSON of a shipped file, read once per process.

    Raises:
        OSError, ValueError: the file is missing or not JSON.
    """
    return json.loads(path.read_text(encoding="utf-8"))
