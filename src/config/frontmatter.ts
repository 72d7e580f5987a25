/**
 * Where gray-matter finds the frontmatter in a text, located the same way gray-matter 4 does it
 * (after an optional BOM: `---`, not followed by another `-`, an optional language on the same
 * line, up to the first `\n---`), so text surgery touches exactly the block gray-matter parses.
 * Pure and dependency-free: the CLI imports it without loading gray-matter.
 */
interface FrontmatterLocation {
  /** The language named after the opening `---` (trimmed), "" when none. */
  language: string;
  /** Index of the first character of the first line inside the block. */
  start: number;
  /** Index just past the newline that ends the last line inside the block (== start when empty). */
  end: number;
}

export function locateFrontmatter(text: string): FrontmatterLocation | null {
  const offset = text.charCodeAt(0) === 0xfeff ? 1 : 0;
  if (!text.startsWith("---", offset) || text.charAt(offset + 3) === "-") return null;
  const afterOpen = offset + 3;
  const newline = text.indexOf("\n", afterOpen);
  if (newline === -1) return null;
  const rawLanguage = text.slice(afterOpen, text.charAt(newline - 1) === "\r" ? newline - 1 : newline);
  const close = text.indexOf("\n---", afterOpen + rawLanguage.length);
  if (close === -1) return null;
  const start = newline + 1;
  return { language: rawLanguage.trim(), start, end: Math.max(start, close + 1) };
}

/** True for the languages gray-matter reads as YAML (no language means YAML). */
export function isYamlLanguage(language: string): boolean {
  const name = language.toLowerCase();
  return name === "" || name === "yaml" || name === "yml";
}
