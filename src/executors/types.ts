// The contract between the queue consumer and the things it can run.
import type { z } from "zod";
import type { TraceHeaders } from "../core/trace-context";
import type { HostCheck } from "./host-check";

export interface ExecutionInput {
  jobId: string;
  occurrence: number;
  attempt: number;
  /** Already validated against the executor's payloadSchema at submit. */
  payload: unknown;
  /** The webhook-id to send; defaults to `<job id>:<occurrence>` (a callback's ends in `:callback`). */
  webhookId?: string;
  timeoutMs: number;
  /**
   * The user's live signing secrets ("whsec_<base64>"), newest first. During a rotation's overlap
   * there are two, and the request carries a signature for each (Standard Webhooks allows several).
   */
  signingSecrets: string[];
  allowPrivateTargets: boolean;
  /**
   * Checks each host before it is called (the target, every redirect hop): the resolver check of
   * TARGET_DNS_CHECK (host-check.ts). Absent: only the address rules of target.ts apply.
   */
  checkHost?: HostCheck;
  /**
   * The job's W3C trace context, sent on as it was kept (`traceparent`, and `tracestate` when set); it
   * replaces the payload's own headers of those names. Absent or null traceparent: nothing is added.
   */
  trace?: TraceHeaders;
  /** Injectable for tests; defaults to globalThis.fetch. */
  fetch?: typeof fetch;
  /** Injectable clock; defaults to Date.now. */
  now?: () => number;
}

export type ExecutionOutcome =
  | { ok: true; result: unknown }
  /**
   * timedOut: the attempt ran out of its timeout_seconds (recorded as a timed_out attempt).
   * permanent: no retry can succeed (invalid payload, refused target or redirect); the occurrence
   * fails at once. httpStatus: the target's answer, which retry_policy `transient` judges.
   */
  | {
      ok: false;
      error: string;
      retryAfterMs?: number;
      timedOut?: true;
      permanent?: true;
      httpStatus?: number;
    };

export interface Executor {
  readonly type: string;
  /** Used by the API at submit: a payload that fails it is a 400. */
  readonly payloadSchema: z.ZodType;
  /**
   * Optional submit-time check of a payload that already passed payloadSchema, for rules that depend
   * on runtime configuration (so they cannot live in the schema). A string is the 400's message.
   */
  submitError?(payload: unknown, ctx: { allowPrivateTargets: boolean }): string | null;
  /** Never throws; errors become { ok: false }. */
  execute(input: ExecutionInput): Promise<ExecutionOutcome>;
}
