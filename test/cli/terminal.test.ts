import { describe, expect, it } from "vitest";
import { colorLevel, fullScreen, tableWidth } from "../../src/cli/terminal-settings.js";
import { displayWidth } from "../../src/render/terminal.js";
import { runCli } from "../support/cli.js";
import { useEpicDirs } from "../support/epic-dirs.js";
import { noScript, runInTerminal } from "../support/terminal.js";

const epic = useEpicDirs();

/** An SGR sequence (colour, bold, dim); the watch frame's cursor moves are not colour. */
const SGR = /\u001b\[[0-9;]*m/;
const skipReason = noScript ? ` (skipped: ${noScript})` : "";

describe("colour on a terminal", () => {
  it.skipIf(noScript !== null)(
    `status: colour unless NO_COLOR is set and not empty; FORCE_COLOR wins over it${skipReason}`,
    async () => {
      const dir = await epic();
      await runCli(["init", "--epic", "E", "--domains", "backend", "--dir", dir]);
      const status = async (env: Record<string, string>) => {
        const result = await runInTerminal(["status", "--dir", dir], { TERM: "xterm-256color", ...env });
        expect(result.code).toBe(0);
        expect(result.output).toContain("Overall");
        return result.output;
      };
      expect(await status({})).toMatch(SGR);
      expect(await status({ NO_COLOR: "1" })).not.toMatch(SGR);
      expect(await status({ NO_COLOR: "" })).toMatch(SGR); // no-color.org: an empty value is not set
      expect(await status({ NO_COLOR: "1", FORCE_COLOR: "1" })).toMatch(SGR);
      expect(await status({ FORCE_COLOR: "0" })).not.toMatch(SGR);
    },
  );

  it.skipIf(noScript !== null)(`watch: no colour with NO_COLOR${skipReason}`, async () => {
    const dir = await epic();
    await runCli(["init", "--epic", "E", "--domains", "backend", "--dir", dir]);
    await runCli(["finalize", "--dir", dir]); // watch draws the finalized run once and exits
    const watch = (env: Record<string, string>) =>
      runInTerminal(["watch", "--dir", dir], { TERM: "xterm-256color", ...env });
    const plain = await watch({ NO_COLOR: "1" });
    expect(plain.code).toBe(0);
    expect(plain.output).toContain("run finalized at");
    expect(plain.output).not.toMatch(SGR);
    expect((await watch({})).output).toMatch(SGR);
  });
});

describe("watch on a narrow terminal", () => {
  it.skipIf(noScript !== null)(
    `cuts every line of its frame to the terminal's width, wrapping off while it draws${skipReason}`,
    async () => {
      const dir = await epic();
      await runCli(["init", "--epic", "E", "--domains", "a-rather-long-domain-name,backend", "--dir", dir]);
      await runCli(["update", "backend", "--status", "in_progress", "--files", "1/4", "--dir", dir]);
      await runCli(["finalize", "--dir", dir]); // watch draws the finalized run once and exits
      const { code, output } = await runInTerminal(["watch", "--dir", dir], { TERM: "xterm-256color" }, 40);
      expect(code).toBe(0);
      expect(output).toContain("\u001b[?7l"); // wrapping off while the frame is drawn
      expect(output.lastIndexOf("\u001b[?7h")).toBeGreaterThan(output.lastIndexOf("\u001b[?7l")); // on again
      const lines = output
        .replace(/\u001b\[[0-9;?]*[A-Za-z]/g, "")
        .split(/\r?\n/)
        .filter((line) => line !== "");
      expect(lines[0]).toMatch(/^E · run /);
      expect(lines.some((line) => line.includes("impl-bac-"))).toBe(true);
      for (const line of lines) expect(displayWidth(line), line).toBeLessThanOrEqual(40);
    },
  );
});

describe("watch with TERM=dumb", () => {
  it("draws the full screen only on a terminal that can move the cursor", () => {
    expect(fullScreen({ TERM: "xterm-256color" }, { isTTY: true })).toBe(true);
    expect(fullScreen({}, { isTTY: true })).toBe(true);
    expect(fullScreen({ TERM: "dumb" }, { isTTY: true })).toBe(false);
    expect(fullScreen({ TERM: "xterm" }, {})).toBe(false);
  });

  it.skipIf(noScript !== null)(
    `prints the plain line per change on a terminal that cannot move the cursor${skipReason}`,
    async () => {
      const dir = await epic();
      await runCli(["init", "--epic", "E", "--domains", "backend", "--dir", dir]);
      await runCli(["finalize", "--dir", dir]);
      const { code, output } = await runInTerminal(["watch", "--dir", dir], { TERM: "dumb" });
      expect(code).toBe(0);
      expect(output).not.toContain("\u001b[");
      expect(output.trim()).toMatch(/^\d\d:\d\d:\d\d Parallel execution completed — 0% \(0\/0 files\)/);
    },
  );
});

describe("colorLevel (pure)", () => {
  it("keeps chalk's level unless NO_COLOR is non-empty and FORCE_COLOR unset", () => {
    expect(colorLevel(2, {})).toBe(2);
    expect(colorLevel(2, { NO_COLOR: "1" })).toBe(0);
    expect(colorLevel(2, { NO_COLOR: "" })).toBe(2);
    expect(colorLevel(1, { NO_COLOR: "1", FORCE_COLOR: "1" })).toBe(1);
    expect(colorLevel(0, { NO_COLOR: "1", FORCE_COLOR: "0" })).toBe(0);
  });
});

describe("the status table's width", () => {
  it("piped: nothing is cut unless COLUMNS says; the agent id is never cut", async () => {
    const dir = await epic();
    const domains = "backend-services,frontend-web-application";
    const init = await runCli(["init", "--epic", "E", "--domains", domains, "--dir", dir]);
    const ids = init.stdout
      .trim()
      .split("\n")
      .map((line) => line.split("\t")[1]!);
    const metrics = ["--iteration", "2/10", "--criteria", "3/8", "--cost", "12.5", "--min-interval", "0"];
    const update = ["update", "backend-services", "--status", "in_progress", "--files", "5/9", ...metrics];
    expect((await runCli([...update, "--dir", dir])).code).toBe(0);
    const piped = (await runCli(["status", "--dir", dir])).stdout;
    expect(piped).toMatch(new RegExp(`^backend-services +${ids[0]} {2}In Progress`, "m"));
    expect(piped).toMatch(new RegExp(`^frontend-web-application {2}${ids[1]} {2}Pending`, "m"));
    const narrow = (await runCli(["status", "--dir", dir], { env: { COLUMNS: "80" } })).stdout;
    expect(narrow).toMatch(new RegExp(`^backe… {2}${ids[0]} {2}In Progress`, "m"));
    expect(narrow).toMatch(new RegExp(`^front… {2}${ids[1]} {2}Pending`, "m"));
  });

  it.skipIf(noScript !== null)(`on a terminal: its width, or COLUMNS first${skipReason}`, async () => {
    const dir = await epic();
    await runCli(["init", "--epic", "E", "--domains", "frontend-web-application", "--dir", dir]);
    const narrow = await runInTerminal(["status", "--dir", dir], { NO_COLOR: "1" }, 60);
    expect(narrow.output).toMatch(/^front… {2}impl-fro-\d{6} {2}Pending/m);
    const wide = await runInTerminal(["status", "--dir", dir], { NO_COLOR: "1", COLUMNS: "200" }, 60);
    expect(wide.output).toMatch(/^frontend-web-application {2}impl-fro-\d{6} {2}Pending/m);
  });

  it("tableWidth: COLUMNS when a positive whole number, else the terminal's, else none", () => {
    expect(tableWidth({ COLUMNS: "200" }, { isTTY: false })).toBe(200);
    expect(tableWidth({ COLUMNS: "200" }, { isTTY: true, columns: 80 })).toBe(200);
    expect(tableWidth({}, { isTTY: true, columns: 80 })).toBe(80);
    expect(tableWidth({ COLUMNS: "wide" }, { isTTY: true, columns: 80 })).toBe(80);
    expect(tableWidth({ COLUMNS: "0" }, { isTTY: true, columns: 0 })).toBeUndefined();
    expect(tableWidth({}, { isTTY: false, columns: 80 })).toBeUndefined();
  });
});
