"""The one exception tree of arize-skills.

Every error the package raises on purpose is an ``ArizeSkillsError``::

    ArizeSkillsError
    ├── ConfigError                  settings that conflict or are missing
    ├── APIError                     talking to an AX-compatible API failed
    │   ├── APIConnectionError       no HTTP response (refused, reset, DNS)
    │   │   └── APITimeoutError      no response in time
    │   └── APIStatusError           an RFC 9457 problem came back (``status``, ``title``, ``detail``, ``request_id``)
    │       ├── BadRequestError            400
    │       ├── AuthenticationError        401
    │       ├── PermissionDeniedError      403
    │       ├── NotFoundError              404
    │       ├── ConflictError              409
    │       ├── UnprocessableEntityError   422
    │       ├── RateLimitError             429
    │       └── InternalServerError        5xx
    ├── ResolutionError              a name could not be turned into one ID
    │   ├── NameNotFoundError        no exact match (names what was searched, and where)
    │   └── AmbiguousNameError       several exact matches (lists the candidates)
    ├── RunTimeoutError              ``wait_for_run`` gave up (also a ``TimeoutError``)
    ├── ProviderError                an LLM provider call failed (``kind``, ``status``, ``retryable``)
    ├── TemplateError                a judge or prompt template that cannot be rendered
    │   ├── TemplateSyntaxError      Mustache syntax the engine does not support (sections, partials)
    │   └── MissingVariableError     a template variable with no value (``variable``)
    ├── JudgeParseError              a judge's answer holds no allowed label (``answer``, ``labels``)
    └── ProblemError                 raised inside the local engine; rendered as a problem response
        └── FilterError              a ``filter`` / ``query_filter`` that does not parse (400)

No message in this tree ever carries an API key or an ``Authorization`` header: errors are built from the
problem body the server sent and the request's method and path, never from request headers (and a key the server
echoes back is redacted by the client before it gets here).
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any, Literal

__all__ = [
    "APIConnectionError",
    "APIError",
    "APIStatusError",
    "APITimeoutError",
    "AmbiguousNameError",
    "ArizeSkillsError",
    "AuthenticationError",
    "BadRequestError",
    "ConfigError",
    "ConflictError",
    "FilterError",
    "InternalServerError",
    "JudgeParseError",
    "MissingVariableError",
    "NameNotFoundError",
    "NotFoundError",
    "PermissionDeniedError",
    "ProblemError",
    "ProviderError",
    "ProviderErrorKind",
    "RateLimitError",
    "ResolutionError",
    "RunTimeoutError",
    "UnprocessableEntityError",
    "TemplateError",
    "TemplateSyntaxError",
    "status_error_class",
]


class ArizeSkillsError(Exception):
    """Root of every error raised by arize-skills."""


class ConfigError(ArizeSkillsError):
    """Settings conflict or are missing (for example two endpoint overrides at once)."""


class APIError(ArizeSkillsError):
    """A call to an AX-compatible API failed."""

    def __init__(self, message: str, *, method: str | None = None, path: str | None = None) -> None:
        super().__init__(message)
        self.message = message
        self.method = method
        self.path = path


class APIConnectionError(APIError):
    """The request got no HTTP response: the connection was refused, reset or could not be made."""


class APITimeoutError(APIConnectionError):
    """The request got no response within its timeout."""


class APIStatusError(APIError):
    """The API answered with an error status and (usually) an RFC 9457 problem body."""

    def __init__(
        self,
        *,
        status: int,
        title: str | None,
        detail: str | None,
        request_id: str | None = None,
        body: dict[str, Any] | None = None,
        method: str | None = None,
        path: str | None = None,
        retry_after: float | None = None,
    ) -> None:
        self.status = status
        self.title = title
        self.detail = detail
        self.request_id = request_id
        self.body = body or {}
        self.retry_after = retry_after
        head = f"{status} {title}" if title else str(status)
        text = detail or title or "no detail given"
        where = f" ({method} {path})" if method and path else ""
        suffix = f" [request_id={request_id}]" if request_id else ""
        super().__init__(f"{head}: {text}{where}{suffix}", method=method, path=path)


class BadRequestError(APIStatusError):
    """400: the request was malformed (unknown field, bad enum, broken filter, bad cursor)."""


class AuthenticationError(APIStatusError):
    """401: the API key is missing or wrong."""


class PermissionDeniedError(APIStatusError):
    """403: the key may not do this."""


class NotFoundError(APIStatusError):
    """404: no such resource, or one the key cannot read."""


class ConflictError(APIStatusError):
    """409: a name is taken, or the resource is in use."""


class UnprocessableEntityError(APIStatusError):
    """422: the request parsed but breaks a rule of the API."""


class RateLimitError(APIStatusError):
    """429: too many requests; ``retry_after`` says how long the server asked us to wait."""


class InternalServerError(APIStatusError):
    """5xx: the server failed."""


_STATUS_CLASSES: dict[int, type[APIStatusError]] = {
    400: BadRequestError,
    401: AuthenticationError,
    403: PermissionDeniedError,
    404: NotFoundError,
    409: ConflictError,
    422: UnprocessableEntityError,
    429: RateLimitError,
}


def status_error_class(status: int) -> type[APIStatusError]:
    """Return the ``APIStatusError`` subclass for an HTTP status code."""
    if status >= 500:
        return InternalServerError
    return _STATUS_CLASSES.get(status, APIStatusError)


class ResolutionError(ArizeSkillsError):
    """A name could not be resolved to exactly one resource ID."""

    def __init__(self, message: str, *, kind: str, name: str) -> None:
        super().__init__(message)
        self.kind = kind
        self.name = name


class NameNotFoundError(ResolutionError):
    """No resource of this kind has this name where we looked; ``suggestions`` holds the closest names (up to 5)."""

    def __init__(self, message: str, *, kind: str, name: str, suggestions: list[str] | None = None) -> None:
        super().__init__(message, kind=kind, name=name)
        self.suggestions = suggestions or []


class AmbiguousNameError(ResolutionError):
    """Several resources share this exact name; ``candidates`` lists ``(id, description)`` pairs."""

    def __init__(self, message: str, *, kind: str, name: str, candidates: list[tuple[str, str]]) -> None:
        super().__init__(message, kind=kind, name=name)
        self.candidates = candidates


class RunTimeoutError(ArizeSkillsError, TimeoutError):
    """A task run did not reach a terminal state before the wait's timeout."""

    def __init__(self, message: str, *, run_id: str, last_status: str | None) -> None:
        super().__init__(message)
        self.run_id = run_id
        self.last_status = last_status


ProviderErrorKind = Literal["auth", "rate_limit", "server", "timeout", "connection", "bad_request", "bad_response"]


class ProviderError(ArizeSkillsError):
    """An LLM provider call (judge or task) failed; ``kind`` says how, ``retryable`` whether a retry could help.

    The message names what happened (status, the provider's own error text, trimmed) and never the API key or
    an auth header: the client redacts the key from anything a provider echoes back.
    """

    def __init__(
        self,
        message: str,
        *,
        kind: ProviderErrorKind,
        status: int | None = None,
        retryable: bool = False,
        retry_after: float | None = None,
    ) -> None:
        super().__init__(message)
        self.message = message
        self.kind: ProviderErrorKind = kind
        self.status = status
        self.retryable = retryable
        self.retry_after = retry_after


class TemplateError(ArizeSkillsError):
    """A judge or prompt template that cannot be rendered."""


class TemplateSyntaxError(TemplateError, ValueError):
    """Template syntax the engine does not support, such as a Mustache section (``{{#x}}``) or partial."""


class MissingVariableError(TemplateError):
    """A template variable has no value; ``variable`` names it."""

    def __init__(self, variable: str, message: str | None = None) -> None:
        super().__init__(message or f"template variable {variable!r} has no value")
        self.variable = variable


class JudgeParseError(ArizeSkillsError):
    """A judge's answer holds no usable label: none, several, or one that is not an allowed choice.

    ``answer`` is what the model answered (trimmed); ``labels`` are the allowed labels (empty for freeform judges).
    """

    def __init__(self, message: str, *, answer: str, labels: list[str]) -> None:
        super().__init__(message)
        self.answer = answer
        self.labels = labels


class ProblemError(ArizeSkillsError):
    """Raised inside the local engine; its handler renders it as an RFC 9457 problem response."""

    titles = {
        400: "Bad Request",
        401: "Unauthorized",
        403: "Forbidden",
        404: "Not Found",
        409: "Conflict",
        413: "Content Too Large",
        415: "Unsupported Media Type",
        422: "Unprocessable Entity",
        429: "Too Many Requests",
        500: "Internal Server Error",
        503: "Service Unavailable",
    }
    type_fragments = {400: "invalid-request", 404: "resource-not-found", 422: "validation-error", 409: "conflict"}

    @staticmethod
    def listed(ids: Sequence[str], most: int = 20) -> str:
        """The first ``most`` IDs, quoted, and how many more there are: the IDs a problem's detail names."""
        shown = ", ".join(repr(i) for i in ids[:most])
        return shown + (f" and {len(ids) - most} more" if len(ids) > most else "")

    def __init__(self, status: int, detail: str, *, extra: dict[str, Any] | None = None) -> None:
        super().__init__(detail)
        self.status = status
        self.detail = detail
        self.extra = extra or {}

    @property
    def title(self) -> str:
        """The HTTP reason phrase for the status."""
        return self.titles.get(self.status, "Error")


class FilterError(ProblemError):
    """A filter expression that does not parse or names an unknown column; ``position`` is its 0-based offset."""

    def __init__(self, message: str, *, text: str, position: int) -> None:
        # Show the line holding the position, with the caret under it (tabs kept so the caret lines up).
        start = text.rfind("\n", 0, position) + 1
        end = text.find("\n", position)
        line = text[start : end if end >= 0 else len(text)]
        indent = "".join("\t" if c == "\t" else " " for c in line[: position - start])
        pointer = f"{line}\n{indent}^"
        super().__init__(400, f"invalid filter at position {position}: {message}\n{pointer}")
        self.message = message
        self.text = text
        self.position = position
