// Item 5's worker: in-process library use over a long local run; prints one JSON line of heap samples.
// Run as `node --expose-gc --import tsx bench/memory-worker.ts <updates> <agents>`.
import { mkdtemp, rm, writeFile } from "node:fs/promises";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { performance } from "node:perf_hooks";
import { createParallelReporter } from "../src/index.js";
import { LOCAL_TASK } from "./lib/epic.js";

const updates = Number(process.argv[2] ?? 3000);
const agentCount = Number(process.argv[3] ?? 50);
const checkpoints = new Set([500, 1000, 2000, updates]);
const gc = (globalThis as { gc?: () => void }).gc;

function heapUsed(): number {
  gc?.();
  gc?.();
  return process.memoryUsage().heapUsed;
}

const dir = await mkdtemp(join(tmpdir(), "pp-bench-mem-"));
try {
  await writeFile(join(dir, "task.md"), LOCAL_TASK);
  const reporter = createParallelReporter(dir, { env: {} });
  const domains = Array.from({ length: agentCount }, (_, i) => `agent-${i + 1}`);
  const agents = await reporter.initializeParallelTracking("BENCH-MEM", domains);
  const heap: { updates: number; heapUsed: number }[] = [];
  const started = performance.now();
  for (let i = 1; i <= updates; i++) {
    const agent = agents[i % agents.length]!;
    const done = Math.min(100, Math.ceil(i / agents.length));
    await reporter.updateAgentProgress(agent.agentId, "in_progress", done, 100);
    if (checkpoints.has(i)) heap.push({ updates: i, heapUsed: heapUsed() });
  }
  const elapsed = performance.now() - started;
  process.stdout.write(
    `${JSON.stringify({ gc: gc !== undefined, updates, agents: agentCount, ms: elapsed, heap })}\n`,
  );
} finally {
  await rm(dir, { recursive: true, force: true });
}
