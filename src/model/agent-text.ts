import { truncateCodePoints } from "../render/text.js";

/**
 * How many characters (code points) of an agent's text a run keeps: a result summary, a failure's error, a
 * cancel reason, an event message. Longer text is cut, never refused (a compiler error or a stack trace
 * must not cost the event, as reporting never blocks the workflow), and the run state stays bounded: an
 * agent keeps one such text and its last MAX_AGENT_EVENTS events. The issue shows less still (see escape.ts).
 */
export const MAX_AGENT_TEXT = 2000;

/**
 * An agent's text as the run keeps it (pure): as given, white space included, cut to MAX_AGENT_TEXT
 * characters, the last one `…` when cut.
 */
export const keptText = (text: string): string => truncateCodePoints(text, MAX_AGENT_TEXT);

/**
 * How many characters of the merge summary a run keeps: the most a comment holds (GitHub's limit), of
 * which the final summary shows what fits. More would only grow the state (a huge `--summary-file`).
 */
export const MAX_MERGE_SUMMARY = 65_536;

/**
 * The merge summary as the run keeps it (pure): as given, cut to MAX_MERGE_SUMMARY, `…` last when cut;
 * `cut`: how many characters (`string.length`) of the text that `…` stands for (0: kept whole).
 */
export function keptMergeSummary(text: string): { summary: string; cut: number } {
  const summary = truncateCodePoints(text, MAX_MERGE_SUMMARY);
  return { summary, cut: summary === text ? 0 : text.length - (summary.length - "…".length) };
}
