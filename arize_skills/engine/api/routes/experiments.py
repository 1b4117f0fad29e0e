"""``/v2/experiments``: experiments on a dataset or standalone in a space, and their runs.

Run IDs are assigned here (time-ordered UUIDs, so ``id`` order is upload order). ``eval.<name>.*`` keys of an
uploaded run are stored as evaluation results and read back as the same flat keys; a malformed run-search filter
is a 422, as AX documents for this endpoint. A run of a dataset experiment must name an example of that dataset
(any version): one that does not is a 400 naming its row, and nothing of the request is stored.
"""

from __future__ import annotations

import sqlite3
from collections.abc import Sequence
from typing import Any

from starlette.requests import Request
from starlette.responses import Response
from starlette.routing import Route

from ....errors import FilterError, ProblemError
from ....models.experiments import (
    AnnotateExperimentRunsRequest,
    AppendExperimentRunsRequest,
    CreateExperimentRequest,
    Experiment,
    ExperimentRunInput,
    ExperimentWithRunIds,
    SearchExperimentRunsRequest,
)
from ...query.filters import compile_filter, run_filter_sql
from ...store.datasets import require_dataset, resolve_version
from ...store.documents import ExperimentDoc
from ...store.experiments import (
    EXPERIMENT_KIND,
    RunRow,
    delete_experiment,
    insert_runs,
    missing_examples,
    require_experiment,
    run_payloads,
    split_run,
)
from ...store.objects import (
    StoredObject,
    document,
    find_by_name,
    insert_object,
    list_objects,
    space_id_of,
    update_object,
)
from ..context import engine_of
from ..http import decode_cursor, encode_cursor, query_str, read_body, read_limit
from ..object_routes import (
    annotate_route,
    delete_route,
    object_page_response,
    object_route,
    page_read_response,
    write_response,
)

__all__ = ["experiment_model", "routes"]

RUNS_MAX_LIMIT = 500


def experiment_model(conn: sqlite3.Connection, experiment: StoredObject) -> Experiment:
    """The wire shape of a stored experiment."""
    doc = document(experiment, ExperimentDoc)
    return Experiment(
        id=experiment.id,
        name=experiment.name or "",
        space_id=space_id_of(conn, experiment.space_num),
        dataset_id=doc.dataset_id,
        dataset_version_id=doc.dataset_version_id,
        created_at=experiment.created,
        updated_at=experiment.updated,
        experiment_traces_project_id=None,
        integration_id=None,
    )


def _check_example_ids(runs: Sequence[ExperimentRunInput]) -> None:
    for index, run in enumerate(runs):
        if run.example_id is None or not run.example_id:
            raise ProblemError(
                400,
                f"experiment_runs[{index}].example_id is required for an experiment on a dataset "
                "(the ID of the dataset example this run answers)",
            )


def _check_examples_exist(conn: sqlite3.Connection, dataset_num: int, runs: Sequence[ExperimentRunInput]) -> None:
    missing = missing_examples(conn, dataset_num, [run.example_id for run in runs if run.example_id])
    if not missing:
        return
    rows = [index for index, run in enumerate(runs) if run.example_id in missing]
    first = rows[0]
    shown = str(runs[first].example_id)[:100]
    more = f" (and {len(rows) - 1} more runs)" if len(rows) > 1 else ""
    raise ProblemError(
        400,
        f"experiment_runs[{first}].example_id '{shown}' is not an example of this dataset{more}; "
        "use the IDs from GET /v2/datasets/{dataset_id}/examples",
    )


def _name_taken(conn: sqlite3.Connection, name: str, *, space_num: int, dataset_num: int | None) -> bool:
    if dataset_num is not None:
        return find_by_name(conn, EXPERIMENT_KIND, name, parent_num=dataset_num) is not None
    row = conn.execute(
        "SELECT 1 FROM objects WHERE kind = ? AND space_num = ? AND parent_num IS NULL AND name = ?",
        (EXPERIMENT_KIND, space_num, name),
    ).fetchone()
    return row is not None


async def list_experiments(request: Request) -> Response:
    engine = engine_of(request)
    limit = read_limit(request)
    dataset_id, space_id, name = (
        query_str(request, "dataset_id"),
        query_str(request, "space_id"),
        query_str(request, "name"),
    )
    if dataset_id is not None and space_id is not None:
        raise ProblemError(400, "send dataset_id or space_id, not both")

    def fetch(conn: sqlite3.Connection, after: Any) -> tuple[list[StoredObject], bool]:
        parent_num = require_dataset(conn, dataset_id).num if dataset_id is not None else None
        space_nums = engine.space_scope(conn, space_id, None)
        return list_objects(
            conn,
            EXPERIMENT_KIND,
            limit=limit,
            after=after,
            space_nums=space_nums,
            parent_num=parent_num,
            name_contains=name,
        )

    scope = f"experiments|{dataset_id}|{space_id}|{name}"
    return await object_page_response(request, "experiments", scope=scope, fetch=fetch, render=experiment_model)


async def create_experiment(request: Request) -> Response:
    engine = engine_of(request)
    body = await read_body(request, CreateExperimentRequest)
    if body.dataset_id is not None:
        _check_example_ids(body.experiment_runs)
    runs = [split_run(r) for r in body.experiment_runs]

    def run(conn: sqlite3.Connection) -> Experiment:
        doc: dict[str, Any] = {"dataset_id": None, "dataset_version_id": None}
        dataset_num = None
        if body.dataset_id is not None:
            dataset = require_dataset(conn, body.dataset_id)
            assert dataset.space_num is not None
            space_num, dataset_num = dataset.space_num, dataset.num
            _check_examples_exist(conn, dataset_num, body.experiment_runs)
            doc = {"dataset_id": dataset.id, "dataset_version_id": resolve_version(conn, dataset, None).id}
        else:
            assert body.space_id is not None
            space_num = engine.require_space(conn, body.space_id).num
        if _name_taken(conn, body.name, space_num=space_num, dataset_num=dataset_num):
            where = "on this dataset" if dataset_num is not None else "in this space"
            raise ProblemError(409, f"an experiment named '{body.name}' already exists {where}")
        now = engine.now()
        experiment = insert_object(
            conn, EXPERIMENT_KIND, name=body.name, body=doc, now=now, space_num=space_num, parent_num=dataset_num
        )
        insert_runs(conn, experiment, runs, now=now)
        return experiment_model(conn, experiment)

    return await write_response(request, run, 201)


get_experiment = object_route("experiment_id", require_experiment, experiment_model)

delete_experiment_route = delete_route("experiment_id", require_experiment, delete_experiment)


def _runs_page(
    conn: sqlite3.Connection, found: list[sqlite3.Row], limit: int, scope: str, position: str
) -> tuple[list[dict[str, Any]], str | None]:
    """The first ``limit`` runs of ``found`` (read one past ``limit``) as payloads, and the cursor past them
    when there were more: it holds the last run's ``position`` column."""
    more = len(found) > limit
    found = found[:limit]
    cursor = encode_cursor(found[-1][position], scope) if more else None
    return run_payloads(conn, [RunRow.from_row(r) for r in found]), cursor


async def list_runs(request: Request) -> Response:
    limit = read_limit(request, maximum=RUNS_MAX_LIMIT)
    experiment_id = request.path_params["experiment_id"]
    scope = f"runs|{experiment_id}"
    after = decode_cursor(request.query_params.get("cursor"), scope)
    if after is not None and not isinstance(after, int):
        raise ProblemError(400, "cursor is not valid for this request: start again without a cursor")

    def run(conn: sqlite3.Connection) -> tuple[list[dict[str, Any]], str | None]:
        experiment = require_experiment(conn, experiment_id)
        found = conn.execute(
            "SELECT * FROM experiment_runs WHERE experiment_num = ? AND row > ? ORDER BY row LIMIT ?",
            (experiment.num, after if after is not None else -1, limit + 1),
        ).fetchall()
        return _runs_page(conn, found, limit, scope, "row")

    return await page_read_response(request, "experiment_runs", run)


async def search_runs(request: Request) -> Response:
    body = await read_body(request, SearchExperimentRunsRequest, optional=True)
    experiment_id = request.path_params["experiment_id"]
    try:
        compiled = compile_filter(body.filter, run_filter_sql, every="run")
    except FilterError as exc:
        raise ProblemError(422, exc.detail) from None
    scope = f"runs-search|{experiment_id}|{body.filter}"
    after = decode_cursor(body.cursor, scope)
    if after is not None and not isinstance(after, str):
        raise ProblemError(400, "cursor is not valid for this request: start again without a cursor")
    limit = body.limit or 50

    def run(conn: sqlite3.Connection) -> tuple[list[dict[str, Any]], str | None]:
        experiment = require_experiment(conn, experiment_id)
        sql = "SELECT r.* FROM experiment_runs AS r WHERE r.experiment_num = ? AND r.run_id > ?"
        params: list[Any] = [experiment.num, after or ""]
        if compiled is not None:
            sql += f" AND ({compiled[0]})"
            params.extend(compiled[1])
        found = conn.execute(sql + " ORDER BY r.run_id LIMIT ?", [*params, limit + 1]).fetchall()
        return _runs_page(conn, found, limit, scope, "run_id")

    return await page_read_response(request, "experiment_runs", run)


async def append_runs(request: Request) -> Response:
    engine = engine_of(request)
    body = await read_body(request, AppendExperimentRunsRequest)
    experiment_id = request.path_params["experiment_id"]
    runs = [split_run(r) for r in body.experiment_runs]

    def run(conn: sqlite3.Connection) -> ExperimentWithRunIds:
        experiment = require_experiment(conn, experiment_id)
        if experiment.parent_num is not None:
            _check_example_ids(body.experiment_runs)
            _check_examples_exist(conn, experiment.parent_num, body.experiment_runs)
        now = engine.now()
        ids = insert_runs(conn, experiment, runs, now=now)
        update_object(conn, experiment, now=now)
        return ExperimentWithRunIds(**experiment_model(conn, experiment).model_dump(), run_ids=ids)

    return await write_response(request, run, 201)


annotate_runs = annotate_route(AnnotateExperimentRunsRequest, "experiment_id", require_experiment, "run")


routes = [
    Route("/v2/experiments", list_experiments, methods=["GET"]),
    Route("/v2/experiments", create_experiment, methods=["POST"]),
    Route("/v2/experiments/{experiment_id}", get_experiment, methods=["GET"]),
    Route("/v2/experiments/{experiment_id}", delete_experiment_route, methods=["DELETE"]),
    Route("/v2/experiments/{experiment_id}/runs", list_runs, methods=["GET"]),
    Route("/v2/experiments/{experiment_id}/runs", append_runs, methods=["POST"]),
    Route("/v2/experiments/{experiment_id}/runs/search", search_runs, methods=["POST"]),
    Route("/v2/experiments/{experiment_id}/runs/annotate", annotate_runs, methods=["POST"]),
]
