// Scenario 4, batch submit: one user submits `jobs` noop jobs through POST /v1/jobs/batch, `batchSize`
// a request, `concurrency` requests in flight, all due an hour ahead (so only submission is measured,
// not dispatch). Figures: jobs/s and requests/s over the whole submission, request latency, and a
// check that every item came back 201 with a distinct id, in order (spot-checked by GET).
import type { Job } from "../../harness/api-types";
import { distribution, round } from "../../harness/stats";
import { iso, mapLimit } from "../../harness/util";
import type { Bench } from "./context";

export interface BatchOptions {
  jobs: number;
  batchSize: number;
  concurrency: number;
}

interface ItemResult {
  status: number;
  job?: Job;
}

export async function batchSubmit({ api, adminToken, log }: Bench, o: BatchOptions) {
  const user = await api.createUser(adminToken, "bench-batch");
  const token = user.api_key;
  const runAt = iso(Date.now() + 3_600_000);
  const requests = Math.ceil(o.jobs / o.batchSize);
  const batches = Array.from({ length: requests }, (_, r) =>
    Array.from({ length: Math.min(o.batchSize, o.jobs - r * o.batchSize) }, (_, i) => ({
      type: "noop",
      name: `batch-${r}-${i}`,
      run_at: runAt,
    })),
  );
  // One small batch first, so the Worker and the shard are warm before the clock starts.
  await api.expect([201], "POST", "/v1/jobs/batch", {
    token,
    body: { jobs: [{ type: "noop", run_at: runAt }] },
  });

  const latencies: number[] = [];
  let wrongItems = 0;
  const ids = new Set<string>();
  const samples: { id: string; name: string | null }[] = [];
  const started = Date.now();
  await mapLimit(batches, o.concurrency, async (jobs) => {
    const reply = await api.expect<{ results: ItemResult[] }>([201], "POST", "/v1/jobs/batch", {
      token,
      body: { jobs },
    });
    latencies.push(reply.ms);
    reply.body.results.forEach((r, i) => {
      if (r.status !== 201 || r.job?.name !== jobs[i]?.name) wrongItems++;
      if (r.job) ids.add(r.job.id);
    });
    const last = reply.body.results.at(-1)?.job;
    if (last) samples.push({ id: last.id, name: last.name });
  });
  const seconds = (Date.now() - started) / 1000;
  log(
    `batch: ${o.jobs} jobs in ${requests} requests of ${o.batchSize}: ${seconds.toFixed(1)} s, ` +
      `${(o.jobs / seconds).toFixed(0)} jobs/s`,
  );
  // The shard holds what the batch answered: each request's last job reads back by id.
  let readBack = 0;
  for (const s of samples.slice(0, 20)) {
    if ((await api.job(token, s.id)).name === s.name) readBack++;
  }
  return {
    params: o,
    requests,
    seconds: round(seconds, 2),
    jobs_per_s: round(o.jobs / seconds),
    requests_per_s: round(requests / seconds, 1),
    request_latency_ms: distribution(latencies),
    created_distinct: ids.size,
    wrong_items: wrongItems,
    read_back: `${readBack} / ${Math.min(20, samples.length)}`,
  };
}
