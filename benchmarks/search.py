"""Span search at scale: p50/p95 of ``POST /v2/spans`` filters over N spans in one project (goal: p50 < 100 ms
at 1,000,000 spans, < 300 ms at 10,000,000), and OTLP/JSON ingest throughput.

The dataset is built straight through the store's own upsert path (``upsert_spans``, the path OTLP ingest ends
in, search index included; evaluations through ``upsert_evaluation``, as the runner writes them), not over HTTP:
1M spans take about seven minutes, most of it indexing. Spans arrive in random time order over six days, in
traces of five, with OpenInference attributes (``input.value``, ``output.value``, ``llm.model_name``, token
counts, a JSON ``metadata`` string, messages, invocation parameters); 10% carry a ``correctness`` evaluation. The
built database is cached under the temp directory, keyed by the parameters and the schema's migrations, so a
rerun only queries.

Queries go through the engine's ASGI app in-process (the route, the filter compiler and the store, as a client
sees them), limit 50, each timed ``--repeats`` times after one warm-up.

    python benchmarks/search.py [--spans 1000000] [--repeats 15] [--ingest-spans 20000]
    python benchmarks/search.py --spans 10000000   # about 28 GB and over an hour to build (bound: 300 ms)

Prints the disk size and bytes per span, the build rate, OTLP/JSON and OTLP/protobuf ingest into a fresh engine
(spans per CPU-second and per wall second), then each query's p50/p95 and the ratio of its p50 to the bound.
"""

from __future__ import annotations

import argparse
import hashlib
import json
import os
import random
import shutil
import statistics
import sys
import tempfile
import time
from dataclasses import dataclass
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import anyio
import httpx2

ROOT = Path(__file__).resolve().parents[1]
if str(ROOT) not in sys.path:
    sys.path.insert(0, str(ROOT))

from arize_skills.engine import Engine  # noqa: E402
from arize_skills.engine.engine import DATABASE_FILE  # noqa: E402
from arize_skills.engine.ingest.otlp import decode_request  # noqa: E402
from arize_skills.engine.store.evaluations import upsert_evaluation  # noqa: E402
from arize_skills.engine.store.migrations import MIGRATIONS  # noqa: E402
from arize_skills.engine.store.spans import SpanRecord, span_key, upsert_spans  # noqa: E402
from tests.engine.otlp_payloads import export_body, span  # noqa: E402

PROJECT = "search-bench"
DATA_VERSION = 2
"""Bump when the generated data or the index layout changes, so cached databases are rebuilt."""
DAYS = 6
TRACE_SPANS = 5
EVAL_SHARE = 0.10
USERS = 100
NEEDLE = "kumquat"
NEEDLE_SHARE = 0.001
BATCH = 10_000

_SYLLABLES = [a + b for a in "bcdfghjklmnprstvwz" for b in ("a", "e", "i", "o", "u", "ai", "ou", "ee")]
_MODELS = ["gpt-4o", "gpt-4o-mini", "claude-3-5-sonnet", "llama-3.1-70b"]
_KINDS = ["LLM", "RETRIEVER", "TOOL", "LLM"]
_NAMES = {"LLM": "ChatCompletion", "RETRIEVER": "retrieve", "TOOL": "search_tool", "CHAIN": "agent_run"}


@dataclass
class Query:
    """One timed search: a label, its filter (or none) and an optional window narrower than the dataset's."""

    label: str
    filter: str | None
    hours: float | None = None


QUERIES = [
    Query("latest page (no filter)", None),
    Query("attribute = nothing", "attributes.llm.model_name = 'no-such-model'"),
    Query("attribute = 1%", "attributes.user.id = 'user-7'"),
    Query("attribute = 50% (nested metadata)", "metadata.environment = 'staging'"),
    Query("attribute = 1% + 1 h window", "attributes.user.id = 'user-7'", hours=1),
    Query("contains nothing", "attributes.input.value LIKE '%zzqxj%'"),
    Query("contains 0.1%", f"attributes.input.value LIKE '%{NEEDLE}%'"),
    Query("name = nothing", "name = 'nope'"),
    Query("name = 15%", "name = 'retrieve'"),
    Query("eval label, no such eval", "eval.hallucination.label = 'hallucinated'"),
    Query("eval label ~3%", "eval.correctness.label = 'incorrect'"),
    Query("eval score < 0.01 (~0.1%)", "eval.correctness.score < 0.01"),
    Query("status = ERROR (~3%)", "status_code = 'ERROR'"),
    Query("span_kind + latency", "span_kind = 'LLM' AND latency_ms > 9000"),
]


def _words(rng: random.Random, count: int) -> str:
    return " ".join(rng.choice(_SYLLABLES) + rng.choice(_SYLLABLES) for _ in range(count))


def make_trace(rng: random.Random, number: int, start_ns: int) -> tuple[list[SpanRecord], bool]:
    """One trace of ``TRACE_SPANS`` spans (a CHAIN root and its children); whether its root holds the needle."""
    trace_id = f"{rng.getrandbits(128):032x}"
    session = f"session-{rng.randrange(50_000)}"
    user = f"user-{rng.randrange(USERS)}"
    environment = "staging" if rng.random() < 0.5 else "production"
    metadata = json.dumps({"environment": environment, "region": rng.choice(["eu", "us", "ap"]), "n": number})
    records: list[SpanRecord] = []
    root_id = f"{rng.getrandbits(64):016x}"
    has_needle = False
    for index in range(TRACE_SPANS):
        kind = "CHAIN" if index == 0 else rng.choice(_KINDS)
        span_id = root_id if index == 0 else f"{rng.getrandbits(64):016x}"
        begin = start_ns + index * 1_000_000
        latency_ms = min(rng.lognormvariate(6.5, 0.9), 20_000.0)
        question = _words(rng, rng.randrange(20, 60))
        if rng.random() < NEEDLE_SHARE:
            question += f" {NEEDLE}"
            has_needle = True
        answer = _words(rng, rng.randrange(30, 90))
        attributes: dict[str, Any] = {
            "openinference.span.kind": kind,
            "input.value": question,
            "input.mime_type": "text/plain",
            "output.value": answer,
            "output.mime_type": "text/plain",
            "session.id": session,
            "user.id": user,
            "metadata": metadata,
        }
        if kind == "LLM":
            prompt, completion = rng.randrange(50, 4000), rng.randrange(10, 1000)
            attributes.update(
                {
                    "llm.model_name": rng.choice(_MODELS),
                    "llm.token_count.prompt": prompt,
                    "llm.token_count.completion": completion,
                    "llm.token_count.total": prompt + completion,
                    "llm.invocation_parameters": json.dumps({"temperature": 0.2, "max_tokens": 1024}),
                    "llm.input_messages.0.message.role": "user",
                    "llm.input_messages.0.message.content": question,
                    "llm.output_messages.0.message.role": "assistant",
                    "llm.output_messages.0.message.content": answer,
                }
            )
        elif kind == "TOOL":
            attributes["tool.name"] = "web_search"
        error = rng.random() < 0.03
        records.append(
            SpanRecord(
                trace_id=trace_id,
                span_id=span_id,
                parent_id=None if index == 0 else root_id,
                name=_NAMES[kind],
                kind=kind,
                start_ns=begin,
                end_ns=begin + int(latency_ms * 1_000_000),
                status_code="ERROR" if error else "OK",
                status_message="upstream timeout" if error else None,
                attributes=attributes,
                resource={"service.name": "bench-app"},
            )
        )
    return records, has_needle


def cache_path(spans: int, seed: int) -> Path:
    """Where the database built for these parameters and this schema is kept."""
    schema = hashlib.sha256(json.dumps([migration[:2] for migration in MIGRATIONS]).encode()).hexdigest()[:10]
    key = f"n{spans}-s{seed}-v{DATA_VERSION}-{schema}"
    return Path(tempfile.gettempdir()) / "arize-skills-search-bench" / key


def _count_file_bytes(home: Path) -> int:
    return sum(p.stat().st_size for p in home.iterdir() if p.name.startswith(DATABASE_FILE))


async def build(home: Path, spans: int, seed: int, base_ns: int) -> tuple[float, int]:
    """Build the dataset in ``home``; returns the seconds it took and the number of evaluations written."""
    rng = random.Random(seed)
    window_ns = DAYS * 86_400 * 10**9
    evaluations = 0
    started = time.perf_counter()
    async with Engine.open(home) as engine:

        def project_num(conn: Any) -> int:
            return engine.default_project(conn, PROJECT).num

        num = await engine.store.write(project_num)
        now = engine.now()
        traces = spans // TRACE_SPANS
        done = 0
        while done < traces:
            batch: list[SpanRecord] = []
            for number in range(done, min(done + BATCH // TRACE_SPANS, traces)):
                records, _ = make_trace(rng, number, base_ns - rng.randrange(window_ns))
                batch.extend(records)
            done += len(batch) // TRACE_SPANS
            judged = [(r, rng.random()) for r in batch if rng.random() < EVAL_SHARE]

            def write(
                conn: Any, batch: list[SpanRecord] = batch, judged: list[tuple[SpanRecord, float]] = judged
            ) -> None:
                upsert_spans(conn, num, batch, now=now)
                for record, score in judged:
                    upsert_evaluation(
                        conn,
                        "span",
                        span_key(num, record.span_id),
                        "correctness",
                        now=now,
                        label="incorrect" if score < 0.3 else "correct",
                        score=score,
                        explanation="judged by the benchmark",
                    )

            await engine.store.write(write)
            evaluations += len(judged)
            if done % (100_000 // TRACE_SPANS) == 0:
                rate = done * TRACE_SPANS / (time.perf_counter() - started)
                print(f"  built {done * TRACE_SPANS:,} spans ({rate:,.0f} spans/s)", flush=True)
    return time.perf_counter() - started, evaluations


async def prepare(spans: int, seed: int, rebuild: bool) -> tuple[Path, int]:
    """The cached home for these parameters (built if missing); returns it and the dataset's end in ns."""
    home = cache_path(spans, seed)
    meta = home.with_suffix(".json")
    if rebuild and home.exists():
        shutil.rmtree(home)
        meta.unlink(missing_ok=True)
    if meta.exists():
        info = json.loads(meta.read_text())
        print(f"cached dataset: {home} ({info['spans']:,} spans, built in {info['build_s']:.0f} s)")
    else:
        if home.exists():
            shutil.rmtree(home)
        home.mkdir(mode=0o700, parents=True)
        base_ns = time.time_ns()
        print(f"building {spans:,} spans in {home} ...", flush=True)
        seconds, evaluations = await build(home, spans, seed, base_ns)
        info = {"spans": spans, "base_ns": base_ns, "build_s": seconds, "evaluations": evaluations}
        meta.write_text(json.dumps(info))
        print(f"built {spans:,} spans and {evaluations:,} evaluations in {seconds:.1f} s ({spans / seconds:,.0f}/s)")
    size = _count_file_bytes(home)
    print(f"disk: {size / 2**20:,.0f} MiB, {size / spans:,.0f} bytes per span")
    return home, int(info["base_ns"])


async def ingest_rate(count: int, seed: int, wire: str = "json") -> float:
    """OTLP spans per CPU-second through ``POST /v1/traces`` (batches of 500, ``wire`` ``json`` or ``protobuf``)
    into a fresh engine on disk; also prints the wall-clock rate."""
    rng = random.Random(seed + 1)
    bodies: list[bytes] = []
    for start in range(0, count, 500):
        batch = []
        for n in range(start, min(start + 500, count), TRACE_SPANS):
            records, _ = make_trace(rng, n, time.time_ns() - rng.randrange(DAYS * 86_400 * 10**9))
            for r in records:
                attrs = {k: v for k, v in r.attributes.items() if k != "openinference.span.kind"}
                begin = datetime.fromtimestamp(r.start_ns / 1e9, UTC)
                batch.append(
                    span(
                        r.span_id,
                        trace_id=r.trace_id,
                        parent_id=r.parent_id,
                        name=r.name,
                        kind=r.kind,
                        start=begin,
                        duration_ms=(r.end_ns - r.start_ns) / 1e6,
                        attributes=attrs,
                        status=2 if r.status_code == "ERROR" else 1,
                    )
                )
        body = json.dumps(export_body(batch, project=PROJECT)).encode()
        bodies.append(body if wire == "json" else decode_request(body, "json").SerializeToString())
    content_type = "application/json" if wire == "json" else "application/x-protobuf"
    with tempfile.TemporaryDirectory() as folder:
        async with (
            Engine.open(Path(folder)) as engine,
            httpx2.AsyncClient(transport=engine.transport(), base_url="http://engine.test") as http,
        ):
            started, cpu = time.perf_counter(), time.process_time()
            for body in bodies:
                response = await http.post("/v1/traces", content=body, headers={"content-type": content_type})
                response.raise_for_status()
            elapsed, cpu = time.perf_counter() - started, time.process_time() - cpu
            size = _count_file_bytes(Path(folder))
    # CPU seconds (every thread of this process) say less about what else runs on the machine than wall time.
    print(
        f"ingest: {count:,} OTLP/{wire} spans in {elapsed:.2f} s = {count / elapsed:,.0f} spans/s wall, "
        f"{count / cpu:,.0f} spans per CPU-second ({size / count:,.0f} bytes per span on disk)"
    )
    return count / cpu


def _iso(ns: int) -> str:
    return datetime.fromtimestamp(ns / 1e9, UTC).isoformat()


async def run_queries(home: Path, base_ns: int, repeats: int, bound_ms: float) -> list[tuple[str, float, float]]:
    """Time each query; returns (label, p50 ms, p95 ms)."""
    results: list[tuple[str, float, float]] = []
    async with (
        Engine.open(home) as engine,
        httpx2.AsyncClient(transport=engine.transport(), base_url="http://engine.test", timeout=600) as http,
    ):
        listed = (await http.get("/v2/projects", params={"name": PROJECT})).json()
        project_id = listed["projects"][0]["id"]
        for query in QUERIES:
            end_ns = base_ns + 60 * 10**9
            start_ns = end_ns - int((query.hours or DAYS * 24 + 1) * 3600 * 10**9)
            # The 1 h window sits mid-dataset, so it holds about 1/144 of the spans.
            if query.hours is not None:
                end_ns -= DAYS * 43_200 * 10**9
                start_ns -= DAYS * 43_200 * 10**9
            body: dict[str, Any] = {"project_id": project_id, "start_time": _iso(start_ns), "end_time": _iso(end_ns)}
            if query.filter is not None:
                body["filter"] = query.filter
            times: list[float] = []
            found = 0
            for attempt in range(repeats + 1):
                started = time.perf_counter()
                response = await http.post("/v2/spans", params={"limit": 50}, json=body)
                elapsed = (time.perf_counter() - started) * 1000
                response.raise_for_status()
                found = len(response.json()["spans"])
                if attempt:
                    times.append(elapsed)
            times.sort()
            p50 = statistics.median(times)
            p95 = times[min(len(times) - 1, round(0.95 * (len(times) - 1)))]
            results.append((query.label, p50, p95))
            print(
                f"{query.label:36} {found:3} rows  p50 {p50:8.1f} ms  p95 {p95:8.1f} ms  "
                f"ratio {p50 / bound_ms:5.2f} (bound {bound_ms:g} ms)",
                flush=True,
            )
    return results


async def main(args: argparse.Namespace) -> int:
    """Build (or reuse) the dataset, measure ingest, time the queries; 0 when every p50 is within the bound."""
    home, base_ns = await prepare(args.spans, args.seed, args.rebuild)
    if args.ingest_spans:
        for wire in ("json", "protobuf"):
            await ingest_rate(args.ingest_spans, args.seed, wire)
    bound = 100.0 if args.spans <= 1_000_000 else 300.0
    results = await run_queries(home, base_ns, args.repeats, bound)
    worst = max(p50 for _, p50, _ in results)
    print(f"worst p50 {worst:.1f} ms, ratio {worst / bound:.2f} to the {bound:g} ms bound")
    if args.drop:
        shutil.rmtree(home)
        home.with_suffix(".json").unlink()
    return 0 if worst < bound else 1


if __name__ == "__main__":
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--spans", type=int, default=1_000_000)
    parser.add_argument("--repeats", type=int, default=15)
    parser.add_argument("--seed", type=int, default=12)
    parser.add_argument("--ingest-spans", type=int, default=20_000, help="OTLP/JSON spans to time (0: skip)")
    parser.add_argument("--rebuild", action="store_true", help="rebuild the cached dataset")
    parser.add_argument("--drop", action="store_true", help="delete the cached dataset afterwards")
    os.environ.setdefault("PYTHONHASHSEED", "0")
    raise SystemExit(anyio.run(main, parser.parse_args()))
