"""Fixtures for driving the official ``arize`` SDK at the engine served on loopback HTTP.

The SDK is synchronous (urllib3), so these fixtures and the tests that use them are plain sync functions; the
engine runs in uvicorn on its own thread (the ``live_engine`` fixture of ``tests/conftest.py``).
"""

from __future__ import annotations

from collections.abc import Iterator
from dataclasses import dataclass

import pytest
from arize import ArizeClient
from arize._generated.api_client.models.evaluator_llm_config_request import EvaluatorLlmConfigRequest
from arize._generated.api_client.models.invocation_params_request import InvocationParamsRequest
from arize._generated.api_client.models.provider_params_request import ProviderParamsRequest
from arize.ai_integrations.types import AiIntegrationProvider
from arize.evaluators.types import OptimizationDirection, TemplateConfigInput
from opentelemetry.exporter.otlp.proto.http.trace_exporter import OTLPSpanExporter
from opentelemetry.sdk.resources import Resource
from opentelemetry.sdk.trace import TracerProvider
from opentelemetry.sdk.trace.export import SimpleSpanProcessor

from tests.conftest import LiveEngine

SDK_API_KEY = "conformance-sdk-key-7f3a9c"
"""The key the SDK sends; the engine runs without a token, so any key is accepted, and none may echo back."""

PROVIDER_API_KEY = "sk-conformance-provider-secret-91d2"
"""The provider key stored in the AI integration the judges use; no response may ever contain it."""

JUDGE_TEMPLATE = (
    "Question: {input}\nAnswer: {output}\n"
    "Is the answer supported by the question's facts? Respond with exactly one label: hallucinated or factual"
)


@pytest.fixture
def sdk(live_engine: LiveEngine) -> ArizeClient:
    """The official SDK configured at the engine the way an on-prem user would: host, scheme and port."""
    return ArizeClient(
        api_key=SDK_API_KEY,
        api_host=live_engine.host,
        api_scheme="http",
        api_port=live_engine.port,
        enable_caching=False,
    )


@pytest.fixture
def space_id(sdk: ArizeClient) -> str:
    """The ID of the engine's default space, as the SDK lists it."""
    spaces = sdk.spaces.list(name="default")
    assert spaces.spaces is not None
    matches = [s.id for s in spaces.spaces if s.name == "default"]
    assert len(matches) == 1 and matches[0] is not None
    return matches[0]


@pytest.fixture
def ai_integration_id(sdk: ArizeClient) -> str:
    """An OpenAI AI integration (with a provider key) for judges to point at."""
    integration = sdk.ai_integrations.create(
        name="judge-openai",
        provider=AiIntegrationProvider.OPEN_AI,
        api_key=PROVIDER_API_KEY,
        model_names=["gpt-4o-mini"],
    )
    assert integration.id is not None
    return integration.id


def judge_template(
    ai_integration_id: str, *, name: str = "hallucination", template: str = JUDGE_TEMPLATE
) -> TemplateConfigInput:
    """A binary LLM-as-judge template config as the SDK builds it for ``create_template_evaluator``."""
    return TemplateConfigInput(
        name=name,
        template=template,
        include_explanations=True,
        use_function_calling=True,
        classification_choices={"hallucinated": 0, "factual": 1},
        direction=OptimizationDirection.MAXIMIZE,
        llm_config=EvaluatorLlmConfigRequest(
            ai_integration_id=ai_integration_id,
            model_name="gpt-4o-mini",
            invocation_parameters=InvocationParamsRequest(temperature=0),
            provider_parameters=ProviderParamsRequest(),
        ),
    )


@dataclass(frozen=True)
class SentSpan:
    """One span sent through the OpenTelemetry exporter: its hex IDs as AX reports them."""

    name: str
    trace_id: str
    span_id: str


@pytest.fixture
def send_spans(live_engine: LiveEngine) -> Iterator[SpanSender]:
    """Send OpenInference spans to the engine's ``/v1/traces`` with the OTLP/HTTP exporter."""
    sender = SpanSender(live_engine)
    try:
        yield sender
    finally:
        sender.close()


class SpanSender:
    """A tracer provider whose spans are exported synchronously to the engine, one project per provider."""

    def __init__(self, live_engine: LiveEngine) -> None:
        self._endpoint = f"{live_engine.url}/v1/traces"
        self._providers: list[TracerProvider] = []

    def send(self, project_name: str, names: list[str]) -> list[SentSpan]:
        """Send one root LLM span per name into ``project_name`` and return their IDs once exported."""
        provider = TracerProvider(resource=Resource.create({"openinference.project.name": project_name}))
        provider.add_span_processor(SimpleSpanProcessor(OTLPSpanExporter(endpoint=self._endpoint, timeout=10)))
        self._providers.append(provider)
        tracer = provider.get_tracer("conformance")
        sent: list[SentSpan] = []
        for name in names:
            with tracer.start_as_current_span(name) as span:
                span.set_attribute("openinference.span.kind", "LLM")
                span.set_attribute("input.value", f"question for {name}")
                span.set_attribute("output.value", f"answer for {name}")
                context = span.get_span_context()
                sent.append(SentSpan(name, format(context.trace_id, "032x"), format(context.span_id, "016x")))
        assert provider.force_flush(10_000), "the OTLP exporter did not flush within 10 s"
        return sent

    def close(self) -> None:
        """Shut every provider down (flushes and stops the exporters)."""
        for provider in self._providers:
            provider.shutdown()
