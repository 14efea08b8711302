// What the comparison reports as the scheduler's server errors (tools/bench/compare/scheduler-system.ts):
// error-level events and stack traces, not routine events whose fields merely contain "failed".
import { describe, expect, it } from "vitest";
import { isTroubleLine } from "../../../../tools/bench/compare/scheduler-system";

describe("isTroubleLine", () => {
  it("does not count a routine event whose fields name failures", () => {
    const reported =
      '{"event":"attempts_reported","user_id":"usr_x","shard":0,"attempts":1,"accepted":1,"outcomes":{"succeeded":1,"failed":0}}';
    expect(isTroubleLine(reported)).toBe(false);
    expect(isTroubleLine('{"event":"jobs_removed","error_count":0}')).toBe(false);
  });

  it("counts error-level events, with or without wrangler's prefix", () => {
    expect(isTroubleLine('{"event":"dispatch_send_failed","shard":"usr_x/0","jobs":3}')).toBe(true);
    expect(isTroubleLine('✘ [ERROR] {"event":"index_write_failed","error":"boom"}')).toBe(true);
  });

  it("counts other lines naming an error, but not Miniflare's queue lines nor wrangler's calls home", () => {
    expect(isTroubleLine("Uncaught TypeError: x is not a function")).toBe(true);
    expect(isTroubleLine("QUEUE scheduler-dispatch 1/1 (3ms) failed")).toBe(false);
    expect(isTroubleLine("getaddrinfo ENOTFOUND workers.cloudflare.com (error)")).toBe(false);
    expect(isTroubleLine("[wrangler:info] Ready on http://127.0.0.1:8787")).toBe(false);
  });
});
