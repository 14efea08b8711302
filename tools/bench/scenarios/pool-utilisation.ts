// Scenario 1, pool utilisation under saturation: N http jobs, each holding 1 unit of a pool of capacity
// C, all due at the same instant, calling a target that answers after D ms. The pool is sampled every
// `sampleMs` while jobs wait. Figures:
// - held utilisation: mean(in_use)/C over the samples where jobs were waiting (what the API reports;
//   units are held from claim, through the queue, until the attempt ends);
// - executing utilisation: time the target spent serving requests / (C × the same period), i.e. how
//   much of the held capacity did useful work;
// - safety: in_use never above C in any sample, and never more than C requests at the target at once;
// - wall time (due → last finished) against the ideal N × D / C.
import { FINISHED, firstAttempt, lastAttempt } from "../../harness/api-types";
import { distribution, mean, round } from "../../harness/stats";
import { iso, mapLimit, ms, sleep } from "../../harness/util";
import { queueBatches, summarizeBatches } from "../lib/queue";
import type { Bench } from "./context";

export interface PoolOptions {
  capacity: number;
  jobs: number;
  delayMs: number;
  sampleMs: number;
  leadMs: number;
  maxSeconds: number;
}

interface Sample {
  t: number;
  inUse: number;
  waiting: number;
  rttMs: number;
}

export async function poolUtilisation({ api, adminToken, server, target, log }: Bench, o: PoolOptions) {
  const user = await api.createUser(adminToken, "bench-pool");
  // Separate keys for submitting/reading and for sampling: the rate limit is per key (1,200/min).
  const [key = "", sampleKey = ""] = await api.keys(adminToken, user, 2);
  const POOL = "bench";
  await api.putPool(key, POOL, o.capacity);
  target.reset();

  // Due together, once all are in (about 30 ms a submit on a busy 2-core machine, plus a margin).
  const dueAt = Date.now() + o.leadMs + o.jobs * 30;
  const submitStart = Date.now();
  const submitted = await mapLimit(
    Array.from({ length: o.jobs }, (_, i) => i),
    16,
    async (i) =>
      (
        await api.submit(key, {
          type: "http",
          name: `pool-${i}`,
          payload: { url: target.url(`/pool/${i}`), method: "POST", body: { i } },
          run_at: iso(dueAt),
          resources: { [POOL]: 1 },
          timeout_seconds: 30,
        })
      ).body.id,
  );
  const submitEnd = Date.now();
  log(`pool: submitted ${o.jobs} jobs in ${submitEnd - submitStart} ms; due at +${dueAt - submitEnd} ms`);
  if (submitEnd > dueAt) log("pool: WARNING submission ended after the due time; raise --pool-lead-ms");

  // Sample the pool from just before the due time until nothing waits or is held.
  const samples: Sample[] = [];
  await sleep(dueAt - Date.now() - 200);
  const hardStop = Date.now() + o.maxSeconds * 1000;
  let idleSince: number | null = null;
  for (let tick = Date.now(); Date.now() < hardStop; ) {
    const reply = await api.pools(sampleKey);
    const pool = reply.body.pools.find((p) => p.name === POOL);
    const t = Date.now();
    if (pool) samples.push({ t, inUse: pool.in_use, waiting: pool.waiting, rttMs: reply.ms });
    const idle = t > dueAt && pool !== undefined && pool.in_use === 0 && pool.waiting === 0;
    idleSince = idle ? (idleSince ?? t) : null;
    if (idleSince !== null && t - idleSince > 500) break;
    tick += o.sampleMs;
    await sleep(tick - Date.now());
  }
  const timedOut = Date.now() >= hardStop;

  const jobs = await mapLimit(submitted, 16, (id) => api.job(key, id));
  const byStatus = countBy(jobs.map((j) => j.status));
  const finished = jobs.filter((j) => FINISHED.has(j.status));
  const finishes = finished.map((j) => ms(lastAttempt(j)?.finished_at) ?? 0).filter((x) => x > 0);
  const lastFinish = finishes.length ? Math.max(...finishes) : Number.NaN;
  const wallMs = lastFinish - dueAt;
  const idealMs = (o.jobs * o.delayMs) / o.capacity;

  // The saturated period: from the first to the last sample in which jobs were waiting for units.
  const saturated = samples.filter((s) => s.waiting > 0 && s.t >= dueAt);
  const satFrom = saturated[0]?.t ?? Number.NaN;
  const satTo = saturated[saturated.length - 1]?.t ?? Number.NaN;
  const heldUtil = (mean(saturated.map((s) => s.inUse)) ?? Number.NaN) / o.capacity;
  const answered = target.deliveries.filter((d) => d.answeredAt !== null);
  const busyMs = answered.reduce(
    (sum, d) => sum + Math.max(0, Math.min(d.answeredAt ?? d.at, satTo) - Math.max(d.at, satFrom)),
    0,
  );
  const execUtil = busyMs / (o.capacity * (satTo - satFrom));
  const maxInUse = Math.max(0, ...samples.map((s) => s.inUse));
  const ids = answered.map((d) => d.webhookId);
  const duplicates = ids.length - new Set(ids).size;

  // Where a unit's time goes: begin → finish is the attempt itself; the rest of the held time
  // (C × wall / N per job) is claim → begin: the queue transit.
  const beginToFinish = finished
    .map((j) => {
      const a = lastAttempt(j);
      const s = ms(a?.started_at);
      const f = ms(a?.finished_at);
      return s !== null && f !== null ? f - s : null;
    })
    .filter((x): x is number => x !== null);
  const heldPerJobMs = (o.capacity * wallMs) / o.jobs;
  const meanBeginToFinish = mean(beginToFinish) ?? Number.NaN;
  const batches = queueBatches(server, dueAt, lastFinish + 2000);

  return {
    params: o,
    submit: {
      ms: submitEnd - submitStart,
      per_s: round(o.jobs / ((submitEnd - submitStart) / 1000), 1),
    },
    statuses: byStatus,
    attempts_total: jobs.reduce((n, j) => n + j.attempts.length, 0),
    samples: samples.length,
    sample_rtt_ms: distribution(samples.map((s) => s.rttMs)),
    saturated_seconds: round((satTo - satFrom) / 1000, 1),
    held_utilisation: round(heldUtil, 3),
    executing_utilisation: round(execUtil, 3),
    max_in_use: maxInUse,
    in_use_never_above_capacity: maxInUse <= o.capacity,
    target_max_concurrent: target.maxInFlight(),
    target_requests: answered.length,
    target_duplicate_deliveries: duplicates,
    wall_ms: Math.round(wallMs),
    ideal_ms: Math.round(idealMs),
    wall_over_ideal: round(wallMs / idealMs, 2),
    throughput_per_s: round(o.jobs / (wallMs / 1000), 2),
    ideal_throughput_per_s: round(o.capacity / (o.delayMs / 1000), 2),
    held_ms_per_job: Math.round(heldPerJobMs),
    begin_to_finish_ms: distribution(beginToFinish),
    claim_to_begin_ms_estimate: Math.round(heldPerJobMs - meanBeginToFinish),
    first_attempt_lateness_ms: distribution(
      jobs.map((j) => firstAttempt(j)?.lateness_ms).filter((x): x is number => typeof x === "number"),
    ),
    queue_batches: summarizeBatches(batches),
    timed_out: timedOut,
    // [ms after due, in_use, waiting] for every sample, to see where held units dip.
    series: samples.map((x) => [x.t - dueAt, x.inUse, x.waiting]),
  };
}

export function countBy(values: string[]): Record<string, number> {
  const out: Record<string, number> = {};
  for (const v of values) out[v] = (out[v] ?? 0) + 1;
  return out;
}
