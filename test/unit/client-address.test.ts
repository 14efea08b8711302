// Which client a failed login counts against (src/api/auth-limits.ts clientOf).
import { describe, expect, it } from "vitest";
import { clientOf } from "../../src/api/auth-limits";

describe("clientOf", () => {
  it("is the CF-Connecting-IP address; IPv6 by its /64; `unknown` without one", () => {
    expect(clientOf("203.0.113.7")).toBe("203.0.113.7");
    expect(clientOf(" 203.0.113.7 ")).toBe("203.0.113.7");
    expect(clientOf("2001:db8:1:2::5")).toBe("2001:db8:1:2::/64");
    expect(clientOf("2001:0db8:0001:0002:ffff:ffff:ffff:ffff")).toBe("2001:db8:1:2::/64");
    expect(clientOf("::ffff:198.51.100.9")).toBe("198.51.100.9");
    expect(clientOf(undefined)).toBe("unknown");
    expect(clientOf("")).toBe("unknown");
    // Whatever else a proxy sends is its own client, at most 64 characters of it.
    expect(clientOf("x".repeat(100))).toBe("x".repeat(64));
  });
});
