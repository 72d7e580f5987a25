import { isIP } from "node:net";
import type { Command } from "commander";
import { quote } from "../config/show-value.js";
import { UsageError } from "../errors.js";
import type { CommonOptions } from "./context.js";
import { command } from "./declare.js";

/** The port `serve` listens on without --port: fixed, so a restarted server is found again by open pages. */
const DEFAULT_SERVE_PORT = 7420;

export interface ServeCliOptions extends CommonOptions {
  port: number;
  host: string;
  token?: string;
  exitOnFinalize?: boolean;
}

export function parsePortOption(value: string): number {
  const port = Number(value.trim());
  if (!/^\s*\d+\s*$/.test(value) || !Number.isSafeInteger(port) || port > 65535) {
    throw new UsageError(
      `--port must be a whole number from 0 (any free port) to 65535, got ${quote(value)}`,
    );
  }
  return port;
}

export function parseHostOption(value: string): string {
  const host = value.trim();
  // 253: the longest a host name can be (a longer one reached the resolver: exit 1, the name printed whole).
  if (!/^[A-Za-z0-9.:[\]-]+$/.test(host) || host.length > 253) {
    throw new UsageError(`--host must be a host name or an IP address, got ${quote(value)}`);
  }
  const address = host.replace(/^\[(.*)\]$/, "$1");
  // A server listens on an address of its machine: a broadcast or multicast one reaches no server.
  if (isGroupAddress(address)) {
    throw new UsageError(
      `--host must be an address of this machine, not a broadcast or multicast one, got ${quote(value)}`,
    );
  }
  return address;
}

/** A broadcast or multicast address, IPv4, IPv6, or IPv4 written as IPv6 (`::ffff:224.0.0.1`). */
function isGroupAddress(address: string): boolean {
  if (isIP(address) === 4) return address === "255.255.255.255" || /^2(2[4-9]|3\d)\./.test(address);
  if (isIP(address) !== 6) return false;
  // The URL parser writes an IPv6 address one way: an IPv4-mapped one as ::ffff:hhhh:hhhh.
  const written = new URL(`http://[${address}]/`).hostname;
  const mapped = /^\[::ffff:([0-9a-f]{1,4}):([0-9a-f]{1,4})\]$/.exec(written);
  if (!mapped) return /^\[ff/.test(written);
  const [high, low] = [Number.parseInt(mapped[1]!, 16), Number.parseInt(mapped[2]!, 16)];
  return (high >= 0xe000 && high <= 0xefff) || (high === 0xffff && low === 0xffff);
}

export function parseTokenOption(value: string): string {
  return checkToken(value, "--token");
}

/** The variable that gives the access token when --token does not (the command line shows in `ps`). */
const SERVE_TOKEN_VARIABLE = "PARALLEL_PROGRESS_SERVE_TOKEN";

/** The access token: --token, else PARALLEL_PROGRESS_SERVE_TOKEN when set and not empty, else none. */
export function givenToken(option: string | undefined, env: NodeJS.ProcessEnv): string | undefined {
  if (option !== undefined) return option;
  const value = env[SERVE_TOKEN_VARIABLE];
  return value ? checkToken(value, SERVE_TOKEN_VARIABLE) : undefined;
}

function checkToken(value: string, label: string): string {
  if (!/^[A-Za-z0-9._~-]{16,}$/.test(value)) {
    // The value is a secret: its length is named, never the value.
    const problem =
      value.length < 16
        ? `got ${value.length} character(s)`
        : `got ${value.length} characters, some of them not among these`;
    throw new UsageError(`${label} must be at least 16 characters from A-Z a-z 0-9 . _ ~ -, ${problem}`);
  }
  return value;
}

/** `serve`: the live web view. The server itself is loaded only when the command runs. */
export function registerServe(program: Command, done: (code: number) => void): void {
  command(
    program,
    "serve",
    "a live web view of the run: prints `listening <url>`, pushes every change to the page; read-only",
    (serve) =>
      serve
        .option("--port <n>", `port to listen on (0: any free port)`, parsePortOption, DEFAULT_SERVE_PORT)
        .option(
          "--host <h>",
          "address to listen on; any but loopback requires the access token",
          parseHostOption,
          "127.0.0.1",
        )
        .option(
          "--token <t>",
          "the access token (default: PARALLEL_PROGRESS_SERVE_TOKEN, else generated when the host is not loopback)",
          parseTokenOption,
        )
        .option("--exit-on-finalize", "stop (exit 0) once the run is finalized")
        .action(async (options: ServeCliOptions) =>
          done(await (await import("./serve-run.js")).runServe(options)),
        ),
  );
}
