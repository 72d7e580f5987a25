import { spawn } from "node:child_process";
import { chmod, mkdir, mkdtemp, readFile, symlink, writeFile } from "node:fs/promises";
import { join, resolve } from "node:path";
import matter from "gray-matter";

/**
 * Runs a GitHub Actions workflow file of examples/ as a runner would, as far as the examples need: the
 * YAML parsed (gray-matter's js-yaml), jobs in `needs` order, a matrix's jobs at once, each job in a
 * folder of its own (its checkout: a project that installs this package, so `npx parallel-progress`
 * finds it); `uses:` steps and `npm ci` are what that folder already is; `run:` steps run with
 * `bash -eo pipefail` as Actions' default shell does, after `if:` (success(), failure(), always());
 * `${{ }}` expressions are looked up in inputs, secrets, matrix, steps, needs (a job's outputs and its
 * result, `success` or `failure`) and github, and one that names nothing fails the run (Actions would give
 * an empty string). `rerun` does what "Re-run failed jobs" does: the jobs it names run again (a matrix's
 * legs one by one) with `github.run_attempt` 2, the others keep the first attempt's outputs and result. `sleep`, which stands for the
 * agents' work in the examples, returns at once, and `npx` runs the installed bin directly.
 */

export interface ActionsRun {
  /** Every `run:` step: its job (with the matrix value), name, exit code and output. */
  steps: { job: string; name: string; code: number | null; output: string }[];
  /** The outputs of each job (the last matrix job's, for a matrix). */
  outputs: Record<string, Record<string, string>>;
  /** Each job's result: `failure` when a step of it (of any of its matrix's jobs) failed. */
  results: Record<string, "success" | "failure">;
}

interface Step {
  name?: string;
  id?: string;
  if?: string;
  run?: string;
  env?: Record<string, string>;
}

interface Job {
  needs?: string | string[];
  env?: Record<string, string>;
  outputs?: Record<string, string>;
  strategy?: { matrix: Record<string, unknown[]> };
  steps: Step[];
}

interface Workflow {
  env?: Record<string, string>;
  jobs: Record<string, Job>;
}

const ROOT = resolve(".");

/** Parses a workflow file; throws on YAML that GitHub would refuse too. */
export async function readWorkflow(file: string): Promise<Workflow> {
  const text = await readFile(file, "utf8");
  // Options given: gray-matter caches nothing then (its cache keeps a half-read file after an error).
  const workflow = matter(`---\n${text}\n---\n`, {}).data as Workflow;
  if (typeof workflow.jobs !== "object" || workflow.jobs === null) throw new Error(`${file}: no jobs`);
  return workflow;
}

/** Every `${{ }}` expression of a text, trimmed. */
export function expressions(text: string): string[] {
  return [...text.matchAll(/\$\{\{\s*(.*?)\s*\}\}/g)].map((match) => match[1]!);
}

export async function runWorkflow(
  file: string,
  options: {
    folder: string;
    inputs: Record<string, string>;
    secrets: Record<string, string>;
    env: Record<string, string>;
    /** The `sleep` stand-in's script (the agents' work): default, it succeeds at once. */
    sleep?: string;
    /** Environment of one job (a matrix value's), over the workflow's and the job's own. */
    jobEnv?: (job: string, matrix: Record<string, unknown>) => Record<string, string>;
    /** A re-run of `previous`: only the jobs (matrix values) `again` picks run, as attempt 2. */
    rerun?: { previous: ActionsRun; again: (job: string, matrix: Record<string, unknown>) => boolean };
  },
): Promise<ActionsRun> {
  const workflow = await readWorkflow(file);
  const bin = join(options.folder, "bin");
  await mkdir(bin, { recursive: true });
  // `sleep` stands for the agents' work; `npx` of a package the project installs runs its bin, as npx
  // does, without npm's own start-up (0.4 s a call, some 60 calls here).
  const shims = {
    sleep: options.sleep ?? "exit 0",
    npx: 'name="$1"; shift; exec "./node_modules/.bin/$name" "$@"',
  };
  for (const [name, script] of Object.entries(shims)) {
    await writeFile(join(bin, name), `#!/bin/sh\n${script}\n`);
    await chmod(join(bin, name), 0o755);
  }
  const github = {
    run_id: "4242",
    run_attempt: options.rerun ? "2" : "1",
    server_url: "https://github.com",
    repository: "acme/widgets",
  };
  const result: ActionsRun = {
    steps: [],
    outputs: { ...options.rerun?.previous.outputs },
    results: { ...options.rerun?.previous.results },
  };
  const needs = () =>
    Object.fromEntries(
      Object.entries(result.results).map(([name, outcome]) => [
        name,
        { outputs: result.outputs[name] ?? {}, result: outcome },
      ]),
    );

  const runJob = async (name: string, job: Job, matrix: Record<string, unknown>): Promise<boolean> => {
    const checkout = await mkdtemp(join(options.folder, `${name}-`));
    await mkdir(join(checkout, "node_modules/.bin"), { recursive: true });
    await symlink(ROOT, join(checkout, "node_modules/parallel-progress"), "dir");
    await symlink(
      "../parallel-progress/bin/parallel-progress.cjs",
      join(checkout, "node_modules/.bin/parallel-progress"),
    );
    await writeFile(join(checkout, "package.json"), JSON.stringify({ name: "repo", private: true }));
    const steps: Record<string, { outputs: Record<string, string> }> = {};
    const context = () => ({
      inputs: options.inputs,
      secrets: options.secrets,
      matrix,
      steps,
      needs: needs(),
      github,
    });
    const values = (map: Record<string, string> = {}) =>
      Object.fromEntries(Object.entries(map).map(([key, value]) => [key, expand(String(value), context())]));
    let failed = false;
    for (const [index, step] of job.steps.entries()) {
      if (step.run === undefined || step.run.trim() === "npm ci") continue;
      const condition = step.if ?? "success()";
      if (condition === "failure()" ? !failed : condition === "success()" && failed) continue;
      const outputFile = join(checkout, `.output-${index}`);
      await writeFile(outputFile, "");
      const env = {
        ...options.env,
        PATH: `${bin}:${options.env.PATH ?? process.env.PATH ?? ""}`,
        GITHUB_ACTIONS: "true",
        GITHUB_REPOSITORY: github.repository,
        GITHUB_OUTPUT: outputFile,
        GITHUB_STEP_SUMMARY: join(checkout, ".step-summary"),
        ...values(workflow.env),
        ...values(job.env),
        ...values(step.env),
        ...options.jobEnv?.(name, matrix),
      };
      const { code, output } = await bash(expand(step.run, context()), env, checkout);
      const outputs = Object.fromEntries(
        (await readFile(outputFile, "utf8"))
          .split("\n")
          .filter((line) => line.includes("="))
          .map((line) => [line.slice(0, line.indexOf("=")), line.slice(line.indexOf("=") + 1)]),
      );
      if (step.id) steps[step.id] = { outputs };
      const label = Object.keys(matrix).length > 0 ? `${name} ${JSON.stringify(matrix)}` : name;
      result.steps.push({ job: label, name: step.name ?? step.run.split("\n")[0]!, code, output });
      if (code !== 0) failed = true;
    }
    if (job.outputs) result.outputs[name] = values(job.outputs);
    return failed;
  };

  const done = new Set<string>();
  const names = Object.keys(workflow.jobs);
  while (done.size < names.length) {
    const ready = names.filter(
      (name) => !done.has(name) && [workflow.jobs[name]!.needs ?? []].flat().every((need) => done.has(need)),
    );
    if (ready.length === 0) throw new Error(`${file}: jobs that need each other or a job that is not there`);
    for (const name of ready) {
      const job = workflow.jobs[name]!;
      const [key, list] = Object.entries(job.strategy?.matrix ?? {})[0] ?? [];
      const matrices = key === undefined ? [{}] : (list ?? []).map((value) => ({ [key]: value }));
      const again = options.rerun?.again;
      const toRun = again ? matrices.filter((matrix) => again(name, matrix)) : matrices;
      if (toRun.length > 0) {
        const failed = await Promise.all(toRun.map((matrix) => runJob(name, job, matrix)));
        result.results[name] = failed.some(Boolean) ? "failure" : "success";
      }
      done.add(name);
    }
  }
  return result;
}

/** `${{ a.b.c }}` replaced by its value in `context`; one that names nothing throws. */
function expand(text: string, context: Record<string, unknown>): string {
  return text.replace(/\$\{\{\s*(.*?)\s*\}\}/g, (_, expression: string) => {
    const value = expression
      .split(".")
      .reduce<unknown>((at, key) => (at as Record<string, unknown> | undefined)?.[key], context);
    if (value === undefined || value === "") throw new Error(`\${{ ${expression} }} names nothing`);
    return String(value);
  });
}

function bash(
  script: string,
  env: Record<string, string>,
  cwd: string,
): Promise<{ code: number | null; output: string }> {
  return new Promise((resolvePromise) => {
    const child = spawn("bash", ["--noprofile", "--norc", "-eo", "pipefail", "-c", script], {
      env,
      cwd,
      stdio: ["ignore", "pipe", "pipe"],
    });
    let output = "";
    child.stdout.on("data", (chunk) => (output += chunk));
    child.stderr.on("data", (chunk) => (output += chunk));
    child.on("close", (code) => resolvePromise({ code, output }));
  });
}
