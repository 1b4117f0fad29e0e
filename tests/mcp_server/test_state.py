"""The server's lifespan: it opens the backend the settings chose, once, and keeps what the tools need."""

from __future__ import annotations

from pathlib import Path

from arize_skills.engine.engine import DATABASE_FILE
from arize_skills.mcp_server.instructions import instructions_from_settings
from arize_skills.mcp_server.state import instructions_for, open_state
from arize_skills.settings import Settings
from tests.engine.runner_support import add_spans, backfill, code_evaluator, project_task, qa_span
from tests.mcp_server.conftest import FIXED_NOW


async def test_the_embedded_backend_opens_the_engine_in_home_and_runs_triggered_runs_in_the_background(
    tmp_path: Path,
) -> None:
    settings = Settings.resolve(home=tmp_path / "state", environ={}, profile_dir=tmp_path / "none")
    async with open_state(settings) as state:
        assert state.engine is not None
        assert (tmp_path / "state" / DATABASE_FILE).is_file()
        assert state.space is not None and state.space.name == "default"
        assert state.client.space == state.space.id

        client = state.client
        await add_spans(state.engine, "app", [qa_span(n, **{"output.value": '{"ok": true}'}) for n in (1, 2)])
        evaluator = await code_evaluator(client, "json", "JSON_PARSEABLE", ["attributes.output.value"])
        task = await project_task(client, "app", [{"evaluator_id": evaluator}], task_type="CODE_EVALUATION")
        run = await backfill(client, task)
        # Nobody drives the runner here: the lifespan's background runner must pick the run up.
        finished = await client.tasks.wait_for_run(run["id"], poll_interval=0.05, timeout=60)
    assert finished.status == "COMPLETED", finished.failure_reason
    assert finished.num_successes == 2


async def test_a_configured_space_name_is_resolved_to_its_id_once_at_start(tmp_path: Path) -> None:
    settings = Settings.resolve(
        home=tmp_path / "state", environ={"ARIZE_SPACE": "default"}, profile_dir=tmp_path / "none"
    )
    async with open_state(settings) as state:
        assert state.space is not None
        assert state.space.name == "default"
        assert state.client.space == state.space.id != "default"


async def test_a_configured_space_that_does_not_exist_is_reported_not_fatal(tmp_path: Path) -> None:
    settings = Settings.resolve(home=tmp_path / "state", environ={"ARIZE_SPACE": "nope"}, profile_dir=tmp_path / "x")
    async with open_state(settings, clock=lambda: FIXED_NOW) as state:
        assert state.space is None
        assert state.space_problem is not None and "nope" in state.space_problem
        text = instructions_for(state)
    assert "No default space: the default space could not be resolved" in text
    assert "Today is 2026-08-10" in text


def test_instructions_before_the_server_runs_come_from_the_settings(tmp_path: Path) -> None:
    settings = Settings.resolve(
        environ={"ARIZE_SKILLS_ENGINE_URL": "http://127.0.0.1:8765", "ARIZE_SPACE": "team"},
        profile_dir=tmp_path / "none",
    )
    text = instructions_from_settings(settings, FIXED_NOW)
    assert "the local engine at http://127.0.0.1:8765" in text
    assert "Default space: 'team'" in text
    assert "Today is 2026-08-10" in text
