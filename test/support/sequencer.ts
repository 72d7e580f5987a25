import { BaseSequencer, type TestSpecification } from "vitest/node";

/**
 * The files that start processes, servers or a browser (test/cli, test/serve, test/store/pg, the examples,
 * and test/library's long runs and lock wait) take seconds each; the rest, sharing their worker's modules,
 * take milliseconds. The slow ones go first, in vitest's own order (with its cache of durations: failed,
 * then longest first; without it, as on a clean clone in CI: largest first), so that the quick ones fill
 * in at the end while the last slow file runs, instead of a slow file running alone after them.
 */
export class SlowFirst extends BaseSequencer {
  override async sort(files: TestSpecification[]): Promise<TestSpecification[]> {
    const sorted = await super.sort(files);
    const slow = (file: TestSpecification) =>
      /[\\/]test[\\/](cli|serve|store[\\/]pg|library)[\\/]|[\\/]examples\.test\.ts$/.test(file.moduleId);
    return [...sorted.filter(slow), ...sorted.filter((file) => !slow(file))];
  }
}
