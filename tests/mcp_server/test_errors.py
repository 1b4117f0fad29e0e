"""The error adapter: every error of our tree becomes a message the model can act on, with no secret in it."""

from __future__ import annotations

import traceback
from pathlib import Path

import pytest
from mcp import Client
from mcp.server.mcpserver.exceptions import ToolError
from pydantic import BaseModel, Field, ValidationError

from arize_skills.errors import (
    AmbiguousNameError,
    APIConnectionError,
    APIError,
    APITimeoutError,
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
    ProviderError,
    RateLimitError,
    RunTimeoutError,
    TemplateSyntaxError,
    UnprocessableEntityError,
)
from arize_skills.mcp_server import build_server
from arize_skills.mcp_server.errors import MAX_MESSAGE_CHARS, redact, to_tool_error, tool_errors
from arize_skills.settings import Settings
from tests.conftest import serve_engine

SECRET = "ak-SECRET-adapter-0987654321"


def message(exc: BaseException, secrets: tuple[str, ...] = ()) -> str:
    error = to_tool_error(exc, secrets)
    assert isinstance(error, ToolError)
    return str(error)


def test_a_name_not_found_says_which_and_names_the_find_call_that_lists_them() -> None:
    exc = NameNotFoundError("no dataset is named exactly 'golden' in space U3Bh", kind="dataset", name="golden")
    text = message(exc)
    assert text.startswith("dataset 'golden' not found")
    assert "in space U3Bh" in text
    assert "call find(kind='dataset', name='golden') to list them" in text


def test_a_missing_space_says_what_to_set() -> None:
    exc = NameNotFoundError("no space given: pass space= or set ARIZE_SPACE_ID / ARIZE_SPACE", kind="space", name="")
    text = message(exc)
    assert "ARIZE_SPACE_ID" in text
    assert "find(kind='space')" in text


def test_an_ambiguous_name_lists_every_candidate_with_its_id() -> None:
    exc = AmbiguousNameError(
        "2 spaces are named 'prod'",
        kind="space",
        name="prod",
        candidates=[("U3BhY2U6MTpB", "organization A"), ("U3BhY2U6MjpC", "organization B")],
    )
    text = message(exc)
    assert "2 spaces are named 'prod'" in text
    assert "U3BhY2U6MTpB (organization A)" in text and "U3BhY2U6MjpC (organization B)" in text
    assert "pass one of these IDs" in text


def test_a_404_from_the_api_names_the_kind_and_the_find_call() -> None:
    exc = NotFoundError(
        status=404, title="Not Found", detail="task 'VGFzazo5' was not found", method="GET", path="/v2/tasks/VGFzazo5"
    )
    text = message(exc)
    assert text.startswith("404 Not Found: task 'VGFzazo5' was not found")
    assert "find(kind='task')" in text


def test_a_404_on_a_path_find_cannot_list_says_to_check_the_id() -> None:
    exc = NotFoundError(status=404, title="Not Found", detail="run missing", method="GET", path="/v2/task-runs/x")
    assert message(exc) == "404 Not Found: run missing — check the ID"


@pytest.mark.parametrize("error_class,status", [(BadRequestError, 400), (UnprocessableEntityError, 422)])
def test_a_rejected_request_carries_the_backend_detail_naming_the_field(
    error_class: type[BadRequestError], status: int
) -> None:
    exc = error_class(status=status, title="Bad", detail="sampling_rate must be between 0 and 1", path="/v2/tasks")
    text = message(exc)
    assert text.startswith(f"{status} Bad: sampling_rate must be between 0 and 1")
    assert "fix the argument" in text


def test_a_conflict_says_it_exists_and_how_to_see_it() -> None:
    exc = ConflictError(status=409, title="Conflict", detail="a dataset named 'golden' exists", path="/v2/datasets")
    text = message(exc)
    assert "a dataset named 'golden' exists" in text
    assert "reuse it (find(kind='dataset') lists what exists) or choose another name" in text


def test_rate_limits_server_errors_and_lost_connections_say_retry_later() -> None:
    limited = message(RateLimitError(status=429, title="Too Many Requests", detail="slow down", retry_after=7.0))
    assert "429 Too Many Requests: slow down" in limited and "retry later" in limited and "wait 7 s" in limited
    failed = message(InternalServerError(status=503, title="Service Unavailable", detail="partial delete"))
    assert failed.startswith("503 Service Unavailable: partial delete") and "retry later" in failed
    lost = message(APIConnectionError("GET /v2/spaces got no response from http://127.0.0.1:9 (ConnectError)"))
    assert "could not be reached" in lost and "retry later" in lost and "127.0.0.1:9" in lost
    slow = message(APITimeoutError("GET /v2/spans got no response (ReadTimeout)"))
    assert "did not answer in time" in slow and "retry later" in slow
    odd = message(APIError("GET /v2/spaces answered 200 with a body that is not JSON"))
    assert "unexpected" in odd


def test_auth_failures_point_at_the_key_setting_without_the_key() -> None:
    text = message(AuthenticationError(status=401, title="Unauthorized", detail="bad key"), (SECRET,))
    assert "ARIZE_API_KEY" in text
    denied = message(PermissionDeniedError(status=403, title="Forbidden", detail="no access to space"))
    assert "may not do this" in denied


def test_configuration_and_engine_side_errors_say_what_to_do() -> None:
    config = message(ConfigError("set only one of ARIZE_REGION and ARIZE_BASE_DOMAIN"))
    assert config.startswith("configuration problem: set only one of ARIZE_REGION")
    waited = message(RunTimeoutError("run did not finish in 30 s", run_id="UnVuOjE=", last_status="RUNNING"))
    assert "still RUNNING" in waited and "get_task_runs(run_id='UnVuOjE=')" in waited
    provider = message(ProviderError("429 from OpenAI: rate limited", kind="rate_limit", status=429, retryable=True))
    assert "rate_limit, HTTP 429" in provider and "retry later" in provider
    broken = message(ProviderError("401 from OpenAI: invalid key", kind="auth", status=401))
    assert "check the AI integration" in broken
    missing = message(MissingVariableError("context"))
    assert "'context'" in missing and "column mapping" in missing
    syntax = message(TemplateSyntaxError("sections ({{#x}}) are not supported"))
    assert "fix the template" in syntax
    parse = message(JudgeParseError("no label in the answer", answer="maybe", labels=["yes", "no"]))
    assert "yes, no" in parse


def test_bad_values_from_argument_checks_name_the_field() -> None:
    class Window(BaseModel):
        max_spans: int = Field(ge=1)

    with pytest.raises(ValidationError) as caught:
        Window(max_spans=0)
    text = message(caught.value)
    assert text == "max_spans: must be at least 1 (got 0)."
    assert message(ValueError("a dataset needs at least one example")) == (
        "invalid argument: a dataset needs at least one example"
    )


def test_secrets_and_credential_shapes_are_removed_from_every_message() -> None:
    echoed = BadRequestError(status=400, title="Bad Request", detail=f"key {SECRET} is malformed")
    assert SECRET not in message(echoed, (SECRET,))
    assert "[redacted]" in message(echoed, (SECRET,))
    assert redact("sent Authorization: Bearer abc.def-123 to x") == "sent Authorization: [redacted] to x"
    assert redact("header bearer tok_12345678 was refused") == "header bearer [redacted] was refused"
    assert redact("api_key=sk-live-abcdefgh1234, rest") == "api_key=[redacted], rest"
    assert redact("openai said sk-proj-abcdefghijkl is wrong") == "openai said [redacted] is wrong"
    assert redact("max_tokens=512 is fine") == "max_tokens=512 is fine"


def test_a_long_message_is_cut_with_a_marker() -> None:
    text = message(BadRequestError(status=400, title="Bad Request", detail="x" * (MAX_MESSAGE_CHARS * 2)))
    assert len(text) < MAX_MESSAGE_CHARS + 50
    assert text.endswith("chars]")


async def test_the_decorator_turns_our_errors_into_tool_errors_and_leaves_bugs_alone() -> None:
    @tool_errors
    async def fails_with(exc: BaseException) -> None:
        raise exc

    with pytest.raises(ToolError) as caught:
        await fails_with(NameNotFoundError("no task is named exactly 'x'", kind="task", name="x"))
    assert "find(kind='task', name='x')" in str(caught.value)
    # The message says it all; no chained traceback of our internals rides along.
    assert caught.value.__cause__ is None and caught.value.__suppress_context__
    assert "Traceback" not in "".join(traceback.format_exception_only(caught.value))

    with pytest.raises(ToolError, match="^as is$"):
        await fails_with(ToolError("as is"))
    with pytest.raises(KeyError):
        await fails_with(KeyError("a bug stays a bug"))


async def test_a_rejected_key_reaches_the_model_as_an_actionable_error_without_the_key(tmp_path: Path) -> None:
    with serve_engine(tmp_path / "guarded", token="the-engine-token-1234") as served:
        settings = Settings.resolve(
            environ={
                "ARIZE_API_KEY": SECRET,
                "ARIZE_SINGLE_HOST": "127.0.0.1",
                "ARIZE_SINGLE_PORT": str(served.port),
                "ARIZE_API_SCHEME": "http",
            },
            profile_dir=tmp_path / "none",
        )
        server = build_server(settings)
        async with Client(server, mode="legacy") as mcp:
            found = await mcp.call_tool("find", {"kind": "project"})
            status = await mcp.call_tool("status", {})
            instructions = mcp.instructions or ""

    assert found.is_error
    text = found.content[0].text if found.content[0].type == "text" else ""
    assert "401" in text and "ARIZE_API_KEY" in text
    assert not status.is_error
    report = status.structured_content or {}
    assert report["has_api_key"] is True and report["space"] is None
    assert "401" in (report["problem"] or "")
    assert "No default space" in instructions
    for seen in (text, str(status), instructions):
        assert SECRET not in seen
        assert "Traceback" not in seen
