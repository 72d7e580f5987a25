/**
 * The hidden marker that names the run a comment belongs to. It is the last line of every body we post,
 * and agent text can never produce one (escaping leaves no `<` in it). Pure.
 *
 * Kinds: `progress`, the run's one progress comment (edit mode), edited in place; `history`, a comment
 * of append mode's one-comment-per-write history, never edited or deleted once posted (so a run switched
 * to edit mode can tell its history from its progress comment); `final`, the final summary.
 */

type MarkerKind = "progress" | "history" | "final";

interface Marker {
  kind: MarkerKind;
  runId: string;
  /** The run's sequence number of a progress or history body; null for the final summary. */
  seq: number | null;
}

const RUN_ID = /^[A-Za-z0-9._-]{1,100}$/;
const MARKER_LINE =
  /^<!-- parallel-progress:(?:(progress|history) run=([A-Za-z0-9._-]{1,100}) seq=(0|[1-9][0-9]{0,15})|final run=([A-Za-z0-9._-]{1,100})) -->[ \t]*$/;

function checkRunId(runId: string): string {
  if (!RUN_ID.test(runId)) {
    throw new Error(`run id must match ${RUN_ID}, got ${JSON.stringify(runId.slice(0, 120))}`);
  }
  return runId;
}

/** The marker of a progress body: `history` for a comment of append mode's history. */
export function progressMarker(
  runId: string,
  seq: number,
  kind: "progress" | "history" = "progress",
): string {
  if (!Number.isSafeInteger(seq) || seq < 0)
    throw new Error(`marker seq must be a whole number ≥ 0, got ${seq}`);
  return `<!-- parallel-progress:${kind} run=${checkRunId(runId)} seq=${seq} -->`;
}

export function finalMarker(runId: string): string {
  return `<!-- parallel-progress:final run=${checkRunId(runId)} -->`;
}

/**
 * The marker of a comment body, or null. It counts only as the body's last line (trailing blank lines,
 * spaces and a CRLF line end tolerated: GitHub may store bodies with `\r\n`), as every body we post ends,
 * and only in our exact format. A body with text after a marker is someone else's, though it may quote
 * ours (a workflow step posting `status --markdown`'s output with a note of its own under it).
 */
export function parseMarker(body: string): Marker | null {
  const line = body.trimEnd().split("\n").pop() ?? "";
  const match = MARKER_LINE.exec(line);
  if (!match) return null;
  if (match[4] !== undefined) return { kind: "final", runId: match[4], seq: null };
  const seq = Number(match[3]);
  if (match[2] === undefined || !Number.isSafeInteger(seq)) return null;
  return { kind: match[1] === "history" ? "history" : "progress", runId: match[2], seq };
}
