import { readFileSync } from "node:fs";
import type { TestProject } from "vitest/node";
import {
  makePostgresTemplate,
  postgresUnavailable,
  SHARED_PORT_ENV,
  startPostgres,
  TEMPLATE_ENV,
} from "./postgres.js";

/**
 * vitest's globalSetup: one initdb for the whole run, which every startPostgres() copies instead of
 * running initdb itself, and one server for the run (sharedPostgres()) that the files which never stop
 * their server share, each test with databases of its own. Where PostgreSQL is missing, nothing: the
 * files skip themselves, or fail in CI. A run of chosen files none of which uses PostgreSQL (`npx vitest run
 * test/render`) starts none: a few seconds fewer in the inner loop.
 */
export default async function setup(project: TestProject): Promise<(() => Promise<void>) | undefined> {
  if (!(await usesPostgres(project))) return undefined;
  let missing: string | null;
  try {
    missing = postgresUnavailable();
  } catch {
    return undefined; // CI without PostgreSQL: the test files say so themselves
  }
  if (missing) return undefined;
  const template = await makePostgresTemplate();
  process.env[TEMPLATE_ENV] = template.dir;
  const shared = await startPostgres().catch((error: unknown) => {
    template.remove();
    throw error;
  });
  process.env[SHARED_PORT_ENV] = String(shared.port);
  return async () => {
    delete process.env[SHARED_PORT_ENV];
    delete process.env[TEMPLATE_ENV];
    await shared.destroy();
    template.remove();
  };
}

/** Whether this run's test files include one that uses PostgreSQL (its source names it). */
async function usesPostgres(project: TestProject): Promise<boolean> {
  // The command line's file filters, kept by vitest on its instance (not a documented field): without
  // them (the whole suite, or a vitest that keeps them elsewhere), the server is started.
  const filters = (project.vitest as unknown as { filenamePattern?: string[] }).filenamePattern;
  if (!filters?.length) return true;
  const { testFiles } = await project.globTestFiles(filters);
  return testFiles.some((file) => /postgres/i.test(readFileSync(file, "utf8")));
}
