// The review page of an annotation queue (served by the engine at /review/{queue_id}).
// Plain script, no build step: it reads the queue's records and writes labels through the engine's REST API.
"use strict";

(() => {
  const FIELDS = ["label", "score", "text"];
  const INPUT_KEYS = ["input", "inputs", "question", "query", "prompt"];
  const OUTPUT_KEYS = ["output", "outputs", "answer", "response", "completion"];
  const LONG_CHARS = 600;
  const LONG_LINES = 12;

  const boot = JSON.parse(document.getElementById("review-bootstrap").textContent);
  const configs = boot.queue.configs;
  const byName = new Map(configs.map((c) => [c.name, c]));
  const categorical = configs.filter((c) => c.type === "CATEGORICAL");
  const scored = configs.filter((c) => c.type !== "FREEFORM");
  // "Labelled" means a value for every non-freeform config; a queue of notes only needs every note.
  const required = scored.length ? scored : configs;
  let targets = boot.targets;
  const askedFor = new Set();

  const $ = (id) => document.getElementById(id);
  const ui = {
    progress: $("progress"),
    error: $("error"),
    notice: $("notice"),
    review: $("review"),
    title: $("record-title"),
    state: $("record-state"),
    body: $("record-body"),
    finished: $("finished"),
    finishedTitle: $("finished-title"),
    finishedText: $("finished-text"),
    back: $("back"),
    skip: $("skip"),
    undo: $("undo"),
  };

  let records = [];
  let current = null; // the record on screen (view "record")
  let view = "loading"; // loading | record | finished
  let activeGroup = categorical.length ? categorical[0].name : null;
  const undoStack = []; // {recordId, prior: [{name, before}]}, the page's own writes, last on top
  let chain = Promise.resolve();
  let pending = 0;

  // `hint` says what the person can do next; a refusal of the page's own checks has none.
  class ReviewError extends Error {
    constructor(message, hint = "Nothing else was changed; try again once the engine answers.") {
      super(message);
      this.hint = hint;
    }
  }

  // --- the engine --------------------------------------------------------------------------------------------

  async function api(method, path, body) {
    const init = { method, headers: { Accept: "application/json" }, cache: "no-store", credentials: "same-origin" };
    if (body !== undefined) {
      // JSON only: the engine's guard refuses other bodies (the cross-site "simple" request).
      init.headers["Content-Type"] = "application/json";
      init.body = JSON.stringify(body);
    }
    let response;
    try {
      response = await fetch(path, init);
    } catch (err) {
      throw new ReviewError(
        `could not reach the engine at ${location.origin} (${err.message}): ` +
          'is "arize-skills engine serve" still running?',
        "Nothing was lost: what you chose is still on screen; try again once the engine answers.",
      );
    }
    if (!response.ok) {
      let detail = "";
      try {
        const problem = await response.json();
        detail = problem.detail || problem.title || "";
      } catch (_) {
        detail = response.statusText;
      }
      if (response.status === 401) {
        detail +=
          " (this engine requires a bearer token, which a page opened from a link cannot send: serve the engine" +
          " on loopback without --token-env to use this page)";
      }
      throw new ReviewError(`the engine answered ${response.status}: ${detail}`);
    }
    const text = await response.text();
    return text ? JSON.parse(text) : null;
  }

  async function readRecords() {
    const all = [];
    let cursor = null;
    do {
      const query = new URLSearchParams({ limit: "500" });
      if (cursor) query.set("cursor", cursor);
      const page = await api("GET", `${boot.records_url}?${query}`);
      all.push(...page.records);
      cursor = page.pagination && page.pagination.has_more ? page.pagination.next_cursor : null;
    } while (cursor);
    const unknown = all.filter((r) => !(r.id in targets) && !askedFor.has(r.id));
    if (unknown.length) {
      // Records added since the page loaded: learn how to call their own annotate route (once: a record whose
      // span was deleted has none).
      for (const record of unknown) askedFor.add(record.id);
      targets = (await api("GET", boot.targets_url)).targets;
    }
    records = all;
    if (current) current = records.find((r) => r.id === current.id) || null;
  }

  function annotateUrl(recordId) {
    return boot.annotate_url.replace("{record_id}", encodeURIComponent(recordId));
  }

  async function ownWrite(record, values) {
    const target = targets[record.id];
    if (!target) throw new ReviewError("this record's own annotate route is unknown; reload the page");
    const body = { ...target.body, annotations: [{ record_id: target.record_id, values }] };
    await api("POST", target.path, body);
  }

  // --- annotations -------------------------------------------------------------------------------------------

  function annotationsOf(record) {
    if (record.granularity === "TRACE") return record.trace_annotations || [];
    if (record.granularity === "SESSION") return record.session_annotations || [];
    return record.annotations || [];
  }

  function snapshot(record, name) {
    const found = annotationsOf(record).find((a) => a.name === name);
    if (!found) return null;
    const values = {};
    for (const field of FIELDS) values[field] = found[field] === undefined ? null : found[field];
    return FIELDS.some((f) => values[f] !== null) ? values : null;
  }

  function hasValue(record, config) {
    const value = snapshot(record, config.name);
    if (!value) return false;
    if (config.type === "CATEGORICAL") return value.label !== null;
    if (config.type === "CONTINUOUS") return value.score !== null;
    return value.text !== null && value.text !== "";
  }

  function isLabelled(record) {
    return required.every((config) => hasValue(record, config));
  }

  function merged(values) {
    const byConfig = new Map();
    for (const value of values) byConfig.set(value.name, { ...(byConfig.get(value.name) || {}), ...value });
    return [...byConfig.values()];
  }

  // One write of the page: non-null fields through the queue's annotate route; fields set back to null (a note
  // emptied, a score cleared) through the record's own route, which deletes an annotation left with nothing.
  async function write(record, values) {
    values = merged(values);
    const prior = values.map((v) => ({ name: v.name, before: snapshot(record, v.name) }));
    const set = [];
    const clear = [];
    for (const value of values) {
      const kept = { name: value.name };
      const nulled = { name: value.name };
      for (const field of FIELDS) {
        if (!(field in value)) continue;
        if (value[field] === null) nulled[field] = null;
        else kept[field] = value[field];
      }
      if (Object.keys(kept).length > 1) set.push(kept);
      if (Object.keys(nulled).length > 1) clear.push(nulled);
    }
    if (set.length) {
      await api("POST", annotateUrl(record.id), { annotations: set });
      undoStack.push({ recordId: record.id, prior });
    }
    if (clear.length) {
      await ownWrite(record, clear);
      if (!set.length) undoStack.push({ recordId: record.id, prior });
    }
  }

  function noteDrafts() {
    if (!current) return [];
    const drafts = [];
    for (const area of document.querySelectorAll(".note-input")) {
      const name = area.dataset.config;
      const stored = (snapshot(current, name) || {}).text || "";
      if (area.value === stored) continue;
      if (area.value.trim() === "") {
        if (stored !== "") drafts.push({ name, text: null });
      } else {
        drafts.push({ name, text: area.value });
      }
    }
    return drafts;
  }

  // --- showing -----------------------------------------------------------------------------------------------

  function el(tag, attrs, ...children) {
    const node = document.createElement(tag);
    for (const [key, value] of Object.entries(attrs || {})) node.setAttribute(key, value);
    for (const child of children) node.append(child);
    return node;
  }

  function valueNode(value) {
    let text;
    let json = false;
    if (typeof value === "string") {
      text = value;
      const trimmed = value.trim();
      if (/^[[{]/.test(trimmed) && /[\]}]$/.test(trimmed)) {
        try {
          text = JSON.stringify(JSON.parse(trimmed), null, 2);
          json = true;
        } catch (_) {
          text = value;
        }
      }
    } else if (value !== null && typeof value === "object") {
      text = JSON.stringify(value, null, 2);
      json = true;
    } else {
      text = String(value);
    }
    const pre = el("pre", { class: json ? "value json" : "value" }, text);
    if (text.length <= LONG_CHARS && text.split("\n").length <= LONG_LINES) return pre;
    const first = text.split("\n", 1)[0].slice(0, 120);
    const summary = el("summary", {}, `${first} … (${text.length} characters: show all)`);
    return el("details", { class: "long" }, summary, pre);
  }

  function findKey(data, candidates) {
    const keys = Object.keys(data);
    for (const candidate of candidates) {
      const key = keys.find((k) => k.toLowerCase() === candidate);
      if (key !== undefined) return key;
    }
    return null;
  }

  function section(title, cls, content) {
    return el("section", { class: `part ${cls}` }, el("h3", {}, title), content);
  }

  function fieldList(entries) {
    const list = el("dl", { class: "fields" });
    for (const [key, value] of entries) list.append(el("dt", {}, key), el("dd", {}, valueNode(value)));
    return list;
  }

  function renderBody(record) {
    const data = record.data || {};
    const parts = [];
    let used = [];
    if (record.source_type === "DATASET") {
      const inKey = findKey(data, INPUT_KEYS);
      const outKey = findKey(data, OUTPUT_KEYS);
      if (inKey === null && outKey === null) {
        used = Object.keys(data).filter((k) => k !== "id");
        parts.push(section("Columns", "columns", fieldList(used.map((k) => [k, data[k]]))));
      } else {
        if (inKey !== null) parts.push(section(`Input (${inKey})`, "input", valueNode(data[inKey])));
        if (outKey !== null) parts.push(section(`Output (${outKey})`, "output", valueNode(data[outKey])));
        used = [inKey, outKey].filter((k) => k !== null);
      }
    } else {
      for (const [title, cls, key] of [
        ["Input", "input", "attributes.input.value"],
        ["Output", "output", "attributes.output.value"],
      ]) {
        const content = key in data ? valueNode(data[key]) : el("p", { class: "absent" }, `This span has no ${key}.`);
        parts.push(section(title, cls, content));
        used.push(key);
      }
    }
    const rest = Object.keys(data)
      .filter((k) => !used.includes(k))
      .map((k) => [k, data[k]]);
    for (const evaluation of record.evaluations || []) {
      const shown = {};
      for (const field of ["label", "score", "explanation"]) {
        if (evaluation[field] !== null && evaluation[field] !== undefined) shown[field] = evaluation[field];
      }
      rest.push([`eval.${evaluation.name}`, shown]);
    }
    const context = el("details", { class: "context" }, el("summary", {}, `Context (${rest.length} fields)`));
    context.append(fieldList(rest));
    parts.push(context);
    ui.body.replaceChildren(...parts);
  }

  function describe(record) {
    const data = record.data || {};
    if (record.source_type === "DATASET") return `dataset example ${data.id || ""}`.trim();
    const kind = (record.granularity || "SPAN").toLowerCase();
    return `${kind} · ${data.name || "span"} · ${data["context.span_id"] || ""}`;
  }

  function missingConfigs(record) {
    return required.filter((c) => !hasValue(record, c)).map((c) => c.name);
  }

  function renderProgress() {
    const done = records.filter(isLabelled).length;
    ui.progress.textContent = `${done} of ${records.length} labelled`;
    ui.progress.dataset.done = String(done);
    ui.progress.dataset.total = String(records.length);
  }

  function setActiveGroup(name) {
    activeGroup = name;
    for (const group of document.querySelectorAll(".config.categorical")) {
      group.classList.toggle("active", group.dataset.config === name);
    }
  }

  function renderControls(record) {
    for (const button of document.querySelectorAll("button.label")) {
      const value = snapshot(record, button.dataset.config);
      button.setAttribute("aria-pressed", String(!!value && value.label === button.dataset.label));
    }
    for (const input of document.querySelectorAll("input.score")) {
      const value = snapshot(record, input.dataset.config);
      input.value = value && value.score !== null ? String(value.score) : "";
      input.dataset.committed = input.value;
    }
    for (const area of document.querySelectorAll(".note-input")) {
      area.value = (snapshot(record, area.dataset.config) || {}).text || "";
    }
  }

  // The control of the first config the record lacks, else the first control.
  function focusNext(record, options) {
    const missing = configs.find((c) => c.type !== "FREEFORM" && !hasValue(record, c)) || configs[0];
    if (!missing) return;
    if (missing.type === "CATEGORICAL") {
      setActiveGroup(missing.name);
      focusActive(options);
    } else {
      const input = document.querySelector(`input.score[data-config="${CSS.escape(missing.name)}"]`);
      if (input) input.focus(options);
    }
  }

  function focusActive(options) {
    const selector = activeGroup && `.config.categorical[data-config="${CSS.escape(activeGroup)}"]`;
    const group = selector && document.querySelector(selector);
    if (!group) return;
    const button = group.querySelector('button.label[aria-pressed="true"]') || group.querySelector("button.label");
    if (button) button.focus(options);
  }

  function showRecord(index, { keepFocus = false } = {}) {
    // A record newly on screen is read from its top: focus moves to its controls without scrolling past it.
    const fresh = view !== "record" || !current || current.id !== records[index].id;
    current = records[index];
    view = "record";
    ui.review.hidden = false;
    ui.finished.hidden = true;
    ui.skip.disabled = false;
    ui.title.textContent = `Record ${index + 1} of ${records.length}`;
    const meta = el("span", { class: "meta" }, describe(current));
    ui.title.append(" ", meta);
    const labelled = isLabelled(current);
    ui.state.dataset.state = labelled ? "labelled" : "unlabelled";
    ui.state.textContent = labelled ? "Labelled." : `Not labelled yet: needs ${missingConfigs(current).join(", ")}.`;
    document.body.dataset.recordId = current.id;
    document.body.dataset.view = "record";
    renderBody(current);
    renderControls(current);
    renderProgress();
    if (fresh) window.scrollTo(0, 0);
    if (!keepFocus) focusNext(current, { preventScroll: fresh });
  }

  function showFinished() {
    current = null;
    view = "finished";
    ui.review.hidden = true;
    ui.finished.hidden = false;
    ui.skip.disabled = true;
    document.body.dataset.view = "finished";
    delete document.body.dataset.recordId;
    renderProgress();
    if (records.length) {
      ui.finishedTitle.textContent = "All records are labelled";
      ui.finishedText.textContent = `All ${records.length} records of “${boot.queue.name}” have a label.`;
    } else {
      ui.finishedTitle.textContent = "This queue has no records";
      ui.finishedText.textContent = "Nothing to label here yet: ask your coding agent to add records to the queue.";
    }
    ui.finishedTitle.focus();
  }

  function indexOf(recordId) {
    return records.findIndex((r) => r.id === recordId);
  }

  // The first record after position `from` (wrapping) without a full label; -1 when there is none.
  function nextUnlabelled(from, { includeFrom = true } = {}) {
    const count = records.length;
    const last = includeFrom ? count : count - 1;
    for (let step = 1; step <= last; step++) {
      const index = (((from + step) % count) + count) % count;
      if (!isLabelled(records[index])) return index;
    }
    return -1;
  }

  function showNextUnlabelled(from) {
    const index = nextUnlabelled(from);
    if (index < 0) showFinished();
    else showRecord(index);
  }

  function say(text) {
    ui.notice.textContent = text;
  }

  function showError(what, err) {
    const known = err instanceof ReviewError;
    const reason = known ? err.message : `unexpected error: ${err && err.message}`;
    let text = known && err.full ? err.message : `${what}: ${reason}`;
    if (!/[.?!]$/.test(text)) text += ".";
    const hint = known ? err.hint : "Reload the page to see what was saved.";
    ui.error.textContent = hint ? `${text} ${hint}` : text;
    ui.error.hidden = false;
    ui.error.scrollIntoView({ block: "nearest" });
  }

  function clearError() {
    ui.error.hidden = true;
    ui.error.textContent = "";
  }

  // Actions run one after another, so a quick second key press waits for the first write instead of racing it.
  function enqueue(what, action) {
    pending += 1;
    chain = chain
      .then(async () => {
        await action();
        clearError();
      })
      .catch((err) => showError(what, err))
      .finally(() => {
        pending -= 1;
      });
    return chain;
  }

  // --- actions -----------------------------------------------------------------------------------------------

  async function afterWrite(record, message) {
    try {
      await readRecords();
    } catch (err) {
      // The write landed; only the read after it failed, so the error must not say "not saved".
      const failed = new ReviewError(
        `${message} But reading the records back failed: ${err.message}`,
        "Reload the page once the engine answers.",
      );
      failed.full = true;
      throw failed;
    }
    const at = indexOf(record.id);
    say(message);
    if (at < 0) return showNextUnlabelled(-1);
    if (isLabelled(records[at])) return showNextUnlabelled(at);
    showRecord(at);
  }

  function chooseLabel(configName, label) {
    enqueue(`Not saved: ${configName} ${label}`, async () => {
      if (view !== "record" || !current) return;
      const record = current;
      await write(record, [{ name: configName, label }, ...noteDrafts()]);
      await afterWrite(record, `Saved ${configName}: ${label}.`);
    });
  }

  function commitScore(input) {
    const config = byName.get(input.dataset.config);
    const raw = input.value.trim();
    if (raw === input.dataset.committed) return;
    if (!current) return;
    const stored = (snapshot(current, config.name) || {}).score;
    let values;
    if (raw === "") {
      if (stored === null || stored === undefined) return;
      values = [{ name: config.name, score: null }];
    } else {
      const score = Number(raw);
      const low = config.minimum_score;
      const high = config.maximum_score;
      if (!Number.isFinite(score) || (low !== null && score < low) || (high !== null && score > high)) {
        const refusal = new ReviewError(`the score must be a number from ${low} to ${high}`, "");
        showError(`Not saved: ${config.name}`, refusal);
        return;
      }
      if (score === stored) return;
      values = [{ name: config.name, score }];
    }
    input.dataset.committed = raw;
    enqueue(`Not saved: ${config.name} ${raw || "(cleared)"}`, async () => {
      if (view !== "record" || !current) return;
      const record = current;
      try {
        await write(record, [...values, ...noteDrafts()]);
      } catch (err) {
        input.dataset.committed = "\u0000"; // not saved: the same value may be sent again
        throw err;
      }
      await afterWrite(record, raw === "" ? `Cleared ${config.name}.` : `Saved ${config.name}: ${raw}.`);
    });
  }

  function saveNote() {
    enqueue("Not saved: the note", async () => {
      if (view !== "record" || !current) return;
      const drafts = noteDrafts();
      if (!drafts.length) return say("The note is already saved.");
      const record = current;
      await write(record, drafts);
      await readRecords();
      say("Saved the note.");
      const at = indexOf(record.id);
      if (at < 0) return showNextUnlabelled(-1);
      showRecord(at, { keepFocus: true });
    });
  }

  async function saveDraftsBeforeLeaving() {
    const drafts = noteDrafts();
    if (drafts.length && current) await write(current, drafts);
  }

  function skip() {
    enqueue("Could not skip (a typed note is saved first)", async () => {
      if (view !== "record" || !current) return;
      await saveDraftsBeforeLeaving();
      const id = current.id;
      await readRecords();
      const at = indexOf(id);
      const index = at < 0 ? nextUnlabelled(-1) : nextUnlabelled(at, { includeFrom: false });
      if (index >= 0) {
        say(`Skipped record ${at + 1}.`);
        return showRecord(index);
      }
      if (records.every(isLabelled)) return showFinished();
      say("No other record is left without a label.");
      showRecord(at);
    });
  }

  function back() {
    enqueue("Could not go back (a typed note is saved first)", async () => {
      if (view === "record" && current) await saveDraftsBeforeLeaving();
      const id = current ? current.id : null;
      await readRecords();
      if (!records.length) return showFinished();
      if (view === "finished" || id === null) return showRecord(records.length - 1);
      const at = indexOf(id);
      if (at === 0) {
        say("This is the first record.");
        return showRecord(0);
      }
      showRecord(at < 0 ? 0 : at - 1);
    });
  }

  function undo() {
    enqueue("Could not undo", async () => {
      const drafts = noteDrafts();
      if (view === "record" && drafts.length) {
        // An unsaved note is the last change: undoing it puts the stored note back on screen.
        renderControls(current);
        return say("Discarded the unsaved note.");
      }
      const entry = undoStack[undoStack.length - 1];
      if (!entry) return say("Nothing to undo: this page has written no label yet.");
      await readRecords();
      const at = indexOf(entry.recordId);
      if (at < 0) throw new ReviewError("the record of the last label is no longer in this queue");
      const record = records[at];
      const restore = [];
      const remove = [];
      for (const { name, before } of entry.prior) {
        const now = snapshot(record, name) || {};
        if (before === null) {
          remove.push({ name, label: null, score: null, text: null });
          continue;
        }
        const back = { name };
        const cleared = { name };
        for (const field of FIELDS) {
          if (before[field] !== null) back[field] = before[field];
          else if (now[field] !== null && now[field] !== undefined) cleared[field] = null;
        }
        restore.push(back);
        if (Object.keys(cleared).length > 1) remove.push(cleared);
      }
      if (restore.length) await api("POST", annotateUrl(record.id), { annotations: restore });
      if (remove.length) await ownWrite(record, remove);
      undoStack.pop();
      await readRecords();
      say(`Undid the last change on record ${at + 1}.`);
      const shown = indexOf(record.id);
      if (shown < 0) return showNextUnlabelled(-1);
      showRecord(shown);
    });
  }

  // --- wiring ------------------------------------------------------------------------------------------------

  for (const button of document.querySelectorAll("button.label")) {
    button.addEventListener("click", () => chooseLabel(button.dataset.config, button.dataset.label));
  }
  for (const group of document.querySelectorAll(".config.categorical")) {
    group.addEventListener("focusin", () => setActiveGroup(group.dataset.config));
  }
  for (const input of document.querySelectorAll("input.score")) {
    input.addEventListener("change", () => commitScore(input));
  }
  for (const button of document.querySelectorAll("button.save-note")) button.addEventListener("click", saveNote);
  ui.skip.addEventListener("click", skip);
  ui.back.addEventListener("click", back);
  ui.undo.addEventListener("click", undo);

  document.addEventListener("keydown", (event) => {
    if (event.ctrlKey || event.metaKey || event.altKey) return;
    const target = event.target;
    if (target instanceof HTMLTextAreaElement || target instanceof HTMLInputElement) {
      if (event.key === "Escape") {
        event.preventDefault();
        if (target.classList.contains("score")) commitScore(target);
        focusActive();
      } else if (event.key === "Enter" && target.classList.contains("score")) {
        event.preventDefault();
        commitScore(target);
      }
      return;
    }
    const key = event.key.toLowerCase();
    if (/^[1-9]$/.test(key) && view === "record") {
      const config = byName.get(activeGroup);
      const label = config && config.labels[Number(key) - 1];
      if (label !== undefined) {
        event.preventDefault();
        chooseLabel(config.name, label);
      }
    } else if (key === "s" && view === "record") {
      event.preventDefault();
      skip();
    } else if (key === "b") {
      event.preventDefault();
      back();
    } else if (key === "u") {
      event.preventDefault();
      undo();
    }
  });

  window.addEventListener("beforeunload", (event) => {
    // Nothing silently lost: a label still on its way, or a note typed and not saved, keeps the tab open.
    if (pending > 0 || noteDrafts().length) {
      event.preventDefault();
      event.returnValue = "";
    }
  });

  setActiveGroup(activeGroup);
  enqueue("Could not load the records", async () => {
    try {
      await readRecords();
    } catch (err) {
      ui.progress.textContent = "Could not load the records.";
      throw err;
    }
    // Resume where the person left off: the first record without a full label.
    showNextUnlabelled(-1);
  });
})();
