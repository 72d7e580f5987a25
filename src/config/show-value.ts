import { inspect } from "node:util";
import { holdsSecret, maskSecrets } from "../github/redact.js";

const MAX_SHOWN = 80;

/**
 * Secrets no message shows, whatever their shape: the CLI's environment tokens and database password
 * (set once by the CLI, see hideInMessages). A process-wide list, as the messages are: a value quoted
 * anywhere is masked before it is shortened.
 */
let hidden: readonly string[] = [];

/** Masks `secrets` in every message quote() and masked() build from now on. */
export function hideInMessages(secrets: readonly string[]): void {
  hidden = [...secrets];
}

/** Where secrets learned later come from (a reporter's: a password ~/.pgpass gave, see hideFrom). */
let sources: (() => readonly string[])[] = [];

/**
 * Masks what `source` gives too, as it is when a message is built: secrets learned as a call goes (a
 * reporter's, the tokens gh gave the CLI's failure, see hideGhTokens).
 */
export function hideFrom(source: () => readonly string[]): void {
  sources = [...sources, source];
}

const allHidden = (): readonly string[] =>
  sources.length === 0 ? hidden : [...hidden, ...sources.flatMap((source) => source())];

/** `text` with the hidden secrets and anything shaped like a GitHub token as `***`. */
export const masked = (text: string): string => maskSecrets(text, allHidden());

/**
 * Whether `text` holds one of the hidden secrets where maskSecrets would mask it: anywhere, or a short one
 * where it stands alone; as written or percent-encoded.
 */
export const holdsHidden = (text: string): boolean => holdsSecret(text, allHidden());

/**
 * A message as the CLI writes it on stderr: the hidden secrets masked (masked); should one still be there
 * in another form (percent-encoded any way, `%30%31…`, which no mask can follow), every quoted value
 * holding it shown as `***` (the message still says what was wrong), else the whole message withheld;
 * then one line, its invisible characters escaped (a line break in a path cannot forge another line).
 */
export function messageLine(text: string): string {
  let shown = masked(text);
  if (holdsHidden(shown)) {
    shown = shown.replace(/"(?:[^"\\]|\\.)*"|'[^'\n]*'/g, (value) =>
      holdsHidden(value) ? `${value[0]}***${value[0]}` : value,
    );
  }
  if (holdsHidden(shown)) shown = "a value holding a secret was refused (not shown)";
  return escapeInvisible(shown);
}

/**
 * A value as it appears in an error message, the one formatter of them all: one line, JSON (strings in
 * double quotes) where JSON shows the value truly, so `got "abc"` and `got 0` read the same everywhere;
 * where it would not (NaN, ±Infinity and -0 become null or 0, a bigint throws, a Map becomes {}), Node's
 * `util.inspect`: `NaN`, `-0`, `5n`, `Symbol(id)`, `{ n: NaN }`. A value left out is "nothing", a
 * function "a function". Shortened when long; anything shaped like a GitHub token, and the secrets
 * hidden (hideInMessages), is shown as `***`, so that no message echoes a token given in the wrong place.
 */
export function quote(value: unknown): string {
  if (value === undefined) return "nothing";
  if (typeof value === "function") return "a function";
  if (typeof value === "string") return escapeInvisible(JSON.stringify(shorten(masked(value))));
  if (value instanceof Date) return Number.isNaN(value.getTime()) ? "an invalid date" : value.toISOString();
  // One line (compact: inspect puts a long array's items on lines of their own, whatever breakLength), and
  // bounded: shown shortened anyway.
  const shown =
    trueJson(value) ??
    inspect(value, {
      breakLength: Number.POSITIVE_INFINITY,
      compact: true,
      depth: 2,
      maxArrayLength: 20,
      maxStringLength: 200,
    });
  return escapeInvisible(shorten(masked(shown)));
}

/** How many values of a value a message's JSON of it visits: more than its 80 characters can show. */
const SHOWN_VALUES = 1000;

/** The value's JSON (its start, when long), or null where JSON would show something else than the value. */
function trueJson(value: unknown): string | null {
  let faithful = true;
  let visited = 0;
  try {
    const json = JSON.stringify(value, (_key, item: unknown) => {
      // Each value visited writes a character at least, and a message shows the first 80: past
      // SHOWN_VALUES the rest is left out (a YAML alias bomb in task.md expands to billions of them).
      if (++visited > SHOWN_VALUES) return undefined;
      faithful &&= shownTruly(item);
      return item;
    });
    return faithful ? json : null;
  } catch {
    return null; // a bigint, a cycle
  }
}

/** Whether JSON shows `item` (after its toJSON) as it is. */
function shownTruly(item: unknown): boolean {
  if (typeof item === "number") return Number.isFinite(item) && !Object.is(item, -0);
  if (item === null || typeof item === "string" || typeof item === "boolean") return true;
  if (typeof item !== "object") return false; // undefined, a function, a symbol, a bigint
  const prototype = Object.getPrototypeOf(item);
  return Array.isArray(item) || prototype === Object.prototype || prototype === null;
}

/**
 * A name the user typed, as a message shows it unquoted (an unknown option or command, in commander's
 * quotes): its invisible characters escaped, shortened when long, so that it stays one short line.
 */
export function shownName(text: string): string {
  return escapeInvisible(shorten(masked(text)));
}

/**
 * Every character that is not visible on its own, as Python's `str.isprintable` draws the line: controls
 * (C0, DEL, C1 such as U+0085), format characters (the zero-width space and joiners, the word joiner, the
 * soft hyphen, bidi overrides, isolates and marks, the BOM), line and paragraph separators, every space but
 * the ASCII one (a no-break space), private-use and unassigned code points, and lone surrogates.
 */
let invisible: RegExp | null = null;

/**
 * INVISIBLE's pattern, made when first used: V8 checks a literal's Unicode property classes as the
 * module loads (ICU's tables: 2.4 million instructions, 1.4% of a sync-off `update`), and only messages
 * use it.
 */
const INVISIBLE = (): RegExp => {
  // biome-ignore lint/complexity/useRegexLiterals: a literal is checked when the module is parsed, even in a function
  invisible ??= new RegExp("(?! )[\\p{C}\\p{Z}]", "gu");
  return invisible;
};

/**
 * `shown` with its invisible characters (INVISIBLE) escaped as JSON escapes them, `\u200b` (one beyond
 * U+FFFF as its two halves), so that a message neither reaches the terminal raw (a DEL erases, an override
 * reorders the line) nor shows one text as another (`"agents_w\u200b"` is not `"agents_w"`). JSON escapes
 * C0 controls only, and `util.inspect` leaves them raw in a symbol's description and an error's stack.
 */
export function escapeInvisible(shown: string): string {
  return shown.replace(INVISIBLE(), (char) =>
    char
      .split("")
      .map((unit) => `\\u${unit.charCodeAt(0).toString(16).padStart(4, "0")}`)
      .join(""),
  );
}

/** At most MAX_SHOWN characters (code points: a surrogate pair is never cut in two). */
function shorten(text: string): string {
  if (text.length <= MAX_SHOWN) return text;
  const points = Array.from(text);
  return points.length > MAX_SHOWN ? `${points.slice(0, MAX_SHOWN - 3).join("")}...` : text;
}
