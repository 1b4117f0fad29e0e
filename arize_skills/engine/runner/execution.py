"""How one task run's (evaluator, record) pairs are executed: workers, batched writes, stop conditions.

``Execution`` runs the items a producer sends with a pool of workers. Each item returns an ``Outcome`` whose
``write`` stores its result; a flusher writes pending outcomes and the run's counts in one transaction every
``flush_interval`` seconds (and once at the end, shielded from cancellation), so counts never disagree with what is
stored and the store's single writer is not the bottleneck. A flush also notices a run cancelled or deleted
through the API meanwhile. The run stops early on a user cancel, or when the first failures of a kind that would
repeat for every record (bad credentials, an unreachable provider) reach ``AUTH_FAILURE_LIMIT`` with no success.
"""

from __future__ import annotations

import logging
import sqlite3
from collections import Counter, deque
from collections.abc import Awaitable, Callable, Coroutine
from dataclasses import dataclass, field
from typing import Any

import anyio
from anyio.streams.memory import MemoryObjectReceiveStream, MemoryObjectSendStream

from ...evals.judge import Judgement
from ..store.datasets import ExampleRow
from ..store.documents import TaskRunDoc
from ..store.evaluations import upsert_evaluation
from ..store.objects import StoredObject, document, get_object
from ..store.tasks import TASK_RUN_KIND, save_run
from .experiment_tasks import ExperimentPlan, GeneratedRun, store_generated
from .host import RunnerHost
from .plans import AUTH_FAILURE_LIMIT, EvaluatorPlan, ItemError, Record
from .sources import Candidate, plural

__all__ = ["Execution", "Item", "Outcome", "evaluation_item", "experiment_item", "missing_item"]

logger = logging.getLogger("arize_skills.engine.runner")

ERRORS_KEPT = 5


@dataclass
class Outcome:
    """What happened to one (evaluator, record) pair; ``write`` stores its result inside a flush."""

    ok: bool
    ref: str
    evaluator: str | None = None
    message: str | None = None
    fatal_reason: str | None = None
    write: Callable[[sqlite3.Connection, str], None] | None = None


Item = Callable[[], Awaitable[Outcome]]
"""One (evaluator, record) pair to execute: called by a worker, it returns its outcome and never raises."""


@dataclass
class Execution:
    """The state of one run while its pairs are scored."""

    engine: RunnerHost
    run_num: int
    total: int
    flush_interval: float = 0.1
    successes: int = 0
    errors: int = 0
    skipped: int = 0
    pending: list[Outcome] = field(default_factory=list)
    pending_skipped: int = 0
    samples: deque[dict[str, str | None]] = field(default_factory=lambda: deque(maxlen=ERRORS_KEPT))
    error_messages: Counter[str] = field(default_factory=Counter)
    fatal: Counter[str] = field(default_factory=Counter)
    any_success: bool = False
    cancelled: bool = False
    abort_reason: str | None = None
    gone: bool = False
    scope: anyio.CancelScope | None = None
    lock: anyio.Lock = field(default_factory=anyio.Lock)

    def stop(self) -> None:
        """Stop the workers (the run ends after its final flush)."""
        if self.scope is not None:
            self.scope.cancel()

    def add(self, outcome: Outcome) -> None:
        """Take one pair's outcome (stored at the next flush); stop the run on a repeated fatal failure."""
        self.pending.append(outcome)
        if outcome.ok:
            self.any_success = True
            return
        message = outcome.message or "unknown error"
        self.error_messages[message] += 1
        self.samples.append({"record": outcome.ref, "evaluator": outcome.evaluator, "message": message})
        if outcome.fatal_reason and not self.any_success:
            self.fatal[outcome.fatal_reason] += 1
            if self.fatal[outcome.fatal_reason] >= AUTH_FAILURE_LIMIT and self.abort_reason is None:
                self.abort_reason = outcome.fatal_reason
                self.stop()

    async def flush(self) -> None:
        """Store pending results and counts in one transaction; notice a cancel or a deletion made meanwhile."""
        async with self.lock:
            batch = list(self.pending)
            skipped = self.pending_skipped
            ok = sum(1 for o in batch if o.ok)
            counts = (self.successes + ok, self.errors + len(batch) - ok, self.skipped + skipped)
            samples = list(self.samples)
            engine = self.engine

            def write(conn: sqlite3.Connection) -> str | None:
                run = get_object(conn, TASK_RUN_KIND, self.run_num)
                if run is None:
                    return None
                now = engine.now()
                for outcome in batch:
                    if outcome.write is not None:
                        outcome.write(conn, now)
                # One parse per flushed batch of outcomes, as the dict merge did before.
                doc = document(run, TaskRunDoc)
                doc.num_successes, doc.num_errors, doc.num_skipped = counts
                doc.errors_sample = samples
                save_run(conn, run, doc, now=now)
                return doc.status

            with anyio.CancelScope(shield=True):
                status = await engine.store.write(write)
            del self.pending[: len(batch)]
            self.pending_skipped -= skipped
            self.successes, self.errors, self.skipped = counts
            if status is None:
                self.gone = True
                self.stop()
            elif status == "CANCELLED":
                self.cancelled = True
                self.stop()

    async def _flusher(self) -> None:
        while True:
            await anyio.sleep(self.flush_interval)
            if self.pending or self.pending_skipped:
                await self.flush()

    async def _worker(self, receive: MemoryObjectReceiveStream[Item]) -> None:
        async with receive:
            while True:
                # An item already queued is taken without the yield to the loop that ``receive`` makes first; the
                # queue holds at most a few dozen items, so a run of items that never wait stays short.
                try:
                    item = receive.receive_nowait()
                except anyio.WouldBlock:
                    try:
                        item = await receive.receive()
                    except anyio.EndOfStream:
                        return
                except anyio.EndOfStream:
                    return
                self.add(await item())

    async def execute(
        self, produce: Callable[[MemoryObjectSendStream[Item]], Coroutine[Any, Any, None]], workers: int
    ) -> None:
        """Run every item ``produce`` sends with ``workers`` workers, flushing as it goes and once at the end.

        Returns when all items are done or the run was stopped (cancel, abort, deletion); a cancellation from
        outside (the engine stopping) propagates after the final flush, leaving the run RUNNING for ``recover``.
        """
        send, receive = anyio.create_memory_object_stream[Item](max(workers * 2, 16))
        try:
            with anyio.CancelScope() as scope:
                self.scope = scope
                if self.cancelled:
                    scope.cancel()
                async with anyio.create_task_group() as outer:
                    outer.start_soon(self._flusher)
                    async with anyio.create_task_group() as group:
                        group.start_soon(produce, send)
                        with receive:
                            for _ in range(workers):
                                group.start_soon(self._worker, receive.clone())
                    outer.cancel_scope.cancel()
        finally:
            send.close()
            receive.close()
            with anyio.CancelScope(shield=True):
                await self.flush()

    def most_common_error(self) -> tuple[str, int] | None:
        """The most frequent error message and how often it occurred."""
        found = self.error_messages.most_common(1)
        return found[0] if found else None

    def final_status(self, noun: str) -> tuple[str, str | None]:
        """The run's final status and reason, from how the execution ended."""
        if self.abort_reason is not None:
            return "FAILED", self.abort_reason
        if self.cancelled:
            return "CANCELLED", self.cancel_text(noun)
        if self.successes == 0 and self.errors > 0:
            common = self.most_common_error()
            assert common is not None
            message, count = common
            return "FAILED", (
                f"all {plural(self.errors, noun)} failed; the most common error ({count} of them): {message}"
            )
        return "COMPLETED", None

    def cancel_text(self, noun: str) -> str:
        """The reason of a run the user cancelled."""
        done = self.successes + self.errors + self.skipped
        return (
            f"Cancelled by user after {done} of {plural(self.total, noun)} ({self.successes} scored, "
            f"{self.errors} errors, {self.skipped} skipped); results already stored are kept."
        )


def evaluation_item(plan: EvaluatorPlan, record: Record, task_num: int, run_num: int) -> Item:
    """Score ``record`` with ``plan``; a success stores ``eval.<name>`` on the record with the run's provenance."""

    async def run() -> Outcome:
        try:
            verdict = await plan.score(record)
        except ItemError as exc:
            return Outcome(False, record.ref, plan.evaluator_name, exc.message, exc.fatal_reason)
        except Exception as exc:
            logger.exception("scoring %s with %s failed", record.ref, plan.evaluator_name)
            return Outcome(False, record.ref, plan.evaluator_name, f"internal error: {type(exc).__name__}")
        return Outcome(
            True, record.ref, plan.evaluator_name, write=_store_verdict(plan, record, verdict, task_num, run_num)
        )

    return run


def _store_verdict(
    plan: EvaluatorPlan, record: Record, verdict: Judgement, task_num: int, run_num: int
) -> Callable[[sqlite3.Connection, str], None]:
    def write(conn: sqlite3.Connection, now: str) -> None:
        upsert_evaluation(
            conn,
            record.target_kind,
            record.key,
            plan.eval_name,
            now=now,
            label=verdict.label,
            score=verdict.score,
            explanation=verdict.explanation,
            task_num=task_num,
            task_run_num=run_num,
            evaluator_num=plan.evaluator_num,
        )

    return write


def missing_item(candidate: Candidate, plan: EvaluatorPlan) -> Item:
    """An error for a record deleted between selection and scoring."""

    async def run() -> Outcome:
        return Outcome(False, candidate.ident, plan.evaluator_name, "the record was deleted after the run selected it")

    return run


def experiment_item(
    plan: ExperimentPlan, experiment: StoredObject, example: ExampleRow, task_num: int, run_num: int
) -> Item:
    """Run one example; success or failure, the example gets an experiment run (with ``error`` on failure)."""

    async def run() -> Outcome:
        ref = f"example {example.example_id}"
        fatal = None
        try:
            generated = await plan.generate(example)
            ok, message = True, None
        except ItemError as exc:
            generated = GeneratedRun(example.example_id, None, exc.message, {})
            ok, message, fatal = False, exc.message, exc.fatal_reason
        except Exception as exc:
            logger.exception("running %s failed", ref)
            message = f"internal error: {type(exc).__name__}"
            generated = GeneratedRun(example.example_id, None, message, {})
            ok = False

        def write(conn: sqlite3.Connection, now: str) -> None:
            store_generated(
                conn, experiment, generated, eval_name=plan.eval_name, now=now, task_num=task_num, run_num=run_num
            )

        return Outcome(ok, ref, plan.experiment_type, message, fatal, write)

    return run
