import { z } from "zod";
import { quote } from "../config/show-value.js";
import { expectation, firstIssue, valueAt } from "../config/zod-issue.js";
import { UnreadableStateError } from "../errors.js";
import { MAX_COST_USD } from "../model/metrics.js";
import {
  AGENT_STATUSES,
  DEFAULT_STALL_AFTER_MS,
  GIVEN_SETTINGS,
  type GivenSetting,
  type RunState,
} from "../model/types.js";
import { FIX_OR_FORCE } from "./state-text.js";

/**
 * The run state's schema, checked when a state file is read that this version did not write as it is
 * (edited by hand, written by an older version, or damaged): see state-text.ts. One field per line.
 * A field added later is optional or has a default here, so older files keep working; objects are loose
 * (keys this version does not know are kept, not dropped). Loaded only when needed (zod is large).
 */

const time = z.string().refine((text) => !Number.isNaN(Date.parse(text)), "must be an ISO 8601 time");
const count = z.int().min(0);
/**
 * A time in epoch ms: one a date holds with room to add to it (the end of the year 9999 either side of 0).
 * No version writes one further away; edited in, it crashed every command that showed or waited for it.
 */
const YEAR_10000_MS = Date.UTC(10_000, 0, 1);
const epochMs = z.number().min(-YEAR_10000_MS).max(YEAR_10000_MS);

const agentSchema = z.looseObject({
  agentId: z.string().min(1),
  domain: z.string().min(1),
  status: z.enum(AGENT_STATUSES),
  filesCompleted: count,
  filesTotal: count,
  startedAt: time.nullable(),
  updatedAt: time,
  reportedAt: time.nullable().optional(),
  finishedAt: time.nullable(),
  summary: z.string().nullable(),
  error: z.string().nullable(),
  events: z
    .array(z.looseObject({ at: z.string(), message: z.string(), agentId: z.string().optional() }))
    .default([]),
  parentId: z.string().min(1).nullable().optional(),
  iteration: count.nullable().optional(),
  maxIterations: z.int().min(1).nullable().optional(),
  criteriaVerified: count.nullable().optional(),
  criteriaTotal: count.nullable().optional(),
  costUsd: z.number().finite().min(0).max(MAX_COST_USD).nullable().optional(),
});

const githubSchema = z.looseObject({
  issueNumber: z.int().min(1).nullable(),
  repo: z.string().nullable(),
  apiUrl: z.string(),
  syncEnabled: z.boolean(),
  commentMode: z.enum(["edit", "append"]),
  minIntervalMs: count,
  // Names this release does not know (a newer one's, on a shared database; an interim build's "apiUrl")
  // are dropped, not refused.
  given: z
    .array(z.string())
    .transform((names) =>
      names.filter((name): name is GivenSetting => (GIVEN_SETTINGS as readonly string[]).includes(name)),
    )
    .optional(),
});

const syncSchema = z.looseObject({
  commentId: z.int().nullable(),
  commentUrl: z.string().nullable(),
  viewer: z.string().nullable(),
  viewerId: z.int().nullable().default(null),
  postedSeq: count,
  lastWriteAt: epochMs,
  // Older versions' leases and background writers named a pid and no expiry: read, then voided.
  lease: z.looseObject({ owner: z.string(), expiresAt: epochMs.optional() }).nullable(),
  flusher: z.looseObject({ owner: z.string().optional(), expiresAt: epochMs.optional() }).nullable(),
  retryLock: z.looseObject({ owner: z.string(), expiresAt: epochMs }).nullable().default(null),
  settleUntil: epochMs.default(0),
  unsureCreate: z
    .looseObject({ kind: z.enum(["progress", "final"]), until: epochMs })
    .nullable()
    .default(null),
  backoffUntil: epochMs,
  rateLimitedUntil: epochMs.default(0),
  writeBudget: z
    .looseObject({ tokens: z.number().min(0), at: epochMs })
    .nullable()
    .default(null),
  consecutiveFailures: count,
  historyShown: z.array(count).optional(),
  finalCommentId: z.int().nullable(),
  finalCommentUrl: z.string().nullable().default(null),
  lastError: z.string().nullable(),
});

/** A run state; also the exported render helpers' `state` parameter (api-arguments.ts). */
export const runStateSchema = z
  .looseObject({
    version: z.literal(1),
    runId: z.string().regex(/^[A-Za-z0-9._-]{1,100}$/, "must be 1 to 100 of A-Z a-z 0-9 . _ -"),
    epicId: z.string().min(1),
    startedAt: time,
    completedAt: time.nullable(),
    abandonedAt: time.nullable().optional(),
    finalizeMadeAt: time.nullable().optional(),
    seq: count,
    event: z.string(),
    agents: z.record(z.string(), agentSchema),
    mergeSummary: z.string().nullable(),
    mergeSummaryCut: count.optional(),
    stallAfterMs: z.int().min(1).default(DEFAULT_STALL_AFTER_MS),
    maxCostUsd: z.number().finite().min(0).max(MAX_COST_USD).nullable().optional(),
    replacedAgentIds: z.array(z.string().min(1)).optional(),
    github: githubSchema,
    sync: syncSchema,
  })
  .superRefine((state, context) => {
    for (const [key, agent] of Object.entries(state.agents)) {
      if (agent.agentId !== key) {
        context.addIssue({
          code: "custom",
          path: ["agents", key, "agentId"],
          message: `must be ${quote(key)}`,
        });
      }
      if (agent.parentId != null && !Object.hasOwn(state.agents, agent.parentId)) {
        context.addIssue({
          code: "custom",
          path: ["agents", key, "parentId"],
          message: "must name an agent of the run",
        });
      }
      if (agent.filesCompleted > agent.filesTotal) {
        context.addIssue({
          code: "custom",
          path: ["agents", key, "filesCompleted"],
          message: `cannot exceed filesTotal (${agent.filesTotal})`,
        });
      }
      // The metrics' rules (checkMetrics), as every change keeps them: a hand edit past them showed a row
      // of 50/10 iterations, and a cost no view could add up.
      if (agent.iteration != null && agent.maxIterations != null && agent.iteration > agent.maxIterations) {
        context.addIssue({
          code: "custom",
          path: ["agents", key, "iteration"],
          message: `cannot exceed maxIterations (${agent.maxIterations})`,
        });
      }
      const { criteriaVerified: verified, criteriaTotal: total } = agent;
      if (verified != null && total != null && verified > total) {
        context.addIssue({
          code: "custom",
          path: ["agents", key, "criteriaVerified"],
          message: `cannot exceed criteriaTotal (${total})`,
        });
      }
    }
  });

/**
 * The state in `value` (parsed JSON), with the defaults of fields added later; else a UsageError of one
 * line naming the file, the first field that is wrong, what it must be and the value found.
 */
export function validateRunState(value: unknown, path: string): RunState {
  const result = runStateSchema.safeParse(value);
  if (result.success) return result.data as unknown as RunState;
  const issue = firstIssue(result.error.issues);
  const field = issue.path.map(String).join(".") || "the state";
  const found = valueAt(value, issue);
  const got = found === undefined ? "it is missing" : `got ${quote(found)}`;
  throw new UnreadableStateError(`${path}: ${field} ${expectation(issue)}, ${got}`, FIX_OR_FORCE, {
    cause: result.error,
  });
}
