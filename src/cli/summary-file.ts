import { closeSync, openSync, readSync } from "node:fs";
import { quote } from "../config/show-value.js";
import { UsageError } from "../errors.js";
import { MAX_MERGE_SUMMARY } from "../model/agent-text.js";
import { utf16Mark } from "../util/utf16.js";

/**
 * How much of a summary file is held as text (UTF-16 units): four times what the run keeps, room for
 * the secrets masked before the cut. The rest is read and counted, not held: a build log of gigabytes,
 * or an endless pipe, costs no memory (a whole one had crashed finalize past 512 MiB, Node's longest string).
 */
const HELD_CHARS = 4 * MAX_MERGE_SUMMARY;
const CHUNK_BYTES = 64 * 1024;

/**
 * `finalize --summary-file`: the merge summary, as UTF-16 when it starts with a byte order mark (PowerShell's
 * `>` and `Out-File` write UTF-16 LE so), else UTF-8, the mark not part of it, with no NUL in it: its
 * first HELD_CHARS characters as `text`, and how many follow them (`unread`, UTF-16 units, as the run
 * counts what it does not keep). `-` is standard input (as gh's `--body-file -` and `git commit -F -`),
 * read to its end.
 */
export function readSummaryFile(path: string): { text: string; unread: number } {
  const what = `--summary-file ${quote(path)}`;
  const advice = ": save it as UTF-8 text (or UTF-16 with a byte order mark)";
  let fd: number | null = null;
  try {
    fd = path === "-" ? 0 : openSync(path, "r");
    const chunk = Buffer.alloc(CHUNK_BYTES);
    let decoder: InstanceType<typeof TextDecoder> | null = null;
    /** The first bytes, until there are two (a byte order mark's) or the input ends. */
    let start = Buffer.alloc(0);
    let text = "";
    let unread = 0;
    for (;;) {
      const size = readSync(fd, chunk, 0, CHUNK_BYTES, null);
      let bytes: Uint8Array = chunk.subarray(0, size);
      if (decoder === null) {
        start = Buffer.concat([start, bytes]);
        if (start.length < 2 && size > 0) continue;
        decoder = new TextDecoder(utf16Mark(start) ?? "utf-8");
        bytes = start;
      }
      const piece = decoder.decode(bytes, { stream: size > 0 });
      const nul = piece.indexOf("\u0000");
      if (nul >= 0) {
        const at = text.length + unread + nul + 1;
        throw new UsageError(
          `${what} may not contain NUL characters (U+0000), got one at character ${at}: ${quote(text + piece)}${advice}`,
        );
      }
      const room = HELD_CHARS - text.length;
      text += piece.slice(0, room);
      unread += Math.max(0, piece.length - room);
      if (size === 0) break;
    }
    return { text, unread };
  } catch (error) {
    if (error instanceof UsageError) throw error;
    const code = (error as NodeJS.ErrnoException).code ?? String(error);
    throw new UsageError(`--summary-file: cannot read ${quote(path)}: ${code}`, { cause: error });
  } finally {
    if (fd !== null && fd !== 0) closeSync(fd);
  }
}
