"""The Arize AX REST base URL, computed from the endpoint settings as the official SDK computes it.

The client uses it for its default ``base_url``; ``arize_skills.settings`` and ``arize_skills.profile`` use it to
turn environment variables and ``ax`` profile routing into a URL. It lives below all of them so none of them has to
import another for it (and importing it does not pull in the HTTP stack).
"""

from __future__ import annotations

from urllib.parse import urlsplit

from ..errors import ConfigError

__all__ = ["DEFAULT_API_HOST", "OTLP_GRPC_PORT", "REGIONS", "REGION_ALIASES", "api_base_url"]

DEFAULT_API_HOST = "api.arize.com"
OTLP_GRPC_PORT = 4317
"""The OTLP/gRPC port OpenTelemetry exporters and ``arize.otel.register()`` send to by default."""
REGIONS = ("ca-central-1a", "eu-west-1a", "us-central-1a", "us-east-1b")
REGION_ALIASES = {"US": "us-east-1b", "CA": "ca-central-1a", "EU": "eu-west-1a"}


def _port(value: str | int | None, name: str) -> int:
    if isinstance(value, str):
        value = value.strip()
    if value is None or value == "":
        return 0
    try:
        port = int(value)
    except ValueError:
        raise ConfigError(f"{name} must be a port number, got {value!r}") from None
    if not 0 <= port <= 65535:
        raise ConfigError(f"{name} must be between 0 and 65535, got {port}")
    return port


def api_base_url(
    *,
    api_host: str | None = None,
    api_scheme: str | None = None,
    api_port: str | int | None = None,
    region: str | None = None,
    single_host: str | None = None,
    single_port: str | int | None = None,
    base_domain: str | None = None,
) -> str:
    """The AX REST base URL, computed as the official SDK computes it (``SDKConfiguration.api_url``).

    ``region``, ``single_host``/``single_port`` and ``base_domain`` are mutually exclusive; a region may be given
    as its name or as the CLI aliases ``US``, ``CA``, ``EU``. Values are stripped and the scheme lower-cased, as
    the SDK does; a port of 0 means "no port".

    Raises:
        ConfigError: more than one endpoint override, an unknown region, a bad scheme or a bad port.
    """
    region = (region or "").strip()
    single_host = (single_host or "").strip()
    base_domain = (base_domain or "").strip()
    port = _port(api_port, "ARIZE_API_PORT")
    single = _port(single_port, "ARIZE_SINGLE_PORT")
    overrides = [bool(region), bool(single_host or single), bool(base_domain)]
    if sum(overrides) > 1:
        raise ConfigError(
            "set only one of ARIZE_REGION, ARIZE_SINGLE_HOST/ARIZE_SINGLE_PORT and ARIZE_BASE_DOMAIN; "
            "they choose the endpoint in different ways"
        )
    scheme = (api_scheme or "").strip().lower() or "https"
    if scheme not in ("http", "https"):
        raise ConfigError(f"ARIZE_API_SCHEME must be http or https, got {scheme!r}")
    host = (api_host or "").strip() or DEFAULT_API_HOST
    if region:
        name = REGION_ALIASES.get(region.upper(), region)
        if name not in REGIONS:
            raise ConfigError(f"unknown region {region!r}: use one of {', '.join(REGIONS)} (or US, CA, EU)")
        host = f"api.{name}.arize.com"
    elif single_host or single:
        host = single_host or host
        if port == 0:
            port = single
    elif base_domain:
        host = f"api.{base_domain}"
    host = host.rstrip("/")
    if port:
        # As the SDK does: a port already written into the host gives way to the explicit one.
        parsed = urlsplit(f"//{host}")
        try:
            embedded = parsed.port
        except ValueError:
            embedded = None
        if embedded is not None:
            host = host.rsplit(":", 1)[0]
    return f"{scheme}://{host}" + (f":{port}" if port else "")
