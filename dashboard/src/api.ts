// The HTTP API as the dashboard calls it (same origin, so no CORS): the signed-in credential as a
// bearer token, the contract's error envelope turned into an ApiError, a 401 signing the tab out.
import { session, signOut } from "./session";

export class ApiError extends Error {
  constructor(
    readonly status: number,
    readonly code: string,
    message: string,
    readonly details: { path: string; message: string }[] = [],
  ) {
    super(message);
  }
}

/** A readable one-liner for an error, with the fields a 400 names. */
export function describeError(err: unknown): string {
  if (!(err instanceof ApiError)) return err instanceof Error ? err.message : String(err);
  const fields = err.details.map((d) => `${d.path}: ${d.message}`).join("; ");
  return `${err.status} ${err.code}: ${err.message}${fields ? ` (${fields})` : ""}`;
}

export async function call<T>(method: string, path: string, body?: unknown, token?: string): Promise<T> {
  const bearer = token ?? session.value?.token;
  const headers: Record<string, string> = { accept: "application/json" };
  if (bearer) headers.authorization = `Bearer ${bearer}`;
  if (body !== undefined) headers["content-type"] = "application/json";
  const res = await fetch(path, {
    method,
    headers,
    body: body === undefined ? undefined : JSON.stringify(body),
  });
  const text = await res.text();
  const parsed: unknown = text ? safeJson(text) : null;
  if (!res.ok) {
    const envelope = (parsed as { error?: { code?: string; message?: string; details?: [] } } | null)?.error;
    // A credential that stopped working (revoked key) ends the session rather than failing every poll.
    if (res.status === 401 && token === undefined) signOut();
    throw new ApiError(res.status, envelope?.code ?? "error", envelope?.message ?? text, envelope?.details);
  }
  return parsed as T;
}

function safeJson(text: string): unknown {
  try {
    return JSON.parse(text);
  } catch {
    return text;
  }
}

export interface Attempt {
  number: number;
  status: string;
  scheduled_at: string;
  started_at: string;
  finished_at: string | null;
  lateness_ms: number;
  error: string | null;
}

export interface Job {
  id: string;
  name: string | null;
  type: string;
  status: string;
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
  labels: Record<string, string>;
  created_at: string;
  updated_at: string;
  attempts: Attempt[];
}

export interface JobPage {
  jobs: Job[];
  next_cursor: string | null;
}

export interface Pool {
  name: string;
  capacity: number;
  in_use: number;
  waiting: number;
}

export const JOB_STATUSES = [
  "scheduled",
  "queued",
  "running",
  "paused",
  "succeeded",
  "failed",
  "cancelled",
] as const;
export const FINISHED = new Set(["succeeded", "failed", "cancelled"]);
export const isRecurring = (job: Job) => job.interval_seconds !== null || job.cron !== null;
