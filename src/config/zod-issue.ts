import type { z } from "zod";
import { quote } from "./show-value.js";

/**
 * A zod issue in words, for the three places that check data with a schema (the run state, a queue file,
 * the library's arguments): each says `<field> <expectation>, got <value>` in its own frame. Types only
 * from zod here: this module costs nothing until a schema is loaded.
 */

/**
 * The issue a message tells of: the first, but for zod's own safe-integer bound of `z.int()` when the
 * schema's bound on the same side follows it (1e20 for `z.int().max(1000)` is "at most 1000", -1e20 for
 * `z.int().min(0)` "at least 0", not ±9007199254740991).
 */
export function firstIssue(issues: readonly z.core.$ZodIssue[]): z.core.$ZodIssue {
  const [first, next] = issues;
  const safeBound = (first?.code === "too_big" || first?.code === "too_small") && first.origin === "int";
  return safeBound && next?.code === first.code ? next : first!;
}

/** What the field must be, as the rest of a sentence that starts with its name. */
export function expectation(issue: z.core.$ZodIssue): string {
  if (issue.code === "invalid_value") return `must be one of ${issue.values.map(String).join(", ")}`;
  if (issue.code === "invalid_type") {
    const kind = issue.expected === "int" ? "whole number" : issue.expected;
    return `must be ${/^[aeiou]/.test(kind) ? "an" : "a"} ${kind}`;
  }
  if (issue.code === "too_small") {
    if (issue.origin === "string" && Number(issue.minimum) === 1) return "cannot be empty";
    return `must be at least ${String(issue.minimum)}`;
  }
  if (issue.code === "too_big") return `must be at most ${String(issue.maximum)}`;
  if (issue.code === "unrecognized_keys") {
    return issue.keys.length === 1
      ? `has an unknown key ${issue.keys[0]}`
      : `has unknown keys ${issue.keys.join(", ")}`;
  }
  const message = issue.message.replace(/^Invalid input: /, "");
  return /^(must|cannot)\b/.test(message) ? message : `is invalid (${message})`;
}

/** The value the issue is about: the one at its path in `value` (undefined when there is none). */
export function valueAt(value: unknown, issue: z.core.$ZodIssue): unknown {
  return issue.path.reduce<unknown>(
    (node, key) =>
      node !== null && typeof node === "object" ? (node as Record<PropertyKey, unknown>)[key] : undefined,
    value,
  );
}

/**
 * `text` as a JSON object `schema` takes (a queue file, a kept change's file): its data, else why not, as
 * one phrase (`not valid JSON`, `not a JSON object`, or the first field's problem: fieldProblem).
 */
export function checkJsonObject<T>(text: string, schema: z.ZodType<T>): { data: T } | string {
  let value: unknown;
  try {
    value = JSON.parse(text);
  } catch {
    return "not valid JSON";
  }
  if (typeof value !== "object" || value === null || Array.isArray(value)) return "not a JSON object";
  const result = schema.safeParse(value);
  return result.success ? { data: result.data } : fieldProblem(value, result.error.issues);
}

/**
 * The first problem the issues find in `value`, as one phrase: `<field> is missing`, or `<field> <what
 * it must be>, got <the value>`.
 */
function fieldProblem(value: unknown, issues: readonly z.core.$ZodIssue[]): string {
  const issue = firstIssue(issues);
  const field = issue.path.map(String).join(".");
  const found = valueAt(value, issue);
  return found === undefined ? `${field} is missing` : `${field} ${expectation(issue)}, got ${quote(found)}`;
}
