import { describe, expect, it } from "vitest";
import { MAX_DISPATCH_DEADLINE_MS } from "../../src/core/backoff";
import {
  CALLBACK_MAX_TRIES,
  CALLBACK_RETRY_BASE_SECONDS,
  CALLBACK_TIMEOUT_MS,
  callbackReportDeadlineMs,
  callbackVerdict,
} from "../../src/core/callback-policy";

const NOW = Date.UTC(2026, 10, 29, 12);
const half = () => 0.5;
const fail = { ok: false as const, error: "HTTP 500" };

describe("callbackVerdict", () => {
  it("a delivered try is done, whatever its number", () => {
    expect(callbackVerdict(1, { ok: true }, NOW, half)).toEqual({ kind: "delivered" });
    expect(callbackVerdict(CALLBACK_MAX_TRIES, { ok: true }, NOW, half)).toEqual({ kind: "delivered" });
  });

  it("a failed try is retried with doubling backoff until the last try, then given up", () => {
    const delays: number[] = [];
    for (let tryNo = 1; tryNo < CALLBACK_MAX_TRIES; tryNo++) {
      const v = callbackVerdict(tryNo, fail, NOW, () => 1);
      if (v.kind !== "retry") throw new Error(`try ${tryNo}: ${v.kind}`);
      delays.push(v.at - NOW);
    }
    const base = CALLBACK_RETRY_BASE_SECONDS * 1000;
    expect(delays).toEqual([base, base * 2, base * 4, base * 8]);
    expect(callbackVerdict(CALLBACK_MAX_TRIES, fail, NOW, half)).toEqual({
      kind: "abandoned",
      error: "HTTP 500",
    });
  });

  it("honours Retry-After, and gives up at once on a permanent failure", () => {
    const later = callbackVerdict(1, { ...fail, retryAfterMs: 3_600_000 }, NOW, half);
    expect(later).toEqual({ kind: "retry", at: NOW + 3_600_000 });
    const refused = { ok: false as const, error: "target refused", permanent: true };
    expect(callbackVerdict(1, refused, NOW, half)).toEqual({ kind: "abandoned", error: "target refused" });
  });
});

describe("callbackReportDeadlineMs", () => {
  it("waits the dispatch deadline plus a try's time limit, doubling per message already sent, bounded", () => {
    expect(callbackReportDeadlineMs(30_000, 0)).toBe(30_000 + CALLBACK_TIMEOUT_MS);
    expect(callbackReportDeadlineMs(30_000, 1)).toBe(60_000 + CALLBACK_TIMEOUT_MS);
    expect(callbackReportDeadlineMs(30_000, 40)).toBe(MAX_DISPATCH_DEADLINE_MS + CALLBACK_TIMEOUT_MS);
  });
});
