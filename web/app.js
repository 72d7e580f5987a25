// The live view: one EventSource to /events. Each connection starts with a `snapshot` (the whole run and
// its history), then `change` messages carry the rows that changed and the new chart points. After a
// dropped connection (a server restart) EventSource reconnects by itself and the snapshot that follows
// replaces everything, so the page recovers its full state. Nothing here asks the server on a timer.

import { drawBurnUp, thin } from "./chart.js";
import { clockTime, dateTime } from "./format.js";
import { buildRow, element } from "./rows.js";
import { CROWDED, countTabs } from "./tabs.js";

/**
 * @typedef {import("./rows.js").Row} Row
 * @typedef {import("./rows.js").Point} Point
 * @typedef {{
 *   runId: string, epicId: string, startedAt: string, completedAt: string | null, event: string, seq: number,
 *   countsText: string, overall: { filesCompleted: number, filesTotal: number, progress: number },
 *   etaMs: number | null, etaText: string | null, at: number, overBudget: boolean,
 *   costText: string | null, budgetFlag: string | null,
 *   columns: { iteration: boolean, criteria: boolean, cost: boolean },
 *   issue: { repo: string | null, number: number | null, commentUrl: string | null }
 * }} RunInfo
 * @typedef {{ runId: string, startedAt: number, observedFrom: number, overall: Point[], agents: Record<string, Point[]> }} History
 */

const $ = (/** @type {string} */ id) => /** @type {HTMLElement} */ (document.getElementById(id));

const view = {
  /** @type {RunInfo | null} */ run: null,
  /** @type {Map<string, Row>} */ rows: new Map(),
  /** @type {string[]} */ order: [],
  /** @type {History | null} */ history: null,
  /** @type {Map<string, HTMLTableRowElement>} */ elements: new Map(),
};

/** Whole snapshot: everything is rebuilt. @param {{ location: string, view: { run: RunInfo, agents: Row[] } | null, history: History | null }} message */
function applySnapshot(message) {
  view.run = message.view?.run ?? null;
  view.rows = new Map((message.view?.agents ?? []).map((row) => [row.agentId, row]));
  view.order = (message.view?.agents ?? []).map((row) => row.agentId);
  view.history = message.history;
  $("empty").hidden = view.run !== null;
  $("run").hidden = view.run === null;
  if (!view.run) {
    // The run that was shown went away (its folder removed): nothing of it stays on the page.
    $("epic-name").textContent = "";
    $("run-state").textContent = "Parallel Execution Progress";
    document.title = "parallel-progress";
    $("empty").textContent =
      `No run yet in ${message.location}: it shows here once \`parallel-progress init\` starts one.`;
    return;
  }
  const body = $("rows");
  view.elements.clear();
  const fragment = document.createDocumentFragment();
  for (const id of view.order) fragment.append(rowElement(id));
  body.replaceChildren(fragment);
  drawRun();
}

/** @param {{ run: RunInfo, rows: { changed: Row[], removed: string[], order: string[] | null }, history: { overall: Point[], agents: Record<string, Point[]> } }} message */
function applyChange(message) {
  if (!view.run || !view.history) return;
  view.run = message.run;
  const history = view.history;
  history.overall = thin([...history.overall, ...message.history.overall]);
  for (const [id, points] of Object.entries(message.history.agents)) {
    history.agents[id] = thin([...(history.agents[id] ?? []), ...points]);
  }
  for (const id of message.rows.removed) {
    view.rows.delete(id);
    view.elements.get(id)?.remove();
    view.elements.delete(id);
  }
  for (const row of message.rows.changed) {
    view.rows.set(row.agentId, row);
    const old = view.elements.get(row.agentId);
    view.elements.delete(row.agentId);
    const fresh = rowElement(row.agentId);
    if (old) old.replaceWith(fresh);
  }
  if (message.rows.order) {
    view.order = message.rows.order;
    const fragment = document.createDocumentFragment();
    for (const id of view.order) fragment.append(rowElement(id)); // moves the rows that exist
    $("rows").replaceChildren(fragment);
  }
  drawRun();
}

/** The row's element, built when missing. @param {string} id */
function rowElement(id) {
  const existing = view.elements.get(id);
  if (existing) return existing;
  const row = /** @type {Row} */ (view.rows.get(id));
  const history = view.history;
  const built = buildRow(row, history?.agents[id] ?? [], history?.startedAt ?? 0, history?.observedFrom ?? 0);
  view.elements.set(id, built);
  return built;
}

/** The parts drawn from the run as a whole: summary, failures, chart, metric columns. */
function drawRun() {
  const run = view.run;
  if (!run || !view.history) return;
  // The epic id is isolated (FSI … PDI here, a CSS isolate on the page): a right-to-left override in it
  // cannot turn the text around it.
  document.title = `${run.overall.progress}% · \u2068${run.epicId}\u2069 · parallel-progress`;
  $("epic-name").textContent = run.epicId;
  $("run-state").textContent = `: ${run.completedAt ? "finished" : "in progress"}`;
  $("overall-percent").textContent = `${run.overall.progress}%`;
  $("overall-files").textContent = `(${run.overall.filesCompleted}/${run.overall.filesTotal} files)`;
  const overallBar = $("overall-bar");
  overallBar.setAttribute("aria-valuenow", String(run.overall.progress));
  /** @type {HTMLElement} */ (overallBar.firstElementChild).style.width = `${run.overall.progress}%`;
  $("counts").textContent = run.countsText;
  $("eta").textContent = eta(run);
  $("event").textContent = run.event;
  $("started").textContent =
    dateTime(run.startedAt) + (run.completedAt ? ` · finished ${dateTime(run.completedAt)}` : "");
  const hasCost = run.costText !== null;
  $("cost-label").hidden = !hasCost;
  $("cost").hidden = !hasCost;
  if (hasCost)
    $("cost").textContent = `${run.costText}${run.budgetFlag === null ? "" : ` ⚠ ${run.budgetFlag}`}`;
  const issue = run.issue.repo && run.issue.number !== null ? `${run.issue.repo}#${run.issue.number}` : null;
  $("issue-label").hidden = issue === null;
  $("issue").hidden = issue === null;
  $("issue").textContent = issue ?? "";

  const table = $("agents");
  table.classList.toggle("show-iteration", run.columns.iteration);
  table.classList.toggle("show-criteria", run.columns.criteria);
  table.classList.toggle("show-cost", run.columns.cost);

  const failed = view.order
    .map((id) => view.rows.get(id))
    .filter((row) => row && (row.status === "failed" || row.status === "cancelled"));
  $("failures").hidden = failed.length === 0;
  const list = $("failure-list");
  list.replaceChildren(
    ...failed.map((row) => {
      const item = element("li", `status-${row?.status}`);
      item.append(
        element("strong", "agent-text", row?.domain ?? ""),
        element("span", "agent-id", ` ${row?.agentId} `),
      );
      item.append(
        element(
          "span",
          "reason",
          row?.error ?? (row?.status === "cancelled" ? "cancelled" : "no reason given"),
        ),
      );
      return item;
    }),
  );
  scheduleChart();
}

/** @param {RunInfo} run */
function eta(run) {
  if (run.completedAt) return "done";
  if (run.etaMs === null || run.etaText === null) return "not enough data yet";
  // The clock time only where there is one: an absurd count of files can put the end past any date.
  // To the nearest minute, as the estimate is (its seconds were cut: 02:22 for 02:22:50).
  const at = clockTime(Math.round((run.at + run.etaMs) / 60_000) * 60_000).slice(0, 5);
  return `${run.etaText}${at ? ` (about ${at} UTC)` : ""}`;
}

let chartPending = false;
/** The chart is redrawn at most once per frame, however many changes arrive. */
function scheduleChart() {
  if (chartPending) return;
  chartPending = true;
  requestAnimationFrame(() => {
    chartPending = false;
    const run = view.run;
    if (!run || !view.history) return;
    const lines = view.order.map((id) => /** @type {Row} */ (view.rows.get(id)));
    const end = run.completedAt ? Date.parse(run.completedAt) : run.at;
    drawBurnUp($("chart"), $("legend"), view.history, lines, end);
  });
}

/** @param {"live" | "reconnecting" | "ended"} state @param {string} text */
function connection(state, text) {
  const node = $("connection");
  node.dataset.state = state;
  node.textContent = text;
}

/** The open stream, or null while paused (or before the first connection, or once ended). */
let source = /** @type {EventSource | null} */ (null);
/** A retry after the stream was refused, while one is due. */
let retry = /** @type {ReturnType<typeof setTimeout> | null} */ (null);

function disconnect() {
  source?.close();
  source = null;
  if (retry !== null) clearTimeout(retry);
  retry = null;
}

function connect() {
  disconnect();
  const opened = new EventSource(`events${location.search}`);
  source = opened;
  opened.addEventListener("open", () => connection("live", "live"));
  opened.addEventListener("snapshot", (event) => {
    $("problem").hidden = true;
    // Marks for anyone measuring how long a big run takes to show (the browser tests do).
    performance.mark("snapshot-received");
    applySnapshot(JSON.parse(/** @type {MessageEvent} */ (event).data));
    performance.measure("snapshot-shown", "snapshot-received");
  });
  opened.addEventListener("change", (event) => {
    $("problem").hidden = true;
    applyChange(JSON.parse(/** @type {MessageEvent} */ (event).data));
  });
  opened.addEventListener("problem", (event) => {
    $("problem").hidden = false;
    $("problem").textContent =
      `cannot read the run: ${JSON.parse(/** @type {MessageEvent} */ (event).data).message}`;
  });
  opened.addEventListener("end", (event) => {
    disconnect();
    ended = true;
    connection("ended", `stopped: ${JSON.parse(/** @type {MessageEvent} */ (event).data).reason}`);
  });
  opened.addEventListener("error", () => {
    if (opened.readyState === EventSource.CLOSED) {
      // Refused (a new token after a restart, or an error status): EventSource gives up; try once more later.
      connection("reconnecting", "disconnected: retrying…");
      retry = setTimeout(connect, 3000);
    } else {
      connection("reconnecting", "reconnecting…");
    }
  });
}

/** The server said the view ended (the run finalized with --exit-on-finalize): no reconnecting. */
let ended = false;

const openTabs = countTabs(() => follow());

/**
 * Holds the stream, or lets it go while the tab is hidden and many tabs of the page are open (see
 * tabs.js); a tab that takes it again gets the whole run (a snapshot). A hidden tab among a few keeps
 * it: its title shows the progress, and it hears the run end.
 */
function follow() {
  if (ended) return;
  const pause = document.visibilityState === "hidden" && openTabs() >= CROWDED;
  if (pause && source !== null) {
    disconnect();
    connection("reconnecting", "paused: hidden, with many tabs of this page open");
  } else if (!pause && source === null) {
    connection("reconnecting", "connecting…");
    connect();
  }
}

document.addEventListener("visibilitychange", follow);
// The chart is drawn to the width it has, so its labels keep their size on a phone.
addEventListener("resize", scheduleChart);

follow();
