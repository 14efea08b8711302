// Submitting many jobs to a system, one POST each or in batches, with each request's time and any
// refusal kept: a failed request is counted and shown, never retried (a retry would hide the cost).
import { distribution, round } from "../../harness/stats";
import { mapLimit } from "../../harness/util";
import { type CallReply, keyFor, type SystemUnderTest } from "./system";

export type JobBody = Record<string, unknown>;

interface Refusal {
  status: number;
  body: string;
}

export interface Submitted {
  /** One entry per body, in order: the created job's id, or null. */
  ids: (string | null)[];
  requests: number;
  seconds: number;
  request_latency_ms: ReturnType<typeof distribution>;
  refused: number;
  first_refusal: Refusal | null;
}

const brief = (body: unknown) => JSON.stringify(body).slice(0, 200);

interface SubmitReply {
  id?: string;
  results?: { status: number; job?: { id: string } }[];
  error?: unknown;
}

/** One POST; a network error or timeout is a reply with status 0, so it is counted, not thrown. */
async function call(
  sys: SystemUnderTest,
  key: string,
  route: string,
  body: unknown,
): Promise<CallReply<SubmitReply>> {
  try {
    return await sys.call<SubmitReply>("POST", route, key, body);
  } catch (err) {
    return { status: 0, body: { error: String(err) }, ms: Number.NaN };
  }
}

/** `POST /v1/jobs` once per body, `clients` requests in flight, keys taken round-robin. */
export async function submitSingly(
  sys: SystemUnderTest,
  keys: readonly string[],
  bodies: readonly JobBody[],
  clients: number,
): Promise<Submitted> {
  const latencies: number[] = [];
  let refused = 0;
  let firstRefusal: Refusal | null = null;
  const started = Date.now();
  const ids = await mapLimit(bodies, clients, async (body, i) => {
    const reply = await call(sys, keyFor(keys, i), "/v1/jobs", body);
    if (reply.status === 201 && typeof reply.body.id === "string") {
      latencies.push(reply.ms);
      return reply.body.id;
    }
    refused++;
    firstRefusal ??= { status: reply.status, body: brief(reply.body) };
    return null;
  });
  return summary(ids, bodies.length, started, latencies, refused, firstRefusal);
}

/** `POST /v1/jobs/batch` with `perRequest` bodies each, `inFlight` requests at once. */
export async function submitInBatches(
  sys: SystemUnderTest,
  keys: readonly string[],
  bodies: readonly JobBody[],
  perRequest: number,
  inFlight: number,
): Promise<Submitted> {
  const batches: JobBody[][] = [];
  for (let i = 0; i < bodies.length; i += perRequest) batches.push(bodies.slice(i, i + perRequest));
  const latencies: number[] = [];
  let refused = 0;
  let firstRefusal: Refusal | null = null;
  const started = Date.now();
  const perBatch = await mapLimit(batches, inFlight, async (jobs, b) => {
    const reply = await call(sys, keyFor(keys, b), "/v1/jobs/batch", { jobs });
    const results = reply.status === 201 ? (reply.body.results ?? []) : [];
    if (reply.status === 201) latencies.push(reply.ms);
    return jobs.map((_, i) => {
      const item = results[i];
      if (item?.status === 201 && item.job) return item.job.id;
      refused++;
      firstRefusal ??= { status: item?.status ?? reply.status, body: brief(item ?? reply.body) };
      return null;
    });
  });
  return summary(perBatch.flat(), batches.length, started, latencies, refused, firstRefusal);
}

function summary(
  ids: (string | null)[],
  requests: number,
  started: number,
  latencies: number[],
  refused: number,
  firstRefusal: Refusal | null,
): Submitted {
  return {
    ids,
    requests,
    seconds: round((Date.now() - started) / 1000, 2),
    request_latency_ms: distribution(latencies),
    refused,
    first_refusal: firstRefusal,
  };
}

/** Jobs created per second of submitting. */
export const createdPerSecond = (s: Submitted) => round(s.ids.filter(Boolean).length / s.seconds, 1);

/** Does the system serve POST /v1/jobs/batch? A 404 or 405 means it has no batch endpoint. */
export async function hasBatchEndpoint(sys: SystemUnderTest, key: string, probe: JobBody): Promise<boolean> {
  const reply = await call(sys, key, "/v1/jobs/batch", { jobs: [probe] });
  if (reply.status === 404 || reply.status === 405) return false;
  if (reply.status !== 201) throw new Error(`POST /v1/jobs/batch → ${reply.status}: ${brief(reply.body)}`);
  return true;
}

/** A few requests through every key before the clock starts: a new tenant's shard and key cache are cold. */
export async function warmUp(sys: SystemUnderTest, keys: readonly string[], body: JobBody): Promise<void> {
  await mapLimit(
    Array.from({ length: Math.max(16, keys.length) }, (_, i) => i),
    8,
    (i) => call(sys, keyFor(keys, i), "/v1/jobs", body),
  );
}
