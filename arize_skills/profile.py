"""Read the active ``ax`` CLI profile, so a user who already set up ``ax`` needs nothing more.

The ``ax`` CLI keeps profiles as TOML files in ``~/.arize/profiles/<name>.toml`` and the active profile's name
in ``~/.arize/.active_profile``. A profile has an ``[auth]`` table (``api_key``, or OAuth tokens under
``[auth.oauth]``) and a ``[routing]`` table (``region``, ``single_host``/``single_port``, ``base_domain``,
``api_host``/``api_scheme``). String values may reference ``${VAR}`` or ``${VAR:default}``.
"""

from __future__ import annotations

import os
import re
import tomllib
from dataclasses import dataclass, field
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

from .errors import ConfigError
from .settings import api_base_url

__all__ = ["AxProfile", "default_profile_dir", "load_active_profile"]

_ENV_REF = re.compile(r"\$\{([A-Za-z_][A-Za-z0-9_]*)(?::([^}]*))?\}")


@dataclass
class AxProfile:
    """The parts of an ``ax`` profile that arize-skills uses."""

    name: str
    api_key: str | None = field(default=None, repr=False)
    base_url: str | None = None
    space: str | None = None


def default_profile_dir() -> Path:
    """``~/.arize``, where the ``ax`` CLI keeps its profiles."""
    return Path.home() / ".arize"


def _expand(value: Any) -> Any:
    if isinstance(value, dict):
        return {k: _expand(v) for k, v in value.items()}
    if not isinstance(value, str):
        return value

    def replace(match: re.Match[str]) -> str:
        env_value = os.environ.get(match.group(1))
        if env_value is not None:
            return env_value
        if match.group(2) is not None:
            return match.group(2)
        raise ConfigError(f"the ax profile references ${{{match.group(1)}}}, which is not set")

    return _ENV_REF.sub(replace, value)


def load_active_profile(directory: Path | None = None) -> AxProfile | None:
    """The active ``ax`` profile, or ``None`` when there is none.

    An OAuth profile contributes its access token while it has not expired.

    Raises:
        ConfigError: the profile file exists but cannot be read or parsed, or references an unset variable.
    """
    root = directory or default_profile_dir()
    marker = root / ".active_profile"
    try:
        name = marker.read_text().strip() if marker.is_file() else ""
    except OSError as exc:
        raise ConfigError(f"cannot read {marker}: {exc.strerror}") from None
    if not name:
        return None
    path = root / "profiles" / f"{name}.toml"
    if not path.is_file():
        return None
    try:
        data = _expand(tomllib.loads(path.read_text()))
    except (OSError, tomllib.TOMLDecodeError) as exc:
        raise ConfigError(f"cannot read ax profile {path}: {exc}") from None
    auth = data.get("auth") or {}
    key = auth.get("api_key") or None
    oauth = auth.get("oauth") or {}
    if key is None and oauth.get("access_token"):
        expires = oauth.get("expires_at")
        if isinstance(expires, str):
            expires = datetime.fromisoformat(expires)
        if isinstance(expires, datetime) and expires.replace(tzinfo=expires.tzinfo or UTC) > datetime.now(UTC):
            key = oauth["access_token"]
    routing = data.get("routing") or {}
    endpoint = {
        k: routing.get(k) or None
        for k in ("api_host", "api_scheme", "region", "single_host", "single_port", "base_domain")
    }
    base_url = api_base_url(**endpoint) if any(endpoint.values()) else None
    space = (data.get("defaults") or {}).get("space") or None
    return AxProfile(name=name, api_key=key, base_url=base_url, space=space)
