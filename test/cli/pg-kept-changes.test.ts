import { readFile, writeFile } from "node:fs/promises";
import { join } from "node:path";
import { beforeAll, describe, expect, it } from "vitest";
import { keptChangeFiles, runCli, spawnCli, stopFlushers, waitFor } from "../support/cli.js";
import { silentServer } from "../support/loopback.js";
import { usePostgresCli } from "../support/pg-cli.js";
import { type PostgresDatabases, postgresUnavailable, sharedPostgres } from "../support/postgres.js";

/**
 * Changes kept on a machine's disk while the database did not answer, as they meet what other machines
 * did meanwhile: when a kept change counts as made; a file that is not a change.
 */

/** The CLI bundles (dist/cli/*.cjs) a call loaded, as Node's module debug log tells (NODE_DEBUG=module). */
const bundlesLoaded = (stderr: string) =>
  [...stderr.matchAll(/MODULE \d+: load "[^"]*\/dist\/cli\/([\w-]+\.cjs)"/g)].map((match) => match[1]!);

const skip = postgresUnavailable();
if (skip) console.warn(`skipping the kept-change tests: ${skip}`);

describe.skipIf(skip)("changes kept while the database does not answer", () => {
  let server: PostgresDatabases;
  const cli = usePostgresCli("ghp_kept_changes", { issues: [{ repo: "acme/widgets", number: 301 }] });

  beforeAll(() => {
    server = sharedPostgres();
  });

  /**
   * A database, a run of agents `domains` on it (`more`: init's other flags), started from a folder of its
   * own, and a second folder.
   */
  async function twoMachines(prefix: string, epic: string, domains: string, more: string[] = []) {
    const { url, name } = await server.createDatabase(prefix);
    const env = cli.env(url, epic);
    const first = await cli.folder();
    const args = ["init", "--epic", epic, "--domains", domains, ...more, "--dir", first];
    const init = await runCli(args, { env });
    expect(init.code, init.stderr).toBe(0);
    return { url, name, env, first, second: await cli.folder() };
  }

  const statusOf = async (dir: string, env: Record<string, string>) =>
    JSON.parse((await runCli(["status", "--json", "--dir", dir], { env })).stdout) as {
      completedAt: string | null;
      agents: { domain: string; status: string; filesCompleted: number }[];
    };

  it("counts a kept change as made when its command was given, not when the database was given up on", async () => {
    const { url, env, first, second } = await twoMachines("made_at", "E-MADE", "a,b");
    // The first machine's path to the database takes the connection and never answers (3 s to connect).
    const silent = await silentServer();
    try {
      const stuck = new URL(url);
      stuck.port = String(silent.port);
      stuck.searchParams.set("connect_timeout", "3");
      const update = ["update", "a", "--status", "in_progress", "--files", "1/4", "--dir", first];
      const older = spawnCli(update, { env: { ...env, PARALLEL_PROGRESS_STORE: stuck.toString() } });
      let olderDone = false;
      void older.done.then(() => (olderDone = true));
      expect(await waitFor(() => silent.accepted() > 0, 15_000, 20)).toBe(true);
      // Meanwhile the second machine reaches the database: its report is the newer one.
      const complete = await runCli(["complete", "a", "--dir", second], { env });
      expect(complete.code, complete.stderr).toBe(0);
      expect(olderDone).toBe(false); // the update was still waiting to connect: it is the older report
      const kept = await older.done;
      expect(kept.code, kept.stderr).toBe(0);
      expect(kept.stderr).toMatch(/the change is kept/);
      await stopFlushers(first);
    } finally {
      await silent.close();
    }
    expect(await keptChangeFiles(first)).toHaveLength(1);
    const retry = await runCli(["retry", "--dir", first], { env });
    expect(retry.code, retry.stderr).toBe(0);
    expect(await keptChangeFiles(first)).toEqual([]);
    const status = await statusOf(first, env);
    expect(status.agents.find((agent) => agent.domain === "a")).toMatchObject({ status: "completed" });
    const events = (await runCli(["status", "--markdown", "--dir", first], { env })).stdout;
    expect(events).toMatch(
      /not applied: update in\\_progress 1\/4, made .* is older than the agent's last report/,
    );
  }, 60_000);

  it("sets aside a kept file that is JSON but not a change, saying why, and applies the rest and the new change", async () => {
    const { env, first } = await twoMachines("damaged", "E-DAMAGED", "a,b");
    const away = await cli.away(env);
    for (const agent of ["a", "b"]) {
      const update = ["update", agent, "--status", "in_progress", "--files", "1/3", "--dir", first];
      expect((await runCli(update, { env: away })).code).toBe(0);
    }
    await stopFlushers(first);
    const folder = join(first, ".parallel-progress", "pending");
    const [damaged] = await keptChangeFiles(first);
    const kept = JSON.parse(await readFile(join(folder, damaged!), "utf8"));
    await writeFile(
      join(folder, damaged!),
      JSON.stringify({ ...kept, change: { ...kept.change, agent: 5 } }),
    );

    const update = ["update", "b", "--status", "in_progress", "--files", "2/3", "--dir", first];
    const next = await runCli(update, { env: { ...env, NODE_DEBUG: "module" } });
    expect(next.code, next.stderr).toBe(0);
    const warnings = next.stderr.split("\n").filter((line) => line.startsWith("parallel-progress: warning"));
    expect(warnings).toEqual([
      `parallel-progress: warning: a change kept while the database was down is damaged (change.agent must be a string, got 5): moved aside as ${damaged}.rejected`,
    ]);
    expect(next.stderr).not.toMatch(/internal error|TypeError/);
    // The schema is read only when something is kept.
    expect(bundlesLoaded(next.stderr)).toContain("queue-pending-schema.cjs");
    expect(await keptChangeFiles(first)).toEqual([]);
    const aside = JSON.parse(await readFile(join(folder, `${damaged}.rejected`), "utf8"));
    expect(aside).toEqual({
      ...kept,
      change: { ...kept.change, agent: 5 },
      setAside: "change.agent must be a string, got 5",
    });
    const status = await statusOf(first, env);
    expect(status.agents.map((agent) => [agent.domain, agent.filesCompleted])).toEqual([
      ["a", 0],
      ["b", 2],
    ]);

    // Nothing kept: a call reads no schema (its start-up is what it was).
    const quiet = await runCli(["log", "b", "hi", "--dir", first], { env: { ...env, NODE_DEBUG: "module" } });
    expect(quiet.code, quiet.stderr).toBe(0);
    expect(bundlesLoaded(quiet.stderr)).not.toContain("queue-pending-schema.cjs");
  }, 60_000);

  it("among finalizes kept on several machines, the first to reach the database ends the run; a later one is set aside, with a warning", async () => {
    const posting = ["--issue", "301", "--repo", "acme/widgets", "--min-interval", "0"];
    const { env, first: a, second: b } = await twoMachines("finalizes", "E-FIN", "a,b", posting);
    const c = await cli.folder();
    const away = await cli.away(env);
    const kept = async (dir: string, ...args: string[]) => {
      const result = await runCli([...args, "--dir", dir], { env: away });
      expect(result.code, result.stderr).toBe(0);
      await stopFlushers(dir);
    };
    // In real time: A finalizes first, then B and C complete their agents, then C finalizes.
    await kept(a, "finalize", "--summary", "from A, made first");
    await kept(b, "complete", "b");
    await kept(c, "complete", "a");
    await kept(c, "finalize", "--summary", "from C, made last");

    // C reaches the database first: its finalize ends the run; B's complete, made before it, is applied.
    for (const dir of [c, b]) {
      const retry = await runCli(["retry", "--dir", dir], { env });
      expect(retry.code, retry.stderr).toBe(0);
    }
    const ended = await statusOf(c, env);
    expect(ended.completedAt).not.toBeNull();
    const retry = await runCli(["retry", "--dir", a], { env });
    expect(retry.code, retry.stderr).toBe(0);
    const warnings = retry.stderr.split("\n").filter((line) => line.includes("warning"));
    expect(warnings).toHaveLength(1);
    expect(warnings[0]).toMatch(
      /a finalize kept while the database was down is not applied \(the run was finalized at \S+ by another finalize \(made \S+ and kept while the database did not answer too, it reached it first\): this finalize's summary is not used\): moved aside as change_\S+\.json\.rejected$/,
    );
    expect(await keptChangeFiles(a)).toEqual([]);
    const [aside] = await keptChangeFiles(a, "set aside");
    const file = JSON.parse(await readFile(join(a, ".parallel-progress", "pending", aside!), "utf8"));
    expect(file).toMatchObject({ change: { kind: "finalize", summary: "from A, made first" } });
    expect(file.setAside).toMatch(/this finalize's summary is not used/);

    const status = await statusOf(a, env);
    expect(status.completedAt).toBe(ended.completedAt);
    expect(status.agents.map((agent) => agent.status)).toEqual(["completed", "completed"]);
    const finals = cli.gh.comments("acme/widgets", 301).filter((x) => x.body.includes("Final Summary"));
    expect(finals).toHaveLength(1);
    expect(finals[0]!.body).toContain("from C, made last");
    expect(finals[0]!.body).not.toContain("from A");
  }, 60_000);

  it("a kept finalize of a summary file longer than a call holds keeps the count of what followed", async () => {
    const { env, first } = await twoMachines("bigsummary", "E-BIG", "a");
    const given = "s".repeat(1_000_004);
    await writeFile(join(first, "summary.md"), given);
    const away = await cli.away(env);
    const kept = await runCli(["finalize", "--summary-file", join(first, "summary.md"), "--dir", first], {
      env: away,
    });
    expect(kept.code, kept.stderr).toBe(0);
    await stopFlushers(first);
    const [file] = await keptChangeFiles(first);
    const item = JSON.parse(await readFile(join(first, ".parallel-progress", "pending", file!), "utf8"));
    expect(item.change.summary.length + item.change.unread).toBe(given.length);
    const retry = await runCli(["retry", "--dir", first], { env });
    expect(retry.code, retry.stderr).toBe(0);
    const state = (await runCli(["status", "--json", "--dir", first], { env })).stdout;
    expect(JSON.parse(state).completedAt).not.toBeNull();
    const body = (await runCli(["status", "--markdown", "--dir", first], { env })).stdout;
    const shown = /### Merge Results\n\n(s+)\n\n\*… truncated \((\d+) more characters\)\*/.exec(body);
    expect(shown, body.slice(0, 2000)).not.toBeNull();
    expect(shown![1]!.length + Number(shown![2])).toBe(given.length);
  }, 60_000);

  it("finalize behind a kept parent's complete that waits for its children says so in one warning", async () => {
    const { env, first, second } = await twoMachines("family", "E-FAMILY", "parent");
    const add = await runCli(["add", "--domains", "child", "--parent", "parent", "--dir", first], { env });
    expect(add.code, add.stderr).toBe(0);
    const away = await cli.away(env);
    // In real time the child completed first (on the second machine), then the parent: both kept.
    expect((await runCli(["complete", "child", "--dir", second], { env: away })).code).toBe(0);
    expect((await runCli(["complete", "parent", "--dir", first], { env: away })).code).toBe(0);
    await stopFlushers(first);
    await stopFlushers(second);

    const finalize = await runCli(["finalize", "--summary", "done", "--dir", first], { env });
    expect(finalize.code, finalize.stderr).toBe(0);
    const lines = finalize.stderr.trim().split("\n");
    expect(lines, finalize.stderr).toHaveLength(1);
    expect(lines[0]).toMatch(
      /^parallel-progress: warning: 1 change\(s\) kept here wait for their agents' children's \(.*cannot be completed while its children are unfinished.*; set aside if those are not applied by \S+Z\): the finalize is kept in .* \(2 waiting\) and applied after them/,
    );
    await stopFlushers(first);
    expect(await keptChangeFiles(first)).toHaveLength(2);
  }, 60_000);

  it("status while the database does not answer says how many changes this machine keeps for it", async () => {
    const { env, first, second } = await twoMachines("status_down", "E-STATUS", "a");
    const away = await cli.away(env);
    for (const files of ["1/3", "2/3"]) {
      const update = ["update", "a", "--status", "in_progress", "--files", files, "--dir", first];
      expect((await runCli(update, { env: away })).code).toBe(0);
    }
    await stopFlushers(first);
    for (const json of [[], ["--json"]]) {
      const status = await runCli(["status", ...json, "--dir", first], { env: away });
      expect(status.code).toBe(1);
      expect(status.stdout).toBe("");
      expect(status.stderr.trim().split("\n"), status.stderr).toHaveLength(1);
      expect(status.stderr.trim()).toMatch(
        /^parallel-progress: error: \S+ is not answering: .*; 2 change\(s\) kept on this machine wait for it \(\S+pending\); try again when the database answers$/,
      );
    }
    // Nothing kept: nothing more said.
    const none = await runCli(["status", "--dir", second], { env: away });
    expect(none.code).toBe(1);
    expect(none.stderr).not.toMatch(/kept/);
  }, 60_000);
});
