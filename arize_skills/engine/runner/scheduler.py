"""The task runner: executes PENDING task runs, schedules continuous tasks, and survives restarts.

Lifecycle of a run, as on AX: PENDING → RUNNING (``run_started_at``) → COMPLETED / FAILED / CANCELLED
(``run_finished_at``; a human-readable ``failure_reason`` on FAILED and CANCELLED). ``num_successes``,
``num_errors`` and ``num_skipped`` count (evaluator, record) pairs and are stored as the run goes, in the same
transaction as the results they count, so they are visible while RUNNING and never disagree with what is stored.

* Selection and skipping: ``runner.records`` (evaluation tasks) and ``runner.experiment_tasks``
  (``RUN_EXPERIMENT``). When nothing is left to score the run ends CANCELLED with 0/0/0 and a reason that says
  why (an empty window, a filter that matches nothing, everything already labelled → re-trigger with
  ``override_evaluations``).
* Scoring: ``runner.plans``. A record that cannot be scored (a variable with no value, a failed provider call,
  an unknown label) is one counted error and never stops the run; the last few errors are kept on the run
  (``errors_sample``). When the first calls all fail on credentials (or on reaching the provider) the run stops at
  once, FAILED, with a reason that says to fix the integration. A run whose every record failed ends FAILED with
  the most common error in its reason; otherwise it is COMPLETED.
* Concurrency: per run, a pool of workers takes (evaluator, record) pairs; provider calls are bounded per AI
  integration by its ``LlmClient``. Results are written in batches (every ``flush_interval`` seconds), so the
  store's single writer is not the bottleneck.
* Cancel: the cancel route stores CANCELLED and calls ``request_cancel``; the run's workers are cancelled at once
  (in-flight provider calls are abandoned), what was scored is kept, and the reason becomes "Cancelled by user
  after N of M records…".
* Restart safety: a run still RUNNING when the engine stopped is put back to PENDING by ``recover`` (at the start
  of ``serve`` and ``run_until_idle``) with a note, and resumes without scoring again what it already stored.
* One runner per home: only the engine holding its home's runner lock (``Engine.claim_runner``) recovers and
  executes runs, so a second process never scores them too nor takes over a live run. Elsewhere
  ``run_until_idle`` leaves runs to the holder and ``serve`` waits to take the lock over when the holder ends.
* Continuous tasks: ``tick_continuous`` gives each continuous project task with no active run a run over the spans
  received since its cursor (``continuous_cursor`` on the task, moved to the tick's time), when any arrived.
  ``serve`` ticks every ``continuous_interval`` seconds (``ARIZE_SKILLS_CONTINUOUS_INTERVAL``, default 5). A
  task's windows are consecutive and half-open (``[cursor, tick)`` by time received), so every span lands in
  exactly one of them whatever its start time; a span that arrives while the task's run is going waits for the
  first tick after that run. So the runs over a burst of traffic can be several, split wherever ticks fell:
  ``settle_continuous`` ticks one task and waits for its runs until every span it received before the call is
  scored, for a caller (the quickstart) that must report on traffic it just sent.
"""

from __future__ import annotations

import json
import logging
import os
import sqlite3
from collections.abc import Callable, Iterable, Sequence
from typing import Literal

import anyio
from anyio.streams.memory import MemoryObjectSendStream

from ...evals.providers import LlmClient, ProviderConfig
from ...models.tasks import DEFAULT_MAX_SPANS
from ..store.documents import EvaluationRunParameters, TaskDoc, TaskRunDoc
from ..store.objects import StoredObject, document, get_object, list_objects
from ..store.tasks import (
    ACTIVE_RUN_STATUSES,
    TASK_KIND,
    TASK_RUN_KIND,
    active_run,
    insert_run,
    pending_runs,
    require_task,
    save_run,
)
from .execution import Execution, Item, evaluation_item, experiment_item, missing_item
from .experiment_tasks import chain_evaluation_tasks, ensure_experiment, load_experiment_plan
from .host import RunnerHost
from .plans import EvaluatorPlan, ProviderClients, Record, RunSetupError, load_plans
from .records import Selection, select_records
from .sources import Candidate, Window, any_span_received, plural

__all__ = ["CONTINUOUS_INTERVAL_ENV", "LLM_CONCURRENCY_ENV", "Runner"]

logger = logging.getLogger("arize_skills.engine.runner")

CONTINUOUS_INTERVAL_ENV = "ARIZE_SKILLS_CONTINUOUS_INTERVAL"
LLM_CONCURRENCY_ENV = "ARIZE_SKILLS_LLM_CONCURRENCY"
DEFAULT_CONTINUOUS_INTERVAL = 5.0
DEFAULT_LLM_CONCURRENCY = 8
LOAD_BATCH = 200
MAX_WORKERS = 512


def _env_float(name: str, default: float) -> float:
    raw = os.environ.get(name)
    try:
        return float(raw) if raw else default
    except ValueError:
        return default


class Runner:
    """Executes the engine's task runs (see the module docstring).

    Parameters:
        engine: the engine whose store holds the tasks and runs.
        continuous_interval: seconds between continuous ticks in ``serve`` (default: the
            ``ARIZE_SKILLS_CONTINUOUS_INTERVAL`` environment variable, else 5).
        llm_client_factory: makes the ``LlmClient`` of an AI integration (tests inject timeouts or sleeps); by
            default ``LlmClient(config, concurrency=llm_concurrency)``.
        llm_concurrency: concurrent calls per AI integration for the default factory (default: the
            ``ARIZE_SKILLS_LLM_CONCURRENCY`` environment variable, else 8).
        max_parallel_runs: runs ``serve`` executes at the same time.
        flush_interval: seconds between batched writes of results while a run goes.
        poll_interval: how often ``serve`` looks for new PENDING runs when nobody calls ``notify``.
    """

    def __init__(
        self,
        engine: RunnerHost,
        *,
        continuous_interval: float | None = None,
        llm_client_factory: Callable[[ProviderConfig], LlmClient] | None = None,
        llm_concurrency: int | None = None,
        max_parallel_runs: int = 4,
        flush_interval: float = 0.1,
        poll_interval: float = 1.0,
    ) -> None:
        self.engine = engine
        self.continuous_interval = (
            continuous_interval
            if continuous_interval is not None
            else _env_float(CONTINUOUS_INTERVAL_ENV, DEFAULT_CONTINUOUS_INTERVAL)
        )
        concurrency = llm_concurrency or int(_env_float(LLM_CONCURRENCY_ENV, DEFAULT_LLM_CONCURRENCY))
        self.llm_concurrency = max(1, concurrency)
        factory = llm_client_factory or (lambda config: LlmClient(config, concurrency=self.llm_concurrency))
        self.clients = ProviderClients(factory)
        self.max_parallel_runs = max(1, max_parallel_runs)
        self.flush_interval = flush_interval
        self.poll_interval = poll_interval
        self._cancel_requested: set[int] = set()
        self._executions: dict[int, Execution] = {}
        self._active: set[int] = set()
        self._recovered = False
        self._serving = False
        self._wake: anyio.Event | None = None
        self._run_ended: anyio.Event | None = None

    # --- public API ----------------------------------------------------------------------------------------------

    def notify(self) -> None:
        """Tell a serving runner that a run was triggered (it would otherwise notice at its next poll)."""
        if self._wake is not None:
            self._wake.set()

    def request_cancel(self, run_num: int) -> None:
        """Stop run ``run_num`` within seconds if it is executing (the caller has stored it CANCELLED)."""
        self._cancel_requested.add(run_num)
        execution = self._executions.get(run_num)
        if execution is not None:
            execution.cancelled = True
            execution.stop()

    async def recover(self) -> None:
        """Put runs left RUNNING by a previous process back to PENDING, noting the interruption (once per runner)."""
        if self._recovered or not self.engine.claim_runner():
            return
        self._recovered = True
        engine = self.engine
        active = set(self._active)

        def fix(conn: sqlite3.Connection) -> list[int]:
            runs, _ = list_objects(
                conn, TASK_RUN_KIND, limit=1_000_000, where=[("json_extract(body, '$.status') = ?", "RUNNING")]
            )
            now = engine.now()
            fixed = []
            for run in runs:
                if run.num in active:
                    continue
                doc = document(run, TaskRunDoc)
                note = (
                    f"Interrupted by an engine restart (found RUNNING at {now} with "
                    f"{plural(doc.num_successes, 'result')} stored) and resumed: results "
                    "already stored were kept and not scored again."
                )
                doc.status, doc.resumed, doc.notes = "PENDING", True, [*(doc.notes or []), note]
                save_run(conn, run, doc, now=now)
                fixed.append(run.num)
            return fixed

        for num in await engine.store.write(fix):
            logger.info("task run %d was interrupted by an engine restart; it will resume", num)

    async def tick_continuous(self) -> list[str]:
        """Create a run for each continuous task that has no active run and received new spans; return their IDs."""
        engine = self.engine

        def tick(conn: sqlite3.Connection) -> list[str]:
            tasks, _ = list_objects(
                conn, TASK_KIND, limit=1_000_000, where=[("json_extract(body, '$.is_continuous') = ?", 1)]
            )
            now = engine.now()
            created = []
            for task in tasks:
                run = _continuous_run(conn, task, now)
                if run is not None:
                    created.append(run.id)
            return created

        created = await engine.store.write(tick)
        if created:
            self.notify()
        return created

    async def settle_continuous(self, task_id: str) -> None:
        """Return once the continuous task ``task_id`` has finished runs over every span it received before this
        call: wait for its active run, tick it, and repeat until its cursor has passed the call. Runs are executed
        here unless this runner serves. Callers bound it (``anyio.fail_after``); it needs a clock that moves.

        Raises:
            ProblemError: 404 when there is no such task.
        """
        engine = self.engine
        called_at = engine.now()

        def step(conn: sqlite3.Connection) -> int | Literal["settled", "same millisecond"]:
            task = require_task(conn, task_id)
            run = active_run(conn, task)
            if run is not None:
                return run.num
            if not document(task, TaskDoc).is_continuous or _cursor(task) > called_at:
                return "settled"
            now = engine.now()
            if now <= called_at:
                # A span received in the call's own millisecond belongs to a window that ends after it.
                return "same millisecond"
            made = _continuous_run(conn, task, now)
            # No run: nothing new matched (the cursor moved past the call) or the task cannot be ticked at all.
            return made.num if made is not None else "settled"

        while (waiting := await engine.store.write(step)) != "settled":
            if waiting == "same millisecond":
                await anyio.sleep(0.001)
            else:
                self.notify()
                await self._wait_for_end(int(waiting))

    async def run_until_idle(self, *, tick: bool = False) -> None:
        """Execute PENDING runs one after another until none is left (chained runs included); with ``tick``,
        first create the runs continuous tasks are due. Returns at once, leaving them, when another process holds
        the home's runner lock."""
        if not self.engine.claim_runner():
            return
        await self.recover()
        if tick:
            await self.tick_continuous()
        while True:
            runs = await self.engine.store.read(lambda conn: pending_runs(conn, limit=50))
            todo = [r for r in runs if r.num not in self._active]
            if not todo:
                return
            for run in todo:
                self._active.add(run.num)
                try:
                    await self._guarded(run.num)
                finally:
                    self._active.discard(run.num)

    async def serve(self) -> None:
        """Execute runs in the background (up to ``max_parallel_runs`` at once) and tick continuous tasks, until
        cancelled. A run still going when cancelled stays RUNNING and resumes at the next start. While another
        process holds the home's runner lock, it only looks again every ``poll_interval`` to take the lock over."""
        while not self.engine.claim_runner():
            await anyio.sleep(self.poll_interval)
        await self.recover()
        self._serving = True
        try:
            async with anyio.create_task_group() as group:
                group.start_soon(self._continuous_loop)
                while True:
                    self._wake = anyio.Event()
                    runs = await self.engine.store.read(lambda conn: pending_runs(conn, limit=50))
                    for run in runs:
                        if len(self._active) >= self.max_parallel_runs:
                            break
                        if run.num not in self._active:
                            self._active.add(run.num)
                            group.start_soon(self._serve_one, run.num)
                    with anyio.move_on_after(self.poll_interval):
                        await self._wake.wait()
        finally:
            self._serving = False

    async def aclose(self) -> None:
        """Close the provider clients."""
        await self.clients.aclose()

    # --- scheduling ----------------------------------------------------------------------------------------------

    async def _wait_for_end(self, run_num: int) -> None:
        """Wait until run ``run_num`` is no longer PENDING or RUNNING (executing it here unless this runner serves)."""

        def active(conn: sqlite3.Connection) -> bool:
            run = get_object(conn, TASK_RUN_KIND, run_num)
            return run is not None and document(run, TaskRunDoc).status in ACTIVE_RUN_STATUSES

        while True:
            if self._run_ended is None:
                self._run_ended = anyio.Event()
            ended = self._run_ended
            if not await self.engine.store.read(active):
                return
            if not self._serving:
                await self.run_until_idle()
                if not await self.engine.store.read(active):
                    return
            # Another process may hold the run: look again after a poll interval even if no run ends here.
            with anyio.move_on_after(self.poll_interval):
                await ended.wait()

    async def _continuous_loop(self) -> None:
        while True:
            try:
                await self.tick_continuous()
            except Exception:
                logger.exception("a continuous tick failed")
            await anyio.sleep(self.continuous_interval)

    async def _serve_one(self, run_num: int) -> None:
        try:
            await self._guarded(run_num)
        finally:
            self._active.discard(run_num)
            self.notify()

    async def _guarded(self, run_num: int) -> None:
        try:
            await self._process(run_num)
        except Exception as exc:
            logger.exception("task run %d failed inside the engine", run_num)
            reason = f"the local engine failed while executing this run ({type(exc).__name__}); see the engine log"
            await self._finish(run_num, "FAILED", reason)
        finally:
            self._cancel_requested.discard(run_num)
            self._executions.pop(run_num, None)
            if self._run_ended is not None:
                self._run_ended.set()
                self._run_ended = None

    async def _process(self, run_num: int) -> None:
        claimed = await self.engine.store.write(lambda conn: self._claim(conn, run_num))
        if claimed is None:
            return
        run, task = claimed
        if document(task, TaskDoc).type == "RUN_EXPERIMENT":
            await self._run_experiment(run, task)
        else:
            await self._run_evaluation(run, task)

    def _claim(self, conn: sqlite3.Connection, run_num: int) -> tuple[StoredObject, StoredObject] | None:
        run = get_object(conn, TASK_RUN_KIND, run_num)
        if run is None:
            return None
        doc = document(run, TaskRunDoc)
        if doc.status != "PENDING":
            return None
        task = get_object(conn, TASK_KIND, run.parent_num) if run.parent_num is not None else None
        now = self.engine.now()
        if task is None:
            doc.status, doc.run_finished_at, doc.failure_reason = "FAILED", now, "its task was deleted"
            save_run(conn, run, doc, now=now)
            return None
        doc.status, doc.run_started_at = "RUNNING", doc.run_started_at or now
        if doc.resumed and document(task, TaskDoc).type != "RUN_EXPERIMENT":
            # Errors and skips are found again when the run resumes; successes are the results it stored.
            doc.num_errors, doc.num_skipped, doc.errors_sample = 0, 0, []
        return save_run(conn, run, doc, now=now), task

    async def _finish(
        self,
        run_num: int,
        status: str,
        reason: str | None,
        *,
        counts: tuple[int, int, int] | None = None,
        notes: Callable[[sqlite3.Connection, StoredObject, str], list[str]] | None = None,
        cancel_reason: Callable[[], str] | None = None,
    ) -> None:
        """Store the run's final status. A run the user cancelled meanwhile stays CANCELLED (``cancel_reason``)."""
        engine = self.engine

        def write(conn: sqlite3.Connection) -> None:
            run = get_object(conn, TASK_RUN_KIND, run_num)
            if run is None:
                return
            now = engine.now()
            doc = document(run, TaskRunDoc)
            final, final_reason = status, reason
            if doc.status == "CANCELLED":
                final = "CANCELLED"
                final_reason = cancel_reason() if cancel_reason is not None else doc.failure_reason
            if final_reason and doc.resumed:
                final_reason += " (The run was interrupted by an engine restart and resumed.)"
            extra = notes(conn, run, final) if notes is not None else []
            if extra:
                doc = document(run, TaskRunDoc)  # as ``notes`` left it
                doc.notes = [*(doc.notes or []), *extra]
            doc.status, doc.run_finished_at = final, now
            doc.failure_reason = final_reason if final in ("FAILED", "CANCELLED") else None
            if counts is not None:
                doc.num_successes, doc.num_errors, doc.num_skipped = counts
            save_run(conn, run, doc, now=now)

        with anyio.CancelScope(shield=True):
            await engine.store.write(write)

    def _workers(self, clients: Sequence[LlmClient]) -> int:
        wanted = sum(client.concurrency for client in clients)
        return max(DEFAULT_LLM_CONCURRENCY, min(wanted, MAX_WORKERS))

    # --- evaluation tasks ----------------------------------------------------------------------------------------

    async def _run_evaluation(self, run: StoredObject, task: StoredObject) -> None:
        run_doc = document(run, TaskRunDoc)
        params = run_doc.evaluation_parameters()
        limit = int(params.max_spans or DEFAULT_MAX_SPANS)
        override = bool(params.override_evaluations)
        try:
            plans = await self.engine.store.read(lambda conn: load_plans(conn, task))
            clients = self.clients.attach(plans)

            def choose(conn: sqlite3.Connection) -> Selection:
                return select_records(conn, task, run, plans, limit=limit, override=override)

            selection = await self.engine.store.read(choose)
        except RunSetupError as exc:
            await self._finish(run.num, "FAILED", str(exc), counts=(0, 0, 0))
            return
        base = run_doc.num_successes if run_doc.resumed else 0
        if selection.empty_reason is not None:
            await self._finish(run.num, "CANCELLED", selection.empty_reason, counts=(base, 0, 0))
            return
        execution = Execution(
            self.engine,
            run.num,
            total=selection.items + selection.skipped + base,
            successes=base,
            flush_interval=self.flush_interval,
            cancelled=run.num in self._cancel_requested,
        )
        execution.pending_skipped = selection.skipped
        self._executions[run.num] = execution
        by_index = {plan.index: plan for plan in plans}
        noun = "record"

        async def produce(send: MemoryObjectSendStream[Item]) -> None:
            async with send:
                for start in range(0, len(selection.candidates), LOAD_BATCH):
                    batch = selection.candidates[start : start + LOAD_BATCH]
                    records = await self.engine.store.read(
                        lambda conn, b=batch: selection.source.load(conn, b)  # type: ignore[misc]
                    )
                    for item in self._evaluation_items(task, run, batch, records, by_index):
                        await send.send(item)

        await execution.execute(produce, self._workers(clients))
        if execution.gone:
            return
        status, reason = execution.final_status(noun)
        await self._finish(
            run.num,
            status,
            reason,
            counts=(execution.successes, execution.errors, execution.skipped),
            cancel_reason=lambda: execution.cancel_text(noun),
        )

    def _evaluation_items(
        self,
        task: StoredObject,
        run: StoredObject,
        candidates: Sequence[Candidate],
        records: Iterable[Record],
        plans: dict[int, EvaluatorPlan],
    ) -> list[Item]:
        loaded = {record.key: record for record in records}
        items: list[Item] = []
        for candidate in candidates:
            record = loaded.get(candidate.key)
            for index in candidate.plans:
                plan = plans[index]
                if record is None:
                    items.append(missing_item(candidate, plan))
                else:
                    items.append(evaluation_item(plan, record, task.num, run.num))
        return items

    # --- run-experiment tasks ------------------------------------------------------------------------------------

    async def _run_experiment(self, run: StoredObject, task: StoredObject) -> None:
        engine = self.engine
        try:
            plan = await engine.store.read(lambda conn: load_experiment_plan(conn, task, run))
            if plan.empty_reason is not None:
                await self._finish(run.num, "CANCELLED", plan.empty_reason, counts=(0, 0, 0))
                return
            plan.client = self.clients.get(plan.client_key, plan.provider)
            experiment = await engine.store.write(lambda conn: ensure_experiment(conn, plan, run.num, now=engine.now()))
        except RunSetupError as exc:
            await self._finish(run.num, "FAILED", str(exc), counts=(0, 0, 0))
            return
        run_doc = document(run, TaskRunDoc)
        done_ok, done_errors = run_doc.num_successes, run_doc.num_errors
        execution = Execution(
            self.engine,
            run.num,
            total=plan.selected,
            successes=done_ok,
            errors=done_errors,
            flush_interval=self.flush_interval,
            cancelled=run.num in self._cancel_requested,
        )
        self._executions[run.num] = execution
        noun = "example"

        async def produce(send: MemoryObjectSendStream[Item]) -> None:
            async with send:
                for example in plan.examples:
                    await send.send(experiment_item(plan, experiment, example, task.num, run.num))

        await execution.execute(produce, self._workers([plan.client]))
        if execution.gone:
            return
        status, reason = execution.final_status(noun)

        def notes(conn: sqlite3.Connection, stored: StoredObject, final: str) -> list[str]:
            if final == "COMPLETED":
                return chain_evaluation_tasks(conn, stored, experiment, now=engine.now())
            if document(stored, TaskRunDoc).experiment_parameters().evaluation_task_nums:
                return [f"The evaluation tasks to chain were not triggered because the run ended {final}."]
            return []

        await self._finish(
            run.num,
            status,
            reason,
            counts=(execution.successes, execution.errors, execution.skipped),
            notes=notes,
            cancel_reason=lambda: execution.cancel_text(noun),
        )
        self.notify()


def _cursor(task: StoredObject, doc: TaskDoc | None = None) -> str:
    """Where the next window of the continuous ``task`` starts (a ``received_at`` time)."""
    doc = doc if doc is not None else document(task, TaskDoc)
    return str(doc.continuous_cursor or task.updated_at)


def _continuous_run(conn: sqlite3.Connection, task: StoredObject, now: str) -> StoredObject | None:
    """A run over the spans ``task`` received since its cursor, or ``None`` (not due, busy or nothing new)."""
    doc = document(task, TaskDoc)
    if doc.type == "RUN_EXPERIMENT" or doc.project_num is None or not doc.is_continuous:
        return None
    if active_run(conn, task) is not None:
        return None
    cursor = _cursor(task, doc)
    if cursor >= now:
        return None
    window = Window(received_from=cursor, received_to=now)
    # Trace and session tasks start on any new span; their filters apply to whole traces when the run selects.
    span_shaped = str(doc.data_granularity or "SPAN").upper() == "SPAN"
    try:
        found = any_span_received(
            conn,
            doc.project_num,
            window,
            task_filter=doc.query_filter if span_shaped else None,
            rate=float(doc.sampling_rate) if span_shaped and doc.sampling_rate is not None else 1.0,
        )
    except RunSetupError:
        logger.warning("continuous task %s has a query_filter that no longer compiles; not ticked", task.id)
        return None
    # The cursor moves even when nothing matched: those spans were seen; the next tick starts after them.
    doc.continuous_cursor = now
    run = None
    if found:
        parameters = EvaluationRunParameters(
            max_spans=DEFAULT_MAX_SPANS,
            override_evaluations=False,
            experiment_ids=[],
            experiment_nums=[],
            continuous=True,
            received_from=cursor,
            received_to=now,
        )
        run = insert_run(conn, task, now=now, parameters=parameters, data_start_time=cursor, data_end_time=now)
        doc.last_run_at = now
    # A tick is not an edit of the task: ``updated_at`` stays (it is the cursor of a task never ticked).
    body = doc.to_body()
    conn.execute("UPDATE objects SET body = ? WHERE num = ?", (json.dumps(body), task.num))
    task.body = body
    return run
