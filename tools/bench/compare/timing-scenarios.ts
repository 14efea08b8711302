// Scenarios (c) and (d): how close to run_at each system calls the target. `http` jobs call the
// recorder on 127.0.0.1, and lateness is measured there (arrival − run_at), with duplicates (the same
// webhook-id twice) and jobs that never arrived.
import os from "node:os";
import { cpuBetween, cpuSnapshot } from "../../harness/cpu-window";
import { distribution, round } from "../../harness/stats";
import { iso, type Log, mapLimit, sleep } from "../../harness/util";
import { deliveries, perSecond, type Recorder, waitForArrivals } from "./recorder";
import { submitInBatches, submitSingly, warmUp } from "./submit";
import { keyFor, keysFor, type SystemUnderTest } from "./system";

const AN_HOUR = 3_600_000;
/** After the last job arrived, how long to keep listening for a late duplicate. */
const DUPLICATE_GRACE_MS = 2_000;

export interface SteadyOptions {
  rate: number;
  seconds: number;
  dueAfterMs: number;
  /** Submits in flight at most; past it the schedule slips (reported as max_behind_schedule_ms). */
  maxInFlight: number;
  /** How long after the last run_at to wait for arrivals. */
  settleSeconds: number;
}

/** (c) `rate` jobs a second for `seconds`, each due `dueAfterMs` after its submit was sent. */
export async function steadyLoad(sys: SystemUnderTest, recorder: Recorder, o: SteadyOptions, log: Log) {
  const jobs = o.rate * o.seconds;
  const keys = await sys.tenant(keysFor(jobs) + 1);
  const readKey = keys[keys.length - 1] ?? "";
  const submitKeys = keys.slice(0, -1);
  await warmUp(sys, keys, { type: "noop", run_at: iso(Date.now() + AN_HOUR) });
  const url = recorder.url("/steady");
  const runAtById = new Map<string, number>();
  const latencies: number[] = [];
  const refusals: string[] = [];
  let inFlight = 0;
  let maxBehind = 0;
  const sends: Promise<void>[] = [];
  const cpuBefore = cpuSnapshot(sys.processGroups());
  const t0 = Date.now() + 100;
  const giveUp = t0 + (o.seconds + 60) * 1000;
  for (let i = 0; i < jobs && Date.now() < giveUp; i++) {
    const slot = t0 + (i * 1000) / o.rate;
    await sleep(slot - Date.now());
    while (inFlight >= o.maxInFlight && Date.now() < giveUp) await sleep(2);
    maxBehind = Math.max(maxBehind, Date.now() - slot);
    inFlight++;
    const runAt = Date.now() + o.dueAfterMs;
    const body = { type: "http", payload: { url }, run_at: iso(runAt) };
    sends.push(
      sys
        .call<{ id?: string }>("POST", "/v1/jobs", keyFor(submitKeys, i), body)
        .then((reply) => {
          if (reply.status === 201 && typeof reply.body.id === "string") {
            runAtById.set(reply.body.id, runAt);
            latencies.push(reply.ms);
          } else refusals.push(`${reply.status} ${JSON.stringify(reply.body).slice(0, 200)}`);
        })
        .catch((err: unknown) => {
          refusals.push(String(err));
        })
        .finally(() => {
          inFlight--;
        }),
    );
  }
  await Promise.all(sends);
  const submitSeconds = (Date.now() - t0) / 1000;
  const lastRunAt = Math.max(...runAtById.values());
  const arrived = await waitForArrivals(
    recorder,
    runAtById,
    lastRunAt + o.settleSeconds * 1000,
    log,
    "steady",
  );
  // From the first submit to the last arrival: the load alone.
  const cpu = cpuBetween(cpuBefore, cpuSnapshot(sys.processGroups()), os.availableParallelism());
  await sleep(DUPLICATE_GRACE_MS);
  return {
    params: o,
    submit: {
      attempted: sends.length,
      created: runAtById.size,
      refused: refusals.length,
      first_refusal: refusals[0] ?? null,
      achieved_per_s: round(runAtById.size / submitSeconds, 1),
      latency_ms: distribution(latencies),
      max_behind_schedule_ms: Math.round(maxBehind),
    },
    all_arrived_in_time: arrived,
    ...deliveries(recorder.receipts(), runAtById),
    read_back: await readBack(sys, readKey, [...runAtById.keys()].slice(-20)),
    cpu,
  };
}

/** GET /v1/jobs/:id for a few jobs: the contract's view agrees (status, the attempt's lateness). */
async function readBack(sys: SystemUnderTest, key: string, ids: string[]) {
  type View = { status?: string; attempts?: { lateness_ms?: number }[] };
  const views = await mapLimit(ids, 4, (id) => sys.call<View>("GET", `/v1/jobs/${id}`, key));
  const ok = views.filter((v) => v.status === 200);
  return {
    read: ids.length,
    found: ok.length,
    succeeded: ok.filter((v) => v.body.status === "succeeded").length,
    reported_lateness_ms: distribution(
      ok.map((v) => v.body.attempts?.[0]?.lateness_ms).filter((x): x is number => typeof x === "number"),
    ),
  };
}

export interface HerdOptions {
  jobs: number;
  perRequest: number;
  inFlight: number;
  /** Submits in flight when there is no batch endpoint. */
  clients: number;
  minLeadSeconds: number;
  maxLeadSeconds: number;
  drainSeconds: number;
}

/**
 * (d) `jobs` jobs all due at one instant T, submitted beforehand (by batch where the system has one):
 * T is set from the submit rate measured in (a) or (b), twice the expected submit time plus 5 s.
 */
export async function herd(
  sys: SystemUnderTest,
  recorder: Recorder,
  o: HerdOptions,
  submit: { byBatch: boolean; expectedPerSecond: number | null },
  log: Log,
) {
  const keys = await sys.tenant(submit.byBatch ? 1 : keysFor(o.jobs));
  await warmUp(sys, keys, { type: "noop", run_at: iso(Date.now() + AN_HOUR) });
  const rate = submit.expectedPerSecond ?? 50;
  const leadMs = Math.round(
    Math.min(o.maxLeadSeconds * 1000, Math.max(o.minLeadSeconds * 1000, (o.jobs / rate) * 2000 + 5000)),
  );
  const T = Date.now() + leadMs;
  log(`herd: ${o.jobs} jobs due in ${leadMs} ms, submitted ${submit.byBatch ? "by batch" : "singly"}`);
  const bodies = Array.from({ length: o.jobs }, () => ({
    type: "http",
    payload: { url: recorder.url("/herd") },
    run_at: iso(T),
  }));
  const sent = submit.byBatch
    ? await submitInBatches(sys, keys, bodies, o.perRequest, o.inFlight)
    : await submitSingly(sys, keys, bodies, o.clients);
  const submitEnd = Date.now();
  const runAtById = new Map(sent.ids.filter((id): id is string => id !== null).map((id) => [id, T]));
  log(`herd: ${runAtById.size} submitted in ${sent.seconds} s; T is ${T - submitEnd} ms away`);
  const arrived = await waitForArrivals(recorder, runAtById, T + o.drainSeconds * 1000, log, "herd");
  await sleep(DUPLICATE_GRACE_MS);
  const d = deliveries(recorder.receipts(), runAtById);
  const { ids, ...submitFigures } = sent;
  return {
    params: o,
    submitted_by: submit.byBatch ? "batch" : "single POSTs",
    lead_ms: leadMs,
    submit: { ...submitFigures, created: runAtById.size, finished_before_due: submitEnd <= T },
    all_arrived_in_time: arrived,
    ...d,
    /** Jobs fired per second from the due instant to the last arrival. */
    fired_per_s: perSecond(d.ran, T, d.last_arrival),
    /** The same from the first arrival: the drain rate once firing started. */
    fired_per_s_after_first:
      d.first_arrival === null ? null : perSecond(d.ran, d.first_arrival, d.last_arrival),
  };
}
