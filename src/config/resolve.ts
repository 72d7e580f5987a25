import { dirname, join, resolve } from "node:path";
import { unescape as percentDecoded } from "node:querystring";
import { UsageError } from "../errors.js";
import {
  holdsSecret,
  longSecrets,
  looksLikeToken,
  maskSecrets,
  withoutCredentials,
} from "../github/redact.js";
import { storeUrlSecrets } from "../store/pg/config.js";
import { commandOutput } from "../util/command-output.js";
import type { FileSystem } from "../util/io.js";
import { canonicalApiUrl, hasEscapes, originAlone } from "./api-url.js";
import { isRepoSlug } from "./repo-slug.js";
import { quote } from "./show-value.js";

/**
 * Where the token, the API and the repository come from (see the contract's "Environment").
 * Environment, file system and `gh` are passed in; nothing is read when this module is imported.
 */

export type Env = Readonly<Record<string, string | undefined>>;

export const DEFAULT_API_URL = "https://api.github.com";

type TokenSource = "GITHUB_TOKEN" | "GH_TOKEN" | "gh auth token";
type RepoSource = "--repo" | "task.md" | "GITHUB_REPOSITORY" | "git origin";

const TOKEN_VARIABLES = ["GITHUB_TOKEN", "GH_TOKEN"] as const;

/** `GITHUB_TOKEN`, else `GH_TOKEN` (trimmed, empty ignored), else `gh auth token` (asked only then). */
export async function resolveToken(
  env: Env,
  runGhAuthToken: () => Promise<string | null>,
): Promise<{ token: string; source: TokenSource } | null> {
  const given = tokenFromEnvironment(env);
  if (given) return given;
  const token = (await runGhAuthToken().catch(() => null))?.trim();
  return token ? { token, source: "gh auth token" } : null;
}

/** The token `GITHUB_TOKEN`, else `GH_TOKEN`, holds (trimmed, empty ignored), or null. */
export function tokenFromEnvironment(env: Env): { token: string; source: TokenSource } | null {
  for (const name of TOKEN_VARIABLES) {
    const token = env[name]?.trim();
    if (token) return { token, source: name };
  }
  return null;
}

/**
 * The secrets the environment holds, to keep out of what is written (agents' text included): the tokens
 * (either variable's, trimmed) and the database's (PGPASSWORD, and PARALLEL_PROGRESS_STORE's password and
 * secret parameters).
 */
export function environmentTokens(env: Env): string[] {
  return [
    ...TOKEN_VARIABLES.map((name) => env[name]?.trim() ?? ""),
    env.PGPASSWORD ?? "",
    ...storeUrlSecrets(env.PARALLEL_PROGRESS_STORE ?? ""),
  ].filter((token) => token !== "");
}

/**
 * Why a token cannot be one, or null. A token goes in the Authorization header, which takes visible ASCII
 * only: a character outside it (`é`, `…`, a no-break space), a space or a control character is a
 * copy-paste gone wrong, and would fail as a broken request (or reach GitHub as another token), not be
 * refused as a bad one. What is wrong is named, never the token or its characters.
 */
export function tokenProblem(token: string): string | null {
  const bad = /[^\x21-\x7e]/.exec(token)?.[0];
  if (bad === undefined) return null;
  if (bad === " ") return "a space";
  return /[\x00-\x1f\x7f-\x9f]/.test(bad) ? "a control character" : "a character outside ASCII";
}

/**
 * The token the GitHub CLI holds (`gh auth token`, for `hostname` when given), or null when gh is
 * not installed, not logged in, or takes more than 3 s. Never throws. gh runs in `env` (the caller's
 * environment: its PATH finds gh, its HOME gh's settings), else in this process's.
 */
export async function ghAuthToken(options: { hostname?: string; env?: Env } = {}): Promise<string | null> {
  const args = ["auth", "token", ...(options.hostname ? ["--hostname", options.hostname] : [])];
  const token = (await commandOutput("gh", args, options.env))?.trim() ?? "";
  return token.length >= MIN_GH_TOKEN && !/\s/.test(token) ? token : null;
}

/**
 * Shorter output of `gh auth token` is no token (GitHub's are 40 characters and more): a wrapper's word
 * taken for one would be masked in every message (`unknown *** "x"` for the word `agent`).
 */
const MIN_GH_TOKEN = 20;

/**
 * `--api-url`, checked where it is read (also by a command that ignores it) and kept as given; `env`: the
 * environment whose secrets it must not hold.
 */
export function parseApiUrlOption(value: string, env: Env): string {
  checkApiUrl(value, "--api-url", env);
  return value;
}

/** `--repo`, checked where it is read (also by a command that ignores it) and kept as given. */
export function parseRepoOption(value: string, env: Env): string {
  checkRepo(value, "--repo", env);
  return value;
}

/** `--api-url`, else `GITHUB_API_URL`, else https://api.github.com; an http(s) URL without trailing slash. */
export function resolveApiUrl(flag: string | undefined, env: Env): string {
  if (flag !== undefined) return checkApiUrl(flag, "--api-url", env);
  const fromEnv = env.GITHUB_API_URL?.trim();
  return fromEnv ? checkApiUrl(fromEnv, "GITHUB_API_URL", env) : DEFAULT_API_URL;
}

function checkApiUrl(value: string, source: string, env: Env): string {
  const trimmed = value.trim();
  // Secrets of 8 characters or more (a real token is longer): a short one would match plain words of the URL.
  const secrets = longSecrets(environmentTokens(env));
  // A secret of the environment or anything shaped like a token (refused as in --repo), as written or
  // percent-encoded (`%67hp_…` is `ghp_…`: holdsSecret decodes), and as kept: the host in lower case (a
  // classic token is lower-case hex, `ABCD…` in the host is kept as `abcd…`). Written to disk in any of them.
  const holdsAny = (text: string) =>
    holdsSecret(text, secrets) || looksLikeToken(text) || looksLikeToken(percentDecoded(text));
  let url: URL | null = null;
  try {
    url = new URL(trimmed);
  } catch {
    // reported below
  }
  const heldIn = (text: string) => holdsAny(text) || (url !== null && holdsAny(canonicalApiUrl(url)));
  /**
   * The value as a refusal shows it: without credentials, tokens masked; one holding a secret of the
   * environment in any form shows its origin alone (encoded in any of many ways, the secret could not be
   * masked in the rest), or its scheme alone when the origin holds it.
   */
  const shown = (text: string): string => {
    // Percent escapes can spell a secret this check does not know (a token only gh gives, asked only
    // once the call fails): such a value is shown as its origin alone too.
    if (!heldIn(text) && !hasEscapes(text)) return quote(maskSecrets(withoutCredentials(text), secrets));
    return quote(originAlone(text, (origin) => holdsAny(origin) || (url !== null && holdsAny(url.origin))));
  };
  if (
    !url ||
    (url.protocol !== "https:" && url.protocol !== "http:") ||
    url.search !== "" ||
    url.hash !== ""
  ) {
    throw new UsageError(`${source} must be an http(s) URL such as ${DEFAULT_API_URL}, got ${shown(value)}`);
  }
  // The URL is saved in the run state and in queue files: credentials in it would be written to disk.
  if (url.username !== "" || url.password !== "") {
    throw new UsageError(
      `${source} must not hold credentials (user:password@): give the token in GITHUB_TOKEN or GH_TOKEN, got ${shown(trimmed)}`,
    );
  }
  // Nor a secret of the environment anywhere (a path, a query): the URL would carry it to disk.
  if (heldIn(trimmed)) {
    throw new UsageError(
      `${source} must not hold a token (or another secret of the environment): give the token in GITHUB_TOKEN or GH_TOKEN only, got ${shown(trimmed)}`,
    );
  }
  return canonicalApiUrl(url);
}

/**
 * `--repo`, else task.md's `github.repo`, else `GITHUB_REPOSITORY`, else the origin remote's URL.
 * A bad `--repo` or `GITHUB_REPOSITORY` is the caller's mistake; an origin URL that names no `owner/name`
 * is ignored (one on another host than the API's is left out by resolveTarget: originOnApiHost). null
 * when none gives a repository.
 */
export function resolveRepo(inputs: {
  flag?: string | undefined;
  taskRepo?: string | null | undefined;
  env: Env;
  originUrl?: string | null | undefined;
}): { repo: string; source: RepoSource } | null {
  const { env } = inputs;
  if (inputs.flag !== undefined) return { repo: checkRepo(inputs.flag, "--repo", env), source: "--repo" };
  if (inputs.taskRepo) {
    return { repo: checkRepo(inputs.taskRepo, "task.md: github.repo", env), source: "task.md" };
  }
  const fromEnv = env.GITHUB_REPOSITORY?.trim();
  if (fromEnv) return { repo: checkRepo(fromEnv, "GITHUB_REPOSITORY", env), source: "GITHUB_REPOSITORY" };
  const fromOrigin = inputs.originUrl ? parseGitRemoteUrl(inputs.originUrl) : null;
  return fromOrigin ? { repo: fromOrigin, source: "git origin" } : null;
}

function checkRepo(value: string, source: string, env: Env): string {
  const trimmed = value.trim();
  if (!isRepoSlug(trimmed)) throw new UsageError(`${source} must be owner/name, got ${quote(value)}`);
  // The repository is kept in the run state and queue files and is part of every request's path: a token
  // pasted into it would be written to disk and sent (the environment's, as checkApiUrl's, or any token's shape).
  const held = longSecrets(environmentTokens(env));
  if (holdsSecret(trimmed, held) || looksLikeToken(trimmed)) {
    throw new UsageError(
      `${source} must not hold a token (or another secret of the environment): give owner/name, got ${quote(maskSecrets(trimmed, held))}`,
    );
  }
  return trimmed;
}

/**
 * `owner/name` from a git remote URL: https (with or without user, port, `.git`), ssh://, git://
 * and scp-like `git@host:owner/name.git`, on any host (GitHub Enterprise too). null for local
 * paths, file:// URLs and paths that are not exactly owner/name.
 */
export function parseGitRemoteUrl(url: string): string | null {
  return parseGitRemote(url)?.repo ?? null;
}

/**
 * A git remote URL's host (lower case) and `owner/name`; `ssh` when git reaches it over ssh (ssh:// or
 * scp-like), where the host may be an alias of ~/.ssh/config. null as for parseGitRemoteUrl.
 */
export function parseGitRemote(url: string): { host: string; repo: string; ssh: boolean } | null {
  const trimmed = url.trim();
  let path: string;
  let host: string;
  let ssh: boolean;
  if (/^[A-Za-z][A-Za-z0-9+.-]*:\/\//.test(trimmed)) {
    let parsed: URL;
    try {
      parsed = new URL(trimmed);
    } catch {
      return null;
    }
    if (parsed.protocol === "file:" || parsed.hostname === "") return null;
    path = parsed.pathname;
    host = parsed.hostname;
    ssh = parsed.protocol === "ssh:" || parsed.protocol === "git+ssh:" || parsed.protocol === "ssh+git:";
  } else {
    // scp-like syntax: [user@]host:path (a host of one letter would be a Windows drive).
    const scp = /^(?:[^@/\s]+@)?([^:/\s]{2,}):(.+)$/.exec(trimmed);
    if (!scp) return null;
    host = scp[1]!;
    path = scp[2]!;
    ssh = true;
  }
  const slug = path
    .replace(/^\/+|\/+$/g, "")
    .replace(/\.git$/, "")
    .replace(/\/+$/, "");
  if (slug.split("/").length !== 2 || !isRepoSlug(slug)) return null;
  return { host: host.toLowerCase(), repo: slug, ssh };
}

/**
 * The `origin` remote URL of the git checkout holding `dir`, read from its config file without
 * spawning git: walks up to the nearest `.git` (a directory, or a `gitdir: <path>` file for
 * worktrees and submodules; a worktree's `commondir` leads to the shared config). null when
 * there is no checkout, no origin, or it cannot be read.
 */
export async function readOriginUrl(fs: FileSystem, dir: string): Promise<string | null> {
  let current = resolve(dir);
  for (;;) {
    const dotGit = join(current, ".git");
    const stat = await fs.promises.stat(dotGit).catch(() => null);
    if (stat) return readOriginFromGitDir(fs, current, dotGit, stat.isDirectory()).catch(() => null);
    const parent = dirname(current);
    if (parent === current) return null;
    current = parent;
  }
}

async function readOriginFromGitDir(
  fs: FileSystem,
  checkout: string,
  dotGit: string,
  isDirectory: boolean,
): Promise<string | null> {
  let gitDir = dotGit;
  if (!isDirectory) {
    const pointer = /^gitdir:\s*(.+?)\s*$/m.exec(String(await fs.promises.readFile(dotGit, "utf8")));
    if (!pointer) return null;
    gitDir = resolve(checkout, pointer[1]!);
  }
  const commonDir = await fs.promises.readFile(join(gitDir, "commondir"), "utf8").then(
    (text) => resolve(gitDir, String(text).trim()),
    () => gitDir,
  );
  const config = await fs.promises.readFile(join(commonDir, "config"), "utf8");
  return parseGitConfigValue(String(config), "remote", "origin", "url");
}

/**
 * The first value of `key` in `[section "subsection"]` of a git config file. Section and key
 * names are case-insensitive, the subsection is not; quotes, escapes and comments are handled.
 */
export function parseGitConfigValue(
  config: string,
  section: string,
  subsection: string,
  key: string,
): string | null {
  let inSection = false;
  for (const rawLine of config.split(/\r?\n/)) {
    const line = rawLine.trim();
    if (line.startsWith("[")) {
      const header = /^\[\s*([A-Za-z0-9.-]+)(?:\s+"((?:[^"\\]|\\.)*)")?\s*\]\s*(.*)$/.exec(line);
      if (!header) {
        inSection = false;
        continue;
      }
      const name = header[1]!.toLowerCase();
      const sub = header[2]?.replace(/\\(.)/g, "$1");
      inSection =
        sub !== undefined
          ? name === section.toLowerCase() && sub === subsection
          : name === `${section}.${subsection}`.toLowerCase(); // deprecated [remote.origin]
      const rest = header[3] ?? "";
      if (!inSection || rest === "" || /^[#;]/.test(rest)) continue;
      // `[remote "origin"] url = ...` on one line is allowed
      const value = keyValue(rest, key);
      if (value !== null) return value;
      continue;
    }
    if (!inSection) continue;
    const value = keyValue(line, key);
    if (value !== null) return value;
  }
  return null;
}

function keyValue(line: string, key: string): string | null {
  const match = /^([A-Za-z][A-Za-z0-9-]*)\s*(?:=\s*(.*))?$/.exec(line);
  if (!match || match[1]!.toLowerCase() !== key.toLowerCase()) return null;
  return unquoteConfigValue(match[2] ?? "");
}

function unquoteConfigValue(raw: string): string {
  let value = "";
  let pendingSpace = "";
  let quoted = false;
  for (let i = 0; i < raw.length; i++) {
    const char = raw[i]!;
    if (char === "\\" && i + 1 < raw.length) {
      const next = raw[++i]!;
      value += pendingSpace + ({ n: "\n", t: "\t", b: "\b" }[next] ?? next);
      pendingSpace = "";
    } else if (char === '"') {
      quoted = !quoted;
    } else if (!quoted && (char === "#" || char === ";")) {
      break;
    } else if (!quoted && (char === " " || char === "\t")) {
      pendingSpace += char; // kept only when something follows
    } else {
      value += pendingSpace + char;
      pendingSpace = "";
    }
  }
  return value;
}
