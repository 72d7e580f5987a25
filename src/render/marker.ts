/**
 * The hidden marker that names the run a comment belongs to. It is the last line of every body we post,
 * and agent text can never produce one (escaping leaves no `<` in it). Pure.
 */

type MarkerKind = "progress" | "final";

interface Marker {
  kind: MarkerKind;
  runId: string;
  /** The run's sequence number of a progress body; null for the final summary. */
  seq: number | null;
}

const RUN_ID = /^[A-Za-z0-9._-]{1,100}$/;
const MARKER_LINE =
  /^<!-- parallel-progress:(?:progress run=([A-Za-z0-9._-]{1,100}) seq=(0|[1-9][0-9]{0,15})|final run=([A-Za-z0-9._-]{1,100})) -->[ \t]*$/;

function checkRunId(runId: string): string {
  if (!RUN_ID.test(runId)) {
    throw new Error(`run id must match ${RUN_ID}, got ${JSON.stringify(runId.slice(0, 120))}`);
  }
  return runId;
}

export function progressMarker(runId: string, seq: number): string {
  if (!Number.isSafeInteger(seq) || seq < 0)
    throw new Error(`marker seq must be a whole number ≥ 0, got ${seq}`);
  return `<!-- parallel-progress:progress run=${checkRunId(runId)} seq=${seq} -->`;
}

export function finalMarker(runId: string): string {
  return `<!-- parallel-progress:final run=${checkRunId(runId)} -->`;
}

/**
 * The last marker line of a comment body, or null. Only our exact format counts, on a line of its own
 * (trailing spaces and a CRLF line end tolerated: GitHub may store bodies with `\r\n`).
 */
export function parseMarker(body: string): Marker | null {
  const lines = body.split("\n");
  for (let index = lines.length - 1; index >= 0; index -= 1) {
    const line = lines[index]!;
    if (!line.startsWith("<!-- parallel-progress:")) continue;
    const match = MARKER_LINE.exec(line.replace(/\r$/, ""));
    if (!match) continue;
    if (match[3] !== undefined) return { kind: "final", runId: match[3], seq: null };
    const seq = Number(match[2]);
    if (match[1] === undefined || !Number.isSafeInteger(seq)) continue;
    return { kind: "progress", runId: match[1], seq };
  }
  return null;
}
