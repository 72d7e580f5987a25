import { describe, expect, it } from "vitest";
import { percent, renderFinalComment, renderProgressComment, UsageError } from "../../src/index.js";
import * as unchecked from "../../src/render/progress-comment.js";
import { makeAgent, makeRun, ms } from "../render/fixtures.js";

/** The exported pure helpers check their arguments at the API boundary, as the reporter's methods do. */

// biome-ignore lint/suspicious/noExplicitAny: the point is calling the API with what TypeScript forbids
type Untyped = any;

const run = () =>
  makeRun([makeAgent("backend", "in_progress", 3, 7), makeAgent("frontend", "completed", 2, 2)], {
    completedAt: "2025-10-19T16:40:00.000Z",
    mergeSummary: "merged",
  });

describe("renderProgressComment and renderFinalComment", () => {
  it("render a run state as the sync path does", () => {
    const options = { now: ms("16:35:00"), maxLength: 2000 };
    expect(renderProgressComment(run(), options)).toBe(unchecked.renderProgressComment(run(), options));
    expect(renderFinalComment(run())).toBe(unchecked.renderFinalComment(run()));
  });

  it("render a state written by an older version, with the defaults its file would be read with", () => {
    const old: Untyped = run();
    for (const agent of Object.values(old.agents) as Untyped[]) delete agent.events;
    delete old.stallAfterMs;
    expect(renderProgressComment(old)).toBe(unchecked.renderProgressComment(run()));
  });

  it.each<[string, () => string, string]>([
    [
      "null",
      () => renderProgressComment(null as Untyped),
      "renderProgressComment: state must be an object, got null",
    ],
    [
      "{}",
      () => renderFinalComment({} as Untyped),
      "renderFinalComment: state.version must be one of 1, got nothing",
    ],
    [
      "an agent with a status that does not exist",
      () => {
        const state: Untyped = run();
        state.agents["impl-bac-163000"].status = "done";
        return renderProgressComment(state);
      },
      'renderProgressComment: state.agents.impl-bac-163000.status must be one of pending, in_progress, completed, failed, cancelled, got "done"',
    ],
    [
      "agents that are not a record",
      () => renderFinalComment({ ...run(), agents: [] as Untyped }),
      "renderFinalComment: state.agents must be a record, got []",
    ],
    [
      "a maximum length that is text",
      () => renderProgressComment(run(), { maxLength: "5" as Untyped }),
      'renderProgressComment: options.maxLength must be a number, got "5"',
    ],
    [
      "a time that is NaN",
      () => renderFinalComment(run(), { now: Number.NaN }),
      "renderFinalComment: options.now must be a number, got NaN",
    ],
    [
      "an option it does not have",
      () => renderProgressComment(run(), { max: 5 } as Untyped),
      'renderProgressComment: options has an unknown key max, got {"max":5}',
    ],
  ])("refuse %s with a UsageError naming the function, the parameter and the value", (_, render, message) => {
    expect(render).toThrow(new UsageError(message));
    expect(render).toThrow(UsageError);
  });
});

describe("percent", () => {
  it("clamps counts out of range, as documented", () => {
    expect([percent(3, 7), percent(5, 3), percent(-1, 3), percent(1, 0), percent(0, 0)]).toEqual([
      43, 100, 0, 0, 0,
    ]);
  });

  it.each<[string, unknown, unknown, string]>([
    ["NaN", Number.NaN, 3, "percent: done must be a finite number, got NaN"],
    ["Infinity", 1, Number.POSITIVE_INFINITY, "percent: total must be a finite number, got Infinity"],
    ["text", "3", 7, 'percent: done must be a finite number, got "3"'],
    ["nothing", 3, undefined, "percent: total must be a finite number, got nothing"],
  ])("refuses %s, no finite number, with a UsageError", (_, done, total, message) => {
    expect(() => percent(done as number, total as number)).toThrow(new UsageError(message));
  });
});
