import { describe, expect, it } from "vitest";
import { parseTaskFile } from "../../src/config/task-file.js";
import { UsageError } from "../../src/errors.js";

/** Issue 11, item 9: task.md settings that would be ignored in silence are refused with a clear line. */

describe("task.md frontmatter that YAML would misread", () => {
  it.each([
    [
      "a tab-indented github block",
      "---\ngithub:\n\tissue_number: 5\n---\n",
      'line 3 is indented with a tab, got "\\tissue_number: 5"',
    ],
    [
      "one tab-indented key",
      "---\ngithub:\n  issue_number: 5\n  \trepo: a/b\n---\n",
      'line 4 is indented with a tab, got "  \\trepo: a/b"',
    ],
    [
      "a TOML block",
      "+++\n[github]\nissue_number = 5\n+++\n# Epic\n",
      "frontmatter must be YAML between --- lines, got a +++ (TOML) block",
    ],
    [
      "a TOML block after a BOM",
      "\uFEFF+++\r\nx = 1\r\n+++\r\n",
      "frontmatter must be YAML between --- lines, got a +++ (TOML) block",
    ],
  ])("%s is refused", (_, text, message) => {
    expect(() => parseTaskFile(text, "/epic/task.md")).toThrow(UsageError);
    expect(() => parseTaskFile(text, "/epic/task.md")).toThrow(`/epic/task.md: ${message}`);
  });

  it("accepts tabs inside values, comments, the body, and a +++ line that is not the first", () => {
    const text =
      "---\nnote: |\n  a\tb\ngithub:\n  issue_number: 3 # the\ttracker\n---\n\tindented body\n+++\n";
    expect(parseTaskFile(text, "task.md").issueNumber).toBe(3);
    expect(parseTaskFile("# Epic\n+++\nx = 1\n+++\n", "task.md").issueNumber).toBeNull();
  });
});
