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
 * files skip themselves, or fail in CI.
 */
export default async function setup(): Promise<(() => Promise<void>) | undefined> {
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
