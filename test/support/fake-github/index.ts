export { startFakeGitHub } from "./fake.js";
export { MAX_BODY_LENGTH } from "./routes.js";
export type {
  FakeGitHub,
  FakeGitHubOptions,
  FakeIssueSeed,
  Faults,
  RequestOutcome,
  RequestRecord,
  ScriptedAnswer,
  StoredComment,
} from "./types.js";
