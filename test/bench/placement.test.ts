import { describe, expect, it } from "vitest";
import { expandCpuList } from "../../bench/lib/placement.js";

describe("the benchmark's CPU list reader (taskset's format)", () => {
  it("expands ranges and single CPUs, in order", () => {
    expect(expandCpuList("0,1")).toEqual([0, 1]);
    expect(expandCpuList("0-3,6")).toEqual([0, 1, 2, 3, 6]);
    expect(expandCpuList("5")).toEqual([5]);
  });

  it("skips what is not a CPU number", () => {
    expect(expandCpuList("")).toEqual([]);
    expect(expandCpuList("a,2")).toEqual([2]);
  });
});
