import { describe, expect, it } from "vitest";
import { checkPendingChange } from "../../src/queue/pending-schema.js";

/** A kept change's file as `add` writes it, with `change` and the other fields as given. */
const file = (fields: Record<string, unknown>) =>
  JSON.stringify({
    id: "0123abcd",
    epicId: "E",
    database: "pp",
    madeAt: 1_767_225_600_000,
    change: { kind: "update", agent: "api", status: "in_progress", filesCompleted: 1, filesTotal: 4 },
    ...fields,
  });

describe("checkPendingChange", () => {
  it("takes every kind of change as add writes it, and keeps keys it does not know (a later release's)", () => {
    const changes = [
      { kind: "update", agent: "api", status: "completed", metrics: { costUsd: 1.5 } },
      { kind: "complete", agent: "api", summary: null },
      { kind: "fail", agent: "api", error: "boom", metrics: { iteration: 2, maxIterations: 5 } },
      { kind: "cancel", agent: "api", reason: "not needed" },
      { kind: "log", agent: "api", message: "hello" },
      { kind: "finalize", summary: "" },
    ];
    for (const change of changes) {
      expect(checkPendingChange(file({ change }))).toMatchObject({ change });
    }
    expect(checkPendingChange(file({ waitingSince: 5, later: true }))).toMatchObject({
      waitingSince: 5,
      later: true,
    });
  });

  it("says what is wrong with a file that is not a change, and the value found", () => {
    const update = { kind: "update", agent: "api", status: "in_progress" };
    const wrong: [Record<string, unknown>, string][] = [
      [{ change: { ...update, agent: 5 } }, "change.agent must be a string, got 5"],
      [{ change: null }, "change must be an object, got null"],
      [
        { change: { kind: "bogus" } },
        'change.kind must be one of update, complete, fail, cancel, log, finalize, got "bogus"',
      ],
      [{ change: { agent: "api" } }, "change.kind is missing"],
      [
        { change: { ...update, status: "cancelled" } },
        'change.status must be one of pending, in_progress, completed, failed, got "cancelled"',
      ],
      [{ change: { kind: "finalize" } }, "change.summary is missing"],
      [{ madeAt: undefined }, "madeAt is missing"],
      [{ madeAt: "abc" }, 'madeAt must be epoch milliseconds, got "abc"'],
      [{ madeAt: 1e300 }, "madeAt must be epoch milliseconds, got 1e+300"],
      [{ waitingSince: "soon" }, 'waitingSince must be epoch milliseconds, got "soon"'],
      [{ epicId: 7 }, "epicId must be a string, got 7"],
    ];
    for (const [fields, reason] of wrong) expect(checkPendingChange(file(fields))).toBe(reason);
    expect(checkPendingChange('{"id": "a", "change": {')).toBe("not valid JSON");
    expect(checkPendingChange("[1, 2]")).toBe("not a JSON object");
    expect(checkPendingChange("null")).toBe("not a JSON object");
  });
});
