"""``client.experiments``: experiments and their runs, with uploads of any size.

Runs are ``{"example_id", "output", …}`` rows; ``eval.<name>.score`` / ``.label`` / ``.explanation`` /
``.metadata.<key>`` keys carry evaluation results, any other key is a custom column. AX requires ``output`` to
be a string: dict and list outputs are JSON-encoded here (as the official SDK does), and a missing, null, NaN or
numeric output is refused *before* anything is sent, naming the row, instead of failing on the server half-way
through an upload. Uploads over 1000 runs are split: the create carries the first 1000, appends the rest.
``create_encoded`` and ``append_encoded`` send one request's runs that the caller has checked and encoded itself
(the ``upload_experiment`` tool streams a file through them).
"""

from __future__ import annotations

import json
from collections.abc import Iterable, Mapping, Sequence
from typing import Any

from ...foundation.chunks import chunked
from ...models.annotations import AnnotateRecordInput
from ...models.experiments import (
    MAX_RUNS_PER_REQUEST,
    Experiment,
    ExperimentRun,
    ExperimentWithRunIds,
)
from .._paginator import AsyncPaginator
from .._resource import Resource
from .datasets import Rows, annotation_records, json_records

__all__ = ["Experiments", "run_records"]


def run_records(runs: Rows, *, require_example_id: bool) -> list[dict[str, Any]]:
    """Runs as JSON-ready request objects, checked the way AX will check them.

    Raises:
        ValueError: a row without a usable string ``output`` (dicts and lists are JSON-encoded), or without an
            ``example_id`` string when the experiment is on a dataset.
    """
    records = json_records(runs)
    for index, record in enumerate(records):
        output = record.get("output")
        if isinstance(output, dict | list):
            record["output"] = json.dumps(output)
        elif "output" not in record:
            raise ValueError(f"run row {index} has no 'output' column: every run needs the task's output as text")
        elif output is None:
            raise ValueError(
                f"run row {index}: output is missing (null or NaN); every run needs a string output — for a failed "
                "task send output='' and put the message in 'error'"
            )
        elif not isinstance(output, str):
            raise ValueError(
                f"run row {index}: output is a {type(output).__name__} ({output!r}); AX takes text only — "
                f"convert it (for example str(value) or json.dumps(value))"
            )
        example_id = record.get("example_id")
        if example_id is None and not require_example_id:
            record.pop("example_id", None)
        elif not isinstance(example_id, str) or not example_id:
            need = "an experiment on a dataset needs the example ID of every run" if require_example_id else ""
            raise ValueError(
                f"run row {index}: example_id must be a dataset example ID string, got {example_id!r}"
                + (f"; {need}" if need else "")
            )
    return records


class Experiments(Resource):
    """Experiments: list, get, create (any size), delete; runs: list, append, search, annotate."""

    async def _id(self, experiment: str, dataset: str | None, space: str | None) -> str:
        return await self._client.resolve.experiment_id(experiment, dataset=dataset, space=space)

    def list(
        self,
        *,
        dataset: str | None = None,
        space: str | None = None,
        name: str | None = None,
        limit: int = 50,
    ) -> AsyncPaginator[Experiment]:
        """Experiments of a dataset (ID or name; a name needs a space), else of a space (default: the client's),
        optionally filtered by a name substring."""

        async def params() -> dict[str, Any]:
            query: dict[str, Any] = {"name": name, "limit": limit}
            if dataset is not None:
                query["dataset_id"] = await self._client.resolve.id_of("dataset", dataset, space=space)
            elif space or self._client.space:
                query["space_id"] = await self._client.resolve.space_id(space)
            return query

        return self._paginate("/v2/experiments", "experiments", Experiment, params=params)

    async def get(self, experiment: str, *, dataset: str | None = None, space: str | None = None) -> Experiment:
        """One experiment by ID, or by exact name inside a dataset or (standalone or not) a space."""
        return await self._get_model(Experiment, f"/v2/experiments/{await self._id(experiment, dataset, space)}")

    async def create(
        self, name: str, runs: Rows, *, dataset: str | None = None, space: str | None = None
    ) -> Experiment:
        """Create an experiment from runs of any number.

        With ``dataset`` (``space`` then only helps resolve a dataset name) every run needs ``example_id``;
        without it the experiment is standalone in ``space`` (default: the client's). The first 1000 runs
        create the experiment and the rest are appended in requests of ≤1000, so above 1000 runs a failure can
        leave the experiment with the runs sent so far. Creates are never retried blindly.
        """
        records = run_records(runs, require_example_id=dataset is not None)
        if not records:
            raise ValueError("an experiment needs at least one run")
        body: dict[str, Any] = {"name": name}
        if dataset is not None:
            body["dataset_id"] = await self._client.resolve.id_of("dataset", dataset, space=space)
        else:
            body["space_id"] = await self._client.resolve.space_id(space)
        body["experiment_runs"] = records[:MAX_RUNS_PER_REQUEST]
        created = Experiment.model_validate(await self._request("POST", "/v2/experiments", body=body))
        rest = records[MAX_RUNS_PER_REQUEST:]
        if not rest:
            return created
        await self._append(created.id, rest)
        return await self.get(created.id)

    async def create_encoded(
        self, name: str, runs: bytes, *, dataset_id: str | None = None, space_id: str | None = None
    ) -> Experiment:
        """Create an experiment, on dataset ``dataset_id`` or standalone in space ``space_id`` (IDs; exactly one),
        from one request's runs: ``runs`` is a JSON array of 1 to 1000 run objects, encoded by the caller and
        already checked as ``run_records`` would check them (they are sent as they are). Never retried blindly.
        """
        if (dataset_id is None) == (space_id is None):
            raise ValueError("create_encoded needs dataset_id or space_id, not both")
        owner = {"dataset_id": dataset_id} if dataset_id is not None else {"space_id": space_id}
        head = json.dumps({"name": name, **owner}).encode()
        body = head[:-1] + b', "experiment_runs": ' + runs + b"}"
        return Experiment.model_validate(await self._request("POST", "/v2/experiments", encoded=body))

    async def append_encoded(self, experiment_id: str, runs: bytes) -> int:
        """Append one request's runs to experiment ``experiment_id`` (an ID): ``runs`` as ``create_encoded`` takes
        them. Returns how many run IDs the server gave."""
        body = b'{"experiment_runs": ' + runs + b"}"
        answer = await self._request("POST", f"/v2/experiments/{experiment_id}/runs", encoded=body)
        return len(answer["run_ids"])

    async def delete(self, experiment: str, *, dataset: str | None = None, space: str | None = None) -> None:
        """Delete an experiment with its runs and their evaluations and annotations."""
        await self._request("DELETE", f"/v2/experiments/{await self._id(experiment, dataset, space)}")

    def list_runs(
        self, experiment: str, *, dataset: str | None = None, space: str | None = None, limit: int = 50
    ) -> AsyncPaginator[ExperimentRun]:
        """Runs in upload order; ``limit`` is the page size (≤500)."""

        async def path() -> str:
            return f"/v2/experiments/{await self._id(experiment, dataset, space)}/runs"

        return self._paginate(path, "experiment_runs", ExperimentRun, params={"limit": limit})

    def search_runs(
        self,
        experiment: str,
        *,
        filter: str | None = None,
        dataset: str | None = None,
        space: str | None = None,
        limit: int = 50,
    ) -> AsyncPaginator[ExperimentRun]:
        """Runs matching a filter such as ``"eval.correctness.score >= 0.5 AND model = 'gpt-4o'"``, by ID.

        A blank filter is dropped (every run matches); a malformed one is a 422 from the server.
        """

        async def path() -> str:
            return f"/v2/experiments/{await self._id(experiment, dataset, space)}/runs/search"

        body: dict[str, Any] = {"limit": limit}
        if filter is not None and filter.strip():
            body["filter"] = filter
        return self._paginate(path, "experiment_runs", ExperimentRun, method="POST", body=body, cursor_in_body=True)

    async def _append(self, experiment_id: str, records: Sequence[dict[str, Any]]) -> ExperimentWithRunIds:
        merged: dict[str, Any] = {}
        ids: list[str] = []
        for chunk in chunked(records, MAX_RUNS_PER_REQUEST):
            merged = await self._request(
                "POST", f"/v2/experiments/{experiment_id}/runs", body={"experiment_runs": list(chunk)}
            )
            ids.extend(merged["run_ids"])
        return ExperimentWithRunIds.model_validate({**merged, "run_ids": ids})

    async def append_runs(
        self, experiment: str, runs: Rows, *, dataset: str | None = None, space: str | None = None
    ) -> ExperimentWithRunIds:
        """Append runs (any number); returns the experiment and the run IDs of *all* chunks, in input order.

        ``example_id`` is checked client-side only for its type; the server requires it on dataset experiments.
        """
        records = run_records(runs, require_example_id=False)
        if not records:
            raise ValueError("append_runs needs at least one run")
        return await self._append(await self._id(experiment, dataset, space), records)

    async def annotate_runs(
        self,
        experiment: str,
        annotations: Iterable[AnnotateRecordInput | Mapping[str, Any]],
        *,
        dataset: str | None = None,
        space: str | None = None,
    ) -> None:
        """Upsert human annotations on runs (``record_id`` = run ID), in requests of ≤1000 records.

        Every name must be an annotation config of the experiment's space. Unknown run IDs are ignored by the
        server, as on AX.
        """
        records = annotation_records(annotations)
        if not records:
            raise ValueError("annotate_runs needs at least one annotation record")
        experiment_id = await self._id(experiment, dataset, space)
        for chunk in chunked(records, MAX_RUNS_PER_REQUEST):
            await self._request(
                "POST",
                f"/v2/experiments/{experiment_id}/runs/annotate",
                body={"annotations": list(chunk)},
                idempotent=True,
            )
