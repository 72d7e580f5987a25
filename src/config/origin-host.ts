import { commandOutput } from "../util/command-output.js";
import { type Env, parseGitRemote } from "./resolve.js";

/**
 * The web host of a GitHub API URL, where its repositories' git remotes live and the host `gh` keeps its
 * token under: `https://api.github.com` → github.com, `https://api.acme.ghe.com` → acme.ghe.com (their APIs
 * are on a host of their own); a GitHub Enterprise Server's API is on its web host, whatever its name:
 * `https://ghe.example.com/api/v3` → ghe.example.com, `https://api.ghe.corp/api/v3` → api.ghe.corp (the
 * `api.` was taken off every host, and gh asked for another host's token, which went to this one).
 */
export function webHost(apiUrl: string): string {
  const host = new URL(apiUrl).hostname.toLowerCase();
  return /^api\.(github\.com|[^.]+\.ghe\.com)$/.test(host) ? host.slice("api.".length) : host;
}

/** Looks up the host an ssh host alias stands for (`Host github-work` in ~/.ssh/config); null: unknown. */
type SshHostLookup = (alias: string, env: Env) => Promise<string | null>;

/**
 * Whether the origin remote (`originUrl`) is a repository of the GitHub that `apiUrl` serves: its host is
 * the API's web host, or an ssh alias that ssh resolves to it. The repository of an origin elsewhere (a
 * GitHub Enterprise checkout while posts go to github.com) is not taken: a repository of the same name
 * there would get the run's comments.
 */
export async function originOnApiHost(
  originUrl: string,
  apiUrl: string,
  env: Env,
  lookup: SshHostLookup = sshHostName,
): Promise<{ onHost: true } | { onHost: false; host: string; apiHost: string }> {
  const remote = parseGitRemote(originUrl);
  const apiHost = webHost(apiUrl);
  // GitHub's ssh over port 443 is ssh.<host> (ssh://git@ssh.github.com:443/owner/name.git).
  if (!remote || remote.host === apiHost || remote.host === `ssh.${apiHost}`) return { onHost: true };
  const resolved = remote.ssh ? await lookup(remote.host, env) : null;
  return resolved?.toLowerCase() === apiHost
    ? { onHost: true }
    : { onHost: false, host: remote.host, apiHost };
}

/**
 * The host name ssh uses for `alias` (`ssh -G`, which reads ~/.ssh/config and connects nowhere), or null
 * when ssh is missing, takes more than 3 s, or the alias could be read as an option. Never throws. ssh
 * runs in `env` (the caller's environment: PATH, HOME).
 */
export async function sshHostName(alias: string, env: Env): Promise<string | null> {
  if (!/^[A-Za-z0-9_][A-Za-z0-9._-]*$/.test(alias)) return null;
  const printed = await commandOutput("ssh", ["-G", alias], env);
  return printed === null ? null : (/^hostname (\S+)$/m.exec(printed)?.[1] ?? null);
}
