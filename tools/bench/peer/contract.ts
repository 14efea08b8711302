// The part of the public contract (docs/design.md) that the comparison's scenarios use, as the peer
// serves it: the submit table's fields for one-shot jobs with the contract's ranges and defaults, the
// scheduler's own `http` payload schema, and the contract's job object. Pure: no BullMQ, no I/O.
// (The scheduler's SubmitSchema lives with its Worker types, which the Node benchmark cannot compile.)
import { randomUUID } from "node:crypto";
import { z } from "zod";
import { httpPayloadSchema } from "../../../src/executors/http-payload";

export interface ErrorDetail {
  path: string;
  message: string;
}

export const MAX_BODY_BYTES = 128 * 1024;
export const MAX_BATCH_BODY_BYTES = 4 * 1024 * 1024;
export const MAX_BATCH_JOBS = 1000;

/** What the peer keeps in a BullMQ job's data: the submit body as accepted, with defaults applied. */
export interface PeerJobData {
  type: "http" | "noop";
  payload: unknown;
  name: string | null;
  /** Epoch ms. */
  runAt: number;
  priority: number;
  maxRetries: number;
  retryDelaySeconds: number;
  timeoutSeconds: number;
  createdAt: number;
}

export interface PeerJobSpec {
  id: string;
  data: PeerJobData;
}

export type Parsed<T> = { ok: true; value: T } | { ok: false; details: ErrorDetail[] };

/** Contract fields the peer does not implement: refused with a 400 naming them, never ignored. */
const UNSUPPORTED = [
  "interval_seconds",
  "cron",
  "timezone",
  "result_location",
  "resources",
  "labels",
  "callback_url",
  "retry_policy",
  "expires_after_seconds",
];

/** The submit table (docs/design.md) for the fields the peer serves, with the contract's defaults. */
const PeerSubmitSchema = z.strictObject({
  type: z.string().min(1).max(64),
  payload: z.json().optional(),
  run_at: z.iso.datetime({ offset: true }).nullish(),
  priority: z.int().min(0).max(100).default(50),
  max_retries: z.int().min(0).max(50).default(3),
  retry_delay_seconds: z.int().min(1).max(86_400).default(30),
  timeout_seconds: z.int().min(1).max(900).default(60),
  name: z.string().max(200).nullish(),
});

export function zodDetails(error: z.ZodError, prefix: (string | number)[] = []): ErrorDetail[] {
  return error.issues.map((i) => ({
    path: [...prefix, ...i.path].map(String).join(".") || "(body)",
    message: i.message,
  }));
}

/** The contract's error envelope. */
export const errorBody = (code: string, message: string, details?: ErrorDetail[]) => ({
  error: { code, message, ...(details ? { details } : {}) },
});

export const newPeerJobId = () => `job_peer_${randomUUID().replaceAll("-", "")}`;

/** One submit body → the job to add, or the problems (paths prefixed for batch items). */
export function parseSubmit(
  body: unknown,
  now: number,
  prefix: (string | number)[] = [],
): Parsed<PeerJobSpec> {
  const details: ErrorDetail[] = [];
  const at = (field: string) => [...prefix, field].join(".");
  let fields = body;
  if (body !== null && typeof body === "object" && !Array.isArray(body)) {
    const unsupported = UNSUPPORTED.filter((f) => f in body);
    for (const f of unsupported) details.push({ path: at(f), message: "not supported by the BullMQ peer" });
    fields = Object.fromEntries(Object.entries(body).filter(([k]) => !unsupported.includes(k)));
  }
  const parsed = PeerSubmitSchema.safeParse(fields);
  if (!parsed.success) return { ok: false, details: [...details, ...zodDetails(parsed.error, prefix)] };
  const input = parsed.data;
  if (input.type !== "http" && input.type !== "noop") {
    details.push({ path: at("type"), message: `unknown job type "${input.type}"` });
  }
  if (input.type === "http") details.push(...httpPayloadProblems(input.payload, [...prefix, "payload"]));
  if (details.length > 0) return { ok: false, details };
  const runAt = input.run_at ? Date.parse(input.run_at) : now;
  return {
    ok: true,
    value: {
      id: newPeerJobId(),
      data: {
        type: input.type as PeerJobData["type"],
        payload: input.payload ?? null,
        name: input.name ?? null,
        runAt,
        priority: input.priority,
        maxRetries: input.max_retries,
        retryDelaySeconds: input.retry_delay_seconds,
        timeoutSeconds: input.timeout_seconds,
        createdAt: now,
      },
    },
  };
}

/** The peer calls loopback targets only: it exists to be measured on one machine. */
function httpPayloadProblems(payload: unknown, path: (string | number)[]): ErrorDetail[] {
  const parsed = httpPayloadSchema.safeParse(payload ?? null);
  if (!parsed.success) return zodDetails(parsed.error, path);
  if (!isLoopbackUrl(parsed.data.url)) {
    return [{ path: [...path, "url"].join("."), message: "the BullMQ peer calls 127.0.0.1 only" }];
  }
  return [];
}

export function isLoopbackUrl(url: string): boolean {
  const { hostname } = new URL(url);
  return hostname === "127.0.0.1" || hostname === "localhost";
}

/** `{"jobs": [...]}`, all or nothing, as POST /v1/jobs/batch validates it. */
export function parseBatch(body: unknown, now: number): Parsed<PeerJobSpec[]> {
  if (body === null || typeof body !== "object" || Array.isArray(body) || !("jobs" in body)) {
    return { ok: false, details: [{ path: "jobs", message: "required" }] };
  }
  const extra = Object.keys(body).filter((k) => k !== "jobs");
  if (extra.length > 0)
    return { ok: false, details: extra.map((k) => ({ path: k, message: "unknown field" })) };
  const jobs = (body as { jobs: unknown }).jobs;
  if (!Array.isArray(jobs) || jobs.length < 1 || jobs.length > MAX_BATCH_JOBS) {
    return { ok: false, details: [{ path: "jobs", message: `an array of 1..${MAX_BATCH_JOBS} jobs` }] };
  }
  const specs: PeerJobSpec[] = [];
  const details: ErrorDetail[] = [];
  jobs.forEach((job, i) => {
    const one = parseSubmit(job, now, [`jobs[${i}]`]);
    if (one.ok) specs.push(one.value);
    else details.push(...one.details);
  });
  return details.length > 0 ? { ok: false, details: details.slice(0, 100) } : { ok: true, value: specs };
}

/** Contract priority (0..100, higher first) → BullMQ priority (1..101, lower first; 0 would jump all). */
export const bullmqPriority = (priority: number) => 101 - priority;

/** The delay BullMQ waits before the job may run; a past run_at runs now. */
export const bullmqDelay = (runAt: number, now: number) => Math.max(0, runAt - now);

/** The `webhook-id` of a one-shot job's only occurrence, as the scheduler's http executor sends it. */
export const webhookId = (jobId: string) => `${jobId}:0`;

/** BullMQ's job states → the contract's job status. */
export function contractStatus(state: string): "scheduled" | "queued" | "running" | "succeeded" | "failed" {
  switch (state) {
    case "delayed":
      return "scheduled";
    case "active":
      return "running";
    case "completed":
      return "succeeded";
    case "failed":
      return "failed";
    default:
      // waiting, prioritized, waiting-children: due and waiting for a worker.
      return "queued";
  }
}

/** What BullMQ knows about one job's latest attempt (it keeps no per-attempt history). */
export interface BullmqRun {
  state: string;
  attemptsStarted: number;
  processedOn?: number | undefined;
  finishedOn?: number | undefined;
  failedReason?: string | undefined;
  returnvalue?: unknown;
}

const iso = (ms: number | undefined) => (ms === undefined ? null : new Date(ms).toISOString());

/** The contract's job object for a peer job; `attempts` holds only the latest one. */
export function jobView(spec: PeerJobSpec, run: BullmqRun) {
  const d = spec.data;
  const status = contractStatus(run.state);
  const finished = status === "succeeded" || status === "failed";
  const started = run.processedOn !== undefined && run.attemptsStarted > 0;
  // A started job that is waiting again is waiting for a retry: its latest attempt failed.
  const attemptStatus = status === "running" || finished ? status : "failed";
  return {
    id: spec.id,
    user_id: "usr_peer",
    name: d.name,
    type: d.type,
    status,
    priority: d.priority,
    payload: d.payload,
    run_at: iso(d.runAt),
    interval_seconds: null,
    cron: null,
    timezone: null,
    max_retries: d.maxRetries,
    current_retries: Math.max(0, run.attemptsStarted - 1),
    retry_delay_seconds: d.retryDelaySeconds,
    timeout_seconds: d.timeoutSeconds,
    result_location: null,
    result: status === "succeeded" ? (run.returnvalue ?? null) : null,
    last_error: run.failedReason || null,
    resources: {},
    runs: finished ? 1 : 0,
    last_run_at: started ? iso(run.processedOn) : null,
    labels: {},
    callback_url: null,
    retry_policy: "all",
    expires_after_seconds: null,
    created_at: iso(d.createdAt),
    updated_at: iso(run.finishedOn ?? run.processedOn ?? d.createdAt),
    attempts: started
      ? [
          {
            number: run.attemptsStarted,
            status: attemptStatus,
            scheduled_at: iso(d.runAt),
            started_at: iso(run.processedOn),
            finished_at: finished ? iso(run.finishedOn) : null,
            lateness_ms: Math.max(0, (run.processedOn ?? d.runAt) - d.runAt),
            error: status === "failed" ? run.failedReason || null : null,
          },
        ]
      : [],
  };
}

export type PeerJobView = ReturnType<typeof jobView>;
