import { leftToBackgroundWriter } from "../sync/claim.js";
import type { StepResult } from "../sync/run-syncer.js";

/**
 * One line for --verbose: what this call did on GitHub. Pure. A write not due yet is described by the
 * claim's own rule on the store's clock at its decision (the database's `now()` with PostgreSQL), never
 * this machine's: a skewed local clock cannot make the line disagree with what the claim did.
 */
export function describeSync(result: StepResult): string {
  if (result.kind === "wrote") {
    return `GitHub: ${result.step === "final" ? "final summary posted" : "progress comment written"}${result.url ? `: ${result.url}` : ""}`;
  }
  if (result.kind === "failed")
    return `GitHub: write failed, ${result.queuedAs ? `queued as ${result.queuedAs}` : "not queued"}`;
  if (result.decision === null) return "GitHub: no run";
  const { decision, now } = result;
  const at = (until: number) => new Date(until).toISOString().slice(11, 23);
  switch (decision.kind) {
    case "local":
      return "GitHub: not synced (no issue, no repository, or sync_enabled: false)";
    case "clean":
      return "GitHub: already up to date";
    case "wait":
      // A background writer waits a minute at most (a longer --min-interval): the next call takes it then.
      return leftToBackgroundWriter(decision, now)
        ? `GitHub: next write due at ${at(decision.until)} UTC: left to the background writer`
        : `GitHub: next write due at ${at(decision.until)} UTC, more than a minute away: left to the next command, retry or finalize`;
    case "busy":
      return "GitHub: another process is writing: the latest state follows from the background writer";
    case "backoff":
      return `GitHub: backing off after failures until ${at(decision.until)} UTC (retry or finalize sends the latest)`;
  }
}
