import { mkdtemp, rm } from "node:fs/promises";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { afterAll, beforeAll } from "vitest";
import { stopFlushers } from "./cli.js";
import { type FakeGitHub, type FakeGitHubOptions, startFakeGitHub } from "./fake-github/index.js";
import { closedPort } from "./loopback.js";
import { type Machine, useMachines } from "./machine.js";

/** What the CLI files on a PostgreSQL store run their calls with. */
export interface PostgresCli {
  /** The file's fake GitHub (started before its tests). */
  readonly gh: FakeGitHub;
  /** A call's environment: the fake's token and URL, the store `url` and the `epic`. */
  env(url: string, epic: string): Record<string, string>;
  /** `env` with its store on a loopback port where nothing listens: the database is unreachable. */
  away(env: Record<string, string>): Promise<Record<string, string>>;
  /** A "machine" that is only a folder of its own (no task.md): the store and epic come from `env`. */
  folder(): Promise<string>;
  /** A simulated machine with namespaces of its own (test/support/machine.ts). */
  machine(name: string): Promise<Machine>;
}

/**
 * The set-up the PostgreSQL CLI files share around their server: a fake GitHub for the file that knows
 * `token`, machines to call the CLI from and the environment of a call. Call inside the file's describe
 * (a skipped describe starts nothing). After the tests: each folder's background writers are stopped and
 * the folders removed, the simulated machines destroyed, the fake closed.
 */
export function usePostgresCli(token: string, fake: Omit<FakeGitHubOptions, "tokens"> = {}): PostgresCli {
  let gh: FakeGitHub | undefined;
  const folders: string[] = [];
  const machine = useMachines();
  beforeAll(async () => {
    gh = await startFakeGitHub({ tokens: { [token]: "octo-bot" }, ...fake });
  });
  afterAll(async () => {
    for (const dir of folders.splice(0)) {
      await stopFlushers(dir);
      await rm(dir, { recursive: true, force: true });
    }
    await gh?.close();
  });
  const started = () => {
    if (!gh) throw new Error("usePostgresCli: the fake GitHub starts in beforeAll, before the tests");
    return gh;
  };
  return {
    get gh() {
      return started();
    },
    env: (url, epic) => ({
      GITHUB_TOKEN: token,
      GITHUB_API_URL: started().url,
      PARALLEL_PROGRESS_STORE: url,
      PARALLEL_PROGRESS_EPIC: epic,
    }),
    async away(env) {
      const url = env.PARALLEL_PROGRESS_STORE!;
      const { port } = new URL(url);
      return {
        ...env,
        PARALLEL_PROGRESS_STORE: url.replace(`:${port}/`, `:${await closedPort()}/`),
      };
    },
    async folder() {
      const dir = await mkdtemp(join(tmpdir(), "pp-machine-"));
      folders.push(dir);
      return dir;
    },
    machine,
  };
}
