// Debounce (docs/design.md "Debounce"): while a job of the user with the same debounce key has not
// started, a new submit replaces it instead of adding one. Pure: `now` is an argument.
import { z } from "zod";

export const DebounceSchema = z.object({
  key: z.string(),
  delay_seconds: z.int(),
  max_wait_seconds: z.int().nullable(),
});

/** A one-shot job's debounce as the job object shows it (no max_wait: null). */
export type Debounce = z.infer<typeof DebounceSchema>;

/** The submit's debounce with its default filled in. */
export function debounceOf(d: {
  key: string;
  delay_seconds: number;
  max_wait_seconds?: number | undefined;
}): Debounce {
  return { key: d.key, delay_seconds: d.delay_seconds, max_wait_seconds: d.max_wait_seconds ?? null };
}

/**
 * When the pending job runs after a submit at `now`: `delay_seconds` after the latest submit, but no
 * later than `max_wait_seconds` after the first (`firstAt`). The first submit is `firstAt = now`.
 */
export function debouncedRunAt(d: Debounce, firstAt: number, now: number): number {
  const afterLatest = now + d.delay_seconds * 1000;
  return d.max_wait_seconds === null
    ? afterLatest
    : Math.min(afterLatest, firstAt + d.max_wait_seconds * 1000);
}
