// expires_after_seconds: an occurrence not started within that long after its due time is not run.
// Pure: the shard asks this where it would otherwise claim the job.

/**
 * True when a job due at `dueAt` (its run_at: the occurrence's due time, or the end of a retry's
 * backoff) is too late to start at `now`. Starting exactly `expiresAfterSeconds` late is still in time.
 */
export function isExpired(dueAt: number, expiresAfterSeconds: number | null, now: number): boolean {
  return expiresAfterSeconds !== null && now > dueAt + expiresAfterSeconds * 1000;
}

/** The error an expired occurrence records (docs/design.md: it fails with error `expired`). */
export const EXPIRED_ERROR = "expired";
