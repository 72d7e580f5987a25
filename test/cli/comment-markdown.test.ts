import { writeFile } from "node:fs/promises";
import { join } from "node:path";
import { describe, expect, it } from "vitest";
import { parseMarker } from "../../src/render/marker.js";
import { parseGfm as parse, text, walk } from "../support/gfm.js";
import { useFakeGitHub } from "../support/harness.js";

/** Issue 11, items 4 and 5, end to end: what the CLI posts to a fake GitHub, parsed with the GFM parser. */

const TOKEN = "ghp_testtoken0123456789abcdefghijklmnopqrstu";
const fakeGitHub = useFakeGitHub(TOKEN);

describe("what the CLI posts", () => {
  it("keeps a hostile domain literal and the merge summary contained", async () => {
    const { gh, cli, dir } = await fakeGitHub();
    const domains = ["![](http://evil.example/x.png)", "[x](javascript:alert(1))", "**b** #123"];
    // --min-interval 0 (saved in the run): finalize's two writes need not be 1 s apart for what this checks.
    expect(
      (await cli("init", "--epic", "E", "--domains", domains.join(","), "--min-interval", "0")).code,
    ).toBe(0);
    expect((await cli("fail", domains[1]!, "--error", "see `x` _here_ www.evil.example")).code).toBe(0);
    await writeFile(join(dir, "summary.md"), "- item\n  ```\n  code");
    expect((await cli("finalize", "--summary-file", join(dir, "summary.md"))).code).toBe(0);

    const final = gh.comments("acme/widgets", 123).find((c) => parseMarker(c.body)?.kind === "final")!;
    const tree = parse(final.body);
    const nodes = [...walk(tree)];
    for (const type of ["image", "link", "emphasis", "inlineCode"]) {
      expect(nodes.filter((node) => node.type === type)).toEqual([]);
    }
    // Read as written, once the invisible joiners that break links and references are set aside.
    const cells = nodes
      .filter((node) => node.type === "tableRow")
      .map((row) => text(row.children![0]!).replaceAll("\u200D", ""));
    expect(cells.slice(1).sort()).toEqual([...domains].sort());
    const top = tree.children!;
    const headings = top.filter((node) => node.type === "heading" && node.depth! <= 3).map(text);
    // The timeline (a mermaid block) closes the summary after the durations.
    expect(headings.slice(-3)).toEqual(["Merge Results", "Agent Durations", "Timeline"]);
    const durations = top.findIndex((node) => node.type === "heading" && text(node) === "Agent Durations");
    expect(top[durations + 1]!.children).toHaveLength(3);
    expect(top.at(-2)).toMatchObject({ type: "code", lang: "mermaid" });
    expect(top.at(-1)).toMatchObject({ type: "html" });
    expect(parseMarker(top.at(-1)!.value!)).toMatchObject({ kind: "final" });
  });

  it("shows the merge summary's code as written (finalize --summary-file)", async () => {
    const { gh, cli, dir } = await fakeGitHub();
    expect((await cli("init", "--epic", "E", "--domains", "a", "--min-interval", "0")).code).toBe(0);
    const code = "fn f() -> Vec<String> // @octocat";
    const summary = `Changed \`Vec<String>\` for @alice\n\n\`\`\`rust\n${code}\n\`\`\`\n`;
    await writeFile(join(dir, "summary.md"), summary);
    expect((await cli("finalize", "--summary-file", join(dir, "summary.md"))).code).toBe(0);

    const final = gh.comments("acme/widgets", 123).find((c) => parseMarker(c.body)?.kind === "final")!;
    const nodes = [...walk(parse(final.body))];
    expect(nodes.filter((node) => node.type === "inlineCode").map((node) => node.value)).toEqual([
      "Vec<String>",
    ]);
    expect(nodes.filter((node) => node.lang === "rust").map((node) => node.value)).toEqual([code]);
    // Outside code the mention is still broken, with an invisible joiner.
    expect(final.body).toContain("for @\u200Dalice");
  });

  it("shows each agent's result summary (complete --summary) in the final summary, as literal text", async () => {
    const { gh, cli } = await fakeGitHub();
    expect((await cli("init", "--epic", "E", "--domains", "api,web", "--min-interval", "0")).code).toBe(0);
    expect((await cli("complete", "api", "--summary", "Added **3** endpoints | @alice\nsee #12")).code).toBe(
      0,
    );
    expect((await cli("complete", "web")).code).toBe(0);
    expect((await cli("finalize", "--summary", "merged")).code).toBe(0);

    const final = gh.comments("acme/widgets", 123).find((c) => parseMarker(c.body)?.kind === "final")!;
    const top = parse(final.body).children!;
    const heading = top.findIndex((node) => node.type === "heading" && text(node) === "Agent Durations");
    const items = top[heading + 1]!.children!.map((item) => text(item).replaceAll("\u200D", ""));
    expect(items).toHaveLength(2);
    expect(items[0]).toMatch(/^api \(impl-api-\d{6}\): ✅ Completed in \d+ seconds? — /);
    expect(items[0]!.endsWith(" — Added **3** endpoints | @alice\nsee #12")).toBe(true);
    expect(items[1]).toMatch(/^web \(impl-web-\d{6}\): ✅ Completed in \d+ seconds?$/);
    expect(final.body).not.toContain("@alice");
  });
});
