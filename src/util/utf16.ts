/**
 * The UTF-16 encoding a text file's byte order mark names (PowerShell's `>` and `Out-File` write UTF-16 LE
 * with one), or null when it starts with none.
 */
export function utf16Mark(bytes: Uint8Array): "utf-16le" | "utf-16be" | null {
  const [first, second] = bytes;
  if (first === 0xff && second === 0xfe) return "utf-16le";
  if (first === 0xfe && second === 0xff) return "utf-16be";
  return null;
}
