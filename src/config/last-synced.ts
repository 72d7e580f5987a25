import { writeThenCommit } from "../store/atomic-write.js";
import type { FileSystem } from "../util/io.js";
import { isYamlLanguage, locateFrontmatter } from "./frontmatter.js";

/** `2025-10-19T16:30:00`: UTC, whole seconds, no zone suffix (the contract's format). */
export function formatLastSynced(epochMs: number): string {
  return new Date(epochMs).toISOString().slice(0, 19);
}

interface Line {
  /** The line without its line ending. */
  content: string;
  /** "\n", "\r\n" or "" (last line of a text without a final newline). */
  eol: string;
}

/**
 * Writes `github.last_synced: <timestamp>` into task.md's frontmatter by editing text, so that every
 * other byte (comments, unknown keys, quoting, blank lines, CRLF, the body) stays as it was.
 * An existing `last_synced:` directly under the top-level block-style `github:` mapping gets its value
 * replaced (indentation, quoting style and trailing comment kept); otherwise the key is added as the
 * mapping's last child with its children's indentation.
 * Returns null when that cannot be done safely: no frontmatter, no block-style `github:` mapping
 * (flow style `github: {issue_number: 1}` included), or a `last_synced` value that is not one line.
 */
export function setLastSynced(text: string, timestamp: string): string | null {
  const location = locateFrontmatter(text);
  if (!location || !isYamlLanguage(location.language) || /[\r\n]/.test(timestamp)) return null;
  const lines = splitLines(text.slice(location.start, location.end));

  const githubLines = lines.flatMap((line, index) => (isGithubKey(line.content) ? [index] : []));
  if (githubLines.length !== 1) return null;
  const githubIndex = githubLines[0]!;

  // The block runs to the next line at column 0 that is not blank and not a comment.
  let blockEnd = githubIndex + 1;
  while (blockEnd < lines.length && !isTopLevel(lines[blockEnd]!.content)) blockEnd++;
  // `github:` followed by `- item` at column 0 is a sequence, not a mapping.
  if (blockEnd < lines.length && /^-(\s|$)/.test(lines[blockEnd]!.content)) return null;

  const children = lines.slice(githubIndex + 1, blockEnd);
  const firstChild = children.find((line) => !isBlankOrComment(line.content));
  const indent = firstChild ? leadingWhitespace(firstChild.content) : "  ";
  // Tabs cannot indent YAML; `- item` or `? key` children are not a plain mapping.
  if (!/^ +$/.test(indent) || (firstChild && /^[-?]( |$)/.test(firstChild.content.slice(indent.length)))) {
    return null;
  }

  let edited: Line[];
  const existing = children.findIndex(
    (line) => leadingWhitespace(line.content) === indent && keyOf(line.content.slice(indent.length)) !== null,
  );
  if (existing !== -1) {
    const index = githubIndex + 1 + existing;
    const replaced = replaceValue(lines[index]!.content, indent, timestamp);
    const next = lines.slice(index + 1, blockEnd).find((line) => !isBlankOrComment(line.content));
    // A value continued on the next lines (nested block, block scalar) is not ours to rewrite.
    if (replaced === null || (next && leadingWhitespace(next.content).length > indent.length)) return null;
    edited = lines.map((line, i) => (i === index ? { content: replaced, eol: line.eol } : line));
  } else {
    let last = githubIndex;
    for (let i = githubIndex + 1; i < blockEnd; i++) {
      if (/^[ \t]+\S/.test(lines[i]!.content)) last = i;
    }
    const after = lines[last]!;
    if (after.eol === "") return null;
    edited = [
      ...lines.slice(0, last + 1),
      { content: `${indent}last_synced: ${timestamp}`, eol: after.eol },
      ...lines.slice(last + 1),
    ];
  }
  const block = edited.map((line) => line.content + line.eol).join("");
  return text.slice(0, location.start) + block + text.slice(location.end);
}

/**
 * What writing `github.last_synced` came to. `changed`: task.md changed between our read and our
 * rename, twice in a row (another process writing it, or its owner editing it): theirs was kept.
 * `not-owner`: the new file could not be given task.md's owner and group (this process is not root, and
 * task.md is another user's, or of a group it is not in): task.md was left as it is.
 */
export type LastSyncedResult =
  | "written"
  | "unchanged"
  | "no-file"
  | "cannot-edit"
  | "not-utf8"
  | "changed"
  | "not-owner";

/**
 * Records a successful sync in task.md: reads it, edits `github.last_synced` in place, checks that
 * the file still means the same apart from that value, and replaces it atomically (a temporary file
 * in the same directory, then rename; the file's owner, group and mode are kept, a symlink is followed,
 * a hard link elsewhere keeps the old file). A file that
 * changed while being edited is read and edited once more: two processes that finish a run at once
 * (a finalize and a retry) both write it, and the one that loses the race finds the other's edit.
 */
export async function writeLastSynced(
  fs: FileSystem,
  path: string,
  epochMs: number,
): Promise<LastSyncedResult> {
  const first = await writeOnce(fs, path, epochMs);
  return first === "changed" ? writeOnce(fs, path, epochMs) : first;
}

async function writeOnce(fs: FileSystem, path: string, epochMs: number): Promise<LastSyncedResult> {
  const target = await fs.promises.realpath(path).catch(() => null);
  if (target === null) return "no-file";
  const before = await fs.promises.stat(target);
  // Strictly: a file in another encoding (Latin-1) would be written back with U+FFFD for its bytes.
  const bytes = await fs.promises.readFile(target);
  let text: string;
  try {
    text = new TextDecoder("utf-8", { fatal: true, ignoreBOM: true }).decode(bytes);
  } catch {
    return "not-utf8";
  }
  const updated = setLastSynced(text, formatLastSynced(epochMs));
  if (updated === null) return "cannot-edit";
  if (updated === text) return "unchanged";
  if (!(await meansTheSame(text, updated, path))) return "cannot-edit";

  return writeThenCommit(fs, target, updated, Number(before.mode) & 0o777, async (temporary) => {
    const now = await fs.promises.stat(target);
    // Edited meanwhile: theirs wins (the caller reads it again).
    if (now.mtimeMs !== before.mtimeMs || now.size !== before.size) return "changed";
    if (!(await keepOwnerAndMode(fs, temporary, before))) return "not-owner";
    await fs.promises.rename(temporary, target);
    return "written";
  });
}

/**
 * Gives the new file task.md's owner and group, which the rename would otherwise change to this process's
 * (a CI container's root would leave the checkout's task.md root's, which its owner can no longer write),
 * then task.md's mode exactly (the umask took bits off the new file's). False when the owner or group
 * cannot be given (EPERM: only root gives a file to another user, and an owner only to a group it is in).
 */
async function keepOwnerAndMode(
  fs: FileSystem,
  temporary: string,
  before: { uid: number; gid: number; mode: number },
): Promise<boolean> {
  const made = await fs.promises.stat(temporary);
  if (made.uid !== before.uid || made.gid !== before.gid) {
    try {
      await fs.promises.chown(temporary, before.uid, before.gid);
    } catch (error) {
      if ((error as NodeJS.ErrnoException).code === "EPERM") return false;
      throw error;
    }
  }
  // After chown, which takes set-user-ID and set-group-ID bits off: the special bits are kept too.
  await fs.promises.chmod(temporary, before.mode & 0o7777);
  return true;
}

/** Both texts parse to the same frontmatter data (but github.last_synced) and the same body. */
async function meansTheSame(before: string, after: string, path: string): Promise<boolean> {
  // gray-matter is loaded only here, once per finalize, to keep the CLI's start-up light.
  const { parseFrontmatter } = await import("./task-file.js");
  try {
    const a = parseFrontmatter(before, path);
    const b = parseFrontmatter(after, path);
    const github = b.data.github;
    if (!github || typeof github !== "object" || !("last_synced" in github)) return false;
    return a.content === b.content && deepEqual(withoutLastSynced(a.data), withoutLastSynced(b.data));
  } catch {
    return false;
  }
}

function withoutLastSynced(data: Record<string, unknown>): Record<string, unknown> {
  const { last_synced: _ignored, ...github } = (data.github ?? {}) as Record<string, unknown>;
  return { ...data, github };
}

function deepEqual(a: unknown, b: unknown): boolean {
  if (a instanceof Date || b instanceof Date) {
    return a instanceof Date && b instanceof Date && a.getTime() === b.getTime();
  }
  if (typeof a !== "object" || typeof b !== "object" || a === null || b === null) return Object.is(a, b);
  if (Array.isArray(a) !== Array.isArray(b)) return false;
  const keysA = Object.keys(a);
  const keysB = Object.keys(b);
  return (
    keysA.length === keysB.length &&
    keysA.every(
      (key) =>
        Object.hasOwn(b, key) &&
        deepEqual((a as Record<string, unknown>)[key], (b as Record<string, unknown>)[key]),
    )
  );
}

function splitLines(block: string): Line[] {
  if (block === "") return [];
  return block.split(/(?<=\n)/).map((raw) => {
    const eol = raw.endsWith("\r\n") ? "\r\n" : raw.endsWith("\n") ? "\n" : "";
    return { content: raw.slice(0, raw.length - eol.length), eol };
  });
}

/** A top-level `github:` key with nothing after it but a comment (block style). */
function isGithubKey(content: string): boolean {
  return /^(?:github|"github"|'github')[ \t]*:(?:[ \t]+#.*)?[ \t]*$/.test(content);
}

function isTopLevel(content: string): boolean {
  return /^[^\s#]/.test(content);
}

function isBlankOrComment(content: string): boolean {
  return /^\s*(#.*)?$/.test(content);
}

function leadingWhitespace(content: string): string {
  return /^[ \t]*/.exec(content)![0];
}

/** For `last_synced: value` (any quoting of the key), what follows the colon; else null. */
function keyOf(rest: string): string | null {
  const match = /^(?:last_synced|"last_synced"|'last_synced')[ \t]*:(?=[ \t]|$)(.*)$/.exec(rest);
  return match ? match[1]! : null;
}

/** The line with its value replaced by `timestamp`; quoting style and trailing comment kept. */
function replaceValue(content: string, indent: string, timestamp: string): string | null {
  const rest = content.slice(indent.length);
  const afterColon = keyOf(rest)!;
  const keyPart = rest.slice(0, rest.length - afterColon.length);
  const spaces = /^[ \t]*/.exec(afterColon)![0];
  const value = afterColon.slice(spaces.length);
  let valueLength: number;
  let written: string;
  if (value.startsWith('"')) {
    const close = /^"(?:[^"\\]|\\.)*"/.exec(value);
    if (!close) return null;
    valueLength = close[0].length;
    written = `"${timestamp}"`;
  } else if (value.startsWith("'")) {
    const close = /^'(?:[^']|'')*'/.exec(value);
    if (!close) return null;
    valueLength = close[0].length;
    written = `'${timestamp}'`;
  } else if (/^[|>&*!{[]/.test(value)) {
    return null; // block scalar, anchor, alias, tag or flow value
  } else {
    const comment = value.search(/(^|[ \t])#/);
    valueLength = (comment === -1 ? value : value.slice(0, comment)).trimEnd().length;
    written = timestamp;
  }
  // What followed the value (spaces, a comment) stays; `last_synced: # note` gets a space before it.
  const tail = value.slice(valueLength);
  const trailing = valueLength === 0 && tail !== "" ? ` ${tail}` : tail;
  return `${indent}${keyPart}${spaces || " "}${written}${trailing}`;
}
