import { execFile } from "node:child_process";
import { copyFile, mkdir, mkdtemp, readdir, readFile, rm, symlink, writeFile } from "node:fs/promises";
import { tmpdir } from "node:os";
import { join, resolve } from "node:path";
import { promisify } from "node:util";
import { afterAll, describe, expect, it } from "vitest";
import { expressions, readWorkflow, runWorkflow } from "./support/actions.js";
import { stopFlushers } from "./support/cli.js";
import { startFakeGitHub } from "./support/fake-github/index.js";
import { closedPort } from "./support/loopback.js";
import { postgresUnavailable, sharedPostgres } from "./support/postgres.js";

const exec = promisify(execFile);
const ROOT = resolve(".");
// The tests run at once (describe.concurrent: most of their time is spent waiting on the processes they
// start), so their folders go when the file ends, not after each test.
let dirs: string[] = [];
afterAll(async () => {
  await Promise.all(dirs.map((dir) => rm(dir, { recursive: true, force: true })));
  dirs = [];
});
async function temp(prefix: string): Promise<string> {
  const dir = await mkdtemp(join(tmpdir(), prefix));
  dirs.push(dir);
  return dir;
}
const env = { PATH: process.env.PATH ?? "", HOME: process.env.HOME ?? "/tmp", NO_COLOR: "1" };

describe.concurrent("examples run as written", () => {
  // That it type-checks as a user's strict project sees it (skipLibCheck off) is `npm run typecheck`'s
  // job: scripts/check-consumer.mjs.
  // A CommonJS project (npm init's default) too: the example had a top-level await, and the package
  // could not be required.
  it.each(["module", "commonjs"])(
    "basic-usage.ts runs from a %s project that installs this package",
    async (type) => {
      const project = await temp("pp-consumer-");
      await mkdir(join(project, "node_modules"));
      await symlink(ROOT, join(project, "node_modules/parallel-progress"), "dir");
      await writeFile(
        join(project, "package.json"),
        JSON.stringify({ name: "consumer", type, private: true }),
      );
      if (type === "commonjs") {
        const required = await exec(
          process.execPath,
          ["-e", 'console.log(typeof require("parallel-progress").createParallelReporter)'],
          { cwd: project, env },
        );
        expect(required.stdout).toBe("function\n");
      }
      await copyFile(join(ROOT, "examples/basic-usage.ts"), join(project, "basic-usage.ts"));
      if (type === "commonjs") {
        // Its TypeScript, strict, takes the import as the README says (module nodenext; node16 refuses it).
        const tsc = (module: string) =>
          exec(
            process.execPath,
            [
              join(ROOT, "node_modules/typescript/bin/tsc"),
              ...["--noEmit", "--strict", "--module", module, "--target", "es2022", "--skipLibCheck"],
              ...["--typeRoots", join(ROOT, "node_modules/@types"), "--types", "node", "basic-usage.ts"],
            ],
            { cwd: project, env },
          );
        await tsc("nodenext");
        await expect(tsc("node16")).rejects.toMatchObject({ stdout: expect.stringContaining("TS1479") });
      }
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
    },
  );

  it("workflow.sh drives three parallel agents from the shell to a finalized run (paths with spaces)", async () => {
    // A clone and an epic directory whose paths hold spaces (the script once split its own path in two).
    const folder = await temp("pp-workflow-");
    const clone = join(folder, "a clone");
    await symlink(ROOT, clone, "dir");
    const epic = join(folder, "epic dir");
    const result = await exec("bash", [join(clone, "examples/workflow.sh"), epic], { env, timeout: 60_000 });
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
    // Again in the same folder: it replaces its own run, but never another epic's active run.
    const again = await exec(process.execPath, [join(ROOT, "examples/demo.mjs"), "--fast", "--dir", epic], {
      env,
    });
    expect(again.stdout).toContain("done (local tracking only)");
    const cli = join(ROOT, "bin/parallel-progress.cjs");
    await exec(
      process.execPath,
      [cli, "init", "--epic", "REAL", "--domains", "x", "--force", "--dir", epic],
      {
        env,
      },
    );
    const refused = await exec(process.execPath, [join(ROOT, "examples/demo.mjs"), "--fast", "--dir", epic], {
      env,
    }).catch((error: { code: number; stderr: string }) => error);
    expect(refused).toMatchObject({ code: 2 });
    expect((refused as { stderr: string }).stderr).toMatch(
      /holds an active run of epic "REAL": the demo does not replace it/,
    );
    const view = await exec(process.execPath, [cli, "status", "--json", "--dir", epic], { env });
    expect(JSON.parse(view.stdout).epicId).toBe("REAL");
  });

  it("the demo refused leaves no folder of its own behind, and says what to do in its own words", async () => {
    const demo = (args: string[], extra: Record<string, string> = {}) =>
      exec(process.execPath, [join(ROOT, "examples/demo.mjs"), "--fast", ...args], {
        env: { ...env, ...extra },
      }).catch((error: { code: number; stderr: string }) => error);
    // A bad --repo is refused once the demo has made its temporary folder: the folder is removed.
    const tmp = await temp("pp-demo-tmp-");
    const badRepo = await demo(["--repo", "bad", "--issue", "5"], { TMPDIR: tmp });
    expect(badRepo).toMatchObject({
      code: 2,
      stderr: expect.stringMatching(/--repo must be owner\/name, got "bad"\n$/),
    });
    expect(await readdir(tmp)).toEqual([]);
    // A state that cannot be read is left as it is, with no advice of init --force, which the demo lacks.
    const epic = await temp("pp-demo-corrupt-");
    await mkdir(join(epic, ".parallel-progress"));
    await writeFile(join(epic, ".parallel-progress/state.json"), "{bad");
    const corrupt = await demo(["--dir", epic]);
    expect(corrupt).toMatchObject({ code: 2 });
    expect((corrupt as { stderr: string }).stderr).toMatch(
      /^demo: --dir ".*" holds a run state that cannot be read \(.*not valid JSON\): the demo does not replace it/,
    );
    expect(await readFile(join(epic, ".parallel-progress/state.json"), "utf8")).toBe("{bad");
  });
});

const WORKFLOWS = ["examples/github-actions.yml", "examples/github-actions-matrix.yml"];
const TOKEN = "ghp_examplestoken0123456789abcdefghijklmno";

describe.concurrent("the GitHub Actions examples", () => {
  it.each(WORKFLOWS)("%s is a workflow GitHub can read: YAML, run steps, expressions", async (file) => {
    // A `run: echo "a: b"` line is a YAML error (a mapping inside a plain value): GitHub refuses the file.
    const workflow = await readWorkflow(file);
    for (const job of Object.values(workflow.jobs)) {
      for (const step of job.steps) if ("run" in step) expect(typeof step.run).toBe("string");
    }
    const text = await readFile(file, "utf8");
    for (const expression of expressions(text)) {
      expect(expression).toMatch(/^(inputs|secrets|matrix|steps|needs|github)\.[\w.-]+$/);
    }
  });

  /** github-actions.yml run against a fake GitHub: each step's exit code and the issue's comments. */
  async function singleRunner(sleep?: string): Promise<{ codes: (number | null)[]; bodies: string[] }> {
    const gh = await startFakeGitHub({ tokens: { [TOKEN]: "github-actions[bot]" } });
    try {
      const run = await runWorkflow("examples/github-actions.yml", {
        folder: await temp("pp-actions-"),
        inputs: { issue: "123" },
        secrets: { GITHUB_TOKEN: TOKEN },
        env: { ...env, GITHUB_API_URL: gh.url },
        ...(sleep === undefined ? {} : { sleep }),
      });
      expect(run.steps.map((step) => step.name)).toEqual([
        "start the run",
        "run the agents in parallel",
        "finalize",
      ]);
      return {
        codes: run.steps.map((step) => step.code),
        bodies: gh.comments("acme/widgets", 123).map((comment) => comment.body),
      };
    } finally {
      await gh.close();
    }
  }

  it("github-actions.yml: its steps report three agents onto one progress comment, then the summary", async () => {
    const { codes, bodies } = await singleRunner();
    expect(codes).toEqual([0, 0, 0]);
    expect(bodies).toHaveLength(2);
    expect(bodies[0]).toContain("**Overall:** 100% (16/16 files)");
    expect(bodies[1]).toContain("## 🎉 Final Summary");
  }, 120_000);

  it("github-actions.yml: an agent whose work fails is reported failed and fails its step; the summary follows", async () => {
    const once = join(await temp("pp-fail-once-"), "fail-once");
    await writeFile(once, "");
    // One piece of work fails, whichever agent meets it first (rm succeeds once).
    const { codes, bodies } = await singleRunner(`rm "${once}" 2>/dev/null && exit 1; exit 0`);
    expect(codes).toEqual([0, 1, 0]);
    expect(bodies).toHaveLength(2);
    expect(bodies[1]).toContain("## 🎉 Final Summary");
    expect(bodies[1]).toContain("2 completed, 1 failed");
    expect(bodies[1]).toMatch(/file 1 of \d failed/);
  }, 120_000);

  const noPostgres = postgresUnavailable();
  /** The matrix example's setting: a fake GitHub, a new database, and runWorkflow's options for them. */
  async function matrixWorkflow(prefix: string) {
    const gh = await startFakeGitHub({ tokens: { [TOKEN]: "github-actions[bot]" } });
    const { url } = await sharedPostgres().createDatabase(prefix);
    const options = {
      folder: await temp("pp-actions-"),
      inputs: { issue: "123" },
      secrets: { GITHUB_TOKEN: TOKEN, PARALLEL_PROGRESS_STORE: url },
      env: { ...env, GITHUB_API_URL: gh.url },
    };
    return { gh, url, options };
  }

  it.skipIf(noPostgres)(
    "github-actions-matrix.yml: a job per agent, one run through PostgreSQL, one comment, the link printed",
    async () => {
      const { gh, options } = await matrixWorkflow("actions");
      try {
        const run = await runWorkflow("examples/github-actions-matrix.yml", options);
        expect(run.steps.filter((step) => step.code !== 0)).toEqual([]);
        expect(run.steps.filter((step) => step.name === "work")).toHaveLength(3);
        const comments = gh.comments("acme/widgets", 123);
        expect(comments).toHaveLength(2);
        expect(comments[0]!.body).toContain("**Overall:** 100% (15/15 files)");
        expect(comments[1]!.body).toContain("## 🎉 Final Summary");
        const link = `https://github.com/acme/widgets/issues/123#issuecomment-${comments[0]!.id}`;
        expect(run.steps.at(-1)!.output).toBe(`progress comment: ${link}\n`);
      } finally {
        await gh.close();
      }
    },
    120_000,
  );

  it.skipIf(noPostgres)(
    "github-actions-matrix.yml: an agent job that fails leaves the run open; Re-run failed jobs reports into it and finalizes it",
    async () => {
      const { gh, options } = await matrixWorkflow("actions_rerun");
      try {
        const workflow = {
          ...options,
          sleep: '[ "$FAIL_WORK" != 1 ]', // the agents' work: it fails where FAIL_WORK=1
        };
        const first = await runWorkflow("examples/github-actions-matrix.yml", {
          ...workflow,
          jobEnv: (job, matrix) => (job === "agent" && matrix.domain === "tests" ? { FAIL_WORK: "1" } : {}),
        });
        const failed = first.steps.filter((step) => step.code !== 0);
        expect(failed.map((step) => [step.job, step.name])).toEqual([['agent {"domain":"tests"}', "work"]]);
        expect(first.results).toMatchObject({ start: "success", agent: "failure", finish: "success" });
        expect(first.steps.at(-2)!.output).toContain("the run stays open for Re-run failed jobs");
        expect(gh.comments("acme/widgets", 123)).toHaveLength(1); // no final summary yet

        // Re-run failed jobs: the tests agent again (its work succeeds now), then finish; start is not re-run.
        const rerun = await runWorkflow("examples/github-actions-matrix.yml", {
          ...workflow,
          rerun: {
            previous: first,
            again: (job, matrix) => (job === "agent" ? matrix.domain === "tests" : job === "finish"),
          },
        });
        expect(rerun.steps.filter((step) => step.code !== 0)).toEqual([]);
        expect([...new Set(rerun.steps.map((step) => step.job))]).toEqual([
          'agent {"domain":"tests"}',
          "finish",
        ]);
        const comments = gh.comments("acme/widgets", 123);
        expect(comments).toHaveLength(2);
        expect(comments[0]!.body).toContain("**Overall:** 100% (15/15 files)");
        expect(comments[1]!.body).toContain("## 🎉 Final Summary");
        expect(comments[1]!.body).toContain("3 completed, 0 failed");
      } finally {
        await gh.close();
      }
    },
    120_000,
  );
  it.skipIf(noPostgres)(
    "github-actions-matrix.yml: changes an agent's runner kept and could not deliver fail its job, and the run stays open",
    async () => {
      const { gh, url, options } = await matrixWorkflow("actions_blip");
      const { folder } = options;
      try {
        // The tests agent's runner cannot reach the database (the same database, a port nothing listens on).
        const down = url.replace(/:\d+\//, `:${await closedPort()}/`);
        const run = await runWorkflow("examples/github-actions-matrix.yml", {
          ...options,
          jobEnv: (job, matrix) =>
            job === "agent" && matrix.domain === "tests" ? { PARALLEL_PROGRESS_STORE: down } : {},
        });
        // Its runner, with the changes it kept and their background writer, is gone when its job ends.
        for (const checkout of (await readdir(folder)).filter((name) => name.startsWith("agent-")))
          await stopFlushers(join(folder, checkout, ".tasks/EPIC-007"));
        const failed = run.steps.filter((step) => step.code !== 0);
        expect(failed.map((step) => [step.job, step.name, step.code])).toEqual([
          ['agent {"domain":"tests"}', expect.stringMatching(/^apply what was kept/), 1],
        ]);
        expect(failed[0]!.output).toContain(
          "::error::changes of tests never reached the database: see the artifact pending-tests",
        );
        expect(run.results).toMatchObject({ start: "success", agent: "failure", finish: "success" });
        expect(run.steps.at(-2)!.output).toContain("the run stays open for Re-run failed jobs");
        const comments = gh.comments("acme/widgets", 123);
        expect(comments).toHaveLength(1);
        expect(comments[0]!.body).toMatch(/\| tests \| impl-tes-\d{6} \| ⏳ Pending \| 0\/0 \|/); // none of its changes came
      } finally {
        await gh.close();
      }
    },
    120_000,
  );
});
