// Scenarios (a) and (b): how fast each system takes jobs in. The jobs are `noop` and due an hour ahead,
// so only submission is measured, not dispatch.
import { iso } from "../../harness/util";
import { createdPerSecond, hasBatchEndpoint, submitInBatches, submitSingly, warmUp } from "./submit";
import { keysFor, type SystemUnderTest } from "./system";

const AN_HOUR = 3_600_000;

export interface SinglesOptions {
  jobs: number;
  clients: number;
}

/** (a) `jobs` single POSTs, `clients` in flight: jobs/s and request latency. */
export async function singleSubmits(sys: SystemUnderTest, o: SinglesOptions) {
  const keys = await sys.tenant(keysFor(o.jobs));
  const body = { type: "noop", run_at: iso(Date.now() + AN_HOUR) };
  await warmUp(sys, keys, body);
  const sent = await submitSingly(
    sys,
    keys,
    Array.from({ length: o.jobs }, () => body),
    o.clients,
  );
  const { ids, ...rest } = sent;
  return {
    params: o,
    keys: keys.length,
    created: ids.filter(Boolean).length,
    jobs_per_s: createdPerSecond(sent),
    ...rest,
  };
}

export interface BatchOptions {
  jobs: number;
  perRequest: number;
  inFlight: number;
}

/** (b) `jobs` jobs through POST /v1/jobs/batch, `perRequest` a request: jobs/s, or "no batch endpoint". */
export async function batchSubmits(sys: SystemUnderTest, o: BatchOptions) {
  const keys = await sys.tenant(1);
  const body = { type: "noop", run_at: iso(Date.now() + AN_HOUR) };
  // The probe is also the warm-up: one small batch before the clock starts.
  if (!(await hasBatchEndpoint(sys, keys[0] ?? "", body))) return { params: o, available: false as const };
  await warmUp(sys, keys, body);
  const sent = await submitInBatches(
    sys,
    keys,
    Array.from({ length: o.jobs }, () => body),
    o.perRequest,
    o.inFlight,
  );
  const { ids, ...rest } = sent;
  return {
    params: o,
    available: true as const,
    created: ids.filter(Boolean).length,
    jobs_per_s: createdPerSecond(sent),
    ...rest,
  };
}
