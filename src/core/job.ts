// The job as the shard stores it on creation and as the API shows it (the contract's job object).
import type { AttemptStatus, JobStatus } from "./state";

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
}

export interface AttemptView {
  number: number;
  status: AttemptStatus;
  scheduled_at: string;
  started_at: string;
  finished_at: string | null;
  lateness_ms: number;
  error: string | null;
  /** Units this attempt held (additive to the contract). */
  resources: Record<string, number>;
}

export interface JobView {
  id: string;
  user_id: string;
  name: string | null;
  type: string;
  status: JobStatus;
  priority: number;
  payload: unknown;
  run_at: string;
  interval_seconds: number | null;
  cron: string | null;
  timezone: string | null;
  max_retries: number;
  current_retries: number;
  retry_delay_seconds: number;
  timeout_seconds: number;
  result_location: string | null;
  result: unknown;
  last_error: string | null;
  resources: Record<string, number>;
  runs: number;
  last_run_at: string | null;
  created_at: string;
  updated_at: string;
  attempts: AttemptView[];
}

export const iso = (ms: number): string => new Date(ms).toISOString();
export const isoOrNull = (ms: number | null): string | null => (ms === null ? null : iso(ms));
