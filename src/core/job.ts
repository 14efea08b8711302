// The job as the shard stores it on creation and as the API shows it (the contract's job object).
import { z } from "zod";
import { ATTEMPT_STATUSES, JOB_STATUSES } from "./state";

/** Everything the shard needs to create a job; computed by the API from a validated request. */
export interface NewJob {
  id: string;
  userId: string;
  name: string | null;
  type: string;
  priority: number;
  payload: unknown;
  runAt: number;
  intervalSeconds: number | null;
  cron: string | null;
  timezone: string | null;
  maxRetries: number;
  retryDelaySeconds: number;
  timeoutSeconds: number;
  resultLocation: string | null;
  resources: Record<string, number>;
  /** Kept this long once finished, then removed (the user's retention at submit). */
  finishedRetentionSeconds: number;
  /** The user's index database: the shard writes the job's D1 copy there. */
  indexDb: number;
  labels: Record<string, string>;
  callbackUrl: string | null;
  retryPolicy: RetryPolicy;
  expiresAfterSeconds: number | null;
}

export const RETRY_POLICIES = ["all", "transient"] as const;
export type RetryPolicy = (typeof RETRY_POLICIES)[number];

const Instant = z.iso.datetime();

/** The contract's attempt object (resources: the units it held; additive to the contract). */
export const AttemptViewSchema = z.object({
  number: z.int(),
  status: z.enum(ATTEMPT_STATUSES),
  scheduled_at: Instant,
  started_at: Instant,
  finished_at: Instant.nullable(),
  lateness_ms: z.int(),
  error: z.string().nullable(),
  resources: z.record(z.string(), z.int()),
});

/** The contract's job object, as every endpoint returns it. */
export const JobViewSchema = z.object({
  id: z.string(),
  user_id: z.string(),
  name: z.string().nullable(),
  type: z.string(),
  status: z.enum(JOB_STATUSES),
  priority: z.int(),
  payload: z.unknown(),
  run_at: Instant,
  interval_seconds: z.int().nullable(),
  cron: z.string().nullable(),
  timezone: z.string().nullable(),
  max_retries: z.int(),
  current_retries: z.int(),
  retry_delay_seconds: z.int(),
  timeout_seconds: z.int(),
  result_location: z.string().nullable(),
  result: z.unknown(),
  last_error: z.string().nullable(),
  resources: z.record(z.string(), z.int()),
  runs: z.int(),
  last_run_at: Instant.nullable(),
  labels: z.record(z.string(), z.string()),
  callback_url: z.string().nullable(),
  retry_policy: z.enum(RETRY_POLICIES),
  expires_after_seconds: z.int().nullable(),
  created_at: Instant,
  updated_at: Instant,
  attempts: z.array(AttemptViewSchema).describe("newest first, the latest 20"),
});

export type AttemptView = z.infer<typeof AttemptViewSchema>;
export type JobView = z.infer<typeof JobViewSchema>;

export const iso = (ms: number): string => new Date(ms).toISOString();
export const isoOrNull = (ms: number | null): string | null => (ms === null ? null : iso(ms));
