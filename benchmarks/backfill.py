"""Backfill throughput: N spans judged by a stub LLM at a fixed latency L with C concurrent calls.

The bound is C / L spans per second (every call slot busy all the time). The stub runs as a separate process
(``python -m tests.stubs.llm_server``) so its own work does not share the engine's event loop; the engine runs
in-process with its runner driven by ``run_until_idle``.

    python benchmarks/backfill.py [--spans 10000] [--latency-ms 50 10] [--concurrency 32] [--runs 3]
                                  [--profile FILE] [--stub-server lite|uvicorn]

For each latency it runs the backfill ``--runs`` times (a fresh engine and stub each time) and prints every run
and the medians: spans/s, the ratio to the bound (aims: >= 0.9 at 50 ms, >= 0.6 at 10 ms) and the engine
process's CPU time per judged span (all its threads, measured over the backfill only; aim: <= 0.4 ms).
Where ``/proc`` tells, each run also shows the event loop thread's share of that CPU (the rest is the store's
worker threads) and how busy the stub was. ``--profile FILE`` writes a cProfile of the event loop's thread during
the backfill of the last run (the store's worker thread is not in it; profiling slows the run, so that run's
figures are not comparable). ``--stub-server uvicorn`` serves the stub with uvicorn, as before the stub had its
own lean server (it then costs more CPU per request than the engine, which on a two-core machine shows in the
ratios).
"""

from __future__ import annotations

import argparse
import cProfile
import os
import re
import statistics
import subprocess
import sys
import tempfile
import time
from dataclasses import dataclass
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


def start_stub(latency_ms: float, server: str = "lite") -> tuple[subprocess.Popen[str], str]:
    """Start the stub LLM server on a free port; returns the process and its URL."""
    process = subprocess.Popen(
        [
            sys.executable,
            *("-m", "tests.stubs.llm_server", "--port", "0", "--latency-ms", str(latency_ms), "--server", server),
        ],
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


def process_cpu(pid: int, thread: int | None = None) -> float | None:
    """CPU seconds (user + system) a process (or one of its threads) has used so far, where ``/proc`` tells."""
    path = f"/proc/{pid}/stat" if thread is None else f"/proc/{pid}/task/{thread}/stat"
    try:
        fields = Path(path).read_text().rsplit(")", 1)[1].split()
    except (OSError, IndexError):
        return None
    return (int(fields[11]) + int(fields[12])) / os.sysconf("SC_CLK_TCK")


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


@dataclass(frozen=True)
class Figures:
    """One backfill's result."""

    scored: int
    errors: int
    seconds: float
    cpu_seconds: float
    bound: float
    stub_cpu_seconds: float | None = None
    loop_cpu_seconds: float | None = None

    @property
    def rate(self) -> float:
        """Judged spans per second."""
        return self.scored / self.seconds

    @property
    def ratio(self) -> float:
        """The rate over the bound C/L."""
        return self.rate / self.bound

    @property
    def stub_busy(self) -> float | None:
        """The share of one core the stub used during the backfill (where ``/proc`` tells)."""
        return None if self.stub_cpu_seconds is None else self.stub_cpu_seconds / self.seconds

    @property
    def loop_share(self) -> float:
        """The share of the engine's CPU time spent on the event loop's thread (the rest: the store's workers)."""
        return (self.loop_cpu_seconds or 0.0) / self.cpu_seconds if self.cpu_seconds else 0.0

    @property
    def cpu_ms_per_span(self) -> float:
        """The engine process's CPU milliseconds per judged span."""
        return self.cpu_seconds * 1000 / max(1, self.scored)


async def backfill(
    spans: int, latency_ms: float, concurrency: int, profile: cProfile.Profile | None, stub_server: str = "lite"
) -> Figures:
    """One run: a fresh stub and engine, the spans seeded, then one backfill of them measured."""
    process, url = start_stub(latency_ms, stub_server)
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
                # process_time counts every thread of this process (the store's worker too), not the stub's.
                cpu_started, started = time.process_time(), time.perf_counter()
                stub_started = process_cpu(process.pid)
                # On Linux the main thread's ID is the process ID: this is the event loop's own share.
                loop_started = process_cpu(os.getpid(), os.getpid())
                if profile is not None:
                    profile.enable()
                await engine.runner.run_until_idle()
                if profile is not None:
                    profile.disable()
                elapsed, cpu = time.perf_counter() - started, time.process_time() - cpu_started
                stub_ended = process_cpu(process.pid)
                loop_ended = process_cpu(os.getpid(), os.getpid())
                done = await client.request("GET", f"/v2/task-runs/{run['id']}")
    finally:
        process.terminate()
        process.wait(timeout=10)
    if done["status"] != "COMPLETED":
        raise RuntimeError(f"the backfill ended {done['status']}: {done.get('failure_reason')}")
    stub_cpu = None if stub_started is None or stub_ended is None else stub_ended - stub_started
    loop_cpu = None if loop_started is None or loop_ended is None else loop_ended - loop_started
    bound = concurrency / (latency_ms / 1000)
    return Figures(int(done["num_successes"]), int(done["num_errors"]), elapsed, cpu, bound, stub_cpu, loop_cpu)


async def main(
    spans: int, latencies: list[float], concurrency: int, runs: int, profile_to: str | None, stub_server: str
) -> None:
    """Run the benchmark for each latency and print every run and the medians."""
    for latency_ms in latencies:
        results: list[Figures] = []
        for number in range(1, runs + 1):
            profile = cProfile.Profile() if profile_to and number == runs else None
            figures = await backfill(spans, latency_ms, concurrency, profile, stub_server)
            results.append(figures)
            print(
                f"L={latency_ms:g} ms run {number}: {figures.scored} scored, {figures.errors} errors in "
                f"{figures.seconds:.2f} s, {figures.rate:.0f} spans/s, ratio {figures.ratio:.2f}, "
                f"CPU {figures.cpu_ms_per_span:.3f} ms/span"
                + ("" if figures.loop_cpu_seconds is None else f", {figures.loop_share:.0%} of it the event loop's")
                + ("" if figures.stub_busy is None else f"; the stub used {figures.stub_busy:.0%} of a core"),
                flush=True,
            )
            if profile is not None and profile_to:
                target = profile_to if len(latencies) == 1 else f"{profile_to}.{latency_ms:g}ms"
                profile.dump_stats(target)
                print(f"profile of run {number} written to {target}", flush=True)
        bound = concurrency / (latency_ms / 1000)
        print(
            f"L={latency_ms:g} ms, C={concurrency}, bound C/L = {bound:.0f} spans/s, medians of {runs}: "
            f"{statistics.median(r.rate for r in results):.0f} spans/s, "
            f"ratio {statistics.median(r.ratio for r in results):.2f}, "
            f"CPU {statistics.median(r.cpu_ms_per_span for r in results):.3f} ms per judged span",
            flush=True,
        )


if __name__ == "__main__":
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--spans", type=int, default=10_000)
    parser.add_argument("--latency-ms", type=float, nargs="+", default=[50.0, 10.0])
    parser.add_argument("--concurrency", type=int, default=32)
    parser.add_argument("--runs", type=int, default=3)
    parser.add_argument("--profile", metavar="FILE", help="write a cProfile of the last run's backfill")
    parser.add_argument(
        "--stub-server", choices=["lite", "uvicorn"], default="lite", help="how the stub serves (see its --server)"
    )
    args = parser.parse_args()
    anyio.run(main, args.spans, args.latency_ms, args.concurrency, max(1, args.runs), args.profile, args.stub_server)
