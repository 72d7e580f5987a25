import { z } from "zod";
import type { GitHubOverrides } from "./config/github-target.js";
import { METRIC_FIELDS } from "./config/metric-fields.js";
import { MAX_FILES, MAX_INTERVAL_MS, MAX_ISSUE_NUMBER } from "./config/options.js";
import { quote } from "./config/show-value.js";
import { expectation, firstIssue, valueAt } from "./config/zod-issue.js";
import { UsageError } from "./errors.js";
import { type RunState, UPDATE_STATUSES } from "./model/types.js";
import type { RenderOptions } from "./render/progress-comment.js";
import type { ReporterOptions } from "./reporter/types.js";
import { runStateSchema } from "./store/state-schema.js";

/**
 * The library's arguments, checked at the API boundary: a caller's wrong type or value rejects with a
 * UsageError naming the method, the parameter and the value, instead of a TypeError from inside (or a
 * wrong value stored). An options object with a key it does not have is refused too (strictObject): a
 * typo such as `{ cost: 1 }` would otherwise be dropped unseen. The reporter loads it on a method's first
 * call (zod is large), and the package's entry (src/index.ts) with the render helpers, which check
 * synchronously (exported-helpers.ts); the CLI, whose option parsers already checked every value, never
 * loads it. One method per entry, one parameter per line.
 */

const text = z.string();
const optionalText = z.string().nullish();
/** A file count: at most MAX_FILES, so that a run's totals stay exact. */
const count = z.int().min(0).max(MAX_FILES).optional();
/** An agent's metrics (checkMetrics has their rules); a key not there is refused (a typo). */
const metrics = z.strictObject(METRIC_FIELDS).optional();

const SCHEMAS = {
  initializeParallelTracking: {
    epicId: text,
    domains: z.array(text),
    epicDir: z.string().min(1).optional(),
    options: z
      .strictObject({
        force: z.boolean().optional(),
        stallAfterMs: z
          .int()
          .min(1000)
          .max(7 * 86_400_000)
          .optional(),
        maxCostUsd: z.number().optional(), // its range: checkCost
      })
      .optional(),
  },
  updateAgentProgress: {
    agentId: text,
    status: z.enum(UPDATE_STATUSES),
    filesCompleted: count,
    filesTotal: count,
    metrics,
  },
  addAgents: {
    domains: z.array(text),
    options: z.strictObject({ parent: text.nullable().optional() }).optional(),
  },
  markAgentComplete: { agentId: text, resultSummary: optionalText, metrics },
  markAgentFailed: { agentId: text, errorMessage: text, metrics },
  cancelAgent: { agentId: text, reason: optionalText, metrics },
  logAgentEvent: { agentId: text, message: text },
  finalizeParallelExecution: { mergeSummary: optionalText },
  retryReport: {
    options: z
      .strictObject({ dryRun: z.boolean().optional(), deadline: z.number().finite().optional() })
      .optional(),
  },
  // No parameters: their first call checks the reporter's options all the same.
  retryOfflineQueue: {},
  status: {},
  load: {},
  flush: {},
  runBackgroundWriter: {},
} satisfies Record<string, Record<string, z.ZodType>>;

export type ApiMethod = keyof typeof SCHEMAS;

/** An object with these methods (a class's on its prototype count too). */
const withMethods = (...names: string[]) =>
  z.looseObject(Object.fromEntries(names.map((name) => [name, z.function()])));

/**
 * What a caller may give `createParallelReporter`: the GitHub settings (their values), and the injected
 * parts by their shape (objects, and the methods a reporter calls on them), so that a typo (`onWarnings`)
 * or a part that is not one (`store: {}`) is refused by name rather than dropped or met as a TypeError.
 */
const OPTIONS = {
  options: z
    .strictObject({
      fs: z.looseObject({}).optional(),
      clock: withMethods("now").optional(),
      env: z.looseObject({}).optional(),
      client: z
        .union([z.function(), z.looseObject({})], { error: "must be an IssueCommentsClient or a function" })
        .optional(),
      flusher: z
        .union([z.literal("timer"), z.function()], { error: 'must be "timer" or a function' })
        .optional(),
      standbyWriter: z.function().optional(),
      sleep: z.function().optional(),
      store: withMethods("read", "transact", "subscribe", "close").optional(),
      github: z
        .strictObject({
          issueNumber: z.int().min(1).max(MAX_ISSUE_NUMBER).optional(),
          repo: z.string().optional(),
          apiUrl: z.string().optional(),
          commentMode: z.enum(["edit", "append"]).optional(),
          minIntervalMs: z.int().min(0).max(MAX_INTERVAL_MS).optional(),
          syncEnabled: z.boolean().optional(),
        } satisfies { [K in keyof GitHubOverrides]-?: z.ZodType<GitHubOverrides[K]> })
        .optional(),
      onWarning: z.function().optional(),
    } satisfies { [K in keyof ReporterOptions]-?: z.ZodType })
    .nullish(),
};

/**
 * The exported render helpers' parameters (renderProgressComment, renderFinalComment): a run state, as its
 * file is checked when read, and the options.
 */
const RENDER = {
  state: runStateSchema,
  options: z
    .strictObject({ maxLength: z.int().min(0).optional(), now: z.number().finite().optional() })
    .optional(),
};

/** Throws a UsageError for a reporter option that is not what it must be. */
export function checkOptions(options: unknown): void {
  // An unknown key is named, its value not shown: the options hold the environment (its tokens) and the
  // store (a database URL with its password), and a misnamed key may hold a token itself.
  check("createParallelReporter", OPTIONS, [options], false);
}

/** Throws a UsageError for the first argument of `method` that is not what it must be. */
export function checkArguments(method: ApiMethod, args: readonly unknown[]): void {
  check(method, SCHEMAS[method], args);
}

/**
 * A render helper's arguments, checked (a UsageError for the first that is not what it must be): the state
 * as the schema reads it, with the defaults of fields added later (as a state file read), and the options.
 */
export function checkRenderArguments(
  method: "renderProgressComment" | "renderFinalComment",
  args: readonly unknown[],
): [RunState, RenderOptions | undefined] {
  const [state, options] = check(method, RENDER, args);
  return [state as RunState, options as RenderOptions | undefined];
}

/** The arguments as their schemas read them; a UsageError for the first that is not what it must be. */
function check(
  method: string,
  schemas: Record<string, z.ZodType>,
  args: readonly unknown[],
  showUnknown = true,
): unknown[] {
  const parameters = Object.entries(schemas);
  return parameters.map(([name, schema], index) => {
    const value = args[index];
    const result = schema.safeParse(value);
    if (result.success) return result.data;
    const issue = firstIssue(result.error.issues);
    const where = [
      name,
      ...issue.path.map((key) => (typeof key === "number" ? `[${key}]` : `.${String(key)}`)),
    ];
    // The methods' array parameters are lists of names (a run state's arrays are not: its events).
    const must =
      issue.path.length === 0
        ? expectation(issue).replace(/ an array$/, " an array of strings")
        : expectation(issue);
    if (issue.code === "unrecognized_keys" && !showUnknown) {
      throw new UsageError(`${method}: ${where.join("")} ${must}`);
    }
    throw new UsageError(
      `${method}: ${where.join("").replace(/\.\[/g, "[")} ${must}, got ${quote(valueAt(value, issue))}`,
    );
  });
}
