import { makePostgresTemplate, postgresUnavailable, TEMPLATE_ENV } from "./postgres.js";

/**
 * vitest's globalSetup: one initdb for the whole run, which every PostgreSQL test file's startPostgres()
 * copies instead of running initdb itself (each file still has a server of its own, which it may stop
 * and restart). Where PostgreSQL is missing, nothing: the files skip themselves, or fail in CI.
 */
export default async function setup(): Promise<(() => void) | undefined> {
  let missing: string | null;
  try {
    missing = postgresUnavailable();
  } catch {
    return undefined; // CI without PostgreSQL: the test files say so themselves
  }
  if (missing) return undefined;
  const template = await makePostgresTemplate();
  process.env[TEMPLATE_ENV] = template.dir;
  return () => {
    delete process.env[TEMPLATE_ENV];
    template.remove();
  };
}
