import { z } from "zod";
import { METRIC_FIELDS } from "../config/metric-fields.js";
import { MAX_FILES } from "../config/options.js";
import { checkJsonObject } from "../config/zod-issue.js";
import { UPDATE_STATUSES } from "../model/types.js";
import { isDateMs } from "../util/io.js";
import type { PendingChange } from "./pending-changes.js";

/**
 * A kept change's file (pending-changes.ts), checked when it is read: one that does not pass is set aside
 * with the reason, so a hand edit or a file of another tool never reaches the run (or crashes the call).
 * Unknown keys are kept (a later release's). Loaded only when there are kept changes to read (zod is large).
 */

const metrics = z.looseObject(METRIC_FIELDS).optional();
const agent = z.string().min(1);
const count = z.int().min(0).max(MAX_FILES).optional();
/** Epoch milliseconds, as Date.now() gives them (a time Date can hold). */
const epochMs = z.unknown().refine(isDateMs, "must be epoch milliseconds");

const KINDS = ["update", "complete", "fail", "cancel", "log", "finalize"] as const;
const change = z.discriminatedUnion(
  "kind",
  [
    z.looseObject({
      kind: z.literal("update"),
      agent,
      status: z.enum(UPDATE_STATUSES),
      filesCompleted: count,
      filesTotal: count,
      metrics,
    }),
    z.looseObject({ kind: z.literal("complete"), agent, summary: z.string().nullable(), metrics }),
    z.looseObject({ kind: z.literal("fail"), agent, error: z.string(), metrics }),
    z.looseObject({ kind: z.literal("cancel"), agent, reason: z.string().nullable(), metrics }),
    z.looseObject({ kind: z.literal("log"), agent, message: z.string() }),
    z.looseObject({ kind: z.literal("finalize"), summary: z.string(), unread: z.int().min(0).optional() }),
  ],
  { error: `must be one of ${KINDS.join(", ")}` },
);

const pendingSchema = z.looseObject({
  id: z.string().min(1),
  epicId: z.string().min(1),
  database: z.string().optional(),
  madeAt: epochMs,
  waitingSince: epochMs.optional(),
  change,
});

/** The change in a kept change's file, or why the text is not one (the first field wrong, the value found). */
export function checkPendingChange(text: string): PendingChange | string {
  const checked = checkJsonObject(text, pendingSchema);
  return typeof checked === "string" ? checked : (checked.data as PendingChange);
}
