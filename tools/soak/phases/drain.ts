// Phase 4, drain: wait (bounded) until every one-shot job is succeeded or failed, then read every
// job's final view from its shard.
import { mapLimit, sleep } from "../../harness/util";
import type { JobView, SoakJob } from "../lib/types";
import type { Soak } from "./start";

const FINAL = ["succeeded", "failed", "cancelled"];

/** GET /v1/jobs/:id, across crashes: the view (stamped with when it was read), or null for a 404. */
export async function readView(soak: Soak, j: SoakJob): Promise<JobView | null> {
  const r = await soak.api.call<JobView>("GET", `/v1/jobs/${j.id}`, { token: j.token, retryForMs: 60_000 });
  j.viewAt = Date.now();
  if (r.status === 200) return r.body;
  if (r.status === 404) return null;
  throw new Error(`GET ${j.id}: ${r.status} ${JSON.stringify(r.body).slice(0, 200)}`);
}

/** Returns how long the drain took (s); every job's `view` is its final one afterwards. */
export async function drain(soak: Soak, jobs: SoakJob[]): Promise<number> {
  const { log, opts } = soak;
  const drainStart = Date.now();
  const drainDeadline = drainStart + opts.drainSeconds * 1000;
  let pending = jobs.filter((j) => j.kind !== "rec");
  for (let round = 1; pending.length > 0; round++) {
    await mapLimit(pending, opts.concurrency, async (j) => {
      j.view = await readView(soak, j);
    });
    pending = pending.filter((j) => j.view && !FINAL.includes(j.view.status));
    if (pending.length === 0 || Date.now() > drainDeadline) break;
    if (round % 5 === 1) log(`… draining: ${pending.length} one-shot jobs unfinished`);
    await sleep(2_000);
  }
  const drainS = (Date.now() - drainStart) / 1000;
  log(`drain: ${pending.length} unfinished after ${drainS.toFixed(1)} s`);

  await mapLimit(jobs, opts.concurrency, async (j) => {
    j.view = await readView(soak, j);
  });
  return drainS;
}
