import matter from "gray-matter";
import { load as loadYaml } from "js-yaml";
import { z } from "zod";
import { UsageError } from "../errors.js";
import type { CommentMode } from "../model/types.js";
import { isYamlLanguage, locateFrontmatter } from "./frontmatter.js";
import { formatLastSynced } from "./last-synced.js";
import { MAX_INTERVAL_MS, MAX_ISSUE_NUMBER, TOO_BIG_ISSUE } from "./options.js";
import { isRepoSlug } from "./repo-slug.js";
import { quote } from "./show-value.js";
import { firstIssue } from "./zod-issue.js";

/** What task.md's `github` block says. null: not given. */
export interface TaskSettings {
  issueNumber: number | null;
  syncEnabled: boolean;
  repo: string | null;
  commentMode: CommentMode | null;
  minIntervalMs: number | null;
  lastSynced: string | null;
  /**
   * Settings task.md seems to give that are not read, for a warning: a key under `github:` that is not a
   * setting (a misspelt `issue-number`), a `GitHub:` block, a `---` block that does not start the file.
   */
  unread: string[];
}

/** The expectation each field's error message states. */
const EXPECTED = {
  issue_number: "must be a positive integer",
  sync_enabled: "must be true or false",
  repo: "must be owner/name",
  last_synced: "must be a timestamp such as 2025-10-19T16:30:00",
  comment_mode: "must be edit or append",
  min_interval_ms: `must be a whole number of milliseconds from 0 to ${MAX_INTERVAL_MS}`,
} as const;

/** An empty value (`key:`) counts as absent. */
const absentIfNull = (value: unknown) => (value === null ? undefined : value);
/** A quoted whole number (`"12"`) is read as the number. */
const wholeNumber = (value: unknown) =>
  typeof value === "string" && /^\s*\d+\s*$/.test(value) ? Number(value) : absentIfNull(value);

const githubSchema = z.object({
  issue_number: z.preprocess(wholeNumber, z.int().min(1).max(MAX_ISSUE_NUMBER).optional()),
  sync_enabled: z.preprocess(absentIfNull, z.boolean().default(true)),
  repo: z.preprocess(absentIfNull, z.string().refine(isRepoSlug).optional()),
  last_synced: z.preprocess(
    absentIfNull,
    z
      .union([
        z.date().refine((date) => !Number.isNaN(date.getTime())),
        z.string().transform((text) => text.trim()),
      ])
      .optional(),
  ),
  comment_mode: z.preprocess(absentIfNull, z.enum(["edit", "append"]).optional()),
  min_interval_ms: z.preprocess(wholeNumber, z.int().min(0).max(MAX_INTERVAL_MS).optional()),
});

/** The settings task.md's `github` block may hold. */
const SETTING_KEYS: readonly string[] = Object.keys(githubSchema.shape);

/**
 * Parses task.md: YAML frontmatter whose `github` mapping configures the sync. No frontmatter or
 * no `github` key is valid (nothing configured). Unknown keys are ignored. Pure; `path` only names
 * the file in messages. Throws a one-line UsageError naming the file, the field and the value.
 */
export function parseTaskFile(text: string, path: string): TaskSettings {
  const data = parseFrontmatter(text, path).data;
  const github = data.github;
  const unread = unreadSettings(text, data);
  if (github === undefined || github === null) return settingsFrom(githubSchema.parse({}), unread);
  if (!isMapping(github)) {
    throw new UsageError(
      `${path}: github must be a mapping of settings (issue_number, repo, ...), got ${quote(github)}`,
    );
  }
  const result = githubSchema.safeParse(github);
  if (!result.success) {
    const issue = firstIssue(result.error.issues);
    const field = issue?.path[0];
    if (typeof field === "string" && field in EXPECTED) {
      const expected =
        field === "issue_number" && issue?.code === "too_big"
          ? TOO_BIG_ISSUE
          : EXPECTED[field as keyof typeof EXPECTED];
      throw new UsageError(`${path}: github.${field} ${expected}, got ${quote(github[field])}`, {
        cause: result.error,
      });
    }
    throw new UsageError(`${path}: invalid github settings: ${issue?.message ?? "unknown problem"}`, {
      cause: result.error,
    });
  }
  return settingsFrom(result.data, unread);
}

/** What task.md seems to set but is not read (see TaskSettings.unread), each as a warning's words. */
function unreadSettings(text: string, data: Record<string, unknown>): string[] {
  const unread: string[] = [];
  if (locateFrontmatter(text) === null && /^\uFEFF?\s+---[ \t]*\r?\n/.test(text)) {
    unread.push(
      "its --- block does not start the file (a blank line or a space before it): its settings are not read",
    );
  }
  for (const key of Object.keys(data)) {
    if (key !== "github" && key.toLowerCase() === "github") {
      unread.push(`${quote(key)} is not read: the settings' key is github, in lower case`);
    } else if (settingMeant(key) !== undefined) {
      unread.push(`${quote(key)} at the top level is not read: the settings go under github:`);
    }
  }
  const github = data.github;
  if (isMapping(github)) {
    for (const key of Object.keys(github)) {
      if (SETTING_KEYS.includes(key)) continue;
      const meant = settingMeant(key);
      unread.push(
        `github.${key} is not a setting (${SETTING_KEYS.join(", ")}): ignored${meant ? `; did you mean ${meant}?` : ""}`,
      );
    }
  }
  return unread;
}

/**
 * The setting a key means, written another way: `issueNumber`, `issue-number`, `Issue Number`,
 * `syncenabled` for sync_enabled (case, separators and their absence aside); undefined for none.
 */
function settingMeant(key: string): string | undefined {
  const squash = (text: string) => text.toLowerCase().replace(/[-_\s]+/g, "");
  return SETTING_KEYS.find((setting) => squash(setting) === squash(key));
}

/**
 * The frontmatter as gray-matter reads it (`data` is `{}` when there is none) and the body.
 * Only YAML is accepted: gray-matter would evaluate a `---js` block as JavaScript.
 */
export function parseFrontmatter(
  text: string,
  path: string,
): { data: Record<string, unknown>; content: string } {
  const language = declaredLanguage(text);
  if (language !== null && !isYamlLanguage(language)) {
    throw new UsageError(`${path}: frontmatter must be YAML, got a ${quote(language)} block`);
  }
  // gray-matter reads only `---` blocks: a TOML block (`+++`, as Hugo writes) would be ignored in silence.
  if (/^\uFEFF?\+\+\+[ \t]*\r?\n/.test(text)) {
    throw new UsageError(
      `${path}: frontmatter must be YAML between --- lines, got a +++ (TOML) block: write it as YAML`,
    );
  }
  const tabbed = tabIndentedLine(text);
  if (tabbed) {
    throw new UsageError(
      `${path}: line ${tabbed.line} is indented with a tab, got ${quote(tabbed.text)}: YAML indents with spaces only`,
    );
  }
  let file: { data: unknown; content: string };
  try {
    // An options object turns gray-matter's cache off (it would hand back a shared object).
    file = matter(text, { language: "yaml", engines: { yaml: readYaml, javascript: refuseJavaScript } });
  } catch (error) {
    throw new UsageError(`${path}: invalid YAML frontmatter: ${reasonOf(error)}`, { cause: error });
  }
  if (!isMapping(file.data)) {
    throw new UsageError(
      `${path}: frontmatter must be a YAML mapping (key: value lines), got ${quote(file.data)}`,
    );
  }
  return { data: file.data, content: file.content };
}

/**
 * YAML 1.2 (js-yaml 4) rather than gray-matter's own js-yaml 3, which reads numbers as YAML 1.1 does:
 * `issue_number: 012` was issue 10 there (octal) and `1:30` was 90 (base 60), posting on another issue.
 */
function readYaml(text: string): object {
  return (loadYaml(text) ?? {}) as object;
}

function settingsFrom(github: z.output<typeof githubSchema>, unread: string[]): TaskSettings {
  const lastSynced = github.last_synced;
  return {
    issueNumber: github.issue_number ?? null,
    syncEnabled: github.sync_enabled,
    repo: github.repo ?? null,
    commentMode: github.comment_mode ?? null,
    minIntervalMs: github.min_interval_ms ?? null,
    lastSynced:
      lastSynced instanceof Date ? formatLastSynced(lastSynced.getTime()) : lastSynced ? lastSynced : null,
    unread,
  };
}

/**
 * The first line of the YAML block whose indentation holds a tab, before its content (js-yaml reads
 * such a block as something else without a word: a tab-indented `github:` block came out empty).
 */
function tabIndentedLine(text: string): { line: number; text: string } | null {
  const block = locateFrontmatter(text);
  if (!block) return null;
  const lines = text.slice(block.start, block.end).split("\n");
  const index = lines.findIndex((line) => /^ *\t[ \t]*[^\s#]/.test(line));
  if (index < 0) return null;
  const before = text.slice(0, block.start).split("\n").length;
  return { line: before + index, text: lines[index]!.replace(/\r$/, "") };
}

/** The text after an opening `---` on the first line, or null when the text has no frontmatter. */
function declaredLanguage(text: string): string | null {
  const body = text.charCodeAt(0) === 0xfeff ? text.slice(1) : text;
  if (!body.startsWith("---") || body.charAt(3) === "-") return null;
  const newline = body.search(/\r?\n/);
  return (newline === -1 ? body.slice(3) : body.slice(3, newline)).trim();
}

function isMapping(value: unknown): value is Record<string, unknown> {
  return typeof value === "object" && value !== null && !Array.isArray(value) && !(value instanceof Date);
}

/** js-yaml's reason, first line only (its message goes on with a snippet of the file). */
function reasonOf(error: unknown): string {
  // js-yaml's error: its reason and where (0-based, in the block gray-matter hands it, which starts on
  // the opening `---` line: its line is task.md's).
  const { reason, mark } = (error ?? {}) as { reason?: unknown; mark?: { line?: unknown; column?: unknown } };
  if (typeof reason === "string" && typeof mark?.line === "number" && typeof mark.column === "number") {
    return `${reason} at line ${mark.line + 1}, column ${mark.column + 1}`;
  }
  const message = error instanceof Error ? error.message : String(error);
  const firstLine = message.split(/\r?\n/, 1)[0] ?? "";
  return firstLine.replace(/:\s*$/, "").trim() || "unreadable";
}

function refuseJavaScript(): never {
  throw new Error("JavaScript frontmatter is not supported");
}
