// Retry timing after a failed attempt. Pure: the clock and the randomness come in as arguments.

/**
 * Longest backoff we choose ourselves: 24 h. Doubling passes a day by the 13th retry of a 30 s base;
 * waiting longer would only delay noticing that a target has recovered, and a day keeps a job with
 * many retries from sitting silently for weeks. A server's Retry-After may still ask for more.
 */
export const MAX_BACKOFF_MS = 24 * 60 * 60 * 1000;

/**
 * Delay before retry number `retry` (1-based), with "equal jitter": exp = base × 2^(retry−1) in ms,
 * capped at MAX_BACKOFF_MS and at least 1 ms; the delay is ceil(exp/2 + random × exp/2), i.e. in
 * [exp/2, exp]. Half the delay is fixed so retries never bunch up near 0; the random half spreads
 * jobs that failed together (e.g. one target going down) so they do not retry in lockstep.
 * `random` returns [0,1).
 */
export function retryDelayMs(baseSeconds: number, retry: number, random: () => number): number {
  if (!Number.isFinite(baseSeconds) || baseSeconds < 0) throw new RangeError("baseSeconds must be >= 0");
  if (!Number.isFinite(retry) || retry < 1) throw new RangeError("retry is 1-based");
  // 2^(retry-1) becomes Infinity for huge retries; min() with the cap absorbs that. A zero base would
  // give 0 × Infinity = NaN, so it short-circuits to the 1 ms floor instead.
  const raw = baseSeconds === 0 ? 0 : baseSeconds * 1000 * 2 ** (retry - 1);
  const exp = Math.max(1, Math.round(Math.min(MAX_BACKOFF_MS, raw)));
  // Clamp a misbehaving random source so the documented bounds hold regardless.
  const r = Math.min(1, Math.max(0, random() || 0));
  const half = exp / 2;
  return Math.min(exp, Math.ceil(half + r * half));
}

/**
 * When the retry may start: now + max(retryDelayMs(...), retryAfterMs ?? 0). A server's Retry-After
 * is honoured (never sooner), even beyond MAX_BACKOFF_MS, since retrying earlier would only be refused.
 * A negative or non-finite Retry-After is treated as absent so a garbage header cannot poison the time.
 */
export function retryAt(
  now: number,
  baseSeconds: number,
  retry: number,
  retryAfterMs: number | undefined,
  random: () => number,
): number {
  const serverAsks =
    retryAfterMs !== undefined && Number.isFinite(retryAfterMs) ? Math.max(0, retryAfterMs) : 0;
  return now + Math.max(retryDelayMs(baseSeconds, retry, random), serverAsks);
}

/** The longest a claim waits for its message to begin, however congested the queue. */
export const MAX_DISPATCH_DEADLINE_MS = 10 * 60 * 1000;

/**
 * How long a claim may wait for its message to begin before it is dispatched again. Doubles with
 * each consecutive miss: a miss sends one more message, and under a congested queue (messages
 * slower than the deadline, not lost) a fixed deadline would keep adding copies faster than the queue
 * drains them. With doubling, a job adds at most log2(queue delay / base) copies.
 */
export function dispatchDeadlineMs(baseMs: number, misses: number): number {
  return Math.min(
    baseMs * 2 ** Math.min(Math.max(0, misses), 30),
    Math.max(baseMs, MAX_DISPATCH_DEADLINE_MS),
  );
}
