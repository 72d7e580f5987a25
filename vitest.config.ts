import { defineConfig } from "vitest/config";
import { SlowFirst } from "./test/support/sequencer.js";

export default defineConfig({
  test: {
    include: ["test/**/*.test.ts"],
    clearMocks: true,
    restoreMocks: true,
    testTimeout: 30_000,
    hookTimeout: 30_000,
    pool: "forks",
    // Test files share their worker's modules instead of importing everything again for each file: the
    // 60-odd quick files cost half a second each in imports otherwise (measured, whole suite: vitest
    // 137-147 s isolated, 118 s shared, 102 s with the slow files first). Safe here: no test mocks a module, fakes timers or changes
    // process.env (clocks, fs and HTTP are injected), and each file makes its own folders and servers.
    isolate: false,
    // Three workers on these 2-core machines (vitest 4's default is one fewer than the cores: one). The
    // process files (test/cli, the examples) spend much of their time waiting on the processes, servers and
    // GitHub timeouts they start, so a third file runs in that time. Measured, test/cli and the examples
    // back to back (same CPU, 96-110 s): 2 workers 86 and 100 s, 3 workers 68 and 77 s, 4 workers 70 s.
    // Earlier, whole suite when most files were CPU-bound: 1 worker 297 s, 2 workers 163 s, 3 workers 153 s.
    // The quick CPU-bound files at the end take longer each on three workers, not longer in all.
    maxWorkers: 3,
    globalSetup: ["test/support/postgres-template.ts"],
    sequence: { sequencer: SlowFirst },
  },
});
