import { describe, expect, it } from "vitest";
import { maskSecrets, redactSecrets } from "../../src/github/redact.js";

describe("redactSecrets", () => {
  it("masks the given secrets, also URL-encoded", () => {
    expect(redactSecrets("a s3cr3t+/value b s3cr3t%2B%2Fvalue", ["s3cr3t+/value"])).toBe("a *** b ***");
  });

  it("masks a short secret only where it stands alone", () => {
    expect(redactSecrets("token t, attempt t", ["t"])).toBe("token ***, attempt ***");
  });

  it("masks anything shaped like a GitHub token", () => {
    const classic = `ghp_${"A1".repeat(18)}`;
    const fine = `github_pat_11ABCDEFG0_${"x".repeat(59)}`;
    for (const prefix of ["gho_", "ghu_", "ghs_", "ghr_"]) {
      expect(redactSecrets(`x ${prefix}${"a".repeat(36)} y`)).toBe("x *** y");
    }
    expect(redactSecrets(`${classic} and ${fine}.`)).toBe("*** and ***.");
    expect(redactSecrets("ghp_short stays")).toBe("ghp_short stays");
  });

  it("masks Authorization header values and scheme credentials", () => {
    expect(redactSecrets("Authorization: token abc\nnext")).toBe("Authorization: ***\nnext");
    expect(redactSecrets('{"authorization":"bearer xyz","a":1}')).toBe('{"authorization":"***","a":1}');
    expect(redactSecrets("sent Bearer abcdefghijklmnopqrstuvwxyz")).toBe("sent Bearer ***");
    expect(redactSecrets("the token was rejected")).toBe("the token was rejected");
  });
});

describe("maskSecrets (agents' text)", () => {
  it("masks the given secrets and token-shaped text, and leaves words after auth schemes alone", () => {
    const text = `token ${"x".repeat(20)} ghp_${"A1".repeat(18)}; basic authentication-middleware-rewrite`;
    expect(maskSecrets(text, [`${"x".repeat(20)}`])).toBe(
      "token *** ***; basic authentication-middleware-rewrite",
    );
    expect(maskSecrets("Authorization: denied for bob", [])).toBe("Authorization: denied for bob");
  });
});
