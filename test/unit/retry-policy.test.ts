import fc from "fast-check";
import { describe, expect, it } from "vitest";
import { isExpired } from "../../src/core/expiry";
import { failsAtOnce, isTransientStatus } from "../../src/core/retry-policy";

describe("retry policy", () => {
  it("classifies every HTTP status: only 4xx other than 408, 425 and 429 are client errors", () => {
    for (let status = 100; status < 600; status++) {
      const clientError = status >= 400 && status < 500 && ![408, 425, 429].includes(status);
      expect(isTransientStatus(status), `HTTP ${status}`).toBe(!clientError);
    }
  });

  it("fails at once on a permanent failure under both policies, on a client error only under transient", () => {
    for (const policy of ["all", "transient"] as const) {
      expect(failsAtOnce(policy, { permanent: true })).toBe(true);
      expect(failsAtOnce(policy, {})).toBe(false);
      expect(failsAtOnce(policy, { httpStatus: 503 })).toBe(false);
      expect(failsAtOnce(policy, { httpStatus: 429 })).toBe(false);
    }
    expect(failsAtOnce("transient", { httpStatus: 404 })).toBe(true);
    expect(failsAtOnce("all", { httpStatus: 404 })).toBe(false);
  });
});

describe("expiry", () => {
  it("never expires without expires_after_seconds", () => {
    expect(isExpired(0, null, Number.MAX_SAFE_INTEGER)).toBe(false);
  });

  it("expires exactly when now is past the due time plus the allowance", () => {
    fc.assert(
      fc.property(
        fc.integer({ min: 0, max: 2 ** 42 }),
        fc.integer({ min: 1, max: 31_536_000 }),
        fc.integer({ min: -10_000, max: 10_000 }),
        (due, seconds, offset) => {
          const edge = due + seconds * 1000;
          expect(isExpired(due, seconds, edge + offset)).toBe(offset > 0);
        },
      ),
    );
  });
});
