// Per-call timing for the queries bench, and the shard timings its calls run with.

/** Milliseconds per call of `fn`: one warm-up call, then at least 3 calls and `minMs` (at most `maxCalls`). */
export function perCall(fn: () => unknown, minMs = 300, maxCalls = 2000): number {
  fn();
  const start = performance.now();
  let calls = 0;
  while (calls < maxCalls && (calls < 3 || performance.now() - start < minMs)) {
    fn();
    calls++;
  }
  return (performance.now() - start) / calls;
}

/** ShardTimings as the defaults set them (src/shard/config.ts). */
export const timings = {
  dispatchDeadlineMs: 30_000,
  leaseGraceMs: 10_000,
  heartbeatTimeoutMs: 30_000,
  indexFlushDelayMs: 2000,
};

/** perCall for an async `fn` (one awaited at a time). */
export async function perCallAsync(
  fn: () => Promise<unknown>,
  minMs = 300,
  maxCalls = 2000,
): Promise<number> {
  await fn();
  const start = performance.now();
  let calls = 0;
  while (calls < maxCalls && (calls < 3 || performance.now() - start < minMs)) {
    await fn();
    calls++;
  }
  return (performance.now() - start) / calls;
}
