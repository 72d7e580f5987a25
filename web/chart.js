// The burn-up charts, drawn as SVG by hand (a few lines and labels need no chart library): files done
// over time for the run, with its total, plus one line per top-level agent while they are few; and a
// small one per agent in the table. Agent text only ever goes in through textContent.

const SVG = "http://www.w3.org/2000/svg";

/** `[epoch ms, files done, files total]`, as the server sends them. @typedef {[number, number, number]} Point */

/** Points kept per series: past this, every other older point is dropped (the server does the same). */
export const MAX_POINTS = 400;

/** @param {Point[]} points @returns {Point[]} */
export function thin(points) {
  if (points.length <= MAX_POINTS) return points;
  return points.filter((_, index) => index % 2 === 0 || index === points.length - 1);
}

/** Agents drawn in the big chart, one line each; past this only the run's line (each row has its own). */
export const MAX_AGENT_LINES = 12;

const COLORS = [
  "#2563eb",
  "#d97706",
  "#059669",
  "#db2777",
  "#7c3aed",
  "#0891b2",
  "#65a30d",
  "#dc2626",
  "#4b5563",
  "#c026d3",
  "#0d9488",
  "#ea580c",
];

/** @param {string} tag @param {Record<string, string | number>} attributes */
function node(tag, attributes = {}) {
  const element = document.createElementNS(SVG, tag);
  for (const [name, value] of Object.entries(attributes)) element.setAttribute(name, String(value));
  return element;
}

/**
 * A line through the points, carried on to `end`: straight up to `observedFrom` (the stretch the server
 * reconstructed: when each file was done in between is unknown), then in steps (the count holds until
 * the next point).
 * @param {Point[]} points @param {(at: number) => number} x @param {(value: number) => number} y
 * @param {1 | 2} field 1: files done, 2: files total @param {number} end @param {number} observedFrom
 */
function stepPath(points, x, y, field, end, observedFrom) {
  let path = "";
  let previous = /** @type {Point | null} */ (null);
  for (const point of points) {
    const [px, py] = [x(point[0]).toFixed(1), y(point[field]).toFixed(1)];
    if (!previous) path = `M${px} ${py}`;
    else path += point[0] <= observedFrom ? ` L${px} ${py}` : ` H${px} V${py}`;
    previous = point;
  }
  return previous ? `${path} H${x(Math.max(end, previous[0])).toFixed(1)}` : "";
}

/** An axis label: `950`, `12K`, `1.5M`, so that a big count keeps to the chart's margin. @param {number} value */
function count(value) {
  return value < 10_000
    ? String(value)
    : new Intl.NumberFormat("en", { notation: "compact", maximumFractionDigits: 1 }).format(value);
}

/** A round step (1, 2 or 5 times a power of ten, whole files) for about five grid lines up to `highest`. */
export function tickStep(/** @type {number} */ highest) {
  const raw = highest / 5;
  const power = 10 ** Math.floor(Math.log10(raw));
  const scaled = raw / power;
  return Math.max(1, (scaled <= 1 ? 1 : scaled <= 2 ? 2 : scaled <= 5 ? 5 : 10) * power);
}

/**
 * @typedef {{ startedAt: number, observedFrom: number, overall: Point[], agents: Record<string, Point[]> }} History
 * @typedef {{ agentId: string, domain: string, depth: number }} Line
 */

/**
 * Draws the run's burn-up into `container` and its legend into `legend`.
 * @param {HTMLElement} container @param {HTMLElement} legend @param {History} history
 * @param {Line[]} agents the agents in display order @param {number} end the chart's last time (epoch ms)
 */
export function drawBurnUp(container, legend, history, agents, end) {
  // As wide as the page gives it (drawn 1:1, so the labels keep their size on a phone); 800 unlaid out.
  const width = Math.max(320, Math.round(container.clientWidth) || 800);
  const height = 220;
  const left = 44;
  const right = 12;
  const top = 10;
  const bottom = 26;
  const start = history.startedAt;
  const last = Math.max(end, start + 1000, ...history.overall.map((point) => point[0]));
  const highest = Math.max(
    1,
    ...history.overall.map((point) => point[2]),
    ...history.overall.map((point) => point[1]),
  );
  const tick = tickStep(highest);
  const most = Math.ceil(highest / tick) * tick;
  const x = (/** @type {number} */ at) => left + ((at - start) / (last - start)) * (width - left - right);
  const y = (/** @type {number} */ value) => top + (1 - value / most) * (height - top - bottom);

  const chart = node("svg", {
    viewBox: `0 0 ${width} ${height}`,
    role: "img",
    "aria-label": "Files done over time",
  });
  for (let value = 0; value <= most; value += tick) {
    chart.append(node("line", { x1: left, x2: width - right, y1: y(value), y2: y(value), class: "grid" }));
    const label = node("text", { x: left - 6, y: y(value) + 4, class: "axis", "text-anchor": "end" });
    label.textContent = count(value);
    chart.append(label);
  }
  for (const [at, anchor] of /** @type {[number, string][]} */ ([
    [start, "start"],
    [last, "end"],
  ])) {
    const label = node("text", { x: x(at), y: height - 8, class: "axis", "text-anchor": anchor });
    label.textContent = `${new Date(at).toISOString().slice(11, 19)} UTC`;
    chart.append(label);
  }

  // Where the reconstructed stretch ends, when there is one worth marking.
  if (history.observedFrom - start > (last - start) * 0.02 && history.observedFrom < last) {
    chart.append(
      node("line", {
        x1: x(history.observedFrom),
        x2: x(history.observedFrom),
        y1: top,
        y2: height - bottom,
        class: "observed",
      }),
    );
    const label = node("text", {
      x: x(history.observedFrom) - 4,
      y: top + 10,
      class: "axis",
      "text-anchor": "end",
    });
    label.textContent = "view started";
    chart.append(label);
  }

  legend.replaceChildren();
  const lines = agents.filter((agent) => agent.depth === 0);
  if (lines.length <= MAX_AGENT_LINES) {
    lines.forEach((agent, index) => {
      const points = history.agents[agent.agentId] ?? [];
      const color = COLORS[index % COLORS.length] ?? "#888";
      chart.append(
        node("path", {
          d: stepPath(points, x, y, 1, last, history.observedFrom),
          class: "agent-line",
          stroke: color,
        }),
      );
      legend.append(legendItem(agent.domain, color, "agent"));
    });
  }
  chart.append(
    node("path", { d: stepPath(history.overall, x, y, 2, last, history.observedFrom), class: "total-line" }),
  );
  chart.append(
    node("path", {
      d: stepPath(history.overall, x, y, 1, last, history.observedFrom),
      class: "overall-line",
    }),
  );
  legend.prepend(legendItem("all files (total dashed)", "", "overall"));
  if (lines.length > MAX_AGENT_LINES)
    legend.append(legendItem(`${lines.length} agents: each row has its own chart`, "", "note"));
  container.replaceChildren(chart);
}

/** @param {string} text @param {string} color @param {string} kind */
function legendItem(text, color, kind) {
  const item = document.createElement("li");
  item.className = `legend-${kind}`;
  const swatch = document.createElement("span");
  swatch.className = "swatch";
  if (color) swatch.style.backgroundColor = color;
  const label = document.createElement("span");
  label.className = "agent-text";
  label.textContent = text;
  item.append(swatch, label);
  return item;
}

/**
 * A small burn-up of one agent: files done against its total, from the run's start to its last report.
 * @param {Point[]} points @param {number} start @param {number} observedFrom
 */
export function sparkline(points, start, observedFrom) {
  const width = 90;
  const height = 22;
  const last = Math.max(start + 1000, ...points.map((point) => point[0]));
  const most = Math.max(1, ...points.map((point) => point[2]));
  const x = (/** @type {number} */ at) => 1 + ((at - start) / (last - start)) * (width - 2);
  const y = (/** @type {number} */ value) => 1 + (1 - value / most) * (height - 2);
  const chart = node("svg", { viewBox: `0 0 ${width} ${height}`, class: "spark", "aria-hidden": "true" });
  chart.append(node("path", { d: stepPath(points, x, y, 2, last, observedFrom), class: "total-line" }));
  chart.append(node("path", { d: stepPath(points, x, y, 1, last, observedFrom), class: "overall-line" }));
  return chart;
}
