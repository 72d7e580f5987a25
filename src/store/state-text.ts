import type { RunState } from "../model/types.js";

/**
 * The run state as the text of its file: JSON, with a last key `"checksum"` over the rest. A file whose
 * checksum holds was written by this store as it is and is read without a schema check (loading zod
 * would cost every call milliseconds); any other file (edited by hand, written before checksums, or under
 * another revision) is checked against the schema in state-schema.ts. Pure.
 */

/** The advice a message about an unreadable state file ends with. */
export const FORCE =
  ": start a new run with init --force (it keeps the file aside, as state.json.corrupt or the first free state.json.N.corrupt)";
export const FIX_OR_FORCE =
  " (edited by hand?): fix it, or start a new run with init --force (it keeps the file aside, as state.json.corrupt or the first free state.json.N.corrupt)";

/** Bump when the schema gains a field with a default: files of an older revision are checked (and defaulted). */
const REVISION = "r2";
const KEY = ',"checksum":"';

/** Texts from this length on are checksummed natively (zlib's CRC-32); shorter ones in JavaScript. */
const NATIVE_FROM = 16_384;

/**
 * The checksum of a state's JSON. A loop in JavaScript runs interpreted in a short process (about 50 ns a
 * character cold): fine for a run of a few agents, milliseconds for a thousand. zlib's CRC-32 is native
 * but costs about a millisecond to load, so it is used only for large states. The choice follows the
 * length, so writer and reader agree.
 */
function checksum(body: string): string {
  if (body.length < NATIVE_FROM) return hash53(body);
  const { crc32 } = process.getBuiltinModule("node:zlib");
  return `${body.length.toString(16)}-${crc32(body).toString(16)}`;
}

/** cyrb53 (bryc, public domain): a fast 53-bit string hash; node:crypto costs milliseconds to load. */
function hash53(text: string): string {
  let h1 = 0xdeadbeef;
  let h2 = 0x41c6ce57;
  for (let index = 0; index < text.length; index++) {
    const code = text.charCodeAt(index);
    h1 = Math.imul(h1 ^ code, 2654435761);
    h2 = Math.imul(h2 ^ code, 1597334677);
  }
  h1 = Math.imul(h1 ^ (h1 >>> 16), 2246822507) ^ Math.imul(h2 ^ (h2 >>> 13), 3266489909);
  h2 = Math.imul(h2 ^ (h2 >>> 16), 2246822507) ^ Math.imul(h1 ^ (h1 >>> 13), 3266489909);
  return (4294967296 * (2097151 & h2) + (h1 >>> 0)).toString(16);
}

export function stateToText(state: RunState): string {
  const body = JSON.stringify(state);
  return `${body.slice(0, -1)}${KEY}${REVISION}-${checksum(body)}"}\n`;
}

/** The state when `text` is exactly as stateToText wrote it; null otherwise (the caller checks the schema). */
export function trustedState(text: string): RunState | null {
  const at = text.lastIndexOf(KEY);
  if (at < 0) return null;
  const tail = text.slice(at + KEY.length).trimEnd();
  const body = `${text.slice(0, at)}}`;
  if (tail !== `${REVISION}-${checksum(body)}"}`) return null;
  return JSON.parse(body) as RunState;
}
