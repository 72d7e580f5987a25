import { execFile } from "node:child_process";
import { join } from "node:path";
import { promisify } from "node:util";
import { beforeAll, describe } from "vitest";
import { PgRunStore } from "../../../src/store/pg/pg-store.js";
import { type PostgresDatabases, postgresUnavailable, sharedPostgres } from "../../support/postgres.js";
import { describeRunStoreContract } from "../contract.js";

const run = promisify(execFile);
const skip = postgresUnavailable();

/** A process that opens the database store (the built library, as the CLI would) and bumps seq `each` times. */
const bumper = (url: string, each: number) => `
  import { PgRunStore } from ${JSON.stringify(join(process.cwd(), "dist/lib/store/pg/pg-store.js"))};
  const store = new PgRunStore({ url: ${JSON.stringify(url)}, epicId: "CONTRACT", maxConnections: 1 });
  for (let i = 0; i < ${each}; i++) await store.transact((s) => ({ next: { ...s, seq: s.seq + 1 }, result: 0 }));
  await store.close();`;

if (skip) console.warn(`skipping the PostgreSQL store contract: ${skip}`);

describe.skipIf(skip)("RunStore contract: PostgreSQL store", () => {
  let server: PostgresDatabases | null = null;
  // The run's shared server (each test a database of its own), found before the suite's per-test fixtures.
  beforeAll(() => {
    server = sharedPostgres();
  });
  describeRunStoreContract("PostgreSQL store", async () => {
    if (!server) throw new Error("the PostgreSQL server did not start");
    const { url } = await server.createDatabase("contract");
    return {
      open: async () => new PgRunStore({ url, epicId: "CONTRACT", maxConnections: 2 }),
      bumpInProcesses: async (processes, each) => {
        await Promise.all(
          Array.from({ length: processes }, () =>
            run(process.execPath, ["--input-type=module", "-e", bumper(url, each)]),
          ),
        );
      },
      dispose: async () => undefined, // the database goes with the run's server
    };
  });
});
