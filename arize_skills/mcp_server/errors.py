"""The one error adapter of the MCP tools: our exception tree in, a ``ToolError`` the model can act on out.

Every tool is wrapped with ``@tool_errors`` (directly under ``@server.tool(...)``). The adapter turns each
``ArizeSkillsError`` (and a ``ValueError`` raised by our own argument checks) into a ``ToolError`` whose text
says what went wrong and what to call next:

==============================  ===================================================================
raised                          the model reads
==============================  ===================================================================
NameNotFoundError / 404         ``dataset 'x' not found (…) — call find(kind='dataset', …) to list them``
AmbiguousNameError              the candidates with their IDs, and "pass one of these IDs"
400 / 422                       the status and the backend's detail (which names the field)
409                             what exists, and to reuse it or pick another name
401 / 403                       what the key may not do, and where the key comes from
429 / 5xx / no response         the status and detail, and "retry later"
ConfigError                     what to set
RunTimeoutError                 the run's last state and ``get_task_runs`` to look again
ProviderError, TemplateError…   the message, and what to fix
==============================  ===================================================================

Nothing else is translated: any other exception is a bug, and the SDK shows the client only
``Error executing tool <name>`` while the traceback goes to the server log on stderr. No message ever carries a
traceback, an API key, a bearer token or an ``Authorization`` header: each message passes through ``redact``,
which removes the secrets the server holds (``AppState.secrets``) and anything shaped like a credential.
"""

from __future__ import annotations

import functools
import re
from collections.abc import Awaitable, Callable, Iterable
from typing import Any, ParamSpec, TypeVar

from mcp.server.mcpserver import Context
from mcp.server.mcpserver.exceptions import ToolError
from pydantic import ValidationError

from ..errors import (
    AmbiguousNameError,
    APIConnectionError,
    APIError,
    APIStatusError,
    APITimeoutError,
    ArizeSkillsError,
    AuthenticationError,
    BadRequestError,
    ConfigError,
    ConflictError,
    InternalServerError,
    JudgeParseError,
    MissingVariableError,
    NameNotFoundError,
    NotFoundError,
    PermissionDeniedError,
    ProblemError,
    ProviderError,
    RateLimitError,
    ResolutionError,
    RunTimeoutError,
    TemplateError,
    UnprocessableEntityError,
)
from ..foundation.redact import redact as redact_secrets
from ..foundation.redact import redact_patterns

__all__ = ["MAX_MESSAGE_CHARS", "plain_validation", "redact", "to_tool_error", "tool_errors"]

P = ParamSpec("P")
R = TypeVar("R")

MAX_MESSAGE_CHARS = 4000
"""Longer messages are cut: a model needs the first lines of an error, not a page of it."""

# Kinds the ``find`` tool lists, keyed by the API path segment that names them.
_PATH_KINDS = {
    "projects": "project",
    "datasets": "dataset",
    "experiments": "experiment",
    "evaluators": "evaluator",
    "evaluator-versions": "evaluator",
    "tasks": "task",
    "ai-integrations": "ai_integration",
    "annotation-configs": "annotation_config",
    "spaces": "space",
}
_FINDABLE = set(_PATH_KINDS.values())


def redact(text: str, secrets: Iterable[str] = ()) -> str:
    """``text`` without any of ``secrets`` and without anything shaped like a credential."""
    return redact_patterns(redact_secrets(text, secrets))


def _label(kind: str) -> str:
    return kind.replace("_", " ")


def _find_hint(kind: str, name: str | None = None) -> str:
    if kind not in _FINDABLE:
        return ""
    named = f", name={name!r}" if name else ""
    return f" — call find(kind={kind!r}{named}) to list them, then pass the exact name or the ID"


def _kind_of_path(path: str | None) -> str | None:
    parts = [p for p in (path or "").split("/") if p]
    if len(parts) >= 2 and parts[0] == "v2":
        return _PATH_KINDS.get(parts[1])
    return None


def _status_head(exc: APIStatusError) -> str:
    return f"{exc.status} {exc.title}" if exc.title else str(exc.status)


def _detail(exc: APIStatusError) -> str:
    return exc.detail or exc.title or "no detail given"


def _status_hint(exc: APIStatusError) -> str:
    """What to do about an error status, as a tail to its head and detail ("" when there is nothing to say)."""
    if isinstance(exc, NotFoundError):
        kind = _kind_of_path(exc.path)
        return _find_hint(kind) if kind else " — check the ID"
    if isinstance(exc, BadRequestError | UnprocessableEntityError):
        return " — fix the argument this names and call again"
    if isinstance(exc, ConflictError):
        kind = _kind_of_path(exc.path)
        reuse = f" (find(kind={kind!r}) lists what exists)" if kind else ""
        return f" — it already exists: reuse it{reuse} or choose another name"
    if isinstance(exc, AuthenticationError):
        return " — the backend rejected the API key; check ARIZE_API_KEY (the status tool says where the key came from)"
    if isinstance(exc, PermissionDeniedError):
        return " — the API key may not do this here; ask an admin of the space"
    if isinstance(exc, RateLimitError):
        wait = f" (the server asked to wait {exc.retry_after:g} s)" if exc.retry_after else ""
        return f" — the backend is rate limiting; retry later{wait}"
    if isinstance(exc, InternalServerError):
        return " — the backend failed; retry later"
    return ""


def _describe(exc: BaseException) -> str:
    """The message for one exception (before redaction and cutting)."""
    if isinstance(exc, AmbiguousNameError):
        listed = "; ".join(f"{cid} ({about})" for cid, about in exc.candidates)
        return (
            f"{len(exc.candidates)} {_label(exc.kind)}s are named {exc.name!r}: {listed} — "
            "pass one of these IDs instead of the name"
        )
    if isinstance(exc, NameNotFoundError):
        if not exc.name:
            return f"{exc} — or call find(kind='space') to list the spaces"
        if exc.suggestions:
            closest = ", ".join(repr(name) for name in exc.suggestions)
            return f"{_label(exc.kind)} {exc.name!r} not found ({exc}) — did you mean {closest}?"
        return f"{_label(exc.kind)} {exc.name!r} not found ({exc}){_find_hint(exc.kind, exc.name)}"
    if isinstance(exc, ResolutionError):
        return f"{exc}{_find_hint(exc.kind)}"
    if isinstance(exc, APIStatusError):
        return f"{_status_head(exc)}: {_detail(exc)}{_status_hint(exc)}"
    if isinstance(exc, APITimeoutError):
        return f"the backend did not answer in time: {exc.message} — retry later"
    if isinstance(exc, APIConnectionError):
        return (
            f"the backend could not be reached: {exc.message} — retry later; if it is a local engine, check that it "
            "runs (arize-skills status)"
        )
    if isinstance(exc, APIError):
        return f"the backend answered something unexpected: {exc.message}"
    if isinstance(exc, ConfigError):
        return f"configuration problem: {exc} — set or unset the variables named, then restart the MCP server"
    if isinstance(exc, RunTimeoutError):
        state = exc.last_status or "unknown"
        return (
            f"{exc} — run {exc.run_id} is still {state}; call get_task_runs(run_id={exc.run_id!r}) to look again "
            "later (the run keeps going)"
        )
    if isinstance(exc, ProviderError):
        status = f", HTTP {exc.status}" if exc.status else ""
        advice = "retry later" if exc.retryable else "check the AI integration (its key, base URL and model name)"
        return f"the LLM provider call failed ({exc.kind}{status}): {exc.message} — {advice}"
    if isinstance(exc, MissingVariableError):
        return f"{exc} — give it a value (a column mapping or an input field) or remove it from the template"
    if isinstance(exc, TemplateError):
        return f"{exc} — fix the template and call again"
    if isinstance(exc, JudgeParseError):
        allowed = ", ".join(exc.labels) if exc.labels else "any text"
        return f"{exc} — the judge must answer one of: {allowed}; say so in the template"
    if isinstance(exc, ProblemError):
        return f"{exc.status} {exc.title}: {exc.detail}"
    if isinstance(exc, ValidationError):
        return plain_validation(exc)
    if isinstance(exc, ValueError):
        return f"invalid argument: {exc}"
    return str(exc)


_TYPE_WORDS = {
    "int": "a whole number",
    "float": "a number",
    "bool": "true or false",
    "string": "a string",
    "list": "a list",
    "dict": "an object",
    "model": "an object",
    "datetime": "a time",
}
_UNION_TAGS = re.compile(r"^(str|int|float|bool|none|list|dict|literal|function|tagged-union|json-or-python)\b|[\[(]")


def _where(loc: tuple[int | str, ...]) -> str:
    parts = [p for p in loc if isinstance(p, int) or not _UNION_TAGS.search(str(p))]
    text = ""
    for part in parts:
        text += f"[{part}]" if isinstance(part, int) else (f".{part}" if text else str(part))
    return text or "arguments"


def _sentence(error: Any) -> str:
    kind: str = error["type"]
    ctx: dict[str, Any] = error.get("ctx") or {}
    got = f" (got {error['input']!r})" if "input" in error and not isinstance(error["input"], dict | list) else ""
    if kind == "missing":
        return "is required"
    if kind == "extra_forbidden":
        return "is not a field here"
    if kind in ("literal_error", "enum"):
        return f"must be one of {ctx.get('expected', '')}{got}"
    bounds = {
        "less_than_equal": ("at most", "le"),
        "less_than": ("less than", "lt"),
        "greater_than_equal": ("at least", "ge"),
        "greater_than": ("more than", "gt"),
    }
    if kind in bounds:
        words, key = bounds[kind]
        return f"must be {words} {ctx.get(key)}{got}"
    if kind in ("string_too_long", "too_long"):
        unit = "characters" if kind.startswith("string") else "items"
        return f"must have at most {ctx.get('max_length')} {unit}"
    if kind in ("string_too_short", "too_short"):
        least = ctx.get("min_length")
        unit = "characters" if kind.startswith("string") else "items"
        return "must not be empty" if least == 1 else f"must have at least {least} {unit}"
    for prefix, words in _TYPE_WORDS.items():
        if kind.startswith(f"{prefix}_"):
            return f"must be {words}{got}"
    message = str(error.get("msg", "is not valid"))
    return message.removeprefix("Value error, ").removeprefix("Assertion failed, ")


def plain_validation(exc: ValidationError) -> str:
    """One plain sentence per bad field of ``exc`` ("max_spans: must be at most 1000000 (got 2000000)."), no links."""
    sentences: dict[str, str] = {}
    for error in exc.errors(include_url=False):
        sentences.setdefault(_where(error["loc"]), _sentence(error))
    return " ".join(f"{where}: {text}." for where, text in sentences.items())


def to_tool_error(exc: BaseException, secrets: Iterable[str] = ()) -> ToolError:
    """The ``ToolError`` for an exception of our tree: an actionable message, redacted and bounded."""
    text = redact(_describe(exc), secrets)
    if len(text) > MAX_MESSAGE_CHARS:
        text = text[:MAX_MESSAGE_CHARS] + f"…[cut {len(text) - MAX_MESSAGE_CHARS:,} chars]"
    return ToolError(text)


def _secrets_of(args: Iterable[Any]) -> tuple[str, ...]:
    for value in args:
        if isinstance(value, Context):
            try:
                state = value.request_context.lifespan_context
            except ValueError:
                return ()
            secrets = getattr(state, "secrets", ())
            return tuple(s for s in secrets if isinstance(s, str))
    return ()


def tool_errors(fn: Callable[P, Awaitable[R]]) -> Callable[P, Awaitable[R]]:
    """Wrap an async tool (or resolver) so errors of our tree reach the model as actionable ``ToolError``s.

    Use it under the registration decorator, so the SDK sees the wrapped function's signature::

        @server.tool(annotations=...)
        @tool_errors
        async def my_tool(name: ProjectRef, ctx: ToolContext) -> MyResult: ...

    ``ToolError`` raised by the tool passes through unchanged. The secrets to keep out of messages are read from
    the ``Context`` argument's ``AppState``.
    """

    @functools.wraps(fn)
    async def wrapper(*args: P.args, **kwargs: P.kwargs) -> R:
        try:
            return await fn(*args, **kwargs)
        except ToolError:
            raise
        except (ArizeSkillsError, ValueError) as exc:
            # ``from None``: the SDK logs the cause's traceback, and the message above already says it all.
            raise to_tool_error(exc, _secrets_of([*args, *kwargs.values()])) from None

    return wrapper
