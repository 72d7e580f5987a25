// The agents table: one row per agent (children indented under their parent), built with DOM calls and
// textContent only, so no agent text is ever read as markup. Rows are rebuilt one by one as they change.

import { sparkline } from "./chart.js";
import { clockTime, statusLabel } from "./format.js";

/**
 * @typedef {{ at: string, message: string, from: string | null }} RecentEvent
 * @typedef {{
 *   agentId: string, domain: string, status: string, filesCompleted: number, filesTotal: number,
 *   progress: number, parentId: string | null, depth: number, startedAt: string | null, updatedAt: string,
 *   finishedAt: string | null, summary: string | null, error: string | null, stalled: boolean,
 *   events: RecentEvent[], iteration: number | null, maxIterations: number | null,
 *   criteriaVerified: number | null, criteriaTotal: number | null, costUsd: number | null,
 *   overBudget: boolean, costText: string | null
 * }} Row
 * @typedef {[number, number, number]} Point
 */

/** A metric cell of an agent that has not reported it, as on the issue and in the terminal. */
const NOT_REPORTED = "—";

/** @param {string} tag @param {string} [className] @param {string} [text] */
export function element(tag, className, text) {
  const created = document.createElement(tag);
  if (className) created.className = className;
  if (text !== undefined) created.textContent = text;
  return created;
}

/** A progress bar: the width is set through the CSS object model (the policy forbids inline styles). */
export function bar(/** @type {number} */ percent, /** @type {string} */ status) {
  const outer = element("div", `bar status-${status}`);
  outer.setAttribute("role", "progressbar");
  outer.setAttribute("aria-valuenow", String(percent));
  const inner = element("div");
  inner.style.width = `${Math.max(0, Math.min(100, percent))}%`;
  outer.append(inner);
  return outer;
}

/**
 * @param {Row} row @param {Point[]} points the agent's burn-up @param {number} startedAt the run's start
 * @param {number} observedFrom the end of the reconstructed stretch of the burn-up
 * @returns {HTMLTableRowElement}
 */
export function buildRow(row, points, startedAt, observedFrom) {
  const tr = /** @type {HTMLTableRowElement} */ (
    element("tr", `status-${row.status}${row.stalled ? " stalled" : ""}`)
  );
  tr.dataset.agent = row.agentId;

  const domain = element("td", "domain");
  domain.style.paddingLeft = `${0.5 + row.depth * 1.25}em`;
  domain.append(
    element("span", row.depth > 0 ? "child-mark" : "", row.depth > 0 ? "↳ " : ""),
    element("span", "name", row.domain),
  );
  tr.append(domain, element("td", "agent-id", row.agentId));

  const status = element("td", "status");
  status.append(element("span", "badge", statusLabel(row.status)));
  if (row.stalled) status.append(element("span", "stalled-mark", " ⚠ stalled"));
  if (row.error) status.append(element("div", "reason", row.error));
  else if (row.summary) status.append(element("div", "result", row.summary));
  tr.append(status, element("td", "num files", `${row.filesCompleted}/${row.filesTotal}`));

  const progress = element("td", "progress");
  progress.append(bar(row.progress, row.status), element("span", "percent", `${row.progress}%`));
  tr.append(progress);

  tr.append(
    element(
      "td",
      "col-iteration num",
      row.iteration === null ? NOT_REPORTED : `${row.iteration}/${row.maxIterations ?? "?"}`,
    ),
    element(
      "td",
      "col-criteria num",
      row.criteriaVerified === null ? NOT_REPORTED : `${row.criteriaVerified}/${row.criteriaTotal ?? "?"}`,
    ),
    element(
      "td",
      "col-cost num",
      row.costText === null ? NOT_REPORTED : `${row.costText}${row.overBudget ? " ⚠" : ""}`,
    ),
  );

  const chart = element("td", "spark-cell");
  chart.append(sparkline(points, startedAt, observedFrom));
  tr.append(chart);

  const events = element("td", "events");
  const list = element("ol");
  for (const event of row.events) {
    const item = element("li");
    item.append(element("time", "", clockTime(event.at)), document.createTextNode(" "));
    if (event.from !== null) item.append(element("span", "from", `${event.from}: `));
    item.append(element("span", "message", event.message));
    list.append(item);
  }
  events.append(list);
  tr.append(events);
  return tr;
}
