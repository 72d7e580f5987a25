import { describe, expect, it } from "vitest";
import {
  assertEpicId,
  checkDomains,
  checkEventMessage,
  parseDomainsOption,
} from "../../src/config/options.js";
import { quote } from "../../src/config/show-value.js";
import { keptText } from "../../src/model/agent-text.js";
import { chooseStore } from "../../src/store/open-store.js";

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

  it("refuses them in a database run's epic too (--epic or PARALLEL_PROGRESS_EPIC): one check", () => {
    const store = "postgres://u@127.0.0.1:5432/db";
    for (const [given, env] of [
      [{ store, epic: "E\u0085" }, {}],
      [{ store, epic: "x".repeat(201) }, {}],
    ] as const) {
      expect(() => chooseStore(given, env)).toThrow("--epic must be 1 to 200 printable characters, got");
    }
    // The variable is named when the value is its.
    expect(() => chooseStore({ store }, { PARALLEL_PROGRESS_EPIC: "E\u2028x" })).toThrow(
      'PARALLEL_PROGRESS_EPIC must be 1 to 200 printable characters, got "E\\u2028x"',
    );
    expect(chooseStore({ store, epic: " E-7 " }, {})).toEqual({ url: store, epicId: "E-7" });
  });

  it("counts characters as code points: an emoji is one, and an echoed value is never cut inside one", () => {
    const rocket = "🚀";
    expect(assertEpicId(rocket.repeat(150))).toBe(rocket.repeat(150));
    expect(assertEpicId(rocket.repeat(200))).toBe(rocket.repeat(200));
    expect(() => assertEpicId(rocket.repeat(201))).toThrow(
      `--epic must be 1 to 200 printable characters, got "${rocket.repeat(77)}..."`,
    );
    expect(checkDomains([rocket.repeat(200)])).toEqual([rocket.repeat(200)]);
    expect(() => checkDomains([rocket.repeat(201)])).toThrow("got one of 201");
    expect(checkEventMessage(rocket.repeat(2001))).toBe(rocket.repeat(2001));
    expect(keptText(rocket.repeat(2000))).toBe(rocket.repeat(2000));
    expect(keptText(rocket.repeat(2001))).toBe(`${rocket.repeat(1999)}…`);
    for (const text of [
      rocket.repeat(100),
      `a${rocket.repeat(100)}`,
      `${"é".repeat(76)}${rocket.repeat(9)}`,
    ]) {
      const shown = quote(text);
      expect(shown).not.toMatch(/\\ud83d|[\ud800-\udbff](?![\udc00-\udfff])/);
      expect(shown.endsWith('..."')).toBe(true);
      expect(Array.from(shown)).toHaveLength(80 + 2);
    }
    expect(quote({ a: rocket.repeat(100) })).not.toMatch(/[\ud800-\udbff](?![\udc00-\udfff])/);
  });

  it("quote escapes DEL, C1 controls, separators, the BOM and bidi overrides", () => {
    expect(quote("\u007f\u0085\u2028\ufeff\u202e")).toBe('"\\u007f\\u0085\\u2028\\ufeff\\u202e"');
    expect(quote({ a: "\u007f" })).toBe('{"a":"\\u007f"}');
    expect(quote("é ü 😀")).toBe('"é ü 😀"');
  });
});
