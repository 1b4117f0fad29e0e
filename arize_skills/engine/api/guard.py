"""Who may drive the engine over HTTP, and which bodies it reads: Host, Origin and Content-Type checks.

A loopback engine is reachable from every web page its user opens. After DNS rebinding a page's own name points
at 127.0.0.1, so its requests arrive with ``Host: evil.example``; and any page may send a cross-site "simple"
request (``Content-Type: text/plain``, no CORS preflight) that spends the user's stored provider keys. So every
HTTP request passes three rules, each refused with a problem document naming the fix:

* **Host** must name loopback — ``localhost``, a loopback IP (``127.0.0.1``, ``[::1]``), any port — else 403.
  An engine that requires a bearer token accepts any Host: a web page cannot know the token, and a non-loopback
  bind (which the CLI allows only with a token) is reached by names we cannot list. The in-process app
  (``Engine.transport()``, base URL ``http://arize-skills.local``) accepts any Host: no socket reaches it.
* **Origin**, when sent, must be a loopback ``http``/``https`` origin, else 403. Browsers send it on every
  cross-origin request and every POST; our client, the arize SDK and OTLP exporters never do.
* **Content-Type** of a request with a body must be ``application/json``, else 415. ``POST /v1/traces`` is left
  to its route, which also takes OTLP's ``application/x-protobuf`` (``otlp.wire_format`` is that rule).

These are the checks the MCP HTTP transport makes (the ``mcp`` SDK's DNS-rebinding protection).
"""

from __future__ import annotations

import ipaddress
from urllib.parse import urlsplit

from starlette.datastructures import Headers
from starlette.types import Scope

__all__ = ["RequestGuard", "is_loopback"]

# Routes that check their own content types.
_OWN_CONTENT_TYPES = frozenset({"/v1/traces"})


def is_loopback(host: str) -> bool:
    """Whether ``host`` (a name or IP, IPv6 with or without brackets, no port) names only this machine."""
    name = host.strip().lower().removeprefix("[").removesuffix("]")
    if name == "localhost":
        return True
    try:
        return ipaddress.ip_address(name).is_loopback
    except ValueError:
        return False


def _host_name(header: str) -> str:
    """The name in a ``Host`` header, without its port."""
    if header.startswith("["):
        return header[: header.find("]") + 1] if "]" in header else header
    return header.rsplit(":", 1)[0] if header.count(":") == 1 else header


def _shown(value: str) -> str:
    # A header is attacker-chosen: show a bounded, printable excerpt.
    return repr(value[:100])


class RequestGuard:
    """The rules above for one app: ``any_host`` when its Host need not be loopback (token or in-process)."""

    def __init__(self, *, any_host: bool) -> None:
        self.any_host = any_host

    def refusal(self, scope: Scope) -> tuple[int, str] | None:
        """The status and detail a request is refused with, ``None`` when it may proceed."""
        headers = Headers(scope=scope)
        host = headers.get("host", "")
        if not self.any_host and not is_loopback(_host_name(host)):
            return 403, (
                f"Host {_shown(host)} is not a loopback address: this engine answers only requests addressed to "
                "localhost, 127.0.0.1 or [::1] (a web page cannot drive it); connect to http://127.0.0.1:PORT, "
                "or serve with --token-env to accept other host names"
            )
        origin = headers.get("origin")
        if origin is not None and not _loopback_origin(origin):
            return 403, (
                f"cross-origin request from Origin {_shown(origin)} refused: web pages may not drive the local "
                "engine; call it from a program (no Origin header) or a page served from localhost"
            )
        if scope["path"] not in _OWN_CONTENT_TYPES and _has_body(headers):
            media = headers.get("content-type", "").split(";", 1)[0].strip().lower()
            if media != "application/json":
                return 415, (
                    f"Content-Type {_shown(media) if media else '(none)'} is not accepted: send the body as JSON "
                    "with Content-Type: application/json"
                )
        return None


def _loopback_origin(origin: str) -> bool:
    try:
        parts = urlsplit(origin)
        return parts.scheme in ("http", "https") and parts.hostname is not None and is_loopback(parts.hostname)
    except ValueError:
        return False


def _has_body(headers: Headers) -> bool:
    length = headers.get("content-length")
    if length is not None:
        return length.strip() not in ("", "0")
    return "transfer-encoding" in headers
