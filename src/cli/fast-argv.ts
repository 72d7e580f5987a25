/**
 * A commander-free reading of argv for the commands workflows call most (update, complete, fail,
 * cancel, log, and the background writer): every event pays the CLI's start-up, and loading commander
 * costs more than the rest of such a call. It accepts only the plain, well-formed shapes; anything
 * else (help, an unknown or repeated option, a missing value) returns null and the full program
 * (commander) handles the call, so messages and behaviour stay the same.
 */

export interface FastCall {
  command: "update" | "complete" | "fail" | "cancel" | "log" | "__flush";
  positionals: string[];
  /** Option values by long name (camelCase); flags are "true". */
  values: Record<string, string>;
}

const COMMON_VALUES = ["dir", "repo", "api-url", "issue", "comment-mode", "min-interval", "store", "epic"];
const COMMON_FLAGS: Record<string, string> = {
  "--quiet": "quiet",
  "-q": "quiet",
  "--verbose": "verbose",
  "-v": "verbose",
};

const COMMANDS: Record<FastCall["command"], { positionals: number; values: string[]; required: string[] }> = {
  update: { positionals: 1, values: ["status", "files"], required: ["status"] },
  complete: { positionals: 1, values: ["summary"], required: [] },
  fail: { positionals: 1, values: ["error"], required: ["error"] },
  cancel: { positionals: 1, values: ["reason"], required: [] },
  log: { positionals: 2, values: [], required: [] },
  __flush: { positionals: 0, values: [], required: [] },
};

const camel = (name: string) => name.replace(/-([a-z])/g, (_, c: string) => c.toUpperCase());

export function parseFastArgv(args: readonly string[]): FastCall | null {
  const [name, ...rest] = args;
  if (name === undefined || !Object.hasOwn(COMMANDS, name)) return null;
  const spec = COMMANDS[name as FastCall["command"]];
  const allowed = new Set([...COMMON_VALUES, ...spec.values]);
  const positionals: string[] = [];
  const values: Record<string, string> = {};
  for (let i = 0; i < rest.length; i++) {
    const arg = rest[i]!;
    if (arg === "--") return null;
    const flag = COMMON_FLAGS[arg];
    if (flag) {
      values[flag] = "true";
      continue;
    }
    if (!arg.startsWith("-") || arg === "-") {
      positionals.push(arg);
      continue;
    }
    if (!arg.startsWith("--")) return null;
    const eq = arg.indexOf("=");
    const key = eq < 0 ? arg.slice(2) : arg.slice(2, eq);
    if (!allowed.has(key) || Object.hasOwn(values, camel(key))) return null;
    const value = eq < 0 ? rest[++i] : arg.slice(eq + 1);
    if (value === undefined || (eq < 0 && value.startsWith("-") && value !== "-")) return null;
    values[camel(key)] = value;
  }
  if (positionals.length !== spec.positionals) return null;
  if (spec.required.some((key) => !Object.hasOwn(values, key))) return null;
  return { command: name as FastCall["command"], positionals, values };
}
