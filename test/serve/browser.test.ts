import { existsSync } from "node:fs";
import { mkdir, rm, stat } from "node:fs/promises";
import { join, resolve } from "node:path";
import type { Browser, BrowserContext, Dialog, Page } from "playwright-core";
import { afterAll, afterEach, beforeAll, describe, expect, it } from "vitest";
import { applyComplete, applyFail, applyLog, applyProgress, createRun } from "../../src/model/run.js";
import type { RunState } from "../../src/model/types.js";
import { FileRunStore } from "../../src/store/file-store.js";
import { nodeFileSystem } from "../../src/util/node-fs.js";
import { GITHUB_TARGET } from "../render/fixtures.js";
import { makeEpic, runCli } from "../support/cli.js";
import { unlessInCi } from "../support/required.js";
import { CHROMIUM, launchChromium, VIEWPORT } from "./chromium.js";
import { type ServeProcess, startServe } from "./serve-process.js";

/**
 * The page in a real browser: Debian's chromium, driven by playwright-core (never a downloaded browser).
 * Waits are on the page's DOM, bounded. UPDATE_SCREENSHOT=1 writes docs/serve.png (the README's picture).
 */

const hasChromium = unlessInCi(existsSync(CHROMIUM) ? null : `no ${CHROMIUM}`) === null;
if (!hasChromium)
  console.warn(`${CHROMIUM} is missing (installed by .ci/run): the browser tests are skipped`);

let browser: Browser;
let context: BrowserContext;
/** One tab for the file: each test navigates it to its own server (a new tab costs a renderer's start). */
let tab: Page;
const cleanups: (() => Promise<unknown>)[] = [];

beforeAll(async () => {
  if (!hasChromium) return;
  browser = await launchChromium();
  context = await browser.newContext({ viewport: VIEWPORT });
  tab = await context.newPage();
});
afterAll(async () => {
  await browser?.close();
});
afterEach(async () => {
  for (const cleanup of cleanups.splice(0).reverse()) await cleanup();
});

/** A temporary epic directory holding `state`, written in-process through the file store as `init` would. */
async function epicOf(state: RunState): Promise<{ dir: string; store: FileRunStore }> {
  const epic = await makeEpic();
  cleanups.push(epic.cleanup);
  const store = new FileRunStore(nodeFileSystem(), epic.dir);
  await mkdir(store.paths.dir, { recursive: true });
  await store.transact(() => ({ next: state, result: undefined }));
  return { dir: epic.dir, store };
}

/** A new run of these comma-separated domains (the CLI's own `init` is tested in test/cli). */
async function epicWith(domains: string, change = (state: RunState, _now: number) => state): Promise<string> {
  const now = Date.now();
  const run = createRun({
    epicId: "EPIC-7",
    domains: domains.split(","),
    now,
    github: { ...GITHUB_TARGET, issueNumber: null, repo: null },
    nonce: "e7e7",
  });
  return (await epicOf(change(run, now))).dir;
}

async function cli(dir: string, ...args: string[]): Promise<void> {
  const result = await runCli([...args, "--dir", dir]);
  expect(result.stderr).toBe("");
  expect(result.code).toBe(0);
}

async function serve(args: string[]): Promise<ServeProcess> {
  const server = await startServe(args);
  cleanups.push(() => server.stop());
  return server;
}

/**
 * The tab, on about:blank with no cookies again after the test, recording script errors and anything a
 * hostile text could make it run while the test lasts.
 */
function freshTab(): { page: Page; errors: string[] } {
  const errors: string[] = [];
  const onError = (error: Error) => errors.push(error.message);
  const onDialog = (dialog: Dialog) => {
    errors.push(`dialog: ${dialog.message()}`);
    void dialog.dismiss();
  };
  tab.on("pageerror", onError);
  tab.on("dialog", onDialog);
  cleanups.push(async () => {
    await tab.goto("about:blank");
    tab.off("pageerror", onError);
    tab.off("dialog", onDialog);
    await context.clearCookies();
  });
  return { page: tab, errors };
}

/** The tab at `url` (a fresh document: a navigation), recording errors as `freshTab` does. */
async function openPage(url: string): Promise<{ page: Page; errors: string[] }> {
  const opened = freshTab();
  await opened.page.goto(url);
  return opened;
}

const rowText = (page: Page, domain: string) =>
  page
    .locator("#rows tr", { has: page.locator(".name", { hasText: domain }) })
    .first()
    .innerText();

describe.skipIf(!hasChromium)("serve in a browser (chromium)", () => {
  it("shows the run: progress bars, counts, failures with reasons, events and the burn-up", async () => {
    // A run of the last 18 minutes, written as the CLI would have (the library's changes, clock injected).
    const t0 = Date.now() - 18 * 60_000;
    const at = (minutes: number) => t0 + minutes * 60_000;
    const progress = (domain: string, done: number, total: number) => (state: RunState, now: number) =>
      applyProgress(state, domain, { status: "in_progress", filesCompleted: done, filesTotal: total }, now);
    const steps: [number, (state: RunState, now: number) => RunState][] = [
      [1, progress("backend", 1, 7)],
      [1.5, progress("frontend", 1, 8)],
      [2, (state, now) => applyLog(state, "backend", "schema migrated", now)],
      [3, progress("docs", 2, 4)],
      [4, progress("tests", 1, 6)],
      [6, progress("backend", 3, 7)],
      [7, progress("frontend", 3, 8)],
      [8, (state, now) => applyComplete(state, "docs", "README and guides", now)],
      [9, (state, now) => applyFail(state, "tests", "3 suites time out on CI", now)],
      [11, progress("frontend", 6, 8)],
      [12, (state, now) => applyLog(state, "frontend", "forms done, tables next", now)],
      [14, progress("backend", 5, 7)],
      [15, (state, now) => applyLog(state, "backend", "API handlers and tests green", now)],
    ];
    let state = createRun({
      epicId: "EPIC-007",
      domains: ["backend", "frontend", "tests", "docs", "infra"],
      now: t0,
      github: { ...GITHUB_TARGET, issueNumber: null, repo: null },
      nonce: "d0c5",
    });
    for (const [minutes, step] of steps) state = step(state, at(minutes));
    const { dir } = await epicOf(state);

    const server = await serve(["--dir", dir, "--port", "0"]);
    const { page, errors } = await openPage(server.url);

    await page.locator("#rows tr").nth(4).waitFor({ timeout: 10_000 });
    await page.locator("#connection[data-state=live]").waitFor({ timeout: 10_000 });
    expect(await page.locator("#counts").innerText()).toBe(
      "1 pending, 2 running, 1 completed, 1 failed, 1 stalled",
    );
    expect(await page.locator("#overall-files").innerText()).toBe("(16/25 files)");
    expect(await page.locator("#overall-percent").innerText()).toBe("64%");
    expect(await page.locator("#rows .name").allInnerTexts()).toEqual([
      "backend",
      "docs",
      "frontend",
      "infra",
      "tests",
    ]);
    expect(await rowText(page, "backend")).toMatch(/In Progress[\s\S]*5\/7[\s\S]*71%[\s\S]*schema migrated/);
    expect(await page.locator("#failure-list").innerText()).toContain("3 suites time out on CI");
    expect(await page.locator("#chart svg path.overall-line").count()).toBe(1);
    expect(await page.locator("#legend").innerText()).toContain("frontend");
    expect(await page.locator("#rows tr svg.spark").count()).toBe(5);
    expect(await page.locator("#eta").innerText()).toBe("not enough data yet"); // infra has not said how much

    // A change while the page is open adds to the chart.
    await cli(dir, "update", "infra", "--status", "in_progress", "--files", "1/3");
    await page.locator("#counts", { hasText: "0 pending" }).waitFor({ timeout: 5000 });
    expect(await page.locator("#eta").innerText()).toMatch(/^~\d+ minutes? \(about \d\d:\d\d UTC\)$/);
    expect(errors).toEqual([]);

    const shot = process.env.UPDATE_SCREENSHOT ? resolve("docs/serve.png") : join(dir, "serve.png");
    await mkdir(resolve(shot, ".."), { recursive: true });
    await page.screenshot({ path: shot, fullPage: true });
    expect((await stat(shot)).size).toBeLessThan(150_000);
  });

  it("shows children under their parent, and the metric columns and cost once a run carries them", async () => {
    const run = createRun({
      epicId: "EPIC-9",
      domains: ["api", "db", "ui"],
      now: Date.now(),
      github: { ...GITHUB_TARGET, issueNumber: null, repo: null },
      nonce: "9999",
    });
    const id = (domain: string) =>
      Object.values(run.agents).find((agent) => agent.domain === domain)!.agentId;
    const { dir, store } = await epicOf(run);
    const server = await serve(["--dir", dir, "--port", "0"]);
    const { page, errors } = await openPage(server.url);
    await page.locator("#connection[data-state=live]").waitFor({ timeout: 10_000 });
    // The original table: no metric columns, no cost.
    expect(await page.locator("th.col-cost").isVisible()).toBe(false);
    expect(await page.locator("#cost").isVisible()).toBe(false);

    // Fields added by nested work and agent metrics (optional in the state), as another process writes them.
    await store.transact((current) => {
      const next = structuredClone(current!) as RunState & { maxCostUsd?: number };
      Object.assign(next.agents[id("db")]!, {
        parentId: id("ui"),
        costUsd: 0.9,
        iteration: 2,
        maxIterations: 5,
      });
      Object.assign(next.agents[id("api")]!, { costUsd: 0.75, criteriaVerified: 3, criteriaTotal: 4 });
      next.maxCostUsd = 2;
      next.seq += 1;
      return { next, result: undefined };
    });
    await page.locator("#cost", { hasText: "$1.65 of $2.00 budget" }).waitFor({ timeout: 5000 });
    expect(await page.locator("#cost").innerText()).toBe("$1.65 of $2.00 budget ⚠ 82% used");
    expect(await page.locator("#rows .name").allInnerTexts()).toEqual(["api", "ui", "db"]);
    expect(await rowText(page, "db")).toMatch(/↳[\s\S]*2\/5[\s\S]*\$0\.90/);
    expect(await rowText(page, "api")).toContain("3/4");
    expect(await rowText(page, "ui")).toContain("$0.90"); // a parent: its own cost (none) and its child's
    // What an agent has not reported is `—`, as on the issue and in the terminal, not an empty cell.
    const metricCells = (domain: string) =>
      page
        .locator(`#rows tr[data-agent="${id(domain)}"]`)
        .locator(".col-iteration, .col-criteria, .col-cost")
        .allInnerTexts();
    expect(await metricCells("api")).toEqual(["—", "3/4", "$0.75"]);
    expect(await metricCells("ui")).toEqual(["—", "—", "$0.90 ⚠"]); // past 80% of its share of $2.00
    expect(await metricCells("db")).toEqual(["2/5", "—", "$0.90 ⚠"]);
    expect(await page.locator("th.col-cost").isVisible()).toBe(true);
    expect(await page.locator("th.col-iteration").isVisible()).toBe(true);
    expect(errors).toEqual([]);
  });

  it("shows a CLI update from another process, without reloading (how soon: npm run bench)", async () => {
    const dir = await epicWith("backend,frontend");
    const server = await serve(["--dir", dir, "--port", "0"]);
    const { page } = await openPage(server.url);
    await page.locator("#connection[data-state=live]").waitFor({ timeout: 10_000 });
    await page.evaluate(() => {
      (globalThis as Record<string, unknown>).marker = 1; // gone if the page reloaded
    });

    await cli(dir, "update", "frontend", "--status", "in_progress", "--files", "5/7");
    await page.locator("#rows tr:last-child .files", { hasText: /^5\/7$/ }).waitFor({ timeout: 5000 });
    expect(await page.locator("#counts").innerText()).toBe("1 pending, 1 running, 0 completed, 0 failed");
    expect(await page.evaluate(() => (globalThis as Record<string, unknown>).marker)).toBe(1);
  });

  it("shows hostile agent text as text and runs none of it", async () => {
    const dir = await epicWith("<img src=x onerror=alert(1)>,<b>bold</b>");
    const img = "<img src=x onerror=\"window.pwned='img'\">";
    const script = "<script>window.pwned='script'</script>";
    const server = await serve(["--dir", dir, "--port", "0"]);
    const { page, errors } = await openPage(server.url);
    await page.locator("#connection[data-state=live]").waitFor({ timeout: 10_000 });
    await cli(dir, "log", "<b>bold</b>", img);
    await cli(dir, "fail", "<img src=x onerror=alert(1)>", "--error", script);
    await page.locator("#failure-list li", { hasText: "</script>" }).waitFor({ timeout: 5000 });
    expect(await page.locator("#rows .name").allInnerTexts()).toEqual([
      "<b>bold</b>",
      "<img src=x onerror=alert(1)>",
    ]);
    expect(await page.locator("#rows").innerText()).toContain(img);
    expect(await page.locator("#failure-list").innerText()).toContain(script);
    expect(await page.locator("main img, main b, main script").count()).toBe(0);
    expect(await page.evaluate(() => (globalThis as Record<string, unknown>).pwned)).toBeUndefined();
    expect(errors).toEqual([]);
  });

  it("keeps agent text in its place on a wide screen and a phone: long words wrap, an override turns only itself", async () => {
    const word = "x".repeat(300);
    // Arabic, then a right-to-left override (U+202E) never closed: without isolation it would turn the
    // agent id and the reason shown after the domain around as well.
    const rtl = "\u0627\u0644\u0639\u0631\u0628\u064a\u0629\u202eevil";
    const dir = await epicWith(`backend,${rtl}`, (state) => ({
      ...state,
      epicId: `EPIC-${word.slice(0, 190)}`,
    }));
    await cli(dir, "complete", "backend", "--summary", `first line\nsecond ${word}`);
    await cli(dir, "log", "backend", `event ${word}`);
    await cli(dir, "fail", rtl, "--error", `reason ${word}`);
    const server = await serve(["--dir", dir, "--port", "0"]);
    const { page, errors } = await openPage(server.url);
    cleanups.push(() => page.setViewportSize(VIEWPORT));
    await page.locator("#failure-list li").waitFor({ timeout: 10_000 });
    // Strings: page code, where `document` is (the tests' own types have no DOM).
    const overflow = () =>
      page.evaluate<number>("document.documentElement.scrollWidth - document.documentElement.clientWidth");

    expect(await overflow()).toBe(0);
    expect(await page.locator("#rows .result").innerText()).toMatch(/^first line\nsecond x+$/);
    // Where each part of the failure starts (its first line's box): in reading order, left to right.
    const starts = await page.evaluate<number[]>(
      `["strong", ".agent-id", ".reason"].map(
        (selector) => document.querySelector("#failure-list li " + selector).getClientRects()[0].left,
      )`,
    );
    expect(starts).toEqual([...starts].sort((a, b) => a - b));
    // The connection's mark stays on one line beside a long title.
    const mark = await page.locator("#connection").boundingBox();
    expect(mark!.height).toBeLessThan(30);

    await page.setViewportSize({ width: 390, height: 800 });
    // The table scrolls in its own box; the page itself never sideways.
    await page.waitForFunction("document.documentElement.scrollWidth === window.innerWidth");
    const overall = (await page.locator(".overall").boundingBox())!;
    const list = (await page.locator(".summary dl").boundingBox())!;
    expect(list.y).toBeGreaterThanOrEqual(overall.y + overall.height); // one column
    // The chart is drawn at the width it has, so its labels keep their size.
    await page.waitForFunction(
      `Math.abs(document.querySelector("#chart svg").viewBox.baseVal.width - document.getElementById("chart").clientWidth) <= 1`,
    );
    expect(errors).toEqual([]);
  });

  it("lets go of its stream while hidden among many tabs of the page, and takes the whole run again", async () => {
    const dir = await epicWith("backend,frontend");
    const server = await serve(["--dir", dir, "--port", "0"]);
    const { page } = await openPage(server.url);
    await page.locator("#connection[data-state=live]").waitFor({ timeout: 10_000 });
    // Headless tabs are always visible: the browser's hiding of a tab, as the page sees it.
    await page.evaluate(`
      Object.defineProperty(document, "visibilityState", { value: "hidden", configurable: true });
      document.dispatchEvent(new Event("visibilitychange"));
    `);
    // Hidden among a few tabs, it keeps its stream (its title shows the progress).
    await cli(dir, "update", "frontend", "--status", "in_progress", "--files", "1/8");
    await page.locator("#rows tr:last-child .files", { hasText: /^1\/8$/ }).waitFor({ timeout: 5000 });
    expect(await page.title()).toMatch(/^12% · /);

    // Four more tabs of the page (six connections to one server at most): the hidden one lets go.
    const others = await Promise.all([1, 2, 3, 4].map(() => context.newPage()));
    cleanups.push(() => Promise.all(others.map((other) => other.close())));
    for (const other of others) await other.goto(server.url);
    await page.locator("#connection", { hasText: "paused" }).waitFor({ timeout: 5000 });
    await cli(dir, "update", "frontend", "--status", "in_progress", "--files", "3/8");
    for (const other of others) await other.goto("about:blank"); // they close: it takes the stream again
    await page.locator("#rows tr:last-child .files", { hasText: /^3\/8$/ }).waitFor({ timeout: 5000 });
    await page.locator("#connection[data-state=live]").waitFor({ timeout: 5000 });
  });

  it("shows a run of absurd counts: an ETA past any date without its clock time, short axis labels", async () => {
    const dir = await epicWith("a,b", (state, now) => {
      const started = { ...state, startedAt: new Date(now - 60_000).toISOString() };
      const huge = { status: "in_progress" as const, filesCompleted: 3, filesTotal: 9_000_000_000_000_000 };
      const small = { status: "in_progress" as const, filesCompleted: 0, filesTotal: 1 };
      return applyProgress(applyProgress(started, "a", huge, now), "b", small, now);
    });
    const server = await serve(["--dir", dir, "--port", "0"]);
    const { page, errors } = await openPage(server.url);
    await page.locator("#eta", { hasText: "hours" }).waitFor({ timeout: 10_000 });
    expect(await page.locator("#eta").innerText()).not.toContain("about");
    expect(await page.locator("#started").innerText()).toMatch(/UTC$/); // the rest was drawn
    const labels = await page.locator("#chart text.axis").allTextContents();
    expect(labels).toContain("8000T"); // not 8000000000000000, cut off by the chart's left margin
    expect(errors).toEqual([]);
  });

  it("shows no trace of a run that went away (its folder removed), until the next one starts", async () => {
    const dir = await epicWith("backend");
    const server = await serve(["--dir", dir, "--port", "0"]);
    const { page } = await openPage(server.url);
    await page.locator("#title", { hasText: "EPIC-7" }).waitFor({ timeout: 10_000 });
    await rm(join(dir, ".parallel-progress"), { recursive: true });
    await page.locator("#empty").waitFor({ timeout: 5000 });
    expect(await page.locator("#title").innerText()).toBe("Parallel Execution Progress");
    expect(await page.title()).toBe("parallel-progress");
  });

  it("reconnects by itself after the server restarts and recovers the whole state", async () => {
    const dir = await epicWith("backend,frontend");
    const first = await serve(["--dir", dir, "--port", "0", "--token", "a-fixed-token-for-restarts"]);
    const { page } = await openPage(first.url);
    await page.locator("#connection[data-state=live]").waitFor({ timeout: 10_000 });

    expect(await first.stop()).toBe(0);
    await page.locator("#connection[data-state=reconnecting]").waitFor({ timeout: 5000 });
    // Changes made while no server runs: the page must show them after the restart.
    await cli(dir, "update", "backend", "--status", "in_progress", "--files", "2/4");
    await cli(dir, "fail", "frontend", "--error", "lost while the server was down");

    const port = new URL(first.url).port;
    await serve(["--dir", dir, "--port", port, "--token", "a-fixed-token-for-restarts"]);
    await page.locator("#connection[data-state=live]").waitFor({ timeout: 10_000 });
    await page.locator("#counts", { hasText: "1 failed" }).waitFor({ timeout: 5000 });
    expect(await rowText(page, "backend")).toContain("2/4");
    expect(await page.locator("#failure-list").innerText()).toContain("lost while the server was down");
  });

  it("with an access token, shows the page only with the token of the printed URL", async () => {
    const dir = await epicWith("backend");
    // On loopback with --token: a host other than loopback requires a token the same way (accessToken).
    const server = await serve(["--dir", dir, "--port", "0", "--token", "browser-test-token-0123"]);
    const printed = new URL(server.url);
    const local = `http://127.0.0.1:${printed.port}/`;
    const { page } = freshTab();
    const refused = await page.goto(local);
    expect(refused?.status()).toBe(401);
    expect(await page.locator("#rows").count()).toBe(0);

    await page.goto(`${local}${printed.search}`);
    await page.locator("#connection[data-state=live]").waitFor({ timeout: 10_000 });
    expect(await page.locator("#rows .name").allInnerTexts()).toEqual(["backend"]);
  });

  it("shows a 1,000-agent run, and its changes (how soon: npm run bench)", async () => {
    const domains = Array.from({ length: 1000 }, (_, i) => `domain-${String(i).padStart(4, "0")}`);
    const dir = await epicWith(domains.join(","), (state, now) =>
      applyLog(
        applyProgress(state, "domain-0500", { status: "in_progress", filesCompleted: 1, filesTotal: 3 }, now),
        "domain-0500",
        "working",
        now,
      ),
    );
    const server = await serve(["--dir", dir, "--port", "0"]);
    const { page, errors } = await openPage(server.url);
    await page.locator("#rows tr").nth(999).waitFor({ timeout: 10_000 });
    // The page marks its work on the snapshot (parse and build the rows), which the benchmark reads.
    const built = await page.evaluate(() => performance.getEntriesByName("snapshot-shown").length);
    expect(built).toBe(1);
    expect(await page.locator("#counts").innerText()).toBe("999 pending, 1 running, 0 completed, 0 failed");
    expect(await page.locator("#legend").innerText()).toContain("1000 agents");

    await cli(dir, "update", "domain-0999", "--status", "in_progress", "--files", "2/3");
    await page.locator("#rows tr:last-child .files", { hasText: /^2\/3$/ }).waitFor({ timeout: 5000 });
    expect(errors).toEqual([]);
  });
});
