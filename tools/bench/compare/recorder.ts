// The webhook target both systems call, and what the scenarios read from it: when each `webhook-id`
// arrived. Lateness is measured here (arrival − run_at), the same clock and the same code for both
// systems, not taken from either system's own report.
import { distribution, round } from "../../harness/stats";
import { startTarget } from "../../harness/target";
import { type Log, sleep } from "../../harness/util";

export interface Receipt {
  webhookId: string;
  /** When the request arrived (epoch ms). */
  at: number;
}

export interface Recorder {
  url(route: string): string;
  /** Every request so far, in arrival order (append-only). */
  receipts(): readonly Receipt[];
  close(): Promise<void>;
}

/** A target on 127.0.0.1 that answers 200 at once and records each request's arrival. */
export async function startRecorder(): Promise<Recorder> {
  const target = await startTarget();
  return {
    url: (route) => target.url(route),
    receipts: () => target.deliveries,
    close: () => target.close(),
  };
}

/** The job id in a `webhook-id` (`<job id>:<occurrence>`). */
export const jobIdOf = (webhookId: string) => webhookId.slice(0, Math.max(0, webhookId.lastIndexOf(":")));

/** The deliveries of one scenario's jobs: which arrived, how late, how often. */
export function deliveries(receipts: readonly Receipt[], runAtById: ReadonlyMap<string, number>) {
  const firstArrival = new Map<string, number>();
  const perWebhookId = new Map<string, number>();
  for (const r of receipts) {
    const id = jobIdOf(r.webhookId);
    const runAt = runAtById.get(id);
    if (runAt === undefined) continue;
    perWebhookId.set(r.webhookId, (perWebhookId.get(r.webhookId) ?? 0) + 1);
    if (!firstArrival.has(id)) firstArrival.set(id, r.at);
  }
  const lateness = [...firstArrival].map(([id, at]) => at - (runAtById.get(id) ?? at));
  const arrivals = [...firstArrival.values()];
  let duplicates = 0;
  for (const n of perWebhookId.values()) duplicates += n - 1;
  return {
    submitted: runAtById.size,
    ran: firstArrival.size,
    missing: runAtById.size - firstArrival.size,
    /** Requests beyond the first for the same webhook-id (the same occurrence delivered again). */
    duplicates,
    all_ran: firstArrival.size === runAtById.size,
    first_arrival: arrivals.length ? Math.min(...arrivals) : null,
    last_arrival: arrivals.length ? Math.max(...arrivals) : null,
    lateness_ms: distribution(lateness),
  };
}

/** Waits (bounded) until every job in `runAtById` has arrived at least once; true if all did. */
export async function waitForArrivals(
  recorder: Recorder,
  runAtById: ReadonlyMap<string, number>,
  deadline: number,
  log: Log,
  what: string,
): Promise<boolean> {
  const seen = new Set<string>();
  let scanned = 0;
  let lastReport = Date.now();
  while (Date.now() < deadline) {
    const all = recorder.receipts();
    for (; scanned < all.length; scanned++) {
      const id = jobIdOf(all[scanned]?.webhookId ?? "");
      if (runAtById.has(id)) seen.add(id);
    }
    if (seen.size >= runAtById.size) return true;
    if (Date.now() - lastReport > 10_000) {
      lastReport = Date.now();
      log(`${what}: ${seen.size} of ${runAtById.size} arrived`);
    }
    await sleep(200);
  }
  return false;
}

/** Jobs per second from `from` to the last arrival. */
export const perSecond = (count: number, from: number, last: number | null) =>
  last === null || last <= from ? null : round(count / ((last - from) / 1000), 1);
