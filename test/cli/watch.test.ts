import { execFile, spawnSync } from "node:child_process";
import { readFile, rename, writeFile } from "node:fs/promises";
import { join } from "node:path";
import { promisify } from "node:util";
import { afterEach, describe, expect, it } from "vitest";
import {
  ANSI,
  changeKey,
  changeLine,
  clockTime,
  describeChange,
  drawFrame,
  frameLines,
  runLocation,
} from "../../src/cli/watch-frames.js";
import { parseWatchInterval, parseWatchTimeout } from "../../src/cli/watch-options.js";
import { UsageError } from "../../src/errors.js";
import { applyComplete, applyFinalize, applyLog, applyProgress, createRun } from "../../src/model/run.js";
import type { GitHubTarget, RunState } from "../../src/model/types.js";
import { displayWidth } from "../../src/render/terminal.js";
import { GITHUB_TARGET } from "../render/fixtures.js";
import { BIN, makeEpic, type RunningCli, runCli, spawnCli, waitFor } from "../support/cli.js";
import { postgresUnavailable, SUPERUSER_PASSWORD, sharedPostgres } from "../support/postgres.js";
import { unlessInCi } from "../support/required.js";

const run = promisify(execFile);

const LOCAL: GitHubTarget = { ...GITHUB_TARGET, issueNumber: null, repo: null, minIntervalMs: 0 };
const T0 = Date.UTC(2025, 9, 19, 16, 30, 0);

function newRun(github: GitHubTarget = LOCAL): RunState {
  return createRun({
    epicId: "EPIC-007",
    domains: ["backend", "frontend", "tests"],
    now: T0,
    github,
    nonce: "1a2b",
  });
}

describe("watch: what is printed (pure)", () => {
  it("parses --interval and --timeout, naming the option and the value on a mistake", () => {
    expect(parseWatchInterval("500")).toBe(500);
    expect(parseWatchInterval(" 50 ")).toBe(50);
    expect(() => parseWatchInterval("10")).toThrow(UsageError);
    expect(() => parseWatchInterval("1.5")).toThrow(/--interval .* got "1.5"/);
    expect(parseWatchTimeout("1")).toBe(1);
    expect(parseWatchTimeout("0.5")).toBe(0.5);
    expect(() => parseWatchTimeout("0")).toThrow(/--timeout .* got "0"/);
    expect(() => parseWatchTimeout("-3")).toThrow(UsageError);
    expect(() => parseWatchTimeout("soon")).toThrow(UsageError);
    expect(() => parseWatchTimeout("3000000")).toThrow(/at most 2000000, e\.g\. 30, got "3000000"/);
  });

  it("prints one plain line per change with the event, overall progress and the status counts", () => {
    const start = newRun();
    const updated = applyProgress(
      start,
      "backend",
      { status: "in_progress", filesCompleted: 10, filesTotal: 16 },
      T0 + 65_000,
    );
    const line = changeLine(updated, start, T0 + 65_000);
    expect(line).toBe(
      `${clockTime(T0 + 65_000)} Agent impl-bac-163000 progress updated — 62% (10/16 files), 2 pending, 1 running, 0 completed, 0 failed`,
    );
    expect(line).not.toMatch(/\x1b/);
    expect(clockTime(T0 + 65_000)).toMatch(/^\d\d:\d\d:05$/);
    // Later, every unfinished agent silent past the stall limit (15 minutes): counted, as status counts them.
    expect(changeLine(updated, start, T0 + 65_000 + 16 * 60_000)).toMatch(/, 0 failed, 3 stalled$/);
  });

  it("says how many changes a line covers when several were made between two looks", () => {
    const start = newRun();
    const once = applyProgress(
      start,
      "backend",
      { status: "in_progress", filesCompleted: 1, filesTotal: 4 },
      T0,
    );
    const twice = applyComplete(once, "frontend", null, T0 + 1000);
    expect(changeLine(twice, start, T0 + 1000)).toContain("Agent impl-fro-163000 completed (2 changes) — ");
    expect(changeLine(twice, once, T0 + 1000)).not.toContain("changes)");
  });

  it("describes a log entry by its message, cleaned of control characters", () => {
    const start = newRun();
    const logged = applyLog(start, "tests", "lint \x1b[31mpassed\x1b[0m\nnext", T0 + 1000);
    expect(describeChange(logged, start)).toBe("Agent impl-tes-163000: lint [31mpassed[0m next");
    expect(describeChange(logged, null)).toBe("Parallel execution initialized");
    const other = { ...newRun(), runId: "EPIC-008-20251019T170000Z-ffff" };
    expect(describeChange(other, start)).toBe(
      "Parallel execution initialized (new run EPIC-008-20251019T170000Z-ffff)",
    );
  });

  it("keys changes by run, sequence and finalization, so bookkeeping writes print nothing", () => {
    const start = newRun();
    const synced: RunState = { ...start, sync: { ...start.sync, postedSeq: 1, lastWriteAt: T0 } };
    expect(changeKey(synced)).toBe(changeKey(start));
    expect(changeKey(applyFinalize(start, "", T0 + 1))).not.toBe(changeKey(start));
  });

  it("names where the run is posted: the comment, else the issue, else local", () => {
    expect(runLocation(newRun())).toBe("local");
    const github = { ...LOCAL, issueNumber: 12, repo: "acme/widgets" };
    expect(runLocation(newRun(github))).toBe("https://github.com/acme/widgets/issues/12");
    expect(runLocation(newRun({ ...github, apiUrl: "https://ghe.example.com/api/v3" }))).toBe(
      "https://ghe.example.com/acme/widgets/issues/12",
    );
    expect(runLocation(newRun({ ...github, apiUrl: "https://api.acme.ghe.com" }))).toBe(
      "https://acme.ghe.com/acme/widgets/issues/12",
    );
    expect(runLocation(newRun({ ...github, apiUrl: "http://127.0.0.1:8080" }))).toBe("acme/widgets#12");
    const posted = newRun(github);
    posted.sync.commentUrl = "https://github.com/acme/widgets/issues/12#issuecomment-9";
    expect(runLocation(posted)).toBe("https://github.com/acme/widgets/issues/12#issuecomment-9");
    expect(runLocation(newRun({ ...github, syncEnabled: false }))).toBe("local");
  });

  it("cuts agents' rows, not the run's summary, when the table does not fit the terminal", () => {
    // The summary sits below the rows: cut from the bottom, a run of 20 agents on 24 rows lost its
    // Overall line and its budget flag.
    const titles = "Domain  Agent  Status";
    const agents = Array.from({ length: 19 }, (_, index) => `agent ${index + 1}`);
    const summary = [
      "Overall: 50% (2/4 files)",
      "Agents: 19 running",
      "Cost: $8.50 of $10.00 budget ⚠️ 85% used",
      "ETA: ~2 minutes",
    ];
    const table = [titles, ...agents, "", ...summary].join("\n");
    const lines = frameLines(newRun(), { table, watching: "/epic", rows: 15, bold: null });
    expect(lines).toHaveLength(15);
    expect(lines.slice(1, -1)).toEqual([
      "",
      titles,
      ...agents.slice(0, 4),
      "… 15 more rows",
      "",
      ...summary,
      "",
    ]);
    expect(lines.at(-1)).toMatch(/^watching/);
    // Too short even for that: cut from the bottom, as before.
    const tiny = frameLines(newRun(), { table, watching: "/epic", rows: 6, bold: null });
    expect(tiny.slice(1, -1)).toEqual(["", titles, "agent 1", "…"]);
  });

  it("frames header, table and footer, cut to the terminal, and draws it over the previous frame", () => {
    const state = newRun();
    const lines = frameLines(state, { table: "T1\nT2", watching: "/epic", bold: null });
    expect(lines[0]).toBe(
      `EPIC-007 · run EPIC-007-20251019T163000Z-1a2b · local · last change ${clockTime(T0)}`,
    );
    expect(lines.slice(1)).toEqual(["", "T1", "T2", "", "watching /epic (Ctrl-C to stop)"]);

    const small = frameLines(state, {
      table: "1\n2\n3\n4\n5\n6",
      watching: "/epic",
      rows: 5,
      columns: 20,
      bold: null,
    });
    expect(small).toHaveLength(5);
    expect(small[0]).toHaveLength(20);
    expect(small.at(-2)).toBe("…");
    expect(small.at(-1)).toMatch(/^watching/);

    const final = frameLines(applyFinalize(state, "", T0 + 5000), {
      table: "",
      watching: "/epic",
      bold: null,
    });
    expect(final.at(-1)).toBe(`run finalized at ${clockTime(T0 + 5000)}`);

    // By screen columns: a CJK character takes two (a wider line would wrap and push the frame down).
    const wide = frameLines(
      { ...state, epicId: "漢字".repeat(15) },
      { table: "", watching: `/工作/${"目录".repeat(20)}`, columns: 60, bold: null },
    );
    for (const line of [wide[0]!, wide.at(-1)!]) {
      expect(displayWidth(line), line).toBeLessThanOrEqual(60);
      expect(line.endsWith("…"), line).toBe(true);
    }

    // The table's rows are cut too (a row wider than the terminal would wrap and push the header off),
    // their colours kept; a warning takes the footer's place while it holds.
    const painted = frameLines(state, {
      table: `\u001b[33m${"x".repeat(30)}\u001b[39m`,
      watching: "/epic",
      columns: 20,
      bold: null,
      notice: "the run in /epic is gone: waiting for a new one",
    });
    expect(painted[2]).toBe(`\u001b[33m${"x".repeat(19)}…\u001b[0m`);
    expect(painted.at(-1)).toBe("warning: the run in…");

    // Below the frame erased first (row 3 on), then each line erased before it is written: with wrapping
    // off, an erase after a full line would remove its last character.
    expect(drawFrame(["a", "b"])).toBe(
      `\x1b[3;1H${ANSI.clearBelow}${ANSI.home}${ANSI.clearLine}a\n${ANSI.clearLine}b`,
    );
  });
});

// ---------------------------------------------------------------------------------------------------

let cleanups: (() => Promise<void>)[] = [];
afterEach(async () => {
  for (const cleanup of cleanups.reverse()) await cleanup();
  cleanups = [];
});

async function epic(): Promise<string> {
  const made = await makeEpic();
  cleanups.push(made.cleanup);
  return made.dir;
}

async function cli(args: readonly string[]): Promise<void> {
  const result = await runCli(args);
  expect(result.stderr).toBe("");
  expect(result.code).toBe(0);
}

/** A watcher in the background, its stdout collected as it comes. */
function startWatcher(dir: string, extra: readonly string[] = []): RunningCli & { output: () => string } {
  const running = spawnCli(["watch", "--dir", dir, ...extra], { timeoutMs: 20_000 });
  let stdout = "";
  running.child.stdout.on("data", (chunk) => (stdout += chunk));
  cleanups.push(async () => {
    running.child.kill("SIGKILL");
    await running.done;
  });
  return { ...running, output: () => stdout };
}

const lines = (text: string) => text.split("\n").filter((line) => line !== "");

describe("watch: plain lines when stdout is not a terminal", () => {
  it("prints one line per change made by other processes and exits 0 by itself at finalize", async () => {
    const dir = await epic();
    await cli(["init", "--epic", "EPIC-007", "--domains", "backend,frontend,tests", "--dir", dir]);
    const watcher = startWatcher(dir, ["--interval", "100"]);
    const seen = async (count: number) =>
      expect(await waitFor(() => lines(watcher.output()).length >= count, 10_000)).toBe(true);
    await seen(1);

    await cli(["update", "backend", "--status", "in_progress", "--files", "3/16", "--dir", dir]);
    await seen(2);
    await cli(["update", "backend", "--status", "in_progress", "--files", "10/16", "--dir", dir]);
    await seen(3);
    // A rewrite that changes nothing the view shows (as GitHub bookkeeping does): no new line.
    const state = join(dir, ".parallel-progress", "state.json");
    await writeFile(`${state}.copy`, await readFile(state, "utf8"));
    await rename(`${state}.copy`, state);
    // Had it printed a line for the rewrite, the 4th line below would not be the completion.
    await cli(["complete", "frontend", "--dir", dir]);
    await seen(4);
    await cli(["finalize", "--summary", "merged", "--dir", dir]);

    const done = await watcher.done;
    expect(done.code).toBe(0);
    expect(done.stderr).toBe("");
    const printed = lines(done.stdout);
    expect(printed).toHaveLength(5);
    expect(printed[0]).toMatch(
      /^\d\d:\d\d:\d\d Parallel execution initialized — 0% \(0\/0 files\), 3 pending, 0 running, 0 completed, 0 failed$/,
    );
    expect(printed[1]).toMatch(
      / Agent impl-bac-\d{6} progress updated — 19% \(3\/16 files\), 2 pending, 1 running,/,
    );
    expect(printed[2]).toMatch(
      / Agent impl-bac-\d{6} progress updated — 62% \(10\/16 files\), 2 pending, 1 running,/,
    );
    expect(printed[3]).toMatch(
      / Agent impl-fro-\d{6} completed — 62% \(10\/16 files\), 1 pending, 1 running, 1 completed,/,
    );
    expect(printed[4]).toMatch(/ Parallel execution completed — /);
    expect(done.stdout).not.toMatch(/\x1b/);
  });

  it("prints a finalized run once and exits 0", async () => {
    const dir = await epic();
    await cli(["init", "--epic", "EPIC-007", "--domains", "backend", "--dir", dir]);
    await cli(["finalize", "--dir", dir]);
    const result = await runCli(["watch", "--dir", dir], { timeoutMs: 10_000 });
    expect(result.code).toBe(0);
    expect(lines(result.stdout)).toHaveLength(1);
    expect(result.stdout).toContain("Parallel execution completed");
  });

  it("exits 2 with a one-line error when there is no run, and on a bad option", async () => {
    const dir = await epic();
    const none = await runCli(["watch", "--dir", dir], { timeoutMs: 10_000 });
    expect(none.code).toBe(2);
    expect(none.stdout).toBe("");
    expect(none.stderr).toBe(
      `parallel-progress: error: no run here (${dir}): start one with \`parallel-progress init --epic <id> --domains <a,b,c>\`, or pass --dir\n`,
    );
    const bad = await runCli(["watch", "--dir", dir, "--interval", "5"], { timeoutMs: 10_000 });
    expect(bad.code).toBe(2);
    expect(bad.stderr).toMatch(/^parallel-progress: error: --interval must be .* got "5"\n$/);
  });

  it("stops with exit 0 after --timeout while the run goes on, and on SIGINT", async () => {
    const dir = await epic();
    await cli(["init", "--epic", "EPIC-007", "--domains", "backend", "--dir", dir]);
    const timed = await runCli(["watch", "--dir", dir, "--timeout", "1"], { timeoutMs: 10_000 });
    expect(timed.code).toBe(0);
    // Not before the timeout (a lower bound cannot flake under load; how soon after is the benchmark's).
    expect(timed.ms).toBeGreaterThanOrEqual(1000);
    expect(lines(timed.stdout)).toHaveLength(1);

    const watcher = startWatcher(dir);
    expect(await waitFor(() => watcher.output().includes("initialized"))).toBe(true);
    watcher.child.kill("SIGINT");
    const done = await watcher.done;
    expect(done.code).toBe(0);
    expect(done.signal).toBeNull();
  });
});

// ---------------------------------------------------------------------------------------------------

const hasTmux =
  unlessInCi(spawnSync("tmux", ["-V"], { stdio: "ignore" }).status === 0 ? null : "no tmux") === null;
/** Said in the test name when skipped; CI installs tmux (.ci/run). */
const skipReason = hasTmux ? "" : " (skipped: tmux is not installed; apt-get install tmux)";
/**
 * A detached tmux session running `command`, 120×40, TERM=xterm-256color: its own server (socket in the
 * epic directory, no user config), killed when the test ends.
 */
async function tmuxSession(dir: string, command: string) {
  const socket = join(dir, "tmux.sock");
  const env = {
    PATH: process.env.PATH ?? "/usr/bin:/bin",
    HOME: process.env.HOME ?? "/tmp",
    TERM: "xterm-256color",
  };
  const tmux = (...args: string[]) => run("tmux", ["-S", socket, "-f", "/dev/null", ...args], { env });
  cleanups.push(async () => {
    await tmux("kill-session", "-t", "watch").catch(() => undefined);
    await tmux("kill-server").catch(() => undefined);
  });
  await tmux("new-session", "-d", "-s", "watch", "-x", "120", "-y", "40", command);
  return {
    screen: async () => (await tmux("capture-pane", "-p", "-t", "watch")).stdout,
    cursorVisible: async () =>
      (await tmux("display-message", "-p", "-t", "watch", "#{cursor_flag}")).stdout.trim() === "1",
    keys: async (keys: string) => void (await tmux("send-keys", "-t", "watch", keys)),
  };
}

const quoteShell = (text: string) => `'${text.replace(/'/g, "'\\''")}'`;
/** The watcher, then a marker with its exit code; the pane stays open so the test can read it. */
const watchCommand = (dir: string, extra: readonly string[] = []) =>
  `${quoteShell(process.execPath)} ${quoteShell(BIN)} watch --dir ${quoteShell(dir)} ${extra.map(quoteShell).join(" ")}; echo "watch exited $?"; sleep 60`;
const noPostgres = postgresUnavailable();

describe("watch: a real terminal (tmux)", () => {
  it.skipIf(!hasTmux)(
    `redraws as other processes report, and exits 0 at finalize with the cursor back${skipReason}`,
    async () => {
      const dir = await epic();
      await cli(["init", "--epic", "EPIC-007", "--domains", "backend,frontend", "--dir", dir]);
      const session = await tmuxSession(dir, watchCommand(dir));
      const shows = (text: string) =>
        waitFor(async () => (await session.screen()).includes(text), 10_000, 100);

      expect(await shows("(Ctrl-C to stop)")).toBe(true);
      const first = await session.screen();
      expect(first).toMatch(
        /^EPIC-007 · run EPIC-007-\d{8}T\d{6}Z-[0-9a-f]{8} · local · last change \d\d:\d\d:\d\d/,
      );
      expect(first).toContain("Overall: 0% (0/0 files)");
      expect(await session.cursorVisible()).toBe(false);

      await cli(["update", "backend", "--status", "in_progress", "--files", "10/16", "--dir", dir]);
      expect(await shows("Overall: 62% (10/16 files)")).toBe(true);
      const redrawn = await session.screen();
      expect(redrawn).toMatch(/backend\s+impl-bac-\d{6}\s+In Progress\s+10\/16\s+█+░+\s+62%/);
      expect(redrawn).not.toContain("Overall: 0%");
      expect(redrawn.match(/Ctrl-C to stop/g)).toHaveLength(1);

      await cli(["complete", "frontend", "--dir", dir]);
      expect(await shows("1 running, 1 completed")).toBe(true);
      await cli(["finalize", "--summary", "merged", "--dir", dir]);
      expect(await shows("watch exited 0")).toBe(true);
      expect(await session.screen()).toMatch(/run finalized at \d\d:\d\d:\d\d/);
      expect(await session.cursorVisible()).toBe(true);
    },
  );

  it.skipIf(!hasTmux)(`stops on Ctrl-C with exit 0 and the cursor shown again${skipReason}`, async () => {
    const dir = await epic();
    await cli(["init", "--epic", "EPIC-007", "--domains", "backend", "--dir", dir]);
    const session = await tmuxSession(dir, watchCommand(dir));
    expect(
      await waitFor(async () => (await session.screen()).includes("(Ctrl-C to stop)"), 10_000, 100),
    ).toBe(true);
    expect(await session.cursorVisible()).toBe(false);
    await session.keys("C-c");
    expect(await waitFor(async () => (await session.screen()).includes("watch exited 0"), 10_000, 100)).toBe(
      true,
    );
    expect(await session.cursorVisible()).toBe(true);
  });

  it.skipIf(!hasTmux || noPostgres !== null)(
    `with a database store, names the epic and the database in its footer, never the password${skipReason}${noPostgres ? ` (skipped: ${noPostgres})` : ""}`,
    async () => {
      // The footer read `watching <the --dir folder>`, which holds nothing of a database store's run.
      const dir = await epic();
      const { url, name } = await sharedPostgres().createDatabase("watch");
      const store = ["--store", url, "--epic", "E-W"];
      await cli(["init", "--domains", "api", ...store, "--dir", dir]);
      const session = await tmuxSession(dir, watchCommand(dir, store));
      const shown = await waitFor(
        async () => (await session.screen()).includes("(Ctrl-C to stop)"),
        10_000,
        100,
      );
      expect(shown).toBe(true);
      const screen = await session.screen();
      const footer = screen.split("\n").find((line) => line.startsWith("watching"));
      expect(footer).toMatch(
        new RegExp(
          `^watching postgresql://postgres@127\\.0\\.0\\.1:\\d+/${name} \\(epic "E-W"\\) \\(Ctrl-C to stop\\)$`,
        ),
      );
      expect(screen).not.toContain(SUPERUSER_PASSWORD);
      expect(screen).not.toContain(dir);
    },
  );
});
