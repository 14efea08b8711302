// What the soak reads from its server's output, across every start: the scheduler's log events by name,
// the runtime's own notable lines (Miniflare retrying or dropping a queue message, an exception that
// escaped the Worker), and the dispatch queue's consumer batches.
import type { LogLine } from "../../harness/dev-server";
import { EventCounter } from "../../harness/log-events";
import { parseQueueBatch, RUNTIME_LINES, type RuntimeLine } from "../../harness/log-lines";

/** Every dispatch queue (`scheduler-dispatch`, `scheduler-dispatch-1`..), not their dead-letter queues. */
export const isDispatchQueue = (name: string) => /^scheduler-dispatch(-\d+)?$/.test(name);
const RUNTIME_SAMPLES = 20;

export class ServerLog {
  readonly events = new EventCounter();
  readonly runtime = Object.fromEntries(Object.keys(RUNTIME_LINES).map((k) => [k, 0])) as Record<
    RuntimeLine,
    number
  >;
  readonly runtimeSamples: string[] = [];
  readonly queue = { batches: 0, messages: 0, acked: 0, batchMs: 0 };

  /** Reads every line `source` (a server or a server session) passes on, from now on. */
  constructor(source: { onLine(listener: (line: LogLine) => void): void }) {
    source.onLine(({ start, text }) => {
      const label = `[#${start}] `;
      if (this.events.add(text, label) !== null) return;
      const batch = parseQueueBatch(text);
      if (batch && isDispatchQueue(batch.queue)) {
        this.queue.batches++;
        this.queue.acked += batch.acked;
        this.queue.messages += batch.total;
        this.queue.batchMs += Number.isFinite(batch.ms) ? batch.ms : 0;
      }
      for (const [name, pattern] of Object.entries(RUNTIME_LINES) as [RuntimeLine, RegExp][]) {
        if (!pattern.test(text)) continue;
        this.runtime[name]++;
        if (this.runtimeSamples.length < RUNTIME_SAMPLES)
          this.runtimeSamples.push(`${label}${text.slice(0, 300)}`);
      }
    });
  }
}
