"""``AsyncArizeClient``: the one client every part of arize-skills talks through."""

from __future__ import annotations

import platform
from collections.abc import Awaitable, Callable
from functools import cached_property
from types import TracebackType
from typing import Any, Protocol

import anyio
import httpx2

from ..foundation.endpoints import api_base_url
from ..foundation.version import __version__
from ._http import HttpCore, RetryPolicy
from ._resolve import Resolver
from .resources.ai_integrations import AiIntegrations
from .resources.annotation_configs import AnnotationConfigs
from .resources.annotation_queues import AnnotationQueues
from .resources.datasets import Datasets
from .resources.evaluators import Evaluators
from .resources.experiments import Experiments
from .resources.organizations import Organizations
from .resources.projects import Projects
from .resources.prompts import Prompts
from .resources.spaces import Spaces
from .resources.spans import Spans
from .resources.tags import Tags
from .resources.tasks import Tasks
from .resources.traces import Traces

__all__ = ["DEFAULT_TIMEOUT", "AsyncArizeClient", "ClientSettings"]

DEFAULT_TIMEOUT = httpx2.Timeout(60.0, connect=5.0)
LOCAL_BASE_URL = "http://arize-skills.local"


class ClientSettings(Protocol):
    """What ``AsyncArizeClient.from_settings`` reads of resolved settings (``arize_skills.settings.Settings``).

    A protocol, so that the client knows nothing of how settings are resolved.
    """

    @property
    def backend(self) -> str: ...

    @property
    def base_url(self) -> str | None: ...

    @property
    def api_key(self) -> str | None: ...

    @property
    def space(self) -> str | None: ...


class AsyncArizeClient:
    """An async client for the Arize AX REST API v2 and the local AX-compatible engine.

    Three ways to build one::

        AsyncArizeClient(api_key="...", space="my-space")            # Arize AX (api.arize.com)
        AsyncArizeClient(base_url="http://127.0.0.1:8765")           # a local engine on loopback
        AsyncArizeClient(transport=engine.transport())               # the engine in-process, no socket
        AsyncArizeClient.from_settings(Settings.resolve())           # whatever the environment says

    Parameters:
        api_key: sent as ``Authorization: Bearer <key>``; never logged, never put in an exception or ``repr``.
        base_url: the API root (without ``/v2``). Default: computed from ``region`` / ``single_host`` /
            ``base_domain`` as the official SDK does, else ``https://api.arize.com``.
        space: the default space (name or ID) for name resolution and creates.
        transport: an httpx2 transport (``ASGITransport`` for the in-process engine, ``MockTransport`` in tests).
        timeout: seconds or an ``httpx2.Timeout``; default 60 s with a 5 s connect timeout.
        max_retries: retries of a retryable failure (see ``client._http``); ``retry`` overrides the whole policy.
        sleep: the coroutine used to wait between retries (tests pass one that records instead of sleeping).
    """

    def __init__(
        self,
        *,
        api_key: str | None = None,
        base_url: str | None = None,
        space: str | None = None,
        region: str | None = None,
        single_host: str | None = None,
        single_port: int | None = None,
        base_domain: str | None = None,
        transport: httpx2.AsyncBaseTransport | None = None,
        timeout: float | httpx2.Timeout = DEFAULT_TIMEOUT,
        max_retries: int = 2,
        retry: RetryPolicy | None = None,
        sleep: Callable[[float], Awaitable[None]] = anyio.sleep,
    ) -> None:
        if base_url is None:
            if transport is not None and not (region or single_host or single_port or base_domain):
                base_url = LOCAL_BASE_URL
            else:
                base_url = api_base_url(
                    region=region, single_host=single_host, single_port=single_port, base_domain=base_domain
                )
        # The spec names its server ".../v2" while every path here starts with /v2: accept the base either way.
        self.base_url = base_url.rstrip("/").removesuffix("/v2")
        self.space = space
        self._has_api_key = bool(api_key)
        headers = {
            "Accept": "application/json",
            "User-Agent": f"arize-skills/{__version__}",
            "sdk-language": "python",
            "language-version": platform.python_version(),
            "sdk-version": __version__,
            "sdk-package-name": "arize-skills",
        }
        if api_key:
            headers["Authorization"] = f"Bearer {api_key}"
        self._http = httpx2.AsyncClient(base_url=self.base_url, headers=headers, timeout=timeout, transport=transport)
        self._core = HttpCore(self._http, retry=retry or RetryPolicy(max_retries=max_retries), sleep=sleep)
        self.resolve = Resolver(self)

    @classmethod
    def from_settings(
        cls, settings: ClientSettings, *, transport: httpx2.AsyncBaseTransport | None = None
    ) -> AsyncArizeClient:
        """A client for resolved settings; an ``embedded`` backend needs the engine's ``transport``."""
        if settings.backend == "embedded" and transport is None:
            raise ValueError("the embedded backend needs transport=engine.transport()")
        return cls(api_key=settings.api_key, base_url=settings.base_url, space=settings.space, transport=transport)

    def __repr__(self) -> str:
        return f"AsyncArizeClient(base_url={self.base_url!r}, space={self.space!r}, has_api_key={self._has_api_key})"

    @property
    def has_api_key(self) -> bool:
        """Whether requests carry an API key (the key itself is never exposed)."""
        return self._has_api_key

    async def aclose(self) -> None:
        """Close the underlying HTTP connections."""
        await self._http.aclose()

    async def __aenter__(self) -> AsyncArizeClient:
        return self

    async def __aexit__(
        self, exc_type: type[BaseException] | None, exc: BaseException | None, tb: TracebackType | None
    ) -> None:
        await self.aclose()

    async def request(self, method: str, path: str, **kwargs: Any) -> Any:
        """Send a raw request to any API path (with retries and error mapping); returns the JSON body."""
        return await self._core.request(method, path, **kwargs)

    @cached_property
    def organizations(self) -> Organizations:
        """``/v2/organizations``."""
        return Organizations(self)

    @cached_property
    def spaces(self) -> Spaces:
        """``/v2/spaces``."""
        return Spaces(self)

    @cached_property
    def projects(self) -> Projects:
        """``/v2/projects``."""
        return Projects(self)

    @cached_property
    def datasets(self) -> Datasets:
        """``/v2/datasets``: datasets, versions and examples."""
        return Datasets(self)

    @cached_property
    def experiments(self) -> Experiments:
        """``/v2/experiments``: experiments and their runs."""
        return Experiments(self)

    @cached_property
    def spans(self) -> Spans:
        """``/v2/spans``: list, delete, annotate."""
        return Spans(self)

    @cached_property
    def traces(self) -> Traces:
        """``/v2/traces``."""
        return Traces(self)

    @cached_property
    def tasks(self) -> Tasks:
        """``/v2/tasks`` and ``/v2/task-runs``: tasks, triggers, runs, cancel, ``wait_for_run``."""
        return Tasks(self)

    @cached_property
    def evaluators(self) -> Evaluators:
        """``/v2/evaluators``: evaluators, versions and the judge template catalogue."""
        return Evaluators(self)

    @cached_property
    def ai_integrations(self) -> AiIntegrations:
        """``/v2/ai-integrations``: LLM provider access (the key is write-only)."""
        return AiIntegrations(self)

    @cached_property
    def annotation_configs(self) -> AnnotationConfigs:
        """``/v2/annotation-configs``."""
        return AnnotationConfigs(self)

    @cached_property
    def annotation_queues(self) -> AnnotationQueues:
        """``/v2/annotation-queues``: records for people to label, and their labels."""
        return AnnotationQueues(self)

    @cached_property
    def prompts(self) -> Prompts:
        """``/v2/prompts`` and ``/v2/prompt-versions``: versioned prompts, labels and tags."""
        return Prompts(self)

    @cached_property
    def tags(self) -> Tags:
        """``/v2/tags``: a space's tags."""
        return Tags(self)
