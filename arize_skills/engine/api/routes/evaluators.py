"""``/v2/evaluators``, ``/v2/evaluator-versions`` and ``/v2/evaluator-templates``.

An evaluator is an ``Evaluator`` object (name unique in its space); each version is an ``EvaluatorVersion``
object whose parent is the evaluator. A version's document holds ``type``, ``commit_message``, ``commit_hash``,
``created_by_user_id`` and exactly one of ``template_config`` / ``code_config`` / ``remote_config`` as stored
(server defaults filled in), plus ``ai_integration_num`` for template versions. The latest version is the one
with the highest number.

Rules beyond the request schema: the version's configuration must match the evaluator's type (422); a judge's
AI integration must exist and be visible to the space (404); a managed code config must fit the registry of
``arize_skills.evals.code_evaluators`` (400); a code config's ``query_filter`` must compile (400); custom code
must be valid Python (400; it is stored, and the local engine does not run it yet); REMOTE evaluators need an
AX feature the local engine does not have (403). An evaluator that a task uses cannot be deleted, nor can all
of its versions (409).
"""

from __future__ import annotations

import ast
import sqlite3
from typing import Any

from starlette.requests import Request
from starlette.responses import Response
from starlette.routing import Route

from ....errors import FilterError, ProblemError
from ....evals.code_evaluators import check_managed_config
from ....evals.templates import evaluator_templates
from ....models.evaluators import (
    CodeConfig,
    CreateEvaluatorRequest,
    CreateEvaluatorVersionRequest,
    CustomCodeConfigRequest,
    DeleteEvaluatorVersionsRequest,
    DeleteEvaluatorVersionsResponse,
    Evaluator,
    EvaluatorVersion,
    EvaluatorWithVersion,
    RemoteConfig,
    TemplateConfig,
    UpdateEvaluatorRequest,
)
from ....models.ids import decode_id
from ...query.filters import run_filter_sql, span_filter_sql
from ...store.annotations import LOCAL_ANNOTATOR
from ...store.documents import (
    CodeConfigDoc,
    EvaluatorDoc,
    EvaluatorVersionDoc,
    LlmConfigDoc,
    TaskDoc,
    TaskEvaluatorDoc,
    TemplateConfigDoc,
)
from ...store.integrations import require_accessible_integration
from ...store.objects import (
    StoredObject,
    check_name_free,
    commit_hash,
    delete_object,
    document,
    get_object,
    insert_object,
    list_objects,
    require_object,
    space_id_of,
    update_document,
    update_object,
)
from ..context import engine_of
from ..http import json_response, query_str, read_body
from ..object_routes import (
    children_page_response,
    delete_route,
    read_response,
    resource_routes,
    space_objects_response,
    write_response,
)

__all__ = [
    "EVALUATOR_KIND",
    "EVALUATOR_VERSION_KIND",
    "evaluator_model",
    "latest_version",
    "require_evaluator",
    "routes",
    "tasks_using",
    "version_model",
]

EVALUATOR_KIND = "Evaluator"
EVALUATOR_VERSION_KIND = "EvaluatorVersion"
TASK_KIND = "Task"
CONFIG_KEYS = {"TEMPLATE": "template_config", "CODE": "code_config", "REMOTE": "remote_config"}
ALL_ROWS = 1_000_000


def require_evaluator(conn: sqlite3.Connection, evaluator_id: str) -> StoredObject:
    """Load an evaluator by global ID or raise a 404 problem."""
    return require_object(conn, EVALUATOR_KIND, evaluator_id, label="evaluator")


def _versions(conn: sqlite3.Connection, evaluator: StoredObject) -> list[StoredObject]:
    versions, _ = list_objects(conn, EVALUATOR_VERSION_KIND, limit=ALL_ROWS, parent_num=evaluator.num)
    return versions


def latest_version(conn: sqlite3.Connection, evaluator: StoredObject) -> StoredObject | None:
    """The evaluator's newest version, if it has any."""
    versions, _ = list_objects(conn, EVALUATOR_VERSION_KIND, limit=1, parent_num=evaluator.num)
    return versions[0] if versions else None


def evaluator_model(conn: sqlite3.Connection, evaluator: StoredObject, space_id: str | None = None) -> Evaluator:
    """The wire shape of a stored evaluator, without a version."""
    doc = document(evaluator, EvaluatorDoc)
    return Evaluator(
        id=evaluator.id,
        name=evaluator.name or "",
        description=doc.description,
        type=doc.type,
        space_id=space_id or space_id_of(conn, evaluator.space_num),
        created_at=evaluator.created,
        updated_at=evaluator.updated,
        created_by_user_id=doc.created_by_user_id,
    )


def version_model(version: StoredObject, evaluator: StoredObject) -> EvaluatorVersion:
    """The wire shape of a stored version."""
    doc = document(version, EvaluatorVersionDoc)
    config_type = doc.type
    model = EvaluatorVersion(
        id=version.id,
        evaluator_id=evaluator.id,
        commit_hash=doc.commit_hash,
        commit_message=doc.commit_message,
        created_at=version.created,
        created_by_user_id=doc.created_by_user_id,
        type=config_type,
    )
    if config_type == "TEMPLATE" and doc.template_config is not None:
        model.template_config = TemplateConfig.model_validate(doc.template_config.to_body())
    elif config_type == "CODE" and doc.code_config is not None:
        model.code_config = CodeConfig.model_validate(doc.code_config.to_body())
    elif config_type == "REMOTE":
        model.remote_config = RemoteConfig.model_validate(doc.remote_config)
    return model


def _version_wire(version: StoredObject, evaluator: StoredObject) -> dict[str, Any]:
    return version_model(version, evaluator).to_wire()


def _with_version_wire(
    conn: sqlite3.Connection, evaluator: StoredObject, version: StoredObject | None, space_id: str | None = None
) -> dict[str, Any]:
    base = evaluator_model(conn, evaluator, space_id)
    model = EvaluatorWithVersion(
        **base.model_dump(), version=version_model(version, evaluator) if version is not None else None
    )
    return model.to_wire()


TaskUse = tuple[StoredObject, TaskDoc, list[TaskEvaluatorDoc]]
"""A task, its document, and the entries of its ``evaluators`` that attach one evaluator (members of the document,
so changing them and storing the document changes the task)."""


def tasks_using(conn: sqlite3.Connection, evaluator: StoredObject) -> list[TaskUse]:
    """Every task that has this evaluator attached, with the matching entries of its ``evaluators`` list."""
    tasks, _ = list_objects(conn, TASK_KIND, limit=ALL_ROWS, newest_first=False)
    found = []
    for task in tasks:
        doc = document(task, TaskDoc)
        entries = []
        for entry in doc.evaluators or []:
            decoded = decode_id(entry.evaluator_id)
            by_id = decoded is not None and decoded.type_name == EVALUATOR_KIND and decoded.number == evaluator.num
            if entry.evaluator_num == evaluator.num or by_id:
                entries.append(entry)
        if entries:
            found.append((task, doc, entries))
    return found


def _task_names(tasks: list[TaskUse]) -> str:
    return ", ".join(f"'{task.name}' ({task.id})" for task, _, _ in tasks)


def _check_code_syntax(field: str, source: str | None) -> None:
    if source is None:
        return
    try:
        ast.parse(source)
    except SyntaxError as exc:
        raise ProblemError(400, f"{field} is not valid Python: line {exc.lineno}: {exc.msg}") from None


def _check_query_filter(text: str | None) -> None:
    # The evaluator does not know yet whether a task will run it over spans or over experiment runs, so a filter
    # is accepted when it compiles for either; the task checks it again against its own data.
    if text is None:
        return
    try:
        span_filter_sql(text)
    except FilterError as span_error:
        try:
            run_filter_sql(text)
        except FilterError:
            raise ProblemError(400, f"version.code_config.query_filter: {span_error.detail}") from None


def _config_doc(
    conn: sqlite3.Connection, space: StoredObject, evaluator_type: str, version: CreateEvaluatorVersionRequest
) -> EvaluatorVersionDoc:
    """Check a version's configuration against the evaluator and return the stored version document (no hash)."""
    given_type = version.config_type
    if given_type != evaluator_type:
        wanted = CONFIG_KEYS.get(evaluator_type, "a configuration of its own type")
        raise ProblemError(
            422,
            f"version.{CONFIG_KEYS[given_type]} does not fit a {evaluator_type} evaluator: a {evaluator_type} "
            f"evaluator's versions carry {wanted}",
        )
    doc = EvaluatorVersionDoc(
        type=evaluator_type, commit_message=version.commit_message, created_by_user_id=LOCAL_ANNOTATOR["id"]
    )
    if version.remote_config is not None:
        raise ProblemError(
            403,
            "REMOTE evaluators need Arize AX's remote-evaluators feature, which the local engine does not have; "
            "create a TEMPLATE (LLM judge) or CODE evaluator instead",
        )
    if version.template_config is not None:
        config = version.template_config
        integration = require_accessible_integration(conn, config.llm_config.ai_integration_id, space)
        template = TemplateConfigDoc.load(config.model_dump(mode="json", by_alias=True, exclude_unset=True))
        if "use_structured_output" not in template.model_fields_set:
            template.use_structured_output = True
        template.direction = config.direction or "MAXIMIZE"
        template.data_granularity = config.data_granularity or "SPAN"
        template.llm_config = template.llm_config or LlmConfigDoc()
        template.llm_config.ai_integration_id = integration.id
        doc.template_config = template
        doc.ai_integration_num = integration.num
        return doc
    code = version.code_config
    assert code is not None
    if isinstance(code, CustomCodeConfigRequest):
        _check_code_syntax("version.code_config.code", code.code)
        _check_code_syntax("version.code_config.imports", code.imports)
    else:
        static_params = [p.model_dump(mode="json") for p in code.static_params or []]
        try:
            check_managed_config(code.managed_evaluator, code.variables, static_params)
        except ValueError as exc:
            raise ProblemError(400, f"version.{exc}") from None
    _check_query_filter(code.query_filter)
    doc.code_config = CodeConfigDoc.load(code.model_dump(mode="json", by_alias=True, exclude_unset=True))
    return doc


def _insert_version(
    conn: sqlite3.Connection, evaluator: StoredObject, doc: EvaluatorVersionDoc, now: str
) -> StoredObject:
    body = doc.to_body()
    version = insert_object(
        conn, EVALUATOR_VERSION_KIND, body=body, now=now, space_num=evaluator.space_num, parent_num=evaluator.num
    )
    config = body[CONFIG_KEYS[doc.type]]
    # A commit hash names the version: its configuration, message, evaluator, position and time.
    doc.commit_hash = commit_hash(
        {"evaluator": evaluator.id, "version": version.id, "config": config, "message": doc.commit_message, "at": now}
    )
    return update_document(conn, version, doc, now=now)


async def list_evaluators(request: Request) -> Response:
    return await space_objects_response(
        request, EVALUATOR_KIND, "evaluators", scope="evaluators", render=evaluator_model, by_updated=True
    )


async def create_evaluator(request: Request) -> Response:
    engine = engine_of(request)
    body = await read_body(request, CreateEvaluatorRequest)
    now = engine.now()

    def run(conn: sqlite3.Connection) -> dict[str, Any]:
        space = engine.require_space(conn, body.space_id)
        doc = _config_doc(conn, space, body.type, body.version)
        check_name_free(conn, EVALUATOR_KIND, body.name, label="an evaluator", space_num=space.num)
        evaluator_doc = EvaluatorDoc(
            type=body.type, description=body.description, created_by_user_id=LOCAL_ANNOTATOR["id"]
        )
        evaluator = insert_object(
            conn, EVALUATOR_KIND, name=body.name, body=evaluator_doc.to_body(), now=now, space_num=space.num
        )
        version = _insert_version(conn, evaluator, doc, now)
        return _with_version_wire(conn, evaluator, version, space.id)

    return await write_response(request, run, 201)


async def get_evaluator(request: Request) -> Response:
    version_id = query_str(request, "version_id", max_length=1000)

    def run(conn: sqlite3.Connection) -> dict[str, Any]:
        evaluator = require_evaluator(conn, request.path_params["evaluator_id"])
        if version_id is None:
            return _with_version_wire(conn, evaluator, latest_version(conn, evaluator))
        version = require_object(conn, EVALUATOR_VERSION_KIND, version_id, label="evaluator version")
        if version.parent_num != evaluator.num:
            raise ProblemError(
                404, f"evaluator version '{version_id}' is not a version of evaluator '{evaluator.name}'"
            )
        return _with_version_wire(conn, evaluator, version)

    return await read_response(request, run)


async def update_evaluator(request: Request) -> Response:
    engine = engine_of(request)
    body = await read_body(request, UpdateEvaluatorRequest)

    def run(conn: sqlite3.Connection) -> Evaluator:
        evaluator = require_evaluator(conn, request.path_params["evaluator_id"])
        if body.name is not None:
            check_name_free(
                conn,
                EVALUATOR_KIND,
                body.name,
                label="an evaluator",
                space_num=evaluator.space_num,
                own_num=evaluator.num,
            )
        doc = document(evaluator, EvaluatorDoc)
        if "description" in body.model_fields_set:
            doc.description = body.description
        return evaluator_model(conn, update_document(conn, evaluator, doc, now=engine.now(), name=body.name))

    return await write_response(request, run)


def _delete_evaluator(conn: sqlite3.Connection, evaluator: StoredObject) -> None:
    users = tasks_using(conn, evaluator)
    if users:
        raise ProblemError(
            409,
            f"evaluator '{evaluator.name}' is used by task(s) {_task_names(users)}; remove it from those tasks "
            "(or delete them) first",
        )
    for version in _versions(conn, evaluator):
        delete_object(conn, version)
    delete_object(conn, evaluator)


delete_evaluator = delete_route("evaluator_id", require_evaluator, _delete_evaluator)


async def create_version(request: Request) -> Response:
    engine = engine_of(request)
    body = await read_body(request, CreateEvaluatorVersionRequest)
    now = engine.now()

    def run(conn: sqlite3.Connection) -> dict[str, Any]:
        evaluator = require_evaluator(conn, request.path_params["evaluator_id"])
        space = get_object(conn, "Space", evaluator.space_num) if evaluator.space_num is not None else None
        if space is None:
            raise ProblemError(500, f"evaluator '{evaluator.id}' refers to a missing space")
        doc = _config_doc(conn, space, document(evaluator, EvaluatorDoc).type, body)
        version = _insert_version(conn, evaluator, doc, now)
        update_object(conn, evaluator, now=now)
        return _version_wire(version, evaluator)

    return await write_response(request, run, 201)


async def list_versions(request: Request) -> Response:
    return await children_page_response(
        request,
        "evaluator_versions",
        parent_param="evaluator_id",
        require_parent=require_evaluator,
        kind=EVALUATOR_VERSION_KIND,
        render=_version_wire,
    )


async def delete_versions(request: Request) -> Response:
    engine = engine_of(request)
    body = await read_body(request, DeleteEvaluatorVersionsRequest)
    requested = list(dict.fromkeys(body.version_ids))
    now = engine.now()

    def run(conn: sqlite3.Connection) -> DeleteEvaluatorVersionsResponse:
        evaluator = require_evaluator(conn, request.path_params["evaluator_id"])
        versions = {v.num: v for v in _versions(conn, evaluator)}
        chosen: dict[int, str] = {}
        missing: list[str] = []
        for raw in requested:
            decoded = decode_id(raw)
            version = versions.get(decoded.number) if decoded and decoded.type_name == EVALUATOR_VERSION_KIND else None
            wrong_suffix = version is not None and decoded is not None and decoded.suffix not in ("", version.suffix)
            if version is None or wrong_suffix or version.num in chosen:
                missing.append(raw)
            else:
                chosen[version.num] = raw
        users = tasks_using(conn, evaluator)
        if chosen and len(chosen) == len(versions) and users:
            raise ProblemError(
                409,
                f"this would delete every version of evaluator '{evaluator.name}', which task(s) "
                f"{_task_names(users)} use; keep at least one version",
            )
        for task, task_doc, entries in users:
            # A task pinned to a deleted version falls back to the evaluator's latest version.
            unpinned = False
            for entry in entries:
                pinned = entry.evaluator_version_num
                if pinned is None and entry.evaluator_version_id:
                    decoded = decode_id(str(entry.evaluator_version_id))
                    pinned = decoded.number if decoded is not None else None
                if pinned in chosen:
                    entry.evaluator_version_id = None
                    entry.evaluator_version_num = None
                    unpinned = True
            if unpinned:
                update_document(conn, task, task_doc, now=now)
        for num in chosen:
            delete_object(conn, versions[num])
        if chosen:
            update_object(conn, evaluator, now=now)
        return DeleteEvaluatorVersionsResponse(
            completed=True, deleted_version_ids=list(chosen.values()), not_deleted_version_ids=missing
        )

    return await write_response(request, run)


async def get_version(request: Request) -> Response:

    def run(conn: sqlite3.Connection) -> dict[str, Any]:
        version = require_object(
            conn, EVALUATOR_VERSION_KIND, request.path_params["version_id"], label="evaluator version"
        )
        evaluator = get_object(conn, EVALUATOR_KIND, version.parent_num) if version.parent_num is not None else None
        if evaluator is None:
            raise ProblemError(404, f"evaluator version '{request.path_params['version_id']}' was not found")
        return _version_wire(version, evaluator)

    return await read_response(request, run)


async def list_templates(request: Request) -> Response:
    return json_response({"evaluator_templates": [t.model_dump(mode="json") for t in evaluator_templates()]})


routes = [
    *resource_routes(
        "/v2/evaluators",
        "evaluator_id",
        list_evaluators,
        create_evaluator,
        get_evaluator,
        update_evaluator,
        delete_evaluator,
    ),
    Route("/v2/evaluators/{evaluator_id}/versions", create_version, methods=["POST"]),
    Route("/v2/evaluators/{evaluator_id}/versions", list_versions, methods=["GET"]),
    Route("/v2/evaluators/{evaluator_id}/versions", delete_versions, methods=["DELETE"]),
    Route("/v2/evaluator-versions/{version_id}", get_version, methods=["GET"]),
    Route("/v2/evaluator-templates", list_templates, methods=["GET"]),
]
