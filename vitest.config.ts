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
    // Two workers on these 2-core machines (vitest 4's default is one fewer than the cores: one). Measured,
    // whole suite on a quiet machine: 1 worker 297 s, 2 workers 163 s, 3 workers 153 s (more contention
    // for the CPU-bound property tests for 10 s: not worth the risk on a loaded CI machine).
    maxWorkers: 2,
    globalSetup: ["test/support/postgres-template.ts"],
    sequence: { sequencer: SlowFirst },
  },
});
