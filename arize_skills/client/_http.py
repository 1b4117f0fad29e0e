"""The request loop: one retry policy, one error mapping, no secret in any log or exception.

Retries (``RetryPolicy``):

* connection failures before the request reached the server (connect errors) — always safe to retry;
* 429 — the server did not act on the request, so even creates and triggers are retried;
* 408, 5xx, read timeouts and dropped connections — only for idempotent requests: GET, PATCH, DELETE, and the
  POSTs that list, search or upsert. Creates and triggers are never retried blindly: they might have happened.

How long to wait is the shared policy's rule (``arize_skills.foundation.retry``): ``Retry-After`` (seconds or an
HTTP date) capped at ``max_retry_after``, otherwise exponential backoff from ``initial_delay`` to ``max_delay``
with jitter.

Errors carry the server's problem (``status``, ``title``, ``detail``, ``request_id``); a body that is not JSON (an
HTML page from a proxy) becomes plain text. Nothing is taken from request headers, and should a server echo the
API key back, it is redacted before it reaches an exception.
"""

from __future__ import annotations

import json
import logging
import math
import re
from collections.abc import Awaitable, Callable, Mapping, Sequence
from enum import Enum
from typing import Any

import anyio
import httpx2

from ..errors import APIConnectionError, APIError, APIStatusError, APITimeoutError, status_error_class
from ..foundation.redact import redact
from ..foundation.retry import RetryPolicy, parse_retry_after

__all__ = ["HttpCore", "RetryPolicy", "clean_json"]

logger = logging.getLogger("arize_skills.client")

IDEMPOTENT_METHODS = frozenset({"GET", "HEAD", "PUT", "PATCH", "DELETE"})


def clean_json(value: Any) -> Any:
    """Replace NaN and ±Inf (not valid JSON) by ``None`` everywhere inside ``value``, as the SDK does."""
    if isinstance(value, float) and (math.isnan(value) or math.isinf(value)):
        return None
    if isinstance(value, Mapping):
        return {k: clean_json(v) for k, v in value.items()}
    if isinstance(value, list | tuple):
        return [clean_json(v) for v in value]
    return value


class HttpCore:
    """Sends requests through one ``httpx2.AsyncClient`` with the retry policy and error mapping applied."""

    def __init__(
        self,
        http: httpx2.AsyncClient,
        *,
        retry: RetryPolicy,
        sleep: Callable[[float], Awaitable[None]] = anyio.sleep,
    ) -> None:
        self.http = http
        self.retry = retry
        self.sleep = sleep

    async def request(
        self,
        method: str,
        path: str,
        *,
        params: Mapping[str, Any] | None = None,
        json_body: Any = None,
        json_bytes: bytes | None = None,
        idempotent: bool | None = None,
        headers: Mapping[str, str] | None = None,
        secrets: Sequence[str] = (),
    ) -> Any:
        """Send a request and return its decoded JSON body (``None`` for an empty body).

        The body is ``json_body`` encoded here, or ``json_bytes``: JSON the caller encoded already (valid JSON,
        no NaN), sent as it is.

        ``idempotent`` defaults to true for GET/PATCH/DELETE and false for POST; list, search and annotate
        POSTs pass ``True``. ``headers`` are sent besides the client's own; ``secrets`` (values among them) are
        redacted from any error, like the API key.

        Raises:
            APIStatusError: (a subclass per status) the server answered with an error after any retries.
            APIConnectionError: no response after any retries; ``APITimeoutError`` when it timed out.
        """
        safe_to_repeat = idempotent if idempotent is not None else method.upper() in IDEMPOTENT_METHODS
        query = {k: _query_value(v) for k, v in (params or {}).items() if v is not None}
        content = None
        sent: dict[str, str] = dict(headers or {})
        if json_body is not None:
            content = json.dumps(clean_json(json_body), allow_nan=False, default=_json_default).encode()
        elif json_bytes is not None:
            content = json_bytes
        if content is not None:
            sent["Content-Type"] = "application/json"
        hidden = [*secrets, *self._secrets()]
        attempt = 0
        while True:
            attempt += 1
            try:
                response = await self.http.request(method, path, params=query, content=content, headers=sent)
            except httpx2.TransportError as exc:
                never_sent = isinstance(exc, httpx2.ConnectError | httpx2.ConnectTimeout | httpx2.PoolTimeout)
                if attempt <= self.retry.max_retries and (never_sent or safe_to_repeat):
                    wait = self.retry.delay(attempt, None)
                    logger.info("%s %s: %s; retry %d in %.2fs", method, path, type(exc).__name__, attempt, wait)
                    await self.sleep(wait)
                    continue
                error_class = APITimeoutError if isinstance(exc, httpx2.TimeoutException) else APIConnectionError
                where = f"{self.http.base_url.scheme}://{self.http.base_url.netloc.decode()}"
                reason = f"{type(exc).__name__}: {exc}" if str(exc) else type(exc).__name__
                message = redact(f"{method} {path} got no response from {where} ({reason})", hidden)
                raise error_class(message, method=method, path=path) from None
            if response.status_code < 400:
                logger.debug("%s %s -> %d", method, path, response.status_code)
                if not response.content:
                    return None
                try:
                    return response.json()
                except (json.JSONDecodeError, UnicodeDecodeError):
                    kind = response.headers.get("content-type") or "no content type"
                    message = (
                        f"{method} {path} answered {response.status_code} with a body that is not JSON ({kind}): "
                        f"{_readable(response.text)[:200]!r}; is the base URL an AX-compatible API?"
                    )
                    raise APIError(redact(message, hidden), method=method, path=path) from None
            retry_after = parse_retry_after(response.headers.get("retry-after"))
            status = response.status_code
            retryable = status == 429 or (safe_to_repeat and (status == 408 or status >= 500))
            if retryable and attempt <= self.retry.max_retries:
                wait = self.retry.delay(attempt, retry_after)
                logger.info("%s %s -> %d; retry %d in %.2fs", method, path, status, attempt, wait)
                await self.sleep(wait)
                continue
            raise _status_error(response, method, path, retry_after, hidden)

    def _secrets(self) -> list[str]:
        """The credential this client sends, so that a server echoing it back cannot put it in an error."""
        value = self.http.headers.get("authorization") or ""
        scheme, _, token = value.partition(" ")
        return [token.strip() if scheme.lower() == "bearer" else value.strip()]


def _query_value(value: Any) -> Any:
    """AX's query encoding: booleans as ``true``/``false``, enums by value, dates in ISO 8601; lists repeat."""
    if isinstance(value, list | tuple):
        return [_query_value(v) for v in value]
    if isinstance(value, bool):
        return "true" if value else "false"
    if isinstance(value, Enum):
        return _query_value(value.value)
    if hasattr(value, "isoformat"):
        return value.isoformat()
    return value


def _json_default(value: Any) -> Any:
    if isinstance(value, Enum):
        return value.value
    if hasattr(value, "isoformat"):
        return value.isoformat()
    raise TypeError(f"a request body cannot hold a {type(value).__name__}; pass JSON values")


_INVISIBLE = re.compile(r"<(script|style)\b.*?</\1\s*>|<!--.*?-->", re.IGNORECASE | re.DOTALL)
_TAG = re.compile(r"<[^>]*>")


def _readable(text: str) -> str:
    """A non-JSON body (say an HTML error page from a proxy) as one line of plain text."""
    if "<" in text:
        text = _TAG.sub(" ", _INVISIBLE.sub(" ", text))
    return " ".join(text.split())


def _status_error(
    response: httpx2.Response, method: str, path: str, retry_after: float | None, secrets: list[str]
) -> APIStatusError:
    body: dict[str, Any] = {}
    try:
        parsed = response.json()
        if isinstance(parsed, dict):
            body = redact(parsed, secrets)
    except (json.JSONDecodeError, UnicodeDecodeError):
        pass
    detail = body.get("detail")
    if detail is None and not body and response.content:
        detail = redact(_readable(response.text)[:500], secrets) or None
    title = body.get("title") or response.reason_phrase
    request_id = body.get("request_id") or response.headers.get("x-request-id")
    error_class = status_error_class(response.status_code)
    return error_class(
        status=response.status_code,
        title=str(title) if title else None,
        detail=str(detail) if detail is not None else None,
        request_id=str(request_id) if request_id else None,
        body=body,
        method=method,
        path=path,
        retry_after=retry_after,
    )
