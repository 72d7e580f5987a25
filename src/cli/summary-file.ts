import { readFileSync } from "node:fs";
import { checkNoNul } from "../config/options.js";
import { quote } from "../config/show-value.js";
import { UsageError } from "../errors.js";
import { utf16Mark } from "../util/utf16.js";

/**
 * A text file's bytes as text: UTF-16 when it starts with a byte order mark (PowerShell's `>` and
 * `Out-File` write UTF-16 LE so), else UTF-8; the mark itself is not part of the text.
 */
export function decodeText(bytes: Uint8Array): string {
  return new TextDecoder(utf16Mark(bytes) ?? "utf-8").decode(bytes);
}

/**
 * `finalize --summary-file`: the merge summary, decoded (decodeText), with no NUL in it (checkNoNul).
 * `-` is standard input (as gh's `--body-file -` and `git commit -F -`), read to its end.
 */
export function readSummaryFile(path: string): string {
  let bytes: Uint8Array;
  try {
    bytes = readFileSync(path === "-" ? 0 : path);
  } catch (error) {
    const code = (error as NodeJS.ErrnoException).code ?? String(error);
    throw new UsageError(`--summary-file: cannot read ${quote(path)}: ${code}`, { cause: error });
  }
  const text = decodeText(bytes);
  checkNoNul(
    text,
    `--summary-file ${quote(path)}`,
    ": save it as UTF-8 text (or UTF-16 with a byte order mark)",
  );
  return text;
}
