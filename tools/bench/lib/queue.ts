// The local queue's consumer batches, from the server's log (one line per batch, timed by its arrival):
// the evidence for where dispatch time goes.
import type { DevServer } from "../../harness/dev-server";
import { parseQueueBatch, type QueueBatch } from "../../harness/log-lines";
import { distribution } from "../../harness/stats";

export interface TimedBatch extends QueueBatch {
  /** When the line arrived, i.e. about when the batch ended. */
  at: number;
}

/** The batches whose lines arrived between `from` and `to` (epoch ms). */
export function queueBatches(server: DevServer, from: number, to: number): TimedBatch[] {
  const out: TimedBatch[] = [];
  for (const line of server.lines(from, to)) {
    const batch = parseQueueBatch(line.text);
    if (batch) out.push({ at: line.at, ...batch });
  }
  return out;
}

export function summarizeBatches(batches: TimedBatch[]) {
  const sizes = batches.map((b) => b.total);
  const gaps: number[] = [];
  for (let i = 1; i < batches.length; i++) {
    const prev = batches[i - 1];
    const cur = batches[i];
    // Time from one batch's end to the next batch's start (its end less its own duration).
    if (prev && cur) gaps.push(cur.at - cur.ms - prev.at);
  }
  return {
    count: batches.length,
    messages: sizes.reduce((a, b) => a + b, 0),
    not_acked: batches.reduce((n, b) => n + (b.total - b.acked), 0),
    size: distribution(sizes),
    duration_ms: distribution(batches.map((b) => b.ms)),
    idle_gap_ms: distribution(gaps),
  };
}
