"""The nine agent workflows of ``benchmarks/agent_workflows.py`` run end to end, and no result is over budget."""

from __future__ import annotations

from pathlib import Path

from arize_skills.mcp_server.surface import MAX_RESULT_CHARS
from benchmarks.agent_workflows import WORKFLOWS, run_workflows


async def test_every_workflow_runs_and_no_result_text_passes_the_result_budget(tmp_path: Path) -> None:
    outcomes = await run_workflows(tmp_path / "home")

    assert [o.request for o in outcomes] == [request for request, _ in WORKFLOWS]
    for outcome in outcomes:
        assert outcome.calls and not any(call.is_error for call in outcome.calls), outcome.request
        largest = outcome.largest
        assert largest.chars <= MAX_RESULT_CHARS, f"{outcome.request}: {largest.tool} returned {largest.chars:,} chars"
