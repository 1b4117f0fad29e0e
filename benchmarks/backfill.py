"""Backfill throughput: N spans judged by a stub LLM at a fixed latency L with C concurrent calls.

The bound is C / L spans per second (every call slot busy all the time). The stub runs as a separate process
(``python -m tests.stubs.llm_server``) so its own work does not share the engine's event loop; the engine runs
in-process with its runner driven by ``run_until_idle``.

    python benchmarks/backfill.py [--spans 10000] [--latency-ms 50] [--concurrency 32]

Prints the measured spans/s and its ratio to the bound (aim: >= 0.8).
"""

from __future__ import annotations

import argparse
import re
import subprocess
import sys
import tempfile
import time
from datetime import UTC, datetime, timedelta
from pathlib import Path

import anyio

ROOT = Path(__file__).resolve().parents[1]
if str(ROOT) not in sys.path:
    sys.path.insert(0, str(ROOT))

from arize_skills.client import AsyncArizeClient  # noqa: E402
from arize_skills.engine import Engine  # noqa: E402
from arize_skills.engine.runner.scheduler import Runner  # noqa: E402
from tests.engine.otlp_payloads import ingest, span  # noqa: E402

TEMPLATE = "Question: {input}\nAnswer: {output}\nIs the answer correct? Answer correct or incorrect."


def start_stub(latency_ms: float) -> tuple[subprocess.Popen[str], str]:
    """Start the stub LLM server on a free port; returns the process and its URL."""
    process = subprocess.Popen(
        [sys.executable, "-m", "tests.stubs.llm_server", "--port", "0", "--latency-ms", str(latency_ms)],
        cwd=ROOT,
        stdout=subprocess.PIPE,
        text=True,
    )
    assert process.stdout is not None
    line = process.stdout.readline()
    match = re.search(r"(http://127\.0\.0\.1:\d+)", line)
    if match is None:
        process.kill()
        raise RuntimeError(f"the stub did not start: {line!r}")
    return process, match.group(1)


async def wait_healthy(url: str) -> None:
    """Wait (bounded) until the stub answers its health check."""
    import httpx2

    async with httpx2.AsyncClient() as http:
        with anyio.fail_after(20):
            while True:
                try:
                    if (await http.get(f"{url}/health")).status_code == 200:
                        return
                except httpx2.TransportError:
                    pass
                await anyio.sleep(0.05)


async def seed(engine: Engine, client: AsyncArizeClient, spans: int, url: str) -> tuple[str, datetime]:
    """Ingest the spans and make the judge task; returns the task ID and the spans' base time."""
    base = datetime.now(UTC) - timedelta(hours=1)
    for start in range(0, spans, 1000):
        batch = [
            span(
                f"{n + 1:016x}",
                trace_id=f"{n + 1:032x}",
                start=base + timedelta(milliseconds=n),
                attributes={"input.value": f"question {n}", "output.value": f"answer {n}"},
            )
            for n in range(start, min(start + 1000, spans))
        ]
        await ingest(engine, "bench", batch)
    integration = await client.request(
        "POST",
        "/v2/ai-integrations",
        json_body={"name": "stub", "provider": "CUSTOM", "base_url": f"{url}/v1", "api_key": "sk-bench"},
    )
    evaluator = await client.request(
        "POST",
        "/v2/evaluators",
        json_body={
            "space_id": client.space,
            "name": "bench judge",
            "type": "TEMPLATE",
            "version": {
                "commit_message": "v1",
                "template_config": {
                    "name": "correctness",
                    "template": TEMPLATE,
                    "include_explanations": True,
                    "use_function_calling": True,
                    "classification_choices": {"correct": 1, "incorrect": 0},
                    "llm_config": {
                        "ai_integration_id": integration["id"],
                        "model_name": "stub-model",
                        "invocation_parameters": {},
                        "provider_parameters": {},
                    },
                },
            },
        },
    )
    projects = await client.request("GET", "/v2/projects", params={"name": "bench"})
    task = await client.request(
        "POST",
        "/v2/tasks",
        json_body={
            "name": "bench backfill",
            "type": "TEMPLATE_EVALUATION",
            "project_id": projects["projects"][0]["id"],
            "evaluators": [
                {
                    "evaluator_id": evaluator["id"],
                    "column_mappings": {"input": "attributes.input.value", "output": "attributes.output.value"},
                }
            ],
        },
    )
    return str(task["id"]), base


async def main(spans: int, latency_ms: float, concurrency: int) -> float:
    """Run the benchmark and print its result; returns the ratio to the bound."""
    process, url = start_stub(latency_ms)
    try:
        await wait_healthy(url)
        with tempfile.TemporaryDirectory() as home:
            async with Engine.open(Path(home)) as engine, AsyncArizeClient(transport=engine.transport()) as client:
                engine.runner = Runner(engine, llm_concurrency=concurrency)
                client.space = (await client.spaces.list()).items[0].id
                task_id, base = await seed(engine, client, spans, url)
                run = await client.request(
                    "POST",
                    f"/v2/tasks/{task_id}/trigger",
                    json_body={
                        "data_start_time": (base - timedelta(minutes=1)).isoformat(),
                        "data_end_time": (base + timedelta(minutes=30)).isoformat(),
                        "max_spans": spans,
                    },
                )
                started = time.perf_counter()
                await engine.runner.run_until_idle()
                elapsed = time.perf_counter() - started
                done = await client.request("GET", f"/v2/task-runs/{run['id']}")
    finally:
        process.terminate()
        process.wait(timeout=10)
    scored = int(done["num_successes"])
    rate = scored / elapsed
    bound = concurrency / (latency_ms / 1000)
    print(f"status {done['status']}: {scored} scored, {done['num_errors']} errors in {elapsed:.2f} s")
    print(f"throughput {rate:.0f} spans/s; bound C/L = {concurrency}/{latency_ms:g} ms = {bound:.0f} spans/s")
    print(f"ratio {rate / bound:.2f}")
    return rate / bound


if __name__ == "__main__":
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--spans", type=int, default=10_000)
    parser.add_argument("--latency-ms", type=float, default=50.0)
    parser.add_argument("--concurrency", type=int, default=32)
    args = parser.parse_args()
    anyio.run(main, args.spans, args.latency_ms, args.concurrency)
