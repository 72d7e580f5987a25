import { defineConfig } from "vitest/config";

export default defineConfig({
  test: {
    include: ["test/**/*.test.ts"],
    clearMocks: true,
    restoreMocks: true,
    testTimeout: 30_000,
    hookTimeout: 30_000,
    pool: "forks",
    // One initdb for the run: the PostgreSQL test files copy its cluster (test/support/postgres.ts).
    globalSetup: ["test/support/postgres-template.ts"],
    // Workers: the default (one per core). Measured on 2 cores, whole suite: 2 workers 102 s, 3 workers
    // 114 s, 4 workers 306 s (at a load of ~20, property tests timing out); the CLI tests spend CPU in the
    // processes they start, so more workers than cores only add contention.
  },
});
