import { describe, expect, it } from "vitest";
import { runCli } from "../support/cli.js";
import { useEpicDirs } from "../support/epic-dirs.js";

/** Issue 11, items 8 and 9: ambiguous agent names and control characters on the command line. */

const epic = useEpicDirs();

describe("agent names on the command line", () => {
  it("refuses a name that matches several domains ignoring case: exit 2, the candidates listed", async () => {
    const dir = await epic();
    expect((await runCli(["init", "--epic", "E", "--domains", "Back,BACK,bAck", "--dir", dir])).code).toBe(0);
    const result = await runCli([
      "update",
      "back",
      "--status",
      "in_progress",
      "--files",
      "1/2",
      "--dir",
      dir,
    ]);
    expect(result.code).toBe(2);
    expect(result.stderr).toMatch(
      /agent "back" is ambiguous: it matches the domains of impl-bac-\d{6} \(Back\), impl-bac-\d{6}-2 \(BACK\), impl-bac-\d{6}-3 \(bAck\) ignoring case/,
    );
    const status = JSON.parse((await runCli(["status", "--json", "--dir", dir])).stdout);
    expect(status.agents.map((agent: { status: string }) => agent.status)).toEqual([
      "pending",
      "pending",
      "pending",
    ]);
  });

  it("refuses a name that is one agent's id and another's domain", async () => {
    // Ids carry the time of init, and a run that replaces one in the same second takes the next suffix
    // (`impl-x-163000-2`): a run whose domains are `x` and the id `x` gets, made within the same second
    // as the run whose id tells that second (tried a few times, each in a new directory: a second may
    // tick over in between, and the run replaced there would then hold a suffix of its own).
    let dir = "";
    let id = "";
    let ids: string[] = [];
    for (let attempt = 0; attempt < 5 && ids[0] !== id; attempt++) {
      dir = await epic();
      const first = await runCli(["init", "--force", "--epic", "E", "--domains", "x", "--dir", dir]);
      id = `${first.stdout.trim().split("\t")[1]!}-2`;
      const second = await runCli(["init", "--force", "--epic", "E", "--domains", `x,${id}`, "--dir", dir]);
      ids = second.stdout
        .trim()
        .split("\n")
        .map((line) => line.split("\t")[1]!);
    }
    expect(ids[0]).toBe(id);
    const result = await runCli(["complete", id, "--dir", dir]);
    expect(result.code).toBe(2);
    expect(result.stderr).toContain(
      `agent "${id}" is ambiguous: it is the id of ${id} (x) and the domain of ${ids[1]} (${id})`,
    );
  });

  it("never echoes a raw control character", async () => {
    const dir = await epic();
    const result = await runCli(["init", "--epic", "E", "--domains", "a\u007fb,c\u0085d", "--dir", dir]);
    expect(result.code).toBe(2);
    expect(result.stderr).toContain('may not contain control characters, got "a\\u007fb"');
    expect(result.stderr).not.toMatch(/[\u007f-\u009f]/);
  });
});
