import { describe, expect, it } from "vitest";
import { assertEpicId, checkDomains, parseDomainsOption } from "../../src/config/options.js";
import { quote } from "../../src/config/show-value.js";

/** Issue 11, item 9: C1 controls are refused in domains, and no raw control character is echoed. */

const RAW_CONTROL = /[\u0000-\u001f\u007f-\u009f\u2028\u2029]/;

describe("control characters", () => {
  it.each([
    ["a\u0085b", "a\\u0085b"],
    ["a\u007fb", "a\\u007fb"],
    ["a\u009bb", "a\\u009bb"],
    ["a\u2028b", "a\\u2028b"],
  ])("%j is refused in a domain and shown escaped", (domain, shown) => {
    for (const check of [
      () => parseDomainsOption(`x,${domain}`),
      () => checkDomains([domain], domain, "domains"),
    ]) {
      expect(check).toThrow(`may not contain control characters, got "${shown}"`);
      try {
        check();
      } catch (error) {
        expect((error as Error).message).not.toMatch(RAW_CONTROL);
      }
    }
  });

  it("refuses them in an epic id, shown escaped", () => {
    expect(() => assertEpicId("E\u0085")).toThrow(
      '--epic must be 1 to 200 printable characters, got "E\\u0085"',
    );
    expect(() => assertEpicId("E\u007f")).toThrow('got "E\\u007f"');
  });

  it("quote escapes DEL, C1 controls, separators, the BOM and bidi overrides", () => {
    expect(quote("\u007f\u0085\u2028\ufeff\u202e")).toBe('"\\u007f\\u0085\\u2028\\ufeff\\u202e"');
    expect(quote({ a: "\u007f" })).toBe('{"a":"\\u007f"}');
    expect(quote("é ü 😀")).toBe('"é ü 😀"');
  });
});
