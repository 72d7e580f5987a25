import type { Command } from "commander";
import { escapeInvisible, hideFrom, quote } from "../config/show-value.js";
import { UsageError } from "../errors.js";
import { chooseDatabase } from "../store/open-store.js";
import type { SchemaStatus } from "../store/pg/migrate.js";
import { command } from "./declare.js";
import { loadPg } from "./load-pg.js";
import { createOutput } from "./output.js";

interface DbOptions {
  store?: string;
  quiet?: boolean;
  verbose?: boolean;
}

/** The database URL for a `db` command: --store, else PARALLEL_PROGRESS_STORE (no epic needed). */
function databaseUrl(options: DbOptions): string {
  const url = chooseDatabase(options, process.env);
  if (!url)
    throw new UsageError("db commands need a database: give --store <url> or set PARALLEL_PROGRESS_STORE");
  return url;
}

/** `db migrate`, `db status`, `db grant`, `db revoke`, `db grants`: the operators' side of a database store. */
export function registerDb(program: Command, done: (code: number) => void): void {
  command(program, "db", "the PostgreSQL store: schema migrations and access by repository", (db) =>
    addDbCommands(db, done),
  );
}

function addDbCommands(db: Command, done: (code: number) => void): void {
  // --store (the database), --dir, --quiet and --verbose are the program's options, as for every command.
  const sub = (name: string, description: string) => db.command(name).description(description);
  /** What every db command starts from: its output, and the admin module (with pg, as the CLI loads it). */
  const begin = async (options: DbOptions) => {
    const admin = await loadPg(() => import("../store/pg/admin.js"));
    // No message echoes the password the password file gave (a role or repository typed as it).
    hideFrom(admin.passwordsRead);
    const out = createOutput({ quiet: options.quiet ?? false, verbose: options.verbose ?? false });
    // Said of every db command that removed them (see README, "Roles and row-level security").
    const told = (removed: { role: string; repo: string }[]) => {
      for (const { role, repo } of removed)
        out.warn(
          `removed the grant of ${repo} to role ${shownRole(role)}, which was dropped (a dump restored elsewhere would give it to the role with its number there)`,
        );
    };
    return { out, admin, told };
  };

  sub("migrate", "bring the schema up to date (also done on first use)").action(
    async (options: DbOptions) => {
      const { out, admin, told } = await begin(options);
      const { applied, status } = await admin.migrateDatabase(databaseUrl(options), told);
      if (status.version > status.latest) out.warn(`schema version ${status.version} is ${newer(status)}`);
      else
        out.info(applied.length ? `applied migration(s) ${applied.join(", ")}` : "the schema was up to date");
      out.data(`schema version ${status.version}`);
      done(0);
    },
  );

  sub("status", "print the schema version (and whether this release expects a newer one)")
    .option("--json", "print it as JSON")
    .action(async (options: DbOptions & { json?: boolean }) => {
      const { out, admin, told } = await begin(options);
      const status = await admin.databaseStatus(databaseUrl(options), told);
      if (options.json) out.data(JSON.stringify(status, null, 2));
      else {
        const note =
          status.version < status.latest
            ? ` (this release expects ${status.latest}: run db migrate)`
            : status.version > status.latest
              ? ` (${newer(status)})`
              : "";
        out.data(`schema version ${status.version}${note}`);
        for (const m of status.applied) out.data(`${m.version}\t${m.appliedAt}\t${m.name}`);
      }
      done(0);
    });

  for (const [name, revoke] of [
    ["grant", false],
    ["revoke", true],
  ] as const) {
    sub(
      `${name} <role>`,
      revoke
        ? "take a repository's runs (--repo <owner/name>, required) away from a database role"
        : "let a database role see and change the runs of a repository (--repo <owner/name>, required), and nothing else (row-level security)",
    )
      // --repo is the program's option (as on every command): required here.
      .action(async (role: string, options: DbOptions & { repo?: string }) => {
        if (!options.repo) throw new UsageError(`db ${name} needs the repository: give --repo <owner/name>`);
        const { out, admin, told } = await begin(options);
        await admin.grantRepository(databaseUrl(options), role, options.repo, { revoke, told });
        out.info(`${revoke ? "revoked" : "granted"}: role ${shownRole(role)}, runs of ${options.repo}`);
        done(0);
      });
  }

  sub("grants", "list the repositories granted to each role").action(async (options: DbOptions) => {
    const { out, admin, told } = await begin(options);
    for (const { role, repo, dropped } of await admin.listGrants(databaseUrl(options), told))
      out.data(`${shownRole(role)}\t${repo}${dropped ? "\trole dropped" : ""}`);
    done(0);
  });
}

/**
 * What `db status` and `db migrate` say of a schema a newer release migrated: this release goes on working
 * on it, as long as the newer migrations only add (one that breaks older releases renames what they use).
 */
function newer({ version, latest, applied }: SchemaStatus): string {
  const unknown = applied.filter((m) => m.version > latest).map((m) => `${m.version} ${quote(m.name)}`);
  return `newer than this release, which knows up to ${latest} (a newer release applied ${unknown.join(", ") || version}); this one goes on working on it: upgrade parallel-progress to use what it adds`;
}

/**
 * A role's name as printed: as it is, or quoted (JSON, invisible characters escaped) when it would not read
 * as itself: it holds a character that is not visible on its own (escapeInvisible: a tab, a line break, a
 * zero-width or no-break space), a space at either end, or starts with `"` (it would pass for a quoted
 * name). So no name can forge a line of `db grants`, nor pass for another role's.
 */
function shownRole(role: string): string {
  const plain = escapeInvisible(role) === role && role.trim() === role && !role.startsWith('"');
  return plain ? role : quote(role);
}
