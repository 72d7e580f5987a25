import { readFile, rm, writeFile } from "node:fs/promises";
import { get } from "node:http";
import { join } from "node:path";
import { describe, expect, it } from "vitest";
import { givenToken, parseHostOption, parsePortOption, parseTokenOption } from "../../src/cli/serve.js";
import { UsageError } from "../../src/errors.js";
import { startServe } from "../serve/serve-process.js";
import { openEvents } from "../serve/sse-client.js";
import { makeEpic, runCli } from "../support/cli.js";

describe("serve: options (pure)", () => {
  it("checks --port, --host and --token, naming the option (and never echoing a token)", () => {
    expect(parsePortOption("0")).toBe(0);
    expect(parsePortOption(" 7420 ")).toBe(7420);
    expect(() => parsePortOption("65536")).toThrow(/--port .* got "65536"/);
    expect(() => parsePortOption("80a")).toThrow(UsageError);
    expect(() => parsePortOption("-1")).toThrow(UsageError);
    expect(parseHostOption("0.0.0.0")).toBe("0.0.0.0");
    expect(parseHostOption("[::1]")).toBe("::1");
    expect(() => parseHostOption("evil host")).toThrow(/--host .* got "evil host"/);
    // No server listens on a broadcast or multicast address: refused, not started where none can reach it.
    for (const group of [
      "255.255.255.255",
      "224.0.0.1",
      "239.1.2.3",
      "ff02::1",
      "[FF05::2]",
      "::ffff:224.0.0.1",
      "::ffff:255.255.255.255",
      "::FFFF:e000:1",
    ]) {
      expect(() => parseHostOption(group), group).toThrow(
        `--host must be an address of this machine, not a broadcast or multicast one, got ${JSON.stringify(group)}`,
      );
    }
    expect(parseHostOption("223.255.0.1")).toBe("223.255.0.1");
    expect(parseHostOption("::ffff:10.0.0.5")).toBe("::ffff:10.0.0.5");
    // Longer than a host name can be (253): refused here, not by the resolver (exit 1, the name whole).
    expect(parseHostOption(`${"a".repeat(63)}.`.repeat(3) + "a".repeat(61))).toHaveLength(253);
    expect(() => parseHostOption("x".repeat(100_000))).toThrow(
      `--host must be a host name or an IP address, got "${"x".repeat(77)}..."`,
    );
    expect(parseTokenOption("abcdefghijklmnop")).toBe("abcdefghijklmnop");
    expect(() => parseTokenOption("short secret")).toThrow(/--token must be .*, got 12 character\(s\)$/);
    expect(() => parseTokenOption("a long secret with spaces")).toThrow(
      /got 25 characters, some of them not among these$/,
    );
    expect(() => parseTokenOption("short secret")).not.toThrow(/short secret/);
  });

  it("takes the token from PARALLEL_PROGRESS_SERVE_TOKEN when --token is not given (ps shows no variable)", () => {
    const env = { PARALLEL_PROGRESS_SERVE_TOKEN: "from-the-environment-0123" };
    expect(givenToken(undefined, env)).toBe("from-the-environment-0123");
    expect(givenToken("from-the-option-0123456", env)).toBe("from-the-option-0123456");
    expect(givenToken(undefined, {})).toBeUndefined();
    expect(givenToken(undefined, { PARALLEL_PROGRESS_SERVE_TOKEN: "" })).toBeUndefined();
    const bad = () => givenToken(undefined, { PARALLEL_PROGRESS_SERVE_TOKEN: "short secret" });
    expect(bad).toThrow(/^PARALLEL_PROGRESS_SERVE_TOKEN must be .* got 12 character\(s\)$/);
    expect(bad).not.toThrow(/short secret/);
  });
});

describe("serve: the command (built CLI, as processes)", () => {
  it("prints `listening <url>` first, serves the run, and ends with 0 on SIGINT and on SIGTERM", async () => {
    const epic = await makeEpic();
    try {
      expect((await runCli(["init", "--epic", "E-1", "--domains", "a,b", "--dir", epic.dir])).code).toBe(0);
      for (const signal of ["SIGINT", "SIGTERM"] as const) {
        const serve = await startServe(["--dir", epic.dir, "--port", "0"]);
        expect(serve.url).toMatch(/^http:\/\/127\.0\.0\.1:\d+\/$/);
        const stream = await openEvents(`${serve.url}events`);
        const snapshot = await stream.next((e) => e.event === "snapshot");
        expect((snapshot.data as { view: { run: { epicId: string } } }).view.run.epicId).toBe("E-1");
        serve.child.kill(signal);
        const result = await serve.done;
        expect(result.code).toBe(0);
        expect(result.stdout.split("\n")[0]).toBe(`listening ${serve.url}`);
        await stream.ended;
      }
    } finally {
      await epic.cleanup();
    }
  });

  it("with --exit-on-finalize, ends by itself (0) once another process finalizes, telling the page", async () => {
    const epic = await makeEpic();
    try {
      await runCli(["init", "--epic", "E-2", "--domains", "a", "--dir", epic.dir]);
      const serve = await startServe(["--dir", epic.dir, "--port", "0", "--exit-on-finalize"]);
      const stream = await openEvents(`${serve.url}events`);
      await stream.next((e) => e.event === "snapshot");
      expect((await runCli(["finalize", "--summary", "done", "--dir", epic.dir])).code).toBe(0);
      const end = await stream.next((e) => e.event === "end", 0, 10_000);
      expect(end.data).toEqual({ reason: "the run is finalized" });
      expect((await serve.done).code).toBe(0);

      // Started on a run already finalized: it prints where it listened and ends at once.
      const late = await runCli(["serve", "--dir", epic.dir, "--port", "0", "--exit-on-finalize"]);
      expect(late.code).toBe(0);
      expect(late.stdout).toMatch(/^listening http:\/\/127\.0\.0\.1:\d+\/\n$/);
    } finally {
      await epic.cleanup();
    }
  });

  it("refuses bad options and a missing directory with one line and exit 2", async () => {
    const epic = await makeEpic();
    try {
      const bad = await runCli(["serve", "--dir", epic.dir, "--port", "http"]);
      expect(bad.code).toBe(2);
      expect(bad.stderr).toMatch(/--port must be .* got "http"/);
      const missing = await runCli(["serve", "--dir", join(epic.dir, "nope"), "--port", "0"]);
      expect(missing.code).toBe(2);
      expect(missing.stderr.trim().split("\n")).toHaveLength(1);
      expect(missing.stderr).toMatch(/--dir: no such directory, got ".*nope"/);
      expect(missing.stdout).toBe("");
    } finally {
      await epic.cleanup();
    }
  });

  it("says so (exit 2) when the port is in use", async () => {
    const epic = await makeEpic();
    try {
      const first = await startServe(["--dir", epic.dir, "--port", "0"]);
      try {
        const port = new URL(first.url).port;
        const second = await runCli(["serve", "--dir", epic.dir, "--port", port]);
        expect(second.code).toBe(2);
        expect(second.stderr).toBe(`parallel-progress: error: port ${port} is in use: pass another --port\n`);
      } finally {
        expect(await first.stop()).toBe(0);
      }
    } finally {
      await epic.cleanup();
    }
  });

  it("started before the run, waits for it and shows it once init starts it", async () => {
    const epic = await makeEpic();
    try {
      const serve = await startServe(["--dir", epic.dir, "--port", "0"]);
      try {
        const stream = await openEvents(`${serve.url}events`);
        const empty = await stream.next((e) => e.event === "snapshot");
        expect(empty.data).toMatchObject({
          view: null,
          location: join(epic.dir, ".parallel-progress", "state.json"),
        });
        await runCli(["init", "--epic", "LATE", "--domains", "a", "--dir", epic.dir]);
        const started = await stream.next(
          (e) => e.event === "snapshot" && (e.data as { view: unknown }).view !== null,
        );
        expect(stream.events.filter((e) => e.event === "snapshot")).toHaveLength(2); // no repeats of "no run"
        expect((started.data as { view: { run: { epicId: string } } }).view.run.epicId).toBe("LATE");
        stream.close();
      } finally {
        expect(await serve.stop()).toBe(0);
      }
      expect((await serve.done).stderr).toMatch(/no run in .* yet: the page shows it once `init` starts one/);
    } finally {
      await epic.cleanup();
    }
  });

  it("says why a run it cannot read is not shown (not 'no run yet'), and shows it once it can be read", async () => {
    const epic = await makeEpic();
    try {
      await runCli(["init", "--epic", "BAD", "--domains", "a", "--dir", epic.dir]);
      const state = join(epic.dir, ".parallel-progress", "state.json");
      const good = await readFile(state, "utf8");
      await writeFile(state, "{bad");
      const serve = await startServe(["--dir", epic.dir, "--port", "0"]);
      try {
        const stream = await openEvents(`${serve.url}events`);
        await writeFile(state, good); // mended: the page shows the run
        const shown = await stream.next(
          (e) => e.event === "snapshot" && (e.data as { view: unknown }).view !== null,
        );
        expect((shown.data as { view: { run: { epicId: string } } }).view.run.epicId).toBe("BAD");
        stream.close();
      } finally {
        expect(await serve.stop()).toBe(0);
      }
      const { stderr } = await serve.done;
      expect(stderr).toMatch(/warning: cannot read the run: .*state\.json is not valid JSON/);
      expect(stderr).not.toContain("no run in");
    } finally {
      await epic.cleanup();
    }
  });

  it("says on stderr too when a run it showed can no longer be read (as watch does)", async () => {
    const epic = await makeEpic();
    try {
      await runCli(["init", "--epic", "LATER", "--domains", "a", "--dir", epic.dir]);
      const serve = await startServe(["--dir", epic.dir, "--port", "0"]);
      try {
        const stream = await openEvents(`${serve.url}events`);
        await stream.next((e) => e.event === "snapshot");
        const state = join(epic.dir, ".parallel-progress", "state.json");
        const good = await readFile(state, "utf8");
        // Unreadable (in two ways in a row: said once), mended, then unreadable again: said again.
        for (let time = 0; time < 2; time++) {
          const broken = stream.events.length;
          await writeFile(state, "{bad");
          await stream.next((e) => e.event === "problem", broken);
          const otherwise = stream.events.length;
          await writeFile(state, "[1, 2]");
          await stream.next((e) => e.event === "problem", otherwise);
          const mended = stream.events.length;
          await writeFile(state, good);
          await stream.next((e) => e.event === "change" || e.event === "snapshot", mended);
        }
        stream.close();
      } finally {
        expect(await serve.stop()).toBe(0);
      }
      const { stderr } = await serve.done;
      expect(stderr.match(/warning: cannot read the run: /g)).toHaveLength(2);
    } finally {
      await epic.cleanup();
    }
  });

  it("follows a run whose state folder is removed and made again (as watch does)", async () => {
    const epic = await makeEpic();
    try {
      await runCli(["init", "--epic", "FIRST", "--domains", "a", "--dir", epic.dir]);
      const serve = await startServe(["--dir", epic.dir, "--port", "0"]);
      try {
        const stream = await openEvents(`${serve.url}events`);
        const epicOf = (e: { data: unknown }) =>
          (e.data as { view: { run: { epicId: string } } | null }).view;
        await stream.next((e) => e.event === "snapshot" && epicOf(e)?.run.epicId === "FIRST");
        await rm(join(epic.dir, ".parallel-progress"), { recursive: true, force: true });
        await stream.next((e) => e.event === "snapshot" && epicOf(e) === null);
        await runCli(["init", "--epic", "AGAIN", "--domains", "b", "--dir", epic.dir]);
        await stream.next((e) => e.event === "snapshot" && epicOf(e)?.run.epicId === "AGAIN");
        const [agent] = Object.keys(
          JSON.parse(await readFile(join(epic.dir, ".parallel-progress", "state.json"), "utf8")).agents,
        );
        await runCli(["update", agent!, "--status", "in_progress", "--files", "1/3", "--dir", epic.dir]);
        await stream.next(
          (e) => e.event === "change" && JSON.stringify(e.data).includes('"filesCompleted":1'),
        );
        stream.close();
      } finally {
        expect(await serve.stop()).toBe(0);
      }
    } finally {
      await epic.cleanup();
    }
  });

  it("with a token (here PARALLEL_PROGRESS_SERVE_TOKEN), answers only requests that carry it: the printed URL does", async () => {
    const epic = await makeEpic();
    const token = "from-the-environment-0123";
    try {
      await runCli(["init", "--epic", "E-3", "--domains", "a", "--dir", epic.dir]);
      const bad = await runCli(["serve", "--dir", epic.dir, "--port", "0"], {
        env: { PARALLEL_PROGRESS_SERVE_TOKEN: "short secret" },
      });
      expect(bad.code).toBe(2);
      expect(bad.stderr.trim().split("\n")).toHaveLength(1);
      expect(bad.stderr).toContain("PARALLEL_PROGRESS_SERVE_TOKEN must be");
      expect(bad.stderr).not.toContain("short secret");

      // On loopback (tests listen on 127.0.0.1 only); any other host would require a token the same way.
      const serve = await startServe(["--dir", epic.dir, "--port", "0"], {
        PARALLEL_PROGRESS_SERVE_TOKEN: token,
      });
      try {
        const printed = new URL(serve.url);
        expect(printed.searchParams.get("token")).toBe(token);
        const local = `http://127.0.0.1:${printed.port}`;
        const status = (url: string) =>
          new Promise<number>((resolve, reject) =>
            get(url, (res) => {
              res.resume();
              resolve(res.statusCode ?? 0);
            }).on("error", reject),
          );
        expect(await status(`${local}/`)).toBe(401);
        expect(await status(`${local}/events`)).toBe(401);
        expect(await status(`${local}/?token=${token.slice(1)}`)).toBe(401);
        expect(await status(`${local}/?token=${token}`)).toBe(200);
      } finally {
        expect(await serve.stop()).toBe(0);
      }
    } finally {
      await epic.cleanup();
    }
  });
});
