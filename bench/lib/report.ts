/** What a section hands back: rows to print and targets to judge. Pure rendering, no I/O. */

export interface Target {
  name: string;
  /** The measured value, formatted. */
  value: string;
  /** The goal, formatted (e.g. "≤ 1.30x"). */
  goal: string;
  pass: boolean;
  /** Informational targets are shown but do not fail the run. */
  informational?: boolean;
}

export interface Section {
  title: string;
  /** Header row first. */
  table: string[][];
  notes: string[];
  targets: Target[];
  /** Rows for the README table: [measure, value, target]. */
  readme: [string, string, string][];
}

/** A plain-text table with aligned columns (first column left, the rest right). */
export function textTable(rows: readonly (readonly string[])[]): string {
  const widths: number[] = [];
  for (const row of rows) {
    row.forEach((cell, i) => {
      widths[i] = Math.max(widths[i] ?? 0, [...cell].length);
    });
  }
  const line = (row: readonly string[]) =>
    row
      .map((cell, i) => {
        const pad = " ".repeat((widths[i] ?? 0) - [...cell].length);
        return i === 0 ? cell + pad : pad + cell;
      })
      .join("  ");
  const [head, ...body] = rows;
  if (!head) return "";
  const rule = widths.map((w) => "-".repeat(w)).join("  ");
  return [line(head), rule, ...body.map(line)].join("\n");
}

export function markdownTable(rows: readonly (readonly string[])[]): string {
  const [head, ...body] = rows;
  if (!head) return "";
  const line = (row: readonly string[]) =>
    `| ${row.map((cell) => cell.replaceAll("|", "\\|")).join(" | ")} |`;
  return [line(head), `|${head.map(() => "---").join("|")}|`, ...body.map(line)].join("\n");
}

export function verdict(target: Target): string {
  if (target.pass) return "PASS";
  return target.informational ? "FAIL (informational)" : "FAIL";
}

/** A section as text on stdout: title, table, notes. */
export function printSection(section: Section): void {
  process.stdout.write(`\n## ${section.title}\n${textTable(section.table)}\n`);
  for (const note of section.notes) process.stdout.write(`  ${note}\n`);
}
