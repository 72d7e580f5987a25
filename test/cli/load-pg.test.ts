import { execFile } from "node:child_process";
import { join } from "node:path";
import { promisify } from "node:util";
import { describe, expect, it } from "vitest";

const run = promisify(execFile);

describe("loadPg", () => {
  it("loads pg without Node's fetch (undici), and leaves globalThis as it found it", async () => {
    // A fresh process: a module loads once per process. (On Node 21+ navigator exists and this holds anyway.)
    const script = `
      const hadNavigator = "navigator" in globalThis;
      const { loadPg } = await import(${JSON.stringify(join(process.cwd(), "src/cli/load-pg.ts"))});
      const pg = await loadPg(() => import("pg"));
      console.log(JSON.stringify({
        client: typeof pg.default.Client,
        undici: process.moduleLoadList.some((m) => m.includes("internal/deps/undici")),
        navigatorKept: ("navigator" in globalThis) === hadNavigator,
      }));`;
    const { stdout } = await run(process.execPath, ["--import", "tsx", "--input-type=module", "-e", script]);
    expect(JSON.parse(stdout)).toEqual({ client: "function", undici: false, navigatorKept: true });
  });
});
