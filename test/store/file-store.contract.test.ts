import { execFile } from "node:child_process";
import nodeFs from "node:fs";
import { mkdtemp, rm } from "node:fs/promises";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { promisify } from "node:util";
import { FileRunStore } from "../../src/store/file-store.js";
import { describeRunStoreContract } from "./contract.js";

const run = promisify(execFile);

/** A process that opens the file store of `dir` (the built library, as the CLI would) and bumps seq `each` times. */
const bumper = (dir: string, each: number) => `
  import fs from "node:fs";
  import { FileRunStore } from ${JSON.stringify(join(process.cwd(), "dist/lib/store/file-store.js"))};
  const store = new FileRunStore(fs, ${JSON.stringify(dir)});
  for (let i = 0; i < ${each}; i++) await store.transact((s) => ({ next: { ...s, seq: s.seq + 1 }, result: 0 }));
  await store.close();`;

describeRunStoreContract("file store", async () => {
  const dir = await mkdtemp(join(tmpdir(), "pp-contract-"));
  return {
    open: async () => new FileRunStore(nodeFs, dir),
    bumpInProcesses: async (processes, each) => {
      await Promise.all(
        Array.from({ length: processes }, () =>
          run(process.execPath, ["--input-type=module", "-e", bumper(dir, each)]),
        ),
      );
    },
    dispose: () => rm(dir, { recursive: true, force: true }),
  };
});
