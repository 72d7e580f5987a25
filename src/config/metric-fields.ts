import { z } from "zod";

/**
 * An agent's metrics as a schema sees them: their types; their rules (i ≤ max, verified ≤ total, the
 * cost's range) are checkMetrics'. The library's arguments refuse a key not here (a typo); a kept change's
 * file keeps one (a later release's).
 */
export const METRIC_FIELDS = {
  iteration: z.number().optional(),
  maxIterations: z.number().optional(),
  criteriaVerified: z.number().optional(),
  criteriaTotal: z.number().optional(),
  costUsd: z.number().optional(),
};
