"""The client's one retry policy and error mapping, driven through ``httpx2.MockTransport`` with no real sleeping."""

from __future__ import annotations

import email.utils
import json
import math
from collections.abc import Callable
from datetime import UTC, datetime, timedelta
from enum import Enum
from typing import Any

import httpx2
import pytest

from arize_skills.client import AsyncArizeClient, RetryPolicy
from arize_skills.errors import (
    APIConnectionError,
    APIError,
    APIStatusError,
    APITimeoutError,
    AuthenticationError,
    BadRequestError,
    ConflictError,
    InternalServerError,
    NotFoundError,
    PermissionDeniedError,
    RateLimitError,
    UnprocessableEntityError,
)

BASE_URL = "https://ax.example.test"

Step = httpx2.Response | Exception


class SleepRecorder:
    """Stands in for ``anyio.sleep``: records each requested delay and returns at once."""

    def __init__(self) -> None:
        self.delays: list[float] = []

    async def __call__(self, delay: float) -> None:
        self.delays.append(delay)


class Script:
    """A MockTransport handler that answers with the given steps in order and records every request."""

    def __init__(self, *steps: Step) -> None:
        self.steps = list(steps)
        self.requests: list[httpx2.Request] = []

    def __call__(self, request: httpx2.Request) -> httpx2.Response:
        self.requests.append(request)
        if not self.steps:
            raise AssertionError(f"unexpected extra request {request.method} {request.url}")
        step = self.steps.pop(0)
        if isinstance(step, Exception):
            raise step
        return step


def problem(status: int, detail: str = "it failed", headers: dict[str, str] | None = None, **extra: Any) -> Step:
    body = {"type": "about:blank", "title": f"title {status}", "status": status, "detail": detail, **extra}
    return httpx2.Response(status, json=body, headers={"content-type": "application/problem+json", **(headers or {})})


def ok(body: Any = None, status: int = 200) -> Step:
    return httpx2.Response(status, json=body if body is not None else {"ok": True})


@pytest.fixture
def sleeper() -> SleepRecorder:
    return SleepRecorder()


@pytest.fixture
def make_client(sleeper: SleepRecorder) -> Callable[..., AsyncArizeClient]:
    def build(script: Script, **kwargs: Any) -> AsyncArizeClient:
        return AsyncArizeClient(base_url=BASE_URL, transport=httpx2.MockTransport(script), sleep=sleeper, **kwargs)

    return build


async def test_a_429_with_retry_after_seconds_waits_that_long_then_succeeds(
    make_client: Callable[..., AsyncArizeClient], sleeper: SleepRecorder
) -> None:
    script = Script(problem(429, headers={"Retry-After": "3"}), ok({"tasks": []}))
    async with make_client(script) as client:
        result = await client.request("GET", "/v2/tasks")
    assert result == {"tasks": []}
    assert sleeper.delays == [3.0]
    assert len(script.requests) == 2


async def test_a_retry_after_given_as_an_http_date_is_waited_as_seconds_from_now(
    make_client: Callable[..., AsyncArizeClient], sleeper: SleepRecorder
) -> None:
    when = email.utils.format_datetime(datetime.now(UTC) + timedelta(seconds=30), usegmt=True)
    script = Script(problem(429, headers={"Retry-After": when}), ok())
    async with make_client(script) as client:
        await client.request("GET", "/v2/tasks")
    assert len(sleeper.delays) == 1
    # An HTTP date has whole seconds, so the wait is a little under 30 s, never more.
    assert 27.0 <= sleeper.delays[0] <= 30.0


async def test_a_retry_after_above_the_cap_waits_the_cap(
    make_client: Callable[..., AsyncArizeClient], sleeper: SleepRecorder
) -> None:
    policy = RetryPolicy(max_retries=1, initial_delay=0.5, max_retry_after=60.0, jitter=0.25)
    script = Script(problem(429, headers={"Retry-After": "3600"}), ok())
    async with make_client(script, retry=policy) as client:
        await client.request("GET", "/v2/tasks")
    assert sleeper.delays == [60.0]


async def test_backoff_doubles_per_attempt_up_to_the_maximum_and_jitter_only_shortens_it(
    make_client: Callable[..., AsyncArizeClient], sleeper: SleepRecorder
) -> None:
    policy = RetryPolicy(max_retries=6, initial_delay=0.5, max_delay=4.0, jitter=0.25)
    script = Script(*[problem(503) for _ in range(6)], ok())
    async with make_client(script, retry=policy) as client:
        await client.request("GET", "/v2/datasets")
    bases = [0.5, 1.0, 2.0, 4.0, 4.0, 4.0]
    assert len(sleeper.delays) == len(bases)
    for delay, base in zip(sleeper.delays, bases, strict=True):
        assert base * 0.75 <= delay <= base


def test_jitter_spreads_the_delays_of_one_attempt_within_its_bounds() -> None:
    policy = RetryPolicy(initial_delay=1.0, max_delay=8.0, jitter=0.5)
    delays = [policy.delay(3, None) for _ in range(200)]
    assert all(2.0 <= d <= 4.0 for d in delays)
    assert len(set(delays)) > 100


async def test_exhausted_retries_raise_a_rate_limit_error_carrying_the_problem(
    make_client: Callable[..., AsyncArizeClient], sleeper: SleepRecorder
) -> None:
    steps = [problem(429, "slow down", headers={"Retry-After": "2"}, request_id="req_42") for _ in range(3)]
    script = Script(*steps)
    async with make_client(script, max_retries=2) as client:
        with pytest.raises(RateLimitError) as caught:
            await client.request("GET", "/v2/tasks")
    error = caught.value
    assert (error.status, error.title, error.detail, error.request_id) == (429, "title 429", "slow down", "req_42")
    assert error.retry_after == 2.0
    assert error.method == "GET"
    assert error.path == "/v2/tasks"
    assert "slow down" in str(error)
    assert "req_42" in str(error)
    assert sleeper.delays == [2.0, 2.0]
    assert len(script.requests) == 3


async def test_the_default_policy_retries_twice(make_client: Callable[..., AsyncArizeClient]) -> None:
    script = Script(problem(503), problem(503), problem(503))
    async with make_client(script) as client:
        with pytest.raises(InternalServerError):
            await client.request("GET", "/v2/tasks")
    assert len(script.requests) == 3


async def test_a_503_on_a_get_is_retried(make_client: Callable[..., AsyncArizeClient], sleeper: SleepRecorder) -> None:
    script = Script(problem(503), ok({"spaces": []}))
    async with make_client(script) as client:
        assert await client.request("GET", "/v2/spaces") == {"spaces": []}
    assert len(script.requests) == 2
    assert len(sleeper.delays) == 1


async def test_a_503_with_retry_after_waits_as_asked(
    make_client: Callable[..., AsyncArizeClient], sleeper: SleepRecorder
) -> None:
    script = Script(problem(503, headers={"Retry-After": "7"}), ok())
    async with make_client(script) as client:
        await client.request("DELETE", "/v2/spans")
    assert sleeper.delays == [7.0]


async def test_a_500_on_a_create_post_is_not_retried(
    make_client: Callable[..., AsyncArizeClient], sleeper: SleepRecorder
) -> None:
    script = Script(problem(500, "boom"))
    async with make_client(script) as client:
        with pytest.raises(InternalServerError) as caught:
            await client.request("POST", "/v2/projects", json_body={"name": "p", "space_id": "x"})
    assert caught.value.status == 500
    assert len(script.requests) == 1
    assert sleeper.delays == []


async def test_a_503_on_a_trigger_post_is_not_retried(make_client: Callable[..., AsyncArizeClient]) -> None:
    script = Script(problem(503))
    async with make_client(script) as client:
        with pytest.raises(InternalServerError):
            await client.request("POST", "/v2/tasks/abc/trigger", json_body={})
    assert len(script.requests) == 1


async def test_a_429_on_a_create_post_is_retried_because_the_server_did_not_act(
    make_client: Callable[..., AsyncArizeClient],
) -> None:
    script = Script(problem(429, headers={"Retry-After": "1"}), ok({"id": "p1"}, status=201))
    async with make_client(script) as client:
        result = await client.request("POST", "/v2/projects", json_body={"name": "p", "space_id": "x"})
    assert result == {"id": "p1"}
    assert len(script.requests) == 2
    assert script.requests[0].content == script.requests[1].content


async def test_an_idempotent_post_is_retried_on_502(make_client: Callable[..., AsyncArizeClient]) -> None:
    script = Script(problem(502), ok({"spans": [], "pagination": {"has_more": False}}))
    async with make_client(script) as client:
        result = await client.request("POST", "/v2/spans", json_body={"project_id": "p"}, idempotent=True)
    assert result["spans"] == []
    assert len(script.requests) == 2


async def test_a_408_is_retried_only_when_idempotent(make_client: Callable[..., AsyncArizeClient]) -> None:
    script = Script(problem(408), ok())
    async with make_client(script) as client:
        await client.request("PATCH", "/v2/projects/p", json_body={"name": "q"})
    assert len(script.requests) == 2

    script = Script(problem(408))
    async with make_client(script) as client:
        with pytest.raises(APIStatusError):
            await client.request("POST", "/v2/projects", json_body={"name": "q"})
    assert len(script.requests) == 1


@pytest.mark.parametrize("method", ["GET", "POST", "PATCH", "DELETE"])
async def test_a_connect_error_is_retried_for_any_method(
    make_client: Callable[..., AsyncArizeClient], sleeper: SleepRecorder, method: str
) -> None:
    script = Script(httpx2.ConnectError("connection refused"), ok())
    async with make_client(script) as client:
        assert await client.request(method, "/v2/projects", json_body={"name": "p"}) == {"ok": True}
    assert len(script.requests) == 2
    assert len(sleeper.delays) == 1


async def test_connect_errors_that_never_end_raise_api_connection_error(
    make_client: Callable[..., AsyncArizeClient],
) -> None:
    script = Script(*[httpx2.ConnectError("connection refused") for _ in range(3)])
    async with make_client(script) as client:
        with pytest.raises(APIConnectionError) as caught:
            await client.request("GET", "/v2/spaces")
    assert not isinstance(caught.value, APITimeoutError)
    assert "GET" in str(caught.value)
    assert "/v2/spaces" in str(caught.value)
    assert "ax.example.test" in str(caught.value)
    assert len(script.requests) == 3


async def test_a_read_timeout_on_a_create_post_is_not_retried_and_raises_api_timeout_error(
    make_client: Callable[..., AsyncArizeClient], sleeper: SleepRecorder
) -> None:
    script = Script(httpx2.ReadTimeout("timed out"))
    async with make_client(script) as client:
        with pytest.raises(APITimeoutError) as caught:
            await client.request("POST", "/v2/datasets", json_body={"name": "d"})
    assert isinstance(caught.value, APIConnectionError)
    assert len(script.requests) == 1
    assert sleeper.delays == []


async def test_a_read_timeout_on_a_get_is_retried(make_client: Callable[..., AsyncArizeClient]) -> None:
    script = Script(httpx2.ReadTimeout("timed out"), ok())
    async with make_client(script) as client:
        await client.request("GET", "/v2/datasets")
    assert len(script.requests) == 2


async def test_a_dropped_connection_on_a_create_post_is_not_retried(
    make_client: Callable[..., AsyncArizeClient],
) -> None:
    script = Script(httpx2.RemoteProtocolError("server disconnected"))
    async with make_client(script) as client:
        with pytest.raises(APIConnectionError):
            await client.request("POST", "/v2/tasks", json_body={"name": "t"})
    assert len(script.requests) == 1


@pytest.mark.parametrize(
    ("status", "error_class"),
    [
        (400, BadRequestError),
        (401, AuthenticationError),
        (403, PermissionDeniedError),
        (404, NotFoundError),
        (409, ConflictError),
        (422, UnprocessableEntityError),
        (429, RateLimitError),
        (500, InternalServerError),
        (502, InternalServerError),
        (503, InternalServerError),
        (504, InternalServerError),
        (418, APIStatusError),
        (451, APIStatusError),
    ],
)
async def test_each_error_status_maps_to_its_error_class(
    make_client: Callable[..., AsyncArizeClient], status: int, error_class: type[APIStatusError]
) -> None:
    script = Script(problem(status, f"detail of {status}", request_id=f"req_{status}"))
    async with make_client(script, max_retries=0) as client:
        with pytest.raises(APIStatusError) as caught:
            await client.request("GET", "/v2/things/1")
    assert type(caught.value) is error_class
    assert caught.value.status == status
    assert caught.value.detail == f"detail of {status}"
    assert caught.value.request_id == f"req_{status}"
    assert caught.value.body["status"] == status


async def test_a_request_id_header_is_used_when_the_problem_has_none(
    make_client: Callable[..., AsyncArizeClient],
) -> None:
    script = Script(httpx2.Response(404, json={"title": "Not Found", "detail": "no"}, headers={"x-request-id": "r9"}))
    async with make_client(script) as client:
        with pytest.raises(NotFoundError) as caught:
            await client.request("GET", "/v2/tasks/x")
    assert caught.value.request_id == "r9"


async def test_a_non_json_error_body_from_a_proxy_gives_a_readable_error(
    make_client: Callable[..., AsyncArizeClient],
) -> None:
    html = (
        "<html>\r\n<head><title>502 Bad Gateway</title><style>body {color: red}</style></head>\r\n"
        "<body>\r\n<center><h1>502 Bad Gateway</h1></center>\r\n<hr><center>nginx</center>\r\n</body>\r\n</html>\r\n"
    )
    script = Script(httpx2.Response(502, text=html, headers={"content-type": "text/html"}))
    async with make_client(script) as client:
        with pytest.raises(InternalServerError) as caught:
            await client.request("POST", "/v2/projects", json_body={"name": "p"})
    error = caught.value
    assert error.status == 502
    assert error.title == "Bad Gateway"
    assert error.detail is not None
    assert "502 Bad Gateway" in error.detail
    assert "nginx" in error.detail
    assert "<" not in str(error)
    assert "color: red" not in str(error)
    assert error.body == {}


async def test_a_plain_text_error_body_is_kept_as_the_detail(make_client: Callable[..., AsyncArizeClient]) -> None:
    script = Script(httpx2.Response(400, text="limit must be an integer"))
    async with make_client(script) as client:
        with pytest.raises(BadRequestError) as caught:
            await client.request("GET", "/v2/tasks")
    assert caught.value.detail == "limit must be an integer"


async def test_an_empty_error_body_still_names_the_status(make_client: Callable[..., AsyncArizeClient]) -> None:
    script = Script(httpx2.Response(403))
    async with make_client(script) as client:
        with pytest.raises(PermissionDeniedError) as caught:
            await client.request("GET", "/v2/tasks")
    assert "403" in str(caught.value)
    assert "Forbidden" in str(caught.value)


async def test_a_non_json_success_body_raises_an_api_error_naming_what_came_back(
    make_client: Callable[..., AsyncArizeClient],
) -> None:
    script = Script(
        httpx2.Response(200, text="<html>Sign in to continue</html>", headers={"content-type": "text/html"})
    )
    async with make_client(script) as client:
        with pytest.raises(APIError) as caught:
            await client.request("GET", "/v2/spaces")
    assert "text/html" in str(caught.value)
    assert "/v2/spaces" in str(caught.value)


async def test_an_empty_success_body_returns_none(make_client: Callable[..., AsyncArizeClient]) -> None:
    script = Script(httpx2.Response(204))
    async with make_client(script) as client:
        assert await client.request("DELETE", "/v2/projects/p") is None


async def test_nan_and_infinity_in_a_body_are_sent_as_null(make_client: Callable[..., AsyncArizeClient]) -> None:
    script = Script(ok(status=201))
    body = {"score": math.nan, "values": [math.inf, -math.inf, 1.5], "nested": {"x": (math.nan, 2)}, "ok": 0.25}
    async with make_client(script) as client:
        await client.request("POST", "/v2/experiments", json_body=body)
    sent = script.requests[0]
    assert sent.headers["content-type"] == "application/json"
    assert b"NaN" not in sent.content
    assert b"Infinity" not in sent.content
    assert json.loads(sent.content) == {
        "score": None,
        "values": [None, None, 1.5],
        "nested": {"x": [None, 2]},
        "ok": 0.25,
    }


async def test_booleans_in_the_query_are_sent_as_true_and_false_and_none_is_omitted(
    make_client: Callable[..., AsyncArizeClient],
) -> None:
    script = Script(ok())
    start = datetime(2026, 3, 20, 12, 0, tzinfo=UTC)
    params = {"yes": True, "no": False, "gone": None, "empty": "", "limit": 5, "start": start}
    async with make_client(script) as client:
        await client.request("GET", "/v2/tasks", params=params)
    query = dict(script.requests[0].url.params)
    assert query == {"yes": "true", "no": "false", "empty": "", "limit": "5", "start": "2026-03-20T12:00:00+00:00"}


async def test_requests_carry_the_api_headers(make_client: Callable[..., AsyncArizeClient]) -> None:
    script = Script(ok())
    async with make_client(script, api_key="k-123") as client:
        await client.request("GET", "/v2/spaces")
    headers = script.requests[0].headers
    assert headers["authorization"] == "Bearer k-123"
    assert headers["accept"] == "application/json"
    assert headers["sdk-language"] == "python"
    assert str(script.requests[0].url) == f"{BASE_URL}/v2/spaces"


@pytest.mark.parametrize("base_url", [BASE_URL, f"{BASE_URL}/", f"{BASE_URL}/v2", f"{BASE_URL}/v2/"])
async def test_a_base_url_given_with_or_without_v2_reaches_the_same_path(base_url: str) -> None:
    script = Script(ok())
    async with AsyncArizeClient(base_url=base_url, transport=httpx2.MockTransport(script)) as client:
        await client.request("GET", "/v2/spaces")
    assert str(script.requests[0].url) == f"{BASE_URL}/v2/spaces"


def test_an_error_without_a_title_reads_cleanly() -> None:
    error = NotFoundError(status=404, title=None, detail="task 'x' was not found", method="GET", path="/v2/tasks/x")
    assert str(error) == "404: task 'x' was not found (GET /v2/tasks/x)"
    error = NotFoundError(status=404, title="Not Found", detail=None, request_id="req_1")
    assert str(error) == "404 Not Found: Not Found [request_id=req_1]"


class Color(Enum):
    RED = "red"


async def test_enums_dates_and_lists_are_encoded_in_the_query_and_the_body(
    make_client: Callable[..., AsyncArizeClient],
) -> None:
    script = Script(ok())
    when = datetime(2026, 3, 20, tzinfo=UTC)
    params = {"color": Color.RED, "flags": [True, False], "ids": ["a", "b"]}
    async with make_client(script) as client:
        await client.request("POST", "/v2/things", params=params, json_body={"color": Color.RED, "at": when})
    sent = script.requests[0]
    assert sent.url.params.get_list("flags") == ["true", "false"]
    assert sent.url.params.get_list("ids") == ["a", "b"]
    assert sent.url.params.get("color") == "red"
    assert json.loads(sent.content) == {"color": "red", "at": "2026-03-20T00:00:00+00:00"}


async def test_a_body_value_that_is_not_json_is_refused_before_sending(
    make_client: Callable[..., AsyncArizeClient],
) -> None:
    script = Script()
    async with make_client(script) as client:
        with pytest.raises(TypeError, match="object"):
            await client.request("POST", "/v2/things", json_body={"x": object()})
    assert script.requests == []
