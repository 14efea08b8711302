import { describe, expect, it } from "vitest";
import { EventCounter, parseEvent } from "../../../tools/harness/log-events";
import { isReload, LineSplitter, parseQueueBatch } from "../../../tools/harness/log-lines";

describe("parseEvent", () => {
  it("reads the event of a JSON line, with or without a prefix", () => {
    expect(parseEvent('{"event":"dispatch_send_failed","error":"boom"}')).toEqual({
      event: "dispatch_send_failed",
      error: "boom",
    });
    expect(parseEvent('[wrangler:info] {"event":"index_write_failed"}')?.event).toBe("index_write_failed");
  });

  it("reads a console.error line as wrangler prints it, once its colour codes are gone", () => {
    const printed =
      '\u001b[31m✘ \u001b[41;31m[\u001b[41;97mERROR\u001b[41;31m]\u001b[0m \u001b[1m{"event":"index_write_failed","error":"Error: x\\n at y"}\u001b[0m\n';
    const lines: string[] = [];
    new LineSplitter((l) => lines.push(l)).push(printed);
    expect(lines).toHaveLength(1);
    expect(parseEvent(lines[0] ?? "")).toEqual({ event: "index_write_failed", error: "Error: x\n at y" });
  });

  it("ignores prose, broken JSON, arrays, and objects without a string event", () => {
    for (const line of [
      "dispatch send failed Error: boom",
      '{"event":"dispatch_send_failed"',
      '[{"event":"x"}]',
      '{"level":"error"}',
      '{"event":""}',
      '{"event":42}',
      "QUEUE scheduler-dispatch 25/25 (204ms)",
      "",
    ]) {
      expect(parseEvent(line), line).toBeNull();
    }
  });
});

describe("EventCounter", () => {
  it("counts events by name, keeps a few samples of each, and skips other lines", () => {
    const counter = new EventCounter(2);
    const lines = [
      '{"event":"attempt_finished","n":1}',
      "⎔ Reloading local server...",
      '{"event":"dispatch_send_failed"}',
      '{"event":"attempt_finished","n":2}',
      '{"event":"attempt_finished","n":3}',
    ];
    const names = lines.map((l) => counter.add(l, "[#1] "));
    expect(names).toEqual([
      "attempt_finished",
      null,
      "dispatch_send_failed",
      "attempt_finished",
      "attempt_finished",
    ]);
    expect(counter.sorted()).toEqual({ attempt_finished: 3, dispatch_send_failed: 1 });
    expect(Object.keys(counter.sorted())).toEqual(["attempt_finished", "dispatch_send_failed"]);
    expect(counter.samples.attempt_finished).toEqual([
      '[#1] {"event":"attempt_finished","n":1}',
      '[#1] {"event":"attempt_finished","n":2}',
    ]);
  });
});

describe("wrangler output", () => {
  it("splits chunks into whole lines without colour codes, and flushes the last one", () => {
    const lines: string[] = [];
    const splitter = new LineSplitter((l) => lines.push(l));
    splitter.push("\u001b[32mfirst\u001b[0m li");
    splitter.push("ne\nsecond\nthi");
    expect(lines).toEqual(["first line", "second"]);
    splitter.end();
    expect(lines).toEqual(["first line", "second", "thi"]);
  });

  it("recognises a queue batch, with or without its duration, and a reload", () => {
    expect(parseQueueBatch("[wrangler:info] QUEUE scheduler-dispatch 24/25 (204ms)")).toEqual({
      queue: "scheduler-dispatch",
      acked: 24,
      total: 25,
      ms: 204,
    });
    expect(parseQueueBatch("QUEUE scheduler-dispatch-dlq 1/1")?.ms).toBeNaN();
    expect(parseQueueBatch("queued 3 jobs")).toBeNull();
    expect(isReload("⎔ Reloading local server...")).toBe(true);
    expect(isReload("Ready on http://127.0.0.1:8787")).toBe(false);
  });
});
