import { describe, expect, it } from "vitest";
import { acquire, renew, renewalDue } from "../../src/sync/leases.js";

describe("leases: owned by a token, valid until expiresAt on the store's clock", () => {
  it("is acquired when free, expired or already one's own; never while another's is live", () => {
    expect(acquire(null, "a", 1000, 500)).toEqual({ owner: "a", expiresAt: 1500 });
    const held = { owner: "a", expiresAt: 1500 };
    expect(acquire(held, "b", 1499, 500)).toBeNull();
    expect(acquire(held, "b", 1500, 500)).toEqual({ owner: "b", expiresAt: 2000 });
    expect(acquire(held, "a", 1200, 500)).toEqual({ owner: "a", expiresAt: 1700 });
  });

  it("is renewed only by its owner, never shortened; lost once another took it", () => {
    const held = { owner: "a", expiresAt: 1500 };
    expect(renew(held, "a", 1400, 500)).toEqual({ owner: "a", expiresAt: 1900 });
    expect(renew(held, "a", 900, 500)).toEqual({ owner: "a", expiresAt: 1500 });
    expect(renew({ owner: "b", expiresAt: 2000 }, "a", 1600, 500)).toBeNull();
    expect(renew(null, "a", 1600, 500)).toBeNull();
  });

  it("is due for renewal once a third of its length has passed", () => {
    const lease = { owner: "a", expiresAt: 15_000 };
    expect(renewalDue(lease, 4_000, 15_000)).toBe(false);
    expect(renewalDue(lease, 5_001, 15_000)).toBe(true);
  });
});
