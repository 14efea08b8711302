// Scenario 2, worst wait under a priority flood: a capacity-1 pool kept saturated by a sustained stream
// of priority-`high` noop jobs (closed loop: whenever fewer than `backlog` of them are waiting, more are
// submitted, so the stream runs exactly at what the capacity serves and a high job is always waiting),
// and one priority-`low` job due at t0. With aging, the low job must go before every high job that
// became due after t0 + (high − low) × PRIORITY_AGING_SECONDS, and after every one due before that.
// Figures: the low job's lateness against the documented bound (gap × aging + one dispatch cycle),
// the high jobs' lateness, and a check of that ordering rule job by job.
import { FINISHED, type Job, lastAttempt } from "../../harness/api-types";
import { distribution, median, round } from "../../harness/stats";
import { mapLimit, ms, sleep } from "../../harness/util";
import { queueBatches, summarizeBatches } from "../lib/queue";
import type { Bench } from "./context";
import { countBy } from "./pool-utilisation";

export interface FloodOptions {
  agingSeconds: number;
  low: number;
  high: number;
  backlog: number;
  warmupSeconds: number;
  afterSeconds: number;
  maxSeconds: number;
}

const POOL = "flood";

export async function priorityFlood({ api, adminToken, server, log }: Bench, o: FloodOptions) {
  const user = await api.createUser(adminToken, "bench-flood");
  const [key = "", floodKey = ""] = await api.keys(adminToken, user, 2);
  await api.putPool(key, POOL, 1);
  const highIds: string[] = [];
  const submitHigh = async () => {
    const reply = await api.submit(floodKey, {
      type: "noop",
      priority: o.high,
      resources: { [POOL]: 1 },
    });
    highIds.push(reply.body.id);
  };

  let lowId: string | null = null;
  let lowWaiting = false;
  let stopFlood = false;
  const started = Date.now();
  const hardStop = started + (o.warmupSeconds + o.maxSeconds) * 1000;
  let poolSamples = 0;
  let maxWaiting = 0;

  // The flood: keep `backlog` high jobs due and waiting, checked every 100 ms.
  const flood = (async () => {
    while (!stopFlood && Date.now() < hardStop) {
      const pool = (await api.pools(floodKey)).body.pools.find((p) => p.name === POOL);
      poolSamples++;
      const waitingHigh = (pool?.waiting ?? 0) - (lowWaiting ? 1 : 0);
      maxWaiting = Math.max(maxWaiting, pool?.waiting ?? 0);
      const missing = o.backlog - waitingHigh;
      if (missing > 0) await Promise.all(Array.from({ length: missing }, submitHigh));
      await sleep(100);
    }
  })();

  await sleep(o.warmupSeconds * 1000);
  const lowReply = await api.submit(key, { type: "noop", priority: o.low, resources: { [POOL]: 1 } });
  lowId = lowReply.body.id;
  lowWaiting = true;
  const t0 = Date.parse(lowReply.body.run_at);
  const boundAgingMs = (o.high - o.low) * o.agingSeconds * 1000;
  log(`flood: low job ${lowId} due at t0; aging bound ${boundAgingMs} ms; ${highIds.length} high so far`);

  // Wait for the low job to start (bounded), keep flooding a little longer, then stop.
  let low: Job | null = null;
  while (Date.now() < hardStop) {
    low = await api.job(key, lowId);
    if (low.status !== "scheduled") lowWaiting = false;
    if (lastAttempt(low)?.started_at) break;
    await sleep(250);
  }
  const lowStarted = low !== null && lastAttempt(low)?.started_at !== undefined;
  log(`flood: low job ${lowStarted ? "started" : "NOT started"} after ${Date.now() - t0} ms`);
  await sleep(Math.min(o.afterSeconds * 1000, Math.max(0, hardStop - Date.now())));
  stopFlood = true;
  await flood;
  const floodEnd = Date.now();

  // Let the backlog drain (bounded), then read every job.
  const drainStop = Date.now() + 60_000;
  let all: Job[] = [];
  for (;;) {
    all = await mapLimit([lowId, ...highIds], 16, (id) => api.job(key, id));
    if (all.every((j) => FINISHED.has(j.status)) || Date.now() > drainStop) break;
    await sleep(1000);
  }
  low = all[0] ?? low;
  const highs = all.slice(1);

  const startOf = (j: Job) => ms(lastAttempt(j)?.started_at);
  const dueOf = (j: Job) => ms(lastAttempt(j)?.scheduled_at) ?? Date.parse(j.run_at);
  const lowAttempt = low ? lastAttempt(low) : undefined;
  const lowStart = ms(lowAttempt?.started_at);
  const lowLateness = lowAttempt?.lateness_ms ?? null;

  // The dispatch cycle of a capacity-1 pool: time between consecutive starts while saturated.
  const starts = all
    .map((j) => ({ j, s: startOf(j), f: ms(lastAttempt(j)?.finished_at) }))
    .filter((x): x is { j: Job; s: number; f: number | null } => x.s !== null)
    .sort((a, b) => a.s - b.s);
  const cycles: number[] = [];
  for (let i = 1; i < starts.length; i++) {
    const a = starts[i - 1];
    const b = starts[i];
    if (a && b && b.s <= floodEnd) cycles.push(b.s - a.s);
  }
  const cycleMs = median(cycles) ?? Number.NaN;
  // With capacity 1 the low job was claimed when the job before it released its unit.
  const lowIndex = starts.findIndex((x) => x.j.id === lowId);
  const lowClaimAt = lowIndex > 0 ? (starts[lowIndex - 1]?.f ?? null) : null;

  // The aging rule, job by job (claims are serial with capacity 1, so start order is claim order).
  const cut = t0 + boundAgingMs;
  const overtook = lowStart
    ? highs.filter((h) => {
        const s = startOf(h);
        return s !== null && s < lowStart && dueOf(h) > cut + 5;
      })
    : [];
  const skipped = lowStart
    ? highs.filter((h) => {
        const s = startOf(h);
        const due = dueOf(h);
        return (s === null || s > lowStart) && due < cut - 5 && lowClaimAt !== null && due < lowClaimAt - 5;
      })
    : [];
  // The high jobs that went between t0 and the low job: the ones already waiting at t0 (the standing
  // backlog) and the ones that became due within the aging window.
  const between = lowStart
    ? highs.filter((h) => {
        const s = startOf(h);
        return s !== null && s > t0 && s < lowStart;
      })
    : [];
  const backlogAtT0 = between.filter((h) => dueOf(h) <= t0).length;
  const dueInWindow = between.filter((h) => dueOf(h) > t0 && dueOf(h) <= cut).length;

  const highLateness = highs
    .map((h) => lastAttempt(h)?.lateness_ms)
    .filter((x): x is number => typeof x === "number");
  const documentedBoundMs = boundAgingMs + cycleMs;
  return {
    params: o,
    high_jobs: highs.length,
    statuses: countBy(all.map((j) => j.status)),
    pool_samples: poolSamples,
    max_waiting_seen: maxWaiting,
    dispatch_cycle_ms: Math.round(cycleMs),
    high_throughput_per_s: round(1000 / cycleMs, 2),
    low: {
      id: lowId,
      started: lowStarted,
      lateness_ms: lowLateness,
      aging_part_ms: boundAgingMs,
      documented_bound_ms: Math.round(documentedBoundMs),
      within_documented_bound: lowLateness !== null && lowLateness <= documentedBoundMs,
      over_bound_ms: lowLateness === null ? null : Math.max(0, Math.round(lowLateness - documentedBoundMs)),
      // The bound once the jobs already waiting at t0 are counted: they outrank the low job for good.
      bound_with_backlog_ms: Math.round(boundAgingMs + (backlogAtT0 + 1) * cycleMs),
      within_bound_with_backlog:
        lowLateness !== null && lowLateness <= boundAgingMs + (backlogAtT0 + 1) * cycleMs,
      high_jobs_started_between_t0_and_it: between.length,
      of_which_waiting_at_t0: backlogAtT0,
      of_which_due_within_aging_window: dueInWindow,
      claimed_at_ms_after_t0: lowClaimAt === null ? null : lowClaimAt - t0,
    },
    aging_rule: {
      cut_ms_after_t0: boundAgingMs,
      highs_due_after_cut_started_before_low: overtook.length,
      highs_due_before_cut_and_claim_started_after_low: skipped.length,
      holds: overtook.length === 0 && skipped.length === 0,
    },
    high_lateness_ms: distribution(highLateness),
    queue_batches: summarizeBatches(queueBatches(server, started, floodEnd)),
    elapsed_ms: floodEnd - started,
  };
}
