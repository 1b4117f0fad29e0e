"""``arize-skills quickstart`` as a new user runs it: a real subprocess with a fresh HOME, no account, no key."""

from __future__ import annotations

import os
import re
import subprocess
import sys
from collections import Counter
from pathlib import Path

from arize_skills.data.make_quickstart_traces import make_traces
from arize_skills.quickstart import LIVE_TRACES, load_traces
from tests.stubs.llm_server import serve_stub

COMMAND = [sys.executable, "-m", "arize_skills", "quickstart"]


def run(tmp_path: Path, *args: str, **extra: str) -> subprocess.CompletedProcess[str]:
    home = tmp_path / "home"
    home.mkdir(exist_ok=True)
    env = {"HOME": str(home), "PATH": os.environ.get("PATH", ""), "NO_PROXY": "127.0.0.1,localhost", **extra}
    return subprocess.run([*COMMAND, *args], env=env, capture_output=True, text=True, timeout=300, check=False)


def expected() -> dict[str, int]:
    traces = load_traces()
    scenarios = Counter(t["scenario"] for t in traces)
    truth = Counter(t["truth"] for t in traces)
    return {
        "traces": len(traces),
        "errors": scenarios["tool_error_handled"] + scenarios["tool_error_ignored"],
        "slow": scenarios["slow"],
        "frustrated": scenarios["frustrated"],
        "frustrated_sessions": len({t["session_id"] for t in traces if t["scenario"] == "frustrated"}),
        "factual": truth["factual"],
        "hallucinated": truth["hallucinated"],
        "candidate_factual": sum(1 for t in traces if t["candidate_truth"] == "factual"),
    }


def test_the_bundled_traces_are_the_generators_output_with_every_failure_kind() -> None:
    bundled = load_traces()
    assert bundled == make_traces()
    assert 40 <= len(bundled) <= 80
    kinds = {
        s["attributes"][0]["value"]["stringValue"]
        for t in bundled
        for s in t["body"]["resourceSpans"][0]["scopeSpans"][0]["spans"]
    }
    assert kinds == {"AGENT", "CHAIN", "LLM", "TOOL", "RETRIEVER"}
    assert set(Counter(t["scenario"] for t in bundled)) == {
        "ok",
        "slow",
        "tool_error_handled",
        "tool_error_ignored",
        "hallucinated_order",
        "wrong_refund",
        "frustrated",
    }


def test_quickstart_runs_the_whole_loop_without_a_key_and_runs_again(tmp_path: Path) -> None:
    want = expected()
    first = run(tmp_path)
    assert first.returncode == 0, first.stderr
    out = first.stdout
    for section in (
        "== Traces",
        "== Dataset and labels",
        "== Code evaluators (backfilled)",
        "== Experiments",
        "== LLM judge",
        "== Next",
    ):
        assert section in out
    assert f"{want['traces']} traces" in out
    assert f"errored spans: {want['errors']} " in out
    assert f"slow tool calls (> 5 s): {want['slow']}" in out
    assert f"{want['traces']} examples from compose_reply spans" in out
    assert f"{want['factual']} factual, {want['hallucinated']} hallucinated ({want['traces']} written)" in out
    assert f"tool outputs that are not JSON: {want['errors']} " in out
    assert f"frustration keywords: {want['frustrated']} (in {want['frustrated_sessions']} sessions)" in out
    assert f"{want['factual']}/{want['traces']} factual" in out
    assert f"{want['candidate_factual']}/{want['traces']} factual" in out
    assert re.search(r"compare_experiments agrees: wins \d+, losses \d+", out)
    skipped = [line for line in out.splitlines() if "no LLM provider configured" in line]
    assert len(skipped) == 1 and "OPENAI_API_KEY" in skipped[0]
    assert "[1/6] Sending" in first.stderr and "[6/6]" in first.stderr
    assert (tmp_path / "home" / ".arize-skills" / "quickstart" / "engine.sqlite3").is_file()

    second = run(tmp_path)
    assert second.returncode == 0, second.stderr
    assert f"{want['factual']} factual, {want['hallucinated']} hallucinated" in second.stdout


def test_with_an_llm_base_url_it_creates_previews_aligns_and_schedules_a_judge(tmp_path: Path) -> None:
    with serve_stub(label="factual") as stub:
        result = run(tmp_path, "--home", str(tmp_path / "state"), ARIZE_SKILLS_LLM_BASE_URL=stub.openai_url)
        requests = len(stub.requests)
    assert result.returncode == 0, result.stderr
    out = result.stdout
    assert "no LLM provider configured" not in out
    assert "[10/10]" in result.stderr
    assert "from the built-in hallucination template on CUSTOM" in out
    assert "preview on 3 real spans: factual x3" in out
    assert "alignment with the human labels:" in out
    # New traffic after the task is on: one compose_reply span per trace, each scored by the continuous run.
    assert f"{LIVE_TRACES} new traces arrived, {LIVE_TRACES} spans scored (COMPLETED)" in out
    assert requests >= 3 + expected()["traces"] + LIVE_TRACES
