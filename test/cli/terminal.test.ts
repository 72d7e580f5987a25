import { afterEach, describe, expect, it } from "vitest";
import { colorLevel } from "../../src/cli/terminal-settings.js";
import { makeEpic, runCli } from "../support/cli.js";
import { noScript, runInTerminal } from "../support/terminal.js";

let cleanup: (() => Promise<void>) | null = null;
afterEach(async () => {
  await cleanup?.();
  cleanup = null;
});

async function epic(): Promise<string> {
  const made = await makeEpic();
  cleanup = made.cleanup;
  return made.dir;
}

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

describe("colorLevel (pure)", () => {
  it("keeps chalk's level unless NO_COLOR is non-empty and FORCE_COLOR unset", () => {
    expect(colorLevel(2, {})).toBe(2);
    expect(colorLevel(2, { NO_COLOR: "1" })).toBe(0);
    expect(colorLevel(2, { NO_COLOR: "" })).toBe(2);
    expect(colorLevel(1, { NO_COLOR: "1", FORCE_COLOR: "1" })).toBe(1);
    expect(colorLevel(0, { NO_COLOR: "1", FORCE_COLOR: "0" })).toBe(0);
  });
});
