import type { CommentMode } from "../model/types.js";

/**
 * One post that could not be delivered, as stored in `.github_parallel_queue/comment_*.json`.
 * Snake case on disk, as the original design's queue files. Never holds a token.
 */
export interface QueueItem {
  issue_number: number;
  /** The comment body. */
  comment: string;
  /** When the post was queued (ISO 8601). */
  timestamp: string;
  repo: string;
  api_url: string;
  kind: "progress" | "final";
  comment_mode: CommentMode;
  run_id: string;
  /** The run's sequence number the body was rendered from. */
  seq: number;
  /** Why it was queued (already explained, no secrets). */
  reason: string;
  /** True when GitHub may have received it although no answer came back: look for it before posting. */
  outcome_unknown: boolean;
  /**
   * A create GitHub did not answer in time may still appear until then (ISO 8601, this machine's clock):
   * it is looked up, never posted again, before it. null: no such wait.
   */
  unsure_until: string | null;
  /**
   * The entry marks the progress comment of a run abandoned by `init --force` (edit mode): a retry edits
   * that comment if the issue shows it, and never creates one. Absent: an ordinary post.
   */
  abandoned?: boolean;
}

export interface QueueEntry {
  /** File name, e.g. `comment_20251019_163045_123456.json`; sorts oldest first. */
  name: string;
  item: QueueItem;
}
