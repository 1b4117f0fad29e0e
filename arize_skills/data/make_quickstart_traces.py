"""Make ``quickstart_traces.jsonl.gz``: the customer-support agent traces ``arize-skills quickstart`` sends.

Run ``python -m arize_skills.data.make_quickstart_traces`` to rewrite the file; the seed is fixed and gzip's
timestamp is zeroed, so the output is byte-for-byte reproducible.

Each line is one trace: ``{"trace_id", "session_id", "scenario", "truth", "candidate_output", "candidate_truth",
"body"}``. ``body`` is an OTLP/JSON ``ExportTraceServiceRequest`` whose times count from ``BASE_TIME``
(the quickstart shifts them to end just before now). ``truth`` is the human label of the agent's final reply
(``factual`` or ``hallucinated`` against what its tools returned); ``candidate_output`` / ``candidate_truth``
are what a revised, grounded prompt answered for the same request, for the experiment comparison.

Scenarios: ``ok``; ``slow`` (a tool call taking seconds); ``tool_error_handled`` (the tool failed and the
agent said so); ``tool_error_ignored`` (the tool failed and the agent made an answer up); ``hallucinated_order``
(the reply cites an order number no tool returned); ``wrong_refund`` (the reply states a refund amount other
than the one issued); ``frustrated`` (a user repeating themselves across a session).
"""

from __future__ import annotations

import gzip
import json
import random
from collections.abc import Mapping
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

from ..engine.ingest.otlp import encode_attributes

__all__ = ["BASE_TIME", "DATA_FILE", "SEED", "make_traces", "write"]

SEED = 20260810
BASE_TIME = datetime(2026, 1, 1, tzinfo=UTC)
DATA_FILE = Path(__file__).with_name("quickstart_traces.jsonl.gz")

PLAN: tuple[tuple[str, int], ...] = (
    ("ok", 28),
    ("slow", 6),
    ("tool_error_handled", 4),
    ("tool_error_ignored", 4),
    ("hallucinated_order", 6),
    ("wrong_refund", 5),
    ("frustrated", 7),
)
"""How many traces of each scenario (60 in all)."""

_PRODUCTS = [
    "trail running shoes",
    "rain jacket",
    "espresso grinder",
    "wool socks (3-pack)",
    "desk lamp",
    "yoga mat",
    "bluetooth speaker",
    "cast-iron skillet",
]
_CARRIERS = ["UPS", "FedEx", "DHL"]
_KB = {
    "returns": "Items can be returned within 30 days of delivery for a full refund to the original payment method.",
    "shipping": "Standard shipping takes 3-5 business days; express shipping takes 1-2 business days.",
    "warranty": "Electronics carry a 1-year limited warranty covering manufacturing defects.",
    "exchanges": "Exchanges for a different size are free; the new item ships when the return is scanned.",
}
_FRUSTRATED_OPENERS = [
    "This is the third time I'm asking.",
    "Seriously, this is ridiculous.",
    "I already told you this, are you even reading?",
    "Useless. Let me talk to a human.",
]


class _Ids:
    def __init__(self, rng: random.Random) -> None:
        self.rng = rng

    def trace(self) -> str:
        return f"{self.rng.getrandbits(128):032x}"

    def span(self) -> str:
        return f"{self.rng.getrandbits(64):016x}"


def _span(
    trace_id: str,
    span_id: str,
    parent: str | None,
    name: str,
    kind: str,
    start: datetime,
    ms: float,
    attributes: Mapping[str, Any],
    error: str | None = None,
) -> dict[str, Any]:
    def nanos(moment: datetime) -> int:
        return round((moment - BASE_TIME).total_seconds() * 1000) * 1_000_000

    attrs = {"openinference.span.kind": kind, **attributes}
    span: dict[str, Any] = {
        "traceId": trace_id,
        "spanId": span_id,
        "name": name,
        "kind": 1,
        "startTimeUnixNano": str(nanos(start)),
        "endTimeUnixNano": str(nanos(start + timedelta(milliseconds=ms))),
        "attributes": encode_attributes(attrs),
        "status": {"code": 2, "message": error} if error else {"code": 1},
    }
    if parent:
        span["parentSpanId"] = parent
    return span


def _llm_attrs(rng: random.Random, model: str, prompt: str, output: str) -> dict[str, Any]:
    prompt_tokens = 180 + len(prompt) // 4 + rng.randint(0, 40)
    completion_tokens = 20 + len(output) // 4
    return {
        "llm.model_name": model,
        "llm.provider": "openai",
        "llm.token_count.prompt": prompt_tokens,
        "llm.token_count.completion": completion_tokens,
        "llm.token_count.total": prompt_tokens + completion_tokens,
        "input.value": prompt,
        "output.value": output,
    }


def _request(rng: random.Random, scenario: str, order: str, product: str) -> tuple[str, str]:
    """The intent (tool) and the user's message."""
    if scenario == "wrong_refund":
        return "issue_refund", f"My {product} arrived broken. Please refund order {order}."
    if scenario in ("hallucinated_order", "tool_error_ignored", "tool_error_handled", "slow"):
        intent = rng.choice(["lookup_order", "lookup_order", "issue_refund"])
    else:
        intent = rng.choice(["lookup_order", "issue_refund", "search_kb", "search_kb"])
    if intent == "lookup_order":
        return intent, rng.choice(
            [
                f"Where is my order {order}?",
                f"Has order {order} shipped yet?",
                f"When will my {product} (order {order}) arrive?",
            ]
        )
    if intent == "issue_refund":
        return intent, rng.choice(
            [
                f"I want a refund for order {order}, the {product} doesn't fit.",
                f"Please refund order {order}, I changed my mind about the {product}.",
            ]
        )
    topic = rng.choice(sorted(_KB))
    question = {
        "returns": "How long do I have to return something?",
        "shipping": "How long does shipping take?",
        "warranty": f"Is the {product} covered by a warranty?",
        "exchanges": "Can I exchange shoes for a different size?",
    }[topic]
    return f"search_kb:{topic}", question


def _trace(
    rng: random.Random, ids: _Ids, scenario: str, start: datetime, session: str, user: str, turn: int
) -> dict[str, Any]:
    trace_id = ids.trace()
    order = f"ORD-{rng.randint(100000, 999999)}"
    product = rng.choice(_PRODUCTS)
    price = round(rng.uniform(19, 240), 2)
    intent, message = _request(rng, scenario, order, product)
    if scenario == "frustrated":
        message = f"{_FRUSTRATED_OPENERS[min(turn, len(_FRUSTRATED_OPENERS) - 1)]} {message}"
    model = "gpt-4o-mini"
    spans: list[dict[str, Any]] = []
    root, route, plan, tool, reply_id = ids.span(), ids.span(), ids.span(), ids.span(), ids.span()
    t = start
    plan_ms = rng.uniform(350, 900)
    tool_ms = rng.uniform(8000, 14000) if scenario == "slow" else rng.uniform(40, 400)
    reply_ms = rng.uniform(500, 1600)
    error: str | None = None

    # The tool (or retriever) and what it returned: the ground truth the reply must stick to.
    if intent.startswith("search_kb"):
        topic = intent.split(":", 1)[1]
        tool_name, tool_kind = "search_kb", "RETRIEVER"
        others = [k for k in sorted(_KB) if k != topic]
        docs = [(topic, _KB[topic], 0.91), (others[0], _KB[others[0]], 0.42)]
        tool_attrs: dict[str, Any] = {"input.value": message}
        for i, (doc_id, text, score) in enumerate(docs):
            tool_attrs[f"retrieval.documents.{i}.document.id"] = f"kb-{doc_id}"
            tool_attrs[f"retrieval.documents.{i}.document.content"] = text
            tool_attrs[f"retrieval.documents.{i}.document.score"] = score
        context = _KB[topic]
        answer = f"{context} Let me know if there is anything else I can help with."
        tool_args: dict[str, Any] = {"query": message}
    else:
        tool_name, tool_kind = intent, "TOOL"
        tool_args = {"order_id": order}
        if scenario in ("tool_error_handled", "tool_error_ignored"):
            error = rng.choice(
                ["upstream timeout: orders-db did not answer in 5000 ms", "503 Service Unavailable from payments-api"]
            )
            result_text = f"ERROR {error}"
            context = result_text
        elif intent == "lookup_order":
            days = rng.randint(1, 5)
            carrier = rng.choice(_CARRIERS)
            result = {"order_id": order, "status": "shipped", "carrier": carrier, "eta_days": days, "item": product}
            result_text = json.dumps(result)
            context = result_text
            answer = f"Your order {order} ({product}) has shipped with {carrier} and should arrive in {days} days."
        else:
            refund = price if scenario != "wrong_refund" else round(price * 0.5, 2)
            result = {
                "order_id": order,
                "refund_id": f"RF-{rng.randint(10000, 99999)}",
                "amount": refund,
                "currency": "USD",
                "status": "issued",
            }
            result_text = json.dumps(result)
            context = result_text
            answer = f"I've issued a refund of ${refund:.2f} for order {order}; it will appear in 5-7 business days."
        tool_attrs = {
            "tool.name": tool_name,
            "tool.parameters": json.dumps(tool_args),
            "input.value": json.dumps(tool_args),
            "output.value": result_text,
        }

    truth = "factual"
    if scenario == "tool_error_handled":
        answer = (
            "I'm sorry, our order system isn't responding right now, so I can't check that. "
            "Please try again in a few minutes."
        )
    elif scenario == "tool_error_ignored":
        answer = (
            f"Your order {order} has shipped and should arrive in 2 days."
            if intent == "lookup_order"
            else f"I've issued a full refund of ${price:.2f} for order {order}."
        )
        truth = "hallucinated"
    elif scenario == "hallucinated_order":
        other = f"ORD-{rng.randint(100000, 999999)}"
        answer = answer.replace(order, other) if order in answer else f"{answer} (reference {other})"
        truth = "hallucinated"
    elif scenario == "wrong_refund":
        answer = f"I've issued a full refund of ${price:.2f} for order {order}; it will appear in 5-7 business days."
        truth = "hallucinated"
    if scenario == "frustrated":
        answer = f"I'm sorry for the trouble. {answer}"

    # The revised prompt grounds the reply in the tool result: it fixes most made-up answers, not all.
    candidate, candidate_truth = answer, truth
    if truth == "hallucinated" and rng.random() < 0.8:
        candidate_truth = "factual"
        candidate = (
            "I'm sorry, I couldn't reach our order system just now; please try again shortly."
            if error
            else _grounded(context, order)
        )
    elif truth == "factual" and rng.random() < 0.05:
        candidate_truth = "hallucinated"
        candidate = f"{answer} You'll also get a 10% discount code by email."

    total_ms = plan_ms + tool_ms + reply_ms + 60
    spans.append(
        _span(
            trace_id,
            root,
            None,
            "support_agent",
            "AGENT",
            t,
            total_ms,
            {"input.value": message, "output.value": answer, "session.id": session, "user.id": user},
        )
    )
    spans.append(
        _span(
            trace_id,
            route,
            root,
            "handle_request",
            "CHAIN",
            t + timedelta(milliseconds=10),
            total_ms - 20,
            {"input.value": message, "output.value": answer},
        )
    )
    plan_out = json.dumps({"tool": tool_name, "arguments": tool_args})
    spans.append(
        _span(
            trace_id,
            plan,
            route,
            "choose_tool",
            "LLM",
            t + timedelta(milliseconds=20),
            plan_ms,
            _llm_attrs(rng, model, message, plan_out),
        )
    )
    tool_start = t + timedelta(milliseconds=30 + plan_ms)
    spans.append(_span(trace_id, tool, route, tool_name, tool_kind, tool_start, tool_ms, tool_attrs, error))
    reply_start = tool_start + timedelta(milliseconds=tool_ms + 10)
    reply_attrs = _llm_attrs(rng, model, message, answer)
    reply_attrs["metadata.context"] = context
    spans.append(_span(trace_id, reply_id, route, "compose_reply", "LLM", reply_start, reply_ms, reply_attrs))
    return {
        "trace_id": trace_id,
        "session_id": session,
        "scenario": scenario,
        "reply_span_id": reply_id,
        "truth": truth,
        "candidate_output": candidate,
        "candidate_truth": candidate_truth,
        "body": {
            "resourceSpans": [
                {
                    "resource": {"attributes": [{"key": "service.name", "value": {"stringValue": "support-agent"}}]},
                    "scopeSpans": [{"scope": {"name": "openinference.instrumentation"}, "spans": spans}],
                }
            ]
        },
    }


def _grounded(context: str, order: str) -> str:
    try:
        result = json.loads(context)
    except ValueError:
        return context
    if "refund_id" in result:
        return (
            f"I've issued a refund of ${result['amount']:.2f} for order {result['order_id']}; "
            "it will appear in 5-7 business days."
        )
    return (
        f"Your order {result['order_id']} ({result['item']}) has shipped with {result['carrier']} and should "
        f"arrive in {result['eta_days']} days."
    )


def make_traces(seed: int = SEED) -> list[dict[str, Any]]:
    """The traces, oldest first, over six hours after ``BASE_TIME``."""
    rng = random.Random(seed)
    ids = _Ids(rng)
    scenarios = [name for name, count in PLAN for _ in range(count) if name != "frustrated"]
    rng.shuffle(scenarios)
    traces: list[dict[str, Any]] = []
    moment = BASE_TIME
    frustrated_left = dict(PLAN)["frustrated"]
    session_num = 0
    while scenarios or frustrated_left:
        session_num += 1
        session = f"sess-{session_num:04d}"
        user = f"user-{rng.randint(1000, 9999)}"
        # Frustrated users come back two or three times in one session.
        if frustrated_left and (not scenarios or rng.random() < 0.2):
            turns = min(frustrated_left, 3 if frustrated_left != 2 else 2)
            frustrated_left -= turns
            kinds = ["frustrated"] * turns
        else:
            kinds = [scenarios.pop()]
        for turn, kind in enumerate(kinds):
            traces.append(_trace(rng, ids, kind, moment, session, user, turn))
            moment += timedelta(seconds=rng.randint(60, 420))
    return traces


def write(path: Path = DATA_FILE, seed: int = SEED) -> Path:
    """Write the traces as gzipped JSON lines (reproducibly) and return the path."""
    lines = "".join(json.dumps(trace, sort_keys=True, separators=(",", ":")) + "\n" for trace in make_traces(seed))
    with path.open("wb") as raw, gzip.GzipFile(filename="", mode="wb", fileobj=raw, mtime=0) as out:
        out.write(lines.encode())
    return path


if __name__ == "__main__":
    written = write()
    print(f"wrote {written} ({written.stat().st_size} bytes)")  # noqa: T201
