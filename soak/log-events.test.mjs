// The soak counts the scheduler's log events by name (src/log.ts writes one JSON line per event).
//   node --test soak/
import assert from "node:assert/strict";
import { test } from "node:test";
import { logEventOf } from "./lib/server.mjs";

test("an event line is named by its `event`, wherever the runtime's prefix ends", () => {
  assert.equal(logEventOf('{"event":"dispatch_send_failed","jobs":3}'), "dispatch_send_failed");
  assert.equal(logEventOf('[wrangler:err] {"event":"unhandled_error","path":"/v1/jobs"}'), "unhandled_error");
});

test("prose, other JSON and broken JSON are not events", () => {
  assert.equal(logEventOf("dispatch send failed Error: boom"), null);
  assert.equal(logEventOf('{"level":"info","msg":"x"}'), null);
  assert.equal(logEventOf('{"event":"dispatch_send_failed",'), null);
  assert.equal(logEventOf('{"event":42}'), null);
});
