"""``/v2/datasets``: datasets, their versions, and their examples (list, append, update, delete, search, annotate).

Appending writes into the given (or latest) version in place, as AX does ("adds examples to an existing dataset
version"); only an update with a non-empty ``new_version`` creates a version, by copying every example of the
source version and applying the update to the copy.
"""

from __future__ import annotations

import json
import sqlite3
from typing import Any

from starlette.requests import Request
from starlette.responses import Response
from starlette.routing import Route

from ....errors import ProblemError
from ....models.datasets import (
    AnnotateDatasetExamplesRequest,
    AppendExamplesRequest,
    CreateDatasetRequest,
    Dataset,
    DatasetVersion,
    DatasetVersionWithExampleIds,
    DeleteDatasetExamplesRequest,
    DeleteDatasetExamplesResponse,
    SearchDatasetExamplesRequest,
    UpdateDatasetExamplesRequest,
    UpdateDatasetRequest,
)
from ...query.filters import compile_filter, example_filter_sql
from ...store.datasets import (
    DATASET_KIND,
    INITIAL_VERSION_NAME,
    VERSION_KIND,
    ExampleRow,
    delete_dataset_records,
    example_payloads,
    insert_examples,
    require_dataset,
    resolve_version,
    touch_dataset,
    versions_of,
)
from ...store.experiments import EXPERIMENT_KIND, delete_experiment
from ...store.objects import StoredObject, check_name_free, delete_object, insert_object, list_objects, space_id_of
from ..context import engine_of
from ..http import decode_cursor, encode_cursor, query_str, read_body, read_limit
from ..object_routes import (
    annotate_route,
    delete_route,
    object_route,
    page_read_response,
    rename_route,
    resource_routes,
    space_objects_response,
    write_response,
)

__all__ = ["dataset_model", "routes"]

EXAMPLES_MAX_LIMIT = 500


def _version_model(version: StoredObject, dataset: StoredObject) -> DatasetVersion:
    return DatasetVersion(
        id=version.id,
        name=version.name or "",
        dataset_id=dataset.id,
        created_at=version.created,
        updated_at=version.updated,
    )


def dataset_model(
    conn: sqlite3.Connection, dataset: StoredObject, *, with_versions: bool = False, space_id: str | None = None
) -> Dataset:
    """The wire shape of a stored dataset, with its versions (newest first) when asked."""
    model = Dataset(
        id=dataset.id,
        name=dataset.name or "",
        space_id=space_id or space_id_of(conn, dataset.space_num),
        created_at=dataset.created,
        updated_at=dataset.updated,
    )
    if with_versions:
        model.versions = [_version_model(v, dataset) for v in versions_of(conn, dataset)]
    return model


def _written(
    conn: sqlite3.Connection, dataset: StoredObject, version: StoredObject, ids: list[str]
) -> DatasetVersionWithExampleIds:
    return DatasetVersionWithExampleIds(
        id=dataset.id,
        name=dataset.name or "",
        space_id=space_id_of(conn, dataset.space_num),
        created_at=dataset.created,
        updated_at=dataset.updated,
        dataset_version_id=version.id,
        example_ids=ids,
    )


def _dataset_with_versions(conn: sqlite3.Connection, dataset: StoredObject) -> Dataset:
    return dataset_model(conn, dataset, with_versions=True)


async def list_datasets(request: Request) -> Response:
    return await space_objects_response(request, DATASET_KIND, "datasets", scope="datasets", render=dataset_model)


async def create_dataset(request: Request) -> Response:
    engine = engine_of(request)
    body = await read_body(request, CreateDatasetRequest)

    def run(conn: sqlite3.Connection) -> Dataset:
        space = engine.require_space(conn, body.space_id)
        check_name_free(conn, DATASET_KIND, body.name, label="a dataset", space_num=space.num)
        now = engine.now()
        dataset = insert_object(conn, DATASET_KIND, name=body.name, body={}, now=now, space_num=space.num)
        version = insert_object(
            conn, VERSION_KIND, name=INITIAL_VERSION_NAME, body={}, now=now, space_num=space.num, parent_num=dataset.num
        )
        insert_examples(conn, dataset, version, body.examples, now=now)
        return dataset_model(conn, dataset, with_versions=True, space_id=space.id)

    return await write_response(request, run, 201)


get_dataset = object_route("dataset_id", require_dataset, _dataset_with_versions)

update_dataset = rename_route(
    UpdateDatasetRequest, "dataset_id", require_dataset, _dataset_with_versions, kind=DATASET_KIND, label="a dataset"
)


def _delete_dataset(conn: sqlite3.Connection, dataset: StoredObject) -> None:
    experiments, _ = list_objects(conn, EXPERIMENT_KIND, limit=1_000_000, parent_num=dataset.num)
    for experiment in experiments:
        delete_experiment(conn, experiment)
    delete_dataset_records(conn, dataset)
    delete_object(conn, dataset)


delete_dataset = delete_route("dataset_id", require_dataset, _delete_dataset)


def _examples_page(
    conn: sqlite3.Connection,
    dataset: StoredObject,
    version_id: str | None,
    *,
    limit: int,
    cursor: str | None,
    scope: str,
    filter_sql: tuple[str, list[Any]] | None = None,
) -> tuple[list[dict[str, Any]], str | None]:
    """One page of a version's examples in insertion order; the cursor pins the version it started on."""
    position = decode_cursor(cursor, scope)
    if position is not None:
        if not (isinstance(position, list) and len(position) == 2 and all(isinstance(p, int) for p in position)):
            raise ProblemError(400, "cursor is not valid for this request: start again without a cursor")
        version_num, after = position
        versions = [v for v in versions_of(conn, dataset) if v.num == version_num]
        if not versions:
            raise ProblemError(400, "the dataset version this cursor was paging no longer exists; start again")
        version = versions[0]
    else:
        version, after = resolve_version(conn, dataset, version_id), -1
    sql = "SELECT e.* FROM dataset_examples AS e WHERE e.version_num = ? AND e.position > ?"
    params: list[Any] = [version.num, after]
    if filter_sql is not None:
        sql += f" AND ({filter_sql[0]})"
        params.extend(filter_sql[1])
    sql += " ORDER BY e.position LIMIT ?"
    params.append(limit + 1)
    rows = ExampleRow.from_rows(conn.execute(sql, params).fetchall())
    more = len(rows) > limit
    rows = rows[:limit]
    next_cursor = encode_cursor([version.num, rows[-1].position], scope) if more else None
    return example_payloads(conn, rows), next_cursor


async def list_examples(request: Request) -> Response:
    limit = read_limit(request, maximum=EXAMPLES_MAX_LIMIT)
    dataset_id, version_id = request.path_params["dataset_id"], query_str(request, "dataset_version_id")
    scope = f"examples|{dataset_id}|{version_id}"

    def run(conn: sqlite3.Connection) -> tuple[list[dict[str, Any]], str | None]:
        dataset = require_dataset(conn, dataset_id)
        return _examples_page(
            conn, dataset, version_id, limit=limit, cursor=request.query_params.get("cursor"), scope=scope
        )

    return await page_read_response(request, "examples", run)


async def search_examples(request: Request) -> Response:
    body = await read_body(request, SearchDatasetExamplesRequest, optional=True)
    dataset_id = request.path_params["dataset_id"]
    compiled = compile_filter(body.filter, example_filter_sql, every="example")
    version_id = body.dataset_version_id or None
    scope = f"examples-search|{dataset_id}|{version_id}|{body.filter}"

    def run(conn: sqlite3.Connection) -> tuple[list[dict[str, Any]], str | None]:
        dataset = require_dataset(conn, dataset_id)
        return _examples_page(
            conn,
            dataset,
            version_id,
            limit=body.limit or 50,
            cursor=body.cursor,
            scope=scope,
            filter_sql=compiled,
        )

    return await page_read_response(request, "examples", run)


async def append_examples(request: Request) -> Response:
    engine = engine_of(request)
    body = await read_body(request, AppendExamplesRequest)
    dataset_id, version_id = request.path_params["dataset_id"], query_str(request, "dataset_version_id")

    def run(conn: sqlite3.Connection) -> DatasetVersionWithExampleIds:
        dataset = require_dataset(conn, dataset_id)
        version = resolve_version(conn, dataset, version_id)
        now = engine.now()
        ids = insert_examples(conn, dataset, version, body.examples, now=now)
        touch_dataset(conn, dataset, version, now=now)
        return _written(conn, dataset, version, ids)

    return await write_response(request, run, 201)


async def update_examples(request: Request) -> Response:
    engine = engine_of(request)
    body = await read_body(request, UpdateDatasetExamplesRequest)
    dataset_id, version_id = request.path_params["dataset_id"], query_str(request, "dataset_version_id")
    new_version = (body.new_version or "").strip()

    def run(conn: sqlite3.Connection) -> DatasetVersionWithExampleIds:
        dataset = require_dataset(conn, dataset_id)
        version = resolve_version(conn, dataset, version_id)
        now = engine.now()
        if new_version:
            source = version
            version = insert_object(
                conn,
                VERSION_KIND,
                name=new_version,
                body={},
                now=now,
                space_num=dataset.space_num,
                parent_num=dataset.num,
            )
            conn.execute(
                "INSERT INTO dataset_examples"
                " (dataset_num, version_num, example_id, position, data, created_at, updated_at)"
                " SELECT dataset_num, ?, example_id, position, data, created_at, updated_at"
                " FROM dataset_examples WHERE version_num = ?",
                (version.num, source.num),
            )
        wanted = list(dict.fromkeys(str(e["id"]) for e in body.examples))
        found = {
            row["example_id"]: ExampleRow.from_row(row)
            for row in conn.execute(
                "SELECT * FROM dataset_examples WHERE version_num = ?"
                f" AND example_id IN ({','.join('?' * len(wanted))})",
                [version.num, *wanted],
            )
        }
        for example in body.examples:
            row = found.get(str(example["id"]))
            if row is not None:
                row.data.update((k, v) for k, v in example.items() if k != "id")
        conn.executemany(
            "UPDATE dataset_examples SET data = ?, updated_at = ? WHERE version_num = ? AND example_id = ?",
            [(json.dumps(row.data), now, version.num, row.example_id) for row in found.values()],
        )
        touch_dataset(conn, dataset, version, now=now)
        return _written(conn, dataset, version, [i for i in wanted if i in found])

    return await write_response(request, run)


async def delete_examples(request: Request) -> Response:
    engine = engine_of(request)
    body = await read_body(request, DeleteDatasetExamplesRequest)
    dataset_id = request.path_params["dataset_id"]

    def run(conn: sqlite3.Connection) -> DeleteDatasetExamplesResponse:
        dataset = require_dataset(conn, dataset_id)
        version = resolve_version(conn, dataset, body.dataset_version_id)
        marks = ",".join("?" * len(body.example_ids))
        present = {
            row[0]
            for row in conn.execute(
                f"SELECT example_id FROM dataset_examples WHERE version_num = ? AND example_id IN ({marks})",
                [version.num, *body.example_ids],
            )
        }
        deleted = [i for i in body.example_ids if i in present]
        if deleted:
            conn.execute(
                "DELETE FROM dataset_examples WHERE version_num = ?"
                f" AND example_id IN ({','.join('?' * len(deleted))})",
                [version.num, *deleted],
            )
            # Annotations belong to the example in every version; drop them only once no version holds it.
            conn.execute(
                "DELETE FROM annotations WHERE target_kind = 'example'"
                f" AND target_key IN ({','.join('?' * len(deleted))})"
                " AND target_key NOT IN (SELECT example_id FROM dataset_examples WHERE dataset_num = ?)",
                [*deleted, dataset.num],
            )
            touch_dataset(conn, dataset, version, now=engine.now())
        return DeleteDatasetExamplesResponse(
            completed=True,
            deleted_example_ids=deleted,
            not_deleted_example_ids=[i for i in body.example_ids if i not in present],
        )

    return await write_response(request, run)


annotate_examples = annotate_route(AnnotateDatasetExamplesRequest, "dataset_id", require_dataset, "example")


routes = [
    *resource_routes(
        "/v2/datasets", "dataset_id", list_datasets, create_dataset, get_dataset, update_dataset, delete_dataset
    ),
    Route("/v2/datasets/{dataset_id}/examples", list_examples, methods=["GET"]),
    Route("/v2/datasets/{dataset_id}/examples", append_examples, methods=["POST"]),
    Route("/v2/datasets/{dataset_id}/examples", update_examples, methods=["PATCH"]),
    Route("/v2/datasets/{dataset_id}/examples", delete_examples, methods=["DELETE"]),
    Route("/v2/datasets/{dataset_id}/examples/search", search_examples, methods=["POST"]),
    Route("/v2/datasets/{dataset_id}/examples/annotate", annotate_examples, methods=["POST"]),
]
