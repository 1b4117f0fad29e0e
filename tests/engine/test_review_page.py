"""The review page of an annotation queue (``GET /review/{queue_id}``) in a real browser: Debian's Chromium driven by
Playwright, the engine on loopback HTTP, queues seeded over REST and every label read back over REST.

Each test takes a screenshot of the states it checks and asserts it is a non-blank image of the viewport's size,
with the page's DOM state at that moment. Every wait is bounded; nothing sleeps.
"""

from __future__ import annotations

import asyncio
import json
import re
import shutil
import struct
import zlib
from collections.abc import Iterator
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

import httpx2
import pytest
from playwright.sync_api import Browser, Page, expect, sync_playwright

from arize_skills.client import AsyncArizeClient
from arize_skills.engine.api.routes.review import CONTENT_SECURITY_POLICY
from tests.conftest import LiveEngine, serve_engine

from .otlp_payloads import export_body, span

CHROMIUM = "/usr/bin/chromium"
WAIT_MS = 10_000
VIEWPORT = {"width": 1000, "height": 900}
REBIND_HOST = "rebind.test"
FOREIGN_ORIGIN = "http://evil.test"
NOW = datetime.now(UTC).replace(microsecond=0)
WINDOW = {"start_time": (NOW - timedelta(days=1)).isoformat(), "end_time": (NOW + timedelta(minutes=1)).isoformat()}
LONG_OUTPUT = "The refund policy, in full. " * 60


def sid(n: int) -> str:
    return f"{n:016x}"


def tid(n: int) -> str:
    return f"{n:032x}"


@pytest.fixture(scope="module")
def browser() -> Iterator[Browser]:
    """One headless Chromium for the module (each test opens its own context); Debian's, not a downloaded one."""
    if shutil.which(CHROMIUM) is None:
        pytest.skip(f"{CHROMIUM} is missing: apt-get install -y chromium")
    with sync_playwright() as playwright:
        # Playwright gives every launch a fresh temporary user-data dir. Without the background-networking flags
        # Chromium reaches for Google's services, which this closed network refuses.
        launched = playwright.chromium.launch(
            executable_path=CHROMIUM,
            args=[
                "--headless",
                "--no-sandbox",
                "--disable-gpu",
                "--disable-quic",
                "--no-first-run",
                "--disable-background-networking",
                "--disable-component-update",
                "--disable-sync",
                # A DNS-rebinding name: a foreign host name that resolves to this machine.
                f"--host-resolver-rules=MAP {REBIND_HOST} 127.0.0.1",
            ],
        )
        yield launched
        launched.close()


@pytest.fixture
def served(tmp_path: Path) -> Iterator[LiveEngine]:
    """The engine on loopback without a token (the review page's setting), without its task runner."""
    with serve_engine(tmp_path / "engine", run_tasks=False) as engine:
        yield engine


@pytest.fixture
def http(served: LiveEngine) -> Iterator[httpx2.Client]:
    with httpx2.Client(base_url=served.url, timeout=10) as client:
        yield client


@pytest.fixture
def page(browser: Browser) -> Iterator[Page]:
    context = browser.new_context(viewport=VIEWPORT)
    opened = context.new_page()
    yield opened
    context.close()


# --- seeding over REST -----------------------------------------------------------------------------------------


@dataclass
class Queue:
    id: str
    project_id: str
    dataset_id: str
    example_ids: list[str]
    url: str

    @property
    def page(self) -> str:
        return f"{self.url}/review/{self.id}"


def _post_spans(url: str) -> None:
    spans = []
    for n in (1, 2, 3):
        start = NOW - timedelta(hours=n)
        attributes: dict[str, Any] = {
            "input.value": f"question {n}",
            "output.value": f"answer {n}",
            "session.id": f"s{n}",
            "llm.model_name": "gpt-test",
        }
        if n == 2:
            attributes["input.value"] = json.dumps({"messages": [{"role": "user", "content": "question 2"}]})
            attributes["output.value"] = LONG_OUTPUT
        spans.append(span(sid(n * 10), trace_id=tid(n), name=f"agent {n}", start=start, attributes=attributes))
    body = json.dumps(export_body(spans, project="app")).encode()
    answer = httpx2.post(f"{url}/v1/traces", content=body, headers={"content-type": "application/json"}, timeout=10)
    assert answer.status_code == 200, answer.text


async def _seed(url: str, configs: list[str], sources: list[str], labelled: dict[int, str]) -> Queue:
    async with AsyncArizeClient(base_url=url) as client:
        client.space = (await client.spaces.list()).items[0].id
        await client.annotation_configs.create_categorical("correctness", [("correct", 1), ("wrong", 0)])
        await client.annotation_configs.create_continuous("quality", minimum_score=0, maximum_score=5)
        await client.annotation_configs.create_freeform("notes")
        project = await client.projects.get("app")
        dataset = await client.datasets.create(
            "replies", [{"question": "Where is my parcel?", "answer": "In transit.", "channel": "email"}]
        )
        examples = [e.id async for e in client.datasets.list_examples(dataset.id)]
        queue = await client.annotation_queues.create(
            "support review",
            annotation_configs=configs,
            annotator_emails=["local@arize-skills"],
            instructions="Is the answer correct for the customer?\nMark it wrong when in doubt.",
        )
        # One source at a time, so the records are in the order of ``sources``.
        for n, kind in enumerate(sources, 1):
            source: dict[str, Any] = {"project_id": project.id, **WINDOW}
            if kind == "example":
                source = {"record_type": "EXAMPLE", "dataset_id": dataset.id}
            elif kind == "span":
                source.update(record_type="SPAN", span_ids=[sid(n * 10)])
            elif kind == "trace":
                source.update(record_type="TRACE", trace_ids=[tid(n)])
            else:
                source.update(record_type="SESSION", session_ids=[f"s{n}"])
            await client.annotation_queues.add_records(queue.id, [source])
        records = [r async for r in client.annotation_queues.list_records(queue.id)]
        for position, label in labelled.items():
            await client.annotation_queues.annotate_record(
                queue.id, records[position].id, [{"name": "correctness", "label": label}]
            )
    return Queue(queue.id, project.id, dataset.id, examples, url)


def seed(
    served: LiveEngine,
    *,
    configs: tuple[str, ...] = ("correctness", "notes"),
    sources: tuple[str, ...] = ("span", "span", "span"),
    labelled: dict[int, str] | None = None,
) -> Queue:
    """Spans 1..3 of project 'app' (span 2 has a JSON input and a long output; each is a trace of its own and a
    session of its own), a one-example dataset, three configs, and a queue whose n-th record is ``sources[n]``:
    ``span``, ``trace`` or ``session`` of the n-th span, or ``example`` (the dataset's example); the records at
    the positions of ``labelled`` are labelled beforehand."""
    _post_spans(served.url)
    # Playwright's sync API keeps an event loop running in this thread, so the async client runs in another.
    with ThreadPoolExecutor(1) as pool:
        coroutine = _seed(served.url, list(configs), list(sources), labelled or {})
        return pool.submit(asyncio.run, coroutine).result(timeout=60)


def records(http: httpx2.Client, queue: Queue) -> list[dict[str, Any]]:
    answer = http.get(f"/v2/annotation-queues/{queue.id}/records", params={"limit": 500})
    assert answer.status_code == 200, answer.text
    found: list[dict[str, Any]] = answer.json()["records"]
    return found


def span_annotations(http: httpx2.Client, queue: Queue, span_id: str) -> dict[str, dict[str, Any]]:
    """The annotations of a span as ``POST /v2/spans`` reads them, by config name."""
    answer = http.post(
        "/v2/spans",
        json={"project_id": queue.project_id, "filter": f"context.span_id = '{span_id}'", **WINDOW},
    )
    assert answer.status_code == 200, answer.text
    (found,) = answer.json()["spans"]
    return {a["name"]: a for a in found.get("annotations") or []}


def example_annotations(http: httpx2.Client, queue: Queue) -> dict[str, dict[str, Any]]:
    answer = http.get(f"/v2/datasets/{queue.dataset_id}/examples")
    assert answer.status_code == 200, answer.text
    (example,) = answer.json()["examples"]
    return {a["name"]: a for a in example.get("annotations") or []}


# --- screenshots -----------------------------------------------------------------------------------------------


def png_pixels(data: bytes) -> tuple[int, int, list[bytes]]:
    """Width, height and unfiltered rows of an 8-bit RGB or RGBA PNG (what Chromium writes)."""
    assert data[:8] == b"\x89PNG\r\n\x1a\n", "not a PNG"
    pos, idat, header = 8, b"", b""
    while pos < len(data):
        (length,) = struct.unpack(">I", data[pos : pos + 4])
        kind, chunk = data[pos + 4 : pos + 8], data[pos + 8 : pos + 8 + length]
        if kind == b"IHDR":
            header = chunk
        elif kind == b"IDAT":
            idat += chunk
        pos += 12 + length
    width, height, depth, color = struct.unpack(">IIBB", header[:10])
    assert depth == 8 and color in (2, 6), f"unexpected PNG format depth={depth} color={color}"
    step = 3 if color == 2 else 4
    raw = zlib.decompress(idat)
    stride = width * step
    rows: list[bytes] = []
    previous = bytearray(stride)
    for y in range(height):
        kind = raw[y * (stride + 1)]
        line = bytearray(raw[y * (stride + 1) + 1 : (y + 1) * (stride + 1)])
        for i in range(stride):
            left = line[i - step] if i >= step else 0
            up = previous[i]
            corner = previous[i - step] if i >= step else 0
            if kind == 1:
                line[i] = (line[i] + left) & 0xFF
            elif kind == 2:
                line[i] = (line[i] + up) & 0xFF
            elif kind == 3:
                line[i] = (line[i] + (left + up) // 2) & 0xFF
            elif kind == 4:
                guess = left + up - corner
                pa, pb, pc = abs(guess - left), abs(guess - up), abs(guess - corner)
                line[i] = (line[i] + (left if pa <= pb and pa <= pc else up if pb <= pc else corner)) & 0xFF
        rows.append(bytes(line))
        previous = line
    return width, height, rows


def screenshot(page: Page, folder: Path, name: str) -> Path:
    """Save the viewport as ``folder/name.png`` and check it is an image of the viewport's size with content:
    many colours, and ink (dark text pixels) on several lines."""
    path = folder / f"{name}.png"
    page.screenshot(path=str(path))
    width, height, rows = png_pixels(path.read_bytes())
    assert (width, height) == (VIEWPORT["width"], VIEWPORT["height"])
    step = len(rows[0]) // width
    colours: set[bytes] = set()
    inked = 0
    for row in rows[::4]:
        pixels = [row[i : i + 3] for i in range(0, len(row), step * 2)]
        colours.update(pixels)
        inked += any(sum(p) < 300 for p in pixels)
    assert len(colours) > 20, f"{name}.png looks blank ({len(colours)} colours)"
    assert inked >= 8, f"{name}.png has text on only {inked} sampled rows"
    return path


# --- the page ----------------------------------------------------------------------------------------------------


def open_review(page: Page, queue: Queue) -> None:
    answer = page.goto(queue.page)
    assert answer is not None and answer.status == 200
    expect(page.locator("#progress")).to_have_text(re.compile(r"\d+ of \d+ labelled"), timeout=WAIT_MS)


def expect_record(page: Page, position: int, total: int) -> None:
    expect(page.locator("#record-title")).to_contain_text(f"Record {position} of {total}", timeout=WAIT_MS)


def test_records_are_labelled_by_keyboard_and_by_click_with_a_note_until_the_finish_state(
    served: LiveEngine, http: httpx2.Client, page: Page, tmp_path: Path
) -> None:
    queue = seed(served, sources=("span", "span", "example"))
    open_review(page, queue)
    expect(page.locator("#progress")).to_have_text("0 of 3 labelled")
    expect(page.locator("#progress")).to_have_attribute("aria-live", "polite")
    expect(page.locator(".instructions")).to_contain_text("Mark it wrong when in doubt.")
    expect_record(page, 1, 3)
    expect(page.locator(".part.input")).to_contain_text("question 1")
    expect(page.locator(".part.output")).to_contain_text("answer 1")
    context = page.locator("details.context")
    expect(context).not_to_have_attribute("open", "")
    expect(context.locator("summary")).to_contain_text("Context")
    expect(context).to_contain_text("attributes.llm.model_name")
    expect(page.locator('button.label[data-label="correct"] kbd')).to_have_text("1")
    expect(page.locator('button.label[data-label="wrong"] kbd')).to_have_text("2")
    expect(page.locator('button.label[data-label="correct"]')).to_be_focused()
    screenshot(page, tmp_path, "1-first-record")

    page.keyboard.press("1")
    expect(page.locator("#progress")).to_have_text("1 of 3 labelled", timeout=WAIT_MS)
    expect_record(page, 2, 3)
    # Span 2's input is JSON, pretty-printed; its long output is folded.
    expect(page.locator(".part.input pre.json")).to_contain_text('"content": "question 2"')
    folded = page.locator(".part.output details.long")
    expect(folded).not_to_have_attribute("open", "")
    expect(folded.locator("summary")).to_contain_text("characters: show all")
    screenshot(page, tmp_path, "2-second-record")

    page.locator("textarea.note-input").fill("answers another question")
    page.locator('button.label[data-label="wrong"]').click()
    expect(page.locator("#progress")).to_have_text("2 of 3 labelled", timeout=WAIT_MS)
    expect_record(page, 3, 3)
    expect(page.locator(".part.input")).to_contain_text("Where is my parcel?")
    expect(page.locator(".part.output")).to_contain_text("In transit.")
    expect(page.locator("details.context")).to_contain_text("channel")
    expect(page.locator("textarea.note-input")).to_have_value("")

    page.keyboard.press("2")
    expect(page.locator("#finished")).to_be_visible(timeout=WAIT_MS)
    expect(page.locator("#progress")).to_have_text("3 of 3 labelled")
    expect(page.locator("#finished")).to_contain_text("return to your coding agent", ignore_case=True)
    expect(page.locator("#review")).to_be_hidden()
    screenshot(page, tmp_path, "3-finished")

    assert {k: v["label"] for k, v in span_annotations(http, queue, sid(10)).items()} == {"correctness": "correct"}
    second = span_annotations(http, queue, sid(20))
    assert second["correctness"]["label"] == "wrong" and second["notes"]["text"] == "answers another question"
    assert example_annotations(http, queue)["correctness"]["label"] == "wrong"


def test_the_page_works_by_keyboard_alone_with_a_visible_focus(
    served: LiveEngine, http: httpx2.Client, page: Page, tmp_path: Path
) -> None:
    queue = seed(served, sources=("span", "span"))
    open_review(page, queue)
    correct = page.locator('button.label[data-label="correct"]')
    expect(correct).to_be_focused(timeout=WAIT_MS)
    page.keyboard.press("Tab")
    wrong = page.locator('button.label[data-label="wrong"]')
    expect(wrong).to_be_focused()
    assert wrong.evaluate("b => getComputedStyle(b).outlineStyle + ' ' + getComputedStyle(b).outlineWidth") == (
        "solid 3px"
    )
    page.keyboard.press("Tab")
    expect(page.locator("textarea.note-input")).to_be_focused()
    # Digits typed into the note are text, not labels.
    page.keyboard.type("typed 1 2 by keyboard")
    expect(page.locator("#progress")).to_have_text("0 of 2 labelled")
    page.keyboard.press("Escape")
    expect(correct).to_be_focused()
    screenshot(page, tmp_path, "keyboard-focus")
    page.keyboard.press("Enter")  # the focused button: "correct", with the note
    expect(page.locator("#progress")).to_have_text("1 of 2 labelled", timeout=WAIT_MS)
    expect_record(page, 2, 2)
    first = span_annotations(http, queue, sid(10))
    assert first["correctness"]["label"] == "correct" and first["notes"]["text"] == "typed 1 2 by keyboard"


def test_skip_moves_on_without_writing_and_back_returns_to_the_record_before(
    served: LiveEngine, http: httpx2.Client, page: Page, tmp_path: Path
) -> None:
    queue = seed(served)
    open_review(page, queue)
    expect_record(page, 1, 3)
    page.keyboard.press("s")
    expect_record(page, 2, 3)
    expect(page.locator("#notice")).to_have_text("Skipped record 1.", timeout=WAIT_MS)
    page.locator("#skip").click()
    expect_record(page, 3, 3)
    page.keyboard.press("1")
    # The skipped records come round again: the next unlabelled after the last is the first.
    expect_record(page, 1, 3)
    expect(page.locator("#progress")).to_have_text("1 of 3 labelled")
    page.keyboard.press("b")
    expect(page.locator("#notice")).to_have_text("This is the first record.", timeout=WAIT_MS)
    page.locator("#skip").click()
    expect_record(page, 2, 3)
    # Skip passes over record 3, labelled now: from 2 it goes round to 1.
    page.keyboard.press("s")
    expect_record(page, 1, 3)
    page.keyboard.press("s")
    expect_record(page, 2, 3)
    page.locator("#back").click()
    expect_record(page, 1, 3)
    expect(page.locator("#record-state")).to_have_attribute("data-state", "unlabelled")
    # Back goes by queue order, over labelled records too.
    page.keyboard.press("s")
    expect_record(page, 2, 3)
    page.keyboard.press("s")
    expect_record(page, 1, 3)
    screenshot(page, tmp_path, "after-skip-and-back")
    assert span_annotations(http, queue, sid(10)) == {} and span_annotations(http, queue, sid(20)) == {}
    assert span_annotations(http, queue, sid(30))["correctness"]["label"] == "correct"


def test_undo_writes_back_a_value_the_record_held_and_removes_one_it_did_not_hold(
    served: LiveEngine, http: httpx2.Client, page: Page, tmp_path: Path
) -> None:
    # Record 1 is span 1, labelled "wrong" beforehand; record 2 the example; record 3 span 2's session.
    queue = seed(served, sources=("span", "example", "session"), labelled={0: "wrong"})
    open_review(page, queue)
    expect(page.locator("#progress")).to_have_text("1 of 3 labelled")
    expect_record(page, 2, 3)
    page.keyboard.press("b")
    expect_record(page, 1, 3)
    expect(page.locator('button.label[data-label="wrong"]')).to_have_attribute("aria-pressed", "true")

    page.locator("textarea.note-input").fill("changed my mind")
    page.locator('button.label[data-label="correct"]').click()
    expect_record(page, 2, 3)
    changed = span_annotations(http, queue, sid(10))
    assert changed["correctness"]["label"] == "correct" and changed["notes"]["text"] == "changed my mind"
    page.keyboard.press("u")
    expect_record(page, 1, 3)
    expect(page.locator("#notice")).to_have_text("Undid the last change on record 1.", timeout=WAIT_MS)
    expect(page.locator('button.label[data-label="wrong"]')).to_have_attribute("aria-pressed", "true")
    expect(page.locator("textarea.note-input")).to_have_value("")
    screenshot(page, tmp_path, "undo-value-written-back")
    # The label it held is back; the note it did not hold is gone, not left empty.
    assert {k: v["label"] for k, v in span_annotations(http, queue, sid(10)).items()} == {"correctness": "wrong"}

    page.keyboard.press("s")
    expect_record(page, 2, 3)
    page.keyboard.press("1")
    expect_record(page, 3, 3)
    assert example_annotations(http, queue)["correctness"]["label"] == "correct"
    page.keyboard.press("u")
    expect_record(page, 2, 3)
    expect(page.locator("#progress")).to_have_text("1 of 3 labelled", timeout=WAIT_MS)
    assert example_annotations(http, queue) == {}

    page.keyboard.press("s")
    expect_record(page, 3, 3)
    page.keyboard.press("2")
    expect_record(page, 2, 3)
    assert [a["label"] for a in records(http, queue)[2]["session_annotations"]] == ["wrong"]
    page.keyboard.press("u")
    expect_record(page, 3, 3)
    expect(page.locator("#record-state")).to_have_attribute("data-state", "unlabelled", timeout=WAIT_MS)
    session_record = records(http, queue)[2]
    assert session_record["granularity"] == "SESSION" and session_record["session_annotations"] == []
    screenshot(page, tmp_path, "undo-value-removed")

    page.keyboard.press("u")
    expect(page.locator("#notice")).to_have_text(re.compile("Nothing to undo"), timeout=WAIT_MS)


def test_a_reload_mid_queue_resumes_at_the_first_record_without_a_label(
    served: LiveEngine, page: Page, tmp_path: Path
) -> None:
    queue = seed(served, sources=("span", "span", "span", "example"))
    open_review(page, queue)
    page.keyboard.press("1")
    expect_record(page, 2, 4)
    page.keyboard.press("s")
    expect_record(page, 3, 4)
    page.keyboard.press("2")
    expect_record(page, 4, 4)
    expect(page.locator("#progress")).to_have_text("2 of 4 labelled")
    page.reload()
    expect_record(page, 2, 4)
    expect(page.locator("#progress")).to_have_text("2 of 4 labelled")
    screenshot(page, tmp_path, "resumed")


def test_two_tabs_on_one_queue_see_each_others_labels_when_they_move_on_or_reload(
    served: LiveEngine, page: Page, tmp_path: Path
) -> None:
    queue = seed(served)
    first = page
    second = page.context.new_page()
    open_review(first, queue)
    open_review(second, queue)
    expect_record(first, 1, 3)
    expect_record(second, 1, 3)

    first.keyboard.press("1")
    expect_record(first, 2, 3)
    expect(first.locator("#progress")).to_have_text("1 of 3 labelled")
    # The second tab re-reads before it shows the next record.
    second.keyboard.press("s")
    expect_record(second, 2, 3)
    expect(second.locator("#progress")).to_have_text("1 of 3 labelled", timeout=WAIT_MS)
    second.keyboard.press("2")
    expect_record(second, 3, 3)
    expect(second.locator("#progress")).to_have_text("2 of 3 labelled")

    first.keyboard.press("b")
    expect_record(first, 1, 3)
    expect(first.locator("#progress")).to_have_text("2 of 3 labelled", timeout=WAIT_MS)
    first.keyboard.press("s")
    # Record 2, labelled in the other tab, is passed over.
    expect_record(first, 3, 3)
    first.keyboard.press("s")
    expect(first.locator("#notice")).to_have_text("No other record is left without a label.", timeout=WAIT_MS)
    second.reload()
    expect_record(second, 3, 3)
    screenshot(first, tmp_path, "tab-one")
    second.keyboard.press("1")
    expect(second.locator("#finished")).to_be_visible(timeout=WAIT_MS)
    screenshot(second, tmp_path, "tab-two-finished")
    first.keyboard.press("b")
    expect_record(first, 2, 3)
    expect(first.locator("#progress")).to_have_text("3 of 3 labelled", timeout=WAIT_MS)
    expect(first.locator('button.label[data-label="wrong"]')).to_have_attribute("aria-pressed", "true")
    first.reload()
    expect(first.locator("#finished")).to_be_visible(timeout=WAIT_MS)


def test_a_score_is_kept_within_its_range_and_without_a_freeform_config_the_note_is_the_labels_text(
    served: LiveEngine, http: httpx2.Client, page: Page, tmp_path: Path
) -> None:
    queue = seed(served, configs=("correctness", "quality"), sources=("span", "span"))
    open_review(page, queue)
    expect(page.locator("textarea.note-input")).to_have_attribute("data-config", "correctness")
    score = page.locator("input.score")
    expect(score).to_have_attribute("min", "0")
    expect(score).to_have_attribute("max", "5")
    page.locator("textarea.note-input").fill("close enough")
    page.locator('button.label[data-label="correct"]').click()
    # One of two configs: the record stays, and focus moves to the score it still needs.
    expect(score).to_be_focused(timeout=WAIT_MS)
    expect(page.locator("#record-state")).to_have_text("Not labelled yet: needs quality.")
    expect(page.locator("#progress")).to_have_text("0 of 2 labelled")
    page.keyboard.type("9")
    page.keyboard.press("Enter")
    expect(page.locator("#error")).to_have_text(re.compile("the score must be a number from 0 to 5"), timeout=WAIT_MS)
    screenshot(page, tmp_path, "score-out-of-range")
    assert "quality" not in span_annotations(http, queue, sid(10))
    score.fill("4")
    page.keyboard.press("Enter")
    expect_record(page, 2, 2)
    expect(page.locator("#progress")).to_have_text("1 of 2 labelled")
    expect(page.locator("#error")).to_be_hidden()
    written = span_annotations(http, queue, sid(10))
    assert (written["correctness"]["label"], written["correctness"]["text"]) == ("correct", "close enough")
    assert written["quality"]["score"] == 4


def test_a_write_that_fails_says_so_in_the_page_and_loses_nothing_on_screen(browser: Browser, tmp_path: Path) -> None:
    context = browser.new_context(viewport=VIEWPORT)
    page = context.new_page()
    try:
        with serve_engine(tmp_path / "engine", run_tasks=False) as served:
            queue = seed(served, sources=("span", "span"))
            open_review(page, queue)
            page.locator("textarea.note-input").fill("keep me")
        # The engine is gone.
        page.locator('button.label[data-label="correct"]').click()
        error = page.locator("#error")
        expect(error).to_be_visible(timeout=WAIT_MS)
        expect(error).to_contain_text("Not saved: correctness correct: could not reach the engine")
        expect(error).to_contain_text("Nothing was lost")
        expect(error).to_have_attribute("role", "alert")
        expect_record(page, 1, 2)
        expect(page.locator("#progress")).to_have_text("0 of 2 labelled")
        expect(page.locator("textarea.note-input")).to_have_value("keep me")
        screenshot(page, tmp_path, "write-failed")
    finally:
        context.close()


def test_an_unknown_queue_is_a_404_page_and_the_page_runs_under_a_strict_csp(
    served: LiveEngine, http: httpx2.Client, page: Page, tmp_path: Path
) -> None:
    queue = seed(served, sources=("span",))
    answer = page.goto(f"{served.url}/review/no-such-queue")
    assert answer is not None and answer.status == 404
    expect(page.locator("h1")).to_have_text("No such annotation queue")
    expect(page.locator("main")).to_contain_text("no-such-queue")
    screenshot(page, tmp_path, "not-found")

    problems: list[str] = []
    page.on("console", lambda message: problems.append(message.text) if message.type == "error" else None)
    answer = page.goto(queue.page)
    assert answer is not None and answer.headers["content-security-policy"] == CONTENT_SECURITY_POLICY
    expect(page.locator("#progress")).to_have_text("0 of 1 labelled", timeout=WAIT_MS)
    assert problems == [], "the page breaks its own CSP or fails to load"
    html = http.get(f"/review/{queue.id}").text
    scripts = re.findall(r"<script([^>]*)>", html)
    assert scripts and all("src=" in s or 'type="application/json"' in s for s in scripts), "no inline script"
    for name, media in (("review.js", "text/javascript"), ("review.css", "text/css")):
        asset = http.get(f"/review/assets/{name}")
        assert asset.status_code == 200 and asset.headers["content-type"].startswith(media)
    assert http.get("/review/assets/other.js").status_code == 404


def test_the_pages_write_paths_refuse_a_foreign_origin_or_host(
    served: LiveEngine, http: httpx2.Client, page: Page, tmp_path: Path
) -> None:
    queue = seed(served, sources=("span", "example"))
    span_record, example_record = records(http, queue)
    label = [{"name": "correctness", "label": "correct"}]
    writes = [
        (f"/v2/annotation-queues/{queue.id}/records/{span_record['id']}/annotate", {"annotations": label}),
        (
            "/v2/spans/annotate",
            {"project_id": queue.project_id, "annotations": [{"record_id": sid(10), "values": label}], **WINDOW},
        ),
        (
            f"/v2/datasets/{queue.dataset_id}/examples/annotate",
            {"annotations": [{"record_id": queue.example_ids[0], "values": label}]},
        ),
    ]
    for path, body in writes:
        foreign_origin = http.post(path, json=body, headers={"Origin": FOREIGN_ORIGIN})
        assert foreign_origin.status_code == 403 and "cross-origin" in foreign_origin.json()["detail"]
        foreign_host = http.post(path, json=body, headers={"Host": "evil.test"})
        assert foreign_host.status_code == 403 and "not a loopback address" in foreign_host.json()["detail"]
        plain = http.post(path, content=json.dumps(body), headers={"Content-Type": "text/plain"})
        assert plain.status_code == 415

    # A foreign page in the browser: its JSON write needs a CORS preflight the engine refuses, and its "simple"
    # text/plain write is refused for its Origin.
    page.route(
        f"{FOREIGN_ORIGIN}/**",
        lambda route: route.fulfill(status=200, content_type="text/html", body="<h1>a foreign page</h1>"),
    )
    page.goto(f"{FOREIGN_ORIGIN}/")
    outcome = page.evaluate(
        """async ([url, body]) => {
            const results = [];
            try {
                const r = await fetch(url, {method: "POST", headers: {"Content-Type": "application/json"}, body});
                results.push(`answered ${r.status}`);
            } catch (err) { results.push("refused"); }
            try {
                await fetch(url, {method: "POST", mode: "no-cors", headers: {"Content-Type": "text/plain"}, body});
                results.push("sent, answer unreadable");
            } catch (err) { results.push("refused"); }
            return results;
        }""",
        [served.url + writes[0][0], json.dumps(writes[0][1])],
    )
    # Chromium itself may stop the simple request (Private Network Access); if it lets it through, the engine
    # refuses it (checked above): either way nothing is written, as read back below.
    assert outcome[0] == "refused" and outcome[1] in ("refused", "sent, answer unreadable")

    # DNS rebinding: a foreign name that resolves to this machine gets neither the page nor a write.
    rebound = f"http://{REBIND_HOST}:{served.port}"
    answer = page.goto(f"{rebound}/review/{queue.id}")
    assert answer is not None and answer.status == 403
    expect(page.locator("body")).to_contain_text("not a loopback address")
    screenshot(page, tmp_path, "rebinding-refused")
    status = page.evaluate(
        """async ([url, body]) => (await fetch(url, {method: "POST", headers: {"Content-Type": "application/json"},
            body})).status""",
        [rebound + writes[0][0], json.dumps(writes[0][1])],
    )
    assert status == 403
    assert span_annotations(http, queue, sid(10)) == {} and example_annotations(http, queue) == {}
    assert [r["annotations"] for r in records(http, queue)] == [[], []]
    assert example_record["source_type"] == "DATASET"


def test_the_targets_remove_what_the_queue_wrote_on_every_kind_of_record(
    served: LiveEngine, http: httpx2.Client
) -> None:
    queue = seed(served, sources=("span", "trace", "session", "example"))
    listed = records(http, queue)
    assert [r["granularity"] for r in listed] == ["SPAN", "TRACE", "SESSION", None]
    targets = http.get(f"/review/{queue.id}/targets").json()["targets"]
    label = {"annotations": [{"name": "correctness", "label": "correct"}]}
    for record in listed:
        answer = http.post(f"/v2/annotation-queues/{queue.id}/records/{record['id']}/annotate", json=label)
        assert answer.status_code == 200, answer.text

    def held(record: dict[str, Any]) -> list[str]:
        every = record["annotations"] + record["trace_annotations"] + record["session_annotations"]
        return [a["label"] for a in every]

    assert [held(r) for r in records(http, queue)] == [["correct"]] * 4
    for record in listed:
        target = targets[record["id"]]
        values = [{"name": "correctness", "label": None}]
        body = {**target["body"], "annotations": [{"record_id": target["record_id"], "values": values}]}
        answer = http.post(target["path"], json=body)
        assert answer.status_code == 202, answer.text
    assert [held(r) for r in records(http, queue)] == [[]] * 4


def test_an_engine_with_a_token_refuses_the_page_without_it(tmp_path: Path) -> None:
    with serve_engine(tmp_path / "engine", token="review-token", run_tasks=False) as served:
        refused = httpx2.get(f"{served.url}/review/anything", timeout=10)
        assert refused.status_code == 401
        allowed = httpx2.get(
            f"{served.url}/review/anything", headers={"Authorization": "Bearer review-token"}, timeout=10
        )
        assert allowed.status_code == 404 and "No such annotation queue" in allowed.text
