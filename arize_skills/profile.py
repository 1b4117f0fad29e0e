"""Read the active ``ax`` CLI profile, so a user who already set up ``ax`` needs nothing more.

The ``ax`` CLI (``arize-ax-cli``, ``ax/config/manager.py`` and ``schema.py``) keeps profiles as TOML files in
``~/.arize/profiles/<name>.toml`` and the active profile's name in ``~/.arize/.active_profile``. What we read:

* ``[auth]``: ``auth_method = "api-key"`` with ``api_key``, or ``auth_method = "oauth"`` with the tokens in
  ``[auth.oauth]`` (``access_token``, ``expires_at``); profiles written before ``auth_method`` existed are
  inferred from whichever of the two is present, as ``ax`` does.
* ``[routing]``: ``region`` (or ``US``/``CA``/``EU``), ``single_host``/``single_port``, ``base_domain``,
  ``api_host``/``api_scheme``.

A profile has no default space: the space comes from ``ARIZE_SPACE_ID`` / ``ARIZE_SPACE`` or each call. String
values may reference ``${VAR}`` or ``${VAR:default}``, expanded as ``ax`` expands them.

``ax`` refreshes an OAuth access token that expires within 60 seconds; we cannot, so such a token (and a logged
out profile) is a ``ConfigError`` telling the user how to refresh it, never a silent switch to another backend.
"""

from __future__ import annotations

import os
import re
import tomllib
from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any, Literal

from .errors import ConfigError
from .foundation.endpoints import api_base_url

__all__ = ["AxProfile", "default_profile_dir", "load_active_profile"]

# The ax CLI's own pattern: a variable name is anything up to ':' or '}'.
_ENV_REF = re.compile(r"\$\{([^}:]+)(?::([^}]*))?\}")
_REFRESH_WINDOW = timedelta(seconds=60)
_ROUTING_FIELDS = ("api_host", "api_scheme", "region", "single_host", "single_port", "base_domain")


@dataclass
class AxProfile:
    """The parts of an ``ax`` profile that arize-skills uses: its name, credential and API base URL."""

    name: str
    auth_method: Literal["api-key", "oauth"]
    api_key: str = field(repr=False)
    base_url: str


def default_profile_dir() -> Path:
    """``~/.arize``, where the ``ax`` CLI keeps its profiles."""
    return Path.home() / ".arize"


def _expand(value: Any, path: Path) -> Any:
    if isinstance(value, dict):
        return {k: _expand(v, path) for k, v in value.items()}
    if not isinstance(value, str):
        return value

    def replace(match: re.Match[str]) -> str:
        env_value = os.environ.get(match.group(1))
        if env_value is not None:
            return env_value
        if match.group(2) is not None:
            return match.group(2)
        raise ConfigError(
            f"the ax profile {path} references ${{{match.group(1)}}}, which is not set: "
            f"set {match.group(1)} or edit the profile"
        )

    return _ENV_REF.sub(replace, value)


def _expiry(value: Any, name: str) -> datetime:
    if isinstance(value, str):
        try:
            value = datetime.fromisoformat(value.strip())
        except ValueError:
            value = None
    if not isinstance(value, datetime):
        raise ConfigError(f"ax profile '{name}': auth.oauth.expires_at is not a date and time; run `ax auth login`")
    return value if value.tzinfo else value.replace(tzinfo=UTC)


def _credential(auth: dict[str, Any], name: str) -> tuple[Literal["api-key", "oauth"], str]:
    method = auth.get("auth_method") or ("api-key" if auth.get("api_key") else "oauth" if auth.get("oauth") else "")
    if method == "api-key":
        key = str(auth.get("api_key") or "").strip()
        if not key:
            raise ConfigError(f"ax profile '{name}' uses an API key but its auth.api_key is empty")
        return "api-key", key
    if method == "oauth":
        oauth = auth.get("oauth") or {}
        token = str(oauth.get("access_token") or "").strip()
        if not token:
            raise ConfigError(
                f"ax profile '{name}' is logged out: run `ax auth login`, or set ARIZE_API_KEY to use an API key"
            )
        expires = _expiry(oauth.get("expires_at"), name)
        if expires - datetime.now(UTC) <= _REFRESH_WINDOW:
            raise ConfigError(
                f"the OAuth access token of ax profile '{name}' expired at {expires.isoformat()}: run any `ax` "
                "command (for example `ax spaces list`) to refresh it, or `ax auth login`; or set ARIZE_API_KEY"
            )
        return "oauth", token
    raise ConfigError(
        f"ax profile '{name}' has no credentials: set auth.api_key or run `ax auth login` (auth_method {method!r})"
    )


def load_active_profile(directory: Path | None = None) -> AxProfile | None:
    """The active ``ax`` profile, or ``None`` when no profile is active or its file is gone.

    Raises:
        ConfigError: the profile cannot be read or parsed, references an unset variable, has conflicting
            routing, is logged out, or holds an OAuth token that has expired (or will within a minute).
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
        raw = tomllib.loads(path.read_text())
    except (OSError, UnicodeDecodeError, tomllib.TOMLDecodeError) as exc:
        raise ConfigError(f"cannot read ax profile {path}: {exc}") from None
    data = _expand(raw, path)
    auth = data.get("auth")
    if not isinstance(auth, dict):
        raise ConfigError(f"ax profile {path} has no [auth] table: run `ax profiles create`")
    method, credential = _credential(auth, name)
    routing = data.get("routing") or {}
    endpoint = {k: str(routing[k]) for k in _ROUTING_FIELDS if routing.get(k) not in (None, "")}
    try:
        base_url = api_base_url(**endpoint)
    except ConfigError as exc:
        raise ConfigError(f"ax profile {path}: {exc}") from None
    return AxProfile(name=name, auth_method=method, api_key=credential, base_url=base_url)
