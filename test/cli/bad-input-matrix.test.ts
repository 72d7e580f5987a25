import { cp, mkdtemp, readdir, readFile, rm, writeFile } from "node:fs/promises";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { quote, shownName } from "../../src/config/show-value.js";
import { runCli, stopFlushers, taskMd } from "../support/cli.js";
import { type FakeGitHub, startFakeGitHub } from "../support/fake-github/index.js";

/**
 * The bad-input standard, for every command and option: one line on stderr saying what is wrong and with
 * which value (shortened and escaped as `quote` shows it), exit 2, and the epic directory byte for byte as
 * it was (no state change, no queue file, task.md untouched), no GitHub request.
 * Outside it, by design: free text (a summary, an error, a log message) takes any character but NUL; an
 * empty PARALLEL_PROGRESS_STORE or PARALLEL_PROGRESS_EPIC is an unset one; COLUMNS other than a positive
 * whole number is not set (the terminal's width); a run's saved API URL wins over GITHUB_API_URL after
 * init; an option given twice takes the last value (commander's rule).
 */

const TOKEN = "ghp_badinputtoken0123456789abcdefghijklmn";
const LONG = "x".repeat(100_000);
/** Hostile values for a number. */
const NUMBERS = ["", " ", "1\n2", "1\t2", "\u0007", LONG, "-1", "NaN", "Infinity", "1e309", "5s", "٣"];
/** Hostile values for a word (a name, a mode, a URL). */
const WORDS = ["", " ", "a\nb", "a\tb", "\u0007", LONG, "-1", "NaN"];

interface Case {
  name: string;
  /** The arguments after `--dir <copy>` is added (unless `dir` says otherwise). */
  args: string[];
  env?: Record<string, string>;
  /** What the line must contain: the option or argument named, the value shown. */
  names: string;
  shows?: string | null;
  /** The value shown (default: the last argument). */
  value?: string;
  /** `--dir` given by the case itself. */
  ownDir?: boolean;
}

let gh: FakeGitHub;
let template: string;
let otherAgent: string;
const scratch: string[] = [];

async function tempDir(): Promise<string> {
  const dir = await mkdtemp(join(tmpdir(), "pp-bad-"));
  scratch.push(dir);
  return dir;
}

/** Every file under `dir`, path → bytes (base64), to compare before and after. */
async function snapshot(dir: string): Promise<Record<string, string>> {
  const files: Record<string, string> = {};
  const walk = async (folder: string, prefix: string): Promise<void> => {
    for (const entry of await readdir(folder, { withFileTypes: true })) {
      const path = join(folder, entry.name);
      if (entry.isDirectory()) await walk(path, `${prefix}${entry.name}/`);
      else files[`${prefix}${entry.name}`] = (await readFile(path)).toString("base64");
    }
  };
  await walk(dir, "");
  return files;
}

const env = () => ({ GITHUB_TOKEN: TOKEN, GITHUB_API_URL: gh.url });

beforeAll(async () => {
  gh = await startFakeGitHub({ tokens: { [TOKEN]: "octo-bot" } });
  template = await tempDir();
  await writeFile(join(template, "task.md"), taskMd(123));
  const cli = (dir: string, ...args: string[]) =>
    runCli([...args, "--dir", dir, "--min-interval", "0"], { env: env() });
  expect((await cli(template, "init", "--epic", "E", "--domains", "a,b")).code).toBe(0);
  expect((await cli(template, "update", "a", "--status", "in_progress", "--files", "1/4")).code).toBe(0);
  await stopFlushers(template);
  const other = await tempDir();
  const init = await runCli(["init", "--epic", "O", "--domains", "other", "--dir", other]);
  otherAgent = init.stdout.trim().split("\t")[1] ?? "";
  expect(otherAgent).toMatch(/^impl-oth-/);
}, 30_000);

afterAll(async () => {
  await gh?.close();
  for (const dir of scratch) await rm(dir, { recursive: true, force: true });
});

/** `option` given each of `values` after `base`; the line names `option` and shows the value. */
function valueCases(base: string[], option: string, values: readonly string[], names = option): Case[] {
  return values.map((value) => ({
    name: `${base.slice(0, 2).join(" ")} ${option} ${quote(value)}`,
    args: option === "" ? [...base, value] : [...base, option, value],
    names,
  }));
}

const UPDATE = ["update", "a", "--status", "in_progress"];
/** A database URL where none answers. */
const DOWN = "postgres://u@127.0.0.1:9/db";

function cases(): Case[] {
  return [
    // The common options, on a command that changes the run and on one that only reads it.
    ...[UPDATE, ["status"]].flatMap((base) => [
      ...valueCases(base, "--issue", [...NUMBERS, "0", "2147483648", "3000000000"]),
      ...valueCases(base, "--min-interval", NUMBERS),
      ...valueCases(base, "--comment-mode", WORDS),
      ...valueCases(base, "--epic", ["", " ", "\u0007", LONG, "E\u0085"]),
      ...valueCases(base, "--store", ["", " ", "mysql://x", "\u0007", LONG]),
      ...valueCases(base, "--repo", WORDS),
      ...valueCases(base, "--api-url", WORDS),
    ]),
    { name: "--dir empty", args: ["status", "--dir", ""], names: "--dir", shows: quote(""), ownDir: true },
    { name: "--dir a file", args: ["status", "--dir", "FILE"], names: "--dir", shows: null, ownDir: true },
    // Paths too long for the system: a name longer than a file system takes (under the copy, or under a
    // folder not made yet), a path past PATH_MAX, one that leaves no room for the run's files inside it.
    ...[["status"], UPDATE, ["init", "--epic", "E2", "--force", "--domains", "c"], ["finalize"]].flatMap(
      (base) =>
        ["LONGNAME", "LONGNAME/deeper", "NEW/LONGNAME", "DEEP", "ROOMLESS"].map((path) => ({
          name: `${base[0]} --dir ${path}`,
          args: [...base, "--dir", path],
          names: "--dir",
          ownDir: true,
        })),
    ),
    ...valueCases(["finalize"], "--summary-file", ["LONGNAME", "DEEP"]),
    {
      name: "--dir with a newline",
      args: ["status", "--dir", "/nonexistent/a\nb"],
      names: "(/nonexistent/a\\u000ab)",
      shows: null,
      ownDir: true,
    },
    // Each command's own options and arguments.
    ...valueCases(["update", "a"], "--status", [...WORDS, "5s", "٣"]),
    ...["--files", "--iteration", "--criteria"].flatMap((option) =>
      valueCases(UPDATE, option, [
        "",
        " ",
        "1/\u0007",
        LONG,
        "-1/2",
        "NaN/2",
        "Infinity/2",
        "1e309/2",
        "5s/6",
        "٣/٤",
      ]),
    ),
    ...valueCases(UPDATE, "--cost", NUMBERS),
    ...valueCases(
      ["init", "--epic", "E2", "--force", "--domains", "c"],
      "--stall-after",
      NUMBERS.filter((value) => value !== "5s"), // a duration
    ),
    ...valueCases(["init", "--epic", "E2", "--force", "--domains", "c"], "--max-cost", NUMBERS),
    ...valueCases(["init", "--force", "--domains", "c"], "--epic", ["\u0007", LONG]),
    ...valueCases(["init", "--epic", "E2", "--force"], "--domains", [
      "",
      " ",
      "a\tb",
      "\u0007",
      LONG,
      "a,,b",
    ]),
    ...valueCases(["add"], "--domains", ["", " ", "a\tb", "\u0007", LONG]),
    ...valueCases(["add"], "--domains", ["a"], "is already in run"),
    ...valueCases(["add", "--domains", "c"], "--parent", ["zz", "a\tb", LONG], "unknown agent"),
    ...valueCases(["fail", "a"], "--error", ["", " "]),
    ...valueCases(["finalize"], "--summary-file", ["", "/nonexistent/x", LONG]),
    ...valueCases(["watch"], "--interval", NUMBERS),
    ...valueCases(["watch"], "--timeout", NUMBERS),
    ...valueCases(["serve", "--port", "0"], "--host", ["", " ", "a\nb", "\u0007", LONG]),
    ...valueCases(["serve", "--host", "127.0.0.1"], "--port", NUMBERS),
    ...valueCases(["serve", "--port", "0"], "--token", ["short"], "--token").map((c) => ({
      ...c,
      shows: null,
    })),
    ...valueCases(["history"], "--limit", NUMBERS),
    // The database commands: checked before the database is asked (none answers on port 9).
    ...["grant", "revoke"].flatMap((command) => [
      ...valueCases(
        ["db", command, "--repo", "acme/widgets", "--store", DOWN],
        "",
        ["", " "],
        `db ${command} needs a role name`,
      ),
      ...valueCases(["db", command, "role", "--store", DOWN], "--repo", WORDS),
    ]),
    ...["migrate", "status", "grants"].flatMap((command) =>
      valueCases(["db", command], "--store", ["", " ", "mysql://x", "\u0007", LONG]),
    ),
    // Agents: unknown, of another run, hostile.
    ...["update", "complete", "cancel", "log"].flatMap((command) =>
      ["zz", "OTHER", "", " ", "a\tb", "\u0007", LONG].map((agent) => ({
        name: `${command} agent ${quote(agent)}`,
        args: [
          command,
          agent,
          ...(command === "update" ? ["--status", "pending"] : command === "log" ? ["hi"] : []),
        ],
        names: "unknown agent",
        value: agent,
      })),
    ),
    // Missing values, unknown options and commands.
    { name: "--status without a value", args: ["update", "a", "--status"], names: "--status", shows: null },
    { name: "--files without a value", args: [...UPDATE, "--files"], names: "--files", shows: null },
    { name: "--dir without a value", args: ["status", "--dir"], names: "--dir", shows: null, ownDir: true },
    ...["--bogus", "--fils", "--quiet=1", "--a\nb", "--x\u001b[2J", `--${LONG}`].map((option) => ({
      name: `unknown option ${quote(option)}`,
      args: [...UPDATE, option],
      names: "unknown option",
      shows: `'${shownName(option)}'`,
    })),
    ...[["statu"], ["frob\nx"], [LONG], ["help", "a\nb"], ["help", LONG], ["db", "grnt"], ["db", LONG]].map(
      (args) => ({
        name: `unknown command ${quote(args.join(" "))}`,
        args,
        names: "unknown command",
        shows: `'${shownName(args[args.length - 1]!)}'`,
      }),
    ),
    // An argument too many is named (a message with a space not quoted, a forgotten --status).
    {
      name: "log with an unquoted message",
      args: ["log", "a", "hello", "world"],
      names: "too many arguments",
      value: "world",
    },
    {
      name: "update without --status",
      args: ["update", "a", "in_progress"],
      names: "too many arguments",
      value: "in_progress",
    },
    // The guide's call shapes with the text as an argument: the option that takes it is named.
    ...[
      ["fail", "a", "Compilation error", "--error <text>"],
      ["complete", "a", "done", "--summary <text>"],
      ["cancel", "a", "not needed", "--reason <text>"],
      ["finalize", "merged", "--summary <text>"],
    ].map((args) => ({
      name: `${args[0]} with its text as an argument`,
      args: args.slice(0, -1),
      names: `not taken: give the text with ${args[args.length - 1]}`,
      value: args[args.length - 2]!,
    })),
    // A message that starts with "-" is taken for an option: where it goes is said.
    ...["-5 tests failed", "--- phase 2 ---"].map((message) => ({
      name: `log of ${quote(message)}`,
      args: ["log", "a", message],
      names: `a message that starts with "-" goes after --: log <agent> -- "<message>"`,
      shows: `'${message}'`,
    })),
    {
      name: "log of a message that is an option's name",
      args: ["log", "a", "--quiet"],
      names: `missing required argument 'message': log <agent> <message>; a message that starts with "-" goes`,
      shows: null,
    },
    // The environment variables that are options too, named.
    ...["mysql://x", "\u0007", LONG].map((value) => ({
      name: `PARALLEL_PROGRESS_STORE=${quote(value)}`,
      args: ["status"],
      env: { PARALLEL_PROGRESS_STORE: value, PARALLEL_PROGRESS_EPIC: "E" },
      names: "PARALLEL_PROGRESS_STORE",
      value,
    })),
    ...["\u0007", LONG, "E\u0085"].map((value) => ({
      name: `PARALLEL_PROGRESS_EPIC=${quote(value)}`,
      args: UPDATE,
      env: { PARALLEL_PROGRESS_EPIC: value },
      names: "PARALLEL_PROGRESS_EPIC",
      value,
    })),
    ...["ftp://x", "\u0007", LONG, "-1"].map((value) => ({
      // Read where a run gets its URL (init); a run's saved URL wins over it later.
      name: `GITHUB_API_URL=${quote(value)}`,
      args: ["init", "--epic", "E2", "--force", "--domains", "c"],
      env: { GITHUB_API_URL: value },
      names: "GITHUB_API_URL",
      value,
    })),
    // On a change of a run that posts: refused before the change is made, not when its write is due.
    ...["ftp://x", "-1"].map((value) => ({
      name: `GITHUB_API_URL=${quote(value)} on update`,
      args: UPDATE,
      env: { GITHUB_API_URL: value },
      names: "GITHUB_API_URL",
      value,
    })),
    ...["short", "a\nbcdefghijklmnopqrstu"].map((value) => ({
      name: `PARALLEL_PROGRESS_SERVE_TOKEN=${quote(value)}`,
      args: ["serve", "--port", "0"],
      env: { PARALLEL_PROGRESS_SERVE_TOKEN: value },
      names: "PARALLEL_PROGRESS_SERVE_TOKEN",
      shows: null, // a secret: its length only
    })),
  ];
}

interface Outcome {
  name: string;
  code: number | null;
  stderr: string;
  stdout: string;
  changed: boolean;
  /** The epic directory's copy the case ran on. */
  dir: string;
}

async function runCase(c: Case): Promise<Outcome> {
  const dir = await tempDir();
  await cp(template, dir, { recursive: true });
  const before = await snapshot(dir);
  const args = c.args.map((arg) => resolveArg(arg, dir));
  const result = await runCli(c.ownDir ? args : [...args, "--dir", dir], {
    env: { ...env(), ...c.env },
    timeoutMs: 10_000,
  });
  if (result.code !== 2) await stopFlushers(dir); // a call that went through may have started one
  const changed = JSON.stringify(await snapshot(dir)) !== JSON.stringify(before);
  return { name: c.name, code: result.code, stderr: result.stderr, stdout: result.stdout, changed, dir };
}

/** `dir`, then folders of 200 characters until the path is `length` characters long. */
function deepPath(dir: string, length: number): string {
  let path = dir;
  while (path.length < length) path = join(path, "w".repeat(Math.min(200, length - path.length - 1)));
  return path;
}

/**
 * The placeholders of the table: OTHER, another run's agent id; FILE, a file where --dir wants a
 * directory; under the epic directory's copy, LONGNAME, a name of 300 characters; NEW, a folder not made
 * yet; DEEP, a path of 5,000 characters (past Linux's PATH_MAX); ROOMLESS, a path of 4,040 characters
 * (within it, but leaving no room for the run's files inside).
 */
function resolveArg(arg: string, dir: string): string {
  if (arg === "OTHER") return otherAgent;
  if (arg === "FILE") return join(dir, "task.md");
  if (arg === "DEEP") return deepPath(dir, 5000);
  if (arg === "ROOMLESS") return deepPath(dir, 4040);
  if (/^(NEW\/)?LONGNAME(\/|$)/.test(arg)) {
    return join(dir, arg.replace("NEW", "not-made-yet").replace("LONGNAME", "y".repeat(300)));
  }
  return arg;
}

/** What is wrong with an outcome, by the standard; empty when it meets it. */
function faults(c: Case, o: Outcome): string[] {
  const found: string[] = [];
  if (o.code !== 2) found.push(`exit ${o.code}`);
  if (o.changed) found.push("the epic directory changed");
  if (o.stdout !== "") found.push("stdout not empty");
  const lines = o.stderr.split("\n");
  if (lines.length !== 2 || lines[1] !== "") found.push(`${lines.length - 1} lines on stderr`);
  const line = lines[0] ?? "";
  if (!line.startsWith("parallel-progress: error: ")) found.push("not an error line");
  if (line.length > 400) found.push(`a line of ${line.length} characters`);
  if (/[\u0000-\u001f\u007f-\u009f]/.test(line)) found.push("a control character printed raw");
  if (!line.includes(c.names)) found.push(`does not name ${c.names}`);
  const value = resolveArg(c.value ?? c.args[c.args.length - 1] ?? "", o.dir);
  const shows = c.shows === undefined ? quote(value) : c.shows;
  if (shows !== null && !line.includes(shows)) found.push(`does not show ${shows}`);
  return found.length ? [`${c.name}: ${found.join(", ")} :: ${line.slice(0, 200)}`] : [];
}

describe("bad input, every command and option", () => {
  it("is one line naming the option and showing the value, exit 2, the run untouched, no GitHub request", async () => {
    const all = cases();
    expect(all.length, "the table").toBeGreaterThan(300);
    const requests = gh.requests.length;
    const problems: string[] = [];
    for (let at = 0; at < all.length; at += 4) {
      const batch = all.slice(at, at + 4);
      const outcomes = await Promise.all(batch.map(runCase));
      for (const [i, c] of batch.entries()) problems.push(...faults(c, outcomes[i]!));
    }
    expect(problems).toEqual([]);
    expect(gh.requests.length).toBe(requests);
  }, 120_000);
});
