import { execFile } from "node:child_process";
import { copyFile, mkdir, mkdtemp, readFile, rm, symlink, writeFile } from "node:fs/promises";
import { tmpdir } from "node:os";
import { join, resolve } from "node:path";
import { promisify } from "node:util";
import { afterEach, describe, expect, it } from "vitest";

const exec = promisify(execFile);
const ROOT = resolve(".");
let dirs: string[] = [];
afterEach(async () => {
  await Promise.all(dirs.map((dir) => rm(dir, { recursive: true, force: true })));
  dirs = [];
});
async function temp(prefix: string): Promise<string> {
  const dir = await mkdtemp(join(tmpdir(), prefix));
  dirs.push(dir);
  return dir;
}
const env = { PATH: process.env.PATH ?? "", HOME: process.env.HOME ?? "/tmp", NO_COLOR: "1" };

describe("examples run as written", () => {
  // That it type-checks as a user's strict project sees it (skipLibCheck off) is `npm run typecheck`'s
  // job: scripts/check-consumer.mjs.
  it("basic-usage.ts runs from a project that installs this package", async () => {
    const project = await temp("pp-consumer-");
    await mkdir(join(project, "node_modules"));
    await symlink(ROOT, join(project, "node_modules/parallel-progress"), "dir");
    await writeFile(
      join(project, "package.json"),
      JSON.stringify({ name: "consumer", type: "module", private: true }),
    );
    await copyFile(join(ROOT, "examples/basic-usage.ts"), join(project, "basic-usage.ts"));
    const epic = join(project, "epic");
    const run = await exec(
      process.execPath,
      [join(ROOT, "node_modules/tsx/dist/cli.mjs"), "basic-usage.ts", epic],
      {
        cwd: project,
        env,
      },
    );
    expect(run.stdout).toContain("EPIC-007: 100% (15/15 files)");
    expect(run.stdout).toContain("tracked locally");
    const state = JSON.parse(await readFile(join(epic, ".parallel-progress/state.json"), "utf8"));
    expect(Object.values(state.agents).map((a) => (a as { status: string }).status)).toEqual([
      "completed",
      "completed",
      "completed",
    ]);
  });

  it("workflow.sh drives three parallel agents from the shell to a finalized run", async () => {
    const epic = await temp("pp-workflow-");
    const result = await exec("bash", [join(ROOT, "examples/workflow.sh"), epic], { env, timeout: 60_000 });
    expect(result.stdout).toMatch(/backend\timpl-bac-\d{6}/);
    expect(result.stdout).toContain("100%");
    const view = JSON.parse(
      (
        await exec(
          process.execPath,
          [join(ROOT, "bin/parallel-progress.cjs"), "status", "--json", "--dir", epic],
          { env },
        )
      ).stdout,
    );
    expect(view.completedAt).not.toBeNull();
    expect(view.overall).toEqual({ filesCompleted: 16, filesTotal: 16, progress: 100 });
  });

  it("the demo runs locally", async () => {
    const epic = await temp("pp-demo-");
    const result = await exec(process.execPath, [join(ROOT, "examples/demo.mjs"), "--fast", "--dir", epic], {
      env,
    });
    expect(result.stdout).toContain("local tracking only");
    expect(result.stdout).toContain("done (local tracking only)");
  });
});
