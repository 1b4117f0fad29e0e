"""Experiment upload: the ``upload_experiment`` tool against the official SDK's REST path, on one engine, one run.

An engine serves on loopback from this process; a dataset of N examples is made once. Each upload runs in a
process of its own (started fresh for every upload, its imports done before the clock starts), so that neither
side shares the engine's interpreter and each process's peak RSS is its own:

- the SDK (``arize``, ``force_http=True``) creates an experiment with the first 1,000 runs and appends the rest
  1,000 a request, as its REST path does, from the runs already in memory;
- the tool (the MCP server on the Arize AX backend, pointed at the same engine, called through an in-memory MCP
  client in the same process) uploads the same N runs from a CSV file, then from a Parquet file (when pyarrow is
  installed).

Each upload is timed ``--repeats`` times, side by side; the medians are printed with the ratio tool/SDK (goal: at
most 0.8), then the CPU seconds each upload cost its own process and the engine (the clearer figure on a busy
machine: the tool's process and the engine work at the same time, the SDK and the engine in turn). Peak RSS is
the upload process's own high-water mark (``VmHWM`` in ``/proc/self/status``, read when the upload has returned):
the whole process (interpreter, imports, the MCP server and its client, the upload), compared with the 200 MB
bound; the peak the process had reached once its imports were done, before the upload started, is printed beside
it. The SDK's figures leave out reading its input (its runs are loaded before the clock starts); the tool's
include reading and checking the file.

    python benchmarks/upload.py [--runs 100000] [--repeats 3]
"""

from __future__ import annotations

import argparse
import asyncio
import csv
import json
import logging
import resource
import statistics
import subprocess
import sys
import tempfile
import time
from dataclasses import dataclass
from pathlib import Path
from typing import Any

ROOT = Path(__file__).resolve().parents[1]
if str(ROOT) not in sys.path:
    sys.path.insert(0, str(ROOT))

API_KEY = "ak-upload-benchmark"
GOAL = 0.8
RSS_BOUND_MB = 200.0


@dataclass(frozen=True)
class Target:
    """Where the served engine is, as a worker process needs it."""

    host: str
    port: int
    home: Path


def ax_settings(target: Target) -> Any:
    """Settings that send every call to the served engine as if it were Arize AX."""
    from arize_skills.settings import Settings

    return Settings.resolve(
        environ={
            "ARIZE_API_KEY": API_KEY,
            "ARIZE_SINGLE_HOST": target.host,
            "ARIZE_SINGLE_PORT": str(target.port),
            "ARIZE_API_SCHEME": "http",
            "ARIZE_SPACE": "default",
        },
        home=target.home,
        profile_dir=target.home.parent / "no-ax-profile",
    )


async def make_dataset(target: Target, count: int) -> tuple[str, list[str]]:
    """A dataset of ``count`` examples; its ID and its example IDs in order."""
    from arize_skills.client import AsyncArizeClient

    async with AsyncArizeClient.from_settings(ax_settings(target)) as client:
        client.space = await client.resolve.space_id("default")
        dataset = await client.datasets.create("upload-bench", [{"question": f"q{i}"} for i in range(count)])
        ids = [e.id async for e in client.datasets.list_examples(dataset.id, limit=500)]
    return dataset.id, ids


def run_rows(example_ids: list[str]) -> list[dict[str, Any]]:
    """One run per example: an output and an evaluation (label and score)."""
    return [
        {
            "example_id": example_id,
            "output": f"answer {n}",
            "eval.correctness.label": "correct" if n % 3 else "incorrect",
            "eval.correctness.score": 1.0 if n % 3 else 0.0,
        }
        for n, example_id in enumerate(example_ids)
    ]


def write_files(rows: list[dict[str, Any]], folder: Path) -> dict[str, Path]:
    """The runs as JSON (what the SDK worker loads), CSV, and Parquet when pyarrow is there."""
    files = {"json": folder / "runs.json", "csv": folder / "runs.csv"}
    files["json"].write_text(json.dumps(rows), encoding="utf-8")
    with files["csv"].open("w", newline="", encoding="utf-8") as handle:
        writer = csv.DictWriter(handle, fieldnames=list(rows[0]))
        writer.writeheader()
        writer.writerows(rows)
    try:
        import pyarrow as pa
        import pyarrow.parquet as pq
    except ImportError:
        return files
    files["parquet"] = folder / "runs.parquet"
    pq.write_table(pa.Table.from_pylist(rows), files["parquet"])
    return files


# --- the workers: one upload each, in a process of its own --------------------------------------------------------


def _cpu_seconds() -> float:
    usage = resource.getrusage(resource.RUSAGE_SELF)
    return usage.ru_utime + usage.ru_stime


def _rss_mb() -> float:
    """This process's peak RSS so far (``VmHWM``, the high-water mark of its own address space), in MB.

    Not ``ru_maxrss``: Linux carries the forking parent's high-water mark over an exec into the child's
    ``ru_maxrss``, so a child of this (large) benchmark process would report the parent's size.
    """
    for line in Path("/proc/self/status").read_text().splitlines():
        if line.startswith("VmHWM:"):
            return int(line.split()[1]) / 1024
    return resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024


def sdk_worker(target: Target, dataset_id: str, file: Path, name: str) -> dict[str, float]:
    """The official SDK's REST path: create with the first 1,000 runs, then append 1,000 a request."""
    import pandas as pd
    from arize import ArizeClient
    from arize.experiments.evaluators.types import EvaluationResultFieldNames
    from arize.experiments.types import ExperimentTaskFieldNames

    rows = json.loads(file.read_text(encoding="utf-8"))
    before = _rss_mb()
    cpu = _cpu_seconds()
    started = time.perf_counter()
    sdk = ArizeClient(
        api_key=API_KEY, api_host=target.host, api_scheme="http", api_port=target.port, enable_caching=False
    )
    fields = ExperimentTaskFieldNames(output="output", example_id="example_id")
    evaluators = {
        "correctness": EvaluationResultFieldNames(score="eval.correctness.score", label="eval.correctness.label")
    }
    sdk.experiments.create(
        name=name,
        dataset=dataset_id,
        experiment_runs=rows[:1000],
        task_fields=fields,
        evaluator_columns=evaluators,
        force_http=True,
    )
    for start in range(1000, len(rows), 1000):
        chunk = pd.DataFrame(rows[start : start + 1000])
        sdk.experiments.append_runs(experiment=name, dataset=dataset_id, experiment_runs=chunk)
    seconds = time.perf_counter() - started
    return {"seconds": seconds, "cpu": _cpu_seconds() - cpu, "rss_before_mb": before, "peak_rss_mb": _rss_mb()}


def tool_worker(target: Target, file: Path, name: str) -> dict[str, float]:
    """The ``upload_experiment`` tool, on the AX backend, reading ``file``."""
    from mcp import Client

    from arize_skills.mcp_server import build_server

    if file.suffix == ".parquet":
        # A server reading Parquet holds pyarrow; imported here so that its import is not timed, as the SDK's are not.
        import pyarrow.parquet  # noqa: F401

    async def upload() -> None:
        async with Client(build_server(ax_settings(target)), mode="legacy") as mcp:
            result = await mcp.call_tool(
                "upload_experiment", {"name": name, "dataset": "upload-bench", "runs": str(file)}
            )
        if result.is_error:
            raise RuntimeError(f"upload_experiment failed: {result.content}")

    before = _rss_mb()
    cpu = _cpu_seconds()
    started = time.perf_counter()
    asyncio.run(upload())
    seconds = time.perf_counter() - started
    return {"seconds": seconds, "cpu": _cpu_seconds() - cpu, "rss_before_mb": before, "peak_rss_mb": _rss_mb()}


def run_worker(arguments: list[str]) -> dict[str, float]:
    """Run this script as a worker with ``arguments``; its timing, CPU and RSS figures, and the CPU the engine (in
    this process, otherwise idle meanwhile) spent serving it."""
    engine_cpu = _cpu_seconds()
    done = subprocess.run(
        [sys.executable, str(Path(__file__).resolve()), "--worker", *arguments],
        capture_output=True,
        cwd=ROOT,
        check=False,
    )
    if done.returncode != 0:
        raise RuntimeError(f"worker {arguments[0]} failed ({done.returncode}): {done.stderr[-2000:]!r}")
    figures: dict[str, float] = json.loads(done.stdout.decode().strip().splitlines()[-1])
    figures["engine_cpu"] = _cpu_seconds() - engine_cpu
    return figures


def worker_main(argv: list[str]) -> int:
    for logger in ("httpx", "httpx2", "arize"):
        logging.getLogger(logger).setLevel(logging.WARNING)
    kind, host, port, home, dataset_id, file, name = argv
    target = Target(host, int(port), Path(home))
    if kind == "sdk":
        figures = sdk_worker(target, dataset_id, Path(file), name)
    else:
        figures = tool_worker(target, Path(file), name)
    print(json.dumps(figures), flush=True)
    return 0


def main() -> int:
    if len(sys.argv) > 1 and sys.argv[1] == "--worker":
        return worker_main(sys.argv[2:])
    from tests.conftest import serve_engine

    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--runs", type=int, default=100_000)
    parser.add_argument("--repeats", type=int, default=3)
    args = parser.parse_args()
    with tempfile.TemporaryDirectory() as folder, serve_engine(Path(folder) / "engine", run_tasks=False) as live:
        target = Target(live.host, live.port, live.home)
        dataset_id, example_ids = asyncio.run(make_dataset(target, args.runs))
        files = write_files(run_rows(example_ids), Path(folder))
        place = [live.host, str(live.port), str(live.home), dataset_id]
        kinds = ["sdk", *(f"tool {kind}" for kind in files if kind != "json")]
        figures: dict[str, list[dict[str, float]]] = {kind: [] for kind in kinds}
        for attempt in range(args.repeats):
            figures["sdk"].append(run_worker(["sdk", *place, str(files["json"]), f"sdk-{attempt}"]))
            for kind in kinds[1:]:
                file = files[kind.removeprefix("tool ")]
                figures[kind].append(run_worker(["tool", *place, str(file), f"{kind.replace(' ', '-')}-{attempt}"]))
    sdk = statistics.median(f["seconds"] for f in figures["sdk"])
    print(
        f"{args.runs:,} runs, median of {args.repeats}; peak RSS: the upload process's VmHWM, the highest of the runs"
    )
    for kind, runs in figures.items():
        median = statistics.median(f["seconds"] for f in runs)
        peak = max(f["peak_rss_mb"] for f in runs)
        before = statistics.median(f["rss_before_mb"] for f in runs)
        line = f"{kind:12} {median:6.2f} s"
        line += " " * 27 if kind == "sdk" else f"   ratio {median / sdk:.2f} (goal <= {GOAL})"
        line += f"   peak RSS {peak:6.1f} MB (before the upload {before:5.1f} MB)"
        line += "" if kind == "sdk" else f", {peak / RSS_BOUND_MB:.2f} of {RSS_BOUND_MB:.0f} MB"
        print(line)
    # On a busy machine the wall-clock ratio moves with the load; the CPU each side costs does not.
    print("CPU seconds (medians): the upload's process + the engine serving it")
    for kind, runs in figures.items():
        client = statistics.median(f["cpu"] for f in runs)
        engine = statistics.median(f["engine_cpu"] for f in runs)
        print(f"{kind:12} {client:6.2f} + {engine:5.2f} = {client + engine:5.2f}")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
