// The dispatch queues' messages: just enough to find the work and fence it. Everything else is read
// from the shard when the work begins, so a message can never carry a stale copy of the job.
import { z } from "zod";

/** Run attempt `attempt` of a job. */
export const DispatchMessageSchema = z.strictObject({
  user_id: z.string().min(1).max(64),
  job_id: z.string().min(1).max(64),
  attempt: z.int().positive(),
});

export type DispatchMessage = z.infer<typeof DispatchMessageSchema>;

/** Most attempts one message carries (docs/architecture.md "Queue settings": jobs per consumer batch). */
export const JOBS_PER_MESSAGE = 4;

/**
 * Run each of several attempts of one user's jobs, all claimed by one shard in one step: one queue
 * message (three billed operations) instead of one per attempt. Each attempt is fenced on its own, as
 * if it had come alone: the message is only transport.
 */
export const DispatchGroupSchema = z.strictObject({
  user_id: z.string().min(1).max(64),
  jobs: z
    .array(z.strictObject({ job_id: z.string().min(1).max(64), attempt: z.int().positive() }))
    .min(1)
    .max(JOBS_PER_MESSAGE),
});

export type DispatchGroup = z.infer<typeof DispatchGroupSchema>;

/** POST the job object of a finished occurrence to its callback_url: try number `attempt`. */
export const CallbackMessageSchema = z.strictObject({
  kind: z.literal("callback"),
  user_id: z.string().min(1).max(64),
  job_id: z.string().min(1).max(64),
  occurrence: z.int().nonnegative(),
  attempt: z.int().positive(),
});

export type CallbackMessage = z.infer<typeof CallbackMessageSchema>;

/** Any kind; an attempt's message has no `kind`, as before callbacks existed, and a group has `jobs`. */
export const QueueMessageSchema = z.union([
  DispatchMessageSchema,
  DispatchGroupSchema,
  CallbackMessageSchema,
]);
export type QueueMessage = z.infer<typeof QueueMessageSchema>;

/** The attempts a message carries, which begins will answer: a group's jobs, one, or 0 for a callback. */
export function attemptsCarried(msg: QueueMessage): number {
  if ("kind" in msg) return 0;
  return "jobs" in msg ? msg.jobs.length : 1;
}
