import { z } from "zod";
import { isRepoSlug } from "../config/repo-slug.js";
import { checkJsonObject } from "../config/zod-issue.js";
import type { QueueItem } from "./types.js";

/**
 * A queue file's schema (snake case, as the original design's files). Fields added after the first
 * version (`api_url`, `comment_mode`, `reason`, `outcome_unknown`, `unsure_until`, `abandoned`) have
 * defaults, so older files are delivered too. Loaded with the retry only (zod is large). One field per line.
 */
const itemSchema = z.looseObject({
  issue_number: z.int().min(1),
  comment: z.string().min(1),
  timestamp: z.string().refine((text) => !Number.isNaN(Date.parse(text)), "must be an ISO 8601 time"),
  repo: z.string().refine(isRepoSlug, "must be owner/name"),
  api_url: z.string().default("https://api.github.com"),
  kind: z.enum(["progress", "final"]),
  comment_mode: z.enum(["edit", "append"]).default("edit"),
  run_id: z.string().regex(/^[A-Za-z0-9._-]{1,100}$/, "must be 1 to 100 of A-Z a-z 0-9 . _ -"),
  seq: z.int().min(0),
  reason: z.string().default(""),
  outcome_unknown: z.boolean().default(false),
  unsure_until: z
    .string()
    .refine((text) => !Number.isNaN(Date.parse(text)), "must be an ISO 8601 time")
    .nullable()
    .default(null),
  abandoned: z.boolean().default(false),
});

/** The item, or why the text is not one (the first field that is wrong, and the value found). */
export function validateItem(text: string): QueueItem | string {
  const result = checkJsonObject(text, itemSchema);
  if (typeof result === "string") return result;
  const { issue_number, comment, timestamp, repo, api_url, kind, comment_mode, run_id, seq, reason } =
    result.data;
  return {
    issue_number,
    comment,
    timestamp,
    repo,
    api_url,
    kind,
    comment_mode,
    run_id,
    seq,
    reason,
    outcome_unknown: result.data.outcome_unknown,
    unsure_until: result.data.unsure_until,
    ...(result.data.abandoned ? { abandoned: true } : {}),
  };
}
