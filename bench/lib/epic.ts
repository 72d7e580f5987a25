import { mkdtemp, rm, writeFile } from "node:fs/promises";
import { tmpdir } from "node:os";
import { join } from "node:path";

export const REPO = "acme/widgets";
export const ISSUE = 123;

/** task.md of an epic whose progress goes to acme/widgets#123. */
export const SYNCED_TASK = `---\ngithub:\n  issue_number: ${ISSUE}\n  repo: ${REPO}\n---\n# Epic\n`;
/** task.md of a local run: no issue, so nothing is posted. */
export const LOCAL_TASK = "---\ntitle: Local epic\n---\n# Epic\n";

/** Temporary epic directories, all removed by `cleanup()`. */
export class Epics {
  private readonly dirs: string[] = [];

  async make(task: string): Promise<string> {
    const dir = await mkdtemp(join(tmpdir(), "pp-bench-"));
    this.dirs.push(dir);
    await writeFile(join(dir, "task.md"), task);
    return dir;
  }

  async cleanup(): Promise<void> {
    await Promise.all(this.dirs.splice(0).map((dir) => rm(dir, { recursive: true, force: true })));
  }
}
