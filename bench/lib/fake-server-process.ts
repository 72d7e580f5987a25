// The fake GitHub in a process of its own, for the start-up measurement (see placement.ts): started by
// `startFakeProcess`, it reports its URL, then answers the few control calls the measurement makes over
// Node's IPC channel, and exits when told to or when its parent goes away.
import { startFakeGitHub } from "../../test/support/fake-github/index.js";
import type { FakeGitHubOptions } from "../../test/support/fake-github/types.js";
import type { ControlAnswer, ControlCall } from "./fake-process-protocol.js";

const send = (message: ControlAnswer | { ready: string }) => process.send?.(message);
const options = JSON.parse(process.argv[2] ?? "{}") as FakeGitHubOptions;
const github = await startFakeGitHub(options);

process.on("disconnect", () => void github.close().then(() => process.exit(0)));
process.on("message", (call: ControlCall) => {
  switch (call.op) {
    case "addComment": {
      const comment = github.addComment(call.repo, call.issue, call.body, call.author);
      send({ id: call.id, value: comment.id });
      return;
    }
    case "bodyLengths":
      send({ id: call.id, value: github.comments(call.repo, call.issue).map((c) => c.body.length) });
      return;
    case "counts":
      send({ id: call.id, value: [github.requests.length, github.writes.length] });
      return;
    case "close":
      void github.close().then(() => {
        send({ id: call.id, value: 0 });
        process.disconnect();
        process.exit(0);
      });
      return;
  }
});
send({ ready: github.url });
