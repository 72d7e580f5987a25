import { UsageError } from "../errors.js";
import { holdsSecret, longSecrets, looksLikeToken, maskSecrets } from "../github/redact.js";
import { checkCost, checkCriteria, checkIteration } from "../model/metrics.js";
import { type CommentMode, UPDATE_STATUSES, type UpdateStatus } from "../model/types.js";
import { holdsHidden, quote } from "./show-value.js";

/**
 * Pure parsers for CLI values (commander `argParser`s). Each returns the clean value or throws a
 * one-line UsageError naming the option and the value received.
 */

const MAX_DOMAIN_LENGTH = 200;

/**
 * A text's length in characters as a reader counts them, and PostgreSQL's length(): code points, not
 * UTF-16 units (an emoji is one character, not two).
 */
export const characters = (text: string): number => Array.from(text).length;

export const MAX_INTERVAL_MS = 600_000;

/**
 * The largest issue number: GitHub's are 32-bit, and the PostgreSQL store keeps one in an `integer`
 * column. Taken by neither store beyond it, from any source (--issue, task.md, the library's options).
 */
export const MAX_ISSUE_NUMBER = 2_147_483_647;

/** What an issue number above MAX_ISSUE_NUMBER is told, after the name of where it was given. */
export const TOO_BIG_ISSUE = `must be at most ${MAX_ISSUE_NUMBER} (GitHub's issue numbers are 32-bit)`;

/**
 * The most files an agent may count: far past any real run, and low enough that a run's totals (the sum
 * over its agents) stay exact integers.
 */
export const MAX_FILES = 1_000_000_000;

/** C0 controls, DEL, C1 controls (U+0085 is a line break), and the Unicode line and paragraph separators. */
export const CONTROL_CHARACTERS = /[\u0000-\u001f\u007f-\u009f\u2028\u2029]/;

/**
 * A name no agent can have, told without asking the run (a command keeps its change while the database
 * does not answer): blank, holding a control character, or longer than a domain may be (agent ids are
 * shorter).
 */
export const namesNoAgent = (ref: string): boolean =>
  ref.trim() === "" || CONTROL_CHARACTERS.test(ref) || characters(ref.normalize("NFC")) > MAX_DOMAIN_LENGTH;

/**
 * A domain or epic id is shown on the issue and kept in the run as it is (a name, not text to mask): one
 * that holds a GitHub token is refused rather than published.
 */
const TOKEN_IN_NAME = "a name may not hold a token or password (it would be shown on the issue)";

/** `"3/7"` → `{ done: 3, total: 7 }`: whole numbers, done ≤ total. */
export function parseFilesOption(value: string): { done: number; total: number } {
  const pair = wholePair(value);
  if (!pair) throw new UsageError(`--files must be <done>/<total> with whole numbers, got ${quote(value)}`);
  const [done, total] = pair;
  if (done > total) throw new UsageError(`--files: done (${done}) cannot exceed total (${total})`);
  if (total > MAX_FILES) throw new UsageError(`--files: the total may be at most ${MAX_FILES}, got ${total}`);
  return { done, total };
}

/**
 * `update --status completed --files d/t`: every file done, as the run's change checks (a parent takes no
 * files at all). Checked before the change is made, so that a change kept while the database does not
 * answer is never one the run will refuse.
 */
export function checkCompletedFiles(
  status: UpdateStatus,
  files: { done: number; total: number } | undefined,
): void {
  if (status !== "completed" || !files || files.done === files.total) return;
  throw new UsageError(
    `--files ${files.done}/${files.total} with --status completed: a completed agent has every file done; give ${files.total}/${files.total}, or no files, or use \`complete\``,
  );
}

/** `"a, b,c"` → `["a", "b", "c"]`: trimmed, non-empty, unique, printable, at most 200 characters each. */
export function parseDomainsOption(value: string): string[] {
  const domains = value.split(",").map((item) => item.trim());
  if (domains.some((domain) => domain.length === 0)) {
    throw new UsageError(
      `--domains must be a comma-separated list of names with no empty item, got ${quote(value)}`,
    );
  }
  return checkDomains(domains, quote(value));
}

/**
 * The rule for a run's domains, for the CLI and the library alike: at least one, each trimmed,
 * non-empty, unique, printable and at most 200 characters. Messages name the input as `label` (the CLI's
 * `--domains`, the library's `initializeParallelTracking: domains`) and show it as `shown` (the CLI's text
 * quoted, the library's array).
 */
export function checkDomains(
  list: readonly string[],
  shown: string = quote(list.join(",")),
  label = "--domains",
): string[] {
  if (list.length === 0) throw new UsageError(`${label}: at least one domain is required, got ${shown}`);
  // One form of accented letters (NFC), so `café` typed on macOS (e + U+0301) and elsewhere is one domain.
  const domains = list.map((item) => item.trim().normalize("NFC"));
  if (domains.some((domain) => domain.length === 0)) {
    throw new UsageError(`${label}: domain names cannot be empty, got ${shown}`);
  }
  const seen = new Set<string>();
  for (const domain of domains) {
    if (characters(domain) > MAX_DOMAIN_LENGTH) {
      throw new UsageError(
        `${label}: a domain may have at most ${MAX_DOMAIN_LENGTH} characters, got one of ${characters(domain)}: ${quote(domain)}`,
      );
    }
    // Tabs and newlines would break the `domain<TAB>agent-id` lines init prints; U+0085 is a line break too.
    if (CONTROL_CHARACTERS.test(domain)) {
      throw new UsageError(`${label}: a domain may not contain control characters, got ${quote(domain)}`);
    }
    if (looksLikeToken(domain) || holdsHidden(domain))
      throw new UsageError(`${label}: ${TOKEN_IN_NAME}, got ${quote(domain)}`);
    if (seen.has(domain))
      throw new UsageError(`${label} lists ${quote(domain)} more than once, got ${shown}`);
    seen.add(domain);
  }
  return domains;
}

/**
 * Refuses names that hold one of `secrets` (where maskSecrets would mask it): checked again where the
 * store is reached, so that a secret known only then (the password ~/.pgpass gave the connection, a token
 * gh gave) is refused as the environment's are.
 */
export function refuseSecretsIn(names: readonly string[], secrets: readonly string[], label: string): void {
  const held = names.find((name) => holdsSecret(name, secrets));
  if (held !== undefined) {
    // Masked where it stands; held only once decoded (`%66…`), no part of it is shown.
    const masked = maskSecrets(held, secrets);
    throw new UsageError(
      `${label}: ${TOKEN_IN_NAME}, got ${quote(holdsSecret(masked, secrets) ? "***" : masked)}`,
    );
  }
}

/**
 * Refuses a run's repository or API URL holding one of `secrets` of MIN_ANYWHERE characters or more, as
 * checkRepo and checkApiUrl do: a shorter one is a word of them (a password `github`: api.github.com).
 */
export function refuseSecretsInTarget(repo: string | null, apiUrl: string, secrets: readonly string[]): void {
  refuseSecretsIn([repo ?? "", apiUrl], longSecrets(secrets), "repository and API URL");
}

/**
 * An epic id: trimmed, 1 to 200 printable characters, in one form of accented letters (NFC, as domains:
 * `é` typed on macOS names the same run as elsewhere, on every machine of a shared one). `label`: what
 * the messages call it.
 */
export function assertEpicId(epicId: string, label = "--epic"): string {
  const trimmed = epicId.trim().normalize("NFC");
  if (trimmed.length === 0 || characters(trimmed) > 200 || CONTROL_CHARACTERS.test(trimmed)) {
    throw new UsageError(`${label} must be 1 to 200 printable characters, got ${quote(epicId)}`);
  }
  if (looksLikeToken(trimmed) || holdsHidden(trimmed))
    throw new UsageError(`${label}: ${TOKEN_IN_NAME}, got ${quote(epicId)}`);
  return trimmed;
}

/**
 * The run's epic as a command is given it: `--epic`, else PARALLEL_PROGRESS_EPIC (an empty one is not
 * given), checked (assertEpicId); null when neither is.
 */
export function givenEpic(
  option: string | undefined,
  env: { PARALLEL_PROGRESS_EPIC?: string },
): string | null {
  if (option?.trim()) return assertEpicId(option);
  const value = env.PARALLEL_PROGRESS_EPIC;
  return value?.trim() ? assertEpicId(value, "PARALLEL_PROGRESS_EPIC") : null;
}

/**
 * An event's message (`log`, `logAgentEvent`): not blank, and kept as given (the run keeps its first
 * MAX_AGENT_TEXT characters: see keptText). `label`: what the messages call it (the library's names its
 * method and parameter).
 */
export function checkEventMessage(message: string, label = "an event message"): string {
  if (message.trim() === "") throw new UsageError(`${label} cannot be empty, got ${quote(message)}`);
  return message;
}

/** Why an agent failed (`fail --error`, `markAgentFailed`): not empty. `option`: the CLI's, to name it. */
export function checkErrorMessage(message: string, option: string): string {
  if (message.trim() !== "") return message;
  throw new UsageError(`${option} must say why the agent failed, got ${quote(message)}`);
}

/**
 * `--dir`: a path, kept as given. An empty one (`--dir "$EPIC_DIR"` with the variable unset) is refused
 * rather than taken as the current directory.
 */
export function parseDirOption(value: string): string {
  if (value.trim() === "") throw new UsageError(`--dir must name the epic directory, got ${quote(value)}`);
  return value;
}

/**
 * `--store`: an empty one (`--store "$DATABASE_URL"` with the variable unset) is refused rather than taken
 * as none, which would quietly use the files in --dir instead of the shared database. Checked as a URL when
 * the store is chosen (chooseDatabase). An empty PARALLEL_PROGRESS_STORE is an unset one.
 */
export function parseStoreOption(value: string): string {
  if (value.trim() === "") {
    throw new UsageError(`--store must name a database (postgres://...), got ${quote(value)}`);
  }
  return value;
}

/** `--epic`: checked as every epic id is (an empty one too: an empty PARALLEL_PROGRESS_EPIC is an unset one). */
export function parseEpicOption(value: string): string {
  assertEpicId(value);
  return value;
}

/**
 * The rule for an agent's free text (a summary, an error, a reason, an event, the merge summary), for
 * both stores alike: any character but NUL (U+0000), which is no text's (a binary file, UTF-16 read as
 * UTF-8) and which PostgreSQL cannot store. Refused, not dropped: the text is the agent's, kept as given.
 * `what` names the text in the message; `advice` ends it.
 */
export function checkNoNul(text: string | null | undefined, what: string, advice = ""): void {
  const at = text?.indexOf("\u0000") ?? -1;
  if (at >= 0) {
    throw new UsageError(
      `${what} may not contain NUL characters (U+0000), got one at character ${at + 1}: ${quote(text)}${advice}`,
    );
  }
}

/** `"12"` → 12: a whole number from 1 to MAX_ISSUE_NUMBER. */
export function parseIssueOption(value: string): number {
  const issue = wholeNumber(value) ?? 0;
  if (issue < 1) throw new UsageError(`--issue must be a positive integer, got ${quote(value)}`);
  if (issue > MAX_ISSUE_NUMBER) throw new UsageError(`--issue ${TOO_BIG_ISSUE}, got ${quote(value)}`);
  return issue;
}

/** `"1000"` → 1000: whole milliseconds from 0 to 600000 (ten minutes). */
export function parseIntervalOption(value: string): number {
  const interval = wholeNumber(value);
  if (interval === null || interval > MAX_INTERVAL_MS) {
    throw new UsageError(
      `--min-interval must be a whole number of milliseconds from 0 to ${MAX_INTERVAL_MS}, got ${quote(value)}`,
    );
  }
  return interval;
}

export function parseCommentMode(value: string): CommentMode {
  const mode = value.trim().toLowerCase();
  if (mode === "edit" || mode === "append") return mode;
  throw new UsageError(`--comment-mode must be edit or append, got ${quote(value)}`);
}

/** One of pending, in_progress, completed, failed; `in-progress` is accepted for in_progress. */
export function parseStatusOption(value: string): UpdateStatus {
  const status = value.trim().toLowerCase().replace(/-/g, "_");
  const known = UPDATE_STATUSES.find((candidate) => candidate === status);
  if (known) return known;
  throw new UsageError(`--status must be one of ${UPDATE_STATUSES.join(", ")}, got ${quote(value)}`);
}

/** Digits alone (spaces around them aside) as a number, however large (its caller bounds it); else null. */
export function wholeNumber(value: string): number | null {
  const trimmed = value.trim();
  return /^\d+$/.test(trimmed) ? Number(trimmed) : null;
}

const DURATION_UNITS: Record<string, number> = {
  ms: 1,
  s: 1000,
  m: 60_000,
  h: 3_600_000,
  d: 86_400_000,
};
const MAX_STALL_AFTER_MS = 7 * 86_400_000;

/**
 * `"15m"`, `"90s"`, `"1.5h"`, `"7d"`, `"1500ms"` → milliseconds, from 1 s to 7 days. A number needs its unit:
 * a bare `20` is refused (it meant minutes once, undocumented, where the other options' numbers are
 * milliseconds or seconds).
 */
export function parseStallAfterOption(value: string): number {
  const match = /^(\d+(?:\.\d+)?)\s*(ms|s|m|h|d)?$/i.exec(value.trim());
  if (match && match[2] === undefined) {
    throw new UsageError(
      `--stall-after needs a unit (ms, s, m, h or d), e.g. ${match[1]}m for minutes, got ${quote(value)}`,
    );
  }
  const unit = DURATION_UNITS[match?.[2]?.toLowerCase() ?? ""];
  const ms = match && unit ? Math.round(Number(match[1]) * unit) : Number.NaN;
  if (!(ms >= 1000 && ms <= MAX_STALL_AFTER_MS)) {
    throw new UsageError(
      `--stall-after must be a duration from 1s to 7d such as 15m, 90s, 2h or 1d, got ${quote(value)}`,
    );
  }
  return ms;
}

/** `<a>/<b>` with whole numbers, or null. */
function wholePair(value: string): [number, number] | null {
  const match = /^\s*(\d+)\s*\/\s*(\d+)\s*$/.exec(value);
  const a = Number(match?.[1]);
  const b = Number(match?.[2]);
  // Past what a double holds exactly is a number too big for its rule (each caller bounds it), not "not whole".
  return match ? [a, b] : null;
}

/** `--iteration 3/10` → `{ iteration: 3, maxIterations: 10 }` (the rule: checkIteration). */
export function parseIterationOption(value: string): { iteration: number; maxIterations: number } {
  const [i, max] = wholePair(value) ?? [Number.NaN, Number.NaN];
  return checkIteration(i, max, "--iteration", quote(value));
}

/** `--criteria 4/6` → `{ criteriaVerified: 4, criteriaTotal: 6 }` (the rule: checkCriteria). */
export function parseCriteriaOption(value: string): { criteriaVerified: number; criteriaTotal: number } {
  const [verified, total] = wholePair(value) ?? [Number.NaN, Number.NaN];
  return checkCriteria(verified, total, "--criteria", quote(value));
}

/**
 * `"1.25"` → 1.25 US dollars: plain decimal notation only (no sign, exponent, hex, NaN or Infinity, which
 * `Number()` would take); the range is checkCost's. `flag` names the option in the message.
 */
function parseUsdOption(value: string, flag: string): number {
  const trimmed = value.trim();
  const usd = /^(\d+(\.\d*)?|\.\d+)$/.test(trimmed) ? Number(trimmed) : Number.NaN;
  return checkCost(usd, flag, quote(value));
}

export const parseCostOption = (value: string): number => parseUsdOption(value, "--cost");
export const parseMaxCostOption = (value: string): number => parseUsdOption(value, "--max-cost");
