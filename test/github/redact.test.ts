import { describe, expect, it } from "vitest";
import { holdsSecret, maskSecrets, redactSecrets } from "../../src/github/redact.js";

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

  it("masks a token glued to what stands before it (URL-encoded, after a digit), not a snake_case name", () => {
    const token = `ghp_${"a1B2".repeat(9)}`;
    expect(maskSecrets(`auth=Bearer%20${token}&x=1`, [])).toBe("auth=Bearer%20***&x=1");
    expect(maskSecrets(`q=%3D${token}`, [])).toBe("q=%3D***");
    expect(maskSecrets(`1github_pat_${"x1".repeat(41)}`, [])).toBe("1***");
    expect(maskSecrets("coughs_per_minute_total_long_name", [])).toBe("coughs_per_minute_total_long_name");
  });

  it("masks Basic and Bearer credentials (a git extraheader a log line quotes), not words after the scheme", () => {
    const header = Buffer.from(`x-access-token:ghs_${"Z9".repeat(18)}`).toString("base64");
    expect(maskSecrets(`http.https://github.com/.extraheader=AUTHORIZATION: basic ${header}`, [])).toBe(
      "http.https://github.com/.extraheader=AUTHORIZATION: basic ***",
    );
    expect(maskSecrets("sent Bearer eyJhbGciOiJIUzI1NiJ9.e30.sig", [])).toBe("sent Bearer ***");
    expect(maskSecrets("basic authentication failed; a bearer token was refused", [])).toBe(
      "basic authentication failed; a bearer token was refused",
    );
  });
});

describe("holdsSecret", () => {
  it("finds a secret as written, URL-encoded or percent-encoded any way; a short one only as written", () => {
    const long = "hunter2secretpw";
    expect(holdsSecret(`a/${long}`, [long])).toBe(true);
    expect(holdsSecret("a/hunter2%73ecretpw", [long])).toBe(true);
    expect(holdsSecret("a/%68%75nter2secretpw", [long])).toBe(true);
    expect(holdsSecret("a/hunter2-secretpw", [long])).toBe(false);
    // Whatever its shape: a token gh gives may be shaped as one (maskSecrets masks it either way).
    const shaped = "ghp_0123456789abcdefghijklmnopqrstuvwxyz";
    expect(holdsSecret(`http://h/${shaped}`, [shaped])).toBe(true);
    // A short one stands alone in decoded text by chance (`/tmp/no%20pw` is `/tmp/no pw`).
    expect(holdsSecret("/tmp/no pw", ["pw"])).toBe(true);
    expect(holdsSecret("/tmp/no%20pw", ["pw"])).toBe(false);
  });
});
