"""The provider timeout is a setting: ``ARIZE_SKILLS_PROVIDER_TIMEOUT`` (seconds, default 60), engine-wide.

Against the stub provider on 127.0.0.1 (a hanging provider shows the bound in effect).
"""

from __future__ import annotations

import time
from collections.abc import Iterator

import pytest

from arize_skills.errors import ProviderError
from arize_skills.evals.providers import ChatMessage, ChatRequest, LlmClient, ProviderConfig
from tests.stubs import Failure, StubServer, serve_stub

KEY = "sk-test-SECRET-0123456789"


@pytest.fixture
def stub() -> Iterator[StubServer]:
    with serve_stub(label="factual", expected_key=KEY) as served:
        yield served


def config(stub: StubServer) -> ProviderConfig:
    return ProviderConfig(provider="OPEN_AI", api_key=KEY, base_url=stub.openai_url)


def request() -> ChatRequest:
    return ChatRequest(model="gpt-4o", messages=[ChatMessage(role="user", content="Is the sky blue?")])


async def test_the_provider_timeout_environment_variable_bounds_each_call(
    stub: StubServer, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv("ARIZE_SKILLS_PROVIDER_TIMEOUT", "0.3")
    stub.fail(Failure.hang())
    started = time.monotonic()
    async with LlmClient(config(stub), max_retries=0) as llm:
        with pytest.raises(ProviderError) as caught:
            await llm.complete(request())

    assert time.monotonic() - started < 10
    assert caught.value.kind == "timeout"
    assert "did not answer within 0.3s" in str(caught.value)


async def test_without_the_setting_a_call_may_take_sixty_seconds(stub: StubServer) -> None:
    async with LlmClient(config(stub)) as llm:
        assert llm.timeout == 60.0
        assert (await llm.complete(request())).text == "factual"


async def test_an_explicit_timeout_wins_over_the_setting(stub: StubServer, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("ARIZE_SKILLS_PROVIDER_TIMEOUT", "5")
    async with LlmClient(config(stub), timeout=12.5) as llm:
        assert llm.timeout == 12.5


@pytest.mark.parametrize("value", ["soon", "0", "-3", "nan", "inf"])
async def test_a_bad_timeout_setting_fails_each_call_naming_the_variable_and_sends_nothing(
    stub: StubServer, monkeypatch: pytest.MonkeyPatch, value: str
) -> None:
    monkeypatch.setenv("ARIZE_SKILLS_PROVIDER_TIMEOUT", value)
    async with LlmClient(config(stub), max_retries=0) as llm:
        with pytest.raises(ProviderError) as caught:
            await llm.complete(request())

    assert caught.value.kind == "bad_request"
    assert f"ARIZE_SKILLS_PROVIDER_TIMEOUT must be a positive number of seconds, got {value!r}" in str(caught.value)
    assert stub.requests == []
