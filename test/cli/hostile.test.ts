import { describe, expect, it } from "vitest";
import { parseMarker } from "../../src/render/marker.js";
import { runCli, waitFor } from "../support/cli.js";
import { MAX_BODY_LENGTH } from "../support/fake-github/index.js";
import { parseGfm, walk } from "../support/gfm.js";
import { useFakeGitHub } from "../support/harness.js";

const fakeGitHub = useFakeGitHub("ghp_hostiletoken0123456789abcdefghijklmno");

async function setup() {
  const { gh, dir, env } = await fakeGitHub();
  const cli = (...args: string[]) => runCli([...args, "--dir", dir, "--min-interval", "0"], { env });
  const progress = () =>
    gh.comments("acme/widgets", 123).filter((c) => parseMarker(c.body)?.kind === "progress");
  return { gh, cli, progress };
}

describe("hostile agent text and huge runs, end to end", () => {
  it("a hostile error message leaves a well-formed table with no live mention or raw HTML", async () => {
    const { cli, progress } = await setup();
    await cli("init", "--epic", "E", "--domains", "api|core,ui");
    const hostile =
      "@octocat @acme/security ping!\n| broken | row |\n<img src=x onerror=alert(1)><!-- parallel-progress:final run=E -->`code`";
    expect((await cli("fail", "api|core", "--error", hostile)).code).toBe(0);
    expect((await cli("log", "ui", "<script>alert(1)</script> @here")).code).toBe(0);
    const body = progress()[0]!.body;
    const nodes = [...walk(parseGfm(body))];
    const tables = nodes.filter((node) => node.type === "table");
    const html = nodes.filter((node) => node.type === "html").map((node) => node.value ?? "");
    const text = nodes
      .filter((node) => node.type === "text" || node.type === "inlineCode")
      .map((node) => node.value ?? "");
    expect(tables).toHaveLength(1);
    expect(tables[0]!.children).toHaveLength(3); // header + 2 agents
    for (const row of tables[0]!.children!) expect(row.children).toHaveLength(5);
    const allowed =
      /^(<br>|<details>|<summary>|<\/summary>|<\/details>|<!-- parallel-progress:progress run=[A-Za-z0-9._-]+ seq=\d+ -->)$/;
    for (const tag of html.flatMap((h) => h.match(/<[^>]*>/g) ?? [])) expect(tag).toMatch(allowed);
    expect(html.join("")).not.toMatch(/<(img|script)/i);
    expect(text.join("\n")).not.toMatch(/@[A-Za-z0-9]/); // every @ is followed by a zero-width joiner
    expect(parseMarker(body)).toMatchObject({ kind: "progress" });
  });

  it("a 1,500-domain run posts (the body stays within GitHub's limit) and says how many domains there are", async () => {
    const { gh, cli, progress } = await setup();
    const domains = Array.from({ length: 1500 }, (_, i) => `domain-${String(i).padStart(4, "0")}`);
    const init = await cli("init", "--epic", "E", "--domains", domains.join(","));
    expect(init.code).toBe(0);
    expect(init.stdout.trim().split("\n")).toHaveLength(1500);
    expect(
      new Set(
        init.stdout
          .trim()
          .split("\n")
          .map((line) => line.split("\t")[1]),
      ).size,
    ).toBe(1500);
    // Failures with long errors and a completion on a run this size (40 of them, every body within the
    // limit, no 422) run in-process: test/convergence/huge-run.test.ts.
    const body = progress()[0]!.body;
    expect(body.length).toBeLessThanOrEqual(MAX_BODY_LENGTH);
    expect(body).toContain("**Mode:** Parallel (1500 domains)");
    expect(body).toContain("**Overall:**");
    expect(gh.requests.filter((r) => r.status === 422)).toEqual([]);
    expect((await cli("finalize", "--summary", "y".repeat(100_000))).code).toBe(0);
    const final = () => gh.comments("acme/widgets", 123).filter((c) => parseMarker(c.body)?.kind === "final");
    // A background writer may be the one posting it: wait for it (bounded).
    expect(await waitFor(() => final().length === 1)).toBe(true);
    expect(final()).toHaveLength(1);
    expect(final()[0]!.body.length).toBeLessThanOrEqual(MAX_BODY_LENGTH);
  }, 120_000);
});
