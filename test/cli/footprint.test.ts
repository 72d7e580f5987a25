import { describe, expect, it } from "vitest";
import { flusherPids, waitFor } from "../support/cli.js";
import type { FakeGitHub } from "../support/fake-github/index.js";
import { useFakeGitHub } from "../support/harness.js";

const TOKEN = "ghp_footprinttoken0123456789abcdefghijklm";
const fakeGitHub = useFakeGitHub(TOKEN);
const botGitHub = useFakeGitHub("ghs_footprintbot0123456789abcdefghijklmn", "github-actions[bot]");

/** The requests GitHub received from index `from` on, as "METHOD path" without the query. */
const since = (gh: FakeGitHub, from: number) =>
  gh.requests.slice(from).map((r) => `${r.method} ${r.path.split("?")[0]}`);

const LIST = "GET /repos/acme/widgets/issues/123/comments";
const CREATE = "POST /repos/acme/widgets/issues/123/comments";

/** How many requests each command makes on a healthy GitHub, in order (the README lists them). */
describe("GitHub's footprint", () => {
  it("init of a new run makes one request, and finalize one read and two writes", async () => {
    const { gh, dir, cli } = await fakeGitHub();
    const init = await cli("init", "--epic", "E", "--domains", "a,b");
    expect([init.code, init.stderr]).toEqual([0, ""]);
    expect(since(gh, 0)).toEqual([CREATE]);
    const [progress] = gh.comments("acme/widgets", 123);
    const edit = `PATCH /repos/acme/widgets/issues/comments/${progress!.id}`;

    // An update writes the latest state (at once or through the background writer): one edit, no read.
    let from = gh.requests.length;
    expect((await cli("complete", "a")).code).toBe(0);
    expect(
      await waitFor(async () => (await flusherPids(dir)).length === 0 && gh.requests.length > from),
    ).toBe(true);
    expect(since(gh, from)).toEqual([edit]);

    from = gh.requests.length;
    const finalize = await cli("finalize", "--summary", "merged", "--verbose");
    expect(finalize.code).toBe(0);
    // The lookup finds duplicates and an earlier final summary; the final edit; the summary, once.
    expect(since(gh, from)).toEqual([LIST, edit, CREATE]);
    // finalize writes both itself: it starts no background writer.
    expect(finalize.stderr).not.toContain("background writer");
    expect(await flusherPids(dir)).toEqual([]);

    from = gh.requests.length;
    expect((await cli("finalize", "--summary", "merged")).code).toBe(0);
    expect(since(gh, from)).toEqual([]); // run twice, it asks GitHub nothing
  });

  it("init makes one request with a token that cannot read /user, and learns its login from the comment", async () => {
    const { gh, cli } = await botGitHub({ fake: { viewerForbidden: true } });
    // --min-interval 0: finalize's 1 s between its writes is the test above's; here only who asks /user.
    expect((await cli("init", "--epic", "E", "--domains", "a", "--min-interval", "0")).code).toBe(0);
    expect(since(gh, 0)).toEqual([CREATE]);
    const from = gh.requests.length;
    expect((await cli("finalize", "--summary", "merged")).code).toBe(0);
    expect(since(gh, from).filter((r) => r === "GET /user")).toEqual([]);
    expect(gh.comments("acme/widgets", 123).map((c) => c.author)).toEqual([
      "github-actions[bot]",
      "github-actions[bot]",
    ]);
  });
});
