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

/** POST the job object of a finished occurrence to its callback_url: try number `attempt`. */
export const CallbackMessageSchema = z.strictObject({
  kind: z.literal("callback"),
  user_id: z.string().min(1).max(64),
  job_id: z.string().min(1).max(64),
  occurrence: z.int().nonnegative(),
  attempt: z.int().positive(),
});

export type CallbackMessage = z.infer<typeof CallbackMessageSchema>;

/** Either kind; an attempt's message has no `kind`, as before callbacks existed. */
export const QueueMessageSchema = z.union([DispatchMessageSchema, CallbackMessageSchema]);
export type QueueMessage = z.infer<typeof QueueMessageSchema>;
