"""The LLM provider client against a stub provider on 127.0.0.1: request shapes, tool calls, retries, limits,
and no key anywhere it should not be."""

from __future__ import annotations

import email.utils
import json
import logging
import socket
import sys
import time
import traceback
from collections.abc import Iterator
from typing import Any

import anyio
import httpx2
import pytest

from arize_skills.errors import ProviderError
from arize_skills.evals.providers import (
    ChatMessage,
    ChatRequest,
    LlmClient,
    ProviderConfig,
    ToolCall,
    ToolSpec,
    protocol_of,
)
from tests.stubs import Failure, Raw, RecordedRequest, StubServer, Text, ToolUse, serve_stub

KEY = "sk-test-SECRET-0123456789"

LABEL_TOOL = ToolSpec(
    name="record_label",
    description="Record the label",
    parameters={
        "type": "object",
        "properties": {
            "label": {"type": "string", "enum": ["factual", "hallucinated"]},
            "explanation": {"type": "string"},
        },
        "required": ["label"],
    },
)


class RecordingSleep:
    """Stands in for ``anyio.sleep``: records each requested delay and returns at once."""

    def __init__(self) -> None:
        self.delays: list[float] = []

    async def __call__(self, delay: float) -> None:
        self.delays.append(delay)


@pytest.fixture
def stub() -> Iterator[StubServer]:
    with serve_stub(label="factual", expected_key=KEY) as served:
        yield served


def openai_config(stub: StubServer, **changes: Any) -> ProviderConfig:
    return ProviderConfig(provider="OPEN_AI", api_key=KEY, base_url=stub.openai_url, **changes)


def anthropic_config(stub: StubServer, **changes: Any) -> ProviderConfig:
    return ProviderConfig(provider="ANTHROPIC", api_key=KEY, base_url=stub.url, **changes)


def judge_request(**changes: Any) -> ChatRequest:
    values: dict[str, Any] = {
        "model": "judge-model",
        "messages": [
            ChatMessage(role="system", content="You are a careful judge."),
            ChatMessage(role="user", content="Is the answer factual?"),
        ],
    }
    values.update(changes)
    return ChatRequest(**values)


def only_request(stub: StubServer) -> RecordedRequest:
    [request] = stub.requests
    return request


async def test_openai_requests_carry_model_messages_forced_tool_and_a_bearer_key(stub: StubServer) -> None:
    async with LlmClient(openai_config(stub, headers={"x-team": "evals"})) as llm:
        await llm.complete(judge_request(tools=[LABEL_TOOL], tool_choice="record_label"))

    sent = only_request(stub)
    assert sent.path == "/v1/chat/completions"
    assert sent.auth_header == "authorization"
    assert sent.headers["authorization"] == "Bearer ***"
    assert sent.key_matches is True
    assert sent.headers["x-team"] == "evals"
    assert sent.body["model"] == "judge-model"
    assert sent.body["messages"] == [
        {"role": "system", "content": "You are a careful judge."},
        {"role": "user", "content": "Is the answer factual?"},
    ]
    assert sent.body["tools"] == [
        {
            "type": "function",
            "function": {
                "name": "record_label",
                "description": "Record the label",
                "parameters": dict(LABEL_TOOL.parameters),
            },
        }
    ]
    assert sent.body["tool_choice"] == {"type": "function", "function": {"name": "record_label"}}


async def test_openai_tool_calls_come_back_with_parsed_arguments_usage_and_latency(stub: StubServer) -> None:
    stub.latency = 0.02
    async with LlmClient(openai_config(stub)) as llm:
        result = await llm.complete(judge_request(tools=[LABEL_TOOL], tool_choice="record_label"))

    [call] = result.tool_calls
    assert call.name == "record_label"
    assert call.arguments == {"label": "factual", "explanation": "stub explanation for factual"}
    assert call.id is not None and call.id.startswith("call_")
    assert result.text is None
    assert result.prompt_tokens == 9
    assert result.completion_tokens is not None and result.completion_tokens > 0
    assert result.latency_ms >= 20
    assert result.model == "judge-model"


async def test_openai_text_answers_come_back_as_text(stub: StubServer) -> None:
    stub.responder = lambda request: Text("hallucinated, because the context disagrees")
    async with LlmClient(openai_config(stub)) as llm:
        result = await llm.complete(judge_request())

    assert result.text == "hallucinated, because the context disagrees"
    assert result.tool_calls == []
    assert "tools" not in only_request(stub).body


async def test_earlier_tool_turns_are_sent_in_openai_form(stub: StubServer) -> None:
    history = [
        ChatMessage(role="user", content="What is the weather?"),
        ChatMessage(role="assistant", tool_calls=[ToolCall("weather", {"city": "Paris"}, id="call_1")]),
        ChatMessage(role="tool", content="sunny", tool_call_id="call_1"),
    ]
    async with LlmClient(openai_config(stub)) as llm:
        await llm.complete(ChatRequest(model="m", messages=history))

    assert only_request(stub).body["messages"] == [
        {"role": "user", "content": "What is the weather?"},
        {
            "role": "assistant",
            "content": None,
            "tool_calls": [
                {"id": "call_1", "type": "function", "function": {"name": "weather", "arguments": '{"city": "Paris"}'}}
            ],
        },
        {"role": "tool", "content": "sunny", "tool_call_id": "call_1"},
    ]


async def test_anthropic_requests_use_x_api_key_version_beta_and_a_top_level_system(stub: StubServer) -> None:
    config = anthropic_config(
        stub,
        provider_parameters={"anthropic_version": "2023-01-01", "anthropic_headers": {"anthropic_beta": ["b1", "b2"]}},
    )
    async with LlmClient(config) as llm:
        await llm.complete(judge_request(tools=[LABEL_TOOL], tool_choice="record_label"))

    sent = only_request(stub)
    assert sent.path == "/v1/messages"
    assert sent.auth_header == "x-api-key"
    assert sent.key_matches is True
    assert "authorization" not in sent.headers
    assert sent.headers["anthropic-version"] == "2023-01-01"
    assert sent.headers["anthropic-beta"] == "b1,b2"
    assert sent.body["system"] == "You are a careful judge."
    assert sent.body["messages"] == [{"role": "user", "content": [{"type": "text", "text": "Is the answer factual?"}]}]
    assert sent.body["max_tokens"] == 1024
    assert sent.body["tools"] == [
        {"name": "record_label", "description": "Record the label", "input_schema": dict(LABEL_TOOL.parameters)}
    ]
    assert sent.body["tool_choice"] == {"type": "tool", "name": "record_label"}


async def test_anthropic_defaults_its_version_header(stub: StubServer) -> None:
    async with LlmClient(anthropic_config(stub)) as llm:
        await llm.complete(judge_request())

    sent = only_request(stub)
    assert sent.headers["anthropic-version"] == "2023-06-01"
    assert "anthropic-beta" not in sent.headers


async def test_anthropic_tool_use_blocks_come_back_as_tool_calls_with_usage(stub: StubServer) -> None:
    async with LlmClient(anthropic_config(stub)) as llm:
        result = await llm.complete(judge_request(tools=[LABEL_TOOL], tool_choice="record_label"))

    [call] = result.tool_calls
    assert call.name == "record_label"
    assert call.arguments == {"label": "factual", "explanation": "stub explanation for factual"}
    assert call.id is not None and call.id.startswith("toolu_")
    assert result.prompt_tokens == 9
    assert result.completion_tokens is not None and result.completion_tokens > 0


async def test_earlier_tool_turns_are_sent_as_anthropic_blocks(stub: StubServer) -> None:
    history = [
        ChatMessage(role="user", content="What is the weather?"),
        ChatMessage(role="assistant", content="Checking.", tool_calls=[ToolCall("weather", {"city": "Paris"}, "t1")]),
        ChatMessage(role="tool", content="sunny", tool_call_id="t1"),
        ChatMessage(role="user", content="So?"),
    ]
    async with LlmClient(anthropic_config(stub)) as llm:
        await llm.complete(ChatRequest(model="m", messages=history))

    assert only_request(stub).body["messages"] == [
        {"role": "user", "content": [{"type": "text", "text": "What is the weather?"}]},
        {
            "role": "assistant",
            "content": [
                {"type": "text", "text": "Checking."},
                {"type": "tool_use", "id": "t1", "name": "weather", "input": {"city": "Paris"}},
            ],
        },
        {
            "role": "user",
            "content": [
                {"type": "tool_result", "tool_use_id": "t1", "content": "sunny"},
                {"type": "text", "text": "So?"},
            ],
        },
    ]


async def test_azure_requests_go_to_the_deployment_with_the_api_key_header(stub: StubServer) -> None:
    config = ProviderConfig(
        provider="AZURE_OPEN_AI",
        api_key=KEY,
        provider_parameters={
            "azure_params": {
                "azure_openai_endpoint": stub.url,
                "azure_deployment_name": "judge-deployment",
                "azure_openai_version": "2024-06-01",
            }
        },
    )
    async with LlmClient(config) as llm:
        result = await llm.complete(judge_request(tools=[LABEL_TOOL], tool_choice="record_label"))

    sent = only_request(stub)
    assert sent.path == "/openai/deployments/judge-deployment/chat/completions"
    assert sent.query == {"api-version": "2024-06-01"}
    assert sent.auth_header == "api-key"
    assert sent.key_matches is True
    assert "model" not in sent.body
    assert result.tool_calls[0].arguments["label"] == "factual"


async def test_azure_falls_back_to_base_url_and_the_model_as_deployment(stub: StubServer) -> None:
    config = ProviderConfig(provider="AZURE_OPEN_AI", api_key=KEY, base_url=stub.url)
    async with LlmClient(config) as llm:
        await llm.complete(judge_request(model="gpt-4o-mini"))

    sent = only_request(stub)
    assert sent.deployment == "gpt-4o-mini"
    assert sent.query == {"api-version": "2024-10-21"}


async def test_invocation_parameters_are_mapped_to_openai_and_unsupported_ones_dropped(stub: StubServer) -> None:
    parameters = {
        "temperature": 0,
        "max_completion_tokens": 50,
        "top_p": 0.9,
        "stop": ["END"],
        "presence_penalty": 0.1,
        "frequency_penalty": 0.2,
        "reasoning_effort": "low",
        "top_k": 5,
        "thinking_budget": 100,
        "response_format": {"type": "JSON_SCHEMA", "json_schema": {"name": "verdict", "schema": {"type": "object"}}},
    }
    async with LlmClient(openai_config(stub)) as llm:
        await llm.complete(judge_request(invocation_parameters=parameters))

    body = only_request(stub).body
    sent = {k: v for k, v in body.items() if k not in ("model", "messages")}
    assert sent == {
        "temperature": 0,
        "max_completion_tokens": 50,
        "top_p": 0.9,
        "stop": ["END"],
        "presence_penalty": 0.1,
        "frequency_penalty": 0.2,
        "reasoning_effort": "low",
        "response_format": {"type": "json_schema", "json_schema": {"name": "verdict", "schema": {"type": "object"}}},
    }


async def test_invocation_parameters_are_mapped_to_anthropic_and_unsupported_ones_dropped(stub: StubServer) -> None:
    parameters = {
        "temperature": 0.5,
        "max_tokens": 64,
        "top_p": 0.9,
        "top_k": 5,
        "stop": ["END"],
        "presence_penalty": 0.1,
        "reasoning_effort": "low",
        "response_format": {"type": "JSON_OBJECT"},
    }
    async with LlmClient(anthropic_config(stub)) as llm:
        await llm.complete(judge_request(invocation_parameters=parameters))

    body = only_request(stub).body
    sent = {k: v for k, v in body.items() if k not in ("model", "messages", "system")}
    assert sent == {"temperature": 0.5, "max_tokens": 64, "top_p": 0.9, "top_k": 5, "stop_sequences": ["END"]}


async def test_a_rate_limit_waits_as_long_as_retry_after_says_then_succeeds(stub: StubServer) -> None:
    stub.fail(Failure.rate_limited("2"))
    sleep = RecordingSleep()
    async with LlmClient(openai_config(stub), sleep=sleep) as llm:
        result = await llm.complete(judge_request())

    assert result.text == "factual"
    assert sleep.delays == [2.0]
    assert len(stub.requests) == 2


async def test_a_retry_after_http_date_is_honoured_and_capped(stub: StubServer) -> None:
    soon = email.utils.formatdate(time.time() + 30, usegmt=True)
    far = email.utils.formatdate(time.time() + 3600, usegmt=True)
    stub.fail(Failure.rate_limited(soon), Failure.rate_limited(far))
    sleep = RecordingSleep()
    async with LlmClient(anthropic_config(stub), sleep=sleep) as llm:
        await llm.complete(judge_request())

    assert 25 <= sleep.delays[0] <= 30
    assert sleep.delays[1] == 60.0


async def test_server_errors_are_retried_with_growing_backoff_then_succeed(stub: StubServer) -> None:
    stub.fail(Failure.error(500), Failure.error(503), Failure.error(502))
    sleep = RecordingSleep()
    async with LlmClient(openai_config(stub), sleep=sleep, max_retries=3) as llm:
        result = await llm.complete(judge_request())

    assert result.text == "factual"
    assert len(stub.requests) == 4
    assert len(sleep.delays) == 3
    assert 0.25 <= sleep.delays[0] <= 0.5
    assert 0.5 <= sleep.delays[1] <= 1.0
    assert 1.0 <= sleep.delays[2] <= 2.0


async def test_anthropic_overloaded_is_retried(stub: StubServer) -> None:
    stub.fail(Failure.error(529))
    async with LlmClient(anthropic_config(stub), sleep=RecordingSleep()) as llm:
        result = await llm.complete(judge_request())

    assert result.text == "factual"
    assert len(stub.requests) == 2


async def test_exhausted_rate_limit_retries_raise_a_retryable_rate_limit_error(stub: StubServer) -> None:
    stub.fail(*[Failure.rate_limited("1")] * 3)
    sleep = RecordingSleep()
    async with LlmClient(openai_config(stub), sleep=sleep, max_retries=2) as llm:
        with pytest.raises(ProviderError) as caught:
            await llm.complete(judge_request())

    error = caught.value
    assert error.kind == "rate_limit"
    assert error.status == 429
    assert error.retryable is True
    assert error.retry_after == 1.0
    assert "429" in str(error) and "Rate limit reached for requests" in str(error)
    assert "after 3 attempts" in str(error)
    assert sleep.delays == [1.0, 1.0]
    assert len(stub.requests) == 3


async def test_exhausted_server_error_retries_raise_a_server_error(stub: StubServer) -> None:
    stub.fail(*[Failure.error(503)] * 2)
    async with LlmClient(anthropic_config(stub), sleep=RecordingSleep(), max_retries=1) as llm:
        with pytest.raises(ProviderError) as caught:
            await llm.complete(judge_request())

    assert caught.value.kind == "server"
    assert caught.value.status == 503
    assert "The server had an error processing your request" in str(caught.value)


async def test_a_hanging_provider_becomes_a_timeout_error_within_the_bound(stub: StubServer) -> None:
    stub.fail(Failure.hang())
    started = time.monotonic()
    async with LlmClient(openai_config(stub), timeout=0.3, max_retries=0) as llm:
        with pytest.raises(ProviderError) as caught:
            await llm.complete(judge_request())

    assert time.monotonic() - started < 5
    assert caught.value.kind == "timeout"
    assert caught.value.retryable is True
    assert "did not answer within 0.3s" in str(caught.value)


async def test_a_timed_out_attempt_is_retried(stub: StubServer) -> None:
    stub.fail(Failure.hang())
    sleep = RecordingSleep()
    async with LlmClient(anthropic_config(stub), timeout=0.3, max_retries=1, sleep=sleep) as llm:
        result = await llm.complete(judge_request())

    assert result.text == "factual"
    assert len(sleep.delays) == 1


async def test_a_body_that_is_not_json_is_a_bad_response_and_not_retried(stub: StubServer) -> None:
    stub.fail(Failure.malformed())
    sleep = RecordingSleep()
    async with LlmClient(openai_config(stub), sleep=sleep) as llm:
        with pytest.raises(ProviderError) as caught:
            await llm.complete(judge_request())

    assert caught.value.kind == "bad_response"
    assert caught.value.retryable is False
    assert "not JSON" in str(caught.value)
    assert sleep.delays == []
    assert len(stub.requests) == 1


async def test_tool_arguments_that_are_not_json_are_a_bad_response(stub: StubServer) -> None:
    stub.responder = lambda request: ToolUse("record_label", '{"label": "factual"')
    async with LlmClient(openai_config(stub)) as llm:
        with pytest.raises(ProviderError) as caught:
            await llm.complete(judge_request(tools=[LABEL_TOOL], tool_choice="record_label"))

    assert caught.value.kind == "bad_response"
    assert "record_label" in str(caught.value) and "not JSON" in str(caught.value)


async def test_a_json_answer_without_choices_is_a_bad_response(stub: StubServer) -> None:
    stub.responder = lambda request: Raw(json.dumps({"id": "x", "object": "chat.completion"}))
    async with LlmClient(openai_config(stub)) as llm:
        with pytest.raises(ProviderError) as caught:
            await llm.complete(judge_request())

    assert caught.value.kind == "bad_response"
    assert "no choices" in str(caught.value)


async def test_an_unauthorized_key_fails_at_once_as_auth(stub: StubServer) -> None:
    sleep = RecordingSleep()
    config = ProviderConfig(provider="OPEN_AI", api_key="sk-wrong-key-999", base_url=stub.openai_url)
    async with LlmClient(config, sleep=sleep) as llm:
        with pytest.raises(ProviderError) as caught:
            await llm.complete(judge_request())

    assert caught.value.kind == "auth"
    assert caught.value.status == 401
    assert caught.value.retryable is False
    assert "API key" in str(caught.value)
    assert sleep.delays == []
    assert len(stub.requests) == 1


async def test_a_bad_request_is_not_retried(stub: StubServer) -> None:
    stub.fail(Failure.error(400))
    sleep = RecordingSleep()
    async with LlmClient(anthropic_config(stub), sleep=sleep) as llm:
        with pytest.raises(ProviderError) as caught:
            await llm.complete(judge_request())

    assert caught.value.kind == "bad_request"
    assert caught.value.status == 400
    assert "Invalid request" in str(caught.value)
    assert sleep.delays == []


async def test_a_refused_connection_is_retried_then_reported_as_a_connection_error() -> None:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        port = sock.getsockname()[1]
    sleep = RecordingSleep()
    config = ProviderConfig(provider="CUSTOM", api_key=KEY, base_url=f"http://127.0.0.1:{port}/v1")
    async with LlmClient(config, sleep=sleep, max_retries=2) as llm:
        with pytest.raises(ProviderError) as caught:
            await llm.complete(judge_request())

    assert caught.value.kind == "connection"
    assert f"127.0.0.1:{port}" in str(caught.value)
    assert len(sleep.delays) == 2


async def test_concurrency_never_exceeds_the_client_limit_under_fifty_calls(stub: StubServer) -> None:
    stub.latency = 0.05
    results: list[str | None] = []
    async with LlmClient(openai_config(stub), concurrency=4) as llm:

        async def one() -> None:
            results.append((await llm.complete(judge_request())).text)

        with anyio.fail_after(30):
            async with anyio.create_task_group() as group:
                for _ in range(50):
                    group.start_soon(one)

    assert results == ["factual"] * 50
    assert stub.max_in_flight == 4


def error_texts(error: BaseException) -> str:
    return "\n".join([str(error), repr(error), "".join(traceback.format_exception(error)), repr(vars(error))])


async def test_the_key_never_appears_in_errors_or_logs(stub: StubServer, caplog: pytest.LogCaptureFixture) -> None:
    caplog.set_level(logging.DEBUG)
    stub.fail(Failure.rate_limited("0"), Failure.unauthorized(echo_key=True))
    errors: list[ProviderError] = []
    for config in (openai_config(stub), anthropic_config(stub)):
        async with LlmClient(config, sleep=RecordingSleep()) as llm:
            try:
                await llm.complete(judge_request())
            except ProviderError as exc:
                errors.append(exc)
    stub.fail(Failure.unauthorized(echo_key=True))
    proxy_headers = {"Authorization": f"Bearer {KEY}"}
    async with LlmClient(ProviderConfig("CUSTOM", base_url=stub.openai_url, headers=proxy_headers)) as llm:
        try:
            await llm.complete(judge_request())
        except ProviderError as exc:
            errors.append(exc)

    assert [e.kind for e in errors] == ["auth", "auth"]
    assert stub.requests[-1].headers["authorization"] == "Bearer ***"
    assert all("[redacted]" in str(e) for e in errors)
    for error in errors:
        assert KEY not in error_texts(error)
    assert caplog.records, "DEBUG logging captured nothing"
    for record in caplog.records:
        assert KEY not in record.getMessage()
        assert KEY not in repr(record.args)
    assert KEY not in repr(openai_config(stub))


def test_providers_that_cannot_be_called_locally_are_refused_with_the_reason() -> None:
    for provider in ("AWS_BEDROCK", "VERTEX_AI", "GEMINI"):
        with pytest.raises(ProviderError) as caught:
            protocol_of(provider)
        assert caught.value.kind == "bad_request"
        assert provider in str(caught.value) and "CUSTOM" in str(caught.value)
    assert protocol_of("open_ai") == "openai"
    assert protocol_of("AZURE_OPEN_AI") == "azure"
    assert protocol_of("ANTHROPIC") == "anthropic"
    assert {protocol_of(p) for p in ("CUSTOM", "LITELLM", "FIREWORKS", "TOGETHER_AI", "NVIDIA_NIM")} == {"openai"}


async def test_a_custom_integration_without_base_url_names_the_field_to_set() -> None:
    async with LlmClient(ProviderConfig(provider="CUSTOM", api_key=KEY)) as llm:
        with pytest.raises(ProviderError) as caught:
            await llm.complete(judge_request())

    assert caught.value.kind == "bad_request"
    assert "base_url" in str(caught.value)


async def test_an_unsupported_provider_fails_every_call_with_a_bad_request() -> None:
    async with LlmClient(ProviderConfig(provider="AWS_BEDROCK", api_key=KEY)) as llm:
        for _ in range(2):
            with pytest.raises(ProviderError) as caught:
                await llm.complete(judge_request())
            assert caught.value.kind == "bad_request"
            assert "AWS_BEDROCK" in str(caught.value)


async def test_tools_are_refused_when_the_integration_disables_function_calling(stub: StubServer) -> None:
    async with LlmClient(openai_config(stub, function_calling_enabled=False)) as llm:
        assert llm.supports_function_calling is False
        with pytest.raises(ProviderError) as caught:
            await llm.complete(judge_request(tools=[LABEL_TOOL], tool_choice="record_label"))

    assert caught.value.kind == "bad_request"
    assert "function_calling_enabled" in str(caught.value)
    assert stub.requests == []


async def test_openai_compatible_providers_default_to_their_public_endpoints() -> None:
    seen: list[str] = []

    def answer(request: httpx2.Request) -> httpx2.Response:
        seen.append(str(request.url))
        message = {"role": "assistant", "content": "ok"}
        return httpx2.Response(200, json={"choices": [{"index": 0, "message": message}], "model": "m"})

    for provider in ("OPEN_AI", "FIREWORKS", "TOGETHER_AI", "NVIDIA_NIM"):
        config = ProviderConfig(provider=provider, api_key=KEY)
        async with LlmClient(config, transport=httpx2.MockTransport(answer)) as llm:
            await llm.complete(judge_request())

    assert seen == [
        "https://api.openai.com/v1/chat/completions",
        "https://api.fireworks.ai/inference/v1/chat/completions",
        "https://api.together.xyz/v1/chat/completions",
        "https://integrate.api.nvidia.com/v1/chat/completions",
    ]


async def test_the_stub_runs_as_its_own_process_for_benchmarks() -> None:
    command = [sys.executable, "-m", "tests.stubs.llm_server", "--port", "0", "--latency-ms", "5", "--label", "yes"]
    async with await anyio.open_process(command) as process:
        try:
            assert process.stdout is not None
            line = b""
            with anyio.fail_after(20):
                while not line.endswith(b"\n"):
                    line += await process.stdout.receive(1)
            url = line.decode().split()[-1]
            assert url.startswith("http://127.0.0.1:")
            async with LlmClient(ProviderConfig(provider="CUSTOM", base_url=f"{url}/v1")) as llm:
                text = (await llm.complete(judge_request())).text
                called = await llm.complete(judge_request(tools=[LABEL_TOOL], tool_choice="record_label"))
        finally:
            process.terminate()
            with anyio.fail_after(20):
                await process.wait()

    assert text == "yes"
    # "yes" is not one of the tool's labels, so the stub answers with the first label the tool allows.
    assert called.tool_calls[0].arguments["label"] == "factual"
