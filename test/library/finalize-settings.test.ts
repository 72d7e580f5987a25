import { createFsFromVolume, Volume } from "memfs";
import { describe, expect, it } from "vitest";
import { createParallelReporter } from "../../src/reporter.js";

describe("finalize", () => {
  it("reads a changed task.md once: the settings it checks are the ones it saves", async () => {
    const volume = Volume.fromJSON({ "/epic/task.md": "# Epic\n" });
    const fs = createFsFromVolume(volume);
    const reporter = createParallelReporter("/epic", {
      fs,
      env: {},
      clock: { now: () => Date.parse("2025-10-19T16:30:00Z") },
    });
    await reporter.initializeParallelTracking("E", ["a"]);
    fs.writeFileSync("/epic/task.md", "---\ngithub:\n  sync_enabled: false\n---\n# Epic, edited\n");
    let reads = 0;
    const readFile = fs.promises.readFile.bind(fs.promises);
    fs.promises.readFile = ((path: string, ...rest: unknown[]) => {
      if (String(path).endsWith("task.md")) reads++;
      return (readFile as (...args: unknown[]) => unknown)(path, ...rest);
    }) as typeof fs.promises.readFile;
    const result = await reporter.finalizeParallelExecution("done");
    expect(result.finalizedNow).toBe(true);
    expect(reads).toBe(1);
    expect((await reporter.load())!.github.syncEnabled).toBe(false);
  });
});
