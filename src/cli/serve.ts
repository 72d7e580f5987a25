import type { BlockList } from "node:net";
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

/**
 * Broadcast and multicast addresses, which no server listens on: Node's BlockList, which checks an IPv4
 * address written as IPv6 (`::ffff:224.0.0.1`) against the IPv4 rules.
 */
function groupAddresses(): BlockList {
  const list = new (net().BlockList)();
  list.addSubnet("224.0.0.0", 4, "ipv4");
  list.addAddress("255.255.255.255", "ipv4");
  list.addSubnet("ff00::", 8, "ipv6");
  return list;
}

/**
 * Node's net module, loaded only when `serve --host` is read: this file is part of every call's start-up,
 * which never needs it otherwise.
 */
const net = () => process.getBuiltinModule("node:net");

/** A broadcast or multicast address, IPv4, IPv6, or IPv4 written as IPv6 (made only for `serve --host`). */
function isGroupAddress(address: string): boolean {
  const family = net().isIP(address);
  return family !== 0 && groupAddresses().check(address, family === 4 ? "ipv4" : "ipv6");
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
