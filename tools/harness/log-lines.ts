// Reading `wrangler dev` output: whole lines without colour codes, and the lines wrangler and Miniflare
// print themselves. Those are not ours to change, so they are recognised by pattern; the scheduler's
// own log lines are JSON events (log-events.ts).

// biome-ignore lint/suspicious/noControlCharactersInRegex: strips ANSI colour codes from wrangler output
const ANSI = /\u001b\[[0-9;]*m/g;

/** Splits a stream's chunks into lines (a line may span chunks), colour codes removed. */
export class LineSplitter {
  private partial = "";

  constructor(private readonly onLine: (text: string) => void) {}

  push(chunk: Buffer | string): void {
    const parts = (this.partial + chunk.toString()).split("\n");
    this.partial = parts.pop() ?? "";
    for (const raw of parts) this.onLine(raw.replace(ANSI, ""));
  }

  /** The last line, if the stream ended without a newline. */
  end(): void {
    if (this.partial) this.onLine(this.partial.replace(ANSI, ""));
    this.partial = "";
  }
}

/** One local queue consumer batch, as Miniflare logs it: `QUEUE <name> <acked>/<total> (<ms>ms)`. */
export interface QueueBatch {
  queue: string;
  acked: number;
  total: number;
  /** The batch's duration; NaN when the line does not give it. */
  ms: number;
}

const QUEUE_LINE = /QUEUE (\S+) (\d+)\/(\d+)(?: \((\d+)ms\))?/;

export function parseQueueBatch(text: string): QueueBatch | null {
  const m = QUEUE_LINE.exec(text);
  if (!m) return null;
  return {
    queue: m[1] ?? "",
    acked: Number(m[2]),
    total: Number(m[3]),
    ms: m[4] === undefined ? Number.NaN : Number(m[4]),
  };
}

/** wrangler restarted the Worker because a watched source changed (`⎔ Reloading local server...`). */
export const isReload = (text: string) => /Reloading local server/i.test(text);

/**
 * Runtime lines worth counting: the local queue retrying or dropping a message, and an exception that
 * escaped the Worker (workerd's `Uncaught …`), which no handler of ours got to log as an event.
 */
export const RUNTIME_LINES = {
  queueRetry: /Retrying message/,
  deadLetter: /dead letter queue|Dropped message/,
  uncaught: /Uncaught|uncaught exception/i,
} as const;
export type RuntimeLine = keyof typeof RUNTIME_LINES;
