import { execFile } from "node:child_process";
import { mkdtemp, readdir, rm, writeFile } from "node:fs/promises";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { promisify } from "node:util";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { BIN } from "../support/cli.js";

const exec = promisify(execFile);

/**
 * The bin on a Node older than package.json's engines (npm only warns about them): one line naming the
 * versions needed, exit 1 (the machine's trouble), before anything of the CLI runs. The Node is this one
 * with its version faked by a preload, as an old one would report it, and without the API it lacks.
 */
describe("the bin on a Node.js the package does not support", () => {
  let folder: string;
  beforeAll(async () => {
    folder = await mkdtemp(join(tmpdir(), "pp-node-version-"));
  });
  afterAll(() => rm(folder, { recursive: true, force: true }));

  /** Runs the bin under a Node that says it is `version`; resolves to its exit code and output. */
  async function runAs(version: string, args: string[]) {
    const preload = join(folder, `node-${version}.cjs`);
    await writeFile(
      preload,
      [
        `Object.defineProperty(process, "version", { value: "v${version}" });`,
        `Object.defineProperty(process, "versions", { value: { ...process.versions, node: "${version}" } });`,
        "delete process.getBuiltinModule;",
      ].join("\n"),
    );
    return exec(process.execPath, ["-r", preload, BIN, ...args], { env: { PATH: process.env.PATH ?? "" } })
      .then(({ stdout, stderr }) => ({ code: 0, stdout, stderr }))
      .catch((error: { code: number; stdout: string; stderr: string }) => ({
        code: error.code,
        stdout: error.stdout,
        stderr: error.stderr,
      }));
  }

  it.each(["18.19.1", "20.16.0", "21.7.3", "22.8.0"])(
    "Node %s: one line, exit 1, nothing made",
    async (version) => {
      const dir = join(folder, `epic-${version}`);
      const result = await runAs(version, ["init", "--epic", "E", "--domains", "a", "--dir", dir]);
      expect(result).toEqual({
        code: 1,
        stdout: "",
        stderr: `parallel-progress needs Node.js ^20.17.0 or >=22.9.0, this is v${version}\n`,
      });
      expect(await readdir(folder)).not.toContain(`epic-${version}`);
    },
  );

  it.each(["20.17.0", "22.9.0", "24.0.0"])("Node %s runs the CLI", async (version) => {
    const result = await runAs(version, ["--version"]);
    expect(result.code, result.stderr).toBe(0);
    expect(result.stdout).toMatch(/^\d+\.\d+\.\d+\n$/);
  });
});
