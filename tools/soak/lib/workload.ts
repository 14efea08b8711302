// The soak's jobs: a deterministic (seeded) plan of kinds, owners and times.
//
//   ok    one-shot http → /ok, run_at spread uniformly over the run window; must be delivered and succeed
//         (timeout_seconds from --ok-timeout, as for rec)
//   rec   recurring http → /ok every 5-10 s from early in the window; cancelled when the window ends
//   fail  one-shot http → /fail (500): max_retries 2, retry_delay_seconds 1; must end failed after 3 attempts
//   hang  one-shot http → /hang (answers after the timeout): timeout_seconds 1, max_retries 1; must end
//         failed with both attempts timed out. They come due in `hangBursts` bursts: the local queue
//         hands the consumer one batch (≤ 25 messages) at a time and a batch lasts as long as its
//         slowest message, so a hang attempt holds up to 24 others for its 1 s timeout. Spread out,
//         100 hang jobs put a hang attempt in nearly every batch and halve the local queue's
//         throughput (measured: ~600 ms per batch instead of ~50 ms); in bursts they share batches.
//
// Times are offsets (ms) from T0, the start of the run window; the load phase turns them into run_at.
import type { PlannedJob, PlannedKind } from "./types";

export const KINDS: readonly PlannedKind[] = ["ok", "rec", "fail", "hang"];

/** Fractions of the jobs that are recurring, always failing and hanging; the rest are one-shot /ok. */
export interface Mix {
  rec: number;
  fail: number;
  hang: number;
}

export function planJobs({
  jobs,
  users,
  windowMs,
  random,
  mix,
  hangBursts = 0,
}: {
  jobs: number;
  users: number;
  windowMs: number;
  random: () => number;
  mix: Mix;
  hangBursts?: number;
}): { plan: PlannedJob[]; counts: Record<PlannedKind, number> } {
  const bursts = Array.from({ length: hangBursts }, (_, i) =>
    Math.floor(((i + 0.5) * windowMs) / hangBursts),
  );
  const rec = Math.round(jobs * mix.rec);
  const fail = Math.round(jobs * mix.fail);
  const hang = Math.round(jobs * mix.hang);
  const counts: Record<PlannedKind, number> = { rec, fail, hang, ok: jobs - rec - fail - hang };
  if (counts.ok < 0) throw new Error("the mix leaves no room for one-shot /ok jobs");
  const kinds: PlannedKind[] = [];
  for (const kind of KINDS) for (let i = 0; i < counts[kind]; i++) kinds.push(kind);
  // Shuffle so users get a similar mix.
  for (let i = kinds.length - 1; i > 0; i--) {
    const j = Math.floor(random() * (i + 1));
    [kinds[i], kinds[j]] = [kinds[j] as PlannedKind, kinds[i] as PlannedKind];
  }
  const plan = kinds.map((kind, index): PlannedJob => {
    const base = {
      index,
      kind,
      user: index % users,
      priority: 20 + Math.floor(random() * 61),
    };
    if (kind === "rec") {
      return {
        ...base,
        offsetMs: Math.floor(random() * Math.min(10_000, windowMs / 4)),
        intervalSeconds: 5 + Math.floor(random() * 6),
      };
    }
    const offsetMs = Math.floor(random() * windowMs);
    if (kind === "hang" && bursts.length > 0)
      return { ...base, offsetMs: bursts[Math.floor(random() * bursts.length)] ?? offsetMs };
    return { ...base, offsetMs };
  });
  // Submitted in time order, so the earliest jobs are in before they are due.
  plan.sort((a, b) => a.offsetMs - b.offsetMs);
  return { plan, counts };
}

/**
 * The POST /v1/jobs body for one planned job. `okTimeoutSeconds` is the timeout of the /ok jobs: long
 * by default (900 s, the most the API allows), because how fast a crashed attempt is retried must not
 * depend on it.
 */
export function jobBody(
  job: PlannedJob,
  runAtMs: number,
  targetUrl: (route: string) => string,
  okTimeoutSeconds = 10,
) {
  const common = {
    type: "http",
    name: `soak-${job.index}-${job.kind}`,
    priority: job.priority,
    run_at: new Date(runAtMs).toISOString(),
  };
  const payload = (route: string) => ({
    url: targetUrl(route),
    body: { u: job.user, j: job.index, k: job.kind },
  });
  switch (job.kind) {
    case "ok":
      return {
        ...common,
        payload: payload("/ok"),
        max_retries: 3,
        retry_delay_seconds: 1,
        timeout_seconds: okTimeoutSeconds,
      };
    case "rec":
      return {
        ...common,
        payload: payload("/ok"),
        interval_seconds: job.intervalSeconds,
        max_retries: 3,
        retry_delay_seconds: 1,
        timeout_seconds: okTimeoutSeconds,
      };
    case "fail":
      return {
        ...common,
        payload: payload("/fail"),
        max_retries: 2,
        retry_delay_seconds: 1,
        timeout_seconds: 10,
      };
    case "hang":
      return {
        ...common,
        payload: payload("/hang"),
        max_retries: 1,
        retry_delay_seconds: 1,
        timeout_seconds: 1,
      };
    default:
      throw new Error(`unknown kind ${job.kind}`);
  }
}
