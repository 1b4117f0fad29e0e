"""``/review/{queue_id}``: a page where a person labels an annotation queue's records, one at a time.

The page is server-rendered HTML (the queue's name, instructions and one control per annotation config) with a
plain-JS file and a CSS file shipped as package data (``api/review_assets``): no build step, no network beyond
this engine. Its script reads the records through ``GET /v2/annotation-queues/{id}/records`` and writes labels
through ``POST …/records/{record_id}/annotate`` with ``Content-Type: application/json``, so the request guard
applies to its writes as to any other (a foreign Host or Origin is refused). Undo must also remove an
annotation a record did not hold before, which the queue route refuses (AX forbids nulls there): the page then
calls the record's own annotate route (``POST /v2/spans/annotate`` or ``POST /v2/datasets/{id}/examples/annotate``),
which deletes an annotation set back to nothing. What it needs for that call (project, window, granularity and
record ID, or the dataset) is in the page's bootstrap JSON and at ``GET /review/{queue_id}/targets``, not in
AX's record shape. The engine's bearer token cannot reach a page a browser opens from a URL, so the page works
on an engine served on loopback without ``--token-env`` (``docs/SECURITY.md``).
"""

from __future__ import annotations

import html
import json
import sqlite3
from datetime import timedelta
from importlib import resources
from typing import Any

from starlette.requests import Request
from starlette.responses import Response
from starlette.routing import Route

from ....errors import ProblemError
from ...store.annotation_queues import QueueRecordRow, queue_records
from ...store.datasets import DATASET_KIND
from ...store.objects import StoredObject, get_object
from ...store.spans import ns_to_datetime
from ..context import engine_of
from ..http import json_response
from .annotation_queues import queue_model, require_queue

__all__ = ["CONTENT_SECURITY_POLICY", "removal_targets", "routes"]

CONTENT_SECURITY_POLICY = (
    "default-src 'none'; script-src 'self'; style-src 'self'; img-src 'self'; connect-src 'self'; "
    "base-uri 'none'; form-action 'none'; frame-ancestors 'none'"
)
"""The page runs only its own script and style and talks only to this engine."""

_ASSETS = {"review.js": "text/javascript; charset=utf-8", "review.css": "text/css; charset=utf-8"}
_ASSET_DIR = "review_assets"
_PAGE_HEADERS = {
    "Content-Security-Policy": CONTENT_SECURITY_POLICY,
    "X-Content-Type-Options": "nosniff",
    "Referrer-Policy": "no-referrer",
    # Annotations change under the page (other tabs, the agent): a cached page would resume at the wrong record.
    "Cache-Control": "no-store",
}


def _asset(name: str) -> bytes:
    return (resources.files("arize_skills.engine.api") / _ASSET_DIR / name).read_bytes()


def _span_targets(conn: sqlite3.Connection, records: list[QueueRecordRow]) -> dict[str, dict[str, Any]]:
    targets: dict[str, dict[str, Any]] = {}
    projects: dict[int, str] = {}
    for record in records:
        project_num, _, span_id = record.target_key.partition(":")
        row = conn.execute(
            "SELECT start_ns, json_extract(attributes, '$.\"session.id\"') AS session_id FROM spans"
            " WHERE project_num = ? AND span_id = ?",
            (int(project_num), span_id),
        ).fetchone()
        if row is None:
            continue  # the span was deleted: nothing of it is left to remove
        if record.source_num not in projects:
            project = get_object(conn, "Model", record.source_num)
            if project is None:
                continue
            projects[record.source_num] = project.id
        # A window of one microsecond around the span's start names exactly this span (and, for a session, makes
        # it the earliest root span in the window, which is where a session's annotations are written).
        start = ns_to_datetime(row["start_ns"])
        record_key = row["session_id"] if record.granularity == "SESSION" else span_id
        if record_key is None:
            continue
        targets[record.id] = {
            "path": "/v2/spans/annotate",
            "body": {
                "project_id": projects[record.source_num],
                "start_time": start.isoformat(),
                "end_time": (start + timedelta(microseconds=1)).isoformat(),
                "granularity": record.granularity,
            },
            "record_id": str(record_key),
        }
    return targets


def removal_targets(conn: sqlite3.Connection, queue: StoredObject) -> dict[str, dict[str, Any]]:
    """For each record of the queue, the record's own annotate call: its ``path``, the ``body`` without
    ``annotations``, and the ``record_id`` to annotate (records whose span is gone are absent)."""
    records = queue_records(conn, queue.num)
    targets = _span_targets(conn, [r for r in records if r.target_kind == "span"])
    datasets: dict[int, str | None] = {}
    for record in records:
        if record.target_kind != "example":
            continue
        if record.source_num not in datasets:
            dataset = get_object(conn, DATASET_KIND, record.source_num)
            datasets[record.source_num] = dataset.id if dataset else None
        dataset_id = datasets[record.source_num]
        if dataset_id is not None:
            targets[record.id] = {
                "path": f"/v2/datasets/{dataset_id}/examples/annotate",
                "body": {},
                "record_id": record.target_key,
            }
    return targets


def _bootstrap(conn: sqlite3.Connection, queue: StoredObject) -> dict[str, Any]:
    model = queue_model(conn, queue)
    configs: list[dict[str, Any]] = []
    for config in model.annotation_configs:
        configs.append(
            {
                "name": config.name,
                "type": config.type,
                "labels": [str(v.label) for v in config.values or []] if config.type == "CATEGORICAL" else [],
                "minimum_score": config.minimum_score,
                "maximum_score": config.maximum_score,
            }
        )
    return {
        "queue": {"id": queue.id, "name": model.name, "instructions": model.instructions, "configs": configs},
        "note": _note(configs),
        "records_url": f"/v2/annotation-queues/{queue.id}/records",
        "annotate_url": f"/v2/annotation-queues/{queue.id}/records/{{record_id}}/annotate",
        "targets_url": f"/review/{queue.id}/targets",
        "targets": removal_targets(conn, queue),
    }


def _note(configs: list[dict[str, Any]]) -> dict[str, Any] | None:
    """Where the note goes: each FREEFORM config is a note of its own; without one, the note is the ``text`` of
    the first categorical config's annotation."""
    if any(c["type"] == "FREEFORM" for c in configs):
        return None
    first = next((c for c in configs if c["type"] == "CATEGORICAL"), None)
    return {"config": first["name"]} if first else None


def _page(title: str, body: str, status: int = 200) -> Response:
    text = (
        '<!doctype html>\n<html lang="en">\n<head>\n<meta charset="utf-8">\n'
        '<meta name="viewport" content="width=device-width, initial-scale=1">\n'
        f"<title>{html.escape(title)}</title>\n"
        '<link rel="stylesheet" href="/review/assets/review.css">\n'
        '<script src="/review/assets/review.js" defer></script>\n'
        f"</head>\n<body>\n{body}\n</body>\n</html>\n"
    )
    return Response(text, status, headers=_PAGE_HEADERS, media_type="text/html; charset=utf-8")


def _controls(configs: list[dict[str, Any]], note: dict[str, Any] | None) -> str:
    parts: list[str] = []
    for index, config in enumerate(configs):
        name = html.escape(config["name"])
        if config["type"] == "CATEGORICAL":
            buttons = "".join(
                f'<button type="button" class="label" data-config="{name}" data-label="{html.escape(label)}"'
                f' aria-pressed="false">{f"<kbd>{n}</kbd> " if n <= 9 else ""}'
                f'<span class="label-text">{html.escape(label)}</span></button>'
                for n, label in enumerate(config["labels"], 1)
            )
            parts.append(
                f'<fieldset class="config categorical" data-config="{name}">'
                f'<legend>{name} <span class="keys-hint">{_keys_hint(len(config["labels"]))}</span></legend>'
                f'<div class="labels">{buttons}</div></fieldset>'
            )
        elif config["type"] == "CONTINUOUS":
            low, high = config["minimum_score"], config["maximum_score"]
            bounds = (f' min="{low}"' if low is not None else "") + (f' max="{high}"' if high is not None else "")
            span = f" ({low} to {high})" if low is not None and high is not None else ""
            parts.append(
                f'<fieldset class="config continuous" data-config="{name}"><legend>{name}</legend>'
                f'<label for="score-{index}">Score{html.escape(span)}, Enter to save</label>'
                f'<input id="score-{index}" class="score" type="number" step="any"{bounds} data-config="{name}">'
                "</fieldset>"
            )
        else:
            parts.append(_note_control(f"note-{index}", name, f"{name} (optional note)"))
    if note is not None:
        parts.append(
            _note_control(
                "note-text", html.escape(note["config"]), f"Note (optional, kept as the text of {note['config']})"
            )
        )
    return "\n".join(parts)


def _keys_hint(labels: int) -> str:
    return "key 1" if labels == 1 else f"keys 1–{min(9, labels)}"


def _note_control(control_id: str, config: str, caption: str) -> str:
    return (
        f'<fieldset class="config note" data-config="{config}"><legend>{html.escape(caption)}</legend>'
        f'<textarea id="{control_id}" class="note-input" rows="3" data-config="{config}"'
        f' aria-describedby="note-help"></textarea>'
        f'<button type="button" class="save-note" data-config="{config}">Save note</button></fieldset>'
    )


def _review_body(bootstrap: dict[str, Any]) -> str:
    queue = bootstrap["queue"]
    instructions = queue["instructions"]
    shown_instructions = (
        f'<section class="instructions" aria-label="Instructions"><h2>Instructions</h2>'
        f"<p>{html.escape(instructions)}</p></section>"
        if instructions
        else ""
    )
    # A data block, never executed, so the strict CSP holds; "<" is escaped so no value can close the element.
    data = json.dumps(bootstrap).replace("<", "\\u003c").replace(">", "\\u003e").replace("&", "\\u0026")
    return f"""<header>
<h1>Review: {html.escape(queue["name"])}</h1>
<p id="progress" class="progress" role="status" aria-live="polite" aria-atomic="true">Loading the records…</p>
</header>
{shown_instructions}
<p id="error" class="error" role="alert" hidden></p>
<p id="notice" class="notice" aria-live="polite"></p>
<noscript><p class="error">This page needs JavaScript (one small script served by this engine).</p></noscript>
<main id="review" hidden>
<article id="record" aria-labelledby="record-title">
<h2 id="record-title" tabindex="-1"></h2>
<p id="record-state" class="record-state"></p>
<div id="record-body"></div>
</article>
<section id="controls" class="controls" aria-label="Labels">
{_controls(queue["configs"], bootstrap["note"])}
<p id="note-help" class="help">A note is saved with the next label, with Save note, or when you move on.</p>
</section>
</main>
<section id="finished" class="finished" hidden aria-labelledby="finished-title">
<h2 id="finished-title" tabindex="-1">All records are labelled</h2>
<p id="finished-text"></p>
<p>Return to your coding agent and tell it you are done; you can close this tab.</p>
</section>
<nav class="actions" aria-label="Move between records">
<button type="button" id="back"><kbd>B</kbd> Back</button>
<button type="button" id="skip"><kbd>S</kbd> Skip</button>
<button type="button" id="undo"><kbd>U</kbd> Undo</button>
</nav>
<footer>
<p>Keys: <kbd>1</kbd>–<kbd>9</kbd> choose a label of the config in focus, <kbd>S</kbd> skip, <kbd>B</kbd> back,
<kbd>U</kbd> undo; <kbd>Tab</kbd> moves between the controls.</p>
<p>This page reads and writes through this engine's REST API, without a bearer token: it works on an engine
served on loopback without <code>--token-env</code>.</p>
</footer>
<script type="application/json" id="review-bootstrap">{data}</script>"""


def _not_found(queue_id: str) -> Response:
    body = f"""<main class="missing">
<h1>No such annotation queue</h1>
<p>This engine has no annotation queue <code>{html.escape(queue_id)}</code>. It may have been deleted, or the
link names another engine. Ask your coding agent for the queue's review link again
(<code>GET /v2/annotation-queues</code> lists the queues).</p>
</main>"""
    return _page("No such annotation queue", body, 404)


async def review_page(request: Request) -> Response:
    """``GET /review/{queue_id}``: the page, or a 404 page naming the queue the engine does not have."""
    queue_id = request.path_params["queue_id"]

    def run(conn: sqlite3.Connection) -> dict[str, Any]:
        return _bootstrap(conn, require_queue(conn, queue_id))

    try:
        bootstrap = await engine_of(request).store.read(run)
    except ProblemError as error:
        if error.status == 404:
            return _not_found(queue_id)
        raise
    return _page(f"Review: {bootstrap['queue']['name']}", _review_body(bootstrap))


async def review_targets(request: Request) -> Response:
    """``GET /review/{queue_id}/targets``: ``removal_targets`` of the queue, for records added after the page."""
    queue_id = request.path_params["queue_id"]

    def run(conn: sqlite3.Connection) -> dict[str, Any]:
        return {"targets": removal_targets(conn, require_queue(conn, queue_id))}

    return json_response(await engine_of(request).store.read(run))


async def review_asset(request: Request) -> Response:
    """``GET /review/assets/{name}``: the page's script or stylesheet (no other name is served)."""
    name = request.path_params["name"]
    media = _ASSETS.get(name)
    if media is None:
        raise ProblemError(404, f"no review asset {name!r}")
    return Response(
        _asset(name), headers={"X-Content-Type-Options": "nosniff", "Cache-Control": "no-cache"}, media_type=media
    )


routes = [
    Route("/review/assets/{name}", review_asset, methods=["GET"]),
    Route("/review/{queue_id}", review_page, methods=["GET"]),
    Route("/review/{queue_id}/targets", review_targets, methods=["GET"]),
]
