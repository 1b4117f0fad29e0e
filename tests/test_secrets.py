"""An API key given to the client is sent as ``Authorization: Bearer …`` and appears nowhere else."""

from __future__ import annotations

import json
import logging
import socket
import traceback
from collections.abc import Callable
from pathlib import Path

import httpx2
import pytest

from arize_skills.client import AsyncArizeClient
from arize_skills.errors import (
    APIConnectionError,
    APIError,
    APITimeoutError,
    AuthenticationError,
    InternalServerError,
    NotFoundError,
)
from arize_skills.settings import Settings
from tests.conftest import LiveEngine

SECRET = "sk-SECRET-abc"


class NoSleep:
    async def __call__(self, delay: float) -> None:
        return None


def capture_every_logger(caplog: pytest.LogCaptureFixture) -> None:
    """DEBUG on the root and on every logger that exists, including those that do not propagate (uvicorn)."""
    caplog.set_level(logging.DEBUG)
    for name, logger in list(logging.root.manager.loggerDict.items()):
        if isinstance(logger, logging.Logger):
            caplog.set_level(logging.DEBUG, logger=name)
            if not logger.propagate and caplog.handler not in logger.handlers:
                logger.addHandler(caplog.handler)
    for name in ("arize_skills", "httpx2", "httpcore2", "uvicorn", "uvicorn.error", "uvicorn.access", "starlette"):
        caplog.set_level(logging.DEBUG, logger=name)


def release_handler(caplog: pytest.LogCaptureFixture) -> None:
    for logger in logging.root.manager.loggerDict.values():
        if isinstance(logger, logging.Logger) and caplog.handler in logger.handlers:
            logger.removeHandler(caplog.handler)


def rendered(record: logging.LogRecord) -> str:
    """Everything a log handler could write for this record: message, arguments and any traceback."""
    text = logging.Formatter("%(name)s %(levelname)s %(message)s").format(record)
    return " ".join([text, repr(record.args), repr(record.msg), record.exc_text or "", record.stack_info or ""])


def error_texts(error: BaseException) -> str:
    return "\n".join(
        [str(error), repr(error), repr(error.args), repr(vars(error)), "".join(traceback.format_exception(error))]
    )


def free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        port: int = sock.getsockname()[1]
    return port


async def test_the_key_reaches_no_log_record_at_debug_level_over_real_http(
    live_engine: LiveEngine, caplog: pytest.LogCaptureFixture
) -> None:
    capture_every_logger(caplog)
    try:
        async with AsyncArizeClient(api_key=SECRET, base_url=live_engine.url, sleep=NoSleep()) as client:
            spaces = await client.spaces.list()
            await client.projects.create("secret-free", space=spaces.items[0].id)
            with pytest.raises(NotFoundError):
                await client.request("GET", "/v2/projects/TW9kZWw6OTk5OTk6YWJjZA==")
            with pytest.raises(APIError):
                await client.request("POST", "/v2/projects", json_body={"name": "x", "space_id": "nope", "extra": 1})
        async with AsyncArizeClient(
            api_key=SECRET, base_url=f"http://127.0.0.1:{free_port()}", sleep=NoSleep()
        ) as unreachable:
            with pytest.raises(APIConnectionError):
                await unreachable.request("GET", "/v2/spaces")
    finally:
        release_handler(caplog)

    names = {record.name for record in caplog.records}
    assert any(name.startswith("httpcore2") for name in names), names
    assert any(name.startswith("httpx2") for name in names), names
    assert any(name.startswith("arize_skills") for name in names), names
    leaked = [rendered(r) for r in caplog.records if SECRET in rendered(r)]
    assert leaked == []


def respond_with(step: httpx2.Response | Exception) -> Callable[[httpx2.Request], httpx2.Response]:
    def handler(request: httpx2.Request) -> httpx2.Response:
        assert request.headers["authorization"] == f"Bearer {SECRET}"
        if isinstance(step, Exception):
            raise step
        return step

    return handler


FAILURES: list[tuple[str, httpx2.Response | Exception, type[APIError]]] = [
    (
        "401",
        httpx2.Response(401, json={"title": "Unauthorized", "status": 401, "detail": "bad key"}),
        AuthenticationError,
    ),
    ("404", httpx2.Response(404, json={"title": "Not Found", "status": 404, "detail": "no task"}), NotFoundError),
    ("500", httpx2.Response(500, json={"title": "Internal Server Error", "status": 500}), InternalServerError),
    ("connection error", httpx2.ConnectError("connection refused"), APIConnectionError),
    ("read timeout", httpx2.ReadTimeout("read timed out"), APITimeoutError),
    ("connect timeout", httpx2.ConnectTimeout("connect timed out"), APITimeoutError),
    (
        "401 echoing the key",
        httpx2.Response(401, json={"title": "Unauthorized", "detail": f"key Bearer {SECRET} is not valid"}),
        AuthenticationError,
    ),
    (
        "502 page echoing the key",
        httpx2.Response(502, text=f"<html><body>upstream rejected {SECRET}</body></html>"),
        InternalServerError,
    ),
    ("200 page echoing the key", httpx2.Response(200, text=f"<html>hello {SECRET}</html>"), APIError),
]


@pytest.mark.parametrize(("case", "step", "error_class"), FAILURES, ids=[c[0] for c in FAILURES])
async def test_no_raised_error_carries_the_key(
    caplog: pytest.LogCaptureFixture, case: str, step: httpx2.Response | Exception, error_class: type[APIError]
) -> None:
    capture_every_logger(caplog)
    seen: list[httpx2.Request] = []
    handler = respond_with(step)

    def recording(request: httpx2.Request) -> httpx2.Response:
        seen.append(request)
        return handler(request)

    try:
        async with AsyncArizeClient(
            api_key=SECRET,
            base_url="https://ax.example.test",
            transport=httpx2.MockTransport(recording),
            sleep=NoSleep(),
        ) as client:
            with pytest.raises(error_class) as caught:
                await client.request("GET", "/v2/tasks/abc")
    finally:
        release_handler(caplog)
    assert seen, "the request never reached the transport"
    assert SECRET not in error_texts(caught.value)
    assert [rendered(r) for r in caplog.records if SECRET in rendered(r)] == []


async def test_a_failed_create_carries_no_key_either() -> None:
    def handler(request: httpx2.Request) -> httpx2.Response:
        assert request.headers["authorization"] == f"Bearer {SECRET}"
        raise httpx2.ReadTimeout("read timed out")

    async with AsyncArizeClient(api_key=SECRET, transport=httpx2.MockTransport(handler)) as client:
        with pytest.raises(APITimeoutError) as caught:
            await client.request("POST", "/v2/datasets", json_body={"name": "d"})
    assert SECRET not in error_texts(caught.value)


async def test_the_client_and_settings_show_whether_a_key_is_set_but_never_the_key(tmp_path: Path) -> None:
    client = AsyncArizeClient(api_key=SECRET)
    try:
        assert client.has_api_key is True
        assert SECRET not in repr(client)
        assert SECRET not in str(client)
    finally:
        await client.aclose()

    settings = Settings.resolve(api_key=SECRET, home=tmp_path)
    assert SECRET not in repr(settings)
    assert SECRET not in str(settings)
    described = settings.describe()
    assert described["has_api_key"] is True
    assert SECRET not in json.dumps(described)
