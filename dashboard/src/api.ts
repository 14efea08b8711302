// The HTTP API as the dashboard calls it (same origin, so no CORS): the signed-in credential as a
// bearer token, the contract's error envelope turned into an ApiError, a 401 signing the tab out.
import type { z } from "zod";
import type {
  Dependents as DependentsSchema,
  FlowKeyList as FlowKeyListSchema,
  FlowKey as FlowKeySchema,
  JobPage as JobPageSchema,
  Pool as PoolSchema,
} from "../../src/api/responses";
import type { AttemptView, JobView } from "../../src/core/job";
import { FINISHED_STATUSES, JOB_STATUSES } from "../../src/core/state";
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

// The answers' own types (type-only imports: nothing of zod reaches the bundle), so the dashboard
// cannot drift from what the API sends; the statuses are the state machine's own list.
export type Job = JobView;
export type Attempt = AttemptView;
export type JobPage = z.infer<typeof JobPageSchema>;
export type Pool = z.infer<typeof PoolSchema>;
/** GET /v1/flow-control/:key. */
export type FlowKey = z.infer<typeof FlowKeySchema>;
/** GET /v1/flow-control: the keys in use, busiest first (at most 100). */
export type FlowKeyList = z.infer<typeof FlowKeyListSchema>;

/** A one-shot job's debounce (docs/design.md "Debounce"). */
export type Debounce = NonNullable<JobView["debounce"]>;

/** GET /v1/jobs/:id/dependents: the user's jobs that name this one in depends_on (at most 1000). */
export type Dependents = z.infer<typeof DependentsSchema>;

export { JOB_STATUSES };
export const FINISHED: ReadonlySet<string> = new Set(FINISHED_STATUSES);
export const isRecurring = (job: Job) => job.interval_seconds !== null || job.cron !== null;

/** The executors' types (src/executors/registry.ts), for the list's Type filter and the submit form. */
export const JOB_TYPES = ["http", "noop"] as const;
