// Polling with backoff until a condition holds or a deadline passes. The clock and the pause are
// injectable, so tests drive time instead of waiting for it.
export interface PollTiming {
  /** Give up after this long (default 60 s). */
  timeoutMs?: number;
  /** First pause between polls (default 250 ms); each pause doubles up to maxIntervalMs. */
  intervalMs?: number;
  maxIntervalMs?: number;
  now?: () => number;
  sleep?: (ms: number) => Promise<void>;
}

const realSleep = (ms: number) => new Promise<void>((resolve) => setTimeout(resolve, ms));

/** `read()` until `done(value)`; on timeout, `onTimeout(lastValue)` is thrown. */
export async function pollUntil<T>(
  read: () => Promise<T>,
  done: (value: T) => boolean,
  onTimeout: (last: T) => Error,
  {
    timeoutMs = 60_000,
    intervalMs = 250,
    maxIntervalMs = 5_000,
    now = Date.now,
    sleep = realSleep,
  }: PollTiming = {},
): Promise<T> {
  const deadline = now() + timeoutMs;
  let pause = intervalMs;
  for (;;) {
    const value = await read();
    if (done(value)) return value;
    const left = deadline - now();
    if (left <= 0) throw onTimeout(value);
    await sleep(Math.min(pause, left));
    pause = Math.min(pause * 2, maxIntervalMs);
  }
}
