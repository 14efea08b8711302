// Scenario 3, herd fairness: user A submits `jobs` noop jobs all due at the same instant T (submitted
// concurrently beforehand, which also measures submit throughput); user B submits single noop jobs
// at T and at a few moments during A's drain (plus one submitted beforehand, due exactly at T). B's
// jobs must not queue behind A's herd: each shard keeps at most DISPATCH_WINDOW of its jobs claimed
// but not begun in the shared queue. Figures: each B job's lateness and their max (target: about a
// second or less locally), A's drain time (T → the last of A's jobs finished) and throughput.
import { FINISHED, type Job, type JobPage, lastAttempt } from "../../harness/api-types";
import type { ApiClient } from "../../harness/client";
import { distribution, round } from "../../harness/stats";
import { iso, mapLimit, ms, sleep } from "../../harness/util";
import { queueBatches, summarizeBatches } from "../lib/queue";
import type { Bench } from "./context";
import { countBy } from "./pool-utilisation";

export interface HerdOptions {
  jobs: number;
  concurrency: number;
  probeJobs: number;
  bOffsetsSeconds: number[];
  maxLeadSeconds: number;
  drainMaxSeconds: number;
}

interface BSample {
  kind: "due-at-T" | "live";
  offset_s: number;
  id: string;
  submitted_ms_after_T: number;
  lateness_ms: number | null;
  status: string;
}

async function waitStarted(api: ApiClient, key: string, id: string, timeoutMs: number): Promise<Job> {
  const deadline = Date.now() + timeoutMs;
  for (;;) {
    const job = await api.job(key, id);
    if (lastAttempt(job)?.started_at || FINISHED.has(job.status) || Date.now() > deadline) return job;
    await sleep(100);
  }
}

export async function herdFairness({ api, adminToken, server, log }: Bench, o: HerdOptions) {
  const a = await api.createUser(adminToken, "bench-herd-a");
  const b = await api.createUser(adminToken, "bench-herd-b");
  const probe = await api.createUser(adminToken, "bench-herd-probe");
  // The rate limit is 1,200 requests per key per minute: A submits through one key per 1,000 jobs,
  // lists them through two others, and polls its last jobs through one more.
  const perKey = 1000;
  const keyCount = Math.ceil(o.jobs / perKey);
  const aKeys = await api.keys(adminToken, a, keyCount + 3);
  const submitKeys = aKeys.slice(0, keyCount);
  const readKeys = aKeys.slice(keyCount, keyCount + 2);
  const pollKey = aKeys[keyCount + 2] ?? a.api_key;
  const keyFor = (keys: string[], i: number) => keys[i % keys.length] ?? a.api_key;

  // Probe the submit rate (and warm the Worker) with a third user's jobs, due in an hour (after the
  // run): it sets how far ahead A's jobs are due, so that all of them are in before they are due.
  const probeStart = Date.now();
  await mapLimit(
    Array.from({ length: o.probeJobs }, (_, i) => i),
    o.concurrency,
    async () => api.submit(probe.api_key, { type: "noop", run_at: iso(Date.now() + 3_600_000) }),
  );
  const probeRate = o.probeJobs / ((Date.now() - probeStart) / 1000);
  // B is an existing user: its shard is awake before the herd (as it would be in production).
  await waitStarted(api, b.api_key, (await api.submit(b.api_key, { type: "noop" })).body.id, 30_000);

  // The probe runs against an empty shard; submits get slower as A's shard fills (see docs/benchmarks.md),
  // so allow twice the probed time, plus a margin.
  const leadMs = Math.min(o.maxLeadSeconds * 1000, Math.max(5000, (o.jobs / probeRate) * 2000 + 10_000));
  const T = Date.now() + Math.round(leadMs);
  log(
    `herd: probe submit rate ${probeRate.toFixed(0)}/s; A's ${o.jobs} jobs due in ${Math.round(leadMs)} ms`,
  );

  const bDueAtT = (await api.submit(b.api_key, { type: "noop", run_at: iso(T) })).body.id;

  const submitStart = Date.now();
  const submitMs: number[] = [];
  const submittedAt: number[] = [];
  let submitErrors = 0;
  let firstError = "";
  const aIds = (
    await mapLimit(
      Array.from({ length: o.jobs }, (_, i) => i),
      o.concurrency,
      async (i) => {
        try {
          const reply = await api.submit(keyFor(submitKeys, i), { type: "noop", run_at: iso(T) });
          submitMs.push(reply.ms);
          submittedAt.push(Date.now());
          return reply.body.id;
        } catch (err) {
          submitErrors++;
          firstError ||= String(err);
          return null;
        }
      },
    )
  ).filter((id): id is string => id !== null);
  const submitEnd = Date.now();
  const submitSeconds = (submitEnd - submitStart) / 1000;
  log(
    `herd: submitted ${aIds.length} in ${submitSeconds.toFixed(1)} s (${(aIds.length / submitSeconds).toFixed(0)}/s), ` +
      `${submitErrors} errors; T is ${T - submitEnd} ms away`,
  );

  // Claim order among equal priority and run_at is by id, so the highest ids go last.
  const sorted = [...aIds].sort();
  const sentinels = sorted.slice(-50).reverse();

  let drained = false;
  const hardStop = T + o.drainMaxSeconds * 1000;
  const bSamples: Promise<BSample>[] = [];
  bSamples.push(
    (async () => {
      await sleep(T - Date.now());
      const job = await waitStarted(api, b.api_key, bDueAtT, 60_000);
      return {
        kind: "due-at-T" as const,
        offset_s: 0,
        id: bDueAtT,
        submitted_ms_after_T: submitStart - T,
        lateness_ms: lastAttempt(job)?.lateness_ms ?? null,
        status: job.status,
      };
    })(),
  );
  const sampler = (async () => {
    for (const offset of o.bOffsetsSeconds) {
      await sleep(T + offset * 1000 - Date.now());
      if (drained || Date.now() > hardStop) break;
      const submittedAt = Date.now();
      const id = (await api.submit(b.api_key, { type: "noop" })).body.id;
      bSamples.push(
        waitStarted(api, b.api_key, id, 60_000).then((job) => ({
          kind: "live" as const,
          offset_s: offset,
          id,
          submitted_ms_after_T: submittedAt - T,
          lateness_ms: lastAttempt(job)?.lateness_ms ?? null,
          status: job.status,
        })),
      );
    }
  })();

  // Drain detection: the last-claimed job first (one GET a second), then the last 50.
  await sleep(T - Date.now());
  let progress = 0;
  while (!drained && Date.now() < hardStop) {
    const last = sentinels[progress];
    if (last === undefined) {
      drained = true;
      break;
    }
    const job = await api.job(pollKey, last);
    if (FINISHED.has(job.status)) progress++;
    else await sleep(1000);
  }
  log(`herd: A's last-claimed jobs ${drained ? "finished" : "NOT finished"} at T+${Date.now() - T} ms`);
  await sampler;
  const bResults = await Promise.all(bSamples);

  // Read all of A's jobs through the listing (D1 index: 100 a page, instead of one GET each), after
  // the index's flush delay; any job the listing lacks or shows unfinished is read from its shard
  // (the truth), again until finished or the time is up.
  await sleep(3000);
  const listStart = Date.now();
  const listed = await listAll(api, keyFor(readKeys, 0), Math.ceil(o.jobs / 100) + 20);
  const listMs = Date.now() - listStart;
  const byId = new Map(listed.map((j) => [j.id, j]));
  let aJobs = aIds.map((id) => byId.get(id) ?? ({ id, status: "missing", attempts: [] } as unknown as Job));
  const indexBehind = aJobs.filter((j) => !FINISHED.has(j.status)).length;
  for (;;) {
    const open = aJobs.filter((j) => !FINISHED.has(j.status));
    if (open.length === 0 || Date.now() > hardStop) break;
    log(`herd: ${open.length} of A's jobs not finished in the listing; reading them from the shard`);
    const again = new Map(
      (await mapLimit(open, 16, (j) => api.job(keyFor(readKeys, 1), j.id))).map((j) => [j.id, j]),
    );
    aJobs = aJobs.map((j) => again.get(j.id) ?? j);
    if (aJobs.some((j) => !FINISHED.has(j.status))) await sleep(2000);
  }
  const finishes = aJobs.map((j) => ms(lastAttempt(j)?.finished_at)).filter((x): x is number => x !== null);
  const startsA = aJobs.map((j) => ms(lastAttempt(j)?.started_at)).filter((x): x is number => x !== null);
  const lastFinish = finishes.length ? Math.max(...finishes) : Number.NaN;
  const drainMs = lastFinish - T;
  const succeeded = aJobs.filter((j) => j.status === "succeeded").length;
  const bLate = bResults.map((s) => s.lateness_ms).filter((x): x is number => x !== null);

  // A's throughput over the drain, per second, from the finish times.
  const perSecond: number[] = [];
  for (const f of finishes) {
    const i = Math.floor((f - T) / 1000);
    if (i >= 0) perSecond[i] = (perSecond[i] ?? 0) + 1;
  }

  return {
    params: o,
    a_keys: { submit: submitKeys.length, read: readKeys.length, poll: 1 },
    submit: {
      jobs: aIds.length,
      errors: submitErrors,
      first_error: firstError || null,
      seconds: round(submitSeconds, 1),
      per_s: round(aIds.length / submitSeconds, 1),
      latency_ms: distribution(submitMs),
      // Submit rate per tenth of the herd, in order: does submitting slow down as A's shard fills?
      per_s_by_tenth: byTenth(submittedAt, submitStart),
      probe_per_s: round(probeRate, 1),
      finished_before_due: submitEnd <= T,
      lead_ms: Math.round(leadMs),
    },
    a: {
      statuses: countBy(aJobs.map((j) => j.status)),
      attempts_total: aJobs.reduce((n, j) => n + j.attempts.length, 0),
      first_start_ms_after_due: startsA.length ? Math.min(...startsA) - T : null,
      drain_ms: Math.round(drainMs),
      throughput_per_s: round(succeeded / (drainMs / 1000), 1),
      finished_per_second: Array.from(perSecond, (x) => x ?? 0),
      // Throughput over the first, middle and last third of the drain: does it change as A's shard
      // empties (claims sort fewer due rows) while its table keeps every finished row?
      per_s_by_third: thirds(Array.from(perSecond, (x) => x ?? 0)),
      lateness_ms: distribution(
        aJobs.map((j) => lastAttempt(j)?.lateness_ms).filter((x): x is number => typeof x === "number"),
      ),
    },
    b: {
      samples: bResults,
      max_lateness_ms: bLate.length ? Math.max(...bLate) : null,
      all_started: bResults.every((s) => s.lateness_ms !== null),
    },
    listing: { ms: listMs, jobs_listed: listed.length, not_finished_in_index: indexBehind },
    queue_batches: summarizeBatches(queueBatches(server, T, lastFinish + 2000)),
  };
}

function byTenth(doneAt: number[], start: number): number[] {
  const sorted = [...doneAt].sort((x, y) => x - y);
  const out: number[] = [];
  let from = start;
  for (let i = 1; i <= 10; i++) {
    const count = Math.floor((sorted.length * i) / 10) - Math.floor((sorted.length * (i - 1)) / 10);
    const to = sorted[Math.floor((sorted.length * i) / 10) - 1] ?? from;
    out.push(to > from ? round(count / ((to - from) / 1000), 1) : 0);
    from = to;
  }
  return out;
}

function thirds(perSecond: number[]): number[] {
  const n = perSecond.length;
  const cut = [0, Math.floor(n / 3), Math.floor((2 * n) / 3), n];
  return [0, 1, 2].map((i) => {
    const part = perSecond.slice(cut[i], cut[i + 1]);
    return part.length ? round(part.reduce((a, b) => a + b, 0) / part.length, 1) : 0;
  });
}

/** Every job of the key's user, newest first, through the cursor-paged listing. */
async function listAll(api: ApiClient, key: string, maxPages: number): Promise<Job[]> {
  const out: Job[] = [];
  let cursor: string | null = null;
  for (let page = 0; page < maxPages; page++) {
    const route: string = `/v1/jobs?limit=100${cursor ? `&cursor=${encodeURIComponent(cursor)}` : ""}`;
    const reply = await api.expect<JobPage>([200], "GET", route, { token: key });
    out.push(...reply.body.jobs);
    cursor = reply.body.next_cursor;
    if (!cursor) break;
  }
  return out;
}
