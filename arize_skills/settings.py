"""Where arize-skills finds its backend: one resolution order, written down once.

Order, first match wins:

1. explicit arguments (``Settings.resolve(api_key=..., base_url=...)``, CLI flags);
2. environment variables — the names the official ``arize`` SDK and the ``ax`` CLI use (``ARIZE_API_KEY``,
   ``ARIZE_SPACE_ID``, ``ARIZE_SPACE`` (a space name), ``ARIZE_REGION``, ``ARIZE_SINGLE_HOST`` /
   ``ARIZE_SINGLE_PORT``, ``ARIZE_API_HOST`` / ``ARIZE_API_SCHEME`` / ``ARIZE_API_PORT``, ``ARIZE_BASE_DOMAIN``)
   and our own ``ARIZE_SKILLS_ENGINE_URL`` (a running local engine) and ``ARIZE_SKILLS_HOME`` (engine state);
3. the active ``ax`` CLI profile under ``~/.arize/`` (see ``arize_skills.profile``), read only when no key came
   from 1 or 2 and no ``ARIZE_SKILLS_ENGINE_URL`` is set; its routing applies unless 1 or 2 chose the endpoint;
4. the embedded local engine, in-process, with its state under ``~/.arize-skills``.

Two settings that choose the endpoint in different ways (``ARIZE_REGION`` and ``ARIZE_SINGLE_HOST``, or
``ARIZE_SKILLS_ENGINE_URL`` and any AX endpoint variable) are a ``ConfigError``, not a silent choice. A key given
with ``ARIZE_SKILLS_ENGINE_URL`` is sent to that engine as its bearer token (``engine serve --token-env``).

``Settings.sources`` records which of these gave each value; ``describe()`` reports them without the key.
"""

from __future__ import annotations

import os
from collections.abc import Mapping
from dataclasses import dataclass, field
from pathlib import Path
from typing import Literal
from urllib.parse import urlsplit

from .errors import ConfigError
from .foundation.endpoints import DEFAULT_API_HOST, REGION_ALIASES, REGIONS, api_base_url
from .profile import load_active_profile

__all__ = [
    "DEFAULT_API_HOST",
    "REGIONS",
    "REGION_ALIASES",
    "Backend",
    "Settings",
    "api_base_url",
    "default_home",
]

Backend = Literal["ax", "engine-url", "embedded"]

_ENDPOINT_FIELDS = ("api_host", "api_scheme", "api_port", "region", "single_host", "single_port", "base_domain")


def default_home(environ: Mapping[str, str] | None = None) -> Path:
    """Where the embedded engine keeps its state: ``ARIZE_SKILLS_HOME`` or ``~/.arize-skills``."""
    env = os.environ if environ is None else environ
    value = (env.get("ARIZE_SKILLS_HOME") or "").strip()
    if value.startswith("${user_config."):
        value = ""
    return Path(value).expanduser() if value else Path.home() / ".arize-skills"


def _http_url(value: str, name: str) -> str:
    url = value.strip().rstrip("/")
    parts = urlsplit(url)
    if parts.scheme not in ("http", "https") or not parts.netloc:
        raise ConfigError(f"{name} must be an http:// or https:// URL, got {value!r}")
    return url


@dataclass
class Settings:
    """The resolved backend settings; build it with ``Settings.resolve()``.

    ``backend`` is ``"ax"`` (an API key is set: Arize AX or any AX-compatible URL), ``"engine-url"`` (a running
    local engine at ``base_url``; ``api_key``, if set, is its bearer token) or ``"embedded"`` (the local engine
    in-process, state in ``home``).
    """

    backend: Backend
    base_url: str | None
    api_key: str | None = field(default=None, repr=False)
    space_id: str | None = None
    space_name: str | None = None
    home: Path = field(default_factory=default_home)
    sources: dict[str, str] = field(default_factory=dict)

    @property
    def space(self) -> str | None:
        """The configured space, as an ID if one is known, else as a name."""
        return self.space_id or self.space_name

    @classmethod
    def resolve(
        cls,
        *,
        api_key: str | None = None,
        base_url: str | None = None,
        space: str | None = None,
        home: Path | str | None = None,
        environ: Mapping[str, str] | None = None,
        profile_dir: Path | None = None,
    ) -> Settings:
        """Resolve settings from explicit arguments, the environment, the ``ax`` profile, then the local default.

        Raises:
            ConfigError: the environment asks for conflicting endpoints, or a value is malformed.
        """
        env = os.environ if environ is None else environ
        sources: dict[str, str] = {}

        def env_value(name: str) -> str | None:
            # As the SDK does: surrounding whitespace is dropped and an empty value counts as unset. An MCPB host
            # passes an optional option the user left empty as the literal text "${user_config.KEY}": unset too.
            value = (env.get(name) or "").strip()
            if value.startswith("${user_config.") and value.endswith("}"):
                return None
            return value or None

        def pick(name: str, explicit: str | None, *env_names: str) -> str | None:
            if explicit:
                sources[name] = "argument"
                return explicit
            for env_name in env_names:
                value = env_value(env_name)
                if value is not None:
                    sources[name] = f"env {env_name}"
                    return value
            return None

        key = pick("api_key", api_key, "ARIZE_API_KEY")
        space_value = pick("space", space, "ARIZE_SPACE_ID", "ARIZE_SPACE")
        home_path = Path(home).expanduser() if home else default_home(env)
        sources["home"] = (
            "argument" if home else ("env ARIZE_SKILLS_HOME" if env_value("ARIZE_SKILLS_HOME") else "default")
        )

        endpoint_env = {name: env_value(f"ARIZE_{name.upper()}") for name in _ENDPOINT_FIELDS}
        # A port of 0 is the SDK's "not set", so it alone does not point anywhere.
        endpoint_set = [k for k, v in endpoint_env.items() if v and not (k.endswith("_port") and v == "0")]
        engine_url = env_value("ARIZE_SKILLS_ENGINE_URL")

        url: str | None = None
        from_engine_url = False
        if base_url:
            url = _http_url(base_url, "base_url")
            sources["base_url"] = "argument"
        elif engine_url is not None:
            if endpoint_set:
                names = ", ".join(f"ARIZE_{k.upper()}" for k in endpoint_set)
                raise ConfigError(
                    f"ARIZE_SKILLS_ENGINE_URL and {names} both choose the API endpoint; unset one of them"
                )
            url = _http_url(engine_url, "ARIZE_SKILLS_ENGINE_URL")
            sources["base_url"] = "env ARIZE_SKILLS_ENGINE_URL"
            from_engine_url = True
        elif endpoint_set:
            url = api_base_url(**endpoint_env)
            sources["base_url"] = "env " + ", ".join(f"ARIZE_{k.upper()}" for k in endpoint_set)

        if key is None and not from_engine_url:
            profile = load_active_profile(profile_dir)
            if profile is not None:
                key = profile.api_key
                sources["api_key"] = f"ax profile {profile.name}"
                if url is None:
                    url = profile.base_url
                    sources["base_url"] = f"ax profile {profile.name}"

        if from_engine_url:
            # A key set alongside a running engine's URL is that engine's bearer token (engine serve --token-env).
            return cls._with_space("engine-url", url, key, space_value, home_path, sources)
        if key is not None:
            if url is None:
                url = api_base_url()
                sources["base_url"] = "default (Arize AX)"
            return cls._with_space("ax", url, key, space_value, home_path, sources)
        if url is not None:
            return cls._with_space("engine-url", url, None, space_value, home_path, sources)
        sources["base_url"] = "embedded local engine"
        return cls._with_space("embedded", None, None, space_value, home_path, sources)

    @classmethod
    def _with_space(
        cls,
        backend: Backend,
        url: str | None,
        key: str | None,
        space: str | None,
        home: Path,
        sources: dict[str, str],
    ) -> Settings:
        from .models.ids import is_resource_id

        if space and is_resource_id(space):
            return cls(backend, url, key, space_id=space, home=home, sources=sources)
        return cls(backend, url, key, space_name=space, home=home, sources=sources)

    def describe(self) -> dict[str, str | bool | None]:
        """What was resolved and from where, safe to show: the key appears only as ``has_api_key``."""
        return {
            "backend": self.backend,
            "base_url": self.base_url,
            "has_api_key": self.api_key is not None,
            "space_id": self.space_id,
            "space_name": self.space_name,
            "home": str(self.home),
            **{f"source.{k}": v for k, v in self.sources.items()},
        }
