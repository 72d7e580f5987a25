import { type ChildProcess, execFile, spawn } from "node:child_process";
import { existsSync } from "node:fs";
import { mkdtemp, readFile, rm, writeFile } from "node:fs/promises";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { promisify } from "node:util";
import { waitFor } from "./cli.js";
import { closedPort } from "./loopback.js";
import { unlessInCi } from "./required.js";

/** Debian's tinyproxy (CI installs it: .ci/run). */
export const TINYPROXY = "/usr/bin/tinyproxy";
export const hasTinyproxy = unlessInCi(existsSync(TINYPROXY) ? null : `no ${TINYPROXY}`) === null;

export interface Tinyproxy {
  /** `http://127.0.0.1:<port>` */
  url: string;
  /** The request lines it logged, oldest first: "CONNECT 127.0.0.1:4443 HTTP/1.1", "GET http://… HTTP/1.1". */
  requests(): Promise<string[]>;
  /** Its whole log. */
  log(): Promise<string>;
  /** Stops it (SIGTERM to this child, by its id) and removes its files. */
  stop(): Promise<void>;
}

/**
 * A real tinyproxy on 127.0.0.1, in the foreground as a child of the test, with a temporary config and
 * log; all ports allowed for CONNECT, loopback clients only.
 */
export async function startTinyproxy(): Promise<Tinyproxy> {
  const dir = await mkdtemp(join(tmpdir(), "pp-tinyproxy-"));
  const logFile = join(dir, "tinyproxy.log");
  const log = () => readFile(logFile, "utf8").catch(() => "");
  // A free port can be taken by someone else before tinyproxy binds it: a few tries.
  for (let attempt = 1; attempt <= 5; attempt++) {
    const port = await closedPort();
    const config = [
      `Port ${port}`,
      "Listen 127.0.0.1",
      "Timeout 30",
      `LogFile "${logFile}"`,
      "LogLevel Info",
      `PidFile "${join(dir, "tinyproxy.pid")}"`,
      "MaxClients 50",
      "Allow 127.0.0.1",
      "DisableViaHeader Yes",
    ].join("\n");
    await writeFile(join(dir, "tinyproxy.conf"), `${config}\n`);
    const child = spawn(TINYPROXY, ["-d", "-c", join(dir, "tinyproxy.conf")], { stdio: "ignore" });
    const exited = new Promise<void>((resolve) => child.once("exit", () => resolve()));
    if (await listening(child, log)) {
      return {
        url: `http://127.0.0.1:${port}`,
        log,
        async requests() {
          return [...(await log()).matchAll(/Request \(file descriptor \d+\): (.*)$/gm)].map((m) =>
            m[1]!.trim(),
          );
        },
        async stop() {
          child.kill("SIGTERM");
          await exited;
          await rm(dir, { recursive: true, force: true });
        },
      };
    }
    child.kill("SIGKILL");
    await exited;
  }
  await rm(dir, { recursive: true, force: true });
  throw new Error("tinyproxy did not start listening on 127.0.0.1");
}

/** Waits (bounded) until tinyproxy says it accepts connections, or has exited. */
async function listening(child: ChildProcess, log: () => Promise<string>): Promise<boolean> {
  const exited = () => child.exitCode !== null || child.signalCode !== null;
  const accepting = async () => (await log()).includes("Accepting connections");
  await waitFor(async () => exited() || (await accepting()), 10_000, 20);
  return !exited() && (await accepting());
}

/**
 * A self-signed certificate for 127.0.0.1, made with openssl in `dir`: the key and certificate (PEM), and
 * the certificate's file for NODE_EXTRA_CA_CERTS.
 */
export async function selfSignedCertificate(
  dir: string,
): Promise<{ key: string; cert: string; certFile: string }> {
  const keyFile = join(dir, "key.pem");
  const certFile = join(dir, "cert.pem");
  await promisify(execFile)("openssl", [
    "req",
    "-x509",
    "-newkey",
    "ec",
    "-pkeyopt",
    "ec_paramgen_curve:prime256v1",
    "-nodes",
    "-keyout",
    keyFile,
    "-out",
    certFile,
    "-days",
    "1",
    "-subj",
    "/CN=127.0.0.1",
    "-addext",
    "subjectAltName=IP:127.0.0.1",
  ]);
  return { key: await readFile(keyFile, "utf8"), cert: await readFile(certFile, "utf8"), certFile };
}
