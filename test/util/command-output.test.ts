import { chmod, mkdtemp, rm, writeFile } from "node:fs/promises";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { commandOutput } from "../../src/util/command-output.js";

let dir = "";
beforeAll(async () => {
  dir = await mkdtemp(join(tmpdir(), "pp-command-"));
});
afterAll(async () => {
  await rm(dir, { recursive: true, force: true });
});

async function script(name: string, body: string): Promise<string> {
  const path = join(dir, name);
  await writeFile(path, `#!/bin/sh\n${body}\n`);
  await chmod(path, 0o755);
  return path;
}

describe("commandOutput", () => {
  it("gives the output, or null for a command that is missing or fails", async () => {
    expect(await commandOutput(await script("ok", "echo hello"), [])).toBe("hello\n");
    expect(await commandOutput(await script("fails", "echo no; exit 1"), [])).toBeNull();
    expect(await commandOutput(join(dir, "missing"), [])).toBeNull();
  });

  // Each settles by itself (the test's own time limit only catches a hang): a gh stuck at a prompt or a
  // lock must not hold every failing call of the CLI.
  it("gives up on a command that ignores SIGTERM, and on one whose child keeps the output open", async () => {
    const stubborn = await script("stubborn", "trap '' TERM\nsleep 30");
    const parent = await script("parent", "sleep 30 &\necho started");
    expect(await commandOutput(stubborn, [])).toBeNull();
    // Its own exit is a success: what it printed, once given up on waiting for the output's end.
    expect(await commandOutput(parent, [])).toBe("started\n");
  }, 15_000);
});
