"""Experiment upload: the ``upload_experiment`` tool against the official SDK's REST path, on one engine, one run.

An engine serves on loopback; a dataset of N examples is made once. The SDK (``arize``, ``force_http=True``)
creates an experiment with the first 1,000 runs and appends the rest 1,000 a request, as its REST path does. The
tool (the MCP server on the Arize AX backend, pointed at the same engine) uploads the same N runs from a CSV file,
then from a Parquet file (when pyarrow is installed). Each upload is timed three times; the medians are printed
with the ratio tool/SDK (goal: at most 0.8).

    python benchmarks/upload.py [--runs 100000] [--repeats 3]
"""

from __future__ import annotations

import argparse
import asyncio
import csv
import logging
import statistics
import sys
import tempfile
import time
from collections.abc import Callable
from pathlib import Path
from typing import Any

ROOT = Path(__file__).resolve().parents[1]
if str(ROOT) not in sys.path:
    sys.path.insert(0, str(ROOT))

from arize_skills.client import AsyncArizeClient  # noqa: E402
from arize_skills.mcp_server import build_server  # noqa: E402
from arize_skills.settings import Settings  # noqa: E402
from tests.conftest import LiveEngine, serve_engine  # noqa: E402

API_KEY = "ak-upload-benchmark"
GOAL = 0.8


def ax_settings(live: LiveEngine) -> Settings:
    """Settings that send every call to the served engine as if it were Arize AX."""
    return Settings.resolve(
        environ={
            "ARIZE_API_KEY": API_KEY,
            "ARIZE_SINGLE_HOST": live.host,
            "ARIZE_SINGLE_PORT": str(live.port),
            "ARIZE_API_SCHEME": "http",
            "ARIZE_SPACE": "default",
        },
        home=live.home,
        profile_dir=live.home.parent / "no-ax-profile",
    )


async def make_dataset(live: LiveEngine, count: int) -> tuple[str, list[str]]:
    """A dataset of ``count`` examples; its ID and its example IDs in order."""
    async with AsyncArizeClient.from_settings(ax_settings(live)) as client:
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
    """The runs as CSV, and as Parquet when pyarrow is there."""
    files = {"csv": folder / "runs.csv"}
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


def sdk_upload(live: LiveEngine, dataset_id: str, rows: list[dict[str, Any]], name: str) -> None:
    """The official SDK's REST path: create with the first 1,000 runs, then append 1,000 a request."""
    import pandas as pd
    from arize import ArizeClient
    from arize.experiments.evaluators.types import EvaluationResultFieldNames
    from arize.experiments.types import ExperimentTaskFieldNames

    sdk = ArizeClient(api_key=API_KEY, api_host=live.host, api_scheme="http", api_port=live.port, enable_caching=False)
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


async def tool_upload(live: LiveEngine, file: Path, name: str) -> None:
    """The ``upload_experiment`` tool, on the AX backend, reading ``file``."""
    from mcp import Client

    async with Client(build_server(ax_settings(live)), mode="legacy") as mcp:
        result = await mcp.call_tool("upload_experiment", {"name": name, "dataset": "upload-bench", "runs": str(file)})
    if result.is_error:
        raise RuntimeError(f"upload_experiment failed: {result.content}")


def timed(action: Callable[..., Any], *arguments: Any) -> float:
    started = time.perf_counter()
    action(*arguments)
    return time.perf_counter() - started


def main() -> int:
    # The SDK logs every request at INFO; the figures are what this script prints.
    for name in ("httpx", "httpx2", "arize"):
        logging.getLogger(name).setLevel(logging.WARNING)
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--runs", type=int, default=100_000)
    parser.add_argument("--repeats", type=int, default=3)
    args = parser.parse_args()
    with tempfile.TemporaryDirectory() as folder, serve_engine(Path(folder) / "engine", run_tasks=False) as live:
        dataset_id, example_ids = asyncio.run(make_dataset(live, args.runs))
        rows = run_rows(example_ids)
        files = write_files(rows, Path(folder))
        times: dict[str, list[float]] = {"sdk": [], **{f"tool {kind}": [] for kind in files}}
        for attempt in range(args.repeats):
            times["sdk"].append(timed(sdk_upload, live, dataset_id, rows, f"sdk-{attempt}"))
            for kind, file in files.items():
                seconds = timed(asyncio.run, tool_upload(live, file, f"tool-{kind}-{attempt}"))
                times[f"tool {kind}"].append(seconds)
    sdk = statistics.median(times["sdk"])
    print(f"{args.runs:,} runs, median of {args.repeats}")
    print(f"sdk REST path   {sdk:7.2f} s")
    for key, values in times.items():
        if key == "sdk":
            continue
        median = statistics.median(values)
        print(f"{key:15} {median:7.2f} s   ratio {median / sdk:.2f} (goal <= {GOAL})")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
