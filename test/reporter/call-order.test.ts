import { describe, expect, it } from "vitest";
import { CallOrder } from "../../src/reporter/call-order.js";

/** A promise and the functions that settle it. */
function gate() {
  let open: () => void = () => undefined;
  const opened = new Promise<void>((resolve) => {
    open = resolve;
  });
  return { opened, open };
}

describe("CallOrder: a reporter's changes in the order they were called", () => {
  it("runs one agent's changes one at a time, in call order, however long each takes", async () => {
    const order = new CallOrder();
    const seen: string[] = [];
    const slow = gate();
    const first = order.turn("a", async () => {
      await slow.opened;
      seen.push("a1");
    });
    const second = order.turn("a", async () => {
      seen.push("a2");
    });
    // Another agent's change does not wait for agent a's.
    await order.turn("b", async () => {
      seen.push("b1");
    });
    expect(seen).toEqual(["b1"]);
    slow.open();
    await Promise.all([first, second]);
    expect(seen).toEqual(["b1", "a1", "a2"]);
  });

  it("runs a change of the run after every change called before it, and before every one called after", async () => {
    const order = new CallOrder();
    const seen: string[] = [];
    const slow = gate();
    const agent = order.turn("a", async () => {
      await slow.opened;
      seen.push("a1");
    });
    const run = order.turn(null, async () => {
      seen.push("finalize");
    });
    const later = order.turn("b", async () => {
      seen.push("b1");
    });
    slow.open();
    await Promise.all([agent, run, later]);
    expect(seen).toEqual(["a1", "finalize", "b1"]);
  });

  it("goes on after a change that failed; the failure is that call's alone", async () => {
    const order = new CallOrder();
    const failed = order.turn("a", async () => {
      throw new Error("refused");
    });
    const next = order.turn("a", async () => "done");
    await expect(failed).rejects.toThrow("refused");
    await expect(next).resolves.toBe("done");
  });
});
