// Low-level pieces of the http executor: one deadline for the whole attempt, bounded body reads,
// and Retry-After parsing.

/** One timer covering every hop and the body read, so a slow redirect chain cannot outlive it. */
export class Deadline {
  readonly signal: AbortSignal;
  expired = false;
  private readonly timer: ReturnType<typeof setTimeout>;
  private readonly aborted: Promise<never>;

  constructor(ms: number) {
    const controller = new AbortController();
    this.signal = controller.signal;
    this.aborted = new Promise<never>((_, reject) => {
      controller.signal.addEventListener("abort", () => reject(controller.signal.reason));
    });
    // Nobody may be racing when the timer fires; that must not surface as an unhandled rejection.
    this.aborted.catch(() => {});
    this.timer = setTimeout(() => {
      this.expired = true;
      controller.abort(new DOMException(`timed out after ${ms} ms`, "TimeoutError"));
    }, ms);
  }

  /** Also covers fetch implementations and streams that ignore the abort signal. */
  race<T>(p: Promise<T>): Promise<T> {
    return Promise.race([p, this.aborted]);
  }

  clear(): void {
    clearTimeout(this.timer);
  }
}

/** Reads at most `limit` bytes (plus one chunk to learn whether there is more), then cancels. */
export async function readPrefix(
  res: Response,
  limit: number,
  deadline: Deadline,
): Promise<{ text: string; truncated: boolean }> {
  if (!res.body) return { text: "", truncated: false };
  const reader = res.body.getReader();
  const chunks: Uint8Array[] = [];
  let total = 0;
  let done = false;
  try {
    while (total <= limit) {
      const r = await deadline.race(reader.read());
      if (r.done) {
        done = true;
        break;
      }
      const chunk = r.value as Uint8Array;
      chunks.push(chunk);
      total += chunk.byteLength;
    }
  } finally {
    if (!done) reader.cancel().catch(() => {});
  }
  const bytes = new Uint8Array(Math.min(total, limit));
  let offset = 0;
  for (const c of chunks) {
    const part = c.subarray(0, bytes.length - offset);
    bytes.set(part, offset);
    offset += part.length;
  }
  const truncated = total > limit;
  // stream: true holds back a multi-byte character cut in half by the limit instead of emitting U+FFFD.
  return { text: new TextDecoder().decode(bytes, { stream: truncated }), truncated };
}

/** Retry-After as delay-seconds or an HTTP-date, in ms from `nowMs`; undefined when absent or garbled. */
export function parseRetryAfter(value: string | null, nowMs: number): number | undefined {
  if (value === null) return undefined;
  const v = value.trim();
  if (/^\d+$/.test(v)) return Number(v) * 1000;
  // Date.parse accepts almost anything; every HTTP-date form starts with a day name.
  if (!/^[A-Za-z]{3}/.test(v)) return undefined;
  const at = Date.parse(v);
  return Number.isNaN(at) ? undefined : Math.max(0, at - nowMs);
}

/** Frees a response we will not read (redirects); failures here are irrelevant. */
export function discard(res: Response): void {
  res.body?.cancel().catch(() => {});
}
