"""LLM providers: one ``LlmClient`` per AI integration, speaking one of three wire protocols.

* ``openai`` — chat completions (``POST {base_url}/chat/completions``, ``Authorization: Bearer``) for
  ``OPEN_AI`` and every OpenAI-compatible server: ``CUSTOM`` (vLLM, Ollama, LM Studio; ``base_url`` required),
  ``LITELLM`` (a LiteLLM proxy; ``base_url`` required), ``FIREWORKS``, ``TOGETHER_AI``, ``NVIDIA_NIM``.
* ``azure`` — Azure OpenAI deployments
  (``{endpoint}/openai/deployments/{deployment}/chat/completions?api-version=...``, ``api-key`` header), endpoint,
  deployment and version from ``provider_parameters.azure_params`` (endpoint falls back to ``base_url``, the
  deployment to the model name).
* ``anthropic`` — messages (``POST {base_url}/v1/messages``, ``x-api-key``, ``anthropic-version``,
  ``anthropic-beta``).

AX ``invocation_parameters`` are mapped to each protocol; settings a protocol has no equivalent for are dropped.

Every call waits for a slot of the client's ``CapacityLimiter``, then tries up to ``max_retries + 1`` times, each
attempt bounded by ``timeout`` (default: ``ARIZE_SKILLS_PROVIDER_TIMEOUT`` seconds, else 60; AX integrations have
no timeout field). 408, 429, 5xx (and Anthropic's 529), timeouts and connection failures are retried,
honouring ``Retry-After``/``retry-after-ms`` (capped), else with exponential backoff and jitter; 401/403 fail at
once as ``auth``, other 4xx as ``bad_request``, and a 200 whose body cannot be used as ``bad_response``. No error
text or log line carries the API key or a credential header: a provider that echoes one back is redacted.

Calls go over ``evals/http11.py``'s keep-alive HTTP/1.1 pool (a judge's per-call cost is mostly the HTTP client's
own CPU, and httpx2's connection pool spent several times the work of the exchange itself). A client given an
httpx2 ``transport`` (tests), or whose provider the environment routes through a proxy (``HTTPS_PROXY`` and the
like, which the pool does not support), uses an ``httpx2.AsyncClient`` instead, with the same retries and errors.
A request the pool cannot send at all (a header with a line break, a URL that is not http or https) fails at once
as ``bad_request``.
"""

from __future__ import annotations

import json
import logging
import os
import re
import time
from collections.abc import Awaitable, Callable, Iterable, Mapping
from dataclasses import dataclass, field
from typing import Any, Literal, Protocol

import anyio
import anyio.lowlevel
import httpx2

from ..errors import ProviderError, ProviderErrorKind
from ..foundation.redact import redact, secrets_of
from ..foundation.retry import RetryPolicy, retry_after_seconds
from ..foundation.version import __version__
from .http11 import HttpConnectionError, HttpPool, HttpRequestError, uses_proxy

__all__ = [
    "ChatMessage",
    "ChatRequest",
    "ChatResult",
    "DEFAULT_PROVIDER_TIMEOUT",
    "PROVIDER_TIMEOUT_ENV",
    "LlmClient",
    "ProviderConfig",
    "ProviderError",
    "ProviderKind",
    "ToolCall",
    "ToolSpec",
    "protocol_of",
    "provider_timeout",
]

logger = logging.getLogger("arize_skills.evals.providers")

ProviderKind = Literal["openai", "azure", "anthropic"]
"""The wire protocol an integration speaks."""

_PROTOCOLS: dict[str, ProviderKind] = {
    "OPEN_AI": "openai",
    "CUSTOM": "openai",
    "LITELLM": "openai",
    "FIREWORKS": "openai",
    "TOGETHER_AI": "openai",
    "NVIDIA_NIM": "openai",
    "AZURE_OPEN_AI": "azure",
    "ANTHROPIC": "anthropic",
}
_DEFAULT_BASE_URLS = {
    "OPEN_AI": "https://api.openai.com/v1",
    "FIREWORKS": "https://api.fireworks.ai/inference/v1",
    "TOGETHER_AI": "https://api.together.xyz/v1",
    "NVIDIA_NIM": "https://integrate.api.nvidia.com/v1",
    "ANTHROPIC": "https://api.anthropic.com",
}
_NOT_LOCAL = {
    "AWS_BEDROCK": "AWS Bedrock needs AWS request signing",
    "VERTEX_AI": "Vertex AI needs Google Cloud credentials",
    "GEMINI": "Gemini's native API is not one of the supported protocols",
}
DEFAULT_AZURE_API_VERSION = "2024-10-21"
DEFAULT_ANTHROPIC_VERSION = "2023-06-01"
DEFAULT_ANTHROPIC_MAX_TOKENS = 1024
RETRYABLE_STATUSES = frozenset({408, 429, 500, 502, 503, 504, 529})
PROVIDER_TIMEOUT_ENV = "ARIZE_SKILLS_PROVIDER_TIMEOUT"
DEFAULT_PROVIDER_TIMEOUT = 60.0
_MESSAGE_LIMIT = 300
# Request bodies are built here from plain dicts and lists, never cyclic: skipping the cycle check is a quarter of
# the encoding time.
_BODY_ENCODER = json.JSONEncoder(check_circular=False)


@dataclass(frozen=True)
class ProviderConfig:
    """How to reach one AI integration's provider.

    ``provider`` is the AX enum (``OPEN_AI``, ``AZURE_OPEN_AI``, ``ANTHROPIC``, ``CUSTOM``, ``LITELLM``,
    ``FIREWORKS``, ``TOGETHER_AI``, ``NVIDIA_NIM``...); ``headers`` are the integration's extra headers (sent
    as-is); ``provider_parameters`` holds ``azure_params``, ``anthropic_version`` and ``anthropic_headers``.
    """

    provider: str
    api_key: str | None = field(default=None, repr=False)
    base_url: str | None = None
    headers: Mapping[str, str] = field(default_factory=dict)
    provider_parameters: Mapping[str, Any] = field(default_factory=dict)
    function_calling_enabled: bool = True


@dataclass(frozen=True)
class ToolCall:
    """A function call the model made: its tool ``name`` and parsed JSON ``arguments`` (always an object)."""

    name: str
    arguments: Mapping[str, Any]
    id: str | None = None


@dataclass
class ChatMessage:
    """One chat turn; an assistant turn may carry ``tool_calls``, a tool turn answers ``tool_call_id``."""

    role: Literal["system", "user", "assistant", "tool"]
    content: str | None = None
    tool_calls: list[ToolCall] = field(default_factory=list)
    tool_call_id: str | None = None


@dataclass(frozen=True)
class ToolSpec:
    """A function the model may call: ``parameters`` is a JSON schema of type object."""

    name: str
    description: str
    parameters: Mapping[str, Any]


@dataclass
class ChatRequest:
    """A provider-neutral chat completion request.

    ``invocation_parameters`` is the AX request form (temperature, max_tokens, top_p, stop...), mapped to each
    protocol and dropped where the protocol has no such setting; ``tool_choice`` names a tool the model must call
    (``None`` lets the model choose).
    """

    model: str
    messages: list[ChatMessage]
    invocation_parameters: Mapping[str, Any] = field(default_factory=dict)
    tools: list[ToolSpec] = field(default_factory=list)
    tool_choice: str | None = None


@dataclass
class ChatResult:
    """What the model answered, with token usage (``None`` when the provider did not say).

    ``latency_ms`` is the duration of the attempt that succeeded (waiting for a slot and earlier failed attempts
    are not counted).
    """

    text: str | None
    tool_calls: list[ToolCall]
    prompt_tokens: int | None
    completion_tokens: int | None
    latency_ms: float
    model: str | None = None


def protocol_of(provider: str) -> ProviderKind:
    """Return the wire protocol for an AX provider enum value (case-insensitive).

    Raises:
        ProviderError: ``bad_request`` for providers the local engine cannot call (``AWS_BEDROCK``,
            ``VERTEX_AI``, ``GEMINI``) and for values that are not AX providers.
    """
    key = provider.strip().upper()
    if key in _PROTOCOLS:
        return _PROTOCOLS[key]
    supported = ", ".join(sorted(_PROTOCOLS))
    if key in _NOT_LOCAL:
        raise ProviderError(
            f"AI integration provider {key} cannot be called by the local engine ({_NOT_LOCAL[key]}); use an "
            f"integration with one of {supported} (any OpenAI-compatible server works as CUSTOM with a base_url)",
            kind="bad_request",
        )
    raise ProviderError(
        f"unknown AI integration provider {provider!r}; expected one of {supported}", kind="bad_request"
    )


def provider_timeout(environ: Mapping[str, str] | None = None) -> float:
    """Seconds one provider attempt may take: ``ARIZE_SKILLS_PROVIDER_TIMEOUT`` if set, else 60.

    Raises:
        ValueError: the variable is set to something other than a positive, finite number of seconds.
    """
    raw = ((os.environ if environ is None else environ).get(PROVIDER_TIMEOUT_ENV) or "").strip()
    if not raw:
        return DEFAULT_PROVIDER_TIMEOUT
    try:
        seconds = float(raw)
    except ValueError:
        seconds = 0.0
    if not 0 < seconds < float("inf"):
        raise ValueError(
            f"{PROVIDER_TIMEOUT_ENV} must be a positive number of seconds, got {raw[:40]!r}; "
            f"fix it or unset it (default {DEFAULT_PROVIDER_TIMEOUT:g})"
        )
    return seconds


class _Reply(Protocol):
    """What ``LlmClient`` reads of a response: an ``http11.HttpResponse`` or an ``httpx2.Response``."""

    @property
    def status_code(self) -> int: ...

    @property
    def reason_phrase(self) -> str: ...

    @property
    def headers(self) -> Mapping[str, str]: ...

    @property
    def text(self) -> str: ...

    def json(self) -> Any: ...


class LlmClient:
    """One per AI integration: its own keep-alive HTTP connections, a CapacityLimiter (bounded concurrency),
    per-call timeout, retries on 429/5xx/timeouts/connection honouring Retry-After (injectable sleep).

    A configuration the client cannot use (a provider not callable locally, a missing ``base_url`` or Azure
    deployment) does not fail here: every ``complete`` raises the same ``ProviderError(bad_request)`` naming the
    integration field to fix.
    """

    def __init__(
        self,
        config: ProviderConfig,
        *,
        concurrency: int = 8,
        timeout: float | None = None,
        max_retries: int = 3,
        sleep: Callable[[float], Awaitable[None]] = anyio.sleep,
        transport: httpx2.AsyncBaseTransport | None = None,
    ) -> None:
        if concurrency < 1:
            raise ValueError("concurrency must be at least 1")
        setting_error: ProviderError | None = None
        if timeout is None:
            # A bad engine-wide setting fails each call with the fix, rather than the runner that builds clients.
            try:
                timeout = provider_timeout()
            except ValueError as exc:
                setting_error = ProviderError(str(exc), kind="bad_request")
                timeout = DEFAULT_PROVIDER_TIMEOUT
        if timeout <= 0:
            raise ValueError("timeout must be positive")
        self.config = config
        self.concurrency = concurrency
        self.timeout = timeout
        self.max_retries = max(0, max_retries)
        # Wider jitter than the AX client's: up to ``concurrency`` judge calls hit one rate limit together, and
        # spreading their retries keeps them from all coming back in the same instant.
        self._retry = RetryPolicy(max_retries=self.max_retries, jitter=0.5)
        self._sleep = sleep
        self._limiter = anyio.CapacityLimiter(concurrency)
        self._secrets = secrets_of(config.api_key, config.headers)
        self._protocol: _Protocol | None = None
        self._setup_error: ProviderError | None = None
        try:
            self._protocol = _protocol_for(config)
        except ProviderError as exc:
            self._setup_error = exc
        if setting_error is not None:
            self._protocol, self._setup_error = None, setting_error
        self._headers: dict[str, str] = {}
        self._header_items: list[tuple[str, str]] = []
        self._where_of: dict[str, str] = {}
        self._http: httpx2.AsyncClient | None = None
        self._pool: HttpPool | None = None
        if self._protocol is not None:
            self._headers = self._protocol.headers()
            self._header_items = list(self._headers.items())
        if transport is not None or (self._protocol is not None and _proxied(self._protocol.base_url)):
            self._http = httpx2.AsyncClient(
                transport=transport,
                timeout=httpx2.Timeout(timeout),
                limits=httpx2.Limits(max_connections=concurrency, max_keepalive_connections=concurrency),
            )
        else:
            self._pool = HttpPool(max_idle=concurrency)

    async def __aenter__(self) -> LlmClient:
        return self

    async def __aexit__(self, *exc_info: object) -> None:
        await self.aclose()

    @property
    def supports_function_calling(self) -> bool:
        """Whether tool calls may be requested: the integration's ``function_calling_enabled`` flag (all three
        protocols support tools)."""
        return self.config.function_calling_enabled

    async def complete(self, request: ChatRequest) -> ChatResult:
        """Send one chat request (waiting for a concurrency slot) and return the answer.

        Raises:
            ProviderError: once retries are exhausted (``rate_limit``, ``server``, ``timeout``, ``connection``),
                or at once for ``auth``, ``bad_request`` and ``bad_response``.
        """
        protocol = self._protocol
        if protocol is None:
            setup = self._setup_error
            raise ProviderError(setup.message if setup else "no protocol for this provider", kind="bad_request")
        if request.tools and not self.config.function_calling_enabled:
            raise ProviderError(
                "this AI integration has function_calling_enabled set to false; send the request without tools "
                "(or enable function calling on the integration)",
                kind="bad_request",
            )
        if request.tool_choice is not None and request.tool_choice not in {t.name for t in request.tools}:
            raise ProviderError(
                f"tool_choice names {request.tool_choice!r}, which is not one of the request's tools",
                kind="bad_request",
            )
        url = protocol.url(request)
        body = protocol.body(request)
        await anyio.lowlevel.checkpoint_if_cancelled()
        limiter = self._limiter
        # A free slot is taken without the yield to the loop that ``async with`` makes even when nobody waits
        # (one loop pass per call); a busy limiter is waited for, in turn, as before.
        try:
            limiter.acquire_nowait()
        except anyio.WouldBlock:
            await limiter.acquire()
        try:
            return await self._send(protocol, url, body)
        finally:
            limiter.release()

    async def aclose(self) -> None:
        """Close the underlying HTTP connections."""
        if self._pool is not None:
            await self._pool.aclose()
        if self._http is not None:
            await self._http.aclose()

    async def _post(self, url: str, content: bytes) -> _Reply:
        if self._pool is not None:
            # A chat call changes nothing on the provider, so it is safe to send again when a kept-alive
            # connection turns out to have been closed by the server (the retries below repeat it anyway).
            return await self._pool.request(
                "POST", url, headers=self._header_items, content=content, timeout=self.timeout, replayable=True
            )
        assert self._http is not None
        with anyio.fail_after(self.timeout):
            return await self._http.post(url, content=content, headers=self._headers)

    def _where(self, protocol: _Protocol, url: str) -> str:
        where = self._where_of.get(url)
        if where is None:
            if len(self._where_of) > 64:
                self._where_of.clear()
            where = self._where_of[url] = f"{protocol.label} at {_display_url(url)}"
        return where

    async def _send(self, protocol: _Protocol, url: str, body: dict[str, Any]) -> ChatResult:
        content = _BODY_ENCODER.encode(body).encode()
        where = self._where(protocol, url)
        attempts = self.max_retries + 1
        for attempt in range(1, attempts + 1):
            started = time.perf_counter()
            try:
                response = await self._post(url, content)
            except (TimeoutError, httpx2.TimeoutException):
                error = ProviderError(
                    self._clean(f"{where} did not answer within {self.timeout:g}s"), kind="timeout", retryable=True
                )
            except HttpRequestError as exc:
                message = self._clean(f"cannot send a request to {where}: {exc}")
                raise ProviderError(message, kind="bad_request") from None
            except HttpConnectionError as exc:
                error = ProviderError(
                    self._clean(f"could not reach {where} ({exc})"), kind="connection", retryable=True
                )
            except httpx2.TransportError as exc:
                reason = f"{type(exc).__name__}: {exc}" if str(exc) else type(exc).__name__
                error = ProviderError(
                    self._clean(f"could not reach {where} ({reason})"), kind="connection", retryable=True
                )
            else:
                latency_ms = (time.perf_counter() - started) * 1000
                if response.status_code < 300:
                    logger.debug("%s -> %d in %.0f ms", where, response.status_code, latency_ms)
                    return self._result(protocol, response, where, latency_ms)
                error = self._status_error(protocol, response, where)
            if not error.retryable or attempt == attempts:
                if attempts > 1 and error.retryable:
                    error = ProviderError(
                        f"{error.message} (gave up after {attempts} attempts)",
                        kind=error.kind,
                        status=error.status,
                        retryable=True,
                        retry_after=error.retry_after,
                    )
                raise error
            wait = self._retry.delay(attempt, error.retry_after)
            logger.info("%s: %s; retry %d of %d in %.2fs", where, error.kind, attempt, self.max_retries, wait)
            await self._sleep(wait)
        raise AssertionError("unreachable: the loop returns or raises")

    def _result(self, protocol: _Protocol, response: _Reply, where: str, latency_ms: float) -> ChatResult:
        try:
            payload = response.json()
        except (json.JSONDecodeError, UnicodeDecodeError):
            raise ProviderError(
                self._clean(
                    f"{where} answered {response.status_code} with a body that is not JSON: {_trim(response.text)!r}"
                ),
                kind="bad_response",
                status=response.status_code,
            ) from None
        try:
            result = protocol.parse(payload)
        except _Unusable as exc:
            raise ProviderError(
                self._clean(f"{where} answered {response.status_code} with an unusable body: {exc}"),
                kind="bad_response",
                status=response.status_code,
            ) from None
        result.latency_ms = latency_ms
        return result

    def _status_error(self, protocol: _Protocol, response: _Reply, where: str) -> ProviderError:
        status = response.status_code
        detail = _provider_message(response)
        head = f"{where} answered {status} {response.reason_phrase}".rstrip()
        text = f"{head}: {_trim(detail)}" if detail else head
        kind: ProviderErrorKind
        if status in (401, 403):
            kind = "auth"
            text += f"; check the AI integration's API key ({protocol.key_hint})"
        elif status == 429:
            kind = "rate_limit"
        elif status == 408:
            kind = "timeout"
        elif status >= 500:
            kind = "server"
        else:
            kind = "bad_request"
        retry_after = retry_after_seconds(response.headers) if status in RETRYABLE_STATUSES else None
        return ProviderError(
            self._clean(text),
            kind=kind,
            status=status,
            retryable=status in RETRYABLE_STATUSES,
            retry_after=retry_after,
        )

    def _clean(self, text: str) -> str:
        return redact(text, self._secrets)


class _Unusable(Exception):
    """A 2xx body that does not hold what the protocol promises."""


class _Protocol:
    """How one wire protocol builds URLs, headers and bodies and reads answers."""

    label = ""
    key_hint = ""

    def __init__(self, config: ProviderConfig, base_url: str) -> None:
        self.config = config
        self.base_url = base_url.rstrip("/")

    def url(self, request: ChatRequest) -> str:
        raise NotImplementedError

    def headers(self) -> dict[str, str]:
        raise NotImplementedError

    def body(self, request: ChatRequest) -> dict[str, Any]:
        raise NotImplementedError

    def parse(self, payload: Any) -> ChatResult:
        raise NotImplementedError

    def _with_integration_headers(self, own: dict[str, str]) -> dict[str, str]:
        headers = {
            "content-type": "application/json",
            "accept": "application/json",
            "user-agent": f"arize-skills/{__version__}",
        }
        headers.update(own)
        # Lower-cased so that an integration header replaces ours instead of being sent next to it.
        headers.update({str(k).lower(): str(v) for k, v in self.config.headers.items()})
        return headers


class _OpenAIProtocol(_Protocol):
    label = "OpenAI chat completions"
    key_hint = "sent as Authorization: Bearer"

    def url(self, request: ChatRequest) -> str:
        return f"{self.base_url}/chat/completions"

    def headers(self) -> dict[str, str]:
        own = {"authorization": f"Bearer {self.config.api_key}"} if self.config.api_key else {}
        return self._with_integration_headers(own)

    def body(self, request: ChatRequest) -> dict[str, Any]:
        body: dict[str, Any] = {"model": request.model, "messages": [_openai_message(m) for m in request.messages]}
        body.update(self._parameters(request.invocation_parameters))
        if request.tools:
            body["tools"] = [
                {
                    "type": "function",
                    "function": {"name": t.name, "description": t.description, "parameters": dict(t.parameters)},
                }
                for t in request.tools
            ]
            if request.tool_choice is not None:
                body["tool_choice"] = {"type": "function", "function": {"name": request.tool_choice}}
        return body

    def _parameters(self, params: Mapping[str, Any]) -> dict[str, Any]:
        out: dict[str, Any] = {}
        for name in ("temperature", "top_p", "frequency_penalty", "presence_penalty", "reasoning_effort", "verbosity"):
            if params.get(name) is not None:
                out[name] = params[name]
        max_tokens, max_completion = params.get("max_tokens"), params.get("max_completion_tokens")
        if max_tokens is not None and max_completion is not None:
            # Both given: OpenAI's own API wants the newer name, compatible servers mostly know only the older.
            if self.prefers_max_completion_tokens:
                out["max_completion_tokens"] = max_completion
            else:
                out["max_tokens"] = max_tokens
        elif max_completion is not None:
            out["max_completion_tokens"] = max_completion
        elif max_tokens is not None:
            out["max_tokens"] = max_tokens
        stop = _stop_list(params.get("stop"))
        if stop:
            out["stop"] = stop
        response_format = _openai_response_format(params.get("response_format"))
        if response_format is not None:
            out["response_format"] = response_format
        return out

    @property
    def prefers_max_completion_tokens(self) -> bool:
        return self.config.provider.strip().upper() in ("OPEN_AI", "AZURE_OPEN_AI")

    def parse(self, payload: Any) -> ChatResult:
        if not isinstance(payload, Mapping):
            raise _Unusable("expected a JSON object")
        choices = payload.get("choices")
        if not isinstance(choices, list) or not choices or not isinstance(choices[0], Mapping):
            raise _Unusable(f"no choices in the answer ({_trim(json.dumps(payload))})")
        message = choices[0].get("message")
        if not isinstance(message, Mapping):
            raise _Unusable("the first choice has no message")
        calls = [_openai_tool_call(c) for c in message.get("tool_calls") or []]
        legacy = message.get("function_call")
        if not calls and isinstance(legacy, Mapping):
            calls.append(_openai_tool_call({"function": legacy}))
        usage = _mapping(payload.get("usage"))
        return ChatResult(
            text=_openai_text(message.get("content")),
            tool_calls=calls,
            prompt_tokens=_int_or_none(usage.get("prompt_tokens")),
            completion_tokens=_int_or_none(usage.get("completion_tokens")),
            latency_ms=0.0,
            model=payload.get("model") if isinstance(payload.get("model"), str) else None,
        )


class _AzureProtocol(_OpenAIProtocol):
    label = "Azure OpenAI chat completions"
    key_hint = "sent as the api-key header"

    def __init__(self, config: ProviderConfig, base_url: str, deployment: str | None, api_version: str) -> None:
        super().__init__(config, base_url)
        self.deployment = deployment
        self.api_version = api_version

    def url(self, request: ChatRequest) -> str:
        deployment = self.deployment or request.model
        if not deployment:
            raise ProviderError(
                "Azure OpenAI needs a deployment: set provider_parameters.azure_params.azure_deployment_name "
                "(or a model_name equal to the deployment name)",
                kind="bad_request",
            )
        base = self.base_url
        if base.endswith("/openai"):
            base = base[: -len("/openai")]
        return f"{base}/openai/deployments/{deployment}/chat/completions?api-version={self.api_version}"

    def headers(self) -> dict[str, str]:
        own = {"api-key": self.config.api_key} if self.config.api_key else {}
        return self._with_integration_headers(own)

    def body(self, request: ChatRequest) -> dict[str, Any]:
        body = super().body(request)
        # The deployment in the URL picks the model; Azure ignores or rejects a model in the body.
        body.pop("model", None)
        return body


class _AnthropicProtocol(_Protocol):
    label = "Anthropic messages"
    key_hint = "sent as the x-api-key header"

    def url(self, request: ChatRequest) -> str:
        base = self.base_url
        return f"{base}/messages" if base.endswith("/v1") else f"{base}/v1/messages"

    def headers(self) -> dict[str, str]:
        params = self.config.provider_parameters
        version = params.get("anthropic_version") or DEFAULT_ANTHROPIC_VERSION
        own = {"anthropic-version": str(version)}
        if self.config.api_key:
            own["x-api-key"] = self.config.api_key
        beta_holder = params.get("anthropic_headers")
        beta = beta_holder.get("anthropic_beta") if isinstance(beta_holder, Mapping) else None
        if isinstance(beta, str) and beta:
            own["anthropic-beta"] = beta
        elif isinstance(beta, list) and beta:
            own["anthropic-beta"] = ",".join(str(b) for b in beta)
        return self._with_integration_headers(own)

    def body(self, request: ChatRequest) -> dict[str, Any]:
        params = request.invocation_parameters
        system = "\n\n".join(m.content for m in request.messages if m.role == "system" and m.content)
        max_tokens = params.get("max_tokens") or params.get("max_completion_tokens")
        body: dict[str, Any] = {"model": request.model, "messages": _anthropic_messages(request.messages)}
        if system:
            body["system"] = system
        budget = _int_or_none(params.get("thinking_budget"))
        # Anthropic refuses extended thinking together with a forced tool or changed sampling settings.
        if budget is not None and budget > 0 and request.tool_choice is None:
            body["thinking"] = {"type": "enabled", "budget_tokens": budget}
            # max_tokens counts the thinking too and must exceed the budget.
            answer = max_tokens or DEFAULT_ANTHROPIC_MAX_TOKENS
            body["max_tokens"] = answer if answer > budget else budget + answer
        else:
            body["max_tokens"] = max_tokens or DEFAULT_ANTHROPIC_MAX_TOKENS
            for name in ("temperature", "top_p", "top_k"):
                if params.get(name) is not None:
                    body[name] = params[name]
        stop = _stop_list(params.get("stop"))
        if stop:
            body["stop_sequences"] = stop
        if request.tools:
            body["tools"] = [
                {"name": t.name, "description": t.description, "input_schema": dict(t.parameters)}
                for t in request.tools
            ]
            if request.tool_choice is not None:
                body["tool_choice"] = {"type": "tool", "name": request.tool_choice}
        return body

    def parse(self, payload: Any) -> ChatResult:
        if not isinstance(payload, Mapping):
            raise _Unusable("expected a JSON object")
        blocks = payload.get("content")
        if not isinstance(blocks, list):
            raise _Unusable(f"no content blocks in the answer ({_trim(json.dumps(payload))})")
        texts: list[str] = []
        calls: list[ToolCall] = []
        for block in blocks:
            if not isinstance(block, Mapping):
                raise _Unusable("a content block is not an object")
            if block.get("type") == "text" and isinstance(block.get("text"), str):
                texts.append(block["text"])
            elif block.get("type") == "tool_use":
                name, arguments = block.get("name"), block.get("input")
                if not isinstance(name, str) or not isinstance(arguments, Mapping):
                    raise _Unusable("a tool_use block lacks its name or an object input")
                call_id = block.get("id")
                calls.append(
                    ToolCall(name=name, arguments=dict(arguments), id=call_id if isinstance(call_id, str) else None)
                )
        usage = _mapping(payload.get("usage"))
        prompt_parts = [
            _int_or_none(usage.get(k))
            for k in ("input_tokens", "cache_creation_input_tokens", "cache_read_input_tokens")
        ]
        known = [p for p in prompt_parts if p is not None]
        return ChatResult(
            text="".join(texts) if texts else None,
            tool_calls=calls,
            prompt_tokens=sum(known) if known else None,
            completion_tokens=_int_or_none(usage.get("output_tokens")),
            latency_ms=0.0,
            model=payload.get("model") if isinstance(payload.get("model"), str) else None,
        )


def _protocol_for(config: ProviderConfig) -> _Protocol:
    kind = protocol_of(config.provider)
    provider = config.provider.strip().upper()
    if kind == "azure":
        azure = config.provider_parameters.get("azure_params")
        azure = azure if isinstance(azure, Mapping) else {}
        endpoint = azure.get("azure_openai_endpoint") or config.base_url
        if not endpoint:
            raise ProviderError(
                "Azure OpenAI needs an endpoint: set provider_parameters.azure_params.azure_openai_endpoint or the "
                "AI integration's base_url (https://<resource>.openai.azure.com)",
                kind="bad_request",
            )
        version = azure.get("azure_openai_version") or DEFAULT_AZURE_API_VERSION
        deployment = azure.get("azure_deployment_name")
        return _AzureProtocol(config, str(endpoint), str(deployment) if deployment else None, str(version))
    base_url = config.base_url or _DEFAULT_BASE_URLS.get(provider)
    if not base_url:
        raise ProviderError(
            f"AI integration provider {provider} has no default endpoint: set the integration's base_url to the "
            "server's OpenAI-compatible root (for example http://127.0.0.1:8000/v1 for vLLM, "
            "http://127.0.0.1:11434/v1 for Ollama)",
            kind="bad_request",
        )
    if kind == "anthropic":
        return _AnthropicProtocol(config, base_url)
    return _OpenAIProtocol(config, base_url)


def _openai_message(message: ChatMessage) -> dict[str, Any]:
    out: dict[str, Any] = {"role": message.role}
    if message.role == "assistant" and message.tool_calls:
        out["content"] = message.content
        out["tool_calls"] = [
            {
                "id": call.id or f"call_{index}",
                "type": "function",
                "function": {"name": call.name, "arguments": json.dumps(dict(call.arguments))},
            }
            for index, call in enumerate(message.tool_calls)
        ]
    else:
        out["content"] = message.content or ""
    if message.role == "tool":
        out["tool_call_id"] = message.tool_call_id or ""
    return out


def _anthropic_messages(messages: Iterable[ChatMessage]) -> list[dict[str, Any]]:
    """Anthropic turns: no system role, tool results as user blocks, consecutive same-role turns merged."""
    out: list[dict[str, Any]] = []
    for index, message in enumerate(messages):
        if message.role == "system":
            continue
        blocks: list[dict[str, Any]] = []
        if message.role == "tool":
            role = "user"
            blocks.append(
                {"type": "tool_result", "tool_use_id": message.tool_call_id or "", "content": message.content or ""}
            )
        else:
            role = message.role
            if message.content:
                blocks.append({"type": "text", "text": message.content})
            for number, call in enumerate(message.tool_calls):
                blocks.append(
                    {
                        "type": "tool_use",
                        "id": call.id or f"toolu_{index}_{number}",
                        "name": call.name,
                        "input": dict(call.arguments),
                    }
                )
        if not blocks:
            blocks.append({"type": "text", "text": " "})
        if out and out[-1]["role"] == role:
            out[-1]["content"].extend(blocks)
        else:
            out.append({"role": role, "content": blocks})
    return out


def _openai_tool_call(raw: Any) -> ToolCall:
    if not isinstance(raw, Mapping) or not isinstance(raw.get("function"), Mapping):
        raise _Unusable("a tool call has no function")
    function = raw["function"]
    name = function.get("name")
    if not isinstance(name, str) or not name:
        raise _Unusable("a tool call has no function name")
    arguments = function.get("arguments")
    if isinstance(arguments, str):
        try:
            arguments = json.loads(arguments) if arguments.strip() else {}
        except json.JSONDecodeError:
            raise _Unusable(f"the arguments of tool call {name!r} are not JSON: {_trim(arguments)!r}") from None
    elif arguments is None:
        arguments = {}
    if not isinstance(arguments, Mapping):
        raise _Unusable(f"the arguments of tool call {name!r} are not a JSON object: {_trim(json.dumps(arguments))}")
    call_id = raw.get("id")
    return ToolCall(name=name, arguments=dict(arguments), id=call_id if isinstance(call_id, str) else None)


def _openai_text(content: Any) -> str | None:
    if content is None or isinstance(content, str):
        return content
    if isinstance(content, list):
        parts = [str(p["text"]) for p in content if isinstance(p, Mapping) and isinstance(p.get("text"), str)]
        return "".join(parts) if parts else None
    raise _Unusable("the message content is neither text nor a list of parts")


def _openai_response_format(value: Any) -> dict[str, Any] | None:
    """AX ``{type: TEXT|JSON_OBJECT|JSON_SCHEMA, json_schema?}`` in OpenAI's lower-case form."""
    if not isinstance(value, Mapping) or not isinstance(value.get("type"), str):
        return None
    kind = value["type"].lower()
    if kind == "json_schema":
        schema = value.get("json_schema")
        if not isinstance(schema, Mapping):
            raise ProviderError(
                "invocation_parameters.response_format of type JSON_SCHEMA needs a json_schema object",
                kind="bad_request",
            )
        spec = {k: schema[k] for k in ("name", "description", "schema", "strict") if schema.get(k) is not None}
        return {"type": "json_schema", "json_schema": spec}
    if kind in ("text", "json_object"):
        return {"type": kind}
    raise ProviderError(
        f"invocation_parameters.response_format.type {value['type']!r} is not TEXT, JSON_OBJECT or JSON_SCHEMA",
        kind="bad_request",
    )


def _stop_list(value: Any) -> list[str]:
    if isinstance(value, str):
        return [value] if value else []
    if isinstance(value, list | tuple):
        return [str(v) for v in value if v]
    return []


def _mapping(value: Any) -> Mapping[str, Any]:
    return value if isinstance(value, Mapping) else {}


def _int_or_none(value: Any) -> int | None:
    return value if isinstance(value, int) and not isinstance(value, bool) else None


def _provider_message(response: _Reply) -> str:
    """The provider's own error text: OpenAI/Azure ``{error:{message}}``, Anthropic ``{error:{type,message}}``,
    a problem's ``detail``, or the body as plain text."""
    try:
        payload = response.json()
    except (json.JSONDecodeError, UnicodeDecodeError):
        return " ".join(re.sub(r"<[^>]*>", " ", response.text).split())
    if isinstance(payload, Mapping):
        error = payload.get("error")
        if isinstance(error, Mapping) and error.get("message"):
            kind = error.get("type") or error.get("code")
            return f"{error['message']} ({kind})" if isinstance(kind, str) and kind else str(error["message"])
        if isinstance(error, str):
            return error
        for key in ("detail", "message"):
            if payload.get(key):
                return str(payload[key])
    return json.dumps(payload)


def _proxied(base_url: str) -> bool:
    """Whether the environment sends calls to ``base_url`` through a proxy (an invalid URL: no)."""
    try:
        return uses_proxy(base_url)
    except (httpx2.InvalidURL, ValueError):
        return False


def _display_url(url: str) -> str:
    """The URL without credentials or query, for messages."""
    parsed = httpx2.URL(url)
    port = f":{parsed.port}" if parsed.port else ""
    return f"{parsed.scheme}://{parsed.host}{port}{parsed.path}"


def _trim(text: str) -> str:
    text = " ".join(text.split())
    return text if len(text) <= _MESSAGE_LIMIT else text[: _MESSAGE_LIMIT - 1] + "…"
